//! The user's window driven with the keyboard only (Tab, Enter, Escape, Space), as someone who
//! cannot use a mouse would: a real `tandem share` with its window on Xvfb, a headless
//! `tandem join`, a real relay. The share's JSON events say what was decided.
//!
//! When to press: the window logs (info, which the tests' `RUST_LOG=info` shows) when its Allow
//! button becomes usable; the tests wait for that line, then for the window with the question as
//! its title, before typing.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use tandem_xvfb::VirtualDisplay;

/// `tandem share` with its window, in English.
fn start_share_window(relay: &TestRelay, display: &str) -> (Proc, String) {
    start_share_with_window(relay, display, &["--lang", "en"])
}

/// Waits for the question's Allow to be usable, then puts the keyboard on the window whose title
/// contains `title`.
fn focus_question(share: &Proc, display: &str, title: &str) {
    wait_until("the window to enable Allow", STEP, || {
        share
            .stderr()
            .contains("consent: Allow enabled")
            .then_some(())
    });
    focus_window(display, title);
}

/// Gives the visible window named `title` the keyboard focus (no window manager runs here). Only a
/// visible one: `windowfocus` fails on a window that is not mapped yet, or a hidden one of the
/// same name.
fn focus_window(display: &str, title: &str) {
    let window = wait_for_window(display, title);
    xdotool(display, &["windowfocus", "--sync", &window]);
}

fn keys(display: &str, keys: &[&str]) {
    for key in keys {
        xdotool(display, &["key", "--delay", "80", key]);
    }
}

fn permissions(events: &[Value]) -> Vec<(bool, bool)> {
    events
        .iter()
        .filter(|e| e["event"] == "permissions")
        .map(|e| (e["view"] == true, e["control"] == true))
        .collect()
}

/// Enter never allows: not on Deny (where the keyboard starts; it denies) and not on Allow (after
/// Tab; nothing happens). Here: Tab to Allow, Enter, Shift+Tab back to Deny, Enter. Had the first
/// Enter allowed, the share would report the screen shared before the denial.
#[test]
fn enter_on_the_consent_question_never_allows() {
    let display = VirtualDisplay::start(800, 600).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, code) = start_share_window(&relay, display.name());
    let mut join = start_join(&relay, &code, None, &["--headless"]);
    assert_eq!(share.wait_event("consent_needed")["grant"], "view");
    focus_question(&share, display.name(), "wants to see your screen");

    keys(display.name(), &["Tab", "Return", "shift+Tab", "Return"]);

    let end = share.wait_event("session_ended");
    assert!(
        end["reason"].as_str().unwrap().contains("You declined"),
        "{end}"
    );
    assert!(
        permissions(&share.seen).iter().all(|&(view, _)| !view),
        "nothing was shared: {:?}",
        share.seen
    );
    let answer = join.wait_event("permissions");
    assert_eq!(
        (answer["view"].as_bool(), answer["control"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(!join.seen.iter().any(|e| e["event"] == "first_frame"));
    assert!(share.wait_exit(STEP));
}

/// The keyboard can allow (Tab to Allow, Space), then stop sharing from the bar (Tab reaches Stop
/// sharing first, Enter) and skip the feedback question (Escape).
#[test]
fn the_keyboard_allows_with_tab_and_space_and_stops_from_the_bar() {
    let display = VirtualDisplay::start(800, 600).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, code) = start_share_window(&relay, display.name());
    let mut join = start_join(&relay, &code, None, &["--headless"]);
    assert_eq!(share.wait_event("consent_needed")["grant"], "view");
    focus_question(&share, display.name(), "wants to see your screen");

    keys(display.name(), &["Tab", "space"]);
    let granted = share.wait_event("permissions");
    assert_eq!(granted["view"], true, "{granted}");
    assert_eq!(granted["control"], false, "{granted}");
    join.wait_event("first_frame");

    // The window is now the bar at the top edge.
    focus_window(display.name(), "sharing with E2E technician");
    keys(display.name(), &["Tab", "Return"]);
    share.wait_event("feedback_wanted");
    // Same window, now asking how it went: Escape skips.
    keys(display.name(), &["Escape"]);
    let end = share.wait_event("session_ended");
    assert!(
        end["reason"]
            .as_str()
            .unwrap()
            .contains("You stopped sharing"),
        "{end}"
    );
    assert!(
        !share.seen.iter().any(|e| e["event"] == "feedback_given"),
        "Escape skipped the question: {:?}",
        share.seen
    );
    join.wait_event("session_ended");
    assert!(share.wait_exit(STEP));
}

/// The technician's host key (Right Ctrl by default): Right Ctrl+X types nothing on the user's
/// side, Right Ctrl+Q ends the session. With control granted, a leaked Ctrl+X would be applied
/// and counted in the share's `input_summary`.
#[test]
fn the_host_key_is_the_viewers_and_right_ctrl_q_ends_the_session() {
    let a = VirtualDisplay::start(800, 600).expect("Xvfb for display A");
    let b = VirtualDisplay::start(1280, 800).expect("Xvfb for display B");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, a.name(), &["--auto-accept", "control"]);
    let mut join = start_join(&relay, &code, Some(b.name()), &[]);
    join.wait_event_where("permissions", STEP, |e| e["control"] == true);
    join.wait_event("first_frame");
    // The pointer over the toolbar, not the picture: no pointer input either.
    xdotool(b.name(), &["mousemove", "2", "2"]);
    focus_window(b.name(), "Tandem");

    press_chord(b.name(), &["Control_R", "x"]);
    press_chord(b.name(), &["Control_R", "q"]);

    join.wait_event("session_ended");
    let summary = share.wait_event("input_summary");
    assert_eq!(
        summary["injected"], 0,
        "nothing typed with the host key arrived: {summary}"
    );
    share.wait_event("session_ended");
    assert!(share.wait_exit(STEP));
}
