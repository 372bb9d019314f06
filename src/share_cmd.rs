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
use tandem_i18n::tr;
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
        eprintln!(
            "{}",
            tr!("share-auto-accept-warning", grant = grant_name(grant))
        );
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
        let mut notices = NoticePrinter::new(tandem_collab_ui::Peer::Technician);
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
                notices.print(&out, notice, &tr!("share-peer-name"), !window);
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
            eprintln!("{}", tr!("share-window-failed", error = e.to_string()));
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
        .with_context(|| tr!("cli-session-task-failed"))?;
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
        Err(e) => Err(anyhow::Error::new(e).context(tr!("share-failed"))),
    }
}

fn print_event(out: &Output, event: &HostEvent, window: bool) {
    match event {
        HostEvent::Connected { relay, fingerprint } => out.event(
            "connected",
            json!({ "relay": relay, "fingerprint": fingerprint }),
            || tr!("share-connected", relay = relay.as_str()),
        ),
        HostEvent::CodeIssued { code, expires_in } => out.event(
            "code_issued",
            json!({ "code": code, "expires_in_secs": expires_in.as_secs() }),
            || {
                let minutes = expires_in.as_secs().div_ceil(60);
                format!(
                    "\n    {}\n\n{}",
                    tr!("share-your-code", code = code.as_str()),
                    tr!("share-code-instructions", minutes = minutes)
                )
            },
        ),
        HostEvent::CodeBurned { wrong_tries } => out.event(
            "code_burned",
            json!({ "wrong_tries": wrong_tries, "max_wrong_tries": tandem_host::MAX_WRONG_CODES }),
            || tandem_host::window::burned_code_notice(*wrong_tries),
        ),
        HostEvent::Paired => out.event("paired", json!({}), || tr!("share-paired")),
        HostEvent::Secured { verifier } => {
            out.event("secured", json!({ "verifier": verifier }), || {
                tr!("share-secured", verifier = verifier.as_str())
            })
        }
        HostEvent::Reconnecting { grace } => out.event(
            "reconnecting",
            json!({ "grace_secs": grace.as_secs() }),
            || tr!("share-reconnecting", seconds = grace.as_secs()),
        ),
        HostEvent::Resumed => out.event("resumed", json!({}), || tr!("share-resumed")),
        HostEvent::ConsentNeeded { grant, technician } => {
            let technician = for_display(technician);
            out.event(
                "consent_needed",
                json!({ "grant": grant_name(*grant), "technician": technician }),
                || {
                    let (technician, grant) = (&*technician, grant_name(*grant));
                    if window {
                        tr!(
                            "share-consent-in-window",
                            technician = technician,
                            grant = grant
                        )
                    } else {
                        tr!(
                            "share-consent-in-terminal",
                            technician = technician,
                            grant = grant
                        )
                    }
                },
            );
        }
        HostEvent::ConsentWithdrawn { grant } => out.event(
            "consent_withdrawn",
            json!({ "grant": grant_name(*grant) }),
            || tr!("share-consent-withdrawn"),
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
                    let technician = &*technician;
                    let clipboard = if *clipboard { "shared" } else { "not-shared" };
                    match (view, control) {
                        (_, true) => tr!("share-permissions-control", technician = technician, clipboard = clipboard),
                        (true, false) => tr!("share-permissions-view", technician = technician, clipboard = clipboard),
                        (false, false) => tr!("share-permissions-none", technician = technician),
                    }
                },
            );
        }
        // Printed by the NoticePrinter.
        HostEvent::Collab(_) => {}
        HostEvent::FeedbackWanted => out.event("feedback_wanted", json!({}), || {
            if window {
                tr!("share-feedback-in-window")
            } else {
                tr!("share-feedback-in-terminal")
            }
        }),
        HostEvent::Recording { on } => out.event("recording", json!({ "on": on }), || {
            if *on {
                tr!("share-recording-on")
            } else {
                tr!("share-recording-off")
            }
        }),
        HostEvent::RecordingRefused => out.event("recording_refused", json!({}), || {
            tr!("share-recording-refused")
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
                        tr!("share-feedback-delivered")
                    } else {
                        tr!("share-feedback-not-delivered")
                    }
                },
            );
        }
        HostEvent::DiagnosticsShared => out.event("diagnostics_shared", json!({}), || {
            tr!("share-diagnostics-shared")
        }),
        HostEvent::InputDropped => {
            out.event("input_dropped", json!({}), || tr!("share-input-dropped"))
        }
        HostEvent::ControlReleased => out.event("control_released", json!({}), || {
            tr!("share-control-released")
        }),
        HostEvent::TechnicianClipboard { on } => {
            out.event("technician_clipboard", json!({ "on": on }), || {
                if *on {
                    tr!("share-technician-clipboard-on")
                } else {
                    tr!("share-technician-clipboard-off")
                }
            })
        }
        HostEvent::ShownScreen { picture } => {
            out.event("shown_screen", json!({ "on": picture.is_some() }), || {
                if picture.is_some() {
                    tr!("share-shown-screen-on")
                } else {
                    tr!("share-shown-screen-off")
                }
            })
        }
        HostEvent::ShownFrame { width, height } => out.event(
            "shown_frame",
            json!({ "width": width, "height": height }),
            || tr!("share-shown-frame", width = *width, height = *height),
        ),
        HostEvent::InputSummary {
            injected,
            discarded,
        } => out.event(
            "input_summary",
            json!({ "injected": injected, "discarded": discarded }),
            || {
                tr!(
                    "share-input-summary",
                    injected = *injected,
                    discarded = *discarded
                )
            },
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
        HostEvent::Ended { reason, reason_en } => {
            // The reason may quote the technician's End detail. Scripts read it in English.
            let (reason, reason_en) = (for_display(reason), for_display(reason_en));
            out.event("session_ended", json!({ "reason": reason_en }), || {
                tr!("cli-session-ended", reason = &*reason)
            });
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
                    "{}",
                    tr!("share-commands-help", collab = collab_cli::help())
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
        None => Err(tr!("share-shown-snapshot-nothing")),
        Some(picture) => tandem_viewer::Screen::lock(&picture.0)
            .save_png(path)
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => out.event("shown_snapshot", json!({ "path": path }), || {
            tr!("cli-wrote-file", path = path.display().to_string())
        }),
        Err(reason) => out.event(
            "shown_snapshot_failed",
            json!({ "path": path, "reason": reason }),
            || {
                tr!(
                    "cli-cannot-write-file",
                    path = path.display().to_string(),
                    reason = reason.as_str()
                )
            },
        ),
    }
}
