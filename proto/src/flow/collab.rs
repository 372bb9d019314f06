//! What both session machines share beyond the screen: chat, clipboard contents and file-transfer
//! control (PROTOCOL.md §7, "Working together"). The machine decides when each is allowed; this part
//! gates, assembles clipboard parts, keeps the chat transcript and queues events for the driver's
//! transfer engine. File data itself is read and written by the driver, never held here.

use std::collections::VecDeque;

use crate::bulk::{Bulk, ClipFormat, clipboard_parts};
use crate::limits::{MAX_CLIPBOARD_PNG, MAX_CLIPBOARD_TEXT};
use crate::session::Control;

/// Something from the peer for the collaboration tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollabEvent {
    /// A chat message (display text: no control characters).
    Chat { text: String },
    /// A whole clipboard content, received while the clipboard is allowed, within the limits.
    Clipboard { format: ClipFormat, data: Vec<u8> },
    /// The peer's clipboard content was refused (over the limit, or malformed); the session goes on.
    ClipboardRefused { detail: String },
    /// `FileOffer`, `FileAnswer`, `FileCancel` or `FileReceived`, while transfers are allowed.
    File(Control),
    /// `FileData` or `FileEntryEnd`, while transfers are allowed.
    FileData(Bulk),
}

/// Who wrote a chat line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatFrom {
    Us,
    Peer,
}

/// Why something could not be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAllowed {
    #[error("the screen is not shared (yet, or any more)")]
    NotSharing,
    #[error("clipboard sharing is not allowed now")]
    ClipboardOff,
    #[error("the clipboard content is over the limit of {max} bytes")]
    TooLarge { max: usize },
}

/// A clipboard content being received.
#[derive(Debug)]
struct Assembly {
    serial: u32,
    format: ClipFormat,
    total: u32,
    data: Vec<u8>,
}

#[derive(Debug)]
pub(super) struct Collab {
    /// How this side names its peer to its user ("The technician", "The user").
    peer: &'static str,
    /// Chat and files: the screen is shared.
    active: bool,
    clipboard: bool,
    next_serial: u32,
    assembly: Option<Assembly>,
    transcript: Vec<(ChatFrom, String)>,
    events: VecDeque<CollabEvent>,
}

/// The largest clipboard content of `format`.
pub fn clipboard_limit(format: ClipFormat) -> usize {
    match format {
        ClipFormat::Text => MAX_CLIPBOARD_TEXT,
        ClipFormat::Png => MAX_CLIPBOARD_PNG,
    }
}

impl Collab {
    pub(super) fn new(peer: &'static str) -> Self {
        Self {
            peer,
            active: false,
            clipboard: false,
            next_serial: 0,
            assembly: None,
            transcript: Vec::new(),
            events: VecDeque::new(),
        }
    }

    pub(super) fn set_active(&mut self, active: bool) {
        self.active = active;
        if !active {
            self.set_clipboard(false);
        }
    }

    pub(super) fn set_clipboard(&mut self, allowed: bool) {
        self.clipboard = allowed && self.active;
        if !self.clipboard {
            // Nothing half-received survives a revoke.
            self.assembly = None;
        }
    }

    pub(super) fn active(&self) -> bool {
        self.active
    }

    pub(super) fn clipboard(&self) -> bool {
        self.clipboard
    }

    /// A collaboration message from the peer on the control stream.
    pub(super) fn on_control(&mut self, msg: Control) {
        if !self.active {
            // Before the screen is shared or after: nothing to do with it. Not an error: it may have
            // crossed the grant or the end.
            return;
        }
        match msg {
            Control::Chat { text } => {
                self.transcript.push((ChatFrom::Peer, text.clone()));
                self.events.push_back(CollabEvent::Chat { text });
            }
            msg @ (Control::FileOffer { .. }
            | Control::FileAnswer { .. }
            | Control::FileCancel { .. }
            | Control::FileReceived { .. }) => self.events.push_back(CollabEvent::File(msg)),
            _ => {}
        }
    }

    /// A bulk message from the peer.
    pub(super) fn on_bulk(&mut self, msg: Bulk) {
        match msg {
            Bulk::ClipboardPart {
                serial,
                format,
                total,
                offset,
                data,
            } => self.on_clipboard_part(serial, format, total, offset, data),
            msg @ (Bulk::FileData { .. } | Bulk::FileEntryEnd { .. }) => {
                if self.active {
                    self.events.push_back(CollabEvent::FileData(msg));
                }
            }
        }
    }

    fn on_clipboard_part(
        &mut self,
        serial: u32,
        format: ClipFormat,
        total: u32,
        offset: u32,
        data: Vec<u8>,
    ) {
        if !self.clipboard {
            // Sent before the revoke crossed it, or by a peer that ignores the grant: dropped unread.
            self.assembly = None;
            return;
        }
        if offset == 0 {
            self.assembly = None;
            let limit = clipboard_limit(format);
            if total as usize > limit {
                self.refuse(format!(
                    "{}'s clipboard ({} KiB) is over the limit of {} KiB; it was not pasted here.",
                    self.peer,
                    total / 1024,
                    limit / 1024
                ));
                return;
            }
            self.assembly = Some(Assembly {
                serial,
                format,
                total,
                data: Vec::with_capacity(total as usize),
            });
        }
        let Some(assembly) = &mut self.assembly else {
            // The rest of a refused or dropped content.
            return;
        };
        let fits = assembly.serial == serial
            && assembly.format == format
            && assembly.total == total
            && offset as usize == assembly.data.len()
            && assembly.data.len() + data.len() <= total as usize;
        if !fits {
            self.assembly = None;
            self.refuse(format!(
                "{}'s clipboard arrived malformed (parts out of order); it was not pasted here.",
                self.peer
            ));
            return;
        }
        assembly.data.extend_from_slice(&data);
        if assembly.data.len() < total as usize {
            return;
        }
        let Some(Assembly { format, data, .. }) = self.assembly.take() else {
            return;
        };
        if format == ClipFormat::Text && std::str::from_utf8(&data).is_err() {
            self.refuse(format!(
                "{}'s clipboard text is not valid UTF-8; it was not pasted here.",
                self.peer
            ));
            return;
        }
        self.events
            .push_back(CollabEvent::Clipboard { format, data });
    }

    fn refuse(&mut self, detail: String) {
        self.events
            .push_back(CollabEvent::ClipboardRefused { detail });
    }

    /// A chat message from this side's user: the `Chat` to send.
    pub(super) fn chat(&mut self, text: &str) -> Result<Control, NotAllowed> {
        if !self.active {
            return Err(NotAllowed::NotSharing);
        }
        let msg = Control::chat(text);
        if let Control::Chat { text } = &msg {
            self.transcript.push((ChatFrom::Us, text.clone()));
        }
        Ok(msg)
    }

    /// This side's clipboard changed: the parts to send on the bulk stream.
    pub(super) fn clipboard_parts(
        &mut self,
        format: ClipFormat,
        data: &[u8],
    ) -> Result<Vec<Bulk>, NotAllowed> {
        if !self.clipboard {
            return Err(NotAllowed::ClipboardOff);
        }
        let max = clipboard_limit(format);
        if data.len() > max {
            return Err(NotAllowed::TooLarge { max });
        }
        let serial = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1);
        Ok(clipboard_parts(serial, format, data))
    }

    pub(super) fn transcript(&self) -> &[(ChatFrom, String)] {
        &self.transcript
    }

    pub(super) fn poll_event(&mut self) -> Option<CollabEvent> {
        self.events.pop_front()
    }
}
