//! Hostile input: random and mutated updates give errors, never panics.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tandem_codec::{DecodeError, Decoder, DecoderLimits, Encoder, EncoderConfig, FrameRef};

fn updates() -> Vec<Vec<u8>> {
    let (w, h) = (150u32, 90u32);
    let mut px = vec![0u8; (w * h * 4) as usize];
    let mut s = 7u32;
    for (i, p) in px.chunks_exact_mut(4).enumerate() {
        let (x, y) = (i as u32 % w, i as u32 / w);
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        let c = if x > 100 {
            [s as u8, (s >> 8) as u8, (s >> 16) as u8] // noise: lossy path
        } else if (x / 4 + y / 6) % 3 == 0 {
            [0, 0, 0]
        } else {
            [255, 250, 240]
        };
        p[..3].copy_from_slice(&c);
    }
    let mut enc = Encoder::new(EncoderConfig::default());
    let mut all = Vec::new();
    for step in 0..3u32 {
        let mut f = px.clone();
        // scroll the text part a little each step
        for y in 0..h - 5 {
            let (d, sr) = (
                (y * w * 4) as usize,
                (((y + 5 * step) % h) * w * 4) as usize,
            );
            f.copy_within(sr..sr + 400, d);
        }
        let mut out = Vec::new();
        enc.encode(
            FrameRef {
                width: w,
                height: h,
                stride: (w * 4) as usize,
                data: &f,
            },
            &mut out,
        )
        .unwrap();
        all.push(out);
    }
    all
}

fn limits() -> DecoderLimits {
    DecoderLimits {
        max_width: 512,
        max_height: 512,
    }
}

#[test]
fn valid_updates_decode() {
    let mut dec = Decoder::new(limits());
    for u in updates() {
        dec.decode(&u).unwrap();
    }
}

#[test]
fn delta_before_keyframe_and_oversize_are_errors() {
    let u = updates();
    let mut dec = Decoder::new(limits());
    assert!(matches!(dec.decode(&u[1]), Err(DecodeError::NoKeyframe)));
    let mut big = u[0].clone();
    big[4..8].copy_from_slice(&100_000u32.to_le_bytes());
    assert!(matches!(
        dec.decode(&big),
        Err(DecodeError::TooLarge { .. })
    ));
    assert!(matches!(
        dec.decode(&u[0][..10]),
        Err(DecodeError::Truncated { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut dec = Decoder::new(limits());
        let _ = dec.decode(&data);
        let mut d2 = data.clone();
        if d2.len() >= 4 {
            d2[..4].copy_from_slice(&[b'T', b'Q', 1, 1]);
        }
        let _ = dec.decode(&d2);
        prop_assert_eq!(dec.rgba().len(), dec.width() as usize * dec.height() as usize * 4);
    }

    #[test]
    fn mutated_updates_never_panic(
        which in 0usize..3,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let u = updates();
        let mut dec = Decoder::new(limits());
        for prev in &u[..which] {
            dec.decode(prev).unwrap();
        }
        let mut m = u[which].clone();
        for (i, v) in &flips {
            let k = i.index(m.len());
            m[k] ^= v | 1;
        }
        if truncate {
            m.truncate(cut.index(m.len()));
        }
        let _ = dec.decode(&m);
        prop_assert_eq!(dec.rgba().len(), dec.width() as usize * dec.height() as usize * 4);
    }
}
