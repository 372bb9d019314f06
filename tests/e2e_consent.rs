//! Consent and code failures through real processes: a relay on loopback, `tandem share` on Xvfb
//! display A, `tandem join` headless or with its real egui window on Xvfb display B.
//!
//! Each test starts its own relay and displays; display numbers are spread out so the tests of this
//! file (run in parallel) and of `e2e_session.rs` don't race for the same one.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;
use tandem_xvfb::VirtualDisplay;

/// What the viewer says for a wrong code (`HandshakeError::WrongCode`).
const WRONG_CODE: &str = "the code was wrong or already used — ask for a new one";
/// What the viewer says when the relay knows no such code (`ClientError::UnknownCode`).
const UNKNOWN_CODE: &str = "no session is waiting under that code";

/// `(view, control)` of a `permissions` event.
fn perms(event: &Value) -> (bool, bool) {
    (
        event["view"].as_bool().unwrap(),
        event["control"].as_bool().unwrap(),
    )
}

fn reason(event: &Value) -> &str {
    event["reason"].as_str().unwrap()
}

/// `code` with every secret digit (the last six) changed, the routing digits kept.
fn with_wrong_secret(code: &str) -> String {
    let digits: Vec<char> = code.chars().filter(char::is_ascii_digit).collect();
    let split = digits.len() - 6;
    let routing: String = digits[..split].iter().collect();
    let secret: String = digits[split..]
        .iter()
        .map(|d| char::from_digit((d.to_digit(10).unwrap() + 1) % 10, 10).unwrap())
        .collect();
    format!("{routing} {secret}")
}

/// A wrong-code join as the technician's side sees it: paired (the routing part was right), then
/// the wrong-code error, and a failed exit.
fn join_with_wrong_code(relay: &TestRelay, code: &str) {
    let wrong = with_wrong_secret(code);
    assert_ne!(wrong.replace(' ', ""), code.replace(' ', ""));
    let mut join = start_join(relay, &wrong, None, &["--headless"]);
    join.wait_event("paired");
    let viewer_end = join.wait_event("session_ended");
    assert!(reason(&viewer_end).contains(WRONG_CODE), "{viewer_end}");
    assert!(!join.wait_exit(STEP), "join exits with failure");
}

#[test]
fn a_wrong_code_burns_it_and_the_host_gets_a_fresh_one_by_itself() {
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, display_a.name(), &["--auto-accept", "view"]);

    join_with_wrong_code(&relay, &code);
    share.wait_event("paired");
    let burned = share.wait_event("code_burned");
    assert_eq!(burned["wrong_tries"], 1, "{burned}");
    let fresh = share.wait_event("code_issued")["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(fresh, code, "a new code, not the burned one");
    assert!(
        !share
            .seen
            .iter()
            .any(|e| e["event"] == "secured" || e["event"] == "session_ended"),
        "the host neither reached a session nor ended: {:?}",
        share.seen
    );

    // The burned code is dead: the relay forgot it at the first attempt, so even the right
    // secret fails.
    let mut retry = start_join(&relay, &code, None, &["--headless"]);
    let retry_end = retry.wait_event("session_ended");
    assert!(reason(&retry_end).contains(UNKNOWN_CODE), "{retry_end}");
    assert!(!retry.seen.iter().any(|e| e["event"] == "paired"));
    assert!(!retry.wait_exit(STEP));

    // The fresh one works, on the same `share` run.
    let mut join = start_join(&relay, &fresh, None, &["--headless"]);
    join.wait_event("first_frame");
    share.wait_event("secured");
    share.send_line("stop");
    share.wait_event("session_ended");
    join.wait_event("session_ended");
    assert!(
        share.wait_exit(STEP),
        "share exits cleanly after a normal session"
    );
}

#[test]
fn wrong_codes_stop_sharing_after_the_last_try() {
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, mut code) = start_share(&relay, display_a.name(), &[]);
    for try_number in 1..=3 {
        join_with_wrong_code(&relay, &code);
        let burned = share.wait_event("code_burned");
        assert_eq!(burned["wrong_tries"], try_number, "{burned}");
        assert_eq!(burned["max_wrong_tries"], 3, "{burned}");
        if try_number < 3 {
            code = share.wait_event("code_issued")["code"]
                .as_str()
                .unwrap()
                .to_owned();
        }
    }
    let host_end = share.wait_event("session_ended");
    let host_reason = reason(&host_end);
    assert!(
        host_reason.contains("wrong code 3 times") && host_reason.contains("start sharing again"),
        "{host_end}"
    );
    assert!(
        !share.seen.iter().any(|e| e["event"] == "secured"),
        "the host never reached a secured session: {:?}",
        share.seen
    );
    assert!(!share.wait_exit(STEP), "share exits with failure");
    // No fourth code was handed out.
    let codes = share
        .seen
        .iter()
        .filter(|e| e["event"] == "code_issued")
        .count();
    assert_eq!(codes, 3, "{:?}", share.seen);
}

#[test]
fn second_join_with_a_used_code_is_refused_and_the_session_goes_on() {
    let work = TempDir::new("reuse");
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, display_a.name(), &["--auto-accept", "view"]);
    let mut join = start_join(&relay, &code, None, &["--headless"]);
    join.wait_event("first_frame");

    let mut second = start_join(&relay, &code, None, &["--headless"]);
    let second_end = second.wait_event("session_ended");
    let text = reason(&second_end);
    assert!(
        text.contains(UNKNOWN_CODE) && text.contains("ask for a new one"),
        "{second_end}"
    );
    assert!(!second.seen.iter().any(|e| e["event"] == "paired"));
    assert!(
        !second.wait_exit(STEP),
        "the second join exits with failure"
    );

    // The first session is unaffected: it still decodes the screen, and ends normally later.
    let snapshot = work.path().join("still-running.png");
    join.send_line(&format!("snapshot {}", snapshot.display()));
    let shot = join.wait_event("snapshot");
    assert!(shot["frames"].as_u64().unwrap() >= 1, "{shot}");
    assert!(image::open(&snapshot).is_ok());
    join.send_line("end");
    let host_end = share.wait_event("session_ended");
    assert!(
        reason(&host_end).contains("technician ended"),
        "the original session ended only when its viewer ended it: {host_end}"
    );
    let paired = share.seen.iter().filter(|e| e["event"] == "paired").count();
    assert_eq!(paired, 1, "the host saw one viewer only: {:?}", share.seen);
    assert!(join.wait_exit(STEP));
    assert!(share.wait_exit(STEP));
}

#[test]
fn expired_code_is_reported_by_the_host_and_refused_to_the_viewer() {
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, display_a.name(), &["--code-ttl", "1"]);
    let host_end = share.wait_event("session_ended");
    let text = reason(&host_end);
    assert!(
        text.contains("expired before anyone used it")
            && text.contains("start sharing again to get a new code"),
        "{host_end}"
    );
    assert!(!share.wait_exit(STEP), "share exits with failure");

    let mut join = start_join(&relay, &code, None, &["--headless"]);
    let viewer_end = join.wait_event("session_ended");
    assert!(reason(&viewer_end).contains(UNKNOWN_CODE), "{viewer_end}");
    assert!(!join.wait_exit(STEP));
}

/// A relay whose config file is `toml`.
fn relay_with_config(dir: &Path, toml: &str) -> TestRelay {
    let config = dir.join("relay.toml");
    std::fs::write(&config, toml).unwrap();
    TestRelay::start_with_config(&config)
}

#[test]
fn joins_past_the_per_address_limit_are_refused_clearly() {
    let work = TempDir::new("ratelimit");
    // Two joins per address, never refilled: the third is over the limit whatever the timing.
    let relay = relay_with_config(
        work.path(),
        "[limits]\njoin_per_ip = { burst = 2, per_minute = 0 }\n",
    );
    for bogus in ["987 654 321", "987 123 456"] {
        let mut join = start_join(&relay, bogus, None, &["--headless"]);
        let end = join.wait_event("session_ended");
        assert!(reason(&end).contains(UNKNOWN_CODE), "{end}");
        assert!(!join.wait_exit(STEP));
    }
    let mut join = start_join(&relay, "987 111 222", None, &["--headless"]);
    let end = join.wait_event("session_ended");
    assert_eq!(
        reason(&end),
        "the relay refused for now: too many attempts from your address; wait a minute and try again"
    );
    assert!(!join.wait_exit(STEP), "a refused join exits with failure");
}

#[test]
fn declined_view_ends_the_session_on_both_sides() {
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, display_a.name(), &[]);
    let mut join = start_join(&relay, &code, None, &["--headless"]);
    let asked = share.wait_event("consent_needed");
    assert_eq!(asked["grant"], "view");
    assert_eq!(asked["technician"], "E2E technician");
    share.send_line("n");

    let answer = join.wait_event("permissions");
    assert_eq!(perms(&answer), (false, false), "{answer}");
    let viewer_end = join.wait_event("session_ended");
    let text = reason(&viewer_end);
    assert!(
        text.contains("host ended") && text.contains("declined to share their screen"),
        "{viewer_end}"
    );
    assert!(
        !join
            .seen
            .iter()
            .any(|e| e["event"] == "first_frame"
                || (e["event"] == "permissions" && e["view"] != false)),
        "nothing was shown without consent: {:?}",
        join.seen
    );
    let host_end = share.wait_event("session_ended");
    assert!(reason(&host_end).contains("You declined"), "{host_end}");
    assert!(join.wait_exit(STEP), "a declined viewer ends cleanly");
    assert!(share.wait_exit(STEP));
}

/// Issue 7: a technician name carrying a terminal escape (`ESC[2J`, which clears the user's
/// terminal) and a newline (a forged extra line) reaches the host's prompt only as visible
/// replacement characters, never as control characters.
#[test]
fn technician_name_with_terminal_escapes_reaches_the_prompt_harmless() {
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, display_a.name(), &[]);
    let name = "Bob\u{1b}[2J\nIT says: allow";
    let mut join = start_join(&relay, &code, None, &["--headless", "--name", name]);
    let asked = share.wait_event("consent_needed");
    let shown = asked["technician"].as_str().unwrap();
    assert!(!shown.chars().any(char::is_control), "{asked}");
    assert_eq!(shown, "Bob\u{FFFD}[2J\u{FFFD}IT says: allow");
    share.send_line("n");
    join.wait_event("session_ended");
    share.wait_event("session_ended");
}

/// Display A with an xev window over most of it logging pointer buttons and keys, and display B for
/// the viewer's window.
struct Displays {
    a: VirtualDisplay,
    b: VirtualDisplay,
    xev_log: PathBuf,
}

impl Displays {
    fn start(work: &TempDir) -> Displays {
        let mut a = VirtualDisplay::start(800, 600).expect("Xvfb for display A");
        let b = VirtualDisplay::start(1200, 800).expect("Xvfb for display B");
        let xev_log = work.path().join("xev.log");
        a.spawn(
            "sh",
            [
                "-c",
                &format!(
                    "exec xev -geometry 780x580+0+0 -event button -event keyboard > {}",
                    xev_log.display()
                ),
            ],
        )
        .unwrap();
        let name = a.name().to_owned();
        wait_until("the xev window on A", STEP, || {
            let out = std::process::Command::new("xdotool")
                .args(["search", "--onlyvisible", "--name", "."])
                .env("DISPLAY", &name)
                .output()
                .ok()?;
            (!String::from_utf8_lossy(&out.stdout).trim().is_empty()).then_some(())
        });
        Displays { a, b, xev_log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.xev_log).unwrap_or_default()
    }

    /// The viewer window on B, focused, and its geometry (x, y, width, height).
    fn viewer_window(&self) -> (i32, i32, i32, i32) {
        let b = self.b.name();
        let window = wait_until("the viewer window on B", STEP, || {
            let out = std::process::Command::new("xdotool")
                .args(["search", "--onlyvisible", "--name", "Tandem"])
                .env("DISPLAY", b)
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        });
        // No window manager runs on B, so give the viewer keyboard focus as one would.
        xdotool(b, &["windowfocus", "--sync", &window]);
        window_geometry(b, &window)
    }

    /// Moves the pointer on B to the fraction (fx, fy) of the viewer window.
    fn move_in_viewer(&self, window: (i32, i32, i32, i32), fx: f64, fy: f64) {
        let (x, y, w, h) = window;
        let bx = x + (f64::from(w) * fx) as i32;
        let by = y + (f64::from(h) * fy) as i32;
        xdotool(
            self.b.name(),
            &["mousemove", &bx.to_string(), &by.to_string()],
        );
    }

    /// Input the technician is not allowed to give: moves, a right click and the key `q`. Each
    /// would show on A (pointer, xev's log) if it were applied.
    fn forbidden_input(&self, window: (i32, i32, i32, i32)) {
        self.move_in_viewer(window, 0.3, 0.4);
        self.move_in_viewer(window, 0.7, 0.7);
        xdotool(self.b.name(), &["click", "3"]);
        xdotool(self.b.name(), &["type", "--delay", "40", "q"]);
    }
}

/// xev logs `ButtonPress ... button N,` and `KeyPress ... (keysym 0x.., name)`.
fn has_button(log: &str, n: u8) -> bool {
    log.split("ButtonPress")
        .skip(1)
        .any(|event| event.contains(&format!("button {n},")))
}

fn has_key(log: &str, name: &str) -> bool {
    log.split("KeyPress")
        .skip(1)
        .any(|event| event.contains(&format!(", {name})")))
}

#[test]
fn declined_control_drops_input_until_control_is_granted() {
    let work = TempDir::new("control-denied");
    let displays = Displays::start(&work);
    let (a, b) = (displays.a.name(), displays.b.name());
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, a, &[]);
    let mut join = start_join(&relay, &code, Some(b), &[]);

    assert_eq!(share.wait_event("consent_needed")["grant"], "view");
    share.send_line("y");
    let granted = join.wait_event("permissions");
    assert_eq!(perms(&granted), (true, false), "{granted}");
    join.wait_event("first_frame");

    // The technician asks for control; the user says no.
    join.send_line("control");
    assert_eq!(share.wait_event("consent_needed")["grant"], "control");
    share.send_line("n");
    let answer = join.wait_event("permissions");
    assert_eq!(perms(&answer), (true, false), "{answer}");
    join.wait_event("control_declined");

    // Input from the viewer's window reaches the host, which drops it: nothing happens on A.
    let window = displays.viewer_window();
    let pointer_before = pointer(a);
    displays.forbidden_input(window);
    share.wait_event("input_dropped");
    assert_eq!(pointer(a), pointer_before, "the pointer on A did not move");
    let log = displays.log();
    assert!(
        !log.contains("ButtonPress") && !log.contains("KeyPress"),
        "{log}"
    );

    // Positive control: once the user allows control, the same kind of input arrives.
    join.send_line("control");
    assert_eq!(share.wait_event("consent_needed")["grant"], "control");
    share.send_line("y");
    let answer = join.wait_event("permissions");
    assert_eq!(perms(&answer), (true, true), "{answer}");
    displays.move_in_viewer(window, 0.4, 0.5);
    wait_until("the pointer on A to follow the viewer", STEP, || {
        (pointer(a) != pointer_before).then_some(())
    });
    xdotool(b, &["click", "1"]);
    xdotool(b, &["type", "--delay", "40", "z"]);
    let log = wait_until("xev on A to log the click and the key", STEP, || {
        let log = displays.log();
        (has_button(&log, 1) && has_key(&log, "z")).then_some(log)
    });
    // The input sent before control was granted never arrived, not even late.
    assert!(
        !has_button(&log, 3),
        "the declined right click arrived: {log}"
    );
    assert!(!has_key(&log, "q"), "the declined key arrived: {log}");

    join.send_line("end");
    share.wait_event("session_ended");
    assert!(join.wait_exit(STEP));
    assert!(share.wait_exit(STEP));
}

#[test]
fn revoked_control_drops_input_while_the_screen_still_flows() {
    let work = TempDir::new("revoke");
    let displays = Displays::start(&work);
    let (a, b) = (displays.a.name(), displays.b.name());
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, a, &["--auto-accept", "control"]);
    let mut join = start_join(&relay, &code, Some(b), &[]);
    let granted = join.wait_event("permissions");
    assert_eq!(perms(&granted), (true, true), "{granted}");
    let host_granted = share.wait_event("permissions");
    assert_eq!(perms(&host_granted), (true, true), "{host_granted}");
    join.wait_event("first_frame");

    // With control, a click from the viewer's window arrives on A.
    let window = displays.viewer_window();
    let start = pointer(a);
    displays.move_in_viewer(window, 0.5, 0.5);
    wait_until("the pointer on A to follow the viewer", STEP, || {
        (pointer(a) != start).then_some(())
    });
    xdotool(b, &["click", "1"]);
    wait_until("xev on A to log the click", STEP, || {
        has_button(&displays.log(), 1).then_some(())
    });

    // The user takes control back.
    share.send_line("revoke");
    let host_side = share.wait_event("permissions");
    assert_eq!(perms(&host_side), (true, false), "{host_side}");
    let viewer_side = join.wait_event("permissions");
    assert_eq!(perms(&viewer_side), (true, false), "{viewer_side}");

    let pointer_at_revoke = pointer(a);
    displays.forbidden_input(window);
    share.wait_event("input_dropped");

    // The session keeps running: the viewer still has the screen.
    let snapshot = work.path().join("after-revoke.png");
    join.send_line(&format!("snapshot {}", snapshot.display()));
    let shot = join.wait_event("snapshot");
    assert!(shot["frames"].as_u64().unwrap() >= 1, "{shot}");
    assert!(
        !share.seen.iter().any(|e| e["event"] == "session_ended"),
        "{:?}",
        share.seen
    );

    // End it; once the host has exited nothing more can arrive, so A's state is final.
    join.send_line("end");
    assert!(reason(&share.wait_event("session_ended")).contains("technician ended"));
    assert!(join.wait_exit(STEP));
    assert!(share.wait_exit(STEP));
    assert_eq!(
        pointer(a),
        pointer_at_revoke,
        "the pointer on A did not move after revoke"
    );
    let log = displays.log();
    assert!(!has_button(&log, 3), "a click after revoke arrived: {log}");
    assert!(!has_key(&log, "q"), "a key after revoke arrived: {log}");
}

#[test]
fn share_needs_no_flags_with_a_client_config_and_join_takes_the_invite() {
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb");
    let relay = TestRelay::start();
    assert_eq!(
        relay.invite,
        format!("tandem://{}#{}", relay.addr, relay.fingerprint),
        "the relay prints the invite for the address it listens on"
    );
    let config_home = TempDir::new("client-config");
    let config_dir = config_home.path().join("tandem");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("client.toml"),
        format!("invite = \"{}\"\n", relay.invite),
    )
    .unwrap();
    let config_home = config_home.path().to_str().unwrap();

    // Nothing but the config file says which relay.
    let mut share = Proc::start_with_env(
        "share",
        &["share", "--json", "--no-window", "--auto-accept", "view"],
        Some(display_a.name()),
        &[("XDG_CONFIG_HOME", config_home)],
    );
    let code = share.wait_event("code_issued")["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut join = Proc::start(
        "join",
        &[
            "join",
            &code,
            "--invite",
            &relay.invite,
            "--json",
            "--headless",
            "--name",
            "E2E technician",
            "--outcome",
            "resolved",
        ],
        None,
    );
    join.wait_event("first_frame");
    share.send_line("stop");
    share.wait_event("session_ended");
    join.wait_event("session_ended");

    // Without any relay: a clear error naming what to do.
    let empty_home = TempDir::new("no-client-config");
    let mut lost = Proc::start_with_env(
        "share",
        &["share", "--json", "--no-window"],
        Some(display_a.name()),
        &[("XDG_CONFIG_HOME", empty_home.path().to_str().unwrap())],
    );
    assert!(!lost.wait_exit(STEP), "share without a relay fails");
    let stderr = wait_until("share's error", STEP, || {
        let text = lost.stderr();
        text.contains("error:").then_some(text)
    });
    assert!(
        stderr.contains("no relay configured") && stderr.contains("--invite"),
        "{stderr}"
    );
}
