//! Issue 10, reconnect: a link that drops comes back by itself. The relay process is killed and
//! started again on the same port with the same key while a session runs (real `tandem` processes,
//! Xvfb displays, real QUIC); both sides say `reconnecting`, then `resumed`, and the session goes
//! on with the same consent: new pictures arrive and real input works. Kept down for longer than
//! the grace, both sides end with the reason.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use tandem_xvfb::VirtualDisplay;

/// How long the path stays cut in the resume test: the relay is down this long (the scenario's
/// own duration, not a wait for some state).
const CUT: Duration = Duration::from_secs(5);

/// Loss is noticed at the QUIC idle timeout (10 s), then the reconnect runs: well within this.
const RECONNECT: Duration = Duration::from_secs(60);

fn consent_questions(share: &Proc) -> usize {
    share
        .seen
        .iter()
        .filter(|e| e["event"] == "consent_needed")
        .count()
}

/// Waits until the viewer's decoded picture equals display `a`, read while it held still.
fn wait_picture_equal(join: &mut Proc, a: &str, snapshot: &std::path::Path, what: &str) {
    wait_until(what, STEP, || {
        let (_, _, grab) = grab_root(a);
        join.send_line(&format!("snapshot {}", snapshot.display()));
        join.wait_event("snapshot");
        let (_, _, grab_after) = grab_root(a);
        let diff = differing_pixels(&grab, snapshot)?;
        (grab == grab_after && diff == 0).then_some(())
    });
}

/// Opens an xterm at `geometry` on display `a` and waits until it shows: new content to decode.
fn draw(display: &mut VirtualDisplay, geometry: &str) {
    let (_, _, before) = grab_root(display.name());
    display
        .spawn("xterm", ["-geometry", geometry, "-e", "sleep", "600"])
        .unwrap();
    let name = display.name().to_owned();
    wait_until("the new xterm to show on A", STEP, || {
        let (_, _, now) = grab_root(&name);
        (now != before).then_some(())
    });
}

/// Moves the pointer over the viewer window's picture on `b` and waits until the pointer on `a`
/// moved to a new place: real input crossed the link.
fn input_reaches_a(a: &str, b: &str, window: &str, fraction: (i32, i32)) -> (i32, i32) {
    let (wx, wy, ww, wh) = window_geometry(b, window);
    let before = pointer(a);
    let (bx, by) = (wx + ww * fraction.0 / 8, wy + wh * fraction.1 / 8);
    xdotool(b, &["mousemove", &bx.to_string(), &by.to_string()]);
    wait_until("the pointer on A to follow the viewer's", STEP, || {
        let now = pointer(a);
        (now != before).then_some(now)
    })
}

#[test]
fn a_relay_restart_is_survived_with_the_same_consent_pictures_and_input() {
    let work = TempDir::new("reconnect");
    let mut display_a = VirtualDisplay::start(800, 600).expect("Xvfb for display A");
    let display_b = VirtualDisplay::start(1200, 800).expect("Xvfb for display B");
    let (a, b) = (display_a.name().to_owned(), display_b.name().to_owned());
    draw(&mut display_a, "40x10+30+30");

    let mut relay = TestRelay::start();
    // Consent asked and given the ordinary way: view, then control on the technician's request.
    let (mut share, code) = start_share(&relay, &a, &[]);
    let mut join = start_join(&relay, &code, Some(&b), &["--request-control"]);
    share.wait_event_where("consent_needed", STEP, |e| e["grant"] == "view");
    share.send_line("y");
    share.wait_event_where("consent_needed", STEP, |e| e["grant"] == "control");
    share.send_line("y");
    join.wait_event_where("permissions", STEP, |e| e["control"] == true);
    join.wait_event("first_frame");
    let window = wait_for_window(&b, "Tandem");
    input_reaches_a(&a, &b, &window, (3, 3));
    assert_eq!(consent_questions(&share), 2);

    // The path is cut: the relay dies, and comes back on the same port with the same key.
    relay.kill();
    std::thread::sleep(CUT);
    relay.restart();

    share.wait_event_within("reconnecting", RECONNECT);
    join.wait_event_within("reconnecting", RECONNECT);
    share.wait_event_within("resumed", RECONNECT);
    join.wait_event_within("resumed", RECONNECT);
    // The grant stands: the host says so again, without asking its user.
    join.wait_event_where("permissions", STEP, |e| {
        e["view"] == true && e["control"] == true
    });

    // New content drawn on A after the resume reaches the viewer, pixel for pixel.
    draw(&mut display_a, "30x8+400+300");
    wait_picture_equal(
        &mut join,
        &a,
        &work.path().join("after-resume.png"),
        "the viewer's picture after the resume to equal display A",
    );
    // Real input from the viewer's window still moves the user's pointer.
    input_reaches_a(&a, &b, &window, (5, 5));
    input_reaches_a(&a, &b, &window, (2, 6));

    join.send_line("end");
    share.wait_event("session_ended");
    join.wait_event("session_ended");
    assert_eq!(
        consent_questions(&share),
        2,
        "no question was asked again: {:?}",
        share.seen
    );
}

#[test]
fn a_relay_down_for_longer_than_the_grace_ends_both_sides_with_the_reason() {
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb for display A");
    let a = display_a.name().to_owned();
    let mut relay = TestRelay::start();
    let grace = ["--reconnect-grace", "3"];
    let (mut share, code) = start_share(&relay, &a, &["--auto-accept", "view", grace[0], grace[1]]);
    let mut join = start_join(&relay, &code, None, &grace);
    join.wait_event("first_frame");

    relay.kill();
    let reason = "could not be restored within 3 s";
    for side in [&mut share, &mut join] {
        side.wait_event_within("reconnecting", RECONNECT);
        let ended = side.wait_event_within("session_ended", RECONNECT);
        assert!(
            ended["reason"].as_str().unwrap().contains(reason),
            "{}: {ended}",
            side.name
        );
        assert!(side.wait_exit(STEP), "{} exits cleanly", side.name);
    }
    assert!(
        !share.seen.iter().any(|e| e["event"] == "resumed"),
        "nothing to resume with: {:?}",
        share.seen
    );
}

/// A network namespace joined to this one by a veth pair, removed (with the pair) on drop.
struct Netns {
    name: String,
    /// This side's end of the pair, which the test takes down and up.
    link: String,
    /// This side's address; the namespace's is `.2`.
    here: String,
}

fn ip(args: &[&str]) {
    let status = std::process::Command::new("ip")
        .args(args)
        .status()
        .expect("ip (iproute2) is installed");
    assert!(
        status.success(),
        "ip {args:?} failed (this test needs root)"
    );
}

impl Netns {
    fn new() -> Netns {
        let id = std::process::id();
        let name = format!("tandem-rc-{id}");
        let (link, peer) = (format!("trc{id}a"), format!("trc{id}b"));
        let subnet = format!("10.231.{}", id % 250);
        let here = format!("{subnet}.1");
        ip(&["netns", "add", &name]);
        let netns = Netns { name, link, here };
        ip(&[
            "link",
            "add",
            &netns.link,
            "type",
            "veth",
            "peer",
            "name",
            &peer,
            "netns",
            &netns.name,
        ]);
        ip(&[
            "addr",
            "add",
            &format!("{}/24", netns.here),
            "dev",
            &netns.link,
        ]);
        ip(&["link", "set", &netns.link, "up"]);
        let inside = ["netns", "exec", &netns.name, "ip"];
        let there = format!("{subnet}.2/24");
        ip(&[&inside[..], &["addr", "add", &there, "dev", &peer]].concat());
        ip(&[&inside[..], &["link", "set", &peer, "up"]].concat());
        ip(&[&inside[..], &["link", "set", "lo", "up"]].concat());
        netns
    }

    fn set_link(&self, up: bool) {
        ip(&["link", "set", &self.link, if up { "up" } else { "down" }]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes its end of the pair, and with it this one.
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// `tandem join` run inside network namespace `netns`, headless, against `relay_addr`.
fn join_in_netns(netns: &Netns, relay_addr: &str, fingerprint: &str, code: &str) -> Proc {
    let mut args = vec!["netns", "exec", &netns.name, TANDEM];
    args.extend([
        "join",
        code,
        "--relay",
        relay_addr,
        "--fingerprint",
        fingerprint,
        "--json",
        "--headless",
        "--outcome",
        "resolved",
    ]);
    Proc::start_program("join", "ip", &args, None, &[])
}

#[test]
fn a_viewer_whose_network_link_goes_down_and_up_keeps_or_resumes_its_session() {
    let work = TempDir::new("reconnect-netns");
    let mut display_a = VirtualDisplay::start(640, 480).expect("Xvfb for display A");
    let a = display_a.name().to_owned();
    let netns = Netns::new();
    let relay = TestRelay::start_listening("0.0.0.0:0");
    let port = relay.addr.rsplit(':').next().unwrap().to_owned();
    let local = TestRelayAt {
        addr: format!("127.0.0.1:{port}"),
        fingerprint: relay.fingerprint.clone(),
    };
    let (mut share, code) = start_share(&local, &a, &["--auto-accept", "view"]);
    let mut join = join_in_netns(
        &netns,
        &format!("{}:{port}", netns.here),
        &relay.fingerprint,
        &code,
    );
    join.wait_event("first_frame");
    let snapshot = work.path().join("viewer.png");

    // A 5 s cut, below QUIC's 10 s idle timeout: QUIC bridges it, the session goes on as it was.
    netns.set_link(false);
    std::thread::sleep(CUT);
    netns.set_link(true);
    draw(&mut display_a, "30x8+40+40");
    wait_picture_equal(
        &mut join,
        &a,
        &snapshot,
        "the viewer's picture after a 5 s cut to equal display A",
    );

    // A cut past the idle timeout: both sides notice, reconnect once the link is back, resume.
    netns.set_link(false);
    share.wait_event_within("reconnecting", RECONNECT);
    join.wait_event_within("reconnecting", RECONNECT);
    netns.set_link(true);
    share.wait_event_within("resumed", RECONNECT);
    join.wait_event_within("resumed", RECONNECT);
    draw(&mut display_a, "20x5+300+250");
    wait_picture_equal(
        &mut join,
        &a,
        &snapshot,
        "the viewer's picture after the resume to equal display A",
    );
    join.send_line("end");
    share.wait_event("session_ended");
    join.wait_event("session_ended");
}

/// A relay reached at an address other than the one it printed (e.g. loopback for `0.0.0.0`).
struct TestRelayAt {
    addr: String,
    fingerprint: String,
}

impl RelayFlags for TestRelayAt {
    fn flags(&self) -> Vec<String> {
        vec![
            "--relay".into(),
            self.addr.clone(),
            "--fingerprint".into(),
            self.fingerprint.clone(),
        ]
    }
}
