//! The relay's Prometheus metrics (`tandem_relay_*`), kept by the actor and the connection tasks and
//! served as text by [`crate::http`]. Never labelled by address, code or session: label sets are
//! small and fixed, so the metrics cost the same with 10 or 10 000 clients.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tandem_proto::relay::RefusalReason;

use crate::registry::{Counts, LimitHit};

/// A connection's state, as counted by `tandem_relay_connections`.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) enum ConnState {
    /// The QUIC handshake is in progress.
    Handshake,
    /// Connected, without a code or a peer.
    Idle,
    /// A host waiting with a code.
    Waiting,
    /// One side of a live session.
    Paired,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) enum EndReason {
    HostLeft,
    ViewerLeft,
    /// The host asked for a new code (its session failed, e.g. a wrong code).
    NewCode,
    /// The relay shut down or its drain deadline passed.
    Shutdown,
}

/// A refusal reason, as a label.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) enum Refused {
    UnknownCode,
    RateLimited,
    UnsupportedVersion,
    Full,
    BadRequest,
    Unavailable,
}

impl From<RefusalReason> for Refused {
    fn from(reason: RefusalReason) -> Self {
        match reason {
            RefusalReason::UnknownCode => Self::UnknownCode,
            RefusalReason::RateLimited => Self::RateLimited,
            RefusalReason::UnsupportedVersion => Self::UnsupportedVersion,
            RefusalReason::Full => Self::Full,
            RefusalReason::BadRequest => Self::BadRequest,
            RefusalReason::Unavailable => Self::Unavailable,
        }
    }
}

/// Which limit refused something.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) enum Limit {
    PerSource,
    FairShare,
    Global,
    Tracking,
    SourceCapacity,
    ClusterPerSource,
    ClusterGlobal,
    /// The relay-wide connection cap.
    Connections,
}

impl From<LimitHit> for Limit {
    fn from(hit: LimitHit) -> Self {
        match hit {
            LimitHit::PerSource => Self::PerSource,
            LimitHit::FairShare => Self::FairShare,
            LimitHit::Global => Self::Global,
            LimitHit::Tracking => Self::Tracking,
            LimitHit::SourceCapacity => Self::SourceCapacity,
            LimitHit::ClusterPerSource => Self::ClusterPerSource,
            LimitHit::ClusterGlobal => Self::ClusterGlobal,
        }
    }
}

/// Why the relay closed a connection itself.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) enum Closed {
    /// No code and no peer past the idle deadline.
    Idle,
    /// A malformed request.
    Protocol,
    /// Refused too many times.
    TooManyRefusals,
    /// Shutdown or the end of a drain.
    Shutdown,
}

/// Which way forwarded bytes went.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) enum Direction {
    HostToViewer,
    ViewerToHost,
}

/// Label values in snake_case, as Prometheus names go (the derive would use the variant names).
macro_rules! snake_case_labels {
    ($($ty:ident { $($variant:ident => $name:literal),* $(,)? })*) => {
        $(impl EncodeLabelValue for $ty {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                let name = match self {
                    $(Self::$variant => $name,)*
                };
                name.encode(encoder)
            }
        })*
    };
}

snake_case_labels! {
    ConnState { Handshake => "handshake", Idle => "idle", Waiting => "waiting", Paired => "paired" }
    EndReason { HostLeft => "host_left", ViewerLeft => "viewer_left", NewCode => "new_code", Shutdown => "shutdown" }
    Refused { UnknownCode => "unknown_code", RateLimited => "rate_limited", UnsupportedVersion => "unsupported_version", Full => "full", BadRequest => "bad_request", Unavailable => "cluster_unavailable" }
    Limit { PerSource => "per_source", FairShare => "fair_share", Global => "global", Tracking => "tracking", SourceCapacity => "source_capacity", ClusterPerSource => "cluster_per_source", ClusterGlobal => "cluster_global", Connections => "connections" }
    ClusterOp { Connect => "connect", Heartbeat => "heartbeat", RegisterRate => "register_rate", JoinRate => "join_rate", Claim => "claim", Release => "release", Take => "take", Redirect => "redirect", Ticket => "ticket", Leave => "leave" }
    Closed { Idle => "idle", Protocol => "protocol", TooManyRefusals => "too_many_refusals", Shutdown => "shutdown" }
    Direction { HostToViewer => "host_to_viewer", ViewerToHost => "viewer_to_host" }
}

/// A request to a cluster's directory, as counted by `tandem_relay_cluster_requests`.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) enum ClusterOp {
    Connect,
    Heartbeat,
    RegisterRate,
    JoinRate,
    Claim,
    Release,
    Take,
    Redirect,
    Ticket,
    Leave,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OpLabel {
    pub op: ClusterOp,
}

/// A cluster node's metrics (registered only on a cluster node).
#[derive(Debug, Clone)]
pub(crate) struct ClusterMetrics {
    pub up: Gauge,
    pub nodes: Gauge,
    pub waiting: Gauge,
    pub requests: Family<OpLabel, Counter>,
    pub errors: Family<OpLabel, Counter>,
    pub request_seconds: Histogram,
    pub redirects: Counter,
}

impl Default for ClusterMetrics {
    fn default() -> Self {
        Self {
            up: Gauge::default(),
            nodes: Gauge::default(),
            waiting: Gauge::default(),
            requests: Family::default(),
            errors: Family::default(),
            // 100 µs to ~3 s.
            request_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
            redirects: Counter::default(),
        }
    }
}

impl ClusterMetrics {
    pub fn request(&self, op: ClusterOp) {
        self.requests.get_or_create(&OpLabel { op }).inc();
    }

    pub fn error(&self, op: ClusterOp) {
        self.errors.get_or_create(&OpLabel { op }).inc();
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "cluster_up",
            "1 while the cluster's directory (Redis) answers: new codes and joins are served",
            self.up.clone(),
        );
        registry.register(
            "cluster_nodes",
            "Live nodes in the cluster's directory, this one included",
            self.nodes.clone(),
        );
        registry.register(
            "cluster_waiting_codes",
            "Codes waiting on every node of the cluster, at the last heartbeat",
            self.waiting.clone(),
        );
        registry.register(
            "cluster_requests",
            "Round trips to the cluster's directory, by operation",
            self.requests.clone(),
        );
        registry.register(
            "cluster_request_errors",
            "Failed or timed-out round trips to the cluster's directory, by operation",
            self.errors.clone(),
        );
        registry.register_with_unit(
            "cluster_request_duration",
            "Time of one round trip to the cluster's directory",
            Unit::Seconds,
            self.request_seconds.clone(),
        );
        registry.register(
            "redirects",
            "Viewers sent to the node their host waits on",
            self.redirects.clone(),
        );
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StateLabel {
    pub state: ConnState,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EndLabel {
    pub reason: EndReason,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RefusedLabel {
    pub reason: Refused,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct LimitLabel {
    pub limit: Limit,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ClosedLabel {
    pub reason: Closed,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DirectionLabel {
    pub direction: Direction,
}

/// Every metric the relay keeps. Cheap to clone (each metric is an `Arc`).
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    pub waiting_hosts: Gauge,
    pub active_sessions: Gauge,
    pub connections: Family<StateLabel, Gauge>,
    pub tracked_sources: Gauge,
    pub draining: Gauge,
    pub buffer_share_bytes: Gauge,
    pub sessions_started: Counter,
    /// Sessions paired again by `Resume` after a lost link (also counted in `sessions_started`).
    pub resumes: Counter,
    pub sessions_ended: Family<EndLabel, Counter>,
    pub registers: Counter,
    pub codes_expired: Counter,
    pub joins_refused: Family<RefusedLabel, Counter>,
    pub registers_refused: Family<RefusedLabel, Counter>,
    pub rate_limited: Family<LimitLabel, Counter>,
    pub connections_refused: Family<LimitLabel, Counter>,
    pub connections_closed: Family<ClosedLabel, Counter>,
    pub forwarded_bytes: Family<DirectionLabel, Counter<u64, AtomicU64>>,
    pub handshake_seconds: Histogram,
    pub forward_queue_seconds: Histogram,
    pub wait_seconds: Histogram,
    pub cluster: ClusterMetrics,
}

impl Metrics {
    /// New metrics, registered in a new registry. A cluster node passes its id: every metric then
    /// carries it as the `node_id` label, and the cluster's metrics are registered too.
    pub fn new(node_id: Option<&str>) -> (Self, Registry) {
        let metrics = Self {
            waiting_hosts: Gauge::default(),
            active_sessions: Gauge::default(),
            connections: Family::default(),
            tracked_sources: Gauge::default(),
            draining: Gauge::default(),
            buffer_share_bytes: Gauge::default(),
            sessions_started: Counter::default(),
            resumes: Counter::default(),
            sessions_ended: Family::default(),
            registers: Counter::default(),
            codes_expired: Counter::default(),
            joins_refused: Family::default(),
            registers_refused: Family::default(),
            rate_limited: Family::default(),
            connections_refused: Family::default(),
            connections_closed: Family::default(),
            forwarded_bytes: Family::default(),
            // 1 ms to ~16 s.
            handshake_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            // 10 µs to ~5 s.
            forward_queue_seconds: Histogram::new(exponential_buckets(0.000_01, 2.0, 20)),
            // 1 s to ~68 min.
            wait_seconds: Histogram::new(exponential_buckets(1.0, 2.0, 13)),
            cluster: ClusterMetrics::default(),
        };
        let mut registry = match node_id {
            Some(id) => Registry::with_prefix_and_labels(
                "tandem_relay",
                std::iter::once((
                    std::borrow::Cow::Borrowed("node_id"),
                    std::borrow::Cow::Owned(id.to_owned()),
                )),
            ),
            None => Registry::with_prefix("tandem_relay"),
        };
        if node_id.is_some() {
            metrics.cluster.register(&mut registry);
        }
        let m = &metrics;
        registry.register(
            "waiting_hosts",
            "Hosts waiting with a code",
            m.waiting_hosts.clone(),
        );
        registry.register(
            "active_sessions",
            "Paired sessions being forwarded",
            m.active_sessions.clone(),
        );
        registry.register(
            "connections",
            "Open client connections by state (handshake, idle, waiting, paired)",
            m.connections.clone(),
        );
        registry.register(
            "tracked_sources",
            "Addresses and IPv6 prefixes whose rate-limit state is held",
            m.tracked_sources.clone(),
        );
        registry.register(
            "draining",
            "1 while the relay drains (no new codes) before stopping",
            m.draining.clone(),
        );
        registry.register(
            "sessions_started",
            "Sessions paired",
            m.sessions_started.clone(),
        );
        registry.register(
            "sessions_resumed",
            "Sessions paired again after a lost link (also in sessions_started)",
            m.resumes.clone(),
        );
        registry.register(
            "sessions_ended",
            "Paired sessions ended, by reason",
            m.sessions_ended.clone(),
        );
        registry.register("registrations", "Codes handed out", m.registers.clone());
        registry.register(
            "codes_expired",
            "Codes that expired unused",
            m.codes_expired.clone(),
        );
        registry.register(
            "joins_refused",
            "Join requests refused, by reason",
            m.joins_refused.clone(),
        );
        registry.register(
            "registrations_refused",
            "Register requests refused, by reason",
            m.registers_refused.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate or capacity limit, by limit",
            m.rate_limited.clone(),
        );
        registry.register(
            "connections_refused",
            "New connections refused before the handshake, by limit",
            m.connections_refused.clone(),
        );
        registry.register(
            "connections_closed",
            "Connections the relay closed itself, by reason",
            m.connections_closed.clone(),
        );
        registry.register_with_unit(
            "forwarded",
            "Bytes forwarded between paired clients, by direction",
            Unit::Bytes,
            m.forwarded_bytes.clone(),
        );
        registry.register_with_unit(
            "buffer_share",
            "Receive window and send buffer each paired connection gets now: the buffer budget split over paired connections",
            Unit::Bytes,
            m.buffer_share_bytes.clone(),
        );
        registry.register_with_unit(
            "handshake_duration",
            "Time from a client's first packet to an established QUIC connection",
            Unit::Seconds,
            m.handshake_seconds.clone(),
        );
        registry.register_with_unit(
            "forward_queue",
            "Time a forwarded chunk spent in the relay, from arriving until the other side's connection took it (waits for its flow control included)",
            Unit::Seconds,
            m.forward_queue_seconds.clone(),
        );
        registry.register_with_unit(
            "code_wait",
            "Time a host waited with its code until a viewer joined",
            Unit::Seconds,
            m.wait_seconds.clone(),
        );
        (metrics, registry)
    }

    /// Sets the gauges that mirror the registry.
    pub fn observe(&self, counts: Counts, handshaking: i64) {
        self.waiting_hosts.set(counts.waiting as i64);
        self.active_sessions.set((counts.paired / 2) as i64);
        self.tracked_sources.set(counts.tracked_sources as i64);
        let set = |state, n: usize| {
            self.connections
                .get_or_create(&StateLabel { state })
                .set(n as i64);
        };
        set(
            ConnState::Idle,
            counts.idle.saturating_sub(handshaking as usize),
        );
        set(ConnState::Handshake, handshaking.max(0) as usize);
        set(ConnState::Waiting, counts.waiting);
        set(ConnState::Paired, counts.paired);
    }

    pub fn refused(&self, join: bool, reason: RefusalReason, hit: Option<LimitHit>) {
        let family = if join {
            &self.joins_refused
        } else {
            &self.registers_refused
        };
        family
            .get_or_create(&RefusedLabel {
                reason: reason.into(),
            })
            .inc();
        if let Some(hit) = hit {
            self.rate_limited
                .get_or_create(&LimitLabel { limit: hit.into() })
                .inc();
        }
    }

    pub fn closed(&self, reason: Closed) {
        self.connections_closed
            .get_or_create(&ClosedLabel { reason })
            .inc();
    }

    /// The counter of bytes forwarded one way.
    pub fn forwarded(&self, direction: Direction) -> Counter<u64, AtomicU64> {
        self.forwarded_bytes
            .get_or_create(&DirectionLabel { direction })
            .clone()
    }
}

/// The text exposition of `registry`.
pub(crate) fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}
