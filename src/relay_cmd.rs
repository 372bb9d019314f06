//! `tandem relay`: the rendezvous relay as a long-running service.
//!
//! Signals: SIGTERM drains (no new codes, readiness false, live sessions get the drain timeout,
//! then everything is closed with a reason); a second SIGTERM or Ctrl-C stops at once. SIGHUP
//! re-reads the config file and applies its limits, code lifetime and certificate files.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::json;
use tandem_i18n::tr;
use tandem_relay::{Relay, RelayConfig, RelayHandle};
use tokio_util::sync::CancellationToken;

use crate::output::Output;

/// The relay's default UDP port.
pub const DEFAULT_PORT: u16 = tandem_relay::DEFAULT_PORT;

#[derive(Args)]
pub struct RelayArgs {
    /// UDP address to listen on [default: 0.0.0.0:7447, or the config file's `listen`].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Where the relay keeps its certificate and key (default: $XDG_DATA_HOME/tandem/relay or
    /// ~/.local/share/tandem/relay; under systemd, $STATE_DIRECTORY).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// A TOML config file (limits, code lifetime, certificate files, metrics); flags override it.
    /// See contrib/relay.toml for every key. SIGHUP re-reads it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// TCP address for Prometheus /metrics, /healthz and /readyz, e.g. 127.0.0.1:9447.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Join a cluster of relays sharing one directory of waiting codes in Redis, e.g.
    /// redis://10.0.0.5:6379/0 (or the config file's [cluster] table).
    #[arg(long, value_name = "REDIS_URL")]
    cluster: Option<String>,
    /// This node's id in the cluster (default: the config's, or a random one).
    #[arg(long, requires = "cluster")]
    cluster_node_id: Option<String>,
    /// Where clients reach this node, host:port (default: the config's, or the listen address).
    #[arg(long, requires = "cluster")]
    cluster_public_addr: Option<String>,
    /// The host name (or address) clients use to reach this relay, for the invite it prints
    /// (default: the listen address if it is a specific IP, else this machine's host name).
    #[arg(long, value_name = "HOST")]
    public_host: Option<String>,
    /// Log lines (stderr) as text or one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// One JSON object per line for each event (stdout).
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

impl RelayArgs {
    /// Whether logs should be JSON lines.
    pub fn json_logs(&self) -> bool {
        self.log_format == LogFormat::Json
    }
}

pub fn default_data_dir() -> PathBuf {
    // systemd's StateDirectory= sets this.
    if let Some(dir) = std::env::var_os("STATE_DIRECTORY").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("tandem").join("relay")
}

fn read_config(path: &Path) -> anyhow::Result<tandem_relay::config::FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| tr!("relay-reading-config", path = path.display().to_string()))?;
    tandem_relay::config::FileConfig::from_toml(&text)
        .with_context(|| tr!("relay-parsing-config", path = path.display().to_string()))
}

pub fn run(args: RelayArgs) -> anyhow::Result<ExitCode> {
    let out = Output { json: args.json };
    let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    let mut config = match &args.config {
        Some(path) => read_config(path)?.into_config(data_dir),
        None => RelayConfig::new(SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)), data_dir),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(metrics) = args.metrics {
        config.metrics = Some(metrics);
    }
    if let Some(redis) = &args.cluster {
        let mut cluster = config
            .cluster
            .take()
            .unwrap_or_else(|| tandem_relay::ClusterConfig::new(redis.clone()));
        cluster.redis = redis.clone();
        config.cluster = Some(cluster);
    }
    if let Some(cluster) = &mut config.cluster {
        if let Some(id) = &args.cluster_node_id {
            cluster.node_id = Some(id.clone());
        }
        if let Some(addr) = &args.cluster_public_addr {
            cluster.public_addr = Some(addr.clone());
        }
    }
    let runtime = crate::runtime()?;
    runtime.block_on(serve(config, args, out))
}

async fn serve(config: RelayConfig, args: RelayArgs, out: Output) -> anyhow::Result<ExitCode> {
    let data_dir = config.data_dir.clone();
    let relay = Relay::bind(config)
        .await
        .with_context(|| tr!("relay-starting"))?;
    let addr = relay.local_addr();
    let fingerprint = relay.fingerprint().to_string();
    let metrics = relay.metrics_addr();
    let node_id = relay.node_id().map(str::to_owned);
    let invite = crate::trust::invite_string(
        &public_addr(args.public_host.as_deref(), addr),
        &relay.fingerprint(),
    );
    // Before `listening`: whoever reads it may signal at once, and a SIGHUP that arrives before
    // the handler is installed would kill the process (its default action).
    let mut signals = Signals::new()?;
    out.event(
        "listening",
        json!({
            "addr": addr.to_string(),
            "fingerprint": fingerprint,
            "invite": invite,
            "data_dir": data_dir,
            "metrics": metrics.map(|m| m.to_string()),
            "node_id": node_id,
        }),
        || {
            let mut text = tr!(
                "relay-listening",
                addr = addr.to_string(),
                fingerprint = fingerprint.as_str(),
                invite = invite.as_str()
            );
            if let Some(metrics) = metrics {
                text.push('\n');
                text.push_str(&tr!("relay-metrics", addr = metrics.to_string()));
            }
            if let Some(id) = node_id.as_deref() {
                text.push('\n');
                text.push_str(&tr!("relay-cluster-node", node = id));
            }
            text
        },
    );
    let mut events = relay.events();
    let handle = relay.handle();
    let shutdown = CancellationToken::new();
    let mut serving = tokio::spawn(relay.run(shutdown.clone()));
    let mut draining = false;
    let result = loop {
        tokio::select! {
            result = &mut serving => break result,
            signal = signals.next() => match signal {
                Signal::Terminate if !draining => {
                    draining = true;
                    out.event("draining", json!({}), || {
                        tr!("relay-draining")
                    });
                    // The relay may have just stopped; `serving` then ends the loop.
                    let _ = handle.drain();
                }
                Signal::Terminate | Signal::Interrupt => shutdown.cancel(),
                Signal::Reload => reload(&handle, &args, &data_dir, &out),
            },
            event = events.recv() => match event {
                Ok(event) => print_event(&out, &event),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                // The relay is gone; `serving` ends the loop.
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    shutdown.cancel();
                    break (&mut serving).await;
                }
            },
        }
    };
    result.with_context(|| tr!("relay-task-failed"))??;
    out.event("stopped", json!({}), || tr!("relay-stopped"));
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP: re-read the config file and apply what can change while running.
fn reload(handle: &RelayHandle, args: &RelayArgs, data_dir: &Path, out: &Output) {
    let Some(path) = &args.config else {
        out.event(
            "reload_skipped",
            json!({ "reason": "no config file" }),
            || tr!("relay-reload-skipped"),
        );
        return;
    };
    let applied = read_config(path).and_then(|file| {
        let config = file.into_config(data_dir.to_owned());
        handle
            .reload(
                config.limits,
                config.max_code_ttl,
                Some((&config.tls, data_dir)),
            )
            .with_context(|| tr!("relay-reloading-certificate"))
    });
    match applied {
        Ok(fingerprint) => {
            let fingerprint = fingerprint.map(|f| f.to_string());
            out.event("reloaded", json!({ "fingerprint": fingerprint }), || {
                let path = path.display().to_string();
                match fingerprint.as_deref() {
                    Some(fingerprint) => tr!(
                        "relay-reloaded-certificate",
                        path = path,
                        fingerprint = fingerprint
                    ),
                    None => tr!("relay-reloaded", path = path),
                }
            })
        }
        Err(e) => out.event(
            "reload_failed",
            json!({ "error": format!("{e:#}") }),
            || tr!("relay-reload-failed", error = format!("{e:#}")),
        ),
    }
}

enum Signal {
    Terminate,
    Interrupt,
    Reload,
}

/// SIGTERM, SIGINT (Ctrl-C) and SIGHUP as a stream.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
                hup: signal(SignalKind::hangup()).context("listening for SIGHUP")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => Signal::Interrupt,
                _ = self.term.recv() => Signal::Terminate,
                _ = self.hup.recv() => Signal::Reload,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Interrupt
        }
    }
}

fn print_event(out: &Output, event: &tandem_relay::RelayEvent) {
    use tandem_relay::RelayEvent;
    match event {
        RelayEvent::SessionStarted { session_id } => out.event(
            "session_started",
            json!({ "session_id": session_id }),
            || tr!("relay-session-started", session = session_id.to_string()),
        ),
        RelayEvent::SessionEnded { session_id, reason } => out.event(
            "session_ended",
            json!({ "session_id": session_id, "reason": reason }),
            || {
                tr!(
                    "relay-session-ended",
                    session = session_id.to_string(),
                    reason = reason.to_string()
                )
            },
        ),
        _ => {}
    }
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// `HOST:PORT` clients use: `public_host` if given, else the listen address if it names one
/// machine, else this machine's host name.
fn public_addr(public_host: Option<&str>, listen: SocketAddr) -> String {
    let port = listen.port();
    let host = match public_host {
        Some(host) => host.to_owned(),
        None if !listen.ip().is_unspecified() => listen.ip().to_string(),
        None => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "localhost".to_owned()),
    };
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
