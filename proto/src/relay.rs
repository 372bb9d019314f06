//! Messages between a client (host or viewer) and the relay, on the first bidirectional stream a client
//! opens ("the relay stream"). These are the only messages the relay reads: everything between host and
//! viewer travels on further streams that the relay forwards unread, sealed end to end.

use crate::code::RoutingCode;
use crate::limits::MAX_DETAIL_LEN;
use crate::wire::{DecodeError, Message, Reader, WriteExt, bytes_len};

/// Client to relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayRequest {
    /// A host asks for a routing code and waits to be paired. Sending it again replaces the previous
    /// code (the "new code" button): the old one is forgotten at once.
    Register { version: u16, ttl_secs: u32 },
    /// A viewer asks to be paired with the host waiting under `routing`. The relay forgets the code at
    /// this first attempt, whatever the outcome of the end-to-end handshake.
    Join { version: u16, routing: RoutingCode },
}

/// Relay to client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayNotice {
    /// The host's routing code, valid for `ttl_secs` (the host's request, capped by the relay).
    Registered { routing: RoutingCode, ttl_secs: u32 },
    /// Both sides are connected: streams opened from now on are forwarded to the peer.
    Paired,
    /// The request was refused; the connection stays usable for another request where that makes sense.
    /// `detail` is for people: no control characters (refused at decode, see [`crate::text`]).
    Refused {
        reason: RefusalReason,
        detail: String,
    },
    /// The peer's connection is gone. Sent to the survivor, which should end its session.
    PeerLeft,
    /// The host's code expired unused.
    Expired,
}

/// Why the relay refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RefusalReason {
    /// No host waits under that routing code: wrong, already used or expired.
    UnknownCode = 1,
    /// Too many requests from this address or in total; try again after a pause.
    RateLimited = 2,
    /// The client speaks a protocol version the relay does not.
    UnsupportedVersion = 3,
    /// The relay is at capacity.
    Full = 4,
    /// The request does not fit the connection's state (e.g. Join on a host connection).
    BadRequest = 5,
}

impl RefusalReason {
    fn from_u8(tag: u8) -> Result<Self, DecodeError> {
        Ok(match tag {
            1 => Self::UnknownCode,
            2 => Self::RateLimited,
            3 => Self::UnsupportedVersion,
            4 => Self::Full,
            5 => Self::BadRequest,
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "refusal reason",
                    tag,
                });
            }
        })
    }
}

const REGISTER: u8 = 1;
const JOIN: u8 = 2;

impl Message for RelayRequest {
    fn encoded_len(&self) -> usize {
        1 + match self {
            Self::Register { .. } => 2 + 4,
            Self::Join { routing, .. } => 2 + bytes_len(routing.as_str().len()),
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::Register { version, ttl_secs } => {
                out.put_u8(REGISTER);
                out.put_u16(*version);
                out.put_u32(*ttl_secs);
            }
            Self::Join { version, routing } => {
                out.put_u8(JOIN);
                out.put_u16(*version);
                out.put_bytes(routing.as_str().as_bytes());
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            REGISTER => Ok(Self::Register {
                version: r.u16()?,
                ttl_secs: r.u32()?,
            }),
            JOIN => Ok(Self::Join {
                version: r.u16()?,
                routing: read_routing(r)?,
            }),
            tag => Err(DecodeError::UnknownTag {
                what: "relay request",
                tag,
            }),
        }
    }
}

const REGISTERED: u8 = 1;
const PAIRED: u8 = 2;
const REFUSED: u8 = 3;
const PEER_LEFT: u8 = 4;
const EXPIRED: u8 = 5;

impl Message for RelayNotice {
    fn encoded_len(&self) -> usize {
        1 + match self {
            Self::Registered { routing, .. } => bytes_len(routing.as_str().len()) + 4,
            Self::Paired | Self::PeerLeft | Self::Expired => 0,
            Self::Refused { detail, .. } => 1 + bytes_len(detail.len()),
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::Registered { routing, ttl_secs } => {
                out.put_u8(REGISTERED);
                out.put_bytes(routing.as_str().as_bytes());
                out.put_u32(*ttl_secs);
            }
            Self::Paired => out.put_u8(PAIRED),
            Self::Refused { reason, detail } => {
                out.put_u8(REFUSED);
                out.put_u8(*reason as u8);
                out.put_bytes(detail.as_bytes());
            }
            Self::PeerLeft => out.put_u8(PEER_LEFT),
            Self::Expired => out.put_u8(EXPIRED),
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            REGISTERED => Ok(Self::Registered {
                routing: read_routing(r)?,
                ttl_secs: r.u32()?,
            }),
            PAIRED => Ok(Self::Paired),
            REFUSED => Ok(Self::Refused {
                reason: RefusalReason::from_u8(r.u8()?)?,
                detail: r.display_str("refusal detail", MAX_DETAIL_LEN)?.to_owned(),
            }),
            PEER_LEFT => Ok(Self::PeerLeft),
            EXPIRED => Ok(Self::Expired),
            tag => Err(DecodeError::UnknownTag {
                what: "relay notice",
                tag,
            }),
        }
    }
}

fn read_routing(r: &mut Reader<'_>) -> Result<RoutingCode, DecodeError> {
    let digits = r.str("routing code", crate::code::MAX_ROUTING_DIGITS)?;
    RoutingCode::new(digits).map_err(|_| DecodeError::Invalid {
        what: "routing code",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 7: a relay (or anyone on its TLS connection) cannot print escape sequences through the
    /// refusal text the client shows.
    #[test]
    fn refusal_detail_with_control_characters_is_refused() {
        for (detail, code) in [
            ("try again\u{1b}]52;c;ZWNobw==\u{7}", 0x1b),
            (
                "try again\nerror: wrong code, read me this one instead",
                0x0a,
            ),
            ("\u{202E}", 0x202e),
        ] {
            let notice = RelayNotice::Refused {
                reason: RefusalReason::Full,
                detail: detail.into(),
            };
            assert!(
                matches!(
                    RelayNotice::from_bytes(&notice.to_vec()),
                    Err(DecodeError::UnsafeText { what: "refusal detail", code: c, .. }) if c == code
                ),
                "{detail:?}"
            );
        }
        let fine = RelayNotice::Refused {
            reason: RefusalReason::Full,
            detail: "the relay is full; try again in a minute".into(),
        };
        assert_eq!(RelayNotice::from_bytes(&fine.to_vec()), Ok(fine));
    }
}
