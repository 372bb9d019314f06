//! Issue 14's last toolbar actions through the real binaries: the technician gives control back
//! (`release` on the viewer's stdin, what the toolbar's Release control and the host key + C send),
//! and the technician's clipboard switch (`clipboard off` / `clipboard on`) with the real X
//! clipboards of two Xvfb displays (`xclip`).

#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};

use common::*;
use tandem_xvfb::VirtualDisplay;

/// The pixels of `rect` (x, y, width, height) of the root window of `display`.
fn grab_rect(display: &str, (x, y, width, height): (i32, i32, i32, i32)) -> Vec<u8> {
    let (root_width, _, bgrx) = grab_root(display);
    let row = root_width as usize * 4;
    let mut out = Vec::new();
    for line in y.max(0) as usize..(y + height).max(0) as usize {
        let start = line * row + x.max(0) as usize * 4;
        let end = (start + width.max(0) as usize * 4).min((line + 1) * row);
        if let Some(pixels) = bgrx.get(start..end) {
            out.extend_from_slice(pixels);
        }
    }
    out
}

/// The technician releases control: the host reports it and the permissions without control,
/// input sent afterwards is dropped, the viewer hears that control is off, and the user's bar
/// changes to say the technician gave control back.
#[test]
fn the_technician_gives_control_back() {
    let display = VirtualDisplay::start(1024, 600).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, code) = start_share_with_window(
        &relay,
        display.name(),
        &["--lang", "en", "--auto-accept", "control", "--no-feedback"],
    );
    let mut join = start_join(&relay, &code, None, &["--headless"]);
    let granted = join.wait_event("permissions");
    assert_eq!(granted["control"], true, "{granted}");
    join.wait_event("first_frame");
    // The bar, while the technician controls.
    let bar = wait_for_window(display.name(), "sharing with E2E technician");
    let geometry = wait_until("the bar at the top edge", STEP, || {
        let g = window_geometry(display.name(), &bar);
        (g.1 == 0 && g.3 < 80).then_some(g)
    });
    let before = grab_rect(display.name(), geometry);

    join.send_line("release");

    // The host's machine reports the permissions first, then who changed them.
    let after_release = share.wait_event_where("permissions", STEP, |v| v["control"] == false);
    assert_eq!(after_release["view"], true, "{after_release}");
    share.wait_event("control_released");
    join.wait_event_where("permissions", STEP, |v| {
        v["control"] == false && v["view"] == true
    });
    // Input after the release is dropped by the host.
    join.send_line("keys a");
    share.wait_event("input_dropped");
    // The user's bar says so, and looks different.
    wait_until("the bar to say control was given back", STEP, || {
        share
            .stderr()
            .contains("bar: the technician gave control back")
            .then_some(())
    });
    wait_until("the bar's pixels to change", STEP, || {
        let geometry = window_geometry(display.name(), &bar);
        (grab_rect(display.name(), geometry) != before).then_some(())
    });
    // A second release with nothing granted changes nothing; the session goes on.
    join.send_line("release");
    join.send_line("chat barrier");
    share.wait_event_where("chat", STEP, |v| v["text"] == "barrier");
    assert_eq!(
        share
            .seen
            .iter()
            .filter(|v| v["event"] == "control_released")
            .count(),
        1
    );

    join.send_line("end");
    assert!(share.wait_exit(STEP));
    assert!(join.wait_exit(STEP));
}

fn paste_text(display: &str) -> String {
    Command::new("xclip")
        .args(["-selection", "clipboard", "-t", "UTF8_STRING", "-o"])
        .env("DISPLAY", display)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn wait_clipboard(display: &str, expected: &str) {
    wait_until(
        &format!("the clipboard of {display} to be {expected:?}"),
        STEP,
        || (paste_text(display) == expected).then_some(()),
    );
}

/// A chat round trip through both sessions' loops: a clipboard change made before it would have
/// been sent by the time it is back.
fn barrier(share: &mut Proc, join: &mut Proc, word: &str) {
    join.send_line(&format!("chat {word}"));
    share.wait_event_where("chat", STEP, |v| v["text"] == word);
    share.send_line(&format!("chat {word} back"));
    let back = format!("{word} back");
    join.wait_event_where("chat", STEP, |v| v["text"] == back.as_str());
}

/// With clipboards shared, the technician switches their side off: a change of the host's real
/// clipboard no longer reaches the viewer's (nor the other way); switched on again, it does.
#[test]
fn the_technicians_clipboard_switch_stops_and_resumes_sharing() {
    let host_display = VirtualDisplay::start(640, 480).expect("Xvfb");
    let viewer_display = VirtualDisplay::start(640, 480).expect("Xvfb");
    let (host, viewer) = (host_display.name(), viewer_display.name());
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, host, &["--auto-accept", "control"]);
    let mut join = start_join(&relay, &code, Some(viewer), &["--headless"]);
    let granted = join.wait_event("permissions");
    assert_eq!(granted["clipboard"], true, "{granted}");
    join.wait_event("first_frame");
    xclip_copy(host, "UTF8_STRING", b"shared at first");
    wait_clipboard(viewer, "shared at first");

    join.send_line("clipboard off");
    join.wait_event_where("clipboard_switch", STEP, |v| v["on"] == false);
    share.wait_event_where("technician_clipboard", STEP, |v| v["on"] == false);
    share.wait_event_where("permissions", STEP, |v| v["clipboard"] == false);
    join.wait_event_where("permissions", STEP, |v| {
        v["clipboard"] == false && v["control"] == true
    });
    xclip_copy(host, "UTF8_STRING", b"host while off");
    xclip_copy(viewer, "UTF8_STRING", b"viewer while off");
    barrier(&mut share, &mut join, "off");
    assert_eq!(paste_text(viewer), "viewer while off");
    assert_eq!(paste_text(host), "host while off");
    join.assert_no_clipboard_since("clipboard_switch");

    join.send_line("clipboard on");
    join.wait_event_where("clipboard_switch", STEP, |v| v["on"] == true);
    share.wait_event_where("permissions", STEP, |v| v["clipboard"] == true);
    join.wait_event_where("permissions", STEP, |v| v["clipboard"] == true);
    xclip_copy(host, "UTF8_STRING", b"host after on");
    wait_clipboard(viewer, "host after on");

    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    join.wait_exit(STEP);
}

/// The host key + C toggles, through the viewer's real window: while in control it gives control
/// back, and pressed again it asks for control (which `--auto-accept control` grants at once).
#[test]
fn host_key_c_releases_and_requests_control() {
    let host = VirtualDisplay::start(800, 600).expect("Xvfb for the host");
    let viewer = VirtualDisplay::start(1280, 800).expect("Xvfb for the viewer");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, host.name(), &["--auto-accept", "control"]);
    let mut join = start_join(&relay, &code, Some(viewer.name()), &[]);
    join.wait_event_where("permissions", STEP, |e| e["control"] == true);
    join.wait_event("first_frame");
    // The pointer over the toolbar, not the picture: no pointer input.
    xdotool(viewer.name(), &["mousemove", "2", "2"]);
    let window = wait_for_window(viewer.name(), "Tandem");
    xdotool(viewer.name(), &["windowfocus", "--sync", &window]);

    press_chord(viewer.name(), &["Control_R", "c"]);
    share.wait_event_where("permissions", STEP, |v| v["control"] == false);
    share.wait_event("control_released");
    join.wait_event_where("permissions", STEP, |v| v["control"] == false);

    press_chord(viewer.name(), &["Control_R", "c"]);
    share.wait_event_where("permissions", STEP, |v| v["control"] == true);
    join.wait_event_where("permissions", STEP, |v| v["control"] == true);

    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    let summary = join.wait_event("session_ended");
    assert!(summary["reason"].is_string(), "{summary}");
}
