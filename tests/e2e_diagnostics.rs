//! System information with the user's consent, through the real binaries: refused, then allowed,
//! and the values are the machine's as the test reads them from the OS itself.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tandem_xvfb::VirtualDisplay;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}

fn mem_total_bytes() -> u64 {
    let meminfo = read("/proc/meminfo");
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

#[test]
fn diagnostics_are_sent_only_once_the_user_allows_them() {
    let display = VirtualDisplay::start(640, 480).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, code) = start_share(&relay, display.name(), &["--auto-accept", "view"]);
    let mut join = start_join(&relay, &code, None, &["--headless"]);
    join.wait_event("first_frame");

    // Asked; the user says no: the technician is told, nothing is sent.
    join.send_line("diagnostics");
    let asked = share.wait_event("consent_needed");
    assert_eq!(asked["grant"], "diagnostics");
    share.send_line("n");
    let answer = join.wait_event("diagnostics");
    assert_eq!(answer["allowed"], false);
    assert!(answer.get("snapshot").is_none());

    // Asked again; allowed: the snapshot is this machine's.
    join.send_line("diagnostics");
    assert_eq!(share.wait_event("consent_needed")["grant"], "diagnostics");
    share.send_line("y");
    let answer = join.wait_event("diagnostics");
    assert_eq!(answer["allowed"], true);
    let snapshot = &answer["snapshot"];
    assert_eq!(snapshot["hostname"], read("/proc/sys/kernel/hostname"));
    assert_eq!(snapshot["kernel"], read("/proc/sys/kernel/osrelease"));
    assert_eq!(snapshot["memory"]["total_bytes"], mem_total_bytes());
    assert!(snapshot["cpu"]["cores"].as_u64().unwrap() >= 1);
    assert!(
        snapshot["displays"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["width"] == 640 && d["height"] == 480),
        "{}",
        snapshot["displays"]
    );
    assert!(snapshot["disks"].as_array().is_some_and(|d| !d.is_empty()));
    assert!(
        snapshot["top_by_cpu"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
    share.wait_event("diagnostics_shared");

    // A refresh needs no second question.
    let asked_before = share
        .seen
        .iter()
        .filter(|e| e["event"] == "consent_needed")
        .count();
    join.send_line("diagnostics");
    assert_eq!(join.wait_event("diagnostics")["allowed"], true);
    share.wait_event("diagnostics_shared");
    assert_eq!(
        share
            .seen
            .iter()
            .filter(|e| e["event"] == "consent_needed")
            .count(),
        asked_before
    );

    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    join.wait_exit(STEP);
}
