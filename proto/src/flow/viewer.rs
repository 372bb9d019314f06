//! The viewer's side of the session (PROTOCOL.md §7): Hello, following the grant, acknowledging
//! decoded updates in order, asking for control without flooding, sending input, and the ending.

use std::time::{Duration, Instant};

use super::collab::Collab;
use super::reconnect::Reconnect;
use super::{EndWhy, EndedBy, Ending, FINISH_WAIT, Outbox, PeerGone, PromptBudget, Side, Transmit};
use crate::session::{Control, EndReason, Input};

/// What the technician asks of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerCommand {
    /// Ask the user for control.
    RequestControl,
    /// Give control back to the user (only while in control).
    ReleaseControl,
    /// The technician's side of clipboard sharing: off stops this side sending and taking
    /// clipboards at once, and tells the host, which stops too.
    SetClipboard { on: bool },
    /// Ask for a system-information snapshot (the user is asked the first time).
    RequestDiagnostics,
    /// Show monitor `index` of the last [`ViewerEvent::Monitors`], or the whole desktop (`None`).
    SelectMonitor { index: Option<u8> },
    /// Start (`on`) or stop showing the technician's own screen to the user ("Show my screen"):
    /// updates then go with [`ViewerSession::send_shown_update`], view only on the user's side.
    ShowScreen { on: bool },
    /// Ask the user to let us record (`on: true`), or stop recording (`on: false`).
    Record { on: bool },
    /// End the session: the host may first ask its user how it went (up to [`FINISH_WAIT`]). A
    /// second `End` while finishing ends at once.
    End,
}

/// Where the technician's recording stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingState {
    /// Not recording.
    Off,
    /// Asked the user; waiting for the answer.
    Asking,
    /// The user allows it: write the recording now (a keyframe was requested to start it).
    On,
    /// The user refused (the session goes on).
    Refused,
}

/// What the viewer session reports to its driver and user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerEvent {
    /// What the user allows now.
    Permissions {
        view: bool,
        control: bool,
        clipboard: bool,
    },
    /// The user answered a control request with no (the technician may still view).
    ControlDeclined,
    /// A control request was not sent: the user was asked too often lately.
    ControlRequestNotSent { retry_in: Duration },
    /// View was granted for the first time: accept the frames stream.
    StartFrames,
    /// The answer to a diagnostics request: the snapshot (JSON), or `None` if the user declined.
    Diagnostics { snapshot: Option<String> },
    /// The user said how it went (1 to 5, and a comment), as they stopped sharing.
    Feedback { rating: u8, comment: String },
    /// The host's desktop: its size, monitors and which one is shown (`None`: all of it). Updates
    /// and cursor positions after it are relative to the shown part, and so is input.
    Monitors {
        width: u16,
        height: u16,
        monitors: Vec<crate::session::MonitorInfo>,
        selected: Option<u8>,
    },
    /// The technician's screen is shown to the user (`on`) or not any more; `closed_by_user`: the
    /// user closed it. On: open the frames stream and start capturing; off: stop capturing.
    Showing { on: bool, closed_by_user: bool },
    /// The link to the host was lost: nothing is shown or sent meanwhile (stop decoding), and the
    /// link is being restored for up to `grace`.
    Reconnecting { grace: Duration },
    /// The link is back: open the input stream again and, with `viewing`, accept the frames and
    /// bulk streams and decode afresh (the first update is a keyframe, numbered 0).
    Resumed { viewing: bool },
    /// The technician's recording changed: write updates to the file exactly while `On`.
    Recording(RecordingState),
    /// The technician ended and the host may be asking its user how it went: the session ends when
    /// the host answers, or after [`FINISH_WAIT`].
    Finishing,
    /// The session is over. Exactly one per session; then only the close follows.
    Ended(Ending),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Hello sent; the host's user decides.
    Waiting,
    /// View granted at least once.
    Viewing,
    /// `Finish` sent: waiting for the host's `End` (after its user's feedback) until `deadline`.
    Finishing {
        deadline: Instant,
    },
    Done,
}

/// The viewer's session state machine. See the module docs of [`crate::flow`].
#[derive(Debug)]
pub struct ViewerSession {
    stage: Stage,
    view: bool,
    control: bool,
    control_requested: bool,
    /// The host's prompt budget, kept alike here to know whether a request would be shown.
    prompts: PromptBudget,
    /// The `seq` the next decoded update must carry.
    next_seq: u64,
    /// How many monitors the host's last `Monitors` listed.
    monitor_count: usize,
    /// The technician's screen is shown to the user; the next shown update's number.
    showing: bool,
    shown_seq: u64,
    /// Waiting out a lost link.
    reconnect: Reconnect,
    recording: RecordingState,
    /// The host's word on clipboard sharing (its last `Permissions`).
    host_clipboard: bool,
    /// The technician's own switch ([`ViewerCommand::SetClipboard`]).
    clipboard_wish: bool,
    /// The host was sent the switch at least once (else it assumes on).
    clipboard_told: bool,
    pub(super) collab: Collab,
    pub(super) out: Outbox<ViewerEvent>,
}

impl ViewerSession {
    /// A session whose handshake just finished: queues `Hello` with the technician's name.
    pub fn new(technician: &str, _now: Instant) -> Self {
        let mut out = Outbox::new();
        out.control(Control::hello(technician));
        Self {
            stage: Stage::Waiting,
            view: false,
            control: false,
            control_requested: false,
            prompts: PromptBudget::new(),
            next_seq: 0,
            monitor_count: 0,
            showing: false,
            shown_seq: 0,
            reconnect: Reconnect::new(None),
            recording: RecordingState::Off,
            host_clipboard: false,
            clipboard_wish: true,
            clipboard_told: false,
            collab: Collab::new("The user"),
            out,
        }
    }

    /// Start with the technician's clipboard switch off (`join --clipboard off`): the host is
    /// told right after `Hello`, before anything is shared.
    pub fn with_clipboard(mut self, on: bool) -> Self {
        if !on {
            self.clipboard_wish = false;
            self.clipboard_told = true;
            self.out.control(Control::ViewerClipboard { on: false });
        }
        self
    }

    /// Wait out a lost link for up to `grace` instead of ending (`None` or zero: end at once).
    pub fn with_reconnect(mut self, grace: Option<Duration>) -> Self {
        self.reconnect = Reconnect::new(grace);
        self
    }

    /// A control message from the host.
    pub fn handle_control(&mut self, msg: Control, now: Instant) {
        if self.stage == Stage::Done {
            return;
        }
        match msg {
            Control::Permissions {
                view,
                control,
                clipboard,
            } => {
                if (control || clipboard) && !view {
                    self.protocol_error(now, "it granted control or clipboard without view");
                    return;
                }
                self.view = view;
                self.control = control;
                self.out.events.push_back(ViewerEvent::Permissions {
                    view,
                    control,
                    clipboard,
                });
                // The answer to a control request is the next `Permissions`.
                if std::mem::take(&mut self.control_requested) && !control {
                    self.out.events.push_back(ViewerEvent::ControlDeclined);
                }
                if view && self.stage == Stage::Waiting {
                    self.stage = Stage::Viewing;
                    self.collab.set_active(true);
                    self.out.events.push_back(ViewerEvent::StartFrames);
                }
                if !view {
                    // Nothing is shared: nothing may be recorded.
                    self.set_recording(RecordingState::Off);
                }
                self.host_clipboard = clipboard;
                self.collab.set_clipboard(clipboard && self.clipboard_wish);
            }
            Control::End { reason, detail } => {
                if matches!(self.stage, Stage::Finishing { .. }) && reason == EndReason::ViewerEnded
                {
                    // The host's answer to our `Finish`: the technician ended it.
                    self.finish(
                        now,
                        EndedBy::Us,
                        reason,
                        EndWhy::TechnicianEnded {
                            seen_by: Side::Viewer,
                        },
                        None,
                    );
                } else {
                    let why = EndWhy::PeerEnded {
                        peer: Side::Host,
                        reason,
                        detail,
                    };
                    self.finish(now, EndedBy::Peer, reason, why, None);
                }
            }
            Control::Recording { on } => match (self.recording, on) {
                (RecordingState::Asking, true) if self.stage == Stage::Viewing => {
                    // A recording starts at a keyframe: the codec's tile cache must start empty.
                    self.out.control(Control::RequestKeyframe);
                    self.set_recording(RecordingState::On);
                }
                (RecordingState::Asking, false) => self.set_recording(RecordingState::Refused),
                (RecordingState::On, false) => self.set_recording(RecordingState::Off),
                // An answer to a request since withdrawn, or a repeat: nothing changes.
                _ => {}
            },
            msg @ (Control::Chat { .. }
            | Control::FileOffer { .. }
            | Control::FileAnswer { .. }
            | Control::FileCancel { .. }
            | Control::FileReceived { .. }) => self.collab.on_control(msg),
            Control::Feedback { rating, comment } => {
                if matches!(self.stage, Stage::Viewing | Stage::Finishing { .. }) {
                    self.out
                        .events
                        .push_back(ViewerEvent::Feedback { rating, comment });
                }
            }
            Control::Diagnostics { snapshot } => {
                if self.stage == Stage::Viewing {
                    self.out
                        .events
                        .push_back(ViewerEvent::Diagnostics { snapshot });
                }
            }
            Control::Monitors {
                width,
                height,
                monitors,
                selected,
            } => {
                if self.stage == Stage::Viewing {
                    self.monitor_count = monitors.len();
                    self.out.events.push_back(ViewerEvent::Monitors {
                        width,
                        height,
                        monitors,
                        selected,
                    });
                }
            }
            Control::ShowScreen { on: false } => {
                if std::mem::take(&mut self.showing) {
                    self.out.events.push_back(ViewerEvent::Showing {
                        on: false,
                        closed_by_user: true,
                    });
                }
            }
            Control::Hello { .. }
            | Control::ShowScreen { on: true }
            | Control::SelectMonitor { .. }
            | Control::RequestControl
            | Control::ReleaseControl
            | Control::ViewerClipboard { .. }
            | Control::RequestDiagnostics
            | Control::Finish
            | Control::Ack { .. }
            | Control::RequestKeyframe => {
                self.protocol_error(now, "it sent a message only a viewer sends")
            }
        }
    }

    /// Screen update `seq` was decoded: acknowledges it. Updates must arrive numbered from 0 in order.
    pub fn handle_update_decoded(&mut self, seq: u64, now: Instant) {
        if self.reconnect.active() || matches!(self.stage, Stage::Finishing { .. }) {
            // Decoded from the lost link (nothing to acknowledge on the next one), or sent before
            // the host saw `Finish` (no longer acknowledged, not an error).
            return;
        }
        if self.stage != Stage::Viewing {
            if self.stage == Stage::Waiting {
                self.protocol_error(now, "it sent the screen before view was granted");
            }
            return;
        }
        if seq != self.next_seq {
            self.protocol_error(
                now,
                &format!("update {seq} arrived where {} was due", self.next_seq),
            );
            return;
        }
        self.next_seq += 1;
        self.out.control(Control::Ack { seq });
    }

    /// A screen update could not be decoded: the picture can no longer be trusted.
    pub fn handle_decode_failed(&mut self, detail: &str, now: Instant) {
        if self.stage == Stage::Done {
            return;
        }
        self.finish(
            now,
            EndedBy::Us,
            EndReason::ProtocolError,
            EndWhy::UndecodableUpdate {
                detail: detail.to_owned(),
            },
            Some("The viewer could not decode the screen."),
        );
    }

    /// A command from the technician.
    pub fn handle_command(&mut self, command: ViewerCommand, now: Instant) {
        if self.stage == Stage::Done {
            return;
        }
        match command {
            // With the link lost there is no host to ask: the end is at once.
            ViewerCommand::End if self.stage == Stage::Viewing && !self.reconnect.active() => {
                // The host may ask its user how it went first; it answers with `End`.
                self.stage = Stage::Finishing {
                    deadline: now + FINISH_WAIT,
                };
                self.set_recording(RecordingState::Off);
                self.out.control(Control::Finish);
                self.out.events.push_back(ViewerEvent::Finishing);
            }
            ViewerCommand::End => self.end_now(now),
            ViewerCommand::ShowScreen { on } => {
                if self.showing != on && !(on && self.reconnect.active()) {
                    self.showing = on;
                    self.out.control(Control::ShowScreen { on });
                    self.out.events.push_back(ViewerEvent::Showing {
                        on,
                        closed_by_user: false,
                    });
                }
            }
            ViewerCommand::Record { on: true } => {
                if self.stage == Stage::Viewing
                    && !self.reconnect.active()
                    && !matches!(self.recording, RecordingState::Asking | RecordingState::On)
                {
                    self.out.control(Control::Recording { on: true });
                    self.set_recording(RecordingState::Asking);
                }
            }
            ViewerCommand::Record { on: false } => {
                if matches!(self.recording, RecordingState::Asking | RecordingState::On) {
                    self.out.control(Control::Recording { on: false });
                    self.set_recording(RecordingState::Off);
                }
            }
            ViewerCommand::RequestDiagnostics => {
                if self.stage == Stage::Viewing {
                    self.out.control(Control::RequestDiagnostics);
                }
            }
            ViewerCommand::SelectMonitor { index } => {
                // Only monitors the host listed: anything else would not even decode there.
                if self.stage == Stage::Viewing
                    && index.is_none_or(|i| usize::from(i) < self.monitor_count)
                {
                    self.out.control(Control::SelectMonitor { index });
                }
            }
            ViewerCommand::ReleaseControl => {
                // The host answers with `Permissions` without control; input sent meanwhile is
                // dropped there.
                if self.stage == Stage::Viewing && self.control && !self.reconnect.active() {
                    self.out.control(Control::ReleaseControl);
                }
            }
            ViewerCommand::SetClipboard { on } => {
                if on != self.clipboard_wish {
                    self.clipboard_wish = on;
                    // Not waiting for the host: nothing more leaves or lands here from now on.
                    self.collab.set_clipboard(self.host_clipboard && on);
                    self.clipboard_told = true;
                    self.out.control(Control::ViewerClipboard { on });
                }
            }
            ViewerCommand::RequestControl => {
                if !self.view || self.control || self.control_requested {
                    // Nothing to ask, or the question is already with the user.
                    return;
                }
                if let Err(retry_in) = self.prompts.take(now) {
                    self.out
                        .events
                        .push_back(ViewerEvent::ControlRequestNotSent { retry_in });
                    return;
                }
                self.control_requested = true;
                self.out.control(Control::RequestControl);
            }
        }
    }

    /// Input from the technician: queued while the screen is shown. The host alone decides whether
    /// it applies (and reports input it dropped), so the viewer does not filter it by the grant.
    /// Returns whether it was queued.
    pub fn send_input(&mut self, input: Input) -> bool {
        if self.stage == Stage::Viewing && !self.reconnect.active() {
            self.out.transmits.push_back(Transmit::Input(input));
            true
        } else {
            false
        }
    }

    /// Queues an update of the technician's own screen while it is shown; `false` (not queued)
    /// otherwise. Updates are numbered from 0 over the session, like the host's.
    pub fn send_shown_update(&mut self, payload: Vec<u8>) -> bool {
        if !self.showing || self.stage == Stage::Done {
            return false;
        }
        let seq = self.shown_seq;
        self.shown_seq += 1;
        self.out
            .transmits
            .push_back(Transmit::Frame(crate::session::FrameMsg::Update {
                seq,
                payload,
            }));
        true
    }

    /// Whether the technician's screen is being shown to the user.
    pub fn showing(&self) -> bool {
        self.showing && self.stage != Stage::Done
    }

    /// The host went away (or broke a stream) without an `End`.
    pub fn handle_peer_gone(&mut self, gone: PeerGone, now: Instant) {
        if self.stage == Stage::Done {
            self.out.close_soon(now);
            return;
        }
        match gone {
            PeerGone::Left { .. } if self.reconnect.enabled() => {
                if let Some(grace) = self.reconnect.lose(now) {
                    // Whatever was queued for the old link may or may not have arrived; input
                    // typed meanwhile is not replayed later.
                    self.out.transmits.clear();
                    self.out
                        .events
                        .push_back(ViewerEvent::Reconnecting { grace });
                    // A recording ends with the link (its writer goes with the old decoder); the
                    // technician asks again after, and the user answers again.
                    self.set_recording(RecordingState::Off);
                    // "Show my screen" ends with the link; the technician shows it again after.
                    if std::mem::take(&mut self.showing) {
                        self.out.events.push_back(ViewerEvent::Showing {
                            on: false,
                            closed_by_user: false,
                        });
                    }
                }
            }
            PeerGone::Left { detail } => self.finish(
                now,
                EndedBy::Peer,
                EndReason::HostEnded,
                EndWhy::PeerLeft { detail },
                None,
            ),
            PeerGone::Broken { detail } => self.protocol_error(now, &detail),
        }
    }

    /// The link is back (PROTOCOL.md §9): updates count from 0 again on the new frames stream.
    pub fn handle_resumed(&mut self, _now: Instant) {
        if self.stage == Stage::Done || !self.reconnect.resumed() {
            return;
        }
        self.out
            .transmits
            .retain(|t| matches!(t, Transmit::Control(_)));
        self.next_seq = 0;
        if self.clipboard_told {
            // The switch may have been lost with the old link: the host hears it again.
            self.out.control(Control::ViewerClipboard {
                on: self.clipboard_wish,
            });
        }
        let viewing = self.stage == Stage::Viewing;
        self.out.events.push_back(ViewerEvent::Resumed { viewing });
    }

    /// The lost link cannot be restored (e.g. the relay's certificate changed): the session ends
    /// now rather than at the end of the grace. `detail` says why, for this side's user.
    pub fn handle_reconnect_failed(&mut self, detail: String, now: Instant) {
        if self.stage != Stage::Done && self.reconnect.active() {
            let why = EndWhy::ReconnectFailed { detail };
            self.finish(now, EndedBy::Peer, EndReason::HostEnded, why, None);
        }
    }

    /// The link is lost and being restored.
    pub fn is_reconnecting(&self) -> bool {
        self.reconnect.active()
    }

    /// Time passed: the grace for a lost link, or the wait for the host's answer to `Finish`, may
    /// be over.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stage != Stage::Done && self.reconnect.expired(now) {
            let why = self.reconnect.gave_up();
            self.finish(now, EndedBy::Peer, EndReason::HostEnded, why, None);
            return;
        }
        if let Stage::Finishing { deadline } = self.stage
            && now >= deadline
        {
            self.end_now(now);
        }
    }

    /// Where the technician's recording stands.
    pub fn recording(&self) -> RecordingState {
        self.recording
    }

    pub fn view(&self) -> bool {
        self.view
    }

    pub fn control(&self) -> bool {
        self.control
    }

    /// The technician's own clipboard switch.
    pub fn clipboard_wish(&self) -> bool {
        self.clipboard_wish
    }

    /// Whether clipboards travel now: the host allows it and the technician's switch is on.
    pub fn clipboard(&self) -> bool {
        self.collab.clipboard()
    }

    pub fn is_ended(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Updates decoded and acknowledged on the current link (counted from 0 again after a resume).
    pub fn updates_decoded(&self) -> u64 {
        self.next_seq
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<ViewerEvent> {
        self.out.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let finishing = match self.stage {
            Stage::Finishing { deadline } => Some(deadline),
            _ => None,
        };
        let deadline = match (finishing, self.reconnect.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.out.poll_timeout(deadline)
    }

    /// True once, when the session has ended and the connection should be closed now.
    pub fn poll_close(&mut self, now: Instant) -> bool {
        self.out.poll_close(now)
    }

    /// The technician's end without waiting (any more) for the host.
    fn end_now(&mut self, now: Instant) {
        self.finish(
            now,
            EndedBy::Us,
            EndReason::ViewerEnded,
            EndWhy::TechnicianEnded {
                seen_by: Side::Viewer,
            },
            Some("The technician ended the session."),
        )
    }

    fn set_recording(&mut self, state: RecordingState) {
        let changed = self.recording != state;
        // `Off` after `Refused` is no news; anything else is.
        if changed && !(state == RecordingState::Off && self.recording == RecordingState::Refused) {
            self.out.events.push_back(ViewerEvent::Recording(state));
        }
        self.recording = state;
    }

    fn protocol_error(&mut self, now: Instant, what: &str) {
        self.finish(
            now,
            EndedBy::Us,
            EndReason::ProtocolError,
            EndWhy::BrokeProtocol {
                peer: Side::Host,
                what: what.to_owned(),
            },
            Some(&format!("Your host broke the protocol: {what}")),
        );
    }

    fn finish(
        &mut self,
        now: Instant,
        by: EndedBy,
        reason: EndReason,
        why: EndWhy,
        for_peer: Option<&str>,
    ) {
        // With the link lost there is nobody to tell: close at once.
        let for_peer = if self.reconnect.resumed() {
            None
        } else {
            for_peer
        };
        self.set_recording(RecordingState::Off);
        self.stage = Stage::Done;
        self.showing = false;
        self.view = false;
        self.control = false;
        self.collab.set_active(false);
        self.out
            .end(now, for_peer.map(|text| Control::end(reason, text)));
        self.out.events.push_back(ViewerEvent::Ended(Ending {
            by,
            reason,
            detail: why.to_string(),
            why,
        }));
    }
}
