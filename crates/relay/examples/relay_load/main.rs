//! Load tool for the relay: run a relay process with load-friendly limits, drive many real QUIC
//! host/viewer pairs against it, or hold many waiting codes. Commands and figures:
//! crates/relay/PERFORMANCE.md.
//!
//! ```text
//! relay_load serve   --listen 127.0.0.1:7447 --data-dir DIR [--metrics 127.0.0.1:9447]
//!                    [--cluster redis://127.0.0.1:6379/0 --node-id n1] [--default-limits true]
//! relay_load load    --relay 127.0.0.1:7447 --fingerprint FP --sessions 1000 --rate 50000 --secs 30
//!                    [--concurrency 50] [--wrong-joins N] [--abandoned N] [--endpoints N]
//!                    [--nodes ADDR=FP,ADDR=FP --viewer-offset K]   (a cluster: see PERFORMANCE.md)
//!                    [--many-sources true]   (each connection from its own 127.x.y.z)
//!                    [--join-flood PER_SEC]  (wrong-code joins from new addresses while streaming)
//! relay_load waiting --relay 127.0.0.1:7447 --fingerprint FP --n 10000   (holds until stdin closes)
//! ```

mod driver;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use tandem_relay::{Rate, RateLimits, Relay, RelayConfig, RelayTrust};
use tokio_util::sync::CancellationToken;

/// Limits that let one load machine (one address) open thousands of sessions.
fn load_limits() -> RateLimits {
    let lots = Rate::new(1_000_000, 1_000_000);
    RateLimits {
        register_per_ip: lots,
        register_global: lots,
        join_per_ip: lots,
        join_global: lots,
        max_waiting_hosts: 100_000,
        max_waiting_per_ip: 1_000_000,
        max_connections: 100_000,
        max_connections_per_ip: 1_000_000,
        ..RateLimits::default()
    }
}

fn flags(args: &[String]) -> anyhow::Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(name) = flag.strip_prefix("--") else {
            bail!("unexpected argument {flag:?}");
        };
        let value = it
            .next()
            .with_context(|| format!("--{name} needs a value"))?;
        out.insert(name.to_owned(), value.clone());
    }
    Ok(out)
}

fn get<T: std::str::FromStr>(
    flags: &HashMap<String, String>,
    name: &str,
    default: Option<T>,
) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match flags.get(name) {
        Some(v) => v
            .parse()
            .map_err(|e| anyhow::anyhow!("--{name} {v:?}: {e}")),
        None => default.with_context(|| format!("--{name} is required")),
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        bail!("usage: relay_load serve|load|waiting --flag value ...");
    };
    let flags = flags(rest)?;
    let threads: usize = get(&flags, "threads", Some(2))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match command.as_str() {
            "serve" => serve(&flags).await,
            "load" => load(&flags).await,
            "waiting" => waiting(&flags).await,
            other => bail!("unknown command {other:?}"),
        }
    })
}

async fn serve(flags: &HashMap<String, String>) -> anyhow::Result<()> {
    let listen: SocketAddr = get(flags, "listen", Some("127.0.0.1:7447".parse()?))?;
    let data_dir: PathBuf = get(flags, "data-dir", None)?;
    let mut config = RelayConfig::new(listen, data_dir);
    // `--default-limits true`: the relay's real limits, for runs whose clients come from many
    // addresses (`load --many-sources true`).
    config.limits = if get(flags, "default-limits", Some(false))? {
        tandem_relay::RateLimits::default()
    } else {
        load_limits()
    };
    config.metrics = flags.get("metrics").map(|m| m.parse()).transpose()?;
    if let Some(redis) = flags.get("cluster") {
        let mut cluster = tandem_relay::ClusterConfig::new(redis.clone());
        cluster.node_id = flags.get("node-id").cloned();
        config.cluster = Some(cluster);
    }
    let relay = Relay::bind(config).await?;
    println!(
        "listening {} fingerprint {} pid {}",
        relay.local_addr(),
        relay.fingerprint(),
        std::process::id()
    );
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    relay.run(shutdown).await?;
    Ok(())
}

fn load_config(flags: &HashMap<String, String>) -> anyhow::Result<driver::LoadConfig> {
    Ok(driver::LoadConfig {
        relay: get(flags, "relay", None)?,
        trust: RelayTrust::Fingerprint(get(flags, "fingerprint", None)?),
        sessions: get(flags, "sessions", Some(100))?,
        rate: get(flags, "rate", Some(50_000))?,
        ticks_per_sec: get(flags, "ticks", Some(20))?,
        duration: Duration::from_secs(get(flags, "secs", Some(10))?),
        concurrency: get(flags, "concurrency", Some(50))?,
        wrong_joins: get(flags, "wrong-joins", Some(0))?,
        abandoned: get(flags, "abandoned", Some(0))?,
        endpoints: get(flags, "endpoints", Some(0))?,
        nodes: match flags.get("nodes") {
            Some(list) => list
                .split(',')
                .map(|node| {
                    let (addr, fp) = node
                        .split_once('=')
                        .with_context(|| format!("--nodes wants ADDR=FP, got {node:?}"))?;
                    Ok((addr.to_owned(), RelayTrust::Fingerprint(fp.parse()?)))
                })
                .collect::<anyhow::Result<_>>()?,
            None => Vec::new(),
        },
        viewer_offset: get(flags, "viewer-offset", Some(0))?,
        many_sources: get(flags, "many-sources", Some(false))?,
        join_flood_per_sec: get(flags, "join-flood", Some(0))?,
    })
}

async fn load(flags: &HashMap<String, String>) -> anyhow::Result<()> {
    let config = load_config(flags)?;
    let report = driver::run(config).await;
    println!("{}", report.summary());
    Ok(())
}

async fn waiting(flags: &HashMap<String, String>) -> anyhow::Result<()> {
    let config = load_config(flags)?;
    let n: usize = get(flags, "n", Some(10_000))?;
    let (hosts, failed) = driver::hold_waiting(&config, n).await;
    println!(
        "holding {} waiting codes ({failed} failed); close stdin to end",
        hosts.len()
    );
    let mut sink = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
    drop(hosts);
    Ok(())
}
