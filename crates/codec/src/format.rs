//! The wire format of one update (all integers little endian).
//!
//! ```text
//! update  := header ops_z blob
//! header  := "TQ" version:u8 flags:u8 width:u32 height:u32
//!            ops_len:u32 ops_z_len:u32 blob_len:u32          (24 bytes)
//! ops_z   := zstd(ops) if flags & OPS_ZSTD, else ops verbatim (ops_z_len bytes): a zstd
//!            frame of its own, or with OPS_HISTORY (version 4) the next part of the one zstd
//!            frame that the updates with OPS_HISTORY since the last keyframe make up, each
//!            flushed at its end: their ops may refer back to one another's, so they decode in
//!            order (as every delta update does)
//! blob    := blob_len bytes of already-compressed payloads (JPEG, video)
//! ops     := [CACHE_SIZE slots:u16] save* copy* op*      (CACHE_SIZE: keyframes only)
//! save    := SAVE  slot:u16 rect         (h <= 64; cut into 64-wide tiles from the
//!                                         left, saved in slots slot, slot+1, ...)
//! copy    := COPY  sx:u16 sy:u16 dx:u16 dy:u16 w:u16 h:u16
//! op      := USE   slot:u16 sx:u16 sy:u16 rect            (rect of the slot at sx,sy)
//!          | SOLID rect b:u8 g:u8 r:u8
//!          | PALETTE rect (n-1):u8 (b g r)*n indices        (1/2/4/8 bits, rows byte-padded)
//!          | LOSSLESS rect planes                            (3*w*h bytes, see `tile`)
//!          | JPEG rect len:u32                               (next len bytes of blob)
//!          | VIDEO rect len:u32                              (next len bytes of blob)
//!          | TRANSFORM rect source:u16 (m:u32 k:i32)*3       (B, G, R; see below)
//! rect    := x:u16 y:u16 w:u16 h:u16
//! ```
//!
//! SAVE ops come first and store a rect of the picture as it was before the
//! update in a slot of the tile cache (see `cache`); COPY ops come next and
//! also read from the picture as it was before the update, so moves and
//! scrolls may overlap freely. Every other op overwrites its rect; USE copies
//! a rect of a cache slot. A keyframe (flag bit 0) sets the size and empties
//! the cache, which then has [`DEFAULT_CACHE_SLOTS`] slots unless the
//! keyframe's first op (CACHE_SIZE) says otherwise (at most
//! [`MAX_CACHE_SLOTS`], 0 = no cache); every pixel of a keyframe is covered
//! by ops.
//!
//! TRANSFORM (version 3) maps pixels through `clamp((v * m + k) >> 16, 0,
//! 255)` per channel into its rect: a tone change such as a modal's dim
//! overlay or a fade costs one op instead of the pixels. The pixels mapped
//! are the rect's own (source [`IN_PLACE`]) or the top-left `w`x`h` of
//! cache slot `source` (each step of a fade maps the page saved before it
//! began). The encoder sends it only for tiles every pixel of which it
//! reproduces exactly, and in place only where no earlier op of the update
//! wrote. Any `m` and `k` are valid input (the arithmetic is 64-bit and
//! clamped); a slot must exist, be filled and hold the rect.

/// Magic bytes at the start of every update.
pub const MAGIC: [u8; 2] = *b"TQ";
/// Current format version.
pub const VERSION: u8 = 4;
/// The version before, still decoded: the same without OPS_HISTORY.
pub const VERSION_INDEPENDENT_ZSTD: u8 = 3;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 24;

/// Flag: this update is a keyframe and (re)sets the picture size.
pub const FLAG_KEYFRAME: u8 = 1;
/// Flag: the op stream is zstd-compressed.
pub const FLAG_OPS_ZSTD: u8 = 2;
/// Flag (with `FLAG_OPS_ZSTD`, version 4): the compressed ops continue the zstd frame of the
/// updates since the last keyframe (see `ops_zstd`).
pub const FLAG_OPS_HISTORY: u8 = 4;

pub(crate) const OP_COPY: u8 = 1;
pub(crate) const OP_SOLID: u8 = 2;
pub(crate) const OP_PALETTE: u8 = 3;
pub(crate) const OP_LOSSLESS: u8 = 4;
pub(crate) const OP_JPEG: u8 = 5;
pub(crate) const OP_VIDEO: u8 = 6;
pub(crate) const OP_CACHE_SIZE: u8 = 7;
pub(crate) const OP_SAVE: u8 = 8;
pub(crate) const OP_USE: u8 = 9;
pub(crate) const OP_TRANSFORM: u8 = 10;
/// TRANSFORM source: the rect's own pixels.
pub const IN_PLACE: u16 = u16::MAX;

/// Cache slots after a keyframe without a CACHE_SIZE op (64x64 pixels each:
/// 16 MiB on each side, two 1080p screens' worth of tiles).
pub const DEFAULT_CACHE_SLOTS: u16 = 1024;
/// Most cache slots a decoder accepts (64x64 RGBA each: 32 MiB).
pub const MAX_CACHE_SLOTS: u16 = 2048;

/// Largest width or height the format can carry.
pub const MAX_DIM: u32 = u16::MAX as u32;

/// Returns the total length of the update starting at `bytes`, if its header
/// is complete, so a byte stream of concatenated updates can be split.
pub fn update_len(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < HEADER_LEN || bytes[..2] != MAGIC {
        return None;
    }
    let z = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]) as usize;
    let b = u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]) as usize;
    HEADER_LEN.checked_add(z)?.checked_add(b)
}

#[inline]
pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[inline]
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Writes `op` and its rect.
#[inline]
pub(crate) fn put_rect_op(out: &mut Vec<u8>, op: u8, x: u32, y: u32, w: u32, h: u32) {
    out.push(op);
    for v in [x, y, w, h] {
        put_u16(out, v as u16);
    }
}

/// Writes a USE op: rect `(sx, sy, w, h)` of cache slot `slot` to `(x, y)`.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn put_use(
    out: &mut Vec<u8>,
    slot: u32,
    sx: u32,
    sy: u32,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
) {
    out.push(OP_USE);
    for v in [slot, sx, sy, x, y, w, h] {
        put_u16(out, v as u16);
    }
}
