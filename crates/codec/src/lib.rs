//! Tandem's screen codec: frame diff, motion detection, content-aware tile
//! encoders and a hardened decoder, all over caller-owned pixel buffers.
//!
//! The encoder turns a stream of captured BGRX frames into self-delimited
//! updates; the decoder applies them to an RGBA framebuffer. See
//! [`format`] for the wire format.
//!
//! Per frame the encoder
//! 1. marks changed 64x64 tiles (masked wide-word compare; the 4th byte of
//!    every pixel is ignored), so an unchanged frame costs about one memcmp;
//! 2. hashes the 64-pixel row segments of changed tiles and looks them up in
//!    the reference frame's column to find vertical offsets (scrolling, also
//!    smooth scrolling since every frame is searched afresh), plus one 2-D
//!    move from shift-invariant anchors (dragged windows);
//! 3. splits each changed tile into rows that are unchanged, copied (COPY
//!    ops, merged into large rects) and literal; literal rows are shrunk to
//!    their changed columns and coded as solid, palette (sorted, so repeated
//!    glyphs compress), MED-predicted lossless planes, or, for photographic
//!    content only (every 16x16 block rough or grainy), JPEG;
//! 4. turns an area whose tiles change with natural content frame after frame
//!    into a video region coded with H.264 (OpenH264), sized to the changed
//!    pixels, while everything around it stays lossless (its tiles are then
//!    neither hashed nor searched for motion, and the converter reads the
//!    region in place);
//! 5. keeps a tile cache shared with the decoder (see `cache`): a tile
//!    that had been still for a while is saved in a slot before it is
//!    overwritten, and content seen before is sent as a reference to a slot,
//!    either a whole tile found by content anywhere, or the rows and columns
//!    of a tile that show again what was saved at that position (the
//!    background a dragged window uncovers);
//! 6. finds tone changes (a modal's dim overlay, a fade: see `tone`): when
//!    most changed tiles are one per-channel affine map of what they showed
//!    (or of what the cache saved at their position), one TRANSFORM op per
//!    run of tiles replaces their pixels, verified exact on every pixel;
//! 7. zstd-compresses the op stream (level 2) as one zstd frame from each keyframe on, flushed
//!    at every update (`ops_zstd`).
//!
//! Text and UI are never lossy: lossy coding needs a natural-content tile.
//! `quality: 100` turns lossy coding (JPEG and video regions) off entirely.

mod backoff;
mod cache;
mod decoder;
mod encoder;
pub mod format;
mod h264;
mod kernels;
mod motion;
mod ops_zstd;
mod tile;
mod tone;
mod video;

pub use decoder::{Copied, DecodeError, DecodeInfo, Decoder, DecoderLimits};
pub use encoder::{EncodeError, EncodeStats, Encoder, EncoderConfig};
pub use ops_zstd::{OpsDecompressor, OpsStreamError};

/// A captured frame: B,G,R,X bytes per pixel (scrap's layout; the 4th byte is
/// undefined and ignored), rows `stride` bytes apart.
#[derive(Clone, Copy)]
pub struct FrameRef<'a> {
    pub width: u32,
    pub height: u32,
    pub stride: usize,
    pub data: &'a [u8],
}

impl std::fmt::Debug for FrameRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameRef")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("stride", &self.stride)
            .field("len", &self.data.len())
            .finish()
    }
}

/// A rectangle of pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    /// No pixels.
    pub const EMPTY: Rect = Rect {
        x: 0,
        y: 0,
        w: 0,
        h: 0,
    };

    /// The overlap of two rectangles, or `None` if it is empty. Saturating, so hostile
    /// coordinates cannot overflow.
    pub fn intersect(self, other: Rect) -> Option<Rect> {
        let x = self.x.max(other.x);
        let y = self.y.max(other.y);
        let right = self
            .x
            .saturating_add(self.w)
            .min(other.x.saturating_add(other.w));
        let bottom = self
            .y
            .saturating_add(self.h)
            .min(other.y.saturating_add(other.h));
        (right > x && bottom > y).then(|| Rect {
            x,
            y,
            w: right - x,
            h: bottom - y,
        })
    }

    /// The smallest rectangle holding both.
    pub fn union(self, other: Rect) -> Rect {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        let right = self
            .x
            .saturating_add(self.w)
            .max(other.x.saturating_add(other.w));
        let bottom = self
            .y
            .saturating_add(self.h)
            .max(other.y.saturating_add(other.h));
        Rect {
            x,
            y,
            w: right - x,
            h: bottom - y,
        }
    }
}

/// Entry points to the individual kernels for the criterion benches. Not a
/// stable API.
#[doc(hidden)]
pub mod bench_api {
    use crate::FrameRef;
    use crate::kernels::{bgr_eq, bgr_hash};
    use crate::tile::{Kind, Src, TileScratch, analyze, put_lossless, put_palette};

    /// Counts 64-pixel tiles of `cur` whose B,G,R differ from `prev`
    /// (packed BGRX, same size).
    pub fn diff_tiles(cur: FrameRef<'_>, prev: &[u8]) -> usize {
        let row_bytes = cur.width as usize * 4;
        let tiles_x = cur.width.div_ceil(64) as usize;
        let mut dirty = vec![false; tiles_x];
        let mut n = 0;
        for y in 0..cur.height as usize {
            if y % 64 == 0 {
                n += dirty.iter().filter(|d| **d).count();
                dirty.fill(false);
            }
            let c = &cur.data[y * cur.stride..y * cur.stride + row_bytes];
            let p = &prev[y * row_bytes..(y + 1) * row_bytes];
            for ((d, a), b) in dirty.iter_mut().zip(c.chunks(256)).zip(p.chunks(256)) {
                if !*d && !bgr_eq(a, b) {
                    *d = true;
                }
            }
        }
        n + dirty.iter().filter(|d| **d).count()
    }

    /// Hashes every 64-pixel row segment (the motion search's input).
    pub fn hash_rows(cur: FrameRef<'_>, out: &mut Vec<u64>) {
        out.clear();
        let row_bytes = cur.width as usize * 4;
        for y in 0..cur.height as usize {
            let row = &cur.data[y * cur.stride..y * cur.stride + row_bytes];
            out.extend(row.chunks(256).map(bgr_hash));
        }
    }

    /// A tile encoder to run alone.
    #[derive(Clone, Copy, Debug)]
    pub enum TileCoder {
        /// Colour count + palette indices (falls back to lossless past 256 colours).
        Palette,
        /// MED-predicted planes.
        Lossless,
        /// JPEG at a quality.
        Jpeg(u8),
    }

    /// Reusable scratch for [`encode_tile`].
    #[derive(Default)]
    pub struct Scratch {
        tile: TileScratch,
        rgb: Vec<u8>,
    }

    /// Encodes one rect of `frame` with `coder` into `out` (not compressed
    /// further); returns the bytes written.
    #[allow(clippy::too_many_arguments)]
    pub fn encode_tile(
        coder: TileCoder,
        s: &mut Scratch,
        frame: FrameRef<'_>,
        x: u32,
        y: u32,
        w: u32,
        h: u32,
        out: &mut Vec<u8>,
    ) -> usize {
        let start = out.len();
        let src = Src {
            data: frame.data,
            stride: frame.stride,
        };
        match coder {
            TileCoder::Palette => match analyze(&mut s.tile, src, x, y, w, h) {
                Kind::Palette => put_palette(&s.tile, out, x, y, w, h),
                _ => put_lossless(&mut s.tile, out, src, x, y, w, h),
            },
            TileCoder::Lossless => put_lossless(&mut s.tile, out, src, x, y, w, h),
            TileCoder::Jpeg(q) => {
                s.rgb.clear();
                for r in y..y + h {
                    for p in src.row(x, r, w).chunks_exact(4) {
                        s.rgb.extend_from_slice(&[p[2], p[1], p[0]]);
                    }
                }
                let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut *out, q).encode(
                    &s.rgb,
                    w,
                    h,
                    image::ExtendedColorType::Rgb8,
                );
            }
        }
        out.len() - start
    }
}

#[cfg(test)]
mod rect_tests {
    use super::Rect;

    fn rect(x: u32, y: u32, w: u32, h: u32) -> Rect {
        Rect { x, y, w, h }
    }

    #[test]
    fn overlap_and_union() {
        let a = rect(10, 10, 20, 10);
        assert_eq!(a.intersect(rect(25, 0, 100, 15)), Some(rect(25, 10, 5, 5)));
        assert_eq!(
            a.intersect(rect(30, 10, 5, 5)),
            None,
            "touching is not overlapping"
        );
        assert_eq!(a.intersect(Rect::EMPTY), None);
        assert_eq!(a.union(rect(0, 15, 5, 30)), rect(0, 10, 30, 35));
        // Hostile sizes saturate instead of overflowing.
        let huge = rect(u32::MAX - 1, 0, u32::MAX, u32::MAX);
        assert_eq!(
            huge.intersect(rect(0, 0, u32::MAX, 1)),
            Some(rect(u32::MAX - 1, 0, 1, 1))
        );
        assert_eq!(huge.union(rect(0, 0, 1, 1)), rect(0, 0, u32::MAX, u32::MAX));
    }
}
