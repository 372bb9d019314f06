//! Tone changes (TRANSFORM): a dimming modal's fade costs a few ops per
//! step, the picture stays exact, and hostile TRANSFORM ops are errors or
//! clamped arithmetic, never panics.
#![allow(clippy::unwrap_used)]

mod common;

use common::{op, update};
use proptest::prelude::*;
use tandem_codec::OpsDecompressor;
use tandem_codec::format::{FLAG_KEYFRAME, FLAG_OPS_HISTORY, FLAG_OPS_ZSTD, HEADER_LEN, IN_PLACE};
use tandem_codec::{DecodeError, Decoder, DecoderLimits, Encoder, EncoderConfig, FrameRef};

const W: u32 = 640;
const H: u32 = 384;
const OP_SOLID: u8 = 2;
const OP_CACHE_SIZE: u8 = 7;
const OP_SAVE: u8 = 8;
const OP_TRANSFORM: u8 = 10;

fn frame(v: &[u8]) -> FrameRef<'_> {
    FrameRef {
        width: W,
        height: H,
        stride: (W * 4) as usize,
        data: v,
    }
}

/// A web-like page: text strokes on a light background with coloured
/// boxes (many colours per tile, so a tile's map is not trivially affine).
fn page() -> Vec<u8> {
    let mut v = vec![0u8; (W * H * 4) as usize];
    for y in 0..H {
        for x in 0..W {
            let glyph = (y / 16).wrapping_mul(7919) ^ (x / 8).wrapping_mul(104_729);
            let bit = ((y % 16) + (x % 8) / 2) % 28;
            let c: [u8; 3] = if y % 16 < 11 && (glyph.wrapping_mul(2_654_435_761) >> bit) & 1 == 1 {
                [(x % 90) as u8, 40, (y % 70) as u8 + 20]
            } else if (x / 80 + y / 96) % 3 == 0 {
                [200, (x % 50) as u8 + 150, 230]
            } else {
                [250, 250, 248]
            };
            let i = ((y * W + x) * 4) as usize;
            v[i..i + 3].copy_from_slice(&c);
        }
    }
    v
}

/// The page under a black overlay of alpha `a`, as a browser composites it.
fn dimmed(p: &[u8], a: u32) -> Vec<u8> {
    p.iter()
        .map(|&v| ((u32::from(v) * (255 - a) + 127) / 255) as u8)
        .collect()
}

fn exact(src: &[u8], dec: &Decoder) -> bool {
    src.chunks_exact(4)
        .zip(dec.rgba().chunks_exact(4))
        .all(|(s, d)| s[0] == d[2] && s[1] == d[1] && s[2] == d[0])
}

/// The op stream of an update, decompressed (updates in order: zstd's history runs from each
/// keyframe).
fn ops_of(u: &[u8], history: &mut OpsDecompressor) -> Vec<u8> {
    let le = |at: usize| u32::from_le_bytes([u[at], u[at + 1], u[at + 2], u[at + 3]]) as usize;
    let (ops_len, z_len) = (le(12), le(16));
    let body = &u[HEADER_LEN..HEADER_LEN + z_len];
    if u[3] & FLAG_KEYFRAME != 0 {
        history.restart().unwrap();
    }
    if u[3] & FLAG_OPS_HISTORY != 0 {
        let mut ops = Vec::new();
        history.decompress(body, ops_len, &mut ops).unwrap();
        ops
    } else if u[3] & FLAG_OPS_ZSTD != 0 {
        zstd::bulk::decompress(body, ops_len).unwrap()
    } else {
        body.to_vec()
    }
}

#[test]
fn a_fading_modal_overlay_costs_ops_not_pixels() {
    let p = page();
    // Closed, a three-step fade in, open, the fade out, closed; twice.
    let mut frames = vec![p.clone(); 3];
    for _ in 0..2 {
        for a in [43, 86, 128, 128, 128, 86, 43] {
            frames.push(dimmed(&p, a));
        }
        frames.extend([p.clone(), p.clone(), p.clone()]);
    }
    let mut enc = Encoder::new(EncoderConfig {
        quality: 80,
        threads: 1,
    });
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut sizes = Vec::new();
    let mut history = OpsDecompressor::new();
    for (i, f) in frames.iter().enumerate() {
        let mut out = Vec::new();
        let st = enc.encode(frame(f), &mut out).unwrap();
        dec.decode(&out).unwrap();
        assert!(exact(f, &dec), "frame {i}");
        assert_eq!(st.lossy_pixels, 0, "frame {i}");
        let ops = ops_of(&out, &mut history);
        if i > 0 && f != &frames[i - 1] && f != &p {
            // (SAVE ops come first: 11 bytes each)
            let mut at = 0;
            while ops.get(at) == Some(&OP_SAVE) {
                at += 11;
            }
            assert_eq!(ops.get(at), Some(&OP_TRANSFORM), "frame {i}");
        }
        sizes.push(out.len());
    }
    // Every step of every fade (in or out) is a few hundred bytes; the
    // keyframe is the page's pixels.
    for (i, &n) in sizes.iter().enumerate().skip(1) {
        assert!(
            n * 40 < sizes[0],
            "frame {i}: {n} B vs keyframe {}",
            sizes[0]
        );
    }
}

#[test]
fn worker_bands_agree_on_tone_changes() {
    let p = page();
    let frames = [
        p.clone(),
        p.clone(),
        p.clone(),
        dimmed(&p, 60),
        dimmed(&p, 120),
        p.clone(),
    ];
    let outs: Vec<Vec<Vec<u8>>> = [1usize, 3]
        .iter()
        .map(|&threads| {
            let mut enc = Encoder::new(EncoderConfig {
                quality: 80,
                threads,
            });
            frames
                .iter()
                .map(|f| {
                    let mut out = Vec::new();
                    enc.encode(frame(f), &mut out).unwrap();
                    out
                })
                .collect()
        })
        .collect();
    assert!(outs[0] == outs[1]);
}

/// TRANSFORM of rect (x, y, w, h) from `source` with one (m, k) for all
/// three channels.
fn transform(rect: [u16; 4], source: u16, m: u32, k: i32) -> Vec<u8> {
    let mut o = op(OP_TRANSFORM, &rect);
    o.extend_from_slice(&source.to_le_bytes());
    for _ in 0..3 {
        o.extend_from_slice(&m.to_le_bytes());
        o.extend_from_slice(&k.to_le_bytes());
    }
    o
}

/// A 16x16 keyframe of colour (b, g, r) = (10, 100, 200), cache of 4 slots.
fn decoder() -> Decoder {
    let mut ops = op(OP_CACHE_SIZE, &[4]);
    ops.extend(op(OP_SOLID, &[0, 0, 16, 16]));
    ops.extend([10, 100, 200]);
    let mut dec = Decoder::new(DecoderLimits::default());
    dec.decode(&update(true, &ops)).unwrap();
    dec
}

fn pixel(dec: &Decoder, x: usize, y: usize) -> [u8; 3] {
    let i = (y * 16 + x) * 4;
    [dec.rgba()[i], dec.rgba()[i + 1], dec.rgba()[i + 2]]
}

#[test]
fn transform_in_place_and_from_a_slot() {
    let mut dec = decoder();
    // Halve the left half in place.
    dec.decode(&update(
        false,
        &transform([0, 0, 8, 16], IN_PLACE, 1 << 15, 0),
    ))
    .unwrap();
    assert_eq!(pixel(&dec, 0, 0), [100, 50, 5]);
    assert_eq!(pixel(&dec, 8, 0), [200, 100, 10]);
    // Save the right half's top-left 8x8, paint everything, then map the
    // saved pixels (x1.5 + 1) onto the bottom-left corner.
    let mut ops = op(OP_SAVE, &[2, 8, 0, 8, 8]);
    ops.extend(op(OP_SOLID, &[0, 0, 16, 16]));
    ops.extend([0, 0, 0]);
    ops.extend(transform([0, 8, 8, 8], 2, 3 << 15, 1 << 16));
    dec.decode(&update(false, &ops)).unwrap();
    assert_eq!(pixel(&dec, 0, 8), [255, 151, 16]);
    assert_eq!(pixel(&dec, 0, 0), [0, 0, 0]);
}

#[test]
fn hostile_transforms_are_errors_or_clamped() {
    let mut dec = decoder();
    // Extreme parameters clamp.
    dec.decode(&update(
        false,
        &transform([0, 0, 16, 16], IN_PLACE, u32::MAX, i32::MAX),
    ))
    .unwrap();
    assert_eq!(pixel(&dec, 3, 3), [255, 255, 255]);
    dec.decode(&update(
        false,
        &transform([0, 0, 16, 16], IN_PLACE, u32::MAX, i32::MIN),
    ))
    .unwrap();
    assert_eq!(pixel(&dec, 3, 3), [255, 255, 255]);
    dec.decode(&update(
        false,
        &transform([0, 0, 16, 16], IN_PLACE, 0, i32::MIN),
    ))
    .unwrap();
    assert_eq!(pixel(&dec, 3, 3), [0, 0, 0]);
    // Outside the picture, empty.
    for rect in [[8, 8, 9, 1], [0, 0, 0, 4], [u16::MAX, 0, 2, 2]] {
        assert!(matches!(
            dec.decode(&update(false, &transform(rect, IN_PLACE, 1, 0))),
            Err(DecodeError::BadTile { .. })
        ));
    }
    // A slot out of range, never filled, or smaller than the rect.
    assert!(matches!(
        dec.decode(&update(false, &transform([0, 0, 4, 4], 4, 1, 0))),
        Err(DecodeError::CacheSlot { slot: 4, slots: 4 })
    ));
    assert!(matches!(
        dec.decode(&update(false, &transform([0, 0, 4, 4], 1, 1, 0))),
        Err(DecodeError::CacheEmpty { slot: 1 })
    ));
    let mut ops = op(OP_SAVE, &[0, 0, 0, 4, 4]);
    ops.extend(transform([0, 0, 8, 4], 0, 1, 0));
    assert!(matches!(
        dec.decode(&update(false, &ops)),
        Err(DecodeError::CacheRect { slot: 0, .. })
    ));
    // Truncated parameters.
    let t = transform([0, 0, 4, 4], IN_PLACE, 1, 0);
    for cut in 1..t.len() {
        assert!(
            matches!(
                dec.decode(&update(false, &t[..cut])),
                Err(DecodeError::OpsTruncated { .. } | DecodeError::Truncated { .. })
            ),
            "cut at {cut}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_transform_never_panics(
        rect in any::<[u16; 4]>(), source in any::<u16>(), m in any::<u32>(), k in any::<i32>(),
        save in any::<bool>(),
    ) {
        let mut dec = decoder();
        let mut ops = if save { op(OP_SAVE, &[source % 8, 0, 0, 8, 8]) } else { Vec::new() };
        ops.extend(transform(rect, source, m, k));
        let _ = dec.decode(&update(false, &ops));
        prop_assert_eq!(dec.rgba().len(), 16 * 16 * 4);
    }
}
