//! Issue 10, monitors and resolution, through the real binaries: a wide Xvfb split into two RandR
//! monitors, the viewer's `monitors` event, switching between each monitor and the whole desktop
//! within one session, and a framebuffer resize mid-session; after each change the viewer's decoded
//! picture equals the selected part of the host's screen.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

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
    wait_until("both xterms to map", STEP, || {
        let out = std::process::Command::new("xdotool")
            .args(["search", "--onlyvisible", "--class", "xterm"])
            .env("DISPLAY", &a)
            .output()
            .ok()?;
        (String::from_utf8_lossy(&out.stdout).lines().count() >= 2).then_some(())
    });
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
