//! Vertical motion search (scrolling, and windows moved up or down) over
//! 64-pixel column strips.
//!
//! For every row of every tile column the encoder keeps a hash of that row's
//! 64-pixel segment in the reference frame. A changed tile hashes its rows in
//! the new frame and looks them up in the same column of the reference: rows
//! that occur exactly once there vote for a vertical offset. The winning
//! offset is then checked row by row, so a tile splits into rows that are
//! unchanged, rows copied from `dy` away, and rows sent as pixels.

use crate::kernels::bgr_hash;

/// Per-column row hashes of the reference frame and scratch for the search.
#[derive(Default)]
pub(crate) struct Motion {
    pub(crate) tiles_x: u32,
    pub(crate) height: u32,
    /// `hashes[col * height + y]`: hash of the reference row segment.
    pub(crate) hashes: Vec<u64>,
    keys: Vec<u64>,
    vals: Vec<u32>,
    stamps: Vec<u32>,
    epoch: u32,
    mask: usize,
    /// Columns whose rows are in the table this frame.
    col_in_table: Vec<bool>,
    /// Global offset votes: (dy, count).
    pub(crate) global: Vec<(i32, u32)>,
}

const AMBIGUOUS: u32 = u32::MAX;

#[inline]
fn key(h: u64, col: u32) -> u64 {
    h ^ u64::from(col).wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

impl Motion {
    pub(crate) fn reset(&mut self, tiles_x: u32, height: u32) {
        self.tiles_x = tiles_x;
        self.height = height;
        let n = tiles_x as usize * height as usize;
        self.hashes.clear();
        self.hashes.resize(n, 0);
        let cap = (2 * n).next_power_of_two().max(1024);
        self.keys.clear();
        self.keys.resize(cap, 0);
        self.vals.clear();
        self.vals.resize(cap, 0);
        self.stamps.clear();
        self.stamps.resize(cap, 0);
        self.mask = cap - 1;
        self.epoch = 0;
        self.col_in_table.clear();
        self.col_in_table.resize(tiles_x as usize, false);
    }

    /// Starts a frame's search.
    pub(crate) fn begin(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.fill(0);
            self.epoch = 1;
        }
        self.col_in_table.fill(false);
        self.global.clear();
    }

    /// Puts every reference row of column `col` into the lookup table.
    pub(crate) fn index_column(&mut self, col: u32) {
        if self.col_in_table[col as usize] {
            return;
        }
        self.col_in_table[col as usize] = true;
        let base = col as usize * self.height as usize;
        for y in 0..self.height {
            let k = key(self.hashes[base + y as usize], col);
            let mut slot = (k as usize ^ (k >> 32) as usize) & self.mask;
            loop {
                if self.stamps[slot] != self.epoch {
                    self.stamps[slot] = self.epoch;
                    self.keys[slot] = k;
                    self.vals[slot] = y;
                    break;
                }
                if self.keys[slot] == k {
                    self.vals[slot] = AMBIGUOUS;
                    break;
                }
                slot = (slot + 1) & self.mask;
            }
        }
    }

    /// The unique reference row of column `col` whose segment hashes to `h`.
    #[inline]
    pub(crate) fn lookup(&self, h: u64, col: u32) -> Option<u32> {
        let k = key(h, col);
        let mut slot = (k as usize ^ (k >> 32) as usize) & self.mask;
        loop {
            if self.stamps[slot] != self.epoch {
                return None;
            }
            if self.keys[slot] == k {
                let v = self.vals[slot];
                return (v != AMBIGUOUS).then_some(v);
            }
            slot = (slot + 1) & self.mask;
        }
    }

    #[inline]
    pub(crate) fn hash(&self, col: u32, y: u32) -> u64 {
        self.hashes[col as usize * self.height as usize + y as usize]
    }
}

/// Adds one vote for `dy` to a small vote list.
#[inline]
pub(crate) fn vote(votes: &mut Vec<(i32, u32)>, dy: i32, n: u32, cap: usize) {
    if let Some(v) = votes.iter_mut().find(|v| v.0 == dy) {
        v.1 += n;
    } else if votes.len() < cap {
        votes.push((dy, n));
    }
}

/// Hash of the row segment `x..x+w` of row `y`.
#[inline]
pub(crate) fn seg_hash(data: &[u8], stride: usize, x: u32, y: u32, w: u32) -> u64 {
    let s = y as usize * stride + x as usize * 4;
    bgr_hash(&data[s..s + w as usize * 4])
}
