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

/// A `w` x `h` pixmap on `conn`'s screen filled with pseudo-random pixels of 16 colours (lossless
/// for the codec, with edges enough for its move search).
fn noise_pixmap(
    conn: &impl x11rb::connection::Connection,
    screen: usize,
    (w, h): (u16, u16),
    seed: u32,
) -> u32 {
    use x11rb::protocol::xproto::{CreateGCAux, ImageFormat};
    let root = &conn.setup().roots[screen];
    let pixmap = conn.generate_id().unwrap();
    conn.create_pixmap(root.root_depth, pixmap, root.root, w, h)
        .unwrap();
    let gc = conn.generate_id().unwrap();
    conn.create_gc(gc, pixmap, &CreateGCAux::new()).unwrap();
    let mut state = seed;
    let rows_per_put = 32u16;
    for y in (0..h).step_by(usize::from(rows_per_put)) {
        let rows = rows_per_put.min(h - y);
        let mut data = Vec::with_capacity(usize::from(w) * usize::from(rows) * 4);
        for _ in 0..u32::from(w) * u32::from(rows) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let c = (state >> 7) % 16;
            data.extend_from_slice(&[(c * 16) as u8, (255 - c * 13) as u8, (c * 7 + 40) as u8, 0]);
        }
        conn.put_image(
            ImageFormat::Z_PIXMAP,
            pixmap,
            gc,
            w,
            rows,
            0,
            y as i16,
            0,
            root.root_depth,
            &data,
        )
        .unwrap();
    }
    conn.free_gc(gc).unwrap();
    pixmap
}

/// Where B's screen shows A's whole picture pixel for pixel, but for the 64x64 square around
/// `pointer` (where the viewer draws A's pointer), if it does: the top left corner.
fn shown_exactly(
    a: &(u32, u32, Vec<u8>),
    b: &(u32, u32, Vec<u8>),
    pointer: (i32, i32),
) -> Option<(u32, u32)> {
    let (aw, ah, a_px) = a;
    let (bw, bh, b_px) = b;
    let rgb = |px: &[u8], i: usize| [px[i * 4], px[i * 4 + 1], px[i * 4 + 2]];
    let near_pointer =
        |x: u32, y: u32| (x as i32 - pointer.0).abs() < 32 && (y as i32 - pointer.1).abs() < 32;
    let row_eq = |ax: u32, ay: u32, bx: u32, by: u32, n: u32| {
        (0..n).all(|i| {
            near_pointer(ax + i, ay)
                || rgb(a_px, (ay * aw + ax + i) as usize) == rgb(b_px, (by * bw + bx + i) as usize)
        })
    };
    for by in 0..=bh.checked_sub(*ah)? {
        for bx in 0..=bw.checked_sub(*aw)? {
            if row_eq(0, 0, bx, by, 32) {
                return (0..*ah)
                    .all(|y| row_eq(0, y, bx, by + y, *aw))
                    .then_some((bx, by));
            }
        }
    }
    None
}

/// Dragged windows reach the viewer as copies that the presenter repeats on its picture on the
/// server, and several updates can reach it between two of its rounds: B's screen must show A's
/// picture pixel for pixel (at actual size) after drags taken one at a time and in bursts.
#[test]
fn dragged_windows_show_exactly_on_the_viewers_screen() {
    use x11rb::connection::Connection as _;
    use x11rb::protocol::xproto::{
        ChangeWindowAttributesAux, ConfigureWindowAux, CreateWindowAux, WindowClass,
    };
    let display_a = VirtualDisplay::start(640, 400).expect("Xvfb for display A");
    let display_b = VirtualDisplay::start(1400, 900).expect("Xvfb for display B");
    let (a, b) = (display_a.name().to_owned(), display_b.name().to_owned());

    // A: a noise backdrop, and two noise windows over it; the server repaints what a move
    // uncovers from their background pixmaps.
    let (conn, screen) = x11rb::connect(Some(&a)).unwrap();
    let root = conn.setup().roots[screen].root;
    let backdrop = noise_pixmap(&conn, screen, (640, 400), 0x2545_f491);
    conn.change_window_attributes(
        root,
        &ChangeWindowAttributesAux::new().background_pixmap(backdrop),
    )
    .unwrap();
    conn.clear_area(false, root, 0, 0, 0, 0).unwrap();
    let windows: Vec<u32> = [(220u16, 150u16, 7u32), (120, 200, 11)]
        .into_iter()
        .map(|(w, h, seed)| {
            let pixmap = noise_pixmap(&conn, screen, (w, h), seed);
            let window = conn.generate_id().unwrap();
            conn.create_window(
                0,
                window,
                root,
                20,
                20,
                w,
                h,
                0,
                WindowClass::INPUT_OUTPUT,
                0,
                &CreateWindowAux::new()
                    .background_pixmap(pixmap)
                    .override_redirect(1),
            )
            .unwrap();
            conn.map_window(window).unwrap();
            window
        })
        .collect();
    conn.flush().unwrap();

    // A's pointer, which B draws over the picture, away in a corner.
    xdotool(&a, &["mousemove", "600", "380"]);
    let a_pointer = pointer(&a);
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, &a, &["--auto-accept", "view", "--fps", "60"]);
    let mut join = start_join(&relay, &code, Some(&b), &["--present", "x11"]);
    join.wait_event("first_frame");
    let viewer = wait_for_window(&b, "Tandem");
    xdotool(&b, &["windowfocus", "--sync", &viewer]);
    // Actual size: the presenter composites 1:1, a copy of the picture's pixels.
    press_chord(&b, &["Control_R", "s"]);
    let shows_a = |what: &str| {
        wait_until(what, STEP, || {
            shown_exactly(&grab_root(&a), &grab_root(&b), a_pointer).map(drop)
        })
    };
    shows_a("B to show A's picture exactly");

    let mut at = [(20i32, 20i32), (20, 20)];
    for round in 0..6u32 {
        // Bursts of moves paced like a drag (one a frame), some faster than the viewer's rounds.
        let (steps, pause) = if round % 2 == 0 { (12, 16) } else { (30, 2) };
        for step in 0..steps {
            for (i, (window, pos)) in windows.iter().zip(at.iter_mut()).enumerate() {
                let (dx, dy) = if i == 0 { (7, 3) } else { (-5, 4) };
                let turn = if (step / 8) % 2 == 0 { 1 } else { -1 };
                pos.0 = (pos.0 + dx * turn).clamp(0, 400);
                pos.1 = (pos.1 + dy * turn).clamp(0, 200);
                conn.configure_window(*window, &ConfigureWindowAux::new().x(pos.0).y(pos.1))
                    .unwrap();
            }
            conn.flush().unwrap();
            // Pacing the moves, not waiting for anything.
            std::thread::sleep(std::time::Duration::from_millis(pause));
        }
        conn.get_input_focus().unwrap().reply().unwrap();
        shows_a(&format!(
            "B to show A's picture exactly after drag round {round}"
        ));
    }

    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    assert!(join.wait_exit(STEP));
}
