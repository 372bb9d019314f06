//! The decoder thread: owns the codec's `Decoder`, decodes screen updates in order off the async
//! runtime and outside the screen's lock, publishes the changed regions to the [`Screen`] and reports
//! each result to the session loop (which acknowledges it).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use tandem_codec::{Decoder, DecoderLimits};
use tokio::sync::mpsc;

use crate::screen::{Screen, SharedScreen};
use crate::session::Repaint;

/// Updates waiting to be decoded. The host never has more than the flow-control window (4) in
/// flight, so a full queue means the host broke the protocol.
const DECODE_QUEUE: usize = 16;

/// The largest picture the viewer accepts: 8K, the largest real screens.
pub const MAX_PICTURE: DecoderLimits = DecoderLimits {
    max_width: 7680,
    max_height: 4320,
};

/// What the decoder thread reports.
#[derive(Debug)]
pub enum Decoded {
    /// Update `seq` (`bytes` long) is decoded and published.
    Update { seq: u64, bytes: usize },
    /// Update `seq` could not be decoded; the picture can no longer be trusted.
    Failed { seq: u64, error: String },
}

/// Why an update was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more screen updates arrived than the flow-control window allows")]
pub struct QueueFull;

/// The decoder thread's handle. Dropping it stops the thread once its queue is empty (or at once, if
/// the results receiver is gone too); nobody waits for it.
pub struct DecoderThread {
    queue: SyncSender<(u64, Vec<u8>)>,
}

impl DecoderThread {
    pub fn spawn(
        screen: SharedScreen,
        repaint: Repaint,
        limits: DecoderLimits,
        results: mpsc::Sender<Decoded>,
    ) -> std::io::Result<Self> {
        let (queue, jobs) = std::sync::mpsc::sync_channel(DECODE_QUEUE);
        std::thread::Builder::new()
            .name("tandem-decode".into())
            .spawn(move || decode_loop(&jobs, Decoder::new(limits), &screen, &repaint, &results))?;
        Ok(Self { queue })
    }

    /// Queues update `seq` for decoding without waiting.
    pub fn submit(&self, seq: u64, payload: Vec<u8>) -> Result<(), QueueFull> {
        match self.queue.try_send((seq, payload)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(QueueFull),
            // The thread stopped after a failure it already reported.
            Err(TrySendError::Disconnected(_)) => Ok(()),
        }
    }
}

fn decode_loop(
    jobs: &Receiver<(u64, Vec<u8>)>,
    mut decoder: Decoder,
    screen: &SharedScreen,
    repaint: &Repaint,
    results: &mpsc::Sender<Decoded>,
) {
    for (seq, payload) in jobs {
        let report = match decoder.decode(&payload) {
            Ok(info) => {
                Screen::lock(screen).publish(&decoder, &info);
                repaint();
                Decoded::Update {
                    seq,
                    bytes: payload.len(),
                }
            }
            Err(e) => Decoded::Failed {
                seq,
                error: e.to_string(),
            },
        };
        let failed = matches!(report, Decoded::Failed { .. });
        if results.blocking_send(report).is_err() || failed {
            return;
        }
    }
}
