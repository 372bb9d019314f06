//! Input injection behind [`InputSink`]; [`EnigoSink`] is the real one (XTEST via enigo's x11rb backend).
//! [`Injector`] runs a sink on its own thread behind a bounded queue and a gate that is checked at
//! injection time, so input queued before a revoke is never injected after it.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use enigo::{Axis, Button, Coordinate, Direction, Enigo, Key, Keyboard, Mouse, Settings};
use tandem_proto::session::{Input, MouseButton};
use thiserror::Error;
use tracing::warn;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum InputError {
    #[error("cannot connect to the display for input injection: {0}")]
    Connect(String),
    #[error("injecting input failed: {0}")]
    Inject(String),
}

/// Applies the technician's input to this machine.
pub trait InputSink {
    fn apply(&mut self, input: &Input) -> Result<(), InputError>;
}

/// Injects into the X display `DISPLAY` names.
pub struct EnigoSink {
    enigo: Enigo,
}

impl EnigoSink {
    pub fn new() -> Result<Self, InputError> {
        let settings = Settings {
            // enigo's default sleeps 12 ms per key on X11; the technician's own typing paces us.
            linux_delay: 0,
            ..Settings::default()
        };
        let enigo = Enigo::new(&settings).map_err(|e| InputError::Connect(e.to_string()))?;
        Ok(Self { enigo })
    }
}

impl InputSink for EnigoSink {
    fn apply(&mut self, input: &Input) -> Result<(), InputError> {
        let result = match input {
            Input::PointerMove { x, y } => {
                let (x, y) = (clamp_coord(*x), clamp_coord(*y));
                self.enigo.move_mouse(x, y, Coordinate::Abs)
            }
            Input::Button { button, pressed } => {
                self.enigo.button(button_of(*button), direction(*pressed))
            }
            Input::Scroll { dx, dy } => {
                let mut r = Ok(());
                if *dy != 0 {
                    r = self.enigo.scroll(*dy, Axis::Vertical);
                }
                if r.is_ok() && *dx != 0 {
                    r = self.enigo.scroll(*dx, Axis::Horizontal);
                }
                r
            }
            Input::Key {
                keysym, pressed, ..
            } => self.enigo.key(Key::Other(*keysym), direction(*pressed)),
            Input::Text { text } => self.enigo.text(text),
        };
        result.map_err(|e| InputError::Inject(e.to_string()))
    }
}

fn clamp_coord(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn direction(pressed: bool) -> Direction {
    if pressed {
        Direction::Press
    } else {
        Direction::Release
    }
}

fn button_of(button: MouseButton) -> Button {
    match button {
        MouseButton::Left => Button::Left,
        MouseButton::Middle => Button::Middle,
        MouseButton::Right => Button::Right,
        MouseButton::Back => Button::Back,
        MouseButton::Forward => Button::Forward,
    }
}

/// Input events queued for injection; beyond this the session drops input rather than wait.
const INJECT_QUEUE: usize = 1024;

/// Whether input may be injected, and under which grant. Held while an event is injected, so once
/// [`Injector::set_gate`] returns, nothing accepted under an older grant is injected any more.
#[derive(Debug, Default)]
struct Gate {
    allowed: bool,
    epoch: u64,
}

/// Injects input on a named thread, in order, while the gate allows it.
pub struct Injector {
    queue: SyncSender<(u64, Input)>,
    gate: Arc<Mutex<Gate>>,
    /// What the gate was last set to: setting it again to the same is skipped, since taking its
    /// lock waits for an injection in progress.
    gate_set: Option<(bool, u64)>,
    dropped: u64,
    thread: std::thread::JoinHandle<InjectStats>,
}

/// What became of the input the session accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InjectStats {
    /// Events injected into the display.
    pub injected: u64,
    /// Events accepted under a grant that was taken back before their turn came: not injected.
    pub discarded: u64,
    /// Events dropped because the queue was full.
    pub overflowed: u64,
}

impl Injector {
    /// Starts the injection thread with the sink `make_sink` builds there (X connections are not
    /// `Send`). A sink that cannot start leaves input dropped, with a warning.
    pub fn spawn<S, F>(make_sink: F) -> std::io::Result<Self>
    where
        S: InputSink,
        F: FnOnce() -> Result<S, InputError> + Send + 'static,
    {
        let (queue, rx) = std::sync::mpsc::sync_channel(INJECT_QUEUE);
        let gate = Arc::new(Mutex::new(Gate::default()));
        let thread_gate = gate.clone();
        let thread = std::thread::Builder::new()
            .name("tandem-input".into())
            .spawn(move || match make_sink() {
                Ok(mut sink) => inject_loop(&mut sink, &rx, &thread_gate),
                Err(e) => {
                    warn!(error = %e, "input injection unavailable");
                    // Drain so the session never sees a full queue for this reason.
                    InjectStats {
                        discarded: rx.iter().count() as u64,
                        ..InjectStats::default()
                    }
                }
            })?;
        Ok(Self {
            queue,
            gate,
            gate_set: None,
            dropped: 0,
            thread,
        })
    }

    /// Sets the gate; waits for an injection in progress to finish, so none happens after this
    /// returns under an epoch other than `epoch`.
    pub fn set_gate(&mut self, allowed: bool, epoch: u64) {
        if self.gate_set == Some((allowed, epoch)) {
            return;
        }
        self.gate_set = Some((allowed, epoch));
        let mut gate = lock(&self.gate);
        gate.allowed = allowed;
        gate.epoch = epoch;
    }

    /// Queues `input`, accepted under `epoch`, without waiting; drops it if the queue is full.
    pub fn push(&mut self, epoch: u64, input: Input) {
        match self.queue.try_send((epoch, input)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    warn!(
                        dropped = self.dropped,
                        "input dropped: injection is falling behind"
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

impl Injector {
    /// Closes the queue, waits until the thread has worked through it (blocking: call it off the
    /// async runtime) and returns what it did.
    pub fn finish(self) -> InjectStats {
        let Self {
            queue,
            dropped,
            thread,
            ..
        } = self;
        drop(queue);
        let mut stats = thread.join().unwrap_or_default();
        stats.overflowed = dropped;
        stats
    }
}

fn lock(gate: &Mutex<Gate>) -> std::sync::MutexGuard<'_, Gate> {
    gate.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn inject_loop(
    sink: &mut dyn InputSink,
    rx: &Receiver<(u64, Input)>,
    gate: &Mutex<Gate>,
) -> InjectStats {
    let mut stats = InjectStats::default();
    let mut warned = false;
    for (epoch, input) in rx {
        let gate = lock(gate);
        if !gate.allowed || gate.epoch != epoch {
            stats.discarded += 1;
            continue;
        }
        match sink.apply(&input) {
            Ok(()) => stats.injected += 1,
            Err(e) => {
                if !std::mem::replace(&mut warned, true) {
                    warn!(error = %e, "could not inject input");
                }
            }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Receiver, Sender, channel};

    use super::*;

    /// Records what it injects; before each injection it tells `started` and waits for `go`, so a
    /// test controls when an injection is in progress.
    struct Stepped {
        seen: Arc<Mutex<Vec<Input>>>,
        started: Sender<()>,
        go: Receiver<()>,
    }

    impl InputSink for Stepped {
        fn apply(&mut self, input: &Input) -> Result<(), InputError> {
            let _ = self.started.send(());
            let _ = self.go.recv();
            self.seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(input.clone());
            Ok(())
        }
    }

    #[test]
    fn nothing_queued_before_a_revoke_is_injected_after_it() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (started_tx, started) = channel();
        let (go, go_rx) = channel();
        let sink_seen = seen.clone();
        let mut injector = Injector::spawn(move || {
            Ok(Stepped {
                seen: sink_seen,
                started: started_tx,
                go: go_rx,
            })
        })
        .expect("thread");
        injector.set_gate(true, 1);
        for i in 0..1000 {
            injector.push(1, Input::PointerMove { x: i, y: 0 });
        }
        // The first event is being injected (holding the gate); the rest wait in the queue.
        started.recv().expect("injection started");
        let revoker = {
            let gate = injector.gate.clone();
            std::thread::spawn(move || {
                let mut gate = lock(&gate);
                gate.allowed = false;
                gate.epoch = 2;
            })
        };
        // Let injections proceed, one `go` each, while the revoke waits for the one in progress.
        let feeder = std::thread::spawn(move || {
            for _ in 0..1000 {
                if go.send(()).is_err() {
                    return;
                }
            }
        });
        revoker.join().expect("revoke");
        let at_revoke = seen.lock().expect("lock").len();
        let stats = injector.finish();
        feeder.join().expect("feeder");
        assert_eq!(
            seen.lock().expect("lock").len(),
            at_revoke,
            "input injected after the revoke returned"
        );
        assert_eq!(stats.injected as usize, at_revoke);
        assert_eq!(stats.discarded as usize, 1000 - at_revoke);
    }
}
