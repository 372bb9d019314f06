//! The capture thread: grabs the screen, encodes it, and hands sealed-ready messages to the network,
//! never more than a small window of updates ahead of the viewer's acknowledgements.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tandem_codec::{Encoder, EncoderConfig};
use tandem_proto::session::{AckError, FrameMsg, UpdateWindow};
use tokio::sync::mpsc;

use crate::capture::{FrameSource, ScrapSource};

/// Shared between the capture thread and the session loop: the protocol's window of unacknowledged
/// updates (so a slow link gets fewer, fresher frames rather than a queue), a stop flag and keyframe
/// requests.
pub struct FrameControl {
    window: Mutex<UpdateWindow>,
    acked_changed: Condvar,
    stop: AtomicBool,
    keyframe: AtomicBool,
}

impl FrameControl {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            window: Mutex::new(UpdateWindow::default()),
            acked_changed: Condvar::new(),
            stop: AtomicBool::new(false),
            keyframe: AtomicBool::new(false),
        })
    }

    /// Records the viewer's `Ack`; acknowledging an update never sent is the viewer's protocol error.
    pub fn ack(&self, seq: u64) -> Result<(), AckError> {
        let result = match self.window.lock() {
            Ok(mut window) => window.on_ack(seq),
            Err(_) => Ok(()),
        };
        self.acked_changed.notify_all();
        result
    }

    pub fn request_keyframe(&self) {
        self.keyframe.store(true, Ordering::Relaxed);
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.acked_changed.notify_all();
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Waits until another update may be sent; false when stopping.
    fn wait_for_window(&self) -> bool {
        let Ok(mut window) = self.window.lock() else {
            return false;
        };
        while !window.can_send() {
            if self.stopped() {
                return false;
            }
            match self
                .acked_changed
                .wait_timeout(window, Duration::from_millis(200))
            {
                Ok((guard, _)) => window = guard,
                Err(_) => return false,
            }
        }
        !self.stopped()
    }

    /// The `seq` for an update about to be sent (the window has room: capture waited for it).
    fn next_seq(&self) -> Option<u64> {
        self.window.lock().ok()?.next_seq()
    }
}

/// Starts capture on its own thread (scrap's capturer must stay on the thread that made it).
/// The thread ends when `control.stop()` is called or the receiver is dropped; an error it met is
/// its result.
pub fn spawn_capture(
    encoder: EncoderConfig,
    max_fps: u32,
    control: Arc<FrameControl>,
    out: mpsc::Sender<FrameMsg>,
) -> std::io::Result<JoinHandle<Result<(), String>>> {
    std::thread::Builder::new()
        .name("tandem-capture".into())
        .spawn(move || {
            let mut source = ScrapSource::primary().map_err(|e| e.to_string())?;
            capture_loop(&mut source, encoder, max_fps, &control, &out)
        })
}

fn capture_loop(
    source: &mut dyn FrameSource,
    config: EncoderConfig,
    max_fps: u32,
    control: &FrameControl,
    out: &mpsc::Sender<FrameMsg>,
) -> Result<(), String> {
    let mut encoder = Encoder::new(config);
    let period = Duration::from_secs(1) / max_fps.max(1);
    let mut buf = Vec::new();
    let mut pointer = None;
    let mut encode_error = None;
    while !control.stopped() {
        let started = Instant::now();
        if !control.wait_for_window() {
            break;
        }
        if control.keyframe.swap(false, Ordering::Relaxed) {
            encoder.force_keyframe();
        }
        buf.clear();
        let mut changed = false;
        source
            .capture(&mut |frame| match encoder.encode(frame, &mut buf) {
                Ok(stats) => changed = stats.changed,
                Err(e) => encode_error = Some(e.to_string()),
            })
            .map_err(|e| format!("capturing the screen: {e}"))?;
        if let Some(e) = encode_error.take() {
            return Err(format!("encoding the screen: {e}"));
        }
        if changed {
            let Some(seq) = control.next_seq() else {
                break;
            };
            let update = FrameMsg::Update {
                seq,
                payload: std::mem::take(&mut buf),
            };
            if out.blocking_send(update).is_err() {
                break;
            }
        }
        let now_pointer = source.pointer();
        if now_pointer != pointer {
            pointer = now_pointer;
            if let Some((x, y)) = now_pointer {
                let msg = FrameMsg::CursorPosition {
                    x,
                    y,
                    visible: true,
                };
                if out.blocking_send(msg).is_err() {
                    break;
                }
            }
        }
        if let Some(rest) = period.checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    Ok(())
}
