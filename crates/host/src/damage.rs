//! Knowing when the screen changed, instead of polling it: the X DAMAGE extension on the root window,
//! watched from a named thread on its own X connection. The capture thread sleeps until damage is
//! reported, so a change is captured at once and a still screen costs nothing. The same thread
//! listens for RandR changes (a monitor added, removed or resized; the desktop resized), so the
//! layout is read again at once.
//!
//! It also says where: each report's damage is taken out of the server's region into an XFIXES
//! region and its extents added up until capture takes them ([`DamageWatcher::take_area`]), so
//! capture can read and encode only that part of the screen.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::damage::{ConnectionExt as _, ReportLevel};
use x11rb::protocol::randr::{ConnectionExt as _, NotifyMask};
use x11rb::protocol::xfixes::ConnectionExt as _;
use x11rb::protocol::xproto::{
    ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, WindowClass,
};
use x11rb::rust_connection::RustConnection;

/// The flag the watcher sets and the capture thread takes.
#[derive(Default)]
struct Damaged {
    changed: Mutex<DamageState>,
    signal: Condvar,
}

#[derive(Default)]
struct DamageState {
    changed: bool,
    /// Where the screen changed since the area was last taken.
    area: DamagedArea,
    /// RandR reported a change of the layout since it was last taken.
    layout: bool,
    /// The watcher stopped (X error): callers fall back to polling.
    dead: bool,
}

/// Where the screen changed: root coordinates, the bounding box of everything reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DamagedArea {
    /// Nothing reported.
    #[default]
    Nothing,
    /// Everything changed inside `x0..x1`, `y0..y1` (pixels, end exclusive).
    Within { x0: i32, y0: i32, x1: i32, y1: i32 },
    /// Not known where (no XFIXES, a failed request, the first capture): assume anywhere.
    Anywhere,
}

impl DamagedArea {
    /// This area and `x, y, w, h` together.
    fn add(self, x: i32, y: i32, w: i32, h: i32) -> DamagedArea {
        if w <= 0 || h <= 0 {
            return self;
        }
        let (x1, y1) = (x.saturating_add(w), y.saturating_add(h));
        match self {
            DamagedArea::Nothing => DamagedArea::Within {
                x0: x,
                y0: y,
                x1,
                y1,
            },
            DamagedArea::Within {
                x0,
                y0,
                x1: ox1,
                y1: oy1,
            } => DamagedArea::Within {
                x0: x0.min(x),
                y0: y0.min(y),
                x1: ox1.max(x1),
                y1: oy1.max(y1),
            },
            DamagedArea::Anywhere => DamagedArea::Anywhere,
        }
    }
}

/// Watches the root window of the display `DISPLAY` names for damage.
pub struct DamageWatcher {
    damaged: Arc<Damaged>,
    conn: Arc<RustConnection>,
    /// An invisible window of ours; a message to it wakes the watcher thread to stop.
    wake: u32,
    thread: Option<JoinHandle<()>>,
}

impl DamageWatcher {
    /// Connects to the display and starts watching; an error if the display or its DAMAGE extension
    /// is not available (the caller then polls).
    pub fn start() -> Result<Self, String> {
        let (conn, root) = crate::x11::connect_root()?;
        let conn = Arc::new(conn);
        conn.damage_query_version(1, 1)
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| format!("the X server has no DAMAGE extension: {e}"))?;
        let region = conn.generate_id().map_err(|e| e.to_string())?;
        conn.damage_create(region, root, ReportLevel::NON_EMPTY)
            .map_err(|e| e.to_string())?;
        // Where the damage was: taken into this region at each report. Without XFIXES, capture
        // only learns that something changed.
        let parts = match conn.xfixes_query_version(2, 0).map(|c| c.reply()) {
            Ok(Ok(_)) => {
                let parts = conn.generate_id().map_err(|e| e.to_string())?;
                conn.xfixes_create_region(parts, &[])
                    .map_err(|e| e.to_string())?;
                Some(parts)
            }
            _ => None,
        };
        // Layout changes, where RandR is there (capture re-reads the layout now and then anyway).
        let randr = conn
            .randr_query_version(1, 2)
            .ok()
            .and_then(|c| c.reply().ok())
            .is_some();
        if randr {
            conn.randr_select_input(
                root,
                NotifyMask::SCREEN_CHANGE | NotifyMask::OUTPUT_CHANGE | NotifyMask::CRTC_CHANGE,
            )
            .map_err(|e| e.to_string())?;
        }
        let wake = conn.generate_id().map_err(|e| e.to_string())?;
        conn.create_window(
            0,
            wake,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            0,
            &CreateWindowAux::new(),
        )
        .map_err(|e| e.to_string())?;
        conn.flush().map_err(|e| e.to_string())?;

        let damaged = Arc::new(Damaged::default());
        // The first capture needs no damage, and reads everything.
        if let Ok(mut state) = damaged.changed.lock() {
            state.changed = true;
            state.area = DamagedArea::Anywhere;
        }
        let thread = {
            let (conn, damaged) = (conn.clone(), damaged.clone());
            std::thread::Builder::new()
                .name("tandem-damage".into())
                .spawn(move || watch(&conn, region, parts, wake, &damaged))
                .map_err(|e| e.to_string())?
        };
        Ok(Self {
            damaged,
            conn,
            wake,
            thread: Some(thread),
        })
    }

    /// Waits until the screen changed since the last call, at most `timeout`; returns whether it
    /// did. If the watcher died, waits `timeout` and says yes (polling).
    pub fn wait(&self, timeout: Duration) -> bool {
        let Ok(mut state) = self.damaged.changed.lock() else {
            std::thread::sleep(timeout);
            return true;
        };
        if !state.changed && !state.dead {
            state = match self.damaged.signal.wait_timeout(state, timeout) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        if state.dead {
            drop(state);
            std::thread::sleep(timeout);
            return true;
        }
        std::mem::take(&mut state.changed)
    }

    /// Where the screen changed since the last call ([`DamagedArea::Nothing`] if nowhere). Take it
    /// before reading the screen: what changes after is reported again.
    pub fn take_area(&self) -> DamagedArea {
        self.damaged
            .changed
            .lock()
            .map(|mut state| {
                let area = std::mem::take(&mut state.area);
                // A dead watcher reports nothing more: capture polls, and reads everything.
                if state.dead {
                    DamagedArea::Anywhere
                } else {
                    area
                }
            })
            .unwrap_or(DamagedArea::Anywhere)
    }

    /// Whether RandR reported a layout change since the last call.
    pub fn take_layout_change(&self) -> bool {
        self.damaged
            .changed
            .lock()
            .map(|mut state| std::mem::take(&mut state.layout))
            .unwrap_or(false)
    }
}

impl Drop for DamageWatcher {
    fn drop(&mut self) {
        let message = ClientMessageEvent::new(32, self.wake, 0u32, [0u32; 5]);
        let sent = self
            .conn
            .send_event(false, self.wake, EventMask::NO_EVENT, message)
            .is_ok()
            && self.conn.flush().is_ok();
        if let Some(thread) = self.thread.take()
            && sent
        {
            // The thread leaves at the message; if it could not be sent it ends with the process.
            let _ = thread.join();
        }
    }
}

fn watch(conn: &RustConnection, region: u32, parts: Option<u32>, wake: u32, damaged: &Damaged) {
    loop {
        match conn.wait_for_event() {
            Ok(Event::DamageNotify(_)) => {
                // Take what was reported out of the server's region (so the next change is
                // reported again) and learn where it was; then say so.
                let cleared = conn
                    .damage_subtract(region, 0u32, parts.unwrap_or(0))
                    .is_ok()
                    && conn.flush().is_ok();
                let extents = parts.and_then(|parts| {
                    let reply = conn.xfixes_fetch_region(parts).ok()?.reply().ok()?;
                    Some(reply.extents)
                });
                if let Ok(mut state) = damaged.changed.lock() {
                    state.changed = true;
                    state.dead |= !cleared;
                    state.area = match extents {
                        Some(e) => state.area.add(
                            i32::from(e.x),
                            i32::from(e.y),
                            i32::from(e.width),
                            i32::from(e.height),
                        ),
                        None => DamagedArea::Anywhere,
                    };
                }
                damaged.signal.notify_all();
                if !cleared {
                    return;
                }
            }
            Ok(Event::RandrScreenChangeNotify(_) | Event::RandrNotify(_)) => {
                if let Ok(mut state) = damaged.changed.lock() {
                    state.changed = true;
                    state.area = DamagedArea::Anywhere;
                    state.layout = true;
                }
                damaged.signal.notify_all();
            }
            Ok(Event::ClientMessage(message)) if message.window == wake => return,
            Ok(_) => {}
            Err(_) => {
                if let Ok(mut state) = damaged.changed.lock() {
                    state.dead = true;
                }
                damaged.signal.notify_all();
                return;
            }
        }
    }
}
