//! A whole support session through real processes: a relay on loopback, `tandem share` on Xvfb
//! display A, and `tandem join` with its real egui window on Xvfb display B, driven with xdotool.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use tandem_xvfb::VirtualDisplay;

const TYPED: &str = "tandem e2e 42";

/// Where the viewer window shows remote pixel (x, y): learned by moving the pointer on B and reading
/// where it lands on A, which also proves pointer input arrives.
struct Mapping {
    scale: f64,
    offset: (f64, f64),
}

impl Mapping {
    fn to_viewer(&self, remote: (i32, i32)) -> (i32, i32) {
        (
            (f64::from(remote.0) * self.scale + self.offset.0).round() as i32,
            (f64::from(remote.1) * self.scale + self.offset.1).round() as i32,
        )
    }
}

fn calibrate(display_a: &str, display_b: &str, viewer_window: &str) -> Mapping {
    let (wx, wy, ww, wh) = window_geometry(display_b, viewer_window);
    // Where the pointer on A settles after a move on B: not the first change seen (motion still in
    // flight passes through other positions), but a position that holds for several reads.
    let probe = |bx: i32, by: i32| -> (i32, i32) {
        xdotool(display_b, &["mousemove", &bx.to_string(), &by.to_string()]);
        let mut last = pointer(display_a);
        let mut same = 0;
        wait_until("the remote pointer to settle", STEP, || {
            let now = pointer(display_a);
            if now == last {
                same += 1;
            } else {
                same = 0;
                last = now;
            }
            (same >= 5).then_some(now)
        })
    };
    // Two points well inside the picture area (below the status bar), far apart; a third checks
    // the mapping, and a mapping that does not predict it is learned again.
    let p1 = (wx + ww / 4, wy + wh / 3);
    let p2 = (wx + 3 * ww / 4, wy + 5 * wh / 6);
    let p3 = (wx + ww / 2, wy + wh / 2);
    for _ in 0..5 {
        let q1 = probe(p1.0, p1.1);
        let q2 = probe(p2.0, p2.1);
        if q2.0 == q1.0 {
            continue;
        }
        let scale = f64::from(p2.0 - p1.0) / f64::from(q2.0 - q1.0);
        let mapping = Mapping {
            scale,
            offset: (
                f64::from(p1.0) - f64::from(q1.0) * scale,
                f64::from(p1.1) - f64::from(q1.1) * scale,
            ),
        };
        let q3 = probe(p3.0, p3.1);
        let predicted = mapping.to_viewer(q3);
        if (predicted.0 - p3.0).abs() <= 3 && (predicted.1 - p3.1).abs() <= 3 {
            return mapping;
        }
        eprintln!("calibration did not predict {p3:?} (got {predicted:?}); again");
    }
    panic!("could not learn where the viewer window shows the remote screen");
}

#[test]
fn viewer_sees_exact_pixels_controls_the_host_and_ends_the_session() {
    let work = TempDir::new("e2e");
    let mut display_a = VirtualDisplay::start(1024, 768).expect("Xvfb for display A");
    let display_b = VirtualDisplay::start(1400, 900).expect("Xvfb for display B");
    let (a, b) = (display_a.name().to_owned(), display_b.name().to_owned());

    // Known content on A: an xev window logging clicks, and an xterm waiting for a line.
    let xev_log = work.path().join("xev.log");
    let typed_file = work.path().join("typed.txt");
    display_a
        .spawn(
            "sh",
            [
                "-c",
                &format!(
                    "exec xev -geometry 400x300+20+20 -event button > {}",
                    xev_log.display()
                ),
            ],
        )
        .unwrap();
    display_a
        .spawn(
            "xterm",
            [
                "-geometry",
                "60x20+480+40",
                "-e",
                "sh",
                "-c",
                &format!(
                    "read line; printf '%s' \"$line\" > {}; exec sleep 600",
                    typed_file.display()
                ),
            ],
        )
        .unwrap();
    // The xev and xterm windows.
    wait_for_windows(&a, &["--name", "."], 2);

    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, &a, &["--auto-accept", "control"]);
    let mut join = start_join(&relay, &code, Some(&b), &[]);
    let host_check = share.wait_event("secured")["verifier"].clone();
    let viewer_check = join.wait_event("secured")["verifier"].clone();
    assert_eq!(
        host_check, viewer_check,
        "both sides show the same check number"
    );
    let permissions = join.wait_event("permissions");
    assert_eq!(permissions["view"], true);
    assert_eq!(permissions["control"], true);
    let first = join.wait_event("first_frame");
    assert_eq!(
        (first["width"].as_u64(), first["height"].as_u64()),
        (Some(1024), Some(768))
    );

    // (1) The pixels the viewer decoded equal display A's pixels.
    let snapshot = work.path().join("viewer.png");
    let mut last_diff = None;
    wait_until("the viewer's picture to equal display A", STEP, || {
        let (_, _, grab) = grab_root(&a);
        join.send_line(&format!("snapshot {}", snapshot.display()));
        join.wait_event("snapshot");
        let (_, _, grab_after) = grab_root(&a);
        let diff = differing_pixels(&grab, &snapshot)?;
        last_diff = Some(diff);
        // Compare only against a screen that held still across the snapshot.
        (grab == grab_after && diff == 0).then_some(())
    });
    assert_eq!(last_diff, Some(0));

    // (2) Input from the viewer's real window arrives on A: pointer, click, typed text.
    let viewer_window = wait_for_window(&b, "Tandem");
    // No window manager runs on B, so give the viewer keyboard focus as one would.
    xdotool(&b, &["windowfocus", "--sync", &viewer_window]);
    let mapping = calibrate(&a, &b, &viewer_window);

    let (cx, cy) = mapping.to_viewer((220, 170)); // inside the xev window
    xdotool(&b, &["mousemove", &cx.to_string(), &cy.to_string()]);
    xdotool(&b, &["click", "1"]);
    wait_until("xev on A to log the click", STEP, || {
        let log = std::fs::read_to_string(&xev_log).ok()?;
        log.contains("ButtonPress").then_some(())
    });

    let (tx, ty) = mapping.to_viewer((650, 150)); // inside the xterm
    xdotool(&b, &["mousemove", &tx.to_string(), &ty.to_string()]);
    wait_until("the remote pointer over the xterm", STEP, || {
        let (x, y) = pointer(&a);
        ((x - 650).abs() <= 3 && (y - 150).abs() <= 3).then_some(())
    });
    xdotool(&b, &["type", "--delay", "40", TYPED]);
    xdotool(&b, &["key", "Return"]);
    let typed = wait_until("the typed line to reach the xterm on A", STEP, || {
        std::fs::read_to_string(&typed_file).ok()
    });
    assert_eq!(typed, TYPED);

    // (3) Ending from the viewer ends it on both sides.
    join.send_line("end");
    let viewer_end = join.wait_event("session_ended");
    assert!(
        viewer_end["reason"].as_str().unwrap().contains("You ended"),
        "{viewer_end}"
    );
    let host_end = share.wait_event("session_ended");
    assert!(
        host_end["reason"]
            .as_str()
            .unwrap()
            .contains("technician ended"),
        "{host_end}"
    );
    assert!(join.wait_exit(STEP), "join exits cleanly");
    assert!(share.wait_exit(STEP), "share exits cleanly");
}

#[test]
fn host_stop_ends_the_session_on_both_sides() {
    let display_a = VirtualDisplay::start(800, 600).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, display_a.name(), &["--auto-accept", "view"]);
    let mut join = start_join(&relay, &code, None, &["--headless"]);
    assert_eq!(join.wait_event("permissions")["control"], false);
    join.wait_event("first_frame");

    share.send_line("stop");
    assert!(
        share.wait_event("session_ended")["reason"]
            .as_str()
            .unwrap()
            .contains("You stopped sharing")
    );
    let viewer_end = join.wait_event("session_ended");
    assert!(
        viewer_end["reason"]
            .as_str()
            .unwrap()
            .contains("host ended"),
        "{viewer_end}"
    );
    assert!(share.wait_exit(STEP));
    assert!(join.wait_exit(STEP));
}

#[test]
fn killed_viewer_is_reported_as_gone_on_the_host() {
    let display_a = VirtualDisplay::start(800, 600).expect("Xvfb");
    let relay = TestRelay::start();
    // With a grace the host would wait for the viewer to come back (e2e_reconnect); without one
    // it ends at once.
    let (mut share, code) = start_share(
        &relay,
        display_a.name(),
        &["--auto-accept", "view", "--reconnect-grace", "0"],
    );
    let mut join = start_join(&relay, &code, None, &["--headless"]);
    join.wait_event("first_frame");
    join.kill();
    let host_end = share.wait_event_within("session_ended", Duration::from_secs(60));
    assert!(
        host_end["reason"].as_str().unwrap().contains("left"),
        "{host_end}"
    );
    assert!(share.wait_exit(STEP));
}

/// Keys typed into the viewer's chat go to the user as chat, never to the user's screen; keys
/// typed after clicking back into the picture do reach it.
#[test]
fn chat_typed_in_the_viewer_never_reaches_the_remote_screen() {
    let work = TempDir::new("e2e-chat");
    let mut display_a = VirtualDisplay::start(1024, 768).expect("Xvfb for display A");
    let display_b = VirtualDisplay::start(1400, 900).expect("Xvfb for display B");
    let (a, b) = (display_a.name().to_owned(), display_b.name().to_owned());

    // An xterm over all of A that appends every line it gets to a file: wherever the remote
    // pointer is, a key that leaks ends up there.
    let typed_file = work.path().join("typed.txt");
    display_a
        .spawn(
            "xterm",
            [
                "-geometry",
                "200x80+0+0",
                "-e",
                "sh",
                "-c",
                &format!("exec cat > {}", typed_file.display()),
            ],
        )
        .unwrap();
    let typed = || std::fs::read_to_string(&typed_file).unwrap_or_default();

    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, &a, &["--auto-accept", "control"]);
    let mut join = start_join(&relay, &code, Some(&b), &[]);
    assert_eq!(join.wait_event("permissions")["control"], true);
    join.wait_event("first_frame");
    let window = wait_for_window(&b, "Tandem");
    xdotool(&b, &["windowfocus", "--sync", &window]);
    let (x, y, w, h) = window_geometry(&b, &window);
    let click = |px: i32, py: i32| {
        xdotool(&b, &["mousemove", &px.to_string(), &py.to_string()]);
        xdotool(&b, &["click", "1"]);
    };
    // Left of where the chat panel opens: always the picture.
    let picture = (x + w / 4, y + h / 2);
    // The chat input, along the bottom of the panel on the right.
    let chat_input = (x + w - 160, y + h - 14);

    // Keys typed over the picture reach A: the check below can see a leak.
    click(picture.0, picture.1);
    xdotool(&b, &["type", "--delay", "40", "remote one"]);
    xdotool(&b, &["key", "Return"]);
    wait_until("the first line on A", STEP, || {
        typed().contains("remote one").then_some(())
    });

    // A message from the user opens the chat panel.
    share.send_line("chat hello from the user");
    wait_until("the chat panel to open on B", STEP, || {
        let (width, _, pixels) = grab_root(&b);
        let at = ((chat_input.1 as u32 * width + chat_input.0 as u32) * 4) as usize;
        // The picture shows A's white xterm there; the panel and its input are dark.
        pixels[at..at + 3].iter().all(|&c| c < 80).then_some(())
    });
    click(chat_input.0, chat_input.1);
    xdotool(&b, &["type", "--delay", "40", "secret words"]);
    xdotool(&b, &["key", "Return"]);
    wait_until("the chat message at the user's side", STEP, || {
        let event = share.wait_event("chat");
        (event["from"] == "peer" && event["text"] == "secret words").then_some(())
    });

    // Back in the picture, keys reach A again; anything leaked from the chat came before them.
    click(picture.0, picture.1);
    xdotool(&b, &["type", "--delay", "40", "remote two"]);
    xdotool(&b, &["key", "Return"]);
    wait_until("the second line on A", STEP, || {
        typed().contains("remote two").then_some(())
    });
    let seen = typed();
    assert!(!seen.contains("secret"), "chat keys reached A: {seen:?}");
    assert_eq!(seen, "remote one\nremote two\n");
}

/// The host reads and encodes only where X DAMAGE says the screen changed (small changes patched
/// into its copy of the screen, large ones read whole): 150 changes drawn on A, small and large
/// mixed, most of them captured on their own (the share at 60 frames/s, a change every 20 ms), and
/// afterwards the viewer's picture is exactly A's. A change the damage-bounded capture missed
/// would stay wrong: nothing redraws it.
#[test]
fn every_small_and_large_change_reaches_the_viewer_exactly() {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ChangeGCAux, ConnectionExt as _, CreateGCAux, Rectangle};

    let display_a = VirtualDisplay::start(800, 600).expect("Xvfb");
    let work = TempDir::new("e2e-damage");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(
        &relay,
        display_a.name(),
        &["--auto-accept", "view", "--fps", "60"],
    );
    let mut join = start_join(&relay, &code, None, &["--headless"]);
    join.wait_event("first_frame");

    let (conn, screen) = x11rb::connect(Some(display_a.name())).unwrap();
    let root = conn.setup().roots[screen].root;
    let gc = conn.generate_id().unwrap();
    conn.create_gc(gc, root, &CreateGCAux::new()).unwrap();
    let mut state = 0x2545_f491_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    for i in 0..150 {
        // Mostly a few pixels (a key press, a blinking caret); every 30th a quarter of the screen
        // or more (a window opening), after which small changes need the copy filled again.
        let (w, h) = if i % 30 == 29 {
            (300 + next() % 400, 200 + next() % 300)
        } else {
            (1 + next() % 24, 1 + next() % 24)
        };
        let (x, y) = (next() % 800, next() % 600);
        conn.change_gc(gc, &ChangeGCAux::new().foreground(next() & 0xff_ffff))
            .unwrap();
        let rect = Rectangle {
            x: x as i16,
            y: y as i16,
            width: w as u16,
            height: h as u16,
        };
        conn.poly_fill_rectangle(root, gc, &[rect]).unwrap();
        conn.flush().unwrap();
        // Pacing the drawing, not waiting for anything: changes this far apart are mostly
        // captured one at a time, as typing is.
        std::thread::sleep(Duration::from_millis(20));
    }
    conn.get_input_focus().unwrap().reply().unwrap();

    let snapshot = work.path().join("viewer.png");
    let mut last_diff = None;
    wait_until("the viewer's picture to equal display A", STEP, || {
        let (_, _, grab) = grab_root(display_a.name());
        join.send_line(&format!("snapshot {}", snapshot.display()));
        join.wait_event("snapshot");
        let diff = differing_pixels(&grab, &snapshot)?;
        last_diff = Some(diff);
        (diff == 0).then_some(())
    });
    assert_eq!(last_diff, Some(0));
    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    join.wait_event("session_ended");
}
