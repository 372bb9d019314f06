//! `tandem relay` as an operator runs it: JSON logs, metrics on their own port, SIGHUP reloads the
//! config file (and keeps running on a bad one), SIGTERM drains and exits cleanly. Real process,
//! no display.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Proc, TempDir, wait_until};

fn signal(proc: &Proc, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &proc.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name}");
}

/// `GET path` on `addr`: the status line's code.
fn http_status(addr: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to metrics");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n").expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status code")
}

#[test]
fn the_relay_process_logs_json_serves_metrics_reloads_on_sighup_and_drains_on_sigterm() {
    let work = TempDir::new("relay-ops");
    let config = work.path().join("relay.toml");
    std::fs::write(
        &config,
        "[limits]\njoin_per_ip = { burst = 3, per_minute = 1 }\n",
    )
    .unwrap();
    let data = work.path().join("data");
    let (config_arg, data_arg) = (config.to_str().unwrap(), data.to_str().unwrap());
    let mut relay = Proc::start(
        "relay",
        &[
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_arg,
            "--config",
            config_arg,
            "--metrics",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--json",
        ],
        None,
    );
    let listening = relay.wait_event("listening");
    let metrics = listening["metrics"]
        .as_str()
        .expect("metrics address")
        .to_owned();
    let fingerprint = listening["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(http_status(&metrics, "/healthz"), 200);
    assert_eq!(http_status(&metrics, "/readyz"), 200);
    assert_eq!(http_status(&metrics, "/metrics"), 200);

    // Logs are JSON lines.
    let log = wait_until("a JSON log line", Duration::from_secs(10), || {
        relay
            .stderr()
            .lines()
            .find(|line| line.contains("relay listening"))
            .map(str::to_owned)
    });
    let log: serde_json::Value = serde_json::from_str(&log).expect("a JSON object");
    assert_eq!(log["fields"]["message"], "relay listening", "{log}");

    signal(&relay, "HUP");
    let reloaded = relay.wait_event("reloaded");
    assert_eq!(reloaded["fingerprint"], fingerprint.as_str());
    std::fs::write(&config, "lisen = \"typo\"\n").unwrap();
    signal(&relay, "HUP");
    let failed = relay.wait_event("reload_failed");
    assert!(
        failed["error"].as_str().unwrap().contains("relay config"),
        "{failed}"
    );
    assert_eq!(http_status(&metrics, "/healthz"), 200, "still running");

    signal(&relay, "TERM");
    relay.wait_event("draining");
    relay.wait_event("stopped");
    assert!(
        relay.wait_exit(Duration::from_secs(20)),
        "a drained relay exits cleanly"
    );
}
