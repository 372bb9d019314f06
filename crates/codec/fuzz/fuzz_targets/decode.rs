//! Hostile updates: the decoder must return errors, never panic, and keep
//! memory bounded. Input: a valid keyframe is applied first when the input's
//! first byte is odd, so deltas against a real picture are reached too.
//!
//! `cargo fuzz run decode` (from crates/codec/fuzz)
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, FrameRef};

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::new(DecoderLimits {
        max_width: 1024,
        max_height: 1024,
    });
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    if first & 1 == 1 {
        let px: Vec<u8> = (0..96u32 * 64 * 4).map(|i| (i * 37 % 251) as u8).collect();
        let mut enc = Encoder::new(EncoderConfig::default());
        let mut key = Vec::new();
        let frame = FrameRef {
            width: 96,
            height: 64,
            stride: 96 * 4,
            data: &px,
        };
        if enc.encode(frame, &mut key).is_ok() {
            let _ = dec.decode(&key);
        }
    }
    // The rest is one or more updates, split where their headers say.
    let mut input = rest;
    while !input.is_empty() {
        let n = tandem_codec::format::update_len(input)
            .unwrap_or(input.len())
            .min(input.len());
        let _ = dec.decode(&input[..n]);
        assert_eq!(dec.rgba().len(), dec.width() as usize * dec.height() as usize * 4);
        input = &input[n..];
        if n == 0 {
            break;
        }
    }
});
