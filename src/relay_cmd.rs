//! `tandem relay`: the rendezvous relay as a long-running service.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use tandem_relay::{Relay, RelayConfig};
use tokio_util::sync::CancellationToken;

use crate::output::Output;

/// The relay's default UDP port.
pub const DEFAULT_PORT: u16 = tandem_relay::DEFAULT_PORT;

#[derive(Args)]
pub struct RelayArgs {
    /// UDP address to listen on.
    #[arg(long, default_value_t = SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)))]
    listen: SocketAddr,
    /// Where the relay keeps its certificate and key (default: $XDG_DATA_HOME/tandem/relay or
    /// ~/.local/share/tandem/relay).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// A TOML config file (limits, code lifetime, certificate files); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// One JSON object per line for each event.
    #[arg(long)]
    json: bool,
}

pub fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("tandem").join("relay")
}

pub fn run(args: RelayArgs) -> anyhow::Result<ExitCode> {
    let out = Output { json: args.json };
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    let config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the relay config {}", path.display()))?;
            let file: tandem_relay::config::FileConfig = toml::from_str(&text)
                .with_context(|| format!("parsing the relay config {}", path.display()))?;
            let mut config = file.into_config(data_dir);
            config.listen = args.listen;
            config
        }
        None => RelayConfig::new(args.listen, data_dir),
    };
    let runtime = crate::runtime()?;
    runtime.block_on(serve(config, out))
}

async fn serve(config: RelayConfig, out: Output) -> anyhow::Result<ExitCode> {
    let data_dir = config.data_dir.clone();
    let relay = Relay::bind(config).await.context("starting the relay")?;
    let addr = relay.local_addr();
    let fingerprint = relay.fingerprint().to_string();
    out.event(
        "listening",
        json!({ "addr": addr.to_string(), "fingerprint": fingerprint, "data_dir": data_dir }),
        || {
            format!(
                "Tandem relay listening on {addr} (UDP)\n\
                 Certificate fingerprint: {fingerprint}\n\
                 Users connect with: --relay <this-host>:{port} --fingerprint {fingerprint}",
                port = addr.port()
            )
        },
    );
    let mut events = relay.events();
    let shutdown = CancellationToken::new();
    let serving = tokio::spawn(relay.run(shutdown.clone()));
    loop {
        tokio::select! {
            _ = shutdown_signal() => break,
            event = events.recv() => match event {
                Ok(event) => print_event(&out, &event),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    shutdown.cancel();
    serving.await.context("the relay task failed")??;
    out.event("stopped", json!({}), || "Relay stopped.".into());
    Ok(ExitCode::SUCCESS)
}

fn print_event(out: &Output, event: &tandem_relay::RelayEvent) {
    use tandem_relay::RelayEvent;
    match event {
        RelayEvent::SessionStarted { session_id } => out.event(
            "session_started",
            json!({ "session_id": session_id }),
            || format!("session {session_id} paired"),
        ),
        RelayEvent::SessionEnded { session_id, reason } => out.event(
            "session_ended",
            json!({ "session_id": session_id, "reason": reason }),
            || format!("session {session_id} ended: {reason}"),
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
