//! The relay's TLS identity and how clients trust it: certificate fingerprints, the self-signed
//! certificate kept in the data dir, operator-supplied PEM files, the pinning verifier, and the QUIC
//! configs both sides use.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// ALPN protocol id of the relay exchange.
pub const ALPN: &[u8] = b"tandem/1";
/// File name of the self-signed certificate in the data dir.
pub const CERT_FILE: &str = "relay-cert.pem";
/// File name of the self-signed certificate's private key in the data dir (mode 0600).
pub const KEY_FILE: &str = "relay-key.pem";

/// Per-stream receive window at a client: one screen update can be several MB.
const CLIENT_STREAM_WINDOW: u32 = 8 * 1024 * 1024;
/// Per-connection receive window at a client.
const CLIENT_RECEIVE_WINDOW: u32 = 32 * 1024 * 1024;
/// Per-connection send buffer at a client.
const CLIENT_SEND_WINDOW: u64 = 32 * 1024 * 1024;
/// Per-connection receive window at the relay: what one client can make the relay hold when its
/// peer does not read. 2 MiB keeps a link of 2 MiB / RTT (40 MB/s at 50 ms) busy.
pub const RELAY_RECEIVE_WINDOW: u32 = 2 * 1024 * 1024;
/// Per-stream receive window at the relay: half the connection's, so one stream whose receiver
/// paused (a file transfer to a slow disk) can never take the whole window and stall the screen and
/// the input on the same connection.
pub const RELAY_STREAM_WINDOW: u32 = RELAY_RECEIVE_WINDOW / 2;
/// Per-connection send buffer at the relay: what the relay holds for a client that does not
/// acknowledge. With the receive window, a connection pins at most [`RELAY_CONNECTION_BUDGET`].
pub const RELAY_SEND_WINDOW: u64 = 2 * 1024 * 1024;
/// Receive window and send buffer of a connection that is not paired: it carries relay requests
/// and notices only (each at most 4 KiB). Pairing raises both to the connection's share of the
/// buffer budget (`RateLimits::buffer_budget`), at most the two windows above.
pub const UNPAIRED_WINDOW: u32 = 64 * 1024;
/// The most buffer memory one connection can make the relay hold (receive window + send buffer),
/// before allocator and bookkeeping overhead.
pub const RELAY_CONNECTION_BUDGET: u64 = RELAY_RECEIVE_WINDOW as u64 + RELAY_SEND_WINDOW;
/// UDP socket receive and send buffer the relay asks for. The kernel caps it at
/// `net.core.rmem_max` / `wmem_max` (raise those on a busy relay); its default (~208 KiB) drops
/// datagrams when thousands of connections burst at once.
pub const UDP_SOCKET_BUFFER: usize = 8 * 1024 * 1024;
/// Concurrent bidirectional streams a peer may open (the relay stream included).
const MAX_BIDI_STREAMS: u32 = 8;
/// Concurrent unidirectional streams a peer may open.
const MAX_UNI_STREAMS: u32 = 8;
/// Keep-alive ping interval, so an idle but live connection is not timed out.
pub const KEEP_ALIVE: Duration = Duration::from_secs(2);
/// A connection silent for this long is dead: a killed peer is noticed within it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// SHA-256 of a certificate's DER encoding: what clients pin.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(cert_der: &[u8]) -> Self {
        Self(Sha256::digest(cert_der).into())
    }
}

/// 64 lowercase hex characters.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Why a text is not a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FingerprintParseError {
    #[error(
        "a fingerprint is 64 hex digits (a SHA-256), optionally with ':' separators and a 'sha256:' prefix; this one has {digits} hex digits"
    )]
    WrongLength { digits: usize },
    #[error(
        "a fingerprint holds only hex digits 0-9 and a-f (and ':' separators); found {found:?}"
    )]
    NotHex { found: char },
}

/// Accepts 64 hex digits, upper or lower case, with or without ':' separators, with an optional
/// `sha256:` prefix (any case). Surrounding whitespace is ignored.
impl FromStr for Fingerprint {
    type Err = FingerprintParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let s = match s.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("sha256:") => &s[7..],
            _ => s,
        };
        let mut out = [0u8; 32];
        let mut digits = 0usize;
        for c in s.chars() {
            if c == ':' {
                continue;
            }
            let value = c
                .to_digit(16)
                .ok_or(FingerprintParseError::NotHex { found: c })?;
            if let Some(byte) = out.get_mut(digits / 2) {
                // `value` < 16, so the cast is lossless.
                *byte = (*byte << 4) | value as u8;
            }
            digits += 1;
        }
        if digits != 64 {
            return Err(FingerprintParseError::WrongLength { digits });
        }
        Ok(Self(out))
    }
}

/// Why the relay's TLS identity could not be set up.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM {what}")]
    NoPem { path: PathBuf, what: &'static str },
    #[error("{path} is not valid PEM: {detail}")]
    BadPem { path: PathBuf, detail: String },
    #[error(
        "{present} exists but {missing} does not: restore it, or delete both to make a new identity (clients then need the new fingerprint)"
    )]
    HalfIdentity { present: PathBuf, missing: PathBuf },
    #[error(
        "{path} is a symlink; the relay keeps its own identity in its data dir and does not follow links there: replace it with the file itself"
    )]
    Symlink { path: PathBuf },
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    #[error("TLS configuration refused: {0}")]
    Config(String),
}

/// The relay's certificate chain and key, ready for rustls.
pub(crate) struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// The key of QUIC stateless resets (RFC 9000 §10.3), derived from the relay's private key so that
/// it survives a restart: a relay started again with the same data dir (or key file) answers the
/// packets of connections it no longer knows with resets their clients accept, and they notice the
/// loss at once instead of at the idle timeout, and resume (PROTOCOL.md §9).
pub(crate) struct ResetKey([u8; 32]);

impl ResetKey {
    const LABEL: &[u8] = b"tandem relay stateless reset key";

    pub fn derive(identity: &Identity) -> Self {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(identity.key.secret_der())
            .expect("HMAC-SHA256 accepts keys of any length");
        mac.update(Self::LABEL);
        Self(mac.finalize().into_bytes().into())
    }

    /// The key under which connection ids are made and recognised (quinn's hashed generator), from
    /// the same secret: a restarted relay takes its old connection ids for its own and resets
    /// them, where ids under a fresh random key would be dropped as invalid.
    pub fn cid_key(&self) -> u64 {
        let mut tag = [0u8; 32];
        quinn::crypto::HmacKey::sign(self, b"tandem relay connection id key", &mut tag);
        let mut key = [0u8; 8];
        key.copy_from_slice(&tag[..8]);
        u64::from_be_bytes(key)
    }

    /// The endpoint settings that make resets survive a restart: this reset key and connection
    /// ids under [`ResetKey::cid_key`].
    pub fn endpoint_config(self) -> quinn::EndpointConfig {
        let cid_key = self.cid_key();
        let mut config = quinn::EndpointConfig::new(Arc::new(self));
        config.cid_generator(move || {
            Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key))
        });
        config
    }

    fn mac(&self) -> hmac::Hmac<Sha256> {
        <hmac::Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.0)
            .expect("HMAC-SHA256 accepts keys of any length")
    }
}

impl quinn::crypto::HmacKey for ResetKey {
    fn sign(&self, data: &[u8], signature_out: &mut [u8]) {
        use hmac::Mac;
        let mut mac = self.mac();
        mac.update(data);
        let tag = mac.finalize().into_bytes();
        let n = signature_out.len().min(tag.len());
        signature_out[..n].copy_from_slice(&tag[..n]);
    }

    fn signature_len(&self) -> usize {
        32
    }

    fn verify(&self, data: &[u8], signature: &[u8]) -> Result<(), quinn::crypto::CryptoError> {
        use hmac::Mac;
        let mut mac = self.mac();
        mac.update(data);
        mac.verify_slice(signature)
            .map_err(|_| quinn::crypto::CryptoError)
    }
}

impl Identity {
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        self.chain.first().map(|leaf| Fingerprint::of_der(leaf))
    }
}

/// Loads the self-signed identity from `data_dir`, making and storing one if there is none.
pub(crate) fn self_signed_identity(data_dir: &Path) -> Result<Identity, TlsError> {
    let cert_path = data_dir.join(CERT_FILE);
    let key_path = data_dir.join(KEY_FILE);
    for path in [&key_path, &cert_path] {
        if is_symlink(path) {
            return Err(TlsError::Symlink { path: path.clone() });
        }
    }
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => load_pem_identity(&cert_path, &key_path),
        (true, false) => Err(TlsError::HalfIdentity {
            present: cert_path,
            missing: key_path,
        }),
        (false, true) => Err(TlsError::HalfIdentity {
            present: key_path,
            missing: cert_path,
        }),
        (false, false) => {
            let certified = rcgen::generate_simple_self_signed(vec!["tandem-relay".to_owned()])
                .map_err(|e| TlsError::Generate(e.to_string()))?;
            // The key first, so a crash in between leaves a half identity that is reported, never a
            // certificate without its key silently replaced.
            write_private(&key_path, certified.signing_key.serialize_pem().as_bytes())?;
            write_public(&cert_path, certified.cert.pem().as_bytes())?;
            tracing::info!(cert = %cert_path.display(), "made a new self-signed relay certificate");
            load_pem_identity(&cert_path, &key_path)
        }
    }
}

/// Loads a PEM certificate chain (leaf first) and its private key.
pub(crate) fn load_pem_identity(cert_path: &Path, key_path: &Path) -> Result<Identity, TlsError> {
    let chain = load_certs(cert_path)?;
    let key_pem = std::fs::read(key_path).map_err(|source| TlsError::Read {
        path: key_path.to_owned(),
        source,
    })?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoPem {
            path: key_path.to_owned(),
            what: "private key",
        },
        e => TlsError::BadPem {
            path: key_path.to_owned(),
            detail: e.to_string(),
        },
    })?;
    Ok(Identity { chain, key })
}

/// Loads every certificate in a PEM file; at least one.
pub(crate) fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadPem {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoPem {
            path: path.to_owned(),
            what: "certificate",
        });
    }
    Ok(certs)
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    write_new(path, bytes, 0o644)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    write_new(path, bytes, 0o600)
}

/// Writes a file that must not exist yet, so a reader never sees half a file and nothing is ever
/// written through a symlink planted in the data dir: the bytes go to a temporary file opened with
/// `create_new` (O_CREAT|O_EXCL, which fails on any existing name, a symlink included), which is
/// then hard-linked to `path` (which also fails if `path` exists in any form) and unlinked.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    use std::io::Write;
    let err = |source| TlsError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("pem.tmp");
    // A temporary file left by a crash (or planted): unlinking removes a symlink itself, never its
    // target.
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp).map_err(err)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::hard_link(&tmp, path));
    drop(file);
    let _ = std::fs::remove_file(&tmp);
    written.map_err(err)
}

/// Whether `path` is a symlink (dangling or not).
fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// A UDP socket bound to `addr` with [`UDP_SOCKET_BUFFER`]-sized buffers (as large as the kernel
/// allows), for a quinn endpoint. Returns the socket and the buffer sizes granted.
pub fn udp_socket(
    addr: std::net::SocketAddr,
) -> std::io::Result<(std::net::UdpSocket, usize, usize)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // "[::]" also takes IPv4-mapped traffic, as std's bind does on Linux by default.
        let _ = socket.set_only_v6(false);
    }
    // Best effort: a smaller grant still works, just drops more under bursts.
    let _ = socket.set_recv_buffer_size(UDP_SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(UDP_SOCKET_BUFFER);
    socket.bind(&addr.into())?;
    let recv = socket.recv_buffer_size().unwrap_or(0);
    let send = socket.send_buffer_size().unwrap_or(0);
    Ok((socket.into(), recv, send))
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Transport settings: large windows for screen updates, bounded streams, keep-alive and idle
/// timeout so a dead peer is noticed within seconds.
pub(crate) fn transport_config(
    stream_window: u32,
    receive_window: u32,
    send_window: u64,
) -> quinn::TransportConfig {
    let mut transport = quinn::TransportConfig::default();
    transport
        .stream_receive_window(quinn::VarInt::from_u32(stream_window))
        .receive_window(quinn::VarInt::from_u32(receive_window))
        .send_window(send_window)
        .max_concurrent_bidi_streams(quinn::VarInt::from_u32(MAX_BIDI_STREAMS))
        .max_concurrent_uni_streams(quinn::VarInt::from_u32(MAX_UNI_STREAMS))
        .keep_alive_interval(Some(KEEP_ALIVE))
        // 10 s fits a QUIC varint of milliseconds; the fallback never happens.
        .max_idle_timeout(quinn::IdleTimeout::try_from(IDLE_TIMEOUT).ok());
    transport
}

/// The relay's QUIC server config: TLS 1.3 only, ALPN `tandem/1`, ring provider.
pub(crate) fn server_config(identity: Identity) -> Result<quinn::ServerConfig, TlsError> {
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.max_early_data_size = 0;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(Arc::new(transport_config(
        RELAY_STREAM_WINDOW,
        UNPAIRED_WINDOW,
        u64::from(UNPAIRED_WINDOW),
    )));
    Ok(config)
}

/// The leaf certificate the verifier last saw, so a failed handshake can be explained.
pub(crate) type SeenSlot = Arc<Mutex<Option<Fingerprint>>>;

/// Accepts exactly one leaf certificate, by fingerprint, and still checks the TLS 1.3 handshake
/// signature so the server proves it holds that certificate's key.
#[derive(Debug)]
pub(crate) struct PinnedVerifier {
    expected: Fingerprint,
    seen: SeenSlot,
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    pub fn new(expected: Fingerprint, seen: SeenSlot) -> Self {
        Self {
            expected,
            seen,
            provider: provider(),
        }
    }
}

fn record(seen: &SeenSlot, fingerprint: Fingerprint) {
    if let Ok(mut slot) = seen.lock() {
        *slot = Some(fingerprint);
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let actual = Fingerprint::of_der(end_entity);
        record(&self.seen, actual);
        if actual == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls13RequiredForQuic,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Verifies a normal certificate chain against operator-chosen roots, recording the leaf it saw.
#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    seen: SeenSlot,
}

impl RecordingVerifier {
    pub fn from_ca_file(path: &Path, seen: SeenSlot) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in load_certs(path)? {
            roots.add(cert).map_err(|e| TlsError::BadPem {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        }
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))?;
        Ok(Self { inner, seen })
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        record(&self.seen, Fingerprint::of_der(end_entity));
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls13RequiredForQuic,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A QUIC client config around a certificate verifier: TLS 1.3 only, ALPN `tandem/1`.
pub(crate) fn client_config(
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<quinn::ClientConfig, TlsError> {
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(Arc::new(transport_config(
        CLIENT_STREAM_WINDOW,
        CLIENT_RECEIVE_WINDOW,
        CLIENT_SEND_WINDOW,
    )));
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn the_reset_key_is_the_same_after_a_restart_and_differs_between_relays() {
        use quinn::crypto::HmacKey;
        let dir = std::env::temp_dir().join(format!("tandem-reset-key-{}", std::process::id()));
        let other = dir.join("other");
        std::fs::create_dir_all(&other).expect("temp dirs");
        let first = ResetKey::derive(&self_signed_identity(&dir).expect("made"));
        let again = ResetKey::derive(&self_signed_identity(&dir).expect("loaded"));
        let stranger = ResetKey::derive(&self_signed_identity(&other).expect("made"));
        let _ = std::fs::remove_dir_all(&dir);
        let (mut a, mut b, mut c) = ([0u8; 32], [0u8; 32], [0u8; 32]);
        first.sign(b"connection id", &mut a);
        again.sign(b"connection id", &mut b);
        stranger.sign(b"connection id", &mut c);
        assert_eq!(a, b, "a restarted relay signs resets as before");
        assert_ne!(a, c);
        assert!(again.verify(b"connection id", &a).is_ok());
        assert!(stranger.verify(b"connection id", &a).is_err());
        assert_eq!(first.signature_len(), 32);
    }

    #[test]
    fn fingerprint_displays_as_lowercase_hex_and_parses_back() {
        let fp: Fingerprint = HEX.parse().expect("valid");
        assert_eq!(fp.0[1], 0x11);
        assert_eq!(fp.0[31], 0xff);
        assert_eq!(fp.to_string(), HEX);
        assert_eq!(format!("{fp:?}"), format!("Fingerprint({HEX})"));
    }

    #[test]
    fn fingerprint_accepts_upper_case_separators_and_prefix() {
        let expected: Fingerprint = HEX.parse().expect("valid");
        let upper = HEX.to_uppercase();
        let colons = HEX
            .as_bytes()
            .chunks(2)
            .map(|pair| std::str::from_utf8(pair).expect("ascii"))
            .collect::<Vec<_>>()
            .join(":");
        for text in [
            upper.clone(),
            colons.clone(),
            format!("sha256:{HEX}"),
            format!("SHA256:{}", colons.to_uppercase()),
            format!("  {HEX}\n"),
        ] {
            assert_eq!(text.parse::<Fingerprint>(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn fingerprint_rejects_bad_text_clearly() {
        assert_eq!(
            HEX[..62].parse::<Fingerprint>(),
            Err(FingerprintParseError::WrongLength { digits: 62 })
        );
        assert_eq!(
            format!("{HEX}00").parse::<Fingerprint>(),
            Err(FingerprintParseError::WrongLength { digits: 66 })
        );
        assert_eq!(
            format!("{}g", &HEX[..63]).parse::<Fingerprint>(),
            Err(FingerprintParseError::NotHex { found: 'g' })
        );
        assert_eq!(
            "sha1:abcd".parse::<Fingerprint>(),
            Err(FingerprintParseError::NotHex { found: 's' })
        );
        let message = "".parse::<Fingerprint>().expect_err("empty").to_string();
        assert!(message.contains("64 hex digits"), "{message}");
    }

    #[test]
    fn fingerprint_of_der_is_sha256() {
        // SHA-256 of the empty string.
        assert_eq!(
            Fingerprint::of_der(b"").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn self_signed_identity_is_made_once_then_reused() {
        let dir = std::env::temp_dir().join(format!(
            "tandem-relay-tls-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let first = self_signed_identity(&dir).expect("made").fingerprint();
        let second = self_signed_identity(&dir).expect("reused").fingerprint();
        assert!(first.is_some());
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .expect("key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_file(dir.join(KEY_FILE)).expect("remove key");
        assert!(matches!(
            self_signed_identity(&dir),
            Err(TlsError::HalfIdentity { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "tandem-relay-tls-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    /// Issue 7: someone who can write to the data dir (but not read the key) plants links so the
    /// relay writes its new private key where they can read it, or over a file of the relay's user.
    #[cfg(unix)]
    #[test]
    fn the_key_is_never_written_through_a_symlink() {
        let dir = fresh_dir("symlink");
        let elsewhere = dir.join("elsewhere");
        std::fs::create_dir_all(&elsewhere).expect("dir");

        // A link where the temporary key file goes.
        let stolen = elsewhere.join("stolen.pem");
        std::os::unix::fs::symlink(&stolen, dir.join("relay-key.pem.tmp")).expect("link");
        let made = self_signed_identity(&dir).expect("made despite the stale link");
        assert!(made.fingerprint().is_some());
        assert!(!stolen.exists(), "the key was written through the link");
        let _ = std::fs::remove_file(dir.join(KEY_FILE));
        let _ = std::fs::remove_file(dir.join(CERT_FILE));

        // A dangling link where the key itself goes: refused, and nothing is written through it.
        let target = elsewhere.join("target.pem");
        std::os::unix::fs::symlink(&target, dir.join(KEY_FILE)).expect("link");
        match self_signed_identity(&dir) {
            Err(TlsError::Symlink { path }) => assert_eq!(path, dir.join(KEY_FILE)),
            Err(other) => panic!("expected a symlink refusal, got {other}"),
            Ok(_) => panic!("expected a symlink refusal"),
        }
        assert!(!target.exists());

        // And writing a file that appeared meanwhile fails rather than replacing it.
        let _ = std::fs::remove_file(dir.join(KEY_FILE));
        std::fs::write(dir.join(KEY_FILE), b"existing").expect("write");
        assert!(write_private(&dir.join(KEY_FILE), b"new").is_err());
        assert_eq!(
            std::fs::read(dir.join(KEY_FILE)).expect("read"),
            b"existing"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
