//! The viewer's session: join, handshake, then a thin driver over [`ViewerSession`] (proto's state
//! machine owns the grant, acknowledgements, control requests and the ending). The loop never awaits
//! the network: streams have writer and reader tasks ([`SessionDriver`]), decoding has its thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_collab::Collab;
use tandem_link::{Incoming, LinkError, PeerName, SessionDriver, describe, viewer_handshake};
use tandem_proto::StreamKind;
use tandem_proto::flow::{self, Machine, PeerGone, ViewerSession};
use tandem_proto::keys::{HeldKeys, Observed};
use tandem_proto::session::{FrameMsg, Input};
use tandem_relay::RelayClient;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::decode::{Decoded, DecoderThread, VIEWER_LIMITS};
use crate::screen::{Screen, SharedScreen};
use crate::{ViewerCommand, ViewerConfig, ViewerError, ViewerEvent};

/// How long to wait for the host to read a failed handshake's message before closing.
const FAIL_GRACE: Duration = Duration::from_secs(2);

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
    commands: mpsc::UnboundedReceiver<ViewerCommand>,
) -> Result<String, ViewerError> {
    let mut relay = RelayClient::connect(&config.relay, &config.trust).await?;
    emit(
        events,
        ViewerEvent::Connected {
            fingerprint: relay.relay_fingerprint().to_string(),
        },
    );
    relay.join(&config.code.routing).await?;
    emit(events, ViewerEvent::Paired);

    let link =
        match viewer_handshake(relay.connection().clone(), &config.code, &relay.relay_id()).await {
            Ok(link) => link,
            Err(e) => {
                // The viewer checks the code first: give the host (briefly) the time to read our
                // `Failed` and leave, since closing now could discard it.
                if let LinkError::Handshake(h) = &e
                    && h.fail_message().is_some()
                {
                    let _ = tokio::time::timeout(FAIL_GRACE, relay.peer_left()).await;
                }
                relay.close_and_wait("handshake failed").await;
                return Err(e.into());
            }
        };
    emit(
        events,
        ViewerEvent::Secured {
            verifier: link.verifier.clone(),
        },
    );
    let mut driver = SessionDriver::new(link, relay, PeerName("The host"));
    // The viewer opens its input stream at once (PROTOCOL.md §7); the host accepts it once it shares.
    driver.start_sending(StreamKind::Input);
    let session = ViewerSession::new(&config.technician, Instant::now());
    let (decoded_tx, decoded_rx) = mpsc::channel::<Decoded>(16);
    let notices = events.clone();
    let collab = Collab::new(config.collab.clone(), move |notice| {
        emit(&notices, ViewerEvent::Collab(notice));
    });
    let mut run = Run {
        collab,
        session,
        screen,
        repaint,
        events: events.clone(),
        decoder: None,
        decoded_tx,
        stats: Stats::new(),
        pending_snapshot: None,
        reason: None,
        started: Instant::now(),
        held: HeldKeys::default(),
    };
    run.drive(&mut driver, commands, decoded_rx).await;
    run.collab.finish();
    driver.close("session ended").await;
    let reason = run
        .reason
        .take()
        .unwrap_or_else(|| "The session ended.".into());
    info!(reason, "session ended");
    emit(
        events,
        ViewerEvent::Summary {
            frames: run.stats.total_frames,
            bytes: run.stats.total_bytes,
            seconds: run.started.elapsed().as_secs_f64(),
        },
    );
    emit(
        events,
        ViewerEvent::Ended {
            reason: reason.clone(),
        },
    );
    Ok(reason)
}

/// The loop's state beside the machine.
struct Run {
    session: ViewerSession,
    collab: Collab,
    screen: SharedScreen,
    repaint: Repaint,
    events: Events,
    decoder: Option<DecoderThread>,
    /// Where the decoder thread reports; the loop reads the other end.
    decoded_tx: mpsc::Sender<Decoded>,
    stats: Stats,
    pending_snapshot: Option<std::path::PathBuf>,
    reason: Option<String>,
    started: Instant,
    /// Keys this side has pressed on the remote side and not released: let go before the end,
    /// whatever the front end did.
    held: HeldKeys,
}

impl Run {
    async fn drive(
        &mut self,
        driver: &mut SessionDriver,
        mut commands: mpsc::UnboundedReceiver<ViewerCommand>,
        mut decoded_rx: mpsc::Receiver<Decoded>,
    ) {
        let mut commands_open = true;
        loop {
            let now = Instant::now();
            self.absorb_events(driver);
            while let Some(event) = self.session.poll_collab() {
                self.collab.handle_event(&mut self.session, event);
            }
            self.collab.sync(&self.session);
            driver.flush(&mut self.session, now);
            if self.session.poll_close(now) {
                return;
            }
            let deadline = self
                .session
                .poll_timeout()
                .map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                biased;
                command = commands.recv(), if commands_open => {
                    commands_open = command.is_some();
                    self.on_command(command.unwrap_or(ViewerCommand::End));
                }
                decoded = decoded_rx.recv() => if let Some(decoded) = decoded {
                    self.on_decoded(decoded);
                },
                incoming = driver.next_incoming(self.collab.wants_bulk()) => self.on_incoming(incoming),
                work = self.collab.next_work() => self.collab.handle_work(&mut self.session, work),
                () = tokio::time::sleep_until(deadline) => self.session.handle_timeout(Instant::now()),
            }
        }
    }

    fn absorb_events(&mut self, driver: &mut SessionDriver) {
        while let Some(event) = self.session.poll_event() {
            match event {
                flow::ViewerEvent::Permissions {
                    view,
                    control,
                    clipboard,
                } => {
                    info!(view, control, clipboard, "permissions changed");
                    emit(
                        &self.events,
                        ViewerEvent::Permissions {
                            view,
                            control,
                            clipboard,
                        },
                    );
                }
                flow::ViewerEvent::Diagnostics { snapshot } => {
                    emit(&self.events, ViewerEvent::Diagnostics { snapshot });
                }
                flow::ViewerEvent::Feedback { rating, comment } => {
                    info!(rating, "the user's feedback arrived");
                    emit(&self.events, ViewerEvent::Feedback { rating, comment });
                }
                flow::ViewerEvent::Monitors {
                    width,
                    height,
                    monitors,
                    selected,
                } => {
                    info!(monitors = monitors.len(), ?selected, "host monitors");
                    emit(
                        &self.events,
                        ViewerEvent::Monitors {
                            width,
                            height,
                            monitors,
                            selected,
                        },
                    );
                }
                flow::ViewerEvent::ControlDeclined => {
                    emit(&self.events, ViewerEvent::ControlDeclined);
                }
                flow::ViewerEvent::ControlRequestNotSent { retry_in } => {
                    emit(
                        &self.events,
                        ViewerEvent::ControlRequestNotSent { retry_in },
                    );
                }
                flow::ViewerEvent::StartFrames => {
                    driver.start_receiving(StreamKind::Frames);
                    driver.start_sending(StreamKind::Bulk);
                    driver.start_receiving(StreamKind::Bulk);
                    self.collab.set_bulk(driver.bulk_sender());
                    match DecoderThread::spawn(
                        self.screen.clone(),
                        self.repaint.clone(),
                        VIEWER_LIMITS,
                        self.decoded_tx.clone(),
                    ) {
                        Ok(decoder) => self.decoder = Some(decoder),
                        Err(e) => self.session.handle_decode_failed(
                            &format!("no decoder thread: {e}"),
                            Instant::now(),
                        ),
                    }
                }
                flow::ViewerEvent::Ended(ending) => {
                    // Stop decoding: nothing more is shown or acknowledged.
                    self.decoder = None;
                    self.collab.finish();
                    self.reason = Some(ending.detail);
                }
            }
        }
    }

    fn on_command(&mut self, command: ViewerCommand) {
        let now = Instant::now();
        match command {
            ViewerCommand::Input(input) => self.send_input(input),
            ViewerCommand::SendKeys(combo) => {
                for key in &combo.keys {
                    self.send_input(key.input(true));
                }
                for key in combo.keys.iter().rev() {
                    self.send_input(key.input(false));
                }
            }
            ViewerCommand::SetKeyMode(mode) => {
                info!(mode = mode.name(), "keyboard mode");
                emit(&self.events, ViewerEvent::KeyMode(mode));
            }
            ViewerCommand::RequestControl => self
                .session
                .handle_command(flow::ViewerCommand::RequestControl, now),
            ViewerCommand::RequestDiagnostics => self
                .session
                .handle_command(flow::ViewerCommand::RequestDiagnostics, now),
            ViewerCommand::SelectMonitor(index) => self
                .session
                .handle_command(flow::ViewerCommand::SelectMonitor { index }, now),
            ViewerCommand::Snapshot(path) => {
                if Screen::lock(&self.screen).frames == 0 {
                    // Nothing decoded yet: write it once the first picture is in.
                    self.pending_snapshot = Some(path);
                } else {
                    write_snapshot(&self.screen, path, &self.events);
                }
            }
            ViewerCommand::Collab(command) => {
                self.collab.handle_command(&mut self.session, command)
            }
            ViewerCommand::End => {
                for release in self.held.release_all() {
                    self.session.send_input(release);
                }
                self.session.handle_command(flow::ViewerCommand::End, now)
            }
        }
    }

    fn send_input(&mut self, input: Input) {
        if self.held.observe(&input) == Observed::TooMany {
            // Never pressed, so it can never be left held.
            return;
        }
        self.session.send_input(input);
    }

    fn on_incoming(&mut self, incoming: Incoming) {
        let now = Instant::now();
        match incoming {
            Incoming::Control(msg) => self.session.handle_control(msg, now),
            Incoming::Frame(FrameMsg::Update { seq, payload }) => {
                let Some(decoder) = &self.decoder else {
                    return;
                };
                if let Err(e) = decoder.submit(seq, payload) {
                    self.session.handle_peer_gone(
                        PeerGone::Broken {
                            detail: e.to_string(),
                        },
                        now,
                    );
                }
            }
            Incoming::Frame(FrameMsg::CursorPosition { x, y, visible }) => {
                Screen::lock(&self.screen).cursor = visible.then_some((x, y));
                (self.repaint)();
            }
            // Reserved in this version: viewers draw their own marker.
            Incoming::Frame(FrameMsg::CursorShape { .. }) => {}
            Incoming::Input(_) => self.session.handle_peer_gone(
                PeerGone::Broken {
                    detail: "it sent input".into(),
                },
                now,
            ),
            Incoming::Bulk(bulk) => self.session.handle_bulk(bulk),
            Incoming::Gone(gone) => self.session.handle_peer_gone(gone, now),
        }
    }

    fn on_decoded(&mut self, decoded: Decoded) {
        let now = Instant::now();
        match decoded {
            Decoded::Update { seq, bytes } => {
                if self.session.is_ended() {
                    return;
                }
                self.session.handle_update_decoded(seq, now);
                if self.stats.total_frames == 0 {
                    let (width, height) = Screen::lock(&self.screen).size();
                    emit(&self.events, ViewerEvent::FirstFrame { width, height });
                }
                if let Some(path) = self.pending_snapshot.take() {
                    write_snapshot(&self.screen, path, &self.events);
                }
                self.stats.record(bytes, &self.screen, &self.events);
            }
            Decoded::Failed { seq, error } => {
                warn!(seq, "a screen update could not be decoded");
                self.session.handle_decode_failed(&error, now);
            }
        }
    }
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
