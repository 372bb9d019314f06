//! The host's session loop: code, handshake, two-stage consent, streaming, input, ending.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tandem_link::{AbortOnDrop, LinkError, SealedRecv, SealedSend, describe, host_handshake};
use tandem_proto::StreamKind;
use tandem_proto::code::{SecretCode, SessionCode};
use tandem_proto::handshake::HandshakeError;
use tandem_proto::session::{Control, EndReason, FrameMsg, Input};
use tandem_relay::{ClientError, RelayClient};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::frames::{FrameControl, spawn_capture};
use crate::input::{EnigoSink, InputSink};
use crate::{Grant, HostCommand, HostConfig, HostError, HostEvent};

/// How long the viewer may take to introduce itself after the handshake.
const HELLO_TIMEOUT: Duration = Duration::from_secs(20);
/// How long to let an End message reach the peer before closing.
const END_GRACE: Duration = Duration::from_secs(2);

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
        emit(
            &events,
            HostEvent::Ended {
                reason: describe(e),
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
    let events = events.clone();
    let mut relay = RelayClient::connect(&config.relay, &config.trust).await?;
    emit(
        &events,
        HostEvent::Connected {
            relay: config.relay.clone(),
            fingerprint: relay.relay_fingerprint().to_string(),
        },
    );

    // Wait for a technician, issuing fresh codes on request.
    let code = loop {
        let registration = relay.register(config.code_ttl).await?;
        let code = SessionCode::new(registration.routing, SecretCode::generate()?);
        emit(
            &events,
            HostEvent::CodeIssued {
                code: code.to_string(),
                expires_in: registration.ttl,
            },
        );
        tokio::select! {
            paired = relay.wait_paired() => match paired {
                Ok(()) => break code,
                Err(ClientError::Expired) => {
                    relay.close_and_wait("code expired").await;
                    return Err(HostError::CodeExpired);
                }
                Err(e) => return Err(e.into()),
            },
            command = commands.recv() => match command {
                Some(HostCommand::NewCode) => continue,
                Some(HostCommand::Stop) | None => {
                    relay.close("host stopped");
                    return Ok(ended(&events, "You stopped sharing before anyone joined."));
                }
                Some(_) => continue,
            },
        }
    };
    emit(&events, HostEvent::Paired);
    info!("paired; running the end-to-end handshake");

    let link = match host_handshake(relay.connection().clone(), &code, &relay.relay_id()).await {
        Ok(link) => link,
        Err(e) => {
            // The viewer, which checks the code first, waits for this close before its own.
            relay.close_and_wait("handshake failed").await;
            return Err(match e {
                LinkError::Handshake(HandshakeError::WrongCode) => HostError::WrongCode,
                e => e.into(),
            });
        }
    };
    drop(code);
    emit(
        &events,
        HostEvent::Secured {
            verifier: link.verifier.clone(),
        },
    );

    let mut session = Session {
        config: &config,
        events: &events,
        control_send: link.control_send,
        frame_control: FrameControl::new(),
        control_allowed: Arc::new(AtomicBool::new(false)),
        technician: String::new(),
        view: false,
    };
    let (control_tx, mut control_rx) = mpsc::channel(64);
    let control_reader = tokio::spawn(read_control(link.control_recv, control_tx));
    let _control_reader = AbortOnDrop(control_reader);

    let outcome = session
        .drive(&mut relay, &link.streams, &mut commands, &mut control_rx)
        .await;
    session.frame_control.stop();
    let reason = match outcome {
        Ok(Ending::Local {
            reason,
            detail,
            for_viewer,
        }) => {
            let msg = Control::end(reason, for_viewer);
            if session.control_send.send(&msg).await.is_ok() {
                session.control_send.finish();
                // The viewer closes once it has read End; don't wait longer than the grace.
                let _ = tokio::time::timeout(END_GRACE, relay.connection().closed()).await;
            }
            detail
        }
        Ok(Ending::Remote(detail)) => detail,
        Err(e) => {
            warn!(target: "tandem::audit", error = %e, "session ended with an error");
            relay.close("session error");
            return Err(e);
        }
    };
    relay.close("session ended");
    Ok(ended(&events, &reason))
}

fn ended(events: &Events, reason: &str) -> String {
    info!(target: "tandem::audit", reason, "session ended");
    emit(
        events,
        HostEvent::Ended {
            reason: reason.to_owned(),
        },
    );
    reason.to_owned()
}

enum Ending {
    /// This side ends: `detail` tells the user here why, `for_viewer` tells the technician.
    Local {
        reason: EndReason,
        detail: String,
        for_viewer: String,
    },
    /// The viewer ended or vanished.
    Remote(String),
}

struct Session<'a> {
    config: &'a HostConfig,
    events: &'a Events,
    control_send: SealedSend,
    frame_control: Arc<FrameControl>,
    /// Read by the input task: input is dropped here, on the host, unless this is set.
    control_allowed: Arc<AtomicBool>,
    technician: String,
    view: bool,
}

/// What the control reader task passes to the loop.
enum ControlIn {
    Message(Control),
    /// The viewer's control stream ended (cleanly or not) without an End message.
    Gone(String),
}

async fn read_control(mut recv: SealedRecv, out: mpsc::Sender<ControlIn>) {
    loop {
        let item = match recv.next::<Control>().await {
            Ok(Some(msg)) => ControlIn::Message(msg),
            Ok(None) => ControlIn::Gone("The technician's viewer closed the session.".into()),
            Err(e) if e.is_peer_gone() => ControlIn::Gone(format!("The technician left: {e}")),
            Err(e) => ControlIn::Gone(format!("The viewer broke the protocol: {e}")),
        };
        let last = matches!(item, ControlIn::Gone(_));
        if out.send(item).await.is_err() || last {
            return;
        }
    }
}

impl Session<'_> {
    async fn drive(
        &mut self,
        relay: &mut RelayClient,
        streams: &tandem_link::Streams,
        commands: &mut mpsc::UnboundedReceiver<HostCommand>,
        control_rx: &mut mpsc::Receiver<ControlIn>,
    ) -> Result<Ending, HostError> {
        // Stage 0: the viewer says who it is.
        let hello = tokio::time::timeout(HELLO_TIMEOUT, control_rx.recv()).await;
        match hello {
            Ok(Some(ControlIn::Message(Control::Hello { technician }))) => {
                self.technician = technician;
            }
            Ok(Some(ControlIn::Gone(detail)))
            | Ok(Some(ControlIn::Message(Control::End { detail, .. }))) => {
                return Ok(Ending::Remote(detail));
            }
            _ => {
                return Ok(Ending::Local {
                    reason: EndReason::ProtocolError,
                    detail: "The viewer did not introduce itself.".into(),
                    for_viewer: "Your viewer did not introduce itself in time.".into(),
                });
            }
        }
        info!(target: "tandem::audit", technician = %self.technician, "session started: technician connected");

        // Stage 1: may they see the screen?
        let auto = self.config.auto_accept;
        let view_ok = match auto {
            Some(_) => true,
            None => match self.ask(Grant::View, commands, control_rx, relay).await? {
                Answer::Yes => true,
                Answer::No => false,
                Answer::Ended(ending) => return Ok(ending),
            },
        };
        if !view_ok {
            // PROTOCOL.md §7: the answer is `Permissions { view: false }`, then `End`.
            self.set_control(false).await?;
            return Ok(Ending::Local {
                reason: EndReason::ConsentDenied,
                detail: "You declined to share your screen.".into(),
                for_viewer: "The user declined to share their screen with you.".into(),
            });
        }
        self.view = true;
        let control_now = auto == Some(Grant::Control);
        self.set_control(control_now).await?;

        // Start the input stream reader (input applies only while control is allowed) and capture.
        let input = streams.accept_uni(StreamKind::Input);
        let frames = streams.open_uni(StreamKind::Frames);
        let (input, mut frames) = tokio::try_join!(input, frames)?;
        let (input_done_tx, mut input_done) = mpsc::channel::<String>(1);
        let _input_task = AbortOnDrop(tokio::spawn(read_input(
            input,
            self.control_allowed.clone(),
            self.events.clone(),
            input_done_tx,
        )));
        let (frame_tx, mut frame_rx) = mpsc::channel::<FrameMsg>(2);
        let capture = spawn_capture(
            self.config.encoder.clone(),
            self.config.max_fps,
            self.frame_control.clone(),
            frame_tx,
        )
        .map_err(|e| HostError::Capture(e.to_string()))?;

        loop {
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(HostCommand::Stop) | None => return Ok(Ending::Local {
                        reason: EndReason::HostEnded,
                        detail: "You stopped sharing.".into(),
                        for_viewer: "The user stopped sharing their screen.".into(),
                    }),
                    Some(HostCommand::RevokeControl) => self.set_control(false).await?,
                    Some(HostCommand::Consent { grant: Grant::Control, allow }) => self.set_control(allow).await?,
                    Some(_) => {}
                },
                left = relay.peer_left() => {
                    let detail = match left {
                        Ok(()) => "The technician left (their connection closed).".to_owned(),
                        Err(e) => format!("The connection to the relay was lost: {e}"),
                    };
                    return Ok(Ending::Remote(detail));
                }
                incoming = control_rx.recv() => match incoming {
                    Some(ControlIn::Message(msg)) => if let Some(ending) = self.on_control(msg, auto).await? {
                        return Ok(ending);
                    },
                    Some(ControlIn::Gone(detail)) => return Ok(Ending::Remote(detail)),
                    None => return Ok(Ending::Remote("The technician left.".into())),
                },
                Some(detail) = input_done.recv() => return Ok(Ending::Remote(detail)),
                msg = frame_rx.recv() => match msg {
                    Some(msg) => if let Err(e) = frames.send(&msg).await {
                        if !e.is_peer_gone() {
                            return Err(e.into());
                        }
                        // The viewer stopped reading frames: it is leaving, and its End says why.
                        return Ok(viewer_left(control_rx).await);
                    },
                    None => {
                        // The capture thread ended: report why.
                        let detail = match capture.join() {
                            Ok(Err(e)) => e,
                            _ => "screen capture stopped".into(),
                        };
                        return Err(HostError::Capture(detail));
                    }
                },
            }
        }
    }

    async fn on_control(
        &mut self,
        msg: Control,
        auto: Option<Grant>,
    ) -> Result<Option<Ending>, HostError> {
        match msg {
            Control::Ack { seq } => {
                if let Err(e) = self.frame_control.ack(seq) {
                    return Ok(Some(Ending::Local {
                        reason: EndReason::ProtocolError,
                        detail: format!("The viewer broke the protocol: {e}"),
                        for_viewer: format!("Your viewer broke the protocol: {e}"),
                    }));
                }
            }
            Control::RequestKeyframe => self.frame_control.request_keyframe(),
            Control::RequestControl => {
                if self.control_allowed.load(Ordering::Relaxed) {
                    self.send_permissions().await?;
                } else if auto == Some(Grant::Control) {
                    self.set_control(true).await?;
                } else {
                    emit(
                        self.events,
                        HostEvent::ConsentNeeded {
                            grant: Grant::Control,
                            technician: self.technician.clone(),
                        },
                    );
                }
            }
            Control::End { reason, detail } => return Ok(Some(remote_end(reason, detail))),
            Control::Clipboard { .. } => {
                // Clipboard sync is not offered yet; never log its contents.
            }
            Control::Hello { .. } | Control::Permissions { .. } => {
                return Ok(Some(Ending::Local {
                    reason: EndReason::ProtocolError,
                    detail: "The viewer sent a message out of order.".into(),
                    for_viewer: "Your viewer sent a message out of order.".into(),
                }));
            }
        }
        Ok(None)
    }

    async fn set_control(&mut self, allowed: bool) -> Result<(), HostError> {
        self.control_allowed.store(allowed, Ordering::Relaxed);
        self.send_permissions().await
    }

    async fn send_permissions(&mut self) -> Result<(), HostError> {
        let control = self.control_allowed.load(Ordering::Relaxed);
        info!(target: "tandem::audit", technician = %self.technician, view = self.view, control, "permissions granted");
        emit(
            self.events,
            HostEvent::Permissions {
                technician: self.technician.clone(),
                view: self.view,
                control,
            },
        );
        let msg = Control::Permissions {
            view: self.view,
            control,
        };
        self.control_send.send(&msg).await.map_err(HostError::from)
    }

    /// Asks the front end for `grant`, while still noticing the viewer leaving or the user stopping.
    async fn ask(
        &mut self,
        grant: Grant,
        commands: &mut mpsc::UnboundedReceiver<HostCommand>,
        control_rx: &mut mpsc::Receiver<ControlIn>,
        relay: &mut RelayClient,
    ) -> Result<Answer, HostError> {
        emit(
            self.events,
            HostEvent::ConsentNeeded {
                grant,
                technician: self.technician.clone(),
            },
        );
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(HostCommand::Consent { grant: g, allow }) if g == grant => {
                        return Ok(if allow { Answer::Yes } else { Answer::No });
                    }
                    Some(HostCommand::Stop) | None => return Ok(Answer::Ended(Ending::Local {
                        reason: EndReason::HostEnded,
                        detail: "You stopped sharing.".into(),
                        for_viewer: "The user stopped sharing their screen.".into(),
                    })),
                    Some(_) => {}
                },
                incoming = control_rx.recv() => match incoming {
                    Some(ControlIn::Message(Control::End { reason, detail })) => {
                        return Ok(Answer::Ended(remote_end(reason, detail)));
                    }
                    Some(ControlIn::Message(_)) => {}
                    Some(ControlIn::Gone(detail)) => return Ok(Answer::Ended(Ending::Remote(detail))),
                    None => return Ok(Answer::Ended(Ending::Remote("The technician left.".into()))),
                },
                left = relay.peer_left() => {
                    let detail = match left {
                        Ok(()) => "The technician left before you answered.".to_owned(),
                        Err(e) => format!("The connection to the relay was lost: {e}"),
                    };
                    return Ok(Answer::Ended(Ending::Remote(detail)));
                }
            }
        }
    }
}

/// The viewer's End, as this side reports it.
fn remote_end(reason: EndReason, detail: String) -> Ending {
    let text = if detail.is_empty() {
        reason.to_string()
    } else {
        detail
    };
    Ending::Remote(format!("The technician ended the session: {text}"))
}

/// After the viewer's streams went away: the reason from its End if that arrives within the grace,
/// else that it left.
async fn viewer_left(control_rx: &mut mpsc::Receiver<ControlIn>) -> Ending {
    let end = tokio::time::timeout(END_GRACE, async {
        while let Some(incoming) = control_rx.recv().await {
            match incoming {
                ControlIn::Message(Control::End { reason, detail }) => {
                    return Some(remote_end(reason, detail));
                }
                ControlIn::Message(_) => {}
                ControlIn::Gone(detail) => return Some(Ending::Remote(detail)),
            }
        }
        None
    })
    .await;
    end.ok()
        .flatten()
        .unwrap_or_else(|| Ending::Remote("The technician left.".into()))
}

enum Answer {
    Yes,
    No,
    Ended(Ending),
}

/// Reads the viewer's input; applies it on a dedicated thread while control is allowed, drops it
/// otherwise. Sends a reason on `done` if the stream fails.
async fn read_input(
    mut recv: SealedRecv,
    allowed: Arc<AtomicBool>,
    events: Events,
    done: mpsc::Sender<String>,
) {
    let (tx, rx) = std::sync::mpsc::channel::<Input>();
    let injector = std::thread::Builder::new()
        .name("tandem-input".into())
        .spawn(move || {
            let mut sink = match EnigoSink::new() {
                Ok(sink) => sink,
                Err(e) => {
                    warn!(error = %e, "input injection unavailable");
                    return;
                }
            };
            for input in rx {
                if let Err(e) = sink.apply(&input) {
                    warn!(error = %e, "could not inject input");
                }
            }
        });
    if let Err(e) = injector {
        warn!(error = %e, "could not start the input thread");
    }
    let mut warned = false;
    loop {
        match recv.next::<Input>().await {
            Ok(Some(input)) => {
                if allowed.load(Ordering::Relaxed) {
                    warned = false;
                    if tx.send(input).is_err() {
                        // The injector is gone (no display); keep draining so the viewer never blocks.
                    }
                } else if !warned {
                    warned = true;
                    emit(&events, HostEvent::InputDropped);
                }
            }
            // The viewer leaving is reported by the control stream and the relay.
            Ok(None) => return,
            Err(e) if e.is_peer_gone() => return,
            Err(e) => {
                let _ = done
                    .send(format!(
                        "The viewer broke the protocol on the input stream: {e}"
                    ))
                    .await;
                return;
            }
        }
    }
}
