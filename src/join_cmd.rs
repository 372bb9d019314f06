//! `tandem join`: the technician views (and, once allowed, controls) the user's screen.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use tandem_i18n::tr;
use tandem_proto::code::SessionCode;
use tandem_proto::limits::MAX_NAME_LEN;
use tandem_proto::session::truncate_utf8;
use tandem_proto::text::for_display;
use tandem_viewer::notes::{NotesPanel, SharedNotes};
use tandem_viewer::{RecordingEvent, Screen, ViewerCommand, ViewerConfig, ViewerEvent};
use tokio::sync::mpsc;

use crate::collab_cli::{self, CollabFlags, NoticePrinter, PendingOffers};
use crate::output::Output;
use crate::report::{Outcome, Report, ReportFlags};
use crate::trust::RelayFlags;

/// How the window draws the remote picture (`--present`).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum PresentArg {
    Egui,
    X11,
}

fn parse_host_key(name: &str) -> Result<tandem_viewer::hostkey::HostKey, String> {
    tandem_viewer::hostkey::HostKey::parse(name).ok_or_else(|| {
        let names: Vec<_> = tandem_viewer::hostkey::HostKey::names().collect();
        tandem_i18n::tr!(
            "cli-unknown-host-key",
            name = name,
            names = names.join(", ")
        )
    })
}

#[derive(Args)]
pub struct JoinArgs {
    /// The code the user read to you, e.g. "482 193 715".
    code: String,
    #[command(flatten)]
    relay: RelayFlags,
    /// Your name, shown to the user when they are asked to allow you in (default: "Your
    /// technician", in the user's language if it is yours).
    #[arg(long)]
    name: Option<String>,
    /// No window: decode the screen and report (implied when there is no display).
    #[arg(long)]
    headless: bool,
    /// The window's colours: light, dark, or the system's (default).
    #[arg(long, default_value = "system", value_parser = crate::parse_theme)]
    theme: tandem_host::window::ThemeChoice,
    /// The host key: held, it turns the next key into a window shortcut (F full screen, S fit or
    /// 1:1, Delete Ctrl+Alt+Del, C request or release control, T statistics, Q end) and nothing reaches the
    /// remote side. right-ctrl (default), left-ctrl, right-alt, left-alt, right-shift, left-shift,
    /// right-super or left-super.
    #[arg(long, default_value = "right-ctrl", value_parser = parse_host_key)]
    host_key: tandem_viewer::hostkey::HostKey,
    /// How the window draws the remote picture: x11 (default; an X11 child window that gets only
    /// the changed rectangles, ~8x less viewer CPU; egui draws it while a menu or panel lies over
    /// it, and where x11 cannot start), or egui (the window redraws for every change).
    #[arg(long, value_enum, default_value = "x11", env = "TANDEM_PRESENT")]
    present: PresentArg,
    /// End the session after this many seconds.
    #[arg(long)]
    duration: Option<u64>,
    /// Write a PNG of the decoded screen here when the session ends.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// Ask for control as soon as viewing is allowed.
    #[arg(long)]
    request_control: bool,
    /// Your side of clipboard sharing at the start: `off` keeps clipboards from travelling until
    /// you switch it on (the toolbar, or `clipboard on` on stdin), whatever the user allows.
    #[arg(long, value_name = "on|off", default_value = "on", action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    clipboard: bool,
    /// Ask the user to let you record the session as soon as the screen is shown, into FILE
    /// (replay it with `tandem play FILE`). Without it, the window's Record button (or `record on`
    /// on stdin) records into ~/.local/share/tandem/recordings.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    #[command(flatten)]
    collab: CollabFlags,
    /// The ticket this session is for (e.g. INC0012345): it names the session report.
    #[arg(long)]
    ticket: Option<String>,
    /// The outcome for the report, if known up front (else `outcome ...` on stdin).
    #[arg(long, value_enum)]
    outcome: Option<Outcome>,
    #[command(flatten)]
    report: ReportFlags,
    /// POST the session report (JSON) to this URL at the end, e.g. a ticketing system's webhook.
    #[arg(long, value_name = "URL")]
    report_webhook: Option<String>,
    /// One JSON object per line for each event. Commands are read on stdin: `snapshot PATH`,
    /// `control`, `release`, `clipboard on|off`, `monitor N`/`monitor all`, `keys ctrl+alt+del`, `keymode text|physical`, `show on|off`, `record on`/`record off`, `end`, `send PATH`, `chat TEXT`, `accept ID`, `refuse ID`, `cancel ID`, `y`/`n`.
    #[arg(long)]
    json: bool,
}

pub fn run(args: JoinArgs) -> anyhow::Result<ExitCode> {
    let out = Output { json: args.json };
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| tr!("join-default-name"));
    let code = SessionCode::parse(&args.code).with_context(|| tr!("join-not-a-code"))?;
    let relay = args.relay.resolve()?;
    tracing::debug!(relay = %relay.addr, source = %relay.source, "relay chosen");
    let relay_title = relay.addr.clone();
    let config = ViewerConfig {
        relay: relay.addr,
        trust: relay.trust,
        code,
        technician: technician_name(&name),
        collab: args.collab.config("The user"),
        show_screen: crate::show_screen::factory(),
        reconnect_grace: args.relay.reconnect_grace(),
        record_to: args.record.clone().unwrap_or_else(default_recording_path),
        record_at_start: args.record.is_some(),
        clipboard: args.clipboard,
    };
    let window = !args.headless && crate::have_display();

    let runtime = crate::runtime()?;
    let screen = Screen::shared();
    let (slot, repaint) = tandem_viewer::app::repaint_slot();
    // The window repaints when something happens, never on a timer: status events wake it too.
    let window_slot = slot.clone();
    let repaint_on_event = move || window_slot.repaint_window();
    let (event_tx, mut event_rx) = mpsc::unbounded_channel();
    let (command_tx, command_rx) = mpsc::unbounded_channel();
    let session = runtime.spawn(tandem_viewer::session::run(
        config,
        screen.clone(),
        repaint,
        event_tx,
        command_rx,
    ));
    let offers = PendingOffers::default();
    let report = Arc::new(Mutex::new(Report::new("technician", args.ticket.clone())));
    {
        let mut report = lock(&report);
        report.technician = Some(technician_name(&name));
        if let Some(outcome) = args.outcome {
            report.set_outcome(outcome, None);
        }
    }
    spawn_stdin_commands(command_tx.clone(), offers.clone(), report.clone(), out);

    let (window_tx, window_rx) = std::sync::mpsc::channel();
    let request_control = args.request_control;
    let printer_commands = command_tx.clone();
    let printer_report = report.clone();
    let printer = runtime.spawn(async move {
        let mut asked = false;
        let mut notices = NoticePrinter::new(tandem_collab_ui::Peer::User);
        while let Some(event) = event_rx.recv().await {
            lock(&printer_report).observe_viewer(&event);
            if let ViewerEvent::Collab(notice) = &event {
                offers.track(notice);
                notices.print(&out, notice, &tr!("join-peer-name"), true);
            } else {
                print_event(&out, &event);
            }
            if let ViewerEvent::Permissions {
                view: true,
                control: false,
                ..
            } = event
                && request_control
                && !asked
            {
                asked = true;
                let _ = printer_commands.send(ViewerCommand::RequestControl);
            }
            let _ = window_tx.send(event);
            repaint_on_event();
        }
    });
    if let Some(seconds) = args.duration {
        let end_tx = command_tx.clone();
        runtime.spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            let _ = end_tx.send(ViewerCommand::End);
        });
    }
    let stop_tx = command_tx.clone();
    runtime.spawn(async move {
        crate::relay_cmd::shutdown_signal().await;
        let _ = stop_tx.send(ViewerCommand::End);
    });

    // The window's notes and outcome, read into the report at the end; the notes are saved to a
    // draft beside the reports as they are typed.
    let window_notes = SharedNotes::default();
    tandem_viewer::notes::lock(&window_notes).outcome = args.outcome.map(Into::into);
    let notes_draft = args
        .report
        .dir()
        .join(format!("notes-draft-{}.txt", std::process::id()));
    if window {
        let title = format!("Tandem — {relay_title}");
        if let Err(e) = tandem_viewer::app::run(
            title,
            screen.clone(),
            window_rx,
            command_tx.clone(),
            slot,
            NotesPanel::new(
                window_notes.clone(),
                Some(notes_draft.clone()),
                args.report.enabled(),
            ),
            tandem_viewer::app::WindowOptions {
                theme: args.theme,
                host_key: args.host_key.clone(),
                present: match args.present {
                    PresentArg::Egui => tandem_viewer::app::Present::Egui,
                    PresentArg::X11 => tandem_viewer::app::Present::X11,
                },
            },
        ) {
            eprintln!("{}", tr!("join-window-failed", error = e.to_string()));
        } else {
            let _ = command_tx.send(ViewerCommand::End);
        }
    } else {
        drop(window_rx);
    }
    let result = runtime
        .block_on(session)
        .with_context(|| tr!("cli-session-task-failed"))?;
    let _ = runtime.block_on(printer);
    if let Some(path) = &args.snapshot {
        let screen = Screen::lock(&screen);
        let event = match screen.save_png(path) {
            Ok(()) => ViewerEvent::Snapshot {
                path: path.clone(),
                frames: screen.frames,
                cursor: screen.cursor,
                recording_ms: None,
            },
            Err(e) => ViewerEvent::SnapshotFailed {
                path: path.clone(),
                reason: e.to_string(),
            },
        };
        print_event(&out, &event);
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    if window {
        let notes = tandem_viewer::notes::lock(&window_notes);
        let mut report = lock(&report);
        if !notes.text.trim().is_empty() {
            report.note(notes.text.trim());
        }
        if let Some(outcome) = notes.outcome {
            let summary =
                (!notes.summary.trim().is_empty()).then(|| notes.summary.trim().to_owned());
            report.set_outcome(outcome.into(), summary);
        }
    }
    args.report.write(&lock(&report), &out);
    // The report holds the notes now: the draft is no longer needed.
    let _ = std::fs::remove_file(&notes_draft);
    if let Some(url) = &args.report_webhook {
        crate::report::post_webhook(url, &lock(&report), &out);
    }
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(anyhow::Error::new(e).context(tr!("join-failed"))),
    }
}

/// `$XDG_DATA_HOME/tandem/recordings/tandem-<unix time>-<pid>.tdrec` (else under
/// `~/.local/share`), for recordings started without `--record`.
fn default_recording_path() -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    crate::report::default_dir()
        .with_file_name("recordings")
        .join(format!("tandem-{secs}-{}.tdrec", std::process::id()))
}

/// The name as `Control::hello` would send it (unsafe characters replaced, at most `MAX_NAME_LEN`
/// bytes), so the host can always decode our `Hello`.
fn technician_name(name: &str) -> String {
    let mut name = tandem_proto::text::sanitize(name).into_owned();
    truncate_utf8(&mut name, MAX_NAME_LEN);
    name
}

fn print_event(out: &Output, event: &ViewerEvent) {
    match event {
        ViewerEvent::Connected { fingerprint } => out.event(
            "connected",
            json!({ "fingerprint": fingerprint }),
            || tr!("join-connected"),
        ),
        ViewerEvent::Paired => out.event("paired", json!({}), || {
            tr!("join-paired")
        }),
        ViewerEvent::Secured { verifier } => out.event(
            "secured",
            json!({ "verifier": verifier }),
            || tr!("join-secured", verifier = verifier.as_str()),
        ),
        ViewerEvent::Reconnecting { grace } => out.event(
            "reconnecting",
            json!({ "grace_secs": grace.as_secs() }),
            || tr!("join-reconnecting", seconds = grace.as_secs()),
        ),
        ViewerEvent::Resumed => out.event("resumed", json!({}), || {
            tr!("join-resumed")
        }),
        ViewerEvent::Permissions {
            view,
            control,
            clipboard,
        } => out.event(
            "permissions",
            json!({ "view": view, "control": control, "clipboard": clipboard }),
            || {
                let clipboard = if *clipboard { "shared" } else { "not-shared" };
                match (view, control) {
                    (_, true) => tr!("join-permissions-control", clipboard = clipboard),
                    (true, false) => tr!("join-permissions-view", clipboard = clipboard),
                    (false, false) => tr!("join-permissions-none"),
                }
            },
        ),
        // Printed by the NoticePrinter.
        ViewerEvent::Collab(_) => {}
        ViewerEvent::Feedback { rating, comment } => {
            let comment = for_display(comment);
            out.event(
                "feedback",
                json!({ "rating": rating, "comment": comment }),
                || {
                    if comment.is_empty() {
                        tr!("join-feedback", rating = *rating)
                    } else {
                        tr!("join-feedback-comment", rating = *rating, comment = &*comment)
                    }
                },
            );
        }
        ViewerEvent::Diagnostics { snapshot: None } => {
            out.event("diagnostics", json!({ "allowed": false }), || {
                tr!("join-diagnostics-declined")
            })
        }
        ViewerEvent::Diagnostics {
            snapshot: Some(snapshot),
        } => {
            // JSON output escapes every control character; the prose is built from it too.
            let value: serde_json::Value =
                serde_json::from_str(snapshot).unwrap_or(serde_json::Value::Null);
            out.event(
                "diagnostics",
                json!({ "allowed": true, "snapshot": value }),
                || {
                    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                    let lines: Vec<_> = text.lines().map(for_display).collect();
                    format!("{}\n{}", tr!("join-diagnostics"), lines.join("\n"))
                },
            );
        }
        ViewerEvent::ControlRequestNotSent { retry_in } => out.event(
            "control_request_not_sent",
            json!({ "retry_in_secs": retry_in.as_secs_f64() }),
            || tr!("join-control-request-not-sent", seconds = retry_in.as_secs().max(1)),
        ),
        ViewerEvent::Monitors {
            width,
            height,
            monitors,
            selected,
        } => out.event(
            "monitors",
            json!({
                "width": width,
                "height": height,
                // `selected`: an index into `monitors`, or null for the whole desktop.
                "selected": selected,
                "monitors": monitors.iter().map(|m| json!({
                    "name": m.name,
                    "x": m.x,
                    "y": m.y,
                    "width": m.width,
                    "height": m.height,
                    "primary": m.primary,
                })).collect::<Vec<_>>(),
            }),
            || {
                let mut text = tr!("join-monitors");
                let mark = |on: bool| if on { "*" } else { " " };
                text.push_str(&format!(
                    "\n {} all: {}",
                    mark(selected.is_none()),
                    tandem_viewer::app::whole_desktop_label((*width, *height))
                ));
                for (i, m) in monitors.iter().enumerate() {
                    text.push_str(&format!(
                        "\n {} {i}: {}",
                        mark(*selected == u8::try_from(i).ok()),
                        tr!(
                            "join-monitor-at",
                            monitor = tandem_viewer::app::monitor_label(m),
                            x = m.x,
                            y = m.y
                        )
                    ));
                }
                text
            },
        ),
        ViewerEvent::Showing {
            on,
            closed_by_user,
            failed,
        } => out.event(
            "showing",
            json!({ "on": on, "closed_by_user": closed_by_user, "failed": failed }),
            || match (on, closed_by_user, failed) {
                (true, _, _) => tr!("join-showing-on"),
                (false, true, _) => tr!("join-showing-closed"),
                (false, false, Some(reason)) => tr!("join-showing-failed", reason = reason.as_str()),
                (false, false, None) => tr!("join-showing-off"),
            },
        ),
        ViewerEvent::KeyMode(mode) => out.event("key_mode", json!({ "mode": mode.name() }), || {
            match mode {
                tandem_viewer::KeyMode::Text => tr!("join-key-mode-text"),
                tandem_viewer::KeyMode::Physical => tr!("join-key-mode-physical"),
            }
        }),
        ViewerEvent::ControlDeclined => out.event("control_declined", json!({}), || {
            tr!("join-control-declined")
        }),
        ViewerEvent::ClipboardSwitch { on } => {
            out.event("clipboard_switch", json!({ "on": on }), || {
                if *on {
                    tr!("join-clipboard-switch-on")
                } else {
                    tr!("join-clipboard-switch-off")
                }
            })
        }
        ViewerEvent::FirstFrame { width, height } => out.event(
            "first_frame",
            json!({ "width": width, "height": height }),
            || tr!("join-first-frame", width = *width, height = *height),
        ),
        ViewerEvent::Stats {
            frames,
            width,
            height,
            overlay: o,
        } => out.event(
            "stats",
            json!({
                "frames": frames,
                "fps": o.fps,
                "bytes_per_frame": o.bytes_per_frame,
                "width": width,
                "height": height,
                "kbytes_per_sec": o.kbytes_per_sec,
                "decode_ms": o.decode_ms,
                "encode_ms": o.encode_ms,
                "lossy_percent": o.lossy_percent,
                "rtt_ms": o.rtt_ms,
                "input_to_pixel_ms": o.input_to_pixel_ms,
            }),
            || {
                tr!(
                    "join-stats",
                    width = *width,
                    height = *height,
                    frames = *frames,
                    overlay = tandem_viewer::stats::overlay_lines(o).join(", ")
                )
            },
        ),
        ViewerEvent::CursorShape {
            width,
            height,
            hot_x,
            hot_y,
        } => out.event(
            "cursor_shape",
            json!({ "width": width, "height": height, "hot_x": hot_x, "hot_y": hot_y }),
            || tr!("join-cursor-shape", width = *width, height = *height),
        ),
        ViewerEvent::Snapshot {
            path,
            frames,
            cursor,
            recording_ms,
        } => out.event(
            "snapshot",
            json!({ "path": path, "frames": frames, "cursor": cursor, "recording_ms": recording_ms }),
            || tr!("join-snapshot", path = path.display().to_string()),
        ),
        ViewerEvent::Recording(event) => print_recording(out, event),
        ViewerEvent::Finishing => out.event("finishing", json!({}), || {
            tr!("join-finishing")
        }),
        ViewerEvent::SnapshotFailed { path, reason } => out.event(
            "snapshot_failed",
            json!({ "path": path, "reason": reason }),
            || tr!("cli-cannot-write-file", path = path.display().to_string(), reason = reason.as_str()),
        ),
        ViewerEvent::Summary {
            frames,
            bytes,
            seconds,
            cursor_positions,
        } => {
            let per_frame = bytes.checked_div(*frames).unwrap_or(0);
            let fps = if *seconds > 0.0 { *frames as f64 / seconds } else { 0.0 };
            out.event(
                "summary",
                json!({ "frames": frames, "bytes": bytes, "seconds": seconds, "fps": fps, "bytes_per_frame": per_frame, "cursor_positions": cursor_positions }),
                || {
                    tr!(
                        "join-summary",
                        frames = *frames,
                        seconds = tandem_i18n::decimal(*seconds, 1),
                        fps = tandem_i18n::decimal(fps, 1),
                        per_frame = per_frame
                    )
                },
            );
        }
        ViewerEvent::Ended { reason, reason_en } => {
            // The reason may quote the host's End detail. Scripts read it in English.
            let (reason, reason_en) = (for_display(reason), for_display(reason_en));
            out.event(
                "session_ended",
                json!({ "reason": reason_en }),
                || tr!("cli-session-ended", reason = &*reason),
            );
        }
    }
}

fn print_recording(out: &Output, event: &RecordingEvent) {
    match event {
        RecordingEvent::Asking => out.event("recording", json!({ "state": "asking" }), || {
            tr!("join-recording-asking")
        }),
        RecordingEvent::Refused => out.event("recording", json!({ "state": "refused" }), || {
            tr!("join-recording-refused")
        }),
        RecordingEvent::Started { path } => out.event(
            "recording",
            json!({ "state": "recording", "path": path }),
            || tr!("join-recording-started", path = path.display().to_string()),
        ),
        RecordingEvent::Stopped(summary) => out.event(
            "recording",
            json!({
                "state": "stopped",
                "path": summary.path,
                "bytes": summary.bytes,
                "updates": summary.updates,
            }),
            || {
                tr!(
                    "join-recording-stopped",
                    path = summary.path.display().to_string(),
                    bytes = summary.bytes
                )
            },
        ),
        RecordingEvent::Failed { path, reason } => out.event(
            "recording",
            json!({ "state": "failed", "path": path, "reason": reason }),
            || {
                tr!(
                    "join-recording-failed",
                    path = path.display().to_string(),
                    reason = reason.as_str()
                )
            },
        ),
    }
}

fn lock(report: &Mutex<Report>) -> std::sync::MutexGuard<'_, Report> {
    report.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads `snapshot PATH`, `control`, `release`, `clipboard on|off`, `end`, `y`/`n` (answers to the oldest file offer), `note TEXT`,
/// `outcome resolved|not-resolved|escalated [SUMMARY]` and the collaboration commands from stdin,
/// for people on a terminal and for scripts.
fn spawn_stdin_commands(
    commands: mpsc::UnboundedSender<ViewerCommand>,
    offers: PendingOffers,
    report: Arc<Mutex<Report>>,
    out: Output,
) {
    crate::stdin_commands::spawn(commands, move |line| {
        if let Some(text) = line.strip_prefix("note ") {
            lock(&report).note(text.trim());
            out.event("note_added", json!({}), || tr!("join-note-added"));
            None
        } else if let Some(rest) = line.strip_prefix("outcome ") {
            let (word, summary) = rest.trim().split_once(' ').unwrap_or((rest.trim(), ""));
            // The same names as `--outcome`.
            let Ok(outcome) = <Outcome as clap::ValueEnum>::from_str(word, false) else {
                eprintln!("{}", tr!("join-outcome-help"));
                return None;
            };
            let summary = (!summary.trim().is_empty()).then(|| summary.trim().to_owned());
            lock(&report).set_outcome(outcome, summary);
            out.event("outcome_set", json!({ "outcome": word }), || {
                tr!("join-outcome-set", outcome = word)
            });
            None
        } else if let Some(path) = line.strip_prefix("snapshot ") {
            Some(ViewerCommand::Snapshot(PathBuf::from(path.trim())))
        } else if line == "control" {
            Some(ViewerCommand::RequestControl)
        } else if line == "release" {
            Some(ViewerCommand::ReleaseControl)
        } else if line == "clipboard on" {
            Some(ViewerCommand::SetClipboard(true))
        } else if line == "clipboard off" {
            Some(ViewerCommand::SetClipboard(false))
        } else if let Some(which) = line.strip_prefix("monitor ") {
            match which.trim() {
                "all" | "whole" | "desktop" => Some(ViewerCommand::SelectMonitor(None)),
                n => match n.parse::<u8>() {
                    Ok(index) => Some(ViewerCommand::SelectMonitor(Some(index))),
                    Err(_) => {
                        eprintln!("{}", tr!("join-monitor-help"));
                        None
                    }
                },
            }
        } else if line == "show on" {
            Some(ViewerCommand::ShowScreen(true))
        } else if line == "show off" {
            Some(ViewerCommand::ShowScreen(false))
        } else if let Some(spec) = line.strip_prefix("keys ") {
            match tandem_viewer::KeyCombo::parse(spec) {
                Ok(combo) => Some(ViewerCommand::SendKeys(combo)),
                Err(e) => {
                    eprintln!("{}", tr!("join-keys-error", error = e.to_string()));
                    None
                }
            }
        } else if let Some(name) = line.strip_prefix("keymode ") {
            match tandem_viewer::KeyMode::from_name(name.trim()) {
                Some(mode) => Some(ViewerCommand::SetKeyMode(mode)),
                None => {
                    eprintln!("{}", tr!("join-keymode-help"));
                    None
                }
            }
        } else if matches!(line, "record on" | "record") {
            Some(ViewerCommand::Record(true))
        } else if line == "record off" {
            Some(ViewerCommand::Record(false))
        } else if line == "end" {
            Some(ViewerCommand::End)
        } else if matches!(line, "diagnostics" | "sysinfo") {
            Some(ViewerCommand::RequestDiagnostics)
        } else if matches!(line, "y" | "yes" | "n" | "no") {
            let id = offers.take_oldest()?;
            Some(ViewerCommand::Collab(
                tandem_viewer::CollabCommand::Answer {
                    id,
                    accept: matches!(line, "y" | "yes"),
                },
            ))
        } else if let Some(command) = collab_cli::parse_command(line) {
            Some(ViewerCommand::Collab(command))
        } else {
            if !line.is_empty() {
                eprintln!("{}", tr!("join-commands-help", collab = collab_cli::help()));
            }
            None
        }
    });
}
