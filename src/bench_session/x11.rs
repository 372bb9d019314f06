//! What the benchmark does and sees on the two X displays, through x11rb: a photo-like wallpaper
//! on the shared screen, moving a window there, pressing keys on the viewer's screen (XTEST), and
//! watching the viewer's screen change (DAMAGE) and reading its pixels back.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::damage::{ConnectionExt as _, ReportLevel};
use x11rb::protocol::xproto::{
    ChangeWindowAttributesAux, ConfigureWindowAux, ConnectionExt as _, CreateGCAux, ImageFormat,
    Window,
};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;

/// Damage reports closer together than this are one picture the viewer put on its screen (a VNC
/// viewer draws one update as several rectangles).
const SAME_PRESENT: Duration = Duration::from_millis(3);

fn connect(display: &str) -> anyhow::Result<(RustConnection, Window)> {
    let (conn, screen) =
        x11rb::connect(Some(display)).with_context(|| format!("connecting to X {display}"))?;
    let root = conn.setup().roots[screen].root;
    Ok((conn, root))
}

/// Paints the root window of `display` with a photo-like picture (smooth colour waves under film
/// grain): what a window dragged over a wallpaper uncovers costs what a photo costs.
pub fn paint_wallpaper(display: &str, width: u16, height: u16) -> anyhow::Result<()> {
    let (conn, root) = connect(display)?;
    let pixmap = conn.generate_id()?;
    conn.create_pixmap(24, pixmap, root, width, height)?;
    let gc = conn.generate_id()?;
    conn.create_gc(gc, pixmap, &CreateGCAux::new())?;
    // Put in bands: one whole 1080p image would exceed a request without BIG-REQUESTS.
    const BAND: u16 = 64;
    let mut seed = 0x2545_f491_u32;
    let mut band = Vec::with_capacity(usize::from(width) * usize::from(BAND) * 4);
    for top in (0..height).step_by(usize::from(BAND)) {
        let rows = BAND.min(height - top);
        band.clear();
        for y in top..top + rows {
            for x in 0..width {
                let (fx, fy) = (f32::from(x), f32::from(y));
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let grain = (seed % 29) as f32 - 14.0;
                let wave = |a: f32, b: f32, phase: f32| {
                    (127.0 + 60.0 * (fx * a + phase).sin() + 50.0 * (fy * b - phase).cos() + grain)
                        .clamp(0.0, 255.0) as u8
                };
                band.extend_from_slice(&[
                    wave(0.011, 0.017, 0.0),
                    wave(0.007, 0.013, 1.7),
                    wave(0.019, 0.005, 3.1),
                    0,
                ]);
            }
        }
        conn.put_image(
            ImageFormat::Z_PIXMAP,
            pixmap,
            gc,
            width,
            rows,
            0,
            top as i16,
            0,
            24,
            &band,
        )?;
    }
    conn.change_window_attributes(
        root,
        &ChangeWindowAttributesAux::new().background_pixmap(pixmap),
    )?;
    conn.clear_area(false, root, 0, 0, 0, 0)?;
    // The root keeps the pixmap as its background after we free our name for it.
    conn.free_pixmap(pixmap)?;
    conn.free_gc(gc)?;
    // A round trip: everything above has reached the server.
    conn.get_input_focus()?.reply()?;
    Ok(())
}

/// Moves top-level windows of one display without a window manager.
pub struct Mover {
    conn: RustConnection,
}

impl Mover {
    pub fn new(display: &str) -> anyhow::Result<Mover> {
        Ok(Mover {
            conn: connect(display)?.0,
        })
    }

    pub fn move_window(&self, window: Window, x: i32, y: i32) -> anyhow::Result<()> {
        self.conn
            .configure_window(window, &ConfigureWindowAux::new().x(x).y(y))?;
        self.conn.flush()?;
        Ok(())
    }
}

/// Presses keys on one display through XTEST, as a keyboard would.
pub struct Keyboard {
    conn: RustConnection,
    root: Window,
    /// Keycodes of a..z.
    letters: Vec<u8>,
}

impl Keyboard {
    pub fn new(display: &str) -> anyhow::Result<Keyboard> {
        let (conn, root) = connect(display)?;
        let (min, max) = (conn.setup().min_keycode, conn.setup().max_keycode);
        let mapping = conn
            .get_keyboard_mapping(min, max - min + 1)?
            .reply()
            .context("reading the keyboard mapping")?;
        let per = usize::from(mapping.keysyms_per_keycode.max(1));
        let letters = (u32::from(b'a')..=u32::from(b'z'))
            .map(|keysym| {
                mapping
                    .keysyms
                    .chunks(per)
                    .position(|syms| syms.first() == Some(&keysym))
                    .map(|i| min + i as u8)
                    .with_context(|| format!("no key types keysym {keysym:#x} on {display}"))
            })
            .collect::<anyhow::Result<Vec<u8>>>()?;
        Ok(Keyboard {
            conn,
            root,
            letters,
        })
    }

    /// Presses and releases the `n`th letter (a..z, cycling); returns once the server has it.
    pub fn tap_letter(&self, n: usize) -> anyhow::Result<()> {
        let keycode = self.letters[n % self.letters.len()];
        // xproto's KeyPress and KeyRelease event codes.
        self.conn
            .xtest_fake_input(2, keycode, 0, self.root, 0, 0, 0)?;
        self.conn
            .xtest_fake_input(3, keycode, 0, self.root, 0, 0, 0)?;
        self.conn.flush()?;
        Ok(())
    }
}

/// What the damage thread saw so far.
#[derive(Debug, Clone, Copy)]
pub struct Presents {
    /// Pictures put on the screen (damage reports grouped by [`SAME_PRESENT`]).
    pub count: u64,
    /// When the latest damage report arrived.
    pub last: Option<Instant>,
}

/// Counts changes of one display's screen from X DAMAGE on its root, on a thread with its own
/// connection; it ends when the display goes away.
#[derive(Clone)]
pub struct ScreenWatch {
    state: Arc<(Mutex<Presents>, Condvar)>,
}

impl ScreenWatch {
    pub fn start(display: &str) -> anyhow::Result<ScreenWatch> {
        let (conn, root) = connect(display)?;
        conn.damage_query_version(1, 1)?
            .reply()
            .context("the DAMAGE extension")?;
        let damage = conn.generate_id()?;
        conn.damage_create(damage, root, ReportLevel::NON_EMPTY)?;
        conn.flush()?;
        let state = Arc::new((
            Mutex::new(Presents {
                count: 0,
                last: None,
            }),
            Condvar::new(),
        ));
        let shared = state.clone();
        std::thread::Builder::new()
            .name("bench-damage".into())
            .spawn(move || {
                while let Ok(event) = conn.wait_for_event() {
                    if let Event::DamageNotify(_) = event {
                        let now = Instant::now();
                        // Re-arm: NON_EMPTY reports again once the region was emptied.
                        if conn
                            .damage_subtract(damage, x11rb::NONE, x11rb::NONE)
                            .is_err()
                            || conn.flush().is_err()
                        {
                            break;
                        }
                        let (lock, changed) = &*shared;
                        let mut presents = lock.lock().unwrap_or_else(|e| e.into_inner());
                        if presents.last.is_none_or(|last| now - last > SAME_PRESENT) {
                            presents.count += 1;
                        }
                        presents.last = Some(now);
                        changed.notify_all();
                    }
                }
            })
            .context("starting the damage thread")?;
        Ok(ScreenWatch { state })
    }

    pub fn presents(&self) -> Presents {
        *self.state.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a damage report newer than `after` arrives; its time, or `None` at `deadline`.
    pub fn wait_change_after(&self, after: Option<Instant>, deadline: Instant) -> Option<Instant> {
        let (lock, changed) = &*self.state;
        let mut presents = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if presents
                .last
                .is_some_and(|last| after.is_none_or(|a| last > a))
            {
                return presents.last;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            presents = changed
                .wait_timeout(presents, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits until the screen has been still for `quiet` (at most until `timeout`).
    pub fn wait_quiet(&self, quiet: Duration, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let started = Instant::now();
        loop {
            let last = self.presents().last.unwrap_or(started);
            let still_until = last.max(started) + quiet;
            let now = Instant::now();
            if now >= still_until {
                return Ok(());
            }
            if now >= deadline {
                bail!("the viewer's screen did not settle within {timeout:?}");
            }
            std::thread::sleep((still_until - now).min(deadline - now));
        }
    }
}

/// Reads a rectangle of one display's screen.
pub struct Grabber {
    conn: RustConnection,
    root: Window,
}

/// A rectangle of a screen: x, y, width, height.
#[derive(Debug, Clone, Copy)]
pub struct Area {
    pub x: i16,
    pub y: i16,
    pub width: u16,
    pub height: u16,
}

impl Grabber {
    pub fn new(display: &str) -> anyhow::Result<Grabber> {
        let (conn, root) = connect(display)?;
        Ok(Grabber { conn, root })
    }

    /// The pixels of `area` (BGRX).
    pub fn grab(&self, area: Area) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .conn
            .get_image(
                ImageFormat::Z_PIXMAP,
                self.root,
                area.x,
                area.y,
                area.width,
                area.height,
                !0,
            )?
            .reply()
            .context("reading the screen")?
            .data)
    }

    /// The size of the screen.
    pub fn size(&self) -> anyhow::Result<(u16, u16)> {
        let geometry = self.conn.get_geometry(self.root)?.reply()?;
        Ok((geometry.width, geometry.height))
    }

    /// The whole screen as a PNG at `path`.
    pub fn save_png(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let (width, height) = self.size()?;
        let bgrx = self.grab(Area {
            x: 0,
            y: 0,
            width,
            height,
        })?;
        let rgb: Vec<u8> = bgrx
            .chunks_exact(4)
            .flat_map(|p| [p[2], p[1], p[0]])
            .collect();
        image::RgbImage::from_raw(u32::from(width), u32::from(height), rgb)
            .context("a screen grab of the wrong size")?
            .save(path)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}
