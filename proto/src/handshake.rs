//! The end-to-end handshake between host and viewer: SPAKE2 (Ed25519 group) over the secret digits of
//! the session code, with both identities binding the routing code and the relay's identity, then key
//! confirmation both ways. Sans-IO: messages in, messages and keys out. `PROTOCOL.md` specifies it.
//!
//! ```text
//! viewer -> host   ViewerHello   { version, pake }
//! host   -> viewer HostHello     { version, pake, confirm }   host confirm
//! viewer -> host   ViewerConfirm { confirm }                  viewer confirm
//! ```
//! Either side may send `Failed { reason }` instead of its next message, then close.

use std::fmt;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

use crate::code::SessionCode;
use crate::limits::MAX_PAKE_LEN;
use crate::seal::{Opener, Sealer};
use crate::wire::{DecodeError, Message, Reader, WriteExt, bytes_len};
use crate::{Direction, PROTOCOL_VERSION, StreamKind};

/// Length of a key-confirmation MAC (HMAC-SHA256).
pub const CONFIRM_LEN: usize = 32;

/// Plaintext handshake messages, the first frames on the control stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeMessage {
    ViewerHello {
        version: u16,
        pake: Vec<u8>,
    },
    HostHello {
        version: u16,
        pake: Vec<u8>,
        confirm: [u8; CONFIRM_LEN],
    },
    ViewerConfirm {
        confirm: [u8; CONFIRM_LEN],
    },
    Failed {
        reason: FailReason,
    },
}

/// Why a side gave up on the handshake, told to the peer before closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FailReason {
    WrongCode = 1,
    VersionMismatch = 2,
    Protocol = 3,
}

impl FailReason {
    pub const ALL: [Self; 3] = [Self::WrongCode, Self::VersionMismatch, Self::Protocol];

    fn from_u8(tag: u8) -> Result<Self, DecodeError> {
        Self::ALL
            .into_iter()
            .find(|r| *r as u8 == tag)
            .ok_or(DecodeError::UnknownTag {
                what: "handshake failure reason",
                tag,
            })
    }
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WrongCode => "the code was wrong or already used",
            Self::VersionMismatch => "incompatible protocol versions",
            Self::Protocol => "protocol error",
        })
    }
}

const VIEWER_HELLO: u8 = 1;
const HOST_HELLO: u8 = 2;
const VIEWER_CONFIRM: u8 = 3;
const FAILED: u8 = 4;

impl Message for HandshakeMessage {
    fn encoded_len(&self) -> usize {
        1 + match self {
            Self::ViewerHello { pake, .. } => 2 + bytes_len(pake.len()),
            Self::HostHello { pake, .. } => 2 + bytes_len(pake.len()) + CONFIRM_LEN,
            Self::ViewerConfirm { .. } => CONFIRM_LEN,
            Self::Failed { .. } => 1,
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::ViewerHello { version, pake } => {
                out.put_u8(VIEWER_HELLO);
                out.put_u16(*version);
                out.put_bytes(pake);
            }
            Self::HostHello {
                version,
                pake,
                confirm,
            } => {
                out.put_u8(HOST_HELLO);
                out.put_u16(*version);
                out.put_bytes(pake);
                out.extend_from_slice(confirm);
            }
            Self::ViewerConfirm { confirm } => {
                out.put_u8(VIEWER_CONFIRM);
                out.extend_from_slice(confirm);
            }
            Self::Failed { reason } => {
                out.put_u8(FAILED);
                out.put_u8(*reason as u8);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            VIEWER_HELLO => Ok(Self::ViewerHello {
                version: r.u16()?,
                pake: r.bytes("PAKE message", MAX_PAKE_LEN)?.to_vec(),
            }),
            HOST_HELLO => Ok(Self::HostHello {
                version: r.u16()?,
                pake: r.bytes("PAKE message", MAX_PAKE_LEN)?.to_vec(),
                confirm: r.array()?,
            }),
            VIEWER_CONFIRM => Ok(Self::ViewerConfirm {
                confirm: r.array()?,
            }),
            FAILED => Ok(Self::Failed {
                reason: FailReason::from_u8(r.u8()?)?,
            }),
            tag => Err(DecodeError::UnknownTag {
                what: "handshake message",
                tag,
            }),
        }
    }
}

/// Why a handshake failed. On `Err`, send [`HandshakeError::fail_message`] (if `Some`), then close.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The peer's key confirmation did not verify (or the peer said so): the two sides used different
    /// codes, or someone in between guessed and lost.
    #[error("the code was wrong or already used — ask for a new one")]
    WrongCode,
    #[error("protocol version mismatch: we speak {ours}, the peer speaks {theirs}")]
    VersionMismatch { ours: u16, theirs: u16 },
    /// The peer gave up and told us why (a wrong code is reported as [`HandshakeError::WrongCode`]).
    #[error("the peer ended the handshake: {0}")]
    PeerFailed(FailReason),
    #[error("unexpected handshake message: expected {expected}")]
    Unexpected { expected: &'static str },
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl HandshakeError {
    /// The `Failed` message to send the peer before closing, or `None` when the peer already failed.
    pub fn fail_message(&self) -> Option<HandshakeMessage> {
        let reason = match self {
            Self::WrongCode => FailReason::WrongCode,
            Self::VersionMismatch { .. } => FailReason::VersionMismatch,
            Self::PeerFailed(_) => return None,
            Self::Unexpected { .. } | Self::Decode(_) => FailReason::Protocol,
        };
        Some(HandshakeMessage::Failed { reason })
    }
}

// ---- Key schedule ----

/// Every label the key schedule uses, in one place (PROTOCOL.md lists the same bytes).
mod label {
    pub const ID_HOST: &[u8] = b"tandem/1 host ";
    pub const ID_VIEWER: &[u8] = b"tandem/1 viewer ";
    pub const TRANSCRIPT: &[u8] = b"tandem/1 transcript";
    pub const CONFIRM_HOST: &[u8] = b"tandem/1 confirm host";
    pub const CONFIRM_VIEWER: &[u8] = b"tandem/1 confirm viewer";
    pub const VERIFIER: &[u8] = b"tandem/1 verifier";
    /// Followed by the stream kind byte and the direction byte.
    pub const RECORD_KEY: &[u8] = b"tandem/1 record key ";
    pub const RESUME_ID: &[u8] = b"tandem/1 resume id";
    pub const RESUME_SECRET: &[u8] = b"tandem/1 resume secret";
    /// Starts the identities' context of a resumption handshake, followed by the resume id.
    pub const RESUME_CONTEXT: &[u8] = b"resume ";
}

/// SPAKE2 identities: a fixed label, the relay's certificate hash (32 bytes), then the context: the
/// routing digits for a code, or `"resume "` and the resume id for a resumption (never digits only,
/// so the two cannot collide).
fn identities(context: &[u8], relay_id: &[u8; 32]) -> (Vec<u8>, Vec<u8>) {
    let id = |label: &[u8]| {
        let mut id = Vec::with_capacity(label.len() + 32 + context.len());
        id.extend_from_slice(label);
        id.extend_from_slice(relay_id);
        id.extend_from_slice(context);
        id
    };
    (id(label::ID_HOST), id(label::ID_VIEWER))
}

/// What a handshake proves knowledge of: the code's secret digits (bound to its routing digits), or
/// the resume secret of the previous link (bound to its resume id).
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    Code(&'a SessionCode),
    Resume(&'a ResumeTicket),
}

impl Credential<'_> {
    fn password_and_context(&self) -> (Zeroizing<Vec<u8>>, Vec<u8>) {
        match self {
            Self::Code(code) => (
                Zeroizing::new(code.secret.as_bytes().to_vec()),
                code.routing.as_str().as_bytes().to_vec(),
            ),
            Self::Resume(ticket) => {
                let mut context = label::RESUME_CONTEXT.to_vec();
                context.extend_from_slice(&ticket.id);
                (Zeroizing::new(ticket.secret.to_vec()), context)
            }
        }
    }
}

/// What a link may be resumed with after it is lost (PROTOCOL.md §9): a resume id, which the relay
/// sees and pairs by, and a resume secret, which only the two ends hold and which is the password of
/// the resumption handshake. Both come from one session's keys, so each is used once: a resumed
/// link has new keys and a new ticket. Zeroed on drop; `Debug` prints neither.
#[derive(Clone)]
pub struct ResumeTicket {
    id: [u8; 32],
    secret: Zeroizing<[u8; 32]>,
}

impl ResumeTicket {
    /// The id the relay pairs the two resuming sides by. It reveals nothing of the secret (a
    /// separate HKDF output).
    pub fn id(&self) -> [u8; 32] {
        self.id
    }
}

impl fmt::Debug for ResumeTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumeTicket(..)")
    }
}

/// Everything both sides agree on before keys exist.
struct Transcript<'a> {
    id_host: &'a [u8],
    id_viewer: &'a [u8],
    viewer_version: u16,
    host_version: u16,
    viewer_pake: &'a [u8],
    host_pake: &'a [u8],
}

impl Transcript<'_> {
    fn hash(&self) -> [u8; 32] {
        let mut bytes = Vec::with_capacity(256);
        bytes.extend_from_slice(label::TRANSCRIPT);
        bytes.put_bytes(self.id_host);
        bytes.put_bytes(self.id_viewer);
        bytes.put_u16(self.viewer_version);
        bytes.put_u16(self.host_version);
        bytes.put_bytes(self.viewer_pake);
        bytes.put_bytes(self.host_pake);
        Sha256::digest(&bytes).into()
    }
}

/// The output of a successful handshake, identical on both sides.
struct Schedule {
    transcript_hash: [u8; 32],
    confirm_host: Zeroizing<[u8; 32]>,
    confirm_viewer: Zeroizing<[u8; 32]>,
    keys: SessionKeys,
}

impl Schedule {
    fn derive(shared: &[u8], transcript_hash: [u8; 32]) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(&transcript_hash), shared);
        let expand = |info: &[u8]| {
            let mut okm = Zeroizing::new([0u8; 32]);
            // 32 bytes is far below HKDF-SHA256's 8160-byte output limit.
            hkdf.expand(info, okm.as_mut())
                .expect("32 bytes is a valid HKDF-SHA256 output length");
            okm
        };
        let verifier_key = expand(label::VERIFIER);
        let mut verifier_bytes = [0u8; 8];
        verifier_bytes.copy_from_slice(&verifier_key[..8]);
        // 2^64 is not a multiple of 10^4; the bias is below 10^-15 per value.
        let verifier = (u64::from_be_bytes(verifier_bytes) % 10_000) as u16;
        verifier_bytes.zeroize();
        let mut record = [[0u8; 32]; KEY_SLOTS.len()];
        for (slot, (kind, dir)) in record.iter_mut().zip(KEY_SLOTS) {
            let mut info = label::RECORD_KEY.to_vec();
            info.extend_from_slice(&[kind as u8, dir as u8]);
            *slot = *expand(&info);
        }
        let resume = ResumeTicket {
            id: *expand(label::RESUME_ID),
            secret: expand(label::RESUME_SECRET),
        };
        Self {
            transcript_hash,
            confirm_host: expand(label::CONFIRM_HOST),
            confirm_viewer: expand(label::CONFIRM_VIEWER),
            keys: SessionKeys {
                record,
                verifier,
                resume,
            },
        }
    }

    fn mac(key: &[u8; 32], transcript_hash: &[u8; 32]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .expect("HMAC-SHA256 accepts keys of any length");
        mac.update(transcript_hash);
        mac
    }

    fn host_confirm(&self) -> [u8; CONFIRM_LEN] {
        Self::mac(&self.confirm_host, &self.transcript_hash)
            .finalize()
            .into_bytes()
            .into()
    }

    fn viewer_confirm(&self) -> [u8; CONFIRM_LEN] {
        Self::mac(&self.confirm_viewer, &self.transcript_hash)
            .finalize()
            .into_bytes()
            .into()
    }

    /// Constant-time check of the peer's confirmation.
    fn verify(key: &[u8; 32], transcript_hash: &[u8; 32], confirm: &[u8]) -> bool {
        Self::mac(key, transcript_hash)
            .verify_slice(confirm)
            .is_ok()
    }
}

const KEY_SLOTS: [(StreamKind, Direction); 8] = [
    (StreamKind::Control, Direction::HostToViewer),
    (StreamKind::Control, Direction::ViewerToHost),
    (StreamKind::Frames, Direction::HostToViewer),
    (StreamKind::Frames, Direction::ViewerToHost),
    (StreamKind::Input, Direction::HostToViewer),
    (StreamKind::Input, Direction::ViewerToHost),
    (StreamKind::Bulk, Direction::HostToViewer),
    (StreamKind::Bulk, Direction::ViewerToHost),
];

/// The keys of one session, identical on both sides. Zeroed on drop; `Debug` prints no key.
pub struct SessionKeys {
    record: [[u8; 32]; KEY_SLOTS.len()],
    verifier: u16,
    resume: ResumeTicket,
}

impl SessionKeys {
    /// Four decimal digits, `"0000"` to `"9999"`, equal on both sides of an honest handshake. Users
    /// compare them over the phone to rule out a man in the middle who guessed the code.
    pub fn verifier(&self) -> String {
        format!("{:04}", self.verifier)
    }

    /// The ticket to resume this session with, should its link be lost.
    pub fn resume_ticket(&self) -> ResumeTicket {
        self.resume.clone()
    }

    /// Seals records for the stream `kind` in direction `dir`, counter from 0.
    pub fn sealer(&self, kind: StreamKind, dir: Direction) -> Sealer {
        Sealer::new(self.key(kind, dir), kind, dir)
    }

    /// Opens records sealed by the peer's [`SessionKeys::sealer`] for the same `kind` and `dir`.
    pub fn opener(&self, kind: StreamKind, dir: Direction) -> Opener {
        Opener::new(self.key(kind, dir), kind, dir)
    }

    fn key(&self, kind: StreamKind, dir: Direction) -> &[u8; 32] {
        // The index of (kind, dir) in KEY_SLOTS.
        let row = match kind {
            StreamKind::Control => 0,
            StreamKind::Frames => 2,
            StreamKind::Input => 4,
            StreamKind::Bulk => 6,
        };
        let col = match dir {
            Direction::HostToViewer => 0,
            Direction::ViewerToHost => 1,
        };
        &self.record[row + col]
    }

    /// Keys derived from `ikm` with an empty transcript, for fuzz targets only: never a real session.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn from_ikm_for_fuzzing(ikm: &[u8; 32]) -> Self {
        Schedule::derive(ikm, [0u8; 32]).keys
    }
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.record.zeroize();
        self.verifier.zeroize();
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKeys(..)")
    }
}

// ---- Viewer ----

/// The viewer's side (SPAKE2 side B).
pub struct ViewerHandshake {
    spake: Spake2<Ed25519Group>,
    pake: Vec<u8>,
    id_host: Vec<u8>,
    id_viewer: Vec<u8>,
}

impl fmt::Debug for ViewerHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ViewerHandshake(..)")
    }
}

impl ViewerHandshake {
    /// Starts the handshake; send the returned `ViewerHello` first on the control stream.
    pub fn start(code: &SessionCode, relay_id: &[u8; 32]) -> (Self, HandshakeMessage) {
        Self::start_with(Credential::Code(code), relay_id)
    }

    /// Starts a handshake proving `credential` (a code, or a resume ticket).
    pub fn start_with(credential: Credential<'_>, relay_id: &[u8; 32]) -> (Self, HandshakeMessage) {
        let (password, context) = credential.password_and_context();
        let (id_host, id_viewer) = identities(&context, relay_id);
        let (spake, pake) = Spake2::<Ed25519Group>::start_b(
            &Password::new(&password),
            &Identity::new(&id_host),
            &Identity::new(&id_viewer),
        );
        let hello = HandshakeMessage::ViewerHello {
            version: PROTOCOL_VERSION,
            pake: pake.clone(),
        };
        (
            Self {
                spake,
                pake,
                id_host,
                id_viewer,
            },
            hello,
        )
    }

    /// Handles the host's reply. On success, send the returned `ViewerConfirm`, then use the keys.
    /// On `Err`, send `error.fail_message()` (if `Some`), then close.
    pub fn on_host_hello(
        self,
        msg: HandshakeMessage,
    ) -> Result<(HandshakeMessage, SessionKeys), HandshakeError> {
        let (version, host_pake, confirm) = match msg {
            HandshakeMessage::HostHello {
                version,
                pake,
                confirm,
            } => (version, pake, confirm),
            HandshakeMessage::Failed { reason } => return Err(peer_failed(reason)),
            _ => {
                return Err(HandshakeError::Unexpected {
                    expected: "HostHello",
                });
            }
        };
        if version != PROTOCOL_VERSION {
            return Err(HandshakeError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: version,
            });
        }
        let shared =
            Zeroizing::new(
                self.spake
                    .finish(&host_pake)
                    .map_err(|_| DecodeError::Invalid {
                        what: "PAKE message",
                    })?,
            );
        let transcript_hash = Transcript {
            id_host: &self.id_host,
            id_viewer: &self.id_viewer,
            viewer_version: PROTOCOL_VERSION,
            host_version: version,
            viewer_pake: &self.pake,
            host_pake: &host_pake,
        }
        .hash();
        let schedule = Schedule::derive(&shared, transcript_hash);
        if !Schedule::verify(&schedule.confirm_host, &transcript_hash, &confirm) {
            return Err(HandshakeError::WrongCode);
        }
        let reply = HandshakeMessage::ViewerConfirm {
            confirm: schedule.viewer_confirm(),
        };
        Ok((reply, schedule.keys))
    }
}

// ---- Host ----

/// The host's side (SPAKE2 side A).
pub struct HostHandshake {
    state: HostState,
    id_host: Vec<u8>,
    id_viewer: Vec<u8>,
}

enum HostState {
    AwaitHello {
        spake: Spake2<Ed25519Group>,
        pake: Vec<u8>,
    },
    AwaitConfirm {
        viewer_version: u16,
        schedule: Box<Schedule>,
    },
    Spent,
}

impl fmt::Debug for HostHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HostHandshake(..)")
    }
}

impl HostHandshake {
    pub fn new(code: &SessionCode, relay_id: &[u8; 32]) -> Self {
        Self::with(Credential::Code(code), relay_id)
    }

    /// A handshake proving `credential` (a code, or a resume ticket).
    pub fn with(credential: Credential<'_>, relay_id: &[u8; 32]) -> Self {
        let (password, context) = credential.password_and_context();
        let (id_host, id_viewer) = identities(&context, relay_id);
        let (spake, pake) = Spake2::<Ed25519Group>::start_a(
            &Password::new(&password),
            &Identity::new(&id_host),
            &Identity::new(&id_viewer),
        );
        Self {
            state: HostState::AwaitHello { spake, pake },
            id_host,
            id_viewer,
        }
    }

    /// Handles the viewer's hello and returns the `HostHello` to send. The host always answers a
    /// well-formed hello, even from another protocol version: the viewer then reports the mismatch
    /// naming both versions, and [`HostHandshake::on_viewer_confirm`] refuses it too.
    /// On `Err`, send `error.fail_message()` (if `Some`), then close.
    pub fn on_viewer_hello(
        &mut self,
        msg: HandshakeMessage,
    ) -> Result<HandshakeMessage, HandshakeError> {
        match self.state {
            HostState::AwaitHello { .. } => {}
            HostState::AwaitConfirm { .. } => {
                return Err(HandshakeError::Unexpected {
                    expected: "ViewerConfirm",
                });
            }
            HostState::Spent => return Err(spent()),
        }
        let (viewer_version, viewer_pake) = match msg {
            HandshakeMessage::ViewerHello { version, pake } => (version, pake),
            HandshakeMessage::Failed { reason } => {
                self.state = HostState::Spent;
                return Err(peer_failed(reason));
            }
            _ => {
                self.state = HostState::Spent;
                return Err(HandshakeError::Unexpected {
                    expected: "ViewerHello",
                });
            }
        };
        let HostState::AwaitHello { spake, pake } =
            std::mem::replace(&mut self.state, HostState::Spent)
        else {
            return Err(HandshakeError::Unexpected {
                expected: "ViewerConfirm",
            });
        };
        let shared =
            Zeroizing::new(
                spake
                    .finish(&viewer_pake)
                    .map_err(|_| DecodeError::Invalid {
                        what: "PAKE message",
                    })?,
            );
        let transcript_hash = Transcript {
            id_host: &self.id_host,
            id_viewer: &self.id_viewer,
            viewer_version,
            host_version: PROTOCOL_VERSION,
            viewer_pake: &viewer_pake,
            host_pake: &pake,
        }
        .hash();
        let schedule = Schedule::derive(&shared, transcript_hash);
        let reply = HandshakeMessage::HostHello {
            version: PROTOCOL_VERSION,
            pake,
            confirm: schedule.host_confirm(),
        };
        self.state = HostState::AwaitConfirm {
            viewer_version,
            schedule: Box::new(schedule),
        };
        Ok(reply)
    }

    /// Handles the viewer's confirmation; on success the session keys are ready.
    /// On `Err`, send `error.fail_message()` (if `Some`), then close.
    pub fn on_viewer_confirm(self, msg: HandshakeMessage) -> Result<SessionKeys, HandshakeError> {
        let (viewer_version, schedule, msg) = match (self.state, msg) {
            (
                HostState::AwaitConfirm {
                    viewer_version,
                    schedule,
                },
                msg,
            ) => (viewer_version, schedule, msg),
            (_, HandshakeMessage::Failed { reason }) => return Err(peer_failed(reason)),
            (HostState::AwaitHello { .. }, _) => {
                return Err(HandshakeError::Unexpected {
                    expected: "ViewerHello",
                });
            }
            (HostState::Spent, _) => return Err(spent()),
        };
        if viewer_version != PROTOCOL_VERSION {
            return Err(HandshakeError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: viewer_version,
            });
        }
        let schedule = *schedule;
        match msg {
            HandshakeMessage::ViewerConfirm { confirm } => {
                if Schedule::verify(
                    &schedule.confirm_viewer,
                    &schedule.transcript_hash,
                    &confirm,
                ) {
                    Ok(schedule.keys)
                } else {
                    Err(HandshakeError::WrongCode)
                }
            }
            HandshakeMessage::Failed { reason } => Err(peer_failed(reason)),
            _ => Err(HandshakeError::Unexpected {
                expected: "ViewerConfirm",
            }),
        }
    }
}

/// A step after the handshake already failed.
fn spent() -> HandshakeError {
    HandshakeError::Unexpected {
        expected: "nothing (the handshake already failed)",
    }
}

/// A peer's `Failed`: a wrong code reads the same on both sides.
fn peer_failed(reason: FailReason) -> HandshakeError {
    match reason {
        FailReason::WrongCode => HandshakeError::WrongCode,
        reason => HandshakeError::PeerFailed(reason),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::code::{RoutingCode, SecretCode};
    use crate::framing::FrameReader;
    use crate::session::{Control, FrameMsg, Input};

    pub(crate) const RELAY: [u8; 32] = [0xAB; 32];

    pub(crate) fn code(text: &str) -> SessionCode {
        SessionCode::parse(text).expect("valid code")
    }

    /// Sends a handshake message through its wire encoding, as the transport would.
    fn wire(msg: HandshakeMessage) -> HandshakeMessage {
        HandshakeMessage::from_bytes(&msg.to_vec()).expect("decodes")
    }

    /// Runs the whole handshake in memory; returns (host result, viewer result).
    fn run(
        host_code: &SessionCode,
        host_relay: &[u8; 32],
        viewer_code: &SessionCode,
        viewer_relay: &[u8; 32],
    ) -> (
        Result<SessionKeys, HandshakeError>,
        Result<SessionKeys, HandshakeError>,
    ) {
        let mut host = HostHandshake::new(host_code, host_relay);
        let (viewer, hello) = ViewerHandshake::start(viewer_code, viewer_relay);
        let host_hello = host.on_viewer_hello(wire(hello)).expect("host answers");
        match viewer.on_host_hello(wire(host_hello)) {
            Ok((confirm, viewer_keys)) => (host.on_viewer_confirm(wire(confirm)), Ok(viewer_keys)),
            Err(e) => {
                let failed = e.fail_message().expect("viewer tells the host");
                (host.on_viewer_confirm(wire(failed)), Err(e))
            }
        }
    }

    /// A successful handshake's keys: (host, viewer).
    pub(crate) fn keys() -> (SessionKeys, SessionKeys) {
        let c = code("482 193 715");
        let (host, viewer) = run(&c, &RELAY, &c, &RELAY);
        (host.expect("host keys"), viewer.expect("viewer keys"))
    }

    /// Runs a whole handshake in memory with any credentials; returns (host result, viewer result).
    fn run_with(
        host: Credential<'_>,
        viewer: Credential<'_>,
        relay: &[u8; 32],
    ) -> (
        Result<SessionKeys, HandshakeError>,
        Result<SessionKeys, HandshakeError>,
    ) {
        let mut host = HostHandshake::with(host, relay);
        let (viewer, hello) = ViewerHandshake::start_with(viewer, relay);
        let host_hello = host.on_viewer_hello(wire(hello)).expect("host answers");
        match viewer.on_host_hello(wire(host_hello)) {
            Ok((confirm, viewer_keys)) => (host.on_viewer_confirm(wire(confirm)), Ok(viewer_keys)),
            Err(e) => {
                let failed = e.fail_message().expect("viewer tells the host");
                (host.on_viewer_confirm(wire(failed)), Err(e))
            }
        }
    }

    #[test]
    fn both_sides_derive_the_same_resume_ticket_and_it_resumes_with_new_keys() {
        let (host, viewer) = keys();
        let (host_ticket, viewer_ticket) = (host.resume_ticket(), viewer.resume_ticket());
        assert_eq!(host_ticket.id(), viewer_ticket.id());
        assert_eq!(*host_ticket.secret, *viewer_ticket.secret);
        // The id the relay sees is not the secret.
        assert_ne!(host_ticket.id(), *host_ticket.secret);
        assert_eq!(format!("{host_ticket:?}"), "ResumeTicket(..)");

        let (h, v) = run_with(
            Credential::Resume(&host_ticket),
            Credential::Resume(&viewer_ticket),
            &RELAY,
        );
        let (h, v) = (h.expect("host resumes"), v.expect("viewer resumes"));
        assert_eq!(h.verifier(), v.verifier());
        // New record keys and a new, different ticket: nothing sealed is reused, tickets are one-use.
        assert_ne!(
            h.key(StreamKind::Control, Direction::HostToViewer),
            host.key(StreamKind::Control, Direction::HostToViewer)
        );
        assert_eq!(h.resume_ticket().id(), v.resume_ticket().id());
        assert_ne!(h.resume_ticket().id(), host_ticket.id());
    }

    #[test]
    fn a_resume_with_another_secret_or_relay_or_a_code_fails_as_a_wrong_code() {
        let (host, _) = keys();
        let ticket = host.resume_ticket();
        let (other_host, _) = keys();
        let other = other_host.resume_ticket();
        // A relay that knows only the id: it cannot make up the secret.
        let forged = ResumeTicket {
            id: ticket.id(),
            secret: Zeroizing::new([0x55; 32]),
        };
        for viewer in [Credential::Resume(&other), Credential::Resume(&forged)] {
            let (h, v) = run_with(Credential::Resume(&ticket), viewer, &RELAY);
            assert!(matches!(h, Err(HandshakeError::WrongCode)), "{h:?}");
            assert!(matches!(v, Err(HandshakeError::WrongCode)), "{v:?}");
        }
        // Another relay identity on one side.
        let mut host_hs = HostHandshake::with(Credential::Resume(&ticket), &RELAY);
        let (viewer_hs, hello) =
            ViewerHandshake::start_with(Credential::Resume(&ticket), &[0xCD; 32]);
        let reply = host_hs.on_viewer_hello(wire(hello)).expect("host answers");
        assert!(matches!(
            viewer_hs.on_host_hello(wire(reply)),
            Err(HandshakeError::WrongCode)
        ));
        // A code's handshake never meets a resumption's.
        let c = code("482 193 715");
        let (h, v) = run_with(Credential::Resume(&ticket), Credential::Code(&c), &RELAY);
        assert!(h.is_err() && v.is_err());
    }

    const ALL_STREAMS: [(StreamKind, Direction); 8] = KEY_SLOTS;

    #[test]
    fn same_code_gives_equal_verifiers_and_working_records_on_every_stream() {
        let (host, viewer) = keys();
        assert_eq!(host.verifier(), viewer.verifier());
        let v = host.verifier();
        assert_eq!(v.len(), 4);
        assert!(v.bytes().all(|b| b.is_ascii_digit()), "{v}");
        for (kind, dir) in ALL_STREAMS {
            let (send_keys, recv_keys) = match dir {
                Direction::HostToViewer => (&host, &viewer),
                Direction::ViewerToHost => (&viewer, &host),
            };
            let mut sealer = send_keys.sealer(kind, dir);
            let mut opener = recv_keys.opener(kind, dir);
            let mut stream = Vec::new();
            let msgs = [
                Control::hello("Alex"),
                Control::Ack { seq: 7 },
                Control::RequestKeyframe,
            ];
            for m in &msgs {
                sealer.seal(m, &mut stream).expect("seal");
            }
            let mut reader = FrameReader::new(kind.max_frame_len());
            reader.push(&stream);
            for m in &msgs {
                let frame = reader.next_frame().expect("ok").expect("a frame");
                assert_eq!(&opener.open::<Control>(frame).expect("opens"), m);
            }
            assert_eq!(reader.next_frame(), Ok(None));
            assert_eq!(opener.records_opened(), 3);
        }
        // Typed messages on their own streams.
        let mut out = Vec::new();
        let update = FrameMsg::Update {
            seq: 0,
            payload: vec![1, 2, 3],
        };
        host.sealer(StreamKind::Frames, Direction::HostToViewer)
            .seal(&update, &mut out)
            .expect("seal");
        let got: FrameMsg = viewer
            .opener(StreamKind::Frames, Direction::HostToViewer)
            .open(&out[4..])
            .expect("open");
        assert_eq!(got, update);
        out.clear();
        let key = Input::Key {
            keysym: 0xff0d,
            physical: 28,
            pressed: true,
        };
        viewer
            .sealer(StreamKind::Input, Direction::ViewerToHost)
            .seal(&key, &mut out)
            .expect("seal");
        let got: Input = host
            .opener(StreamKind::Input, Direction::ViewerToHost)
            .open(&out[4..])
            .expect("open");
        assert_eq!(got, key);
    }

    #[test]
    fn every_stream_and_direction_has_its_own_key() {
        let (host, _) = keys();
        let mut seen = Vec::new();
        for (kind, dir) in ALL_STREAMS {
            let key = *host.key(kind, dir);
            assert!(!seen.contains(&key));
            seen.push(key);
        }
    }

    #[test]
    fn two_sessions_with_the_same_code_have_different_keys() {
        let (host_a, _) = keys();
        let (_, viewer_b) = keys();
        let mut out = Vec::new();
        host_a
            .sealer(StreamKind::Control, Direction::HostToViewer)
            .seal(&Control::RequestControl, &mut out)
            .expect("seal");
        let opened = viewer_b
            .opener(StreamKind::Control, Direction::HostToViewer)
            .open::<Control>(&out[4..]);
        assert_eq!(opened, Err(crate::seal::OpenError::Forged));
    }

    #[test]
    fn wrong_secret_fails_on_both_sides_as_wrong_code() {
        let (host, viewer) = run(&code("482 193 715"), &RELAY, &code("482 193 716"), &RELAY);
        assert!(
            matches!(viewer, Err(HandshakeError::WrongCode)),
            "{viewer:?}"
        );
        assert!(matches!(host, Err(HandshakeError::WrongCode)), "{host:?}");
        let text = HandshakeError::WrongCode.to_string();
        assert!(text.contains("code was wrong"), "{text}");
    }

    #[test]
    fn host_refuses_a_confirm_that_does_not_verify() {
        // A viewer that skipped its own check (or an attacker) sends a confirm anyway.
        let c = code("482 193 715");
        let mut host = HostHandshake::new(&c, &RELAY);
        let (_viewer, hello) = ViewerHandshake::start(&code("482 000 000"), &RELAY);
        host.on_viewer_hello(hello).expect("host answers");
        let err = host
            .on_viewer_confirm(HandshakeMessage::ViewerConfirm { confirm: [0; 32] })
            .expect_err("forged confirm");
        assert!(matches!(err, HandshakeError::WrongCode));
        assert_eq!(
            err.fail_message(),
            Some(HandshakeMessage::Failed {
                reason: FailReason::WrongCode
            })
        );
    }

    #[test]
    fn host_refuses_the_confirm_of_its_own_direction() {
        // Reflecting the host's confirm back must not pass: confirm keys differ per side.
        let c = code("482 193 715");
        let mut host = HostHandshake::new(&c, &RELAY);
        let (_viewer, hello) = ViewerHandshake::start(&c, &RELAY);
        let HandshakeMessage::HostHello { confirm, .. } =
            host.on_viewer_hello(hello).expect("host answers")
        else {
            panic!("HostHello");
        };
        let err = host
            .on_viewer_confirm(HandshakeMessage::ViewerConfirm { confirm })
            .expect_err("reflected confirm");
        assert!(matches!(err, HandshakeError::WrongCode));
    }

    #[test]
    fn another_routing_code_or_relay_fails() {
        let (host, viewer) = run(&code("482 193 715"), &RELAY, &code("483 193 715"), &RELAY);
        assert!(matches!(viewer, Err(HandshakeError::WrongCode)));
        assert!(matches!(host, Err(HandshakeError::WrongCode)));
        let c = code("482 193 715");
        let (host, viewer) = run(&c, &RELAY, &c, &[0xAC; 32]);
        assert!(matches!(viewer, Err(HandshakeError::WrongCode)));
        assert!(matches!(host, Err(HandshakeError::WrongCode)));
    }

    #[test]
    fn man_in_the_middle_with_a_guessed_code_fails_on_both_ends() {
        let real = code("482 193 715");
        let guess = code("482 555 555");
        let mut host = HostHandshake::new(&real, &RELAY);
        let (viewer, viewer_hello) = ViewerHandshake::start(&real, &RELAY);
        // Mallory (e.g. the relay) runs one handshake towards each end with its guess.
        let mut mallory_host = HostHandshake::new(&guess, &RELAY);
        let (mallory_viewer, mallory_hello) = ViewerHandshake::start(&guess, &RELAY);

        let to_viewer = mallory_host
            .on_viewer_hello(wire(viewer_hello))
            .expect("mallory answers");
        let viewer_err = viewer
            .on_host_hello(wire(to_viewer))
            .expect_err("viewer must refuse");
        assert!(matches!(viewer_err, HandshakeError::WrongCode));

        let host_hello = host
            .on_viewer_hello(wire(mallory_hello))
            .expect("host answers");
        // Mallory learns its guess was wrong and cannot produce a valid confirm...
        let mallory_err = mallory_viewer
            .on_host_hello(wire(host_hello))
            .expect_err("mallory's guess is wrong");
        assert!(matches!(mallory_err, HandshakeError::WrongCode));
        // ...so whatever it sends, the host fails too.
        let host_err = host
            .on_viewer_confirm(HandshakeMessage::ViewerConfirm { confirm: [7; 32] })
            .expect_err("host must refuse");
        assert!(matches!(host_err, HandshakeError::WrongCode));
    }

    #[test]
    fn substituted_pake_message_fails() {
        let c = code("482 193 715");
        let mut host = HostHandshake::new(&c, &RELAY);
        let (viewer, _) = ViewerHandshake::start(&c, &RELAY);
        // An attacker replaces the viewer's SPAKE2 message with its own (a fresh one for the same code
        // it does not know), then relays the host's reply unchanged.
        let (_, HandshakeMessage::ViewerHello { version, pake }) =
            ViewerHandshake::start(&code("482 000 001"), &RELAY)
        else {
            panic!("ViewerHello");
        };
        let reply = host
            .on_viewer_hello(HandshakeMessage::ViewerHello { version, pake })
            .expect("host answers");
        assert!(matches!(
            viewer.on_host_hello(reply),
            Err(HandshakeError::WrongCode)
        ));
    }

    #[test]
    fn a_man_in_the_middle_who_knows_the_code_gets_different_keys_on_each_leg() {
        // Even with the right code, two separate handshakes never share keys, so the users would see
        // different verifiers (equal only by a 1 in 10^4 chance).
        let c = code("482 193 715");
        let (host_leg_host, _) = {
            let (h, v) = run(&c, &RELAY, &c, &RELAY);
            (h.expect("ok"), v.expect("ok"))
        };
        let (_, viewer_leg_viewer) = {
            let (h, v) = run(&c, &RELAY, &c, &RELAY);
            (h.expect("ok"), v.expect("ok"))
        };
        assert_ne!(
            host_leg_host.key(StreamKind::Control, Direction::HostToViewer),
            viewer_leg_viewer.key(StreamKind::Control, Direction::HostToViewer)
        );
    }

    #[test]
    fn version_mismatch_names_both_versions_on_both_sides() {
        let c = code("482 193 715");
        // A viewer from the future.
        let mut host = HostHandshake::new(&c, &RELAY);
        let (_viewer, HandshakeMessage::ViewerHello { pake, .. }) =
            ViewerHandshake::start(&c, &RELAY)
        else {
            panic!("ViewerHello");
        };
        let reply = host
            .on_viewer_hello(HandshakeMessage::ViewerHello { version: 9, pake })
            .expect("host answers any well-formed hello");
        assert!(matches!(
            reply,
            HandshakeMessage::HostHello { version: 1, .. }
        ));
        // The viewer (version 9) reports the mismatch; the host names both versions.
        let err = host
            .on_viewer_confirm(HandshakeMessage::Failed {
                reason: FailReason::VersionMismatch,
            })
            .expect_err("mismatch");
        assert!(matches!(
            err,
            HandshakeError::VersionMismatch { ours: 1, theirs: 9 }
        ));
        let text = err.to_string();
        assert!(text.contains('1') && text.contains('9'), "{text}");

        // A host from the future: the viewer names both versions and tells the host.
        let mut host = HostHandshake::new(&c, &RELAY);
        let (viewer, hello) = ViewerHandshake::start(&c, &RELAY);
        let HandshakeMessage::HostHello { pake, confirm, .. } =
            host.on_viewer_hello(hello).expect("answers")
        else {
            panic!("HostHello");
        };
        let err = viewer
            .on_host_hello(HandshakeMessage::HostHello {
                version: 7,
                pake,
                confirm,
            })
            .expect_err("mismatch");
        assert!(matches!(
            err,
            HandshakeError::VersionMismatch { ours: 1, theirs: 7 }
        ));
        assert_eq!(
            err.to_string(),
            "protocol version mismatch: we speak 1, the peer speaks 7"
        );
        assert_eq!(
            err.fail_message(),
            Some(HandshakeMessage::Failed {
                reason: FailReason::VersionMismatch
            })
        );
    }

    #[test]
    fn host_never_completes_with_a_viewer_of_another_version() {
        // Even a valid confirm does not finish a handshake whose versions differ.
        let c = code("482 193 715");
        let mut host = HostHandshake::new(&c, &RELAY);
        let (_viewer, HandshakeMessage::ViewerHello { pake, .. }) =
            ViewerHandshake::start(&c, &RELAY)
        else {
            panic!("ViewerHello");
        };
        host.on_viewer_hello(HandshakeMessage::ViewerHello { version: 2, pake })
            .expect("answers");
        let err = host
            .on_viewer_confirm(HandshakeMessage::ViewerConfirm { confirm: [0; 32] })
            .expect_err("mismatch");
        assert!(matches!(
            err,
            HandshakeError::VersionMismatch { ours: 1, theirs: 2 }
        ));
    }

    #[test]
    fn unexpected_and_malformed_messages_are_protocol_errors() {
        let c = code("482 193 715");
        let mut host = HostHandshake::new(&c, &RELAY);
        let err = host
            .on_viewer_hello(HandshakeMessage::ViewerConfirm { confirm: [0; 32] })
            .expect_err("out of order");
        assert!(matches!(err, HandshakeError::Unexpected { .. }));
        assert_eq!(
            err.fail_message(),
            Some(HandshakeMessage::Failed {
                reason: FailReason::Protocol
            })
        );
        // Once failed, the host stays failed.
        let (_, hello) = ViewerHandshake::start(&c, &RELAY);
        assert!(matches!(
            host.on_viewer_hello(hello),
            Err(HandshakeError::Unexpected { .. })
        ));

        let mut host = HostHandshake::new(&c, &RELAY);
        let err = host
            .on_viewer_hello(HandshakeMessage::ViewerHello {
                version: 1,
                pake: vec![0x42; 5],
            })
            .expect_err("bad pake");
        assert!(matches!(err, HandshakeError::Decode(_)));

        let (viewer, hello) = ViewerHandshake::start(&c, &RELAY);
        let err = viewer.on_host_hello(hello).expect_err("own hello back");
        assert!(matches!(err, HandshakeError::Unexpected { .. }));

        // A peer's failure is reported, and not answered.
        let (viewer, _) = ViewerHandshake::start(&c, &RELAY);
        let err = viewer
            .on_host_hello(HandshakeMessage::Failed {
                reason: FailReason::Protocol,
            })
            .expect_err("peer failed");
        assert!(matches!(
            err,
            HandshakeError::PeerFailed(FailReason::Protocol)
        ));
        assert_eq!(err.fail_message(), None);

        // Confirm before hello.
        let host = HostHandshake::new(&c, &RELAY);
        assert!(matches!(
            host.on_viewer_confirm(HandshakeMessage::ViewerConfirm { confirm: [0; 32] }),
            Err(HandshakeError::Unexpected { .. })
        ));
    }

    #[test]
    fn debug_prints_no_secret() {
        let (host, _) = keys();
        assert_eq!(format!("{host:?}"), "SessionKeys(..)");
        let c = SessionCode::new(
            RoutingCode::new("123").expect("routing"),
            SecretCode::generate().expect("rng"),
        );
        let shown = format!(
            "{:?} {:?}",
            HostHandshake::new(&c, &RELAY),
            ViewerHandshake::start(&c, &RELAY).0
        );
        assert!(!shown.contains(&c.to_string()[4..]), "{shown}");
    }

    #[test]
    fn state_and_keys_can_move_to_other_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<HostHandshake>();
        send_sync::<ViewerHandshake>();
        send_sync::<SessionKeys>();
        send_sync::<Sealer>();
        send_sync::<Opener>();
        send_sync::<HandshakeError>();
    }

    #[test]
    fn handshake_messages_have_fixed_sizes() {
        let c = code("482 193 715");
        let (_, hello) = ViewerHandshake::start(&c, &RELAY);
        // tag + version + u32 length + 33-byte SPAKE2 message.
        assert_eq!(hello.encoded_len(), 1 + 2 + 4 + 33);
    }
}
