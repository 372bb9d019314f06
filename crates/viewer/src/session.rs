//! The viewer's session: join, handshake, then a thin driver over [`ViewerSession`] (proto's state
//! machine owns the grant, acknowledgements, control requests and the ending). The loop never awaits
//! the network: streams have writer and reader tasks ([`SessionDriver`]), decoding has its thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_collab::Collab;
use tandem_i18n::tr;
use tandem_link::{
    AbortOnDrop, Incoming, Link, LinkError, PeerName, ReconnectError, ResumeTarget, SessionDriver,
    describe, reconnect, viewer_handshake,
};
use tandem_proto::StreamKind;
use tandem_proto::flow::{self, Machine, PeerGone, ViewerSession};
use tandem_proto::keys::{HeldKeys, Observed};
use tandem_proto::relay::ResumeRole;
use tandem_proto::session::{FrameMsg, Input};
use tandem_relay::RelayClient;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::decode::{Decoded, DecoderThread, VIEWER_LIMITS};
use crate::ending::{self, Told};
use crate::screen::{RemoteCursor, Screen, SharedScreen};
use crate::stats::StatsWindow;
use crate::{RecordingEvent, ViewerCommand, ViewerConfig, ViewerError, ViewerEvent};

/// How the viewer names the host to its user.
const PEER: PeerName = PeerName("The host");

/// A running attempt to restore the lost link.
type Reconnecting = AbortOnDrop<Result<(RelayClient, Link), ReconnectError>>;

/// The link and what restores it when it is lost.
struct LinkState {
    /// `None` while the link is lost.
    driver: Option<SessionDriver>,
    resume: ResumeTarget,
    reconnecting: Option<Reconnecting>,
    /// Where the decoder thread of the current link reports (replaced with the link, so nothing
    /// decoded from a lost link is acknowledged on the next).
    decoded_rx: mpsc::Receiver<Decoded>,
}

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
        let told = failure(e);
        emit(
            &events,
            ViewerEvent::Ended {
                reason: told.said,
                reason_en: told.english,
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
    let resume = ResumeTarget::of(&relay, &link, ResumeRole::Viewer);
    let mut driver = SessionDriver::new(link, relay, PEER);
    // The viewer opens its input stream at once (PROTOCOL.md §7); the host accepts it once it shares.
    driver.start_sending(StreamKind::Input);
    let session = ViewerSession::new(&config.technician, Instant::now())
        .with_reconnect(config.reconnect_grace)
        .with_clipboard(config.clipboard);
    if !config.clipboard {
        emit(events, ViewerEvent::ClipboardSwitch { on: false });
    }
    let (decoded_tx, decoded_rx) = mpsc::channel::<Decoded>(16);
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
        stats: StatsWindow::new(Instant::now()),
        totals: Totals::default(),
        pending_snapshot: None,
        reason: None,
        started: Instant::now(),
        show_screen: config.show_screen.clone(),
        presenter: None,
        presenter_updates: 0,
        shown_stream_open: false,
        held: HeldKeys::default(),
    };
    let mut link = LinkState {
        driver: Some(driver),
        resume,
        reconnecting: None,
        decoded_rx,
    };
    run.drive(&mut link, commands).await;
    run.collab.finish();
    drop(link.reconnecting.take());
    // The decoder thread closes the recording file as it exits: wait (briefly) for it, so the
    // file is complete and its summary reported before the session says it ended.
    run.decoder = None;
    let (closed, _) = mpsc::channel(1);
    drop(std::mem::replace(&mut run.decoded_tx, closed));
    let _ = tokio::time::timeout(RECORDING_CLOSE_WAIT, async {
        while let Some(decoded) = link.decoded_rx.recv().await {
            if matches!(
                decoded,
                Decoded::RecordingStopped(_) | Decoded::RecordingFailed { .. }
            ) {
                run.on_decoded(decoded, std::time::Duration::ZERO);
            }
        }
    })
    .await;
    if let Some(driver) = link.driver.take() {
        driver.close("session ended").await;
    }
    let told = run
        .reason
        .take()
        .unwrap_or_else(|| Told::new("The session ended.", tr!("end-session-ended")));
    info!(reason = told.english.as_str(), "session ended");
    emit(
        events,
        ViewerEvent::Summary {
            frames: run.totals.frames,
            bytes: run.totals.bytes,
            seconds: run.started.elapsed().as_secs_f64(),
            cursor_positions: run.totals.cursor_positions,
        },
    );
    emit(
        events,
        ViewerEvent::Ended {
            reason: told.said,
            reason_en: told.english.clone(),
        },
    );
    Ok(told.english)
}

/// What the technician is told when the session fails: a sentence of its own for the failures a
/// person can act on, else the error's (English) text after a translated sentence.
fn failure(error: &ViewerError) -> Told {
    let english = describe(error);
    let said = match error {
        ViewerError::Relay(relay) => {
            ending::relay_error(relay).unwrap_or_else(|| ending::failed(&english))
        }
        _ => ending::failed(&english),
    };
    Told::new(english, said)
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
    stats: StatsWindow,
    totals: Totals,
    pending_snapshot: Option<std::path::PathBuf>,
    reason: Option<Told>,
    started: Instant,
    /// "Show my screen": how to start capture here, and the capture while shown.
    show_screen: Option<crate::ScreenSourceFactory>,
    presenter: Option<Box<dyn crate::ScreenSource>>,
    /// Updates the current capture produced: its own count from 0, which `allow` is relative to.
    presenter_updates: u64,
    shown_stream_open: bool,
    /// Keys this side has pressed on the remote side and not released: let go before the end,
    /// whatever the front end did.
    held: HeldKeys,
    /// Where the first recording goes (later ones beside it).
    record_to: std::path::PathBuf,
    /// Ask to record as soon as the screen is shown.
    record_at_start: bool,
    /// Recordings started in this session.
    recordings: u32,
}

/// The next update of this side's screen, if it is being shown (else never).
async fn next_shown(
    presenter: &mut Option<Box<dyn crate::ScreenSource>>,
) -> Result<Vec<u8>, String> {
    match presenter {
        Some(presenter) => presenter.next_update().await,
        None => std::future::pending().await,
    }
}

impl Run {
    async fn drive(
        &mut self,
        link: &mut LinkState,
        mut commands: mpsc::UnboundedReceiver<ViewerCommand>,
    ) {
        let mut commands_open = true;
        loop {
            let now = Instant::now();
            self.absorb_events(link);
            while let Some(event) = self.session.poll_collab() {
                self.collab.handle_event(&mut self.session, event);
            }
            self.collab.sync(&self.session);
            if let Some(driver) = &mut link.driver {
                driver.flush(&mut self.session, now);
                // This side's screen goes at the link's pace: capture only while little is queued.
                if let Some(presenter) = &self.presenter
                    && driver.frames_queued().unwrap_or(0) <= 1
                {
                    presenter.allow(self.presenter_updates + 2);
                }
            }
            if self.session.poll_close(now) {
                return;
            }
            let deadline = self
                .session
                .poll_timeout()
                .map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            let wants_bulk = self.collab.wants_bulk();
            let LinkState {
                driver,
                reconnecting,
                decoded_rx,
                ..
            } = &mut *link;
            let is_reconnecting = reconnecting.is_some();
            tokio::select! {
                biased;
                command = commands.recv(), if commands_open => {
                    commands_open = command.is_some();
                    self.on_command(command.unwrap_or(ViewerCommand::End));
                }
                decoded = decoded_rx.recv() => if let Some(decoded) = decoded {
                    self.on_decoded(decoded, driver.as_ref().map_or(Duration::ZERO, SessionDriver::rtt));
                },
                restored = async {
                    match reconnecting {
                        Some(task) => (&mut task.0).await,
                        None => std::future::pending().await,
                    }
                }, if is_reconnecting => {
                    link.reconnecting = None;
                    match restored {
                        Ok(Ok((relay, new_link))) => {
                            link.resume = ResumeTarget::of(&relay, &new_link, ResumeRole::Viewer);
                            let mut driver = SessionDriver::new(new_link, relay, PEER);
                            driver.start_sending(StreamKind::Input);
                            link.driver = Some(driver);
                            // New streams: showing this screen again opens a new frames stream.
                            self.shown_stream_open = false;
                            emit(&self.events, ViewerEvent::Resumed);
                            self.session.handle_resumed(Instant::now());
                        }
                        // Hopeless before the grace is over (the relay's identity changed).
                        Ok(Err(e @ ReconnectError::Relay(_))) => {
                            self.session.handle_reconnect_failed(
                                describe(&e),
                                Instant::now(),
                            );
                        }
                        // The machine ends the session when the grace is over.
                        Ok(Err(e)) => warn!(error = %e, "the link was not restored"),
                        Err(e) => warn!(error = %e, "the reconnect task failed"),
                    }
                }
                incoming = async {
                    match driver {
                        Some(d) => d.next_incoming(wants_bulk).await,
                        None => std::future::pending().await,
                    }
                } => self.on_incoming(incoming),
                work = self.collab.next_work() => self.collab.handle_work(&mut self.session, work),
                shown = next_shown(&mut self.presenter) => match shown {
                    Ok(payload) => {
                        // Counted whether or not it still goes out: the capture counted it.
                        self.presenter_updates += 1;
                        self.session.send_shown_update(payload);
                    }
                    Err(reason) => {
                        warn!(%reason, "showing this screen stopped");
                        self.presenter = None;
                        self.session.handle_command(flow::ViewerCommand::ShowScreen { on: false }, Instant::now());
                        emit(&self.events, ViewerEvent::Showing { on: false, closed_by_user: false, failed: Some(reason) });
                    }
                },
                () = tokio::time::sleep_until(deadline) => self.session.handle_timeout(Instant::now()),
            }
        }
    }

    fn absorb_events(&mut self, link: &mut LinkState) {
        while let Some(event) = self.session.poll_event() {
            match event {
                flow::ViewerEvent::Reconnecting { grace } => {
                    // Nothing from the lost link is shown or acknowledged: its decoder goes, and
                    // so does the channel it reports on.
                    self.decoder = None;
                    let (decoded_tx, decoded_rx) = mpsc::channel::<Decoded>(16);
                    self.decoded_tx = decoded_tx;
                    link.decoded_rx = decoded_rx;
                    self.collab.set_bulk(None);
                    if let Some(driver) = link.driver.take() {
                        driver.abandon("link lost");
                    }
                    info!(grace_secs = grace.as_secs(), "link lost; reconnecting");
                    let target = link.resume.clone();
                    let deadline = tokio::time::Instant::now() + grace;
                    link.reconnecting = Some(AbortOnDrop(tokio::spawn(async move {
                        reconnect(&target, deadline).await
                    })));
                    emit(&self.events, ViewerEvent::Reconnecting { grace });
                }
                flow::ViewerEvent::Resumed { viewing } => {
                    info!("link restored; session resumed");
                    if viewing && let Some(driver) = &mut link.driver {
                        self.start_frames(driver);
                    }
                }
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
                    // Granted while the link is lost: started when it is back.
                    if let Some(driver) = &mut link.driver {
                        self.start_frames(driver);
                    }
                    // `--record`: ask as soon as the screen is shown.
                    if std::mem::take(&mut self.record_at_start) {
                        self.session.handle_command(
                            flow::ViewerCommand::Record { on: true },
                            Instant::now(),
                        );
                    }
                }
                flow::ViewerEvent::Showing { on: true, .. } => {
                    let started = self
                        .show_screen
                        .as_ref()
                        .ok_or_else(|| "there is no display here to show".to_owned())
                        .and_then(|factory| (factory.0)());
                    match started {
                        Ok(presenter) => {
                            if let Some(driver) = &mut link.driver
                                && !std::mem::replace(&mut self.shown_stream_open, true)
                            {
                                driver.start_sending(StreamKind::Frames);
                            }
                            info!("showing this screen to the user");
                            self.presenter = Some(presenter);
                            self.presenter_updates = 0;
                            emit(
                                &self.events,
                                ViewerEvent::Showing {
                                    on: true,
                                    closed_by_user: false,
                                    failed: None,
                                },
                            );
                        }
                        Err(reason) => {
                            warn!(%reason, "cannot show this screen");
                            self.session.handle_command(
                                flow::ViewerCommand::ShowScreen { on: false },
                                Instant::now(),
                            );
                            emit(
                                &self.events,
                                ViewerEvent::Showing {
                                    on: false,
                                    closed_by_user: false,
                                    failed: Some(reason),
                                },
                            );
                        }
                    }
                }
                flow::ViewerEvent::Showing {
                    on: false,
                    closed_by_user,
                } => {
                    if self.presenter.take().is_some() {
                        info!(closed_by_user, "no longer showing this screen");
                        emit(
                            &self.events,
                            ViewerEvent::Showing {
                                on: false,
                                closed_by_user,
                                failed: None,
                            },
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
                    self.presenter = None;
                    self.collab.finish();
                    self.reason = Some(Told::of(&ending.why));
                }
            }
        }
    }

    /// Accepts the host's frames and bulk streams, opens ours, and decodes afresh.
    fn start_frames(&mut self, driver: &mut SessionDriver) {
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
            Err(e) => self
                .session
                .handle_decode_failed(&format!("no decoder thread: {e}"), Instant::now()),
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
            ViewerCommand::ReleaseControl => {
                // Keys held on the remote side would stay held once input is refused there.
                for release in self.held.release_all() {
                    self.session.send_input(release);
                }
                self.session
                    .handle_command(flow::ViewerCommand::ReleaseControl, now)
            }
            ViewerCommand::SetClipboard(on) => {
                let before = self.session.clipboard_wish();
                self.session
                    .handle_command(flow::ViewerCommand::SetClipboard { on }, now);
                if self.session.clipboard_wish() != before {
                    info!(on, "clipboard switch");
                    emit(&self.events, ViewerEvent::ClipboardSwitch { on });
                }
            }
            ViewerCommand::RequestDiagnostics => self
                .session
                .handle_command(flow::ViewerCommand::RequestDiagnostics, now),
            ViewerCommand::SelectMonitor(index) => self
                .session
                .handle_command(flow::ViewerCommand::SelectMonitor { index }, now),
            ViewerCommand::ShowScreen(on) => self
                .session
                .handle_command(flow::ViewerCommand::ShowScreen { on }, now),
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
                self.totals.cursor_positions += 1;
                let position = visible.then_some((x, y));
                if let Some(decoder) = &self.decoder {
                    decoder.record_cursor(position, now);
                }
                Screen::lock(&self.screen).cursor = position;
                (self.repaint)();
            }
            Incoming::Frame(FrameMsg::CursorShape {
                width,
                height,
                hot_x,
                hot_y,
                rgba,
            }) => {
                self.totals.cursor_shapes += 1;
                let shape = RemoteCursor::new(
                    (width, height),
                    (hot_x, hot_y),
                    rgba,
                    self.totals.cursor_shapes,
                );
                emit(
                    &self.events,
                    ViewerEvent::CursorShape {
                        width,
                        height,
                        hot_x,
                        hot_y,
                    },
                );
                // `None` cannot happen (the decoder checked the size); an empty image hides the
                // pointer.
                Screen::lock(&self.screen).cursor_shape = shape;
                (self.repaint)();
            }
            Incoming::Frame(FrameMsg::Stats(stats)) => self.stats.record_host(stats),
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

    fn on_decoded(&mut self, decoded: Decoded, rtt: Duration) {
        let now = Instant::now();
        match decoded {
            Decoded::Update {
                seq,
                bytes,
                decode_time,
            } => {
                if self.session.is_ended() {
                    return;
                }
                self.session.handle_update_decoded(seq, now);
                if self.totals.frames == 0 {
                    self.stats.restart(now);
                    let (width, height) = Screen::lock(&self.screen).size();
                    emit(&self.events, ViewerEvent::FirstFrame { width, height });
                }
                if let Some(path) = self.pending_snapshot.take() {
                    write_snapshot(&self.screen, path, &self.events);
                }
                self.totals.frames += 1;
                self.totals.bytes += bytes as u64;
                if let Some(overlay) = self.stats.record_update(bytes, decode_time, now, rtt) {
                    let (frames, (width, height)) = {
                        let screen = Screen::lock(&self.screen);
                        (screen.frames, screen.size())
                    };
                    emit(
                        &self.events,
                        ViewerEvent::Stats {
                            frames,
                            width,
                            height,
                            overlay,
                        },
                    );
                }
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
                cursor: screen.cursor,
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

/// Session totals, for the summary.
#[derive(Default)]
struct Totals {
    frames: u64,
    bytes: u64,
    cursor_positions: u64,
    cursor_shapes: u64,
}
