//! The keyboard across layouts, through real processes: `tandem share` on Xvfb display A and
//! `tandem join` with its real window on display B, each display with its own XKB layout
//! (`setxkbmap`). Keys are typed into the viewer window with xdotool and read back on A: from an
//! xterm whose `cat` writes every byte it gets to a file (raw mode, so control characters arrive
//! too), from xev's log of key events, and from the X server's own record of which keys are down.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use tandem_xvfb::VirtualDisplay;

/// Symbols that sit on different keys, levels or dead keys in the German, US and French layouts.
const SYMBOLS: &str = "@€{}[]|~ äöüß éèêç";
/// Text in a script none of the layouts has.
const CYRILLIC: &str = "привет";

/// Evdev positions (`tandem_proto::keys`) as X keycodes (evdev + 8).
const KEYCODE_LEFTCTRL: u8 = 29 + 8;
const KEYCODE_LEFTSHIFT: u8 = 42 + 8;

/// X keycodes (evdev + 8) of keys whose unshifted symbol tells the layouts apart.
const KEYCODE_Q: u8 = 16 + 8; // a on French keyboards
const KEYCODE_Y: u8 = 21 + 8; // z on German keyboards
/// The key left of 1: `dead_circumflex` on German keyboards.
const KEYCODE_GRAVE: &str = "49";
/// Right Alt: AltGr on German and French keyboards.
const KEYCODE_RIGHTALT: u8 = 100 + 8;

/// Gives `display` the XKB layout `layout` and checks that its keymap now is that layout.
fn setxkbmap(display: &str, layout: &str) {
    let status = Command::new("setxkbmap")
        .args(["-display", display, layout])
        .status()
        .expect("setxkbmap is installed (scripts/install-deps.sh)");
    assert!(status.success(), "setxkbmap {layout} on {display}");
    assert_layout(display, layout);
}

/// Asserts that `display`'s keymap has `layout`'s letters on the keys that differ between the
/// US, German and French layouts (read from the server, as every client reads it).
fn assert_layout(display: &str, layout: &str) {
    let expected = match layout {
        "us" => ['q', 'y'],
        "de" => ['q', 'z'],
        "fr" => ['a', 'y'],
        other => panic!("no check for layout {other}"),
    };
    let found = [KEYCODE_Q, KEYCODE_Y].map(|keycode| unshifted_symbol(display, keycode));
    assert_eq!(
        found,
        expected.map(u32::from),
        "the {layout} layout is not in effect on {display} (unshifted keysyms of the Q and Y keys)"
    );
}

/// The keysym `keycode` has without modifiers on `display` (the core keymap's first column).
fn unshifted_symbol(display: &str, keycode: u8) -> u32 {
    use x11rb::protocol::xproto::ConnectionExt;
    let (conn, _) = x11rb::connect(Some(display)).unwrap();
    let map = conn
        .get_keyboard_mapping(keycode, 1)
        .unwrap()
        .reply()
        .unwrap();
    map.keysyms.first().copied().unwrap_or(0)
}

/// Binds each character of `text` that `display`'s keymap lacks to a spare keycode of its own,
/// for as long as the display lives. Left to xdotool, such a character is bound only for the
/// moment of its key press, and a viewer busy for longer reads the keymap after xdotool has put
/// it back: the character is lost. A binding that stays is read with the keymap change that
/// comes before the key press in the viewer's event queue.
fn bind_missing_symbols(display: &str, text: &str) {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::ConnectionExt;
    let (conn, _) = x11rb::connect(Some(display)).unwrap();
    let (min, max) = (conn.setup().min_keycode, conn.setup().max_keycode);
    let map = conn
        .get_keyboard_mapping(min, max - min + 1)
        .unwrap()
        .reply()
        .unwrap();
    let per = usize::from(map.keysyms_per_keycode);
    let mut present: std::collections::HashSet<u32> = map.keysyms.iter().copied().collect();
    // Spare keycodes, but not 8, which xdotool takes for its own bindings, nor those of F13-F24
    // (evdev 183-194): the window would report such a key as an F-key besides its text.
    let mut spare = map
        .keysyms
        .chunks(per)
        .zip(min..=max)
        .filter(|(syms, keycode)| {
            syms.iter().all(|&s| s == 0) && *keycode != 8 && !(191..=202).contains(keycode)
        })
        .map(|(_, keycode)| keycode)
        .rev()
        .collect::<Vec<_>>();
    for c in text.chars() {
        let cp = u32::from(c);
        // Latin-1 characters are their own keysyms; others have the Unicode ones.
        let keysym = if (0x20..0x100).contains(&cp) {
            cp
        } else {
            0x0100_0000 + cp
        };
        if !present.insert(keysym) {
            continue;
        }
        let keycode = spare.pop().expect("a spare keycode on the display");
        conn.change_keyboard_mapping(1, keycode, 2, &[keysym, keysym])
            .unwrap()
            .check()
            .unwrap();
    }
}

/// Whether the X server of `display` has `keycode` down (QueryKeymap).
fn key_down(display: &str, keycode: u8) -> bool {
    use x11rb::protocol::xproto::ConnectionExt;
    let (conn, _) = x11rb::connect(Some(display)).unwrap();
    let keys = conn.query_keymap().unwrap().reply().unwrap().keys;
    keys[usize::from(keycode / 8)] & (1 << (keycode % 8)) != 0
}

/// A session with control between display A (layout `host_layout`) and the viewer's window on
/// display B (layout `viewer_layout`), and on A a program that records what arrives, focused.
struct Session {
    work: TempDir,
    display_a: VirtualDisplay,
    display_b: VirtualDisplay,
    _relay: TestRelay,
    share: Proc,
    join: Proc,
    viewer_window: String,
}

impl Session {
    fn start(host_layout: &str, viewer_layout: &str) -> Session {
        let work = TempDir::new("keyboard");
        let display_a = VirtualDisplay::start(1024, 768).expect("Xvfb for display A");
        let display_b = VirtualDisplay::start(1400, 900).expect("Xvfb for display B");
        setxkbmap(display_a.name(), host_layout);
        setxkbmap(display_b.name(), viewer_layout);
        let relay = TestRelay::start();
        let (mut share, code) =
            start_share(&relay, display_a.name(), &["--auto-accept", "control"]);
        let mut join = start_join(&relay, &code, Some(display_b.name()), &[]);
        share.wait_event("secured");
        assert_eq!(join.wait_event("permissions")["control"], true);
        join.wait_event("first_frame");
        let viewer_window = wait_for_window(display_b.name(), "Tandem");
        // Neither side's start changed its display's layout.
        assert_layout(display_a.name(), host_layout);
        assert_layout(display_b.name(), viewer_layout);
        Session {
            work,
            display_a,
            display_b,
            _relay: relay,
            share,
            join,
            viewer_window,
        }
    }

    fn a(&self) -> String {
        self.display_a.name().to_owned()
    }

    fn b(&self) -> String {
        self.display_b.name().to_owned()
    }

    /// Starts an xterm on A whose `cat` writes every byte typed to a file (raw mode: control
    /// characters too, nothing echoed), and gives it A's keyboard focus.
    fn xterm_recorder(&mut self) -> PathBuf {
        let typed = self.work.path().join("typed.bin");
        self.display_a
            .spawn(
                "xterm",
                [
                    "-u8",
                    "-T",
                    "recorder",
                    "-geometry",
                    "80x10+10+10",
                    "-xrm",
                    "XTerm*metaSendsEscape: true",
                    "-e",
                    "sh",
                    "-c",
                    &format!("stty raw -echo; exec cat > {}", typed.display()),
                ],
            )
            .unwrap();
        self.focus_on_a("recorder");
        // `cat` has the file open once the shell ran `stty`.
        wait_until("the recorder's file", STEP, || typed.exists().then_some(()));
        typed
    }

    /// Starts xev on A logging key events, and gives it A's keyboard focus.
    fn xev_recorder(&mut self) -> PathBuf {
        let log = self.work.path().join("xev.log");
        self.display_a
            .spawn(
                "sh",
                [
                    "-c",
                    &format!(
                        "exec xev -name keylog -geometry 300x200+10+10 -event keyboard > {}",
                        log.display()
                    ),
                ],
            )
            .unwrap();
        self.focus_on_a("keylog");
        log
    }

    fn focus_on_a(&self, name: &str) {
        let a = self.a();
        let target = wait_for_window(&a, name);
        // No window manager on A: focus the recorder as one would.
        xdotool(&a, &["windowfocus", "--sync", &target]);
    }

    /// Gives the viewer window B's keyboard focus (the picture takes egui's focus by itself).
    fn focus_viewer(&self) {
        xdotool(&self.b(), &["windowfocus", "--sync", &self.viewer_window]);
    }

    /// Types `text` into the viewer window on B, as the technician's keyboard would, with the
    /// characters B's layout lacks bound to spare keys first (as an extra layout would have them).
    fn type_in_viewer(&self, text: &str) {
        bind_missing_symbols(&self.b(), text);
        xdotool(&self.b(), &["type", "--delay", "100", text]);
    }

    fn keys_in_viewer(&self, keys: &[&str]) {
        let mut args = vec!["key", "--delay", "60"];
        args.extend_from_slice(keys);
        xdotool(&self.b(), &args);
    }

    fn set_key_mode(&mut self, mode: &str) {
        self.join.send_line(&format!("keymode {mode}"));
        self.join
            .wait_event_where("key_mode", STEP, |e| e["mode"] == mode);
    }
}

/// Waits until the recorder's file holds as many bytes as `expected` and checks they are exactly
/// `expected`; on timeout, fails showing what did arrive.
fn wait_for_bytes(file: &Path, expected: &[u8]) {
    let deadline = std::time::Instant::now() + STEP;
    let got = loop {
        let got = std::fs::read(file).unwrap_or_default();
        if got.len() >= expected.len() || std::time::Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "what arrived on A"
    );
}

/// Types the symbols and Cyrillic text through the viewer and reads exactly them back on A.
fn text_arrives_exactly(host_layout: &str, viewer_layout: &str) {
    let mut session = Session::start(host_layout, viewer_layout);
    let typed = session.xterm_recorder();
    session.focus_viewer();
    let mut expected = Vec::new();
    for text in [SYMBOLS, " ", CYRILLIC] {
        session.type_in_viewer(text);
        expected.extend_from_slice(text.as_bytes());
        wait_for_bytes(&typed, &expected);
    }
}

#[test]
fn text_typed_on_a_us_keyboard_arrives_exactly_on_a_german_host() {
    text_arrives_exactly("de", "us");
}

#[test]
fn text_typed_on_a_german_keyboard_arrives_exactly_on_a_us_host() {
    text_arrives_exactly("us", "de");
}

#[test]
fn text_typed_on_a_german_keyboard_arrives_exactly_on_a_french_host() {
    text_arrives_exactly("fr", "de");
}

/// AltGr is composed on the technician's side; physical mode types by position.
#[test]
fn altgr_composes_here_and_physical_mode_types_by_position() {
    let mut session = Session::start("us", "de");
    let typed = session.xterm_recorder();
    session.focus_viewer();
    let mut expected: Vec<u8> = Vec::new();
    // German keyboard: AltGr+Q is @, AltGr+E is €, AltGr+8 is [.
    session.keys_in_viewer(&[
        "ISO_Level3_Shift+q",
        "ISO_Level3_Shift+e",
        "ISO_Level3_Shift+8",
    ]);
    expected.extend_from_slice("@€[".as_bytes());
    wait_for_bytes(&typed, &expected);
    // Physical mode: the German Z sits where the US keyboard has Y, so the US host types y.
    session.set_key_mode("physical");
    session.keys_in_viewer(&["z"]);
    expected.push(b'y');
    wait_for_bytes(&typed, &expected);
    // And back to text mode: z is z again.
    session.set_key_mode("text");
    session.keys_in_viewer(&["z"]);
    expected.push(b'z');
    wait_for_bytes(&typed, &expected);
}

/// A dead key then a letter is composed on the technician's side (by winit's XKB compose): the
/// German keyboard's dead circumflex, the key left of 1, then e.
#[test]
fn dead_keys_compose_on_the_technicians_side() {
    let mut session = Session::start("us", "de");
    let typed = session.xterm_recorder();
    session.focus_viewer();
    // A first key, through to A, so that the window has taken in its focus: winit answers a
    // focus-in with made-up presses of the keys down at that moment, fed to the same compose
    // state, and a dead key pressed while that happens is composed with itself (into ^).
    session.keys_in_viewer(&["x"]);
    wait_for_bytes(&typed, b"x");
    session.keys_in_viewer(&[KEYCODE_GRAVE, "e"]);
    wait_for_bytes(&typed, "xê".as_bytes());
    // A dead key then space gives the accent itself.
    session.keys_in_viewer(&[KEYCODE_GRAVE, "space"]);
    wait_for_bytes(&typed, "xê^".as_bytes());
}

/// Physical mode with the same layout on both sides: AltGr (Right Alt) goes by position too, so
/// AltGr+Q is @ on a German host.
#[test]
fn altgr_goes_by_position_in_physical_mode() {
    let mut session = Session::start("de", "de");
    let typed = session.xterm_recorder();
    session.set_key_mode("physical");
    session.focus_viewer();
    let (a, b) = (session.a(), session.b());
    xdotool(&b, &["keydown", &KEYCODE_RIGHTALT.to_string()]);
    wait_until("AltGr down on A", STEP, || {
        key_down(&a, KEYCODE_RIGHTALT).then_some(())
    });
    session.keys_in_viewer(&["q"]);
    xdotool(&b, &["keyup", &KEYCODE_RIGHTALT.to_string()]);
    wait_until("AltGr released on A", STEP, || {
        (!key_down(&a, KEYCODE_RIGHTALT)).then_some(())
    });
    session.keys_in_viewer(&["q"]);
    wait_for_bytes(&typed, b"@q");
}

/// The host follows a change of its layout during the session: text still arrives exactly,
/// including letters that changed keys (y and z) and one the old layout lacked (ä).
#[test]
fn text_arrives_exactly_after_the_host_changes_its_layout() {
    let mut session = Session::start("us", "us");
    let typed = session.xterm_recorder();
    session.focus_viewer();
    let text = "yz ä@";
    session.type_in_viewer(text);
    let mut expected = text.as_bytes().to_vec();
    wait_for_bytes(&typed, &expected);
    setxkbmap(&session.a(), "de");
    session.type_in_viewer(text);
    expected.extend_from_slice(text.as_bytes());
    wait_for_bytes(&typed, &expected);
    setxkbmap(&session.a(), "fr");
    session.type_in_viewer(text);
    expected.extend_from_slice(text.as_bytes());
    wait_for_bytes(&typed, &expected);
}

/// xev's `KeyPress` lines on A: (modifier state, keysym name).
fn key_presses(log: &Path) -> Vec<(u32, String)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut presses = Vec::new();
    let mut in_press = false;
    for line in text.lines() {
        if line.starts_with("KeyPress event") {
            in_press = true;
        } else if line.starts_with("KeyRelease event") {
            in_press = false;
        } else if in_press && let Some(rest) = line.trim().strip_prefix("state 0x") {
            // "state 0xc, keycode 119 (keysym 0xffff, Delete), same_screen YES,"
            let state = u32::from_str_radix(rest.split(',').next().unwrap_or(""), 16).unwrap_or(0);
            let name = rest
                .split_once("keysym ")
                .and_then(|(_, r)| r.split_once(", "))
                .and_then(|(_, r)| r.split_once(')'))
                .map(|(name, _)| name.to_owned())
                .unwrap_or_default();
            presses.push((state, name));
            in_press = false;
        }
    }
    presses
}

const CONTROL_MASK: u32 = 0x4;
const MOD1_MASK: u32 = 0x8; // Alt

#[test]
fn shortcuts_arrive_as_shortcuts_from_the_keyboard_and_from_send_keys() {
    let mut session = Session::start("de", "us");
    let log = session.xev_recorder();
    session.focus_viewer();
    let has = |want: &(u32, &str)| {
        let log = log.clone();
        let (state, name) = (want.0, want.1.to_owned());
        move || {
            key_presses(&log)
                .iter()
                .any(|(s, n)| *n == name && s & state == state)
                .then_some(())
        }
    };
    // From the technician's keyboard: Ctrl+C (which egui would take for Copy) and Alt+F.
    session.keys_in_viewer(&["ctrl+c"]);
    wait_until("Ctrl+C on A", STEP, has(&(CONTROL_MASK, "c")));
    session.keys_in_viewer(&["alt+f"]);
    wait_until("Alt+F on A", STEP, has(&(MOD1_MASK, "f")));
    // From Send keys (`keys` on stdin), which the technician's desktop never intercepts.
    session.join.send_line("keys ctrl+alt+del");
    wait_until(
        "Ctrl+Alt+Del on A",
        STEP,
        has(&(CONTROL_MASK | MOD1_MASK, "Delete")),
    );
    session.join.send_line("keys alt+tab");
    wait_until("Alt+Tab on A", STEP, has(&(MOD1_MASK, "Tab")));
    session.join.send_line("keys super");
    wait_until("Super on A", STEP, has(&(0, "Super_L")));
    // Nothing stays held after them.
    wait_until("no modifier held on A", STEP, || {
        (!key_down(&session.a(), KEYCODE_LEFTCTRL)).then_some(())
    });
}

#[test]
fn no_modifier_sticks_after_focus_loss_revoke_or_the_end() {
    let mut session = Session::start("us", "de");
    let (a, b) = (session.a(), session.b());
    session.xterm_recorder();
    // A second window on B to move the focus to.
    session
        .display_b
        .spawn("xterm", ["-T", "elsewhere", "-geometry", "40x5+900+700"])
        .unwrap();
    let elsewhere = wait_for_window(&b, "elsewhere");
    session.focus_viewer();

    // (1) Ctrl held in the viewer is held on A; moving the focus away releases it on A.
    xdotool(&b, &["keydown", "ctrl"]);
    wait_until("Ctrl down on A", STEP, || {
        key_down(&a, KEYCODE_LEFTCTRL).then_some(())
    });
    xdotool(&b, &["windowfocus", "--sync", &elsewhere]);
    wait_until("Ctrl released on A after focus loss", STEP, || {
        (!key_down(&a, KEYCODE_LEFTCTRL)).then_some(())
    });
    xdotool(&b, &["keyup", "ctrl"]);

    // (2) The host lets go by itself when control is taken back, while the viewer still holds.
    session.focus_viewer();
    xdotool(&b, &["keydown", "ctrl"]);
    wait_until("Ctrl down on A again", STEP, || {
        key_down(&a, KEYCODE_LEFTCTRL).then_some(())
    });
    session.share.send_line("revoke");
    session
        .join
        .wait_event_where("permissions", STEP, |e| e["control"] == false);
    wait_until("Ctrl released on A after the revoke", STEP, || {
        (!key_down(&a, KEYCODE_LEFTCTRL)).then_some(())
    });
    xdotool(&b, &["keyup", "ctrl"]);

    // (3) Physical mode, granted again (the host accepts by itself here): Shift held, then the
    // session ends: released on A.
    session.join.send_line("control");
    session
        .join
        .wait_event_where("permissions", STEP, |e| e["control"] == true);
    session.set_key_mode("physical");
    session.focus_viewer();
    xdotool(&b, &["keydown", "shift"]);
    wait_until("Shift down on A", STEP, || {
        key_down(&a, KEYCODE_LEFTSHIFT).then_some(())
    });
    session.join.send_line("end");
    session.share.wait_event("session_ended");
    wait_until("Shift released on A after the end", STEP, || {
        (!key_down(&a, KEYCODE_LEFTSHIFT)).then_some(())
    });
    xdotool(&b, &["keyup", "shift"]);
}
