//! A scaled-down soak: 100 real QUIC host/viewer pairs stream ~50 kB/s each through one in-process
//! relay for 10 s while wrong-code joins and abandoned connections hit it. Everything sent must
//! arrive, every fault must be refused or cleaned up, and at the end the relay must be back to no
//! connections and no sessions. No timing is asserted; waits are on conditions under deadlines.
//! The full-size runs (1,000 sessions, 10,000 waiting codes) are in PERFORMANCE.md.

#[path = "../examples/relay_load/driver.rs"]
mod driver;

use std::net::SocketAddr;
use std::time::Duration;

use tandem_relay::{Rate, RateLimits, Relay, RelayConfig, RelayTrust};
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(120);

async fn metrics_text(addr: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
}

fn sample(text: &str, sample: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == sample).then(|| value.parse().ok())?
    })
}

/// Runs the load and checks what every run must hold: every session paired, none failed, and
/// every byte sent arrived.
async fn run_and_check_delivery(load: driver::LoadConfig, label: &str) -> driver::Report {
    let sessions = load.sessions;
    let report = tokio::time::timeout(DEADLINE, driver::run(load))
        .await
        .expect("the load finished in time");
    eprintln!("{label}: {}", report.summary());
    assert_eq!(report.paired, sessions, "{}", report.summary());
    assert_eq!(
        report.failed_setup + report.failed_streaming,
        0,
        "{}",
        report.summary()
    );
    assert_eq!(
        report.bytes_received, report.bytes_sent,
        "every byte arrived"
    );
    report
}

/// Shuts the relay down within the deadline and removes its data directory.
async fn stop(
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), tandem_relay::RelayError>>,
    dir: &std::path::Path,
) {
    shutdown.cancel();
    tokio::time::timeout(DEADLINE, task)
        .await
        .expect("shutdown in time")
        .expect("task")
        .expect("ran");
    let _ = std::fs::remove_dir_all(dir);
}

/// The metrics once the relay is back to no connections and no sessions (polled under a deadline).
async fn metrics_when_idle(metrics: SocketAddr) -> String {
    tokio::time::timeout(DEADLINE, async {
        loop {
            let text = metrics_text(metrics).await;
            let open: f64 = ["handshake", "idle", "waiting", "paired"]
                .iter()
                .filter_map(|state| {
                    sample(
                        &text,
                        &format!("tandem_relay_connections{{state=\"{state}\"}}"),
                    )
                })
                .sum();
            if open == 0.0 && sample(&text, "tandem_relay_active_sessions") == Some(0.0) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the relay went back to no connections")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_100_sessions_with_faults_delivers_everything_and_leaks_nothing() {
    let dir = std::env::temp_dir().join(format!("tandem-relay-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.clone());
    let lots = Rate::new(1_000_000, 1_000_000);
    config.limits = RateLimits {
        register_per_ip: lots,
        register_global: lots,
        join_per_ip: lots,
        join_global: lots,
        max_waiting_per_ip: 1_000_000,
        max_connections_per_ip: 1_000_000,
        ..RateLimits::default()
    };
    config.metrics = Some("127.0.0.1:0".parse().expect("addr"));
    let relay = Relay::bind(config).await.expect("binds");
    let metrics = relay.metrics_addr().expect("metrics");
    let load = driver::LoadConfig {
        relay: relay.local_addr().to_string(),
        trust: RelayTrust::Fingerprint(relay.fingerprint()),
        sessions: 100,
        rate: 50_000,
        ticks_per_sec: 10,
        duration: Duration::from_secs(10),
        concurrency: 20,
        wrong_joins: 50,
        abandoned: 50,
        endpoints: 0,
        nodes: Vec::new(),
        viewer_offset: 0,
        many_sources: false,
        join_flood_per_sec: 0,
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(relay.run(shutdown.clone()));

    let report = run_and_check_delivery(load, "soak").await;
    assert!(report.bytes_sent > 0);
    assert_eq!(report.wrong_joins_refused, 50);

    // Nothing left behind: every connection, session and waiting code is gone.
    let text = metrics_when_idle(metrics).await;
    assert_eq!(
        sample(&text, "tandem_relay_sessions_started_total"),
        Some(100.0)
    );
    assert_eq!(sample(&text, "tandem_relay_waiting_hosts"), Some(0.0));
    assert_eq!(
        sample(
            &text,
            "tandem_relay_joins_refused_total{reason=\"unknown_code\"}"
        ),
        Some(50.0)
    );
    let forwarded = sample(
        &text,
        "tandem_relay_forwarded_bytes_total{direction=\"host_to_viewer\"}",
    )
    .expect("forwarded bytes");
    assert_eq!(forwarded as u64, report.bytes_sent);

    stop(shutdown, task, &dir).await;
}

/// A join flood at ten times the relay's join limit, from a new address each time, beside live
/// sessions, against the relay's default limits: every live session still delivers every byte,
/// the flood is refused (most of it rate-limited once the global bucket is empty), and the relay
/// returns to nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_flood_from_many_addresses_hurts_no_live_session() {
    let dir = std::env::temp_dir().join(format!("tandem-relay-flood-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.clone());
    config.limits = RateLimits::default();
    config.metrics = Some("127.0.0.1:0".parse().expect("addr"));
    let relay = Relay::bind(config).await.expect("binds");
    let metrics = relay.metrics_addr().expect("metrics");
    // The default global join bucket: 60 at once, then 2 a second. The flood asks 20 a second.
    let flood_per_sec = 10 * RateLimits::default().join_global.per_minute / 60;
    let load = driver::LoadConfig {
        relay: relay.local_addr().to_string(),
        trust: RelayTrust::Fingerprint(relay.fingerprint()),
        sessions: 20,
        rate: 50_000,
        ticks_per_sec: 10,
        duration: Duration::from_secs(8),
        concurrency: 10,
        wrong_joins: 0,
        abandoned: 0,
        endpoints: 0,
        nodes: Vec::new(),
        viewer_offset: 0,
        many_sources: true,
        join_flood_per_sec: flood_per_sec,
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(relay.run(shutdown.clone()));

    let report = run_and_check_delivery(load, "flood").await;
    let flooded = report.flood_rate_limited + report.flood_refused_other;
    assert!(flooded > 0, "{}", report.summary());
    assert!(
        report.flood_rate_limited > 0,
        "the global join bucket ran dry: {}",
        report.summary()
    );

    let text = metrics_when_idle(metrics).await;
    assert_eq!(
        sample(&text, "tandem_relay_sessions_started_total"),
        Some(20.0)
    );
    stop(shutdown, task, &dir).await;
}
