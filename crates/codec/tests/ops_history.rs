//! The op streams' zstd history (format version 4): updates flagged OPS_HISTORY continue one zstd
//! frame from the last keyframe on. Whatever breaks it (a corrupt update, lengths that disagree,
//! a window larger than ours, flags that do not go together) is an error, and every update after
//! it is one too, until the next keyframe starts the history over.
#![allow(clippy::unwrap_used)]

mod common;

use common::{op, update};
use tandem_codec::format::{
    FLAG_OPS_HISTORY, FLAG_OPS_ZSTD, HEADER_LEN, MAGIC, VERSION, VERSION_INDEPENDENT_ZSTD,
};
use tandem_codec::{DecodeError, Decoder, DecoderLimits, OpsStreamError};
use zstd::zstd_safe::{CCtx, CParameter, InBuffer, OutBuffer, zstd_sys::ZSTD_EndDirective};

const SOLID: u8 = 2;

/// A SOLID op over the 16x16 picture's rows `y..y + 4`.
fn band(y: u16, bgr: [u8; 3]) -> Vec<u8> {
    let mut v = op(SOLID, &[0, y, 16, 4]);
    v.extend_from_slice(&bgr);
    v
}

/// A 16x16 update: `body` (`ops_len` bytes once decompressed) with `flags`, in `version`.
fn update_as(version: u8, flags: u8, ops_len: usize, body: &[u8]) -> Vec<u8> {
    let mut u = MAGIC.to_vec();
    u.extend_from_slice(&[version, flags]);
    for v in [16u32, 16, ops_len as u32, body.len() as u32, 0] {
        u.extend_from_slice(&v.to_le_bytes());
    }
    u.extend_from_slice(body);
    assert_eq!(u.len(), HEADER_LEN + body.len());
    u
}

/// A keyframe painting the whole picture one colour (ops uncompressed).
fn keyframe(bgr: [u8; 3]) -> Vec<u8> {
    let mut ops = op(SOLID, &[0, 0, 16, 16]);
    ops.extend_from_slice(&bgr);
    update(true, &ops)
}

/// The encoder's side of a history: each op stream compressed and flushed, in one zstd frame.
struct History(CCtx<'static>);

impl History {
    fn new(window_log: u32) -> Self {
        let mut c = CCtx::create();
        c.set_parameter(CParameter::WindowLog(window_log)).unwrap();
        c.set_parameter(CParameter::CompressionLevel(3)).unwrap();
        History(c)
    }

    fn next(&mut self, ops: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(ops.len()) + 64);
        let mut input = InBuffer::around(ops);
        let mut output = OutBuffer::around(&mut out);
        loop {
            let left = self
                .0
                .compress_stream2(&mut output, &mut input, ZSTD_EndDirective::ZSTD_e_flush)
                .unwrap();
            if left == 0 && input.pos == ops.len() {
                break;
            }
        }
        out
    }

    fn update(&mut self, ops: &[u8]) -> Vec<u8> {
        let body = self.next(ops);
        update_as(VERSION, FLAG_OPS_ZSTD | FLAG_OPS_HISTORY, ops.len(), &body)
    }
}

fn colour_at(dec: &Decoder, y: usize) -> [u8; 3] {
    let at = y * 16 * 4;
    let p = &dec.rgba()[at..at + 3];
    // The picture is RGBA; the ops' colours are B,G,R.
    [p[2], p[1], p[0]]
}

/// The same bands again and again: every update after the first refers back to it.
fn bands(k: u8) -> Vec<u8> {
    let mut ops = Vec::new();
    for y in (0..16).step_by(4) {
        ops.extend(band(y, [10 * k, 200, 40 + y as u8]));
    }
    ops
}

#[test]
fn history_updates_decode_in_order_from_each_keyframe() {
    let mut dec = Decoder::new(DecoderLimits::default());
    for round in 0..2u8 {
        dec.decode(&keyframe([1, 2, 3])).unwrap();
        // Each keyframe starts a new history: a new zstd frame on the encoder's side too.
        let mut history = History::new(23);
        for k in 1..5u8 {
            dec.decode(&history.update(&bands(k + round))).unwrap();
            assert_eq!(
                colour_at(&dec, 12),
                [10 * (k + round), 200, 52],
                "round {round} k {k}"
            );
        }
    }
}

#[test]
fn after_a_corrupt_update_the_history_is_refused_until_a_keyframe() {
    let mut dec = Decoder::new(DecoderLimits::default());
    dec.decode(&keyframe([1, 2, 3])).unwrap();
    let mut history = History::new(23);
    dec.decode(&history.update(&bands(1))).unwrap();
    let mut corrupt = history.update(&bands(2));
    let last = corrupt.len() - 1;
    corrupt[HEADER_LEN..=last]
        .iter_mut()
        .for_each(|b| *b ^= 0x5A);
    assert!(dec.decode(&corrupt).is_err());
    let after = history.update(&bands(3));
    assert!(
        matches!(
            dec.decode(&after),
            Err(DecodeError::OpsStream(OpsStreamError::NoHistory))
        ),
        "an update after the break decodes against a history the decoder no longer has"
    );
    dec.decode(&keyframe([9, 9, 9])).unwrap();
    let mut fresh = History::new(23);
    dec.decode(&fresh.update(&bands(4))).unwrap();
    assert_eq!(colour_at(&dec, 0), [40, 200, 40]);
}

#[test]
fn declared_lengths_must_match_what_the_history_gives() {
    for (shift, short) in [(-1i64, true), (1, false)] {
        let mut dec = Decoder::new(DecoderLimits::default());
        dec.decode(&keyframe([1, 2, 3])).unwrap();
        let mut history = History::new(23);
        let ops = bands(1);
        let body = history.next(&ops);
        let declared = (ops.len() as i64 + shift) as usize;
        let u = update_as(VERSION, FLAG_OPS_ZSTD | FLAG_OPS_HISTORY, declared, &body);
        let err = dec.decode(&u).unwrap_err();
        let ok = if short {
            matches!(err, DecodeError::OpsStream(OpsStreamError::TooLong { .. }))
        } else {
            matches!(err, DecodeError::OpsStream(OpsStreamError::Length { .. }))
        };
        assert!(ok, "declared {declared} of {}: {err}", ops.len());
    }
}

#[test]
fn a_history_window_larger_than_ours_is_refused() {
    let mut dec = Decoder::new(DecoderLimits::default());
    dec.decode(&keyframe([1, 2, 3])).unwrap();
    let mut history = History::new(27);
    let err = dec.decode(&history.update(&bands(1))).unwrap_err();
    assert!(
        matches!(err, DecodeError::OpsStream(OpsStreamError::Zstd(_))),
        "{err}"
    );
}

#[test]
fn history_without_zstd_or_in_version_3_is_refused() {
    let ops = bands(1);
    let mut history = History::new(23);
    let body = history.next(&ops);
    for (version, flags, body) in [
        (VERSION, FLAG_OPS_HISTORY, &ops),
        (
            VERSION_INDEPENDENT_ZSTD,
            FLAG_OPS_ZSTD | FLAG_OPS_HISTORY,
            &body,
        ),
    ] {
        let mut dec = Decoder::new(DecoderLimits::default());
        dec.decode(&keyframe([1, 2, 3])).unwrap();
        let err = dec
            .decode(&update_as(version, flags, ops.len(), body))
            .unwrap_err();
        assert!(matches!(err, DecodeError::BadFlags { .. }), "{err}");
    }
}

/// An update that changed nothing may be dropped (the host does): the next updates do not refer
/// to it.
#[test]
fn an_unchanged_update_may_be_dropped() {
    use tandem_codec::{Encoder, EncoderConfig, FrameRef};
    let (w, h) = (256u32, 128u32);
    let text = |shift: u32| -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, (i / w + shift) % h);
                let on = (x / 6 * 7 + y / 9 * 13) % 5 == 0 && x % 6 < 4 && y % 9 < 7;
                if on {
                    [20, 20, 20, 0]
                } else {
                    [250, 250, 240, 0]
                }
            })
            .collect()
    };
    let frames = [text(0), text(9), text(9), text(18), text(27)];
    let mut enc = Encoder::new(EncoderConfig::default());
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut dropped = 0;
    for f in &frames {
        let mut out = Vec::new();
        let stats = enc
            .encode(
                FrameRef {
                    width: w,
                    height: h,
                    stride: (w * 4) as usize,
                    data: f,
                },
                &mut out,
            )
            .unwrap();
        if !stats.changed {
            dropped += 1;
            continue;
        }
        dec.decode(&out).unwrap();
        let exact = f
            .chunks_exact(4)
            .zip(dec.rgba().chunks_exact(4))
            .all(|(s, d)| s[0] == d[2] && s[1] == d[1] && s[2] == d[0]);
        assert!(exact);
    }
    assert_eq!(dropped, 1);
}
