//! The shared side of a Tandem session: gets a code from the relay, proves the code end to end with
//! the technician's viewer, asks the user's consent in two stages (see, then control), streams the
//! screen and applies the technician's input while control is allowed.
//!
//! The session loop talks to whatever front end runs it (terminal, egui window, a script) through
//! [`HostEvent`]s out and [`HostCommand`]s in, so the same loop serves all of them.

mod adapt;
pub mod capture;
mod collab_panel;
mod cursor;
mod damage;
pub mod diagnostics;
mod frames;
pub mod input;
mod monitors;
pub mod presenter;
mod screen_copy;
mod session;
mod shown;
mod stats;
pub mod window;
mod x11;

use std::time::Duration;

use tandem_codec::EncoderConfig;
use tandem_link::LinkError;
use tandem_proto::code::CodeError;
use tandem_relay::{ClientError, RelayTrust};
use thiserror::Error;

pub use adapt::RateReport;
pub use session::run;
pub use shown::ShownPicture;

/// Wrong-code joins one `share` run absorbs, each answered with a fresh code, before it stops:
/// a person reading a code wrongly gets new ones, someone guessing codes runs out of tries.
pub const MAX_WRONG_CODES: u32 = 3;

pub use tandem_collab::{CollabCommand, CollabConfig, Notice};
pub use tandem_proto::flow::Grant;

#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Relay address, `host:port`.
    pub relay: String,
    pub trust: RelayTrust,
    /// How long a code stays valid (the relay may cap it).
    pub code_ttl: Duration,
    /// Grant without asking (scripted use). `None` asks through [`HostEvent::ConsentNeeded`].
    pub auto_accept: Option<Grant>,
    pub encoder: EncoderConfig,
    /// Upper bound on captured frames per second.
    pub max_fps: u32,
    /// Adapt the quality of photographic regions and the frame rate to the link, measured from the
    /// viewer's acks (`encoder.quality` and `max_fps` are then the most used). Text stays exact.
    pub adaptive: bool,
    /// Chat, clipboard and files.
    pub collab: CollabConfig,
    /// Ask the user how it went when they stop sharing ([`HostEvent::FeedbackWanted`]).
    pub ask_feedback: bool,
    /// How long a lost link is waited for (restored through the relay, no new code and no new
    /// consent) before the session ends; `None` ends at once.
    pub reconnect_grace: Option<Duration>,
}

/// What the session reports to its front end.
#[derive(Debug, Clone, PartialEq)]
pub enum HostEvent {
    /// Connected to the relay, whose certificate has this fingerprint.
    Connected { relay: String, fingerprint: String },
    /// A code to read to the technician, formatted in groups of three.
    CodeIssued { code: String, expires_in: Duration },
    /// Someone joined with a wrong code, so that code is dead (one try per code). Unless this was
    /// the last try allowed ([`MAX_WRONG_CODES`]), a fresh [`HostEvent::CodeIssued`] follows at once.
    CodeBurned { wrong_tries: u32 },
    /// A viewer joined through the relay; the end-to-end handshake runs next.
    Paired,
    /// The handshake succeeded: both sides show this check.
    Secured { verifier: String },
    /// The link to the technician was lost: nothing is shared until it is back (within `grace`).
    Reconnecting { grace: Duration },
    /// The link is back, with the same permissions (no new code, no new question).
    Resumed,
    /// The front end must answer with [`HostCommand::Consent`].
    ConsentNeeded { grant: Grant, technician: String },
    /// A question asked earlier is moot (the technician left, or control was taken back meanwhile):
    /// close the prompt.
    ConsentWithdrawn { grant: Grant },
    /// What the technician may do now. `clipboard`: clipboards are shared both ways.
    Permissions {
        technician: String,
        view: bool,
        control: bool,
        clipboard: bool,
    },
    /// Chat, clipboard and file transfers.
    Collab(Notice),
    /// Input arrived while control was not allowed and was dropped here.
    InputDropped,
    /// The technician gave control back (the [`HostEvent::Permissions`] without control came
    /// just before): tell the user, in one sentence, that they are in control again.
    ControlReleased,
    /// The technician switched their side of clipboard sharing on or off. Clipboards travel only
    /// while both allow it; the next [`HostEvent::Permissions`] says the result.
    TechnicianClipboard { on: bool },
    /// A system-information snapshot was sent to the technician (the user allowed it).
    DiagnosticsShared,
    /// The technician's recording is on (the user allowed it) or off: show "Recording" exactly
    /// while it is on.
    Recording { on: bool },
    /// The user refused a recording request (the session goes on).
    RecordingRefused,
    /// The user stopped sharing; nothing is shared any more. Ask how it went and answer with
    /// [`HostCommand::Feedback`] or [`HostCommand::SkipFeedback`] (the session ends either way,
    /// or by itself after a minute).
    FeedbackWanted,
    /// The user's answer, and whether it reached the technician (else it is only in the report).
    FeedbackGiven {
        rating: u8,
        comment: String,
        delivered: bool,
    },
    /// "Show my screen": the technician shows their own screen (`Some`: the picture to watch,
    /// view only) or stopped, or the user closed it (`None`).
    ShownScreen { picture: Option<ShownPicture> },
    /// The first picture of the technician's screen is decoded.
    ShownFrame { width: u32, height: u32 },
    /// At the end, before `Ended`: input events injected, and accepted ones not injected because
    /// control was taken back before their turn (or the queue overflowed).
    InputSummary { injected: u64, discarded: u64 },
    /// About once a second while updates are sent: the quality and frame rate adaptation chose
    /// (the configured ones when it is off), and what went out.
    Rate(RateReport),
    /// The session is over. `reason` says why in the person's language (windows, terminal);
    /// `reason_en` says the same in English (JSON events, logs, scripts).
    Ended { reason: String, reason_en: String },
}

/// What the front end asks of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCommand {
    Consent {
        grant: Grant,
        allow: bool,
    },
    /// Take back control but keep sharing the screen.
    RevokeControl,
    /// End the session (or stop waiting) now.
    Stop,
    /// Forget the current code and get a fresh one (before a technician joined).
    NewCode,
    /// Clipboard sharing: `Some(true)` on (even while the technician only views), `Some(false)`
    /// off, `None` the default (on while the technician has control).
    SetClipboard(Option<bool>),
    /// Chat and files.
    Collab(CollabCommand),
    /// How it went, 1 to 5, and a comment: the answer to [`HostEvent::FeedbackWanted`].
    Feedback {
        rating: u8,
        comment: String,
    },
    /// No answer to [`HostEvent::FeedbackWanted`].
    SkipFeedback,
    /// Close the technician's screen ("Show my screen"); they are told.
    CloseShownScreen,
    /// Stop the technician's recording now.
    StopRecording,
}

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum HostError {
    #[error(transparent)]
    Relay(#[from] ClientError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("cannot make a code: {0}")]
    Code(#[from] CodeError),
    /// Viewers joined with a wrong code [`MAX_WRONG_CODES`] times; each burned its code, and the
    /// host stopped making new ones because someone may be guessing.
    #[error(
        "someone tried to join with a wrong code {tries} times (a code allows one try), so sharing stopped in case someone is guessing: start sharing again when your technician is ready, and read the code carefully"
    )]
    WrongCode { tries: u32 },
    /// Nobody joined before the code expired.
    #[error("your code expired before anyone used it: start sharing again to get a new code")]
    CodeExpired,
    #[error("screen capture failed: {0}")]
    Capture(String),
}
