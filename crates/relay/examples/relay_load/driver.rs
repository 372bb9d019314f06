//! The load driver: many real QUIC host/viewer pairs against a relay, from one process. Each pair
//! connects, registers, joins, then the host sends timestamped records on one stream at a fixed
//! rate and the viewer reads them back, so the driver measures what a session sees: pairing time,
//! forwarded bytes and one-way latency through the relay. Faults are optional: wrong-code joins
//! and abandoned connections.
//!
//! Used by the `relay_load` example (against a relay process) and the soak test (in-process).

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tandem_proto::code::RoutingCode;
use tandem_relay::{RelayClient, RelayTrust};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Bytes of a record's header: send time (ns since the run's start) and payload length.
const HEADER: usize = 12;

/// What to drive.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub relay: String,
    pub trust: RelayTrust,
    /// Host/viewer pairs.
    pub sessions: usize,
    /// Bytes per second each host sends (0: as fast as possible).
    pub rate: u64,
    /// Records per second each host sends when rate-limited.
    pub ticks_per_sec: u32,
    /// How long every session streams once all are paired.
    pub duration: Duration,
    /// Pairs set up at once.
    pub concurrency: usize,
    /// Wrong-code joins to make while the sessions stream (faults).
    pub wrong_joins: usize,
    /// Connections opened and dropped without a request while the sessions stream (faults).
    pub abandoned: usize,
    /// Client UDP endpoints the sessions are spread over (0: one per connection, like real clients).
    pub endpoints: usize,
    /// More nodes of a relay cluster besides `relay`: session `i`'s host registers on node
    /// `i % n` of all of them, so sessions spread over the nodes.
    pub nodes: Vec<(String, RelayTrust)>,
    /// Its viewer joins on node `(i + viewer_offset) % n`: 0 pairs on the host's node, anything
    /// else on another node, which redirects it to the host's.
    pub viewer_offset: usize,
    /// Every connection from its own loopback address (127.x.y.z), as many real clients would be:
    /// per-address limits then count each client apart. Overrides `endpoints`.
    pub many_sources: bool,
    /// Wrong-code joins per second, each from a new loopback address, while the sessions stream.
    pub join_flood_per_sec: u32,
}

impl LoadConfig {
    /// Node `i % n` of the relay and the extra nodes.
    fn node(&self, i: usize) -> (&str, &RelayTrust) {
        let n = self.nodes.len() + 1;
        match i % n {
            0 => (&self.relay, &self.trust),
            k => {
                let (relay, trust) = &self.nodes[k - 1];
                (relay, trust)
            }
        }
    }
}

/// The client endpoints of a run: shared ones, or none (each client binds its own).
#[derive(Clone)]
struct Endpoints(Arc<Vec<quinn::Endpoint>>);

/// Loopback source address number `n` (from 1): 127.x.y.z, never 127.0.0.1's own /24 neighbours
/// used by other tests.
fn loopback_source(n: u32) -> std::net::SocketAddr {
    let n = n % 0x00ff_0000 + 0x0001_0000;
    std::net::SocketAddr::from(([127, (n >> 16) as u8, (n >> 8) as u8, n as u8], 0))
}

/// A client endpoint of its own on loopback address number `n`.
fn endpoint_on_source(n: u32) -> anyhow::Result<quinn::Endpoint> {
    let (socket, _, _) = tandem_relay::tls::udp_socket(loopback_source(n))?;
    let runtime = quinn::default_runtime().context("no runtime")?;
    Ok(quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        None,
        socket,
        runtime,
    )?)
}

impl Endpoints {
    fn new(n: usize) -> anyhow::Result<Self> {
        let mut endpoints = Vec::with_capacity(n);
        for _ in 0..n {
            // Large socket buffers, as the relay has: a shared endpoint carries many connections.
            let (socket, _, _) = tandem_relay::tls::udp_socket("127.0.0.1:0".parse()?)?;
            let runtime = quinn::default_runtime().context("no runtime")?;
            endpoints.push(quinn::Endpoint::new(
                quinn::EndpointConfig::default(),
                None,
                socket,
                runtime,
            )?);
        }
        Ok(Self(Arc::new(endpoints)))
    }

    /// Connection `i` to node `node` (see [`LoadConfig::node`]).
    async fn connect(
        &self,
        i: usize,
        node: usize,
        config: &LoadConfig,
    ) -> anyhow::Result<RelayClient> {
        let (relay, trust) = config.node(node);
        if config.many_sources {
            let endpoint = endpoint_on_source(i as u32 + 1)?;
            return Ok(RelayClient::connect_on(&endpoint, relay, trust).await?);
        }
        Ok(match self.0.get(i % self.0.len().max(1)) {
            Some(endpoint) => RelayClient::connect_on(endpoint, relay, trust).await?,
            None => RelayClient::connect(relay, trust).await?,
        })
    }
}

/// What the run saw.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub paired: usize,
    pub failed_setup: usize,
    pub failed_streaming: usize,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// One-way record latencies, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
    /// Pairing times (connect both, register, join, paired), in microseconds, sorted.
    pub setup_us: Vec<u64>,
    pub wrong_joins_refused: usize,
    /// Flood joins refused as rate-limited, refused otherwise (unknown code), and failed to connect.
    pub flood_rate_limited: usize,
    pub flood_refused_other: usize,
    pub flood_unconnected: usize,
    pub elapsed: Duration,
}

impl Report {
    pub fn percentile(sorted: &[u64], p: f64) -> u64 {
        if sorted.is_empty() {
            return 0;
        }
        let i = ((sorted.len() - 1) as f64 * p).round() as usize;
        sorted[i.min(sorted.len() - 1)]
    }

    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        format!(
            "paired {} failed_setup {} failed_streaming {} sent {} B received {} B ({:.1} MB/s) \
             latency p50 {} us p99 {} us max {} us setup p50 {} ms p99 {} ms wrong_joins_refused {} \
             flood rate_limited {} refused_other {} unconnected {}",
            self.paired,
            self.failed_setup,
            self.failed_streaming,
            self.bytes_sent,
            self.bytes_received,
            self.bytes_received as f64 / secs / 1e6,
            Self::percentile(&self.latencies_us, 0.5),
            Self::percentile(&self.latencies_us, 0.99),
            self.latencies_us.last().copied().unwrap_or(0),
            Self::percentile(&self.setup_us, 0.5) / 1000,
            Self::percentile(&self.setup_us, 0.99) / 1000,
            self.wrong_joins_refused,
            self.flood_rate_limited,
            self.flood_refused_other,
            self.flood_unconnected,
        )
    }
}

/// A paired session, ready to stream.
struct Pair {
    host: RelayClient,
    viewer: RelayClient,
    setup: Duration,
}

async fn pair(config: &LoadConfig, endpoints: &Endpoints, i: usize) -> anyhow::Result<Pair> {
    let started = Instant::now();
    let mut host = endpoints.connect(2 * i, i, config).await?;
    let registration = host.register(Duration::from_secs(600)).await?;
    // A run that keeps the relay's default limits pairs more sessions than the global join
    // bucket's burst: a rate-limited viewer comes back a second later on a new connection, as a
    // person retrying would (one connection refused too often is closed by the relay).
    let mut tries = 0;
    let viewer = loop {
        let mut viewer = endpoints
            .connect(2 * i + 1, i + config.viewer_offset, config)
            .await?;
        match viewer.join(&registration.routing).await {
            Ok(()) => break viewer,
            Err(tandem_relay::ClientError::RateLimited { .. }) if tries < 120 => {
                tries += 1;
                viewer.close("rate-limited; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    host.wait_paired().await?;
    Ok(Pair {
        host,
        viewer,
        setup: started.elapsed(),
    })
}

/// Counters shared by every session of a run.
#[derive(Default)]
struct Totals {
    sent: AtomicU64,
    received: AtomicU64,
}

/// Streams records from host to viewer until `until`; returns the viewer's latencies.
async fn stream(
    pair: Pair,
    config: Arc<LoadConfig>,
    origin: Instant,
    until: Instant,
    totals: Arc<Totals>,
) -> anyhow::Result<Vec<u64>> {
    let Pair { host, viewer, .. } = pair;
    let mut send = host.connection().open_uni().await?;
    let reader = {
        let viewer_conn = viewer.connection().clone();
        let totals = totals.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut recv = viewer_conn.accept_uni().await?;
            let mut header = [0u8; HEADER];
            let mut body = Vec::new();
            loop {
                match recv.read_exact(&mut header).await {
                    Ok(()) => {}
                    Err(quinn::ReadExactError::FinishedEarly(_)) => break,
                    Err(e) => return Err(anyhow::Error::from(e)),
                }
                let sent_ns = u64::from_be_bytes(header[..8].try_into()?);
                let len = u32::from_be_bytes(header[8..].try_into()?) as usize;
                body.resize(len, 0);
                recv.read_exact(&mut body).await?;
                let now_ns = origin.elapsed().as_nanos() as u64;
                latencies.push(now_ns.saturating_sub(sent_ns) / 1000);
                totals
                    .received
                    .fetch_add((HEADER + len) as u64, Ordering::Relaxed);
            }
            anyhow::Ok(latencies)
        })
    };
    let tick = if config.rate == 0 {
        Duration::ZERO
    } else {
        Duration::from_secs(1) / config.ticks_per_sec.max(1)
    };
    let payload_len = if config.rate == 0 {
        64 * 1024 - HEADER
    } else {
        ((config.rate / u64::from(config.ticks_per_sec.max(1))) as usize).max(HEADER + 1) - HEADER
    };
    let payload = vec![0x5au8; payload_len];
    let mut record = Vec::with_capacity(HEADER + payload_len);
    let mut next = Instant::now();
    while Instant::now() < until {
        record.clear();
        record.extend_from_slice(&(origin.elapsed().as_nanos() as u64).to_be_bytes());
        record.extend_from_slice(&(payload_len as u32).to_be_bytes());
        record.extend_from_slice(&payload);
        send.write_all(&record).await?;
        totals
            .sent
            .fetch_add(record.len() as u64, Ordering::Relaxed);
        if !tick.is_zero() {
            next += tick;
            tokio::time::sleep_until(next.into()).await;
        }
    }
    send.finish()?;
    let latencies = reader.await??;
    host.close("load done");
    viewer.close("load done");
    Ok(latencies)
}

/// Runs the whole load: sets every pair up, streams for `duration`, tears down.
pub async fn run(config: LoadConfig) -> Report {
    let config = Arc::new(config);
    let mut report = Report::default();
    let origin = Instant::now();
    let gate = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let endpoints = match Endpoints::new(config.endpoints) {
        Ok(endpoints) => endpoints,
        Err(e) => {
            eprintln!("cannot bind client endpoints: {e:#}");
            report.failed_setup = config.sessions;
            return report;
        }
    };
    let mut setups = JoinSet::new();
    for i in 0..config.sessions {
        let config = config.clone();
        let gate = gate.clone();
        let endpoints = endpoints.clone();
        setups.spawn(async move {
            let _permit = gate.acquire_owned().await;
            pair(&config, &endpoints, i).await
        });
    }
    let mut pairs = Vec::with_capacity(config.sessions);
    while let Some(done) = setups.join_next().await {
        match done {
            Ok(Ok(pair)) => {
                report.setup_us.push(pair.setup.as_micros() as u64);
                pairs.push(pair);
            }
            Ok(Err(e)) => {
                report.failed_setup += 1;
                eprintln!("setup failed: {e:#}");
            }
            Err(e) => {
                report.failed_setup += 1;
                eprintln!("setup task failed: {e}");
            }
        }
    }
    report.paired = pairs.len();
    let totals = Arc::new(Totals::default());
    let streaming_started = Instant::now();
    let until = streaming_started + config.duration;
    let mut streams = JoinSet::new();
    for pair in pairs {
        streams.spawn(stream(pair, config.clone(), origin, until, totals.clone()));
    }
    // Faults while the sessions stream.
    let mut faults = JoinSet::new();
    for i in 0..config.wrong_joins {
        let config = config.clone();
        faults.spawn(async move {
            let mut viewer = RelayClient::connect(&config.relay, &config.trust)
                .await
                .ok()?;
            let guess = RoutingCode::new(&format!("{:06}", 999_999 - i % 1000)).ok()?;
            let refused = viewer.join(&guess).await.is_err();
            viewer.close("guess done");
            Some(refused)
        });
    }
    for _ in 0..config.abandoned {
        let config = config.clone();
        faults.spawn(async move {
            // Connected, then dropped without a word: the relay's idle deadline or the QUIC idle
            // timeout cleans it up.
            let client = RelayClient::connect(&config.relay, &config.trust)
                .await
                .ok()?;
            drop(client);
            Some(false)
        });
    }
    while let Some(done) = faults.join_next().await {
        if let Ok(Some(true)) = done {
            report.wrong_joins_refused += 1;
        }
    }
    if config.join_flood_per_sec > 0 {
        let flood = join_flood(&config, until).await;
        report.flood_rate_limited = flood.0;
        report.flood_refused_other = flood.1;
        report.flood_unconnected = flood.2;
    }
    while let Some(done) = streams.join_next().await {
        match done {
            Ok(Ok(latencies)) => report.latencies_us.extend(latencies),
            Ok(Err(e)) => {
                report.failed_streaming += 1;
                eprintln!("streaming failed: {e:#}");
            }
            Err(e) => {
                report.failed_streaming += 1;
                eprintln!("streaming task failed: {e}");
            }
        }
    }
    report.elapsed = streaming_started.elapsed();
    report.bytes_sent = totals.sent.load(Ordering::Relaxed);
    report.bytes_received = totals.received.load(Ordering::Relaxed);
    report.latencies_us.sort_unstable();
    report.setup_us.sort_unstable();
    report
}

/// Wrong-code joins at `join_flood_per_sec`, each from a new loopback address, until `until`.
/// Returns how many were refused as rate-limited, refused otherwise, and never connected.
async fn join_flood(config: &Arc<LoadConfig>, until: Instant) -> (usize, usize, usize) {
    let mut joins = JoinSet::new();
    let period = Duration::from_secs(1) / config.join_flood_per_sec.max(1);
    let mut next = Instant::now();
    // Addresses after the sessions' own.
    let mut source = 2 * config.sessions as u32 + 1;
    while Instant::now() < until {
        let config = config.clone();
        source += 1;
        let n = source;
        joins.spawn(async move {
            let endpoint = endpoint_on_source(n).ok()?;
            let mut viewer = RelayClient::connect_on(&endpoint, &config.relay, &config.trust)
                .await
                .ok()?;
            let guess = RoutingCode::new(&format!("{:06}", 999_999 - n % 100_000)).ok()?;
            let outcome = viewer.join(&guess).await;
            viewer.close("flood join done");
            Some(matches!(
                outcome,
                Err(tandem_relay::ClientError::RateLimited { .. })
            ))
        });
        next += period;
        tokio::time::sleep_until(next.into()).await;
    }
    let (mut limited, mut other, mut unconnected) = (0, 0, 0);
    while let Some(done) = joins.join_next().await {
        match done {
            Ok(Some(true)) => limited += 1,
            Ok(Some(false)) => other += 1,
            _ => unconnected += 1,
        }
    }
    (limited, other, unconnected)
}

/// Registers `n` hosts and keeps them waiting until the returned clients are dropped. Returns the
/// hosts that got a code and how many attempts failed.
pub async fn hold_waiting(config: &LoadConfig, n: usize) -> (Vec<RelayClient>, usize) {
    let gate = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let Ok(endpoints) = Endpoints::new(config.endpoints) else {
        return (Vec::new(), n);
    };
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let (config, gate, endpoints) = (config.clone(), gate.clone(), endpoints.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let mut host = endpoints.connect(i, i, &config).await?;
            host.register(Duration::from_secs(600)).await?;
            anyhow::Ok(host)
        });
    }
    let mut hosts = Vec::with_capacity(n);
    let mut failed = 0;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(host)) => hosts.push(host),
            Ok(Err(e)) => {
                failed += 1;
                eprintln!("register failed: {e:#}");
            }
            Err(_) => failed += 1,
        }
    }
    (hosts, failed)
}
