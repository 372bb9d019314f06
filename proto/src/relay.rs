//! Messages between a client (host or viewer) and the relay, on the first bidirectional stream a client
//! opens ("the relay stream"). These are the only messages the relay reads: everything between host and
//! viewer travels on further streams that the relay forwards unread, sealed end to end.

use crate::code::RoutingCode;
use crate::limits::MAX_DETAIL_LEN;
use crate::wire::{DecodeError, Message, Reader, WriteExt, bytes_len};

/// Length of a redirect ticket: random bytes a cluster node hands a viewer it sends to the host's
/// node, which takes them back once, so a redirected join is one attempt on the code like any other.
pub const TICKET_LEN: usize = 16;
/// The longest node address a `Redirect` may name ("host:port", a DNS name or an IP literal).
pub const MAX_REDIRECT_ADDR_LEN: usize = 255;

/// Client to relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayRequest {
    /// A host asks for a routing code and waits to be paired. Sending it again replaces the previous
    /// code (the "new code" button): the old one is forgotten at once.
    Register { version: u16, ttl_secs: u32 },
    /// A viewer asks to be paired with the host waiting under `routing`. The relay forgets the code at
    /// this first attempt, whatever the outcome of the end-to-end handshake.
    Join { version: u16, routing: RoutingCode },
    /// A viewer that a cluster node redirected here (`RelayNotice::Redirect`) joins with the ticket
    /// it was given. Never sent without a redirect; a relay that is not a cluster node refuses it.
    JoinRedirected {
        version: u16,
        routing: RoutingCode,
        ticket: [u8; TICKET_LEN],
    },
    /// A host or viewer whose link was lost asks to be paired again with the other side of its
    /// session, which sends the same `resume_id` in the other `role` (PROTOCOL.md §9). The relay
    /// answers `Paired` once both are there; the two ends then prove the resume secret to each
    /// other with a new handshake. The id is one-use and reveals nothing of that secret.
    Resume {
        version: u16,
        role: ResumeRole,
        resume_id: [u8; RESUME_ID_LEN],
    },
}

/// Length of a resume id (an HKDF output of the previous link's handshake).
pub const RESUME_ID_LEN: usize = 32;

/// Which side of the session a `Resume` comes from: the relay pairs a host with a viewer only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ResumeRole {
    Host = 1,
    Viewer = 2,
}

impl ResumeRole {
    fn from_u8(tag: u8) -> Result<Self, DecodeError> {
        match tag {
            1 => Ok(Self::Host),
            2 => Ok(Self::Viewer),
            tag => Err(DecodeError::UnknownTag {
                what: "resume role",
                tag,
            }),
        }
    }
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
    /// Answer to `Join` on a cluster node that is not the host's: the host waits on the node at
    /// `addr` (`host:port`, validated at decode), whose certificate has this SHA-256 `fingerprint`.
    /// The viewer connects there pinning `fingerprint` and sends `JoinRedirected` with `ticket`.
    /// The code is used up by this answer. A client follows at most one redirect.
    Redirect {
        addr: String,
        fingerprint: [u8; 32],
        ticket: [u8; TICKET_LEN],
    },
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
    /// The relay is a cluster node and cannot reach the cluster's directory: no new codes and no
    /// joins until it can; sessions already paired go on.
    Unavailable = 6,
}

impl RefusalReason {
    fn from_u8(tag: u8) -> Result<Self, DecodeError> {
        Ok(match tag {
            1 => Self::UnknownCode,
            2 => Self::RateLimited,
            3 => Self::UnsupportedVersion,
            4 => Self::Full,
            5 => Self::BadRequest,
            6 => Self::Unavailable,
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
const JOIN_REDIRECTED: u8 = 3;
const RESUME: u8 = 4;

impl Message for RelayRequest {
    fn encoded_len(&self) -> usize {
        1 + match self {
            Self::Register { .. } => 2 + 4,
            Self::Join { routing, .. } => 2 + bytes_len(routing.as_str().len()),
            Self::JoinRedirected { routing, .. } => {
                2 + bytes_len(routing.as_str().len()) + TICKET_LEN
            }
            Self::Resume { .. } => 2 + 1 + RESUME_ID_LEN,
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
            Self::JoinRedirected {
                version,
                routing,
                ticket,
            } => {
                out.put_u8(JOIN_REDIRECTED);
                out.put_u16(*version);
                out.put_bytes(routing.as_str().as_bytes());
                out.extend_from_slice(ticket);
            }
            Self::Resume {
                version,
                role,
                resume_id,
            } => {
                out.put_u8(RESUME);
                out.put_u16(*version);
                out.put_u8(*role as u8);
                out.extend_from_slice(resume_id);
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
            JOIN_REDIRECTED => Ok(Self::JoinRedirected {
                version: r.u16()?,
                routing: read_routing(r)?,
                ticket: r.array()?,
            }),
            RESUME => Ok(Self::Resume {
                version: r.u16()?,
                role: ResumeRole::from_u8(r.u8()?)?,
                resume_id: r.array()?,
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
const REDIRECT: u8 = 6;

impl Message for RelayNotice {
    fn encoded_len(&self) -> usize {
        1 + match self {
            Self::Registered { routing, .. } => bytes_len(routing.as_str().len()) + 4,
            Self::Paired | Self::PeerLeft | Self::Expired => 0,
            Self::Refused { detail, .. } => 1 + bytes_len(detail.len()),
            Self::Redirect { addr, .. } => bytes_len(addr.len()) + 32 + TICKET_LEN,
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
            Self::Redirect {
                addr,
                fingerprint,
                ticket,
            } => {
                out.put_u8(REDIRECT);
                out.put_bytes(addr.as_bytes());
                out.extend_from_slice(fingerprint);
                out.extend_from_slice(ticket);
            }
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
            REDIRECT => {
                let addr = r.str("redirect address", MAX_REDIRECT_ADDR_LEN)?;
                if !is_node_addr(addr) {
                    return Err(DecodeError::Invalid {
                        what: "redirect address",
                    });
                }
                Ok(Self::Redirect {
                    addr: addr.to_owned(),
                    fingerprint: r.array()?,
                    ticket: r.array()?,
                })
            }
            tag => Err(DecodeError::UnknownTag {
                what: "relay notice",
                tag,
            }),
        }
    }
}

/// Whether `addr` is a node address a redirect may name: `host:port` with a port from 1 to 65535
/// and a host that is a DNS name (letters, digits, `-` and `.`, not starting with `-` or `.`), an
/// IPv4 literal or a bracketed IPv6 literal; at most [`MAX_REDIRECT_ADDR_LEN`] bytes. Nothing else
/// (no spaces, schemes, paths or control characters) passes, so a hostile node cannot make a client
/// print or resolve anything odd.
pub fn is_node_addr(addr: &str) -> bool {
    if addr.is_empty() || addr.len() > MAX_REDIRECT_ADDR_LEN {
        return false;
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return false;
    };
    let port_ok = !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p != 0);
    if !port_ok || host.is_empty() {
        return false;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    host.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.starts_with(['-', '.'])
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

    fn redirect(addr: &str) -> RelayNotice {
        RelayNotice::Redirect {
            addr: addr.to_owned(),
            fingerprint: [7; 32],
            ticket: [9; TICKET_LEN],
        }
    }

    #[test]
    fn node_addresses_are_names_or_ip_literals_with_a_port() {
        for good in [
            "relay1.example.org:7447",
            "127.0.0.1:1",
            "[::1]:65535",
            "[2001:db8::7]:7447",
            "node-3:7447",
        ] {
            assert!(is_node_addr(good), "{good}");
            assert_eq!(
                RelayNotice::from_bytes(&redirect(good).to_vec()),
                Ok(redirect(good))
            );
        }
        let long = format!("{}:7447", "a".repeat(MAX_REDIRECT_ADDR_LEN));
        for bad in [
            "",
            "relay.example.org",
            "relay.example.org:",
            "relay.example.org:0",
            "relay.example.org:65536",
            "relay.example.org:+80",
            ":7447",
            "-relay:7447",
            ".relay:7447",
            "relay example:7447",
            "https://relay:7447",
            "relay/x:7447",
            "relay\u{1b}[2J:7447",
            "[::1:7447",
            "[not-v6]:7447",
            "::1:7447",
            long.as_str(),
        ] {
            assert!(!is_node_addr(bad), "{bad:?}");
            let bytes = redirect(bad).to_vec();
            assert!(
                RelayNotice::from_bytes(&bytes).is_err(),
                "{bad:?} must not decode"
            );
        }
    }

    #[test]
    fn the_cluster_refusal_reason_decodes() {
        let notice = RelayNotice::Refused {
            reason: RefusalReason::Unavailable,
            detail: "relay cluster unavailable".into(),
        };
        assert_eq!(RelayNotice::from_bytes(&notice.to_vec()), Ok(notice));
        let mut bytes = RelayNotice::Refused {
            reason: RefusalReason::Full,
            detail: String::new(),
        }
        .to_vec();
        bytes[1] = 7;
        assert!(RelayNotice::from_bytes(&bytes).is_err());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn routing() -> impl Strategy<Value = RoutingCode> {
            "[0-9]{3,6}".prop_map(|d| RoutingCode::new(&d).expect("digits"))
        }

        fn node_addr() -> impl Strategy<Value = String> {
            prop_oneof![
                ("[a-z0-9][a-z0-9.-]{0,60}", 1u16..).prop_map(|(h, p)| format!("{h}:{p}")),
                (any::<[u8; 4]>(), 1u16..)
                    .prop_map(|(ip, p)| format!("{}:{p}", std::net::Ipv4Addr::from(ip))),
                (any::<[u8; 16]>(), 1u16..)
                    .prop_map(|(ip, p)| format!("[{}]:{p}", std::net::Ipv6Addr::from(ip))),
            ]
        }

        proptest! {
            #[test]
            fn join_redirected_round_trips(version in any::<u16>(), routing in routing(), ticket in any::<[u8; TICKET_LEN]>()) {
                let msg = RelayRequest::JoinRedirected { version, routing, ticket };
                let bytes = msg.to_vec();
                prop_assert_eq!(bytes.len(), msg.encoded_len());
                prop_assert_eq!(RelayRequest::from_bytes(&bytes), Ok(msg));
            }

            #[test]
            fn redirect_round_trips(addr in node_addr(), fingerprint in any::<[u8; 32]>(), ticket in any::<[u8; TICKET_LEN]>()) {
                prop_assert!(is_node_addr(&addr), "{}", addr);
                let msg = RelayNotice::Redirect { addr, fingerprint, ticket };
                let bytes = msg.to_vec();
                prop_assert_eq!(bytes.len(), msg.encoded_len());
                prop_assert_eq!(RelayNotice::from_bytes(&bytes), Ok(msg));
            }

            /// A hostile node's redirect: any bytes after the tag decode to an error or to a valid
            /// address, never a panic, and a decoded one re-encodes to the same bytes.
            #[test]
            fn hostile_redirects_decode_safely(body in proptest::collection::vec(any::<u8>(), 0..400)) {
                let mut bytes = vec![REDIRECT];
                bytes.extend_from_slice(&body);
                if let Ok(msg) = RelayNotice::from_bytes(&bytes) {
                    let RelayNotice::Redirect { addr, .. } = &msg else {
                        return Err(TestCaseError::fail("tag 6 is a redirect"));
                    };
                    prop_assert!(is_node_addr(addr));
                    prop_assert_eq!(msg.to_vec(), bytes);
                }
            }

            /// A hostile `Resume`: a role byte other than 1 or 2, a short id or trailing bytes are
            /// errors, never a panic; whatever decodes re-encodes to the same bytes.
            #[test]
            fn hostile_resume_decodes_safely(body in proptest::collection::vec(any::<u8>(), 0..48)) {
                let mut bytes = vec![RESUME];
                bytes.extend_from_slice(&body);
                match RelayRequest::from_bytes(&bytes) {
                    Ok(msg) => {
                        prop_assert_eq!(body.len(), 2 + 1 + RESUME_ID_LEN);
                        prop_assert!(matches!(body[2], 1 | 2));
                        prop_assert_eq!(msg.to_vec(), bytes);
                    }
                    Err(_) => prop_assert!(body.len() != 2 + 1 + RESUME_ID_LEN || !matches!(body[2], 1 | 2)),
                }
            }

            #[test]
            fn hostile_join_redirected_decodes_safely(body in proptest::collection::vec(any::<u8>(), 0..64)) {
                let mut bytes = vec![JOIN_REDIRECTED];
                bytes.extend_from_slice(&body);
                if let Ok(msg) = RelayRequest::from_bytes(&bytes) {
                    prop_assert_eq!(msg.to_vec(), bytes);
                }
            }
        }
    }
}
