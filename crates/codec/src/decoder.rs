//! The decoder: applies updates to an RGBA framebuffer. Hostile input yields
//! an error, never a panic, and memory stays bounded by [`DecoderLimits`].

use crate::Rect;
use crate::cache::{CACHE_TILE, DecoderCache};
use crate::format::{
    FLAG_KEYFRAME, FLAG_OPS_HISTORY, FLAG_OPS_ZSTD, HEADER_LEN, IN_PLACE, MAGIC, MAX_CACHE_SLOTS,
    OP_CACHE_SIZE, OP_COPY, OP_JPEG, OP_LOSSLESS, OP_PALETTE, OP_SAVE, OP_SOLID, OP_TRANSFORM,
    OP_USE, OP_VIDEO, VERSION, VERSION_INDEPENDENT_ZSTD,
};
use crate::ops_zstd::{OpsDecompressor, OpsStreamError};
use crate::tile::{bits_for, unpredict};
use crate::tone::Tone;

/// Upper bounds on what a decoder accepts.
#[derive(Clone, Copy, Debug)]
pub struct DecoderLimits {
    pub max_width: u32,
    pub max_height: u32,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        Self {
            max_width: 8192,
            max_height: 8192,
        }
    }
}

/// What one update did.
#[derive(Clone, Debug)]
pub struct DecodeInfo {
    pub width: u32,
    pub height: u32,
    /// The picture size changed (or this is the first picture).
    pub resized: bool,
    /// Regions whose pixels changed: the destinations of `copies` first, in their order, then
    /// every region painted after them.
    pub dirty: Vec<Rect>,
    /// The update's copies within the picture, in order. All their sources were read from the
    /// picture before the update, before any of them was written.
    pub copies: Vec<Copied>,
}

impl DecodeInfo {
    /// The regions painted after the copies (the rest of `dirty`).
    pub fn painted(&self) -> &[Rect] {
        self.dirty.get(self.copies.len()..).unwrap_or_default()
    }
}

/// One copy within the picture: the pixels at `from` (top left, `to`'s size) moved to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copied {
    pub from: (u32, u32),
    pub to: Rect,
}

impl Copied {
    /// The rectangle the pixels come from.
    pub fn source(&self) -> Rect {
        Rect {
            x: self.from.0,
            y: self.from.1,
            ..self.to
        }
    }
}

/// Why an update was rejected. The picture may be partly updated after an
/// error; ask the encoder for a keyframe.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("update truncated: need {needed} bytes, have {have}")]
    Truncated { needed: usize, have: usize },
    #[error("{extra} trailing bytes after the update")]
    TrailingBytes { extra: usize },
    #[error("not a Tandem codec update (bad magic)")]
    BadMagic,
    #[error("unsupported codec version {version}")]
    UnsupportedVersion { version: u8 },
    #[error("picture {width}x{height} exceeds the decoder's limits")]
    TooLarge { width: u32, height: u32 },
    #[error("picture {width}x{height} is empty")]
    Empty { width: u32, height: u32 },
    #[error("delta update before any keyframe")]
    NoKeyframe,
    #[error(
        "delta update for {width}x{height} but the picture is {current_width}x{current_height}"
    )]
    SizeMismatch {
        width: u32,
        height: u32,
        current_width: u32,
        current_height: u32,
    },
    #[error("op stream of {len} bytes exceeds the limit of {max}")]
    OpsTooLarge { len: usize, max: usize },
    #[error("op stream is {actual} bytes, header says {declared}")]
    OpsLength { declared: usize, actual: usize },
    #[error("zstd: {0}")]
    Zstd(#[source] std::io::Error),
    #[error("op stream: {0}")]
    OpsStream(#[from] OpsStreamError),
    #[error("flags {flags:#04x} do not go together in this version")]
    BadFlags { flags: u8 },
    #[error("unknown op {op} at offset {offset}")]
    BadOp { op: u8, offset: usize },
    #[error("op stream ends inside an op at offset {offset}")]
    OpsTruncated { offset: usize },
    #[error("bad tile {x},{y} {w}x{h}: {reason}")]
    BadTile {
        x: u32,
        y: u32,
        w: u32,
        h: u32,
        reason: &'static str,
    },
    #[error("payload of {len} bytes overruns the blob")]
    BlobOverrun { len: usize },
    #[error("copies cover {area} pixels, more than allowed ({max})")]
    CopiesTooLarge { area: u64, max: u64 },
    #[error("tile cache of {slots} slots exceeds the limit of {max}")]
    CacheTooLarge { slots: usize, max: usize },
    #[error("tile cache slot {slot} out of range (the cache has {slots})")]
    CacheSlot { slot: usize, slots: usize },
    #[error("tile cache slot {slot} was never filled")]
    CacheEmpty { slot: usize },
    #[error("rect {sx},{sy} {w}x{h} lies outside cache slot {slot} ({slot_w}x{slot_h})")]
    CacheRect {
        slot: usize,
        sx: u32,
        sy: u32,
        w: u32,
        h: u32,
        slot_w: u32,
        slot_h: u32,
    },
    #[error("JPEG tile: {0}")]
    Jpeg(String),
    #[error("video: {0}")]
    Video(String),
}

/// The receiving end: holds the current picture.
pub struct Decoder {
    limits: DecoderLimits,
    width: u32,
    height: u32,
    rgba: Vec<u8>,
    ops: Vec<u8>,
    planes: Vec<u8>,
    copy_buf: Vec<u8>,
    copies: Vec<[u32; 6]>,
    /// Op streams compressed on their own.
    zstd_alone: Option<zstd::bulk::Decompressor<'static>>,
    /// Those that continue the updates' zstd frame since the last keyframe.
    zstd: OpsDecompressor,
    video: crate::video::VideoDecoderSlot,
    cache: DecoderCache,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(DecodeError::OpsTruncated { offset: self.pos })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(2)?;
        Ok(u32::from(u16::from_le_bytes([b[0], b[1]])))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Decoder {
    pub fn new(limits: DecoderLimits) -> Self {
        Self {
            limits,
            width: 0,
            height: 0,
            rgba: Vec::new(),
            ops: Vec::new(),
            planes: Vec::new(),
            copy_buf: Vec::new(),
            copies: Vec::new(),
            zstd_alone: None,
            zstd: OpsDecompressor::new(),
            video: Default::default(),
            cache: DecoderCache::default(),
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The current picture as R,G,B,A bytes (A = 255), stride = width*4.
    pub fn rgba(&self) -> &[u8] {
        &self.rgba
    }

    /// Applies one update to the internal framebuffer.
    pub fn decode(&mut self, update: &[u8]) -> Result<DecodeInfo, DecodeError> {
        if update.len() < HEADER_LEN {
            return Err(DecodeError::Truncated {
                needed: HEADER_LEN,
                have: update.len(),
            });
        }
        if update[..2] != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = update[2];
        if version != VERSION && version != VERSION_INDEPENDENT_ZSTD {
            return Err(DecodeError::UnsupportedVersion { version });
        }
        let flags = update[3];
        let width = le32(update, 4);
        let height = le32(update, 8);
        let ops_len = le32(update, 12) as usize;
        let ops_z_len = le32(update, 16) as usize;
        let blob_len = le32(update, 20) as usize;
        let needed = HEADER_LEN as u64 + ops_z_len as u64 + blob_len as u64;
        if (update.len() as u64) < needed {
            return Err(DecodeError::Truncated {
                needed: usize::try_from(needed).unwrap_or(usize::MAX),
                have: update.len(),
            });
        }
        if update.len() as u64 > needed {
            return Err(DecodeError::TrailingBytes {
                extra: (update.len() as u64 - needed) as usize,
            });
        }
        let ops_z = &update[HEADER_LEN..HEADER_LEN + ops_z_len];
        let blob = &update[HEADER_LEN + ops_z_len..];

        let mut resized = false;
        if flags & FLAG_KEYFRAME != 0 {
            if width == 0 || height == 0 {
                return Err(DecodeError::Empty { width, height });
            }
            if width > self.limits.max_width
                || height > self.limits.max_height
                || width > crate::format::MAX_DIM
                || height > crate::format::MAX_DIM
            {
                return Err(DecodeError::TooLarge { width, height });
            }
            resized = width != self.width || height != self.height;
            self.width = width;
            self.height = height;
            let n = width as usize * height as usize * 4;
            self.rgba.clear();
            self.rgba.resize(n, 0);
            for p in self.rgba.chunks_exact_mut(4) {
                p[3] = 255;
            }
            self.video.reset();
            self.zstd.restart()?;
            // The keyframe's CACHE_SIZE op (if any) sizes it again.
            self.cache
                .reset(usize::from(crate::format::DEFAULT_CACHE_SLOTS));
        } else {
            if self.width == 0 {
                return Err(DecodeError::NoKeyframe);
            }
            if width != self.width || height != self.height {
                return Err(DecodeError::SizeMismatch {
                    width,
                    height,
                    current_width: self.width,
                    current_height: self.height,
                });
            }
        }
        let max_ops = width as usize * height as usize * 4 + (1 << 20);
        if ops_len > max_ops {
            return Err(DecodeError::OpsTooLarge {
                len: ops_len,
                max: max_ops,
            });
        }
        let mut ops = std::mem::take(&mut self.ops);
        ops.clear();
        if flags & FLAG_OPS_HISTORY != 0 && (version != VERSION || flags & FLAG_OPS_ZSTD == 0) {
            self.ops = ops;
            return Err(DecodeError::BadFlags { flags });
        }
        if flags & FLAG_OPS_HISTORY != 0 {
            if let Err(e) = self.zstd.decompress(ops_z, ops_len, &mut ops) {
                self.ops = ops;
                return Err(e.into());
            }
        } else if flags & FLAG_OPS_ZSTD != 0 {
            if self.zstd_alone.is_none() {
                self.zstd_alone = Some(zstd::bulk::Decompressor::new().map_err(DecodeError::Zstd)?);
            }
            ops.reserve(ops_len);
            if let Some(z) = self.zstd_alone.as_mut() {
                let got = z.decompress_to_buffer(ops_z, &mut ops);
                if let Err(e) = got {
                    self.ops = ops;
                    return Err(DecodeError::Zstd(e));
                }
            }
        } else {
            ops.extend_from_slice(ops_z);
        }
        let result = if ops.len() != ops_len {
            Err(DecodeError::OpsLength {
                declared: ops_len,
                actual: ops.len(),
            })
        } else {
            let mut dirty = Vec::new();
            let key = flags & FLAG_KEYFRAME != 0;
            self.apply(&ops, blob, key, &mut dirty)
                .map(|()| DecodeInfo {
                    width,
                    height,
                    resized,
                    copies: self
                        .copies
                        .iter()
                        .map(|&[sx, sy, ..]| (sx, sy))
                        .zip(dirty.iter().copied())
                        .map(|(from, to)| Copied { from, to })
                        .collect(),
                    dirty,
                })
        };
        self.ops = ops;
        result
    }

    fn check_rect(&self, x: u32, y: u32, w: u32, h: u32) -> Result<Rect, DecodeError> {
        if w == 0 || h == 0 || x + w > self.width || y + h > self.height {
            return Err(DecodeError::BadTile {
                x,
                y,
                w,
                h,
                reason: "outside the picture or empty",
            });
        }
        Ok(Rect { x, y, w, h })
    }

    /// A cache slot index from the stream, checked against the cache's size.
    fn slot(&self, slot: u32) -> Result<usize, DecodeError> {
        let slots = self.cache.slots();
        let slot = slot as usize;
        if slot >= slots {
            return Err(DecodeError::CacheSlot { slot, slots });
        }
        Ok(slot)
    }

    fn apply(
        &mut self,
        ops: &[u8],
        blob: &[u8],
        key: bool,
        dirty: &mut Vec<Rect>,
    ) -> Result<(), DecodeError> {
        let mut r = Reader { buf: ops, pos: 0 };
        let mut blob_pos = 0usize;
        let stride = self.width as usize * 4;
        if key && ops.first() == Some(&OP_CACHE_SIZE) {
            r.pos += 1;
            let slots = r.u16()? as usize;
            if slots > usize::from(MAX_CACHE_SLOTS) {
                return Err(DecodeError::CacheTooLarge {
                    slots,
                    max: usize::from(MAX_CACHE_SLOTS),
                });
            }
            self.cache.reset(slots);
        }
        // Saves read the picture as it was before this update.
        while r.pos < ops.len() && ops[r.pos] == OP_SAVE {
            r.pos += 1;
            let slot = r.u16()?;
            let (x, y, w, h) = (r.u16()?, r.u16()?, r.u16()?, r.u16()?);
            self.check_rect(x, y, w, h)?;
            if h > CACHE_TILE {
                return Err(DecodeError::BadTile {
                    x,
                    y,
                    w,
                    h,
                    reason: "taller than a cache tile",
                });
            }
            // A row of tiles cut from the left, into consecutive slots.
            let pieces = w.div_ceil(CACHE_TILE);
            self.slot(slot + pieces - 1)?;
            for i in 0..pieces {
                let px = i * CACHE_TILE;
                let pw = CACHE_TILE.min(w - px);
                self.cache
                    .save((slot + i) as usize, &self.rgba, stride, x + px, y, pw, h);
            }
        }
        // Copies first: gather every source, then write every destination.
        self.copies.clear();
        let mut area = 0u64;
        // Each copy replaces the ops of the tiles it lands on, so an encoder's copies never cover
        // more than the picture; a host claiming more is lying to make the decoder allocate.
        let max_area = u64::from(self.width) * u64::from(self.height);
        while r.pos < ops.len() && ops[r.pos] == OP_COPY {
            r.pos += 1;
            let (sx, sy, dx, dy, w, h) =
                (r.u16()?, r.u16()?, r.u16()?, r.u16()?, r.u16()?, r.u16()?);
            self.check_rect(sx, sy, w, h)?;
            let d = self.check_rect(dx, dy, w, h)?;
            area += u64::from(w) * u64::from(h);
            if area > max_area {
                return Err(DecodeError::CopiesTooLarge {
                    area,
                    max: max_area,
                });
            }
            self.copies.push([sx, sy, dx, dy, w, h]);
            dirty.push(d);
        }
        let rect_of = |x: u32, y: u32, w: u32, h: u32| Rect { x, y, w, h };
        // Copies whose sources no other copy writes can each move in place, no gather needed
        // (a scroll, a dragged window: one copy of most of the screen, read and written once).
        let independent = self.copies.len() <= 16
            && self
                .copies
                .iter()
                .enumerate()
                .all(|(j, &[sx, sy, _, _, w, h])| {
                    self.copies
                        .iter()
                        .enumerate()
                        .all(|(i, &[_, _, dx, dy, dw, dh])| {
                            i == j
                                || rect_of(sx, sy, w, h)
                                    .intersect(rect_of(dx, dy, dw, dh))
                                    .is_none()
                        })
                });
        if independent {
            for &[sx, sy, dx, dy, w, h] in &self.copies {
                let n = w as usize * 4;
                for k in 0..h {
                    // Moving down, the lowest row first: no row is overwritten before it is read.
                    let row = if dy > sy { h - 1 - k } else { k };
                    let s = (sy + row) as usize * stride + sx as usize * 4;
                    let d = (dy + row) as usize * stride + dx as usize * 4;
                    self.rgba.copy_within(s..s + n, d);
                }
            }
        } else if !self.copies.is_empty() {
            self.copy_buf.clear();
            // Exactly the sources' size: growing by doubling would overshoot by up to 2x.
            self.copy_buf.reserve_exact(area as usize * 4);
            for &[sx, sy, _, _, w, _h] in &self.copies {
                for row in 0.._h {
                    let s = (sy + row) as usize * stride + sx as usize * 4;
                    self.copy_buf
                        .extend_from_slice(&self.rgba[s..s + w as usize * 4]);
                }
            }
            let mut at = 0usize;
            for &[_, _, dx, dy, w, h] in &self.copies {
                let n = w as usize * 4;
                for row in 0..h {
                    let d = (dy + row) as usize * stride + dx as usize * 4;
                    self.rgba[d..d + n].copy_from_slice(&self.copy_buf[at..at + n]);
                    at += n;
                }
            }
        }
        while r.pos < ops.len() {
            let offset = r.pos;
            let op = r.u8()?;
            if matches!(op, OP_COPY | OP_SAVE | OP_CACHE_SIZE) {
                return Err(DecodeError::BadOp { op, offset });
            }
            let use_src = if op == OP_USE {
                Some((r.u16()?, r.u16()?, r.u16()?))
            } else {
                None
            };
            let (x, y, w, h) = (r.u16()?, r.u16()?, r.u16()?, r.u16()?);
            let rect = self.check_rect(x, y, w, h)?;
            match op {
                OP_USE => {
                    let Some((slot, sx, sy)) = use_src else {
                        return Err(DecodeError::BadOp { op, offset });
                    };
                    let slot = self.slot(slot)?;
                    let (slot_w, slot_h) = self
                        .cache
                        .dims(slot)
                        .ok_or(DecodeError::CacheEmpty { slot })?;
                    if sx + w > slot_w || sy + h > slot_h {
                        return Err(DecodeError::CacheRect {
                            slot,
                            sx,
                            sy,
                            w,
                            h,
                            slot_w,
                            slot_h,
                        });
                    }
                    let n = w as usize * 4;
                    for row in 0..h {
                        let d = (y + row) as usize * stride + x as usize * 4;
                        self.rgba[d..d + n].copy_from_slice(self.cache.row(slot, sx, sy + row, w));
                    }
                }
                OP_SOLID => {
                    let c = r.take(3)?;
                    let px = [c[2], c[1], c[0], 255];
                    for row in y..y + h {
                        let s = row as usize * stride + x as usize * 4;
                        for p in self.rgba[s..s + w as usize * 4].chunks_exact_mut(4) {
                            p.copy_from_slice(&px);
                        }
                    }
                }
                OP_PALETTE => {
                    let n = usize::from(r.u8()?) + 1;
                    let pal = r.take(n * 3)?;
                    let mut lut = [[0u8, 0, 0, 255]; 256];
                    for (i, c) in pal.chunks_exact(3).enumerate() {
                        lut[i] = [c[2], c[1], c[0], 255];
                    }
                    let bits = bits_for(n);
                    let per = (8 / bits) as usize;
                    let row_bytes = (w as usize).div_ceil(per);
                    let idx = r.take(row_bytes * h as usize)?;
                    let mask = ((1u16 << bits) - 1) as u8;
                    for (row, ib) in idx.chunks_exact(row_bytes).enumerate() {
                        let s = (y as usize + row) * stride + x as usize * 4;
                        let dst = &mut self.rgba[s..s + w as usize * 4];
                        for (i, p) in dst.chunks_exact_mut(4).enumerate() {
                            let b = ib[i / per];
                            let v = (b >> ((i % per) as u32 * bits)) & mask;
                            if usize::from(v) >= n {
                                return Err(DecodeError::BadTile {
                                    x,
                                    y,
                                    w,
                                    h,
                                    reason: "palette index out of range",
                                });
                            }
                            p.copy_from_slice(&lut[usize::from(v)]);
                        }
                    }
                }
                OP_LOSSLESS => {
                    let n = w as usize * h as usize;
                    let data = r.take(n * 3)?;
                    self.planes.clear();
                    self.planes.extend_from_slice(data);
                    for k in 0..3 {
                        unpredict(&mut self.planes[k * n..(k + 1) * n], w as usize);
                    }
                    let (g, rest) = self.planes.split_at(n);
                    let (bp, rp) = rest.split_at(n);
                    for row in 0..h as usize {
                        let s = (y as usize + row) * stride + x as usize * 4;
                        let dst = &mut self.rgba[s..s + w as usize * 4];
                        let o = row * w as usize;
                        for (i, p) in dst.chunks_exact_mut(4).enumerate() {
                            let gg = g[o + i];
                            p[0] = rp[o + i].wrapping_add(gg);
                            p[1] = gg;
                            p[2] = bp[o + i].wrapping_add(gg);
                        }
                    }
                }
                OP_TRANSFORM => {
                    let source = r.u16()?;
                    let p = r.take(Tone::LEN)?;
                    let mut luts = [[0u8; 256]; 3];
                    for (c, lut) in luts.iter_mut().enumerate() {
                        let m = le32(p, c * 8);
                        let k = le32(p, c * 8 + 4) as i32;
                        *lut = Tone::table(m, k);
                    }
                    let slot = if source == u32::from(IN_PLACE) {
                        None
                    } else {
                        let slot = self.slot(source)?;
                        let (slot_w, slot_h) = self
                            .cache
                            .dims(slot)
                            .ok_or(DecodeError::CacheEmpty { slot })?;
                        if w > slot_w || h > slot_h {
                            return Err(DecodeError::CacheRect {
                                slot,
                                sx: 0,
                                sy: 0,
                                w,
                                h,
                                slot_w,
                                slot_h,
                            });
                        }
                        Some(slot)
                    };
                    // B, G, R tables onto R, G, B bytes.
                    let [tb, tg, tr] = &luts;
                    let n = w as usize * 4;
                    for row in 0..h {
                        let d = (y + row) as usize * stride + x as usize * 4;
                        let dst = &mut self.rgba[d..d + n];
                        if let Some(slot) = slot {
                            dst.copy_from_slice(self.cache.row(slot, 0, row, w));
                        }
                        for px in dst.chunks_exact_mut(4) {
                            px[0] = tr[usize::from(px[0])];
                            px[1] = tg[usize::from(px[1])];
                            px[2] = tb[usize::from(px[2])];
                        }
                    }
                }
                OP_JPEG | OP_VIDEO => {
                    let len = r.u32()? as usize;
                    let end = blob_pos
                        .checked_add(len)
                        .filter(|&e| e <= blob.len())
                        .ok_or(DecodeError::BlobOverrun { len })?;
                    let payload = &blob[blob_pos..end];
                    blob_pos = end;
                    if op == OP_JPEG {
                        crate::tile::decode_jpeg(payload, &mut self.rgba, stride, rect)?;
                    } else {
                        self.video.decode(payload, &mut self.rgba, stride, rect)?;
                    }
                }
                _ => return Err(DecodeError::BadOp { op, offset }),
            }
            dirty.push(rect);
        }
        Ok(())
    }
}
