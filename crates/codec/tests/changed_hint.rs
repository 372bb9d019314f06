//! `Encoder::encode_changed`: told where a frame changed (what X DAMAGE reports), the encoder looks
//! only there, and writes exactly the update `encode` writes after scanning the whole frame.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tandem_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, Rect};

mod common;

use common::Frame;

impl Frame {
    /// Text-like content: a light page with dark strokes, so tiles are varied but not noise.
    fn page(w: u32, h: u32, pad: usize) -> Self {
        let stride = w as usize * 4 + pad;
        let mut data = vec![0u8; stride * h as usize];
        for y in 0..h {
            for x in 0..w {
                let i = y as usize * stride + x as usize * 4;
                let ink = (x / 3 + y / 7) % 5 == 0 && y % 16 > 3;
                let v = if ink { 30 } else { 235 };
                data[i..i + 4].copy_from_slice(&[v, v, v.wrapping_add(5), 0]);
            }
        }
        Frame { w, h, stride, data }
    }

    /// Paints `r` (clipped to the frame): a solid colour, or noise from `seed`.
    fn paint(&mut self, r: Rect, solid: bool, seed: u32) {
        let mut state = seed | 1;
        for y in r.y..(r.y + r.h).min(self.h) {
            for x in r.x..(r.x + r.w).min(self.w) {
                let i = y as usize * self.stride + x as usize * 4;
                let px = if solid {
                    [seed as u8, (seed >> 8) as u8, (seed >> 16) as u8]
                } else {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    [state as u8, (state >> 8) as u8, (state >> 16) as u8]
                };
                self.data[i..i + 3].copy_from_slice(&px);
            }
        }
    }
}

/// The smallest rectangle holding `rects`, clipped to `w` x `h`; empty for none.
fn bounds(rects: &[Rect], w: u32, h: u32) -> Rect {
    let frame = Rect { x: 0, y: 0, w, h };
    rects
        .iter()
        .filter_map(|r| r.intersect(frame))
        .reduce(Rect::union)
        .unwrap_or(Rect::EMPTY)
}

fn rect() -> impl Strategy<Value = (Rect, bool, u32)> {
    (
        0u32..420,
        0u32..300,
        1u32..90,
        1u32..70,
        any::<bool>(),
        any::<u32>(),
    )
        .prop_map(|(x, y, w, h, solid, seed)| (Rect { x, y, w, h }, solid, seed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Frames changed in a few rectangles at a time: with each frame's bounding box of changes
    /// (grown by `grow` pixels, as damage often is), or an empty box for no change, the updates
    /// are byte for byte those of a whole-frame scan (so they decode alike; noise goes lossy).
    #[test]
    fn updates_equal_a_whole_frame_scan(
        w in 64u32..440,
        h in 40u32..320,
        pad in 0usize..3,
        grow in 0u32..40,
        steps in prop::collection::vec(prop::collection::vec(rect(), 0..4), 1..7),
    ) {
        let mut frame = Frame::page(w, h, pad * 4);
        let mut scanning = Encoder::new(EncoderConfig::default());
        let mut hinted = Encoder::new(EncoderConfig::default());
        let mut decoder = Decoder::new(DecoderLimits::default());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        scanning.encode(frame.as_ref(), &mut a).unwrap();
        hinted.encode_changed(frame.as_ref(), None, &mut b).unwrap();
        prop_assert_eq!(&a, &b);
        decoder.decode(&b).unwrap();
        for rects in steps {
            for &(r, solid, seed) in &rects {
                frame.paint(r, solid, seed);
            }
            let plain: Vec<Rect> = rects.iter().map(|&(r, _, _)| r).collect();
            let mut hint = bounds(&plain, w, h);
            if hint.w > 0 {
                hint.x = hint.x.saturating_sub(grow);
                hint.y = hint.y.saturating_sub(grow);
                hint.w += 2 * grow;
                hint.h += 2 * grow;
            }
            a.clear();
            b.clear();
            let full = scanning.encode(frame.as_ref(), &mut a).unwrap();
            let within = hinted.encode_changed(frame.as_ref(), Some(hint), &mut b).unwrap();
            prop_assert_eq!(full.changed, within.changed);
            prop_assert_eq!(&a, &b);
            if within.changed {
                decoder.decode(&b).unwrap();
            }
        }
    }
}

/// A change outside the rectangle given is not seen then, and is sent once a later rectangle
/// covers it: nothing is lost, only late.
#[test]
fn a_change_outside_the_rectangle_is_sent_when_a_later_one_covers_it() {
    let mut frame = Frame::page(256, 192, 0);
    let mut encoder = Encoder::new(EncoderConfig::default());
    let mut decoder = Decoder::new(DecoderLimits::default());
    let mut out = Vec::new();
    encoder.encode(frame.as_ref(), &mut out).unwrap();
    decoder.decode(&out).unwrap();
    let far = Rect {
        x: 200,
        y: 150,
        w: 20,
        h: 20,
    };
    frame.paint(far, true, 0x00ff_0000);
    let near = Rect {
        x: 0,
        y: 0,
        w: 10,
        h: 10,
    };
    out.clear();
    let stats = encoder
        .encode_changed(frame.as_ref(), Some(near), &mut out)
        .unwrap();
    assert!(!stats.changed, "the change lies outside what was looked at");
    out.clear();
    let stats = encoder
        .encode_changed(frame.as_ref(), Some(far), &mut out)
        .unwrap();
    assert!(stats.changed);
    decoder.decode(&out).unwrap();
    let i = ((160 * 256) + 210) * 4;
    assert_eq!(&decoder.rgba()[i..i + 4], &[255, 0, 0, 255]);
}
