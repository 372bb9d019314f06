//! The session report through the real binaries: a session with a ticket, chat, a file each way, a
//! revoke and a re-grant, system information, notes and an outcome; then each side's report is
//! checked field by field against what happened, and for what it must never hold.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use common::*;
use serde_json::Value;
use tandem_xvfb::VirtualDisplay;

/// A ticketing endpoint on loopback: answers the first POST with 503 (the client must retry), then
/// 200, and hands over the body it received.
fn webhook() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tickets/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let status = if n == 0 {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .unwrap();
            if n > 0 {
                let _ = tx.send(String::from_utf8(body).unwrap());
                return;
            }
        }
    });
    (url, rx)
}

fn load(path: &Value) -> (Value, String) {
    let json = std::fs::read_to_string(path.as_str().unwrap()).unwrap();
    (serde_json::from_str(&json).unwrap(), json)
}

#[test]
fn each_side_reports_what_happened_and_nothing_private() {
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb");
    let display_b = VirtualDisplay::start(640, 480).expect("Xvfb");
    let work = TempDir::new("report");
    let path = |name: &str| work.path().join(name).to_str().unwrap().to_owned();
    let relay = TestRelay::start();
    let (hook, posted) = webhook();
    let (mut share, code) = start_share(
        &relay,
        display_a.name(),
        &[
            "--auto-accept",
            "view",
            "--accept-files",
            "--downloads",
            &path("user-dl"),
            "--reports",
            &path("user-reports"),
            "--feedback",
        ],
    );
    let mut join = start_join(
        &relay,
        &code,
        Some(display_b.name()),
        &[
            "--headless",
            "--request-control",
            "--name",
            "Alex (IT desk)",
            "--ticket",
            "INC0012345",
            "--accept-files",
            "--downloads",
            &path("tech-dl"),
            "--reports",
            &path("tech-reports"),
            "--report-webhook",
            &hook,
        ],
    );
    let verifier = join.wait_event("secured")["verifier"].clone();
    join.wait_event("first_frame");
    share.wait_event_where("consent_needed", STEP, |v| v["grant"] == "control");
    share.send_line("y");
    join.wait_event_where("permissions", STEP, |v| v["control"] == true);

    // Chat, a file each way, a clipboard secret that must not reach the report.
    join.send_line("chat Hello, I'm looking at it now.");
    share.wait_event("chat");
    share.send_line("chat Thank you!");
    join.wait_event_where("chat", STEP, |v| v["from"] == "peer");
    std::fs::write(work.path().join("fix.sh"), "echo fixed\n").unwrap();
    join.send_line(&format!("send {}", path("fix.sh")));
    share.wait_event("file_received");
    std::fs::write(work.path().join("app.log"), "error: printer offline\n").unwrap();
    share.send_line(&format!("send {}", path("app.log")));
    let received = join.wait_event("file_received");
    xclip_copy(display_b.name(), "UTF8_STRING", b"clipboard secret hunter2");
    share.wait_event("clipboard_received");

    // System information, a revoke and a re-grant.
    join.send_line("diagnostics");
    share.wait_event("consent_needed");
    share.send_line("y");
    join.wait_event_where("diagnostics", STEP, |v| v["allowed"] == true);
    share.send_line("revoke");
    join.wait_event_where("permissions", STEP, |v| v["control"] == false);
    join.send_line("control");
    share.wait_event_where("consent_needed", STEP, |v| v["grant"] == "control");
    share.send_line("y");
    join.wait_event_where("permissions", STEP, |v| v["control"] == true);

    // Notes and the outcome, then the end.
    join.send_line("note Printer driver reinstalled.");
    join.wait_event("note_added");
    join.send_line("outcome resolved Driver reinstalled, test page printed.");
    join.wait_event("outcome_set");
    // The user stops: nothing is shared any more, and they are asked how it went.
    share.send_line("stop");
    share.wait_event("feedback_wanted");
    join.wait_event_where("permissions", STEP, |v| v["view"] == false);
    share.send_line("4 Very helpful, thanks \u{1b}[2J");
    assert_eq!(share.wait_event("feedback_given")["delivered"], true);
    let feedback = join.wait_event("feedback");
    assert_eq!(feedback["rating"], 4);
    join.wait_event("session_ended");
    let tech_report = join.wait_event("report_written");
    share.wait_event("session_ended");
    let user_report = share.wait_event("report_written");
    // The ticketing endpoint got the same report, on the second attempt.
    let delivered = join.wait_event("report_posted");
    assert_eq!(delivered["status"], 200);
    assert_eq!(delivered["attempts"], 2);
    let body: Value = serde_json::from_str(&posted.recv_timeout(STEP).unwrap()).unwrap();
    assert_eq!(body, load(&tech_report["json"]).0);

    let (report, raw) = load(&tech_report["json"]);
    assert_eq!(report["schema"], "tandem.session-report/1");
    assert_eq!(report["side"], "technician");
    assert_eq!(report["ticket"], "INC0012345");
    assert_eq!(report["technician"], "Alex (IT desk)");
    assert_eq!(
        report["machine"],
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim()
    );
    assert_eq!(report["check_number"], verifier);
    assert!(report["duration_secs"].as_f64().unwrap() > 0.0);
    let grants: Vec<(bool, bool)> = report["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["view"].as_bool().unwrap(),
                p["control"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        grants,
        vec![
            (true, false),
            (true, true),
            (true, false),
            (true, true),
            (false, false)
        ]
    );
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    let sent = files.iter().find(|f| f["direction"] == "sent").unwrap();
    assert_eq!(
        (sent["name"].as_str(), sent["status"].as_str()),
        (Some("fix.sh"), Some("done"))
    );
    let got = files.iter().find(|f| f["direction"] == "received").unwrap();
    assert_eq!(got["name"], "app.log");
    assert_eq!(got["received"][0]["blake3"], received["blake3"]);
    let chat: Vec<(&str, &str)> = report["chat"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["from"].as_str().unwrap(), c["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        chat,
        vec![
            ("technician", "Hello, I'm looking at it now."),
            ("user", "Thank you!")
        ]
    );
    assert_eq!(report["notes"][0]["text"], "Printer driver reinstalled.");
    assert_eq!(report["outcome"], "resolved");
    assert_eq!(report["summary"], "Driver reinstalled, test page printed.");
    assert!(report["diagnostics"]["kernel"].is_string());
    assert!(
        report["ended"]
            .as_str()
            .unwrap()
            .contains("The user stopped sharing")
    );
    assert_eq!(report["feedback"]["rating"], 4);
    assert!(
        report["feedback"]["comment"]
            .as_str()
            .unwrap()
            .starts_with("Very helpful, thanks")
    );
    // Never clipboard contents or the code.
    assert!(!raw.contains("hunter2"));
    assert!(!raw.contains(&code.replace(' ', "")) && !raw.contains(&code));
    let markdown = std::fs::read_to_string(tech_report["markdown"].as_str().unwrap()).unwrap();
    assert!(markdown.contains("INC0012345") && markdown.contains("Printer driver reinstalled."));
    assert!(!markdown.contains("hunter2"));

    let (report, raw) = load(&user_report["json"]);
    assert_eq!(report["side"], "user");
    assert_eq!(report["technician"], "Alex (IT desk)");
    assert_eq!(report["check_number"], verifier);
    assert_eq!(report["files"].as_array().unwrap().len(), 2);
    assert_eq!(report["chat"].as_array().unwrap().len(), 2);
    assert!(
        report["ended"]
            .as_str()
            .unwrap()
            .contains("You stopped sharing")
    );
    assert_eq!(report["feedback"]["delivered"], true);
    assert!(!raw.contains("hunter2"));
    assert!(share.wait_exit(STEP));
    assert!(join.wait_exit(STEP));
}
