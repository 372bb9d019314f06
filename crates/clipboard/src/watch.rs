//! The watcher thread: learns that the clipboard changed (XFIXES selection events, or the polling
//! fallback), reads the new content through arboard, and hands what is news to the callback.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use thiserror::Error;
use tracing::{debug, warn};
use x11rb::connection::{Connection, RequestConnection as _};
use x11rb::errors::{ConnectError, ReplyOrIdError};
use x11rb::protocol::Event;
use x11rb::protocol::xfixes::{self, ConnectionExt as _, SelectionEventMask};
use x11rb::protocol::xproto::{ConnectionExt as _, CreateWindowAux, Window, WindowClass};
use x11rb::rust_connection::RustConnection;

use crate::ClipEvent;
use crate::content::{ClipContent, ImageProblem, LimitExceeded, Rgba, check_text};
use crate::filter::{EchoFilter, Fingerprint, Fingerprinter, ReadTicket, Verdict};

/// How often the fallback reads the clipboard.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Reads after an owner change; a failed one is tried again after [`RETRY_DELAY`].
const READ_ATTEMPTS: u32 = 3;
const RETRY_DELAY: Duration = Duration::from_millis(50);
/// An attempt that took this long ran into arboard's 4 s wait for an owner that does not answer;
/// asking that owner again would only keep the watcher from newer changes.
const SLOW_ATTEMPT: Duration = Duration::from_secs(2);

/// What the watcher thread and [`crate::SystemClipboard`] share.
pub(crate) struct Shared {
    pub(crate) hasher: Fingerprinter,
    pub(crate) filter: Mutex<EchoFilter>,
    /// Set by `Drop` before it wakes the thread.
    pub(crate) stop: AtomicBool,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Self {
            hasher: Fingerprinter::new(),
            filter: Mutex::new(EchoFilter::default()),
            stop: AtomicBool::new(false),
        }
    }

    pub(crate) fn filter(&self) -> std::sync::MutexGuard<'_, EchoFilter> {
        // The filter holds plain values that stay consistent whatever panicked: keep using it.
        self.filter.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// Why XFIXES change detection could not be set up (the caller then polls).
#[derive(Debug, Error)]
pub(crate) enum XfixesUnavailable {
    #[error("cannot connect to the X display")]
    Connect(#[from] ConnectError),
    #[error("X request failed")]
    X(#[from] ReplyOrIdError),
    #[error("the X server has no XFIXES extension")]
    NoExtension,
}

/// An X connection whose window receives the CLIPBOARD's owner changes.
pub(crate) struct XfixesSource {
    pub(crate) conn: RustConnection,
    /// Our own invisible window: XFIXES events are selected on it, and a message to it wakes the
    /// thread to stop.
    pub(crate) window: Window,
}

impl XfixesSource {
    /// Selects CLIPBOARD owner changes; they are reported from the moment this returns.
    pub(crate) fn open() -> Result<Self, XfixesUnavailable> {
        let (conn, screen) = x11rb::connect(None)?;
        if conn
            .extension_information(xfixes::X11_EXTENSION_NAME)
            .map_err(ReplyOrIdError::from)?
            .is_none()
        {
            return Err(XfixesUnavailable::NoExtension);
        }
        // The version must be negotiated before any other XFIXES request; selection events need 1.0.
        conn.xfixes_query_version(5, 0)
            .map_err(ReplyOrIdError::from)?
            .reply()
            .map_err(ReplyOrIdError::from)?;
        let root = conn
            .setup()
            .roots
            .get(screen)
            .map(|s| s.root)
            .ok_or(XfixesUnavailable::NoExtension)?;
        let clipboard = conn
            .intern_atom(false, b"CLIPBOARD")
            .map_err(ReplyOrIdError::from)?
            .reply()
            .map_err(ReplyOrIdError::from)?
            .atom;
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
            WindowClass::INPUT_ONLY,
            0,
            &CreateWindowAux::new(),
        )
        .map_err(ReplyOrIdError::from)?;
        conn.xfixes_select_selection_input(
            window,
            clipboard,
            SelectionEventMask::SET_SELECTION_OWNER
                | SelectionEventMask::SELECTION_WINDOW_DESTROY
                | SelectionEventMask::SELECTION_CLIENT_CLOSE,
        )
        .map_err(ReplyOrIdError::from)?;
        // A round trip: the selection is in force (or its error known) before `start` returns, so
        // every change after that is seen, and none before it.
        conn.get_input_focus()
            .map_err(ReplyOrIdError::from)?
            .reply()
            .map_err(ReplyOrIdError::from)?;
        Ok(Self { conn, window })
    }
}

/// The watcher loop over XFIXES events. Returns when asked to stop or when the X connection fails.
pub(crate) fn run_xfixes(
    source: &XfixesSource,
    shared: &Shared,
    mut clipboard: arboard::Clipboard,
    on_event: &mut dyn FnMut(ClipEvent),
) {
    let conn = &source.conn;
    loop {
        let first = match conn.wait_for_event() {
            Ok(event) => event,
            Err(error) => {
                warn!(%error, "lost the X connection; clipboard changes are no longer watched");
                return;
            }
        };
        // Take every event already queued: only the latest owner matters, since a read always
        // gets the current content. Several quick changes cost one read.
        let mut owner = None;
        let mut next = Some(first);
        while let Some(event) = next {
            if let Event::XfixesSelectionNotify(notify) = event {
                owner = Some(notify.owner);
            }
            // A failure here shows again at the next `wait_for_event`.
            next = conn.poll_for_event().ok().flatten();
        }
        // The stop message itself needs no handling beyond this check.
        if shared.stopping() {
            return;
        }
        match owner {
            None => {}
            // The owner quit or gave the selection up: the clipboard is empty, nothing to sync.
            Some(x11rb::NONE) => debug!("clipboard has no owner now"),
            Some(_) => {
                if let Some(event) = read_change(shared, &mut clipboard, READ_ATTEMPTS) {
                    on_event(event);
                }
            }
        }
    }
}

/// The fallback when XFIXES is unavailable: reads the clipboard every [`POLL_INTERVAL`] and compares
/// fingerprints. Returns when `stop` disconnects (or receives).
pub(crate) fn run_polling(
    shared: &Shared,
    mut clipboard: arboard::Clipboard,
    stop: &Receiver<()>,
    on_event: &mut dyn FnMut(ClipEvent),
) {
    loop {
        match stop.recv_timeout(POLL_INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        // One attempt: the next poll is the retry.
        if let Some(event) = read_change(shared, &mut clipboard, 1) {
            on_event(event);
        }
    }
}

/// Marks the clipboard's current content as seen, so the polling fallback does not report what was
/// there before `start`.
pub(crate) fn mark_current_as_seen(shared: &Shared, clipboard: &mut arboard::Clipboard) {
    if let Some((fingerprint, _)) = read(clipboard, READ_ATTEMPTS, shared) {
        shared.filter().seen(fingerprint);
    }
}

/// What one read of the clipboard found.
enum Read {
    Text(String),
    Image(Rgba),
    /// An image over the pixel limit, not kept.
    Refused(LimitExceeded),
}

/// Reads the current content and turns it into an event if it is news.
fn read_change(
    shared: &Shared,
    clipboard: &mut arboard::Clipboard,
    attempts: u32,
) -> Option<ClipEvent> {
    let ticket = shared.filter().begin_read();
    let (fingerprint, content) = read(clipboard, attempts, shared)?;
    judge(shared, ticket, fingerprint, content)
}

fn judge(
    shared: &Shared,
    ticket: ReadTicket,
    fingerprint: Fingerprint,
    content: Read,
) -> Option<ClipEvent> {
    match shared.filter().observe(ticket, fingerprint) {
        Verdict::New => {}
        Verdict::Echo => {
            debug!("clipboard holds what we wrote; not reported");
            return None;
        }
        Verdict::Unchanged => {
            debug!("clipboard content unchanged; not reported");
            return None;
        }
    }
    match content {
        Read::Text(text) => match check_text(text.len()) {
            Ok(()) => {
                debug!(len = text.len(), "clipboard text changed");
                Some(ClipEvent::Changed(ClipContent::Text(text)))
            }
            Err(limit) => Some(refused(limit)),
        },
        Read::Image(image) => match image.to_png() {
            Ok(png) => {
                debug!(
                    width = image.width,
                    height = image.height,
                    len = png.len(),
                    "clipboard image changed"
                );
                Some(ClipEvent::Changed(ClipContent::Png(png)))
            }
            Err(ImageProblem::Limit(limit)) => Some(refused(limit)),
            Err(error) => {
                warn!(%error, "cannot encode the clipboard image; not synced");
                None
            }
        },
        Read::Refused(limit) => Some(refused(limit)),
    }
}

fn refused(limit: LimitExceeded) -> ClipEvent {
    // The limit's message has sizes only.
    warn!(%limit, "clipboard content not synced");
    ClipEvent::Skipped(limit)
}

/// Reads the clipboard, text first, then an image, and fingerprints what it found; `None` when it
/// holds neither (or cannot be read).
fn read(
    clipboard: &mut arboard::Clipboard,
    attempts: u32,
    shared: &Shared,
) -> Option<(Fingerprint, Read)> {
    for attempt in 1..=attempts {
        let started = Instant::now();
        match read_once(clipboard, &shared.hasher) {
            Ok(Some(read)) => return Some(read),
            Ok(None) => debug!(
                attempt,
                "clipboard holds neither text nor an image we can read"
            ),
            Err(error) => debug!(attempt, %error, "cannot read the clipboard"),
        }
        // Right after an owner change the owner may not serve yet, and a large transfer can stall
        // past arboard's short wait between INCR chunks: both pass if asked again. Only an owner
        // that never answers is not asked again.
        if attempt == attempts || shared.stopping() || started.elapsed() >= SLOW_ATTEMPT {
            break;
        }
        std::thread::sleep(RETRY_DELAY * attempt);
    }
    debug!("clipboard change not read; not reported");
    None
}

fn read_once(
    clipboard: &mut arboard::Clipboard,
    hasher: &Fingerprinter,
) -> Result<Option<(Fingerprint, Read)>, arboard::Error> {
    match clipboard.get_text() {
        Ok(text) => return Ok(Some((hasher.text(&text), Read::Text(text)))),
        // Not text (or no owner): maybe an image.
        Err(arboard::Error::ContentNotAvailable) => {}
        Err(error) => return Err(error),
    }
    match clipboard.get_image() {
        Ok(image) => {
            // Fingerprinted as read, before the checks, so an image over the limits is refused
            // once, not at every poll.
            let fingerprint = hasher.image(
                u32::try_from(image.width).unwrap_or(u32::MAX),
                u32::try_from(image.height).unwrap_or(u32::MAX),
                &image.bytes,
            );
            match Rgba::from_arboard(image) {
                Ok(image) => Ok(Some((fingerprint, Read::Image(image)))),
                Err(ImageProblem::Limit(limit)) => Ok(Some((fingerprint, Read::Refused(limit)))),
                Err(error) => {
                    warn!(%error, "clipboard image unusable; not synced");
                    Ok(None)
                }
            }
        }
        Err(arboard::Error::ContentNotAvailable) => Ok(None),
        Err(error) => Err(error),
    }
}
