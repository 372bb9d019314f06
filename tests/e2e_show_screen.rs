//! "Show my screen" through the real binaries: the technician's display B is shown to the user of
//! display A within the same session, view only; the user's side decodes exactly B's pixels, the
//! user can close it, the technician can show it again and stop.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tandem_xvfb::VirtualDisplay;

/// Waits until what the user's side decoded of the technician's screen equals display B.
fn wait_shown_equals(share: &mut Proc, display_b: &str, work: &TempDir, label: &str) {
    let (_, _, bgrx) = grab_root(display_b);
    let path = work.path().join(format!("shown-{label}.png"));
    wait_until(
        &format!("the shown screen to equal B ({label})"),
        STEP,
        || {
            share.send_line(&format!("shown-snapshot {}", path.display()));
            share.wait_event_where("shown_snapshot", STEP, |e| {
                e["path"].as_str() == path.to_str()
            });
            (differing_pixels(&bgrx, &path) == Some(0)).then_some(())
        },
    );
}

#[test]
fn the_technician_shows_their_screen_and_the_user_watches_and_closes_it() {
    let work = TempDir::new("show-screen");
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb for the user");
    let mut display_b = VirtualDisplay::start(800, 600).expect("Xvfb for the technician");
    let b = display_b.name().to_owned();
    display_b
        .spawn(
            "xterm",
            [
                "-geometry",
                "60x20+30+40",
                "-e",
                "sh",
                "-c",
                "ls -la /; exec cat",
            ],
        )
        .unwrap();
    wait_for_windows(&b, &["--class", "xterm"], 1);

    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, display_a.name(), &["--auto-accept", "view"]);
    // Headless, but on display B: that is the screen it shows.
    let mut join = start_join(&relay, &code, Some(&b), &["--headless"]);
    join.wait_event("first_frame");

    join.send_line("show on");
    let showing = join.wait_event("showing");
    assert_eq!(showing["on"], true, "{showing}");
    let shown = share.wait_event("shown_screen");
    assert_eq!(shown["on"], true, "{shown}");
    let frame = share.wait_event("shown_frame");
    assert_eq!(
        (frame["width"].as_u64(), frame["height"].as_u64()),
        (Some(800), Some(600))
    );
    wait_shown_equals(&mut share, &b, &work, "first");

    // The user closes it: the technician is told, nothing more is shown.
    share.send_line("close-shown");
    let closed = share.wait_event("shown_screen");
    assert_eq!(closed["on"], false, "{closed}");
    let told = join.wait_event("showing");
    assert_eq!(
        (told["on"].as_bool(), told["closed_by_user"].as_bool()),
        (Some(false), Some(true)),
        "{told}"
    );

    // Shown again (a fresh picture from a keyframe), then stopped by the technician.
    join.send_line("show on");
    join.wait_event_where("showing", STEP, |e| e["on"] == true);
    share.wait_event_where("shown_screen", STEP, |e| e["on"] == true);
    share.wait_event("shown_frame");
    wait_shown_equals(&mut share, &b, &work, "again");
    join.send_line("show off");
    let stopped = join.wait_event("showing");
    assert_eq!(
        (stopped["on"].as_bool(), stopped["closed_by_user"].as_bool()),
        (Some(false), Some(false)),
        "{stopped}"
    );
    share.wait_event_where("shown_screen", STEP, |e| e["on"] == false);

    // The session itself went on throughout: the user's screen still reaches the technician.
    share.send_line("stop");
    share.wait_event("session_ended");
    join.wait_event("session_ended");
}
