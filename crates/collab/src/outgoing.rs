//! The sender's thread for one accepted offer: reads each file a chunk at a time and queues it on the
//! bulk stream, waiting whenever the queue is full, so memory stays bounded and the file moves at the
//! link's pace; then the whole file's hash.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tandem_files::{EntryReader, SourceEntry};
use tandem_proto::bulk::Bulk;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::{TransferId, Way, Work};

/// How often a transfer reports progress.
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_millis(250);

pub(crate) fn spawn(
    id: u32,
    entries: Vec<SourceEntry>,
    resume_from: Vec<u64>,
    bulk: mpsc::Sender<Bulk>,
    cancel: Arc<AtomicBool>,
    work: mpsc::UnboundedSender<Work>,
) {
    let thread_work = work.clone();
    let spawned = std::thread::Builder::new()
        .name("tandem-send-file".into())
        .spawn(move || {
            let result = send_all(id, &entries, &resume_from, &bulk, &cancel, &thread_work);
            if cancel.load(Ordering::Relaxed) {
                debug!(id, "send cancelled");
                return;
            }
            let _ = thread_work.send(Work::SendFinished { id, result });
        });
    if let Err(e) = spawned {
        let _ = work.send(Work::SendFinished {
            id,
            result: Err(format!("cannot start sending: {e}")),
        });
    }
}

fn send_all(
    id: u32,
    entries: &[SourceEntry],
    resume_from: &[u64],
    bulk: &mpsc::Sender<Bulk>,
    cancel: &AtomicBool,
    work: &mpsc::UnboundedSender<Work>,
) -> Result<(), String> {
    let transfer = TransferId {
        way: Way::Outgoing,
        id,
    };
    let mut done: u64 = resume_from.iter().sum();
    let mut last_report = Instant::now();
    for (index, (entry, &offset)) in entries.iter().zip(resume_from).enumerate() {
        let entry_index = index as u32;
        let mut reader = EntryReader::open(entry, offset).map_err(|e| e.to_string())?;
        let mut buf = Vec::with_capacity(tandem_files::CHUNK_LEN);
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Ok(());
            }
            let Some(at) = reader.next_chunk(&mut buf).map_err(|e| e.to_string())? else {
                break;
            };
            done += buf.len() as u64;
            let msg = Bulk::FileData {
                id,
                entry: entry_index,
                offset: at,
                data: std::mem::replace(&mut buf, Vec::with_capacity(tandem_files::CHUNK_LEN)),
            };
            if bulk.blocking_send(msg).is_err() {
                // The session ended: the loop reports it.
                return Ok(());
            }
            if last_report.elapsed() >= PROGRESS_EVERY {
                last_report = Instant::now();
                let _ = work.send(Work::Progress { transfer, done });
            }
        }
        let blake3 = reader.finish().map_err(|e| e.to_string())?;
        if bulk
            .blocking_send(Bulk::FileEntryEnd {
                id,
                entry: entry_index,
                blake3,
            })
            .is_err()
        {
            return Ok(());
        }
    }
    let _ = work.send(Work::Progress { transfer, done });
    if entries.len() != resume_from.len() {
        warn!(id, "resume offsets do not match the entries");
    }
    Ok(())
}
