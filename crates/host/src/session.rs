//! The host's session: code, handshake, then a thin driver over [`HostSession`] (proto's state
//! machine owns consent, the grant, flow control and the ending). The loop never awaits the network:
//! streams have writer and reader tasks ([`SessionDriver`]), capture and injection have threads.

use std::time::Instant;

use tandem_collab::Collab;
use tandem_i18n::tr;
use tandem_link::{
    AbortOnDrop, Incoming, Link, LinkError, PeerName, ReconnectError, ResumeTarget, SessionDriver,
    describe, host_handshake, reconnect,
};
use tandem_proto::StreamKind;
use tandem_proto::code::{SecretCode, SessionCode};
use tandem_proto::flow::{self, EndedBy, HostSession, Machine, UpdateRefused};
use tandem_proto::handshake::HandshakeError;
use tandem_proto::relay::ResumeRole;
use tandem_proto::session::Control;
use tandem_relay::{ClientError, RelayClient};
use tandem_viewer::ending::{self, Told};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::adapt::Adaptation;
use crate::cursor::CursorImage;
use crate::frames::{Captured, FrameControl, spawn_capture};
use crate::input::{EnigoSink, Injector};
use crate::stats::EncodeWindow;
use crate::{Grant, HostCommand, HostConfig, HostError, HostEvent};

type Events = mpsc::UnboundedSender<HostEvent>;

fn emit(events: &Events, event: HostEvent) {
    // A front end that went away does not stop the session; Stop does.
    let _ = events.send(event);
}

/// Runs one sharing session to its end. Returns the human reason it ended. Every way it can end,
/// failures included, is reported with one [`HostEvent::Ended`], so a front end always learns why.
pub async fn run(
    config: HostConfig,
    events: Events,
    commands: mpsc::UnboundedReceiver<HostCommand>,
) -> Result<String, HostError> {
    let result = run_session(config, &events, commands).await;
    if let Err(e) = &result {
        warn!(error = %e, "session failed");
        let told = failure(e);
        emit(
            &events,
            HostEvent::Ended {
                reason: told.said,
                reason_en: told.english,
            },
        );
    }
    result
}

async fn run_session(
    config: HostConfig,
    events: &Events,
    mut commands: mpsc::UnboundedReceiver<HostCommand>,
) -> Result<String, HostError> {
    let mut relay = RelayClient::connect(&config.relay, &config.trust).await?;
    emit(
        events,
        HostEvent::Connected {
            relay: config.relay.clone(),
            fingerprint: relay.relay_fingerprint().to_string(),
        },
    );

    let mut wrong_tries = 0;
    let (link, code) = loop {
        let Some(code) = wait_for_technician(&config, &mut relay, events, &mut commands).await?
        else {
            relay.close("host stopped");
            let told = Told::new(
                "You stopped sharing before anyone joined.",
                tr!("end-user-stopped-before-join"),
            );
            return Ok(ended(events, told));
        };
        emit(events, HostEvent::Paired);
        info!("paired; running the end-to-end handshake");
        match host_handshake(relay.connection().clone(), &code, &relay.relay_id()).await {
            Ok(link) => break (link, code),
            Err(LinkError::Handshake(HandshakeError::WrongCode)) => {
                // The relay forgot that code at the attempt. Registering again on the same
                // connection ends the failed pairing (the viewer is told) and gives a fresh code.
                wrong_tries += 1;
                info!(
                    target: "tandem::audit",
                    wrong_tries, "a viewer joined with a wrong code; the code is burned"
                );
                emit(events, HostEvent::CodeBurned { wrong_tries });
                if wrong_tries >= crate::MAX_WRONG_CODES {
                    relay.close_and_wait("handshake failed").await;
                    return Err(HostError::WrongCode { tries: wrong_tries });
                }
            }
            Err(e) => {
                // The viewer, which checks the code first, waits for this close before its own.
                relay.close_and_wait("handshake failed").await;
                return Err(e.into());
            }
        }
    };
    drop(code);
    emit(
        events,
        HostEvent::Secured {
            verifier: link.verifier.clone(),
        },
    );

    let resume = ResumeTarget::of(&relay, &link, ResumeRole::Host);
    let driver = SessionDriver::new(link, relay, PEER);
    let told = drive(&config, driver, resume, events, &mut commands).await?;
    Ok(ended(events, told))
}

/// Registers codes until a technician joins; `None` if the user stopped first.
async fn wait_for_technician(
    config: &HostConfig,
    relay: &mut RelayClient,
    events: &Events,
    commands: &mut mpsc::UnboundedReceiver<HostCommand>,
) -> Result<Option<SessionCode>, HostError> {
    loop {
        // A join with the code being replaced may cross this request: the new code wins (the
        // user asked for it) and that viewer is told the host left.
        let registration = relay.register(config.code_ttl).await?;
        let code = SessionCode::new(registration.routing, SecretCode::generate()?);
        emit(
            events,
            HostEvent::CodeIssued {
                code: code.to_string(),
                expires_in: registration.ttl,
            },
        );
        loop {
            tokio::select! {
                paired = relay.wait_paired() => match paired {
                    Ok(()) => return Ok(Some(code)),
                    Err(ClientError::Expired) => {
                        relay.close_and_wait("code expired").await;
                        return Err(HostError::CodeExpired);
                    }
                    Err(e) => return Err(e.into()),
                },
                command = commands.recv() => match command {
                    Some(HostCommand::NewCode) => break,
                    Some(HostCommand::Stop) | None => return Ok(None),
                    Some(_) => {}
                },
            }
        }
    }
}

/// How the host names the viewer to its user.
const PEER: PeerName = PeerName("The technician");

/// A running attempt to restore the lost link.
type Reconnecting = AbortOnDrop<Result<(RelayClient, Link), ReconnectError>>;

/// Opens the session's streams on the (new) link and starts capturing afresh: the first update is
/// a keyframe. `None` (and the session told) if capture cannot start.
fn start_streaming(
    config: &HostConfig,
    driver: &mut SessionDriver,
    collab: &mut Collab,
    session: &mut HostSession,
    now: Instant,
) -> Option<Streaming> {
    driver.start_receiving(StreamKind::Input);
    driver.start_sending(StreamKind::Frames);
    driver.start_sending(StreamKind::Bulk);
    driver.start_receiving(StreamKind::Bulk);
    collab.set_bulk(driver.bulk_sender());
    let frames = FrameControl::new();
    frames.set_limit(session.update_limit());
    let (tx, captured) = mpsc::channel(4);
    match spawn_capture(config.encoder.clone(), config.max_fps, frames.clone(), tx) {
        Ok(capture) => Some(Streaming {
            frames,
            captured,
            capture,
        }),
        Err(e) => {
            session.handle_command(
                flow::HostCommand::CaptureFailed {
                    detail: e.to_string(),
                },
                now,
            );
            None
        }
    }
}

fn ended(events: &Events, told: Told) -> String {
    info!(target: "tandem::audit", reason = told.english.as_str(), "session ended");
    emit(
        events,
        HostEvent::Ended {
            reason: told.said,
            reason_en: told.english.clone(),
        },
    );
    told.english
}

/// What the user is told when the session fails: a sentence of its own for the failures a person
/// can act on, else the error's (English) text after a translated sentence.
fn failure(error: &HostError) -> Told {
    let english = describe(error);
    let said = match error {
        HostError::WrongCode { tries } => tr!("end-wrong-code", tries = *tries),
        HostError::CodeExpired => tr!("end-code-expired"),
        HostError::Relay(relay) => {
            ending::relay_error(relay).unwrap_or_else(|| ending::failed(&english))
        }
        _ => ending::failed(&english),
    };
    Told::new(english, said)
}

/// What runs while the screen is shared: the capture thread and the input injector.
struct Streaming {
    frames: std::sync::Arc<FrameControl>,
    captured: mpsc::Receiver<Captured>,
    capture: std::thread::JoinHandle<Result<(), String>>,
}

fn send_cursor_shape(session: &mut HostSession, image: CursorImage) {
    let CursorImage {
        width,
        height,
        hot_x,
        hot_y,
        rgba,
    } = image;
    if !session.send_cursor_shape((width, height), (hot_x, hot_y), rgba) {
        warn!(width, height, "a cursor image was not sent");
    }
}

/// The session loop: feeds the state machine and carries out what it asks. Returns the reason the
/// session ended, for this side's user.
async fn drive(
    config: &HostConfig,
    driver: SessionDriver,
    mut resume: ResumeTarget,
    events: &Events,
    commands: &mut mpsc::UnboundedReceiver<HostCommand>,
) -> Result<Told, HostError> {
    let mut session = HostSession::new(config.auto_accept, Instant::now())
        .with_feedback(config.ask_feedback)
        .with_reconnect(config.reconnect_grace);
    // `None` while the link is lost; `reconnecting` then restores it.
    let mut driver = Some(driver);
    let mut reconnecting: Option<Reconnecting> = None;
    let mut injector =
        Injector::spawn(EnigoSink::new).map_err(|e| HostError::Capture(e.to_string()))?;
    let mut streaming: Option<Streaming> = None;
    let mut reason = None;
    let mut commands_open = true;
    // System information is gathered off the loop (it samples CPU usage) and comes back here.
    let (diagnostics_tx, mut diagnostics_rx) = mpsc::channel::<String>(1);
    let mut gathering = false;
    // The pointer's image as last sent, to send again if the frames queue had no room for it.
    let mut cursor_shape: Option<CursorImage> = None;
    let mut encode_window = EncodeWindow::new(Instant::now());
    let mut adaptation = Adaptation::new(
        config.adaptive,
        config.encoder.quality,
        config.max_fps,
        Instant::now(),
    );
    // "Show my screen": the technician's screen, decoded for the user while it is shown.
    let mut shown: Option<crate::shown::ShownDecoder> = None;
    let mut shown_stream_accepted = false;
    let (shown_status_tx, mut shown_status) = mpsc::unbounded_channel();
    let notices = events.clone();
    let mut collab = Collab::new(config.collab.clone(), move |notice| {
        emit(&notices, HostEvent::Collab(notice));
    });

    loop {
        let now = Instant::now();
        // State flips first, synchronously: the gate and capture follow the machine at once.
        injector.set_gate(session.control_allowed(), session.input_epoch());
        if let Some(s) = &streaming {
            s.frames.set_limit(session.update_limit());
            let target = adaptation.target();
            s.frames.set_target(target.quality, target.frame_interval);
            // The viewer's choice of monitor and layout changes move the captured area.
            s.frames.set_area(session.capture_area());
        }
        while let Some(event) = session.poll_event() {
            match event {
                flow::HostEvent::TechnicianArrived { technician } => {
                    info!(target: "tandem::audit", %technician, "session started: technician connected");
                }
                flow::HostEvent::ConsentNeeded { grant, technician } => {
                    emit(events, HostEvent::ConsentNeeded { grant, technician });
                }
                flow::HostEvent::ConsentWithdrawn { grant } => {
                    emit(events, HostEvent::ConsentWithdrawn { grant });
                }
                flow::HostEvent::Permissions {
                    technician,
                    view,
                    control,
                    clipboard,
                } => {
                    info!(target: "tandem::audit", %technician, view, control, clipboard, "permissions granted");
                    emit(
                        events,
                        HostEvent::Permissions {
                            technician,
                            view,
                            control,
                            clipboard,
                        },
                    );
                }
                flow::HostEvent::StartStreaming => {
                    // Granted while the link is lost: the streams start when it is back.
                    if let Some(d) = &mut driver {
                        streaming = start_streaming(config, d, &mut collab, &mut session, now);
                    }
                }
                flow::HostEvent::Reconnecting { grace } => {
                    // Nothing is shared while the link is lost: capture stops (it starts afresh
                    // with a keyframe), the gate is closed (above), the old link is let go.
                    injector.set_gate(false, session.input_epoch());
                    if let Some(s) = streaming.take() {
                        s.frames.stop();
                        drop(s.captured);
                    }
                    collab.set_bulk(None);
                    if let Some(d) = driver.take() {
                        d.abandon("link lost");
                    }
                    info!(target: "tandem::audit", grace_secs = grace.as_secs(), "link lost; reconnecting");
                    let target = resume.clone();
                    let deadline = tokio::time::Instant::now() + grace;
                    reconnecting = Some(AbortOnDrop(tokio::spawn(async move {
                        reconnect(&target, deadline).await
                    })));
                    emit(events, HostEvent::Reconnecting { grace });
                }
                flow::HostEvent::Resumed { streaming: shared } => {
                    info!(target: "tandem::audit", "link restored; session resumed");
                    // Update numbers start again from 0 on the new link, which is measured afresh.
                    adaptation = Adaptation::new(
                        config.adaptive,
                        config.encoder.quality,
                        config.max_fps,
                        now,
                    );
                    if shared && let Some(d) = &mut driver {
                        streaming = start_streaming(config, d, &mut collab, &mut session, now);
                    }
                }
                flow::HostEvent::KeyframeRequested => {
                    if let Some(s) = &streaming {
                        s.frames.request_keyframe();
                    }
                }
                flow::HostEvent::InputDropped => emit(events, HostEvent::InputDropped),
                flow::HostEvent::ControlReleased => {
                    info!(target: "tandem::audit", "the technician gave control back");
                    emit(events, HostEvent::ControlReleased);
                }
                flow::HostEvent::TechnicianClipboard { on } => {
                    info!(target: "tandem::audit", on, "the technician switched clipboard sharing");
                    emit(events, HostEvent::TechnicianClipboard { on });
                }
                flow::HostEvent::ShownScreen { on: true } => {
                    if let Some(d) = &mut driver
                        && !std::mem::replace(&mut shown_stream_accepted, true)
                    {
                        d.start_receiving(StreamKind::Frames);
                    }
                    match crate::shown::ShownDecoder::start(shown_status_tx.clone()) {
                        Ok(decoder) => {
                            info!(target: "tandem::audit", "the technician is showing their screen");
                            emit(
                                events,
                                HostEvent::ShownScreen {
                                    picture: Some(decoder.picture()),
                                },
                            );
                            shown = Some(decoder);
                        }
                        Err(e) => {
                            warn!(error = %e, "cannot show the technician's screen");
                            session.handle_command(flow::HostCommand::CloseShownScreen, now);
                        }
                    }
                }
                flow::HostEvent::ShownScreen { on: false } => {
                    if shown.take().is_some() {
                        info!(target: "tandem::audit", "the technician's screen is no longer shown");
                        emit(events, HostEvent::ShownScreen { picture: None });
                    }
                }
                flow::HostEvent::Recording { on } => {
                    info!(target: "tandem::audit", on, "the technician's recording");
                    emit(events, HostEvent::Recording { on });
                }
                flow::HostEvent::FeedbackWanted => {
                    // Sharing stopped: the screen is no longer captured, whatever the answer. The
                    // capture thread is let go, so its end is not taken for a failure.
                    injector.set_gate(false, session.input_epoch());
                    if let Some(s) = streaming.take() {
                        s.frames.stop();
                        drop(s.captured);
                    }
                    info!(target: "tandem::audit", "sharing stopped; asking the user how it went");
                    emit(events, HostEvent::FeedbackWanted);
                }
                flow::HostEvent::DiagnosticsWanted => {
                    if !std::mem::replace(&mut gathering, true) {
                        let tx = diagnostics_tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let snapshot = crate::diagnostics::gather();
                            match serde_json::to_string(&snapshot) {
                                Ok(json) => {
                                    let _ = tx.blocking_send(json);
                                }
                                Err(e) => warn!(error = %e, "system information not serialised"),
                            }
                        });
                    }
                }
                flow::HostEvent::Ended(ending) => {
                    // The end may come from within this event loop (capture failing to start).
                    injector.set_gate(false, session.input_epoch());
                    if let Some(s) = &streaming {
                        s.frames.stop();
                    }
                    if ending.by == EndedBy::Us {
                        info!(target: "tandem::audit", reason = ?ending.reason, "ending the session");
                    }
                    collab.finish();
                    reason = Some(Told::of(&ending.why));
                }
            }
        }
        while let Some(event) = session.poll_collab() {
            collab.handle_event(&mut session, event);
        }
        collab.sync(&session);
        if let Some(d) = &mut driver {
            d.flush(&mut session, now);
            if d.take_dropped_cursor_shape()
                && let Some(image) = &cursor_shape
            {
                send_cursor_shape(&mut session, image.clone());
                d.flush(&mut session, now);
            }
        }
        if session.poll_close(now) {
            break;
        }
        let deadline = session
            .poll_timeout()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(|| tokio::time::Instant::now() + std::time::Duration::from_secs(3600));
        let capturing = streaming.is_some() && !session.is_ended();
        let wants_bulk = collab.wants_bulk();

        tokio::select! {
            biased;
            command = commands.recv(), if commands_open => {
                let now = Instant::now();
                commands_open = command.is_some();
                match command {
                    Some(HostCommand::Consent { grant, allow }) => {
                        let refused_recording = grant == Grant::Recording && !allow && session.recording_prompt();
                        session.handle_command(flow::HostCommand::Consent { grant, allow }, now);
                        if refused_recording {
                            info!(target: "tandem::audit", "the user refused recording");
                            emit(events, HostEvent::RecordingRefused);
                        }
                    }
                    Some(HostCommand::StopRecording) => {
                        session.handle_command(flow::HostCommand::StopRecording, now);
                    }
                    Some(HostCommand::RevokeControl) => {
                        session.handle_command(flow::HostCommand::RevokeControl, now);
                    }
                    Some(HostCommand::Stop) | None => {
                        session.handle_command(flow::HostCommand::Stop, now);
                    }
                    Some(HostCommand::NewCode) => {}
                    Some(HostCommand::SetClipboard(allow)) => {
                        session.handle_command(flow::HostCommand::SetClipboard { allow }, now);
                    }
                    Some(HostCommand::Collab(command)) => collab.handle_command(&mut session, command),
                    Some(HostCommand::Feedback { rating, comment }) => {
                        let delivered = !session.is_ended();
                        let rating = rating.clamp(1, 5);
                        emit(events, HostEvent::FeedbackGiven { rating, comment: comment.clone(), delivered });
                        session.handle_command(flow::HostCommand::Feedback { rating, comment }, now);
                    }
                    Some(HostCommand::SkipFeedback) => {
                        session.handle_command(flow::HostCommand::SkipFeedback, now);
                    }
                    Some(HostCommand::CloseShownScreen) => {
                        session.handle_command(flow::HostCommand::CloseShownScreen, now);
                    }
                }
            }
            Some(status) = shown_status.recv() => match status {
                crate::shown::ShownStatus::First { width, height } => {
                    emit(events, HostEvent::ShownFrame { width, height });
                }
                crate::shown::ShownStatus::Failed(detail) => {
                    warn!(%detail, "closing the technician's screen");
                    session.handle_command(flow::HostCommand::CloseShownScreen, Instant::now());
                }
            },
            restored = async {
                match &mut reconnecting {
                    Some(task) => (&mut task.0).await,
                    None => std::future::pending().await,
                }
            }, if reconnecting.is_some() => {
                reconnecting = None;
                match restored {
                    Ok(Ok((relay, link))) => {
                        resume = ResumeTarget::of(&relay, &link, ResumeRole::Host);
                        emit(events, HostEvent::Resumed);
                        driver = Some(SessionDriver::new(link, relay, PEER));
                        // A new link has new streams: the technician's screen, if shown again,
                        // comes on a new one.
                        shown_stream_accepted = false;
                        session.handle_resumed(Instant::now());
                    }
                    // Hopeless before the grace is over (the relay's identity changed): end now.
                    Ok(Err(e @ ReconnectError::Relay(_))) => session.handle_reconnect_failed(
                        describe(&e),
                        Instant::now(),
                    ),
                    // The machine ends the session when the grace is over.
                    Ok(Err(e)) => warn!(error = %e, "the link was not restored"),
                    Err(e) => warn!(error = %e, "the reconnect task failed"),
                }
            }
            incoming = async {
                match &mut driver {
                    Some(d) => d.next_incoming(wants_bulk).await,
                    None => std::future::pending().await,
                }
            } => {
                let now = Instant::now();
                match incoming {
                    Incoming::Control(msg) => {
                        if let Control::Ack { seq } = &msg {
                            adaptation.on_ack(*seq, now);
                        }
                        session.handle_control(msg, now);
                    }
                    Incoming::Input(input) => {
                        if let Some(input) = session.handle_input(input, now) {
                            injector.push(session.input_epoch(), input);
                        }
                    }
                    // Only "Show my screen" comes this way; anything after it was closed is dropped.
                    Incoming::Frame(msg) => {
                        if let Some(tandem_proto::session::FrameMsg::Update { payload, .. }) = session.handle_shown_frame(msg)
                            && let Some(decoder) = &shown
                            && let Err(detail) = decoder.push(payload)
                        {
                            warn!(%detail, "closing the technician's screen");
                            session.handle_command(flow::HostCommand::CloseShownScreen, now);
                        }
                    }
                    Incoming::Bulk(bulk) => session.handle_bulk(bulk),
                    Incoming::Gone(gone) => session.handle_peer_gone(gone, now),
                }
            }
            captured = async {
                match &mut streaming {
                    Some(s) => s.captured.recv().await,
                    None => None,
                }
            }, if capturing => match captured {
                Some(Captured::Update { payload, encoded }) => {
                    let len = payload.len();
                    match session.send_update(payload) {
                        Ok(seq) => {
                            let now = Instant::now();
                            adaptation.on_sent(seq, len, now);
                            if let Some(report) = adaptation.report(now) {
                                emit(events, HostEvent::Rate(report));
                            }
                            let rtt = driver.as_ref().map_or(std::time::Duration::ZERO, SessionDriver::rtt);
                            if let Some(stats) = encode_window.record(encoded, now, rtt) {
                                session.send_stats(stats);
                            }
                        }
                        Err(UpdateRefused::NotSharing) => {}
                        Err(UpdateRefused::WindowFull) => {
                            // Cannot happen: capture produces only within the window. Recover anyway.
                            warn!("an update arrived with the window full; sending a keyframe next");
                            if let Some(s) = &streaming {
                                s.frames.request_keyframe();
                            }
                        }
                    }
                }
                Some(Captured::Pointer { x, y }) => session.send_cursor(x, y, true),
                Some(Captured::CursorShape(image)) => {
                    send_cursor_shape(&mut session, image.clone());
                    cursor_shape = Some(image);
                }
                Some(Captured::Layout { layout, pointer, generation }) => {
                    info!(
                        width = layout.width,
                        height = layout.height,
                        monitors = layout.monitors.len(),
                        "desktop layout"
                    );
                    session.handle_layout(layout, pointer);
                    if let Some(s) = &streaming {
                        s.frames.set_area(session.capture_area());
                        s.frames.layout_seen(generation);
                    }
                }
                None => {
                    let detail = match streaming.take().map(|s| s.capture.join()) {
                        Some(Ok(Err(e))) => e,
                        _ => "screen capture stopped".into(),
                    };
                    session.handle_command(flow::HostCommand::CaptureFailed { detail }, Instant::now());
                }
            },
            work = collab.next_work() => collab.handle_work(&mut session, work),
            Some(snapshot) = diagnostics_rx.recv() => {
                gathering = false;
                if session.send_diagnostics(snapshot) {
                    info!(target: "tandem::audit", "system information sent to the technician");
                    emit(events, HostEvent::DiagnosticsShared);
                }
            }
            () = tokio::time::sleep_until(deadline) => session.handle_timeout(Instant::now()),
        }
    }

    if let Some(s) = streaming {
        s.frames.stop();
        // Dropping the receiver unblocks a capture thread waiting to hand over an update.
        drop(s.captured);
    }
    collab.finish();
    drop(reconnecting);
    if let Some(d) = driver {
        d.close("session ended").await;
    }
    // The injector has worked through its queue (nothing of it injected: the gate is closed) once
    // this returns, so the numbers are final.
    if let Ok(stats) = tokio::task::spawn_blocking(move || injector.finish()).await {
        info!(target: "tandem::audit", injected = stats.injected, discarded = stats.discarded, "input summary");
        emit(
            events,
            HostEvent::InputSummary {
                injected: stats.injected,
                discarded: stats.discarded + stats.overflowed,
            },
        );
    }
    Ok(reason.unwrap_or_else(|| Told::new("The session ended.", tr!("end-session-ended"))))
}
