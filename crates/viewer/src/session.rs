//! The viewer's session loop: join, handshake, introduce the technician, decode frames and
//! acknowledge them, forward input, end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_link::{AbortOnDrop, LinkError, SealedRecv, describe, viewer_handshake};
use tandem_proto::StreamKind;
use tandem_proto::session::{Control, EndReason, FrameMsg};
use tandem_relay::RelayClient;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::screen::{Screen, SharedScreen};
use crate::{ViewerCommand, ViewerConfig, ViewerError, ViewerEvent};

/// How long to let an End message reach the host before closing.
const END_GRACE: Duration = Duration::from_secs(2);

type Events = mpsc::UnboundedSender<ViewerEvent>;
/// Called after each decoded update so a window can repaint.
pub type Repaint = Arc<dyn Fn() + Send + Sync>;

fn emit(events: &Events, event: ViewerEvent) {
    let _ = events.send(event);
}

/// Runs one viewing session to its end; returns the human reason it ended. Every way it can end,
/// failures included, is reported with one [`ViewerEvent::Ended`], so a front end always learns why.
pub async fn run(
    config: ViewerConfig,
    screen: SharedScreen,
    repaint: Repaint,
    events: Events,
    commands: mpsc::UnboundedReceiver<ViewerCommand>,
) -> Result<String, ViewerError> {
    let result = run_session(config, screen, repaint, &events, commands).await;
    if let Err(e) = &result {
        warn!(error = %e, "session failed");
        emit(
            &events,
            ViewerEvent::Ended {
                reason: describe(e),
            },
        );
    }
    result
}

async fn run_session(
    config: ViewerConfig,
    screen: SharedScreen,
    repaint: Repaint,
    events: &Events,
    mut commands: mpsc::UnboundedReceiver<ViewerCommand>,
) -> Result<String, ViewerError> {
    let events = events.clone();
    let mut relay = RelayClient::connect(&config.relay, &config.trust).await?;
    emit(
        &events,
        ViewerEvent::Connected {
            fingerprint: relay.relay_fingerprint().to_string(),
        },
    );
    relay.join(&config.code.routing).await?;
    emit(&events, ViewerEvent::Paired);

    let link =
        match viewer_handshake(relay.connection().clone(), &config.code, &relay.relay_id()).await {
            Ok(link) => link,
            Err(e) => {
                // The viewer checks the code first: give the host (briefly) the time to read our
                // `Failed` and leave, since closing now could discard it.
                if let LinkError::Handshake(h) = &e
                    && h.fail_message().is_some()
                {
                    let _ = tokio::time::timeout(END_GRACE, relay.peer_left()).await;
                }
                relay.close_and_wait("handshake failed").await;
                return Err(e.into());
            }
        };
    emit(
        &events,
        ViewerEvent::Secured {
            verifier: link.verifier.clone(),
        },
    );
    let mut control_send = link.control_send;
    control_send
        .send(&Control::Hello {
            technician: config.technician.clone(),
        })
        .await?;
    let mut input_send = link.streams.open_uni(StreamKind::Input).await?;

    let (control_tx, mut control_rx) = mpsc::channel(16);
    let _control_reader = AbortOnDrop(tokio::spawn(read_control(link.control_recv, control_tx)));
    let (decoded_tx, mut decoded_rx) = mpsc::channel::<Decoded>(16);
    let mut frames_reader = None;
    let mut stats = Stats::new();
    let mut pending_snapshot = None;
    let mut control_requested = false;
    let started = Instant::now();

    let ending = loop {
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(ViewerCommand::Input(input)) => input_send.send(&input).await?,
                Some(ViewerCommand::RequestControl) => {
                    control_requested = true;
                    control_send.send(&Control::RequestControl).await?;
                }
                Some(ViewerCommand::Snapshot(path)) => {
                    if Screen::lock(&screen).frames == 0 {
                        // Nothing decoded yet: write it once the first picture is in.
                        pending_snapshot = Some(path);
                    } else {
                        write_snapshot(&screen, path, &events);
                    }
                }
                Some(ViewerCommand::End) | None => break Ending::Local,
            },
            left = relay.peer_left() => break Ending::Remote(match left {
                Ok(()) => "The other side left (their connection closed).".to_owned(),
                Err(e) => format!("The connection to the relay was lost: {e}"),
            }),
            incoming = control_rx.recv() => match incoming {
                Some(Ok(Control::Permissions { view, control })) => {
                    info!(view, control, "permissions changed");
                    emit(&events, ViewerEvent::Permissions { view, control });
                    // The answer to a control request is the next `Permissions`.
                    if std::mem::take(&mut control_requested) && !control {
                        emit(&events, ViewerEvent::ControlDeclined);
                    }
                    if view && frames_reader.is_none() {
                        let frames = link.streams.accept_uni(StreamKind::Frames).await?;
                        frames_reader = Some(AbortOnDrop(tokio::spawn(read_frames(
                            frames,
                            screen.clone(),
                            repaint.clone(),
                            decoded_tx.clone(),
                        ))));
                    }
                }
                Some(Ok(Control::End { reason, detail })) => {
                    let text = if detail.is_empty() { reason.to_string() } else { detail };
                    break Ending::Remote(format!("The host ended the session: {text}"));
                }
                Some(Ok(_)) => {}
                Some(Err(detail)) => break Ending::Remote(detail),
                None => break Ending::Remote("The host closed the session.".into()),
            },
            decoded = decoded_rx.recv() => match decoded {
                Some(Decoded::Update { seq, bytes }) => {
                    control_send.send(&Control::Ack { seq }).await?;
                    if stats.total_frames == 0 {
                        let (width, height) = Screen::lock(&screen).size();
                        emit(&events, ViewerEvent::FirstFrame { width, height });
                    }
                    if let Some(path) = pending_snapshot.take() {
                        write_snapshot(&screen, path, &events);
                    }
                    stats.record(bytes, &screen, &events);
                }
                Some(Decoded::Failed(e)) => break Ending::Failed(e),
                None => {}
            },
        }
    };

    // The frames reader lives until the end of this function: dropping it first would stop the
    // host's frames stream before our End reaches it, and the host would report a lost viewer.
    let reason = match ending {
        Ending::Local => {
            let msg = Control::End {
                reason: EndReason::ViewerEnded,
                detail: "The technician ended the session.".into(),
            };
            if control_send.send(&msg).await.is_ok() {
                control_send.finish();
                input_send.finish();
                let _ = tokio::time::timeout(END_GRACE, relay.connection().closed()).await;
            }
            "You ended the session.".to_owned()
        }
        Ending::Remote(reason) => reason,
        Ending::Failed(e) => {
            let msg = Control::End {
                reason: EndReason::ProtocolError,
                detail: "The viewer could not decode the screen.".into(),
            };
            let _ = control_send.send(&msg).await;
            relay.close("decode error");
            return Err(e.into());
        }
    };
    relay.close("session ended");
    info!(reason, "session ended");
    emit(
        &events,
        ViewerEvent::Summary {
            frames: stats.total_frames,
            bytes: stats.total_bytes,
            seconds: started.elapsed().as_secs_f64(),
        },
    );
    emit(
        &events,
        ViewerEvent::Ended {
            reason: reason.clone(),
        },
    );
    Ok(reason)
}

/// Writes the decoded picture to `path` and reports the outcome either way.
fn write_snapshot(screen: &SharedScreen, path: std::path::PathBuf, events: &Events) {
    let screen = Screen::lock(screen);
    match screen.save_png(&path) {
        Ok(()) => emit(
            events,
            ViewerEvent::Snapshot {
                path,
                frames: screen.frames,
            },
        ),
        Err(e) => {
            warn!(error = %e, "could not write the snapshot");
            emit(
                events,
                ViewerEvent::SnapshotFailed {
                    path,
                    reason: e.to_string(),
                },
            );
        }
    }
}

enum Ending {
    Local,
    Remote(String),
    Failed(tandem_codec::DecodeError),
}

enum Decoded {
    Update { seq: u64, bytes: usize },
    Failed(tandem_codec::DecodeError),
}

async fn read_control(mut recv: SealedRecv, out: mpsc::Sender<Result<Control, String>>) {
    loop {
        let item = match recv.next::<Control>().await {
            Ok(Some(msg)) => Ok(msg),
            Ok(None) => Err("The host closed the session.".to_owned()),
            Err(e) if e.is_peer_gone() => Err(format!("The host left: {e}")),
            Err(e) => Err(format!("The host broke the protocol: {e}")),
        };
        let last = item.is_err();
        if out.send(item).await.is_err() || last {
            return;
        }
    }
}

/// Decodes screen updates into the shared screen as they arrive.
async fn read_frames(
    mut recv: SealedRecv,
    screen: SharedScreen,
    repaint: Repaint,
    out: mpsc::Sender<Decoded>,
) {
    loop {
        let msg = match recv.next::<FrameMsg>().await {
            Ok(Some(msg)) => msg,
            // Ending or lost: the control stream reports why.
            Ok(None) | Err(_) => return,
        };
        let report = match msg {
            FrameMsg::Update { seq, payload } => {
                let result = Screen::lock(&screen).apply(&payload);
                match result {
                    Ok(_) => Decoded::Update {
                        seq,
                        bytes: payload.len(),
                    },
                    Err(e) => Decoded::Failed(e),
                }
            }
            FrameMsg::CursorPosition { x, y, visible } => {
                Screen::lock(&screen).cursor = visible.then_some((x, y));
                repaint();
                continue;
            }
            FrameMsg::CursorShape { .. } => continue,
        };
        repaint();
        let failed = matches!(report, Decoded::Failed(_));
        if out.send(report).await.is_err() || failed {
            return;
        }
    }
}

/// Frame-rate and size statistics, reported once a second.
struct Stats {
    total_frames: u64,
    total_bytes: u64,
    window_start: Instant,
    window_frames: u64,
    window_bytes: u64,
}

impl Stats {
    fn new() -> Self {
        Self {
            total_frames: 0,
            total_bytes: 0,
            window_start: Instant::now(),
            window_frames: 0,
            window_bytes: 0,
        }
    }

    fn record(&mut self, bytes: usize, screen: &SharedScreen, events: &Events) {
        self.total_frames += 1;
        self.total_bytes += bytes as u64;
        self.window_frames += 1;
        self.window_bytes += bytes as u64;
        let elapsed = self.window_start.elapsed();
        if elapsed >= Duration::from_secs(1) {
            let (frames, (width, height)) = {
                let screen = Screen::lock(screen);
                (screen.frames, screen.size())
            };
            emit(
                events,
                ViewerEvent::Stats {
                    frames,
                    fps: self.window_frames as f64 / elapsed.as_secs_f64(),
                    bytes_per_frame: self.window_bytes / self.window_frames,
                    width,
                    height,
                },
            );
            self.window_start = Instant::now();
            self.window_frames = 0;
            self.window_bytes = 0;
        }
    }
}
