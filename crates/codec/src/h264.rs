//! OpenH264's encoder through its C API, with `SEncParamExt` filled here.
//!
//! The `openh264` crate's `Encoder` always turns the in-loop deblocking
//! filter on; here it is off (issue 15: ~8 % of OpenH264's time on the
//! video clip, and PSNR-Y went up, 41.50 -> 41.62 dB, for +0.4 % bytes: at
//! QP 26 the filter smooths grain away more than it removes blocking). The
//! other parameters are the ones that crate set (same bitstream otherwise).
//! This file holds the video path's only `unsafe`: creating, initialising,
//! feeding and destroying one encoder.

use std::ffi::c_int;
use std::ptr::null_mut;

use openh264::formats::{YUVBuffer, YUVSource};
use openh264_sys2::{
    CAMERA_VIDEO_REAL_TIME, CONSTANT_ID, DEBLOCKING_IDC_0, DEBLOCKING_IDC_1,
    ENCODER_OPTION_DATAFORMAT, ENCODER_OPTION_TRACE_LEVEL, ISVCEncoder, ISVCEncoderVtbl,
    LOW_COMPLEXITY, RC_OFF_MODE, SEncParamExt, SFrameBSInfo, SM_SINGLE_SLICE, SSourcePicture,
    WELS_LOG_QUIET, source::APILoader, videoFormatI420,
};

use crate::EncodeError;

/// The picture size, frame rate and threads of a region's encoder (the rest
/// is fixed: constant QP, low complexity, no frame skipping, no deblocking).
#[derive(Clone, Copy, Debug)]
pub(crate) struct H264Setup {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) fps: f32,
    pub(crate) threads: u16,
    /// The in-loop deblocking filter: off in production (see the module's
    /// comment); on, the bitstream is the `openh264` crate's, which a test
    /// compares byte for byte.
    pub(crate) deblocking: bool,
}

/// One OpenH264 encoder, initialised for a fixed picture size.
pub(crate) struct H264Encoder {
    enc: *mut ISVCEncoder,
    info: Box<SFrameBSInfo>,
    width: u32,
    height: u32,
}

// SAFETY: the encoder is owned by this value alone and OpenH264 keeps no
// thread-local state for it; it is used from one thread at a time (`&mut`).
#[allow(unsafe_code)]
unsafe impl Send for H264Encoder {}

fn failed(call: &'static str, rc: c_int) -> EncodeError {
    EncodeError::Video(format!("OpenH264 {call} returned {rc}"))
}

impl H264Encoder {
    #[allow(unsafe_code)]
    pub(crate) fn new(setup: H264Setup) -> Result<Self, EncodeError> {
        let (w, h) = (setup.width, setup.height);
        if w == 0 || h == 0 || w > 3840 || h > 2160 || w % 2 != 0 || h % 2 != 0 {
            return Err(EncodeError::Video(format!(
                "region {w}x{h} out of H.264 range"
            )));
        }
        let mut enc: *mut ISVCEncoder = null_mut();
        // SAFETY: `enc` is a valid place for the out-pointer; on success it
        // holds an encoder that `Drop` destroys.
        let rc = unsafe { APILoader::WelsCreateSVCEncoder(&mut enc) };
        if rc != 0 || enc.is_null() {
            return Err(failed("WelsCreateSVCEncoder", rc));
        }
        let this = Self {
            enc,
            info: Box::default(),
            width: w,
            height: h,
        };
        let vt = this.vtable()?;
        let mut p = SEncParamExt::default();
        let get_defaults = vt
            .GetDefaultParams
            .ok_or_else(|| missing("GetDefaultParams"))?;
        // SAFETY: `this.enc` is a live encoder and `p` a writable SEncParamExt.
        let rc = unsafe { get_defaults(this.enc, &mut p) };
        if rc != 0 {
            return Err(failed("GetDefaultParams", rc));
        }
        fill(&mut p, &setup);
        let init = vt.InitializeExt.ok_or_else(|| missing("InitializeExt"))?;
        // SAFETY: as above; `p` is read during the call only.
        let rc = unsafe { init(this.enc, &p) };
        if rc != 0 {
            return Err(failed("InitializeExt", rc));
        }
        let set = vt.SetOption.ok_or_else(|| missing("SetOption"))?;
        let mut quiet: c_int = WELS_LOG_QUIET as c_int;
        let mut format: c_int = videoFormatI420 as c_int;
        // SAFETY: both options take a pointer to an int, read during the call.
        let rc = unsafe {
            set(
                this.enc,
                ENCODER_OPTION_TRACE_LEVEL,
                (&raw mut quiet).cast(),
            ) | set(
                this.enc,
                ENCODER_OPTION_DATAFORMAT,
                (&raw mut format).cast(),
            )
        };
        if rc != 0 {
            return Err(failed("SetOption", rc));
        }
        Ok(this)
    }

    fn vtable(&self) -> Result<ISVCEncoderVtbl, EncodeError> {
        // SAFETY: `self.enc` came from WelsCreateSVCEncoder (non-null) and
        // points at the encoder's vtable pointer until `Drop`.
        #[allow(unsafe_code)]
        let vt = unsafe { (*self.enc).as_ref() };
        vt.copied().ok_or_else(|| missing("vtable"))
    }

    /// Encodes one picture of the setup's size and appends its NAL units
    /// (Annex B, start codes included) to `out`.
    #[allow(unsafe_code)]
    pub(crate) fn encode(
        &mut self,
        yuv: &YUVBuffer,
        millis: i64,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let (w, h) = yuv.dimensions();
        if (w, h) != (self.width as usize, self.height as usize) {
            return Err(EncodeError::Video(format!(
                "picture {w}x{h} for a {}x{} encoder",
                self.width, self.height
            )));
        }
        let (sy, su, sv) = yuv.strides();
        let pic = SSourcePicture {
            iColorFormat: videoFormatI420 as c_int,
            iStride: [sy as c_int, su as c_int, sv as c_int, 0],
            // OpenH264 only reads the source planes.
            pData: [
                yuv.y().as_ptr().cast_mut(),
                yuv.u().as_ptr().cast_mut(),
                yuv.v().as_ptr().cast_mut(),
                null_mut(),
            ],
            iPicWidth: w as c_int,
            iPicHeight: h as c_int,
            uiTimeStamp: millis,
            bPsnrY: false,
            bPsnrU: false,
            bPsnrV: false,
        };
        let encode = self
            .vtable()?
            .EncodeFrame
            .ok_or_else(|| missing("EncodeFrame"))?;
        // SAFETY: `pic`'s planes are `yuv`'s, alive and of the size and
        // strides stated (checked above against the initialised size);
        // `self.info` is a writable SFrameBSInfo.
        let rc = unsafe { encode(self.enc, &pic, &mut *self.info) };
        if rc != 0 {
            return Err(failed("EncodeFrame", rc));
        }
        let info = &*self.info;
        let layers = usize::try_from(info.iLayerNum).unwrap_or(0);
        for layer in info.sLayerInfo.iter().take(layers) {
            let nals = usize::try_from(layer.iNalCount).unwrap_or(0);
            if nals == 0 || layer.pNalLengthInByte.is_null() || layer.pBsBuf.is_null() {
                continue;
            }
            // SAFETY: OpenH264 sets `pNalLengthInByte` to `iNalCount` sizes
            // and `pBsBuf` to their concatenation, valid until the next call.
            let lens = unsafe { std::slice::from_raw_parts(layer.pNalLengthInByte, nals) };
            let len: usize = lens.iter().map(|&l| usize::try_from(l).unwrap_or(0)).sum();
            // SAFETY: as above, `len` bytes from `pBsBuf`.
            let bytes = unsafe { std::slice::from_raw_parts(layer.pBsBuf, len) };
            out.extend_from_slice(bytes);
        }
        Ok(())
    }
}

fn missing(name: &'static str) -> EncodeError {
    EncodeError::Video(format!("OpenH264 encoder has no {name}"))
}

/// The parameters, starting from OpenH264's defaults.
fn fill(p: &mut SEncParamExt, s: &H264Setup) {
    let (w, h) = (s.width as c_int, s.height as c_int);
    // Constant QP (rate control off): the bitrate fields only need to be
    // valid.
    const BPS: c_int = 120_000;
    p.iUsageType = CAMERA_VIDEO_REAL_TIME;
    p.iPicWidth = w;
    p.iPicHeight = h;
    p.iRCMode = RC_OFF_MODE;
    p.iTargetBitrate = BPS;
    p.fMaxFrameRate = s.fps;
    p.bEnableFrameSkip = false;
    p.bEnableDenoise = false;
    p.eSpsPpsIdStrategy = CONSTANT_ID;
    p.iMultipleThreadIdc = s.threads;
    p.bEnableSceneChangeDetect = false;
    p.bEnableAdaptiveQuant = false;
    p.bEnableBackgroundDetection = false;
    p.bEnableLongTermReference = false;
    p.iComplexityMode = LOW_COMPLEXITY;
    p.uiIntraPeriod = 0;
    // (see the module's comment)
    p.iLoopFilterDisableIdc = if s.deblocking {
        DEBLOCKING_IDC_0
    } else {
        DEBLOCKING_IDC_1
    } as c_int;
    p.iMinQp = 0;
    p.iMaxQp = 51;
    p.iSpatialLayerNum = 1;
    p.iTemporalLayerNum = 1;
    p.iLtrMarkPeriod = 30;
    let layer = &mut p.sSpatialLayers[0];
    layer.iMaxSpatialBitrate = BPS;
    layer.iSpatialBitrate = BPS;
    layer.fFrameRate = s.fps;
    layer.iVideoWidth = w;
    layer.iVideoHeight = h;
    layer.sSliceArgument.uiSliceMode = SM_SINGLE_SLICE;
    layer.sSliceArgument.uiSliceNum = 1;
}

impl Drop for H264Encoder {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        if let Ok(vt) = self.vtable()
            && let Some(uninit) = vt.Uninitialize
        {
            // SAFETY: a live encoder; Uninitialize is a no-op when
            // InitializeExt did not run or failed.
            unsafe { uninit(self.enc) };
        }
        // SAFETY: `self.enc` came from WelsCreateSVCEncoder and is not used
        // after this.
        unsafe { APILoader::WelsDestroySVCEncoder(self.enc) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(width: u32, height: u32) -> H264Setup {
        H264Setup {
            width,
            height,
            fps: 20.0,
            threads: 1,
            deblocking: false,
        }
    }

    /// A smooth luma gradient moving right by `shift` pixels, grey chroma.
    fn picture(w: usize, h: usize, shift: usize) -> YUVBuffer {
        let mut rgb = vec![0u8; w * h * 3];
        for (i, px) in rgb.chunks_exact_mut(3).enumerate() {
            let (x, y) = (i % w + shift, i / w);
            let v = ((x * 3 + y * 2) % 200 + 20) as u8;
            px.copy_from_slice(&[v, v, v]);
        }
        let mut yuv = YUVBuffer::new(w, h);
        yuv.read_rgb(openh264::formats::RgbSliceU8::new(&rgb, (w, h)));
        yuv
    }

    #[test]
    fn a_moving_picture_decodes_close_to_its_input() {
        // 160x90: the height is not a multiple of 16 (cropped macroblocks).
        let (w, h) = (160usize, 90usize);
        let mut enc = H264Encoder::new(setup(w as u32, h as u32)).expect("encoder");
        let mut dec = openh264::decoder::Decoder::new().expect("decoder");
        for frame in 0..6 {
            let input = picture(w, h, frame * 2);
            let mut out = Vec::new();
            enc.encode(&input, frame as i64 * 50, &mut out)
                .expect("encode");
            assert!(out.starts_with(&[0, 0, 0, 1]), "Annex B start code");
            let decoded = dec
                .decode(&out)
                .expect("decode")
                .expect("one picture per packet");
            assert_eq!(decoded.dimensions(), (w, h));
            let stride = decoded.strides().0;
            let (mut se, mut n) = (0f64, 0f64);
            for y in 0..h {
                let a = &input.y()[y * w..(y + 1) * w];
                let b = &decoded.y()[y * stride..y * stride + w];
                for (p, q) in a.iter().zip(b) {
                    se += (f64::from(*p) - f64::from(*q)).powi(2);
                    n += 1.0;
                }
            }
            let psnr = 10.0 * (255.0f64 * 255.0 / (se / n).max(1e-9)).log10();
            assert!(psnr > 38.0, "frame {frame}: PSNR-Y {psnr:.1} dB");
        }
    }

    /// The safe reference: with the filter on, this wrapper's parameters are
    /// the `openh264` crate's, so both must write the same bytes.
    #[test]
    fn with_deblocking_on_the_bitstream_is_the_safe_crates() {
        use openh264::encoder::{
            Complexity, Encoder, EncoderConfig, FrameRate, RateControlMode, UsageType,
        };
        let (w, h) = (160usize, 90usize);
        let mut ours = H264Encoder::new(H264Setup {
            deblocking: true,
            ..setup(w as u32, h as u32)
        })
        .expect("encoder");
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Off)
            .max_frame_rate(FrameRate::from_hz(20.0))
            .skip_frames(false)
            .complexity(Complexity::Low)
            .scene_change_detect(false)
            .background_detection(false)
            .adaptive_quantization(false)
            .num_threads(1);
        let mut reference = Encoder::with_api_config(openh264::OpenH264API::from_source(), config)
            .expect("reference encoder");
        for frame in 0..6 {
            let input = picture(w, h, frame * 3);
            let mut out = Vec::new();
            ours.encode(&input, frame as i64 * 50, &mut out)
                .expect("encode");
            let expected = reference
                .encode_at(&input, openh264::Timestamp::from_millis(frame as u64 * 50))
                .expect("reference encode")
                .to_vec();
            assert_eq!(out, expected, "frame {frame}");
        }
    }

    #[test]
    fn a_picture_of_another_size_is_an_error() {
        let mut enc = H264Encoder::new(setup(64, 48)).expect("encoder");
        let mut out = Vec::new();
        let err = enc.encode(&picture(48, 64, 0), 0, &mut out);
        assert!(matches!(err, Err(EncodeError::Video(_))));
        assert!(out.is_empty());
        // The encoder still works after the refusal.
        enc.encode(&picture(64, 48, 0), 0, &mut out)
            .expect("encode");
        assert!(!out.is_empty());
    }

    #[test]
    fn sizes_h264_cannot_code_are_errors() {
        for (w, h) in [(0, 16), (16, 0), (17, 16), (16, 15), (3842, 16), (16, 2162)] {
            assert!(
                matches!(H264Encoder::new(setup(w, h)), Err(EncodeError::Video(_))),
                "{w}x{h}"
            );
        }
    }
}
