//! The receiver's thread for one accepted offer: checks for partial files to resume, then writes each
//! chunk as it comes (in order, to the partial file only) and moves each file into place once its
//! hash matches. A full disk or any other failure abandons the partial files; a session that ends
//! keeps them for a resume.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tandem_files::{Downloads, EntryMeta, IncomingFile};

use tandem_proto::bulk::Bulk;
use tokio::sync::mpsc;
use tracing::{debug, info};

use crate::outgoing::PROGRESS_EVERY;
use crate::{TransferId, Way, Work};

/// Chunks queued for the writer thread (256 KiB each): beyond this, the loop stops reading bulk.
pub(crate) const QUEUE: usize = 8;

pub(crate) fn spawn(
    id: u32,
    downloads: Downloads,
    metas: Vec<EntryMeta>,
    chunks: mpsc::Receiver<Bulk>,
    cancel: Arc<AtomicBool>,
    work: mpsc::UnboundedSender<Work>,
) {
    let thread_work = work.clone();
    let spawned = std::thread::Builder::new()
        .name("tandem-recv-file".into())
        .spawn(move || {
            let mut receiver = Receiver {
                id,
                downloads,
                metas,
                current: None,
                next_entry: 0,
                cancel,
                work: thread_work,
            };
            receiver.run(chunks);
        });
    if let Err(e) = spawned {
        let _ = work.send(Work::ReceiveReady {
            id,
            result: Err(format!("cannot start receiving: {e}")),
        });
    }
}

struct Receiver {
    id: u32,
    downloads: Downloads,
    metas: Vec<EntryMeta>,
    /// The entry being written, with its index.
    current: Option<(u32, IncomingFile)>,
    /// Entries before this one are finished.
    next_entry: u32,
    cancel: Arc<AtomicBool>,
    work: mpsc::UnboundedSender<Work>,
}

impl Receiver {
    fn run(&mut self, mut chunks: mpsc::Receiver<Bulk>) {
        let id = self.id;
        // What is there already, per entry: the answer tells the sender where to start.
        let mut resume_from = Vec::with_capacity(self.metas.len());
        for meta in &self.metas {
            match self.downloads.resume_offset(meta) {
                Ok(offset) => resume_from.push(offset),
                Err(e) => {
                    let _ = self.work.send(Work::ReceiveReady {
                        id,
                        result: Err(e.to_string()),
                    });
                    return;
                }
            }
        }
        let mut done: u64 = resume_from.iter().sum();
        let _ = self.work.send(Work::ReceiveReady {
            id,
            result: Ok(resume_from),
        });
        let transfer = TransferId {
            way: Way::Incoming,
            id,
        };
        let mut last_report = Instant::now();
        let result = loop {
            let Some(msg) = chunks.blocking_recv() else {
                // The queue closed: cancelled, or the session ended.
                self.stop();
                return;
            };
            if self.cancel.load(Ordering::Relaxed) {
                self.stop();
                return;
            }
            match self.on_message(msg, &mut done) {
                Ok(true) => break Ok(()),
                Ok(false) => {}
                Err(e) => break Err(e),
            }
            if last_report.elapsed() >= PROGRESS_EVERY {
                last_report = Instant::now();
                let _ = self.work.send(Work::Progress { transfer, done });
            }
        };
        if result.is_err()
            && let Some((_, file)) = self.current.take()
        {
            file.abandon();
        }
        let _ = self.work.send(Work::Progress { transfer, done });
        let _ = self.work.send(Work::ReceiveFinished { id, result });
    }

    /// The queue closed: keep what arrived for a resume, unless the transfer was cancelled.
    fn stop(&mut self) {
        let Some((_, file)) = self.current.take() else {
            return;
        };
        if self.cancel.load(Ordering::Relaxed) {
            debug!(id = self.id, "receive cancelled; partial file deleted");
            file.abandon();
        } else {
            info!(
                id = self.id,
                "transfer interrupted; partial file kept for a resume"
            );
            file.keep_for_resume();
        }
    }

    /// The entry `entry`, opened if it is the next one. Entries come in order.
    fn entry(&mut self, entry: u32) -> Result<&mut IncomingFile, String> {
        if self.current.as_ref().map(|(i, _)| *i) != Some(entry) {
            if entry != self.next_entry || self.current.is_some() {
                return Err(format!(
                    "The sender sent file {entry} out of order (expected file {}).",
                    self.next_entry
                ));
            }
            let meta = self
                .metas
                .get(entry as usize)
                .ok_or_else(|| format!("The sender sent file {entry}, which it did not offer."))?;
            let file = self.downloads.begin(meta).map_err(|e| e.to_string())?;
            self.current = Some((entry, file));
        }
        match &mut self.current {
            Some((_, file)) => Ok(file),
            None => Err("internal: no current file".into()),
        }
    }

    /// Handles one bulk message; `Ok(true)` once every entry is in place.
    fn on_message(&mut self, msg: Bulk, done: &mut u64) -> Result<bool, String> {
        match msg {
            Bulk::FileData {
                entry,
                offset,
                data,
                ..
            } => {
                let file = self.entry(entry)?;
                file.write(offset, &data).map_err(|e| e.to_string())?;
                *done += data.len() as u64;
                Ok(false)
            }
            Bulk::FileEntryEnd { entry, blake3, .. } => {
                self.entry(entry)?;
                let Some((_, file)) = self.current.take() else {
                    return Err("internal: no current file".into());
                };
                let bytes = file.size();
                let path = file.finish(blake3).map_err(|e| e.to_string())?;
                self.next_entry += 1;
                let _ = self.work.send(Work::EntryReceived {
                    id: self.id,
                    path,
                    bytes,
                    blake3: hex(&blake3),
                });
                Ok(self.next_entry as usize == self.metas.len())
            }
            Bulk::ClipboardPart { .. } => Ok(false),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
