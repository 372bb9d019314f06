//! Why a file transfer stopped, or the clipboard was not synced: data, worded by the front end in the person's language
//! (`tandem_collab_ui::reasons`). Its `Display` is the English sentence, for JSON events, reports'
//! JSON and the detail sent to the peer, which stay English whatever the language.

use std::fmt;

/// Why a file transfer stopped. `detail`s are texts this side did not write in the person's
/// language: the file library's or the system's error, or the peer's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailReason {
    /// Files were offered before the screen was shared.
    NotSharingYet,
    /// This side already has `max` outgoing transfers open.
    TooManyOpen { max: usize },
    /// A thread for the transfer could not be started.
    CannotStart { detail: String },
    /// What was to be sent could not be listed (it does not exist, cannot be read…).
    ScanFailed { detail: String },
    /// The folder holds nothing that can be sent.
    NothingToSend,
    /// This side's user refused the peer's files.
    YouRefused,
    /// The download folder cannot be created or written.
    DownloadsUnusable { detail: String },
    /// This side's user cancelled the transfer.
    YouCancelled,
    /// The peer cancelled it (`peer`: how this side names the peer, in English).
    PeerCancelled { peer: &'static str },
    /// The peer stopped it and said why (`detail`: the peer's words).
    PeerStopped { peer: &'static str, detail: String },
    /// The peer's offer was refused: this side already receives `max` transfers.
    RefusedTooMany { max: usize },
    /// The peer's offer was refused: it lists no file.
    RefusedEmpty,
    /// The peer's offer was refused: it is not valid (an unsafe name, too many files…).
    RefusedInvalid { detail: String },
    /// The peer refused this side's files.
    PeerRefused { peer: &'static str },
    /// The receiver asked to resume at a position that cannot be.
    ImpossibleResume,
    /// The stream that carries the files is not open.
    StreamClosed,
    /// Reading or sending the files failed.
    SendFailed { detail: String },
    /// Receiving or saving the files failed.
    ReceiveFailed { detail: String },
    /// The session stopped sharing before the offer could be sent.
    NoLongerSharing,
    /// The session ended while this side was sending.
    EndedWhileSending,
    /// The session ended while this side was receiving: offering the same files again resumes.
    EndedWhileReceiving,
    /// The session ended before this side's user answered the offer.
    EndedUnanswered,
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::NotSharingYet => f.write_str("Files can be sent once the screen is shared."),
            FailReason::TooManyOpen { max } => {
                write!(f, "At most {max} transfers can be open at once.")
            }
            FailReason::CannotStart { detail } => {
                write!(f, "cannot start the transfer: {detail}")
            }
            FailReason::ScanFailed { detail }
            | FailReason::SendFailed { detail }
            | FailReason::ReceiveFailed { detail } => f.write_str(detail),
            FailReason::NothingToSend => f.write_str(
                "There is no file to send there (empty folder, or only links and special files).",
            ),
            FailReason::YouRefused => f.write_str("You refused the files."),
            FailReason::DownloadsUnusable { detail } => {
                write!(f, "The download folder cannot be used: {detail}")
            }
            FailReason::YouCancelled => f.write_str("You cancelled it."),
            FailReason::PeerCancelled { peer } => write!(f, "{peer} cancelled the transfer."),
            FailReason::PeerStopped { peer, detail } => {
                write!(f, "{peer} stopped the transfer: {detail}")
            }
            FailReason::RefusedTooMany { max } => {
                write!(f, "Refused: {max} transfers are already open.")
            }
            FailReason::RefusedEmpty => f.write_str("Refused: the offer lists no file."),
            FailReason::RefusedInvalid { detail } => write!(f, "Refused: {detail}"),
            FailReason::PeerRefused { peer } => write!(f, "{peer} refused the files."),
            FailReason::ImpossibleResume => {
                f.write_str("The receiver asked to resume at an impossible position.")
            }
            FailReason::StreamClosed => f.write_str("The data stream is not open."),
            FailReason::NoLongerSharing => f.write_str("The session is no longer sharing."),
            FailReason::EndedWhileSending => {
                f.write_str("The session ended before the transfer finished.")
            }
            FailReason::EndedWhileReceiving => f.write_str(
                "The session ended before the transfer finished; offer the same files again in a new session to resume.",
            ),
            FailReason::EndedUnanswered => {
                f.write_str("The session ended before the offer was answered.")
            }
        }
    }
}

/// Why a clipboard content was not synced. `detail`: the clipboard library's or the system's
/// error, or the peer's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClipFailReason {
    /// What the user copied was not sent (over a limit).
    NotShared { detail: String },
    /// The system clipboard cannot be used on this side: sharing it is off.
    Unusable { detail: String },
    /// The peer's content could not be put on the clipboard.
    NotSet { detail: String },
    /// The peer did not take this side's content, and said why.
    PeerRefused { detail: String },
}

impl fmt::Display for ClipFailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClipFailReason::NotShared { detail } => {
                write!(f, "Your clipboard was not shared: {detail}.")
            }
            ClipFailReason::Unusable { detail } => {
                write!(f, "The clipboard cannot be used here: {detail}")
            }
            ClipFailReason::NotSet { detail } => {
                write!(f, "The clipboard could not be set: {detail}")
            }
            ClipFailReason::PeerRefused { detail } => f.write_str(detail),
        }
    }
}
