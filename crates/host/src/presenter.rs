//! "Show my screen", the technician's side: their own screen captured and encoded exactly as a
//! host's is, for the viewer to send to the user. There are no acknowledgements that way: the
//! caller grants updates ([`Presenter::allow`]) only while its frames queue is nearly empty, so
//! the link's pace sets the frame rate and no update is ever dropped.

use std::sync::Arc;
use std::thread::JoinHandle;

use tandem_codec::EncoderConfig;
use tokio::sync::mpsc;

use crate::frames::{Captured, FrameControl, spawn_capture};

/// At most this many pictures a second of the technician's screen: a walkthrough, not a video.
pub const PRESENTER_MAX_FPS: u32 = 15;

/// Capture of this display (`DISPLAY`) for "Show my screen".
pub struct Presenter {
    control: Arc<FrameControl>,
    captured: mpsc::Receiver<Captured>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl Presenter {
    /// Starts capturing; the first update (a keyframe) comes once [`Presenter::allow`] grants it.
    pub fn start() -> std::io::Result<Self> {
        let control = FrameControl::new();
        let (tx, captured) = mpsc::channel(4);
        let thread = spawn_capture(
            EncoderConfig::default(),
            PRESENTER_MAX_FPS,
            control.clone(),
            tx,
        )?;
        Ok(Self {
            control,
            captured,
            thread: Some(thread),
        })
    }

    /// Updates numbered below `limit` may be produced (it never decreases).
    pub fn allow(&self, limit: u64) {
        self.control.set_limit(limit);
    }

    /// The next encoded update; `Err` with the reason once capture stopped (a failure, or the
    /// display went away).
    pub async fn next_update(&mut self) -> Result<Vec<u8>, String> {
        loop {
            match self.captured.recv().await {
                Some(Captured::Update { payload, .. }) => return Ok(payload),
                // The whole desktop is shown, whatever its layout.
                Some(Captured::Layout { generation, .. }) => self.control.layout_seen(generation),
                // The picture alone goes to the user; the technician's pointer is not sent.
                Some(Captured::Pointer { .. } | Captured::CursorShape(_)) => {}
                None => {
                    let result = self.thread.take().map(JoinHandle::join);
                    return Err(match result {
                        Some(Ok(Err(e))) => e,
                        Some(Err(_)) => "the capture thread failed".to_owned(),
                        Some(Ok(Ok(()))) | None => "capture stopped".to_owned(),
                    });
                }
            }
        }
    }
}

impl Drop for Presenter {
    fn drop(&mut self) {
        self.control.stop();
    }
}
