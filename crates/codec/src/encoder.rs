//! The encoder: diffs each frame against the previous one and emits one
//! update of copy and tile ops.

use crate::FrameRef;
use crate::format::{FLAG_KEYFRAME, FLAG_OPS_ZSTD, HEADER_LEN, MAGIC, MAX_DIM, VERSION, put_u32};
use crate::kernels::bgr_eq;
use crate::tile::{Kind, Src, TileScratch, analyze, put_lossless, put_palette, put_solid};

/// Tile edge in pixels for change detection.
pub(crate) const TILE: u32 = 64;

/// Encoder settings.
#[derive(Clone, Debug)]
pub struct EncoderConfig {
    /// 1..=100, default 80. Only natural/photographic content is ever lossy.
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
}

/// The sending end: remembers the previous frame.
pub struct Encoder {
    config: EncoderConfig,
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
    zstd: Option<zstd::bulk::Compressor<'static>>,
    scratch: TileScratch,
}

impl Encoder {
    pub fn new(config: EncoderConfig) -> Self {
        Self {
            config,
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
            scratch: TileScratch::default(),
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
    pub fn encode(
        &mut self,
        frame: FrameRef<'_>,
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
            self.force_key = false;
        } else {
            self.diff(src);
        }
        self.ops.clear();
        let mut stats = EncodeStats {
            total_pixels: u64::from(w) * u64::from(h),
            ..Default::default()
        };
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                if !self.dirty[(ty * self.tiles_x + tx) as usize] {
                    continue;
                }
                stats.changed = true;
                let x = tx * TILE;
                let y = ty * TILE;
                let tw = TILE.min(w - x);
                let th = TILE.min(h - y);
                self.encode_rect(src, x, y, tw, th, &mut stats);
                let rs = Src {
                    data: &self.reference,
                    stride: row_bytes,
                };
                let _ = rs;
                for r in y..y + th {
                    let s = r as usize * frame.stride + x as usize * 4;
                    let d = r as usize * row_bytes + x as usize * 4;
                    let n = tw as usize * 4;
                    self.reference[d..d + n].copy_from_slice(&frame.data[s..s + n]);
                }
            }
        }
        stats.changed |= key;
        let start = out.len();
        self.write_update(key, out)?;
        stats.bytes = out.len() - start;
        Ok(stats)
    }

    /// Marks tiles whose B,G,R differ from the reference.
    fn diff(&mut self, src: Src<'_>) {
        let (w, h) = (self.width, self.height);
        let row_bytes = w as usize * 4;
        let tile_bytes = TILE as usize * 4;
        self.dirty.fill(false);
        for ty in 0..self.tiles_y {
            let dirty =
                &mut self.dirty[(ty * self.tiles_x) as usize..((ty + 1) * self.tiles_x) as usize];
            let y0 = ty * TILE;
            let y1 = (y0 + TILE).min(h);
            for y in y0..y1 {
                let cur = &src.data[y as usize * src.stride..y as usize * src.stride + row_bytes];
                let prev = &self.reference[y as usize * row_bytes..(y as usize + 1) * row_bytes];
                for ((d, c), p) in dirty
                    .iter_mut()
                    .zip(cur.chunks(tile_bytes))
                    .zip(prev.chunks(tile_bytes))
                {
                    if !*d && !bgr_eq(c, p) {
                        *d = true;
                    }
                }
            }
        }
    }

    fn encode_rect(
        &mut self,
        src: Src<'_>,
        x: u32,
        y: u32,
        w: u32,
        h: u32,
        _stats: &mut EncodeStats,
    ) {
        match analyze(&mut self.scratch, src, x, y, w, h) {
            Kind::Solid(c) => put_solid(&mut self.ops, x, y, w, h, c),
            Kind::Palette => put_palette(&self.scratch, &mut self.ops, x, y, w, h),
            Kind::Many { .. } => put_lossless(&mut self.scratch, &mut self.ops, src, x, y, w, h),
        }
    }

    fn write_update(&mut self, key: bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut flags = if key { FLAG_KEYFRAME } else { 0 };
        let ops_len = self.ops.len();
        let use_zstd = ops_len > 64;
        if use_zstd {
            if self.zstd.is_none() {
                self.zstd = Some(zstd::bulk::Compressor::new(3).map_err(EncodeError::Zstd)?);
            }
            self.zbuf.clear();
            self.zbuf.reserve(zstd::zstd_safe::compress_bound(ops_len));
            if let Some(z) = self.zstd.as_mut() {
                z.compress_to_buffer(&self.ops, &mut self.zbuf)
                    .map_err(EncodeError::Zstd)?;
            }
            flags |= FLAG_OPS_ZSTD;
        }
        let body: &[u8] = if use_zstd { &self.zbuf } else { &self.ops };
        out.reserve(HEADER_LEN + body.len());
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(flags);
        put_u32(out, self.width);
        put_u32(out, self.height);
        put_u32(out, ops_len as u32);
        put_u32(out, body.len() as u32);
        put_u32(out, 0);
        out.extend_from_slice(body);
        Ok(())
    }
}
