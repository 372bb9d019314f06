//! The viewer's session: join, handshake, then a thin driver over [`ViewerSession`] (proto's state
//! machine owns the grant, acknowledgements, control requests and the ending). The loop never awaits
//! the network: streams have writer and reader tasks ([`SessionDriver`]), decoding has its thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_collab::Collab;
use tandem_link::{Incoming, LinkError, PeerName, SessionDriver, describe, viewer_handshake};
use tandem_proto::StreamKind;
use tandem_proto::flow::{self, Machine, PeerGone, ViewerSession};
use tandem_proto::session::FrameMsg;
use tandem_relay::RelayClient;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::decode::{Decoded, DecoderThread, VIEWER_LIMITS};
use crate::screen::{Screen, SharedScreen};
use crate::{RecordingEvent, ViewerCommand, ViewerConfig, ViewerError, ViewerEvent};

/// How long to wait for the host to read a failed handshake's message before closing.
const FAIL_GRACE: Duration = Duration::from_secs(2);
/// How long the end waits for the decoder thread to close a recording file.
const RECORDING_CLOSE_WAIT: Duration = Duration::from_secs(5);

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
    let (decoded_tx, mut decoded_rx) = mpsc::channel::<Decoded>(16);
    let notices = events.clone();
    let collab = Collab::new(config.collab.clone(), move |notice| {
        emit(&notices, ViewerEvent::Collab(notice));
    });
    let mut run = Run {
        record_to: config.record_to.clone(),
        record_at_start: config.record_at_start,
        recordings: 0,
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
    };
    run.drive(&mut driver, commands, &mut decoded_rx).await;
    run.collab.finish();
    // The decoder thread closes the recording file as it exits: wait (briefly) for it, so the
    // file is complete and its summary reported before the session says it ended.
    run.decoder = None;
    let (closed, _) = mpsc::channel(1);
    drop(std::mem::replace(&mut run.decoded_tx, closed));
    let _ = tokio::time::timeout(RECORDING_CLOSE_WAIT, async {
        while let Some(decoded) = decoded_rx.recv().await {
            if matches!(
                decoded,
                Decoded::RecordingStopped(_) | Decoded::RecordingFailed { .. }
            ) {
                run.on_decoded(decoded);
            }
        }
    })
    .await;
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
    /// Where the first recording goes (later ones beside it).
    record_to: std::path::PathBuf,
    /// Ask to record as soon as the screen is shown.
    record_at_start: bool,
    /// Recordings started in this session.
    recordings: u32,
}

impl Run {
    async fn drive(
        &mut self,
        driver: &mut SessionDriver,
        mut commands: mpsc::UnboundedReceiver<ViewerCommand>,
        decoded_rx: &mut mpsc::Receiver<Decoded>,
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
                    if std::mem::take(&mut self.record_at_start) {
                        self.session.handle_command(
                            flow::ViewerCommand::Record { on: true },
                            Instant::now(),
                        );
                    }
                }
                flow::ViewerEvent::Recording(state) => self.on_recording(state),
                flow::ViewerEvent::Finishing => {
                    info!("ending: waiting for the host (the user may give feedback)");
                    emit(&self.events, ViewerEvent::Finishing);
                }
                flow::ViewerEvent::Ended(ending) => {
                    // Stop decoding: nothing more is shown or acknowledged. The decoder thread
                    // finishes the recording file before it exits.
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
            ViewerCommand::Input(input) => {
                self.session.send_input(input);
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
            ViewerCommand::Record(on) => self
                .session
                .handle_command(flow::ViewerCommand::Record { on }, now),
            ViewerCommand::End => self.session.handle_command(flow::ViewerCommand::End, now),
        }
    }

    fn on_incoming(&mut self, incoming: Incoming) {
        let now = Instant::now();
        match incoming {
            Incoming::Control(msg) => self.session.handle_control(msg, now),
            Incoming::Frame(FrameMsg::Update { seq, payload }) => {
                let Some(decoder) = &self.decoder else {
                    return;
                };
                if let Err(e) = decoder.submit(seq, payload, now) {
                    self.session.handle_peer_gone(
                        PeerGone::Broken {
                            detail: e.to_string(),
                        },
                        now,
                    );
                }
            }
            Incoming::Frame(FrameMsg::CursorPosition { x, y, visible }) => {
                let position = visible.then_some((x, y));
                if let Some(decoder) = &self.decoder {
                    decoder.record_cursor(position, now);
                }
                Screen::lock(&self.screen).cursor = position;
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
            Decoded::RecordingStarted { path } => emit(
                &self.events,
                ViewerEvent::Recording(RecordingEvent::Started { path }),
            ),
            Decoded::RecordingStopped(summary) => emit(
                &self.events,
                ViewerEvent::Recording(RecordingEvent::Stopped(summary)),
            ),
            Decoded::RecordingFailed { path, error } => {
                // The file is gone or full: tell the host too, so the user's indicator goes off.
                self.session
                    .handle_command(flow::ViewerCommand::Record { on: false }, now);
                emit(
                    &self.events,
                    ViewerEvent::Recording(RecordingEvent::Failed {
                        path,
                        reason: error,
                    }),
                );
            }
        }
    }

    /// The machine's recording state: start or stop writing (only after the host said yes).
    fn on_recording(&mut self, state: flow::RecordingState) {
        let now = Instant::now();
        match state {
            flow::RecordingState::On => {
                self.recordings += 1;
                let path = numbered_path(&self.record_to, self.recordings);
                if let Some(decoder) = &self.decoder
                    && let Err(e) = decoder.start_recording(path.clone(), now)
                {
                    self.session.handle_peer_gone(
                        PeerGone::Broken {
                            detail: e.to_string(),
                        },
                        now,
                    );
                }
            }
            flow::RecordingState::Off | flow::RecordingState::Refused => {
                if let Some(decoder) = &self.decoder
                    && let Err(e) = decoder.stop_recording()
                {
                    self.session.handle_peer_gone(
                        PeerGone::Broken {
                            detail: e.to_string(),
                        },
                        now,
                    );
                }
                if state == flow::RecordingState::Refused {
                    info!("the user refused recording");
                    emit(
                        &self.events,
                        ViewerEvent::Recording(RecordingEvent::Refused),
                    );
                }
            }
            flow::RecordingState::Asking => {
                emit(&self.events, ViewerEvent::Recording(RecordingEvent::Asking))
            }
        }
    }
}

/// The `n`th recording's file: `path` itself first, then `stem-2.ext`, `stem-3.ext`, ...
fn numbered_path(path: &std::path::Path, n: u32) -> std::path::PathBuf {
    if n <= 1 {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "recording".into());
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n}"),
    };
    path.with_file_name(name)
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
                recording_ms: screen.recorded_ms,
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
