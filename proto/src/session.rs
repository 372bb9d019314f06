//! Session messages between host and viewer, after the handshake. Each travels as the plaintext of one
//! sealed record (see [`crate::seal`]): [`Control`] both ways on the control stream, [`FrameMsg`] host ->
//! viewer on the frames stream, [`Input`] viewer -> host on the input stream.
//!
//! Encoders do not enforce limits (callers keep fields within them, e.g. with the truncating
//! constructors below); decoders refuse anything over a limit, so an oversized message is a protocol
//! error at the peer.
//!
//! `Debug` for these types never prints clipboard text, typed text, keys, pixels or codec bytes: only
//! their sizes. Log them freely at `trace`.

use std::fmt;

use crate::limits::{
    MAX_CHAT_LEN, MAX_CURSOR_SIDE, MAX_DETAIL_LEN, MAX_DIAGNOSTICS_LEN, MAX_FEEDBACK_LEN,
    MAX_FILE_PATH_LEN, MAX_INPUT_TEXT_LEN, MAX_MONITOR_NAME_LEN, MAX_MONITORS, MAX_NAME_LEN,
    MAX_OFFER_ENTRIES, MAX_OFFER_NAME_LEN, MAX_UNACKED_UPDATES, MAX_UPDATE_LEN,
};
use crate::wire::{DecodeError, Message, Reader, WriteExt, bytes_len};

/// Control messages, both directions on the control stream.
#[derive(Clone, PartialEq, Eq)]
pub enum Control {
    /// Viewer -> host, the first sealed message: who is asking. At most [`MAX_NAME_LEN`] bytes, no
    /// control characters ([`crate::text::is_unsafe`]; refused at decode).
    Hello { technician: String },
    /// Host -> viewer, sent after the user answers the consent prompt and whenever the grant changes.
    /// `control` and `clipboard` imply `view`; `view: false` means the user refused or withdrew
    /// consent. `clipboard`: clipboard contents may travel, both ways.
    Permissions {
        view: bool,
        control: bool,
        clipboard: bool,
    },
    /// Viewer -> host: ask the user to grant control.
    RequestControl,
    /// Viewer -> host: the technician gives control back (the host treats it like its user's
    /// Take back control; ignored while control is not granted).
    ReleaseControl,
    /// Viewer -> host: the technician's wish for clipboard sharing. Clipboards travel only while
    /// the user allows it *and* the technician's last `ViewerClipboard` (if any) said `on`.
    ViewerClipboard { on: bool },
    /// Viewer -> host: frame update `seq` was decoded (flow control).
    Ack { seq: u64 },
    /// Viewer -> host: the next update should be a keyframe.
    RequestKeyframe,
    /// Either way: a chat message, at most [`MAX_CHAT_LEN`] bytes of display text (refused at decode
    /// with a control character; [`Control::chat`] replaces them).
    Chat { text: String },
    /// Either way: the sender offers a file or a folder (one entry per file). The receiver answers
    /// with `FileAnswer`. `id` is the sender's, unique among its offers in this session.
    FileOffer {
        id: u32,
        name: String,
        entries: Vec<FileEntry>,
    },
    /// Answer to a `FileOffer`: refused, or accepted with, per entry, the offset to send from (a
    /// partial copy kept from an earlier, interrupted transfer; 0 for a fresh one).
    FileAnswer {
        id: u32,
        accept: bool,
        resume_from: Vec<u64>,
    },
    /// Either way: the transfer `id` is abandoned. `sender_side` tells whose id it is (true: the
    /// sender of this message offered it). `detail` is display text, at most [`MAX_DETAIL_LEN`].
    FileCancel {
        id: u32,
        sender_side: bool,
        detail: String,
    },
    /// Receiver -> sender: every entry of offer `id` arrived, matched its hash and is in place.
    FileReceived { id: u32 },
    /// Viewer -> host: send a system-information snapshot (the user is asked the first time).
    RequestDiagnostics,
    /// Host -> viewer: the snapshot, JSON, at most [`MAX_DIAGNOSTICS_LEN`] bytes; `None` if the user
    /// declined.
    Diagnostics { snapshot: Option<String> },
    /// Host -> viewer, just before the host's `End` after the user stopped sharing: how it went,
    /// `rating` 1 to 5, and a comment (display text, at most [`MAX_FEEDBACK_LEN`] bytes).
    Feedback { rating: u8, comment: String },
    /// Host -> viewer, once the screen is shared and after every change of the layout or the
    /// selection: the desktop's size (the root window), its monitors (at most [`MAX_MONITORS`]) and
    /// which one is shown (`None`: the whole desktop). Updates and cursor positions that follow are
    /// relative to the shown area, and so is the viewer's input.
    Monitors {
        width: u16,
        height: u16,
        monitors: Vec<MonitorInfo>,
        selected: Option<u8>,
    },
    /// Viewer -> host: show monitor `index` of the last `Monitors` (`None`: the whole desktop).
    SelectMonitor { index: Option<u8> },
    /// "Show my screen", the picture the other way. Viewer -> host: the technician starts (`on`)
    /// or stops showing their own screen; updates follow on the viewer's frames stream, view only.
    /// Host -> viewer, `on: false` only: the user closed it.
    ShowScreen { on: bool },
    /// Either way, about recording the session (the viewer writes the recording; the host's user
    /// decides). Viewer -> host: `on: true` asks to record, `on: false` stops. Host -> viewer: the
    /// answer and every change: `on: true` the user allows recording now, `on: false` refused or
    /// stopped (the viewer stops writing at once).
    Recording { on: bool },
    /// Viewer -> host: the technician is ending the session. The host may ask its user how it went
    /// and answers with `Feedback` (optional) and `End`; the viewer ends by its own deadline if not.
    Finish,
    /// Either way: the session ends. `detail` is at most [`MAX_DETAIL_LEN`] bytes, for humans, with no
    /// control characters ([`crate::text::is_unsafe`]; refused at decode).
    End { reason: EndReason, detail: String },
}

/// One file of a [`Control::FileOffer`]: where it goes, relative to the receiver's downloads folder
/// (`/`-separated, at most [`MAX_FILE_PATH_LEN`] bytes; the receiver validates it, this layer does
/// not), its size, and a key that names it for a resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub key: [u8; 16],
}

/// One monitor of a [`Control::Monitors`]: its RandR name (display text, at most
/// [`MAX_MONITOR_NAME_LEN`] bytes), where it is on the desktop and whether it is the primary one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorInfo {
    pub name: String,
    pub x: i16,
    pub y: i16,
    pub width: u16,
    pub height: u16,
    pub primary: bool,
}

impl MonitorInfo {
    /// A monitor with its name made decodable (sanitized, truncated).
    pub fn new(name: &str, x: i16, y: i16, width: u16, height: u16, primary: bool) -> Self {
        let name = display_text(name.to_owned(), MAX_MONITOR_NAME_LEN);
        Self {
            name,
            x,
            y,
            width,
            height,
            primary,
        }
    }
}

/// Bytes of one encoded [`MonitorInfo`].
fn monitor_len(monitor: &MonitorInfo) -> usize {
    bytes_len(monitor.name.len()) + 2 * 4 + 1
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EndReason {
    HostEnded = 1,
    ViewerEnded = 2,
    ConsentDenied = 3,
    ProtocolError = 4,
    Shutdown = 5,
}

impl EndReason {
    pub const ALL: [Self; 5] = [
        Self::HostEnded,
        Self::ViewerEnded,
        Self::ConsentDenied,
        Self::ProtocolError,
        Self::Shutdown,
    ];

    fn from_u8(tag: u8) -> Result<Self, DecodeError> {
        Self::ALL
            .into_iter()
            .find(|r| *r as u8 == tag)
            .ok_or(DecodeError::UnknownTag {
                what: "end reason",
                tag,
            })
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HostEnded => "The person sharing their screen ended the session.",
            Self::ViewerEnded => "The technician ended the session.",
            Self::ConsentDenied => "The person sharing their screen declined the request.",
            Self::ProtocolError => "The session ended after a protocol error.",
            Self::Shutdown => "The session ended because the program was shut down.",
        })
    }
}

/// Host -> viewer on the frames stream.
#[derive(Clone, PartialEq, Eq)]
pub enum FrameMsg {
    /// One screen update: opaque codec bytes, at most [`MAX_UPDATE_LEN`]. `seq` counts updates from 0
    /// and is what [`Control::Ack`] acknowledges.
    Update { seq: u64, payload: Vec<u8> },
    /// The remote pointer, in remote-screen pixels (may be off-screen, hence signed).
    CursorPosition { x: i32, y: i32, visible: bool },
    /// The remote pointer's image: `width * height` RGBA pixels (straight, not premultiplied,
    /// alpha), rows top to bottom, each side at most [`MAX_CURSOR_SIDE`]. `rgba.len()` must be
    /// exactly `width * height * 4`. The hot spot is not checked against the size; viewers clamp it.
    CursorShape {
        width: u16,
        height: u16,
        hot_x: u16,
        hot_y: u16,
        rgba: Vec<u8>,
    },
    /// The host's side of the numbers a viewer shows in its statistics overlay, about once a second
    /// while updates are produced.
    Stats(HostStats),
}

/// What only the host can measure, for the viewer's statistics overlay ([`FrameMsg::Stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostStats {
    /// Mean time to encode one update over the last period, in microseconds.
    pub encode_us: u32,
    /// Share of the picture area of the last period's updates that was sent with a lossy encoding,
    /// in thousandths (at most [`HostStats::MAX_PERMILLE`]).
    pub lossy_permille: u16,
    /// The host's QUIC round-trip time to the relay, in microseconds.
    pub rtt_us: u32,
}

impl HostStats {
    pub const MAX_PERMILLE: u16 = 1000;
}

/// Viewer -> host on the input stream. Coordinates are remote-screen pixels.
#[derive(Clone, PartialEq, Eq)]
pub enum Input {
    PointerMove {
        x: u32,
        y: u32,
    },
    Button {
        button: MouseButton,
        pressed: bool,
    },
    /// Wheel notches on both axes (positive = right / down).
    Scroll {
        dx: i32,
        dy: i32,
    },
    /// A key: `keysym` is the X11 keysym (named and modifier keys, and keys pressed with Ctrl/Alt),
    /// or 0 to type the key by position; `physical` the key's position as a Linux evdev key code,
    /// 0 if unknown (see [`crate::keys`]).
    Key {
        keysym: u32,
        physical: u32,
        pressed: bool,
    },
    /// Committed printable text, at most [`MAX_INPUT_TEXT_LEN`] bytes.
    Text {
        text: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MouseButton {
    Left = 1,
    Middle = 2,
    Right = 3,
    Back = 4,
    Forward = 5,
}

impl MouseButton {
    pub const ALL: [Self; 5] = [
        Self::Left,
        Self::Middle,
        Self::Right,
        Self::Back,
        Self::Forward,
    ];

    fn from_u8(tag: u8) -> Result<Self, DecodeError> {
        Self::ALL
            .into_iter()
            .find(|b| *b as u8 == tag)
            .ok_or(DecodeError::UnknownTag {
                what: "mouse button",
                tag,
            })
    }
}

/// Shortens `text` to at most `max` bytes, on a character boundary.
pub fn truncate_utf8(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// `text` made decodable as display text of at most `max` bytes: unsafe characters replaced
/// ([`crate::text::sanitize`], reusing the allocation when there are none), then truncated on a
/// character boundary. Replacement comes first, so the limit holds after it.
fn display_text(text: String, max: usize) -> String {
    let mut text = match crate::text::sanitize(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(clean) => clean,
    };
    truncate_utf8(&mut text, max);
    text
}

impl Control {
    /// A `Hello`, control characters replaced ([`crate::text::sanitize`]) and the name truncated to
    /// [`MAX_NAME_LEN`] bytes, so the peer can always decode it.
    pub fn hello(technician: impl Into<String>) -> Self {
        let technician = display_text(technician.into(), MAX_NAME_LEN);
        Self::Hello { technician }
    }

    /// An `End`, control characters replaced ([`crate::text::sanitize`]) and the detail truncated to
    /// [`MAX_DETAIL_LEN`] bytes, so the peer can always decode it.
    pub fn end(reason: EndReason, detail: impl Into<String>) -> Self {
        let detail = display_text(detail.into(), MAX_DETAIL_LEN);
        Self::End { reason, detail }
    }

    /// A `Chat`, control characters replaced ([`crate::text::sanitize`]) and the text truncated to
    /// [`MAX_CHAT_LEN`] bytes.
    pub fn chat(text: impl Into<String>) -> Self {
        let text = display_text(text.into(), MAX_CHAT_LEN);
        Self::Chat { text }
    }

    /// A `Feedback` the peer can always decode: the rating clamped to 1..=5, the comment sanitized
    /// and truncated to [`MAX_FEEDBACK_LEN`].
    pub fn feedback(rating: u8, comment: impl Into<String>) -> Self {
        let comment = display_text(comment.into(), MAX_FEEDBACK_LEN);
        Self::Feedback {
            rating: rating.clamp(1, 5),
            comment,
        }
    }

    /// A `FileCancel` with its detail made decodable (sanitized, truncated).
    pub fn file_cancel(id: u32, sender_side: bool, detail: impl Into<String>) -> Self {
        let detail = display_text(detail.into(), MAX_DETAIL_LEN);
        Self::FileCancel {
            id,
            sender_side,
            detail,
        }
    }
}

impl Input {
    /// Splits committed text into `Text` messages of at most [`MAX_INPUT_TEXT_LEN`] bytes each, on
    /// character boundaries. Empty text gives no message.
    pub fn text_chunks(text: &str) -> Vec<Self> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let mut end = rest.len().min(MAX_INPUT_TEXT_LEN);
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            let (chunk, tail) = rest.split_at(end);
            out.push(Self::Text {
                text: chunk.to_owned(),
            });
            rest = tail;
        }
        out
    }
}

// ---- Control ----

const HELLO: u8 = 1;
const PERMISSIONS: u8 = 2;
const REQUEST_CONTROL: u8 = 3;
const ACK: u8 = 4;
const REQUEST_KEYFRAME: u8 = 5;
const CHAT: u8 = 6;
const END: u8 = 7;
const FILE_OFFER: u8 = 8;
const FILE_ANSWER: u8 = 9;
const FILE_CANCEL: u8 = 10;
const FILE_RECEIVED: u8 = 11;
const REQUEST_DIAGNOSTICS: u8 = 12;
const DIAGNOSTICS: u8 = 13;
const MONITORS: u8 = 14;
const SELECT_MONITOR: u8 = 15;
const SHOW_SCREEN: u8 = 21;
const FEEDBACK: u8 = 16;
const RECORDING: u8 = 17;
const FINISH: u8 = 18;
const RELEASE_CONTROL: u8 = 19;
const VIEWER_CLIPBOARD: u8 = 20;

/// Bytes of one encoded [`FileEntry`].
fn entry_len(entry: &FileEntry) -> usize {
    bytes_len(entry.path.len()) + 8 + 16
}

impl Message for Control {
    fn encoded_len(&self) -> usize {
        1 + match self {
            Self::Hello { technician } => bytes_len(technician.len()),
            Self::Permissions { .. } => 3,
            Self::RequestControl | Self::ReleaseControl | Self::RequestKeyframe | Self::Finish => 0,
            Self::Recording { .. } | Self::ViewerClipboard { .. } => 1,
            Self::Ack { .. } => 8,
            Self::Chat { text } => bytes_len(text.len()),
            Self::End { detail, .. } => 1 + bytes_len(detail.len()),
            Self::FileOffer { name, entries, .. } => {
                4 + bytes_len(name.len()) + 4 + entries.iter().map(entry_len).sum::<usize>()
            }
            Self::FileAnswer { resume_from, .. } => 4 + 1 + 4 + 8 * resume_from.len(),
            Self::FileCancel { detail, .. } => 4 + 1 + bytes_len(detail.len()),
            Self::FileReceived { .. } => 4,
            Self::RequestDiagnostics => 0,
            Self::Feedback { comment, .. } => 1 + bytes_len(comment.len()),
            Self::Diagnostics { snapshot } => {
                1 + snapshot.as_ref().map_or(0, |s| bytes_len(s.len()))
            }
            Self::Monitors { monitors, .. } => {
                2 + 2 + 1 + monitors.iter().map(monitor_len).sum::<usize>() + 2
            }
            Self::SelectMonitor { .. } => 2,
            Self::ShowScreen { .. } => 1,
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::Hello { technician } => {
                out.put_u8(HELLO);
                out.put_bytes(technician.as_bytes());
            }
            Self::Permissions {
                view,
                control,
                clipboard,
            } => {
                out.put_u8(PERMISSIONS);
                out.put_bool(*view);
                out.put_bool(*control);
                out.put_bool(*clipboard);
            }
            Self::RequestControl => out.put_u8(REQUEST_CONTROL),
            Self::ReleaseControl => out.put_u8(RELEASE_CONTROL),
            Self::ViewerClipboard { on } => {
                out.put_u8(VIEWER_CLIPBOARD);
                out.put_bool(*on);
            }
            Self::Ack { seq } => {
                out.put_u8(ACK);
                out.put_u64(*seq);
            }
            Self::RequestKeyframe => out.put_u8(REQUEST_KEYFRAME),
            Self::Chat { text } => {
                out.put_u8(CHAT);
                out.put_bytes(text.as_bytes());
            }
            Self::End { reason, detail } => {
                out.put_u8(END);
                out.put_u8(*reason as u8);
                out.put_bytes(detail.as_bytes());
            }
            Self::FileOffer { id, name, entries } => {
                out.put_u8(FILE_OFFER);
                out.put_u32(*id);
                out.put_bytes(name.as_bytes());
                out.put_u32(entries.len() as u32);
                for entry in entries {
                    out.put_bytes(entry.path.as_bytes());
                    out.put_u64(entry.size);
                    out.extend_from_slice(&entry.key);
                }
            }
            Self::FileAnswer {
                id,
                accept,
                resume_from,
            } => {
                out.put_u8(FILE_ANSWER);
                out.put_u32(*id);
                out.put_bool(*accept);
                out.put_u32(resume_from.len() as u32);
                for offset in resume_from {
                    out.put_u64(*offset);
                }
            }
            Self::FileCancel {
                id,
                sender_side,
                detail,
            } => {
                out.put_u8(FILE_CANCEL);
                out.put_u32(*id);
                out.put_bool(*sender_side);
                out.put_bytes(detail.as_bytes());
            }
            Self::FileReceived { id } => {
                out.put_u8(FILE_RECEIVED);
                out.put_u32(*id);
            }
            Self::RequestDiagnostics => out.put_u8(REQUEST_DIAGNOSTICS),
            Self::Recording { on } => {
                out.put_u8(RECORDING);
                out.put_bool(*on);
            }
            Self::Finish => out.put_u8(FINISH),
            Self::Feedback { rating, comment } => {
                out.put_u8(FEEDBACK);
                out.put_u8(*rating);
                out.put_bytes(comment.as_bytes());
            }
            Self::Diagnostics { snapshot } => {
                out.put_u8(DIAGNOSTICS);
                out.put_bool(snapshot.is_some());
                if let Some(snapshot) = snapshot {
                    out.put_bytes(snapshot.as_bytes());
                }
            }
            Self::Monitors {
                width,
                height,
                monitors,
                selected,
            } => {
                out.put_u8(MONITORS);
                out.put_u16(*width);
                out.put_u16(*height);
                // Callers keep the list within MAX_MONITORS (< 256).
                out.put_u8(monitors.len() as u8);
                for m in monitors {
                    out.put_bytes(m.name.as_bytes());
                    out.put_u16(m.x as u16);
                    out.put_u16(m.y as u16);
                    out.put_u16(m.width);
                    out.put_u16(m.height);
                    out.put_bool(m.primary);
                }
                put_index(out, *selected);
            }
            Self::SelectMonitor { index } => {
                out.put_u8(SELECT_MONITOR);
                put_index(out, *index);
            }
            Self::ShowScreen { on } => {
                out.put_u8(SHOW_SCREEN);
                out.put_bool(*on);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            HELLO => Ok(Self::Hello {
                technician: r.display_str("technician name", MAX_NAME_LEN)?.to_owned(),
            }),
            PERMISSIONS => Ok(Self::Permissions {
                view: r.bool()?,
                control: r.bool()?,
                clipboard: r.bool()?,
            }),
            REQUEST_CONTROL => Ok(Self::RequestControl),
            RELEASE_CONTROL => Ok(Self::ReleaseControl),
            VIEWER_CLIPBOARD => Ok(Self::ViewerClipboard { on: r.bool()? }),
            ACK => Ok(Self::Ack { seq: r.u64()? }),
            REQUEST_KEYFRAME => Ok(Self::RequestKeyframe),
            CHAT => Ok(Self::Chat {
                text: r.display_str("chat message", MAX_CHAT_LEN)?.to_owned(),
            }),
            END => Ok(Self::End {
                reason: EndReason::from_u8(r.u8()?)?,
                detail: r.display_str("end detail", MAX_DETAIL_LEN)?.to_owned(),
            }),
            FILE_OFFER => {
                let id = r.u32()?;
                let name = r.str("offer name", MAX_OFFER_NAME_LEN)?.to_owned();
                let count = r.u32()? as usize;
                if count > MAX_OFFER_ENTRIES {
                    return Err(DecodeError::TooLong {
                        what: "offer entries",
                        len: count,
                        max: MAX_OFFER_ENTRIES,
                    });
                }
                // Each entry takes at least 28 bytes: never reserve more than the frame holds.
                let mut entries = Vec::with_capacity(count.min(r.remaining() / 28));
                for _ in 0..count {
                    entries.push(FileEntry {
                        path: r.str("file path", MAX_FILE_PATH_LEN)?.to_owned(),
                        size: r.u64()?,
                        key: r.array()?,
                    });
                }
                Ok(Self::FileOffer { id, name, entries })
            }
            FILE_ANSWER => {
                let id = r.u32()?;
                let accept = r.bool()?;
                let count = r.u32()? as usize;
                if count > MAX_OFFER_ENTRIES {
                    return Err(DecodeError::TooLong {
                        what: "resume offsets",
                        len: count,
                        max: MAX_OFFER_ENTRIES,
                    });
                }
                let mut resume_from = Vec::with_capacity(count.min(r.remaining() / 8));
                for _ in 0..count {
                    resume_from.push(r.u64()?);
                }
                Ok(Self::FileAnswer {
                    id,
                    accept,
                    resume_from,
                })
            }
            FILE_CANCEL => Ok(Self::FileCancel {
                id: r.u32()?,
                sender_side: r.bool()?,
                detail: r.display_str("cancel detail", MAX_DETAIL_LEN)?.to_owned(),
            }),
            FILE_RECEIVED => Ok(Self::FileReceived { id: r.u32()? }),
            REQUEST_DIAGNOSTICS => Ok(Self::RequestDiagnostics),
            RECORDING => Ok(Self::Recording { on: r.bool()? }),
            FINISH => Ok(Self::Finish),
            FEEDBACK => {
                let rating = r.u8()?;
                if !(1..=5).contains(&rating) {
                    return Err(DecodeError::Invalid {
                        what: "feedback rating",
                    });
                }
                Ok(Self::Feedback {
                    rating,
                    comment: r
                        .display_str("feedback comment", MAX_FEEDBACK_LEN)?
                        .to_owned(),
                })
            }
            DIAGNOSTICS => Ok(Self::Diagnostics {
                snapshot: if r.bool()? {
                    Some(r.str("diagnostics", MAX_DIAGNOSTICS_LEN)?.to_owned())
                } else {
                    None
                },
            }),
            MONITORS => {
                let width = r.u16()?;
                let height = r.u16()?;
                let count = usize::from(r.u8()?);
                if count > MAX_MONITORS {
                    return Err(DecodeError::TooLong {
                        what: "monitors",
                        len: count,
                        max: MAX_MONITORS,
                    });
                }
                let mut monitors = Vec::with_capacity(count);
                for _ in 0..count {
                    monitors.push(MonitorInfo {
                        name: r
                            .display_str("monitor name", MAX_MONITOR_NAME_LEN)?
                            .to_owned(),
                        x: r.u16()? as i16,
                        y: r.u16()? as i16,
                        width: r.u16()?,
                        height: r.u16()?,
                        primary: r.bool()?,
                    });
                }
                let selected = get_index(r)?;
                if selected.is_some_and(|i| usize::from(i) >= monitors.len()) {
                    return Err(DecodeError::Invalid {
                        what: "selected monitor",
                    });
                }
                Ok(Self::Monitors {
                    width,
                    height,
                    monitors,
                    selected,
                })
            }
            SELECT_MONITOR => Ok(Self::SelectMonitor {
                index: get_index(r)?,
            }),
            SHOW_SCREEN => Ok(Self::ShowScreen { on: r.bool()? }),
            tag => Err(DecodeError::UnknownTag {
                what: "control message",
                tag,
            }),
        }
    }
}

/// A monitor index or "the whole desktop": a flag byte, then the index.
fn put_index(out: &mut Vec<u8>, index: Option<u8>) {
    out.put_bool(index.is_some());
    out.put_u8(index.unwrap_or(0));
}

fn get_index(r: &mut Reader<'_>) -> Result<Option<u8>, DecodeError> {
    let some = r.bool()?;
    let index = r.u8()?;
    // Not `some`: the index byte is 0, so every message has one encoding.
    if (some && usize::from(index) >= MAX_MONITORS) || (!some && index != 0) {
        return Err(DecodeError::Invalid {
            what: "monitor index",
        });
    }
    Ok(some.then_some(index))
}

impl fmt::Debug for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The technician's name is shown to the user anyway; it is not secret.
            Self::Hello { technician } => f
                .debug_struct("Hello")
                .field("technician", technician)
                .finish(),
            Self::Permissions {
                view,
                control,
                clipboard,
            } => f
                .debug_struct("Permissions")
                .field("view", view)
                .field("control", control)
                .field("clipboard", clipboard)
                .finish(),
            Self::RequestControl => f.write_str("RequestControl"),
            Self::ReleaseControl => f.write_str("ReleaseControl"),
            Self::ViewerClipboard { on } => {
                f.debug_struct("ViewerClipboard").field("on", on).finish()
            }
            Self::Ack { seq } => f.debug_struct("Ack").field("seq", seq).finish(),
            Self::RequestKeyframe => f.write_str("RequestKeyframe"),
            Self::Chat { text } => f
                .debug_struct("Chat")
                .field("text_len", &text.len())
                .finish_non_exhaustive(),
            // File names can be private: only counts and sizes.
            Self::FileOffer { id, entries, .. } => f
                .debug_struct("FileOffer")
                .field("id", id)
                .field("entries", &entries.len())
                .field("bytes", &entries.iter().map(|e| e.size).sum::<u64>())
                .finish_non_exhaustive(),
            Self::FileAnswer {
                id,
                accept,
                resume_from,
            } => f
                .debug_struct("FileAnswer")
                .field("id", id)
                .field("accept", accept)
                .field("entries", &resume_from.len())
                .finish(),
            Self::FileCancel {
                id,
                sender_side,
                detail,
            } => f
                .debug_struct("FileCancel")
                .field("id", id)
                .field("sender_side", sender_side)
                .field("detail", detail)
                .finish(),
            Self::FileReceived { id } => f.debug_struct("FileReceived").field("id", id).finish(),
            Self::RequestDiagnostics => f.write_str("RequestDiagnostics"),
            Self::Recording { on } => f.debug_struct("Recording").field("on", on).finish(),
            Self::Finish => f.write_str("Finish"),
            Self::Feedback { rating, comment } => f
                .debug_struct("Feedback")
                .field("rating", rating)
                .field("comment_len", &comment.len())
                .finish(),
            // A snapshot names the machine, its user and its processes: sizes only.
            Self::Diagnostics { snapshot } => f
                .debug_struct("Diagnostics")
                .field("len", &snapshot.as_ref().map(String::len))
                .finish(),
            Self::Monitors {
                width,
                height,
                monitors,
                selected,
            } => f
                .debug_struct("Monitors")
                .field("width", width)
                .field("height", height)
                .field("monitors", monitors)
                .field("selected", selected)
                .finish(),
            Self::SelectMonitor { index } => f
                .debug_struct("SelectMonitor")
                .field("index", index)
                .finish(),
            Self::ShowScreen { on } => f.debug_struct("ShowScreen").field("on", on).finish(),
            Self::End { reason, detail } => f
                .debug_struct("End")
                .field("reason", reason)
                .field("detail", detail)
                .finish(),
        }
    }
}

// ---- FrameMsg ----

const UPDATE: u8 = 1;
const CURSOR_POSITION: u8 = 2;
const CURSOR_SHAPE: u8 = 3;
const STATS: u8 = 4;

impl Message for FrameMsg {
    fn encoded_len(&self) -> usize {
        1 + match self {
            Self::Update { payload, .. } => 8 + bytes_len(payload.len()),
            Self::CursorPosition { .. } => 4 + 4 + 1,
            Self::CursorShape { rgba, .. } => 2 * 4 + bytes_len(rgba.len()),
            Self::Stats(_) => 4 + 2 + 4,
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::Update { seq, payload } => {
                out.put_u8(UPDATE);
                out.put_u64(*seq);
                out.put_bytes(payload);
            }
            Self::CursorPosition { x, y, visible } => {
                out.put_u8(CURSOR_POSITION);
                out.put_i32(*x);
                out.put_i32(*y);
                out.put_bool(*visible);
            }
            Self::CursorShape {
                width,
                height,
                hot_x,
                hot_y,
                rgba,
            } => {
                out.put_u8(CURSOR_SHAPE);
                out.put_u16(*width);
                out.put_u16(*height);
                out.put_u16(*hot_x);
                out.put_u16(*hot_y);
                out.put_bytes(rgba);
            }
            Self::Stats(stats) => {
                out.put_u8(STATS);
                out.put_u32(stats.encode_us);
                out.put_u16(stats.lossy_permille);
                out.put_u32(stats.rtt_us);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            UPDATE => Ok(Self::Update {
                seq: r.u64()?,
                payload: r.bytes("frame update", MAX_UPDATE_LEN)?.to_vec(),
            }),
            CURSOR_POSITION => Ok(Self::CursorPosition {
                x: r.i32()?,
                y: r.i32()?,
                visible: r.bool()?,
            }),
            CURSOR_SHAPE => {
                let width = r.u16()?;
                let height = r.u16()?;
                let hot_x = r.u16()?;
                let hot_y = r.u16()?;
                if u32::from(width) > MAX_CURSOR_SIDE || u32::from(height) > MAX_CURSOR_SIDE {
                    return Err(DecodeError::Invalid {
                        what: "cursor size",
                    });
                }
                let expected = usize::from(width) * usize::from(height) * 4;
                let rgba = r.bytes("cursor image", expected)?;
                if rgba.len() != expected {
                    return Err(DecodeError::Invalid {
                        what: "cursor image size",
                    });
                }
                Ok(Self::CursorShape {
                    width,
                    height,
                    hot_x,
                    hot_y,
                    rgba: rgba.to_vec(),
                })
            }
            STATS => {
                let encode_us = r.u32()?;
                let lossy_permille = r.u16()?;
                if lossy_permille > HostStats::MAX_PERMILLE {
                    return Err(DecodeError::Invalid {
                        what: "lossy share",
                    });
                }
                Ok(Self::Stats(HostStats {
                    encode_us,
                    lossy_permille,
                    rtt_us: r.u32()?,
                }))
            }
            tag => Err(DecodeError::UnknownTag {
                what: "frames message",
                tag,
            }),
        }
    }
}

impl fmt::Debug for FrameMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Update { seq, payload } => f
                .debug_struct("Update")
                .field("seq", seq)
                .field("payload_len", &payload.len())
                .finish_non_exhaustive(),
            Self::CursorPosition { x, y, visible } => f
                .debug_struct("CursorPosition")
                .field("x", x)
                .field("y", y)
                .field("visible", visible)
                .finish(),
            Self::CursorShape {
                width,
                height,
                hot_x,
                hot_y,
                rgba,
            } => f
                .debug_struct("CursorShape")
                .field("width", width)
                .field("height", height)
                .field("hot_x", hot_x)
                .field("hot_y", hot_y)
                .field("rgba_len", &rgba.len())
                .finish_non_exhaustive(),
            Self::Stats(stats) => f.debug_tuple("Stats").field(stats).finish(),
        }
    }
}

// ---- Input ----

const POINTER_MOVE: u8 = 1;
const BUTTON: u8 = 2;
const SCROLL: u8 = 3;
const KEY: u8 = 4;
const TEXT: u8 = 5;

impl Message for Input {
    fn encoded_len(&self) -> usize {
        1 + match self {
            Self::PointerMove { .. } | Self::Scroll { .. } => 8,
            Self::Button { .. } => 2,
            Self::Key { .. } => 4 + 4 + 1,
            Self::Text { text } => bytes_len(text.len()),
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::PointerMove { x, y } => {
                out.put_u8(POINTER_MOVE);
                out.put_u32(*x);
                out.put_u32(*y);
            }
            Self::Button { button, pressed } => {
                out.put_u8(BUTTON);
                out.put_u8(*button as u8);
                out.put_bool(*pressed);
            }
            Self::Scroll { dx, dy } => {
                out.put_u8(SCROLL);
                out.put_i32(*dx);
                out.put_i32(*dy);
            }
            Self::Key {
                keysym,
                physical,
                pressed,
            } => {
                out.put_u8(KEY);
                out.put_u32(*keysym);
                out.put_u32(*physical);
                out.put_bool(*pressed);
            }
            Self::Text { text } => {
                out.put_u8(TEXT);
                out.put_bytes(text.as_bytes());
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            POINTER_MOVE => Ok(Self::PointerMove {
                x: r.u32()?,
                y: r.u32()?,
            }),
            BUTTON => Ok(Self::Button {
                button: MouseButton::from_u8(r.u8()?)?,
                pressed: r.bool()?,
            }),
            SCROLL => Ok(Self::Scroll {
                dx: r.i32()?,
                dy: r.i32()?,
            }),
            KEY => Ok(Self::Key {
                keysym: r.u32()?,
                physical: r.u32()?,
                pressed: r.bool()?,
            }),
            TEXT => Ok(Self::Text {
                text: r.str("input text", MAX_INPUT_TEXT_LEN)?.to_owned(),
            }),
            tag => Err(DecodeError::UnknownTag {
                what: "input message",
                tag,
            }),
        }
    }
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PointerMove { x, y } => f
                .debug_struct("PointerMove")
                .field("x", x)
                .field("y", y)
                .finish(),
            Self::Button { button, pressed } => f
                .debug_struct("Button")
                .field("button", button)
                .field("pressed", pressed)
                .finish(),
            Self::Scroll { dx, dy } => f
                .debug_struct("Scroll")
                .field("dx", dx)
                .field("dy", dy)
                .finish(),
            // Keystrokes are private: show only the direction.
            Self::Key { pressed, .. } => f
                .debug_struct("Key")
                .field("pressed", pressed)
                .finish_non_exhaustive(),
            Self::Text { text } => f
                .debug_struct("Text")
                .field("text_len", &text.len())
                .finish_non_exhaustive(),
        }
    }
}

/// The host's flow control for [`FrameMsg::Update`] (PROTOCOL.md §7): numbers updates from 0 and allows
/// a new one only while fewer than [`MAX_UNACKED_UPDATES`] are unacknowledged.
#[derive(Debug, Clone)]
pub struct UpdateWindow {
    /// The `seq` of the next update.
    next: u64,
    /// Updates below this are acknowledged.
    acked_below: u64,
    window: u64,
}

/// An `Ack` for an update that was never sent: a protocol error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("acknowledgement of update {seq}, but only {sent} were sent")]
pub struct AckError {
    pub seq: u64,
    pub sent: u64,
}

impl Default for UpdateWindow {
    fn default() -> Self {
        Self::new(MAX_UNACKED_UPDATES)
    }
}

impl UpdateWindow {
    /// A window of `window` unacknowledged updates (at least 1).
    pub fn new(window: u64) -> Self {
        Self {
            next: 0,
            acked_below: 0,
            window: window.max(1),
        }
    }

    /// Updates sent and not yet acknowledged.
    pub fn unacked(&self) -> u64 {
        self.next - self.acked_below
    }

    /// Updates with a `seq` below this may be sent: the acknowledged ones plus the window. It never
    /// decreases.
    pub fn limit(&self) -> u64 {
        self.acked_below.saturating_add(self.window)
    }

    pub fn can_send(&self) -> bool {
        self.unacked() < self.window
    }

    /// Takes the `seq` for the next update, or `None` while the window is full.
    pub fn next_seq(&mut self) -> Option<u64> {
        if !self.can_send() {
            return None;
        }
        let seq = self.next;
        self.next = self.next.checked_add(1)?;
        Some(seq)
    }

    /// Records `Ack { seq }`, which acknowledges every update up to `seq`. Stale acks are ignored.
    pub fn on_ack(&mut self, seq: u64) -> Result<(), AckError> {
        if seq >= self.next {
            return Err(AckError {
                seq,
                sent: self.next,
            });
        }
        self.acked_below = self.acked_below.max(seq + 1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_shape_must_match_its_size() {
        let good = FrameMsg::CursorShape {
            width: 2,
            height: 3,
            hot_x: 1,
            hot_y: 1,
            rgba: vec![9; 24],
        };
        assert_eq!(FrameMsg::from_bytes(&good.to_vec()), Ok(good));
        let short = FrameMsg::CursorShape {
            width: 2,
            height: 3,
            hot_x: 0,
            hot_y: 0,
            rgba: vec![9; 23],
        };
        assert_eq!(
            FrameMsg::from_bytes(&short.to_vec()),
            Err(DecodeError::Invalid {
                what: "cursor image size"
            })
        );
        let long = FrameMsg::CursorShape {
            width: 2,
            height: 3,
            hot_x: 0,
            hot_y: 0,
            rgba: vec![9; 25],
        };
        assert!(matches!(
            FrameMsg::from_bytes(&long.to_vec()),
            Err(DecodeError::TooLong {
                len: 25,
                max: 24,
                ..
            })
        ));
        let huge = FrameMsg::CursorShape {
            width: 257,
            height: 1,
            hot_x: 0,
            hot_y: 0,
            rgba: vec![0; 257 * 4],
        };
        assert_eq!(
            FrameMsg::from_bytes(&huge.to_vec()),
            Err(DecodeError::Invalid {
                what: "cursor size"
            })
        );
        // An empty cursor (nothing to draw) is valid.
        let empty = FrameMsg::CursorShape {
            width: 0,
            height: 0,
            hot_x: 9,
            hot_y: 9,
            rgba: Vec::new(),
        };
        assert_eq!(FrameMsg::from_bytes(&empty.to_vec()), Ok(empty));
    }

    /// A hostile host claims the largest cursor (or more) and sends few bytes, or lies about the
    /// length: refused before anything of the claimed size is reserved.
    #[test]
    fn hostile_cursor_shapes_are_refused() {
        let claim = |width: u16, height: u16, len: u32, body: usize| {
            let mut bytes = vec![CURSOR_SHAPE];
            for v in [width, height, 0, 0] {
                bytes.extend_from_slice(&v.to_be_bytes());
            }
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend(std::iter::repeat_n(7, body));
            FrameMsg::from_bytes(&bytes)
        };
        let max = MAX_CURSOR_SIDE as u16;
        // The length says the whole image, the bytes stop short.
        assert!(matches!(
            claim(max, max, u32::from(max) * u32::from(max) * 4, 16),
            Err(DecodeError::Truncated { .. })
        ));
        // A length past what the size allows.
        assert!(matches!(
            claim(max, max, u32::MAX, 0),
            Err(DecodeError::TooLong { .. })
        ));
        // Sides past the cap, whatever the bytes.
        for (w, h) in [(u16::MAX, 1), (1, u16::MAX), (max + 1, max + 1)] {
            assert_eq!(
                claim(w, h, 4, 4),
                Err(DecodeError::Invalid {
                    what: "cursor size"
                }),
                "{w}x{h}"
            );
        }
    }

    #[test]
    fn stats_round_trip_and_refuse_a_share_over_one() {
        let stats = FrameMsg::Stats(HostStats {
            encode_us: 4_321,
            lossy_permille: 1000,
            rtt_us: 12_000,
        });
        let bytes = stats.to_vec();
        assert_eq!(bytes.len(), stats.encoded_len());
        assert_eq!(FrameMsg::from_bytes(&bytes), Ok(stats));
        let mut over = bytes.clone();
        over[5..7].copy_from_slice(&1001u16.to_be_bytes());
        assert_eq!(
            FrameMsg::from_bytes(&over),
            Err(DecodeError::Invalid {
                what: "lossy share"
            })
        );
        assert!(matches!(
            FrameMsg::from_bytes(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn limits_are_enforced_on_decode() {
        let name = Control::Hello {
            technician: "x".repeat(MAX_NAME_LEN + 1),
        };
        assert!(matches!(
            Control::from_bytes(&name.to_vec()),
            Err(DecodeError::TooLong { .. })
        ));
        let text = Input::Text {
            text: "x".repeat(MAX_INPUT_TEXT_LEN + 1),
        };
        assert!(matches!(
            Input::from_bytes(&text.to_vec()),
            Err(DecodeError::TooLong { .. })
        ));
        let detail = Control::End {
            reason: EndReason::Shutdown,
            detail: "x".repeat(MAX_DETAIL_LEN + 1),
        };
        assert!(matches!(
            Control::from_bytes(&detail.to_vec()),
            Err(DecodeError::TooLong { .. })
        ));
    }

    /// Issue 7: a technician name or End detail carrying a terminal escape (OSC 52, `ESC[2J`), a
    /// newline or a bidi override is refused at decode, so it never reaches a prompt or a terminal.
    #[test]
    fn display_text_with_control_characters_is_refused() {
        let hostile = [
            ("Bob\u{1b}]52;c;ZWNobyBoaQ==\u{7}", 0x1b, 3),
            ("\u{1b}[2J", 0x1b, 0),
            ("Bob\nApproved by IT", 0x0a, 3),
            ("\u{9b}2J", 0x9b, 0),
            ("Bob \u{202E}TI", 0x202e, 4),
            ("\u{2067}x", 0x2067, 0),
        ];
        for (text, code, at) in hostile {
            let hello = Control::Hello {
                technician: text.into(),
            };
            assert_eq!(
                Control::from_bytes(&hello.to_vec()),
                Err(DecodeError::UnsafeText {
                    what: "technician name",
                    code,
                    at
                }),
                "{text:?}"
            );
            let end = Control::End {
                reason: EndReason::HostEnded,
                detail: text.into(),
            };
            assert_eq!(
                Control::from_bytes(&end.to_vec()),
                Err(DecodeError::UnsafeText {
                    what: "end detail",
                    code,
                    at
                }),
                "{text:?}"
            );
            // Our own constructors never produce such a message.
            for msg in [
                Control::hello(text),
                Control::end(EndReason::HostEnded, text),
                Control::chat(text),
                Control::file_cancel(1, true, text),
                Control::feedback(4, text),
            ] {
                assert_eq!(Control::from_bytes(&msg.to_vec()), Ok(msg));
            }
        }
        // Typed text legitimately carries newlines and tabs (clipboards travel as bulk bytes).
        let typed = Input::Text {
            text: "a\nb\t".into(),
        };
        assert_eq!(Input::from_bytes(&typed.to_vec()), Ok(typed));
    }

    #[test]
    fn constructors_replace_control_characters() {
        assert_eq!(
            Control::hello("Bob\u{1b}[2J\n"),
            Control::Hello {
                technician: "Bob\u{FFFD}[2J\u{FFFD}".into()
            }
        );
        // Replacement happens before truncation, so the limit still holds.
        let Control::End { detail, .. } = Control::end(EndReason::Shutdown, "\n".repeat(600))
        else {
            panic!("end constructor");
        };
        assert!(detail.len() <= MAX_DETAIL_LEN);
        assert!(detail.chars().all(|c| c == '\u{FFFD}'));
    }

    #[test]
    fn monitor_lists_are_capped_and_selections_checked() {
        let monitor = MonitorInfo::new("DP-1\u{1b}[2J", -5, 0, 800, 600, true);
        assert_eq!(monitor.name, "DP-1\u{FFFD}[2J");
        let list = |count: usize, selected: Option<u8>| Control::Monitors {
            width: 1600,
            height: 600,
            monitors: vec![monitor.clone(); count],
            selected,
        };
        let ok = list(MAX_MONITORS, Some(MAX_MONITORS as u8 - 1));
        assert_eq!(Control::from_bytes(&ok.to_vec()), Ok(ok));
        assert!(matches!(
            Control::from_bytes(&list(MAX_MONITORS + 1, None).to_vec()),
            Err(DecodeError::TooLong {
                what: "monitors",
                ..
            })
        ));
        assert_eq!(
            Control::from_bytes(&list(2, Some(2)).to_vec()),
            Err(DecodeError::Invalid {
                what: "selected monitor"
            })
        );
        let far = Control::SelectMonitor {
            index: Some(MAX_MONITORS as u8),
        };
        assert_eq!(
            Control::from_bytes(&far.to_vec()),
            Err(DecodeError::Invalid {
                what: "monitor index"
            })
        );
        let hostile_name = Control::Monitors {
            width: 1,
            height: 1,
            monitors: vec![MonitorInfo {
                name: "a\nb".into(),
                ..monitor
            }],
            selected: None,
        };
        assert!(matches!(
            Control::from_bytes(&hostile_name.to_vec()),
            Err(DecodeError::UnsafeText { .. })
        ));
    }

    /// A hostile viewer's `ReleaseControl` and `ViewerClipboard`: one encoding each, anything
    /// else refused (a body on the bodiless one, a switch byte other than 0 or 1, one cut short).
    #[test]
    fn release_and_clipboard_switch_refuse_bad_bodies() {
        assert_eq!(
            Control::from_bytes(&[RELEASE_CONTROL]),
            Ok(Control::ReleaseControl)
        );
        assert_eq!(
            Control::from_bytes(&[RELEASE_CONTROL, 0]),
            Err(DecodeError::TrailingBytes { extra: 1 })
        );
        for on in [false, true] {
            let msg = Control::ViewerClipboard { on };
            assert_eq!(msg.to_vec(), [VIEWER_CLIPBOARD, u8::from(on)]);
            assert_eq!(Control::from_bytes(&msg.to_vec()), Ok(msg));
        }
        for bad in [2, 0x80, 0xff] {
            assert_eq!(
                Control::from_bytes(&[VIEWER_CLIPBOARD, bad]),
                Err(DecodeError::Invalid { what: "bool" })
            );
        }
        assert!(matches!(
            Control::from_bytes(&[VIEWER_CLIPBOARD]),
            Err(DecodeError::Truncated { .. })
        ));
        assert_eq!(
            Control::from_bytes(&[VIEWER_CLIPBOARD, 1, 1]),
            Err(DecodeError::TrailingBytes { extra: 1 })
        );
    }

    #[test]
    fn unknown_tags_are_errors() {
        assert!(matches!(
            Control::from_bytes(&[0]),
            Err(DecodeError::UnknownTag { tag: 0, .. })
        ));
        assert!(matches!(
            Control::from_bytes(&[END, 9, 0, 0, 0, 0]),
            Err(DecodeError::UnknownTag { tag: 9, .. })
        ));
        assert!(matches!(
            Control::from_bytes(&[22]),
            Err(DecodeError::UnknownTag { tag: 22, .. })
        ));
        assert!(matches!(
            Input::from_bytes(&[BUTTON, 6, 1]),
            Err(DecodeError::UnknownTag { tag: 6, .. })
        ));
        assert!(matches!(
            FrameMsg::from_bytes(&[5]),
            Err(DecodeError::UnknownTag { tag: 5, .. })
        ));
    }

    #[test]
    fn constructors_keep_limits_on_char_boundaries() {
        let Control::End { detail, .. } = Control::end(EndReason::HostEnded, "é".repeat(400))
        else {
            panic!("end constructor");
        };
        assert_eq!(detail.len(), MAX_DETAIL_LEN);
        let Control::Hello { technician } = Control::hello("ü".repeat(40)) else {
            panic!("hello constructor");
        };
        assert_eq!(technician.len(), MAX_NAME_LEN);
        let Control::Chat { text } = Control::chat("ü".repeat(MAX_CHAT_LEN)) else {
            panic!("chat constructor");
        };
        assert_eq!(text.len(), MAX_CHAT_LEN);
        let chunks = Input::text_chunks(&"€".repeat(3000));
        assert_eq!(chunks.len(), 3);
        let joined: String = chunks
            .iter()
            .map(|c| match c {
                Input::Text { text } => {
                    assert!(text.len() <= MAX_INPUT_TEXT_LEN);
                    text.as_str()
                }
                _ => panic!("text chunk"),
            })
            .collect();
        assert_eq!(joined, "€".repeat(3000));
        assert!(Input::text_chunks("").is_empty());
    }

    #[test]
    fn debug_hides_private_contents() {
        let shown = format!(
            "{:?} {:?} {:?} {:?}",
            Control::Chat {
                text: "hunter2".into()
            },
            Control::FileOffer {
                id: 1,
                name: "hunter2".into(),
                entries: vec![FileEntry {
                    path: "hunter2/x".into(),
                    size: 3,
                    key: [0; 16]
                }]
            },
            Input::Text {
                text: "hunter2".into()
            },
            Input::Key {
                keysym: 0x68,
                physical: 35,
                pressed: true
            }
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("104") && !shown.contains("35"), "{shown}");
    }

    #[test]
    fn end_reasons_read_as_sentences() {
        for reason in EndReason::ALL {
            let text = reason.to_string();
            assert!(text.ends_with('.') && text.len() > 20, "{text}");
            let msg = Control::end(reason, "bye");
            assert_eq!(Control::from_bytes(&msg.to_vec()), Ok(msg));
        }
    }

    #[test]
    fn update_window_holds_at_most_the_window_unacknowledged() {
        let mut window = UpdateWindow::default();
        let sent: Vec<u64> = std::iter::from_fn(|| window.next_seq()).collect();
        assert_eq!(sent, (0..MAX_UNACKED_UPDATES).collect::<Vec<_>>());
        assert!(!window.can_send());
        window.on_ack(1).expect("ack");
        assert_eq!(window.unacked(), MAX_UNACKED_UPDATES - 2);
        // A stale ack changes nothing.
        window.on_ack(0).expect("stale ack");
        assert_eq!(window.unacked(), MAX_UNACKED_UPDATES - 2);
        assert_eq!(window.next_seq(), Some(MAX_UNACKED_UPDATES));
        assert_eq!(
            window.on_ack(MAX_UNACKED_UPDATES + 1),
            Err(AckError {
                seq: MAX_UNACKED_UPDATES + 1,
                sent: MAX_UNACKED_UPDATES + 1
            })
        );
        window.on_ack(MAX_UNACKED_UPDATES).expect("ack all");
        assert_eq!(window.unacked(), 0);
        assert!(window.can_send());
    }
}
