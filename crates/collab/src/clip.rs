//! The bridge between the session and the system clipboard: watches it while the session allows
//! clipboard sharing, sends each change as bulk parts, and puts the peer's content on it.
//!
//! **One session's clipboard never reaches another.** A technician may run several sessions on one
//! desktop. When session A puts its user's clipboard on the technician's clipboard, session B's
//! watcher sees a change too; were it to send it, user A's clipboard would reach user B. So each
//! session records a fingerprint of every content it puts on the clipboard in a per-user folder,
//! and a session never sends a content another live session put there. The folder is per user and
//! per display: a clipboard belongs to one display.

use std::path::PathBuf;
use std::sync::Arc;

use tandem_clipboard::{ClipContent, ClipEvent, SystemClipboard};
use tandem_proto::bulk::{Bulk, ClipFormat};
use tandem_proto::flow::Machine;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::{ClipFailReason, Notice, Work};

/// What the clipboard side reports to the loop.
#[derive(Debug)]
pub enum ClipWork {
    /// The user copied something.
    Changed(ClipContent),
    /// The user copied something over a limit.
    Skipped(String),
    /// The peer's content was put on the clipboard (its format and size), or could not be.
    Applied(Result<(ClipFormat, usize), ClipFailReason>),
}

pub(crate) struct ClipboardBridge {
    enabled: bool,
    work: mpsc::UnboundedSender<Work>,
    system: Option<Arc<SystemClipboard>>,
    /// Sends the parts of the last change; a newer change replaces it.
    sending: Option<tokio::task::JoinHandle<()>>,
    origins: Origins,
}

impl ClipboardBridge {
    pub(crate) fn new(enabled: bool, work: mpsc::UnboundedSender<Work>) -> Self {
        Self {
            enabled,
            work,
            system: None,
            sending: None,
            origins: Origins::new(),
        }
    }

    /// Watches the clipboard exactly while `allowed`.
    pub(crate) fn follow(&mut self, allowed: bool) {
        let allowed = allowed && self.enabled;
        if allowed && self.system.is_none() {
            let work = self.work.clone();
            let started = SystemClipboard::start(move |event| {
                let work_item = match event {
                    ClipEvent::Changed(content) => ClipWork::Changed(content),
                    ClipEvent::Skipped(limit) => ClipWork::Skipped(limit.to_string()),
                    _ => return,
                };
                let _ = work.send(Work::Clipboard(work_item));
            });
            match started {
                Ok(system) => self.system = Some(Arc::new(system)),
                Err(e) => {
                    warn!(error = %e, "the system clipboard cannot be used; clipboard sharing is off");
                    self.enabled = false;
                    let _ = self.work.send(Work::Clipboard(ClipWork::Applied(Err(
                        ClipFailReason::Unusable {
                            detail: e.to_string(),
                        },
                    ))));
                }
            }
        } else if !allowed {
            if let Some(task) = self.sending.take() {
                task.abort();
            }
            // Dropping stops the watcher; what this side set stays until something else is copied.
            self.system = None;
        }
    }

    /// The peer's clipboard: onto the system clipboard (off the loop: images are decoded).
    pub(crate) fn apply(&mut self, format: ClipFormat, data: Vec<u8>) {
        let Some(system) = self.system.clone() else {
            debug!("peer clipboard dropped: clipboard sharing is off here");
            return;
        };
        let content = match format {
            ClipFormat::Text => match String::from_utf8(data) {
                Ok(text) => ClipContent::Text(text),
                // The machine checked it already.
                Err(_) => return,
            },
            ClipFormat::Png => ClipContent::Png(data),
        };
        let bytes = content.len();
        self.origins.record(&content);
        let work = self.work.clone();
        tokio::task::spawn_blocking(move || {
            let result =
                system
                    .set(content)
                    .map(|()| (format, bytes))
                    .map_err(|e| ClipFailReason::NotSet {
                        detail: e.to_string(),
                    });
            let _ = work.send(Work::Clipboard(ClipWork::Applied(result)));
        });
    }

    pub(crate) fn handle(
        &mut self,
        machine: &mut impl Machine,
        bulk: Option<&mpsc::Sender<Bulk>>,
        work: ClipWork,
    ) -> Option<Notice> {
        match work {
            ClipWork::Changed(content) => {
                if self.origins.set_by_another_session(&content) {
                    debug!("clipboard set by another Tandem session: not sent");
                    return None;
                }
                let (format, data) = match &content {
                    ClipContent::Text(text) => (ClipFormat::Text, text.as_bytes()),
                    ClipContent::Png(png) => (ClipFormat::Png, png.as_slice()),
                };
                let parts = match machine.clipboard_parts(format, data) {
                    Ok(parts) => parts,
                    Err(e) => {
                        debug!(error = %e, "clipboard change not sent");
                        return None;
                    }
                };
                let bulk = bulk?.clone();
                if let Some(task) = self.sending.take() {
                    task.abort();
                }
                self.sending = Some(tokio::spawn(async move {
                    for part in parts {
                        if bulk.send(part).await.is_err() {
                            return;
                        }
                    }
                }));
                Some(Notice::ClipboardSent {
                    format,
                    bytes: data.len(),
                })
            }
            ClipWork::Skipped(detail) => Some(Notice::ClipboardFailed {
                reason: ClipFailReason::NotShared { detail },
            }),
            ClipWork::Applied(Ok((format, bytes))) => {
                Some(Notice::ClipboardReceived { format, bytes })
            }
            ClipWork::Applied(Err(reason)) => Some(Notice::ClipboardFailed { reason }),
        }
    }
}

impl Drop for ClipboardBridge {
    fn drop(&mut self) {
        if let Some(task) = self.sending.take() {
            task.abort();
        }
    }
}

/// The fingerprints of what the live Tandem sessions of this user put on the clipboard: one file
/// per content, named by its fingerprint, holding the writer's process id.
struct Origins {
    dir: Option<PathBuf>,
    mine: Vec<PathBuf>,
}

impl Origins {
    fn new() -> Self {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
        // One clipboard per display: sessions on other displays of this machine (a test, a second
        // seat) have clipboards of their own and must not count.
        let display: String = std::env::var("DISPLAY")
            .unwrap_or_default()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = base.join(format!("tandem-clipboard-{user}-{display}"));
        let made = {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
        };
        let dir = match made {
            Ok(()) => Some(dir),
            Err(e) => {
                warn!(error = %e, "cannot record clipboard origins; several sessions may share a clipboard");
                None
            }
        };
        Self {
            dir,
            mine: Vec::new(),
        }
    }

    fn path(&self, content: &ClipContent) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.join(fingerprint(content)?))
    }

    fn record(&mut self, content: &ClipContent) {
        let Some(path) = self.path(content) else {
            return;
        };
        if std::fs::write(&path, std::process::id().to_string()).is_ok() {
            self.mine.push(path);
        }
    }

    /// Whether another live process put this content on the clipboard.
    fn set_by_another_session(&self, content: &ClipContent) -> bool {
        let Some(path) = self.path(content) else {
            return false;
        };
        let Ok(owner) = std::fs::read_to_string(&path) else {
            return false;
        };
        let Ok(pid) = owner.trim().parse::<u32>() else {
            return false;
        };
        pid != std::process::id() && PathBuf::from(format!("/proc/{pid}")).exists()
    }
}

impl Drop for Origins {
    fn drop(&mut self) {
        for path in self.mine.drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What identifies a content across sessions: the text, or an image's pixels (its PNG encoding may
/// differ from one program to the next).
fn fingerprint(content: &ClipContent) -> Option<String> {
    let mut hasher = blake3::Hasher::new();
    match content {
        ClipContent::Text(text) => {
            hasher.update(b"text\0");
            hasher.update(text.as_bytes());
        }
        ClipContent::Png(png) => {
            // Decoded within the clipboard's limits: a hostile PNG costs no more than a legal one.
            let (width, height, pixels) = tandem_clipboard::decode_png(png).ok()?;
            hasher.update(b"image\0");
            hasher.update(&width.to_be_bytes());
            hasher.update(&height.to_be_bytes());
            hasher.update(&pixels);
        }
    }
    Some(hasher.finalize().to_hex()[..32].to_string())
}
