//! The client side of the relay exchange, used by both host and viewer: connect with a pinned
//! fingerprint (or a CA file), ask for a code or join one, then hand the QUIC connection to the
//! session, whose streams the relay forwards to the peer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName};
use tandem_proto::PROTOCOL_VERSION;
use tandem_proto::code::RoutingCode;
use tandem_proto::framing::{FrameReader, write_frame};
use tandem_proto::limits::MAX_RELAY_FRAME;
use tandem_proto::relay::{RESUME_ID_LEN, RefusalReason, RelayNotice, RelayRequest, ResumeRole};
use tandem_proto::wire::Message;
use thiserror::Error;

use crate::tls::{self, Fingerprint, PinnedVerifier, RecordingVerifier, SeenSlot};
use crate::{CLOSE_NORMAL, CLOSE_PROTOCOL, DEFAULT_PORT};

/// Server name used with a pinned fingerprint when the relay's host is not a valid TLS name: the
/// pin, not the name, identifies the relay then.
const PINNED_SERVER_NAME: &str = "tandem-relay";

/// How the client decides it talks to the right relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayTrust {
    /// Accept exactly the certificate with this SHA-256 (the relay's self-signed certificate).
    Fingerprint(Fingerprint),
    /// Verify a normal certificate chain against the CA certificates in this PEM file, for the
    /// relay's host name.
    CaFile(PathBuf),
}

/// A host's code from the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The routing part of the session code, allocated by the relay.
    pub routing: RoutingCode,
    /// How long the code stays valid (the request, capped by the relay).
    pub ttl: Duration,
}

/// What went wrong talking to the relay.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("cannot resolve the relay address {relay}")]
    Resolve {
        relay: String,
        source: std::io::Error,
    },
    #[error("cannot reach the relay at {relay}")]
    Unreachable {
        relay: String,
        source: quinn::ConnectionError,
    },
    #[error(
        "the relay's certificate fingerprint is {actual}, but you pinned {expected}: this is not the relay you expect (or someone is in between); check the fingerprint with the relay's operator"
    )]
    FingerprintMismatch {
        expected: Fingerprint,
        actual: Fingerprint,
    },
    #[error("TLS with the relay failed: {0}")]
    Tls(String),
    #[error(
        "no session is waiting under that code: it was wrong, already used or expired — ask for a new one"
    )]
    UnknownCode,
    #[error("the code expired unused")]
    Expired,
    #[error("the relay refused for now: {detail}")]
    RateLimited { detail: String },
    #[error("the relay refused ({}): {detail}", describe_reason(*reason))]
    Refused {
        reason: RefusalReason,
        detail: String,
    },
    #[error("lost the connection to the relay: {0}")]
    ConnectionLost(String),
    #[error("the relay broke the protocol: {0}")]
    Protocol(String),
    #[error(
        "the relay node at {addr} redirected this join again: a client follows one redirect only"
    )]
    RedirectLoop { addr: String },
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
}

fn describe_reason(reason: RefusalReason) -> &'static str {
    match reason {
        RefusalReason::UnknownCode => "unknown code",
        RefusalReason::RateLimited => "rate limited",
        RefusalReason::UnsupportedVersion => "unsupported protocol version",
        RefusalReason::Full => "relay full",
        RefusalReason::BadRequest => "bad request",
        RefusalReason::Unavailable => "relay cluster unavailable",
    }
}

/// A connection to the relay, with its relay stream.
pub struct RelayClient {
    endpoint: quinn::Endpoint,
    connection: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    reader: FrameReader,
    buf: Vec<u8>,
    fingerprint: Fingerprint,
    /// The relay (node) this client reached and how it was trusted: where a lost link is resumed.
    relay: String,
    trust: RelayTrust,
}

impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient")
            .field("relay", &self.connection.remote_address())
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl RelayClient {
    /// Connects to `relay` ("host:port"; the port defaults to [`DEFAULT_PORT`]), verifying it with
    /// `trust`. Binds a client endpoint on an ephemeral port.
    pub async fn connect(relay: &str, trust: &RelayTrust) -> Result<RelayClient, ClientError> {
        Self::connect_via(None, relay, trust).await
    }

    /// Like [`RelayClient::connect`], on an existing client `endpoint` that many clients may share
    /// (one UDP socket and one driver for all of them, e.g. a load generator). The endpoint must
    /// be bound to the relay address's family. [`RelayClient::close_and_wait`] then waits for the
    /// whole endpoint to go idle (up to a second).
    pub async fn connect_on(
        endpoint: &quinn::Endpoint,
        relay: &str,
        trust: &RelayTrust,
    ) -> Result<RelayClient, ClientError> {
        Self::connect_via(Some(endpoint.clone()), relay, trust).await
    }

    async fn connect_via(
        endpoint: Option<quinn::Endpoint>,
        relay: &str,
        trust: &RelayTrust,
    ) -> Result<RelayClient, ClientError> {
        let (addr, host) = resolve(relay).await?;
        let seen: SeenSlot = Arc::new(Mutex::new(None));
        let verifier: Arc<dyn ServerCertVerifier> = match trust {
            RelayTrust::Fingerprint(expected) => {
                Arc::new(PinnedVerifier::new(*expected, seen.clone()))
            }
            RelayTrust::CaFile(path) => Arc::new(
                RecordingVerifier::from_ca_file(path, seen.clone())
                    .map_err(|e| ClientError::Tls(e.to_string()))?,
            ),
        };
        let server_name = match (trust, ServerName::try_from(host.as_str())) {
            (_, Ok(_)) => host,
            (RelayTrust::Fingerprint(_), Err(_)) => PINNED_SERVER_NAME.to_owned(),
            (RelayTrust::CaFile(_), Err(e)) => {
                return Err(ClientError::Tls(format!(
                    "{host:?} is not a name a certificate can be checked for: {e}"
                )));
            }
        };
        let config = tls::client_config(verifier).map_err(|e| ClientError::Tls(e.to_string()))?;
        let bind: SocketAddr = match addr {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let endpoint = match endpoint {
            Some(endpoint) => endpoint,
            None => quinn::Endpoint::client(bind)?,
        };
        let connecting = endpoint
            .connect_with(config, addr, &server_name)
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        let connection = match connecting.await {
            Ok(connection) => connection,
            Err(e) => {
                let seen = seen.lock().ok().and_then(|slot| *slot);
                return Err(handshake_error(relay, trust, seen, e));
            }
        };
        let fingerprint = peer_leaf(&connection)
            .or_else(|| seen.lock().ok().and_then(|slot| *slot))
            .ok_or_else(|| ClientError::Tls("the relay presented no certificate".to_owned()))?;
        if let RelayTrust::Fingerprint(expected) = trust
            && *expected != fingerprint
        {
            connection.close(CLOSE_NORMAL.into(), b"certificate mismatch");
            return Err(ClientError::FingerprintMismatch {
                expected: *expected,
                actual: fingerprint,
            });
        }
        // The relay stream is the first bidirectional stream; opening it sends nothing yet.
        let (send, recv) = connection
            .open_bi()
            .await
            .map_err(|e| connection_lost(&e))?;
        Ok(RelayClient {
            endpoint,
            connection,
            send,
            recv,
            reader: FrameReader::new(MAX_RELAY_FRAME),
            buf: vec![0u8; MAX_RELAY_FRAME],
            fingerprint,
            relay: relay.to_owned(),
            trust: trust.clone(),
        })
    }

    /// Host: asks for a code valid for `ttl` (capped by the relay). Returns the routing code and the
    /// granted ttl.
    ///
    /// May be called again on the same client: while waiting, to replace the code; after the code
    /// expired; and after pairing, when the session failed (e.g. a viewer with a wrong code burned
    /// the code: the end-to-end handshake reports `WrongCode`) or ended. The relay then ends the
    /// pairing (the peer is told it left) and gives a fresh code; draw a fresh secret with it.
    /// Streams of the old pairing are reset. A connection left without a code or a peer for the
    /// relay's idle timeout (60 s by default) is closed by the relay: connect again then.
    pub async fn register(&mut self, ttl: Duration) -> Result<Registration, ClientError> {
        let ttl_secs = u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX).max(1);
        self.send_request(&RelayRequest::Register {
            version: PROTOCOL_VERSION,
            ttl_secs,
        })
        .await?;
        loop {
            match self.next_notice().await? {
                RelayNotice::Registered { routing, ttl_secs } => {
                    return Ok(Registration {
                        routing,
                        ttl: Duration::from_secs(u64::from(ttl_secs)),
                    });
                }
                RelayNotice::Refused { reason, detail } => return Err(refusal(reason, detail)),
                // A previous code's expiry or a previous peer's departure, crossing this request:
                // that code or session is over anyway. So is a join with the previous code that
                // crossed it: this request leaves that pairing (the viewer is told the host left)
                // and the new code is the one to give out, as the user asked.
                RelayNotice::Expired | RelayNotice::PeerLeft | RelayNotice::Paired => {}
                other @ RelayNotice::Redirect { .. } => {
                    return Err(unexpected(&other, "a reply to Register"));
                }
            }
        }
    }

    /// Host: waits until a viewer joins (`Ok`), or the code expires (`Err(ClientError::Expired)`).
    pub async fn wait_paired(&mut self) -> Result<(), ClientError> {
        match self.next_notice().await? {
            RelayNotice::Paired => Ok(()),
            RelayNotice::Expired => Err(ClientError::Expired),
            other => Err(unexpected(&other, "Paired or Expired")),
        }
    }

    /// Viewer: joins the host waiting under `routing`; `Ok` once paired.
    ///
    /// On a relay cluster the node may answer that the host waits on another node: the client then
    /// closes this connection, connects to that node pinning the fingerprint the first node gave
    /// (trust flows from the relay this client verified, over its TLS) and joins there with the
    /// ticket. It follows one redirect only. Afterwards [`RelayClient::connection`],
    /// [`RelayClient::relay_id`] and [`RelayClient::relay_fingerprint`] are the host's node's, the
    /// same the host has, so the end-to-end handshake binds one relay identity on both sides.
    pub async fn join(&mut self, routing: &RoutingCode) -> Result<(), ClientError> {
        self.send_request(&RelayRequest::Join {
            version: PROTOCOL_VERSION,
            routing: routing.clone(),
        })
        .await?;
        let (addr, fingerprint, ticket) = match self.next_notice().await? {
            RelayNotice::Paired => return Ok(()),
            RelayNotice::Refused { reason, detail } => return Err(refusal(reason, detail)),
            RelayNotice::Redirect {
                addr,
                fingerprint,
                ticket,
            } => (addr, Fingerprint(fingerprint), ticket),
            other => return Err(unexpected(&other, "a reply to Join")),
        };
        tracing::debug!(%addr, %fingerprint, "redirected to the host's relay node");
        let trust = RelayTrust::Fingerprint(fingerprint);
        let mut node = Self::connect_via(Some(self.endpoint.clone()), &addr, &trust).await?;
        self.close("redirected to another relay node");
        node.send_request(&RelayRequest::JoinRedirected {
            version: PROTOCOL_VERSION,
            routing: routing.clone(),
            ticket,
        })
        .await?;
        let answer = node.next_notice().await;
        // From here on this client is the connection to the host's node, whatever the answer.
        *self = node;
        match answer? {
            RelayNotice::Paired => Ok(()),
            RelayNotice::Refused { reason, detail } => Err(refusal(reason, detail)),
            RelayNotice::Redirect { .. } => {
                self.close("redirected twice");
                Err(ClientError::RedirectLoop { addr })
            }
            other => Err(unexpected(&other, "a reply to JoinRedirected")),
        }
    }

    /// Either side of a lost link: asks to be paired again with the other side, which sends the
    /// same `resume_id` in the other role; `Ok` once paired. Waits as long as the other side takes
    /// (the caller bounds it).
    pub async fn resume(
        &mut self,
        role: ResumeRole,
        resume_id: [u8; RESUME_ID_LEN],
    ) -> Result<(), ClientError> {
        self.send_request(&RelayRequest::Resume {
            version: PROTOCOL_VERSION,
            role,
            resume_id,
        })
        .await?;
        match self.next_notice().await? {
            RelayNotice::Paired => Ok(()),
            RelayNotice::Refused { reason, detail } => Err(refusal(reason, detail)),
            other => Err(unexpected(&other, "a reply to Resume")),
        }
    }

    /// The relay (node) this client is connected to and how it is trusted: where to connect again
    /// to resume a lost link (after a redirect, the host's node, pinned by its fingerprint).
    pub fn reconnect_target(&self) -> (String, RelayTrust) {
        (self.relay.clone(), self.trust.clone())
    }

    /// After pairing: resolves when the relay reports the peer left (`Ok`), or the relay connection
    /// is lost (`Err`). Cancel-safe, so it can sit in a `select!` beside the session.
    pub async fn peer_left(&mut self) -> Result<(), ClientError> {
        match self.next_notice().await? {
            RelayNotice::PeerLeft => Ok(()),
            other => Err(unexpected(&other, "PeerLeft")),
        }
    }

    /// The connection to the relay: after pairing, streams opened on it reach the peer, and the
    /// peer's streams arrive on it. Clone it to use it beside [`RelayClient::peer_left`], e.g.
    /// `select! { r = client.peer_left() => .., s = conn.accept_bi() => .. }`.
    ///
    /// As with any QUIC stream, the peer only sees a stream once something was written on it (Tandem
    /// writes the `StreamKind` byte first). Each side may have 8 bidirectional streams open towards
    /// the relay (the relay stream included) and 8 unidirectional ones.
    pub fn connection(&self) -> &quinn::Connection {
        &self.connection
    }

    /// The relay's identity for binding the end-to-end handshake: the SHA-256 of the certificate
    /// this client verified.
    pub fn relay_id(&self) -> [u8; 32] {
        self.fingerprint.0
    }

    /// The fingerprint of the certificate this client verified.
    pub fn relay_fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Closes the connection with `reason` (shown in the relay's log).
    pub fn close(&self, reason: &str) {
        self.connection
            .close(CLOSE_NORMAL.into(), reason.as_bytes());
    }

    /// Closes the connection and waits (briefly) until the close has been sent.
    pub async fn close_and_wait(&self, reason: &str) {
        self.close(reason);
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
    }

    pub(crate) async fn send_request(&mut self, request: &RelayRequest) -> Result<(), ClientError> {
        let mut frame = Vec::with_capacity(4 + request.encoded_len());
        write_frame(&request.to_vec(), &mut frame);
        self.send.write_all(&frame).await.map_err(|e| match e {
            quinn::WriteError::ConnectionLost(e) => connection_lost(&e),
            e => ClientError::ConnectionLost(format!("relay stream: {e}")),
        })
    }

    /// The next notice on the relay stream. Cancel-safe: bytes are only taken from the stream when
    /// a read completes, and pushed into the reader at once.
    pub(crate) async fn next_notice(&mut self) -> Result<RelayNotice, ClientError> {
        loop {
            match self.reader.next_frame() {
                Ok(Some(frame)) => {
                    return RelayNotice::from_bytes(frame)
                        .map_err(|e| ClientError::Protocol(format!("bad relay notice: {e}")));
                }
                Ok(None) => {}
                Err(e) => return Err(ClientError::Protocol(e.to_string())),
            }
            match self.recv.read(&mut self.buf).await {
                Ok(Some(n)) => self.reader.push(self.buf.get(..n).unwrap_or_default()),
                Ok(None) => {
                    return Err(ClientError::ConnectionLost(
                        "the relay ended the relay stream".to_owned(),
                    ));
                }
                Err(quinn::ReadError::ConnectionLost(e)) => return Err(connection_lost(&e)),
                Err(e) => return Err(ClientError::ConnectionLost(format!("relay stream: {e}"))),
            }
        }
    }
}

fn refusal(reason: RefusalReason, detail: String) -> ClientError {
    match reason {
        RefusalReason::UnknownCode => ClientError::UnknownCode,
        RefusalReason::RateLimited => ClientError::RateLimited { detail },
        reason => ClientError::Refused { reason, detail },
    }
}

fn unexpected(notice: &RelayNotice, wanted: &str) -> ClientError {
    let got = match notice {
        RelayNotice::Registered { .. } => "Registered",
        RelayNotice::Paired => "Paired",
        RelayNotice::Refused { .. } => "Refused",
        RelayNotice::PeerLeft => "PeerLeft",
        RelayNotice::Expired => "Expired",
        RelayNotice::Redirect { .. } => "Redirect",
    };
    ClientError::Protocol(format!("expected {wanted}, got {got}"))
}

fn connection_lost(e: &quinn::ConnectionError) -> ClientError {
    match e {
        quinn::ConnectionError::ApplicationClosed(close) => {
            let reason = String::from_utf8_lossy(&close.reason).into_owned();
            if close.error_code == quinn::VarInt::from_u32(CLOSE_PROTOCOL) {
                ClientError::Protocol(reason)
            } else {
                ClientError::ConnectionLost(format!("the relay closed the connection: {reason}"))
            }
        }
        quinn::ConnectionError::TimedOut => {
            ClientError::ConnectionLost("the relay stopped answering (timed out)".to_owned())
        }
        quinn::ConnectionError::LocallyClosed => {
            ClientError::ConnectionLost("the connection was closed on this side".to_owned())
        }
        e => ClientError::ConnectionLost(e.to_string()),
    }
}

fn handshake_error(
    relay: &str,
    trust: &RelayTrust,
    seen: Option<Fingerprint>,
    e: quinn::ConnectionError,
) -> ClientError {
    if let (RelayTrust::Fingerprint(expected), Some(actual)) = (trust, seen)
        && *expected != actual
    {
        return ClientError::FingerprintMismatch {
            expected: *expected,
            actual,
        };
    }
    match e {
        quinn::ConnectionError::TransportError(ref t)
            if t.code == quinn::TransportErrorCode::CONNECTION_REFUSED =>
        {
            refused_connection()
        }
        quinn::ConnectionError::ConnectionClosed(ref c)
            if c.error_code == quinn::TransportErrorCode::CONNECTION_REFUSED =>
        {
            refused_connection()
        }
        quinn::ConnectionError::TransportError(t) => ClientError::Tls(t.to_string()),
        quinn::ConnectionError::ConnectionClosed(c)
            if (0x100..0x200).contains(&u64::from(c.error_code)) =>
        {
            ClientError::Tls(c.to_string())
        }
        source => ClientError::Unreachable {
            relay: relay.to_owned(),
            source,
        },
    }
}

fn refused_connection() -> ClientError {
    ClientError::RateLimited {
        detail: "the relay refused the connection: it is full, or too many connections come from your address; wait a minute and try again".to_owned(),
    }
}

/// The fingerprint of the leaf certificate the relay presented.
fn peer_leaf(connection: &quinn::Connection) -> Option<Fingerprint> {
    let identity = connection.peer_identity()?;
    let chain = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    chain.first().map(|leaf| Fingerprint::of_der(leaf))
}

/// Resolves "host:port", "host", "[v6]:port" or a bare IP; returns the address and the host name
/// (for TLS).
async fn resolve(relay: &str) -> Result<(SocketAddr, String), ClientError> {
    let resolve_err = |source| ClientError::Resolve {
        relay: relay.to_owned(),
        source,
    };
    if let Ok(addr) = relay.parse::<SocketAddr>() {
        return Ok((addr, addr.ip().to_string()));
    }
    if let Ok(ip) = relay.parse::<IpAddr>() {
        return Ok((SocketAddr::new(ip, DEFAULT_PORT), ip.to_string()));
    }
    let (host, port) = match relay.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            let port = port.parse::<u16>().map_err(|_| {
                resolve_err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{port:?} is not a port number"),
                ))
            })?;
            (host, port)
        }
        _ => (relay, DEFAULT_PORT),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(resolve_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no host name",
        )));
    }
    let mut addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(resolve_err)?;
    let addr = addrs.next().ok_or_else(|| {
        resolve_err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the name has no address",
        ))
    })?;
    Ok((addr, host.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resolves_the_usual_forms() {
        let (addr, host) = resolve("127.0.0.1:9000").await.expect("ip:port");
        assert_eq!(addr, "127.0.0.1:9000".parse().expect("addr"));
        assert_eq!(host, "127.0.0.1");
        let (addr, _) = resolve("127.0.0.1").await.expect("bare ip");
        assert_eq!(addr.port(), DEFAULT_PORT);
        let (addr, host) = resolve("[::1]:9000").await.expect("v6");
        assert_eq!(addr, "[::1]:9000".parse().expect("addr"));
        assert_eq!(host, "::1");
        let (addr, host) = resolve("localhost:9000").await.expect("name");
        assert_eq!(addr.port(), 9000);
        assert!(addr.ip().is_loopback());
        assert_eq!(host, "localhost");
        assert!(matches!(
            resolve("localhost:http").await,
            Err(ClientError::Resolve { .. })
        ));
    }

    #[test]
    fn refusals_map_to_the_documented_errors() {
        assert!(matches!(
            refusal(RefusalReason::UnknownCode, String::new()),
            ClientError::UnknownCode
        ));
        let e = refusal(RefusalReason::RateLimited, "slow down".to_owned());
        assert!(matches!(e, ClientError::RateLimited { ref detail } if detail == "slow down"));
        let e = refusal(RefusalReason::Full, "busy".to_owned()).to_string();
        assert!(e.contains("relay full") && e.contains("busy"), "{e}");
    }

    #[test]
    fn mismatch_message_names_both_fingerprints() {
        let expected = Fingerprint([1; 32]);
        let actual = Fingerprint([2; 32]);
        let message = ClientError::FingerprintMismatch { expected, actual }.to_string();
        assert!(message.contains(&expected.to_string()), "{message}");
        assert!(message.contains(&actual.to_string()), "{message}");
    }
}
