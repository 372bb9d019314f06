//! The capture thread: grabs the screen, encodes it, and hands sealed-ready messages to the network,
//! never more than a small window of updates ahead of the viewer's acknowledgements.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tandem_codec::{Encoder, EncoderConfig};
use tandem_proto::session::FrameMsg;
use tokio::sync::mpsc;

use crate::capture::{FrameSource, ScrapSource};

/// Updates sent but not yet acknowledged before capture waits: enough to keep a link busy, few enough
/// that what the technician sees is never far behind.
pub const ACK_WINDOW: u64 = 3;

/// Shared between the capture thread and the session loop.
pub struct FrameControl {
    acked: Mutex<u64>,
    acked_changed: Condvar,
    stop: AtomicBool,
    keyframe: AtomicBool,
}

impl FrameControl {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            acked: Mutex::new(0),
            acked_changed: Condvar::new(),
            stop: AtomicBool::new(false),
            keyframe: AtomicBool::new(false),
        })
    }

    pub fn ack(&self, seq: u64) {
        if let Ok(mut acked) = self.acked.lock() {
            *acked = (*acked).max(seq);
        }
        self.acked_changed.notify_all();
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

    /// Waits until update `seq` may be sent; false when stopping.
    fn wait_for_window(&self, seq: u64) -> bool {
        let Ok(mut acked) = self.acked.lock() else {
            return false;
        };
        while seq > *acked + ACK_WINDOW {
            if self.stopped() {
                return false;
            }
            match self
                .acked_changed
                .wait_timeout(acked, Duration::from_millis(200))
            {
                Ok((guard, _)) => acked = guard,
                Err(_) => return false,
            }
        }
        !self.stopped()
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
    let mut seq = 0u64;
    let mut pointer = None;
    let mut encode_error = None;
    while !control.stopped() {
        let started = Instant::now();
        if !control.wait_for_window(seq + 1) {
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
            seq += 1;
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
