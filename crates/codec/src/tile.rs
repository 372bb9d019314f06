//! Per-rectangle encoders (solid, palette, lossless) and their decoders.

use crate::format::{OP_LOSSLESS, OP_PALETTE, OP_SOLID, put_rect_op};

/// A rectangle of a BGRX source picture.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Src<'a> {
    pub data: &'a [u8],
    pub stride: usize,
}

impl Src<'_> {
    #[inline]
    pub(crate) fn row(&self, x: u32, y: u32, w: u32) -> &[u8] {
        let start = y as usize * self.stride + x as usize * 4;
        &self.data[start..start + w as usize * 4]
    }
}

#[inline]
fn px(p: &[u8]) -> u32 {
    u32::from_le_bytes([p[0], p[1], p[2], 0])
}

/// Scratch space reused across tiles.
#[derive(Default)]
pub(crate) struct TileScratch {
    /// Open-addressed colour -> index table; `keys` hold colour+1, 0 = empty.
    keys: Vec<u32>,
    vals: Vec<u8>,
    stamp: Vec<u32>,
    epoch: u32,
    pub(crate) palette: Vec<u32>,
    idx: Vec<u8>,
    planes: Vec<u8>,
}

const TABLE: usize = 1024;

/// What [`analyze`] found out about a rect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One colour.
    Solid(u32),
    /// At most 256 colours; `TileScratch::palette` and the index plane are filled.
    Palette,
    /// More colours; `natural` tells whether it looks photographic.
    Many { natural: bool },
}

/// Counts colours (up to 256) and fills the palette and index plane.
pub(crate) fn analyze(s: &mut TileScratch, src: Src<'_>, x: u32, y: u32, w: u32, h: u32) -> Kind {
    if s.keys.len() != TABLE {
        s.keys = vec![0; TABLE];
        s.vals = vec![0; TABLE];
        s.stamp = vec![0; TABLE];
    }
    s.epoch = s.epoch.wrapping_add(1);
    if s.epoch == 0 {
        s.stamp.fill(0);
        s.epoch = 1;
    }
    let epoch = s.epoch;
    s.palette.clear();
    s.idx.clear();
    let mut last = u32::MAX;
    let mut last_i = 0u8;
    // The colour before `last` (text alternates between two).
    let (mut other, mut other_i) = (u32::MAX, 0u8);
    let mut overflow = false;
    'rows: for r in 0..h {
        let row = src.row(x, y + r, w);
        for p in row.chunks_exact(4) {
            let c = px(p);
            if c == other {
                std::mem::swap(&mut last, &mut other);
                std::mem::swap(&mut last_i, &mut other_i);
            } else if c != last {
                let mut slot = (c.wrapping_mul(0x9E37_79B1) >> 22) as usize;
                loop {
                    if s.stamp[slot] != epoch {
                        if s.palette.len() == 256 {
                            overflow = true;
                            break 'rows;
                        }
                        s.stamp[slot] = epoch;
                        s.keys[slot] = c;
                        s.vals[slot] = s.palette.len() as u8;
                        s.palette.push(c);
                        break;
                    }
                    if s.keys[slot] == c {
                        break;
                    }
                    slot = (slot + 1) & (TABLE - 1);
                }
                other = last;
                other_i = last_i;
                last = c;
                last_i = s.vals[slot];
            }
            s.idx.push(last_i);
        }
    }
    if overflow {
        // Smooth ramps predict exactly and cost little lossless.
        return Kind::Many {
            natural: looks_natural(s, src, x, y, w, h) && !smooth(src, x, y, w, h),
        };
    }
    if s.palette.len() == 1 {
        return Kind::Solid(s.palette[0]);
    }
    if s.palette.len() > 16 {
        // Many colours (a grainy gradient, a dark photo) may still be natural.
        if s.palette.len() > 64 && looks_natural(s, src, x, y, w, h) {
            return Kind::Many { natural: true };
        }
        // Smooth gradients predict far better than their palette indices repeat.
        if smooth(src, x, y, w, h) {
            return Kind::Many { natural: false };
        }
    }
    // A canonical (sorted) palette gives repeated glyphs the same index bytes
    // in every tile, so zstd finds them again.
    let mut order = [0u8; 256];
    let mut sorted = [0u32; 256];
    let n = s.palette.len();
    sorted[..n].copy_from_slice(&s.palette);
    sorted[..n].sort_unstable();
    for (i, c) in s.palette.iter().enumerate() {
        if let Ok(k) = sorted[..n].binary_search(c) {
            order[i] = k as u8;
        }
    }
    s.palette.copy_from_slice(&sorted[..n]);
    for v in &mut s.idx {
        *v = order[usize::from(*v)];
    }
    Kind::Palette
}

/// Photographic content: every 16x16 block either rarely repeats its left
/// neighbour exactly or holds many distinct colours (grainy gradients).
/// Text, UI, clean gradients, and tiles where a photo meets text or UI,
/// stay lossless.
fn looks_natural(s: &mut TileScratch, src: Src<'_>, x: u32, y: u32, w: u32, h: u32) -> bool {
    const B: u32 = 16;
    if w < 8 || h < 8 {
        return false;
    }
    for by in (0..h).step_by(B as usize) {
        for bx in (0..w).step_by(B as usize) {
            let (bw, bh) = (B.min(w - bx), B.min(h - by));
            if bw < 4 || bh < 4 {
                continue;
            }
            s.epoch = s.epoch.wrapping_add(1);
            if s.epoch == 0 {
                s.stamp.fill(0);
                s.epoch = 1;
            }
            let (mut same, mut distinct) = (0u32, 0u32);
            for r in by..by + bh {
                let row = src.row(x + bx, y + r, bw);
                let mut prev = u32::MAX;
                let row_same_before = same;
                for p in row.chunks_exact(4) {
                    let c = px(p);
                    if c == prev {
                        same += 1;
                        continue;
                    }
                    prev = c;
                    let mut slot = (c.wrapping_mul(0x9E37_79B1) >> 22) as usize;
                    loop {
                        if s.stamp[slot] != s.epoch {
                            s.stamp[slot] = s.epoch;
                            s.keys[slot] = c;
                            distinct += 1;
                            break;
                        }
                        if s.keys[slot] == c {
                            break;
                        }
                        slot = (slot + 1) & (TABLE - 1);
                    }
                }
                // A flat row (text, a rule, a blank line) is not photographic.
                if (same - row_same_before) * 5 >= bw * 3 {
                    return false;
                }
            }
            let total = bw * bh;
            let rough = same * 5 < total * 2;
            let grainy = distinct * 8 >= total * 3;
            if !(rough || grainy) {
                return false;
            }
        }
    }
    true
}

/// True when the MED predictor hits exactly (on green) clearly more often
/// than pixels repeat their left neighbour: gradients, not text.
fn smooth(src: Src<'_>, x: u32, y: u32, w: u32, h: u32) -> bool {
    if w < 4 || h < 4 {
        return false;
    }
    let (mut hits, mut same, mut total) = (0u32, 0u32, 0u32);
    for r in 1..h {
        let up = src.row(x, y + r - 1, w);
        let row = src.row(x, y + r, w);
        for i in 1..w as usize {
            let (a, b, c) = (row[i * 4 - 3], up[i * 4 + 1], up[i * 4 - 3]);
            let g = row[i * 4 + 1];
            hits += u32::from(med(a, b, c) == g);
            same += u32::from(px(&row[i * 4..]) == px(&row[i * 4 - 4..]));
            total += 1;
        }
    }
    hits * 10 > same * 10 + total * 2
}

pub(crate) fn put_solid(ops: &mut Vec<u8>, x: u32, y: u32, w: u32, h: u32, c: u32) {
    put_rect_op(ops, OP_SOLID, x, y, w, h);
    ops.extend_from_slice(&c.to_le_bytes()[..3]);
}

pub(crate) fn bits_for(n: usize) -> u32 {
    let _ = n;
    8
}

/// Writes a palette op from the palette and indices `analyze` left in `s`.
pub(crate) fn put_palette(s: &TileScratch, ops: &mut Vec<u8>, x: u32, y: u32, w: u32, h: u32) {
    put_rect_op(ops, OP_PALETTE, x, y, w, h);
    ops.push((s.palette.len() - 1) as u8);
    for c in &s.palette {
        ops.extend_from_slice(&c.to_le_bytes()[..3]);
    }
    let bits = bits_for(s.palette.len());
    let per = 8 / bits as usize;
    for row in s.idx.chunks_exact(w as usize) {
        for group in row.chunks(per) {
            let mut b = 0u8;
            for (i, &v) in group.iter().enumerate() {
                b |= v << (i as u32 * bits);
            }
            ops.push(b);
        }
    }
}

/// MED (LOCO-I) predictor.
#[inline(always)]
fn med(a: u8, b: u8, c: u8) -> u8 {
    let (mn, mx) = if a < b { (a, b) } else { (b, a) };
    if c >= mx {
        mn
    } else if c <= mn {
        mx
    } else {
        a.wrapping_add(b).wrapping_sub(c)
    }
}

/// Lossless: planes G, B-G, R-G, each MED-predicted; residuals appended.
pub(crate) fn put_lossless(
    s: &mut TileScratch,
    ops: &mut Vec<u8>,
    src: Src<'_>,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
) {
    put_rect_op(ops, OP_LOSSLESS, x, y, w, h);
    let n = (w * h) as usize;
    s.planes.clear();
    s.planes.resize(n * 3, 0);
    let (g, rest) = s.planes.split_at_mut(n);
    let (bp, rp) = rest.split_at_mut(n);
    for r in 0..h as usize {
        let row = src.row(x, y + r as u32, w);
        let o = r * w as usize;
        for (i, p) in row.chunks_exact(4).enumerate() {
            g[o + i] = p[1];
            bp[o + i] = p[0].wrapping_sub(p[1]);
            rp[o + i] = p[2].wrapping_sub(p[1]);
        }
    }
    let base = ops.len();
    ops.resize(base + n * 3, 0);
    let dst = &mut ops[base..];
    for (k, plane) in [&*g, &*bp, &*rp].into_iter().enumerate() {
        predict(plane, &mut dst[k * n..(k + 1) * n], w as usize);
    }
}

fn predict(p: &[u8], out: &mut [u8], w: usize) {
    for (r, (row, orow)) in p.chunks_exact(w).zip(out.chunks_exact_mut(w)).enumerate() {
        if r == 0 {
            let mut left = 0u8;
            for (o, &v) in orow.iter_mut().zip(row) {
                *o = v.wrapping_sub(left);
                left = v;
            }
        } else {
            let up = &p[(r - 1) * w..r * w];
            orow[0] = row[0].wrapping_sub(up[0]);
            for i in 1..w {
                orow[i] = row[i].wrapping_sub(med(row[i - 1], up[i], up[i - 1]));
            }
        }
    }
}

/// Inverse of [`predict`], in place.
pub(crate) fn unpredict(p: &mut [u8], w: usize) {
    let h = p.len() / w;
    for r in 0..h {
        if r == 0 {
            let mut left = 0u8;
            for v in &mut p[..w] {
                *v = v.wrapping_add(left);
                left = *v;
            }
        } else {
            let (done, cur) = p.split_at_mut(r * w);
            let up = &done[(r - 1) * w..];
            let row = &mut cur[..w];
            row[0] = row[0].wrapping_add(up[0]);
            for i in 1..w {
                row[i] = row[i].wrapping_add(med(row[i - 1], up[i], up[i - 1]));
            }
        }
    }
}

/// Most pixels one byte of JPEG data can describe: one bit per 8x8 block (a flat block costs more).
const JPEG_MAX_PIXELS_PER_BYTE: u64 = 8 * 64;

/// Decodes a JPEG tile into `rgba` at `rect`.
pub(crate) fn decode_jpeg(
    data: &[u8],
    rgba: &mut [u8],
    stride: usize,
    rect: crate::Rect,
) -> Result<(), crate::DecodeError> {
    use crate::DecodeError;
    use image::ImageDecoder;
    let bad = |reason| DecodeError::BadTile {
        x: rect.x,
        y: rect.y,
        w: rect.w,
        h: rect.h,
        reason,
    };
    let dec = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(data))
        .map_err(|e| DecodeError::Jpeg(e.to_string()))?;
    if dec.dimensions() != (rect.w, rect.h) {
        return Err(bad("JPEG size differs from its rect"));
    }
    // Every 8x8 block costs at least a bit of entropy-coded data, so a tile claiming more pixels
    // than that allows is a lie told to make the decoder allocate before finding the data missing.
    if u64::from(rect.w) * u64::from(rect.h) > data.len() as u64 * JPEG_MAX_PIXELS_PER_BYTE {
        return Err(bad("JPEG data too short for its size"));
    }
    if dec.color_type() != image::ColorType::Rgb8 {
        return Err(bad("JPEG is not RGB"));
    }
    let mut buf = vec![0u8; rect.w as usize * rect.h as usize * 3];
    dec.read_image(&mut buf)
        .map_err(|e| DecodeError::Jpeg(e.to_string()))?;
    for (row, src) in buf.chunks_exact(rect.w as usize * 3).enumerate() {
        let s = (rect.y as usize + row) * stride + rect.x as usize * 4;
        let dst = &mut rgba[s..s + rect.w as usize * 4];
        for (d, c) in dst.chunks_exact_mut(4).zip(src.chunks_exact(3)) {
            d[..3].copy_from_slice(c);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn predict_roundtrip() {
        let w = 13;
        let p: Vec<u8> = (0..13 * 9u32).map(|i| (i * i * 31 + i / 3) as u8).collect();
        let mut r = vec![0; p.len()];
        predict(&p, &mut r, w);
        unpredict(&mut r, w);
        assert_eq!(p, r);
    }
}
