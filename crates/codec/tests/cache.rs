//! The tile cache: content seen before is sent as a reference, decodes
//! exactly, and hostile references are errors.
#![allow(clippy::unwrap_used)]

mod common;

use common::{op, update};
use tandem_codec::{DecodeError, Decoder, DecoderLimits, Encoder, EncoderConfig, FrameRef};

const W: u32 = 640;
const H: u32 = 448;

fn frame(v: &[u8]) -> FrameRef<'_> {
    FrameRef {
        width: W,
        height: H,
        stride: (W * 4) as usize,
        data: v,
    }
}

/// Text-like page (a few colours), distinct per `seed`.
fn page(seed: u32) -> Vec<u8> {
    let mut v = vec![0u8; (W * H * 4) as usize];
    for y in 0..H {
        for x in 0..W {
            let glyph = (y / 16 + seed * 31).wrapping_mul(7919) ^ (x / 8).wrapping_mul(104_729);
            let on = (glyph.wrapping_mul(2_654_435_761) >> (((y % 16) + x % 8) % 28)) & 1;
            let c = if on == 1 {
                [20, 20, (seed * 40) as u8]
            } else {
                [250, 250, 250]
            };
            let i = ((y * W + x) * 4) as usize;
            v[i..i + 3].copy_from_slice(&c);
        }
    }
    v
}

/// Incompressible background: what a window drag uncovers costs a lot as
/// pixels.
fn noise(seed: u32) -> Vec<u8> {
    let mut s = seed.wrapping_mul(2_654_435_761) | 1;
    (0..W * H * 4)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as u8
        })
        .collect()
}

/// `bg` with a 300x200 window at (wx, wy): text over a shaded panel (the
/// shading gives the move search edges to find).
fn with_window(bg: &[u8], wx: u32, wy: u32) -> Vec<u8> {
    let win = page(9);
    let mut v = bg.to_vec();
    for y in 0..200 {
        for x in 0..300 {
            let d = (((wy + y) * W + wx + x) * 4) as usize;
            let s = (((y + 40) * W + x + 40) * 4) as usize;
            let shade = [(x % 37) as u8, (y % 23) as u8, ((x + y) % 11) as u8];
            for k in 0..3 {
                v[d + k] = win[s + k].wrapping_sub(shade[k]);
            }
        }
    }
    v
}

/// A modal: the page dimmed to half, with a dialog box in the middle.
fn modal(p: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = p.iter().map(|b| b / 2).collect();
    for y in 150..300 {
        for x in 200..440 {
            let i = ((y * W + x) * 4) as usize;
            let c = if y < 170 { 90 } else { 240 };
            v[i..i + 3].copy_from_slice(&[c, c, c]);
        }
    }
    v
}

fn assert_exact(src: &[u8], dec: &Decoder) {
    for (i, (s, d)) in src
        .chunks_exact(4)
        .zip(dec.rgba().chunks_exact(4))
        .enumerate()
    {
        assert_eq!([s[2], s[1], s[0]], [d[0], d[1], d[2]], "pixel {i}");
    }
}

/// Encodes and decodes `frames` in order; returns each update's size.
fn run(frames: &[Vec<u8>], quality: u8) -> Vec<usize> {
    let mut enc = Encoder::new(EncoderConfig {
        quality,
        threads: 1,
    });
    let mut dec = Decoder::new(DecoderLimits::default());
    frames
        .iter()
        .map(|f| {
            let mut out = Vec::new();
            enc.encode(frame(f), &mut out).unwrap();
            dec.decode(&out).unwrap();
            assert_exact(f, &dec);
            out.len()
        })
        .collect()
}

#[test]
fn switching_back_to_a_tab_costs_references() {
    let (a, b) = (page(1), page(2));
    let frames = [&a, &a, &a, &b, &b, &b, &a, &a, &b]
        .map(|f| f.clone())
        .to_vec();
    let n = run(&frames, 80);
    // First showing of B is pixels; going back to A and to B again are
    // references to the tiles saved when they were covered.
    assert!(
        n[6] * 5 < n[3],
        "back to A: {} bytes vs {} for B",
        n[6],
        n[3]
    );
    assert!(n[8] * 5 < n[3], "B again: {} bytes vs {}", n[8], n[3]);
}

#[test]
fn dimming_modal_opened_twice_is_cheap_the_second_time() {
    let p = page(3);
    let m = modal(&p);
    let frames = vec![
        p.clone(),
        p.clone(),
        p.clone(),
        m.clone(),
        m.clone(),
        m.clone(),
        p.clone(),
        p.clone(),
        p.clone(),
        m.clone(),
    ];
    let n = run(&frames, 80);
    assert!(n[6] * 5 < n[3], "close: {} bytes vs open {}", n[6], n[3]);
    assert!(n[9] * 5 < n[3], "reopen: {} bytes vs open {}", n[9], n[3]);
}

#[test]
fn dragged_window_uncovers_background_from_the_cache() {
    let bg = noise(5);
    let mut frames = vec![bg.clone(), bg.clone(), bg.clone()];
    // The window appears, stays, then is dragged right and down and back.
    let path: Vec<(u32, u32)> = (0..8)
        .map(|i| (100 + 9 * i, 80 + 5 * i))
        .chain((0..8).map(|i| (163 - 9 * i, 115 - 4 * i)))
        .collect();
    frames.push(with_window(&bg, 100, 80));
    frames.push(with_window(&bg, 100, 80));
    frames.extend(path.iter().map(|&(x, y)| with_window(&bg, x, y)));
    let n = run(&frames, 100);
    // Each drag step uncovers ~3,000 noise pixels (~9 kB as pixels); it
    // costs copies and cache references instead (a few tiles whose saved
    // background has been replaced by two later saves still send pixels).
    let drag = &n[6..];
    for (i, &b) in drag.iter().enumerate() {
        assert!(b < 4_500, "drag frame {i}: {b} bytes ({n:?})");
    }
    let mean = drag.iter().sum::<usize>() / drag.len();
    assert!(mean < 1_500, "mean {mean} bytes per drag frame ({n:?})");
}

#[test]
fn worker_bands_agree_with_the_cache_in_use() {
    let (a, b) = (page(1), page(2));
    let bg = noise(3);
    let frames = vec![
        a.clone(),
        a.clone(),
        a.clone(),
        b.clone(),
        b.clone(),
        b.clone(),
        a.clone(),
        bg.clone(),
        bg.clone(),
        bg.clone(),
        with_window(&bg, 10, 10),
        with_window(&bg, 30, 20),
        with_window(&bg, 50, 30),
        b,
    ];
    let encode = |threads: usize| {
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
            .collect::<Vec<_>>()
    };
    assert_eq!(encode(1), encode(4));
}

// --- hostile references, built by hand (ops uncompressed) ---

/// `p` with a 256x192 dialog of incompressible content at (dx, dy).
fn with_dialog(p: &[u8], dx: u32, dy: u32) -> Vec<u8> {
    let art = noise(77);
    let mut v = p.to_vec();
    for y in 0..192 {
        for x in 0..256 {
            let d = (((dy + y) * W + dx + x) * 4) as usize;
            let s = ((y * W + x) * 4) as usize;
            v[d..d + 3].copy_from_slice(&art[s..s + 3]);
        }
    }
    v
}

#[test]
fn dialog_reopened_off_the_tile_grid_is_sent_from_the_cache() {
    let p = page(5);
    let (a, b) = (with_dialog(&p, 100, 80), with_dialog(&p, 137, 101));
    let frames = [&p, &p, &p, &a, &a, &a, &p, &p, &p, &b].map(|f| f.clone());
    let n = run(&frames, 100);
    // Its first showing is pixels (~150 kB); shown again 37 px right and
    // 21 px down, the tiles it covers whole are pieces of up to four saved
    // tiles each. (The tiles on its edges, part page and part dialog, are
    // still pixels: about half of the bytes.)
    assert!(
        n[9] * 10 < n[3] * 6,
        "reopened: {} bytes vs first {}",
        n[9],
        n[3]
    );
}

const OP_COPY: u8 = 1;
const OP_SOLID: u8 = 2;
const OP_CACHE_SIZE: u8 = 7;
const OP_SAVE: u8 = 8;
const OP_USE: u8 = 9;

/// A 16x16 keyframe (one SOLID op) with a cache of `slots`.
fn key(slots: u16) -> Vec<u8> {
    let mut ops = op(OP_CACHE_SIZE, &[slots]);
    ops.extend(op(OP_SOLID, &[0, 0, 16, 16]));
    ops.extend([1, 2, 3]);
    update(true, &ops)
}

fn decoder_after_key(slots: u16) -> Decoder {
    let mut dec = Decoder::new(DecoderLimits::default());
    dec.decode(&key(slots)).unwrap();
    dec
}

#[test]
fn save_then_use_round_trips() {
    let mut dec = decoder_after_key(4);
    let mut ops = op(OP_SAVE, &[3, 0, 0, 8, 8]);
    ops.extend(op(OP_SOLID, &[0, 0, 16, 16]));
    ops.extend([9, 9, 9]);
    ops.extend(op(OP_USE, &[3, 2, 2, 10, 10, 6, 6]));
    dec.decode(&update(false, &ops)).unwrap();
    let px = |x: usize, y: usize| dec.rgba()[(y * 16 + x) * 4];
    assert_eq!(px(10, 10), 3); // R of the saved colour (b=1, g=2, r=3)
    assert_eq!(px(9, 9), 9);
}

#[test]
fn use_of_a_slot_never_filled_is_an_error() {
    let mut dec = decoder_after_key(4);
    let err = dec
        .decode(&update(false, &op(OP_USE, &[0, 0, 0, 0, 0, 4, 4])))
        .unwrap_err();
    assert!(matches!(err, DecodeError::CacheEmpty { slot: 0 }), "{err}");
}

#[test]
fn slot_out_of_range_is_an_error() {
    let mut dec = decoder_after_key(4);
    let err = dec
        .decode(&update(false, &op(OP_SAVE, &[4, 0, 0, 4, 4])))
        .unwrap_err();
    assert!(
        matches!(err, DecodeError::CacheSlot { slot: 4, slots: 4 }),
        "{err}"
    );
    let err = dec
        .decode(&update(false, &op(OP_USE, &[60_000, 0, 0, 0, 0, 4, 4])))
        .unwrap_err();
    assert!(matches!(err, DecodeError::CacheSlot { .. }), "{err}");
    // A keyframe with CACHE_SIZE 0 has no cache at all.
    let mut ops = op(OP_CACHE_SIZE, &[0]);
    ops.extend(op(OP_SOLID, &[0, 0, 16, 16]));
    ops.extend([1, 2, 3]);
    dec.decode(&update(true, &ops)).unwrap();
    let err = dec
        .decode(&update(false, &op(OP_SAVE, &[0, 0, 0, 4, 4])))
        .unwrap_err();
    assert!(
        matches!(err, DecodeError::CacheSlot { slot: 0, slots: 0 }),
        "{err}"
    );
}

#[test]
fn cache_size_beyond_the_limit_or_outside_a_keyframe_is_an_error() {
    let mut dec = Decoder::new(DecoderLimits::default());
    let too_many = tandem_codec::format::MAX_CACHE_SLOTS + 1;
    let err = dec.decode(&key(too_many)).unwrap_err();
    assert!(matches!(err, DecodeError::CacheTooLarge { .. }), "{err}");
    let mut dec = decoder_after_key(4);
    let err = dec
        .decode(&update(false, &op(OP_CACHE_SIZE, &[8])))
        .unwrap_err();
    assert!(matches!(err, DecodeError::BadOp { op: 7, .. }), "{err}");
}

#[test]
fn use_outside_the_saved_tile_is_an_error() {
    let mut dec = decoder_after_key(4);
    let mut ops = op(OP_SAVE, &[1, 0, 0, 8, 8]);
    ops.extend(op(OP_USE, &[1, 4, 0, 0, 0, 5, 4]));
    let err = dec.decode(&update(false, &ops)).unwrap_err();
    assert!(
        matches!(err, DecodeError::CacheRect { slot: 1, .. }),
        "{err}"
    );
}

#[test]
fn save_taller_than_a_tile_past_the_last_slot_or_out_of_order_is_an_error() {
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut ops = op(OP_CACHE_SIZE, &[4]);
    ops.extend(op(OP_SOLID, &[0, 0, 16, 16]));
    ops.extend([1, 2, 3]);
    let mut u = b"TQ".to_vec();
    u.push(tandem_codec::format::VERSION);
    u.push(1);
    for v in [100u32, 100, ops.len() as u32, ops.len() as u32, 0] {
        u.extend_from_slice(&v.to_le_bytes());
    }
    u.extend_from_slice(&ops);
    dec.decode(&u).unwrap();
    let mut big = b"TQ".to_vec();
    big.push(tandem_codec::format::VERSION);
    big.push(0);
    let save = op(OP_SAVE, &[0, 0, 0, 8, 65]);
    for v in [100u32, 100, save.len() as u32, save.len() as u32, 0] {
        big.extend_from_slice(&v.to_le_bytes());
    }
    big.extend_from_slice(&save);
    let err = dec.decode(&big).unwrap_err();
    assert!(matches!(err, DecodeError::BadTile { .. }), "{err}");
    // A row of tiles (100 px: two slots) that runs past the last slot.
    let run = |slot: u16| {
        let save = op(OP_SAVE, &[slot, 0, 0, 100, 8]);
        let mut u = b"TQ".to_vec();
        u.push(tandem_codec::format::VERSION);
        u.push(0);
        for v in [100u32, 100, save.len() as u32, save.len() as u32, 0] {
            u.extend_from_slice(&v.to_le_bytes());
        }
        u.extend_from_slice(&save);
        u
    };
    dec.decode(&run(2)).unwrap();
    let err = dec.decode(&run(3)).unwrap_err();
    assert!(
        matches!(err, DecodeError::CacheSlot { slot: 4, slots: 4 }),
        "{err}"
    );
    // SAVE after a COPY reads a picture already changed: not allowed.
    let mut dec = decoder_after_key(4);
    let mut ops = op(OP_COPY, &[0, 0, 1, 1, 4, 4]);
    ops.extend(op(OP_SAVE, &[0, 0, 0, 4, 4]));
    let err = dec.decode(&update(false, &ops)).unwrap_err();
    assert!(matches!(err, DecodeError::BadOp { op: 8, .. }), "{err}");
}

#[test]
fn keyframe_empties_the_cache() {
    let mut dec = decoder_after_key(4);
    dec.decode(&update(false, &op(OP_SAVE, &[2, 0, 0, 8, 8])))
        .unwrap();
    dec.decode(&update(false, &op(OP_USE, &[2, 0, 0, 4, 4, 8, 8])))
        .unwrap();
    dec.decode(&key(4)).unwrap();
    let err = dec
        .decode(&update(false, &op(OP_USE, &[2, 0, 0, 4, 4, 8, 8])))
        .unwrap_err();
    assert!(matches!(err, DecodeError::CacheEmpty { slot: 2 }), "{err}");
}

// --- random revisits: every cache path must decode exactly ---

use proptest::prelude::*;

/// A small desktop (192x128): one of three backgrounds, optionally with a
/// window at (wx, wy).
fn scene(bg: u8, window: Option<(u32, u32)>) -> Vec<u8> {
    const SW: u32 = 192;
    const SH: u32 = 128;
    let mut v = vec![0u8; (SW * SH * 4) as usize];
    let mut s = 0x9E37_79B9u32.wrapping_mul(u32::from(bg) + 1);
    for (i, p) in v.chunks_exact_mut(4).enumerate() {
        let (x, y) = (i as u32 % SW, i as u32 / SW);
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        let c = match bg {
            0 => [s as u8, (s >> 8) as u8, (s >> 16) as u8],
            1 => [(x * 3) as u8, (y * 2) as u8, ((x ^ y) & 0xF0) as u8],
            _ => {
                if (x / 5 + y / 7) % 3 == 0 {
                    [10, 10, 10]
                } else {
                    [240, 240, 240]
                }
            }
        };
        p[..3].copy_from_slice(&c);
    }
    if let Some((wx, wy)) = window {
        for y in wy..(wy + 50).min(SH) {
            for x in wx..(wx + 70).min(SW) {
                let i = ((y * SW + x) * 4) as usize;
                let (lx, ly) = (x - wx, y - wy);
                v[i..i + 3].copy_from_slice(&[(lx * 7) as u8, (ly * 5) as u8, (lx ^ ly) as u8]);
            }
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn revisited_content_roundtrips_exactly(
        steps in proptest::collection::vec(
            (0u8..3, proptest::option::of((0u32..150, 0u32..100)), 1usize..4),
            4..14,
        ),
        quality in prop_oneof![Just(100u8), Just(80u8)],
    ) {
        const SW: u32 = 192;
        let mut enc = Encoder::new(EncoderConfig { quality, threads: 1 });
        let mut dec = Decoder::new(DecoderLimits::default());
        for (bg, window, repeat) in steps {
            let f = scene(bg, window);
            for _ in 0..repeat {
                let mut out = Vec::new();
                enc.encode(
                    FrameRef { width: SW, height: 128, stride: (SW * 4) as usize, data: &f },
                    &mut out,
                )
                .unwrap();
                dec.decode(&out).unwrap();
                if quality == 100 {
                    for (s, d) in f.chunks_exact(4).zip(dec.rgba().chunks_exact(4)) {
                        prop_assert_eq!([s[2], s[1], s[0]], [d[0], d[1], d[2]]);
                    }
                }
            }
        }
    }
}
