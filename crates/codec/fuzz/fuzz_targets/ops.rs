//! The op stream beneath the compression: every op (copies, tile coders,
//! cache SAVE/USE, JPEG and video payloads) is reached without zstd in the
//! way and without running an encoder.
//!
//! Input: updates in a compact form, one after another,
//!     flags:u8 width:u8 height:u8 ops_len:u16le blob_len:u16le ops blob
//! turned into real updates with the ops uncompressed (flag bit 0 =
//! keyframe; the zstd flag is cleared). Pictures are at most 255x255, so an
//! execution stays cheap. Seeds: real encoder output on crops of the bench
//! clips (`cargo run -p tandem-codec --example fuzz_seeds`).
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run ops -O` (from crates/codec/fuzz)
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_codec::format::{HEADER_LEN, MAGIC, VERSION};
use tandem_codec::{Decoder, DecoderLimits};

fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(input.len());
    let (a, b) = input.split_at(n);
    *input = b;
    a
}

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::new(DecoderLimits {
        max_width: 256,
        max_height: 256,
    });
    let mut input = data;
    let mut update = Vec::new();
    while input.len() >= 7 {
        let h = take(&mut input, 7);
        let flags = h[0] & 1;
        let (w, ht) = (u32::from(h[1]), u32::from(h[2]));
        let ops_len = usize::from(u16::from_le_bytes([h[3], h[4]]));
        let blob_len = usize::from(u16::from_le_bytes([h[5], h[6]]));
        let ops = take(&mut input, ops_len);
        let blob = take(&mut input, blob_len);
        update.clear();
        update.extend_from_slice(&MAGIC);
        update.push(VERSION);
        update.push(flags);
        for v in [w, ht, ops.len() as u32, ops.len() as u32, blob.len() as u32] {
            update.extend_from_slice(&v.to_le_bytes());
        }
        debug_assert_eq!(update.len(), HEADER_LEN);
        update.extend_from_slice(ops);
        update.extend_from_slice(blob);
        let _ = dec.decode(&update);
        assert_eq!(
            dec.rgba().len(),
            dec.width() as usize * dec.height() as usize * 4
        );
    }
});
