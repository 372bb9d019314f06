//! Video regions: an area that changes every frame with natural content is
//! sent as H.264 (OpenH264, built from source by the `openh264` crate)
//! instead of still-image tiles. One encoder per region; a new region starts
//! with an IDR frame, so the decoder simply starts a new decoder when the
//! region's rect changes.

use openh264::formats::{BGRA8Source, BgraSliceU8, RGB8Source, RGBSource, YUVBuffer, YUVSource};

use crate::h264::{H264Encoder, H264Setup};
use crate::tile::Src;
use crate::{DecodeError, EncodeError, Rect};

/// The frame rate the encoder is told about.
const FPS: u32 = 20;

/// The encoder side of one video region.
pub(crate) struct VideoEncoder {
    pub(crate) rect: Rect,
    enc: H264Encoder,
    /// This frame's region in I420 (see `convert`).
    yuv: YUVBuffer,
    /// The encoder's last input: what the decoder's picture of the region
    /// was coded from. Comparing against it tells which parts of the
    /// region changed without keeping the region's pixels in the tile
    /// encoder's reference (3/8 of the bytes, and no copy per frame).
    sent: YUVBuffer,
    /// `yuv` holds this frame's region.
    converted: bool,
    /// `sent` holds a frame.
    sent_any: bool,
    bgra: Vec<u8>,
    frame_no: u64,
}

impl VideoEncoder {
    pub(crate) fn new(rect: Rect, quality: u8, threads: usize) -> Result<Self, EncodeError> {
        // Constant QP (OpenH264's rate-control-off mode, its default QP 26):
        // the bitrate modes of OpenH264 overshoot on grainy footage anyway, and
        // a constant QP keeps quality steady. `quality` drives JPEG tiles only.
        let _ = quality;
        let enc = H264Encoder::new(H264Setup {
            width: rect.w,
            height: rect.h,
            fps: FPS as f32,
            threads: threads.clamp(1, 4) as u16,
            deblocking: false,
        })?;
        Ok(Self {
            rect,
            enc,
            yuv: YUVBuffer::new(rect.w as usize, rect.h as usize),
            sent: YUVBuffer::new(rect.w as usize, rect.h as usize),
            converted: false,
            sent_any: false,
            bgra: Vec::new(),
            frame_no: 0,
        })
    }

    /// Converts this frame's region to I420 (`encode` then codes it, or the
    /// next frame's `convert` replaces it).
    pub(crate) fn convert(&mut self, src: Src<'_>) {
        let r = self.rect;
        // The converter reads the region in place, rows `stride` apart, when
        // the frame holds whole padded rows under it (it checks the length of
        // `rows * stride`); otherwise (a region touching the frame's bottom
        // edge, or an odd stride) it reads a packed copy.
        match Strided::new(src, r) {
            Some(view) => self.yuv.read_bgra8(view),
            None => {
                self.bgra.clear();
                for y in r.y..r.y + r.h {
                    self.bgra.extend_from_slice(src.row(r.x, y, r.w));
                }
                self.yuv
                    .read_bgra8(BgraSliceU8::new(&self.bgra, (r.w as usize, r.h as usize)));
            }
        }
        self.converted = true;
    }

    /// True when the pixels `(x, y, w, h)` (frame coordinates, inside the
    /// region) of the frame last converted differ from what was last
    /// encoded, as the encoder sees them (I420).
    pub(crate) fn changed(&self, x: u32, y: u32, w: u32, h: u32) -> bool {
        if !self.sent_any || !self.converted {
            return true;
        }
        let (rw, x0, y0) = (
            self.rect.w as usize,
            (x - self.rect.x) as usize,
            (y - self.rect.y) as usize,
        );
        let (w, h) = (w as usize, h as usize);
        let differs =
            |a: &[u8], b: &[u8], stride: usize, x0: usize, x1: usize, y0: usize, y1: usize| {
                (y0..y1).any(|r| {
                    a[r * stride + x0..r * stride + x1] != b[r * stride + x0..r * stride + x1]
                })
            };
        let (cx0, cx1, cy0, cy1) = (x0 / 2, (x0 + w).div_ceil(2), y0 / 2, (y0 + h).div_ceil(2));
        differs(self.yuv.y(), self.sent.y(), rw, x0, x0 + w, y0, y0 + h)
            || differs(self.yuv.u(), self.sent.u(), rw / 2, cx0, cx1, cy0, cy1)
            || differs(self.yuv.v(), self.sent.v(), rw / 2, cx0, cx1, cy0, cy1)
    }

    /// Encodes this frame's region (converting it first unless `convert`
    /// did) and appends the bitstream to `out`.
    pub(crate) fn encode(&mut self, src: Src<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if !self.converted {
            self.convert(src);
        }
        self.converted = false;
        let millis = self.frame_no as i64 * 1000 / i64::from(FPS);
        self.frame_no += 1;
        self.enc.encode(&self.yuv, millis, out)?;
        std::mem::swap(&mut self.yuv, &mut self.sent);
        self.sent_any = true;
        Ok(())
    }
}

/// A region of a BGRX frame seen in place: `h` rows of `w` pixels, rows
/// `stride` bytes apart, from the region's first pixel on.
#[derive(Clone, Copy)]
struct Strided<'a> {
    data: &'a [u8],
    w: usize,
    h: usize,
    /// Row pitch in pixels.
    pitch: usize,
}

impl<'a> Strided<'a> {
    /// The view of `r`, when `src` holds `r.h` whole rows of `stride` bytes
    /// from the region's first pixel (what the converter requires).
    fn new(src: Src<'a>, r: Rect) -> Option<Self> {
        if !src.stride.is_multiple_of(4) {
            return None;
        }
        let start = r.y as usize * src.stride + r.x as usize * 4;
        let len = src.stride.checked_mul(r.h as usize)?;
        let data = src.data.get(start..start.checked_add(len)?)?;
        Some(Self {
            data,
            w: r.w as usize,
            h: r.h as usize,
            pitch: src.stride / 4,
        })
    }
}

impl RGBSource for Strided<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.w, self.h)
    }

    fn pixel_f32(&self, x: usize, y: usize) -> (f32, f32, f32) {
        let i = (y * self.pitch + x) * 4;
        match self.data.get(i..i + 3) {
            Some(p) => (f32::from(p[2]), f32::from(p[1]), f32::from(p[0])),
            None => (0.0, 0.0, 0.0),
        }
    }
}

impl RGB8Source for Strided<'_> {
    fn dimensions_padded(&self) -> (usize, usize) {
        (self.pitch, self.h)
    }

    fn rgb8_data(&self) -> &[u8] {
        self.data
    }

    fn pixel_stride(&self) -> usize {
        4
    }

    fn rgb_channel_offsets(&self) -> (usize, usize, usize) {
        (2, 1, 0)
    }
}

impl BGRA8Source for Strided<'_> {}

/// The decoder side: one decoder for the current region.
#[derive(Default)]
pub(crate) struct VideoDecoderSlot {
    current: Option<(Rect, openh264::decoder::Decoder)>,
    rgb: Vec<u8>,
}

impl VideoDecoderSlot {
    pub(crate) fn reset(&mut self) {
        self.current = None;
    }

    pub(crate) fn decode(
        &mut self,
        data: &[u8],
        rgba: &mut [u8],
        stride: usize,
        rect: Rect,
    ) -> Result<(), DecodeError> {
        let bad = |reason| DecodeError::BadTile {
            x: rect.x,
            y: rect.y,
            w: rect.w,
            h: rect.h,
            reason,
        };
        if !rect.w.is_multiple_of(2) || !rect.h.is_multiple_of(2) || rect.w < 16 || rect.h < 16 {
            return Err(bad("video rect must be even and at least 16x16"));
        }
        if self.current.as_ref().map(|c| c.0) != Some(rect) {
            let dec =
                openh264::decoder::Decoder::new().map_err(|e| DecodeError::Video(e.to_string()))?;
            self.current = Some((rect, dec));
        }
        let Some((_, dec)) = self.current.as_mut() else {
            return Err(bad("no video decoder"));
        };
        let decoded = match dec.decode(data) {
            Ok(d) => d,
            Err(e) => {
                self.current = None;
                return Err(DecodeError::Video(e.to_string()));
            }
        };
        let Some(yuv) = decoded else {
            return Ok(());
        };
        if yuv.dimensions() != (rect.w as usize, rect.h as usize) {
            return Err(bad("video frame size differs from its rect"));
        }
        self.rgb.clear();
        self.rgb.resize(rect.w as usize * rect.h as usize * 3, 0);
        yuv.write_rgb8(&mut self.rgb);
        for (row, src) in self.rgb.chunks_exact(rect.w as usize * 3).enumerate() {
            let s = (rect.y as usize + row) * stride + rect.x as usize * 4;
            let dst = &mut rgba[s..s + rect.w as usize * 4];
            for (d, c) in dst.chunks_exact_mut(4).zip(src.chunks_exact(3)) {
                d[..3].copy_from_slice(c);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame with row padding and pseudo-random B,G,R,X bytes.
    fn frame(w: usize, h: usize, pad: usize) -> (Vec<u8>, usize) {
        let stride = w * 4 + pad;
        let mut s = 0x2545_F491u32;
        let data = (0..stride * h)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 24) as u8
            })
            .collect();
        (data, stride)
    }

    fn packed(src: Src<'_>, r: Rect) -> Vec<u8> {
        (r.y..r.y + r.h)
            .flat_map(|y| src.row(r.x, y, r.w).to_vec())
            .collect()
    }

    #[test]
    fn in_place_conversion_equals_the_packed_copy() {
        let (data, stride) = frame(300, 200, 12);
        let src = Src {
            data: &data,
            stride,
        };
        let r = Rect {
            x: 37,
            y: 21,
            w: 160,
            h: 96,
        };
        let view = Strided::new(src, r).expect("rows below the region exist");
        let mut a = YUVBuffer::new(160, 96);
        a.read_bgra8(view);
        let copy = packed(src, r);
        let mut b = YUVBuffer::new(160, 96);
        b.read_bgra8(BgraSliceU8::new(&copy, (160, 96)));
        assert!(a.y() == b.y() && a.u() == b.u() && a.v() == b.v());
        assert_eq!(view.pixel_f32(3, 5), {
            let p = &copy[(5 * 160 + 3) * 4..];
            (f32::from(p[2]), f32::from(p[1]), f32::from(p[0]))
        });
    }

    #[test]
    fn a_region_on_the_bottom_edge_is_read_from_a_copy() {
        let (data, stride) = frame(300, 200, 0);
        let src = Src {
            data: &data,
            stride,
        };
        let bottom = Rect {
            x: 40,
            y: 104,
            w: 160,
            h: 96,
        };
        assert!(Strided::new(src, bottom).is_none());
        // The whole width reaches exactly the end of the frame.
        let full = Rect {
            x: 0,
            y: 104,
            w: 300,
            h: 96,
        };
        assert!(Strided::new(src, full).is_some());
        let odd = Src {
            data: &data[..stride * 199 + 7],
            stride: stride - 1,
        };
        assert!(Strided::new(odd, bottom).is_none());
    }
}
