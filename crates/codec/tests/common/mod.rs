//! Shared by the codec's tests: a captured-frame buffer ([`Frame`]), and hand-built updates for
//! the decoder tests (a plain, uncompressed 16x16 update around an op stream, and one op from its
//! code and u16 fields).

#![allow(dead_code)]

/// A 16x16 update (a keyframe if `key`) carrying `ops` uncompressed.
pub fn update(key: bool, ops: &[u8]) -> Vec<u8> {
    let mut u = b"TQ".to_vec();
    u.push(tandem_codec::format::VERSION);
    u.push(u8::from(key));
    for v in [16u32, 16, ops.len() as u32, ops.len() as u32, 0] {
        u.extend_from_slice(&v.to_le_bytes());
    }
    u.extend_from_slice(ops);
    u
}

/// One op: its code, then each field as a little-endian u16.
pub fn op(code: u8, fields: &[u16]) -> Vec<u8> {
    let mut v = vec![code];
    for f in fields {
        v.extend_from_slice(&f.to_le_bytes());
    }
    v
}

/// A BGRX frame as capture lends it, rows `stride` bytes apart (each test file adds its own ways
/// of filling it).
#[derive(Clone, Debug)]
pub struct Frame {
    pub w: u32,
    pub h: u32,
    pub stride: usize,
    pub data: Vec<u8>,
}

impl Frame {
    pub fn as_ref(&self) -> tandem_codec::FrameRef<'_> {
        tandem_codec::FrameRef {
            width: self.w,
            height: self.h,
            stride: self.stride,
            data: &self.data,
        }
    }
}
