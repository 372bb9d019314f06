//! `tandem`: remote desktop support through a one-time code.
//!
//! The binary is thin: it parses flags, wires the library crates together, prints events (as prose or
//! `--json` lines) and maps errors to exit codes.

mod bench_cmd;
mod demo_cmd;
mod join_cmd;
mod output;
mod relay_cmd;
mod share_cmd;
mod stdin_commands;
mod trust;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tandem", version, about = "Remote desktop support through a one-time code", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the rendezvous relay that pairs hosts and viewers.
    Relay(relay_cmd::RelayArgs),
    /// Share this screen: get a code to read to your technician.
    Share(share_cmd::ShareArgs),
    /// Join a shared screen with the code the user read to you.
    Join(join_cmd::JoinArgs),
    /// Run relay, share and join on this machine in one go (on a virtual display if there is none).
    Demo(demo_cmd::DemoArgs),
    /// Measure the screen codec on a corpus of recordings.
    Bench(bench_cmd::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_logs = matches!(&cli.command, Command::Relay(args) if args.json_logs());
    init_logging(json_logs);
    let result = match cli.command {
        Command::Relay(args) => relay_cmd::run(args),
        Command::Share(args) => share_cmd::run(args),
        Command::Join(args) => join_cmd::run(args),
        Command::Demo(args) => demo_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout carries events); `RUST_LOG` filters them. By default: warnings, plus the
/// audit trail (session start and end, technician, permissions, end reason; never codes, keys or
/// content) of the host and the relay. `json`: one JSON object per line (`tandem relay --log-format
/// json`).
fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,tandem::audit=info,tandem_relay=info")
    });
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}

/// A multi-threaded tokio runtime with named threads; two workers are plenty for one session.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tandem-net")
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Whether an X display is available to open windows on.
fn have_display() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
}
