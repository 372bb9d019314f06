//! Tandem's screen codec: frame diff, motion detection, content-aware tile
//! encoders and a hardened decoder, all over caller-owned pixel buffers.
//!
//! The encoder turns a stream of captured BGRX frames into self-delimited
//! updates; the decoder applies them to an RGBA framebuffer. See
//! [`format`] for the wire format.

mod decoder;
mod encoder;
pub mod format;
mod kernels;
mod motion;
mod tile;
mod video;

pub use decoder::{DecodeError, DecodeInfo, Decoder, DecoderLimits};
pub use encoder::{EncodeError, EncodeStats, Encoder, EncoderConfig};

/// A captured frame: B,G,R,X bytes per pixel (scrap's layout; the 4th byte is
/// undefined and ignored), rows `stride` bytes apart.
#[derive(Clone, Copy)]
pub struct FrameRef<'a> {
    pub width: u32,
    pub height: u32,
    pub stride: usize,
    pub data: &'a [u8],
}

impl std::fmt::Debug for FrameRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameRef")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("stride", &self.stride)
            .field("len", &self.data.len())
            .finish()
    }
}

/// A rectangle of pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}
