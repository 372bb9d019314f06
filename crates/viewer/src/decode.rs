//! The decoder thread: owns the codec's `Decoder`, decodes screen updates in order off the async
//! runtime and outside the screen's lock, publishes the changed regions to the [`Screen`] and reports
//! each result to the session loop (which acknowledges it).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use tandem_codec::format::{FLAG_OPS_ZSTD, HEADER_LEN, MAGIC};
use tandem_codec::{DecodeError, DecodeInfo, Decoder, DecoderLimits};
use tokio::sync::mpsc;

use crate::screen::{Screen, SharedScreen};
use crate::session::Repaint;

/// Updates waiting to be decoded. The host never has more than the flow-control window (4) in
/// flight, so a full queue means the host broke the protocol.
const DECODE_QUEUE: usize = 16;

/// The largest picture the viewer accepts: an 8K screen (7680x4320, 133 MB as RGBA). Real screens
/// fit; a host claiming more is refused instead of costing the viewer memory.
pub const VIEWER_LIMITS: DecoderLimits = DecoderLimits {
    max_width: 7680,
    max_height: 4320,
};

/// Most bytes zstd can produce per compressed byte: a raw-RLE block is 4 bytes for at most 128 KiB.
/// A header claiming a larger ratio is a lie meant to make the decoder reserve memory up front.
pub(crate) const MAX_ZSTD_RATIO: usize = 128 * 1024 / 4;

/// The codec's decoder with the viewer's checks on what a hostile host may send.
pub struct ScreenDecoder {
    decoder: Decoder,
}

impl ScreenDecoder {
    /// A decoder with the viewer's limits ([`VIEWER_LIMITS`]).
    pub fn new() -> Self {
        Self::with_limits(VIEWER_LIMITS)
    }

    pub fn with_limits(limits: DecoderLimits) -> Self {
        Self {
            decoder: Decoder::new(limits),
        }
    }

    /// Decodes one update into the decoder's own picture.
    pub fn decode(&mut self, update: &[u8]) -> Result<DecodeInfo, DecodeError> {
        check_ops_len(update)?;
        self.decoder.decode(update)
    }

    /// Decodes `update` and publishes the result into `screen` (all of it after a failure, which
    /// may have changed the picture anywhere).
    pub fn apply_to(
        &mut self,
        screen: &mut Screen,
        update: &[u8],
    ) -> Result<DecodeInfo, DecodeError> {
        let result = self.decode(update);
        self.publish(screen, &result);
        result
    }

    /// Publishes what the last decode did into `screen`: the changed regions, or after a failure
    /// (which may have changed the picture anywhere) all of it.
    fn publish(&self, screen: &mut Screen, result: &Result<DecodeInfo, DecodeError>) {
        match result {
            Ok(info) => screen.publish(&self.decoder, info),
            Err(_) => screen.publish_failed(&self.decoder),
        }
    }
}

impl Default for ScreenDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Refuses an update whose header announces more decompressed ops than its compressed ops could
/// hold: the decoder reserves the announced size before decompressing, so without this a 100-byte
/// update could make it reserve a whole picture's worth of memory for nothing.
fn check_ops_len(update: &[u8]) -> Result<(), DecodeError> {
    if update.len() < HEADER_LEN || update[..2] != MAGIC || update[3] & FLAG_OPS_ZSTD == 0 {
        // Malformed headers are the decoder's to report; plain ops are bounded by the update size.
        return Ok(());
    }
    let le32 = |at: usize| {
        u32::from_le_bytes([update[at], update[at + 1], update[at + 2], update[at + 3]]) as usize
    };
    let (ops_len, ops_z_len) = (le32(12), le32(16));
    let max = ops_z_len.saturating_mul(MAX_ZSTD_RATIO);
    if ops_len > max {
        return Err(DecodeError::OpsTooLarge { len: ops_len, max });
    }
    Ok(())
}

/// What the decoder thread reports.
#[derive(Debug)]
pub enum Decoded {
    /// Update `seq` (`bytes` long) is decoded and published; decoding took `decode_time`.
    Update {
        seq: u64,
        bytes: usize,
        decode_time: std::time::Duration,
    },
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
            .spawn(move || {
                decode_loop(
                    &jobs,
                    ScreenDecoder::with_limits(limits),
                    &screen,
                    &repaint,
                    &results,
                )
            })?;
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
    mut decoder: ScreenDecoder,
    screen: &SharedScreen,
    repaint: &Repaint,
    results: &mpsc::Sender<Decoded>,
) {
    for (seq, payload) in jobs {
        // Decode outside the lock; hold it only to copy what changed.
        let started = std::time::Instant::now();
        let result = decoder.decode(&payload);
        let decode_time = started.elapsed();
        decoder.publish(&mut Screen::lock(screen), &result);
        repaint();
        let report = match result {
            Ok(_) => Decoded::Update {
                seq,
                bytes: payload.len(),
                decode_time,
            },
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
