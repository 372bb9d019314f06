//! The host's side of the session (PROTOCOL.md §7): Hello, the two consent stages, the grant, flow
//! control of screen updates, input gating and the ending.

use std::time::Instant;

use super::collab::Collab;
use super::monitors::{Area, Layout, Monitors};
use super::reconnect::Reconnect;
use super::{
    CLIPBOARD_SWITCH_BURST, CLIPBOARD_SWITCH_REFILL, EndWhy, EndedBy, Ending, FEEDBACK_WAIT, Grant,
    HELLO_TIMEOUT, MAX_POINTER_COORD, MAX_SCROLL_NOTCHES, Outbox, PeerGone, PromptBudget, Side,
    Transmit,
};
use crate::session::{Control, EndReason, FrameMsg, HostStats, Input, UpdateWindow};

/// What the host's user (or a script) asks of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCommand {
    /// The answer to a [`HostEvent::ConsentNeeded`]; for `Control`, also a grant or revoke unprompted.
    Consent { grant: Grant, allow: bool },
    /// Take back control but keep sharing the screen (also answers a pending control request: no).
    RevokeControl,
    /// End the session now.
    Stop,
    /// Screen capture failed; the session cannot go on.
    CaptureFailed { detail: String },
    /// The user's choice for clipboard sharing: `Some(true)` on (even while the technician only
    /// views), `Some(false)` off, `None` the default: on exactly while control is granted.
    SetClipboard { allow: Option<bool> },
    /// The answer to [`HostEvent::FeedbackWanted`]: sent to the technician, then the session ends.
    Feedback { rating: u8, comment: String },
    /// The user skipped the feedback question: the session ends.
    SkipFeedback,
    /// The user closed the technician's screen ("Show my screen"): the viewer is told to stop.
    CloseShownScreen,
    /// Stop the technician's recording now (the indicator's Stop button); they may ask again.
    StopRecording,
}

/// What the host session reports to its driver and user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    /// The viewer introduced itself.
    TechnicianArrived { technician: String },
    /// Ask the user; answer with [`HostCommand::Consent`].
    ConsentNeeded { grant: Grant, technician: String },
    /// A question asked earlier is moot (the session ended, or control was taken back meanwhile).
    ConsentWithdrawn { grant: Grant },
    /// What the technician may do now (also sent to the viewer).
    Permissions {
        technician: String,
        view: bool,
        control: bool,
        clipboard: bool,
    },
    /// View was granted: open the frames stream, accept the input stream, start capturing.
    StartStreaming,
    /// The viewer asked for a keyframe: make the next update one.
    KeyframeRequested,
    /// Input arrived while control was not granted and was dropped (reported once per such period).
    InputDropped,
    /// The technician gave control back (`ReleaseControl`): the input gate is closed and a
    /// [`HostEvent::Permissions`] without control went out just before this.
    ControlReleased,
    /// The technician switched their side of clipboard sharing on or off (`ViewerClipboard`).
    /// Clipboards travel only while both the user and the technician allow it; the
    /// [`HostEvent::Permissions`] that follows a change says the result.
    TechnicianClipboard { on: bool },
    /// System information may be sent now and is wanted: gather a snapshot and pass it to
    /// [`HostSession::send_diagnostics`].
    DiagnosticsWanted,
    /// The user stopped sharing: nothing is shared any more (stop capturing); ask how it went and
    /// answer with [`HostCommand::Feedback`] or [`HostCommand::SkipFeedback`] (after
    /// [`FEEDBACK_WAIT`] the session ends without an answer).
    FeedbackWanted,
    /// The technician started (`on`) or stopped showing their own screen ("Show my screen"), or
    /// the user closed it. While on, the viewer's frames stream carries that picture: accept it
    /// ([`HostSession::handle_shown_frame`]) and show it, view only.
    ShownScreen { on: bool },
    /// The link to the viewer was lost: nothing is shared meanwhile (stop capturing; the input
    /// gate is closed), the consent stands, and the link is being restored for up to `grace`.
    Reconnecting { grace: std::time::Duration },
    /// The link is back. With `streaming`, open the streams again and start capturing afresh (the
    /// first update is a keyframe).
    Resumed { streaming: bool },
    /// The technician's recording started (`on: true`, the user allowed it) or stopped: the user's
    /// indicator shows "Recording" exactly while it is on.
    Recording { on: bool },
    /// The session is over. Exactly one per session; then only the close follows.
    Ended(Ending),
}

/// Why [`HostSession::send_update`] refused an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UpdateRefused {
    #[error("the screen is not being shared")]
    NotSharing,
    #[error("the window of unacknowledged updates is full")]
    WindowFull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The handshake is done; the viewer must say `Hello` by the deadline.
    AwaitHello { deadline: Instant },
    /// The user is asked whether the technician may see the screen.
    AskView,
    /// The screen is shared; control may be granted.
    Sharing,
    /// The user (`by: Us`) or the technician (`by: Peer`, with `Finish`) ended the session and the
    /// user is asked how it went: nothing is shared any more, and the session ends with the answer
    /// or at the deadline.
    Wrapping { deadline: Instant, by: EndedBy },
    /// Ended; only the close is left.
    Done,
}

/// The host's session state machine. See the module docs of [`crate::flow`].
#[derive(Debug)]
pub struct HostSession {
    stage: Stage,
    auto_accept: Option<Grant>,
    technician: String,
    view: bool,
    control: bool,
    /// The user is being asked to grant control.
    control_prompt: bool,
    /// The user allowed system information for this session.
    diagnostics: bool,
    /// The user is being asked to allow system information.
    diagnostics_prompt: bool,
    /// The user allows the technician to record now.
    recording: bool,
    /// The user is being asked whether the technician may record.
    recording_prompt: bool,
    /// How many more control prompts the viewer may cause now.
    prompts: PromptBudget,
    /// Bumped at every change of the grant: input queued under an older epoch is never injected.
    input_epoch: u64,
    input_drop_reported: bool,
    window: UpdateWindow,
    /// The user's clipboard choice ([`HostCommand::SetClipboard`]).
    clipboard_choice: Option<bool>,
    /// The technician's wish for clipboard sharing (`ViewerClipboard`; on until they say off).
    technician_clipboard: bool,
    /// How many more times the technician may switch their clipboard back on now.
    clipboard_switches: PromptBudget,
    /// Ask the user for feedback when they stop sharing.
    ask_feedback: bool,
    /// The desktop's layout, the viewer's choice of monitor and the area shown.
    monitors: Monitors,
    /// The pointer on the desktop, as last reported by capture.
    pointer: Option<(i32, i32)>,
    /// The technician is showing their screen to the user.
    shown: bool,
    /// Waiting out a lost link.
    reconnect: Reconnect,
    pub(super) collab: Collab,
    pub(super) out: Outbox<HostEvent>,
}

impl HostSession {
    /// A session whose handshake just finished at `now`. With `auto_accept` the user is not asked.
    pub fn new(auto_accept: Option<Grant>, now: Instant) -> Self {
        Self {
            stage: Stage::AwaitHello {
                deadline: now + HELLO_TIMEOUT,
            },
            auto_accept,
            technician: String::new(),
            view: false,
            control: false,
            control_prompt: false,
            diagnostics: false,
            diagnostics_prompt: false,
            recording: false,
            recording_prompt: false,
            prompts: PromptBudget::new(),
            input_epoch: 0,
            input_drop_reported: false,
            window: UpdateWindow::default(),
            clipboard_choice: None,
            technician_clipboard: true,
            clipboard_switches: PromptBudget::with(CLIPBOARD_SWITCH_BURST, CLIPBOARD_SWITCH_REFILL),
            ask_feedback: false,
            monitors: Monitors::new(),
            pointer: None,
            shown: false,
            reconnect: Reconnect::new(None),
            collab: Collab::new("The technician"),
            out: Outbox::new(),
        }
    }

    /// Ask the user how it went when they stop sharing ([`HostEvent::FeedbackWanted`]).
    pub fn with_feedback(mut self, ask: bool) -> Self {
        self.ask_feedback = ask;
        self
    }

    /// Wait out a lost link for up to `grace` instead of ending (`None` or zero: end at once).
    pub fn with_reconnect(mut self, grace: Option<std::time::Duration>) -> Self {
        self.reconnect = Reconnect::new(grace);
        self
    }

    /// A control message from the viewer.
    pub fn handle_control(&mut self, msg: Control, now: Instant) {
        match (self.stage, msg) {
            (Stage::Done, _) => {}
            (_, Control::End { reason, detail }) => {
                let why = EndWhy::PeerEnded {
                    peer: Side::Viewer,
                    reason,
                    detail,
                };
                self.finish(now, EndedBy::Peer, reason, why, None);
            }
            (Stage::AwaitHello { .. }, Control::Hello { technician }) => {
                self.technician = technician.clone();
                self.out
                    .events
                    .push_back(HostEvent::TechnicianArrived { technician });
                match self.auto_accept {
                    Some(grant) => self.start_sharing(grant == Grant::Control),
                    None => {
                        self.stage = Stage::AskView;
                        self.ask(Grant::View);
                    }
                }
            }
            (Stage::AwaitHello { .. }, _) => {
                self.protocol_error(now, "it sent another message before Hello")
            }
            (_, Control::Hello { .. }) => self.protocol_error(now, "it sent Hello twice"),
            (_, Control::Permissions { .. }) => {
                self.protocol_error(now, "it sent Permissions, which only a host sends")
            }
            (_, Control::Ack { seq }) => {
                if let Err(e) = self.window.on_ack(seq) {
                    self.protocol_error(now, &e.to_string());
                }
            }
            (
                Stage::AskView,
                Control::RequestControl | Control::RequestKeyframe | Control::RequestDiagnostics,
            ) => {
                // Nothing is shared yet: nothing to grant or refresh.
            }
            (Stage::Sharing, Control::RequestDiagnostics) => self.on_request_diagnostics(now),
            (Stage::Sharing, Control::Recording { on: true }) => self.on_request_recording(now),
            (Stage::Sharing, Control::Recording { on: false }) => {
                if std::mem::take(&mut self.recording_prompt) {
                    self.out.events.push_back(HostEvent::ConsentWithdrawn {
                        grant: Grant::Recording,
                    });
                }
                self.set_recording(false);
            }
            // Nothing is shared (yet, or any more): nothing to record.
            (Stage::AskView | Stage::Wrapping { .. }, Control::Recording { .. }) => {
                self.out.control(Control::Recording { on: false });
            }
            (Stage::Sharing, Control::Finish) if self.ask_feedback => {
                self.start_wrapping(now, EndedBy::Peer)
            }
            (Stage::AskView | Stage::Sharing, Control::Finish) => self.technician_finished(now),
            // The user is already asked; the answer (or the deadline) ends the session.
            (Stage::Wrapping { .. }, Control::Finish) => {}
            (
                Stage::Wrapping { .. },
                Control::RequestControl | Control::RequestKeyframe | Control::RequestDiagnostics,
            ) => {
                // Sharing stopped: nothing to grant or refresh.
            }
            (_, Control::Feedback { .. }) => {
                self.protocol_error(now, "it sent Feedback, which only a host sends")
            }
            (_, Control::Diagnostics { .. }) => {
                self.protocol_error(now, "it sent Diagnostics, which only a host sends")
            }
            (Stage::Sharing, Control::RequestControl) => self.on_request_control(now),
            (Stage::Sharing, Control::ReleaseControl) => self.on_release_control(),
            // Nothing granted (yet, or any more): nothing to give back.
            (Stage::AskView | Stage::Wrapping { .. }, Control::ReleaseControl) => {}
            (_, Control::ViewerClipboard { on }) => self.on_viewer_clipboard(on, now),
            (Stage::Sharing, Control::RequestKeyframe) => {
                self.out.events.push_back(HostEvent::KeyframeRequested);
            }
            (Stage::Sharing, Control::SelectMonitor { index }) => {
                if self.monitors.select(index) {
                    self.announce_monitors();
                }
            }
            // Nothing is shared (yet, or any more): nothing to show.
            (Stage::AskView | Stage::Wrapping { .. }, Control::SelectMonitor { .. }) => {}
            // "Show my screen" needs nothing from the user but a window they can close; not once
            // they stopped sharing.
            (Stage::AskView | Stage::Sharing, Control::ShowScreen { on }) => {
                if self.shown != on {
                    self.shown = on;
                    self.out.events.push_back(HostEvent::ShownScreen { on });
                }
            }
            (Stage::Wrapping { .. }, Control::ShowScreen { .. }) => {}
            (_, Control::Monitors { .. }) => {
                self.protocol_error(now, "it sent Monitors, which only a host sends")
            }
            (
                _,
                msg @ (Control::Chat { .. }
                | Control::FileOffer { .. }
                | Control::FileAnswer { .. }
                | Control::FileCancel { .. }
                | Control::FileReceived { .. }),
            ) => self.collab.on_control(msg),
        }
    }

    /// An input event from the viewer: returns it (magnitudes clamped) if it may be injected now,
    /// under [`HostSession::input_epoch`]; `None` drops it.
    pub fn handle_input(&mut self, input: Input, _now: Instant) -> Option<Input> {
        if self.control_allowed() {
            let input = match clamp_input(input) {
                // Relative to the shown area: onto the desktop, inside the area.
                Input::PointerMove { x, y } => {
                    let (x, y) = self.monitors.to_desktop(x, y).unwrap_or((x, y));
                    Input::PointerMove { x, y }
                }
                other => other,
            };
            return Some(input);
        }
        if self.stage != Stage::Done && !self.input_drop_reported {
            self.input_drop_reported = true;
            self.out.events.push_back(HostEvent::InputDropped);
        }
        None
    }

    /// A command from the host's user.
    pub fn handle_command(&mut self, command: HostCommand, now: Instant) {
        match (self.stage, command) {
            (Stage::Done, _) => {}
            // While the link is lost nobody could give feedback to: Stop ends at once.
            (Stage::Sharing, HostCommand::Stop)
                if self.ask_feedback && !self.reconnect.active() =>
            {
                self.start_wrapping(now, EndedBy::Us)
            }
            (Stage::Wrapping { by, .. }, HostCommand::Feedback { rating, comment }) => {
                self.out.control(Control::feedback(rating, comment));
                self.end_wrapping(now, by);
            }
            (Stage::Wrapping { by, .. }, HostCommand::SkipFeedback | HostCommand::Stop) => {
                self.end_wrapping(now, by)
            }
            (Stage::Sharing, HostCommand::StopRecording) => {
                let prompt = std::mem::take(&mut self.recording_prompt);
                if prompt {
                    self.out.events.push_back(HostEvent::ConsentWithdrawn {
                        grant: Grant::Recording,
                    });
                }
                if prompt || self.recording {
                    self.set_recording(false);
                }
            }
            (_, HostCommand::StopRecording) => {}
            (_, HostCommand::Feedback { .. } | HostCommand::SkipFeedback) => {}
            (_, HostCommand::CloseShownScreen) => {
                if std::mem::take(&mut self.shown) {
                    self.out.control(Control::ShowScreen { on: false });
                    self.out
                        .events
                        .push_back(HostEvent::ShownScreen { on: false });
                }
            }
            (_, HostCommand::Stop) => self.finish(
                now,
                EndedBy::Us,
                EndReason::HostEnded,
                EndWhy::UserStopped,
                Some("The user stopped sharing their screen."),
            ),
            (_, HostCommand::CaptureFailed { detail }) => self.finish(
                now,
                EndedBy::Us,
                EndReason::Shutdown,
                EndWhy::CaptureFailed { detail },
                Some("The user's screen could not be captured."),
            ),
            (
                Stage::AskView,
                HostCommand::Consent {
                    grant: Grant::View,
                    allow,
                },
            ) => {
                if allow {
                    self.start_sharing(false);
                } else {
                    // PROTOCOL.md §7: the answer is `Permissions { view: false }`, then `End`.
                    self.send_permissions();
                    // The prompt was answered: nothing to withdraw.
                    self.stage = Stage::Done;
                    self.finish(
                        now,
                        EndedBy::Us,
                        EndReason::ConsentDenied,
                        EndWhy::UserDeclined,
                        Some("The user declined to share their screen with you."),
                    );
                }
            }
            (
                Stage::Sharing,
                HostCommand::Consent {
                    grant: Grant::Control,
                    allow,
                },
            ) => {
                let answers_request = std::mem::take(&mut self.control_prompt);
                if allow != self.control {
                    self.set_control(allow);
                } else if answers_request {
                    // The answer to a request is the next `Permissions`, even if nothing changed.
                    self.send_permissions();
                }
            }
            (Stage::Sharing, HostCommand::RevokeControl) => {
                if std::mem::take(&mut self.control_prompt) {
                    self.out.events.push_back(HostEvent::ConsentWithdrawn {
                        grant: Grant::Control,
                    });
                    if !self.control {
                        self.send_permissions();
                    }
                }
                if self.control {
                    self.set_control(false);
                }
            }
            (
                Stage::Sharing,
                HostCommand::Consent {
                    grant: Grant::Diagnostics,
                    allow,
                },
            ) => {
                if !std::mem::take(&mut self.diagnostics_prompt) && !allow {
                    return;
                }
                if allow {
                    self.diagnostics = true;
                    self.out.events.push_back(HostEvent::DiagnosticsWanted);
                } else {
                    self.out.control(Control::Diagnostics { snapshot: None });
                }
            }
            (
                Stage::Sharing,
                HostCommand::Consent {
                    grant: Grant::Recording,
                    allow,
                },
            ) => {
                // Only an open question can be allowed: recording is always the technician's ask.
                if std::mem::take(&mut self.recording_prompt) {
                    if allow {
                        self.set_recording(true);
                    } else {
                        self.out.control(Control::Recording { on: false });
                    }
                }
            }
            (_, HostCommand::SetClipboard { allow }) => {
                let before = self.collab.clipboard();
                self.clipboard_choice = allow;
                if self.stage == Stage::Sharing && self.effective_clipboard() != before {
                    self.send_permissions();
                }
            }
            // Answers to questions no longer asked, and revokes with nothing granted: no effect.
            (_, HostCommand::Consent { .. } | HostCommand::RevokeControl) => {}
        }
    }

    /// The viewer went away (or broke a stream) without an `End`.
    pub fn handle_peer_gone(&mut self, gone: PeerGone, now: Instant) {
        if self.stage == Stage::Done {
            self.out.close_soon(now);
            return;
        }
        match gone {
            PeerGone::Left { .. }
                if self.reconnect.enabled()
                    && matches!(self.stage, Stage::AskView | Stage::Sharing) =>
            {
                self.link_lost(now)
            }
            PeerGone::Left { detail } => self.finish(
                now,
                EndedBy::Peer,
                EndReason::ViewerEnded,
                EndWhy::PeerLeft { detail },
                None,
            ),
            PeerGone::Broken { detail } => self.protocol_error(now, &detail),
        }
    }

    /// The link went (PROTOCOL.md §9): share nothing until it is back, keep the consent.
    fn link_lost(&mut self, now: Instant) {
        let Some(grace) = self.reconnect.lose(now) else {
            // Already waiting: a second report of the same loss.
            return;
        };
        // Whatever was queued for the old link may or may not have arrived: the state is sent
        // afresh on the new one. Input queued before the loss is never injected.
        self.out.transmits.clear();
        self.input_epoch += 1;
        self.out.events.push_back(HostEvent::Reconnecting { grace });
        // A recording ends with the link: the user's indicator goes off at once, and a question
        // about one is moot (the technician asks again once the link is back).
        self.set_recording_flag(false);
        if std::mem::take(&mut self.recording_prompt) {
            self.out.events.push_back(HostEvent::ConsentWithdrawn {
                grant: Grant::Recording,
            });
        }
        // "Show my screen" ends with the link: its stream is gone too.
        if std::mem::take(&mut self.shown) {
            self.out
                .events
                .push_back(HostEvent::ShownScreen { on: false });
        }
    }

    /// The link is back: a new flow-control window, the permissions and monitors sent again (the
    /// consent is unchanged), and the streams and capture restarted if the screen is shared.
    pub fn handle_resumed(&mut self, _now: Instant) {
        if self.stage == Stage::Done || !self.reconnect.resumed() {
            return;
        }
        self.out
            .transmits
            .retain(|t| matches!(t, Transmit::Control(_)));
        self.window = UpdateWindow::default();
        self.input_drop_reported = false;
        let streaming = self.stage == Stage::Sharing;
        if streaming {
            self.send_permissions();
            self.announce_monitors();
        }
        self.out.events.push_back(HostEvent::Resumed { streaming });
    }

    /// The lost link cannot be restored (e.g. the relay's certificate changed): the session ends
    /// now rather than at the end of the grace. `detail` says why (a library's words).
    pub fn handle_reconnect_failed(&mut self, detail: String, now: Instant) {
        if self.stage != Stage::Done && self.reconnect.active() {
            let why = EndWhy::ReconnectFailed { detail };
            self.finish(now, EndedBy::Peer, EndReason::ViewerEnded, why, None);
        }
    }

    /// The link is lost and being restored.
    pub fn is_reconnecting(&self) -> bool {
        self.reconnect.active()
    }

    /// Time passed: deadlines that are due fire.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stage != Stage::Done && self.reconnect.expired(now) {
            let why = self.reconnect.gave_up();
            self.finish(now, EndedBy::Peer, EndReason::ViewerEnded, why, None);
            return;
        }
        if let Stage::Wrapping { deadline, by } = self.stage
            && now >= deadline
        {
            self.end_wrapping(now, by);
            return;
        }
        if let Stage::AwaitHello { deadline } = self.stage
            && now >= deadline
        {
            self.finish(
                now,
                EndedBy::Us,
                EndReason::ProtocolError,
                EndWhy::ViewerSilent,
                Some("Your viewer did not introduce itself in time."),
            );
        }
    }

    /// Queues a screen update if the window of unacknowledged updates has room; returns its `seq`.
    pub fn send_update(&mut self, payload: Vec<u8>) -> Result<u64, UpdateRefused> {
        if self.stage != Stage::Sharing || self.reconnect.active() {
            return Err(UpdateRefused::NotSharing);
        }
        let seq = self.window.next_seq().ok_or(UpdateRefused::WindowFull)?;
        self.out
            .transmits
            .push_back(Transmit::Frame(FrameMsg::Update { seq, payload }));
        Ok(seq)
    }

    /// A message on the viewer's frames stream (the technician's screen, "Show my screen"): returned
    /// to be shown while it is on; `None` once it is off (messages still in flight after the user
    /// closed it are dropped).
    pub fn handle_shown_frame(&self, msg: FrameMsg) -> Option<FrameMsg> {
        (self.shown && self.stage != Stage::Done).then_some(msg)
    }

    /// Whether the technician's screen is being shown to the user.
    pub fn shown_screen(&self) -> bool {
        self.shown && self.stage != Stage::Done
    }

    /// Queues a system-information snapshot (JSON), if the user allowed it. Refused (`false`) when
    /// not allowed or over [`crate::limits::MAX_DIAGNOSTICS_LEN`].
    pub fn send_diagnostics(&mut self, snapshot: String) -> bool {
        if self.stage != Stage::Sharing
            || !self.diagnostics
            || snapshot.len() > crate::limits::MAX_DIAGNOSTICS_LEN
        {
            return false;
        }
        self.out.control(Control::Diagnostics {
            snapshot: Some(snapshot),
        });
        true
    }

    /// Queues the pointer's position (on the desktop), while the screen is shared: the viewer is
    /// told where it is relative to the shown area, and that it is hidden when outside it.
    pub fn send_cursor(&mut self, x: i32, y: i32, visible: bool) {
        self.pointer = Some((x, y));
        if self.stage == Stage::Sharing && !self.reconnect.active() {
            let (x, y, inside) = self.monitors.to_area(x, y);
            self.out
                .transmits
                .push_back(Transmit::Frame(FrameMsg::CursorPosition {
                    x,
                    y,
                    visible: visible && inside,
                }));
        }
    }

    /// Queues the pointer's image, while the screen is shared (sent when it changes; positions follow
    /// separately, so pointer motion never costs a screen update). `rgba` must be exactly
    /// `width * height * 4` bytes and each side at most [`crate::limits::MAX_CURSOR_SIDE`];
    /// otherwise nothing is sent and `false` returned.
    pub fn send_cursor_shape(
        &mut self,
        (width, height): (u16, u16),
        (hot_x, hot_y): (u16, u16),
        rgba: Vec<u8>,
    ) -> bool {
        let max = crate::limits::MAX_CURSOR_SIDE;
        if self.stage != Stage::Sharing
            || self.reconnect.active()
            || u32::from(width) > max
            || u32::from(height) > max
            || rgba.len() != usize::from(width) * usize::from(height) * 4
        {
            return false;
        }
        self.out
            .transmits
            .push_back(Transmit::Frame(FrameMsg::CursorShape {
                width,
                height,
                hot_x,
                hot_y,
                rgba,
            }));
        true
    }

    /// Queues the host's numbers for the viewer's statistics overlay, while the screen is shared.
    pub fn send_stats(&mut self, stats: HostStats) {
        if self.stage == Stage::Sharing && !self.reconnect.active() {
            self.out
                .transmits
                .push_back(Transmit::Frame(FrameMsg::Stats(stats)));
        }
    }

    /// The desktop's layout, read by capture when sharing starts and after every change (monitor
    /// added, removed, moved, resized; the desktop resized). The viewer is sent `Monitors` when the
    /// layout or the selection changed; [`HostSession::capture_area`] follows at once.
    pub fn handle_layout(&mut self, layout: Layout, pointer: Option<(i32, i32)>) {
        if let Some(pointer) = pointer {
            self.pointer = Some(pointer);
        }
        if self.stage == Stage::Sharing && self.monitors.set_layout(layout, self.pointer) {
            self.announce_monitors();
        }
    }

    /// The part of the desktop to capture and encode: the selected monitor or the whole desktop;
    /// `None` before the first layout (the whole screen as captured). A change calls for a keyframe.
    pub fn capture_area(&self) -> Option<Area> {
        self.monitors.area()
    }

    /// Updates with a `seq` below this may be sent now (acknowledged ones plus the window). Never
    /// decreases: a capture thread may produce updates up to it without asking again.
    pub fn update_limit(&self) -> u64 {
        self.window.limit()
    }

    /// Whether the user allows the technician to record now (the indicator is on).
    pub fn recording(&self) -> bool {
        self.recording
    }

    /// Whether the user is being asked whether the technician may record.
    pub fn recording_prompt(&self) -> bool {
        self.recording_prompt
    }

    /// Whether input may be injected now.
    pub fn control_allowed(&self) -> bool {
        self.stage == Stage::Sharing && self.control && !self.reconnect.active()
    }

    /// Changes whenever the grant changes; input accepted under an older epoch must not be injected.
    pub fn input_epoch(&self) -> u64 {
        self.input_epoch
    }

    pub fn technician(&self) -> &str {
        &self.technician
    }

    pub fn is_ended(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next event for the driver and user.
    pub fn poll_event(&mut self) -> Option<HostEvent> {
        self.out.events.pop_front()
    }

    /// When to call [`HostSession::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let stage = match self.stage {
            Stage::AwaitHello { deadline } | Stage::Wrapping { deadline, .. } => Some(deadline),
            _ => None,
        };
        let deadline = match (stage, self.reconnect.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.out.poll_timeout(deadline)
    }

    /// True once, when the session has ended and the connection should be closed now.
    pub fn poll_close(&mut self, now: Instant) -> bool {
        self.out.poll_close(now)
    }

    /// Tells the viewer the layout and selection, and where the pointer is in the new area.
    fn announce_monitors(&mut self) {
        if let Some(msg) = self.monitors.message() {
            self.out.control(msg);
        }
        if let Some((x, y)) = self.pointer {
            self.send_cursor(x, y, true);
        }
    }

    fn ask(&mut self, grant: Grant) {
        self.out.events.push_back(HostEvent::ConsentNeeded {
            grant,
            technician: self.technician.clone(),
        });
    }

    fn start_sharing(&mut self, control: bool) {
        self.stage = Stage::Sharing;
        self.view = true;
        self.collab.set_active(true);
        self.set_control(control);
        self.out.events.push_back(HostEvent::StartStreaming);
    }

    fn on_request_control(&mut self, now: Instant) {
        if self.control || self.control_prompt {
            // Already granted, or the user is being asked: answered only on change.
            return;
        }
        if self.auto_accept == Some(Grant::Control) {
            self.set_control(true);
            return;
        }
        if self.prompts.take(now).is_err() {
            // Too many prompts lately: ignored (the viewer keeps the same budget and says so).
            return;
        }
        self.control_prompt = true;
        self.ask(Grant::Control);
    }

    /// The technician gives control back: as if the user took it back, and the user is told who
    /// did it. A release while nothing is granted changes nothing (a flood of them costs nothing).
    fn on_release_control(&mut self) {
        if !self.control {
            return;
        }
        self.set_control(false);
        self.out.events.push_back(HostEvent::ControlReleased);
    }

    /// The technician's side of clipboard sharing. Off always applies at once (it only reduces
    /// what the viewer gets); back on only within [`CLIPBOARD_SWITCH_BURST`], so a flood of
    /// switches cannot start and stop the clipboard watcher at will.
    fn on_viewer_clipboard(&mut self, on: bool, now: Instant) {
        if on == self.technician_clipboard || (on && self.clipboard_switches.take(now).is_err()) {
            return;
        }
        let before = self.collab.clipboard();
        self.technician_clipboard = on;
        self.out
            .events
            .push_back(HostEvent::TechnicianClipboard { on });
        if self.stage == Stage::Sharing && self.effective_clipboard() != before {
            self.send_permissions();
        }
    }

    /// The user stopped, or the technician is finishing: share nothing from now on, and ask how it
    /// went before ending.
    fn start_wrapping(&mut self, now: Instant, by: EndedBy) {
        self.withdraw_prompts();
        if self.recording {
            self.out.control(Control::Recording { on: false });
            self.set_recording_flag(false);
        }
        self.stage = Stage::Wrapping {
            deadline: now + FEEDBACK_WAIT,
            by,
        };
        self.view = false;
        self.control = false;
        self.input_epoch += 1;
        self.collab.set_active(false);
        self.send_permissions();
        self.out.events.push_back(HostEvent::FeedbackWanted);
    }

    /// The end after the feedback question: the user's own stop, or the technician's finish.
    fn end_wrapping(&mut self, now: Instant, by: EndedBy) {
        match by {
            EndedBy::Us => self.finish(
                now,
                EndedBy::Us,
                EndReason::HostEnded,
                EndWhy::UserStopped,
                Some("The user stopped sharing their screen."),
            ),
            EndedBy::Peer => self.technician_finished(now),
        }
    }

    /// The technician ended (`Finish`): the viewer waits for this `End`, which says it was theirs.
    fn technician_finished(&mut self, now: Instant) {
        self.finish(
            now,
            EndedBy::Peer,
            EndReason::ViewerEnded,
            EndWhy::TechnicianEnded {
                seen_by: Side::Host,
            },
            Some("The technician ended the session."),
        )
    }

    fn on_request_recording(&mut self, now: Instant) {
        if self.recording {
            // Already allowed: the answer is the same.
            self.out.control(Control::Recording { on: true });
            return;
        }
        if self.recording_prompt {
            return;
        }
        if self.prompts.take(now).is_err() {
            // The user was asked too often lately: answered no without asking again.
            self.out.control(Control::Recording { on: false });
            return;
        }
        self.recording_prompt = true;
        self.ask(Grant::Recording);
    }

    /// Recording on or off, told to the viewer (always: it is also the answer) and to the user.
    fn set_recording(&mut self, on: bool) {
        self.out.control(Control::Recording { on });
        self.set_recording_flag(on);
    }

    /// The indicator follows the flag: an event only on change.
    fn set_recording_flag(&mut self, on: bool) {
        if self.recording != on {
            self.recording = on;
            self.out.events.push_back(HostEvent::Recording { on });
        }
    }

    /// Closes any open question: the session can no longer grant it.
    fn withdraw_prompts(&mut self) {
        match self.stage {
            Stage::AskView => self
                .out
                .events
                .push_back(HostEvent::ConsentWithdrawn { grant: Grant::View }),
            Stage::Sharing if self.control_prompt => {
                self.out.events.push_back(HostEvent::ConsentWithdrawn {
                    grant: Grant::Control,
                })
            }
            _ => {}
        }
        if self.diagnostics_prompt {
            self.out.events.push_back(HostEvent::ConsentWithdrawn {
                grant: Grant::Diagnostics,
            });
        }
        if self.recording_prompt {
            self.out.events.push_back(HostEvent::ConsentWithdrawn {
                grant: Grant::Recording,
            });
        }
        self.recording_prompt = false;
        self.control_prompt = false;
        self.diagnostics = false;
        self.diagnostics_prompt = false;
    }

    fn on_request_diagnostics(&mut self, now: Instant) {
        if self.diagnostics {
            // Allowed once for the session: a refresh.
            self.out.events.push_back(HostEvent::DiagnosticsWanted);
            return;
        }
        if self.diagnostics_prompt {
            return;
        }
        if self.prompts.take(now).is_err() {
            // The user was asked too often lately: answered no without asking again.
            self.out.control(Control::Diagnostics { snapshot: None });
            return;
        }
        self.diagnostics_prompt = true;
        self.ask(Grant::Diagnostics);
    }

    fn set_control(&mut self, control: bool) {
        self.control = control;
        self.input_epoch += 1;
        if control {
            self.input_drop_reported = false;
        }
        self.send_permissions();
    }

    /// Clipboard sharing as the grant, the user's choice and the technician's wish make it.
    fn effective_clipboard(&self) -> bool {
        self.stage == Stage::Sharing
            && self.technician_clipboard
            && self.clipboard_choice.unwrap_or(self.control)
    }

    /// The technician's side of clipboard sharing (`ViewerClipboard`).
    pub fn technician_clipboard(&self) -> bool {
        self.technician_clipboard
    }

    fn send_permissions(&mut self) {
        let clipboard = self.view && self.effective_clipboard();
        self.collab.set_clipboard(clipboard);
        let (view, control) = (self.view, self.control);
        self.out.control(Control::Permissions {
            view,
            control,
            clipboard,
        });
        self.out.events.push_back(HostEvent::Permissions {
            technician: self.technician.clone(),
            view,
            control,
            clipboard,
        });
    }

    fn protocol_error(&mut self, now: Instant, what: &str) {
        self.finish(
            now,
            EndedBy::Us,
            EndReason::ProtocolError,
            EndWhy::BrokeProtocol {
                peer: Side::Viewer,
                what: what.to_owned(),
            },
            Some(&format!("Your viewer broke the protocol: {what}")),
        );
    }

    /// Ends the session: the gate closes at once, the user is told `why`, the viewer `for_peer`.
    fn finish(
        &mut self,
        now: Instant,
        by: EndedBy,
        reason: EndReason,
        why: EndWhy,
        for_peer: Option<&str>,
    ) {
        self.withdraw_prompts();
        // With the link lost there is nobody to tell: close at once.
        let for_peer = if self.reconnect.resumed() {
            None
        } else {
            for_peer
        };
        self.set_recording_flag(false);
        self.stage = Stage::Done;
        self.shown = false;
        self.view = false;
        self.control = false;
        self.control_prompt = false;
        self.input_epoch += 1;
        self.collab.set_active(false);
        self.out
            .end(now, for_peer.map(|text| Control::end(reason, text)));
        self.out.events.push_back(HostEvent::Ended(Ending {
            by,
            reason,
            detail: why.to_string(),
            why,
        }));
    }
}

/// Keeps peer-controlled magnitudes within what a person could do: a `Scroll { dy: i32::MAX }` would
/// otherwise become 2^31 wheel clicks.
fn clamp_input(input: Input) -> Input {
    match input {
        Input::PointerMove { x, y } => Input::PointerMove {
            x: x.min(MAX_POINTER_COORD),
            y: y.min(MAX_POINTER_COORD),
        },
        Input::Scroll { dx, dy } => Input::Scroll {
            dx: dx.clamp(-MAX_SCROLL_NOTCHES, MAX_SCROLL_NOTCHES),
            dy: dy.clamp(-MAX_SCROLL_NOTCHES, MAX_SCROLL_NOTCHES),
        },
        other => other,
    }
}
