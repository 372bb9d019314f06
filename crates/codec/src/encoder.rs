//! The encoder: diffs each frame against the previous one and emits one
//! update of copy and tile ops.

use crate::backoff::Backoff;
use crate::cache::{EncoderCache, tile_key};
use crate::format::{
    DEFAULT_CACHE_SLOTS, FLAG_KEYFRAME, FLAG_OPS_HISTORY, FLAG_OPS_ZSTD, HEADER_LEN, IN_PLACE,
    MAGIC, MAX_DIM, OP_CACHE_SIZE, OP_COPY, OP_JPEG, OP_SAVE, OP_TRANSFORM, OP_VIDEO, VERSION,
    put_rect_op, put_u16, put_u32, put_use,
};
use crate::kernels::{bgr_eq, bgr_hash, bgr_uniform};
use crate::motion::{Motion, seg_hash, vote};
use crate::ops_zstd::OpsCompressor;
use crate::tile::{Kind, Src, TileScratch, analyze, put_lossless, put_palette, put_solid};
use crate::tone::{Lut, Tone};
use crate::video::VideoEncoder;
use crate::{FrameRef, Rect};

/// Tile edge in pixels for change detection.
pub(crate) const TILE: u32 = 64;

const NO_DY: i32 = i32::MIN;

/// zstd level of the updates' op streams (level 3 there cost 35 % more time on a drag's photo
/// pieces for 1 % fewer bytes), of keyframes', and of updates with more op bytes than `ZSTD_BIG`
/// (see `write_update`).
const ZSTD_LEVEL: i32 = 2;
const ZSTD_KEY_LEVEL: i32 = 7;
const ZSTD_BIG: usize = 512 << 10;
const ZSTD_BIG_LEVEL: i32 = 1;

/// Frames in a row a tile must change with natural content (sent as
/// literal pixels, not motion) before it may join a video region.
const STREAK: u8 = 1;

/// Frames a tile must have been still before its content is saved in the
/// tile cache when it changes: content that changes every frame (scrolling
/// text, animation, video) rarely comes back, and saving it costs ops.
const SAVE_AFTER: u8 = 2;

/// A sideways move that copies rows of this many tiles and a quarter of the change is looked for
/// before any vertical offset in the next frame.
const MIN_DRAGGED: usize = 6;
/// A move that copies rows of fewer than 1/this of the changed tiles is forgotten.
const FORGET_BELOW_SHARE: usize = 16;

/// Phase C runs in bands on several threads when at least `BANDS_SHARE / BANDS_DIVISOR` of the
/// screen's tiles changed.
const BANDS_SHARE: usize = 3;
const BANDS_DIVISOR: usize = 5;

/// Narrowest column span sent as a copy or cache reference inside a row run
/// (an op costs ~15 bytes before zstd).
const MIN_SPAN: u32 = 8;

/// Copies a tile of `from` into `to` (both packed, `row_bytes` apart).
#[allow(clippy::too_many_arguments)]
fn paint(to: &mut [u8], from: &[u8], row_bytes: usize, x: u32, y: u32, w: u32, h: u32) {
    let n = w as usize * 4;
    for r in y as usize..(y + h) as usize {
        let i = r * row_bytes + x as usize * 4;
        to[i..i + n].copy_from_slice(&from[i..i + n]);
    }
}

/// Saves remembered per tile position: a window that rests on a tile
/// several times during a drag gets saved with it each time, and the
/// background under it is the oldest of these saves.
const HISTORY: usize = 2;

/// Fewest tiles a tone change (TRANSFORM) must cover, and it must explain
/// at least half the changed tiles tried: a few tiles recoloured among new
/// content (text changing colour in a terminal) code smaller as tiles.
const TONE_MIN_TILES: usize = 16;

/// Fewest unexplained, suddenly changed tiles that start the
/// shifted-content search.
const SHIFT_MIN_TILES: u32 = 4;

/// `Encoder::tone_src` values that are not cache slots.
const TONE_NONE: u32 = u32::MAX;
const TONE_IN_PLACE: u32 = IN_PLACE as u32;

/// No slot saved at this tile position.
const NO_SLOT: (u32, u32) = (u32::MAX, 0);

/// Encoder settings.
#[derive(Clone, Debug)]
pub struct EncoderConfig {
    /// 1..=100, default 80. Only natural/photographic content is ever lossy;
    /// 100 is lossless everywhere. Drives the JPEG quality of natural tiles;
    /// video regions use a constant H.264 QP.
    pub quality: u8,
    /// Worker threads; 0 = all cores.
    pub threads: usize,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self {
            quality: 80,
            threads: 0,
        }
    }
}

/// What one `encode` call produced.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncodeStats {
    /// Any pixel changed (always true for a keyframe).
    pub changed: bool,
    /// Bytes appended to `out`.
    pub bytes: usize,
    /// Pixels sent with a lossy encoding.
    pub lossy_pixels: u64,
    /// Pixels in the frame.
    pub total_pixels: u64,
}

/// Why a frame could not be encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    #[error(
        "frame data too short: {len} bytes for {width}x{height} with stride {stride} (need {needed})"
    )]
    BadFrame {
        width: u32,
        height: u32,
        stride: usize,
        len: usize,
        needed: usize,
    },
    #[error("frame size {width}x{height} is not supported (1..={max} per side)")]
    BadSize { width: u32, height: u32, max: u32 },
    #[error("zstd: {0}")]
    Zstd(#[source] std::io::Error),
    #[error("JPEG: {0}")]
    Jpeg(String),
    #[error("video: {0}")]
    Video(String),
    #[error("an encoder worker thread failed")]
    Worker,
}

/// The sending end: remembers the previous frame.
pub struct Encoder {
    config: EncoderConfig,
    /// `config.threads` resolved once (asking the system reads cgroup files each time).
    threads: usize,
    width: u32,
    height: u32,
    /// The previous frame, packed BGRX (4th byte undefined).
    reference: Vec<u8>,
    force_key: bool,
    tiles_x: u32,
    tiles_y: u32,
    dirty: Vec<bool>,
    ops: Vec<u8>,
    zbuf: Vec<u8>,
    zstd: Option<OpsCompressor>,
    zstd_alone: Option<zstd::bulk::Compressor<'static>>,
    /// A 2-D move (window drag) found this frame: (dx, dy) to the source.
    moved: Option<(i32, i32)>,
    /// Last frame's move was sideways and copied rows of a quarter of its changed tiles or more
    /// (the rest: what the window uncovered, its blank rows unchanged): a drag in progress.
    dragging: bool,
    anchors: Anchors,
    /// Phase C workers, and how many ran this frame.
    workers: Vec<Worker>,
    bands: usize,
    motion: Motion,
    /// Row hashes of changed tiles in the new frame, laid out like `Motion::hashes`.
    next_hash: Vec<u64>,
    tile_dy: Vec<i32>,
    votes: Vec<(i32, u32)>,
    /// Copy ops `[sx, sy, dx, dy, w, h]`.
    copies: Vec<[u32; 6]>,
    /// Natural-content rects `[x, y, w, h]` waiting to be sent lossy.
    lossy: Vec<[u32; 4]>,
    blob: Vec<u8>,
    rgb: Vec<u8>,
    /// Per tile: consecutive frames it changed with natural content.
    streak: Vec<u8>,
    /// Per tile: natural content was seen in it this frame.
    tile_natural: Vec<bool>,
    /// Per tile: most of its rows were copied (scrolling/moving content).
    tile_moved: Vec<bool>,
    video: Option<VideoEncoder>,
    /// Per tile: touches the video region. Such tiles are coded by the
    /// region and, outside it, by a pixel diff without motion search, so
    /// their rows are neither hashed nor searched for motion while the
    /// region lasts (their hashes go stale and are recomputed when it ends,
    /// see `end_video`).
    in_video: Vec<bool>,
    /// Per tile: lies wholly inside the video region. Such tiles are not
    /// compared with the reference nor copied into it while the region
    /// lasts (the region's encoder tells whether they changed, see
    /// `VideoEncoder::changed`), so the reference is stale there: no copy
    /// may take its source from `video_inner_rect`, and `end_video` brings
    /// the reference up to date.
    video_inner: Vec<bool>,
    /// The bounds of the `video_inner` tiles.
    video_inner_rect: Option<Rect>,
    /// This frame ended the video region: the bounds its inner tiles had.
    /// Those that changed are sent whole (their reference is stale) and
    /// none is a copy source.
    ended_inner: Option<Rect>,
    /// Frames the video region has been mostly still.
    video_idle: u32,
    cache: EncoderCache,
    /// Per tile: frames since it last changed (saturating).
    stable: Vec<u8>,
    /// Per tile: the decoder's pixels equal the reference's (nothing lossy
    /// reached it since the keyframe), so it may be saved in the cache.
    exact: Vec<bool>,
    /// Per tile: (slot, generation) of the contents last saved from it,
    /// newest first (see `HISTORY`).
    last_saved: Vec<[(u32, u32); HISTORY]>,
    /// SAVE ops of this frame: `[first slot, x, y, w, h]`, a row of tiles.
    saves: Vec<[u32; 5]>,
    /// This frame's tone change and the tiles it explains (see `tone`):
    /// per tile, the source the map is applied to (`TONE_NONE`: not a
    /// tone tile, `TONE_IN_PLACE`: the tile's own pixels, else a cache slot
    /// holding what was saved at that position).
    tone: Option<Tone>,
    tone_src: Vec<u32>,
    tone_lut: Lut,
    tile_lut: Lut,
    /// Spaces out the tone search while it finds nothing.
    tone_backoff: Backoff,
    /// Spaces out the move search's full index while it finds nothing.
    move_backoff: Backoff,
    /// The picture as the cache holds it: each tile position shows what was
    /// saved there last, before this frame (slot and generation in
    /// `mosaic_slot`, valid while the slot holds them), so content that
    /// comes back shifted off the tile grid can be found.
    mosaic: Vec<u8>,
    mosaic_slot: Vec<(u32, u32)>,
    /// Tiles saved this frame, painted into `mosaic` once it was searched.
    painted: Vec<u32>,
    /// This frame's displacement from the new picture into `mosaic`.
    shifted: Option<(i32, i32)>,
}

impl Encoder {
    pub fn new(config: EncoderConfig) -> Self {
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            t => t,
        };
        Self {
            config,
            threads,
            width: 0,
            height: 0,
            reference: Vec::new(),
            force_key: true,
            tiles_x: 0,
            tiles_y: 0,
            dirty: Vec::new(),
            ops: Vec::new(),
            zbuf: Vec::new(),
            zstd: None,
            zstd_alone: None,
            moved: None,
            dragging: false,
            anchors: Anchors::default(),
            workers: Vec::new(),
            bands: 0,
            motion: Motion::default(),
            next_hash: Vec::new(),
            tile_dy: Vec::new(),
            votes: Vec::new(),
            copies: Vec::new(),
            lossy: Vec::new(),
            blob: Vec::new(),
            rgb: Vec::new(),
            streak: Vec::new(),
            tile_natural: Vec::new(),
            tile_moved: Vec::new(),
            video: None,
            in_video: Vec::new(),
            video_inner: Vec::new(),
            video_inner_rect: None,
            ended_inner: None,
            video_idle: 0,
            cache: EncoderCache::default(),
            stable: Vec::new(),
            exact: Vec::new(),
            last_saved: Vec::new(),
            saves: Vec::new(),
            tone: None,
            tone_src: Vec::new(),
            tone_lut: Lut::default(),
            tile_lut: Lut::default(),
            tone_backoff: Backoff::default(),
            move_backoff: Backoff::default(),
            mosaic: Vec::new(),
            mosaic_slot: Vec::new(),
            painted: Vec::new(),
            shifted: None,
        }
    }

    /// The configuration this encoder was built with.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// The next `encode` sends the whole frame.
    pub fn force_keyframe(&mut self) {
        self.force_key = true;
    }

    /// Appends one self-delimited update describing `frame` relative to the
    /// previous encoded frame to `out` (does not clear `out`).
    ///
    /// Every update must reach the decoder, in order, except one whose
    /// [`EncodeStats::changed`] is false: it may be dropped (its ops are not
    /// part of the zstd history the next updates refer to).
    ///
    /// After an error nothing was appended and the next update is a keyframe
    /// (a video region's encoder may have moved on without its output).
    pub fn encode(
        &mut self,
        frame: FrameRef<'_>,
        out: &mut Vec<u8>,
    ) -> Result<EncodeStats, EncodeError> {
        self.encode_changed(frame, None, out)
    }

    /// [`Encoder::encode`] for a frame that differs from the previous one at most inside
    /// `changed` (e.g. what X DAMAGE reported): only the tiles it touches are compared, so a
    /// one-character change costs a few tiles, not a whole-screen scan. `None`: anywhere.
    /// Keyframes ignore it. The update is the same as `encode`'s whenever `changed` holds every
    /// changed pixel; a change outside it is not seen until a later `changed` covers it.
    pub fn encode_changed(
        &mut self,
        frame: FrameRef<'_>,
        changed: Option<Rect>,
        out: &mut Vec<u8>,
    ) -> Result<EncodeStats, EncodeError> {
        let start = out.len();
        let result = self.encode_inner(frame, changed, out);
        if result.is_err() {
            out.truncate(start);
            self.force_key = true;
        }
        result
    }

    fn encode_inner(
        &mut self,
        frame: FrameRef<'_>,
        changed: Option<Rect>,
        out: &mut Vec<u8>,
    ) -> Result<EncodeStats, EncodeError> {
        let (w, h) = (frame.width, frame.height);
        if w == 0 || h == 0 || w > MAX_DIM || h > MAX_DIM {
            return Err(EncodeError::BadSize {
                width: w,
                height: h,
                max: MAX_DIM,
            });
        }
        let row_bytes = w as usize * 4;
        let needed = frame
            .stride
            .saturating_mul(h as usize - 1)
            .saturating_add(row_bytes);
        if frame.stride < row_bytes || frame.data.len() < needed {
            return Err(EncodeError::BadFrame {
                width: w,
                height: h,
                stride: frame.stride,
                len: frame.data.len(),
                needed,
            });
        }
        let src = Src {
            data: frame.data,
            stride: frame.stride,
        };
        let key = self.force_key || w != self.width || h != self.height;
        if key {
            self.width = w;
            self.height = h;
            self.tiles_x = w.div_ceil(TILE);
            self.tiles_y = h.div_ceil(TILE);
            self.reference.clear();
            self.reference.resize(row_bytes * h as usize, 0);
            self.dirty.clear();
            self.dirty
                .resize((self.tiles_x * self.tiles_y) as usize, true);
            self.tile_dy.clear();
            self.tile_dy
                .resize((self.tiles_x * self.tiles_y) as usize, NO_DY);
            self.streak.clear();
            self.streak
                .resize((self.tiles_x * self.tiles_y) as usize, 0);
            self.tile_natural.clear();
            self.tile_natural
                .resize((self.tiles_x * self.tiles_y) as usize, false);
            self.tile_moved.clear();
            self.tile_moved
                .resize((self.tiles_x * self.tiles_y) as usize, false);
            self.video = None;
            let tiles = (self.tiles_x * self.tiles_y) as usize;
            self.in_video.clear();
            self.in_video.resize(tiles, false);
            self.video_inner.clear();
            self.video_inner.resize(tiles, false);
            self.video_inner_rect = None;
            self.ended_inner = None;
            self.tone_src.clear();
            self.tone_src.resize(tiles, TONE_NONE);
            self.mosaic.clear();
            self.mosaic.resize(row_bytes * h as usize, 0);
            self.mosaic_slot.clear();
            self.mosaic_slot.resize(tiles, NO_SLOT);
            // (warm frames never allocate: scratch sized up front)
            self.painted.reserve(tiles);
            self.anchors.shift_votes.resize(SHIFT_VOTES, (0, 0, 0));
            self.stable.clear();
            self.stable.resize(tiles, 0);
            self.exact.clear();
            self.exact.resize(tiles, true);
            self.last_saved.clear();
            self.last_saved.resize(tiles, [NO_SLOT; HISTORY]);
            self.cache.reset(DEFAULT_CACHE_SLOTS);
            self.next_hash.clear();
            self.next_hash.resize(self.tiles_x as usize * h as usize, 0);
            self.force_key = false;
        } else {
            self.diff(src, changed);
            self.diff_video_inner(src);
        }
        self.ops.clear();
        self.copies.clear();
        self.lossy.clear();
        self.blob.clear();
        self.saves.clear();
        self.painted.clear();
        let mut stats = EncodeStats {
            total_pixels: u64::from(w) * u64::from(h),
            ..Default::default()
        };
        if key {
            self.motion.reset(self.tiles_x, h);
        }
        self.motion.begin();
        let any = self.dirty.iter().any(|&d| d);
        // A drag in progress: when last frame's sideways move holds again, no vertical offset
        // can explain the moved tiles, and indexing every changed column for one (Phases A and
        // B) would cost about as much as the rest of the move's frame.
        let dragged = if !key && any && self.dragging {
            self.tile_dy.fill(NO_DY);
            self.move_area()
                .and_then(|area| self.confirm_move(src, area))
        } else {
            None
        };
        if dragged.is_none() {
            self.find_vertical_offsets(src, key, any);
        }
        // (a video region also counts the frames with no change at all
        // towards ending)
        if !key && (any || self.video.is_some()) {
            self.update_video_region(src)?;
        }
        self.moved = if !key && any {
            dragged.or_else(|| self.find_move(src))
        } else {
            None
        };
        if !key && any {
            self.save_covered();
        }
        self.find_tone(src, key || !any);
        self.shifted = if key || !any {
            None
        } else {
            self.find_shifted(src)
        };
        self.tile_natural.fill(false);
        self.tile_moved.fill(false);
        // Phase C, in bands of tile rows on up to `threads` workers, for changes of most of the
        // screen (page flips): a band's thread costs more CPU than it saves time on a window's
        // worth of change, which one thread encodes in a few milliseconds.
        let dirty_tiles = self.dirty.iter().filter(|d| **d).count();
        let bands = if dirty_tiles * BANDS_DIVISOR >= self.dirty.len() * BANDS_SHARE {
            self.threads.clamp(1, 8)
        } else {
            1
        };
        if self.workers.len() < bands {
            self.workers.resize_with(bands, Worker::default);
        }
        let ctx = Ctx {
            width: self.width,
            height: self.height,
            tiles_x: self.tiles_x,
            quality: self.config.quality,
            reference: &self.reference,
            next_hash: &self.next_hash,
            motion: &self.motion,
            dirty: &self.dirty,
            tile_dy: &self.tile_dy,
            video: self.video.as_ref().map(|v| v.rect),
            stale: self.video_inner_rect.or(self.ended_inner),
            recode: self.ended_inner,
            moved: self.moved,
            key,
            cache: &self.cache,
            last_saved: &self.last_saved,
            tone: self.tone,
            tone_src: &self.tone_src,
            mosaic: &self.mosaic,
            mosaic_slot: &self.mosaic_slot,
            shifted: self.shifted,
        };
        let workers = &mut self.workers[..bands];
        if bands == 1 {
            ctx.run(&mut workers[0], src, 0..self.tiles_y);
        } else {
            // Split the tile rows so each band has about the same dirty tiles.
            let per = dirty_tiles.div_ceil(bands);
            let mut bounds = [0u32; 9];
            let (mut b, mut acc) = (1, 0usize);
            for ty in 0..self.tiles_y {
                let row =
                    &self.dirty[(ty * self.tiles_x) as usize..((ty + 1) * self.tiles_x) as usize];
                acc += row.iter().filter(|d| **d).count();
                if acc >= per * b && b < bands {
                    bounds[b] = ty + 1;
                    b += 1;
                }
            }
            bounds[b..=bands].fill(self.tiles_y);
            let ctx = &ctx;
            let panicked = std::thread::scope(|s| {
                let (first, rest) = workers.split_at_mut(1);
                let handles: Vec<_> = rest
                    .iter_mut()
                    .enumerate()
                    .map(|(k, wk)| {
                        let rows = bounds[k + 1]..bounds[k + 2];
                        std::thread::Builder::new()
                            .name("tandem-codec".into())
                            .spawn_scoped(s, move || ctx.run(wk, src, rows))
                    })
                    .collect();
                ctx.run(&mut first[0], src, bounds[0]..bounds[1]);
                handles
                    .into_iter()
                    .map(|h| h.map_err(|_| ()).and_then(|h| h.join().map_err(|_| ())))
                    .any(|r| r.is_err())
            });
            if panicked {
                return Err(EncodeError::Worker);
            }
        }
        let mut video_dirty = false;
        let dragged_tiles: usize = self.workers[..bands]
            .iter()
            .map(|wk| wk.dragged as usize)
            .sum();
        self.dragging = self.moved.is_some_and(|(dx, _)| dx != 0)
            && dragged_tiles >= MIN_DRAGGED
            && dragged_tiles * 4 >= dirty_tiles;
        // A move that explained little (repeated lines of text seen at a distance: rows of 0-7
        // tiles of 100-200 changed) is not looked for again each frame. (A drag at a screen edge
        // or turning copies rows of 4 of 27-40.)
        if self.moved.is_some()
            && (dragged_tiles == 0 || dragged_tiles * FORGET_BELOW_SHARE < dirty_tiles)
        {
            self.anchors.forget_moves();
            self.move_backoff.missed();
        }
        for wk in &self.workers[..bands] {
            video_dirty |= wk.video_dirty;
            stats.changed |= wk.changed;
            self.copies.extend_from_slice(&wk.copies);
            self.lossy.extend_from_slice(&wk.lossy);
            for &t in &wk.natural {
                self.tile_natural[t as usize] = true;
            }
            for &t in &wk.moved {
                self.tile_moved[t as usize] = true;
            }
        }
        // Tiles referenced this frame stay in the cache longest (in tile
        // order, so any number of bands evicts alike).
        for wk in &self.workers[..bands] {
            for &s in &wk.cache_used {
                self.cache.touch(s);
            }
        }
        self.bands = bands;
        self.encode_lossy(src, &mut stats)?;
        if video_dirty && let Some(v) = self.video.as_mut() {
            let start = self.blob.len();
            v.encode(src, &mut self.blob)?;
            let r = v.rect;
            put_rect_op(&mut self.ops, OP_VIDEO, r.x, r.y, r.w, r.h);
            put_u32(&mut self.ops, (self.blob.len() - start) as u32);
            stats.lossy_pixels += u64::from(r.w) * u64::from(r.h);
        }
        self.track_exact(video_dirty);
        for (s, &d) in self.stable.iter_mut().zip(&self.dirty) {
            *s = if d { 0 } else { s.saturating_add(1) };
        }
        for t in 0..self.streak.len() {
            self.streak[t] = if self.tile_moved[t] {
                0
            } else if self.dirty[t] && self.tile_natural[t] {
                self.streak[t].saturating_add(1)
            } else if self.dirty[t] && self.video.is_some() {
                self.streak[t]
            } else {
                0
            };
        }
        // This frame's saves join the mosaic (the reference still holds
        // what they saved).
        for &t in &self.painted {
            let (tx, ty) = (t % self.tiles_x, t / self.tiles_x);
            let (x, y, tw, th) = self.tile_rect(tx, ty);
            paint(&mut self.mosaic, &self.reference, row_bytes, x, y, tw, th);
            self.mosaic_slot[t as usize] = self.last_saved[t as usize][0];
        }
        // Phase D: the new frame becomes the reference, a run of dirty tiles
        // at a time.
        for ty in 0..self.tiles_y {
            let y = ty * TILE;
            let th = TILE.min(h - y);
            let row_dirty =
                &self.dirty[(ty * self.tiles_x) as usize..((ty + 1) * self.tiles_x) as usize];
            // (tiles inside the video region keep a stale reference)
            let row_inner =
                &self.video_inner[(ty * self.tiles_x) as usize..((ty + 1) * self.tiles_x) as usize];
            let copied = |tx: u32| row_dirty[tx as usize] && !row_inner[tx as usize];
            let mut tx = 0u32;
            while tx < self.tiles_x {
                if !copied(tx) {
                    tx += 1;
                    continue;
                }
                let start = tx;
                while tx < self.tiles_x && copied(tx) {
                    if !self.in_video[(ty * self.tiles_x + tx) as usize] {
                        let b = (tx * h + y) as usize;
                        self.motion.hashes[b..b + th as usize]
                            .copy_from_slice(&self.next_hash[b..b + th as usize]);
                    }
                    tx += 1;
                }
                let x0 = (start * TILE) as usize * 4;
                let n = ((tx * TILE).min(w) - start * TILE) as usize * 4;
                for r in y as usize..(y + th) as usize {
                    let s = r * frame.stride + x0;
                    let d = r * row_bytes + x0;
                    self.reference[d..d + n].copy_from_slice(&frame.data[s..s + n]);
                }
            }
        }
        self.ended_inner = None;
        stats.changed |= key;
        self.merge_copies();
        let start = out.len();
        self.write_update(key, stats.changed, out)?;
        stats.bytes = out.len() - start;
        Ok(stats)
    }

    /// Phases A and B: hashes the rows of changed tiles in the new frame (keyframes; `diff`
    /// does it for delta frames), indexes their columns, and votes for vertical offsets per
    /// tile and globally.
    fn find_vertical_offsets(&mut self, src: Src<'_>, key: bool, any: bool) {
        let h = self.height;
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                if !self.dirty[(ty * self.tiles_x + tx) as usize] {
                    continue;
                }
                if key {
                    // (delta frames hashed their changed tiles in `diff`)
                    let (x, y, tw, th) = self.tile_rect(tx, ty);
                    for r in y..y + th {
                        self.next_hash[(tx * h + r) as usize] =
                            seg_hash(src.data, src.stride, x, r, tw);
                    }
                }
                if !key && !self.in_video[(ty * self.tiles_x + tx) as usize] {
                    self.motion.index_column(tx);
                }
            }
        }
        // Phase B: vote for vertical offsets per tile and globally.
        if !key && any {
            for ty in 0..self.tiles_y {
                for tx in 0..self.tiles_x {
                    let t = (ty * self.tiles_x + tx) as usize;
                    self.tile_dy[t] = NO_DY;
                    if !self.dirty[t] || self.in_video[t] {
                        continue;
                    }
                    let (_, y, _, th) = self.tile_rect(tx, ty);
                    self.votes.clear();
                    for r in y..y + th {
                        let hh = self.next_hash[(tx * h + r) as usize];
                        if hh == self.motion.hash(tx, r) {
                            continue;
                        }
                        if let Some(py) = self.motion.lookup(hh, tx) {
                            vote(&mut self.votes, py as i32 - r as i32, 1, 8);
                        }
                    }
                    if let Some(&(dy, n)) = self.votes.iter().max_by_key(|v| v.1)
                        && (n >= 2 || th < 4)
                    {
                        self.tile_dy[t] = dy;
                        vote(&mut self.motion.global, dy, n, 64);
                    }
                }
            }
            self.motion
                .global
                .sort_unstable_by_key(|g| std::cmp::Reverse(g.1));
        }
    }

    #[inline]
    fn tile_rect(&self, tx: u32, ty: u32) -> (u32, u32, u32, u32) {
        let x = tx * TILE;
        let y = ty * TILE;
        (x, y, TILE.min(self.width - x), TILE.min(self.height - y))
    }

    /// True when a vertical offset explains at least half the rows of a
    /// changed tile of this frame (from row hashes, before Phase C).
    fn moves_now(&self, tx: u32, ty: u32) -> bool {
        let (_, y, _, th) = self.tile_rect(tx, ty);
        let t = (ty * self.tiles_x + tx) as usize;
        let globals = self.motion.global.iter().take(3).map(|g| g.0);
        std::iter::once(self.tile_dy[t]).chain(globals).any(|dy| {
            if dy == NO_DY || dy == 0 {
                return false;
            }
            let mut n = 0;
            for r in y..y + th {
                let sy = r as i32 + dy;
                if sy >= 0 && sy < self.height as i32 {
                    let hh = self.next_hash[(tx * self.height + r) as usize];
                    n += u32::from(hh == self.motion.hash(tx, sy as u32));
                }
            }
            n * 2 >= th
        })
    }

    /// Looks for one 2-D move (a dragged window) among the changed tiles that
    /// no vertical offset explains: shift-invariant anchors (pixel edges whose
    /// colour pair hashes to 0 mod 16) of the new frame are looked up among
    /// those of the reference, and the commonest displacement wins.
    fn find_move(&mut self, src: Src<'_>) -> Option<(i32, i32)> {
        let area = self.move_area()?;
        // A drag moves on by about the same displacement each frame: checking the last ones
        // directly costs a quarter of indexing every anchor of the reference.
        if let Some(d) = self.confirm_move(src, area) {
            return Some(d);
        }
        if self.move_backoff.skip() {
            return None;
        }
        let reference = Src {
            data: &self.reference,
            stride: self.width as usize * 4,
        };
        let (bx, by, bw, bh) = area;
        let found = self.anchors.find(reference, src, bx, by, bw, bh);
        match found {
            Some(d) => {
                self.anchors.remember_move(d, self.anchors.found_votes);
                self.move_backoff.reset();
            }
            None => self.move_backoff.missed(),
        }
        found
    }

    /// `find_move`'s check of the recent moves alone, over `area`.
    fn confirm_move(&mut self, src: Src<'_>, area: (u32, u32, u32, u32)) -> Option<(i32, i32)> {
        let reference = Src {
            data: &self.reference,
            stride: self.width as usize * 4,
        };
        let size = (self.width, self.height);
        self.anchors.confirm(reference, size, src, area)
    }

    /// The rectangle `find_move` searches: around the changed tiles that no vertical offset
    /// explains, when they are a few, most of the change, and not the whole screen.
    fn move_area(&self) -> Option<(u32, u32, u32, u32)> {
        let (mut x0, mut y0, mut x1, mut y1, mut n) = (u32::MAX, u32::MAX, 0, 0, 0u32);
        let video = self.video.as_ref().map(|v| v.rect);
        let mut dirty = 0u32;
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                let t = (ty * self.tiles_x + tx) as usize;
                dirty += u32::from(self.dirty[t]);
                if !self.dirty[t] || self.tile_dy[t] != NO_DY {
                    continue;
                }
                let (x, y, tw, th) = self.tile_rect(tx, ty);
                if video.is_some_and(|r| intersects(r, x, y, tw, th)) {
                    continue;
                }
                n += 1;
                x0 = x0.min(tx);
                y0 = y0.min(ty);
                x1 = x1.max(tx + 1);
                y1 = y1.max(ty + 1);
            }
        }
        // A few tiles, most of the change (a scroll explains its own), and not
        // the whole screen (a page flip, not a move).
        if n < 6 || n * 2 < dirty || (x1 - x0) * (y1 - y0) * 10 > self.tiles_x * self.tiles_y * 6 {
            return None;
        }
        let (bx, by) = (x0 * TILE, y0 * TILE);
        let bw = (x1 * TILE).min(self.width) - bx;
        let bh = (y1 * TILE).min(self.height) - by;
        Some((bx, by, bw, bh))
    }

    /// Saves in the cache the old content of tiles that were still for a
    /// while and change now, before the update overwrites them (the decoder
    /// saves from its picture before it applies anything). Content the cache
    /// already holds is only marked recently used.
    fn save_covered(&mut self) {
        let h = self.height;
        let row_bytes = self.width as usize * 4;
        let reference = Src {
            data: &self.reference,
            stride: row_bytes,
        };
        let video = self.video.as_ref().map(|v| v.rect);
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                let t = (ty * self.tiles_x + tx) as usize;
                if !self.dirty[t] || self.stable[t] < SAVE_AFTER || !self.exact[t] {
                    continue;
                }
                // Content that scrolls or moves is still on screen, not covered.
                if self.tile_dy[t] != NO_DY || self.moves_now(tx, ty) {
                    continue;
                }
                let (x, y, tw, th) = self.tile_rect(tx, ty);
                if video.is_some_and(|r| intersects(r, x, y, tw, th)) {
                    continue;
                }
                let b = (tx * h + y) as usize;
                let key = tile_key(&self.motion.hashes[b..b + th as usize], tw);
                if let Some(s) = self.cache.lookup(key, tw, th)
                    && self.cache.matches(s, reference, x, y, tw, th)
                {
                    self.cache.touch(s);
                    remember(&mut self.last_saved[t], (s, self.cache.generation(s)));
                    self.painted.push(t as u32);
                    continue;
                }
                // One colour costs less as a SOLID op than as a reference.
                let first = &reference.row(x, y, 1)[..3];
                if (y..y + th).all(|r| {
                    let row = reference.row(x, r, tw);
                    bgr_uniform(row) && row[..3] == *first
                }) {
                    continue;
                }
                if let Some(s) = self.cache.store(key, reference, x, y, tw, th) {
                    // One SAVE per run of tiles along a row into consecutive
                    // slots (the usual case: free slots, or evicting a run
                    // saved together).
                    match self.saves.last_mut() {
                        Some([s0, x0, y0, w0, h0])
                            if *y0 == y
                                && *h0 == th
                                && *w0 % TILE == 0
                                && *x0 + *w0 == x
                                && *s0 + *w0 / TILE == s =>
                        {
                            *w0 += tw;
                        }
                        _ => self.saves.push([s, x, y, tw, th]),
                    }
                    remember(&mut self.last_saved[t], (s, self.cache.generation(s)));
                    self.painted.push(t as u32);
                }
            }
        }
    }

    /// Looks for one displacement under which changed tiles that nothing
    /// else explains show again what the cache saved elsewhere, off the tile
    /// grid (a dialog reopened somewhere else, a window shown again after it
    /// moved while hidden): the move search's anchors, run between the new
    /// picture and `mosaic` over the changed area and a tile around it.
    fn find_shifted(&mut self, src: Src<'_>) -> Option<(i32, i32)> {
        if self.moved.is_some() || self.tone.is_some() {
            return None;
        }
        // The gate, from what this frame already knows (no pixel is read):
        // tiles that changed suddenly (still for `SAVE_AFTER` frames before)
        // where nothing else explains them (no vertical offset, no video,
        // not whole in the cache). Text being typed, scrolled or paged
        // through either changed the frame before, moves, or shows pages
        // the cache holds whole.
        let (mut x0, mut y0, mut x1, mut y1, mut n) = (u32::MAX, u32::MAX, 0, 0, 0u32);
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                let t = (ty * self.tiles_x + tx) as usize;
                if !self.dirty[t]
                    || self.in_video[t]
                    || self.tile_dy[t] != NO_DY
                    || self.stable[t] < SAVE_AFTER
                {
                    continue;
                }
                let (_, y, tw, th) = self.tile_rect(tx, ty);
                let b = (tx * self.height + y) as usize;
                let key = tile_key(&self.next_hash[b..b + th as usize], tw);
                if self.cache.lookup(key, tw, th).is_some() {
                    continue;
                }
                n += 1;
                x0 = x0.min(tx);
                y0 = y0.min(ty);
                x1 = x1.max(tx + 1);
                y1 = y1.max(ty + 1);
            }
        }
        // A block of them (a dialog, a window: at least 2x2 tiles, filling
        // half of their bounds), not most of the screen (a page flip:
        // searching it costs milliseconds and finds nothing).
        if n < SHIFT_MIN_TILES {
            return None;
        }
        let area = (x1 - x0) * (y1 - y0);
        if x1 - x0 < 2 || y1 - y0 < 2 || n * 2 < area || area * 10 > self.tiles_x * self.tiles_y * 6
        {
            return None;
        }
        let (cx0, cy0, cx1, cy1) = (x0, y0, x1, y1);
        let (x0, y0) = (x0.saturating_sub(1), y0.saturating_sub(1));
        let (x1, y1) = ((x1 + 1).min(self.tiles_x), (y1 + 1).min(self.tiles_y));
        // Only where something was saved.
        if !(y0..y1).any(|ty| {
            (x0..x1).any(|tx| self.mosaic_slot[(ty * self.tiles_x + tx) as usize] != NO_SLOT)
        }) {
            return None;
        }
        let (bx, by) = (x0 * TILE, y0 * TILE);
        let bw = (x1 * TILE).min(self.width) - bx;
        let bh = (y1 * TILE).min(self.height) - by;
        let mosaic = Src {
            data: &self.mosaic,
            stride: self.width as usize * 4,
        };
        // Anchors of the changed tiles only (text around them votes for
        // many false offsets), against the area a tile wider.
        let (cx, cy) = (cx0 * TILE, cy0 * TILE);
        let cw = (cx1 * TILE).min(self.width) - cx;
        let ch = (cy1 * TILE).min(self.height) - cy;
        self.anchors
            .find_banded(mosaic, (bx, by, bw, bh), src, (cx, cy, cw, ch))
    }

    /// Looks for a tone change (a dim overlay, a fade): changed tiles, not
    /// moved, whose every new pixel is the same per-channel function of an
    /// old one, and one affine map reproducing all of them. The old pixels
    /// are what was saved in the cache at the tile's position (a fade's
    /// every step is a map of the page before it began, not of the step
    /// before) or else the tile's own, if the decoder holds them exactly
    /// (`exact`). Either way the decoder's result is exactly the new frame.
    fn find_tone(&mut self, src: Src<'_>, skip: bool) {
        self.tone = None;
        self.tone_src.fill(TONE_NONE);
        if skip || self.moved.is_some() {
            return;
        }
        let candidate = |t: usize| self.dirty[t] && !self.in_video[t] && self.tile_dy[t] == NO_DY;
        if (0..self.dirty.len()).filter(|&t| candidate(t)).count() < TONE_MIN_TILES {
            return;
        }
        if self.tone_backoff.skip() {
            return;
        }
        let row_bytes = self.width as usize * 4;
        let reference = Src {
            data: &self.reference,
            stride: row_bytes,
        };
        self.tone_lut.clear();
        let (mut tried, mut found) = (0usize, 0usize);
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                let t = (ty * self.tiles_x + tx) as usize;
                if !self.dirty[t] || self.in_video[t] || self.tile_dy[t] != NO_DY {
                    continue;
                }
                // New content (a page flip, text) conflicts within a few
                // rows; give up early when most tiles do.
                tried += 1;
                if tried >= 4 * TONE_MIN_TILES && found * 4 < tried {
                    self.tone_src.fill(TONE_NONE);
                    self.tone_backoff.missed();
                    return;
                }
                let (x, y, tw, th) = self.tile_rect(tx, ty);
                let saved = self.last_saved[t]
                    .into_iter()
                    .filter(|&(s, g)| self.cache.holds(s, g, tw, th))
                    .map(|(s, _)| s);
                let own = self.exact[t].then_some(TONE_IN_PLACE);
                for source in saved.chain(own) {
                    self.tile_lut.clear();
                    let consistent = (y..y + th).all(|r| {
                        let old = if source == TONE_IN_PLACE {
                            reference.row(x, r, tw)
                        } else {
                            self.cache.row(source, r - y)
                        };
                        self.tile_lut.learn(old, src.row(x, r, tw))
                    });
                    if consistent && self.tone_lut.merge(&self.tile_lut) {
                        self.tone_src[t] = source;
                        found += 1;
                        break;
                    }
                }
            }
        }
        // Every pixel of the marked tiles is a learned pair, and the fit
        // reproduces every learned pair: the op is exact on them.
        self.tone = if found >= TONE_MIN_TILES && found * 2 >= tried {
            self.tone_lut.fit()
        } else {
            None
        };
        if self.tone.is_none() {
            self.tone_src.fill(TONE_NONE);
            self.tone_backoff.missed();
            return;
        }
        self.tone_backoff.reset();
        for (e, &s) in self.exact.iter_mut().zip(&self.tone_src) {
            *e |= s != TONE_NONE;
        }
    }

    /// Clears `exact` for tiles that lossy content reached this frame: JPEG
    /// rects, the video region, and copies whose source held lossy pixels.
    fn track_exact(&mut self, video_dirty: bool) {
        let tiles_x = self.tiles_x;
        let exact = &mut self.exact;
        let touches_lossy = |exact: &[bool], x: u32, y: u32, w: u32, h: u32| {
            (y / TILE..(y + h).div_ceil(TILE)).any(|ty| {
                (x / TILE..(x + w).div_ceil(TILE)).any(|tx| !exact[(ty * tiles_x + tx) as usize])
            })
        };
        let mark = |exact: &mut [bool], x: u32, y: u32, w: u32, h: u32| {
            for ty in y / TILE..(y + h).div_ceil(TILE) {
                for tx in x / TILE..(x + w).div_ceil(TILE) {
                    exact[(ty * tiles_x + tx) as usize] = false;
                }
            }
        };
        for &[sx, sy, dx, dy, w, h] in &self.copies {
            if touches_lossy(exact, sx, sy, w, h) {
                mark(exact, dx, dy, w, h);
            }
        }
        for &[x, y, w, h] in &self.lossy {
            mark(exact, x, y, w, h);
        }
        if video_dirty && let Some(v) = &self.video {
            let r = v.rect;
            mark(exact, r.x, r.y, r.w, r.h);
        }
    }

    /// Keeps, drops or forms the video region.
    fn update_video_region(&mut self, src: Src<'_>) -> Result<(), EncodeError> {
        if self.config.quality >= 100 {
            return Ok(());
        }
        if let Some(v) = &self.video {
            let r = v.rect;
            let (mut inside, mut dirty) = (0u32, 0u32);
            for ty in r.y / TILE..(r.y + r.h).div_ceil(TILE) {
                for tx in r.x / TILE..(r.x + r.w).div_ceil(TILE) {
                    inside += 1;
                    dirty += u32::from(self.dirty[(ty * self.tiles_x + tx) as usize]);
                }
            }
            self.video_idle = if dirty * 4 < inside {
                self.video_idle + 1
            } else {
                0
            };
            if self.video_idle >= 5 {
                self.end_video(src);
            }
            return Ok(());
        }
        let (mut x0, mut y0, mut x1, mut y1, mut n) = (u32::MAX, u32::MAX, 0, 0, 0u32);
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                let t = (ty * self.tiles_x + tx) as usize;
                if self.dirty[t] && self.streak[t] >= STREAK {
                    n += 1;
                    x0 = x0.min(tx);
                    y0 = y0.min(ty);
                    x1 = x1.max(tx + 1);
                    y1 = y1.max(ty + 1);
                }
            }
        }
        if n < 8 || n * 2 < (x1 - x0) * (y1 - y0) {
            return Ok(());
        }
        // Scrolling or moving content is motion, not video: its text would go
        // lossy inside a region.
        // Judged by last frame's split and by this frame's row hashes.
        for ty in y0..y1 {
            for tx in x0..x1 {
                let t = (ty * self.tiles_x + tx) as usize;
                if self.tile_moved[t] || (self.dirty[t] && self.moves_now(tx, ty)) {
                    return Ok(());
                }
            }
        }
        // Refine to the changed pixels (the natural tiles' neighbours may hold
        // the region's edges), made even-sized.
        let (x0, y0) = (x0.saturating_sub(1), y0.saturating_sub(1));
        let (x1, y1) = ((x1 + 1).min(self.tiles_x), (y1 + 1).min(self.tiles_y));
        let (bx, by) = (x0 * TILE, y0 * TILE);
        let bw = (x1 * TILE).min(self.width) - bx;
        let bh = (y1 * TILE).min(self.height) - by;
        let row_bytes = self.width as usize * 4;
        let (mut px0, mut px1, mut py0, mut py1) = (u32::MAX, 0u32, u32::MAX, 0u32);
        for y in by..by + bh {
            let cur = src.row(bx, y, bw);
            let prev =
                &self.reference[y as usize * row_bytes + bx as usize * 4..][..bw as usize * 4];
            if bgr_eq(cur, prev) {
                continue;
            }
            py0 = py0.min(y);
            py1 = py1.max(y + 1);
            let (a, b) = changed_cols(&self.reference, self.width, src, bx, y, bw, 1);
            px0 = px0.min(a);
            px1 = px1.max(b);
        }
        if py0 >= py1 {
            return Ok(());
        }
        // H.264 needs even sizes: grow an odd extent by one pixel (a 1-pixel
        // sliver sent as tiles every frame would cost more than it saves).
        let even = |a: u32, b: u32, limit: u32| {
            if (b - a).is_multiple_of(2) {
                (a, b)
            } else if b < limit {
                (a, b + 1)
            } else if a > 0 {
                (a - 1, b)
            } else {
                (a, b - 1)
            }
        };
        let (rx0, rx1) = even(px0, px1, self.width);
        let (ry0, ry1) = even(py0, py1, self.height);
        if rx1 < rx0 + 64 || ry1 < ry0 + 64 {
            return Ok(());
        }
        let rect = Rect {
            x: rx0,
            y: ry0,
            w: rx1 - rx0,
            h: ry1 - ry0,
        };
        self.video = Some(VideoEncoder::new(rect, self.config.quality, self.threads)?);
        self.video_idle = 0;
        let (mut ix0, mut iy0, mut ix1, mut iy1) = (u32::MAX, u32::MAX, 0, 0);
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                let (x, y, tw, th) = self.tile_rect(tx, ty);
                let t = (ty * self.tiles_x + tx) as usize;
                self.in_video[t] = intersects(rect, x, y, tw, th);
                let inner = x >= rect.x
                    && y >= rect.y
                    && x + tw <= rect.x + rect.w
                    && y + th <= rect.y + rect.h;
                self.video_inner[t] = inner;
                if inner {
                    (ix0, iy0) = (ix0.min(x), iy0.min(y));
                    (ix1, iy1) = (ix1.max(x + tw), iy1.max(y + th));
                }
            }
        }
        self.video_inner_rect = (ix0 < ix1).then(|| Rect {
            x: ix0,
            y: iy0,
            w: ix1 - ix0,
            h: iy1 - iy0,
        });
        Ok(())
    }

    /// Drops the video region and brings the row hashes of its tiles up to
    /// date: the reference's (the motion search's sources) and, for tiles
    /// that changed this frame, the new frame's.
    fn end_video(&mut self, src: Src<'_>) {
        self.video = None;
        self.ended_inner = self.video_inner_rect.take();
        let h = self.height;
        let row_bytes = self.width as usize * 4;
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                let t = (ty * self.tiles_x + tx) as usize;
                if !self.in_video[t] {
                    continue;
                }
                self.in_video[t] = false;
                let inner = std::mem::take(&mut self.video_inner[t]);
                let (x, y, tw, th) = self.tile_rect(tx, ty);
                if inner && !self.dirty[t] {
                    // The reference is stale here: what the decoder shows
                    // was coded from the region's last input, which equals
                    // this frame where the tile is not dirty (where it is,
                    // the tile is sent whole, see `ended_inner`).
                    let n = tw as usize * 4;
                    for r in y as usize..(y + th) as usize {
                        let (s, d) = (
                            r * src.stride + x as usize * 4,
                            r * row_bytes + x as usize * 4,
                        );
                        self.reference[d..d + n].copy_from_slice(&src.data[s..s + n]);
                    }
                }
                for r in y..y + th {
                    let i = (tx * h + r) as usize;
                    self.motion.hashes[i] = seg_hash(&self.reference, row_bytes, x, r, tw);
                    if self.dirty[t] {
                        self.next_hash[i] = seg_hash(src.data, src.stride, x, r, tw);
                    }
                }
            }
        }
    }

    /// Merges the natural rects into larger ones and sends each as a JPEG.
    fn encode_lossy(&mut self, src: Src<'_>, stats: &mut EncodeStats) -> Result<(), EncodeError> {
        if self.lossy.is_empty() {
            return Ok(());
        }
        merge_rects(&mut self.lossy);
        let q = self.config.quality.clamp(1, 100);
        for i in 0..self.lossy.len() {
            let [x, y, w, h] = self.lossy[i];
            self.rgb.clear();
            for r in y..y + h {
                for p in src.row(x, r, w).chunks_exact(4) {
                    self.rgb.extend_from_slice(&[p[2], p[1], p[0]]);
                }
            }
            let start = self.blob.len();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut self.blob, q)
                .encode(&self.rgb, w, h, image::ExtendedColorType::Rgb8)
                .map_err(|e| EncodeError::Jpeg(e.to_string()))?;
            put_rect_op(&mut self.ops, OP_JPEG, x, y, w, h);
            put_u32(&mut self.ops, (self.blob.len() - start) as u32);
            stats.lossy_pixels += u64::from(w) * u64::from(h);
        }
        Ok(())
    }

    /// Joins copies that continue each other, first along rows, then down columns.
    fn merge_copies(&mut self) {
        let c = &mut self.copies;
        if c.len() < 2 {
            return;
        }
        // [sx, sy, dx, dy, w, h]
        c.sort_unstable_by_key(|k| (k[3], k[5], k[1] as i64 - k[3] as i64, k[2]));
        let mut out = 0;
        for i in 1..c.len() {
            let (a, b) = (c[out], c[i]);
            if a[3] == b[3]
                && a[5] == b[5]
                && a[1] == b[1]
                && a[2] + a[4] == b[2]
                && a[0] + a[4] == b[0]
            {
                c[out][4] += b[4];
            } else {
                out += 1;
                c[out] = b;
            }
        }
        c.truncate(out + 1);
        c.sort_unstable_by_key(|k| (k[2], k[4], k[1] as i64 - k[3] as i64, k[3]));
        let mut out = 0;
        for i in 1..c.len() {
            let (a, b) = (c[out], c[i]);
            if a[2] == b[2]
                && a[4] == b[4]
                && a[0] == b[0]
                && a[3] + a[5] == b[3]
                && a[1] + a[5] == b[1]
            {
                c[out][5] += b[5];
            } else {
                out += 1;
                c[out] = b;
            }
        }
        c.truncate(out + 1);
    }

    /// Marks tiles whose B,G,R differ from the reference.
    /// Marks the tiles that differ from the reference, only looking inside `changed` (tiles
    /// touching it; `None`: all).
    fn diff(&mut self, src: Src<'_>, changed: Option<Rect>) {
        let (w, h) = (self.width, self.height);
        let row_bytes = w as usize * 4;
        let tile_bytes = TILE as usize * 4;
        self.dirty.fill(false);
        let (tiles_x, tiles_y) = match changed {
            None => (0..self.tiles_x, 0..self.tiles_y),
            Some(r) => {
                let Some(r) = r.intersect(Rect { x: 0, y: 0, w, h }) else {
                    return;
                };
                (
                    r.x / TILE..(r.x + r.w).div_ceil(TILE),
                    r.y / TILE..(r.y + r.h).div_ceil(TILE),
                )
            }
        };
        // Byte range of the columns of tiles looked at, in a row.
        let bytes =
            tiles_x.start as usize * tile_bytes..(tiles_x.end as usize * tile_bytes).min(row_bytes);
        for ty in tiles_y {
            let row = (ty * self.tiles_x + tiles_x.start) as usize
                ..(ty * self.tiles_x + tiles_x.end) as usize;
            let dirty = &mut self.dirty[row.clone()];
            let in_video = &self.in_video[row.clone()];
            let inner = &self.video_inner[row];
            let y0 = ty * TILE;
            let y1 = (y0 + TILE).min(h);
            for y in y0..y1 {
                let line = y as usize * src.stride;
                let cur = &src.data[line + bytes.start..line + bytes.end];
                let line = y as usize * row_bytes;
                let prev = &self.reference[line + bytes.start..line + bytes.end];
                // A changed tile's rows are hashed here, while they are in
                // cache (Phase A's work); rows above its first change are
                // unchanged and keep the reference's hashes.
                // A tile inside the video region needs only its first
                // change found: the region codes it, unhashed.
                for (tx, ((((d, &v), &i), c), p)) in dirty
                    .iter_mut()
                    .zip(in_video)
                    .zip(inner)
                    .zip(cur.chunks(tile_bytes))
                    .zip(prev.chunks(tile_bytes))
                    .enumerate()
                {
                    let col = (tiles_x.start as usize + tx) * h as usize;
                    if i {
                        // (see `diff_video_inner`)
                        continue;
                    }
                    if *d {
                        if !v {
                            self.next_hash[col + y as usize] = bgr_hash(c);
                        }
                    } else if !bgr_eq(c, p) {
                        *d = true;
                        if v {
                            continue;
                        }
                        let above = col + y0 as usize..col + y as usize;
                        self.next_hash[above.clone()].copy_from_slice(&self.motion.hashes[above]);
                        self.next_hash[col + y as usize] = bgr_hash(c);
                    }
                }
            }
        }
    }

    /// Marks the tiles inside the video region that changed since the
    /// region was last encoded, from the region's conversion to I420 (which
    /// its encoding needs anyway): the reference holds no pixels there.
    fn diff_video_inner(&mut self, src: Src<'_>) {
        let Some(v) = self.video.as_mut() else {
            return;
        };
        if self.video_inner_rect.is_none() {
            return;
        }
        v.convert(src);
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                let t = (ty * self.tiles_x + tx) as usize;
                if self.video_inner[t] {
                    let (x, y) = (tx * TILE, ty * TILE);
                    let (tw, th) = (TILE.min(self.width - x), TILE.min(self.height - y));
                    self.dirty[t] = v.changed(x, y, tw, th);
                }
            }
        }
    }

    fn write_update(
        &mut self,
        key: bool,
        changed: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let mut flags = if key { FLAG_KEYFRAME } else { 0 };
        // The op stream: copies first, then each band's tile ops, then the
        // JPEG and video ops (already in `self.ops`).
        self.zbuf.clear();
        if key && self.cache.slots() != u32::from(DEFAULT_CACHE_SLOTS) {
            self.zbuf.push(OP_CACHE_SIZE);
            put_u16(&mut self.zbuf, self.cache.slots() as u16);
        }
        for &[s, x, y, w, h] in &self.saves {
            self.zbuf.push(OP_SAVE);
            put_u16(&mut self.zbuf, s as u16);
            for v in [x, y, w, h] {
                put_u16(&mut self.zbuf, v as u16);
            }
        }
        for c in &self.copies {
            self.zbuf.push(OP_COPY);
            for v in c {
                put_u16(&mut self.zbuf, *v as u16);
            }
        }
        for wk in &self.workers[..self.bands] {
            self.zbuf.extend_from_slice(&wk.ops);
        }
        self.zbuf.extend_from_slice(&self.ops);
        std::mem::swap(&mut self.zbuf, &mut self.ops);
        let ops_len = self.ops.len();
        // A keyframe starts the zstd history over, compressed or not.
        if key && let Some(z) = self.zstd.as_mut() {
            z.restart().map_err(EncodeError::Zstd)?;
        }
        let use_zstd = ops_len > 64;
        self.zbuf.clear();
        // (An update that changed nothing may be dropped by the caller: never in the history.)
        if use_zstd && !key && changed && ops_len <= ZSTD_BIG {
            let z = match self.zstd.as_mut() {
                Some(z) => z,
                None => self
                    .zstd
                    .insert(OpsCompressor::new(ZSTD_LEVEL).map_err(EncodeError::Zstd)?),
            };
            z.compress(&self.ops, &mut self.zbuf)
                .map_err(EncodeError::Zstd)?;
            flags |= FLAG_OPS_ZSTD | FLAG_OPS_HISTORY;
        } else if use_zstd {
            // Keyframes are rare and large: a frame of their own at a higher level (zstd keeps
            // one level per frame, and the history's must be cheap). Page flips and big redraws
            // at the fastest: their zstd time otherwise dominates the update.
            let level = if key { ZSTD_KEY_LEVEL } else { ZSTD_BIG_LEVEL };
            let z = match self.zstd_alone.as_mut() {
                Some(z) => z,
                None => self
                    .zstd_alone
                    .insert(zstd::bulk::Compressor::new(level).map_err(EncodeError::Zstd)?),
            };
            z.set_compression_level(level).map_err(EncodeError::Zstd)?;
            self.zbuf.reserve(zstd::zstd_safe::compress_bound(ops_len));
            z.compress_to_buffer(&self.ops, &mut self.zbuf)
                .map_err(EncodeError::Zstd)?;
            flags |= FLAG_OPS_ZSTD;
        }
        let body: &[u8] = if use_zstd { &self.zbuf } else { &self.ops };
        out.reserve(HEADER_LEN + body.len() + self.blob.len());
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(flags);
        put_u32(out, self.width);
        put_u32(out, self.height);
        put_u32(out, ops_len as u32);
        put_u32(out, body.len() as u32);
        put_u32(out, self.blob.len() as u32);
        out.extend_from_slice(body);
        out.extend_from_slice(&self.blob);
        Ok(())
    }
}

/// Merges `[x, y, w, h]` rects that continue each other along rows, then down
/// columns.
fn merge_rects(c: &mut Vec<[u32; 4]>) {
    if c.len() < 2 {
        return;
    }
    c.sort_unstable_by_key(|k| (k[1], k[3], k[0]));
    let mut out = 0;
    for i in 1..c.len() {
        let (a, b) = (c[out], c[i]);
        if a[1] == b[1] && a[3] == b[3] && a[0] + a[2] == b[0] {
            c[out][2] += b[2];
        } else {
            out += 1;
            c[out] = b;
        }
    }
    c.truncate(out + 1);
    c.sort_unstable_by_key(|k| (k[0], k[2], k[1]));
    let mut out = 0;
    for i in 1..c.len() {
        let (a, b) = (c[out], c[i]);
        if a[0] == b[0] && a[2] == b[2] && a[1] + a[3] == b[1] {
            c[out][3] += b[3];
        } else {
            out += 1;
            c[out] = b;
        }
    }
    c.truncate(out + 1);
}

#[inline]
/// Like `intersects`, for a rect that may start above or left of the frame.
fn overlaps(r: Rect, x: i64, y: i64, w: u32, h: u32) -> bool {
    x < i64::from(r.x + r.w)
        && y < i64::from(r.y + r.h)
        && x + i64::from(w) > i64::from(r.x)
        && y + i64::from(h) > i64::from(r.y)
}

fn intersects(r: Rect, x: u32, y: u32, w: u32, h: u32) -> bool {
    x < r.x + r.w && r.x < x + w && y < r.y + r.h && r.y < y + h
}

/// The parts of rect `(x, y, w, h)` outside `r`, as up to four rects.
fn subtract(r: Rect, x: u32, y: u32, w: u32, h: u32) -> [Option<(u32, u32, u32, u32)>; 4] {
    let mut out = [None; 4];
    if !intersects(r, x, y, w, h) {
        out[0] = Some((x, y, w, h));
        return out;
    }
    let (x1, y1) = (x + w, y + h);
    let (rx1, ry1) = (r.x + r.w, r.y + r.h);
    if y < r.y {
        out[0] = Some((x, y, w, r.y - y));
    }
    if y1 > ry1 {
        out[1] = Some((x, ry1, w, y1 - ry1));
    }
    let (my0, my1) = (y.max(r.y), y1.min(ry1));
    if x < r.x {
        out[2] = Some((x, my0, r.x - x, my1 - my0));
    }
    if x1 > rx1 {
        out[3] = Some((rx1, my0, x1 - rx1, my1 - my0));
    }
    out
}

/// Shift-invariant anchor index for [`Encoder::find_move`].
#[derive(Default)]
struct Anchors {
    keys: Vec<u64>,
    pos: Vec<(u32, u32)>,
    stamps: Vec<u32>,
    epoch: u32,
    votes: Vec<(i32, i32, u32)>,
    /// The last two displacements the move search found, newest first, with the votes each had
    /// when `find_in` found it.
    recent_moves: [Option<((i32, i32), u32)>; 2],
    /// The votes of `find_in`'s last answer.
    found_votes: u32,
    /// `find_banded`'s votes: an open-addressed table of displacements
    /// (`SHIFT_VOTES` entries, count 0 = free), so that many displacements
    /// voted for by repeated content cannot crowd out the true one.
    shift_votes: Vec<(i32, i32, u32)>,
}

const ANCHOR_SPAN: u32 = 16;
const ANCHOR_TABLE: usize = 1 << 16;

/// Rows per band of the shifted-content search (see `Anchors::find_banded`).
const BAND: u32 = 8;
/// Bands of the new picture whose anchors that search looks for.
const BANDS: u32 = 6;
/// Size of that search's vote table (a power of two).
const SHIFT_VOTES: usize = 4096;

// Always: called once per pixel scanned, and not inlined into every scan otherwise.
#[inline(always)]
fn is_anchor(row: &[u8], i: usize) -> bool {
    let a = u32::from_le_bytes([row[i * 4 - 4], row[i * 4 - 3], row[i * 4 - 2], 0]);
    let b = u32::from_le_bytes([row[i * 4], row[i * 4 + 1], row[i * 4 + 2], 0]);
    a != b && (a.wrapping_mul(0x9E37_79B1) ^ b.wrapping_mul(0x85EB_CA77)) >> 28 == 0
}

impl Anchors {
    fn find(
        &mut self,
        prev: Src<'_>,
        cur: Src<'_>,
        bx: u32,
        by: u32,
        bw: u32,
        bh: u32,
    ) -> Option<(i32, i32)> {
        self.find_in(prev, (bx, by, bw, bh), cur, (bx, by, bw, bh), 32)
    }

    /// The commonest displacement from anchors of `cur` in `cur_rect` to
    /// the same anchors of `prev` in `prev_rect`, counting at most
    /// `max_offsets` distinct ones.
    fn find_in(
        &mut self,
        prev: Src<'_>,
        (bx, by, bw, bh): (u32, u32, u32, u32),
        cur: Src<'_>,
        (cx, cy, cw, ch): (u32, u32, u32, u32),
        max_offsets: usize,
    ) -> Option<(i32, i32)> {
        if bw <= ANCHOR_SPAN + 1 || cw <= ANCHOR_SPAN + 1 {
            return None;
        }
        self.begin();
        let span = (ANCHOR_SPAN * 4) as usize;
        let mut inserted = 0usize;
        'rows: for y in by..by + bh {
            let row = prev.row(bx, y, bw);
            for i in 1..(bw - ANCHOR_SPAN) as usize {
                if !is_anchor(row, i) {
                    continue;
                }
                let k = bgr_hash(&row[i * 4..i * 4 + span]) | 1;
                let mut slot = (k as usize ^ (k >> 40) as usize) & (ANCHOR_TABLE - 1);
                loop {
                    if self.stamps[slot] != self.epoch {
                        self.stamps[slot] = self.epoch;
                        self.keys[slot] = k;
                        self.pos[slot] = (bx + i as u32, y);
                        inserted += 1;
                        break;
                    }
                    if self.keys[slot] == k {
                        self.pos[slot] = (u32::MAX, u32::MAX);
                        break;
                    }
                    slot = (slot + 1) & (ANCHOR_TABLE - 1);
                }
                if inserted * 2 >= ANCHOR_TABLE {
                    break 'rows;
                }
            }
        }
        self.votes.clear();
        for y in (cy..cy + ch).step_by(3) {
            let row = cur.row(cx, y, cw);
            for i in 1..(cw - ANCHOR_SPAN) as usize {
                if !is_anchor(row, i) {
                    continue;
                }
                let k = bgr_hash(&row[i * 4..i * 4 + span]) | 1;
                let mut slot = (k as usize ^ (k >> 40) as usize) & (ANCHOR_TABLE - 1);
                while self.stamps[slot] == self.epoch {
                    if self.keys[slot] == k {
                        let (px, py) = self.pos[slot];
                        if px != u32::MAX {
                            let d = (px as i32 - (cx + i as u32) as i32, py as i32 - y as i32);
                            if d != (0, 0) {
                                if let Some(v) = self.votes.iter_mut().find(|v| (v.0, v.1) == d) {
                                    v.2 += 1;
                                } else if self.votes.len() < max_offsets {
                                    self.votes.push((d.0, d.1, 1));
                                }
                            }
                        }
                        break;
                    }
                    slot = (slot + 1) & (ANCHOR_TABLE - 1);
                }
            }
        }
        let best = self.votes.iter().max_by_key(|v| v.2)?;
        self.found_votes = best.2;
        (best.2 >= 8 && best.0 != 0).then_some((best.0, best.1))
    }
}

impl Anchors {
    fn forget_moves(&mut self) {
        self.recent_moves = [None, None];
    }

    fn remember_move(&mut self, d: (i32, i32), votes: u32) {
        if self.recent_moves[0].map(|(m, _)| m) != Some(d) {
            self.recent_moves = [Some((d, votes)), self.recent_moves[0]];
        }
    }

    /// A displacement among the recent moves (and twice the last: two steps of a drag in one
    /// frame) under which anchors of `cur` in the rectangle (every third row, as `find_in`
    /// samples them) show the same 16 pixels in `prev` (a `size` picture), and not one row above
    /// or below it, once as many do as when `find_in` found the move (and at least its 8):
    /// reading stops there. Text agrees with a move one row off for most of its anchors (vertical
    /// strokes), and scrolling text with a stale move now and then.
    fn confirm(
        &mut self,
        prev: Src<'_>,
        (width, height): (u32, u32),
        cur: Src<'_>,
        (cx, cy, cw, ch): (u32, u32, u32, u32),
    ) -> Option<(i32, i32)> {
        let [Some((last, last_votes)), older] = self.recent_moves else {
            return None;
        };
        let candidates = [
            Some((last, last_votes)),
            older,
            Some(((last.0 * 2, last.1 * 2), last_votes)),
        ];
        if cw <= ANCHOR_SPAN + 1 {
            return None;
        }
        let (width, height) = (i64::from(width), i64::from(height));
        let span = (ANCHOR_SPAN * 4) as usize;
        let needed =
            candidates.map(|c| c.map_or(u32::MAX, |(_, had)| (had * 3).div_ceil(4).max(8)));
        let mut votes = [0u32; 3];
        'rows: for y in (cy..cy + ch).step_by(3) {
            let row = cur.row(cx, y, cw);
            for i in 1..(cw - ANCHOR_SPAN) as usize {
                if !is_anchor(row, i) {
                    continue;
                }
                let here = &row[i * 4..i * 4 + span];
                for (vote, candidate) in votes.iter_mut().zip(candidates) {
                    let Some(((dx, dy), _)) = candidate else {
                        continue;
                    };
                    let px = i64::from(cx) + i as i64 + i64::from(dx);
                    let py = i64::from(y) + i64::from(dy);
                    if px < 0 || px + i64::from(ANCHOR_SPAN) > width {
                        continue;
                    }
                    let shows = |y: i64| {
                        (0..height).contains(&y)
                            && bgr_eq(prev.row(px as u32, y as u32, ANCHOR_SPAN), here)
                    };
                    // Shown one row up or down as well (a vertical stroke): no evidence of which.
                    if shows(py) && !shows(py - 1) && !shows(py + 1) {
                        *vote += 1;
                    }
                }
                // Enough agree: the rest of the rectangle need not be read.
                if votes.iter().zip(needed).any(|(&got, needed)| got >= needed) {
                    break 'rows;
                }
            }
        }
        let (_, (d, had)) = votes
            .into_iter()
            .zip(needed)
            .zip(candidates)
            .filter(|((got, needed), _)| got >= needed)
            .filter_map(|((got, _), candidate)| Some((got, candidate?)))
            .max_by_key(|(got, _)| *got)?;
        self.remember_move(d, had);
        Some(d)
    }

    /// Starts a new table (sized on first use).
    fn begin(&mut self) {
        if self.keys.len() != ANCHOR_TABLE {
            self.keys = vec![0; ANCHOR_TABLE];
            self.pos = vec![(0, 0); ANCHOR_TABLE];
            self.stamps = vec![0; ANCHOR_TABLE];
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.fill(0);
            self.epoch = 1;
        }
        self.votes.clear();
    }

    /// Like `find_in`, at a fraction of its cost: the anchors of `BANDS`
    /// bands of `BAND` consecutive rows of `cur` are looked for in every
    /// `BAND`th row of `prev`, which still meets every band at any vertical
    /// displacement. What it finds is only a candidate: every tile sent
    /// from it is compared pixel by pixel first.
    fn find_banded(
        &mut self,
        prev: Src<'_>,
        (bx, by, bw, bh): (u32, u32, u32, u32),
        cur: Src<'_>,
        (cx, cy, cw, ch): (u32, u32, u32, u32),
    ) -> Option<(i32, i32)> {
        if bw <= ANCHOR_SPAN + 1 || cw <= ANCHOR_SPAN + 1 || ch < BAND {
            return None;
        }
        self.begin();
        if self.shift_votes.len() != SHIFT_VOTES {
            self.shift_votes = vec![(0, 0, 0); SHIFT_VOTES];
        }
        self.shift_votes.fill((0, 0, 0));
        let span = (ANCHOR_SPAN * 4) as usize;
        let mask = ANCHOR_TABLE - 1;
        for b in 1..=BANDS {
            let y0 = cy + (ch - BAND) * b / (BANDS + 1);
            for y in y0..y0 + BAND {
                let row = cur.row(cx, y, cw);
                for i in 1..(cw - ANCHOR_SPAN) as usize {
                    if !is_anchor(row, i) {
                        continue;
                    }
                    let k = bgr_hash(&row[i * 4..i * 4 + span]) | 1;
                    let mut slot = (k as usize ^ (k >> 40) as usize) & mask;
                    loop {
                        if self.stamps[slot] != self.epoch {
                            self.stamps[slot] = self.epoch;
                            self.keys[slot] = k;
                            self.pos[slot] = (cx + i as u32, y);
                            break;
                        }
                        if self.keys[slot] == k {
                            // Seen twice in the bands: no evidence of where.
                            self.pos[slot] = (u32::MAX, u32::MAX);
                            break;
                        }
                        slot = (slot + 1) & mask;
                    }
                }
            }
        }
        for y in (by..by + bh).step_by(BAND as usize) {
            let row = prev.row(bx, y, bw);
            for i in 1..(bw - ANCHOR_SPAN) as usize {
                if !is_anchor(row, i) {
                    continue;
                }
                let k = bgr_hash(&row[i * 4..i * 4 + span]) | 1;
                let mut slot = (k as usize ^ (k >> 40) as usize) & mask;
                while self.stamps[slot] == self.epoch {
                    if self.keys[slot] == k {
                        let (px, py) = self.pos[slot];
                        if px != u32::MAX {
                            let d = ((bx + i as u32) as i32 - px as i32, y as i32 - py as i32);
                            if d != (0, 0) {
                                vote_shift(&mut self.shift_votes, d);
                            }
                        }
                        break;
                    }
                    slot = (slot + 1) & mask;
                }
            }
        }
        // (each band meets the displaced picture in one row: fewer votes
        // than `find_in` gets; every tile is verified anyway)
        let best = self.shift_votes.iter().max_by_key(|v| v.2)?;
        (best.2 >= 6).then_some((best.0, best.1))
    }
}

/// Counts a vote for displacement `d` in an open-addressed table (a full
/// table ignores new displacements).
fn vote_shift(table: &mut [(i32, i32, u32)], d: (i32, i32)) {
    let mask = table.len() - 1;
    let h = (d.0 as u32).wrapping_mul(0x9E37_79B1) ^ (d.1 as u32).wrapping_mul(0x85EB_CA77);
    let mut slot = (h >> 16) as usize & mask;
    for _ in 0..table.len() {
        let v = &mut table[slot];
        if v.2 == 0 {
            *v = (d.0, d.1, 1);
            return;
        }
        if (v.0, v.1) == d {
            v.2 += 1;
            return;
        }
        slot = (slot + 1) & mask;
    }
}

/// What the workers of Phase C share (read-only).
struct Ctx<'a> {
    width: u32,
    height: u32,
    tiles_x: u32,
    quality: u8,
    reference: &'a [u8],
    next_hash: &'a [u64],
    motion: &'a Motion,
    dirty: &'a [bool],
    tile_dy: &'a [i32],
    video: Option<Rect>,
    /// Where the reference is stale (`Encoder::video_inner_rect`).
    stale: Option<Rect>,
    /// Changed tiles here are sent whole (`Encoder::ended_inner`).
    recode: Option<Rect>,
    moved: Option<(i32, i32)>,
    key: bool,
    cache: &'a EncoderCache,
    last_saved: &'a [[(u32, u32); HISTORY]],
    tone: Option<Tone>,
    tone_src: &'a [u32],
    mosaic: &'a [u8],
    mosaic_slot: &'a [(u32, u32)],
    shifted: Option<(i32, i32)>,
}

/// One worker's output for a band of tile rows; bands are independent.
#[derive(Default)]
struct Worker {
    ops: Vec<u8>,
    copies: Vec<[u32; 6]>,
    lossy: Vec<[u32; 4]>,
    scratch: TileScratch,
    /// Tiles that held natural content / were mostly copied.
    natural: Vec<u32>,
    moved: Vec<u32>,
    /// Tiles with rows the 2-D move explained.
    dragged: u32,
    /// Cache slots referenced, in order.
    cache_used: Vec<u32>,
    video_dirty: bool,
    changed: bool,
}

impl Worker {
    fn clear(&mut self) {
        self.ops.clear();
        self.copies.clear();
        self.lossy.clear();
        self.natural.clear();
        self.moved.clear();
        self.dragged = 0;
        self.cache_used.clear();
        self.video_dirty = false;
        self.changed = false;
    }
}

impl Ctx<'_> {
    #[inline]
    fn tile_rect(&self, tx: u32, ty: u32) -> (u32, u32, u32, u32) {
        let x = tx * TILE;
        let y = ty * TILE;
        (x, y, TILE.min(self.width - x), TILE.min(self.height - y))
    }

    /// Phase C for tile rows `rows`: split each changed tile into unchanged,
    /// moved and literal rows.
    fn run(&self, wk: &mut Worker, src: Src<'_>, rows: std::ops::Range<u32>) {
        wk.clear();
        for ty in rows {
            // A run of tiles along the row toned in place: one TRANSFORM.
            let mut run: Option<(u32, u32)> = None;
            for tx in 0..self.tiles_x {
                let t = (ty * self.tiles_x + tx) as usize;
                if let Some(tone) = self.tone
                    && self.tone_src[t] != TONE_NONE
                {
                    wk.changed = true;
                    if self.tone_src[t] == TONE_IN_PLACE {
                        run = Some(run.map_or((tx, 1), |(s, n)| (s, n + 1)));
                    } else {
                        self.put_transform(wk, tone, ty, run.take());
                        let (x, y, tw, th) = self.tile_rect(tx, ty);
                        put_rect_op(&mut wk.ops, OP_TRANSFORM, x, y, tw, th);
                        put_u16(&mut wk.ops, self.tone_src[t] as u16);
                        tone.write(&mut wk.ops);
                        wk.cache_used.push(self.tone_src[t]);
                    }
                    if tx + 1 == self.tiles_x {
                        self.put_transform(wk, tone, ty, run.take());
                    }
                    continue;
                }
                if let Some(tone) = self.tone {
                    self.put_transform(wk, tone, ty, run.take());
                }
                if !self.dirty[t] {
                    continue;
                }
                wk.changed = true;
                let (x, y, tw, th) = self.tile_rect(tx, ty);
                if self.key || self.recode.is_some_and(|r| intersects(r, x, y, tw, th)) {
                    self.encode_rect(wk, src, x, y, tw, th);
                    continue;
                }
                if let Some(vr) = self.video
                    && intersects(vr, x, y, tw, th)
                {
                    wk.video_dirty = true;
                    // Outside the region, send what changed (no motion search).
                    for (px, py, pw, ph) in subtract(vr, x, y, tw, th).into_iter().flatten() {
                        self.encode_changed(wk, src, px, py, pw, ph);
                    }
                    continue;
                }
                let dy = self.best_dy(tx, y, th, self.tile_dy[t]);
                match self.moved {
                    Some((mdx, mdy)) if dy == NO_DY => {
                        let copied = self.split_tile(wk, src, tx, x, y, tw, th, mdy, mdx);
                        wk.dragged += u32::from(copied > 0);
                    }
                    _ => {
                        self.split_tile(wk, src, tx, x, y, tw, th, dy, 0);
                    }
                }
            }
        }
    }

    /// Sends tile `(x, y, tw, th)` as the pieces of up to four cached tiles
    /// when it equals the mosaic `(dx, dy)` away and every tile under that
    /// rect still holds its last save.
    fn use_shifted(
        &self,
        wk: &mut Worker,
        src: Src<'_>,
        (x, y, tw, th): (u32, u32, u32, u32),
        dx: i32,
        dy: i32,
    ) -> bool {
        let (sx, sy) = (i64::from(x) + i64::from(dx), i64::from(y) + i64::from(dy));
        if sx < 0
            || sy < 0
            || sx + i64::from(tw) > i64::from(self.width)
            || sy + i64::from(th) > i64::from(self.height)
        {
            return false;
        }
        let (sx, sy) = (sx as u32, sy as u32);
        let (gx0, gx1) = (sx / TILE, (sx + tw - 1) / TILE);
        let (gy0, gy1) = (sy / TILE, (sy + th - 1) / TILE);
        for gy in gy0..=gy1 {
            for gx in gx0..=gx1 {
                let (_, _, gw, gh) = self.tile_rect(gx, gy);
                let (s, generation) = self.mosaic_slot[(gy * self.tiles_x + gx) as usize];
                if !self.cache.holds(s, generation, gw, gh) {
                    return false;
                }
            }
        }
        let mosaic = Src {
            data: self.mosaic,
            stride: self.width as usize * 4,
        };
        if !(0..th).all(|r| bgr_eq(src.row(x, y + r, tw), mosaic.row(sx, sy + r, tw))) {
            return false;
        }
        for gy in gy0..=gy1 {
            for gx in gx0..=gx1 {
                let (gxp, gyp, gw, gh) = self.tile_rect(gx, gy);
                let (s, _) = self.mosaic_slot[(gy * self.tiles_x + gx) as usize];
                let (px0, px1) = (sx.max(gxp), (sx + tw).min(gxp + gw));
                let (py0, py1) = (sy.max(gyp), (sy + th).min(gyp + gh));
                let (ox, oy) = (px0 - sx, py0 - sy);
                put_use(
                    &mut wk.ops,
                    s,
                    px0 - gxp,
                    py0 - gyp,
                    x + ox,
                    y + oy,
                    px1 - px0,
                    py1 - py0,
                );
                wk.cache_used.push(s);
            }
        }
        true
    }

    /// Writes a TRANSFORM op over a run of `n` tiles from column `start`.
    fn put_transform(&self, wk: &mut Worker, tone: Tone, ty: u32, run: Option<(u32, u32)>) {
        let Some((start, n)) = run else { return };
        let (x, y, _, th) = self.tile_rect(start, ty);
        let w = ((start + n) * TILE).min(self.width) - x;
        put_rect_op(&mut wk.ops, OP_TRANSFORM, x, y, w, th);
        put_u16(&mut wk.ops, IN_PLACE);
        tone.write(&mut wk.ops);
    }

    /// Picks the offset (tile's own vote or a global favourite) that lets the
    /// most rows of the tile be copied, judged by row hashes.
    fn best_dy(&self, tx: u32, y: u32, th: u32, own: i32) -> i32 {
        let h = self.height as i32;
        let mut best = (NO_DY, 0u32);
        let globals = self.motion.global.iter().take(3).map(|g| g.0);
        for dy in std::iter::once(own).chain(globals) {
            if dy == NO_DY || dy == 0 || dy == best.0 {
                continue;
            }
            let mut n = 0;
            for r in y..y + th {
                let sy = r as i32 + dy;
                if sy < 0 || sy >= h {
                    continue;
                }
                let hh = self.next_hash[(tx * self.height + r) as usize];
                n += u32::from(
                    hh == self.motion.hash(tx, sy as u32) && hh != self.motion.hash(tx, r),
                );
            }
            if n > best.1 {
                best = (dy, n);
            }
        }
        best.0
    }

    /// Sends a changed tile as runs of rows that are unchanged, copied from `(dx, dy)` away, in
    /// the cache, or pixels; returns how many rows it copied.
    #[allow(clippy::too_many_arguments)]
    fn split_tile(
        &self,
        wk: &mut Worker,
        src: Src<'_>,
        tx: u32,
        x: u32,
        y: u32,
        tw: u32,
        th: u32,
        dy: i32,
        dx: i32,
    ) -> u32 {
        let row_bytes = self.width as usize * 4;
        let n = tw as usize * 4;
        let sx = x as i32 + dx;
        let dx_ok = sx >= 0 && sx + tw as i32 <= self.width as i32;
        // No copy from where the reference is stale (inside a video region).
        let dy = match self.stale {
            Some(r)
                if dy != NO_DY
                    && dx_ok
                    && overlaps(r, i64::from(sx), i64::from(y) + i64::from(dy), tw, th) =>
            {
                NO_DY
            }
            _ => dy,
        };
        // 0 = unchanged, 1 = copied from (dx, dy), 2 = literal
        let mut class = [0u8; TILE as usize];
        for r in 0..th {
            let yy = y + r;
            let hh = self.next_hash[(tx * self.height + yy) as usize];
            let cur = &src.data[yy as usize * src.stride + x as usize * 4..][..n];
            let c = if hh == self.motion.hash(tx, yy)
                && bgr_eq(
                    cur,
                    &self.reference[yy as usize * row_bytes + x as usize * 4..][..n],
                ) {
                0
            } else {
                let sy = yy as i32 + dy;
                if dy != NO_DY
                    && dx_ok
                    && sy >= 0
                    && sy < self.height as i32
                    && (dx != 0 || hh == self.motion.hash(tx, sy as u32))
                    && bgr_eq(
                        cur,
                        &self.reference[sy as usize * row_bytes + sx as usize * 4..][..n],
                    )
                {
                    1
                } else {
                    2
                }
            };
            class[r as usize] = c;
        }
        let t = ((y / TILE) * self.tiles_x + tx) as usize;
        let literal = class[..th as usize].iter().filter(|&&c| c == 2).count();
        if literal > 0 {
            // The whole tile as the cache holds it, from anywhere.
            let b = (tx * self.height + y) as usize;
            let key = tile_key(&self.next_hash[b..b + th as usize], tw);
            if let Some(s) = self.cache.lookup(key, tw, th)
                && self.cache.matches(s, src, x, y, tw, th)
            {
                put_use(&mut wk.ops, s, 0, 0, x, y, tw, th);
                wk.cache_used.push(s);
                return 0;
            }
            if let Some((dx, dy)) = self.shifted
                && self.use_shifted(wk, src, (x, y, tw, th), dx, dy)
            {
                return 0;
            }
        }
        // What was saved at this position (the background under a window).
        let mut saved = [None; HISTORY];
        if literal > 0 {
            for (k, &(s, generation)) in self.last_saved[t].iter().enumerate() {
                saved[k] = self.cache.holds(s, generation, tw, th).then_some(s);
            }
        }
        for (k, s) in saved.iter().enumerate() {
            let Some(s) = *s else { continue };
            for r in 0..th {
                if class[r as usize] == 2 && bgr_eq(src.row(x, y + r, tw), self.cache.row(s, r)) {
                    class[r as usize] = 3 + k as u8;
                }
            }
        }
        let moved = class[..th as usize].iter().filter(|&&c| c == 1).count() as u32;
        if moved * 2 >= th {
            wk.moved.push((y / TILE) * self.tiles_x + x / TILE);
        }
        let mut r = 0;
        while r < th {
            let c = class[r as usize];
            let mut e = r + 1;
            while e < th && class[e as usize] == c {
                e += 1;
            }
            match c {
                1 => self.push_copy(
                    wk,
                    sx as u32,
                    ((y + r) as i32 + dy) as u32,
                    x,
                    y + r,
                    tw,
                    e - r,
                ),
                3.. => {
                    if let Some(s) = saved[usize::from(c - 3)] {
                        put_use(&mut wk.ops, s, 0, r, x, y + r, tw, e - r);
                        wk.cache_used.push(s);
                    }
                }
                2 => {
                    let mv = (dy != NO_DY && dx_ok).then_some((sx as u32, dy));
                    if (mv.is_none() && saved == [None; HISTORY])
                        || !self.split_cols(wk, src, x, y + r, tw, e - r, saved, r, mv)
                    {
                        let (x0, x1) =
                            changed_cols(self.reference, self.width, src, x, y + r, tw, e - r);
                        self.encode_rect(wk, src, x0, y + r, x1 - x0, e - r);
                    }
                }
                _ => {}
            }
            r = e;
        }
        moved
    }

    /// Splits a run of rows that no single source explains into column spans
    /// that are unchanged, copied from the move `mv` (source x, dy), shown
    /// again from one of the cache slots `slots` (from slot row `r0`), or
    /// literal: a window's edge crosses the run, with the window on one side
    /// and the background it uncovers on the other. Returns false (and sends
    /// nothing) when no span would be copied or referenced.
    #[allow(clippy::too_many_arguments)]
    fn split_cols(
        &self,
        wk: &mut Worker,
        src: Src<'_>,
        x: u32,
        y: u32,
        w: u32,
        h: u32,
        slots: [Option<u32>; HISTORY],
        r0: u32,
        mv: Option<(u32, i32)>,
    ) -> bool {
        let row_bytes = self.width as usize * 4;
        let n = w as usize * 4;
        let full = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
        let (mut same, mut moved) = (full, if mv.is_some() { full } else { 0 });
        let mut cached = slots.map(|s| if s.is_some() { full } else { 0 });
        for r in 0..h {
            let yy = y + r;
            let cur = src.row(x, yy, w);
            same &= eq_mask(
                cur,
                &self.reference[yy as usize * row_bytes + x as usize * 4..][..n],
            );
            if let Some((sx, dy)) = mv
                && moved != 0
            {
                let sy = yy as i32 + dy;
                moved = if sy < 0 || sy >= self.height as i32 {
                    0
                } else {
                    moved
                        & eq_mask(
                            cur,
                            &self.reference[sy as usize * row_bytes + sx as usize * 4..][..n],
                        )
                };
            }
            for (m, s) in cached.iter_mut().zip(slots) {
                if let Some(s) = s
                    && *m != 0
                {
                    *m &= eq_mask(cur, self.cache.row(s, r0 + r));
                }
            }
            if (moved | cached.iter().fold(0, |a, m| a | m)) & !same == 0 {
                return false;
            }
        }
        // 0 = unchanged, 1 = moved, 2 = literal, 3 + k = cached in slots[k]
        let mut cls = [2u8; TILE as usize];
        for (c, k) in cls[..w as usize].iter_mut().enumerate() {
            let bit = 1u64 << c;
            *k = if same & bit != 0 {
                0
            } else if moved & bit != 0 {
                1
            } else if let Some(k) = cached.iter().position(|m| m & bit != 0) {
                3 + k as u8
            } else {
                2
            };
        }
        // Narrow copies and references cost more than the pixels they save.
        let mut useful = false;
        let mut c = 0;
        while c < w {
            let k = cls[c as usize];
            let mut e = c + 1;
            while e < w && cls[e as usize] == k {
                e += 1;
            }
            if k == 1 || k >= 3 {
                if e - c < MIN_SPAN {
                    cls[c as usize..e as usize].fill(2);
                } else {
                    useful = true;
                }
            }
            c = e;
        }
        if !useful {
            return false;
        }
        let mut c = 0;
        while c < w {
            let k = cls[c as usize];
            let mut e = c + 1;
            while e < w && cls[e as usize] == k {
                e += 1;
            }
            match k {
                1 => {
                    if let Some((sx, dy)) = mv {
                        self.push_copy(wk, sx + c, (y as i32 + dy) as u32, x + c, y, e - c, h);
                    }
                }
                3.. => {
                    if let Some(s) = slots[usize::from(k - 3)] {
                        put_use(&mut wk.ops, s, c, r0, x + c, y, e - c, h);
                        wk.cache_used.push(s);
                    }
                }
                2 => self.encode_rect(wk, src, x + c, y, e - c, h),
                _ => {}
            }
            c = e;
        }
        true
    }

    /// Sends the changed part (bounding box) of a rect, if any.
    fn encode_changed(&self, wk: &mut Worker, src: Src<'_>, x: u32, y: u32, w: u32, h: u32) {
        let row_bytes = self.width as usize * 4;
        let changed = |r: u32| {
            let cur = src.row(x, r, w);
            let prev = &self.reference[r as usize * row_bytes + x as usize * 4..][..w as usize * 4];
            !bgr_eq(cur, prev)
        };
        let Some(y0) = (y..y + h).find(|&r| changed(r)) else {
            return;
        };
        let y1 = (y0..y + h)
            .rev()
            .find(|&r| changed(r))
            .map_or(y0 + 1, |r| r + 1);
        let (x0, x1) = changed_cols(self.reference, self.width, src, x, y0, w, y1 - y0);
        self.encode_rect(wk, src, x0, y0, x1 - x0, y1 - y0);
    }

    /// Adds a copy op, leaving out the part inside the video region.
    #[allow(clippy::too_many_arguments)]
    fn push_copy(&self, wk: &mut Worker, sx: u32, sy: u32, x: u32, y: u32, w: u32, h: u32) {
        let Some(r) = self.video else {
            wk.copies.push([sx, sy, x, y, w, h]);
            return;
        };
        if !intersects(r, x, y, w, h) {
            wk.copies.push([sx, sy, x, y, w, h]);
            return;
        }
        let (x1, y1) = (x + w, y + h);
        let (rx1, ry1) = (r.x + r.w, r.y + r.h);
        // (dst x, dst y, w, h) pieces; the source moves with the destination.
        let mut piece = |px: u32, py: u32, pw: u32, ph: u32| {
            wk.copies
                .push([sx + (px - x), sy + (py - y), px, py, pw, ph]);
        };
        if y < r.y {
            piece(x, y, w, r.y - y);
        }
        if y1 > ry1 {
            piece(x, ry1, w, y1 - ry1);
        }
        let (my0, my1) = (y.max(r.y), y1.min(ry1));
        if x < r.x {
            piece(x, my0, r.x - x, my1 - my0);
        }
        if x1 > rx1 {
            piece(rx1, my0, x1 - rx1, my1 - my0);
        }
    }

    fn encode_rect(&self, wk: &mut Worker, src: Src<'_>, x: u32, y: u32, w: u32, h: u32) {
        if let Some(r) = self.video
            && intersects(r, x, y, w, h)
        {
            // Send only the parts outside the video region.
            let (x1, y1) = (x + w, y + h);
            let (rx1, ry1) = (r.x + r.w, r.y + r.h);
            if y < r.y {
                self.encode_rect_inner(wk, src, x, y, w, r.y - y);
            }
            if y1 > ry1 {
                self.encode_rect_inner(wk, src, x, ry1, w, y1 - ry1);
            }
            let (my0, my1) = (y.max(r.y), y1.min(ry1));
            if x < r.x {
                self.encode_rect_inner(wk, src, x, my0, r.x - x, my1 - my0);
            }
            if x1 > rx1 {
                self.encode_rect_inner(wk, src, rx1, my0, x1 - rx1, my1 - my0);
            }
            return;
        }
        self.encode_rect_inner(wk, src, x, y, w, h);
    }

    fn encode_rect_inner(&self, wk: &mut Worker, src: Src<'_>, x: u32, y: u32, w: u32, h: u32) {
        debug_assert!(w > 0 && h > 0);
        let kind = analyze(&mut wk.scratch, src, x, y, w, h);
        if let Kind::Many { natural: true } = kind
            && w * h >= TILE * TILE / 2
        {
            wk.natural.push((y / TILE) * self.tiles_x + x / TILE);
        }
        match kind {
            Kind::Solid(c) => put_solid(&mut wk.ops, x, y, w, h, c),
            Kind::Palette => put_palette(&wk.scratch, &mut wk.ops, x, y, w, h),
            Kind::Many { natural: true } if self.quality < 100 && w * h >= 1024 => {
                wk.lossy.push([x, y, w, h]);
            }
            Kind::Many { .. } => put_lossless(&mut wk.scratch, &mut wk.ops, src, x, y, w, h),
        }
    }
}

/// Records a save at a tile position, keeping the one before.
#[inline]
fn remember(at: &mut [(u32, u32); HISTORY], saved: (u32, u32)) {
    if at[0] != saved {
        at.copy_within(..HISTORY - 1, 1);
        at[0] = saved;
    }
}

/// Bit `i` set when pixel `i` of two equal-length BGRX runs (at most 64
/// pixels) has the same B,G,R.
#[inline]
fn eq_mask(a: &[u8], b: &[u8]) -> u64 {
    let mut m = 0u64;
    for (i, (p, q)) in a.chunks_exact(4).zip(b.chunks_exact(4)).enumerate() {
        let d = (p[0] ^ q[0]) | (p[1] ^ q[1]) | (p[2] ^ q[2]);
        m |= u64::from(d == 0) << i;
    }
    m
}

/// The columns `[x0, x1)` of a rect that differ from the reference.
fn changed_cols(
    reference: &[u8],
    width: u32,
    src: Src<'_>,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
) -> (u32, u32) {
    let row_bytes = width as usize * 4;
    let (mut lo, mut hi) = (w, 0u32);
    for r in y..y + h {
        let cur = &src.data[r as usize * src.stride + x as usize * 4..][..w as usize * 4];
        let prev = &reference[r as usize * row_bytes + x as usize * 4..][..w as usize * 4];
        let mut i = 0;
        while i < lo
            && bgr_eq(
                &cur[i as usize * 4..i as usize * 4 + 4],
                &prev[i as usize * 4..i as usize * 4 + 4],
            )
        {
            i += 1;
        }
        lo = lo.min(i);
        let mut j = w;
        while j > hi
            && bgr_eq(
                &cur[(j as usize - 1) * 4..j as usize * 4],
                &prev[(j as usize - 1) * 4..j as usize * 4],
            )
        {
            j -= 1;
        }
        hi = hi.max(j);
    }
    if lo >= hi {
        return (x, x + w);
    }
    (x + lo, x + hi)
}

#[cfg(test)]
mod anchor_tests {
    use super::*;

    const W: u32 = 320;
    const H: u32 = 240;

    /// A flat picture with a block of pseudo-text at `(x, y)` whose rows each show twice (tall
    /// strokes) but for every fifth pair.
    fn picture((x, y): (u32, u32)) -> Vec<u8> {
        let mut v = vec![40u8; (W * H * 4) as usize];
        for r in 0..120u32 {
            let line = if (r / 2) % 5 == 0 { r } else { r / 2 * 2 };
            for c in 0..200u32 {
                let on = (line.wrapping_mul(7919) ^ (c / 2).wrapping_mul(104_729))
                    .wrapping_mul(2_654_435_761)
                    >> 26;
                let i = (((y + r) * W + x + c) * 4) as usize;
                v[i..i + 3].copy_from_slice(&[(on * 4) as u8, 255 - (on * 3) as u8, 90]);
            }
        }
        v
    }

    #[test]
    fn confirm_takes_the_move_again_never_one_row_off_it() {
        let (prev, cur) = (picture((40, 30)), picture((70, 47)));
        fn src(v: &[u8]) -> Src<'_> {
            Src {
                data: v,
                stride: (W * 4) as usize,
            }
        }
        let bbox = (0, 0, W, H);
        let mut anchors = Anchors::default();
        let found = anchors.find(src(&prev), src(&cur), bbox.0, bbox.1, bbox.2, bbox.3);
        assert_eq!(found, Some((-30, -17)));
        let had = anchors.found_votes;
        for off_by_one in [(-30, -16), (-30, -18)] {
            anchors.recent_moves = [Some((off_by_one, had)), None];
            assert_eq!(anchors.confirm(src(&prev), (W, H), src(&cur), bbox), None);
        }
        anchors.recent_moves = [Some(((-30, -17), had)), None];
        assert_eq!(
            anchors.confirm(src(&prev), (W, H), src(&cur), bbox),
            Some((-30, -17))
        );
    }
}
