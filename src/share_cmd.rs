//! `tandem share`: the person who needs help shares their screen.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::json;
use tandem_codec::EncoderConfig;
use tandem_host::{Grant, HostCommand, HostConfig, HostEvent};
use tandem_proto::text::for_display;
use tokio::sync::mpsc;

use crate::collab_cli::{self, CollabFlags, NoticePrinter, PendingOffers};
use crate::output::Output;
use crate::report::{Report, ReportFlags};
use crate::trust::RelayFlags;

#[derive(Args)]
pub struct ShareArgs {
    #[command(flatten)]
    relay: RelayFlags,
    /// How long the code stays valid, in seconds (the relay may cap it).
    #[arg(long, default_value_t = 600)]
    code_ttl: u64,
    /// Grant without asking: `view` (see the screen) or `control` (also mouse and keyboard).
    /// For scripted use only: anyone with the code gets in.
    #[arg(long, value_enum)]
    auto_accept: Option<AutoAccept>,
    /// Don't open the small status window even when a display is present (ask in the terminal).
    #[arg(long)]
    no_window: bool,
    /// The window's colours: light, dark, or the system's (default).
    #[arg(long, default_value = "system", value_parser = crate::parse_theme)]
    theme: tandem_host::window::ThemeChoice,
    /// Quality of photographic regions, 1-100 (text and UI are always exact).
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
    /// Most frames per second to capture.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=120))]
    fps: u32,
    /// Adapt to a slow link (measured from the technician's acknowledgements): lower the quality
    /// of photographic regions and the frame rate before delay builds up, and raise them again
    /// when the link clears. Text and UI stay exact either way.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    adaptive: Switch,
    #[command(flatten)]
    collab: CollabFlags,
    #[command(flatten)]
    report: ReportFlags,
    /// Don't ask "how did it go?" when you stop sharing.
    #[arg(long, conflicts_with = "feedback")]
    no_feedback: bool,
    /// Ask "how did it go?" when you stop sharing even without a window or terminal (answer on
    /// stdin: a number from 1 to 5 and an optional comment, or an empty line to skip).
    #[arg(long)]
    feedback: bool,
    /// One JSON object per line for each event.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Switch {
    On,
    Off,
}

#[derive(Clone, Copy, ValueEnum)]
enum AutoAccept {
    View,
    Control,
}

pub fn run(args: ShareArgs) -> anyhow::Result<ExitCode> {
    let out = Output { json: args.json };
    let auto_accept = args.auto_accept.map(|a| match a {
        AutoAccept::View => Grant::View,
        AutoAccept::Control => Grant::Control,
    });
    if let Some(grant) = auto_accept {
        let what = match grant {
            Grant::View => "see your screen",
            Grant::Control => "see your screen and control your mouse and keyboard",
            // --auto-accept grants view or control only.
            Grant::Diagnostics | Grant::Recording => "see your screen",
        };
        eprintln!("warning: --auto-accept: whoever enters the code can {what} without being asked");
    }
    let window = crate::have_display() && !args.no_window;
    let relay = args.relay.resolve()?;
    tracing::debug!(relay = %relay.addr, source = %relay.source, "relay chosen");
    let config = HostConfig {
        relay: relay.addr,
        trust: relay.trust,
        code_ttl: Duration::from_secs(args.code_ttl),
        auto_accept,
        encoder: EncoderConfig {
            quality: args.quality,
            ..EncoderConfig::default()
        },
        max_fps: args.fps,
        adaptive: args.adaptive == Switch::On,
        collab: args.collab.config("The technician"),
        // Asked where someone can answer: in the window, or on a terminal.
        ask_feedback: !args.no_feedback
            && (args.feedback || window || std::io::stdin().is_terminal()),
        reconnect_grace: args.relay.reconnect_grace(),
    };

    let runtime = crate::runtime()?;
    let (event_tx, mut event_rx) = mpsc::unbounded_channel();
    let (command_tx, command_rx) = mpsc::unbounded_channel();
    let session = runtime.spawn(tandem_host::run(config, event_tx, command_rx));

    // Consent questions are answered in the window, or else on stdin (y/n), so scripts can too.
    let pending: Arc<Mutex<Option<Grant>>> = Arc::default();
    let offers = PendingOffers::default();
    // The technician's screen while they show it, for `shown-snapshot PATH`.
    let shown: Arc<Mutex<Option<tandem_host::ShownPicture>>> = Arc::default();
    let feedback_wanted = Arc::new(AtomicBool::new(false));
    if !window {
        spawn_stdin_commands(
            StdinState {
                pending: pending.clone(),
                offers: offers.clone(),
                feedback_wanted: feedback_wanted.clone(),
                shown: shown.clone(),
                out,
            },
            command_tx.clone(),
        );
    }
    let (window_tx, window_rx) = std::sync::mpsc::channel();
    // The window repaints when something happens, not on a timer: each event forwarded wakes it.
    let (window_slot, wake_window) = tandem_host::window::repaint_slot();
    let printer_pending = pending.clone();
    let printer_offers = offers.clone();
    let printer_feedback = feedback_wanted.clone();
    let printer_shown = shown.clone();
    let report = Arc::new(Mutex::new(Report::new("user", None)));
    let printer_report = report.clone();
    let printer = runtime.spawn(async move {
        let mut notices = NoticePrinter::default();
        while let Some(event) = event_rx.recv().await {
            if let Ok(mut report) = printer_report.lock() {
                report.observe_host(&event);
            }
            if let HostEvent::ShownScreen { picture } = &event
                && let Ok(mut shown) = printer_shown.lock()
            {
                shown.clone_from(picture);
            }
            match &event {
                HostEvent::FeedbackWanted => printer_feedback.store(true, Ordering::SeqCst),
                HostEvent::FeedbackGiven { .. } | HostEvent::Ended { .. } => {
                    printer_feedback.store(false, Ordering::SeqCst)
                }
                _ => {}
            }
            if let HostEvent::Collab(notice) = &event {
                printer_offers.track(notice);
                notices.print(&out, notice, "The technician", !window);
                let _ = window_tx.send(event);
                wake_window();
                continue;
            }
            // Record the question before printing it: an answer typed (or scripted) as soon as it
            // shows must find it pending, not be dropped.
            if let Ok(mut pending) = printer_pending.lock() {
                match &event {
                    HostEvent::ConsentNeeded { grant, .. } => *pending = Some(*grant),
                    HostEvent::ConsentWithdrawn { grant } if *pending == Some(*grant) => {
                        *pending = None;
                    }
                    _ => {}
                }
            }
            print_event(&out, &event, window);
            let _ = window_tx.send(event);
            wake_window();
        }
    });
    let stop_tx = command_tx.clone();
    runtime.spawn(async move {
        crate::relay_cmd::shutdown_signal().await;
        let _ = stop_tx.send(HostCommand::Stop);
    });

    if window {
        if let Err(e) =
            tandem_host::window::run(window_rx, command_tx.clone(), window_slot, args.theme)
        {
            eprintln!("warning: the status window failed ({e}); continuing in the terminal");
            spawn_stdin_commands(
                StdinState {
                    pending,
                    offers,
                    feedback_wanted,
                    shown,
                    out,
                },
                command_tx.clone(),
            );
        } else {
            // The window closed: that stops sharing (a no-op if the session already ended).
            let _ = command_tx.send(HostCommand::Stop);
        }
    }
    let result = runtime
        .block_on(session)
        .context("the session task failed")?;
    let _ = runtime.block_on(printer);
    runtime.shutdown_timeout(Duration::from_secs(1));
    // Only sessions a technician joined have something to report.
    if let Ok(report) = report.lock()
        && report.check_number.is_some()
    {
        args.report.write(&report, &out);
    }
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(anyhow::Error::new(e).context("sharing failed")),
    }
}

fn print_event(out: &Output, event: &HostEvent, window: bool) {
    match event {
        HostEvent::Connected { relay, fingerprint } => out.event(
            "connected",
            json!({ "relay": relay, "fingerprint": fingerprint }),
            || format!("Connected to the relay at {relay}."),
        ),
        HostEvent::CodeIssued { code, expires_in } => out.event(
            "code_issued",
            json!({ "code": code, "expires_in_secs": expires_in.as_secs() }),
            || {
                format!(
                    "\n    Your code:  {code}\n\nRead it to your technician. It works once and expires in {} minutes.",
                    expires_in.as_secs().div_ceil(60)
                )
            },
        ),
        HostEvent::CodeBurned { wrong_tries } => out.event(
            "code_burned",
            json!({ "wrong_tries": wrong_tries, "max_wrong_tries": tandem_host::MAX_WRONG_CODES }),
            || tandem_host::window::burned_code_notice(*wrong_tries),
        ),
        HostEvent::Paired => out.event("paired", json!({}), || {
            "A technician is connecting; checking the code…".into()
        }),
        HostEvent::Secured { verifier } => out.event(
            "secured",
            json!({ "verifier": verifier }),
            || format!("Code confirmed. Check number: {verifier}"),
        ),
        HostEvent::Reconnecting { grace } => out.event(
            "reconnecting",
            json!({ "grace_secs": grace.as_secs() }),
            || {
                format!(
                    "Reconnecting… the connection was lost; nothing is shared until it is back (up to {} s).",
                    grace.as_secs()
                )
            },
        ),
        HostEvent::Resumed => out.event("resumed", json!({}), || {
            "Reconnected: the session goes on with the same permissions.".into()
        }),
        HostEvent::ConsentNeeded { grant, technician } => {
            let technician = for_display(technician);
            let what = match grant {
                Grant::View => "see your screen",
                Grant::Control => "control your mouse and keyboard",
                Grant::Diagnostics => {
                    "read facts about this computer (system, memory, disks, network, running programs)"
                }
                Grant::Recording => {
                    "record your screen (you can stop it with `record off`; if you refuse, the session goes on)"
                }
            };
            out.event(
                "consent_needed",
                json!({ "grant": grant_name(*grant), "technician": technician }),
                || {
                    if window {
                        format!("{technician} wants to {what}: answer in the Tandem window.")
                    } else {
                        format!("{technician} wants to {what}. Allow? [y/N]")
                    }
                },
            );
        }
        HostEvent::ConsentWithdrawn { grant } => out.event(
            "consent_withdrawn",
            json!({ "grant": grant_name(*grant) }),
            || "That question no longer needs an answer.".into(),
        ),
        HostEvent::Permissions {
            technician,
            view,
            control,
            clipboard,
        } => {
            let technician = for_display(technician);
            out.event(
                "permissions",
                json!({ "technician": technician, "view": view, "control": control, "clipboard": clipboard }),
                || {
                    let clip = if *clipboard { " Your clipboards are shared (`clipboard off` to stop)." } else { "" };
                    match (view, control) {
                        (_, true) => format!("{technician} can see your screen and control it.{clip} Type `revoke` to take back control, `stop` to end."),
                        (true, false) => format!("{technician} can see your screen.{clip} Type `stop` to end."),
                        (false, false) => format!("{technician} cannot see your screen."),
                    }
                },
            );
        }
        // Printed by the NoticePrinter.
        HostEvent::Collab(_) => {}
        HostEvent::FeedbackWanted => out.event("feedback_wanted", json!({}), || {
            if window {
                "The session is ending. How did it go? Answer in the Tandem window.".into()
            } else {
                "The session is ending. How did it go? Type a number from 1 (bad) to 5 (great), optionally followed by a comment, or press Enter to skip.".into()
            }
        }),
        HostEvent::Recording { on } => out.event("recording", json!({ "on": on }), || {
            if *on {
                "Recording: the technician is recording your screen. Type `record off` to stop it.".into()
            } else {
                "The technician is no longer recording your screen.".into()
            }
        }),
        HostEvent::RecordingRefused => out.event("recording_refused", json!({}), || {
            "You refused the recording; the session goes on.".into()
        }),
        HostEvent::FeedbackGiven {
            rating,
            comment,
            delivered,
        } => {
            let comment = for_display(comment);
            out.event(
                "feedback_given",
                json!({ "rating": rating, "comment": comment, "delivered": delivered }),
                || {
                    if *delivered {
                        "Thank you: your answer was sent to the technician.".into()
                    } else {
                        "Thank you: the technician had already left, so your answer is only in your session report.".into()
                    }
                },
            );
        }
        HostEvent::DiagnosticsShared => out.event("diagnostics_shared", json!({}), || {
            "The technician received a snapshot of this computer's system information.".into()
        }),
        HostEvent::InputDropped => out.event("input_dropped", json!({}), || {
            "The technician's input was ignored: they do not have control.".into()
        }),
        HostEvent::ShownScreen { picture } => out.event(
            "shown_screen",
            json!({ "on": picture.is_some() }),
            || {
                if picture.is_some() {
                    "The technician is showing you their screen (you only watch; `close-shown` closes it)."
                        .into()
                } else {
                    "The technician's screen is no longer shown.".into()
                }
            },
        ),
        HostEvent::ShownFrame { width, height } => out.event(
            "shown_frame",
            json!({ "width": width, "height": height }),
            || format!("The technician's screen: {width}x{height}."),
        ),
        HostEvent::InputSummary {
            injected,
            discarded,
        } => out.event(
            "input_summary",
            json!({ "injected": injected, "discarded": discarded }),
            || format!("The technician's input: {injected} events applied, {discarded} discarded."),
        ),
        // For scripts and measurements only: a line a second would drown a person's terminal.
        HostEvent::Rate(rate) if out.json => out.event(
            "rate",
            json!({
                "adaptive": rate.adaptive,
                "quality": rate.quality,
                "max_fps": rate.max_fps,
                "bytes_per_sec": rate.bytes_per_sec,
                "updates_per_sec": rate.updates_per_sec,
                "link_bytes_per_sec": rate.link_bytes_per_sec,
            }),
            String::new,
        ),
        HostEvent::Rate(_) => {}
        HostEvent::Ended { reason } => {
            // The reason may quote the technician's End detail.
            let reason = for_display(reason);
            out.event(
                "session_ended",
                json!({ "reason": reason }),
                || format!("Session ended: {reason}"),
            );
        }
    }
}

/// An answer to "how did it go?": `4`, `4 quick and clear`, or an empty line / `skip`.
fn parse_feedback(line: &str) -> HostCommand {
    let (first, rest) = line.split_once(' ').unwrap_or((line, ""));
    match first.parse::<u8>() {
        Ok(rating @ 1..=5) => HostCommand::Feedback {
            rating,
            comment: rest.trim().to_owned(),
        },
        _ => HostCommand::SkipFeedback,
    }
}

fn grant_name(grant: Grant) -> &'static str {
    match grant {
        Grant::View => "view",
        Grant::Control => "control",
        Grant::Diagnostics => "diagnostics",
        Grant::Recording => "recording",
    }
}

/// Reads `y`/`n` (answers to the pending question, else to the oldest file offer), `revoke`,
/// `clipboard on|off|auto`, `new`, `stop` and the collaboration commands from stdin.
/// What the stdin commands need to know of the session.
struct StdinState {
    pending: Arc<Mutex<Option<Grant>>>,
    offers: PendingOffers,
    feedback_wanted: Arc<AtomicBool>,
    shown: Arc<Mutex<Option<tandem_host::ShownPicture>>>,
    out: Output,
}

fn spawn_stdin_commands(state: StdinState, commands: mpsc::UnboundedSender<HostCommand>) {
    let StdinState {
        pending,
        offers,
        feedback_wanted,
        shown,
        out,
    } = state;
    crate::stdin_commands::spawn(commands, move |line| {
        if feedback_wanted.load(Ordering::SeqCst) {
            return Some(parse_feedback(line));
        }
        let answer = line.to_ascii_lowercase();
        match answer.as_str() {
            "y" | "yes" | "allow" | "n" | "no" | "deny" | "" => {
                let allow = matches!(answer.as_str(), "y" | "yes" | "allow");
                if let Some(grant) = pending.lock().ok().and_then(|mut p| p.take()) {
                    return Some(HostCommand::Consent { grant, allow });
                }
                let id = offers.take_oldest()?;
                Some(HostCommand::Collab(tandem_host::CollabCommand::Answer {
                    id,
                    accept: allow,
                }))
            }
            "revoke" => Some(HostCommand::RevokeControl),
            "record off" | "recording off" => Some(HostCommand::StopRecording),
            "clipboard on" => Some(HostCommand::SetClipboard(Some(true))),
            "clipboard off" => Some(HostCommand::SetClipboard(Some(false))),
            "clipboard auto" => Some(HostCommand::SetClipboard(None)),
            "new" => Some(HostCommand::NewCode),
            "stop" | "end" | "quit" => Some(HostCommand::Stop),
            "close-shown" => Some(HostCommand::CloseShownScreen),
            _ if answer.starts_with("shown-snapshot ") => {
                let path = std::path::PathBuf::from(line["shown-snapshot ".len()..].trim());
                write_shown_snapshot(&shown, &path, &out);
                None
            }
            _ => {
                if let Some(command) = collab_cli::parse_command(line) {
                    return Some(HostCommand::Collab(command));
                }
                eprintln!(
                    "commands: y, n, revoke, record off, clipboard on|off|auto, new, stop, close-shown, shown-snapshot PATH, {}",
                    collab_cli::HELP
                );
                None
            }
        }
    });
}

/// Writes what the user sees of the technician's screen as a PNG (`shown_snapshot` event).
fn write_shown_snapshot(
    shown: &Mutex<Option<tandem_host::ShownPicture>>,
    path: &std::path::Path,
    out: &Output,
) {
    let picture = shown.lock().ok().and_then(|s| s.clone());
    let result = match picture {
        None => Err("the technician is not showing their screen".to_owned()),
        Some(picture) => tandem_viewer::Screen::lock(&picture.0)
            .save_png(path)
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => out.event("shown_snapshot", json!({ "path": path }), || {
            format!("Wrote {}.", path.display())
        }),
        Err(reason) => out.event(
            "shown_snapshot_failed",
            json!({ "path": path, "reason": reason }),
            || format!("Cannot write {}: {reason}", path.display()),
        ),
    }
}
