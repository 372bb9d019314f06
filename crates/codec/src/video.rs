//! Video regions: an area that changes every frame with natural content is
//! sent as H.264 (OpenH264, built from source by the `openh264` crate)
//! instead of still-image tiles. One encoder per region; a new region starts
//! with an IDR frame, so the decoder simply starts a new decoder when the
//! region's rect changes.

use openh264::encoder::{
    Complexity, Encoder as H264Encoder, EncoderConfig as H264Config, FrameRate, RateControlMode,
    UsageType,
};
use openh264::formats::{BgraSliceU8, YUVBuffer, YUVSource};
use openh264::{OpenH264API, Timestamp};

use crate::tile::Src;
use crate::{DecodeError, EncodeError, Rect};

/// The frame rate the encoder is told about.
const FPS: u32 = 20;

/// The encoder side of one video region.
pub(crate) struct VideoEncoder {
    pub(crate) rect: Rect,
    enc: H264Encoder,
    yuv: YUVBuffer,
    bgra: Vec<u8>,
    frame_no: u64,
}

impl VideoEncoder {
    pub(crate) fn new(rect: Rect, quality: u8, threads: usize) -> Result<Self, EncodeError> {
        // Constant QP (OpenH264's rate-control-off mode, its default QP 26):
        // the bitrate modes of OpenH264 overshoot on grainy footage anyway, and
        // a constant QP keeps quality steady. `quality` drives JPEG tiles only.
        let _ = quality;
        let cfg = H264Config::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Off)
            .max_frame_rate(FrameRate::from_hz(FPS as f32))
            .skip_frames(false)
            .complexity(Complexity::Low)
            .scene_change_detect(false)
            .background_detection(false)
            .adaptive_quantization(false)
            .num_threads(threads.clamp(1, 4) as u16);
        let enc = H264Encoder::with_api_config(OpenH264API::from_source(), cfg)
            .map_err(|e| EncodeError::Video(e.to_string()))?;
        Ok(Self {
            rect,
            enc,
            yuv: YUVBuffer::new(rect.w as usize, rect.h as usize),
            bgra: Vec::new(),
            frame_no: 0,
        })
    }

    /// Encodes the region of `src` and appends the bitstream to `out`.
    pub(crate) fn encode(&mut self, src: Src<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let r = self.rect;
        self.bgra.clear();
        for y in r.y..r.y + r.h {
            self.bgra.extend_from_slice(src.row(r.x, y, r.w));
        }
        self.yuv
            .read_bgra8(BgraSliceU8::new(&self.bgra, (r.w as usize, r.h as usize)));
        let ts = Timestamp::from_millis(self.frame_no * 50);
        self.frame_no += 1;
        let bs = self
            .enc
            .encode_at(&self.yuv, ts)
            .map_err(|e| EncodeError::Video(e.to_string()))?;
        bs.write_vec(out);
        Ok(())
    }
}

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
