//! Issue 13 through the real binaries: the technician records only with the user's consent (a
//! refusal leaves the session running), the recording replays with `tandem play --png-at` to the
//! very pictures the viewer decoded at those times, a truncated copy still plays, both reports
//! name the recording; and when the technician ends, the user is still asked how it went.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;
use tandem_xvfb::VirtualDisplay;

/// `tandem play ARGS --json`: its events, after checking it exited with success.
fn play(args: &[&str]) -> Vec<Value> {
    let output = Command::new(TANDEM)
        .arg("play")
        .args(args)
        .arg("--json")
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tandem play {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn rgba(png: &Path) -> (u32, u32, Vec<u8>) {
    let image = image::open(png).unwrap().to_rgba8();
    (image.width(), image.height(), image.into_raw())
}

/// A snapshot of what the viewer decoded once the screen held still while recording: the same
/// recording time on two snapshots in a row means no update came in between. Returns that time.
fn settled_snapshot(join: &mut Proc, png: &Path, not_before: Option<u64>) -> u64 {
    let mut last = None;
    wait_until("a settled picture in the recording", STEP, || {
        join.send_line(&format!("snapshot {}", png.display()));
        let event = join.wait_event("snapshot");
        let t = event["recording_ms"].as_u64();
        let settled = t.is_some() && t == last && t > not_before;
        last = t;
        settled.then_some(t?)
    })
}

#[test]
fn recording_needs_consent_and_replays_to_what_the_viewer_decoded() {
    let mut display_a = VirtualDisplay::start(640, 480).expect("Xvfb for display A");
    let display_b = VirtualDisplay::start(640, 480).expect("Xvfb for display B");
    let work = TempDir::new("recording");
    let path = |name: &str| work.path().join(name).to_str().unwrap().to_owned();
    // An xterm on A that shows a file's text whenever it changes: the test changes the screen
    // by writing the file.
    let shown = work.path().join("shown.txt");
    std::fs::write(&shown, "phase one").unwrap();
    display_a
        .spawn(
            "xterm",
            [
                "-geometry",
                "80x24+0+0",
                "-e",
                "sh",
                "-c",
                &format!(
                    "last=; while :; do c=$(cat {}); if [ \"$c\" != \"$last\" ]; then clear; echo \"$c\"; last=$c; fi; sleep 0.2; done",
                    shown.display()
                ),
            ],
        )
        .unwrap();

    let relay = TestRelay::start();
    let (mut share, code) = start_share(
        &relay,
        display_a.name(),
        &["--auto-accept", "view", "--reports", &path("user-reports")],
    );
    let recording = path("session.tdrec");
    let mut join = start_join(
        &relay,
        &code,
        Some(display_b.name()),
        &[
            "--headless",
            "--record",
            &recording,
            "--reports",
            &path("tech-reports"),
        ],
    );
    join.wait_event("first_frame");

    // --record asks at once; the user refuses and the session goes on.
    share.wait_event_where("consent_needed", STEP, |v| v["grant"] == "recording");
    share.send_line("n");
    join.wait_event_where("recording", STEP, |v| v["state"] == "refused");
    share.wait_event("recording_refused");
    assert!(
        !Path::new(&recording).exists(),
        "nothing written before a yes"
    );
    join.send_line(&format!("snapshot {}", path("before.png")));
    assert!(join.wait_event("snapshot")["recording_ms"].is_null());

    // Asked again, the user allows it: the indicator's event, then the file.
    join.send_line("record on");
    join.wait_event_where("recording", STEP, |v| v["state"] == "asking");
    share.wait_event_where("consent_needed", STEP, |v| v["grant"] == "recording");
    share.send_line("y");
    assert_eq!(share.wait_event("recording")["on"], true);
    let started = join.wait_event_where("recording", STEP, |v| v["state"] == "recording");
    assert_eq!(started["path"], recording.as_str());

    // Two different pictures while recording, each with its time in the recording.
    let first = work.path().join("viewer-1.png");
    let t1 = settled_snapshot(&mut join, &first, None);
    std::fs::write(&shown, "phase two: something else entirely").unwrap();
    let second = work.path().join("viewer-2.png");
    let t2 = settled_snapshot(&mut join, &second, Some(t1));
    assert_ne!(
        rgba(&first),
        rgba(&second),
        "the screen changed while recording"
    );

    join.send_line("record off");
    let stopped = join.wait_event_where("recording", STEP, |v| v["state"] == "stopped");
    assert!(stopped["bytes"].as_u64().unwrap() > 0);
    assert_eq!(share.wait_event("recording")["on"], false);

    // The replay at those times is the viewer's picture, pixel for pixel.
    for (t, viewer_png) in [(t1, &first), (t2, &second)] {
        let out = work.path().join(format!("replay-{t}.png"));
        let seconds = format!("{:.3}", t as f64 / 1000.0);
        let events = play(&[&recording, "--png-at", &seconds, out.to_str().unwrap()]);
        assert_eq!(events[0]["truncated"], false, "{events:?}");
        assert_eq!(rgba(&out), rgba(viewer_png), "replay at {t} ms");
    }

    // A copy cut inside its last record still plays, up to its last whole record.
    let bytes = std::fs::read(&recording).unwrap();
    let cut = work.path().join("cut.tdrec");
    std::fs::write(&cut, &bytes[..bytes.len() - 5]).unwrap();
    let out = work.path().join("cut.png");
    let events = play(&[
        cut.to_str().unwrap(),
        "--png-at",
        "0",
        out.to_str().unwrap(),
    ]);
    assert_eq!(events[0]["truncated"], true, "{events:?}");
    let out_t1 = work.path().join("cut-t1.png");
    let seconds = format!("{:.3}", t1 as f64 / 1000.0);
    play(&[
        cut.to_str().unwrap(),
        "--png-at",
        &seconds,
        out_t1.to_str().unwrap(),
    ]);
    assert_eq!(rgba(&out_t1), rgba(&first));

    // Both reports name the recording: refused once, then recorded (the file on the technician's).
    join.send_line("end");
    let tech_report = join.wait_event("report_written");
    let user_report = share.wait_event("report_written");
    let load = |v: &Value| -> Value {
        serde_json::from_str(&std::fs::read_to_string(v["json"].as_str().unwrap()).unwrap())
            .unwrap()
    };
    for (report, side) in [
        (load(&tech_report), "technician"),
        (load(&user_report), "user"),
    ] {
        let recordings = report["recordings"].as_array().unwrap();
        assert_eq!(recordings.len(), 2, "{side}: {recordings:?}");
        assert_eq!(recordings[0]["status"], "refused", "{side}");
        assert_eq!(recordings[1]["status"], "recorded", "{side}");
        assert!(recordings[1]["started_at"].is_string() && recordings[1]["stopped_at"].is_string());
        let file = if side == "technician" {
            Value::from("session.tdrec")
        } else {
            Value::Null
        };
        assert_eq!(recordings[1]["file"], file, "{side}");
    }
    assert!(join.wait_exit(STEP));
    assert!(share.wait_exit(STEP));
}

/// The technician ends; the host asks its user how it went before closing, and the answer reaches
/// the technician; both sides say the technician ended it.
#[test]
fn technician_ends_and_the_user_still_gives_feedback() {
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb");
    let work = TempDir::new("finish-feedback");
    let path = |name: &str| work.path().join(name).to_str().unwrap().to_owned();
    let relay = TestRelay::start();
    let (mut share, code) = start_share(
        &relay,
        display_a.name(),
        &[
            "--auto-accept",
            "view",
            "--feedback",
            "--reports",
            &path("user-reports"),
        ],
    );
    let mut join = start_join(
        &relay,
        &code,
        None,
        &["--headless", "--reports", &path("tech-reports")],
    );
    join.wait_event("first_frame");

    join.send_line("end");
    join.wait_event("finishing");
    share.wait_event("feedback_wanted");
    share.send_line("4 quick and clear");
    let feedback = join.wait_event("feedback");
    assert_eq!(feedback["rating"], 4);
    assert_eq!(feedback["comment"], "quick and clear");
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
    for proc in [&mut join, &mut share] {
        let written = proc.wait_event("report_written");
        let report: Value = serde_json::from_str(
            &std::fs::read_to_string(written["json"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(report["feedback"]["rating"], 4, "{}", proc.name);
        assert_eq!(report["feedback"]["delivered"], true, "{}", proc.name);
    }
    assert!(join.wait_exit(STEP));
    assert!(share.wait_exit(STEP));
}
