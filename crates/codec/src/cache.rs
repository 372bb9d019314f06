//! The tile cache shared by encoder and decoder.
//!
//! Both sides hold `slots` tiles of at most [`CACHE_TILE`]² pixels. The
//! decoder is addressed by slot only: a SAVE op copies a rect of its picture
//! (as it was before the update) into a slot, a USE op copies a rect of a slot
//! into the picture. The encoder alone decides which slot a tile goes to, so
//! eviction cannot race or diverge: the decoder never evicts on its own, and
//! a USE of a slot the decoder does not hold is a decode error.
//!
//! The encoder's side is content-addressed: a 64-bit key (folded from the row
//! hashes the motion search computes anyway) finds a candidate slot, and the
//! candidate's pixels are compared with the tile before it is referenced. A
//! hash collision therefore costs a missed hit, never a wrong picture. Slots
//! are reused least recently used first (an intrusive list, O(1), no
//! allocation once warm).

use crate::kernels::bgr_eq;
use crate::tile::Src;

/// Largest cached tile edge (the encoder's change-detection tile).
pub(crate) const CACHE_TILE: u32 = 64;
/// Bytes of one slot (4 bytes per pixel on both sides).
pub(crate) const SLOT_BYTES: usize = (CACHE_TILE * CACHE_TILE * 4) as usize;

const NIL: u32 = u32::MAX;
const INDEX_BITS: u32 = 13;

#[derive(Clone, Copy, Default)]
struct Meta {
    w: u32,
    h: u32,
    key: u64,
    /// Bumped every time the slot is overwritten, so stale references to it
    /// (a tile's "last saved content") can be told apart.
    generation: u32,
    valid: bool,
    prev: u32,
    next: u32,
}

/// The encoder's copy of the cache: the same pixels the decoder holds (B,G,R,X
/// here), plus the content index and the LRU order.
#[derive(Default)]
pub(crate) struct EncoderCache {
    slots: u32,
    px: Vec<u8>,
    meta: Vec<Meta>,
    /// Slots handed out so far; free slots are used before any eviction.
    used: u32,
    /// Most and least recently used.
    head: u32,
    tail: u32,
    /// Direct-mapped key -> slot; a stale or overwritten entry only loses a hit.
    index: Vec<(u64, u32)>,
}

/// Folds the 64-pixel row hashes of a tile (and its size) into one key.
#[inline]
pub(crate) fn tile_key(rows: &[u64], w: u32) -> u64 {
    let mut h = 0x243F_6A88_85A3_08D3u64 ^ (u64::from(w) << 32) ^ rows.len() as u64;
    for &r in rows {
        h = (h ^ r).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(27);
    }
    h ^ (h >> 31)
}

impl EncoderCache {
    /// Forgets every tile (keyframes). Allocates only the first time.
    pub(crate) fn reset(&mut self, slots: u16) {
        let slots = u32::from(slots);
        if self.px.len() != slots as usize * SLOT_BYTES {
            // Zeroed allocation: pages are touched only as slots fill.
            self.px = vec![0; slots as usize * SLOT_BYTES];
        }
        self.meta.clear();
        self.meta.resize(slots as usize, Meta::default());
        if self.index.len() != 1 << INDEX_BITS {
            self.index = vec![(0, NIL); 1 << INDEX_BITS];
        } else {
            self.index.fill((0, NIL));
        }
        self.slots = slots;
        self.used = 0;
        self.head = NIL;
        self.tail = NIL;
    }

    pub(crate) fn slots(&self) -> u32 {
        self.slots
    }

    #[inline]
    fn index_slot(key: u64) -> usize {
        (key >> (64 - INDEX_BITS)) as usize
    }

    /// The slot holding a tile of this key and size, if any (not yet verified).
    #[inline]
    pub(crate) fn lookup(&self, key: u64, w: u32, h: u32) -> Option<u32> {
        let (k, s) = *self.index.get(Self::index_slot(key))?;
        let m = self.meta.get(s as usize)?;
        (k == key && m.valid && m.key == key && m.w == w && m.h == h).then_some(s)
    }

    /// Row `r` of slot `s` (B,G,R,X, `w` pixels).
    #[inline]
    pub(crate) fn row(&self, s: u32, r: u32) -> &[u8] {
        let m = &self.meta[s as usize];
        let start = s as usize * SLOT_BYTES + (r * m.w * 4) as usize;
        &self.px[start..start + (m.w * 4) as usize]
    }

    /// Slot `s` still holds what generation `generation` stored.
    #[inline]
    pub(crate) fn holds(&self, s: u32, generation: u32, w: u32, h: u32) -> bool {
        self.meta
            .get(s as usize)
            .is_some_and(|m| m.valid && m.generation == generation && m.w == w && m.h == h)
    }

    pub(crate) fn generation(&self, s: u32) -> u32 {
        self.meta[s as usize].generation
    }

    /// True when slot `s` holds exactly the `w`x`h` pixels of `src` at (x, y).
    pub(crate) fn matches(&self, s: u32, src: Src<'_>, x: u32, y: u32, w: u32, h: u32) -> bool {
        let m = &self.meta[s as usize];
        m.valid
            && m.w == w
            && m.h == h
            && (0..h).all(|r| bgr_eq(src.row(x, y + r, w), self.row(s, r)))
    }

    fn unlink(&mut self, s: u32) {
        let Meta { prev, next, .. } = self.meta[s as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.meta[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.meta[next as usize].prev = prev;
        }
    }

    fn push_front(&mut self, s: u32) {
        let m = &mut self.meta[s as usize];
        m.prev = NIL;
        m.next = self.head;
        if self.head != NIL {
            self.meta[self.head as usize].prev = s;
        }
        self.head = s;
        if self.tail == NIL {
            self.tail = s;
        }
    }

    /// Marks slot `s` most recently used.
    pub(crate) fn touch(&mut self, s: u32) {
        if self.meta.get(s as usize).is_some_and(|m| m.valid) && self.head != s {
            self.unlink(s);
            self.push_front(s);
        }
    }

    /// Stores the `w`x`h` pixels of `src` at (x, y) under `key` in the least
    /// recently used slot and returns it (None when the cache has no slots).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn store(
        &mut self,
        key: u64,
        src: Src<'_>,
        x: u32,
        y: u32,
        w: u32,
        h: u32,
    ) -> Option<u32> {
        debug_assert!(w <= CACHE_TILE && h <= CACHE_TILE);
        let s = if self.used < self.slots {
            self.used += 1;
            self.used - 1
        } else if self.tail != NIL {
            let s = self.tail;
            self.unlink(s);
            s
        } else {
            return None;
        };
        let base = s as usize * SLOT_BYTES;
        for r in 0..h {
            let d = base + (r * w * 4) as usize;
            self.px[d..d + (w * 4) as usize].copy_from_slice(src.row(x, y + r, w));
        }
        let m = &mut self.meta[s as usize];
        m.w = w;
        m.h = h;
        m.key = key;
        m.valid = true;
        m.generation = m.generation.wrapping_add(1);
        self.index[Self::index_slot(key)] = (key, s);
        self.push_front(s);
        Some(s)
    }
}

/// The decoder's side: slot pixels (R,G,B,A) and sizes; `w == 0` = empty.
/// A slot's buffer is allocated when it is first filled and kept across
/// keyframes, so a stream that names a high slot costs one tile, not the
/// whole cache.
#[derive(Default)]
pub(crate) struct DecoderCache {
    px: Vec<Vec<u8>>,
    dims: Vec<(u32, u32)>,
}

impl DecoderCache {
    /// Empties the cache and sizes it for `slots` tiles.
    pub(crate) fn reset(&mut self, slots: usize) {
        self.px.resize_with(slots, Vec::new);
        self.dims.clear();
        self.dims.resize(slots, (0, 0));
    }

    pub(crate) fn slots(&self) -> usize {
        self.dims.len()
    }

    /// The size of slot `s`, if it holds a tile.
    pub(crate) fn dims(&self, s: usize) -> Option<(u32, u32)> {
        self.dims.get(s).copied().filter(|d| d.0 > 0)
    }

    /// Copies rect (x, y, w, h) of an RGBA picture of row stride `stride` into
    /// slot `s`. The caller checked the slot index and the rect (at most
    /// [`CACHE_TILE`] on each side).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn save(
        &mut self,
        s: usize,
        rgba: &[u8],
        stride: usize,
        x: u32,
        y: u32,
        w: u32,
        h: u32,
    ) {
        let n = w as usize * 4;
        let px = &mut self.px[s];
        if px.len() != SLOT_BYTES {
            px.resize(SLOT_BYTES, 0);
        }
        for r in 0..h as usize {
            let from = (y as usize + r) * stride + x as usize * 4;
            px[r * n..(r + 1) * n].copy_from_slice(&rgba[from..from + n]);
        }
        self.dims[s] = (w, h);
    }

    /// Row `r` of slot `s` from column `sx`, `w` pixels. The caller checked
    /// the bounds against [`DecoderCache::dims`].
    pub(crate) fn row(&self, s: usize, sx: u32, r: u32, w: u32) -> &[u8] {
        let sw = self.dims[s].0;
        let start = ((r * sw + sx) * 4) as usize;
        &self.px[s][start..start + w as usize * 4]
    }
}
