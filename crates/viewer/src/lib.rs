//! The technician's side of a Tandem session: joins by code, proves the code end to end, shows the
//! remote screen and sends mouse and keyboard input.
//!
//! Networking runs on a tokio runtime ([`session::run`]); the egui window ([`app::run`]) or a headless
//! driver talks to it through [`ViewerEvent`]s out, [`ViewerCommand`]s in, and the shared [`Screen`].

pub mod app;
mod collab_panels;
pub mod combo;
pub mod decode;
pub mod ending;
pub mod hostkey;
pub mod keyboard;
pub mod keys;
pub mod notes;
pub mod player;
pub mod present_changes;
pub mod present_x11;
mod recorder;
mod right_alt;
pub mod screen;
pub mod session;
pub mod stats;
mod sysinfo_panel;
pub mod textures;
mod toolbar;

use std::path::PathBuf;

use tandem_link::LinkError;
use tandem_proto::code::SessionCode;
use tandem_proto::session::{Input, MonitorInfo};
use tandem_relay::{ClientError, RelayTrust};
use thiserror::Error;

pub use combo::KeyCombo;
pub use keyboard::KeyMode;
pub use recorder::RecordingSummary;
pub use screen::{Screen, SharedScreen};
pub use tandem_collab::{CollabCommand, CollabConfig, Notice};

/// "Show my screen": this side's screen, captured and encoded (the binary gives the host crate's
/// capture). Updates numbered below the last [`ScreenSource::allow`] may be produced; the session
/// allows more only while its frames queue is nearly empty.
pub trait ScreenSource: Send {
    fn allow(&self, limit: u64);
    /// The next encoded update; `Err` with the reason once capture stopped.
    fn next_update(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + Send + '_>>;
}

/// Starts a [`ScreenSource`] when the technician chooses to show their screen.
#[derive(Clone)]
pub struct ScreenSourceFactory(
    pub std::sync::Arc<dyn Fn() -> Result<Box<dyn ScreenSource>, String> + Send + Sync>,
);

impl std::fmt::Debug for ScreenSourceFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScreenSourceFactory")
    }
}

#[derive(Debug, Clone)]
pub struct ViewerConfig {
    /// Relay address, `host:port`.
    pub relay: String,
    pub trust: RelayTrust,
    pub code: SessionCode,
    /// The name the user sees in the consent prompt.
    pub technician: String,
    /// Chat, clipboard and files.
    pub collab: CollabConfig,
    /// "Show my screen"; `None`: not available here (no display).
    pub show_screen: Option<ScreenSourceFactory>,
    /// How long a lost link is waited for (restored through the relay, no new code) before the
    /// session ends; `None` ends at once.
    pub reconnect_grace: Option<std::time::Duration>,
    /// Where recordings go. `Some` with `record_at_start`: ask the user to record as soon as the
    /// screen is shown. The first recording of a session is written to `record_to` itself, later
    /// ones beside it (`name-2.tdrec`, ...).
    pub record_to: PathBuf,
    pub record_at_start: bool,
    /// The technician's clipboard switch at the start (`join --clipboard off`: off).
    pub clipboard: bool,
}

/// Where the technician's recording stands, as the session reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingEvent {
    /// Asked the user; waiting for the answer.
    Asking,
    /// The user refused (the session goes on).
    Refused,
    /// The user allowed it and the file is being written (from the next keyframe).
    Started { path: PathBuf },
    /// It stopped (the technician, the user or the end of the session) and the file is complete.
    Stopped(RecordingSummary),
    /// The file could not be created or written: the recording stopped, the session goes on.
    Failed { path: PathBuf, reason: String },
}

/// What the session reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewerEvent {
    Connected {
        fingerprint: String,
    },
    /// The relay found the host; the end-to-end handshake runs next.
    Paired,
    /// The code was right: both sides show this check number.
    Secured {
        verifier: String,
    },
    /// The link to the host was lost: nothing is shown or sent until it is back (within `grace`).
    Reconnecting {
        grace: std::time::Duration,
    },
    /// The link is back; the picture follows with a keyframe.
    Resumed,
    /// What the user allows. `clipboard`: clipboards are shared both ways.
    Permissions {
        view: bool,
        control: bool,
        clipboard: bool,
    },
    /// Chat, clipboard and file transfers.
    Collab(Notice),
    /// The technician's recording changed.
    Recording(RecordingEvent),
    /// The technician ended the session and the host may be asking its user how it went: the
    /// session ends when the host answers (with the feedback, if given) or after a minute.
    Finishing,
    /// The answer to a diagnostics request: a system-information snapshot (JSON), or `None` if the
    /// user declined.
    Diagnostics {
        snapshot: Option<String>,
    },
    /// The user said how it went as they stopped sharing: 1 to 5, and a comment.
    Feedback {
        rating: u8,
        comment: String,
    },
    /// The host's desktop: its size, its monitors and which one is shown (`None`: all of it). Sent
    /// once the screen is shared and after every change of the layout or the selection.
    Monitors {
        width: u16,
        height: u16,
        monitors: Vec<MonitorInfo>,
        selected: Option<u8>,
    },
    /// The keyboard mode changed (the window follows it).
    KeyMode(KeyMode),
    /// The user answered a control request with no: the technician may still view.
    ControlDeclined,
    /// The technician's own clipboard switch (at the start when off, and at every change):
    /// clipboards travel only while it is on and the user's [`ViewerEvent::Permissions`] allow.
    ClipboardSwitch {
        on: bool,
    },
    /// A control request was not sent: one is pending, or the user answered the last one moments ago.
    ControlRequestNotSent {
        retry_in: std::time::Duration,
    },
    /// The first screen update arrived and was decoded.
    FirstFrame {
        width: u32,
        height: u32,
    },
    /// Once a second while frames flow: what the statistics overlay shows.
    Stats {
        frames: u64,
        width: u32,
        height: u32,
        overlay: stats::Overlay,
    },
    /// The host's pointer image changed (it is drawn by the viewer, apart from the picture).
    CursorShape {
        width: u16,
        height: u16,
        hot_x: u16,
        hot_y: u16,
    },
    /// A PNG of what the viewer decoded was written. `cursor`: where the host's pointer was then
    /// (`None`: outside the shown area, or not known yet).
    Snapshot {
        path: PathBuf,
        frames: u64,
        cursor: Option<(i32, i32)>,
        /// While recording: the recording's time (ms) of this picture (`tandem play --png-at`).
        recording_ms: Option<u32>,
    },
    /// A snapshot could not be written.
    SnapshotFailed {
        path: PathBuf,
        reason: String,
    },
    /// Totals for the whole session, sent just before `Ended`. `cursor_positions`: pointer
    /// positions received (they never cost a frame).
    Summary {
        frames: u64,
        bytes: u64,
        seconds: f64,
        cursor_positions: u64,
    },
    /// "Show my screen": the technician's screen is shown to the user (`on`) or not any more;
    /// `closed_by_user`: the user closed it; `failed`: capture could not start or stopped.
    Showing {
        on: bool,
        closed_by_user: bool,
        failed: Option<String>,
    },
    /// The session is over. `reason` says why in the person's language (window, terminal);
    /// `reason_en` says the same in English (JSON events, logs, scripts).
    Ended {
        reason: String,
        reason_en: String,
    },
}

/// What the front end asks of the session.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewerCommand {
    Input(Input),
    RequestControl,
    /// Give control back to the user (while in control).
    ReleaseControl,
    /// The technician's side of clipboard sharing: off stops clipboards both ways at once.
    SetClipboard(bool),
    /// Write the decoded screen to a PNG.
    Snapshot(PathBuf),
    /// Chat and files.
    Collab(CollabCommand),
    /// Ask for the user's system information (they are asked to allow it the first time).
    RequestDiagnostics,
    /// Show monitor `index` of the last [`ViewerEvent::Monitors`], or the whole desktop (`None`).
    SelectMonitor(Option<u8>),
    /// "Show my screen": start or stop showing this side's screen to the user, view only.
    ShowScreen(bool),
    /// Type keys by meaning or by position (the window's keyboard mode).
    SetKeyMode(KeyMode),
    /// Press these keys in order and release them in reverse (Ctrl+Alt+Del and the like).
    SendKeys(KeyCombo),
    /// Ask the user to let us record (`true`), or stop recording (`false`).
    Record(bool),
    /// End the session, after releasing every key still held on the remote side (the user may be
    /// asked for feedback first); again while finishing: at once.
    End,
}

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ViewerError {
    #[error(transparent)]
    Relay(#[from] ClientError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("the host sent a screen update that could not be decoded: {0}")]
    Decode(#[from] tandem_codec::DecodeError),
}
