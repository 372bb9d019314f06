//! The decoder thread: owns the codec's `Decoder`, decodes screen updates in order off the async
//! runtime and outside the screen's lock, publishes the changed regions to the [`Screen`] and reports
//! each result to the session loop (which acknowledges it).

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Instant;

use tandem_codec::format::{FLAG_OPS_ZSTD, HEADER_LEN, MAGIC};
use tandem_codec::{DecodeError, DecodeInfo, Decoder, DecoderLimits};
use tokio::sync::mpsc;
use tracing::warn;

use crate::recorder::{FLUSH_EVERY, Recorder, RecordingSummary};
use crate::screen::{Screen, SharedScreen};
use crate::session::Repaint;

/// Updates waiting to be decoded. The host never has more than the flow-control window (4) in
/// flight, so a full queue means the host broke the protocol.
const DECODE_QUEUE: usize = 16;
/// Cursor positions waiting to be recorded; more are dropped (the next one replaces them).
const CURSOR_QUEUE: usize = 64;

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

    /// Decodes `update` outside `screen`'s lock, then publishes the result into it (a window
    /// drawing the picture meanwhile is never held up by a decode).
    pub fn apply_to_shared(
        &mut self,
        screen: &SharedScreen,
        update: &[u8],
    ) -> Result<DecodeInfo, DecodeError> {
        let result = self.decode(update);
        self.publish(&mut Screen::lock(screen), &result);
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
    /// The recording file is open (it begins at the next keyframe).
    RecordingStarted { path: PathBuf },
    /// The recording stopped and its file is complete.
    RecordingStopped(RecordingSummary),
    /// The recording could not be created or written (a full disk): it stopped, the session goes on.
    RecordingFailed { path: PathBuf, error: String },
}

/// Work for the decoder thread, in order.
enum Job {
    /// Update `seq`, received at `at`.
    Update {
        seq: u64,
        payload: Vec<u8>,
        at: Instant,
    },
    /// Start recording into `path` (times count from `at`).
    StartRecording {
        path: PathBuf,
        at: Instant,
    },
    StopRecording,
}

/// Why an update was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more screen updates arrived than the flow-control window allows")]
pub struct QueueFull;

/// The decoder thread's handle. Dropping it stops the thread once its queue is empty (or at once, if
/// the results receiver is gone too); nobody waits for it.
pub struct DecoderThread {
    queue: SyncSender<Job>,
    cursors: SyncSender<(Instant, Option<(i32, i32)>)>,
}

impl DecoderThread {
    pub fn spawn(
        screen: SharedScreen,
        repaint: Repaint,
        limits: DecoderLimits,
        results: mpsc::Sender<Decoded>,
    ) -> std::io::Result<Self> {
        // Room for the flow-control window plus recording starts and stops (one per answer).
        let (queue, jobs) = std::sync::mpsc::sync_channel(DECODE_QUEUE);
        let (cursors, cursor_jobs) = std::sync::mpsc::sync_channel(CURSOR_QUEUE);
        std::thread::Builder::new()
            .name("tandem-decode".into())
            .spawn(move || {
                DecodeLoop {
                    decoder: ScreenDecoder::with_limits(limits),
                    recorder: None,
                    screen: &screen,
                    repaint: &repaint,
                    results: &results,
                }
                .run(&jobs, &cursor_jobs)
            })?;
        Ok(Self { queue, cursors })
    }

    /// Queues update `seq` (received at `at`) for decoding without waiting.
    pub fn submit(&self, seq: u64, payload: Vec<u8>, at: Instant) -> Result<(), QueueFull> {
        self.send(Job::Update { seq, payload, at })
    }

    /// Starts recording into `path`, from the next keyframe on.
    pub fn start_recording(&self, path: PathBuf, at: Instant) -> Result<(), QueueFull> {
        self.send(Job::StartRecording { path, at })
    }

    pub fn stop_recording(&self) -> Result<(), QueueFull> {
        self.send(Job::StopRecording)
    }

    /// Records a cursor position (dropped if the recorder is behind; positions are not flow
    /// controlled, and the next one replaces it).
    pub fn record_cursor(&self, position: Option<(i32, i32)>, at: Instant) {
        let _ = self.cursors.try_send((at, position));
    }

    fn send(&self, job: Job) -> Result<(), QueueFull> {
        match self.queue.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(QueueFull),
            // The thread stopped after a failure it already reported.
            Err(TrySendError::Disconnected(_)) => Ok(()),
        }
    }
}

/// The decoder thread's state.
struct DecodeLoop<'a> {
    decoder: ScreenDecoder,
    recorder: Option<Recorder>,
    screen: &'a SharedScreen,
    repaint: &'a Repaint,
    results: &'a mpsc::Sender<Decoded>,
}

impl DecodeLoop<'_> {
    fn run(mut self, jobs: &Receiver<Job>, cursors: &Receiver<(Instant, Option<(i32, i32)>)>) {
        loop {
            // Wake up to flush the recording even while the screen is still.
            let job = match jobs.recv_timeout(FLUSH_EVERY) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            while let Ok((at, position)) = cursors.try_recv() {
                self.record(|r| r.cursor(at, position));
            }
            let keep_going = match job {
                Some(Job::Update { seq, payload, at }) => self.decode(seq, &payload, at),
                Some(Job::StartRecording { path, at }) => {
                    self.stop_recording();
                    let size = (self.decoder.decoder.width(), self.decoder.decoder.height());
                    match Recorder::create(path.clone(), size, at) {
                        Ok(recorder) => {
                            self.recorder = Some(recorder);
                            self.report(Decoded::RecordingStarted { path })
                        }
                        Err(e) => self.report(Decoded::RecordingFailed {
                            path,
                            error: e.to_string(),
                        }),
                    }
                }
                Some(Job::StopRecording) => {
                    self.stop_recording();
                    true
                }
                None => true,
            };
            let now = Instant::now();
            self.record(|r| r.flush_if_due(now));
            if !keep_going {
                break;
            }
        }
        self.stop_recording();
    }

    /// Decodes, publishes and records one update; false once the loop should stop.
    fn decode(&mut self, seq: u64, payload: &[u8], at: Instant) -> bool {
        // Decode outside the lock; hold it only to copy what changed.
        let started = Instant::now();
        let result = self.decoder.decode(payload);
        let decode_time = started.elapsed();
        let size = (self.decoder.decoder.width(), self.decoder.decoder.height());
        let written = match (&result, self.recorder.as_mut()) {
            (Ok(_), Some(recorder)) => Some(recorder.update(at, payload, size)),
            _ => None,
        };
        let recorded_ms = match written {
            Some(Ok(t)) => t,
            Some(Err(e)) => {
                self.fail_recording(e.to_string());
                None
            }
            None => None,
        };
        {
            let mut screen = Screen::lock(self.screen);
            self.decoder.publish(&mut screen, &result);
            if self.recorder.is_none() {
                screen.recorded_ms = None;
            } else if recorded_ms.is_some() {
                screen.recorded_ms = recorded_ms;
            }
        }
        (self.repaint)();
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
        self.report(report) && !failed
    }

    /// Runs `write` on the open recording; a failure stops the recording and is reported.
    fn record(
        &mut self,
        write: impl FnOnce(&mut Recorder) -> Result<(), tandem_recording::RecordingError>,
    ) {
        if let Some(recorder) = &mut self.recorder
            && let Err(e) = write(recorder)
        {
            self.fail_recording(e.to_string());
        }
    }

    fn fail_recording(&mut self, error: String) {
        if let Some(recorder) = self.recorder.take() {
            let path = recorder.path().to_path_buf();
            warn!(path = %path.display(), "the recording failed and stopped");
            recorder.abandon();
            Screen::lock(self.screen).recorded_ms = None;
            self.report(Decoded::RecordingFailed { path, error });
        }
    }

    fn stop_recording(&mut self) {
        if let Some(recorder) = self.recorder.take() {
            Screen::lock(self.screen).recorded_ms = None;
            let path = recorder.path().to_path_buf();
            match recorder.finish() {
                Ok(summary) => self.report(Decoded::RecordingStopped(summary)),
                Err(e) => self.report(Decoded::RecordingFailed {
                    path,
                    error: e.to_string(),
                }),
            };
        }
    }

    /// Reports to the session loop; false once it is gone.
    fn report(&self, decoded: Decoded) -> bool {
        self.results.blocking_send(decoded).is_ok()
    }
}
