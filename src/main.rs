//! `tandem`: remote desktop support through a one-time code.
//!
//! The binary is thin: it parses flags, wires the library crates together, prints events (as prose or
//! `--json` lines) and maps errors to exit codes.

mod bench_cmd;
mod bench_session;
mod collab_cli;
mod demo_cmd;
mod help_text;
mod join_cmd;
mod output;
mod play_cmd;
mod relay_cmd;
mod report;
mod share_cmd;
mod show_screen;
mod stdin_commands;
mod trust;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tandem", version, about = "Remote desktop support through a one-time code", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log lines on stderr: -v also shows informational lines and other libraries'
    /// warnings, -vv debug lines. `RUST_LOG` overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// The language of windows and messages: en or fr (default: the system's, else English).
    #[arg(long, global = true, env = "TANDEM_LANG", value_parser = parse_language)]
    lang: Option<tandem_i18n::Language>,
}

/// `--theme light|dark|system` of `share` and `join`.
pub(crate) fn parse_theme(text: &str) -> Result<tandem_host::window::ThemeChoice, String> {
    tandem_host::window::ThemeChoice::parse(text)
        .ok_or_else(|| tandem_i18n::tr!("cli-unknown-theme", name = text))
}

fn parse_language(tag: &str) -> Result<tandem_i18n::Language, String> {
    tandem_i18n::Language::from_tag(tag)
        .ok_or_else(|| tandem_i18n::tr!("cli-unknown-language", tag = tag))
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
    /// Measure the screen codec on a corpus of recordings, or a live session (`--session`).
    Bench(bench_cmd::BenchArgs),
    /// Replay a session recording (`join --record`), or extract a frame as a PNG.
    Play(play_cmd::PlayArgs),
}

fn main() -> ExitCode {
    // The language is needed before clap parses: it writes the help and the flags' errors.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let tandem_lang = std::env::var("TANDEM_LANG").ok();
    let language = help_text::language_before_parsing(&args, tandem_lang.as_deref());
    tandem_i18n::set_language(language);
    let mut command = help_text::translated(Cli::command(), language);
    let matches = command.clone().get_matches_from(args);
    let cli =
        Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.format(&mut command).exit());
    let json_logs = matches!(&cli.command, Command::Relay(args) if args.json_logs());
    init_logging(json_logs, cli.verbose);
    tandem_i18n::set_language(cli.lang.unwrap_or_else(tandem_i18n::Language::from_system));
    let result = match cli.command {
        Command::Relay(args) => relay_cmd::run(args),
        Command::Share(args) => share_cmd::run(args),
        Command::Join(args) => join_cmd::run(args),
        Command::Demo(args) => demo_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Play(args) => play_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // Error chains can quote peers (the relay's refusal, the other side's End detail).
            let message = format!("{error:#}");
            let message = tandem_proto::text::for_display(&message);
            eprintln!("{}", tandem_i18n::tr!("cli-error", message = message));
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout carries events); `RUST_LOG` filters them. By default: warnings, plus the
/// audit trail (session start and end, technician, permissions, end reason; never codes, keys or
/// content) of the host and the relay. `json`: one JSON object per line (`tandem relay --log-format
/// json`).
fn init_logging(json: bool, verbose: u8) {
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref(), verbose);
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}

/// Crates that see keystrokes, typed text or clipboard contents and may log them at debug or trace:
/// pinned to `warn` whatever `RUST_LOG` says, so a debug log never records what someone typed.
const PRIVATE_INPUT_CRATES: [&str; 7] = [
    "enigo",
    "x11rb",
    "x11rb_protocol",
    "winit",
    "egui_winit",
    "accesskit_unix",
    "arboard",
];

/// Libraries whose warnings are remarks a person cannot act on (enigo's "modifier_no: 5 is
/// unmapped", winit's XRandR notes, GL driver chatter): hidden unless asked for with `-v` or
/// `RUST_LOG`.
const REMARK_CRATES: [&str; 4] = ["eframe", "egui_glow", "glutin", "glutin_winit"];

fn log_filter(rust_log: Option<&str>, verbose: u8) -> tracing_subscriber::EnvFilter {
    let asked = rust_log.and_then(|spec| tracing_subscriber::EnvFilter::try_new(spec).ok());
    let quiet = asked.is_none() && verbose == 0;
    let mut filter = asked.unwrap_or_else(|| {
        tracing_subscriber::EnvFilter::new(match verbose {
            0 => "warn,tandem::audit=info,tandem_relay=info",
            1 => "info",
            _ => "debug",
        })
    });
    // Input crates: never below warn (privacy). Remark crates: errors only unless asked.
    let input_level = if quiet { "error" } else { "warn" };
    for target in PRIVATE_INPUT_CRATES {
        if let Ok(directive) = format!("{target}={input_level}").parse() {
            filter = filter.add_directive(directive);
        }
    }
    if quiet {
        for target in REMARK_CRATES {
            if let Ok(directive) = format!("{target}=error").parse() {
                filter = filter.add_directive(directive);
            }
        }
    }
    filter
}

/// A multi-threaded tokio runtime with named threads; two workers are plenty for one session.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tandem-net")
        .enable_all()
        .build()
        .with_context(|| tandem_i18n::tr!("cli-runtime-failed"))
}

/// Whether an X display is available to open windows on.
fn have_display() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::{Context, SubscriberExt};

    /// Records the target of every event that passes the filter.
    struct Targets(Arc<Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Targets {
        fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
            if let Ok(mut seen) = self.0.lock() {
                seen.push(event.metadata().target().to_owned());
            }
        }
    }

    #[test]
    fn rust_log_debug_never_logs_input_crates() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry()
            .with(super::log_filter(Some("trace"), 0))
            .with(Targets(seen.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "enigo", "key pressed");
            tracing::trace!(target: "winit", "keyboard input");
            tracing::debug!(target: "x11rb", "request");
            tracing::debug!(target: "tandem_host", "allowed");
            tracing::warn!(target: "enigo", "a real problem");
        });
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen, ["tandem_host", "enigo"]);
    }

    fn targets_seen(filter: tracing_subscriber::EnvFilter) -> Vec<String> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry()
            .with(filter)
            .with(Targets(seen.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "enigo", "modifier_no: 5 is unmapped");
            tracing::warn!(target: "winit", "XRandR remark");
            tracing::warn!(target: "tandem_host", "a real problem");
            tracing::info!(target: "tandem::audit", "session started");
            tracing::info!(target: "tandem_host", "detail");
        });
        seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    #[test]
    fn third_party_remarks_are_hidden_unless_asked_for() {
        assert_eq!(
            targets_seen(super::log_filter(None, 0)),
            ["tandem_host", "tandem::audit"]
        );
        assert_eq!(
            targets_seen(super::log_filter(None, 1)),
            [
                "enigo",
                "winit",
                "tandem_host",
                "tandem::audit",
                "tandem_host"
            ]
        );
    }
}
