//! Issue 8, the cursor streamed apart, through the real binaries on two Xvfb displays (the host's
//! screen on A, the viewer's window on B): the viewer is sent the host's pointer image when it
//! changes, and pointer motion on A produces cursor positions but never a screen update.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;
use tandem_xvfb::VirtualDisplay;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ChangeWindowAttributesAux, ConnectionExt as _};

/// `xsetroot -cursor_name watch`, through x11rb (no xsetroot binary needed): the root window's
/// cursor becomes the cursor font's watch, which the pointer over the bare root then shows. The
/// connection is returned to be kept open: the server frees a client's cursor when it leaves, and
/// XFIXES then refuses to read the image still shown (BadAccess).
fn set_root_cursor_watch(display: &str) -> impl Connection {
    /// The watch glyph in the X cursor font (X11/cursorfont.h `XC_watch`).
    const XC_WATCH: u16 = 150;
    let (conn, screen) = x11rb::connect(Some(display)).unwrap();
    let root = conn.setup().roots[screen].root;
    let font = conn.generate_id().unwrap();
    conn.open_font(font, b"cursor").unwrap().check().unwrap();
    let cursor = conn.generate_id().unwrap();
    conn.create_glyph_cursor(
        cursor,
        font,
        font,
        XC_WATCH,
        XC_WATCH + 1,
        0,
        0,
        0,
        0xffff,
        0xffff,
        0xffff,
    )
    .unwrap()
    .check()
    .unwrap();
    conn.change_window_attributes(root, &ChangeWindowAttributesAux::new().cursor(cursor))
        .unwrap()
        .check()
        .unwrap();
    conn.flush().unwrap();
    conn
}

/// A plausible cursor image: a few to a few dozen pixels a side, the hot spot inside it.
fn assert_plausible_shape(event: &Value) {
    let field = |name: &str| event[name].as_u64().unwrap();
    let (w, h, hx, hy) = (
        field("width"),
        field("height"),
        field("hot_x"),
        field("hot_y"),
    );
    assert!((4..=64).contains(&w) && (4..=64).contains(&h), "{event}");
    assert!(hx < w && hy < h, "{event}");
}

/// Takes a snapshot and returns its event (frames decoded so far, the remote pointer).
fn snapshot(join: &mut Proc, dir: &Path, n: &mut u32) -> Value {
    *n += 1;
    let path = dir.join(format!("snapshot-{n}.png"));
    join.send_line(&format!("snapshot {}", path.display()));
    join.wait_event_where("snapshot", STEP, |e| e["path"] == path.to_str().unwrap())
}

#[test]
fn cursor_shapes_reach_the_viewer_and_pointer_motion_costs_no_frames() {
    let work = TempDir::new("cursor");
    let host_display = VirtualDisplay::start(640, 480).expect("Xvfb for the host");
    let viewer_display = VirtualDisplay::start(1024, 700).expect("Xvfb for the viewer");
    let (a, b) = (host_display.name(), viewer_display.name());
    xdotool(a, &["mousemove", "10", "10"]);

    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, a, &["--auto-accept", "view"]);
    let mut join = start_join(&relay, &code, Some(b), &[]);
    // The image shown when sharing starts (the server's default cursor over the bare root); it
    // may come before or after the first picture.
    let first = join.wait_event("cursor_shape");
    assert_plausible_shape(&first);
    if !join.seen.iter().any(|e| e["event"] == "first_frame") {
        join.wait_event("first_frame");
    }

    let _cursor_owner = set_root_cursor_watch(a);
    let watch = join.wait_event("cursor_shape");
    assert_plausible_shape(&watch);

    // The bare root never changes: whatever was decoded until now is all there is to decode.
    let mut n = 0;
    let before = snapshot(&mut join, work.path(), &mut n);
    let frames = before["frames"].as_u64().unwrap();
    assert!(frames >= 1, "{before}");

    // Each position reaches the viewer (as a cursor position, not in a picture).
    let positions: Vec<(i32, i32)> = (0..15).map(|i| (40 + i * 37, 30 + i * 23)).collect();
    for &(x, y) in &positions {
        xdotool(a, &["mousemove", &x.to_string(), &y.to_string()]);
        wait_until(
            &format!("the viewer to see the pointer at {x},{y}"),
            STEP,
            || {
                let event = snapshot(&mut join, work.path(), &mut n);
                (event["cursor"] == serde_json::json!([x, y])).then_some(())
            },
        );
    }
    let after = snapshot(&mut join, work.path(), &mut n);
    assert_eq!(
        after["frames"].as_u64(),
        Some(frames),
        "pointer motion produced screen updates: {after}"
    );

    join.send_line("end");
    let summary = join.wait_event("summary");
    assert_eq!(summary["frames"].as_u64(), Some(frames), "{summary}");
    let cursor_positions = summary["cursor_positions"].as_u64().unwrap();
    assert!(
        cursor_positions >= positions.len() as u64,
        "{cursor_positions} positions for {} moves: {summary}",
        positions.len()
    );
    assert!(join.wait_exit(STEP));
    share.wait_event("session_ended");
}
