//! Tandem's wire protocol: every message, its framing and limits, and the sans-IO handshake and session
//! state machines. No async runtime, no sockets: bytes and time in, bytes and events out.
//!
//! `PROTOCOL.md` beside this crate is the specification.

pub mod bulk;
pub mod code;
pub mod flow;
pub mod framing;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod handshake;
pub mod keys;
pub mod relay;
pub mod seal;
pub mod session;
pub mod text;
pub mod wire;

#[cfg(test)]
mod proptests;

/// The protocol version both the relay exchange and the end-to-end hello carry.
pub const PROTOCOL_VERSION: u16 = 1;

/// Explicit size limits. A peer that exceeds one is in error; nothing larger is ever buffered.
pub mod limits {
    /// Largest frame on the relay stream (client <-> relay).
    pub const MAX_RELAY_FRAME: usize = 4 * 1024;
    /// Largest frame on the control and input streams.
    pub const MAX_CONTROL_FRAME: usize = 2 * 1024 * 1024;
    /// Largest frame on the frames stream: one encoded screen update.
    pub const MAX_FRAMES_FRAME: usize = 64 * 1024 * 1024;
    /// Longest human-readable detail in an error or end message.
    pub const MAX_DETAIL_LEN: usize = 512;
    /// Longest technician name.
    pub const MAX_NAME_LEN: usize = 64;
    /// Largest frame on the bulk streams: one chunk of a file or a clipboard, plus headers and tag.
    pub const MAX_BULK_FRAME: usize = MAX_BULK_CHUNK + 1024;
    /// Largest data chunk in one bulk message (`Bulk::FileData`, `Bulk::ClipboardPart`).
    pub const MAX_BULK_CHUNK: usize = 256 * 1024;
    /// Largest clipboard text, in bytes of UTF-8; larger texts are not synced.
    pub const MAX_CLIPBOARD_TEXT: usize = 4 * 1024 * 1024;
    /// Largest clipboard image, in bytes of PNG; larger images are not synced.
    pub const MAX_CLIPBOARD_PNG: usize = 16 * 1024 * 1024;
    /// Longest chat message.
    pub const MAX_CHAT_LEN: usize = 2048;
    /// Most files in one offer (a folder is one offer).
    pub const MAX_OFFER_ENTRIES: usize = 10_000;
    /// Longest relative path of one offered file, in bytes.
    pub const MAX_FILE_PATH_LEN: usize = 1024;
    /// Longest display name of an offer (the file's or folder's name).
    pub const MAX_OFFER_NAME_LEN: usize = 255;
    /// Largest system-information snapshot (JSON) in one `Control::Diagnostics`.
    pub const MAX_DIAGNOSTICS_LEN: usize = 512 * 1024;
    /// Longest comment in the user's feedback.
    pub const MAX_FEEDBACK_LEN: usize = 1024;
    /// Most offers one side may have open (offered and not yet finished) at a time.
    pub const MAX_OPEN_OFFERS: usize = 16;
    /// Largest cursor image side, in pixels.
    pub const MAX_CURSOR_SIDE: u32 = 256;
    /// Largest opaque codec payload in one `FrameMsg::Update`: a frames-stream frame minus room for the
    /// message header and the AEAD tag.
    pub const MAX_UPDATE_LEN: usize = MAX_FRAMES_FRAME - 64;
    /// Largest committed text in one `Input::Text`.
    pub const MAX_INPUT_TEXT_LEN: usize = 4096;
    /// Flow control: the host sends a new `FrameMsg::Update` only while fewer than this many updates
    /// are unacknowledged (`Control::Ack` acknowledges every update up to its `seq`).
    pub const MAX_UNACKED_UPDATES: u64 = 4;
    /// Most monitors listed in one `Control::Monitors`; a host with more lists the first ones.
    pub const MAX_MONITORS: usize = 16;
    /// Longest monitor name (RandR's output or monitor name), in bytes.
    pub const MAX_MONITOR_NAME_LEN: usize = 64;
    /// Largest SPAKE2 message in the handshake (the Ed25519 group's is 33 bytes).
    pub const MAX_PAKE_LEN: usize = 64;
}

/// The first byte a peer writes on every stream it opens towards the other peer, so the receiver knows
/// what the stream carries. The relay forwards it like any other byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum StreamKind {
    /// Bidirectional, opened by the viewer: handshake, then sealed control messages both ways.
    Control = b'C',
    /// Unidirectional host -> viewer: sealed screen updates and cursor.
    Frames = b'F',
    /// Unidirectional viewer -> host: sealed input events.
    Input = b'I',
    /// Unidirectional, one each way, opened when the screen is first shared: sealed [`bulk::Bulk`]
    /// records (file data, clipboard parts), sent at a lower priority than the other streams.
    Bulk = b'B',
}

/// A stream's direction, host to viewer or viewer to host. With the [`StreamKind`] it picks the key
/// that seals the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Direction {
    HostToViewer = 1,
    ViewerToHost = 2,
}

impl Direction {
    /// The other direction: what the peer of a side sending this way sends.
    pub fn reverse(self) -> Self {
        match self {
            Self::HostToViewer => Self::ViewerToHost,
            Self::ViewerToHost => Self::HostToViewer,
        }
    }
}

impl StreamKind {
    pub fn from_u8(tag: u8) -> Option<Self> {
        match tag {
            b'C' => Some(Self::Control),
            b'F' => Some(Self::Frames),
            b'I' => Some(Self::Input),
            b'B' => Some(Self::Bulk),
            _ => None,
        }
    }

    /// The frame limit of this stream: give it to the stream's `FrameReader`.
    pub fn max_frame_len(self) -> usize {
        match self {
            Self::Control | Self::Input => limits::MAX_CONTROL_FRAME,
            Self::Frames => limits::MAX_FRAMES_FRAME,
            Self::Bulk => limits::MAX_BULK_FRAME,
        }
    }
}
