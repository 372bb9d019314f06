//! The decoder's COPY ops: all of an update's sources are read before any is written, whether
//! the copies move in place (no copy reads what another writes) or through a gather.
#![allow(clippy::unwrap_used)]

mod common;

use common::{op, update};
use tandem_codec::{Decoder, DecoderLimits};

const OP_COPY: u8 = 1;
const OP_SOLID: u8 = 2;

/// A 16x16 keyframe whose row `y` is one colour of its own.
fn striped() -> Decoder {
    let mut ops = Vec::new();
    for y in 0..16u16 {
        ops.extend(op(OP_SOLID, &[0, y, 16, 1]));
        ops.extend_from_slice(&[y as u8 * 10, 100, 200]);
    }
    let mut dec = Decoder::new(DecoderLimits::default());
    dec.decode(&update(true, &ops)).unwrap();
    dec
}

/// The row colours (R of the first pixel of each row), checking each row is one colour.
fn rows(dec: &Decoder) -> Vec<u8> {
    dec.rgba()
        .chunks_exact(16 * 4)
        .map(|row| {
            assert!(
                row.chunks_exact(4).all(|p| p == &row[..4]),
                "a row is mixed"
            );
            row[2]
        })
        .collect()
}

fn copy(dec: &mut Decoder, copies: &[[u16; 6]]) -> Vec<u8> {
    let ops: Vec<u8> = copies.iter().flat_map(|c| op(OP_COPY, c)).collect();
    let before = rows(dec);
    let info = dec.decode(&update(false, &ops)).unwrap();
    assert_eq!(info.copies.len(), copies.len());
    // The model: every source read from the picture before the update.
    let mut want = before.clone();
    for &[_, sy, _, dy, _, h] in copies {
        for k in 0..h {
            want[usize::from(dy + k)] = before[usize::from(sy + k)];
        }
    }
    want
}

#[test]
fn a_copy_overlapping_itself_moves_whole_down_and_up() {
    let mut dec = striped();
    let want = copy(&mut dec, &[[0, 2, 0, 5, 16, 9]]);
    assert_eq!(rows(&dec), want);
    let want = copy(&mut dec, &[[0, 6, 0, 1, 16, 10]]);
    assert_eq!(rows(&dec), want);
}

#[test]
fn copies_that_read_what_others_write_swap_instead_of_smearing() {
    let mut dec = striped();
    // The top and bottom quarters swap places; then a chain where each source is the next
    // copy's destination.
    let want = copy(&mut dec, &[[0, 0, 0, 12, 16, 4], [0, 12, 0, 0, 16, 4]]);
    assert_eq!(rows(&dec), want);
    let want = copy(
        &mut dec,
        &[
            [0, 4, 0, 0, 16, 4],
            [0, 8, 0, 4, 16, 4],
            [0, 0, 0, 8, 16, 4],
        ],
    );
    assert_eq!(rows(&dec), want);
}
