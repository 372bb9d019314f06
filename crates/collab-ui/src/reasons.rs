//! Why a transfer stopped or the clipboard was not synced, in the person's language: the words
//! for [`FailReason`] and [`ClipFailReason`], shared by the panels and the terminal. Details (a
//! library's or the system's error, the peer's own words) are quoted as they are.

use tandem_collab::{ClipFailReason, FailReason};
use tandem_i18n::tr;
use tandem_proto::text::for_display;

use crate::Peer;

/// `reason` as one sentence; `peer` is who is on the other side.
pub fn transfer_stopped(reason: &FailReason, peer: Peer) -> String {
    let peer = peer.key();
    let quoted = |detail: &str| for_display(detail).into_owned();
    match reason {
        FailReason::NotSharingYet => tr!("transfer-why-not-sharing-yet"),
        FailReason::TooManyOpen { max } => tr!("transfer-why-too-many-open", max = *max),
        FailReason::CannotStart { detail } => {
            tr!("transfer-why-cannot-start", detail = quoted(detail))
        }
        FailReason::ScanFailed { detail } => {
            tr!("transfer-why-scan-failed", detail = quoted(detail))
        }
        FailReason::NothingToSend => tr!("transfer-why-nothing-to-send"),
        FailReason::YouRefused => tr!("transfer-why-you-refused"),
        FailReason::DownloadsUnusable { detail } => {
            tr!("transfer-why-downloads-unusable", detail = quoted(detail))
        }
        FailReason::YouCancelled => tr!("transfer-why-you-cancelled"),
        FailReason::PeerCancelled { .. } => tr!("transfer-why-peer-cancelled", peer = peer),
        FailReason::PeerStopped { detail, .. } => {
            tr!(
                "transfer-why-peer-stopped",
                peer = peer,
                detail = quoted(detail)
            )
        }
        FailReason::RefusedTooMany { max } => tr!("transfer-why-refused-too-many", max = *max),
        FailReason::RefusedEmpty => tr!("transfer-why-refused-empty"),
        FailReason::RefusedInvalid { detail } => {
            tr!("transfer-why-refused-invalid", detail = quoted(detail))
        }
        FailReason::PeerRefused { .. } => tr!("transfer-why-peer-refused", peer = peer),
        FailReason::ImpossibleResume => tr!("transfer-why-impossible-resume"),
        FailReason::StreamClosed => tr!("transfer-why-stream-closed"),
        FailReason::SendFailed { detail } => {
            tr!("transfer-why-send-failed", detail = quoted(detail))
        }
        FailReason::ReceiveFailed { detail } => {
            tr!("transfer-why-receive-failed", detail = quoted(detail))
        }
        FailReason::NoLongerSharing => tr!("transfer-why-no-longer-sharing"),
        FailReason::EndedWhileSending => tr!("transfer-why-ended-while-sending"),
        FailReason::EndedWhileReceiving => tr!("transfer-why-ended-while-receiving"),
        FailReason::EndedUnanswered => tr!("transfer-why-ended-unanswered"),
        // A reason added to tandem-collab before its words: its English sentence.
        other => quoted(&other.to_string()),
    }
}

/// Why the clipboard was not synced, as one sentence.
pub fn clipboard_failed(reason: &ClipFailReason) -> String {
    let quoted = |detail: &str| for_display(detail).into_owned();
    match reason {
        ClipFailReason::NotShared { detail } => {
            tr!("clipboard-why-not-shared", detail = quoted(detail))
        }
        ClipFailReason::Unusable { detail } => {
            tr!("clipboard-why-unusable", detail = quoted(detail))
        }
        ClipFailReason::NotSet { detail } => tr!("clipboard-why-not-set", detail = quoted(detail)),
        ClipFailReason::PeerRefused { detail } => {
            tr!("clipboard-why-peer-refused", detail = quoted(detail))
        }
        other => quoted(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In English the words are the sentence JSON events carry, so scripts and people read the
    /// same thing. (No test in this crate changes the language: `tr!` speaks English here.)
    #[test]
    fn the_english_words_are_the_machine_sentence() {
        let technician = "The technician";
        let reasons = [
            FailReason::NotSharingYet,
            FailReason::TooManyOpen { max: 4 },
            FailReason::CannotStart {
                detail: "no threads".into(),
            },
            FailReason::ScanFailed {
                detail: "/tmp/x does not exist".into(),
            },
            FailReason::NothingToSend,
            FailReason::YouRefused,
            FailReason::DownloadsUnusable {
                detail: "read-only".into(),
            },
            FailReason::YouCancelled,
            FailReason::PeerCancelled { peer: technician },
            FailReason::PeerStopped {
                peer: technician,
                detail: "disk full".into(),
            },
            FailReason::RefusedTooMany { max: 4 },
            FailReason::RefusedEmpty,
            FailReason::RefusedInvalid {
                detail: "an unsafe name".into(),
            },
            FailReason::PeerRefused { peer: technician },
            FailReason::ImpossibleResume,
            FailReason::StreamClosed,
            FailReason::SendFailed {
                detail: "could not read a.txt".into(),
            },
            FailReason::ReceiveFailed {
                detail: "could not write a.txt".into(),
            },
            FailReason::NoLongerSharing,
            FailReason::EndedWhileSending,
            FailReason::EndedWhileReceiving,
            FailReason::EndedUnanswered,
        ];
        for reason in reasons {
            assert_eq!(
                transfer_stopped(&reason, Peer::Technician),
                reason.to_string()
            );
        }
        let detail = || "over 10 MiB".to_owned();
        for reason in [
            ClipFailReason::NotShared { detail: detail() },
            ClipFailReason::Unusable { detail: detail() },
            ClipFailReason::NotSet { detail: detail() },
            ClipFailReason::PeerRefused { detail: detail() },
        ] {
            assert_eq!(clipboard_failed(&reason), reason.to_string());
        }
    }
}
