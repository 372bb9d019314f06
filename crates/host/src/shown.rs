//! "Show my screen", the user's side: the technician's screen decoded for the user to watch, view
//! only. It uses the viewer's hardened decoder and picture (the same limits on what a peer may
//! send) on a thread of its own, so a large update never holds up the session loop.

use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::thread::JoinHandle;

use tandem_viewer::decode::ScreenDecoder;
use tandem_viewer::screen::{Screen, SharedScreen};
use tokio::sync::mpsc::UnboundedSender;

/// Updates waiting to be decoded. The technician's side sends only while its own queue is nearly
/// empty, so more than this means it does not pace itself: the showing is closed.
const SHOWN_QUEUE: usize = 8;

/// The technician's screen as decoded so far, for the user's window (or a snapshot).
#[derive(Clone)]
pub struct ShownPicture(pub SharedScreen);

impl PartialEq for ShownPicture {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for ShownPicture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShownPicture")
    }
}

/// What the decoder thread tells the session loop.
#[derive(Debug)]
pub(crate) enum ShownStatus {
    /// The first picture is decoded, this size.
    First { width: u32, height: u32 },
    /// An update could not be decoded (or the technician's side sent too fast): close it.
    Failed(String),
}

/// The decoder thread and its picture; dropping it ends the thread.
pub(crate) struct ShownDecoder {
    updates: Option<SyncSender<Vec<u8>>>,
    picture: ShownPicture,
    thread: Option<JoinHandle<()>>,
}

impl ShownDecoder {
    pub(crate) fn start(status: UnboundedSender<ShownStatus>) -> std::io::Result<Self> {
        let screen = Screen::shared();
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(SHOWN_QUEUE);
        let shared = screen.clone();
        let thread = std::thread::Builder::new()
            .name("tandem-shown".into())
            .spawn(move || {
                let mut decoder = ScreenDecoder::new();
                let mut first = true;
                while let Ok(update) = rx.recv() {
                    match decoder.apply_to_shared(&shared, &update) {
                        Ok(_) if first => {
                            first = false;
                            let (width, height) = Screen::lock(&shared).size();
                            let _ = status.send(ShownStatus::First { width, height });
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let _ = status.send(ShownStatus::Failed(format!(
                                "the technician's screen could not be decoded: {e}"
                            )));
                            return;
                        }
                    }
                }
            })?;
        Ok(Self {
            updates: Some(tx),
            picture: ShownPicture(screen),
            thread: Some(thread),
        })
    }

    pub(crate) fn picture(&self) -> ShownPicture {
        self.picture.clone()
    }

    /// Queues an update; `Err` with the reason if the decoder is gone or the queue is full.
    pub(crate) fn push(&self, update: Vec<u8>) -> Result<(), String> {
        let Some(updates) = &self.updates else {
            return Err("the decoder stopped".into());
        };
        updates.try_send(update).map_err(|e| match e {
            TrySendError::Full(_) => {
                "the technician's screen came faster than it could be shown".to_owned()
            }
            TrySendError::Disconnected(_) => "the decoder stopped".to_owned(),
        })
    }
}

impl Drop for ShownDecoder {
    fn drop(&mut self) {
        // Closing the queue ends the thread after the update in hand.
        self.updates = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
