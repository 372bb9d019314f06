//! Replays the fuzz targets' committed seeds (real encoder output, see
//! `examples/fuzz_seeds.rs`) and any regression inputs through the same
//! bodies as `fuzz/fuzz_targets/{ops,decode}.rs`, on the stable toolchain:
//! a smoke run of the fuzz targets inside `cargo test`. Seeds must decode
//! without error; regression inputs must not panic.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use tandem_codec::format::{HEADER_LEN, MAGIC, VERSION};
use tandem_codec::{Decoder, DecoderLimits};

fn limits() -> DecoderLimits {
    DecoderLimits {
        max_width: 256,
        max_height: 256,
    }
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(input.len());
    let (a, b) = input.split_at(n);
    *input = b;
    a
}

/// The `ops` target's body; returns how many updates failed to decode.
fn ops_body(data: &[u8]) -> usize {
    let mut dec = Decoder::new(limits());
    let mut input = data;
    let mut failed = 0;
    while input.len() >= 7 {
        let h = take(&mut input, 7);
        let (w, ht) = (u32::from(h[1]), u32::from(h[2]));
        let ops = take(&mut input, usize::from(u16::from_le_bytes([h[3], h[4]])));
        let blob = take(&mut input, usize::from(u16::from_le_bytes([h[5], h[6]])));
        let mut u = MAGIC.to_vec();
        u.push(VERSION);
        u.push(h[0] & 1);
        for v in [w, ht, ops.len() as u32, ops.len() as u32, blob.len() as u32] {
            u.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(u.len(), HEADER_LEN);
        u.extend_from_slice(ops);
        u.extend_from_slice(blob);
        failed += usize::from(dec.decode(&u).is_err());
        assert_eq!(
            dec.rgba().len(),
            dec.width() as usize * dec.height() as usize * 4
        );
    }
    failed
}

/// The `decode` target's body without its built-in keyframe (seeds start
/// with 0); returns how many updates failed to decode.
fn decode_body(data: &[u8]) -> usize {
    let mut dec = Decoder::new(limits());
    let mut input = &data[1.min(data.len())..];
    let mut failed = 0;
    while !input.is_empty() {
        let n = tandem_codec::format::update_len(input)
            .unwrap_or(input.len())
            .min(input.len());
        failed += usize::from(dec.decode(&input[..n]).is_err());
        input = &input[n..];
        if n == 0 {
            break;
        }
    }
    failed
}

fn files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut v: Vec<_> = entries
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn seeds_decode_cleanly() {
    let ops = files("seeds/ops");
    let decode = files("seeds/decode");
    assert!(ops.len() >= 5 && decode.len() >= 5, "seed corpus missing");
    for (name, data) in &ops {
        assert_eq!(ops_body(data), 0, "{name}");
    }
    for (name, data) in &decode {
        assert_eq!(decode_body(data), 0, "{name}");
    }
}

#[test]
fn regression_inputs_do_not_panic() {
    for (_, data) in files("regressions/ops") {
        ops_body(&data);
    }
    for (_, data) in files("regressions/decode") {
        decode_body(&data);
    }
}
