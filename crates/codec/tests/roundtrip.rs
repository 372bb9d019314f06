//! Round trips through the encoder and decoder: lossless content must come
//! back bit-exact.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tandem_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, FrameRef};

mod common;

use common::Frame;

/// Frames with a garbage 4th byte and `pad` bytes of row padding.
impl Frame {
    fn new(w: u32, h: u32, pad: usize) -> Self {
        let stride = w as usize * 4 + pad;
        Self {
            w,
            h,
            stride,
            data: vec![0xA5; stride * h as usize],
        }
    }
    fn set(&mut self, x: u32, y: u32, bgr: [u8; 3]) {
        let i = y as usize * self.stride + x as usize * 4;
        self.data[i..i + 3].copy_from_slice(&bgr);
        self.data[i + 3] = (x * 31 + y) as u8;
    }
    fn get(&self, x: u32, y: u32) -> [u8; 3] {
        let i = y as usize * self.stride + x as usize * 4;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

fn assert_exact(f: &Frame, d: &Decoder) {
    assert_eq!((d.width(), d.height()), (f.w, f.h));
    let rgba = d.rgba();
    for y in 0..f.h {
        for x in 0..f.w {
            let i = (y * f.w + x) as usize * 4;
            let [b, g, r] = f.get(x, y);
            assert_eq!(&rgba[i..i + 4], &[r, g, b, 255], "pixel {x},{y}");
        }
    }
}

/// PSNR (dB) of the decoded picture against the frame, over B,G,R.
fn psnr(f: &Frame, d: &Decoder) -> f64 {
    let rgba = d.rgba();
    let mut sse = 0f64;
    for y in 0..f.h {
        for x in 0..f.w {
            let i = (y * f.w + x) as usize * 4;
            let [b, g, r] = f.get(x, y);
            for (a, c) in [r, g, b].iter().zip(&rgba[i..i + 3]) {
                let e = f64::from(*a) - f64::from(*c);
                sse += e * e;
            }
        }
    }
    let mse = sse / f64::from(f.w * f.h * 3);
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

fn roundtrip_q(frames: &[Frame], quality: u8) {
    let mut enc = Encoder::new(EncoderConfig {
        quality,
        threads: 1,
    });
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut out = Vec::new();
    let mut lossy_seen = false;
    for f in frames {
        out.clear();
        let st = enc.encode(f.as_ref(), &mut out).unwrap();
        assert_eq!(st.bytes, out.len());
        assert_eq!(tandem_codec::format::update_len(&out), Some(out.len()));
        dec.decode(&out).unwrap();
        lossy_seen |= st.lossy_pixels > 0;
        if lossy_seen {
            // Lossy tiles stay within a quality bound (noise is JPEG's worst case).
            assert!(quality < 100);
            let p = psnr(f, &dec);
            assert!(p > 24.0, "PSNR {p}");
        } else {
            assert_exact(f, &dec);
        }
    }
}

fn roundtrip(frames: &[Frame]) {
    roundtrip_q(frames, 100);
    roundtrip_q(frames, 80);
}

/// Text-like content: a few colours in runs.
fn texty(w: u32, h: u32, seed: u32, pad: usize) -> Frame {
    let mut f = Frame::new(w, h, pad);
    let pal = [[255, 255, 255], [0, 0, 0], [200, 30, 30], [30, 200, 90]];
    for y in 0..h {
        for x in 0..w {
            let v = (x / 3 + y / 5 + seed).wrapping_mul(2_654_435_761) >> 29;
            f.set(x, y, pal[(v % 4) as usize]);
        }
    }
    f
}

fn noisy(w: u32, h: u32, seed: u32) -> Frame {
    let mut f = Frame::new(w, h, 0);
    let mut s = seed | 1;
    for y in 0..h {
        for x in 0..w {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            f.set(x, y, [s as u8, (s >> 8) as u8, (s >> 16) as u8]);
        }
    }
    f
}

#[test]
fn text_and_unchanged_frames() {
    let a = texty(200, 130, 1, 12);
    let mut b = a.clone();
    b.set(5, 5, [1, 2, 3]);
    b.set(199, 129, [9, 9, 9]);
    roundtrip(&[a.clone(), a.clone(), b, a]);
}

#[test]
fn size_change_is_keyframe() {
    roundtrip(&[
        texty(100, 70, 1, 0),
        texty(33, 17, 2, 4),
        texty(64, 64, 3, 0),
    ]);
}

#[test]
fn unchanged_frame_is_tiny_and_unchanged() {
    let a = texty(300, 200, 7, 0);
    let mut enc = Encoder::new(EncoderConfig::default());
    let mut out = Vec::new();
    enc.encode(a.as_ref(), &mut out).unwrap();
    out.clear();
    let mut a2 = a.clone();
    for i in (3..a2.data.len()).step_by(4) {
        a2.data[i] = 0x11; // the undefined 4th byte changes: not a change
    }
    let st = enc.encode(a2.as_ref(), &mut out).unwrap();
    assert!(!st.changed);
    assert!(out.len() <= 32, "{}", out.len());
}

#[test]
fn bad_frame_is_an_error() {
    let mut enc = Encoder::new(EncoderConfig::default());
    let data = vec![0u8; 100];
    let f = FrameRef {
        width: 10,
        height: 10,
        stride: 40,
        data: &data,
    };
    assert!(enc.encode(f, &mut Vec::new()).is_err());
}

fn arb_edit() -> impl Strategy<Value = (u32, u32, u32, u32, u8, [u8; 3])> {
    (
        0u32..200,
        0u32..150,
        1u32..90,
        1u32..90,
        0u8..4,
        any::<[u8; 3]>(),
    )
}

fn apply_edit(f: &mut Frame, e: &(u32, u32, u32, u32, u8, [u8; 3]), seed: u32) {
    let (x0, y0, ew, eh, kind, c) = *e;
    let noise = noisy(f.w, f.h, seed);
    let src = texty(f.w, f.h, seed, 0);
    for y in y0.min(f.h - 1)..(y0 + eh).min(f.h) {
        for x in x0.min(f.w - 1)..(x0 + ew).min(f.w) {
            let v = match kind {
                0 => c,
                1 => noise.get(x, y),
                2 => src.get(x, y),
                // a vertical shift of existing content (scroll-like)
                _ => f.get(x, (y + 7) % f.h),
            };
            f.set(x, y, v);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_edits_roundtrip(
        w in 1u32..220, h in 1u32..160, pad in 0usize..9, seed in any::<u32>(),
        edits in proptest::collection::vec(proptest::collection::vec(arb_edit(), 0..4), 1..6)
    ) {
        let mut f = texty(w, h, seed, pad);
        let mut frames = vec![f.clone()];
        for (i, step) in edits.iter().enumerate() {
            for e in step {
                apply_edit(&mut f, e, seed.wrapping_add(i as u32));
            }
            frames.push(f.clone());
        }
        roundtrip(&frames);
    }

    /// Text, solid fills and scrolls never go lossy, at any quality.
    #[test]
    fn text_edits_stay_exact(
        w in 1u32..220, h in 1u32..160, seed in any::<u32>(), quality in 1u8..=100,
        edits in proptest::collection::vec(arb_edit(), 1..6)
    ) {
        let mut f = texty(w, h, seed, 0);
        let mut frames = vec![f.clone()];
        for (i, e) in edits.iter().enumerate() {
            let mut e = *e;
            if e.4 == 1 { e.4 = 2; }
            apply_edit(&mut f, &e, seed.wrapping_add(i as u32));
            frames.push(f.clone());
        }
        let mut enc = Encoder::new(EncoderConfig { quality, threads: 1 });
        let mut dec = Decoder::new(DecoderLimits::default());
        let mut out = Vec::new();
        for f in &frames {
            out.clear();
            let st = enc.encode(f.as_ref(), &mut out).unwrap();
            prop_assert_eq!(st.lossy_pixels, 0);
            dec.decode(&out).unwrap();
            assert_exact(f, &dec);
        }
    }
}

/// The host encodes on a capture thread, the viewer decodes on its network thread.
#[test]
fn encoder_and_decoder_are_send() {
    fn send<T: Send>() {}
    send::<Encoder>();
    send::<Decoder>();
}
