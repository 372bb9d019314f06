//! Cluster nodes in one process over real QUIC on loopback, sharing the in-memory directory: the
//! redirect, one attempt per code across nodes, shared rate limits, an unavailable directory and
//! one that lost its data. The real-Redis path is covered by `tests/relay_cluster.rs` at the root.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tandem_proto::relay::RefusalReason;
use tokio_util::sync::CancellationToken;

use super::directory::MemoryDirectory;
use super::*;
use crate::client::{ClientError, RelayClient, RelayTrust};
use crate::server::{Relay, RelayConfig};

const TTL: Duration = Duration::from_secs(3);
const DEADLINE: Duration = Duration::from_secs(30);

struct Node {
    addr: String,
    fingerprint: Fingerprint,
    up: Arc<AtomicBool>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    dir: PathBuf,
}

impl Node {
    async fn start(name: &str, directory: &Arc<MemoryDirectory>, limits: RateLimits) -> Node {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tandem-cluster-unit-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.clone());
        config.limits = limits;
        let mut cluster = ClusterConfig::new("redis://unused");
        cluster.node_id = Some(name.to_owned());
        cluster.heartbeat_ttl = TTL;
        config.cluster = Some(cluster);
        let relay = Relay::bind_with_directory(config, directory.clone())
            .await
            .unwrap();
        assert_eq!(relay.node_id(), Some(name));
        let up = relay.cluster_up().unwrap();
        let addr = relay.local_addr().to_string();
        let fingerprint = relay.fingerprint();
        let cancel = CancellationToken::new();
        let task = tokio::spawn({
            let cancel = cancel.clone();
            async move {
                let _ = relay.run(cancel).await;
            }
        });
        let node = Node {
            addr,
            fingerprint,
            up,
            cancel,
            task: Some(task),
            dir,
        };
        node.wait_up(true).await;
        node
    }

    async fn wait_up(&self, up: bool) {
        wait_for("the cluster state", || self.up.load(Ordering::SeqCst) == up).await;
    }

    async fn client(&self) -> RelayClient {
        RelayClient::connect(&self.addr, &RelayTrust::Fingerprint(self.fingerprint))
            .await
            .unwrap()
    }

    /// Ends the node as a crash would: its task is gone, nothing is said to the directory.
    fn crash(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.cancel.cancel();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn generous() -> RateLimits {
    let lots = Rate::new(10_000, 10_000);
    RateLimits {
        register_per_ip: lots,
        register_global: lots,
        join_per_ip: lots,
        join_global: lots,
        max_waiting_per_ip: 1_000,
        max_connections_per_ip: 1_000,
        ..RateLimits::default()
    }
}

async fn three(directory: &Arc<MemoryDirectory>, limits: RateLimits) -> [Node; 3] {
    [
        Node::start("n1", directory, limits.clone()).await,
        Node::start("n2", directory, limits.clone()).await,
        Node::start("n3", directory, limits).await,
    ]
}

/// Host on n1 writes, the viewer reads: the pairing forwards.
async fn bytes_flow(host: &RelayClient, viewer: &RelayClient) {
    let mut send = host.connection().open_uni().await.unwrap();
    send.write_all(b"frame").await.unwrap();
    send.finish().unwrap();
    let mut recv = tokio::time::timeout(DEADLINE, viewer.connection().accept_uni())
        .await
        .unwrap()
        .unwrap();
    let got = tokio::time::timeout(DEADLINE, recv.read_to_end(64))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"frame");
}

#[tokio::test]
async fn a_viewer_on_another_node_is_redirected_to_the_hosts_node_and_both_bind_its_identity() {
    let directory = Arc::new(MemoryDirectory::default());
    let [n1, n2, n3] = three(&directory, generous()).await;
    assert_ne!(
        n1.fingerprint, n3.fingerprint,
        "each node has its own certificate"
    );
    let mut host = n1.client().await;
    let registration = host.register(Duration::from_secs(60)).await.unwrap();
    assert_eq!(directory.keys("tandem:code:").len(), 1);
    let mut viewer = n3.client().await;
    assert_eq!(viewer.relay_fingerprint(), n3.fingerprint);
    viewer.join(&registration.routing).await.unwrap();
    host.wait_paired().await.unwrap();
    // The viewer now talks to n1, as the host does: one relay identity for the handshake.
    assert_eq!(viewer.relay_fingerprint(), n1.fingerprint);
    assert_eq!(viewer.relay_id(), host.relay_id());
    bytes_flow(&host, &viewer).await;
    // The code admitted that one attempt, on every node.
    assert!(directory.keys("tandem:code:").is_empty());
    assert!(
        directory.keys("tandem:ticket:").is_empty(),
        "the ticket was taken"
    );
    for node in [&n1, &n2, &n3] {
        let mut late = node.client().await;
        let err = late.join(&registration.routing).await.unwrap_err();
        assert!(matches!(err, ClientError::UnknownCode), "{err}");
    }
    // A viewer on the host's own node pairs there, without a redirect.
    let mut host2 = n2.client().await;
    let code2 = host2.register(Duration::from_secs(60)).await.unwrap();
    let mut viewer2 = n2.client().await;
    viewer2.join(&code2.routing).await.unwrap();
    host2.wait_paired().await.unwrap();
    assert_eq!(viewer2.relay_fingerprint(), n2.fingerprint);
}

#[tokio::test]
async fn a_forged_or_replayed_ticket_pairs_nobody() {
    let directory = Arc::new(MemoryDirectory::default());
    let [n1, _n2, n3] = three(&directory, generous()).await;
    let mut host = n1.client().await;
    let registration = host.register(Duration::from_secs(60)).await.unwrap();
    // A client that skips the redirect and guesses a ticket on the host's node.
    let mut forger = n1.client().await;
    let request = tandem_proto::relay::RelayRequest::JoinRedirected {
        version: tandem_proto::PROTOCOL_VERSION,
        routing: registration.routing.clone(),
        ticket: [0; tandem_proto::relay::TICKET_LEN],
    };
    forger.send_request(&request).await.unwrap();
    let notice = forger.next_notice().await.unwrap();
    assert!(
        matches!(
            notice,
            tandem_proto::relay::RelayNotice::Refused {
                reason: RefusalReason::UnknownCode,
                ..
            }
        ),
        "{notice:?}"
    );
    // The host still waits, and its code still works through a redirect.
    let mut viewer = n3.client().await;
    viewer.join(&registration.routing).await.unwrap();
    host.wait_paired().await.unwrap();
}

#[tokio::test]
async fn rate_limits_count_every_node() {
    let directory = Arc::new(MemoryDirectory::default());
    let limits = RateLimits {
        join_per_ip: Rate::new(2, 1),
        ..generous()
    };
    let [n1, n2, n3] = three(&directory, limits).await;
    let unknown = tandem_proto::code::RoutingCode::new("999999").unwrap();
    for node in [&n1, &n2] {
        let mut guesser = node.client().await;
        let err = guesser.join(&unknown).await.unwrap_err();
        assert!(matches!(err, ClientError::UnknownCode), "{err}");
    }
    // n3's own bucket is full, but the address used the cluster's allowance on n1 and n2.
    let mut guesser = n3.client().await;
    let err = guesser.join(&unknown).await.unwrap_err();
    assert!(matches!(err, ClientError::RateLimited { .. }), "{err}");
}

#[tokio::test]
async fn an_unavailable_directory_refuses_new_codes_and_joins_while_paired_sessions_flow() {
    let directory = Arc::new(MemoryDirectory::default());
    let [n1, n2, _n3] = three(&directory, generous()).await;
    let mut host = n1.client().await;
    let registration = host.register(Duration::from_secs(60)).await.unwrap();
    let mut viewer = n2.client().await;
    viewer.join(&registration.routing).await.unwrap();
    host.wait_paired().await.unwrap();
    let mut waiting = n1.client().await;
    let waiting_code = waiting.register(Duration::from_secs(60)).await.unwrap();

    directory.set_down(true);
    n1.wait_up(false).await;
    n2.wait_up(false).await;
    let mut refused = n2.client().await;
    match refused.register(Duration::from_secs(60)).await.unwrap_err() {
        ClientError::Refused {
            reason: RefusalReason::Unavailable,
            detail,
        } => assert!(detail.contains("relay cluster unavailable"), "{detail}"),
        other => panic!("{other}"),
    }
    let mut joiner = n1.client().await;
    let err = joiner.join(&waiting_code.routing).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Refused {
                reason: RefusalReason::Unavailable,
                ..
            }
        ),
        "{err}"
    );
    // The paired session never touches the directory.
    bytes_flow(&host, &viewer).await;

    directory.set_down(false);
    n1.wait_up(true).await;
    n2.wait_up(true).await;
    let mut again = n2.client().await;
    again.register(Duration::from_secs(60)).await.unwrap();
    // The waiting code survived the outage (its join was refused before the directory).
    let mut viewer2 = n2.client().await;
    viewer2.join(&waiting_code.routing).await.unwrap();
    waiting.wait_paired().await.unwrap();
}

#[tokio::test]
async fn a_crashed_nodes_codes_vanish_within_the_ttl_and_nobody_is_sent_there() {
    let directory = Arc::new(MemoryDirectory::default());
    let [n1, mut n2, n3] = three(&directory, generous()).await;
    let mut host = n2.client().await;
    let registration = host.register(Duration::from_secs(600)).await.unwrap();
    let mut other = n1.client().await;
    let other_code = other.register(Duration::from_secs(600)).await.unwrap();
    assert_eq!(directory.keys("tandem:code:").len(), 2);
    n2.crash();
    // Within the TTL its code and entry lapse; n1's code is kept alive by n1's heartbeats.
    directory.advance(TTL);
    assert_eq!(directory.keys("tandem:node:n2").len(), 0);
    // The live nodes' next heartbeats write theirs back; the crashed node's stays gone.
    let wanted = vec![code_key(&other_code.routing)];
    wait_for("only the live node's code left", || {
        directory.keys("tandem:code:") == wanted
    })
    .await;
    let mut viewer = n3.client().await;
    let err = viewer.join(&registration.routing).await.unwrap_err();
    assert!(matches!(err, ClientError::UnknownCode), "{err}");
    drop(host);
    let mut viewer = n3.client().await;
    viewer.join(&other_code.routing).await.unwrap();
    other.wait_paired().await.unwrap();
}

#[tokio::test]
async fn a_directory_that_lost_everything_gets_the_waiting_codes_back() {
    let directory = Arc::new(MemoryDirectory::default());
    let [n1, _n2, n3] = three(&directory, generous()).await;
    let mut host = n1.client().await;
    let registration = host.register(Duration::from_secs(600)).await.unwrap();
    directory.flush();
    wait_for("the code written back", || {
        directory.keys("tandem:code:").len() == 1
    })
    .await;
    let mut viewer = n3.client().await;
    viewer.join(&registration.routing).await.unwrap();
    host.wait_paired().await.unwrap();
}

#[test]
fn entries_and_owners_refuse_anything_malformed() {
    let entry = NodeEntry {
        addr: "relay1.example.org:7447".to_owned(),
        fingerprint: Fingerprint([3; 32]),
        waiting: 4,
        sessions: 5,
    };
    assert_eq!(NodeEntry::decode(&entry.encode()), Some(entry.clone()));
    let fp = Fingerprint([3; 32]).to_string();
    for bad in [
        String::new(),
        format!("2 relay:1 {fp} 0 0"),
        format!("1 relay {fp} 0 0"),
        "1 relay:1 nothex 0 0".to_owned(),
        format!("1 relay:1 {fp} -1 0"),
        format!("1 relay:1 {fp} 0 0 extra"),
        format!("1 evil\u{1b}:1 {fp} 0 0"),
    ] {
        assert_eq!(NodeEntry::decode(&bad), None, "{bad:?}");
    }
    assert_eq!(
        parse_owner("n1/42"),
        Some(Owner {
            node: "n1".into(),
            session: 42
        })
    );
    for bad in ["", "n1", "n1/", "/4", "n 1/4", "n1/4/5", "n1/x"] {
        assert_eq!(parse_owner(bad), None, "{bad:?}");
    }
    assert!(valid_node_id("relay-eu.1_a"));
    assert!(!valid_node_id(&"a".repeat(65)));
    assert!(!valid_node_id("a/b"));
}

#[tokio::test]
async fn a_node_needs_an_address_clients_can_be_sent_to() {
    let directory: Arc<dyn Directory> = Arc::new(MemoryDirectory::default());
    let config = ClusterConfig::new("redis://unused");
    let open = |addr: &str, config: &ClusterConfig| {
        Cluster::with_directory(
            config,
            "n".into(),
            addr.parse().unwrap(),
            Fingerprint([0; 32]),
            RateLimits::default(),
            ClusterMetrics::default(),
            directory.clone(),
        )
    };
    assert!(matches!(
        open("0.0.0.0:7447", &config),
        Err(ClusterError::NoPublicAddr { .. })
    ));
    let mut with_addr = config.clone();
    with_addr.public_addr = Some("relay1.example.org:7447".into());
    assert!(open("0.0.0.0:7447", &with_addr).is_ok());
    with_addr.public_addr = Some("relay1.example.org".into());
    assert!(matches!(
        open("0.0.0.0:7447", &with_addr),
        Err(ClusterError::BadPublicAddr { .. })
    ));
    assert!(open("127.0.0.1:7447", &config).is_ok());
    let mut short = config;
    short.heartbeat_ttl = Duration::from_secs(1);
    assert!(matches!(
        open("127.0.0.1:7447", &short),
        Err(ClusterError::BadTtl { .. })
    ));
}
