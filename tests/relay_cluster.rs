//! Issue 12: a cluster of relay processes sharing one directory in a real `redis-server` on
//! loopback. A host on node 1 and a viewer on node 3 run a session through the real binaries;
//! node 2 dies and nothing else notices; node 1 dies and its session ends on both sides and its
//! waiting codes leave the directory; Redis stops and starts again under paired sessions.
//!
//! Skipped, with a message, only where `redis-server` is not installed (`scripts/install-deps.sh`
//! installs it).

#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use tandem_relay::{ClientError, Fingerprint, RelayClient, RelayTrust};
use tandem_xvfb::VirtualDisplay;

/// Heartbeat TTL of the test nodes: a dead node's codes go within it.
const TTL_SECS: u64 = 3;

fn redis_installed() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!(
            "SKIPPED: redis-server is not installed; run scripts/install-deps.sh (apt-get install redis-server) to run the relay cluster tests"
        );
    }
    found
}

/// A `redis-server` of the test's own on a free loopback port, without persistence.
struct Redis {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

impl Redis {
    fn start() -> Redis {
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut redis = Redis {
                child: None,
                port,
                dir: TempDir::new("redis"),
            };
            if redis.run() {
                return redis;
            }
        }
        panic!("could not start redis-server on a free port");
    }

    /// Starts the server on its port; whether it answers.
    fn run(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir.path().to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + STEP;
        while std::time::Instant::now() < deadline {
            if self.cli(&["PING"]).trim() == "PONG" {
                return true;
            }
            if let Some(child) = &mut self.child
                && child.try_wait().unwrap().is_some()
            {
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli (redis-tools) is installed with redis-server");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The waiting codes of node `id` in the directory.
    fn codes_of(&self, id: &str) -> Vec<String> {
        self.cli(&["--scan", "--pattern", "tandem:code:*"])
            .lines()
            .filter(|key| {
                self.cli(&["GET", key])
                    .trim()
                    .starts_with(&format!("{id}/"))
            })
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `tandem relay --cluster` process.
struct Node {
    proc: Proc,
    id: String,
    addr: String,
    fingerprint: String,
    metrics: String,
    _dir: TempDir,
}

impl Node {
    fn start(id: &str, redis: &Redis) -> Node {
        let dir = TempDir::new(&format!("cluster-{id}"));
        let config = dir.path().join("relay.toml");
        // The TTL from the config's [cluster] table, the directory from the flag.
        std::fs::write(
            &config,
            format!(
                "[cluster]\nredis = \"redis://127.0.0.1:1/0\"\nheartbeat_ttl_secs = {TTL_SECS}\n"
            ),
        )
        .unwrap();
        let data = dir.path().join("data");
        let url = redis.url();
        let mut proc = Proc::start(
            &format!("relay-{id}"),
            &[
                "relay",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                data.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
                "--metrics",
                "127.0.0.1:0",
                "--json",
                "--cluster",
                &url,
                "--cluster-node-id",
                id,
            ],
            None,
        );
        let listening = proc.wait_event("listening");
        assert_eq!(listening["node_id"], id);
        let node = Node {
            id: id.to_owned(),
            addr: listening["addr"].as_str().unwrap().to_owned(),
            fingerprint: listening["fingerprint"].as_str().unwrap().to_owned(),
            metrics: listening["metrics"].as_str().unwrap().to_owned(),
            proc,
            _dir: dir,
        };
        node.wait_ready(true);
        node
    }

    fn wait_ready(&self, ready: bool) {
        let want = if ready { 200 } else { 503 };
        wait_until(&format!("{} /readyz {want}", self.id), STEP, || {
            (http_get(&self.metrics, "/readyz").0 == want).then_some(())
        });
    }

    fn metric(&self, name: &str) -> f64 {
        let (_, body) = http_get(&self.metrics, "/metrics");
        body.lines()
            .find(|l| l.starts_with(name) && l.contains(&format!("node_id=\"{}\"", self.id)))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    fn trust(&self) -> RelayTrust {
        RelayTrust::Fingerprint(self.fingerprint.parse::<Fingerprint>().unwrap())
    }

    fn kill(&mut self) {
        self.proc.kill();
    }
}

impl RelayFlags for Node {
    fn flags(&self) -> Vec<String> {
        vec![
            "--relay".into(),
            self.addr.clone(),
            "--fingerprint".into(),
            self.fingerprint.clone(),
        ]
    }
}

/// `GET path` on `addr`: status code and body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return (0, String::new());
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    if write!(stream, "GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n").is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A host waiting on `node`, held by the test.
fn waiting_host(rt: &tokio::runtime::Runtime, node: &Node) -> RelayClient {
    rt.block_on(async {
        let mut host = RelayClient::connect(&node.addr, &node.trust())
            .await
            .unwrap();
        host.register(Duration::from_secs(600)).await.unwrap();
        host
    })
}

/// A paired host (on `host_node`) and viewer (joining on `viewer_node`).
fn pair(
    rt: &tokio::runtime::Runtime,
    host_node: &Node,
    viewer_node: &Node,
) -> (RelayClient, RelayClient) {
    rt.block_on(async {
        let mut host = RelayClient::connect(&host_node.addr, &host_node.trust())
            .await
            .unwrap();
        let code = host.register(Duration::from_secs(600)).await.unwrap();
        let mut viewer = RelayClient::connect(&viewer_node.addr, &viewer_node.trust())
            .await
            .unwrap();
        viewer.join(&code.routing).await.unwrap();
        host.wait_paired().await.unwrap();
        assert_eq!(viewer.relay_id(), host.relay_id(), "one relay identity");
        (host, viewer)
    })
}

/// A record sent by the host arrives at the viewer through the pairing.
fn flows(rt: &tokio::runtime::Runtime, host: &RelayClient, viewer: &RelayClient, what: &[u8]) {
    rt.block_on(async {
        let mut send = host.connection().open_uni().await.unwrap();
        send.write_all(what).await.unwrap();
        send.finish().unwrap();
        let mut recv = tokio::time::timeout(STEP, viewer.connection().accept_uni())
            .await
            .unwrap()
            .unwrap();
        let got = tokio::time::timeout(STEP, recv.read_to_end(1024))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, what);
    });
}

#[test]
fn a_session_across_nodes_survives_another_node_dying_and_ends_cleanly_when_its_node_dies() {
    if !redis_installed() {
        return;
    }
    let redis = Redis::start();
    let mut n1 = Node::start("n1", &redis);
    let mut n2 = Node::start("n2", &redis);
    let n3 = Node::start("n3", &redis);
    wait_until("three live nodes", STEP, || {
        (n1.metric("tandem_relay_cluster_nodes") >= 3.0).then_some(())
    });
    let rt = runtime();

    // The real binaries: the user shares on node 1, the technician joins on node 3.
    let display = VirtualDisplay::start(640, 480).expect("Xvfb");
    let viewer_display = VirtualDisplay::start(1024, 768).expect("Xvfb");
    // Without a reconnect grace, losing the node ends the session at once (restoring a lost link
    // is e2e_reconnect's subject).
    let (mut share, code) = start_share(
        &n1,
        display.name(),
        &["--auto-accept", "control", "--reconnect-grace", "0"],
    );
    // The viewer's real window, so real input crosses the cluster too.
    let mut join = start_join(
        &n3,
        &code,
        Some(viewer_display.name()),
        &["--request-control", "--reconnect-grace", "0"],
    );
    let connected = join.wait_event("connected");
    assert_eq!(connected["fingerprint"], n3.fingerprint.as_str());
    share.wait_event("secured");
    join.wait_event("secured");
    // Permissions (view and control at once) come before the first frame.
    join.wait_event_where("permissions", STEP, |p| p["control"] == true);
    join.wait_event("first_frame");
    assert_eq!(n3.metric("tandem_relay_redirects_total"), 1.0);
    assert_eq!(n1.metric("tandem_relay_active_sessions"), 1.0);
    join.send_line("chat hello from node 3");
    share.wait_event_where("chat", STEP, |c| c["text"] == "hello from node 3");
    // Input through node 3's redirect to node 1: the pointer moved over the top-left of the
    // viewer's picture lands in the top-left of the user's screen, then over the bottom-right in
    // the bottom-right.
    let b = viewer_display.name();
    let window = xdotool(b, &["search", "--sync", "--name", "Tandem"]);
    let window = window.lines().next().unwrap().to_owned();
    let (wx, wy, ww, wh) = window_geometry(b, &window);
    for (fx, fy, left_top) in [(0.3, 0.35, true), (0.7, 0.75, false)] {
        let x = wx + (f64::from(ww) * fx) as i32;
        let y = wy + (f64::from(wh) * fy) as i32;
        xdotool(b, &["mousemove", &x.to_string(), &y.to_string()]);
        wait_until("the technician's pointer to move the user's", STEP, || {
            let (px, py) = pointer(display.name());
            let in_quadrant = if left_top {
                px < 320 && py < 240
            } else {
                px > 320 && py > 240
            };
            in_quadrant.then_some(())
        });
    }

    // Codes waiting on node 1 and node 2, held by the test.
    let waiting_on_1 = waiting_host(&rt, &n1);
    let waiting_on_2 = waiting_host(&rt, &n2);
    assert_eq!(redis.codes_of("n1").len(), 1);
    assert_eq!(redis.codes_of("n2").len(), 1);
    // A viewer that came in through node 2 and was sent to its host on node 3.
    let (host_on_3, viewer_via_2) = pair(&rt, &n3, &n2);

    // Node 2 dies: its code leaves the directory within the TTL; nothing else notices.
    n2.kill();
    wait_until("node 2's codes gone", STEP, || {
        redis.codes_of("n2").is_empty().then_some(())
    });
    assert_eq!(redis.cli(&["EXISTS", "tandem:node:n2"]).trim(), "0");
    assert_eq!(redis.codes_of("n1").len(), 1, "node 1's code is kept");
    join.send_line("chat still here");
    share.wait_event_where("chat", STEP, |c| c["text"] == "still here");
    share.send_line("chat and back");
    join.wait_event_where("chat", STEP, |c| c["text"] == "and back");
    // The viewer that joined through node 2 was redirected to node 3: unaffected too.
    flows(&rt, &host_on_3, &viewer_via_2, b"through node 3");
    drop(waiting_on_2);

    // Node 1 dies: its session ends on both sides with a reason, its waiting code goes.
    n1.kill();
    let host_end = share.wait_event("session_ended");
    let viewer_end = join.wait_event("session_ended");
    for end in [&host_end, &viewer_end] {
        let reason = end["reason"].as_str().unwrap();
        assert!(!reason.is_empty(), "{end}");
    }
    // Both processes exit on their own (with the error status of a lost session).
    share.wait_exit(STEP);
    join.wait_exit(STEP);
    wait_until("node 1's codes gone", STEP, || {
        redis.codes_of("n1").is_empty().then_some(())
    });
    drop(waiting_on_1);
    // Node 3 still pairs, and its own session still flows.
    flows(&rt, &host_on_3, &viewer_via_2, b"node 3 carries on");
    let (host, viewer) = pair(&rt, &n3, &n3);
    flows(&rt, &host, &viewer, b"fresh pair on node 3");
}

#[test]
fn nodes_serve_paired_sessions_without_redis_refuse_new_codes_and_recover_when_it_returns() {
    if !redis_installed() {
        return;
    }
    let mut redis = Redis::start();
    let n1 = Node::start("r1", &redis);
    let n2 = Node::start("r2", &redis);
    let rt = runtime();
    let (host, viewer) = pair(&rt, &n1, &n2);
    flows(&rt, &host, &viewer, b"before");

    redis.stop();
    n1.wait_ready(false);
    n2.wait_ready(false);
    let (_, readyz) = http_get(&n1.metrics, "/readyz");
    assert!(readyz.contains("relay cluster unavailable"), "{readyz}");
    assert_eq!(n1.metric("tandem_relay_cluster_up"), 0.0);
    let refused = rt.block_on(async {
        let mut host = RelayClient::connect(&n1.addr, &n1.trust()).await.unwrap();
        host.register(Duration::from_secs(60)).await.unwrap_err()
    });
    assert!(
        matches!(&refused, ClientError::Refused { detail, .. } if detail.contains("relay cluster unavailable")),
        "{refused}"
    );
    // The paired session never needed Redis.
    flows(&rt, &host, &viewer, b"during the outage");

    assert!(redis.run(), "redis-server starts again on its port");
    n1.wait_ready(true);
    n2.wait_ready(true);
    let (host2, viewer2) = pair(&rt, &n2, &n1);
    flows(&rt, &host2, &viewer2, b"after");
    flows(&rt, &host, &viewer, b"and the first session still");
}
