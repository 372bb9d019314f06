//! `tandem bench --session` end to end with very short phases: the harness starts its own Xvfb
//! displays, relay, share and viewer window, runs every phase and reports them all, and its key
//! probes come back from the viewer's screen. A smoke test of the benchmark: no timing is asserted.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::TANDEM;
use serde_json::Value;

#[test]
fn bench_session_reports_every_phase_and_sees_its_probes() {
    let output = Command::new(TANDEM)
        .args(["bench", "--session", "--json"])
        .args(["--still", "0.5", "--phase", "2", "--probes", "3"])
        .env_remove("DISPLAY")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench --session failed: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {stderr}"));

    assert_eq!(report["screen"], "1920x1080");
    let stacks = report["stacks"].as_array().unwrap();
    assert_eq!(stacks.len(), 1, "only Tandem without --compare: {report}");
    let tandem = &stacks[0];
    assert_eq!(tandem["stack"], "tandem");
    assert!(tandem["skipped"].is_null());
    let phases = tandem["phases"].as_array().unwrap();
    let names: Vec<&str> = phases
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["still", "typing", "scrolling", "drag", "probe", "session"]
    );
    for phase in phases {
        assert!(phase["seconds"].as_f64().unwrap() > 0.0, "{phase}");
        for number in [
            "host_to_viewer_kbytes_per_sec",
            "viewer_frames_per_sec",
            "updates_per_sec",
        ] {
            assert!(
                phase[number].as_f64().unwrap() >= 0.0,
                "{number} in {phase}"
            );
        }
        let cpu = phase["cpu_percent"].as_object().unwrap();
        let mut roles: Vec<&str> = cpu.keys().map(String::as_str).collect();
        roles.sort_unstable();
        assert_eq!(
            roles,
            [
                "host",
                "relay",
                "viewer",
                "xserver_shared",
                "xserver_viewer"
            ],
            "{phase}"
        );
    }
    // Typing and dragging change the shared screen: the viewer must have been sent something
    // and have drawn it.
    for moving in ["typing", "drag"] {
        let phase = phases.iter().find(|p| p["phase"] == moving).unwrap();
        assert!(
            phase["host_to_viewer_kbytes_per_sec"].as_f64().unwrap() > 0.0,
            "{phase}"
        );
        assert!(
            phase["viewer_frames_per_sec"].as_f64().unwrap() > 0.0,
            "{phase}"
        );
    }
    let probe = &phases.iter().find(|p| p["phase"] == "probe").unwrap()["probe"];
    assert_eq!(probe["sent"], 3);
    assert_eq!(
        probe["seen"], 3,
        "every key press showed on the viewer: {probe}"
    );
    assert!(probe["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(probe["shared_p50_ms"].as_f64().unwrap() > 0.0);
}
