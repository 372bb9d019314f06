//! Why a session ended, in the words of the person's language: from the session machine's
//! [`EndWhy`] and from the typed errors a session can fail with, never by reading the English
//! sentences. Both windows and both terminals show these (the host side too: it depends on this
//! crate already, for "Show my screen").
//!
//! Texts that come from the peer or from a library (a peer's `End` detail, a link error) are
//! quoted as they are, after a translated sentence.

use tandem_i18n::tr;
use tandem_proto::flow::{EndWhy, Side};
use tandem_proto::relay::RefusalReason;
use tandem_proto::session::EndReason;
use tandem_relay::ClientError;

/// How a session ended, said twice: in English for logs, JSON events and scripts, and in the
/// person's language for windows and the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Told {
    pub english: String,
    pub said: String,
}

impl Told {
    pub fn new(english: impl Into<String>, said: impl Into<String>) -> Self {
        Self {
            english: english.into(),
            said: said.into(),
        }
    }

    /// How the session machine ended it.
    pub fn of(why: &EndWhy) -> Self {
        Self::new(why.to_string(), sentence(why))
    }
}

/// The sentence for how the session ended, in the current language.
pub fn sentence(why: &EndWhy) -> String {
    match why {
        EndWhy::UserStopped => tr!("end-user-stopped"),
        EndWhy::UserDeclined => tr!("end-user-declined"),
        EndWhy::TechnicianEnded { seen_by } => tr!("end-technician-ended", side = side(*seen_by)),
        EndWhy::PeerEnded {
            peer,
            reason,
            detail,
        } => {
            // The peer's words, unless they only repeat the reason (a Tandem peer's usual End).
            if detail.is_empty() || *detail == reason.to_string() {
                tr!("end-reason", reason = reason_key(*reason))
            } else {
                tr!(
                    "end-peer-ended-saying",
                    peer = side(*peer),
                    detail = detail.as_str()
                )
            }
        }
        EndWhy::PeerLeft { detail } => tr!("end-peer-left", detail = detail.as_str()),
        EndWhy::ReconnectFailed { detail } => {
            tr!("end-reconnect-failed", detail = detail.as_str())
        }
        EndWhy::ReconnectExpired { grace_secs } => {
            tr!("end-reconnect-expired", seconds = *grace_secs)
        }
        EndWhy::ViewerSilent => tr!("end-viewer-silent"),
        EndWhy::CaptureFailed { detail } => tr!("end-capture-failed", detail = detail.as_str()),
        EndWhy::UndecodableUpdate { detail } => {
            tr!("end-undecodable-update", detail = detail.as_str())
        }
        EndWhy::BrokeProtocol { peer, what } => tr!(
            "end-broke-protocol",
            peer = side(*peer),
            what = what.as_str()
        ),
    }
}

/// The sentence for a session that could not start or go on because of the relay, in the current
/// language; `None` for an error with no sentence of its own (the caller shows its English text
/// after [`failed`]).
pub fn relay_error(error: &ClientError) -> Option<String> {
    Some(match error {
        ClientError::UnknownCode => tr!("end-unknown-code"),
        ClientError::Expired => tr!("end-code-expired-unused"),
        ClientError::FingerprintMismatch { expected, actual } => tr!(
            "end-fingerprint-mismatch",
            expected = expected.to_string(),
            actual = actual.to_string()
        ),
        ClientError::RateLimited { detail } => {
            tr!("end-rate-limited", detail = detail.as_str())
        }
        ClientError::Refused { reason, detail } => tr!(
            "end-relay-refused",
            reason = refusal_key(*reason),
            detail = detail.as_str()
        ),
        ClientError::ConnectionLost(detail) => {
            tr!("end-relay-connection-lost", detail = detail.as_str())
        }
        _ => return None,
    })
}

/// "The session failed: {detail}" for an error without a sentence of its own; `detail` is the
/// error's (English) text.
pub fn failed(detail: &str) -> String {
    tr!("end-failed", detail = detail)
}

fn side(side: Side) -> &'static str {
    match side {
        Side::Host => "host",
        Side::Viewer => "viewer",
    }
}

fn reason_key(reason: EndReason) -> &'static str {
    match reason {
        EndReason::HostEnded => "host-ended",
        EndReason::ViewerEnded => "viewer-ended",
        EndReason::ConsentDenied => "consent-denied",
        EndReason::ProtocolError => "protocol-error",
        EndReason::Shutdown => "shutdown",
    }
}

fn refusal_key(reason: RefusalReason) -> &'static str {
    match reason {
        RefusalReason::UnknownCode => "unknown-code",
        RefusalReason::RateLimited => "rate-limited",
        RefusalReason::UnsupportedVersion => "unsupported-version",
        RefusalReason::Full => "full",
        RefusalReason::BadRequest => "bad-request",
        RefusalReason::Unavailable => "unavailable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In English, the translated sentence is the session machine's own (what logs, JSON events
    /// and scripts read), for every kind of ending.
    #[test]
    fn english_sentences_match_the_machines_own_text() {
        let cases = [
            EndWhy::UserStopped,
            EndWhy::UserDeclined,
            EndWhy::TechnicianEnded {
                seen_by: Side::Host,
            },
            EndWhy::TechnicianEnded {
                seen_by: Side::Viewer,
            },
            EndWhy::PeerEnded {
                peer: Side::Viewer,
                reason: EndReason::ViewerEnded,
                detail: String::new(),
            },
            EndWhy::PeerEnded {
                peer: Side::Host,
                reason: EndReason::ConsentDenied,
                detail: "The user declined to share their screen with you.".into(),
            },
            EndWhy::PeerEnded {
                peer: Side::Viewer,
                reason: EndReason::ProtocolError,
                detail: EndReason::ProtocolError.to_string(),
            },
            EndWhy::PeerLeft {
                detail: "The host left (their connection closed).".into(),
            },
            EndWhy::ReconnectFailed {
                detail: "the relay's certificate changed".into(),
            },
            EndWhy::ReconnectExpired { grace_secs: 30 },
            EndWhy::ViewerSilent,
            EndWhy::CaptureFailed {
                detail: "no display".into(),
            },
            EndWhy::UndecodableUpdate {
                detail: "bad tile".into(),
            },
            EndWhy::BrokeProtocol {
                peer: Side::Host,
                what: "it sent input".into(),
            },
            EndWhy::BrokeProtocol {
                peer: Side::Viewer,
                what: "update 3 arrived where 2 was due".into(),
            },
        ];
        for reason in [
            EndReason::HostEnded,
            EndReason::ViewerEnded,
            EndReason::ConsentDenied,
            EndReason::ProtocolError,
            EndReason::Shutdown,
        ] {
            let why = EndWhy::PeerEnded {
                peer: Side::Host,
                reason,
                detail: String::new(),
            };
            assert_eq!(sentence(&why), why.to_string());
        }
        for why in cases {
            assert_eq!(sentence(&why), why.to_string(), "{why:?}");
        }
    }

    #[test]
    fn relay_errors_in_english_read_as_the_errors_themselves() {
        for error in [
            ClientError::UnknownCode,
            ClientError::Expired,
            ClientError::RateLimited {
                detail: "too many codes".into(),
            },
            ClientError::ConnectionLost("timed out".into()),
        ] {
            assert_eq!(relay_error(&error), Some(error.to_string()));
        }
        let refused = ClientError::Refused {
            reason: RefusalReason::Unavailable,
            detail: "redis down".into(),
        };
        assert_eq!(relay_error(&refused), Some(refused.to_string()));
    }
}
