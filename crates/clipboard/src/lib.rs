//! The system clipboard of one side of a Tandem session, for clipboard sync between the user's
//! machine and the technician's.
//!
//! [`SystemClipboard::start`] watches the clipboard of the X display in `DISPLAY` and reports what
//! is copied from then on; [`SystemClipboard::set`] puts the peer's content on it. Changes are learnt
//! from the X XFIXES extension's selection events (no polling of contents), with a 500 ms poll as the
//! fallback where XFIXES is missing. `arboard` writes, and serves what was written; the watcher reads
//! over its own X connection (see `xsel.rs` for why not through arboard).
//!
//! Only what is copied during the session is reported, never our own writes coming back, and never
//! content over the limits ([`MAX_TEXT_LEN`], [`MAX_PNG_LEN`], [`MAX_IMAGE_PIXELS`]). Contents never
//! reach a log: sizes only.

mod content;
mod filter;
mod watch;
mod xsel;

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use thiserror::Error;
use tracing::{debug, info, warn};

pub use content::{ClipContent, LimitExceeded, MAX_IMAGE_PIXELS, MAX_PNG_LEN, MAX_TEXT_LEN};

use content::{Rgba, check_text};
use watch::Shared;
use xsel::{XClipboard, XError};

/// A PNG's pixels as straight RGBA: `(width, height, pixels)`, with the same limits as a PNG from
/// the peer (length, pixel count checked from the header before anything is allocated).
pub fn decode_png(png: &[u8]) -> Result<(u32, u32, Vec<u8>), ClipboardError> {
    let rgba = Rgba::from_png(png)?;
    Ok((rgba.width, rgba.height, rgba.pixels))
}

/// The name of the watcher thread.
pub const THREAD_NAME: &str = "tandem-clipboard";

/// What the watcher reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClipEvent {
    /// New content on the system clipboard, within the limits.
    Changed(ClipContent),
    /// New content on the system clipboard that is over a limit: not synced (the user may be told).
    Skipped(LimitExceeded),
}

/// How changes of the clipboard are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Detection {
    /// XFIXES selection events: a change is seen at once and an idle clipboard costs nothing. Asked
    /// for where the X server lacks XFIXES, polling is used instead.
    #[default]
    Xfixes,
    /// Reading the clipboard every 500 ms and comparing a hash of its content: the fallback.
    Polling,
}

/// Why the clipboard could not be opened or written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClipboardError {
    #[error("cannot open the system clipboard")]
    Open { source: arboard::Error },
    #[error("cannot connect to the X display")]
    Display { source: x11rb::errors::ConnectError },
    #[error("X request failed")]
    X {
        source: x11rb::errors::ReplyOrIdError,
    },
    #[error("cannot write the system clipboard")]
    Write { source: arboard::Error },
    #[error("content not put on the clipboard")]
    TooLarge {
        #[from]
        source: LimitExceeded,
    },
    #[error("the PNG cannot be decoded")]
    BadImage { source: image::ImageError },
    #[error("cannot start the clipboard watcher thread")]
    Spawn { source: std::io::Error },
}

/// The system clipboard, watched from a thread named [`THREAD_NAME`] for as long as this lives.
pub struct SystemClipboard {
    /// Kept for the object's whole life: on X11, arboard serves what `set` wrote from its own
    /// thread only while one of its `Clipboard`s exists. The lock also keeps writes one at a time,
    /// which the echo filter relies on.
    clipboard: Mutex<arboard::Clipboard>,
    shared: Arc<Shared>,
    /// The watcher's X connection, here to wake it for stopping.
    x: Arc<XClipboard>,
    thread: Option<JoinHandle<()>>,
}

impl From<XError> for ClipboardError {
    fn from(error: XError) -> Self {
        match error {
            XError::Connect(source) => Self::Display { source },
            XError::Request(source) => Self::X { source },
        }
    }
}

impl SystemClipboard {
    /// Starts watching the clipboard of the display in `DISPLAY` with XFIXES (polling where the
    /// server lacks it); see [`SystemClipboard::start_with`].
    pub fn start(on_event: impl FnMut(ClipEvent) + Send + 'static) -> Result<Self, ClipboardError> {
        Self::start_with(Detection::default(), on_event)
    }

    /// Starts watching the clipboard of the display in `DISPLAY` on a thread named
    /// [`THREAD_NAME`].
    ///
    /// `on_event` is called on that thread with each new content the user (or any other program)
    /// puts on the clipboard after this returns, and with [`ClipEvent::Skipped`] for new content
    /// over the limits. It is never called with content this object wrote with [`Self::set`], nor
    /// with the same content twice in a row, nor with what was on the clipboard before this call
    /// (only what is copied during the session is shared). Changes in quick succession may be
    /// reported as the last of them only. It should return quickly (e.g. `try_send` into a bounded
    /// channel): the next change is read after it returns, and `Drop` waits for it.
    pub fn start_with(
        detection: Detection,
        on_event: impl FnMut(ClipEvent) + Send + 'static,
    ) -> Result<Self, ClipboardError> {
        let mut on_event = on_event;
        let clipboard =
            arboard::Clipboard::new().map_err(|source| ClipboardError::Open { source })?;
        let x = Arc::new(XClipboard::open(detection == Detection::Xfixes)?);
        if detection == Detection::Xfixes && !x.has_xfixes() {
            warn!("the X server has no XFIXES extension; polling the clipboard instead");
        }
        let shared = Arc::new(Shared::new());
        if !x.has_xfixes() {
            // Polling cannot tell a change from what was there: take the current content as the
            // starting point, here, so nothing copied after `start` returns is taken for it.
            watch::mark_current_as_seen(&x, &shared)?;
        }
        let thread = {
            let (x, shared) = (x.clone(), shared.clone());
            std::thread::Builder::new()
                .name(THREAD_NAME.into())
                .spawn(move || {
                    watch::run(&x, &shared, &mut on_event);
                    debug!("clipboard watcher stopped");
                })
                .map_err(|source| ClipboardError::Spawn { source })?
        };
        let clipboard = Self {
            clipboard: Mutex::new(clipboard),
            shared,
            x,
            thread: Some(thread),
        };
        info!(detection = ?clipboard.detection(), "watching the clipboard");
        Ok(clipboard)
    }

    /// How changes are noticed: [`Detection::Polling`] if XFIXES was asked for but is missing.
    pub fn detection(&self) -> Detection {
        if self.x.has_xfixes() {
            Detection::Xfixes
        } else {
            Detection::Polling
        }
    }

    /// Puts `content` on the system clipboard, where it stays pasteable while `self` lives (or until
    /// something else is copied). A PNG is decoded to pixels for arboard, which serves it as PNG
    /// again; text over [`MAX_TEXT_LEN`], a PNG over [`MAX_PNG_LEN`] or over [`MAX_IMAGE_PIXELS`]
    /// is refused ([`ClipboardError::TooLarge`]), as is a PNG that does not decode
    /// ([`ClipboardError::BadImage`]).
    ///
    /// Decoding and encoding an image takes a while for large ones: call this off an async
    /// runtime's worker threads.
    pub fn set(&self, content: ClipContent) -> Result<(), ClipboardError> {
        let (kind, len) = (content.kind(), content.len());
        // Checked and decoded before any lock is taken: the watcher never waits on this part.
        let prepared = match content {
            ClipContent::Text(text) => {
                check_text(text.len())?;
                Prepared::Text(text)
            }
            ClipContent::Png(png) => Prepared::Image(Rgba::from_png(&png)?),
        };
        let fingerprint = match &prepared {
            Prepared::Text(text) => self.shared.hasher.text(text),
            Prepared::Image(image) => {
                self.shared
                    .hasher
                    .image(image.width, image.height, &image.pixels)
            }
        };

        let mut clipboard = self
            .clipboard
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Recorded before the owner change it causes can be seen, and the write ended after, so
        // the watcher knows its own write however the two interleave.
        self.shared.filter().will_set(fingerprint);
        let result = match &prepared {
            Prepared::Text(text) => clipboard.set_text(text.as_str()),
            Prepared::Image(image) => clipboard.set_image(image.as_arboard()),
        };
        self.shared.filter().did_set();
        drop(clipboard);
        result.map_err(|source| ClipboardError::Write { source })?;
        debug!(kind, len, "clipboard set");
        Ok(())
    }
}

enum Prepared {
    Text(String),
    Image(Rgba),
}

impl Drop for SystemClipboard {
    fn drop(&mut self) {
        self.shared
            .stop
            .store(true, std::sync::atomic::Ordering::Release);
        self.x.wake();
        if let Some(thread) = self.thread.take() {
            // The callback itself may drop us; a thread cannot wait for itself, and it stops at
            // its next check of `stop`.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn system_clipboard_can_move_to_and_be_shared_with_other_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<super::SystemClipboard>();
    }
}
