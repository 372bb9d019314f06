//! The session recording on the viewer's side: owned by the decoder thread, which writes each
//! update exactly as received (after decoding it, so the recording holds what was shown), plus
//! cursor positions and size changes. It starts only once the host said yes, at the first keyframe
//! after that (the codec's state must start empty), and stops when the host or the technician says
//! so. Never keys, clipboard or codes: nothing but the frames stream reaches it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tandem_recording::{RecordingError, RecordingWriter, is_keyframe};
use tracing::{info, warn};

/// How often buffered records are pushed to the file (at most this much is lost in a crash).
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// An open recording.
pub struct Recorder {
    path: PathBuf,
    writer: RecordingWriter<std::fs::File>,
    started: Instant,
    /// No keyframe yet: updates before it cannot be replayed and are not written.
    waiting_for_keyframe: bool,
    /// The last picture size written.
    size: (u32, u32),
    last_flush: Instant,
    updates: u64,
}

/// How a recording went, when it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSummary {
    pub path: PathBuf,
    pub bytes: u64,
    pub updates: u64,
}

impl Recorder {
    /// Creates the file (header with the picture's current size) at `path`.
    pub fn create(
        path: PathBuf,
        size: (u32, u32),
        started: Instant,
    ) -> Result<Self, RecordingError> {
        let dims = |v: u32| u16::try_from(v).unwrap_or(0);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| RecordingError::Io {
                action: "create the folder of",
                source,
            })?;
        }
        let writer = RecordingWriter::create(&path, dims(size.0), dims(size.1))?;
        info!(path = %path.display(), "recording started");
        Ok(Self {
            path,
            writer,
            started,
            waiting_for_keyframe: true,
            size: (0, 0),
            last_flush: started,
            updates: 0,
        })
    }

    fn t_ms(&self, at: Instant) -> u32 {
        u32::try_from(at.saturating_duration_since(self.started).as_millis()).unwrap_or(u32::MAX)
    }

    /// Writes an update received at `at` and decoded to a picture of `size`; returns its time in
    /// the recording, or `None` if it was not written (before the first keyframe).
    pub fn update(
        &mut self,
        at: Instant,
        payload: &[u8],
        size: (u32, u32),
    ) -> Result<Option<u32>, RecordingError> {
        if self.waiting_for_keyframe {
            if !is_keyframe(payload) {
                return Ok(None);
            }
            self.waiting_for_keyframe = false;
        }
        let t = self.t_ms(at);
        if size != self.size {
            self.writer.write_size(t, size.0, size.1)?;
            self.size = size;
        }
        self.writer.write_update(t, payload)?;
        self.updates += 1;
        Ok(Some(t))
    }

    /// Writes a cursor position received at `at` (once the recording has its keyframe).
    pub fn cursor(
        &mut self,
        at: Instant,
        position: Option<(i32, i32)>,
    ) -> Result<(), RecordingError> {
        if self.waiting_for_keyframe {
            return Ok(());
        }
        let (x, y) = position.unwrap_or((0, 0));
        self.writer
            .write_cursor(self.t_ms(at), x, y, position.is_some())
    }

    /// Flushes if [`FLUSH_EVERY`] passed since the last flush.
    pub fn flush_if_due(&mut self, now: Instant) -> Result<(), RecordingError> {
        if now.saturating_duration_since(self.last_flush) >= FLUSH_EVERY {
            self.last_flush = now;
            self.writer.flush()?;
        }
        Ok(())
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<RecordingSummary, RecordingError> {
        let bytes = self.writer.bytes();
        self.writer.finish()?;
        info!(path = %self.path.display(), bytes, updates = self.updates, "recording stopped");
        Ok(RecordingSummary {
            path: self.path,
            bytes,
            updates: self.updates,
        })
    }

    /// Closes after a failure, reporting nothing more.
    pub fn abandon(self) {
        if let Err(e) = self.writer.finish() {
            warn!(error = %e, "could not flush the recording");
        }
    }
}
