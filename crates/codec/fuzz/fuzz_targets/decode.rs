//! Hostile updates with their real framing (header, zstd, blob): the decoder
//! must return errors, never panic, and keep memory bounded. When the
//! input's first byte is odd, a fixed keyframe (built once, by hand, with a
//! tile cache) is applied first, so deltas against a real picture are
//! reached too without running an encoder per execution.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run decode -O` (from crates/codec/fuzz)
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tandem_codec::format::{MAGIC, VERSION};
use tandem_codec::{Decoder, DecoderLimits};

/// A 96x64 keyframe: CACHE_SIZE 16, then four SOLID quarters.
fn keyframe() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut ops = vec![7u8, 16, 0];
        for (i, (x, y)) in [(0u16, 0u16), (48, 0), (0, 32), (48, 32)]
            .into_iter()
            .enumerate()
        {
            ops.push(2);
            for v in [x, y, 48, 32] {
                ops.extend_from_slice(&v.to_le_bytes());
            }
            ops.extend_from_slice(&[i as u8 * 60, 200 - i as u8 * 40, 90]);
        }
        let mut u = MAGIC.to_vec();
        u.push(VERSION);
        u.push(1);
        for v in [96u32, 64, ops.len() as u32, ops.len() as u32, 0] {
            u.extend_from_slice(&v.to_le_bytes());
        }
        u.extend_from_slice(&ops);
        u
    })
}

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::new(DecoderLimits {
        max_width: 256,
        max_height: 256,
    });
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    if first & 1 == 1 {
        let _ = dec.decode(keyframe());
    }
    // The rest is one or more updates, split where their headers say.
    let mut input = rest;
    while !input.is_empty() {
        let n = tandem_codec::format::update_len(input)
            .unwrap_or(input.len())
            .min(input.len());
        let _ = dec.decode(&input[..n]);
        assert_eq!(
            dec.rgba().len(),
            dec.width() as usize * dec.height() as usize * 4
        );
        input = &input[n..];
        if n == 0 {
            break;
        }
    }
});
