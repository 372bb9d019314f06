//! Issue 10, monitors and resolution, through the real binaries: a wide Xvfb split into two RandR
//! monitors, the viewer's `monitors` event, switching between each monitor and the whole desktop
//! within one session, and a framebuffer resize mid-session; after each change the viewer's decoded
//! picture equals the selected part of the host's screen.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::Value;
use tandem_xvfb::VirtualDisplay;
use x11rb::connection::Connection;
use x11rb::protocol::randr::{self, ConnectionExt as _};
use x11rb::protocol::xproto::ConnectionExt as _;

/// `xrandr --setmonitor NAME WxH+X+Y none`, through x11rb (no xrandr binary needed).
fn set_monitor(display: &str, name: &str, (x, y, width, height): (i16, i16, u16, u16)) {
    let (conn, screen) = x11rb::connect(Some(display)).unwrap();
    let root = conn.setup().roots[screen].root;
    let atom = conn
        .intern_atom(false, name.as_bytes())
        .unwrap()
        .reply()
        .unwrap()
        .atom;
    conn.randr_set_monitor(
        root,
        randr::MonitorInfo {
            name: atom,
            primary: name == "LEFT",
            automatic: false,
            x,
            y,
            width,
            height,
            width_in_millimeters: u32::from(width) / 4,
            height_in_millimeters: u32::from(height) / 4,
            outputs: Vec::new(),
        },
    )
    .unwrap()
    .check()
    .unwrap();
}

/// `xrandr --output screen --off --fb WxH`: resizes the root window (Xvfb's largest size is the one it
/// started with, and the framebuffer must hold every active CRTC, so Xvfb's one CRTC goes first).
fn resize_framebuffer(display: &str, width: u16, height: u16) {
    let (conn, screen) = x11rb::connect(Some(display)).unwrap();
    let root = conn.setup().roots[screen].root;
    let resources = conn
        .randr_get_screen_resources(root)
        .unwrap()
        .reply()
        .unwrap();
    for &crtc in &resources.crtcs {
        conn.randr_set_crtc_config(
            crtc,
            x11rb::CURRENT_TIME,
            resources.config_timestamp,
            0,
            0,
            0,
            randr::Rotation::ROTATE0,
            &[],
        )
        .unwrap()
        .reply()
        .unwrap();
    }
    conn.randr_set_screen_size(
        root,
        width,
        height,
        u32::from(width) / 4,
        u32::from(height) / 4,
    )
    .unwrap()
    .check()
    .unwrap();
}

/// The `(x, y, width, height)` part of a root grab, as B,G,R,X rows.
fn region(display: &str, (x, y, width, height): (u32, u32, u32, u32)) -> Vec<u8> {
    let (root_w, root_h, pixels) = grab_root(display);
    assert!(
        x + width <= root_w && y + height <= root_h,
        "{root_w}x{root_h}"
    );
    let stride = root_w as usize * 4;
    let mut out = Vec::with_capacity(width as usize * height as usize * 4);
    for row in y..y + height {
        let start = row as usize * stride + x as usize * 4;
        out.extend_from_slice(&pixels[start..start + width as usize * 4]);
    }
    out
}

/// Waits until the viewer's decoded picture equals `area` of the host's screen.
fn picture_shows(
    join: &mut Proc,
    display: &str,
    area: (u32, u32, u32, u32),
    dir: &Path,
    what: &str,
) {
    let mut n = 0;
    wait_until(what, STEP, || {
        n += 1;
        let path = dir.join(format!("snapshot-{n}.png"));
        join.send_line(&format!("snapshot {}", path.display()));
        join.wait_event_where("snapshot", STEP, |e| e["path"] == path.to_str().unwrap());
        let differing = differing_pixels(&region(display, area), &path);
        (differing == Some(0)).then_some(())
    });
    eprintln!("{what}: equal after {n} snapshot(s)");
}

fn monitor_names(event: &Value) -> Vec<String> {
    event["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

fn index_of(event: &Value, name: &str) -> usize {
    monitor_names(event).iter().position(|n| n == name).unwrap()
}

#[test]
fn viewer_switches_monitors_and_follows_a_resize_within_one_session() {
    let work = TempDir::new("monitors");
    let mut display = VirtualDisplay::start(1600, 600).expect("Xvfb");
    let a = display.name().to_owned();
    set_monitor(&a, "LEFT", (0, 0, 800, 600));
    set_monitor(&a, "RIGHT", (800, 0, 800, 600));
    // Different content on each half, and the pointer on the right one.
    for geometry in ["70x20+40+40", "40x30+860+120"] {
        display
            .spawn(
                "xterm",
                [
                    "-geometry",
                    geometry,
                    "-e",
                    "sh",
                    "-c",
                    "ls -la /; exec cat",
                ],
            )
            .unwrap();
    }
    wait_for_windows(&a, &["--class", "xterm"], 2);
    xdotool(&a, &["mousemove", "1500", "550"]);

    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, &a, &["--auto-accept", "control"]);
    let mut join = start_join(&relay, &code, None, &["--headless"]);

    // The list, with the monitor that holds the pointer selected.
    let listed = join.wait_event_where("monitors", STEP, |e| monitor_names(e).len() >= 2);
    assert_eq!(
        (listed["width"].as_u64(), listed["height"].as_u64()),
        (Some(1600), Some(600))
    );
    let (left, right) = (index_of(&listed, "LEFT"), index_of(&listed, "RIGHT"));
    assert_eq!(listed["selected"], right, "{listed}");
    let monitor = &listed["monitors"][left];
    assert_eq!(
        (
            &monitor["x"],
            &monitor["width"],
            &monitor["height"],
            &monitor["primary"]
        ),
        (
            &Value::from(0),
            &Value::from(800),
            &Value::from(600),
            &Value::from(true)
        )
    );
    picture_shows(
        &mut join,
        &a,
        (800, 0, 800, 600),
        work.path(),
        "the right monitor",
    );

    join.send_line(&format!("monitor {left}"));
    join.wait_event_where("monitors", STEP, |e| e["selected"] == left);
    picture_shows(
        &mut join,
        &a,
        (0, 0, 800, 600),
        work.path(),
        "the left monitor",
    );

    join.send_line("monitor all");
    join.wait_event_where("monitors", STEP, |e| e["selected"].is_null());
    picture_shows(
        &mut join,
        &a,
        (0, 0, 1600, 600),
        work.path(),
        "the whole desktop",
    );

    // The desktop shrinks during the session: the layout event follows, and the picture.
    resize_framebuffer(&a, 1200, 500);
    let resized = join.wait_event_where("monitors", STEP, |e| {
        e["width"] == 1200 && e["height"] == 500
    });
    assert!(resized["selected"].is_null(), "{resized}");
    picture_shows(
        &mut join,
        &a,
        (0, 0, 1200, 500),
        work.path(),
        "the resized desktop",
    );

    // The right monitor now reaches past the desktop: it is shown cut to it.
    join.send_line(&format!("monitor {}", index_of(&resized, "RIGHT")));
    join.wait_event_where("monitors", STEP, |e| e["selected"].as_u64().is_some());
    picture_shows(
        &mut join,
        &a,
        (800, 0, 400, 500),
        work.path(),
        "the cut right monitor",
    );

    // A monitor added mid-session is listed.
    set_monitor(&a, "MIDDLE", (400, 100, 400, 300));
    let added = join.wait_event_where("monitors", STEP, |e| {
        monitor_names(e).contains(&"MIDDLE".into())
    });
    join.send_line(&format!("monitor {}", index_of(&added, "MIDDLE")));
    picture_shows(
        &mut join,
        &a,
        (400, 100, 400, 300),
        work.path(),
        "the added monitor",
    );

    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    assert!(join.wait_exit(STEP));
}

/// Writes `display`'s screen to `target-screens/NAME` (not committed), for people to look at.
fn screenshot(display: &str, name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target-screens");
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h, bgrx) = grab_root(display);
    let rgb: Vec<u8> = bgrx
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0]])
        .collect();
    let path = dir.join(name);
    image::RgbImage::from_raw(w, h, rgb)
        .unwrap()
        .save(&path)
        .unwrap();
    path
}

/// Where the host's pointer settles after a move on the viewer's display.
fn remote_pointer_after_move(a: &str, b: &str, (x, y): (i32, i32)) -> (i32, i32) {
    xdotool(b, &["mousemove", &x.to_string(), &y.to_string()]);
    let mut last = pointer(a);
    let mut same = 0;
    wait_until("the remote pointer to settle", STEP, || {
        let now = pointer(a);
        if now == last {
            same += 1;
        } else {
            same = 0;
            last = now;
        }
        (same >= 5).then_some(now)
    })
}

/// The window's Monitor menu, and pointer input from the real window landing on the shown monitor.
#[test]
fn viewer_window_offers_the_monitors_and_input_lands_on_the_shown_one() {
    let mut display_a = VirtualDisplay::start(1600, 600).expect("Xvfb for the host");
    let display_b = VirtualDisplay::start(1400, 900).expect("Xvfb for the viewer");
    let (a, b) = (display_a.name().to_owned(), display_b.name().to_owned());
    set_monitor(&a, "LEFT", (0, 0, 800, 600));
    set_monitor(&a, "RIGHT", (800, 0, 800, 600));
    display_a
        .spawn(
            "xterm",
            [
                "-geometry",
                "60x20+860+80",
                "-e",
                "sh",
                "-c",
                "ls -la /; exec cat",
            ],
        )
        .unwrap();
    xdotool(&a, &["mousemove", "1200", "300"]);

    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, &a, &["--auto-accept", "control"]);
    let mut join = start_join(&relay, &code, Some(&b), &[]);
    let listed = join.wait_event_where("monitors", STEP, |e| monitor_names(e).len() >= 2);
    let (left, right) = (index_of(&listed, "LEFT"), index_of(&listed, "RIGHT"));
    assert_eq!(listed["selected"], right);
    join.wait_event("first_frame");
    let window = wait_for_window(&b, "Tandem");
    xdotool(&b, &["windowfocus", "--sync", &window]);
    let (wx, wy, ww, wh) = window_geometry(&b, &window);
    // The middle of the picture (below the status bar) is the middle of the shown monitor.
    let middle = (wx + ww / 2, wy + wh / 2 + 10);
    let on_right = remote_pointer_after_move(&a, &b, middle);
    assert!((800..1600).contains(&on_right.0), "{on_right:?}");
    screenshot(&b, "monitor-picker-closed.png");

    open_picker_for_a_screenshot(&b, (wx, wy, ww));

    join.send_line(&format!("monitor {left}"));
    join.wait_event_where("monitors", STEP, |e| e["selected"] == left);
    // The same place in the window now lands on the left monitor.
    let nudged = (middle.0 + 3, middle.1);
    let on_left = remote_pointer_after_move(&a, &b, nudged);
    assert!((0..800).contains(&on_left.0), "{on_left:?}");
    assert!(
        (on_left.0 - (on_right.0 - 800)).abs() <= 8,
        "{on_left:?} {on_right:?}"
    );

    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    assert!(join.wait_exit(STEP));
}

/// Opens the Monitor menu in the viewer's status bar and writes a screenshot of it. The menu is the
/// first button-coloured thing from the left of the status bar (the labels before it have no
/// background); the screenshot is taken once the screen changed and held still.
fn open_picker_for_a_screenshot(b: &str, (wx, wy, ww): (i32, i32, i32)) {
    let (w, _, before) = grab_root(b);
    let stride = w as usize * 4;
    let pixel = |x: i32, y: i32| {
        let at = y as usize * stride + x as usize * 4;
        [before[at], before[at + 1], before[at + 2]]
    };
    let bar_y = (wy + 4..wy + 40)
        .find(|&y| pixel(wx + ww - 30, y) != pixel(wx + ww - 30, wy + 1))
        .map_or(wy + 14, |y| y + 8);
    let panel = pixel(wx + 2, bar_y);
    let button = (wx + ww / 4..wx + ww / 2).find(|&x| {
        (0..4).all(|d| pixel(x + d, bar_y) != panel && pixel(x + d, bar_y) == pixel(x, bar_y))
    });
    let Some(x) = button else {
        eprintln!("no menu found in the status bar; no screenshot of it");
        return;
    };
    xdotool(
        b,
        &[
            "mousemove",
            &(x + 20).to_string(),
            &bar_y.to_string(),
            "click",
            "1",
        ],
    );
    // A proof for people, not a check: a menu that does not open is reported, not failed.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut last = before.clone();
    let mut same = 0;
    while same < 3 || last == before {
        if std::time::Instant::now() > deadline {
            eprintln!("the menu did not open; no screenshot of it");
            return;
        }
        let (_, _, now) = grab_root(b);
        if now == last {
            same += 1;
        } else {
            same = 0;
            last = now;
        }
        // The poll interval of `wait_until`: the condition, not the time, ends the wait.
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "wrote {}",
        screenshot(b, "monitor-picker-open.png").display()
    );
    xdotool(b, &["key", "Escape"]);
}
