//! The X side of the watcher: one connection with a window of ours that receives the CLIPBOARD's
//! owner changes (XFIXES) and the content we ask owners for, read here with x11rb.
//!
//! Why not read through arboard, which writes for us: its reader gives an owner 10 ms between two
//! INCR chunks (the protocol for anything over about 1 MiB) and abandons the transfer after that.
//! On a busy machine owners miss that often enough to lose a large copy now and then (seen in these
//! tests under CPU load), and an owner abandoned mid-transfer, xclip for one, serves nobody after.
//! Here the owner gets seconds per chunk, a transfer is never abandoned while it progresses, and
//! content over the limits is counted and hashed as it arrives rather than kept.

use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use thiserror::Error;
use tracing::{debug, trace};
use x11rb::connection::{Connection, RequestConnection as _};
use x11rb::errors::{ConnectError, ConnectionError, ReplyError, ReplyOrIdError};
use x11rb::protocol::Event;
use x11rb::protocol::xfixes::{self, ConnectionExt as _, SelectionEventMask};
use x11rb::protocol::xproto::{
    Atom, AtomEnum, ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, Property,
    Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;

use crate::content::{LimitExceeded, MAX_PNG_LEN, MAX_TEXT_LEN};
use crate::filter::{Fingerprint, Fingerprinter, Kind, Streaming};

/// How long an owner may take to answer a request for the clipboard's content.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an owner may take between two chunks of an INCR transfer.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a TARGETS answer kept: a few hundred atoms at most in practice.
const MAX_TARGETS_LEN: usize = 64 * 1024;

x11rb::atom_manager! {
    pub(crate) Atoms: AtomsCookie {
        CLIPBOARD,
        TARGETS,
        INCR,
        UTF8_STRING,
        TEXT_PLAIN_UTF8: b"text/plain;charset=utf-8",
        IMAGE_PNG: b"image/png",
        TANDEM_CLIPBOARD,
    }
}

#[derive(Debug, Error)]
pub(crate) enum XError {
    #[error("cannot connect to the X display")]
    Connect(#[from] ConnectError),
    #[error("X request failed")]
    Request(#[from] ReplyOrIdError),
}

impl From<ConnectionError> for XError {
    fn from(error: ConnectionError) -> Self {
        Self::Request(error.into())
    }
}

impl From<ReplyError> for XError {
    fn from(error: ReplyError) -> Self {
        Self::Request(error.into())
    }
}

/// Why a read ended without content.
#[derive(Debug, Error)]
pub(crate) enum ReadError {
    #[error(transparent)]
    X(#[from] XError),
    #[error("asked to stop")]
    Stopped,
}

impl From<ConnectionError> for ReadError {
    fn from(error: ConnectionError) -> Self {
        Self::X(error.into())
    }
}

impl From<ReplyError> for ReadError {
    fn from(error: ReplyError) -> Self {
        Self::X(error.into())
    }
}

/// Events that arrived while waiting for something else, kept for the watcher loop.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    /// The owner named by the latest XFIXES report not yet handled (`NONE`: no owner).
    pub(crate) owner_changed: Option<Window>,
    /// The stop message arrived.
    pub(crate) stop: bool,
}

/// What the clipboard holds.
pub(crate) enum Found {
    Text(String),
    /// PNG bytes as the owner gave them, within [`MAX_PNG_LEN`], not yet decoded.
    Png(Vec<u8>),
    /// Content over a limit, not kept; fingerprinted as it arrived.
    Over(LimitExceeded, Fingerprint),
}

/// How a read went.
pub(crate) enum Outcome {
    Found(Found),
    /// The owner offers nothing we sync (or there is no owner).
    Nothing,
    /// The owner refused what it offered, or a transfer stalled: may pass if asked again.
    Failed,
    /// The owner did not answer at all: asking again would only stall the watcher again.
    NoAnswer,
}

/// One conversion's result.
enum Converted {
    Received(Received),
    Refused,
    NoAnswer,
}

struct Received {
    /// The property type the owner gave (the target, for a well-behaved owner).
    kind: Atom,
    format: u8,
    /// The bytes, while they are within the caller's limit; empty once over it.
    bytes: Vec<u8>,
    len: usize,
    over: bool,
    digest: Streaming,
}

impl Received {
    fn push(&mut self, mut chunk: Vec<u8>, keep: usize) {
        self.len += chunk.len();
        self.digest.write(&chunk);
        if self.len > keep {
            self.over = true;
            self.bytes = Vec::new();
        } else if self.bytes.is_empty() {
            self.bytes = std::mem::take(&mut chunk);
        } else {
            self.bytes.extend_from_slice(&chunk);
        }
    }
}

pub(crate) struct XClipboard {
    conn: RustConnection,
    /// Our own invisible window: XFIXES reports and owners' answers arrive for it, and a message to
    /// it wakes the watcher to stop.
    window: Window,
    atoms: Atoms,
    xfixes: bool,
}

impl XClipboard {
    /// Connects to the display in `DISPLAY`. With `want_xfixes`, selects the CLIPBOARD's owner
    /// changes, reported from the moment this returns; without it (or without the extension),
    /// [`Self::has_xfixes`] is false and the caller polls.
    pub(crate) fn open(want_xfixes: bool) -> Result<Self, XError> {
        let (conn, screen) = x11rb::connect(None)?;
        let atoms = Atoms::new(&conn)?.reply()?;
        let root = conn
            .setup()
            .roots
            .get(screen)
            .map(|s| s.root)
            .ok_or(ConnectError::InvalidScreen)?;
        let window = conn.generate_id()?;
        conn.create_window(
            0,
            window,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            // Owners write the content into a property of ours; INCR moves on with its changes.
            &CreateWindowAux::new().event_mask(EventMask::PROPERTY_CHANGE),
        )?;
        let xfixes = want_xfixes && select_owner_changes(&conn, window, atoms.CLIPBOARD)?;
        // A round trip: everything above is in force (or its error known) before `start` returns,
        // so every owner change after that is seen, and none before it.
        conn.get_input_focus()?.reply()?;
        Ok(Self {
            conn,
            window,
            atoms,
            xfixes,
        })
    }

    pub(crate) fn has_xfixes(&self) -> bool {
        self.xfixes
    }

    /// Wakes the watcher from any wait; called from another thread, with the stop flag set first.
    pub(crate) fn wake(&self) {
        let message = ClientMessageEvent::new(32, self.window, self.atoms.TANDEM_CLIPBOARD, [0; 5]);
        // If the connection is broken, the watcher's wait fails too and it returns.
        let _ = self
            .conn
            .send_event(false, self.window, EventMask::NO_EVENT, message);
        let _ = self.conn.flush();
    }

    /// The window owning the clipboard, `NONE` if none.
    pub(crate) fn owner(&self) -> Result<Window, XError> {
        Ok(self
            .conn
            .get_selection_owner(self.atoms.CLIPBOARD)?
            .reply()?
            .owner)
    }

    /// Waits for an event or until `deadline` (forever without one), then takes every event
    /// already queued into `inbox`. Returns at once if the inbox has news already.
    pub(crate) fn wait(&self, deadline: Option<Instant>, inbox: &mut Inbox) -> Result<(), XError> {
        if inbox.owner_changed.is_none() && !inbox.stop {
            let event = match deadline {
                None => Some(self.conn.wait_for_event()?),
                Some(deadline) => self.next_event(deadline)?,
            };
            if let Some(event) = event {
                self.sort(event, inbox);
            }
        }
        while let Some(event) = self.conn.poll_for_event()? {
            self.sort(event, inbox);
        }
        Ok(())
    }

    /// Keeps what the watcher loop acts on; drops the rest (leftovers of earlier transfers).
    fn sort(&self, event: Event, inbox: &mut Inbox) {
        match event {
            Event::XfixesSelectionNotify(notify) if notify.selection == self.atoms.CLIPBOARD => {
                inbox.owner_changed = Some(notify.owner);
            }
            Event::ClientMessage(message) if message.window == self.window => inbox.stop = true,
            _ => {}
        }
    }

    /// The next event, or `None` once `deadline` passed.
    fn next_event(&self, deadline: Instant) -> Result<Option<Event>, XError> {
        loop {
            // x11rb may hold complete events read along with a reply: take those first.
            if let Some(event) = self.conn.poll_for_event()? {
                return Ok(Some(event));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let timeout = Timespec::try_from(left).unwrap_or(Timespec {
                tv_sec: 1,
                tv_nsec: 0,
            });
            let mut fds = [PollFd::new(self.conn.stream(), PollFlags::IN)];
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                // Readable, timed out or interrupted: the loop looks again.
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(error) => {
                    return Err(XError::from(ConnectionError::IoError(error.into())));
                }
            }
        }
    }

    /// Reads what the clipboard holds: text if it offers any, else a PNG image.
    pub(crate) fn read(
        &self,
        hasher: &Fingerprinter,
        inbox: &mut Inbox,
    ) -> Result<Outcome, ReadError> {
        let atoms = &self.atoms;
        // A list of atoms: its fingerprint goes unused.
        let digest = hasher.streaming(Kind::Text);
        let targets = match self.convert(atoms.TARGETS, MAX_TARGETS_LEN, digest, inbox)? {
            Converted::Received(received) if received.format == 32 && !received.over => Some(
                received
                    .bytes
                    .chunks_exact(4)
                    .map(|atom| u32::from_ne_bytes([atom[0], atom[1], atom[2], atom[3]]))
                    .collect::<Vec<_>>(),
            ),
            Converted::NoAnswer => return Ok(Outcome::NoAnswer),
            // An owner without TARGETS (old or minimal ones): ask for what we take, in order.
            _ => None,
        };
        let offered: Vec<Atom> = match &targets {
            Some(targets) => {
                // The first text form offered, else PNG.
                let text = [atoms.UTF8_STRING, atoms.TEXT_PLAIN_UTF8]
                    .into_iter()
                    .find(|target| targets.contains(target));
                let png = Some(atoms.IMAGE_PNG).filter(|png| targets.contains(png));
                text.or(png).into_iter().collect()
            }
            None => vec![atoms.UTF8_STRING, atoms.IMAGE_PNG],
        };
        if offered.is_empty() {
            return Ok(Outcome::Nothing);
        }
        for target in offered {
            let (keep, kind) = if target == atoms.IMAGE_PNG {
                (MAX_PNG_LEN, Kind::Png)
            } else {
                (MAX_TEXT_LEN, Kind::Text)
            };
            let received = match self.convert(target, keep, hasher.streaming(kind), inbox)? {
                Converted::Received(received) if received.kind == target => received,
                // Refused, or answered in another type (xclip sends its one type whatever is asked).
                Converted::Received(_) | Converted::Refused => continue,
                Converted::NoAnswer => return Ok(Outcome::NoAnswer),
            };
            let len = received.len;
            let found = match kind {
                Kind::Png if received.over => Found::Over(
                    LimitExceeded::Png {
                        len,
                        max: MAX_PNG_LEN,
                    },
                    received.digest.finish(),
                ),
                Kind::Png => Found::Png(received.bytes),
                _ if received.over => Found::Over(
                    LimitExceeded::Text {
                        len,
                        max: MAX_TEXT_LEN,
                    },
                    received.digest.finish(),
                ),
                // Text that is not valid UTF-8 despite its type: the user copied text, so keep it
                // readable rather than drop it.
                _ => Found::Text(match String::from_utf8(received.bytes) {
                    Ok(text) => text,
                    Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
                }),
            };
            return Ok(Outcome::Found(found));
        }
        Ok(Outcome::Failed)
    }

    /// Asks the owner for the clipboard as `target` and receives it, INCR included, keeping at most
    /// `keep` bytes (the rest is counted and hashed).
    fn convert(
        &self,
        target: Atom,
        keep: usize,
        digest: Streaming,
        inbox: &mut Inbox,
    ) -> Result<Converted, ReadError> {
        let (conn, window, property) = (&self.conn, self.window, self.atoms.TANDEM_CLIPBOARD);
        conn.delete_property(window, property)?;
        conn.convert_selection(
            window,
            self.atoms.CLIPBOARD,
            target,
            property,
            x11rb::CURRENT_TIME,
        )?;
        conn.flush()?;

        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let notify = loop {
            match self.next_event(deadline)? {
                Some(Event::SelectionNotify(notify))
                    if notify.requestor == window
                        && notify.selection == self.atoms.CLIPBOARD
                        && notify.target == target =>
                {
                    break notify;
                }
                Some(event) => self.sort_or_stop(event, inbox)?,
                None => {
                    debug!("the clipboard owner did not answer");
                    return Ok(Converted::NoAnswer);
                }
            }
        };
        if notify.property == x11rb::NONE {
            return Ok(Converted::Refused);
        }
        let first = self.take_property()?;
        let mut received = Received {
            kind: first.type_,
            format: first.format,
            bytes: Vec::new(),
            len: 0,
            over: false,
            digest,
        };
        if first.type_ != self.atoms.INCR {
            received.push(first.value, keep);
            return Ok(Converted::Received(received));
        }

        // INCR: taking (deleting) the announcement asked for the first chunk; each chunk comes as a
        // new value of the property, and taking it asks for the next, until an empty one.
        trace!("clipboard transfer in INCR chunks");
        let mut deadline = Instant::now() + CHUNK_TIMEOUT;
        loop {
            match self.next_event(deadline)? {
                Some(Event::PropertyNotify(change))
                    if change.window == window
                        && change.atom == property
                        && change.state == Property::NEW_VALUE =>
                {
                    let chunk = self.take_property()?;
                    // No such property: a notice left over from before the transfer.
                    if chunk.type_ == x11rb::NONE {
                        continue;
                    }
                    (received.kind, received.format) = (chunk.type_, chunk.format);
                    if chunk.value.is_empty() {
                        return Ok(Converted::Received(received));
                    }
                    received.push(chunk.value, keep);
                    deadline = Instant::now() + CHUNK_TIMEOUT;
                }
                Some(event) => self.sort_or_stop(event, inbox)?,
                None => {
                    debug!(received = received.len, "clipboard transfer stalled");
                    return Ok(Converted::Refused);
                }
            }
        }
    }

    /// Reads and deletes the property owners write into.
    fn take_property(&self) -> Result<x11rb::protocol::xproto::GetPropertyReply, XError> {
        Ok(self
            .conn
            .get_property(
                true,
                self.window,
                self.atoms.TANDEM_CLIPBOARD,
                AtomEnum::ANY,
                0,
                u32::MAX / 4,
            )?
            .reply()?)
    }

    fn sort_or_stop(&self, event: Event, inbox: &mut Inbox) -> Result<(), ReadError> {
        self.sort(event, inbox);
        if inbox.stop {
            return Err(ReadError::Stopped);
        }
        Ok(())
    }
}

/// Selects the CLIPBOARD's owner changes on `window`; false if the server lacks XFIXES.
fn select_owner_changes(
    conn: &RustConnection,
    window: Window,
    clipboard: Atom,
) -> Result<bool, XError> {
    if conn
        .extension_information(xfixes::X11_EXTENSION_NAME)?
        .is_none()
    {
        return Ok(false);
    }
    // The version must be negotiated before any other XFIXES request; selection events need 1.0.
    conn.xfixes_query_version(5, 0)?.reply()?;
    conn.xfixes_select_selection_input(
        window,
        clipboard,
        SelectionEventMask::SET_SELECTION_OWNER
            | SelectionEventMask::SELECTION_WINDOW_DESTROY
            | SelectionEventMask::SELECTION_CLIENT_CLOSE,
    )?;
    Ok(true)
}
