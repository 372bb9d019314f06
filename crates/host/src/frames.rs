//! The capture thread: grabs the screen, encodes it, and hands updates to the session loop, never
//! more than the session's flow-control window allows (so a slow link gets fewer, fresher frames
//! rather than a queue).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tandem_codec::{Encoder, EncoderConfig};
use tokio::sync::mpsc;

use crate::capture::{FrameSource, ScrapSource};

/// What the capture thread hands the session loop.
#[derive(Debug)]
pub enum Captured {
    /// Encoded codec bytes for the next update.
    Update(Vec<u8>),
    /// The pointer moved.
    Pointer { x: i32, y: i32 },
}

/// Shared between the capture thread and the session loop: how many updates the session's window
/// allows (set by the loop from `HostSession::update_limit`), how many the thread produced, a stop
/// flag and keyframe requests.
pub struct FrameControl {
    credits: Mutex<Credits>,
    changed: Condvar,
    stop: AtomicBool,
    keyframe: AtomicBool,
}

#[derive(Default)]
struct Credits {
    /// Updates with an index below this may be produced.
    limit: u64,
    produced: u64,
}

impl FrameControl {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            credits: Mutex::new(Credits::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            keyframe: AtomicBool::new(false),
        })
    }

    /// The session's window now allows updates below `limit` (it never decreases).
    pub fn set_limit(&self, limit: u64) {
        let mut credits = self.lock();
        if limit > credits.limit {
            credits.limit = limit;
            self.changed.notify_all();
        }
    }

    pub fn request_keyframe(&self) {
        self.keyframe.store(true, Ordering::Relaxed);
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.changed.notify_all();
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Credits> {
        self.credits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until another update may be produced; false when stopping.
    fn wait_for_credit(&self) -> bool {
        let mut credits = self.lock();
        while credits.produced >= credits.limit {
            if self.stopped() {
                return false;
            }
            credits = match self
                .changed
                .wait_timeout(credits, Duration::from_millis(200))
            {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        !self.stopped()
    }

    fn take_credit(&self) {
        self.lock().produced += 1;
    }
}

/// Starts capture on its own thread (scrap's capturer must stay on the thread that made it).
/// The thread ends when `control.stop()` is called or the receiver is dropped; an error it met is
/// its result.
pub fn spawn_capture(
    encoder: EncoderConfig,
    max_fps: u32,
    control: Arc<FrameControl>,
    out: mpsc::Sender<Captured>,
) -> std::io::Result<JoinHandle<Result<(), String>>> {
    std::thread::Builder::new()
        .name("tandem-capture".into())
        .spawn(move || {
            let mut source = ScrapSource::primary().map_err(|e| e.to_string())?;
            capture_loop(&mut source, encoder, max_fps, &control, &out)
        })
}

/// How often the pointer position is read while the screen holds still (pointer motion is not
/// screen damage): fast enough that the remote pointer follows smoothly.
const POINTER_POLL: Duration = Duration::from_millis(16);

fn capture_loop(
    source: &mut dyn FrameSource,
    config: EncoderConfig,
    max_fps: u32,
    control: &FrameControl,
    out: &mpsc::Sender<Captured>,
) -> Result<(), String> {
    let mut encoder = Encoder::new(config);
    let period = Duration::from_secs(1) / max_fps.max(1);
    let mut buf = Vec::new();
    let mut pointer = None;
    let mut encode_error = None;
    // The first picture needs no change; after it, capture only when the screen changed.
    let mut changed_since = true;
    let mut last_capture: Option<Instant> = None;
    while !control.stopped() {
        let keyframe = control.keyframe.swap(false, Ordering::Relaxed);
        if changed_since || keyframe {
            // At most `max_fps`: changes arriving sooner are coalesced into the next capture.
            if let Some(rest) = last_capture.and_then(|at| period.checked_sub(at.elapsed())) {
                std::thread::sleep(rest);
            }
            if !control.wait_for_credit() {
                break;
            }
            if keyframe {
                encoder.force_keyframe();
            }
            buf.clear();
            let mut changed = false;
            last_capture = Some(Instant::now());
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
                control.take_credit();
                if out
                    .blocking_send(Captured::Update(std::mem::take(&mut buf)))
                    .is_err()
                {
                    break;
                }
            }
        }
        let now_pointer = source.pointer();
        if now_pointer != pointer {
            pointer = now_pointer;
            if let Some((x, y)) = now_pointer
                && out.blocking_send(Captured::Pointer { x, y }).is_err()
            {
                break;
            }
        }
        changed_since = source.wait_for_change(POINTER_POLL.min(period));
    }
    Ok(())
}
