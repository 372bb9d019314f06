//! The session after the handshake as two sans-IO state machines, [`HostSession`] and
//! [`ViewerSession`], in the style of quinn-proto: the caller feeds in decoded messages, commands from
//! its user and the time, and polls out messages to send, events for its user and the next deadline.
//! Nothing here reads a clock, touches a socket or blocks; PROTOCOL.md §7 is the specification.
//!
//! Both machines own the whole ending: who ended, why, what this side's user is told and what the
//! peer is told. Once ended, a machine ignores everything but time and the peer going away, and asks
//! its driver to close the connection after [`END_GRACE`] at the latest.

mod collab;
mod host;
mod monitors;
mod rate;
mod reconnect;
mod viewer;

#[cfg(test)]
mod collab_tests;
#[cfg(test)]
mod reconnect_tests;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

pub use collab::{ChatFrom, CollabEvent, NotAllowed, clipboard_limit};
pub use host::{HostCommand, HostEvent, HostSession, UpdateRefused};
pub use monitors::{Area, Layout};
pub use rate::{RateConfig, RateController, RateTarget};
pub use reconnect::DEFAULT_RECONNECT_GRACE;
pub use viewer::{RecordingState, ViewerCommand, ViewerEvent, ViewerSession};

use crate::StreamKind;
use crate::bulk::{Bulk, ClipFormat};
use crate::session::{Control, EndReason, FrameMsg, Input};

/// How long the viewer may take to send `Hello` after the handshake.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(20);
/// How long an ending side waits for its `End` to reach the peer (and the peer to close) before it
/// closes the connection anyway. Short, so Stop acts at once even when the peer stopped reading.
pub const END_GRACE: Duration = Duration::from_millis(750);
/// Control prompts a viewer may cause in a burst; one more comes back every
/// [`CONTROL_PROMPT_REFILL`]. A flood of `RequestControl` cannot flood the user with prompts, and a
/// technician who asks again after a "no" is still heard.
pub const CONTROL_PROMPT_BURST: u32 = 3;
pub const CONTROL_PROMPT_REFILL: Duration = Duration::from_secs(10);
/// Times a viewer may switch its clipboard sharing back on in a burst (`ViewerClipboard`); one
/// more comes back every [`CLIPBOARD_SWITCH_REFILL`]. Beyond it an `on` is ignored (the sharing
/// stays off), so a flood of switches cannot start and stop the host's clipboard watcher at will.
pub const CLIPBOARD_SWITCH_BURST: u32 = 6;
pub const CLIPBOARD_SWITCH_REFILL: Duration = Duration::from_secs(2);
/// How long the user may take to answer "how did it go?" after stopping, before the session ends
/// without an answer.
pub const FEEDBACK_WAIT: Duration = Duration::from_secs(60);
/// How long a finishing viewer waits for the host's `End` (the user may be answering the feedback
/// question, which the host ends after [`FEEDBACK_WAIT`]) before it ends the session itself.
pub const FINISH_WAIT: Duration = Duration::from_secs(65);
/// Largest wheel movement one `Scroll` may inject, in notches per axis; larger values are clamped.
pub const MAX_SCROLL_NOTCHES: i32 = 50;
/// Largest pointer coordinate injected; larger values are clamped (no real screen is this large).
pub const MAX_POINTER_COORD: u32 = 32_767;

/// What the user can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// See the screen.
    View,
    /// See the screen and use the mouse and keyboard.
    Control,
    /// Read facts about the machine (system information), while the screen is shared.
    Diagnostics,
    /// Record the shared screen on the technician's side, while the screen is shared.
    Recording,
}

/// A message to send, tagged with the stream it goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    Control(Control),
    Frame(FrameMsg),
    Input(Input),
}

impl Transmit {
    /// The stream this message travels on.
    pub fn stream(&self) -> StreamKind {
        match self {
            Self::Control(_) => StreamKind::Control,
            Self::Frame(_) => StreamKind::Frames,
            Self::Input(_) => StreamKind::Input,
        }
    }
}

/// Which side ended the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    /// This side: its user, a timeout here, or the peer breaking the protocol.
    Us,
    /// The peer, with an `End`, or by going away.
    Peer,
}

/// How a session ended, as this side reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub by: EndedBy,
    pub reason: EndReason,
    /// The sentence to show this side's user, in English (`why`'s `Display`).
    pub detail: String,
    /// Why, as data: what a front end words in its user's language.
    pub why: EndWhy,
}

/// Which side a sentence names: the one sharing its screen, or the technician's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Host,
    Viewer,
}

/// Why a session ended, for this side's user. `Display` is the English sentence; front ends that
/// speak other languages word each case themselves. Texts inside (`detail`, `what`) are the
/// peer's or a library's own words, shown as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndWhy {
    /// The user stopped sharing (the host's side).
    UserStopped,
    /// The user declined to share their screen (the host's side).
    UserDeclined,
    /// The technician ended the session: on the viewer's side, themself; on the host's side,
    /// after the feedback question (`Finish`).
    TechnicianEnded { seen_by: Side },
    /// The peer's `End` with its reason and its words (`detail`, may be empty).
    PeerEnded {
        peer: Side,
        reason: EndReason,
        detail: String,
    },
    /// The peer went away; `detail` is the link's description.
    PeerLeft { detail: String },
    /// The lost link cannot be restored; `detail` says why (a library's words).
    ReconnectFailed { detail: String },
    /// The lost link was not back within the grace.
    ReconnectExpired { grace_secs: u64 },
    /// The viewer did not send its `Hello` in time (the host's side).
    ViewerSilent,
    /// The host's screen capture failed.
    CaptureFailed { detail: String },
    /// The host sent an update the viewer could not decode.
    UndecodableUpdate { detail: String },
    /// The peer broke the protocol; `what` names how.
    BrokeProtocol { peer: Side, what: String },
}

impl fmt::Display for EndWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndWhy::UserStopped => f.write_str("You stopped sharing."),
            EndWhy::UserDeclined => f.write_str("You declined to share your screen."),
            EndWhy::TechnicianEnded {
                seen_by: Side::Viewer,
            } => f.write_str("You ended the session."),
            EndWhy::TechnicianEnded {
                seen_by: Side::Host,
            } => f.write_str("The technician ended the session."),
            EndWhy::PeerEnded {
                peer,
                reason,
                detail,
            } => {
                let sentence = reason.to_string();
                if detail.is_empty() || *detail == sentence {
                    f.write_str(&sentence)
                } else {
                    let prefix = match peer {
                        Side::Host => "The host ended the session",
                        Side::Viewer => "The technician ended the session",
                    };
                    write!(f, "{prefix}: {detail}")
                }
            }
            EndWhy::PeerLeft { detail } => f.write_str(detail),
            EndWhy::ReconnectFailed { detail } => {
                write!(
                    f,
                    "The connection was lost and cannot be restored: {detail}"
                )
            }
            EndWhy::ReconnectExpired { grace_secs } => write!(
                f,
                "The connection was lost and could not be restored within {grace_secs} s."
            ),
            EndWhy::ViewerSilent => f.write_str("The viewer did not introduce itself."),
            EndWhy::CaptureFailed { detail } => write!(f, "Screen capture failed: {detail}"),
            EndWhy::UndecodableUpdate { detail } => write!(
                f,
                "The host sent a screen update that could not be decoded: {detail}"
            ),
            EndWhy::BrokeProtocol { peer, what } => {
                let peer = match peer {
                    Side::Host => "The host",
                    Side::Viewer => "The viewer",
                };
                write!(f, "{peer} broke the protocol: {what}")
            }
        }
    }
}

/// How the peer went away without an `End`, as the driver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerGone {
    /// A stream or the connection ended, or the relay said the peer left. `detail` is for humans.
    Left { detail: String },
    /// A stream carried something that is not the protocol (bad seal, malformed message, oversized
    /// frame). `detail` names what.
    Broken { detail: String },
}

/// The part both machines share: the queues and the ending.
#[derive(Debug)]
struct Outbox<E> {
    transmits: VecDeque<Transmit>,
    events: VecDeque<E>,
    /// Set once ended: when to close the connection.
    close_at: Option<Instant>,
    /// The close was asked for (`poll_close` returned true once).
    closed: bool,
}

impl<E> Outbox<E> {
    fn new() -> Self {
        Self {
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            close_at: None,
            closed: false,
        }
    }

    fn control(&mut self, msg: Control) {
        self.transmits.push_back(Transmit::Control(msg));
    }

    /// Marks the session ended; `end_for_peer` is the `End` to send, if the peer should get one.
    fn end(&mut self, now: Instant, end_for_peer: Option<Control>) {
        // Screen updates and input still queued are moot; control messages before the End stay.
        self.transmits.retain(|t| matches!(t, Transmit::Control(_)));
        match end_for_peer {
            Some(end) => {
                self.control(end);
                self.close_at = Some(now + END_GRACE);
            }
            None => self.close_at = Some(now),
        }
    }

    fn poll_timeout(&self, other: Option<Instant>) -> Option<Instant> {
        if self.closed {
            return None;
        }
        match (self.close_at, other) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// True once it is time to close the connection (and only once).
    fn poll_close(&mut self, now: Instant) -> bool {
        match self.close_at {
            Some(at) if !self.closed && now >= at => {
                self.closed = true;
                true
            }
            _ => false,
        }
    }

    /// The peer is gone while we are ending: nothing more can be delivered, close now.
    fn close_soon(&mut self, now: Instant) {
        if let Some(at) = &mut self.close_at {
            *at = (*at).min(now);
        }
    }
}

/// The control-prompt token bucket both sides keep alike: the host to decide whether a request is
/// shown, the viewer to know whether one would be (and when to retry).
#[derive(Debug, Clone)]
struct PromptBudget {
    burst: u32,
    refill: Duration,
    tokens: u32,
    /// When the last refill was counted from; `None` while the bucket is full.
    since: Option<Instant>,
}

impl PromptBudget {
    fn new() -> Self {
        Self::with(CONTROL_PROMPT_BURST, CONTROL_PROMPT_REFILL)
    }

    /// A bucket of `burst` tokens, one more every `refill`.
    fn with(burst: u32, refill: Duration) -> Self {
        Self {
            burst,
            refill,
            tokens: burst,
            since: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let Some(since) = self.since else {
            return;
        };
        let elapsed = now.saturating_duration_since(since);
        let earned =
            (elapsed.as_nanos() / self.refill.as_nanos().max(1)).min(u128::from(u32::MAX)) as u32;
        if earned == 0 {
            return;
        }
        self.tokens = self.tokens.saturating_add(earned).min(self.burst);
        self.since = (self.tokens < self.burst).then(|| since + self.refill * earned);
    }

    /// Takes one prompt; when none is left, how long until one is.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens == 0 {
            let since = self.since.unwrap_or(now);
            return Err((since + self.refill).saturating_duration_since(now));
        }
        self.tokens -= 1;
        self.since.get_or_insert(now);
        Ok(())
    }
}

/// What a driver needs of either session machine: the calls that are the same on both sides.
pub trait Machine {
    /// A control message from the peer.
    fn handle_control(&mut self, msg: Control, now: Instant);
    /// The peer went away (or broke a stream) without an `End`.
    fn handle_peer_gone(&mut self, gone: PeerGone, now: Instant);
    /// Time passed.
    fn handle_timeout(&mut self, now: Instant);
    /// The lost link is back (a new one, through the relay again, after a resumption handshake).
    fn handle_resumed(&mut self, now: Instant);
    /// The link is lost and being restored.
    fn is_reconnecting(&self) -> bool;
    /// The next message to send.
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// When to call `handle_timeout` next.
    fn poll_timeout(&self) -> Option<Instant>;
    /// True once, when the connection should be closed now.
    fn poll_close(&mut self, now: Instant) -> bool;
    fn is_ended(&self) -> bool;

    // ---- Working together: chat, clipboard, files (the same rules on both sides) ----

    /// A bulk message from the peer: clipboard parts are assembled (while the clipboard is allowed),
    /// file data passed on (while transfers are).
    fn handle_bulk(&mut self, msg: Bulk);
    /// Queues a chat message from this side's user.
    fn send_chat(&mut self, text: &str) -> Result<(), NotAllowed>;
    /// This side's clipboard changed: the bulk parts to send, if the clipboard is allowed now.
    fn clipboard_parts(&mut self, format: ClipFormat, data: &[u8])
    -> Result<Vec<Bulk>, NotAllowed>;
    /// Queues a file-transfer control message (`FileOffer`, `FileAnswer`, `FileCancel`,
    /// `FileReceived`) if transfers are allowed now.
    fn send_file_control(&mut self, msg: Control) -> Result<(), NotAllowed>;
    /// Whether clipboard contents may travel now.
    fn clipboard_allowed(&self) -> bool;
    /// Whether chat and file transfers may happen now (the screen is shared).
    fn collab_active(&self) -> bool;
    /// The chat so far, oldest first.
    fn transcript(&self) -> &[(ChatFrom, String)];
    /// The next event for the collaboration tools.
    fn poll_collab(&mut self) -> Option<CollabEvent>;
}

macro_rules! impl_machine {
    ($ty:ty) => {
        impl Machine for $ty {
            fn handle_control(&mut self, msg: Control, now: Instant) {
                <$ty>::handle_control(self, msg, now)
            }
            fn handle_peer_gone(&mut self, gone: PeerGone, now: Instant) {
                <$ty>::handle_peer_gone(self, gone, now)
            }
            fn handle_timeout(&mut self, now: Instant) {
                <$ty>::handle_timeout(self, now)
            }
            fn handle_resumed(&mut self, now: Instant) {
                <$ty>::handle_resumed(self, now)
            }
            fn is_reconnecting(&self) -> bool {
                <$ty>::is_reconnecting(self)
            }
            fn poll_transmit(&mut self) -> Option<Transmit> {
                <$ty>::poll_transmit(self)
            }
            fn poll_timeout(&self) -> Option<Instant> {
                <$ty>::poll_timeout(self)
            }
            fn poll_close(&mut self, now: Instant) -> bool {
                <$ty>::poll_close(self, now)
            }
            fn is_ended(&self) -> bool {
                <$ty>::is_ended(self)
            }
            fn handle_bulk(&mut self, msg: Bulk) {
                self.collab.on_bulk(msg)
            }
            fn send_chat(&mut self, text: &str) -> Result<(), NotAllowed> {
                let msg = self.collab.chat(text)?;
                self.out.control(msg);
                Ok(())
            }
            fn clipboard_parts(
                &mut self,
                format: ClipFormat,
                data: &[u8],
            ) -> Result<Vec<Bulk>, NotAllowed> {
                self.collab.clipboard_parts(format, data)
            }
            fn send_file_control(&mut self, msg: Control) -> Result<(), NotAllowed> {
                if !self.collab.active() {
                    return Err(NotAllowed::NotSharing);
                }
                self.out.control(msg);
                Ok(())
            }
            fn clipboard_allowed(&self) -> bool {
                self.collab.clipboard()
            }
            fn collab_active(&self) -> bool {
                self.collab.active()
            }
            fn transcript(&self) -> &[(ChatFrom, String)] {
                self.collab.transcript()
            }
            fn poll_collab(&mut self) -> Option<CollabEvent> {
                self.collab.poll_event()
            }
        }
    };
}

impl_machine!(HostSession);
impl_machine!(ViewerSession);
