//! A relay node in a cluster: several `tandem relay` processes behind one name share one directory
//! of waiting codes in Redis, so a host may register on any node and a viewer may join on any node.
//!
//! What the directory holds (keys under `tandem:`):
//! - `node:{id}` = "1 ADDR FINGERPRINT WAITING SESSIONS", with the heartbeat TTL, and the node's id in
//!   the sorted set `nodes` (scored by when it lapses): who is live, where clients reach it, which
//!   certificate it serves, its load.
//! - `code:{routing}` = "{node id}/{session}": a waiting code and the node its host waits on, claimed
//!   with `SET NX PX` (so two nodes never hand out the same code) and living the shorter of the
//!   code's remaining lifetime and the heartbeat TTL, renewed by each heartbeat: a dead node's codes
//!   vanish within the TTL.
//! - `ticket:{routing}` = "{node id}/{session}/{ticket}": a viewer redirected to the host's node.
//! - `rl:{register|join}:{source hash|all}`: fixed-window rate counters shared by every node.
//!
//! A join on the host's node takes the code (`GETDEL`) and pairs locally. A join on another node
//! takes the code, stores a random ticket and answers `Redirect { addr, fingerprint, ticket }`
//! naming the host's node as that node registered itself; the viewer connects there pinning that
//! fingerprint and joins with the ticket, which the host's node takes back once. Either way the code
//! admits one attempt, and host and viewer end on the same node, so both bind the same `relay_id`
//! into the end-to-end handshake. ARCHITECTURE.md weighs this against forwarding between nodes.
//!
//! The relay's registry stays the single source of truth for its own hosts and sessions and stays
//! sans-IO: the connection tasks call the directory (each call under a timeout) around the actor's
//! requests, and a heartbeat task keeps this node's entry and codes alive. Sessions never touch the
//! directory once paired, so they carry on while Redis is down; new codes and joins are refused
//! ("relay cluster unavailable") until the heartbeat reconnects.

pub(crate) mod directory;
mod redis_dir;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tandem_proto::code::RoutingCode;
use tandem_proto::relay::{RelayNotice, TICKET_LEN, is_node_addr};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::limits::{Rate, RateLimits, Source};
use crate::metrics::{ClusterMetrics, ClusterOp};
use crate::registry::{LimitHit, Refusal};
use crate::tls::Fingerprint;
pub use directory::DirectoryError;
use directory::{CodeState, DirFuture, Directory, HeldCode, WindowCounter};

/// How long the directory keeps a node and its codes without a heartbeat, unless configured.
pub const DEFAULT_HEARTBEAT_TTL: Duration = Duration::from_secs(10);
/// How long one directory request may take before the node counts the cluster as unavailable.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a redirected viewer has to reach the host's node.
const TICKET_TTL: Duration = Duration::from_secs(30);
/// Codes drawn in a row that other nodes already hold before a registration gives up.
pub(crate) const CLAIM_ATTEMPTS: usize = 8;
/// Code withdrawals queued for the heartbeat task; past it they are dropped (the keys lapse
/// within the TTL anyway).
const RELEASE_QUEUE: usize = 4096;
/// The longest wait between two attempts to reach a directory that is down.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The longest node id.
const MAX_NODE_ID: usize = 64;
/// What a refusal says while the directory cannot be reached.
pub(crate) const DETAIL_UNAVAILABLE: &str = "relay cluster unavailable: this relay cannot reach its cluster's directory; try again in a minute";

pub(crate) const NODES_KEY: &str = "tandem:nodes";

pub(crate) fn node_key(id: &str) -> String {
    format!("tandem:node:{id}")
}

pub(crate) fn code_key(routing: &RoutingCode) -> String {
    format!("tandem:code:{}", routing.as_str())
}

pub(crate) fn ticket_key(routing: &RoutingCode) -> String {
    format!("tandem:ticket:{}", routing.as_str())
}

/// How a relay joins a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The directory: `redis://HOST:PORT/DB` (`rediss://` is not built in).
    pub redis: String,
    /// This node's id, unique in the cluster: letters, digits, `.`, `_` and `-`, at most 64. Shown
    /// in metrics (`node_id` label) and logs. `None`: a random one at each start.
    pub node_id: Option<String>,
    /// Where clients reach this node (`host:port`), sent to viewers redirected here. `None`: the
    /// address the relay is bound to, which must then be a specific IP (not `0.0.0.0` or `[::]`).
    pub public_addr: Option<String>,
    /// How long the directory keeps this node and its waiting codes after its last heartbeat;
    /// heartbeats come every third of it. A dead node's codes vanish within it.
    pub heartbeat_ttl: Duration,
    /// The longest one directory request may take; past it the node counts the cluster as
    /// unavailable (new codes and joins refused) until the next heartbeat succeeds.
    pub request_timeout: Duration,
}

impl ClusterConfig {
    /// A node of the cluster whose directory is at `redis`, with the default TTL and timeout.
    pub fn new(redis: impl Into<String>) -> Self {
        Self {
            redis: redis.into(),
            node_id: None,
            public_addr: None,
            heartbeat_ttl: DEFAULT_HEARTBEAT_TTL,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Why a node cannot join its cluster.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClusterError {
    #[error(
        "the cluster node id {id:?} is not valid: use 1 to {MAX_NODE_ID} letters, digits, '.', '_' or '-'"
    )]
    BadNodeId { id: String },
    #[error(
        "the cluster public address {addr:?} is not host:port (a DNS name or an IP, and a port)"
    )]
    BadPublicAddr { addr: String },
    #[error(
        "set the cluster's public address (cluster.public_addr, --cluster-public-addr): the relay listens on {listen}, which clients cannot be sent to"
    )]
    NoPublicAddr { listen: SocketAddr },
    #[error("the heartbeat TTL must be at least 3 seconds (it is {ttl:?})")]
    BadTtl { ttl: Duration },
    #[error("the cluster directory: {0}")]
    Directory(#[from] DirectoryError),
}

/// The directory cannot be used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unavailable;

/// A code's entry: the node its host waits on, and the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub node: String,
    pub session: u64,
}

fn owner_value(node: &str, session: u64) -> String {
    format!("{node}/{session}")
}

fn parse_owner(text: &str) -> Option<Owner> {
    let (node, session) = text.split_once('/')?;
    valid_node_id(node).then_some(())?;
    Some(Owner {
        node: node.to_owned(),
        session: session.parse().ok()?,
    })
}

fn valid_node_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_NODE_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A node's published entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeEntry {
    pub addr: String,
    pub fingerprint: Fingerprint,
    pub waiting: u64,
    pub sessions: u64,
}

impl NodeEntry {
    fn encode(&self) -> String {
        format!(
            "1 {} {} {} {}",
            self.addr, self.fingerprint, self.waiting, self.sessions
        )
    }

    /// Parses an entry read from the directory; anything malformed is no node.
    fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split(' ');
        if parts.next()? != "1" {
            return None;
        }
        let addr = parts.next()?;
        let entry = Self {
            addr: is_node_addr(addr).then(|| addr.to_owned())?,
            fingerprint: parts.next()?.parse().ok()?,
            waiting: parts.next()?.parse().ok()?,
            sessions: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(entry)
    }
}

/// Which attempt a cluster-wide rate counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    Register,
    Join,
}

/// What the heartbeat task needs from the actor, and tells it.
#[derive(Debug)]
pub(crate) enum ToActor {
    /// The codes waiting here (routing, session, expiry) and the sessions paired here.
    Snapshot(oneshot::Sender<Snapshot>),
    /// These sessions' codes are held by another node (after the directory lost its data) or were
    /// taken without a viewer arriving: their hosts' codes are over.
    Lost(Vec<u64>),
    /// Codes waiting on the other nodes.
    Others(usize),
}

#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub codes: Vec<(RoutingCode, u64, Instant)>,
    pub sessions: usize,
}

/// This node's membership in its cluster, shared by the actor, the connection tasks and the
/// heartbeat task.
pub(crate) struct Cluster {
    dir: Arc<dyn Directory>,
    node_id: String,
    addr: String,
    fingerprint: Mutex<Fingerprint>,
    ttl: Duration,
    timeout: Duration,
    up: Arc<AtomicBool>,
    limits: Mutex<RateLimits>,
    pub metrics: ClusterMetrics,
    releases: mpsc::Sender<HeldCode>,
    releases_rx: Mutex<Option<mpsc::Receiver<HeldCode>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node_id", &self.node_id)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// The node id to use: the configured one, checked, or a random one.
pub(crate) fn node_id(config: &ClusterConfig) -> Result<String, ClusterError> {
    match &config.node_id {
        Some(id) if valid_node_id(id) => Ok(id.clone()),
        Some(id) => Err(ClusterError::BadNodeId { id: id.clone() }),
        None => {
            let mut bytes = [0u8; 6];
            getrandom::getrandom(&mut bytes).map_err(|e| DirectoryError::Backend {
                detail: format!("no randomness for a node id: {e}"),
            })?;
            Ok(format!("node-{}", hex(&bytes)))
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Cluster {
    /// Checks the configuration and opens the directory (the heartbeat connects it).
    pub fn open(
        config: &ClusterConfig,
        node_id: String,
        bound: SocketAddr,
        fingerprint: Fingerprint,
        limits: RateLimits,
        metrics: ClusterMetrics,
    ) -> Result<Self, ClusterError> {
        let dir = redis_dir::RedisDirectory::new(&config.redis, config.request_timeout)?;
        Self::with_directory(
            config,
            node_id,
            bound,
            fingerprint,
            limits,
            metrics,
            Arc::new(dir),
        )
    }

    pub(crate) fn with_directory(
        config: &ClusterConfig,
        node_id: String,
        bound: SocketAddr,
        fingerprint: Fingerprint,
        limits: RateLimits,
        metrics: ClusterMetrics,
        dir: Arc<dyn Directory>,
    ) -> Result<Self, ClusterError> {
        if config.heartbeat_ttl < Duration::from_secs(3) {
            return Err(ClusterError::BadTtl {
                ttl: config.heartbeat_ttl,
            });
        }
        let addr = match &config.public_addr {
            Some(addr) if is_node_addr(addr) => addr.clone(),
            Some(addr) => return Err(ClusterError::BadPublicAddr { addr: addr.clone() }),
            None if bound.ip().is_unspecified() => {
                return Err(ClusterError::NoPublicAddr { listen: bound });
            }
            None => bound.to_string(),
        };
        let (releases, releases_rx) = mpsc::channel(RELEASE_QUEUE);
        Ok(Self {
            dir,
            node_id,
            addr,
            fingerprint: Mutex::new(fingerprint),
            ttl: config.heartbeat_ttl,
            timeout: config.request_timeout,
            up: Arc::new(AtomicBool::new(false)),
            limits: Mutex::new(limits),
            metrics,
            releases,
            releases_rx: Mutex::new(Some(releases_rx)),
        })
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Whether the directory answered lately: readiness, and whether requests are tried at all.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn up_flag(&self) -> Arc<AtomicBool> {
        self.up.clone()
    }

    pub fn set_limits(&self, limits: RateLimits) {
        if let Ok(mut l) = self.limits.lock() {
            *l = limits;
        }
    }

    pub fn set_fingerprint(&self, fingerprint: Fingerprint) {
        if let Ok(mut f) = self.fingerprint.lock() {
            *f = fingerprint;
        }
    }

    fn fingerprint(&self) -> Fingerprint {
        self.fingerprint.lock().map_or(Fingerprint([0; 32]), |f| *f)
    }

    fn set_up(&self, up: bool, why: &dyn std::fmt::Display) {
        let was = self.up.swap(up, Ordering::Relaxed);
        self.metrics.up.set(i64::from(up));
        match (was, up) {
            (true, false) => tracing::warn!(error = %why, "relay cluster unavailable"),
            (false, true) => tracing::info!(node_id = %self.node_id, "relay cluster available"),
            _ => {}
        }
    }

    /// One directory request under the timeout, counted; a failure marks the cluster unavailable.
    async fn call<T>(&self, op: ClusterOp, fut: DirFuture<'_, T>) -> Result<T, Unavailable> {
        let started = Instant::now();
        self.metrics.request(op);
        let result = match tokio::time::timeout(self.timeout, fut).await {
            Ok(result) => result,
            Err(_) => Err(DirectoryError::Timeout {
                timeout: self.timeout,
            }),
        };
        self.metrics
            .request_seconds
            .observe(started.elapsed().as_secs_f64());
        result.map_err(|e| {
            self.metrics.error(op);
            tracing::debug!(?op, error = %e, "cluster directory request failed");
            self.set_up(false, &e);
            Unavailable
        })
    }

    /// Counts the attempt in the cluster-wide counters of its source and of the whole cluster.
    /// `Ok(Err(refusal))` when a counter is over its limit.
    pub async fn check_rate(
        &self,
        attempt: Attempt,
        ip: IpAddr,
    ) -> Result<Result<(), Refusal>, Unavailable> {
        let (per_source, global, kind) = {
            let limits = self
                .limits
                .lock()
                .map_or_else(|_| RateLimits::default(), |l| l.clone());
            match attempt {
                Attempt::Register => (limits.register_per_ip, limits.register_global, "register"),
                Attempt::Join => (limits.join_per_ip, limits.join_global, "join"),
            }
        };
        let mut counters = Vec::with_capacity(4);
        let mut caps = Vec::with_capacity(4);
        for (key, scale) in Source::from(ip).keys() {
            let rate = per_source.scaled(scale);
            // Sources are hashed: the directory holds no addresses.
            let digest = Sha256::digest(key.label().as_bytes());
            counters.push(WindowCounter {
                key: format!("tandem:rl:{kind}:{}", hex(digest.get(..12).unwrap_or(&[]))),
                window: window(rate),
            });
            caps.push((u64::from(rate.burst), LimitHit::ClusterPerSource));
        }
        counters.push(WindowCounter {
            key: format!("tandem:rl:{kind}:all"),
            window: window(global),
        });
        caps.push((u64::from(global.burst), LimitHit::ClusterGlobal));
        let op = match attempt {
            Attempt::Register => ClusterOp::RegisterRate,
            Attempt::Join => ClusterOp::JoinRate,
        };
        let counts = self.call(op, self.dir.count(&counters)).await?;
        for (count, (cap, hit)) in counts.iter().zip(&caps) {
            if count > cap {
                return Ok(Err(Refusal::cluster_limited(*hit)));
            }
        }
        Ok(Ok(()))
    }

    /// Writes this node's new code to the directory; `false` when another node holds it.
    pub async fn claim(
        &self,
        routing: &RoutingCode,
        session: u64,
        ttl_secs: u32,
    ) -> Result<bool, Unavailable> {
        let value = owner_value(&self.node_id, session);
        let ttl = Duration::from_secs(u64::from(ttl_secs)).min(self.ttl);
        self.call(ClusterOp::Claim, self.dir.claim(routing, &value, ttl))
            .await
    }

    /// Takes a code: the node and session it leads to, if any. One attempt per code, cluster-wide.
    pub async fn take(&self, routing: &RoutingCode) -> Result<Option<Owner>, Unavailable> {
        let value = self.call(ClusterOp::Take, self.dir.take(routing)).await?;
        Ok(value.as_deref().and_then(parse_owner))
    }

    pub fn is_me(&self, owner: &Owner) -> bool {
        owner.node == self.node_id
    }

    /// The redirect for a viewer whose code leads to `owner`'s node, with a fresh ticket stored
    /// for that node. `None` when that node is not a live member (its codes are gone with it).
    pub async fn redirect(
        &self,
        routing: &RoutingCode,
        owner: &Owner,
    ) -> Result<Option<RelayNotice>, Unavailable> {
        let mut ticket = [0u8; TICKET_LEN];
        if getrandom::getrandom(&mut ticket).is_err() {
            return Err(Unavailable);
        }
        let value = format!("{}/{}/{}", owner.node, owner.session, hex(&ticket));
        let entry = self
            .call(
                ClusterOp::Redirect,
                self.dir.redirect(&owner.node, routing, &value, TICKET_TTL),
            )
            .await?;
        let Some(entry) = entry.as_deref().and_then(NodeEntry::decode) else {
            return Ok(None);
        };
        self.metrics.redirects.inc();
        Ok(Some(RelayNotice::Redirect {
            addr: entry.addr,
            fingerprint: entry.fingerprint.0,
            ticket,
        }))
    }

    /// Takes the ticket a redirected viewer presents: the session it leads to, if the ticket was
    /// issued for this node and matches.
    pub async fn take_ticket(
        &self,
        routing: &RoutingCode,
        ticket: &[u8; TICKET_LEN],
    ) -> Result<Option<u64>, Unavailable> {
        let value = self
            .call(ClusterOp::Ticket, self.dir.take_ticket(routing))
            .await?;
        let Some(value) = value else {
            return Ok(None);
        };
        let mut parts = value.splitn(3, '/');
        let (Some(node), Some(session), Some(stored)) = (parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        // Not secret-dependent timing that matters (the ticket is single use and taken already),
        // but compare every byte anyway.
        let given = hex(ticket);
        let same = stored.len() == given.len()
            && stored
                .bytes()
                .zip(given.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if node != self.node_id || !same {
            return Ok(None);
        }
        Ok(session.parse().ok())
    }

    /// Withdraws a code of this node from the directory (its host left, expired or took another
    /// code). Done by the heartbeat task; if its queue is full, the key lapses within the TTL.
    pub fn release(&self, routing: RoutingCode, session: u64) {
        let _ = self.releases.try_send(HeldCode {
            routing,
            value: owner_value(&self.node_id, session),
            ttl: Duration::ZERO,
        });
    }

    fn entry(&self, snapshot: &Snapshot) -> String {
        NodeEntry {
            addr: self.addr.clone(),
            fingerprint: self.fingerprint(),
            waiting: snapshot.codes.len() as u64,
            sessions: snapshot.sessions as u64,
        }
        .encode()
    }

    fn held(&self, snapshot: &Snapshot, now: Instant) -> Vec<HeldCode> {
        snapshot
            .codes
            .iter()
            .filter(|(_, _, expires)| *expires > now)
            .map(|(routing, session, expires)| HeldCode {
                routing: routing.clone(),
                value: owner_value(&self.node_id, *session),
                ttl: expires.saturating_duration_since(now).min(self.ttl),
            })
            .collect()
    }

    /// The heartbeat task: connects (with backoff while the directory is down), publishes this node
    /// and keeps its codes alive every third of the TTL, withdraws released codes, and tells the
    /// actor what it learns. On `cancel`, takes this node out of the directory.
    pub async fn run(
        self: Arc<Self>,
        to_actor: impl Fn(ToActor) -> bool + Send + 'static,
        cancel: CancellationToken,
    ) {
        let Some(mut releases) = self.releases_rx.lock().ok().and_then(|mut r| r.take()) else {
            return;
        };
        let interval = self.ttl / 3;
        let mut backoff = Duration::from_millis(100);
        let mut missing_since: HashMap<u64, Instant> = HashMap::new();
        let mut next_beat = tokio::time::Instant::now();
        let mut last_held = Vec::new();
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                Some(first) = releases.recv() => {
                    let mut batch = vec![first];
                    while let Ok(more) = releases.try_recv() {
                        batch.push(more);
                    }
                    if self.is_up() {
                        let _ = self.call(ClusterOp::Release, self.dir.release(&batch)).await;
                    }
                    continue;
                }
                () = tokio::time::sleep_until(next_beat) => {}
            }
            if self
                .call(ClusterOp::Connect, self.dir.connect())
                .await
                .is_err()
            {
                next_beat = tokio::time::Instant::now() + backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            let (tx, rx) = oneshot::channel();
            if !to_actor(ToActor::Snapshot(tx)) {
                break;
            }
            let snapshot = tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                snapshot = rx => match snapshot {
                    Ok(snapshot) => snapshot,
                    Err(_) => break,
                },
            };
            let now = Instant::now();
            let held = self.held(&snapshot, now);
            let entry = self.entry(&snapshot);
            let beat = self
                .call(
                    ClusterOp::Heartbeat,
                    self.dir.heartbeat(&self.node_id, &entry, self.ttl, &held),
                )
                .await;
            let Ok(beat) = beat else {
                next_beat = tokio::time::Instant::now() + backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            };
            backoff = Duration::from_millis(100);
            self.set_up(true, &"heartbeat answered");
            if !beat.was_known {
                tracing::info!(node_id = %self.node_id, codes = held.len(), "joined the relay cluster's directory");
            }
            let mut lost = Vec::new();
            let mut still_missing = HashMap::new();
            for (code, state) in held.iter().zip(&beat.codes) {
                let Some(owner) = parse_owner(&code.value) else {
                    continue;
                };
                match state {
                    CodeState::Ours => {}
                    CodeState::Taken => lost.push(owner.session),
                    // Taken by a join on another node: the redirected viewer arrives within the
                    // ticket's lifetime, or never.
                    CodeState::Missing => {
                        let since = missing_since.get(&owner.session).copied().unwrap_or(now);
                        if now.saturating_duration_since(since) > TICKET_TTL + self.ttl {
                            lost.push(owner.session);
                        } else {
                            still_missing.insert(owner.session, since);
                        }
                    }
                }
            }
            missing_since = still_missing;
            if !lost.is_empty() && !to_actor(ToActor::Lost(lost)) {
                break;
            }
            let mut others = 0u64;
            let mut live = 0i64;
            for (id, text) in &beat.nodes {
                let Some(entry) = NodeEntry::decode(text) else {
                    continue;
                };
                live += 1;
                if *id != self.node_id {
                    others = others.saturating_add(entry.waiting);
                }
            }
            self.metrics.nodes.set(live);
            self.metrics
                .waiting
                .set(i64::try_from(others).unwrap_or(i64::MAX) + held.len() as i64);
            if !to_actor(ToActor::Others(
                usize::try_from(others).unwrap_or(usize::MAX),
            )) {
                break;
            }
            last_held = held;
            next_beat = tokio::time::Instant::now() + interval;
        }
        // Leaving: this node's entry and codes go now rather than at the TTL.
        if self.is_up() {
            let _ = self
                .call(ClusterOp::Leave, self.dir.leave(&self.node_id, &last_held))
                .await;
        }
        self.up.store(false, Ordering::Relaxed);
    }
}

/// The fixed window a rate's burst is counted over: the time its bucket takes to refill.
fn window(rate: Rate) -> Duration {
    rate.refill_time()
        .clamp(Duration::from_secs(1), Duration::from_secs(86_400))
}

#[cfg(test)]
mod tests;
