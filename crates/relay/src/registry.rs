//! The relay's sans-IO core: which connections exist, which hosts wait under which routing code,
//! who is paired with whom, code expiry, idle deadlines, rate limits and capacity. No sockets, no
//! clock of its own: every call takes `now`, so tests drive it through simulated time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use tandem_proto::PROTOCOL_VERSION;
use tandem_proto::code::{MAX_ROUTING_DIGITS, MIN_ROUTING_DIGITS, RoutingCode};
use tandem_proto::relay::{RESUME_ID_LEN, RefusalReason, RelayNotice, ResumeRole};

use crate::limits::{Bucket, IpKey, Rate, RateLimits, Source};

/// How often idle per-address rate-limit state is swept away.
const PRUNE_INTERVAL: Duration = Duration::from_secs(1);
/// Random draws per code length before trying a longer one. With occupancy kept under 0.1%, 32
/// collisions in a row never happen in practice.
const DRAWS_PER_LENGTH: usize = 32;
/// A length of routing code is used while fewer than 1 in this many of its codes are taken, so a
/// random guess names a waiting host with probability below 1/`SPARSENESS`.
const SPARSENESS: u64 = 1_000;

/// Fair share: a source may take from the lower half of a global bucket once per
/// `RESERVE_COST` minutes (per unit: its /56 and /48 get 4 and 16 times that).
const RESERVE_COST: u32 = 10;
/// The reserve bucket: `RESERVE_COST` tokens regained per `RESERVE_COST` minutes, one use costing
/// all of them.
const RESERVE: Rate = Rate::new(RESERVE_COST, 1);

/// A connection's id, allocated by the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ConnId(pub u64);

/// Which limit a rate-limit refusal hit, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum LimitHit {
    /// The source's own bucket (address, /56 or /48) is empty.
    PerSource,
    /// The relay is busy and the source has already used its share.
    FairShare,
    /// The relay-wide bucket is empty.
    Global,
    /// Too many addresses are being tracked.
    Tracking,
    /// Too many connections or waiting hosts from this source.
    SourceCapacity,
    /// A cluster's shared counter of the source (address, /56 or /48), over every node.
    ClusterPerSource,
    /// A cluster's shared counter of all attempts, over every node.
    ClusterGlobal,
}

/// Why a request was refused, ready to send as [`RelayNotice::Refused`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub reason: RefusalReason,
    pub detail: String,
    /// For rate-limit refusals: which limit.
    pub hit: Option<LimitHit>,
}

impl Refusal {
    fn new(reason: RefusalReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            hit: None,
        }
    }

    fn limited(hit: LimitHit, detail: impl Into<String>) -> Self {
        Self {
            reason: RefusalReason::RateLimited,
            detail: detail.into(),
            hit: Some(hit),
        }
    }

    /// Refused by a cluster-wide rate counter.
    pub fn cluster_limited(hit: LimitHit) -> Self {
        let detail = match hit {
            LimitHit::ClusterGlobal => DETAIL_GLOBAL_RATE,
            _ => DETAIL_IP_RATE,
        };
        Self::limited(hit, detail)
    }

    /// The cluster's directory cannot be reached.
    pub fn unavailable() -> Self {
        Self::new(
            RefusalReason::Unavailable,
            crate::cluster::DETAIL_UNAVAILABLE,
        )
    }

    /// An unknown, used or expired code.
    pub fn unknown_code() -> Self {
        Self::new(RefusalReason::UnknownCode, DETAIL_UNKNOWN)
    }

    pub fn to_notice(&self) -> RelayNotice {
        RelayNotice::Refused {
            reason: self.reason,
            detail: self.detail.clone(),
        }
    }
}

const DETAIL_IP_RATE: &str = "too many attempts from your address; wait a minute and try again";
const DETAIL_GLOBAL_RATE: &str =
    "the relay is handling too many requests right now; wait a minute and try again";
const DETAIL_FAIR_SHARE: &str = "the relay is busy and your address has used its share of attempts; wait a few minutes and try again";
const DETAIL_UNKNOWN: &str = "no session is waiting under that code";

/// A host got a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registered {
    pub routing: RoutingCode,
    pub ttl_secs: u32,
    /// The id of the session this code leads to, for logs and events (never the code itself).
    pub session: u64,
    /// The host was paired (e.g. with a viewer whose code was wrong) and left that session to wait
    /// with a new code: its former peer is told.
    pub left: Option<Ended>,
    /// The code this one replaces (the host was waiting already) and its session, for a cluster
    /// node to withdraw from the directory.
    pub replaced: Option<(RoutingCode, u64)>,
}

/// Both sides of a lost link asked to resume it with the same resume id: they are paired again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resumed {
    pub session: u64,
    pub host: ConnId,
    pub viewer: ConnId,
}

/// A viewer joined a waiting host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pairing {
    pub session: u64,
    pub host: ConnId,
}

/// A paired connection went away; its peer is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ended {
    pub session: u64,
    pub survivor: ConnId,
}

/// What a connection was doing when it went away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Departure {
    /// Nothing the relay needs to tell anyone.
    Quiet,
    /// A host stopped waiting; its code is forgotten.
    StoppedWaiting { session: u64, routing: RoutingCode },
    /// A paired side left.
    LeftSession(Ended),
}

/// A host's code expired unused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expiry {
    pub host: ConnId,
    pub session: u64,
    /// The code that expired (a cluster node withdraws it from the directory).
    pub routing: RoutingCode,
}

#[derive(Debug)]
enum ConnState {
    /// Neither waiting nor paired: allowed only until `deadline`.
    Idle { deadline: Instant },
    Waiting {
        routing: RoutingCode,
        session: u64,
        expires: Instant,
    },
    Paired {
        peer: ConnId,
        session: u64,
        /// Whether this side registered (the host) rather than joined.
        is_host: bool,
    },
}

#[derive(Debug)]
struct ConnEntry {
    source: Source,
    state: ConnState,
}

#[derive(Debug, Clone, Copy)]
struct Waiting {
    host: ConnId,
}

/// The rate-limit state of one unit (address or prefix); `scale` multiplies its rates.
#[derive(Debug, Clone, Copy)]
struct IpBuckets {
    scale: u32,
    register: Bucket,
    join: Bucket,
    /// Uses of the lower half of the global buckets (fair share), both attempts together.
    reserve: Bucket,
}

#[derive(Debug, Clone, Copy)]
enum Attempt {
    Register,
    Join,
}

/// Snapshot of the registry's sizes, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub connections: usize,
    pub idle: usize,
    pub waiting: usize,
    pub paired: usize,
    pub tracked_sources: usize,
}

/// The registry. One per relay, owned by the relay's actor.
#[derive(Debug)]
pub(crate) struct Registry {
    limits: RateLimits,
    max_ttl_secs: u32,
    conns: HashMap<ConnId, ConnEntry>,
    /// Connections per address and per IPv6 /56 and /48.
    conns_per_ip: HashMap<IpKey, u32>,
    /// Waiting hosts per address and per IPv6 /56 and /48.
    waiting_per_ip: HashMap<IpKey, u32>,
    codes: HashMap<RoutingCode, Waiting>,
    /// Idle connections waiting to resume a lost link, by resume id, until the other side sends
    /// the same id in the other role (or the connection's idle deadline passes).
    resuming: HashMap<[u8; RESUME_ID_LEN], (ConnId, ResumeRole)>,
    /// Waiting hosts by expiry time (then session id, unique).
    expiries: BTreeMap<(Instant, u64), ConnId>,
    /// Idle connections by deadline.
    idle_deadlines: BTreeSet<(Instant, ConnId)>,
    paired: usize,
    /// Codes waiting on the other nodes of a cluster, counted for the code length (0 alone).
    cluster_waiting: usize,
    ip_buckets: HashMap<IpKey, IpBuckets>,
    register_global: Bucket,
    join_global: Bucket,
    next_session: u64,
    last_prune: Instant,
}

impl Registry {
    pub fn new(limits: RateLimits, max_ttl: Duration, now: Instant) -> Self {
        let max_ttl_secs = u32::try_from(max_ttl.as_secs()).unwrap_or(u32::MAX).max(1);
        Self {
            register_global: Bucket::full(limits.register_global, now),
            join_global: Bucket::full(limits.join_global, now),
            limits,
            max_ttl_secs,
            conns: HashMap::new(),
            conns_per_ip: HashMap::new(),
            waiting_per_ip: HashMap::new(),
            codes: HashMap::new(),
            resuming: HashMap::new(),
            expiries: BTreeMap::new(),
            idle_deadlines: BTreeSet::new(),
            paired: 0,
            cluster_waiting: 0,
            ip_buckets: HashMap::new(),
            next_session: 1,
            last_prune: now,
        }
    }

    /// New limits (e.g. a reloaded config). Existing connections, codes and sessions stay; the new
    /// limits apply to what comes next. Buckets keep their tokens, capped by the new bursts.
    pub fn set_limits(&mut self, limits: RateLimits, max_ttl: Duration) {
        self.max_ttl_secs = u32::try_from(max_ttl.as_secs()).unwrap_or(u32::MAX).max(1);
        self.limits = limits;
    }

    /// A new connection from `ip` wants in. Refused past the total or per-source limit.
    pub fn connect(&mut self, conn: ConnId, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        let source = Source::from(ip);
        if self.conns.len() >= self.limits.max_connections {
            return Err(Refusal::new(
                RefusalReason::Full,
                "the relay is at capacity; try again later",
            ));
        }
        for (key, scale) in source.keys() {
            let count = self.conns_per_ip.get(&key).copied().unwrap_or(0);
            if count >= self.limits.max_connections_per_ip.saturating_mul(scale) {
                return Err(Refusal::limited(
                    LimitHit::SourceCapacity,
                    "too many connections from your address; close some and try again",
                ));
            }
        }
        for (key, _) in source.keys() {
            *self.conns_per_ip.entry(key).or_default() += 1;
        }
        let deadline = now + self.limits.idle_timeout;
        self.idle_deadlines.insert((deadline, conn));
        self.conns.insert(
            conn,
            ConnEntry {
                source,
                state: ConnState::Idle { deadline },
            },
        );
        Ok(())
    }

    /// A connection is gone: forget its code, or end its session and free its peer.
    pub fn disconnect(&mut self, conn: ConnId, now: Instant) -> Departure {
        let Some(entry) = self.conns.remove(&conn) else {
            return Departure::Quiet;
        };
        self.resuming.retain(|_, (waiting, _)| *waiting != conn);
        for (key, _) in entry.source.keys() {
            decrement(&mut self.conns_per_ip, key);
        }
        match entry.state {
            ConnState::Idle { deadline } => {
                self.idle_deadlines.remove(&(deadline, conn));
                Departure::Quiet
            }
            ConnState::Waiting {
                routing,
                session,
                expires,
            } => {
                self.forget_code(&routing, conn);
                self.expiries.remove(&(expires, session));
                for (key, _) in entry.source.keys() {
                    decrement(&mut self.waiting_per_ip, key);
                }
                Departure::StoppedWaiting { session, routing }
            }
            ConnState::Paired { peer, session, .. } => {
                self.paired = self.paired.saturating_sub(2);
                self.make_idle(peer, now);
                Departure::LeftSession(Ended {
                    session,
                    survivor: peer,
                })
            }
        }
    }

    /// A host asks for a code. A host already waiting gets a new code and its old one is forgotten;
    /// a paired host leaves its session (its peer is told) and waits under a new code: that is how a
    /// host whose code was burned by a wrong viewer gets a fresh one without reconnecting.
    pub fn register(
        &mut self,
        conn: ConnId,
        version: u16,
        ttl_secs: u32,
        now: Instant,
    ) -> Result<Registered, Refusal> {
        check_version(version)?;
        let Some(entry) = self.conns.get(&conn) else {
            return Err(Refusal::new(
                RefusalReason::BadRequest,
                "unknown connection",
            ));
        };
        let source = entry.source;
        let replacing = match entry.state {
            ConnState::Paired { is_host: false, .. } => {
                return Err(Refusal::new(
                    RefusalReason::BadRequest,
                    "this connection joined a session and cannot register",
                ));
            }
            ConnState::Waiting { .. } => true,
            ConnState::Idle { .. } | ConnState::Paired { is_host: true, .. } => false,
        };
        self.check_rate(Attempt::Register, source, now)?;
        if !replacing {
            if self.codes.len() >= self.limits.max_waiting_hosts {
                return Err(Refusal::new(
                    RefusalReason::Full,
                    "the relay has too many sessions waiting; try again in a few minutes",
                ));
            }
            for (key, scale) in source.keys() {
                let count = self.waiting_per_ip.get(&key).copied().unwrap_or(0);
                if count >= self.limits.max_waiting_per_ip.saturating_mul(scale) {
                    return Err(Refusal::limited(
                        LimitHit::SourceCapacity,
                        "too many sessions are waiting from your address; use or cancel one first",
                    ));
                }
            }
        }
        // Replacing: the old code goes first, so it cannot be drawn again at once.
        let replaced = self.stop_waiting(conn, now);
        let routing = self.allocate()?;
        let left = self.leave_pairing(conn, now);
        let ttl_secs = match ttl_secs {
            0 => self.max_ttl_secs,
            requested => requested.min(self.max_ttl_secs),
        };
        let expires = now + Duration::from_secs(u64::from(ttl_secs));
        let session = self.next_session;
        self.next_session += 1;
        self.codes.insert(routing.clone(), Waiting { host: conn });
        self.expiries.insert((expires, session), conn);
        for (key, _) in source.keys() {
            *self.waiting_per_ip.entry(key).or_default() += 1;
        }
        self.set_state(
            conn,
            ConnState::Waiting {
                routing: routing.clone(),
                session,
                expires,
            },
        );
        Ok(Registered {
            routing,
            ttl_secs,
            session,
            left,
            replaced,
        })
    }

    /// A viewer asks for the host under `routing`. The code is forgotten at this first attempt,
    /// whatever comes of the end-to-end handshake.
    pub fn join(
        &mut self,
        conn: ConnId,
        version: u16,
        routing: &RoutingCode,
        now: Instant,
    ) -> Result<Pairing, Refusal> {
        self.check_join(conn, version, now)?;
        self.pair_waiting(conn, routing, None, now)
    }

    /// The checks of [`Registry::join`] before the code is looked up: version, the connection's
    /// state and the rate limits (a token is taken). A cluster node makes them before it takes the
    /// code from the cluster's directory, then calls [`Registry::join_claimed`].
    pub fn check_join(&mut self, conn: ConnId, version: u16, now: Instant) -> Result<(), Refusal> {
        check_version(version)?;
        let source = self.joinable(conn)?;
        self.check_rate(Attempt::Join, source, now)
    }

    /// Pairs `conn` with the host waiting here under `routing` in `session`, once a cluster node
    /// took the code from the directory (the checks of [`Registry::check_join`] were made). A host
    /// that is gone, or waits under that code in another session, is an unknown code.
    pub fn join_claimed(
        &mut self,
        conn: ConnId,
        routing: &RoutingCode,
        session: u64,
        now: Instant,
    ) -> Result<Pairing, Refusal> {
        self.joinable(conn)?;
        self.pair_waiting(conn, routing, Some(session), now)
    }

    /// The connection's source, if it may join (neither waiting nor paired).
    fn joinable(&self, conn: ConnId) -> Result<Source, Refusal> {
        let Some(entry) = self.conns.get(&conn) else {
            return Err(Refusal::new(
                RefusalReason::BadRequest,
                "unknown connection",
            ));
        };
        match entry.state {
            ConnState::Idle { .. } => Ok(entry.source),
            ConnState::Waiting { .. } => Err(Refusal::new(
                RefusalReason::BadRequest,
                "a host waiting for a viewer cannot join another session",
            )),
            ConnState::Paired { .. } => Err(Refusal::new(
                RefusalReason::BadRequest,
                "this connection is already paired",
            )),
        }
    }

    fn pair_waiting(
        &mut self,
        conn: ConnId,
        routing: &RoutingCode,
        expected_session: Option<u64>,
        now: Instant,
    ) -> Result<Pairing, Refusal> {
        if let Some(expected) = expected_session {
            let host = self.codes.get(routing).map(|w| w.host);
            let session = host
                .and_then(|h| self.conns.get(&h))
                .and_then(|e| match e.state {
                    ConnState::Waiting { session, .. } => Some(session),
                    _ => None,
                });
            if session != Some(expected) {
                return Err(Refusal::new(RefusalReason::UnknownCode, DETAIL_UNKNOWN));
            }
        }
        let Some(waiting) = self.codes.remove(routing) else {
            return Err(Refusal::new(RefusalReason::UnknownCode, DETAIL_UNKNOWN));
        };
        let host = waiting.host;
        let Some(host_entry) = self.conns.get(&host) else {
            return Err(Refusal::new(RefusalReason::UnknownCode, DETAIL_UNKNOWN));
        };
        let ConnState::Waiting {
            session, expires, ..
        } = host_entry.state
        else {
            return Err(Refusal::new(RefusalReason::UnknownCode, DETAIL_UNKNOWN));
        };
        if expires <= now {
            // Expired but not yet swept: as good as gone. The code is forgotten already; the host
            // hears of the expiry from the next `expire`.
            return Err(Refusal::new(RefusalReason::UnknownCode, DETAIL_UNKNOWN));
        }
        self.expiries.remove(&(expires, session));
        for (key, _) in host_entry.source.keys() {
            decrement(&mut self.waiting_per_ip, key);
        }
        self.set_state(
            host,
            ConnState::Paired {
                peer: conn,
                session,
                is_host: true,
            },
        );
        self.set_state(
            conn,
            ConnState::Paired {
                peer: host,
                session,
                is_host: false,
            },
        );
        self.paired += 2;
        Ok(Pairing { session, host })
    }

    /// One side of a lost link asks to be paired again with the other side, which presents the same
    /// `resume_id` in the other role. Waits (`Ok(None)`: the connection stays idle, bounded by its
    /// idle deadline) until the other side comes, then pairs both (`Ok(Some)`) and forgets the id:
    /// it pairs once. A second connection with the same id and role replaces the first (a client
    /// that retried on a new connection). Rate-limited like `Register` (host) and `Join` (viewer).
    /// The relay learns nothing here that lets it join: the resume secret never reaches it.
    pub fn resume(
        &mut self,
        conn: ConnId,
        version: u16,
        role: ResumeRole,
        resume_id: [u8; RESUME_ID_LEN],
        now: Instant,
    ) -> Result<Option<Resumed>, Refusal> {
        check_version(version)?;
        let source = self.joinable(conn)?;
        if self.resuming.values().any(|(c, _)| *c == conn) {
            return Err(Refusal::new(
                RefusalReason::BadRequest,
                "this connection is already waiting to resume",
            ));
        }
        let attempt = match role {
            ResumeRole::Host => Attempt::Register,
            ResumeRole::Viewer => Attempt::Join,
        };
        match self.resuming.get(&resume_id).copied() {
            Some((other, other_role)) if other_role != role => {
                self.check_rate(attempt, source, now)?;
                self.resuming.remove(&resume_id);
                let (host, viewer) = match role {
                    ResumeRole::Host => (conn, other),
                    ResumeRole::Viewer => (other, conn),
                };
                let session = self.next_session;
                self.next_session += 1;
                self.set_state(
                    host,
                    ConnState::Paired {
                        peer: viewer,
                        session,
                        is_host: true,
                    },
                );
                self.set_state(
                    viewer,
                    ConnState::Paired {
                        peer: host,
                        session,
                        is_host: false,
                    },
                );
                self.paired += 2;
                Ok(Some(Resumed {
                    session,
                    host,
                    viewer,
                }))
            }
            replaced => {
                if replaced.is_none() && self.resuming.len() >= self.limits.max_waiting_hosts {
                    return Err(Refusal::new(
                        RefusalReason::Full,
                        "the relay has too many sessions waiting; try again in a few minutes",
                    ));
                }
                self.check_rate(attempt, source, now)?;
                self.resuming.insert(resume_id, (conn, role));
                Ok(None)
            }
        }
    }

    /// A cluster node's waiting host gets another code because its code was taken on another node
    /// meanwhile (the directory refused it): same session, same expiry, no rate limit spent.
    pub fn redraw(&mut self, conn: ConnId, now: Instant) -> Result<Registered, Refusal> {
        let Some(ConnState::Waiting {
            routing,
            session,
            expires,
        }) = self.conns.get(&conn).map(|e| &e.state)
        else {
            return Err(Refusal::new(
                RefusalReason::BadRequest,
                "no code to draw again",
            ));
        };
        let (old, session, expires) = (routing.clone(), *session, *expires);
        let routing = self.allocate()?;
        self.forget_code(&old, conn);
        self.codes.insert(routing.clone(), Waiting { host: conn });
        self.set_state(
            conn,
            ConnState::Waiting {
                routing: routing.clone(),
                session,
                expires,
            },
        );
        let ttl_secs = u32::try_from(expires.saturating_duration_since(now).as_secs())
            .unwrap_or(u32::MAX)
            .max(1);
        Ok(Registered {
            routing,
            ttl_secs,
            session,
            left: None,
            replaced: None,
        })
    }

    /// A cluster node's waiting host loses its code (the directory could not take it, or another
    /// node holds it): it goes back to idle. Returns the code and session it had.
    pub fn withdraw(&mut self, conn: ConnId, now: Instant) -> Option<(RoutingCode, u64)> {
        self.stop_waiting(conn, now)
    }

    /// The waiting host of `session`, if any.
    pub fn waiting_host(&self, session: u64) -> Option<ConnId> {
        self.conns.iter().find_map(|(id, e)| match e.state {
            ConnState::Waiting { session: s, .. } if s == session => Some(*id),
            _ => None,
        })
    }

    /// Every code waiting here, with its session and expiry: what a cluster node keeps alive in
    /// the directory.
    pub fn waiting_codes(&self) -> Vec<(RoutingCode, u64, Instant)> {
        self.conns
            .values()
            .filter_map(|e| match &e.state {
                ConnState::Waiting {
                    routing,
                    session,
                    expires,
                } => Some((routing.clone(), *session, *expires)),
                _ => None,
            })
            .collect()
    }

    /// Codes waiting on the other nodes of the cluster: counted with this node's own when the
    /// length of a new code is chosen, so codes stay sparse cluster-wide.
    pub fn set_cluster_waiting(&mut self, others: usize) {
        self.cluster_waiting = others;
    }

    /// Session ids start here (a cluster node starts at a random point so that ids from two runs of
    /// one node never meet in the directory).
    pub fn set_next_session(&mut self, next: u64) {
        self.next_session = next.max(1);
    }

    /// Forgets every code whose time is up and returns their hosts, which go back to idle.
    pub fn expire(&mut self, now: Instant) -> Vec<Expiry> {
        let mut expired = Vec::new();
        while let Some(entry) = self.expiries.first_entry() {
            let (expires, session) = *entry.key();
            if expires > now {
                break;
            }
            let host = entry.remove();
            if let Some(host_entry) = self.conns.get(&host)
                && let ConnState::Waiting { routing, .. } = &host_entry.state
            {
                let (routing, source) = (routing.clone(), host_entry.source);
                self.forget_code(&routing, host);
                for (key, _) in source.keys() {
                    decrement(&mut self.waiting_per_ip, key);
                }
                self.make_idle(host, now);
                expired.push(Expiry {
                    host,
                    session,
                    routing,
                });
            }
        }
        self.prune(now);
        expired
    }

    /// Connections that stayed idle (no code, no peer) past their deadline. They are not forgotten
    /// here: the shell closes them, and their [`Registry::disconnect`] follows.
    pub fn idle_out(&mut self, now: Instant) -> Vec<ConnId> {
        let mut out = Vec::new();
        while let Some(&(deadline, conn)) = self.idle_deadlines.first() {
            if deadline > now {
                break;
            }
            self.idle_deadlines.pop_first();
            out.push(conn);
        }
        out
    }

    /// When [`Registry::expire`] or [`Registry::idle_out`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let expiry = self.expiries.keys().next().map(|(at, _)| *at);
        let idle = self.idle_deadlines.first().map(|(at, _)| *at);
        match (expiry, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Sizes, for metrics.
    pub fn counts(&self) -> Counts {
        Counts {
            connections: self.conns.len(),
            idle: self.idle_deadlines.len(),
            waiting: self.codes.len(),
            paired: self.paired,
            tracked_sources: self.ip_buckets.len(),
        }
    }

    /// When the next code expires.
    #[cfg(test)]
    pub fn next_expiry(&self) -> Option<Instant> {
        self.expiries.keys().next().map(|(at, _)| *at)
    }

    /// Hosts waiting with a code.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.codes.len()
    }

    /// Connections known.
    #[cfg(test)]
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Addresses whose rate-limit state is held.
    #[cfg(test)]
    pub fn tracked_ips(&self) -> usize {
        self.ip_buckets.len()
    }

    /// Panics unless the registry's indexes agree with each other.
    #[cfg(test)]
    fn check_invariants(&self) {
        let mut waiting = 0;
        let mut paired = 0;
        let mut per_ip: HashMap<IpKey, u32> = HashMap::new();
        let mut waiting_per_ip: HashMap<IpKey, u32> = HashMap::new();
        let mut idle = BTreeSet::new();
        for (id, entry) in &self.conns {
            for (key, _) in entry.source.keys() {
                *per_ip.entry(key).or_default() += 1;
            }
            match &entry.state {
                ConnState::Idle { deadline } => {
                    idle.insert((*deadline, *id));
                }
                ConnState::Waiting {
                    routing,
                    session,
                    expires,
                } => {
                    for (key, _) in entry.source.keys() {
                        *waiting_per_ip.entry(key).or_default() += 1;
                    }
                    assert_eq!(self.expiries.get(&(*expires, *session)), Some(id));
                    // The code leads here unless a join already consumed it (an expired-but-unswept
                    // code), in which case it may lead elsewhere or nowhere.
                    if self.codes.get(routing).is_some_and(|w| w.host == *id) {
                        waiting += 1;
                    }
                }
                ConnState::Paired {
                    peer,
                    session,
                    is_host,
                } => {
                    paired += 1;
                    let Some(peer_entry) = self.conns.get(peer) else {
                        panic!("{id:?} paired with a gone connection");
                    };
                    assert!(
                        matches!(peer_entry.state, ConnState::Paired { peer: back, session: s, is_host: h } if back == *id && s == *session && h != *is_host),
                        "pairing of {id:?} is not mutual"
                    );
                }
            }
        }
        assert_eq!(
            waiting,
            self.codes.len(),
            "every code leads to a waiting host"
        );
        for w in self.codes.values() {
            assert!(matches!(
                self.conns.get(&w.host).map(|e| &e.state),
                Some(ConnState::Waiting { .. })
            ));
        }
        for host in self.expiries.values() {
            assert!(matches!(
                self.conns.get(host).map(|e| &e.state),
                Some(ConnState::Waiting { .. })
            ));
        }
        // Idle deadlines that fired (idle_out) are gone from the set while the connection is
        // still known: the set holds a subset of the idle connections.
        assert!(
            idle.is_superset(&self.idle_deadlines),
            "idle deadlines match"
        );
        assert_eq!(paired, self.paired, "paired count");
        assert_eq!(per_ip, self.conns_per_ip, "per-address counts match");
        assert_eq!(
            waiting_per_ip, self.waiting_per_ip,
            "per-address waiting counts match"
        );
        for (conn, _) in self.resuming.values() {
            assert!(
                matches!(
                    self.conns.get(conn).map(|e| &e.state),
                    Some(ConnState::Idle { .. })
                ),
                "a connection waiting to resume is idle"
            );
        }
        assert!(self.codes.len() <= self.limits.max_waiting_hosts);
        assert!(self.conns.len() <= self.limits.max_connections);
        assert!(self.ip_buckets.len() <= self.limits.max_tracked_ips);
    }

    /// Sets a connection's state, keeping the idle-deadline index in step.
    fn set_state(&mut self, conn: ConnId, state: ConnState) {
        if let Some(entry) = self.conns.get_mut(&conn) {
            if let ConnState::Idle { deadline } = entry.state {
                self.idle_deadlines.remove(&(deadline, conn));
            }
            if let ConnState::Idle { deadline } = state {
                self.idle_deadlines.insert((deadline, conn));
            } else if !self.resuming.is_empty() {
                // Waiting for a code or paired: no longer waiting to resume.
                self.resuming.retain(|_, (waiting, _)| *waiting != conn);
            }
            entry.state = state;
        }
    }

    /// The connection goes back to idle with a fresh deadline.
    fn make_idle(&mut self, conn: ConnId, now: Instant) {
        let deadline = now + self.limits.idle_timeout;
        self.set_state(conn, ConnState::Idle { deadline });
    }

    fn stop_waiting(&mut self, conn: ConnId, now: Instant) -> Option<(RoutingCode, u64)> {
        let entry = self.conns.get(&conn)?;
        let ConnState::Waiting {
            routing,
            session,
            expires,
        } = &entry.state
        else {
            return None;
        };
        let (routing, session, expires, source) =
            (routing.clone(), *session, *expires, entry.source);
        self.forget_code(&routing, conn);
        self.expiries.remove(&(expires, session));
        for (key, _) in source.keys() {
            decrement(&mut self.waiting_per_ip, key);
        }
        self.make_idle(conn, now);
        Some((routing, session))
    }

    /// A paired host leaves its session; its peer goes back to idle.
    fn leave_pairing(&mut self, conn: ConnId, now: Instant) -> Option<Ended> {
        let entry = self.conns.get(&conn)?;
        let ConnState::Paired { peer, session, .. } = entry.state else {
            return None;
        };
        self.paired = self.paired.saturating_sub(2);
        self.make_idle(peer, now);
        self.make_idle(conn, now);
        Some(Ended {
            session,
            survivor: peer,
        })
    }

    /// Forgets `routing` if it still leads to `host`: a code already forgotten at a join may have
    /// been drawn again for another host since.
    fn forget_code(&mut self, routing: &RoutingCode, host: ConnId) {
        if self.codes.get(routing).is_some_and(|w| w.host == host) {
            self.codes.remove(routing);
        }
    }

    /// The routing length for the next code: the shortest from `min_routing_digits` whose codes are
    /// fewer than 1 in [`SPARSENESS`] taken once this one is added.
    fn code_length(&self) -> usize {
        let in_use = (self.codes.len() + self.cluster_waiting) as u64 + 1;
        let min = self
            .limits
            .min_routing_digits
            .clamp(MIN_ROUTING_DIGITS, MAX_ROUTING_DIGITS);
        (min..=MAX_ROUTING_DIGITS)
            .find(|&digits| in_use * SPARSENESS <= 10u64.pow(digits as u32))
            .unwrap_or(MAX_ROUTING_DIGITS)
    }

    /// Draws an unused code of [`Registry::code_length`] digits (longer if, against all odds, the
    /// draws keep colliding).
    fn allocate(&self) -> Result<RoutingCode, Refusal> {
        for digits in self.code_length()..=MAX_ROUTING_DIGITS {
            let space = 10u64.pow(digits as u32);
            for _ in 0..DRAWS_PER_LENGTH {
                let n = random_below(space).map_err(|()| {
                    Refusal::new(
                        RefusalReason::Full,
                        "the relay could not draw a random code; try again",
                    )
                })?;
                let text = format!("{n:0digits$}");
                let Ok(code) = RoutingCode::new(&text) else {
                    continue;
                };
                if !self.codes.contains_key(&code) {
                    return Ok(code);
                }
            }
        }
        Err(Refusal::new(
            RefusalReason::Full,
            "the relay has no free codes; try again in a few minutes",
        ))
    }

    /// Per-source buckets first (a source over its limit spends nothing of the global budget),
    /// then fair share, then the global bucket, then the source's tokens. Per-source state is
    /// created only for attempts the global bucket let through, so it grows no faster than the
    /// global rate.
    ///
    /// Fair share: while a global bucket is below half, a source may take from it only once per
    /// [`RESERVE_COST`] minutes (its reserve bucket), so busy sources cannot drain the budget a
    /// viewer's first attempt needs: keeping the lower half empty takes `global per minute × 10`
    /// distinct sources (1 200 with the default join rate), not a few dozen.
    fn check_rate(
        &mut self,
        attempt: Attempt,
        source: Source,
        now: Instant,
    ) -> Result<(), Refusal> {
        let (per_ip, global_rate) = match attempt {
            Attempt::Register => (self.limits.register_per_ip, self.limits.register_global),
            Attempt::Join => (self.limits.join_per_ip, self.limits.join_global),
        };
        if now.saturating_duration_since(self.last_prune) >= PRUNE_INTERVAL {
            self.prune(now);
        }
        let mut has_reserve = true;
        let mut new_units = 0;
        for (key, scale) in source.keys() {
            let rate = per_ip.scaled(scale);
            match self.ip_buckets.get(&key) {
                Some(buckets) => {
                    let bucket = pick(buckets, attempt);
                    if !bucket.allows(rate, now) {
                        return Err(Refusal::limited(LimitHit::PerSource, DETAIL_IP_RATE));
                    }
                    has_reserve &= buckets.reserve.tokens(RESERVE.scaled(scale), now)
                        >= f64::from(RESERVE_COST);
                }
                None => new_units += 1,
            }
        }
        if self.ip_buckets.len() + new_units > self.limits.max_tracked_ips {
            return Err(Refusal::limited(LimitHit::Tracking, DETAIL_GLOBAL_RATE));
        }
        let global = match attempt {
            Attempt::Register => &mut self.register_global,
            Attempt::Join => &mut self.join_global,
        };
        let contended = global.tokens(global_rate, now) < f64::from(global_rate.burst) / 2.0;
        if contended && !has_reserve {
            return Err(Refusal::limited(LimitHit::FairShare, DETAIL_FAIR_SHARE));
        }
        if !global.try_take(global_rate, now) {
            return Err(Refusal::limited(LimitHit::Global, DETAIL_GLOBAL_RATE));
        }
        let limits = &self.limits;
        for (key, scale) in source.keys() {
            let buckets = self.ip_buckets.entry(key).or_insert_with(|| IpBuckets {
                scale,
                register: Bucket::full(limits.register_per_ip.scaled(scale), now),
                join: Bucket::full(limits.join_per_ip.scaled(scale), now),
                reserve: Bucket::full(RESERVE.scaled(scale), now),
            });
            if contended {
                buckets
                    .reserve
                    .try_take_n(RESERVE.scaled(scale), now, RESERVE_COST);
            }
            let (bucket, rate) = match attempt {
                Attempt::Register => (&mut buckets.register, limits.register_per_ip),
                Attempt::Join => (&mut buckets.join, limits.join_per_ip),
            };
            // Checked above; taking cannot fail now.
            bucket.try_take(rate.scaled(scale), now);
        }
        Ok(())
    }

    /// Forgets sources whose buckets have filled up again: they are as good as new.
    fn prune(&mut self, now: Instant) {
        let (register, join) = (self.limits.register_per_ip, self.limits.join_per_ip);
        self.ip_buckets.retain(|_, b| {
            !(b.register.is_full(register.scaled(b.scale), now)
                && b.join.is_full(join.scaled(b.scale), now)
                && b.reserve.is_full(RESERVE.scaled(b.scale), now))
        });
        self.last_prune = now;
    }
}

fn decrement(counts: &mut HashMap<IpKey, u32>, key: IpKey) {
    if let Some(count) = counts.get_mut(&key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.remove(&key);
        }
    }
}

fn pick(buckets: &IpBuckets, attempt: Attempt) -> &Bucket {
    match attempt {
        Attempt::Register => &buckets.register,
        Attempt::Join => &buckets.join,
    }
}

fn check_version(version: u16) -> Result<(), Refusal> {
    if version == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(Refusal::new(
            RefusalReason::UnsupportedVersion,
            format!(
                "this relay speaks protocol version {PROTOCOL_VERSION} and you asked for {version}; update Tandem on both sides"
            ),
        ))
    }
}

/// A uniform random number below `bound` (> 0) from the OS CSPRNG.
fn random_below(bound: u64) -> Result<u64, ()> {
    // Rejection sampling: accept only below the largest multiple of `bound`.
    let zone = u64::MAX - (u64::MAX % bound);
    loop {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).map_err(|_| ())?;
        let n = u64::from_be_bytes(bytes);
        if n < zone {
            return Ok(n % bound);
        }
    }
}

/// The most units a flood can make the registry track: each was let through by a global bucket
/// and stays until its own bucket is full again; an IPv6 source counts as three units.
#[cfg(test)]
pub(crate) fn max_tracked_under_flood(limits: &RateLimits) -> usize {
    let bound = |global: Rate, per_ip: Rate| {
        let window = per_ip
            .refill_time()
            .max(RESERVE.refill_time())
            .as_secs_f64()
            + PRUNE_INTERVAL.as_secs_f64();
        (f64::from(global.burst) + f64::from(global.per_minute) / 60.0 * window).ceil() as usize
    };
    3 * (bound(limits.register_global, limits.register_per_ip)
        + bound(limits.join_global, limits.join_per_ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Rate;
    use std::net::Ipv4Addr;

    const V: u16 = PROTOCOL_VERSION;

    fn generous() -> RateLimits {
        let lots = Rate::new(1_000_000, 1_000_000);
        RateLimits {
            register_per_ip: lots,
            register_global: lots,
            join_per_ip: lots,
            join_global: lots,
            max_waiting_hosts: 100_000,
            max_waiting_per_ip: 1_000_000,
            max_connections: 1_000_000,
            max_connections_per_ip: 1_000_000,
            max_tracked_ips: 1_000_000,
            min_routing_digits: 3,
            idle_timeout: Duration::from_secs(3_600),
            buffer_budget: crate::budget::DEFAULT_BUFFER_BUDGET,
        }
    }

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    struct Sim {
        reg: Registry,
        now: Instant,
        next_conn: u64,
    }

    impl Sim {
        fn new(limits: RateLimits, max_ttl_secs: u64) -> Self {
            let now = Instant::now();
            Self {
                reg: Registry::new(limits, Duration::from_secs(max_ttl_secs), now),
                now,
                next_conn: 1,
            }
        }

        fn conn(&mut self, from: IpAddr) -> ConnId {
            let id = ConnId(self.next_conn);
            self.next_conn += 1;
            self.reg.connect(id, from, self.now).expect("connect");
            id
        }

        fn host(&mut self, from: IpAddr, ttl: u32) -> (ConnId, Registered) {
            let id = self.conn(from);
            let registered = self.reg.register(id, V, ttl, self.now).expect("register");
            (id, registered)
        }

        fn advance(&mut self, by: Duration) {
            self.now += by;
        }
    }

    #[test]
    fn codes_grow_with_occupancy_so_one_guess_in_a_thousand_at_most_hits_and_never_repeat() {
        let mut sim = Sim::new(generous(), 600);
        let mut seen = std::collections::HashSet::new();
        for i in 0..1_100u32 {
            let (_, registered) = sim.host(ip(i), 60);
            let len = registered.routing.as_str().len();
            // Code #i is drawn with i codes in use: i + 1 after it.
            let expected = match i {
                0 => 3,
                1..10 => 4,
                10..100 => 5,
                _ => 6,
            };
            assert_eq!(len, expected, "code #{i}");
            assert!(seen.insert(registered.routing), "code #{i} reused");
        }
        assert_eq!(sim.reg.waiting(), 1_100);
    }

    #[test]
    fn resume_pairs_a_host_and_a_viewer_with_the_same_id_once() {
        let mut sim = Sim::new(generous(), 600);
        let id = [7u8; RESUME_ID_LEN];
        let viewer = sim.conn(ip(2));
        assert_eq!(
            sim.reg.resume(viewer, V, ResumeRole::Viewer, id, sim.now),
            Ok(None)
        );
        // Another id, or the same role, pairs nothing.
        let stranger = sim.conn(ip(3));
        assert_eq!(
            sim.reg
                .resume(stranger, V, ResumeRole::Host, [8u8; RESUME_ID_LEN], sim.now),
            Ok(None)
        );
        let host = sim.conn(ip(1));
        let resumed = sim
            .reg
            .resume(host, V, ResumeRole::Host, id, sim.now)
            .expect("accepted")
            .expect("paired");
        assert_eq!((resumed.host, resumed.viewer), (host, viewer));
        assert_eq!(sim.reg.counts().paired, 2);
        sim.reg.check_invariants();
        // One use: the same id again waits for a partner that will never come.
        let replay = sim.conn(ip(4));
        assert_eq!(
            sim.reg.resume(replay, V, ResumeRole::Viewer, id, sim.now),
            Ok(None)
        );
        // A paired side leaving is an ordinary departure.
        assert!(matches!(
            sim.reg.disconnect(host, sim.now),
            Departure::LeftSession(Ended { survivor, .. }) if survivor == viewer
        ));
        sim.reg.disconnect(replay, sim.now);
        sim.reg.disconnect(stranger, sim.now);
        sim.reg.check_invariants();
        assert!(sim.reg.resuming.is_empty());
    }

    #[test]
    fn a_retried_resume_replaces_the_earlier_connection_and_a_paired_one_cannot_resume() {
        let mut sim = Sim::new(generous(), 600);
        let id = [9u8; RESUME_ID_LEN];
        let first = sim.conn(ip(1));
        let retry = sim.conn(ip(1));
        assert_eq!(
            sim.reg.resume(first, V, ResumeRole::Host, id, sim.now),
            Ok(None)
        );
        assert_eq!(
            sim.reg.resume(retry, V, ResumeRole::Host, id, sim.now),
            Ok(None)
        );
        let viewer = sim.conn(ip(2));
        let resumed = sim
            .reg
            .resume(viewer, V, ResumeRole::Viewer, id, sim.now)
            .expect("accepted")
            .expect("paired");
        assert_eq!(resumed.host, retry);
        sim.reg.check_invariants();
        let refusal = sim
            .reg
            .resume(viewer, V, ResumeRole::Viewer, [1; RESUME_ID_LEN], sim.now)
            .expect_err("already paired");
        assert_eq!(refusal.reason, RefusalReason::BadRequest);
        // The first connection waits no more; it is just idle (and times out as such).
        sim.reg.disconnect(first, sim.now);
        sim.reg.check_invariants();
    }

    #[test]
    fn resume_is_rate_limited_per_source() {
        let mut limits = generous();
        limits.join_per_ip = Rate::new(2, 1);
        let mut sim = Sim::new(limits, 600);
        let mut refused = 0;
        for n in 0..5u8 {
            let conn = sim.conn(ip(1));
            if sim
                .reg
                .resume(conn, V, ResumeRole::Viewer, [n; RESUME_ID_LEN], sim.now)
                .is_err()
            {
                refused += 1;
            }
        }
        assert_eq!(refused, 3);
    }

    #[test]
    fn a_code_is_forgotten_at_the_first_join() {
        let mut sim = Sim::new(generous(), 600);
        let (host, registered) = sim.host(ip(1), 60);
        let viewer = sim.conn(ip(2));
        let pairing = sim
            .reg
            .join(viewer, V, &registered.routing, sim.now)
            .expect("paired");
        assert_eq!(pairing.host, host);
        assert_eq!(pairing.session, registered.session);
        assert_eq!(sim.reg.waiting(), 0);
        // Whether that viewer was right or not (the PAKE decides), nobody gets a second try.
        sim.reg.disconnect(viewer, sim.now);
        let second = sim.conn(ip(3));
        let refusal = sim
            .reg
            .join(second, V, &registered.routing, sim.now)
            .expect_err("used");
        assert_eq!(refusal.reason, RefusalReason::UnknownCode);
    }

    #[test]
    fn an_unknown_code_is_refused_and_disturbs_nobody() {
        let mut sim = Sim::new(generous(), 600);
        let (_, registered) = sim.host(ip(1), 60);
        let other = if registered.routing.as_str() == "000" {
            "001"
        } else {
            "000"
        };
        let viewer = sim.conn(ip(2));
        let refusal = sim
            .reg
            .join(viewer, V, &RoutingCode::new(other).expect("code"), sim.now)
            .expect_err("unknown");
        assert_eq!(refusal.reason, RefusalReason::UnknownCode);
        assert_eq!(sim.reg.waiting(), 1);
        sim.reg
            .join(viewer, V, &registered.routing, sim.now)
            .expect("the real one still works");
    }

    #[test]
    fn codes_expire_at_their_ttl_capped_by_the_maximum() {
        let mut sim = Sim::new(generous(), 30);
        let (host, registered) = sim.host(ip(1), 5);
        assert_eq!(registered.ttl_secs, 5);
        let t0 = sim.now;
        assert_eq!(sim.reg.next_expiry(), Some(t0 + Duration::from_secs(5)));
        assert!(sim.reg.expire(t0 + Duration::from_millis(4_999)).is_empty());
        let expired = sim.reg.expire(t0 + Duration::from_secs(5));
        assert_eq!(
            expired,
            vec![Expiry {
                host,
                session: registered.session,
                routing: registered.routing.clone(),
            }]
        );
        assert_eq!(sim.reg.next_expiry(), None);
        sim.advance(Duration::from_secs(5));
        let viewer = sim.conn(ip(2));
        let refusal = sim
            .reg
            .join(viewer, V, &registered.routing, sim.now)
            .expect_err("expired");
        assert_eq!(refusal.reason, RefusalReason::UnknownCode);
        // The host may ask again; its ttl is capped by the relay's maximum, and 0 means the maximum.
        let again = sim.reg.register(host, V, 3_600, sim.now).expect("again");
        assert_eq!(again.ttl_secs, 30);
        let zero = sim.reg.register(host, V, 0, sim.now).expect("again");
        assert_eq!(zero.ttl_secs, 30);
    }

    #[test]
    fn a_join_at_the_expiry_instant_is_refused_even_before_the_sweep() {
        let mut sim = Sim::new(generous(), 30);
        let (_, registered) = sim.host(ip(1), 5);
        sim.advance(Duration::from_secs(5));
        let viewer = sim.conn(ip(2));
        let refusal = sim
            .reg
            .join(viewer, V, &registered.routing, sim.now)
            .expect_err("expired");
        assert_eq!(refusal.reason, RefusalReason::UnknownCode);
        assert_eq!(sim.reg.waiting(), 0);
        // The host still hears that its code expired.
        assert_eq!(sim.reg.expire(sim.now).len(), 1);
        assert_eq!(sim.reg.next_expiry(), None);
    }

    #[test]
    fn registering_again_replaces_the_code() {
        let mut sim = Sim::new(generous(), 600);
        let (host, first) = sim.host(ip(1), 60);
        let second = sim.reg.register(host, V, 60, sim.now).expect("again");
        assert_ne!(first.session, second.session);
        assert_eq!(sim.reg.waiting(), 1);
        let viewer = sim.conn(ip(2));
        if first.routing != second.routing {
            let refusal = sim
                .reg
                .join(viewer, V, &first.routing, sim.now)
                .expect_err("old code forgotten");
            assert_eq!(refusal.reason, RefusalReason::UnknownCode);
        }
        let pairing = sim
            .reg
            .join(viewer, V, &second.routing, sim.now)
            .expect("new code");
        assert_eq!(pairing.session, second.session);
        // Only the new code's expiry remains scheduled; and it went with the pairing.
        assert_eq!(sim.reg.next_expiry(), None);
    }

    #[test]
    fn wrong_version_and_wrong_state_are_refused() {
        let mut sim = Sim::new(generous(), 600);
        let conn = sim.conn(ip(1));
        let refusal = sim.reg.register(conn, V + 1, 60, sim.now).expect_err("v");
        assert_eq!(refusal.reason, RefusalReason::UnsupportedVersion);
        let registered = sim.reg.register(conn, V, 60, sim.now).expect("ok");
        let refusal = sim
            .reg
            .join(conn, V, &registered.routing, sim.now)
            .expect_err("a waiting host cannot join");
        assert_eq!(refusal.reason, RefusalReason::BadRequest);
        let viewer = sim.conn(ip(2));
        let refusal = sim
            .reg
            .join(viewer, V + 1, &registered.routing, sim.now)
            .expect_err("v");
        assert_eq!(refusal.reason, RefusalReason::UnsupportedVersion);
        assert_eq!(sim.reg.waiting(), 1, "a refused version burns no code");
        sim.reg
            .join(viewer, V, &registered.routing, sim.now)
            .expect("paired");
        let refusal = sim
            .reg
            .register(viewer, V, 60, sim.now)
            .expect_err("paired");
        assert_eq!(refusal.reason, RefusalReason::BadRequest);
    }

    #[test]
    fn disconnects_forget_codes_and_free_the_survivor() {
        let mut sim = Sim::new(generous(), 600);
        let (waiting_host, registered) = sim.host(ip(1), 60);
        assert_eq!(
            sim.reg.disconnect(waiting_host, sim.now),
            Departure::StoppedWaiting {
                session: registered.session,
                routing: registered.routing.clone(),
            }
        );
        assert_eq!(sim.reg.waiting(), 0);
        assert_eq!(sim.reg.next_expiry(), None);

        let (host, registered) = sim.host(ip(1), 60);
        let viewer = sim.conn(ip(2));
        sim.reg
            .join(viewer, V, &registered.routing, sim.now)
            .expect("paired");
        assert_eq!(
            sim.reg.disconnect(viewer, sim.now),
            Departure::LeftSession(Ended {
                session: registered.session,
                survivor: host
            })
        );
        assert_eq!(sim.reg.disconnect(viewer, sim.now), Departure::Quiet);
        // The survivor is idle again and may register anew.
        let again = sim.reg.register(host, V, 60, sim.now).expect("again");
        assert_eq!(
            sim.reg.disconnect(host, sim.now),
            Departure::StoppedWaiting {
                session: 3,
                routing: again.routing
            }
        );
        assert_eq!(sim.reg.connections(), 0);
    }

    #[test]
    fn per_address_rate_limit_refuses_then_recovers() {
        let limits = RateLimits {
            join_per_ip: Rate::new(3, 6), // one every 10 s
            ..generous()
        };
        let mut sim = Sim::new(limits, 600);
        let guesser = sim.conn(ip(1));
        let nowhere = RoutingCode::new("999999").expect("code");
        for _ in 0..3 {
            let r = sim.reg.join(guesser, V, &nowhere, sim.now).expect_err("no");
            assert_eq!(r.reason, RefusalReason::UnknownCode);
        }
        let r = sim.reg.join(guesser, V, &nowhere, sim.now).expect_err("no");
        assert_eq!(r.reason, RefusalReason::RateLimited);
        assert!(r.detail.contains("your address"), "{}", r.detail);
        // Another connection from the same address shares the limit; another address does not.
        let same_ip = sim.conn(ip(1));
        let r = sim.reg.join(same_ip, V, &nowhere, sim.now).expect_err("no");
        assert_eq!(r.reason, RefusalReason::RateLimited);
        let elsewhere = sim.conn(ip(2));
        let r = sim
            .reg
            .join(elsewhere, V, &nowhere, sim.now)
            .expect_err("no");
        assert_eq!(r.reason, RefusalReason::UnknownCode);
        // Rate-limited attempts do not burn codes.
        let (_, registered) = sim.host(ip(3), 60);
        let r = sim
            .reg
            .join(guesser, V, &registered.routing, sim.now)
            .expect_err("limited");
        assert_eq!(r.reason, RefusalReason::RateLimited);
        assert_eq!(sim.reg.waiting(), 1);
        sim.advance(Duration::from_secs(10));
        sim.reg
            .join(guesser, V, &registered.routing, sim.now)
            .expect("allowed again after the refill");
    }

    #[test]
    fn registering_is_rate_limited_per_address() {
        let limits = RateLimits {
            register_per_ip: Rate::new(2, 1),
            ..generous()
        };
        let mut sim = Sim::new(limits, 600);
        let host = sim.conn(ip(1));
        sim.reg.register(host, V, 60, sim.now).expect("1");
        sim.reg.register(host, V, 60, sim.now).expect("2");
        let r = sim.reg.register(host, V, 60, sim.now).expect_err("3");
        assert_eq!(r.reason, RefusalReason::RateLimited);
        assert_eq!(sim.reg.waiting(), 1, "a refused re-register keeps the code");
    }

    #[test]
    fn global_rate_limit_holds_across_addresses() {
        let limits = RateLimits {
            join_global: Rate::new(5, 60),
            ..generous()
        };
        let mut sim = Sim::new(limits, 600);
        let nowhere = RoutingCode::new("999999").expect("code");
        let mut outcomes = Vec::new();
        for i in 0..8 {
            let conn = sim.conn(ip(i));
            outcomes.push(
                sim.reg
                    .join(conn, V, &nowhere, sim.now)
                    .expect_err("no")
                    .reason,
            );
        }
        assert_eq!(&outcomes[..5], &[RefusalReason::UnknownCode; 5]);
        assert_eq!(&outcomes[5..], &[RefusalReason::RateLimited; 3]);
        sim.advance(Duration::from_secs(1));
        let conn = sim.conn(ip(100));
        let r = sim.reg.join(conn, V, &nowhere, sim.now).expect_err("no");
        assert_eq!(r.reason, RefusalReason::UnknownCode);
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_from_many_addresses() {
        let limits = RateLimits::default();
        let bound = max_tracked_under_flood(&limits);
        let mut sim = Sim::new(limits, 600);
        let (_, registered) = sim.host(ip(0), 600);
        let viewer_base = 1_000u32;
        let mut peak = 0;
        let mut limited = 0u32;
        // 200 000 join attempts and 200 000 register attempts, each from a new address, 2 000 per
        // simulated second.
        for i in 0..200_000u32 {
            if i % 2_000 == 0 {
                sim.advance(Duration::from_secs(1));
                sim.reg.expire(sim.now);
            }
            let from = ip(viewer_base + i);
            let conn = ConnId(10_000_000 + u64::from(i));
            sim.reg.connect(conn, from, sim.now).expect("connect");
            let guess = RoutingCode::new(&format!("{:06}", i % 1_000_000)).expect("code");
            if let Err(r) = sim.reg.join(conn, V, &guess, sim.now)
                && r.reason == RefusalReason::RateLimited
            {
                limited += 1;
            }
            if let Err(r) = sim.reg.register(conn, V, 60, sim.now)
                && r.reason == RefusalReason::RateLimited
            {
                limited += 1;
            }
            sim.reg.disconnect(conn, sim.now);
            peak = peak.max(sim.reg.tracked_ips());
        }
        assert!(
            limited > 300_000,
            "the global limits refused most: {limited}"
        );
        assert!(peak <= bound, "tracked {peak} addresses, bound {bound}");
        assert!(
            sim.reg.waiting() <= 1,
            "flood codes were freed on disconnect"
        );
        assert_eq!(sim.reg.connections(), 1, "only the legitimate host is left");
        // The legitimate host's code survived (6-digit guesses never match its shorter code), and
        // its viewer, a new address, gets through once the flood stops and the global bucket
        // refills.
        sim.advance(Duration::from_secs(60));
        let viewer = sim.conn(ip(5));
        sim.reg
            .join(viewer, V, &registered.routing, sim.now)
            .expect("the real host is still reachable");
        // Idle state is forgotten once the buckets refill (the fair-share reserve takes longest).
        sim.advance(RESERVE.refill_time() + PRUNE_INTERVAL);
        sim.reg.expire(sim.now);
        assert_eq!(sim.reg.tracked_ips(), 0);
    }

    #[test]
    fn tracked_addresses_are_capped() {
        let limits = RateLimits {
            max_tracked_ips: 10,
            join_per_ip: Rate::new(1, 1),
            ..generous()
        };
        let mut sim = Sim::new(limits, 600);
        let nowhere = RoutingCode::new("999999").expect("code");
        for i in 0..10 {
            let conn = sim.conn(ip(i));
            let r = sim.reg.join(conn, V, &nowhere, sim.now).expect_err("no");
            assert_eq!(r.reason, RefusalReason::UnknownCode);
        }
        let conn = sim.conn(ip(10));
        let r = sim.reg.join(conn, V, &nowhere, sim.now).expect_err("no");
        assert_eq!(r.reason, RefusalReason::RateLimited);
        assert_eq!(sim.reg.tracked_ips(), 10);
        sim.advance(Duration::from_secs(61));
        let r = sim.reg.join(conn, V, &nowhere, sim.now).expect_err("no");
        assert_eq!(
            r.reason,
            RefusalReason::UnknownCode,
            "idle addresses were forgotten"
        );
        assert_eq!(sim.reg.tracked_ips(), 1);
    }

    #[test]
    fn capacity_limits_refuse_with_full_or_rate_limited() {
        let limits = RateLimits {
            max_waiting_hosts: 2,
            max_connections: 6,
            max_connections_per_ip: 3,
            ..generous()
        };
        let mut sim = Sim::new(limits, 600);
        let (first, _) = sim.host(ip(1), 60);
        sim.host(ip(2), 60);
        let third = sim.conn(ip(3));
        let r = sim.reg.register(third, V, 60, sim.now).expect_err("full");
        assert_eq!(r.reason, RefusalReason::Full);
        // Re-registering a waiting host is a replacement, not a new slot.
        sim.reg.register(first, V, 60, sim.now).expect("replace");

        sim.conn(ip(1));
        sim.conn(ip(1));
        let r = sim
            .reg
            .connect(ConnId(100), ip(1), sim.now)
            .expect_err("per address");
        assert_eq!(r.reason, RefusalReason::RateLimited);
        sim.conn(ip(4));
        let r = sim
            .reg
            .connect(ConnId(101), ip(6), sim.now)
            .expect_err("total");
        assert_eq!(r.reason, RefusalReason::Full);
        sim.reg.disconnect(first, sim.now);
        sim.reg
            .connect(ConnId(102), ip(1), sim.now)
            .expect("room again");
    }

    /// A small deterministic generator, so the random walk below needs no dependency.
    struct XorShift(u64);

    impl XorShift {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn a_random_walk_keeps_every_index_consistent() {
        let limits = RateLimits {
            register_per_ip: Rate::new(5, 30),
            register_global: Rate::new(50, 300),
            join_per_ip: Rate::new(5, 30),
            join_global: Rate::new(50, 300),
            max_waiting_hosts: 8,
            max_waiting_per_ip: 3,
            max_connections: 120,
            max_connections_per_ip: 20,
            max_tracked_ips: 16,
            min_routing_digits: 3,
            idle_timeout: Duration::from_secs(5),
            buffer_budget: crate::budget::DEFAULT_BUFFER_BUDGET,
        };
        let (mut paired, mut expired, mut limited, mut full, mut idled) = (0, 0, 0, 0, 0);
        for seed in 1..=20u64 {
            let mut rng = XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let mut sim = Sim::new(limits.clone(), 20);
            let mut live: Vec<ConnId> = Vec::new();
            let mut codes: Vec<RoutingCode> = Vec::new();
            for step in 0..3_000 {
                match rng.below(10) {
                    0 | 1 => {
                        let id = ConnId(sim.next_conn);
                        sim.next_conn += 1;
                        let from = ip(rng.below(12) as u32);
                        if sim.reg.connect(id, from, sim.now).is_ok() {
                            live.push(id);
                        }
                    }
                    2 if !live.is_empty() => {
                        let i = rng.below(live.len() as u64) as usize;
                        let gone = live.swap_remove(i);
                        sim.reg.disconnect(gone, sim.now);
                    }
                    3 | 4 if !live.is_empty() => {
                        let conn = live[rng.below(live.len() as u64) as usize];
                        let ttl = rng.below(30) as u32;
                        match sim.reg.register(conn, V, ttl, sim.now) {
                            Ok(registered) => codes.push(registered.routing),
                            Err(r) if r.reason == RefusalReason::Full => full += 1,
                            Err(r) if r.reason == RefusalReason::RateLimited => limited += 1,
                            Err(_) => {}
                        }
                    }
                    5 | 6 if !live.is_empty() => {
                        let conn = live[rng.below(live.len() as u64) as usize];
                        let routing = if !codes.is_empty() && rng.below(4) > 0 {
                            codes[rng.below(codes.len() as u64) as usize].clone()
                        } else {
                            RoutingCode::new(&format!("{:03}", rng.below(1000))).expect("code")
                        };
                        let before = sim.reg.codes.contains_key(&routing);
                        let outcome = sim.reg.join(conn, V, &routing, sim.now);
                        if outcome.is_ok() {
                            assert!(before);
                            paired += 1;
                        }
                        if let Err(r) = &outcome
                            && r.reason == RefusalReason::RateLimited
                        {
                            limited += 1;
                        }
                        if let Err(r) = &outcome
                            && r.reason == RefusalReason::UnknownCode
                        {
                            // Whatever happened, the code is not waiting any more.
                            assert!(!sim.reg.codes.contains_key(&routing), "step {step}");
                        }
                    }
                    7 => sim.advance(Duration::from_millis(rng.below(1_000))),
                    _ => {
                        expired += sim.reg.expire(sim.now).len();
                        for gone in sim.reg.idle_out(sim.now) {
                            live.retain(|c| *c != gone);
                            sim.reg.disconnect(gone, sim.now);
                            idled += 1;
                        }
                    }
                }
                sim.reg.check_invariants();
            }
            for conn in live.drain(..) {
                sim.reg.disconnect(conn, sim.now);
                sim.reg.check_invariants();
            }
            assert_eq!(sim.reg.connections(), 0);
            assert_eq!(sim.reg.waiting(), 0);
            assert_eq!(sim.reg.next_expiry(), None);
            assert!(sim.reg.conns_per_ip.is_empty());
        }
        // The walk went through every interesting path.
        assert!(paired > 100, "paired {paired}");
        assert!(expired > 100, "expired {expired}");
        assert!(limited > 100, "rate limited {limited}");
        assert!(full > 100, "full {full}");
        assert!(idled > 100, "idled out {idled}");
    }

    fn ip6(text: &str) -> IpAddr {
        text.parse().expect("ipv6")
    }

    #[test]
    fn idle_connections_get_a_deadline_that_refusals_do_not_extend() {
        let limits = RateLimits {
            idle_timeout: Duration::from_secs(30),
            ..generous()
        };
        let mut sim = Sim::new(limits, 600);
        let t0 = sim.now;
        let silent = sim.conn(ip(1));
        let refused = sim.conn(ip(2));
        assert_eq!(sim.reg.next_deadline(), Some(t0 + Duration::from_secs(30)));
        // Refused requests keep a connection idle: its deadline stays where it was.
        sim.advance(Duration::from_secs(20));
        let nowhere = RoutingCode::new("99999").expect("code");
        for _ in 0..3 {
            sim.reg.join(refused, V, &nowhere, sim.now).expect_err("no");
        }
        sim.reg
            .register(refused, V + 1, 60, sim.now)
            .expect_err("version");
        // A host that registers has no idle deadline while it waits...
        let (host, registered) = sim.host(ip(3), 20);
        assert!(
            sim.reg
                .idle_out(t0 + Duration::from_millis(29_999))
                .is_empty()
        );
        let mut out = sim.reg.idle_out(t0 + Duration::from_secs(30));
        out.sort();
        assert_eq!(out, vec![silent, refused]);
        sim.reg.disconnect(silent, sim.now);
        sim.reg.disconnect(refused, sim.now);
        sim.reg.check_invariants();
        // ...and gets a fresh one when its code expires...
        sim.advance(Duration::from_secs(20));
        assert_eq!(sim.reg.expire(sim.now).len(), 1);
        let expired_at = sim.now;
        assert_eq!(
            sim.reg.next_deadline(),
            Some(expired_at + Duration::from_secs(30))
        );
        // ...or when its session ends: the survivor is idle again.
        let again = sim.reg.register(host, V, 60, sim.now).expect("again");
        assert_ne!(again.routing, registered.routing);
        let viewer = sim.conn(ip(4));
        sim.reg
            .join(viewer, V, &again.routing, sim.now)
            .expect("paired");
        sim.advance(Duration::from_secs(100));
        assert!(sim.reg.idle_out(sim.now).is_empty(), "paired: no deadline");
        sim.reg.disconnect(viewer, sim.now);
        assert_eq!(
            sim.reg.next_deadline(),
            Some(sim.now + Duration::from_secs(30))
        );
        assert_eq!(
            sim.reg.idle_out(sim.now + Duration::from_secs(30)),
            vec![host]
        );
        sim.reg.check_invariants();
    }

    #[test]
    fn ipv6_connections_are_also_capped_per_56_and_48() {
        let limits = RateLimits {
            max_connections_per_ip: 2,
            ..generous()
        };
        let mut sim = Sim::new(limits, 600);
        // Four /64s of one /56 fill its cap of 2 × 4.
        for subnet in 0..4 {
            for host in 1..=2 {
                sim.conn(ip6(&format!("2001:db8:0:{subnet:x}::{host}")));
            }
        }
        let r = sim
            .reg
            .connect(ConnId(1_000), ip6("2001:db8:0:4::1"), sim.now)
            .expect_err("the /56 is full");
        assert_eq!(r.reason, RefusalReason::RateLimited);
        // Other /56s of the same /48 fill its cap of 2 × 16.
        for subnet in 1..4u32 {
            for n in 0..8u32 {
                let addr = format!("2001:db8:0:{:x}::{}", subnet * 0x100 + n / 2, n % 2 + 1);
                sim.conn(ip6(&addr));
            }
        }
        let r = sim
            .reg
            .connect(ConnId(1_001), ip6("2001:db8:0:f00::1"), sim.now)
            .expect_err("the /48 is full");
        assert_eq!(r.reason, RefusalReason::RateLimited);
        sim.conn(ip6("2001:db8:1::1"));
        sim.reg.check_invariants();
    }

    #[test]
    fn ipv6_rate_limits_also_count_the_48() {
        let limits = RateLimits {
            join_per_ip: Rate::new(1, 1),
            ..generous()
        };
        let mut sim = Sim::new(limits, 600);
        let nowhere = RoutingCode::new("99999").expect("code");
        // Each /64 of one /48 gets its one attempt until the /48's 16 are spent.
        let mut outcomes = Vec::new();
        for subnet in 0..20u32 {
            let conn = sim.conn(ip6(&format!("2001:db8:0:{:x}::1", subnet * 0x100)));
            outcomes.push(
                sim.reg
                    .join(conn, V, &nowhere, sim.now)
                    .expect_err("no")
                    .reason,
            );
        }
        assert_eq!(&outcomes[..16], &[RefusalReason::UnknownCode; 16]);
        assert_eq!(&outcomes[16..], &[RefusalReason::RateLimited; 4]);
        let elsewhere = sim.conn(ip6("2001:db8:1::1"));
        let r = sim
            .reg
            .join(elsewhere, V, &nowhere, sim.now)
            .expect_err("no");
        assert_eq!(r.reason, RefusalReason::UnknownCode);
    }

    #[test]
    fn waiting_hosts_are_capped_per_source() {
        let limits = RateLimits {
            max_waiting_per_ip: 2,
            ..generous()
        };
        let mut sim = Sim::new(limits, 600);
        let (first, _) = sim.host(ip(1), 60);
        sim.host(ip(1), 60);
        let third = sim.conn(ip(1));
        let r = sim.reg.register(third, V, 60, sim.now).expect_err("capped");
        assert_eq!(r.reason, RefusalReason::RateLimited);
        assert_eq!(r.hit, Some(LimitHit::SourceCapacity));
        // Replacing a code is not a new one; another address is not affected.
        sim.reg.register(first, V, 60, sim.now).expect("replace");
        sim.host(ip(2), 60);
        // A code used up frees the slot.
        let viewer = sim.conn(ip(3));
        let again = sim.reg.register(first, V, 60, sim.now).expect("replace");
        sim.reg
            .join(viewer, V, &again.routing, sim.now)
            .expect("paired");
        sim.reg.register(third, V, 60, sim.now).expect("room again");
        sim.reg.check_invariants();
    }

    /// A hundred addresses that keep joining at their own limit (together more than the global
    /// rate), and now and then a viewer's first join.
    #[test]
    fn busy_sources_cannot_drain_the_global_budget_a_first_join_needs() {
        let limits = RateLimits {
            join_per_ip: Rate::new(5, 2),
            join_global: Rate::new(60, 120),
            ..generous()
        };
        let mut sim = Sim::new(limits, 600);
        let nowhere = RoutingCode::new("99999").expect("code");
        let busy: Vec<ConnId> = (0..100).map(|i| sim.conn(ip(i))).collect();
        let (mut admitted_first, mut tried_first) = (0, 0);
        for second in 0..600u32 {
            for &conn in &busy {
                let _ = sim.reg.join(conn, V, &nowhere, sim.now);
            }
            if second % 10 == 9 {
                // A viewer's first attempt, from an address that has not tried before.
                let (_, registered) = sim.host(ip(10_000 + second), 60);
                let viewer = sim.conn(ip(20_000 + second));
                tried_first += 1;
                if sim
                    .reg
                    .join(viewer, V, &registered.routing, sim.now)
                    .is_ok()
                {
                    admitted_first += 1;
                }
            }
            sim.advance(Duration::from_secs(1));
        }
        // Only the busy sources' first reserved attempts, all at once at the start, can crowd out
        // a first join (for about 100 / 2 per second = 50 s); after that, every one gets through.
        assert!(
            admitted_first + 5 >= tried_first,
            "{admitted_first} of {tried_first} first joins got through"
        );
    }

    #[test]
    fn a_sweep_from_many_addresses_covers_a_small_part_of_the_code_space() {
        let limits = RateLimits::default();
        let mut sim = Sim::new(limits.clone(), 600);
        let (_, registered) = sim.host(ip(0), 600);
        let digits = registered.routing.as_str().len();
        assert!(digits >= 5, "{digits} digits");
        // Ten thousand addresses, each guessing as often as it may, for the code's whole lifetime.
        let mut guesses = 0u64;
        let mut next = 0u32;
        for _ in 0..600 {
            for _ in 0..50 {
                next += 1;
                let conn = sim.conn(ip(1 + next % 10_000));
                let guess = format!("{:0digits$}", u64::from(next) % 10u64.pow(digits as u32));
                let guess = RoutingCode::new(&guess).expect("code");
                match sim.reg.join(conn, V, &guess, sim.now) {
                    Err(r) if r.reason == RefusalReason::RateLimited => {}
                    _ => guesses += 1,
                }
                sim.reg.disconnect(conn, sim.now);
            }
            sim.advance(Duration::from_secs(1));
        }
        let global = limits.join_global;
        let bound = u64::from(global.burst) + u64::from(global.per_minute) * 10;
        assert!(guesses <= bound, "{guesses} guesses, bound {bound}");
        let covered = guesses as f64 / 10f64.powi(digits as i32);
        assert!(
            covered < 0.015,
            "the sweep covered {covered:.4} of the codes"
        );
    }

    #[test]
    fn a_host_whose_code_was_burned_registers_again_from_its_session() {
        let mut sim = Sim::new(generous(), 600);
        let (host, first) = sim.host(ip(1), 60);
        let guesser = sim.conn(ip(2));
        sim.reg
            .join(guesser, V, &first.routing, sim.now)
            .expect("paired");
        // The end-to-end handshake fails; the guesser stays connected. The host asks again.
        let second = sim.reg.register(host, V, 60, sim.now).expect("fresh code");
        assert_eq!(
            second.left,
            Some(Ended {
                session: first.session,
                survivor: guesser
            })
        );
        assert_ne!(second.session, first.session);
        sim.reg.check_invariants();
        // The guesser is idle and cannot register as a host of that session, nor reuse the code.
        let r = sim
            .reg
            .join(guesser, V, &first.routing, sim.now)
            .expect_err("used");
        assert_eq!(r.reason, RefusalReason::UnknownCode);
        let viewer = sim.conn(ip(3));
        let pairing = sim
            .reg
            .join(viewer, V, &second.routing, sim.now)
            .expect("the real viewer");
        assert_eq!(pairing.host, host);
        // A viewer of a session cannot register.
        let r = sim
            .reg
            .register(viewer, V, 60, sim.now)
            .expect_err("viewer");
        assert_eq!(r.reason, RefusalReason::BadRequest);
        sim.reg.check_invariants();
    }

    /// Cluster nodes: the checks before the directory, the join after it (only the session the
    /// directory named), a redraw when another node holds the code, and a withdrawal.
    #[test]
    fn cluster_steps_keep_every_index_consistent() {
        let mut sim = Sim::new(generous(), 600);
        sim.reg.set_next_session(1 << 40);
        let (host, registered) = sim.host(ip(1), 60);
        assert_eq!(registered.session, 1 << 40);
        // A redraw keeps the session and the expiry, changes the code.
        let redrawn = sim.reg.redraw(host, sim.now).expect("redraw");
        assert_eq!(redrawn.session, registered.session);
        assert_ne!(redrawn.routing, registered.routing);
        assert_eq!(sim.reg.waiting_codes().len(), 1);
        sim.reg.check_invariants();
        let viewer = sim.conn(ip(2));
        sim.reg.check_join(viewer, V, sim.now).expect("checks");
        // The directory named another session (a stale entry): unknown, and the code stays.
        let r = sim
            .reg
            .join_claimed(viewer, &redrawn.routing, redrawn.session + 1, sim.now)
            .expect_err("stale");
        assert_eq!(r.reason, RefusalReason::UnknownCode);
        assert_eq!(sim.reg.waiting(), 1);
        let pairing = sim
            .reg
            .join_claimed(viewer, &redrawn.routing, redrawn.session, sim.now)
            .expect("paired");
        assert_eq!(pairing.host, host);
        sim.reg.check_invariants();
        // A waiting host withdrawn goes back to idle; its code is forgotten.
        let (other, code) = sim.host(ip(3), 60);
        assert_eq!(sim.reg.waiting_host(code.session), Some(other));
        assert_eq!(
            sim.reg.withdraw(other, sim.now),
            Some((code.routing.clone(), code.session))
        );
        assert_eq!(sim.reg.waiting(), 0);
        assert_eq!(sim.reg.waiting_host(code.session), None);
        sim.reg.check_invariants();
        // Replacing a code reports the old one, for the directory.
        let (host3, first) = sim.host(ip(4), 60);
        let second = sim.reg.register(host3, V, 60, sim.now).expect("again");
        assert_eq!(second.replaced, Some((first.routing, first.session)));
    }

    #[test]
    fn codes_waiting_on_other_nodes_lengthen_new_codes() {
        let mut limits = generous();
        limits.min_routing_digits = 3;
        let mut sim = Sim::new(limits, 600);
        let (_, alone) = sim.host(ip(1), 60);
        assert_eq!(alone.routing.as_str().len(), 3);
        sim.reg.set_cluster_waiting(5_000);
        let (_, crowded) = sim.host(ip(2), 60);
        assert_eq!(crowded.routing.as_str().len(), 6, "5 002 codes in use");
    }
}
