//! Input injection behind [`InputSink`]; [`EnigoSink`] is the real one (XTEST via enigo's x11rb backend).
//! [`Injector`] runs a sink on its own thread behind a bounded queue and a gate that is checked at
//! injection time, so input queued before a revoke is never injected after it.
//!
//! Keys: a key with a keysym is typed by meaning (enigo finds the keysym in the keymap, or binds it
//! to a spare keycode for as long as the session lasts, so any character can be typed whatever the
//! layout); a key with keysym 0 by position: its evdev code plus 8 is the X keycode under XKB's
//! evdev keycodes, which every current X server uses, and enigo's `raw` sends that keycode through
//! XTEST. The sink remembers what it pressed and releases all of it when control is taken back and
//! when the session ends, whatever the viewer does.
//!
//! enigo reads the keymap once, when it connects. When the user's layout changes during the
//! session (`setxkbmap`, a layout switcher), the X server tells every client with a keyboard
//! `MappingNotify`; the sink watches for it on a connection of its own and reconnects enigo, so
//! keys by meaning and text are typed on the new layout's keys.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use enigo::{Axis, Button, Coordinate, Direction, Enigo, Key, Keyboard, Mouse, Settings};
use tandem_proto::keys::{HeldKeys, MAX_POSITION, Observed};
use tandem_proto::session::{Input, MouseButton};
use thiserror::Error;
use tracing::{debug, warn};
use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{ConnectionExt as _, Mapping, MappingNotifyEvent};
use x11rb::rust_connection::RustConnection;

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
    /// Releases every key this sink pressed and has not released.
    fn release_all(&mut self) -> Result<(), InputError>;
}

/// How a key is typed on X11.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTarget {
    /// By meaning: this keysym, wherever (or if ever) the keymap has it.
    Keysym(u32),
    /// By position: this X keycode.
    Keycode(u8),
}

/// Where `Input::Key`'s codes send a key on X11 (`tandem_proto::keys`); `None`: nowhere.
pub fn key_target(keysym: u32, physical: u32) -> Option<KeyTarget> {
    if keysym != 0 {
        return Some(KeyTarget::Keysym(keysym));
    }
    if (1..=MAX_POSITION).contains(&physical) {
        return u8::try_from(physical + 8).ok().map(KeyTarget::Keycode);
    }
    None
}

/// Injects into the X display `DISPLAY` names.
pub struct EnigoSink {
    enigo: Enigo,
    held: HeldKeys,
    /// `None` if it could not connect: layout changes during the session are then not followed.
    layout: Option<LayoutWatch>,
    /// The layout changed since enigo read the keymap; it reconnects once no key is held (the
    /// server lets go of the keys a closed XTEST connection held).
    layout_changed: bool,
}

impl EnigoSink {
    pub fn new() -> Result<Self, InputError> {
        let layout = LayoutWatch::connect()
            .inspect_err(|e| warn!(error = %e, "cannot watch for keyboard layout changes"))
            .ok();
        Ok(Self {
            enigo: connect_enigo()?,
            held: HeldKeys::default(),
            layout,
            layout_changed: false,
        })
    }

    /// Reconnects enigo if the layout changed since it read the keymap.
    fn follow_layout(&mut self) -> Result<(), InputError> {
        if let Some(watch) = &mut self.layout {
            match watch.changed() {
                Ok(changed) => self.layout_changed |= changed,
                Err(e) => {
                    warn!(error = %e, "lost the watch for keyboard layout changes");
                    self.layout = None;
                }
            }
        }
        if self.layout_changed && self.held.is_empty() {
            debug!("keyboard layout changed: re-reading the keymap");
            // Dropping the old connection unbinds the spare keycodes it bound, which the new
            // keymap has replaced already; layouts leave the same keycodes spare (us, de and fr
            // give symbols to the same 212 keys), so this takes nothing from the new layout.
            self.enigo = connect_enigo()?;
            self.layout_changed = false;
        }
        Ok(())
    }

    fn key(&mut self, keysym: u32, physical: u32, pressed: bool) -> enigo::InputResult<()> {
        match key_target(keysym, physical) {
            Some(KeyTarget::Keysym(sym)) => self.enigo.key(Key::Other(sym), direction(pressed)),
            Some(KeyTarget::Keycode(code)) => self.enigo.raw(u16::from(code), direction(pressed)),
            None => Ok(()),
        }
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
                keysym,
                physical,
                pressed,
            } => {
                self.follow_layout()?;
                if self.held.observe(input) == Observed::TooMany {
                    // Pressed, it could never be released: refused.
                    return Ok(());
                }
                self.key(*keysym, *physical, *pressed)
            }
            Input::Text { text } => {
                self.follow_layout()?;
                self.enigo.text(text)
            }
        };
        result.map_err(|e| InputError::Inject(e.to_string()))
    }

    fn release_all(&mut self) -> Result<(), InputError> {
        let mut result = Ok(());
        for release in self.held.release_all() {
            if let Input::Key {
                keysym, physical, ..
            } = release
                && let Err(e) = self.key(keysym, physical, false)
            {
                // Carry on: every other key is still released.
                result = Err(InputError::Inject(e.to_string()));
            }
        }
        result
    }
}

fn connect_enigo() -> Result<Enigo, InputError> {
    let settings = Settings {
        // enigo's default sleeps 12 ms per key on X11; the technician's own typing paces us.
        linux_delay: 0,
        ..Settings::default()
    };
    Enigo::new(&settings).map_err(|e| InputError::Connect(e.to_string()))
}

/// The keyboard mapping as it was when enigo last read it, and a connection on which the server
/// reports changes to it (`MappingNotify` goes to every client).
struct LayoutWatch {
    conn: RustConnection,
    min_keycode: u8,
    count: u8,
    mapping: KeyboardMapping,
}

/// The core keyboard mapping: `per_keycode` keysyms for each keycode from the first.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyboardMapping {
    per_keycode: u8,
    keysyms: Vec<u32>,
}

impl LayoutWatch {
    fn connect() -> Result<Self, InputError> {
        let (conn, _) = x11rb::connect(None).map_err(|e| InputError::Connect(e.to_string()))?;
        let setup = conn.setup();
        let (min_keycode, max_keycode) = (setup.min_keycode, setup.max_keycode);
        let count = max_keycode.saturating_sub(min_keycode).saturating_add(1);
        let mapping = read_mapping(&conn, min_keycode, count)?;
        Ok(Self {
            conn,
            min_keycode,
            count,
            mapping,
        })
    }

    /// Whether the layout changed since the last call (or the start).
    fn changed(&mut self) -> Result<bool, InputError> {
        let mut remapped = false;
        while let Some(event) = self
            .conn
            .poll_for_event()
            .map_err(|e| InputError::Connect(e.to_string()))?
        {
            if let Event::MappingNotify(notify) = event {
                remapped |= remaps_many_keys(&notify);
            }
        }
        if !remapped {
            return Ok(false);
        }
        let now = read_mapping(&self.conn, self.min_keycode, self.count)?;
        if !layout_differs(&self.mapping, &now) {
            return Ok(false);
        }
        self.mapping = now;
        Ok(true)
    }
}

fn read_mapping(
    conn: &RustConnection,
    first: u8,
    count: u8,
) -> Result<KeyboardMapping, InputError> {
    let reply = conn
        .get_keyboard_mapping(first, count)
        .map_err(|e| InputError::Connect(e.to_string()))?
        .reply()
        .map_err(|e| InputError::Connect(e.to_string()))?;
    Ok(KeyboardMapping {
        per_keycode: reply.keysyms_per_keycode,
        keysyms: reply.keysyms,
    })
}

/// Whether a `MappingNotify` may be a new layout: one that replaces the mapping of many keys at
/// once. enigo and xdotool bind one spare keycode at a time to type a symbol the layout lacks.
/// (Many keys are also "remapped" each time the X server switches between the real keyboard and
/// the XTEST one, with the same layout; [`layout_differs`] tells those apart.)
fn remaps_many_keys(notify: &MappingNotifyEvent) -> bool {
    notify.request == Mapping::KEYBOARD && notify.count > 1
}

/// Whether `now` gives any key that had symbols in `before` other ones. Keys without symbols in
/// `before` are left out: those are the spare keycodes enigo binds to symbols the layout lacks.
fn layout_differs(before: &KeyboardMapping, now: &KeyboardMapping) -> bool {
    if before.per_keycode != now.per_keycode || before.keysyms.len() != now.keysyms.len() {
        return true;
    }
    let per = usize::from(before.per_keycode.max(1));
    before
        .keysyms
        .chunks(per)
        .zip(now.keysyms.chunks(per))
        .any(|(old, new)| old.iter().any(|&sym| sym != 0) && old != new)
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
    /// A grant ended: the injection thread releases every key it holds before anything else.
    release_pending: bool,
}

/// What the injection thread works through.
enum Job {
    /// Input accepted under this epoch.
    Input(u64, Input),
    /// Look at the gate: a grant ended and keys are to be released.
    Wake,
}

/// Injects input on a named thread, in order, while the gate allows it.
pub struct Injector {
    queue: SyncSender<Job>,
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
                        discarded: rx
                            .iter()
                            .filter(|job| matches!(job, Job::Input(..)))
                            .count() as u64,
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
        let grant_ends = gate.allowed && (!allowed || gate.epoch != epoch);
        gate.allowed = allowed;
        gate.epoch = epoch;
        if grant_ends {
            gate.release_pending = true;
            drop(gate);
            // A full queue means the thread is busy and sees the flag at its next event.
            let _ = self.queue.try_send(Job::Wake);
        }
    }

    /// Queues `input`, accepted under `epoch`, without waiting; drops it if the queue is full.
    pub fn push(&mut self, epoch: u64, input: Input) {
        match self.queue.try_send(Job::Input(epoch, input)) {
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

fn inject_loop(sink: &mut dyn InputSink, rx: &Receiver<Job>, gate: &Mutex<Gate>) -> InjectStats {
    let mut stats = InjectStats::default();
    let mut warned = false;
    for job in rx {
        let mut gate = lock(gate);
        if std::mem::take(&mut gate.release_pending)
            && let Err(e) = sink.release_all()
        {
            warn!(error = %e, "could not release every key after control ended");
        }
        let Job::Input(epoch, input) = job else {
            continue;
        };
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
    // The session is over: nothing it pressed stays pressed.
    if let Err(e) = sink.release_all() {
        warn!(error = %e, "could not release every key at the end of the session");
    }
    stats
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::time::Duration;

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

        fn release_all(&mut self) -> Result<(), InputError> {
            Ok(())
        }
    }

    /// What a [`Recording`] sink was asked to do.
    #[derive(Debug, Clone, PartialEq)]
    enum Done {
        Applied(Input),
        ReleasedAll,
    }

    /// Reports everything it is asked to do on a channel.
    struct Recording(Sender<Done>);

    impl InputSink for Recording {
        fn apply(&mut self, input: &Input) -> Result<(), InputError> {
            let _ = self.0.send(Done::Applied(input.clone()));
            Ok(())
        }

        fn release_all(&mut self) -> Result<(), InputError> {
            let _ = self.0.send(Done::ReleasedAll);
            Ok(())
        }
    }

    const CTRL_DOWN: Input = Input::Key {
        keysym: 0xffe3,
        physical: 29,
        pressed: true,
    };

    #[test]
    fn keys_are_released_when_control_is_taken_back_and_when_the_session_ends() {
        let (done_tx, done) = channel();
        let mut injector = Injector::spawn(move || Ok(Recording(done_tx))).expect("thread");
        let step = Duration::from_secs(10);
        injector.set_gate(true, 1);
        injector.push(1, CTRL_DOWN);
        assert_eq!(done.recv_timeout(step), Ok(Done::Applied(CTRL_DOWN)));
        // Taking control back releases at once, with nothing else queued to wake the thread.
        injector.set_gate(false, 2);
        assert_eq!(done.recv_timeout(step), Ok(Done::ReleasedAll));
        // Granted again: new input goes through; the end releases again.
        injector.set_gate(true, 3);
        injector.push(3, CTRL_DOWN);
        assert_eq!(done.recv_timeout(step), Ok(Done::Applied(CTRL_DOWN)));
        injector.finish();
        assert_eq!(done.recv_timeout(step), Ok(Done::ReleasedAll));
        assert!(done.try_recv().is_err(), "nothing after the end");
    }

    #[test]
    fn keys_go_by_keysym_else_by_evdev_position() {
        assert_eq!(key_target(0xffe3, 29), Some(KeyTarget::Keysym(0xffe3)));
        // Physical mode: KEY_Q (16) is X keycode 24 under XKB's evdev keycodes.
        assert_eq!(key_target(0, 16), Some(KeyTarget::Keycode(24)));
        assert_eq!(key_target(0, MAX_POSITION), Some(KeyTarget::Keycode(255)));
        // Nothing to type, or a position no X keycode has.
        assert_eq!(key_target(0, 0), None);
        assert_eq!(key_target(0, MAX_POSITION + 1), None);
        assert_eq!(key_target(0, u32::MAX), None);
    }

    #[test]
    fn a_new_layout_is_told_from_one_key_being_bound() {
        let notify = |request, first_keycode, count| MappingNotifyEvent {
            response_type: x11rb::protocol::xproto::MAPPING_NOTIFY_EVENT,
            sequence: 0,
            request,
            first_keycode,
            count,
        };
        // setxkbmap, or the server switching between keyboards: every key at once.
        assert!(remaps_many_keys(&notify(Mapping::KEYBOARD, 8, 248)));
        // enigo or xdotool binding a spare keycode to a symbol the layout lacks.
        assert!(!remaps_many_keys(&notify(Mapping::KEYBOARD, 247, 1)));
        // The modifier map and the pointer buttons are not the layout.
        assert!(!remaps_many_keys(&notify(Mapping::MODIFIER, 0, 0)));
        assert!(!remaps_many_keys(&notify(Mapping::POINTER, 0, 0)));
    }

    #[test]
    fn a_layout_differs_by_its_keys_not_by_spare_keycodes_bound_since() {
        let (y, z, ae) = (0x79, 0x7a, 0xe4);
        let mapping = |keysyms: &[u32]| KeyboardMapping {
            per_keycode: 2,
            keysyms: keysyms.to_vec(),
        };
        let us = mapping(&[y, 0x59, z, 0x5a, 0, 0]);
        // The same layout again (the server switched keyboards), with ä bound to the spare key.
        assert!(!layout_differs(&us, &mapping(&[y, 0x59, z, 0x5a, ae, ae])));
        assert!(!layout_differs(&us, &us.clone()));
        // German: Y and Z swapped.
        assert!(layout_differs(&us, &mapping(&[z, 0x5a, y, 0x59, 0, 0])));
        // A different shape of keymap is a different keymap.
        assert!(layout_differs(&us, &mapping(&[y, 0x59, z, 0x5a])));
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
