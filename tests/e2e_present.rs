//! Issue 8: the viewer presents the remote picture through an X11 child window of its egui window,
//! and hands the picture back to egui while something of egui's lies over it. Checked on the
//! viewer's real screen (display B's root, where the X server composes both), with a whole-screen
//! colour change on the host's display A that the picture must follow in both modes.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tandem_xvfb::VirtualDisplay;
use x11rb::protocol::xproto::{ConnectionExt as _, MapState};

/// The viewer window's mapped child windows: the presenter's, while it shows the picture.
fn mapped_children(display: &str, window: &str) -> usize {
    let (conn, _) = x11rb::connect(Some(display)).unwrap();
    let window: u32 = window.trim().parse().unwrap();
    let tree = conn.query_tree(window).unwrap().reply().unwrap();
    tree.children
        .iter()
        .filter(|&&child| {
            conn.get_window_attributes(child)
                .unwrap()
                .reply()
                .is_ok_and(|a| a.map_state == MapState::VIEWABLE)
        })
        .count()
}

/// Pixels of display B inside the window `(x, y, w, h)` whose colour is `rgb`, give or take 2 per
/// channel (blending rounds).
fn count_colour(display: &str, (x, y, w, h): (i32, i32, i32, i32), rgb: [u8; 3]) -> usize {
    let (root_w, root_h, pixels) = grab_root(display);
    let mut n = 0;
    for row in y.max(0)..(y + h).min(root_h as i32) {
        for col in x.max(0)..(x + w).min(root_w as i32) {
            let at = (row as usize * root_w as usize + col as usize) * 4;
            let got = [pixels[at + 2], pixels[at + 1], pixels[at]];
            if got.iter().zip(rgb).all(|(&g, w)| g.abs_diff(w) <= 2) {
                n += 1;
            }
        }
    }
    n
}

/// The colour of B's pixel at `(x, y)`.
fn colour_at(display: &str, (x, y): (i32, i32)) -> [u8; 3] {
    let (root_w, _, pixels) = grab_root(display);
    let at = (y as usize * root_w as usize + x as usize) * 4;
    [pixels[at + 2], pixels[at + 1], pixels[at]]
}

/// Paints `display`'s root window one `colour` (`#rrggbb`).
fn paint_root(display: &str, colour: &str) {
    let status = std::process::Command::new("xsetroot")
        .args(["-solid", colour])
        .env("DISPLAY", display)
        .status()
        .expect("xsetroot is installed");
    assert!(status.success());
}

/// A point inside the viewer window's picture whatever its scale: the window's middle, below the
/// toolbar.
fn picture_middle((wx, wy, ww, wh): (i32, i32, i32, i32)) -> (i32, i32) {
    (wx + ww / 2, wy + wh / 2 + 20)
}

/// The statistics overlay's panel over a picture of one colour: black at alpha 200 over it.
fn under_overlay(rgb: [u8; 3]) -> [u8; 3] {
    rgb.map(|c| ((u32::from(c) * 55 + 127) / 255) as u8)
}

#[test]
fn the_picture_follows_remote_changes_with_and_without_egui_over_it() {
    let display_a = VirtualDisplay::start(1024, 768).expect("Xvfb for display A");
    let display_b = VirtualDisplay::start(1400, 900).expect("Xvfb for display B");
    let (a, b) = (display_a.name().to_owned(), display_b.name().to_owned());
    let paint_a = |colour: &str| paint_root(&a, colour);
    paint_a("#d02030");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, &a, &["--auto-accept", "control"]);
    let mut join = start_join(&relay, &code, Some(&b), &["--present", "x11"]);
    join.wait_event("first_frame");
    let window = wait_for_window(&b, "Tandem");
    xdotool(&b, &["windowfocus", "--sync", &window]);
    let geometry = window_geometry(&b, &window);
    let middle = picture_middle(geometry);

    // (1) The presenter's child shows the picture, and follows a change.
    let red = [0xd0, 0x20, 0x30];
    wait_until("the viewer's screen to show A's red", STEP, || {
        (colour_at(&b, middle) == red).then_some(())
    });
    wait_until("the presenter's child window to be mapped", STEP, || {
        (mapped_children(&b, &window) == 1).then_some(())
    });
    paint_a("#20c040");
    let green = [0x20, 0xc0, 0x40];
    wait_until("the viewer's screen to show A's green", STEP, || {
        (colour_at(&b, middle) == green).then_some(())
    });

    // (2) The statistics overlay (host key + T) lies over the picture: egui draws both, the
    // overlay on top, and the picture still follows A.
    press_chord(&b, &["Control_R", "t"]);
    wait_until("the overlay over the green picture", STEP, || {
        (count_colour(&b, geometry, under_overlay(green)) > 500).then_some(())
    });
    assert_eq!(mapped_children(&b, &window), 0, "egui draws the picture");
    paint_a("#3040e0");
    let blue = [0x30, 0x40, 0xe0];
    wait_until("the picture under the overlay to turn blue", STEP, || {
        (colour_at(&b, middle) == blue && count_colour(&b, geometry, under_overlay(blue)) > 500)
            .then_some(())
    });

    // (3) Overlay off: the child shows the picture again, and the overlay is gone.
    press_chord(&b, &["Control_R", "t"]);
    wait_until(
        "the presenter's child window to be mapped again",
        STEP,
        || (mapped_children(&b, &window) == 1).then_some(()),
    );
    paint_a("#e0c020");
    let yellow = [0xe0, 0xc0, 0x20];
    wait_until(
        "the viewer's screen to show A's yellow, no overlay",
        STEP,
        || {
            (colour_at(&b, middle) == yellow
                && count_colour(&b, geometry, under_overlay(yellow)) == 0
                && count_colour(&b, geometry, under_overlay(blue)) == 0)
                .then_some(())
        },
    );

    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    assert!(join.wait_exit(STEP));
}

/// `--present egui` (the x11 presenter's fallback, and a choice): no child window, egui's texture
/// shows the picture and follows a change.
#[test]
fn with_present_egui_egui_draws_the_picture() {
    let display_a = VirtualDisplay::start(800, 600).expect("Xvfb for display A");
    let display_b = VirtualDisplay::start(1280, 800).expect("Xvfb for display B");
    let (a, b) = (display_a.name().to_owned(), display_b.name().to_owned());
    let paint_a = |colour: &str| paint_root(&a, colour);
    paint_a("#d02030");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, &a, &["--auto-accept", "view"]);
    let mut join = start_join(&relay, &code, Some(&b), &["--present", "egui"]);
    join.wait_event("first_frame");
    let window = wait_for_window(&b, "Tandem");
    let middle = picture_middle(window_geometry(&b, &window));
    wait_until("the viewer's screen to show A's red", STEP, || {
        (colour_at(&b, middle) == [0xd0, 0x20, 0x30]).then_some(())
    });
    assert_eq!(mapped_children(&b, &window), 0, "egui draws the picture");
    paint_a("#20c040");
    wait_until("the viewer's screen to show A's green", STEP, || {
        (colour_at(&b, middle) == [0x20, 0xc0, 0x40]).then_some(())
    });
    assert_eq!(mapped_children(&b, &window), 0);

    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    assert!(join.wait_exit(STEP));
}
