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

/// A deterministic xorshift64* stream: the mutation smoke run below must
/// pick the same inputs on every run (no flaky CI), unlike libFuzzer.
struct Mutations(u64);

impl Mutations {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// `seed` with one to four libFuzzer-like edits: flip a bit, set a byte
    /// to an edge value, cut the tail, duplicate or drop a run of bytes, or
    /// splice in the tail of `other`.
    fn mutate(&mut self, seed: &[u8], other: &[u8]) -> Vec<u8> {
        let mut data = seed.to_vec();
        for _ in 0..1 + self.below(4) {
            if data.is_empty() {
                break;
            }
            let at = self.below(data.len());
            match self.below(6) {
                0 => data[at] ^= 1 << self.below(8),
                1 => data[at] = [0, 1, 0x7f, 0x80, 0xff][self.below(5)],
                2 => data.truncate(at),
                3 => {
                    let run: Vec<u8> = data[at..(at + 1 + self.below(64)).min(data.len())].to_vec();
                    data.splice(at..at, run);
                }
                4 => {
                    let end = (at + 1 + self.below(64)).min(data.len());
                    data.drain(at..end);
                }
                _ => {
                    let from = self.below(other.len());
                    data.truncate(at);
                    data.extend_from_slice(&other[from..]);
                }
            }
        }
        data
    }
}

/// The fuzz smoke run that fits CI's time: every committed seed, mutated
/// 2,000 times each (deterministically), through both targets' bodies. They
/// must not panic (errors are the expected outcome of most mutations), and
/// some mutants must still decode cleanly: proof that the edits reach past
/// the framing into the ops. The coverage-guided runs are the long ones
/// (`fuzz/README.md`).
#[test]
fn mutated_seeds_do_not_panic() {
    let mut mutations = Mutations(0x7a4d_e3b1_9c55_0f21);
    for (dir, body) in [
        ("seeds/ops", ops_body as fn(&[u8]) -> usize),
        ("seeds/decode", decode_body),
    ] {
        let seeds = files(dir);
        assert!(!seeds.is_empty(), "{dir}: seed corpus missing");
        let (mut clean, mut runs) = (0, 0);
        for (i, (_, seed)) in seeds.iter().enumerate() {
            let other = &seeds[(i + 1) % seeds.len()].1;
            for _ in 0..2_000 {
                clean += usize::from(body(&mutations.mutate(seed, other)) == 0);
                runs += 1;
            }
        }
        eprintln!("{dir}: {clean} of {runs} mutants decoded without error");
        assert!(
            clean > runs / 100 && clean < runs,
            "{dir}: {clean} of {runs} clean"
        );
    }
}
