//! The watcher thread: learns that the clipboard changed (XFIXES owner changes, or the polling
//! fallback), reads the new content, and hands what is news to the callback.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use crate::ClipEvent;
use crate::content::{ClipContent, ImageProblem, LimitExceeded, Rgba};
use crate::filter::{EchoFilter, Fingerprint, Fingerprinter, Kind, ReadTicket, Verdict};
use crate::xsel::{Found, Inbox, Outcome, ReadError, XClipboard, XError};

/// How often the fallback reads the clipboard.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Reads of one change: a refused conversion or a stalled transfer is asked for again after
/// `RETRY_DELAY` times the attempt number (right after an owner change, an owner may not serve
/// yet).
const READ_ATTEMPTS: u32 = 3;
const RETRY_DELAY: Duration = Duration::from_millis(50);

/// What the watcher thread and [`crate::SystemClipboard`] share.
pub(crate) struct Shared {
    pub(crate) hasher: Fingerprinter,
    filter: Mutex<EchoFilter>,
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

    pub(crate) fn filter(&self) -> MutexGuard<'_, EchoFilter> {
        // The filter holds plain values that stay consistent whatever panicked: keep using it.
        self.filter.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// The watcher loop. Returns when asked to stop or when the X connection fails.
pub(crate) fn run(x: &XClipboard, shared: &Shared, on_event: &mut dyn FnMut(ClipEvent)) {
    let mut inbox = Inbox::default();
    let mut next_poll = Instant::now() + POLL_INTERVAL;
    loop {
        // With XFIXES, sleep until the server reports something; polling wakes for its next turn.
        let deadline = (!x.has_xfixes()).then_some(next_poll);
        if let Err(error) = x.wait(deadline, &mut inbox) {
            warn!(%error, "lost the X connection; clipboard changes are no longer watched");
            return;
        }
        if inbox.stop || shared.stopping() {
            return;
        }
        if x.has_xfixes() {
            match inbox.owner_changed.take() {
                None => continue,
                // The owner quit or gave the clipboard up: it is empty, nothing to sync.
                Some(x11rb::NONE) => {
                    debug!("clipboard has no owner now");
                    continue;
                }
                Some(_) => {}
            }
        } else {
            if Instant::now() < next_poll {
                continue;
            }
            next_poll = Instant::now() + POLL_INTERVAL;
        }
        match read_change(x, shared, &mut inbox) {
            Ok(Some(event)) => on_event(event),
            Ok(None) => {}
            Err(ReadError::Stopped) => return,
            Err(ReadError::X(error)) => {
                warn!(%error, "lost the X connection; clipboard changes are no longer watched");
                return;
            }
        }
    }
}

/// Marks the clipboard's current content as seen, so the polling fallback does not report what was
/// there before `start`.
pub(crate) fn mark_current_as_seen(x: &XClipboard, shared: &Shared) -> Result<(), XError> {
    let mut inbox = Inbox::default();
    match read(x, shared, &mut inbox) {
        Ok(Some((fingerprint, _))) => shared.filter().seen(fingerprint),
        // Nothing can ask to stop before the thread exists.
        Ok(None) | Err(ReadError::Stopped) => {}
        Err(ReadError::X(error)) => return Err(error),
    }
    Ok(())
}

/// Reads the current content and turns it into an event if it is news.
fn read_change(
    x: &XClipboard,
    shared: &Shared,
    inbox: &mut Inbox,
) -> Result<Option<ClipEvent>, ReadError> {
    let ticket = shared.filter().begin_read();
    let Some((fingerprint, content)) = read(x, shared, inbox)? else {
        return Ok(None);
    };
    Ok(judge(shared, ticket, fingerprint, content))
}

/// What a read found, checked against the limits.
enum Content {
    Text(String),
    Image(Rgba),
    Over(LimitExceeded),
    /// Not usable (an undecodable PNG): seen, but nothing to report.
    Unusable,
}

/// Reads the clipboard and fingerprints what it holds; `None` when it holds nothing we sync or
/// cannot be read.
fn read(
    x: &XClipboard,
    shared: &Shared,
    inbox: &mut Inbox,
) -> Result<Option<(Fingerprint, Content)>, ReadError> {
    // The polling fallback has no owner reports: an empty clipboard costs one round trip.
    if !x.has_xfixes() && x.owner()? == x11rb::NONE {
        return Ok(None);
    }
    for attempt in 1..=READ_ATTEMPTS {
        match x.read(&shared.hasher, inbox)? {
            Outcome::Found(found) => return Ok(Some(examine(&shared.hasher, found))),
            Outcome::Nothing => {
                debug!("clipboard holds neither text nor a PNG image");
                return Ok(None);
            }
            Outcome::NoAnswer => {
                debug!("clipboard owner does not answer; change not read");
                return Ok(None);
            }
            Outcome::Failed => debug!(attempt, "clipboard not read"),
        }
        // A newer change makes this one moot: its own read follows.
        if attempt == READ_ATTEMPTS || inbox.owner_changed.is_some() {
            break;
        }
        // Waits on the connection, not a sleep: the stop message still ends it at once.
        x.wait(Some(Instant::now() + RETRY_DELAY * attempt), inbox)?;
        if inbox.stop || shared.stopping() {
            return Err(ReadError::Stopped);
        }
    }
    Ok(None)
}

/// Fingerprints what was found and checks it against the limits, decoding an image.
fn examine(hasher: &Fingerprinter, found: Found) -> (Fingerprint, Content) {
    match found {
        Found::Text(text) => (hasher.text(&text), Content::Text(text)),
        Found::Over(limit, fingerprint) => (fingerprint, Content::Over(limit)),
        Found::Png(png) => match Rgba::from_png(&png) {
            Ok(image) => (
                hasher.image(image.width, image.height, &image.pixels),
                Content::Image(image),
            ),
            Err(error) => {
                let mut digest = hasher.streaming(Kind::Png);
                digest.write(&png);
                let content = match error {
                    crate::ClipboardError::TooLarge { source } => Content::Over(source),
                    error => {
                        warn!(%error, len = png.len(), "clipboard image unusable; not synced");
                        Content::Unusable
                    }
                };
                (digest.finish(), content)
            }
        },
    }
}

fn judge(
    shared: &Shared,
    ticket: ReadTicket,
    fingerprint: Fingerprint,
    content: Content,
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
        Content::Text(text) => {
            debug!(len = text.len(), "clipboard text changed");
            Some(ClipEvent::Changed(ClipContent::Text(text)))
        }
        // Encoded again: strips whatever metadata the owner's PNG carried, and bounds the output.
        Content::Image(image) => match image.to_png() {
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
        Content::Over(limit) => Some(refused(limit)),
        Content::Unusable => None,
    }
}

fn refused(limit: LimitExceeded) -> ClipEvent {
    // The limit's message has sizes only.
    warn!(%limit, "clipboard content not synced");
    ClipEvent::Skipped(limit)
}
