//! The relay server: a tokio + quinn shell around the sans-IO [`Registry`]. One actor (the `run`
//! loop) owns the registry; one task per connection reads that client's relay stream and, once
//! paired, forwards the streams it opens to the peer. Every task is owned by a `JoinSet` (aborted on
//! drop) and watches a cancellation token.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tandem_proto::framing::{FrameReader, write_frame};
use tandem_proto::limits::MAX_RELAY_FRAME;
use tandem_proto::relay::{RefusalReason, RelayNotice, RelayRequest, ResumeRole};
use tandem_proto::wire::Message;
use thiserror::Error;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::budget::{BudgetSeat, BufferBudget};
use crate::cluster::{self, Attempt, Cluster, ClusterConfig, ClusterError, ToActor, Unavailable};
use crate::forward::ByteCount;
use crate::http::HttpState;
pub use crate::limits::{Rate, RateLimits};
use crate::metrics::{Closed, Direction, EndLabel, EndReason, Limit, LimitLabel, Metrics};
use crate::registry::{ConnId, Departure, Ended, Refusal, Registry};
#[cfg(feature = "tap")]
use crate::tap::ForwardTap;
use crate::tap::{PairingTap, TapSource};
use crate::tls::{self, Fingerprint, TlsError};
use crate::{
    CLOSE_IDLE, CLOSE_PROTOCOL, CLOSE_SHUTDOWN, DEFAULT_MAX_CODE_TTL, STREAM_PEER_GONE, forward,
};
use prometheus_client::metrics::gauge::Gauge;

/// Refused requests one connection may make; the next refusal closes it.
pub const MAX_REFUSALS_PER_CONNECTION: u32 = 8;
/// How long shutdown waits for connections to close cleanly.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// The tracing target of the audit trail: one event per code handed out ("host registered",
/// fields `conn_id`, `session_id`, `ttl_secs`), session start ("session started": `session_id`,
/// `host_conn`, `viewer_conn`, `waited_ms`), session end ("session ended": `session_id`, `reason`,
/// `duration_ms`, `waited_ms`, `bytes_host_to_viewer`, `bytes_viewer_to_host`) and expiry ("code
/// expired unused": `session_id`). Never codes, content or keys.
pub const AUDIT: &str = "tandem_relay::audit";
/// How long a drain lets sessions carry on unless configured otherwise.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Events buffered for slow subscribers before the oldest are dropped.
const EVENT_CAPACITY: usize = 1024;

/// Where the relay's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// A self-signed certificate made on first start and kept in the data dir
    /// (`relay-cert.pem`, `relay-key.pem`); clients pin its fingerprint.
    SelfSigned,
    /// An operator-supplied PEM certificate chain (leaf first) and private key.
    Pem { cert_chain: PathBuf, key: PathBuf },
}

/// Everything the relay needs to run.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// UDP address to listen on.
    pub listen: SocketAddr,
    /// Where the self-signed identity is kept; created if missing.
    pub data_dir: PathBuf,
    pub tls: TlsSource,
    /// The longest a code may wait for a viewer; hosts asking for longer get this.
    pub max_code_ttl: Duration,
    pub limits: RateLimits,
    /// TCP address for `/metrics`, `/healthz` and `/readyz`; `None` serves no HTTP.
    pub metrics: Option<SocketAddr>,
    /// How long a drain ([`RelayHandle::drain`]) lets live sessions and waiting hosts carry on
    /// before the relay closes them.
    pub drain_timeout: Duration,
    /// Join a cluster of relays sharing one directory of codes in Redis; `None`: a lone relay.
    pub cluster: Option<ClusterConfig>,
    /// Tests only (feature `tap`): called with every chunk forwarded between paired clients, and may
    /// record or rewrite it, to play a malicious relay. `None` from [`RelayConfig::new`].
    #[cfg(feature = "tap")]
    pub tap: Option<Arc<dyn ForwardTap>>,
}

impl RelayConfig {
    /// Self-signed TLS, codes live at most 10 minutes, default limits.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            data_dir,
            tls: TlsSource::SelfSigned,
            max_code_ttl: DEFAULT_MAX_CODE_TTL,
            limits: RateLimits::default(),
            metrics: None,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            cluster: None,
            #[cfg(feature = "tap")]
            tap: None,
        }
    }
}

/// Why the relay could not start or run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RelayError {
    #[error("cannot create the data directory {path}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the relay's TLS identity: {0}")]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot listen for metrics on {addr}")]
    BindMetrics {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot join the relay cluster: {0}")]
    Cluster(#[from] ClusterError),
    #[error("the relay has stopped")]
    Stopped,
}

/// What happened on the relay, for monitoring (e.g. the binary's `--json` output). Never carries a
/// code or content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RelayEvent {
    /// A host got a code; `session_id` is the session the code leads to.
    Registered { session_id: u64 },
    /// A viewer joined a waiting host.
    SessionStarted { session_id: u64 },
    /// A paired session ended.
    SessionEnded { session_id: u64, reason: String },
    /// A host's code expired unused.
    Expired { session_id: u64 },
}

/// A bound relay, ready to [`Relay::run`].
pub struct Relay {
    endpoint: quinn::Endpoint,
    fingerprint: Fingerprint,
    config: RelayConfig,
    events: broadcast::Sender<RelayEvent>,
    metrics: Metrics,
    metrics_registry: Arc<prometheus_client::registry::Registry>,
    metrics_listener: Option<tokio::net::TcpListener>,
    ready: Arc<AtomicBool>,
    control_tx: mpsc::UnboundedSender<Control>,
    control_rx: mpsc::UnboundedReceiver<Control>,
    cluster: Option<Arc<Cluster>>,
}

/// Operator commands to a running relay.
enum Control {
    Drain,
    Reload {
        limits: RateLimits,
        max_code_ttl: Duration,
        server_config: Option<Box<quinn::ServerConfig>>,
        fingerprint: Option<Fingerprint>,
    },
}

/// Steers a running relay: drain it, reload its limits and certificate. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RelayHandle {
    control: mpsc::UnboundedSender<Control>,
}

impl RelayHandle {
    /// Stops handing out codes (readiness turns false, registrations are refused with `Full`), lets
    /// live sessions and waiting hosts carry on for the configured drain timeout, then closes every
    /// connection with "relay shutting down" and ends [`Relay::run`]. It ends sooner once no
    /// session or waiting host is left.
    pub fn drain(&self) -> Result<(), RelayError> {
        self.control
            .send(Control::Drain)
            .map_err(|_| RelayError::Stopped)
    }

    /// Applies new limits and code lifetime to what comes next, and with `tls`, loads that
    /// certificate for new connections; live connections and sessions are untouched. Returns the
    /// fingerprint of the certificate now served, if it was reloaded.
    pub fn reload(
        &self,
        limits: RateLimits,
        max_code_ttl: Duration,
        tls: Option<(&TlsSource, &std::path::Path)>,
    ) -> Result<Option<Fingerprint>, RelayError> {
        let (server_config, fingerprint) = match tls {
            Some((source, data_dir)) => {
                let (config, fingerprint) = load_server_config(source, data_dir)?;
                (Some(Box::new(config)), Some(fingerprint))
            }
            None => (None, None),
        };
        self.control
            .send(Control::Reload {
                limits,
                max_code_ttl,
                server_config,
                fingerprint,
            })
            .map_err(|_| RelayError::Stopped)?;
        Ok(fingerprint)
    }
}

fn load_server_config(
    source: &TlsSource,
    data_dir: &std::path::Path,
) -> Result<(quinn::ServerConfig, Fingerprint), RelayError> {
    load_identity(source, data_dir).map(|(config, fingerprint, _)| (config, fingerprint))
}

/// The server config, the certificate's fingerprint and the stateless-reset key from the key.
fn load_identity(
    source: &TlsSource,
    data_dir: &std::path::Path,
) -> Result<(quinn::ServerConfig, Fingerprint, tls::ResetKey), RelayError> {
    let identity = match source {
        TlsSource::SelfSigned => tls::self_signed_identity(data_dir)?,
        TlsSource::Pem { cert_chain, key } => tls::load_pem_identity(cert_chain, key)?,
    };
    let fingerprint = identity
        .fingerprint()
        .ok_or_else(|| TlsError::Config("the certificate chain is empty".to_owned()))?;
    let reset_key = tls::ResetKey::derive(&identity);
    Ok((tls::server_config(identity)?, fingerprint, reset_key))
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("listen", &self.config.listen)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Creates the data dir, loads or makes the certificate, and binds the UDP socket. A cluster
    /// node also checks its cluster settings; it reaches the directory once it runs.
    pub async fn bind(config: RelayConfig) -> Result<Relay, RelayError> {
        Self::bind_inner(config, None).await
    }

    /// A cluster node whose directory is `directory` (tests: the in-memory fake).
    #[cfg(test)]
    pub(crate) async fn bind_with_directory(
        config: RelayConfig,
        directory: Arc<dyn cluster::directory::Directory>,
    ) -> Result<Relay, RelayError> {
        Self::bind_inner(config, Some(directory)).await
    }

    async fn bind_inner(
        config: RelayConfig,
        #[cfg_attr(not(test), allow(unused_variables))] directory: Option<
            Arc<dyn cluster::directory::Directory>,
        >,
    ) -> Result<Relay, RelayError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| RelayError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let (server_config, fingerprint, reset_key) = load_identity(&config.tls, &config.data_dir)?;
        let metrics_listener = match config.metrics {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| RelayError::BindMetrics { addr, source })?,
            ),
            None => None,
        };
        let bind_err = |source| RelayError::Bind {
            addr: config.listen,
            source,
        };
        let (socket, recv_buffer, send_buffer) =
            tls::udp_socket(config.listen).map_err(bind_err)?;
        // Linux reports twice what it sets (half is bookkeeping), so this warns when less than half
        // the ask (4 MiB) was granted: the default net.core.rmem_max (~208 KiB) does.
        if recv_buffer < tls::UDP_SOCKET_BUFFER {
            tracing::warn!(
                granted = recv_buffer,
                wanted = tls::UDP_SOCKET_BUFFER,
                "the UDP receive buffer is small; under load datagrams will be dropped: raise net.core.rmem_max"
            );
        }
        tracing::debug!(recv_buffer, send_buffer, "UDP socket buffers");
        let runtime = quinn::default_runtime()
            .ok_or_else(|| bind_err(std::io::Error::other("no async runtime")))?;
        let endpoint = quinn::Endpoint::new(
            reset_key.endpoint_config(),
            Some(server_config),
            socket,
            runtime,
        )
        .map_err(bind_err)?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let node_id = match &config.cluster {
            Some(c) => Some(cluster::node_id(c)?),
            None => None,
        };
        let (metrics, metrics_registry) = Metrics::new(node_id.as_deref());
        let cluster = match (&config.cluster, node_id) {
            (Some(c), Some(id)) => {
                let bound = endpoint.local_addr().unwrap_or(config.listen);
                let limits = config.limits.clone();
                let m = metrics.cluster.clone();
                #[cfg(test)]
                if let Some(dir) = directory {
                    let cluster =
                        Cluster::with_directory(c, id, bound, fingerprint, limits, m, dir)?;
                    Some(Arc::new(cluster))
                } else {
                    Some(Arc::new(Cluster::open(
                        c,
                        id,
                        bound,
                        fingerprint,
                        limits,
                        m,
                    )?))
                }
                #[cfg(not(test))]
                Some(Arc::new(Cluster::open(
                    c,
                    id,
                    bound,
                    fingerprint,
                    limits,
                    m,
                )?))
            }
            _ => None,
        };
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        Ok(Relay {
            endpoint,
            fingerprint,
            config,
            events,
            metrics,
            metrics_registry: Arc::new(metrics_registry),
            metrics_listener,
            ready: Arc::new(AtomicBool::new(false)),
            control_tx,
            control_rx,
            cluster,
        })
    }

    /// Whether the cluster's directory answers (tests).
    #[cfg(test)]
    pub(crate) fn cluster_up(&self) -> Option<Arc<AtomicBool>> {
        self.cluster.as_ref().map(|c| c.up_flag())
    }

    /// This node's id in its cluster, if it is a cluster node.
    pub fn node_id(&self) -> Option<&str> {
        self.cluster.as_deref().map(Cluster::node_id)
    }

    /// The address of the metrics listener, if there is one (useful with port 0).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// A handle to drain or reload the relay once it runs.
    pub fn handle(&self) -> RelayHandle {
        RelayHandle {
            control: self.control_tx.clone(),
        }
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.endpoint.local_addr().unwrap_or(self.config.listen)
    }

    /// The SHA-256 of the relay's leaf certificate: what clients pin.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Subscribes to the relay's events. Subscribe before [`Relay::run`].
    pub fn events(&self) -> broadcast::Receiver<RelayEvent> {
        self.events.subscribe()
    }

    /// Serves until `shutdown` is cancelled, then closes every connection with a reason.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), RelayError> {
        let Relay {
            endpoint,
            fingerprint,
            config,
            events,
            metrics,
            metrics_registry,
            metrics_listener,
            ready,
            control_tx: _,
            mut control_rx,
            cluster,
        } = self;
        tracing::info!(addr = %endpoint.local_addr().unwrap_or(config.listen), %fingerprint, "relay listening");
        let http_cancel = shutdown.child_token();
        let _http = metrics_listener.map(|listener| {
            let addr = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            tracing::info!(%addr, "metrics listening");
            AbortOnDrop(tokio::spawn(crate::http::serve(
                listener,
                HttpState {
                    registry: metrics_registry,
                    ready: ready.clone(),
                    cluster_up: cluster.as_ref().map(|c| c.up_flag()),
                },
                http_cancel.clone(),
            )))
        });
        ready.store(true, Ordering::Relaxed);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        #[cfg(feature = "tap")]
        let tap = TapSource::new(config.tap.clone());
        #[cfg(not(feature = "tap"))]
        let tap = TapSource;
        let mut registry =
            Registry::new(config.limits.clone(), config.max_code_ttl, Instant::now());
        if cluster.is_some() {
            // Session ids name codes in the directory: start each run of a node somewhere new.
            let mut bytes = [0u8; 5];
            if getrandom::getrandom(&mut bytes).is_ok() {
                let mut wide = [0u8; 8];
                wide[3..].copy_from_slice(&bytes);
                registry.set_next_session(u64::from_be_bytes(wide));
            }
        }
        let cluster_cancel = shutdown.child_token();
        let heartbeat = cluster.clone().map(|c| {
            let cmd_tx = cmd_tx.clone();
            AbortOnDrop(tokio::spawn(
                c.run(
                    move |msg| cmd_tx.send(Cmd::Cluster(msg)).is_ok(),
                    cluster_cancel.clone(),
                )
                .instrument(tracing::info_span!("cluster")),
            ))
        });
        let mut actor = Actor {
            registry,
            conns: HashMap::new(),
            sessions: HashMap::new(),
            waiting_since: HashMap::new(),
            events,
            cmd_tx,
            cmd_rx,
            tasks: JoinSet::new(),
            conn_cancel: shutdown.child_token(),
            next_conn: 1,
            shutting_down: false,
            draining: false,
            tap,
            buffers: BufferBudget::new(
                config.limits.buffer_budget,
                metrics.buffer_share_bytes.clone(),
            ),
            metrics,
            handshaking: Gauge::default(),
            cluster: cluster.clone(),
        };
        let mut drain_deadline: Option<tokio::time::Instant> = None;
        loop {
            let next_deadline = actor.registry.next_deadline();
            let expiry = async move {
                match next_deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let drain_end = async move {
                match drain_deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                () = drain_end => {
                    tracing::info!("drain deadline passed; closing what is left");
                    break;
                }
                Some(control) = control_rx.recv() => match control {
                    Control::Drain => {
                        if drain_deadline.is_none() {
                            tracing::info!(timeout_secs = config.drain_timeout.as_secs(), "draining: no new codes; live sessions may finish");
                            ready.store(false, Ordering::Relaxed);
                            actor.draining = true;
                            actor.metrics.draining.set(1);
                            drain_deadline = Some(tokio::time::Instant::now() + config.drain_timeout);
                        }
                    }
                    Control::Reload { limits, max_code_ttl, server_config, fingerprint } => {
                        if let Some(c) = &cluster {
                            c.set_limits(limits.clone());
                            if let Some(fingerprint) = fingerprint {
                                c.set_fingerprint(fingerprint);
                            }
                        }
                        actor.buffers.set_total(limits.buffer_budget);
                        actor.registry.set_limits(limits, max_code_ttl);
                        if let Some(server_config) = server_config {
                            endpoint.set_server_config(Some(*server_config));
                        }
                        tracing::info!("reloaded limits and certificate");
                    }
                },
                Some(cmd) = actor.cmd_rx.recv() => actor.handle(cmd),
                () = expiry => actor.expire(),
                incoming = endpoint.accept() => match incoming {
                    Some(incoming) => actor.accept(incoming),
                    None => break,
                },
                Some(joined) = actor.tasks.join_next() => {
                    if let Err(e) = joined && e.is_panic() {
                        tracing::error!("a connection task panicked: {e}");
                    }
                }
            }
            let counts = actor.registry.counts();
            actor.metrics.observe(counts, actor.handshaking.get());
            if actor.draining && counts.waiting == 0 && counts.paired == 0 {
                tracing::info!("drained: no session or waiting host left");
                break;
            }
        }
        tracing::info!("relay shutting down");
        ready.store(false, Ordering::Relaxed);
        if let Some(mut heartbeat) = heartbeat {
            // The heartbeat task takes this node out of the directory as it stops.
            cluster_cancel.cancel();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, &mut heartbeat.0).await;
        }
        actor.shutting_down = true;
        actor.conn_cancel.cancel();
        endpoint.close(CLOSE_SHUTDOWN.into(), b"relay shutting down");
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while actor.tasks.join_next().await.is_some() {}
        })
        .await;
        actor.tasks.abort_all();
        // Aborted tasks still report `Gone` as they are dropped.
        while actor.tasks.join_next().await.is_some() {}
        while let Ok(cmd) = actor.cmd_rx.try_recv() {
            actor.handle(cmd);
        }
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, endpoint.wait_idle()).await;
        http_cancel.cancel();
        Ok(())
    }
}

/// Aborts the task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Byte counters of one session, shared with the forwarders.
#[derive(Debug, Default)]
struct SessionStats {
    host_to_viewer: Arc<AtomicU64>,
    viewer_to_host: Arc<AtomicU64>,
}

impl SessionStats {
    fn count(&self, metrics: &Metrics, direction: Direction) -> ByteCount {
        let session = match direction {
            Direction::HostToViewer => self.host_to_viewer.clone(),
            Direction::ViewerToHost => self.viewer_to_host.clone(),
        };
        ByteCount {
            session,
            total: metrics.forwarded(direction),
            queue: metrics.forward_queue_seconds.clone(),
        }
    }
}

#[derive(Debug)]
struct SessionInfo {
    host: ConnId,
    started: Instant,
    waited: Duration,
    stats: SessionStats,
}

/// The actor's handle on a connection task.
struct ConnHandle {
    tx: mpsc::UnboundedSender<ToConn>,
    connection: Option<quinn::Connection>,
}

/// Connection task to actor.
enum Cmd {
    Request {
        conn: ConnId,
        request: RelayRequest,
        connection: quinn::Connection,
        reply: oneshot::Sender<Reply>,
    },
    Gone {
        conn: ConnId,
        reason: String,
    },
    /// Cluster node: the checks of a join before the directory is asked.
    CheckJoin {
        conn: ConnId,
        version: u16,
        connection: quinn::Connection,
        reply: oneshot::Sender<Result<(), RelayNotice>>,
    },
    /// Cluster node: the directory gave this code's `session` to `conn`; pair it.
    JoinClaimed {
        conn: ConnId,
        routing: tandem_proto::code::RoutingCode,
        session: u64,
        connection: quinn::Connection,
        reply: oneshot::Sender<Reply>,
    },
    /// Cluster node: another node holds the code `conn` was given; draw another.
    Redraw {
        conn: ConnId,
        reply: oneshot::Sender<Reply>,
    },
    /// Cluster node: the code `conn` was given could not be written to the directory.
    Withdraw {
        conn: ConnId,
    },
    /// From the cluster's heartbeat task.
    Cluster(ToActor),
}

/// Actor's answer to a request.
enum Reply {
    /// Send this notice (Refused).
    Notice(RelayNotice),
    /// A code for the host (a cluster node writes it to the directory first).
    Registered {
        routing: tandem_proto::code::RoutingCode,
        ttl_secs: u32,
        session: u64,
    },
    /// Paired: send `Paired` and forward streams to `peer`.
    Paired(Pairing),
    /// Nothing to say yet: a `Resume` waits for the other side (its `Paired` comes later).
    Waiting,
}

/// What a connection task needs to forward streams to its peer.
struct Pairing {
    peer: quinn::Connection,
    /// Bytes this side sends to the peer.
    up: ByteCount,
    /// Bytes the peer sends to this side.
    down: ByteCount,
    /// This side's view of the pairing's forwarding tap (zero-sized without the `tap` feature).
    tap: PairingTap,
}

/// Actor to connection task. The channel is unbounded but each connection gets at most a few of
/// these per request it makes, and it makes one request at a time.
enum ToConn {
    Paired(Pairing),
    PeerLeft,
    Expired,
    /// Close the connection with this application code and reason.
    Close {
        code: u32,
        reason: &'static str,
        why: Closed,
    },
}

struct Actor {
    registry: Registry,
    conns: HashMap<ConnId, ConnHandle>,
    sessions: HashMap<u64, SessionInfo>,
    /// When each waiting host registered, by session id.
    waiting_since: HashMap<u64, Instant>,
    events: broadcast::Sender<RelayEvent>,
    /// Unbounded, yet bounded in practice: each connection task has at most one request in flight
    /// and sends one `Gone`.
    cmd_tx: mpsc::UnboundedSender<Cmd>,
    cmd_rx: mpsc::UnboundedReceiver<Cmd>,
    tasks: JoinSet<()>,
    conn_cancel: CancellationToken,
    next_conn: u64,
    /// Set once shutdown began: sessions then end because of the relay, not a side leaving.
    shutting_down: bool,
    /// Set while draining: no new codes.
    draining: bool,
    metrics: Metrics,
    /// Connections whose QUIC handshake is in progress (counted by their tasks).
    handshaking: Gauge,
    /// The forwarding tap, if a test installed one (zero-sized without the `tap` feature).
    tap: TapSource,
    cluster: Option<Arc<Cluster>>,
    /// Bytes in flight, shared between paired connections.
    buffers: BufferBudget,
}

impl Actor {
    fn emit(&self, event: RelayEvent) {
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    fn accept(&mut self, incoming: quinn::Incoming) {
        let remote = incoming.remote_address();
        // Make the client prove its address before it counts against that address's limits.
        let incoming = if incoming.remote_address_validated() || !incoming.may_retry() {
            incoming
        } else {
            match incoming.retry() {
                Ok(()) => return,
                Err(e) => e.into_incoming(),
            }
        };
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        if let Err(refusal) = self.registry.connect(id, remote.ip(), Instant::now()) {
            tracing::debug!(conn_id = id.0, reason = ?refusal.reason, "connection refused");
            let limit = refusal.hit.map_or(Limit::Connections, Limit::from);
            self.metrics
                .connections_refused
                .get_or_create(&LimitLabel { limit })
                .inc();
            incoming.refuse();
            return;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        self.conns.insert(
            id,
            ConnHandle {
                tx,
                connection: None,
            },
        );
        let task = ConnTask {
            id,
            ip: remote.ip(),
            cluster: self.cluster.clone(),
            cmd_tx: self.cmd_tx.clone(),
            rx,
            cancel: self.conn_cancel.child_token(),
            metrics: self.metrics.clone(),
            handshaking: self.handshaking.clone(),
            buffers: self.buffers.clone(),
        };
        let span = tracing::info_span!("conn", conn_id = id.0, %remote);
        self.tasks.spawn(task.run(incoming).instrument(span));
    }

    fn handle(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Request {
                conn,
                request,
                connection,
                reply,
            } => {
                if let Some(handle) = self.conns.get_mut(&conn) {
                    handle.connection = Some(connection.clone());
                }
                let answer = self.request(conn, request, connection);
                // The task may have gone meanwhile; its `Gone` follows.
                let _ = reply.send(answer);
            }
            Cmd::Gone { conn, reason } => self.gone(conn, &reason),
            Cmd::CheckJoin {
                conn,
                version,
                connection,
                reply,
            } => {
                if let Some(handle) = self.conns.get_mut(&conn) {
                    handle.connection = Some(connection);
                }
                let checked = self
                    .registry
                    .check_join(conn, version, Instant::now())
                    .map_err(|refusal| {
                        tracing::debug!(conn_id = conn.0, reason = ?refusal.reason, "join refused");
                        self.metrics.refused(true, refusal.reason, refusal.hit);
                        refusal.to_notice()
                    });
                let _ = reply.send(checked);
            }
            Cmd::JoinClaimed {
                conn,
                routing,
                session,
                connection,
                reply,
            } => {
                if let Some(handle) = self.conns.get_mut(&conn) {
                    handle.connection = Some(connection.clone());
                }
                let now = Instant::now();
                let answer = match self.registry.join_claimed(conn, &routing, session, now) {
                    Ok(pairing) => self.pair(conn, connection, pairing.host, pairing.session, now),
                    Err(refusal) => {
                        tracing::debug!(conn_id = conn.0, reason = ?refusal.reason, "join refused");
                        self.metrics.refused(true, refusal.reason, refusal.hit);
                        Reply::Notice(refusal.to_notice())
                    }
                };
                let _ = reply.send(answer);
            }
            Cmd::Redraw { conn, reply } => {
                let answer = match self.registry.redraw(conn, Instant::now()) {
                    Ok(registered) => Reply::Registered {
                        routing: registered.routing,
                        ttl_secs: registered.ttl_secs,
                        session: registered.session,
                    },
                    Err(refusal) => {
                        self.metrics.refused(false, refusal.reason, refusal.hit);
                        Reply::Notice(refusal.to_notice())
                    }
                };
                let _ = reply.send(answer);
            }
            Cmd::Withdraw { conn } => {
                if let Some((routing, session)) = self.registry.withdraw(conn, Instant::now()) {
                    self.waiting_since.remove(&session);
                    self.release(routing, session);
                    tracing::info!(target: AUDIT, session_id = session, "code withdrawn: relay cluster unavailable");
                }
            }
            Cmd::Cluster(ToActor::Snapshot(reply)) => {
                let _ = reply.send(cluster::Snapshot {
                    codes: self.registry.waiting_codes(),
                    sessions: self.sessions.len(),
                });
            }
            Cmd::Cluster(ToActor::Others(others)) => self.registry.set_cluster_waiting(others),
            Cmd::Cluster(ToActor::Lost(sessions)) => {
                let now = Instant::now();
                for session in sessions {
                    let Some(host) = self.registry.waiting_host(session) else {
                        continue;
                    };
                    self.registry.withdraw(host, now);
                    self.waiting_since.remove(&session);
                    self.metrics.codes_expired.inc();
                    tracing::info!(target: AUDIT, session_id = session, "code lost in the relay cluster");
                    if let Some(handle) = self.conns.get(&host) {
                        let _ = handle.tx.send(ToConn::Expired);
                    }
                    self.emit(RelayEvent::Expired {
                        session_id: session,
                    });
                }
            }
        }
    }

    /// Withdraws a code from the cluster's directory, on a cluster node.
    fn release(&self, routing: tandem_proto::code::RoutingCode, session: u64) {
        if let Some(cluster) = &self.cluster {
            cluster.release(routing, session);
        }
    }

    fn request(
        &mut self,
        conn: ConnId,
        request: RelayRequest,
        connection: quinn::Connection,
    ) -> Reply {
        let now = Instant::now();
        match request {
            RelayRequest::Register { .. } if self.draining => {
                let refusal = RelayNotice::Refused {
                    reason: RefusalReason::Full,
                    detail:
                        "the relay is restarting and hands out no new codes; try again in a minute"
                            .to_owned(),
                };
                self.metrics.refused(false, RefusalReason::Full, None);
                Reply::Notice(refusal)
            }
            RelayRequest::Register { version, ttl_secs } => {
                match self.registry.register(conn, version, ttl_secs, now) {
                    Ok(registered) => {
                        self.metrics.registers.inc();
                        if let Some(ended) = registered.left {
                            self.end_session(
                                ended,
                                EndReason::NewCode,
                                "host asked for a new code",
                            );
                        }
                        if let Some((routing, session)) = registered.replaced {
                            self.release(routing, session);
                        }
                        tracing::info!(
                            target: AUDIT,
                            conn_id = conn.0,
                            session_id = registered.session,
                            ttl_secs = registered.ttl_secs,
                            "host registered"
                        );
                        self.waiting_since.insert(registered.session, now);
                        self.emit(RelayEvent::Registered {
                            session_id: registered.session,
                        });
                        Reply::Registered {
                            routing: registered.routing,
                            ttl_secs: registered.ttl_secs,
                            session: registered.session,
                        }
                    }
                    Err(refusal) => {
                        tracing::debug!(conn_id = conn.0, reason = ?refusal.reason, "register refused");
                        self.metrics.refused(false, refusal.reason, refusal.hit);
                        Reply::Notice(refusal.to_notice())
                    }
                }
            }
            RelayRequest::Join { version, routing } => {
                match self.registry.join(conn, version, &routing, now) {
                    Ok(pairing) => self.pair(conn, connection, pairing.host, pairing.session, now),
                    Err(refusal) => {
                        tracing::debug!(conn_id = conn.0, reason = ?refusal.reason, "join refused");
                        self.metrics.refused(true, refusal.reason, refusal.hit);
                        Reply::Notice(refusal.to_notice())
                    }
                }
            }
            RelayRequest::Resume {
                version,
                role,
                resume_id,
            } => match self.registry.resume(conn, version, role, resume_id, now) {
                Ok(None) => {
                    tracing::debug!(conn_id = conn.0, ?role, "waiting to resume a session");
                    Reply::Waiting
                }
                Ok(Some(resumed)) => {
                    self.metrics.resumes.inc();
                    tracing::info!(
                        target: AUDIT,
                        session_id = resumed.session,
                        "session resumed after a lost link"
                    );
                    let requester_is_host = resumed.host == conn;
                    let other = if requester_is_host {
                        resumed.viewer
                    } else {
                        resumed.host
                    };
                    self.pair_sides(
                        conn,
                        connection,
                        other,
                        requester_is_host,
                        resumed.session,
                        now,
                    )
                }
                Err(refusal) => {
                    tracing::debug!(conn_id = conn.0, reason = ?refusal.reason, "resume refused");
                    self.metrics
                        .refused(role == ResumeRole::Viewer, refusal.reason, refusal.hit);
                    Reply::Notice(refusal.to_notice())
                }
            },
            // Cluster nodes handle these in the connection task; a lone relay issued no ticket.
            RelayRequest::JoinRedirected { .. } => {
                self.metrics.refused(true, RefusalReason::BadRequest, None);
                Reply::Notice(RelayNotice::Refused {
                    reason: RefusalReason::BadRequest,
                    detail: "this relay is not part of a cluster and redirected nobody".to_owned(),
                })
            }
        }
    }

    fn pair(
        &mut self,
        viewer: ConnId,
        viewer_connection: quinn::Connection,
        host: ConnId,
        session: u64,
        now: Instant,
    ) -> Reply {
        self.pair_sides(viewer, viewer_connection, host, false, session, now)
    }

    /// Pairs the requesting connection with `other`, which waits (a host under its code, or
    /// either side of a resumption): `other` is told through its task, the requester by the reply.
    fn pair_sides(
        &mut self,
        requester: ConnId,
        requester_connection: quinn::Connection,
        other: ConnId,
        requester_is_host: bool,
        session: u64,
        now: Instant,
    ) -> Reply {
        let (host, viewer) = if requester_is_host {
            (requester, other)
        } else {
            (other, requester)
        };
        let stats = SessionStats::default();
        let waited = self
            .waiting_since
            .remove(&session)
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
        let other_connection = self.conns.get(&other).and_then(|h| h.connection.clone());
        let Some(other_connection) = other_connection else {
            // Cannot happen: the waiting side got there through a request carrying its
            // connection. Treat as that side being gone.
            self.registry.disconnect(other, now);
            return Reply::Notice(RelayNotice::Refused {
                reason: RefusalReason::UnknownCode,
                detail: "no session is waiting under that code".to_owned(),
            });
        };
        let (host_tap, viewer_tap) = self.tap.pairing();
        let (requester_tap, other_tap) = if requester_is_host {
            (host_tap, viewer_tap)
        } else {
            (viewer_tap, host_tap)
        };
        let (requester_up, requester_down) = if requester_is_host {
            (Direction::HostToViewer, Direction::ViewerToHost)
        } else {
            (Direction::ViewerToHost, Direction::HostToViewer)
        };
        if let Some(handle) = self.conns.get(&other) {
            // If the other task is gone, its `Gone` is queued and will end this session at once.
            let _ = handle.tx.send(ToConn::Paired(Pairing {
                peer: requester_connection,
                up: stats.count(&self.metrics, requester_down),
                down: stats.count(&self.metrics, requester_up),
                tap: other_tap,
            }));
        }
        let reply = Reply::Paired(Pairing {
            peer: other_connection,
            up: stats.count(&self.metrics, requester_up),
            down: stats.count(&self.metrics, requester_down),
            tap: requester_tap,
        });
        self.sessions.insert(
            session,
            SessionInfo {
                host,
                started: now,
                waited,
                stats,
            },
        );
        tracing::info!(
            target: AUDIT,
            session_id = session,
            host_conn = host.0,
            viewer_conn = viewer.0,
            waited_ms = waited.as_millis() as u64,
            "session started"
        );
        self.metrics.sessions_started.inc();
        self.metrics.wait_seconds.observe(waited.as_secs_f64());
        self.emit(RelayEvent::SessionStarted {
            session_id: session,
        });
        reply
    }

    fn gone(&mut self, conn: ConnId, reason: &str) {
        self.conns.remove(&conn);
        match self.registry.disconnect(conn, Instant::now()) {
            Departure::Quiet => {}
            Departure::StoppedWaiting { session, routing } => {
                self.waiting_since.remove(&session);
                self.release(routing, session);
                tracing::info!(
                    conn_id = conn.0,
                    session_id = session,
                    reason,
                    "waiting host left"
                );
            }
            Departure::LeftSession(ended) => {
                let (why, who) = if self
                    .sessions
                    .get(&ended.session)
                    .is_some_and(|i| i.host == conn)
                {
                    (EndReason::HostLeft, "host")
                } else {
                    (EndReason::ViewerLeft, "viewer")
                };
                self.end_session(ended, why, &format!("{who} left: {reason}"));
            }
        }
    }

    /// A paired session is over: tell the survivor and record the end.
    fn end_session(&mut self, ended: Ended, why: EndReason, reason: &str) {
        if let Some(survivor) = self.conns.get(&ended.survivor) {
            let _ = survivor.tx.send(ToConn::PeerLeft);
        }
        let Some(info) = self.sessions.remove(&ended.session) else {
            return;
        };
        let (why, reason) = if self.shutting_down {
            (EndReason::Shutdown, "relay shutting down".to_owned())
        } else {
            (why, reason.to_owned())
        };
        self.metrics
            .sessions_ended
            .get_or_create(&EndLabel { reason: why })
            .inc();
        tracing::info!(
            target: AUDIT,
            session_id = ended.session,
            %reason,
            duration_ms = info.started.elapsed().as_millis() as u64,
            waited_ms = info.waited.as_millis() as u64,
            bytes_host_to_viewer = info.stats.host_to_viewer.load(Ordering::Relaxed),
            bytes_viewer_to_host = info.stats.viewer_to_host.load(Ordering::Relaxed),
            "session ended"
        );
        self.emit(RelayEvent::SessionEnded {
            session_id: ended.session,
            reason,
        });
    }

    fn expire(&mut self) {
        let now = Instant::now();
        for conn in self.registry.idle_out(now) {
            tracing::debug!(conn_id = conn.0, "closing an idle connection");
            if let Some(handle) = self.conns.get(&conn) {
                let _ = handle.tx.send(ToConn::Close {
                    code: CLOSE_IDLE,
                    reason: "no request in time",
                    why: Closed::Idle,
                });
            }
        }
        for expiry in self.registry.expire(now) {
            self.waiting_since.remove(&expiry.session);
            self.release(expiry.routing, expiry.session);
            tracing::info!(target: AUDIT, session_id = expiry.session, "code expired unused");
            self.metrics.codes_expired.inc();
            if let Some(handle) = self.conns.get(&expiry.host) {
                let _ = handle.tx.send(ToConn::Expired);
            }
            self.emit(RelayEvent::Expired {
                session_id: expiry.session,
            });
        }
    }
}

/// Tells the actor the connection is gone, however the task ends (return, abort, panic).
struct GoneGuard {
    conn: ConnId,
    cmd_tx: mpsc::UnboundedSender<Cmd>,
    reason: String,
}

impl Drop for GoneGuard {
    fn drop(&mut self) {
        let _ = self.cmd_tx.send(Cmd::Gone {
            conn: self.conn,
            reason: std::mem::take(&mut self.reason),
        });
    }
}

/// Why a connection task stopped.
enum End {
    Shutdown,
    Lost(String),
    Protocol(String),
    /// The relay closes the connection with this code and reason.
    Closed {
        code: u32,
        reason: &'static str,
        why: Closed,
    },
}

struct ConnTask {
    id: ConnId,
    ip: IpAddr,
    cluster: Option<Arc<Cluster>>,
    cmd_tx: mpsc::UnboundedSender<Cmd>,
    rx: mpsc::UnboundedReceiver<ToConn>,
    cancel: CancellationToken,
    metrics: Metrics,
    handshaking: Gauge,
    buffers: BufferBudget,
}

/// Counts a connection as handshaking until dropped.
struct Handshaking(Gauge);

impl Handshaking {
    fn start(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for Handshaking {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The forwarding state of one connection: the pairing, if any, and the tasks copying its streams.
struct Forwarding {
    pairing: Option<Pairing>,
    /// The connection's share of the buffer budget while paired.
    seat: Option<BudgetSeat>,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl Forwarding {
    /// Starts forwarding for a pairing: the connection's windows grow to its share of the budget
    /// before the client hears `Paired` and opens its streams.
    fn start(&mut self, pairing: Pairing, connection: &quinn::Connection, buffers: &BufferBudget) {
        self.pairing = Some(pairing);
        if self.seat.is_none() {
            self.seat = Some(buffers.seat(connection));
        }
    }

    /// Ends the current pairing's forwarders (they reset what is still open).
    async fn stop(&mut self, parent: &CancellationToken) {
        self.pairing = None;
        // The windows stay as granted (QUIC cannot shrink credit already given); the share goes
        // back to the budget for the others' new credit.
        self.seat = None;
        stop_forwarding(&mut self.cancel, &mut self.tasks, parent).await;
    }
}

impl ConnTask {
    async fn run(mut self, incoming: quinn::Incoming) {
        let mut guard = GoneGuard {
            conn: self.id,
            cmd_tx: self.cmd_tx.clone(),
            reason: "connection task ended".to_owned(),
        };
        let started = Instant::now();
        let handshaking = Handshaking::start(&self.handshaking);
        let connecting = match incoming.accept() {
            Ok(connecting) => connecting,
            Err(e) => {
                tracing::debug!("handshake failed: {e}");
                guard.reason = format!("handshake failed: {e}");
                return;
            }
        };
        let connection = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => return,
            // The only message before a request is the idle deadline: drop the handshake.
            Some(_) = self.rx.recv() => {
                tracing::debug!("handshake not finished in time");
                guard.reason = "handshake not finished in time".to_owned();
                return;
            }
            connection = connecting => match connection {
                Ok(connection) => connection,
                Err(e) => {
                    tracing::debug!("handshake failed: {e}");
                    guard.reason = format!("handshake failed: {e}");
                    return;
                }
            },
        };
        drop(handshaking);
        self.metrics
            .handshake_seconds
            .observe(started.elapsed().as_secs_f64());
        tracing::debug!("connected");
        let end = self.serve(&connection).await;
        guard.reason = match end {
            End::Shutdown => {
                self.metrics.closed(Closed::Shutdown);
                connection.close(CLOSE_SHUTDOWN.into(), b"relay shutting down");
                "relay shutting down".to_owned()
            }
            End::Lost(reason) => reason,
            End::Protocol(detail) => {
                self.metrics.closed(Closed::Protocol);
                tracing::debug!(%detail, "closing a connection that broke the protocol");
                let reason = format!("malformed relay request: {detail}");
                connection.close(CLOSE_PROTOCOL.into(), reason.as_bytes());
                reason
            }
            End::Closed { code, reason, why } => {
                self.metrics.closed(why);
                connection.close(code.into(), reason.as_bytes());
                reason.to_owned()
            }
        };
        tracing::debug!(reason = %guard.reason, "connection ended");
    }

    async fn serve(&mut self, connection: &quinn::Connection) -> End {
        let first = loop {
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return End::Shutdown,
                Some(msg) = self.rx.recv() => {
                    if let ToConn::Close { code, reason, why } = msg {
                        return End::Closed { code, reason, why };
                    }
                }
                first = connection.accept_bi() => break first,
                // Nothing to forward to yet: refuse rather than buffer.
                uni = connection.accept_uni() => match uni {
                    Ok(mut recv) => {
                        let _ = recv.stop(STREAM_PEER_GONE.into());
                    }
                    Err(e) => return End::Lost(describe(&e)),
                },
            }
        };
        let (mut send, mut recv) = match first {
            Ok(streams) => streams,
            Err(e) => return End::Lost(describe(&e)),
        };
        let mut reader = FrameReader::new(MAX_RELAY_FRAME);
        let mut relay_stream_open = true;
        let mut refusals = 0u32;
        let mut fwd = Forwarding {
            pairing: None,
            seat: None,
            cancel: self.cancel.child_token(),
            tasks: JoinSet::new(),
        };
        let end = loop {
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => break End::Shutdown,
                e = connection.closed() => break End::Lost(describe(&e)),
                Some(msg) = self.rx.recv() => {
                    let notice = match msg {
                        ToConn::Paired(p) => {
                            fwd.start(p, connection, &self.buffers);
                            RelayNotice::Paired
                        }
                        ToConn::PeerLeft => {
                            fwd.stop(&self.cancel).await;
                            RelayNotice::PeerLeft
                        }
                        ToConn::Expired => RelayNotice::Expired,
                        ToConn::Close { code, reason, why } => break End::Closed { code, reason, why },
                    };
                    if let Err(e) = send_notice(&mut send, &notice).await {
                        break End::Lost(e);
                    }
                }
                // Chunks quinn already holds: no read buffer per connection.
                read = recv.read_chunk(MAX_RELAY_FRAME, true), if relay_stream_open => match read {
                    Ok(Some(chunk)) => {
                        reader.push(&chunk.bytes);
                        if let Some(end) = self
                            .handle_frames(&mut reader, &mut send, connection, &mut fwd, &mut refusals)
                            .await
                        {
                            break end;
                        }
                    }
                    // The client has nothing more to ask; it stays connected.
                    Ok(None) => relay_stream_open = false,
                    Err(e) => break End::Lost(format!("relay stream: {e}")),
                },
                accepted = connection.accept_bi() => match (accepted, &fwd.pairing) {
                    (Ok(streams), Some(p)) => {
                        tracing::trace!("forwarding a bidirectional stream");
                        fwd.tasks.spawn(forward::forward_bi(
                            streams,
                            p.peer.clone(),
                            p.up.clone(),
                            p.down.clone(),
                            p.tap.stream(),
                            fwd.cancel.clone(),
                        ));
                    }
                    // Not paired (yet, or any more): nobody to forward to, and nothing is buffered
                    // for later.
                    (Ok((mut send, mut recv)), None) => {
                        let _ = send.reset(STREAM_PEER_GONE.into());
                        let _ = recv.stop(STREAM_PEER_GONE.into());
                    }
                    (Err(e), _) => break End::Lost(describe(&e)),
                },
                accepted = connection.accept_uni() => match (accepted, &fwd.pairing) {
                    (Ok(stream), Some(p)) => {
                        tracing::trace!("forwarding a unidirectional stream");
                        fwd.tasks.spawn(forward::forward_uni(
                            stream,
                            p.peer.clone(),
                            p.up.clone(),
                            p.tap.stream().0,
                            fwd.cancel.clone(),
                        ));
                    }
                    (Ok(mut recv), None) => {
                        let _ = recv.stop(STREAM_PEER_GONE.into());
                    }
                    (Err(e), _) => break End::Lost(describe(&e)),
                },
                Some(_) = fwd.tasks.join_next() => {}
            }
        };
        fwd.stop(&self.cancel).await;
        end
    }

    /// Handles every complete request buffered. Returns why to stop, if the client broke the
    /// protocol, was refused too often, or the relay is going away.
    async fn handle_frames(
        &mut self,
        reader: &mut FrameReader,
        send: &mut quinn::SendStream,
        connection: &quinn::Connection,
        fwd: &mut Forwarding,
        refusals: &mut u32,
    ) -> Option<End> {
        loop {
            let request = match reader.next_frame() {
                Ok(None) => return None,
                Ok(Some(frame)) => match RelayRequest::from_bytes(frame) {
                    Ok(request) => request,
                    Err(e) => return Some(End::Protocol(e.to_string())),
                },
                Err(e) => return Some(End::Protocol(e.to_string())),
            };
            let is_register = matches!(request, RelayRequest::Register { .. });
            let outcome = match self.cluster.clone() {
                None => self
                    .ask_actor(request, connection)
                    .await
                    .map(|reply| (reply, true)),
                Some(cluster) => self.cluster_request(&cluster, request, connection).await,
            };
            let Some((reply, registered_here)) = outcome else {
                return Some(End::Shutdown);
            };
            // A paired host that registered again has left its session, even if its new code was
            // then refused by the cluster.
            if is_register && registered_here && fwd.pairing.is_some() {
                fwd.stop(&self.cancel).await;
            }
            let notice = match reply {
                Reply::Notice(notice) => notice,
                Reply::Registered {
                    routing, ttl_secs, ..
                } => RelayNotice::Registered { routing, ttl_secs },
                Reply::Paired(p) => {
                    fwd.start(p, connection, &self.buffers);
                    RelayNotice::Paired
                }
                Reply::Waiting => continue,
            };
            if let RelayNotice::Refused { .. } = &notice {
                *refusals += 1;
            }
            if let Err(e) = send_notice(send, &notice).await {
                return Some(End::Lost(e));
            }
            if *refusals > MAX_REFUSALS_PER_CONNECTION {
                tracing::debug!(
                    refusals = *refusals,
                    "closing a connection refused too often"
                );
                return Some(End::Closed {
                    code: CLOSE_PROTOCOL,
                    reason: "too many refused requests",
                    why: Closed::TooManyRefusals,
                });
            }
        }
    }
}

impl ConnTask {
    /// Sends the actor a command carrying a reply channel and waits for the reply; `None` when the
    /// relay is going away.
    /// Hands a relay request to the actor (the registry decides); `None` while shutting down.
    async fn ask_actor(
        &self,
        request: RelayRequest,
        connection: &quinn::Connection,
    ) -> Option<Reply> {
        let connection = connection.clone();
        self.ask(|reply| Cmd::Request {
            conn: self.id,
            request,
            connection,
            reply,
        })
        .await
    }

    async fn ask<T>(&self, cmd: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Option<T> {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.cmd_tx.send(cmd(reply_tx)).ok()?;
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => None,
            reply = reply_rx => reply.ok(),
        }
    }

    /// A refusal this task decided (the actor counts its own).
    fn refuse(&self, join: bool, refusal: &Refusal) -> Reply {
        tracing::debug!(reason = ?refusal.reason, join, "refused by the cluster step");
        self.metrics.refused(join, refusal.reason, refusal.hit);
        Reply::Notice(refusal.to_notice())
    }

    /// A request on a cluster node: the directory steps around the actor's (see `cluster`). Each
    /// directory call has a timeout; only this connection waits for it. Returns the reply and
    /// whether the actor registered a code for this connection (it then left any pairing).
    async fn cluster_request(
        &self,
        cluster: &Cluster,
        request: RelayRequest,
        connection: &quinn::Connection,
    ) -> Option<(Reply, bool)> {
        let join = !matches!(request, RelayRequest::Register { .. });
        if !cluster.is_up() {
            return Some((self.refuse(join, &Refusal::unavailable()), false));
        }
        match request {
            RelayRequest::Register { .. } => {
                self.cluster_register(cluster, request, connection).await
            }
            RelayRequest::Join { version, routing } => self
                .cluster_join(cluster, version, routing, None, connection)
                .await
                .map(|r| (r, false)),
            RelayRequest::JoinRedirected {
                version,
                routing,
                ticket,
            } => self
                .cluster_join(cluster, version, routing, Some(ticket), connection)
                .await
                .map(|r| (r, false)),
            // Both sides resume on the node their session ran on: no directory step.
            RelayRequest::Resume { .. } => self
                .ask_actor(request, connection)
                .await
                .map(|r| (r, false)),
        }
    }

    async fn cluster_register(
        &self,
        cluster: &Cluster,
        request: RelayRequest,
        connection: &quinn::Connection,
    ) -> Option<(Reply, bool)> {
        match cluster.check_rate(Attempt::Register, self.ip).await {
            Err(Unavailable) => return Some((self.refuse(false, &Refusal::unavailable()), false)),
            Ok(Err(refusal)) => return Some((self.refuse(false, &refusal), false)),
            Ok(Ok(())) => {}
        }
        let connection = connection.clone();
        let mut reply = self
            .ask(|reply| Cmd::Request {
                conn: self.id,
                request,
                connection,
                reply,
            })
            .await?;
        for _ in 0..cluster::CLAIM_ATTEMPTS {
            let Reply::Registered {
                routing,
                ttl_secs,
                session,
            } = &reply
            else {
                // Refused by the relay itself (limits, draining): nothing was registered.
                return Some((reply, false));
            };
            match cluster.claim(routing, *session, *ttl_secs).await {
                Ok(true) => return Some((reply, true)),
                // Another node holds that code: draw another for the same session.
                Ok(false) => {
                    reply = self
                        .ask(|reply| Cmd::Redraw {
                            conn: self.id,
                            reply,
                        })
                        .await?;
                }
                Err(Unavailable) => {
                    let _ = self.cmd_tx.send(Cmd::Withdraw { conn: self.id });
                    return Some((self.refuse(false, &Refusal::unavailable()), true));
                }
            }
        }
        let _ = self.cmd_tx.send(Cmd::Withdraw { conn: self.id });
        Some((
            Reply::Notice(RelayNotice::Refused {
                reason: RefusalReason::Full,
                detail: "the relay cluster found no free code; try again".to_owned(),
            }),
            true,
        ))
    }

    async fn cluster_join(
        &self,
        cluster: &Cluster,
        version: u16,
        routing: tandem_proto::code::RoutingCode,
        ticket: Option<[u8; tandem_proto::relay::TICKET_LEN]>,
        connection: &quinn::Connection,
    ) -> Option<Reply> {
        // Version, this connection's state and the relay's own limits first: a refused join
        // never reaches the directory, and never burns a code.
        let checked = {
            let connection = connection.clone();
            self.ask(|reply| Cmd::CheckJoin {
                conn: self.id,
                version,
                connection,
                reply,
            })
            .await?
        };
        if let Err(notice) = checked {
            return Some(Reply::Notice(notice));
        }
        let unavailable = || self.refuse(true, &Refusal::unavailable());
        let unknown = || self.refuse(true, &Refusal::unknown_code());
        let session = match ticket {
            // Redirected here by another node, which counted the attempt and took the code.
            Some(ticket) => match cluster.take_ticket(&routing, &ticket).await {
                Err(Unavailable) => return Some(unavailable()),
                Ok(None) => return Some(unknown()),
                Ok(Some(session)) => session,
            },
            None => {
                match cluster.check_rate(Attempt::Join, self.ip).await {
                    Err(Unavailable) => return Some(unavailable()),
                    Ok(Err(refusal)) => return Some(self.refuse(true, &refusal)),
                    Ok(Ok(())) => {}
                }
                match cluster.take(&routing).await {
                    Err(Unavailable) => return Some(unavailable()),
                    Ok(None) => return Some(unknown()),
                    Ok(Some(owner)) if cluster.is_me(&owner) => owner.session,
                    Ok(Some(owner)) => {
                        return Some(match cluster.redirect(&routing, &owner).await {
                            Err(Unavailable) => unavailable(),
                            // Its node is gone, and its host with it.
                            Ok(None) => unknown(),
                            Ok(Some(redirect)) => {
                                tracing::debug!(node = %owner.node, "redirecting a viewer to its host's node");
                                Reply::Notice(redirect)
                            }
                        });
                    }
                }
            }
        };
        let connection = connection.clone();
        self.ask(|reply| Cmd::JoinClaimed {
            conn: self.id,
            routing,
            session,
            connection,
            reply,
        })
        .await
    }
}

/// Ends the current pairing's forwarders (they reset what is still open) and readies a fresh token.
async fn stop_forwarding(
    forward_cancel: &mut CancellationToken,
    forwarders: &mut JoinSet<()>,
    parent: &CancellationToken,
) {
    forward_cancel.cancel();
    // Forwarders react to the token without awaiting anything; the timeout is a backstop.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while forwarders.join_next().await.is_some() {}
    })
    .await;
    forwarders.abort_all();
    *forward_cancel = parent.child_token();
}

async fn send_notice(send: &mut quinn::SendStream, notice: &RelayNotice) -> Result<(), String> {
    let mut frame = Vec::with_capacity(4 + notice.encoded_len());
    write_frame(&notice.to_vec(), &mut frame);
    send.write_all(&frame)
        .await
        .map_err(|e| format!("relay stream: {e}"))
}

fn describe(e: &quinn::ConnectionError) -> String {
    match e {
        quinn::ConnectionError::ApplicationClosed(close) => {
            let reason = String::from_utf8_lossy(&close.reason);
            if reason.is_empty() {
                format!("closed by the client (code {})", close.error_code)
            } else {
                // The reason is the client's own text; keep it short in logs.
                let reason: String = reason.chars().take(100).collect();
                format!("closed by the client (code {}): {reason}", close.error_code)
            }
        }
        quinn::ConnectionError::TimedOut => "timed out".to_owned(),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_with_an_event_tag() {
        let text = toml::to_string(&RelayEvent::SessionEnded {
            session_id: 7,
            reason: "viewer left".to_owned(),
        })
        .expect("serializes");
        assert!(text.contains("event = \"session_ended\""), "{text}");
        assert!(text.contains("session_id = 7"), "{text}");
    }
}
