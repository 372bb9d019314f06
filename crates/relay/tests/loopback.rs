//! The relay and its clients over real QUIC on 127.0.0.1, ephemeral ports. No sleeps: every wait is
//! on a condition, under a deadline.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tandem_proto::code::RoutingCode;
use tandem_relay::{
    ClientError, Fingerprint, Rate, Relay, RelayClient, RelayConfig, RelayError, RelayEvent,
    RelayTrust,
};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(20);

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, f).await {
        Ok(out) => out,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tandem-relay-it-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

struct TestRelay {
    addr: SocketAddr,
    fingerprint: Fingerprint,
    events: broadcast::Receiver<RelayEvent>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), RelayError>>>,
    dir: PathBuf,
}

impl TestRelay {
    async fn start(name: &str, tweak: impl FnOnce(&mut RelayConfig)) -> Self {
        Self::start_in(temp_dir(name), tweak).await
    }

    async fn start_in(dir: PathBuf, tweak: impl FnOnce(&mut RelayConfig)) -> Self {
        let mut config = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.clone());
        tweak(&mut config);
        let relay = Relay::bind(config).await.expect("relay binds");
        let addr = relay.local_addr();
        let fingerprint = relay.fingerprint();
        let events = relay.events();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(relay.run(shutdown.clone()));
        Self {
            addr,
            fingerprint,
            events,
            shutdown,
            task: Some(task),
            dir,
        }
    }

    fn address(&self) -> String {
        self.addr.to_string()
    }

    fn trust(&self) -> RelayTrust {
        RelayTrust::Fingerprint(self.fingerprint)
    }

    async fn client(&self) -> RelayClient {
        within(
            "connect",
            RelayClient::connect(&self.address(), &self.trust()),
        )
        .await
        .expect("client connects")
    }

    /// A host and a viewer, paired.
    async fn pair(&self) -> (RelayClient, RelayClient) {
        let mut host = self.client().await;
        let registration = within("register", host.register(Duration::from_secs(60)))
            .await
            .expect("registered");
        let mut viewer = self.client().await;
        within("join", viewer.join(&registration.routing))
            .await
            .expect("joined");
        within("paired", host.wait_paired())
            .await
            .expect("host paired");
        (host, viewer)
    }

    async fn next_event(&mut self, wanted: impl Fn(&RelayEvent) -> bool) -> RelayEvent {
        within("a relay event", async {
            loop {
                match self.events.recv().await {
                    Ok(event) if wanted(&event) => return event,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => panic!("relay events closed"),
                }
            }
        })
        .await
    }

    async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            within("relay shutdown", task)
                .await
                .expect("relay task")
                .expect("relay ran cleanly");
        }
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn self_signed_certificate_is_made_once_and_reused_on_restart() {
    let dir = temp_dir("restart");
    let first = TestRelay::start_in(dir.clone(), |_| {}).await;
    let fingerprint = first.fingerprint;
    assert!(dir.join("relay-cert.pem").is_file());
    assert!(dir.join("relay-key.pem").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("relay-key.pem"))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key is private");
    }
    // Stop without deleting the dir (Drop would), then start again on it.
    first.shutdown.cancel();
    let mut first = first;
    if let Some(task) = first.task.take() {
        within("shutdown", task)
            .await
            .expect("task")
            .expect("clean");
    }
    std::mem::forget(first);

    let second = TestRelay::start_in(dir, |_| {}).await;
    assert_eq!(
        second.fingerprint, fingerprint,
        "same identity after restart"
    );
    let client = second.client().await;
    assert_eq!(client.relay_fingerprint(), fingerprint);
    assert_eq!(client.relay_id(), fingerprint.0);
    second.stop().await;
}

#[tokio::test]
async fn register_join_pair_and_forward_streams_both_ways() {
    let mut relay = TestRelay::start("forward", |_| {}).await;
    let mut host = relay.client().await;
    let registration = within("register", host.register(Duration::from_secs(60)))
        .await
        .expect("registered");
    assert!((3..=6).contains(&registration.routing.as_str().len()));
    assert_eq!(registration.ttl, Duration::from_secs(60));
    let Some(RelayEvent::Registered { session_id }) = Some(
        relay
            .next_event(|e| matches!(e, RelayEvent::Registered { .. }))
            .await,
    ) else {
        unreachable!()
    };

    let mut viewer = relay.client().await;
    within("join", viewer.join(&registration.routing))
        .await
        .expect("joined");
    within("paired", host.wait_paired())
        .await
        .expect("host paired");
    assert_eq!(
        relay
            .next_event(|e| matches!(e, RelayEvent::SessionStarted { .. }))
            .await,
        RelayEvent::SessionStarted { session_id }
    );
    assert_eq!(host.relay_id(), viewer.relay_id());
    assert_eq!(host.relay_fingerprint(), relay.fingerprint);

    // A bidirectional stream opened by the viewer, with data both ways and finish both ways.
    let (mut v_send, mut v_recv) = viewer.connection().open_bi().await.expect("open bi");
    v_send
        .write_all(b"Chello from the viewer")
        .await
        .expect("write");
    v_send.finish().expect("finish");
    let (mut h_send, mut h_recv) = within("host accepts bi", host.connection().accept_bi())
        .await
        .expect("accepted");
    let got = within("host reads", h_recv.read_to_end(1024))
        .await
        .expect("read to end: the finish came through");
    assert_eq!(got, b"Chello from the viewer");
    h_send
        .write_all(b"hello from the host")
        .await
        .expect("write");
    h_send.finish().expect("finish");
    let got = within("viewer reads", v_recv.read_to_end(1024))
        .await
        .expect("read to end");
    assert_eq!(got, b"hello from the host");

    // A multi-MB unidirectional stream host -> viewer, and a small one viewer -> host.
    let big = payload(6 * 1024 * 1024 + 123, 7);
    let host_conn = host.connection().clone();
    let sent = big.clone();
    let writer = tokio::spawn(async move {
        let mut send = host_conn.open_uni().await.expect("open uni");
        send.write_all(&sent).await.expect("write big");
        send.finish().expect("finish");
        // Keep the stream alive until the peer has everything.
        let _ = send.stopped().await;
    });
    let mut v_uni = within("viewer accepts uni", viewer.connection().accept_uni())
        .await
        .expect("accepted");
    let got = within("big payload", v_uni.read_to_end(64 * 1024 * 1024))
        .await
        .expect("read big");
    assert_eq!(got.len(), big.len());
    assert!(got == big, "payload intact");
    within("writer", writer).await.expect("writer task");

    let mut send = viewer.connection().open_uni().await.expect("open uni");
    send.write_all(b"Iinput").await.expect("write");
    send.finish().expect("finish");
    let mut h_uni = within("host accepts uni", host.connection().accept_uni())
        .await
        .expect("accepted");
    let got = within("small payload", h_uni.read_to_end(1024))
        .await
        .expect("read");
    assert_eq!(got, b"Iinput");

    // A reset propagates as a reset, with its code.
    let mut send = host.connection().open_uni().await.expect("open uni");
    send.write_all(b"Fpartial").await.expect("write");
    let mut v_uni = within("viewer accepts uni", viewer.connection().accept_uni())
        .await
        .expect("accepted");
    let mut first = [0u8; 8];
    within("first bytes", v_uni.read_exact(&mut first))
        .await
        .expect("read");
    send.reset(quinn::VarInt::from_u32(42)).expect("reset");
    let err = within("reset", v_uni.read_to_end(1024))
        .await
        .expect_err("reset, not finished");
    assert!(
        matches!(err, quinn::ReadToEndError::Read(quinn::ReadError::Reset(code)) if code == quinn::VarInt::from_u32(42)),
        "{err:?}"
    );

    // The viewer leaves: the host hears it, and the session's end is reported.
    viewer.close("done");
    within("peer left", host.peer_left())
        .await
        .expect("host told the viewer left");
    let ended = relay
        .next_event(|e| matches!(e, RelayEvent::SessionEnded { .. }))
        .await;
    let RelayEvent::SessionEnded {
        session_id: ended_id,
        reason,
    } = ended
    else {
        unreachable!()
    };
    assert_eq!(ended_id, session_id);
    assert!(reason.contains("viewer left"), "{reason}");
    relay.stop().await;
}

#[tokio::test]
async fn host_leaving_is_reported_to_the_viewer_and_open_streams_are_reset() {
    let relay = TestRelay::start("host-leaves", |_| {}).await;
    let (host, mut viewer) = relay.pair().await;
    let mut send = viewer.connection().open_uni().await.expect("open");
    send.write_all(b"I").await.expect("write");
    let (mut v_send, mut v_recv) = viewer.connection().open_bi().await.expect("open bi");
    v_send.write_all(b"C").await.expect("write");
    let _h_uni = within("accept uni", host.connection().accept_uni())
        .await
        .expect("uni");
    let _h_bi = within("accept bi", host.connection().accept_bi())
        .await
        .expect("bi");
    host.close("host quits");
    within("peer left", viewer.peer_left())
        .await
        .expect("viewer told the host left");
    // The relay abandoned the viewer's half of the forwarded bi stream: a reset, not a clean end.
    let err = within("bi reset", v_recv.read_to_end(1024))
        .await
        .expect_err("not a clean finish");
    assert!(
        matches!(err, quinn::ReadToEndError::Read(quinn::ReadError::Reset(_))),
        "{err:?}"
    );
    relay.stop().await;
}

/// A UDP forwarder between a client and the relay that can be cut, to kill a peer without any
/// close reaching the relay.
struct UdpProxy {
    addr: SocketAddr,
    cut: CancellationToken,
    task: JoinHandle<()>,
}

impl UdpProxy {
    async fn start(relay: SocketAddr) -> Self {
        let front = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let back = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        back.connect(relay).await.expect("connect");
        let addr = front.local_addr().expect("addr");
        let cut = CancellationToken::new();
        let token = cut.clone();
        let task = tokio::spawn(async move {
            let mut client = None;
            let mut up = vec![0u8; 65_536];
            let mut down = vec![0u8; 65_536];
            loop {
                tokio::select! {
                    biased;
                    _ = token.cancelled() => return,
                    got = front.recv_from(&mut up) => {
                        let Ok((n, from)) = got else { return };
                        client = Some(from);
                        let _ = back.send(&up[..n]).await;
                    }
                    got = back.recv(&mut down) => {
                        let Ok(n) = got else { return };
                        if let Some(to) = client {
                            let _ = front.send_to(&down[..n], to).await;
                        }
                    }
                }
            }
        });
        Self { addr, cut, task }
    }
}

#[tokio::test]
async fn a_killed_peer_is_noticed_by_the_idle_timeout() {
    let relay = TestRelay::start("killed", |_| {}).await;
    let proxy = UdpProxy::start(relay.addr).await;
    let mut host = within(
        "connect through the proxy",
        RelayClient::connect(&proxy.addr.to_string(), &relay.trust()),
    )
    .await
    .expect("connects");
    let registration = within("register", host.register(Duration::from_secs(60)))
        .await
        .expect("registered");
    let mut viewer = relay.client().await;
    within("join", viewer.join(&registration.routing))
        .await
        .expect("joined");
    within("paired", host.wait_paired()).await.expect("paired");
    // The host's network vanishes: no close frame, only silence.
    proxy.cut.cancel();
    within("proxy stops", proxy.task).await.expect("proxy task");
    within("peer left", viewer.peer_left())
        .await
        .expect("viewer told the host is gone");
    // And the host, cut off, notices it lost the relay.
    let err = within("host notices", host.peer_left())
        .await
        .expect_err("relay lost");
    assert!(matches!(err, ClientError::ConnectionLost(_)), "{err:?}");
    relay.stop().await;
}

#[tokio::test]
async fn unknown_and_reused_codes_are_refused() {
    let relay = TestRelay::start("codes", |_| {}).await;
    let mut host = relay.client().await;
    let registration = within("register", host.register(Duration::from_secs(60)))
        .await
        .expect("registered");

    let mut stranger = relay.client().await;
    let unknown = RoutingCode::new(if registration.routing.as_str() == "999999" {
        "999998"
    } else {
        "999999"
    })
    .expect("code");
    let err = within("unknown", stranger.join(&unknown))
        .await
        .expect_err("unknown code");
    assert!(matches!(err, ClientError::UnknownCode), "{err:?}");
    assert!(err.to_string().contains("ask for a new one"));

    let mut viewer = relay.client().await;
    within("join", viewer.join(&registration.routing))
        .await
        .expect("joined");
    let mut second = relay.client().await;
    let err = within("second join", second.join(&registration.routing))
        .await
        .expect_err("already used");
    assert!(matches!(err, ClientError::UnknownCode), "{err:?}");
    // The first pairing is untouched.
    within("paired", host.wait_paired())
        .await
        .expect("host paired");
    relay.stop().await;
}

#[tokio::test]
async fn registering_again_replaces_the_code() {
    let relay = TestRelay::start("replace", |_| {}).await;
    let mut host = relay.client().await;
    let first = within("register", host.register(Duration::from_secs(60)))
        .await
        .expect("first");
    let second = within("register", host.register(Duration::from_secs(60)))
        .await
        .expect("second");
    if first.routing != second.routing {
        let mut viewer = relay.client().await;
        let err = within("old code", viewer.join(&first.routing))
            .await
            .expect_err("old code forgotten");
        assert!(matches!(err, ClientError::UnknownCode), "{err:?}");
    }
    let mut viewer = relay.client().await;
    within("new code", viewer.join(&second.routing))
        .await
        .expect("new code works");
    within("paired", host.wait_paired()).await.expect("paired");
    relay.stop().await;
}

/// Issue 7: a host asking for a new code just as a technician joins with the current one does not
/// end: the new code wins (the user asked for it), and the viewer that joined is told the host left.
#[tokio::test]
async fn a_join_racing_a_new_code_does_not_end_the_host() {
    let relay = TestRelay::start("race", |_| {}).await;
    let mut host = relay.client().await;
    let first = within("register", host.register(Duration::from_secs(60)))
        .await
        .expect("first");
    let mut viewer = relay.client().await;
    within("join", viewer.join(&first.routing))
        .await
        .expect("join");
    // The host has not read `Paired` yet and asks for a fresh code: it gets one.
    let second = within("register again", host.register(Duration::from_secs(60)))
        .await
        .expect("a fresh code despite the crossing Paired");
    within("the viewer told", viewer.peer_left())
        .await
        .expect("the viewer learns the host left that pairing");
    // The new code works.
    let mut next = relay.client().await;
    within("join the new code", next.join(&second.routing))
        .await
        .expect("new code");
    within("paired", host.wait_paired()).await.expect("paired");
    relay.stop().await;
}

#[tokio::test]
async fn a_wrong_pinned_fingerprint_is_refused_naming_both() {
    let relay = TestRelay::start("pin", |_| {}).await;
    let wrong = Fingerprint([0xab; 32]);
    let err = within(
        "connect",
        RelayClient::connect(&relay.address(), &RelayTrust::Fingerprint(wrong)),
    )
    .await
    .expect_err("mismatch");
    match &err {
        ClientError::FingerprintMismatch { expected, actual } => {
            assert_eq!(*expected, wrong);
            assert_eq!(*actual, relay.fingerprint);
        }
        other => panic!("expected a fingerprint mismatch, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&wrong.to_string()), "{message}");
    assert!(
        message.contains(&relay.fingerprint.to_string()),
        "{message}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn an_unused_code_expires() {
    let mut relay = TestRelay::start("expiry", |config| {
        config.max_code_ttl = Duration::from_secs(1);
    })
    .await;
    let mut host = relay.client().await;
    let registration = within("register", host.register(Duration::from_secs(600)))
        .await
        .expect("registered");
    assert_eq!(
        registration.ttl,
        Duration::from_secs(1),
        "capped by the relay"
    );
    let err = within("expiry", host.wait_paired())
        .await
        .expect_err("expired");
    assert!(matches!(err, ClientError::Expired), "{err:?}");
    let registered = relay
        .next_event(|e| matches!(e, RelayEvent::Registered { .. }))
        .await;
    let expired = relay
        .next_event(|e| matches!(e, RelayEvent::Expired { .. }))
        .await;
    assert!(
        matches!((registered, expired), (RelayEvent::Registered { session_id: a }, RelayEvent::Expired { session_id: b }) if a == b)
    );
    let mut viewer = relay.client().await;
    let err = within("join", viewer.join(&registration.routing))
        .await
        .expect_err("gone");
    assert!(matches!(err, ClientError::UnknownCode), "{err:?}");
    // The host may ask for a new code on the same connection.
    within("register again", host.register(Duration::from_secs(1)))
        .await
        .expect("registered again");
    relay.stop().await;
}

#[tokio::test]
async fn too_many_joins_from_one_address_are_rate_limited() {
    let relay = TestRelay::start("rate", |config| {
        config.limits.join_per_ip = Rate::new(2, 1);
    })
    .await;
    let mut guesser = relay.client().await;
    for guess in ["111111", "222222"] {
        let err = within(
            "guess",
            guesser.join(&RoutingCode::new(guess).expect("code")),
        )
        .await
        .expect_err("wrong");
        assert!(matches!(err, ClientError::UnknownCode), "{err:?}");
    }
    let err = within(
        "guess",
        guesser.join(&RoutingCode::new("333333").expect("code")),
    )
    .await
    .expect_err("limited");
    match err {
        ClientError::RateLimited { detail } => {
            assert!(detail.contains("wait"), "{detail}")
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn too_many_connections_from_one_address_are_refused() {
    let relay = TestRelay::start("conns", |config| {
        config.limits.max_connections_per_ip = 2;
    })
    .await;
    let _a = relay.client().await;
    let _b = relay.client().await;
    let err = within(
        "third connection",
        RelayClient::connect(&relay.address(), &relay.trust()),
    )
    .await
    .expect_err("refused");
    assert!(matches!(err, ClientError::RateLimited { .. }), "{err:?}");
    relay.stop().await;
}

#[tokio::test]
async fn relay_shutdown_closes_connections_with_a_reason() {
    let relay = TestRelay::start("shutdown", |_| {}).await;
    let (mut host, _viewer) = relay.pair().await;
    relay.stop().await;
    let err = within("connection closed", host.peer_left())
        .await
        .expect_err("relay gone");
    assert!(err.to_string().contains("shutting down"), "{err}");
}

/// A raw QUIC client that trusts any certificate, to send what a RelayClient never would.
async fn raw_connection(addr: SocketAddr) -> quinn::Connection {
    raw_connection_from("127.0.0.1:0", addr).await
}

/// Like [`raw_connection`], from a chosen local address.
async fn raw_connection_from(bind: &str, addr: SocketAddr) -> quinn::Connection {
    #[derive(Debug)]
    struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::General("TLS 1.3 only".into()))
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("tls13")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"tandem/1".to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).expect("quic tls");
    let config = quinn::ClientConfig::new(Arc::new(crypto));
    let endpoint = quinn::Endpoint::client(bind.parse().expect("addr")).expect("endpoint");
    within(
        "raw connect",
        endpoint
            .connect_with(config, addr, "tandem-relay")
            .expect("connect"),
    )
    .await
    .expect("raw handshake")
}

#[tokio::test]
async fn malformed_requests_close_only_that_client() {
    let relay = TestRelay::start("malformed", |_| {}).await;
    let (host, viewer) = relay.pair().await;
    // A transfer in progress on the pairing.
    let (mut v_send, mut v_recv) = viewer.connection().open_bi().await.expect("open bi");
    v_send.write_all(b"Cfirst half ").await.expect("write");
    let (mut h_send, mut h_recv) = within("accept", host.connection().accept_bi())
        .await
        .expect("accepted");

    let bad_frames: [&[u8]; 4] = [
        // Unknown request tag.
        &[0, 0, 0, 1, 0x99],
        // A Join whose routing code holds letters.
        &[
            0, 0, 0, 14, 2, 0, 1, 0, 0, 0, 7, b'1', b'2', b'a', b'4', b'5', b'6', b'7',
        ],
        // A frame announcing more than the relay-stream limit.
        &[0x7f, 0xff, 0xff, 0xff],
        // A Register with trailing bytes.
        &[0, 0, 0, 8, 1, 0, 1, 0, 0, 0, 60, 0xee],
    ];
    for bad in bad_frames {
        let conn = raw_connection(relay.addr).await;
        let (mut send, _recv) = conn.open_bi().await.expect("open");
        send.write_all(bad).await.expect("write garbage");
        let closed = within("the relay closes the bad client", conn.closed()).await;
        match closed {
            quinn::ConnectionError::ApplicationClosed(close) => {
                assert_eq!(close.error_code, quinn::VarInt::from_u32(2), "{close:?}");
                let reason = String::from_utf8_lossy(&close.reason).into_owned();
                assert!(reason.contains("malformed"), "{reason}");
            }
            other => panic!("expected an application close, got {other:?}"),
        }
    }

    // The pairing carries on.
    v_send.write_all(b"second half").await.expect("write");
    v_send.finish().expect("finish");
    let got = within("rest", h_recv.read_to_end(1024))
        .await
        .expect("read");
    assert_eq!(got, b"Cfirst half second half");
    h_send.write_all(b"ack").await.expect("write");
    h_send.finish().expect("finish");
    assert_eq!(
        within("ack", v_recv.read_to_end(16)).await.expect("read"),
        b"ack"
    );
    relay.stop().await;
}

#[tokio::test]
async fn an_unsupported_version_is_refused() {
    use tandem_proto::framing::{FrameReader, write_frame};
    use tandem_proto::relay::{RefusalReason, RelayNotice, RelayRequest};
    use tandem_proto::wire::Message;

    let relay = TestRelay::start("version", |_| {}).await;
    let conn = raw_connection(relay.addr).await;
    let (mut send, mut recv) = conn.open_bi().await.expect("open");
    let mut frame = Vec::new();
    write_frame(
        &RelayRequest::Register {
            version: tandem_proto::PROTOCOL_VERSION + 1,
            ttl_secs: 60,
        }
        .to_vec(),
        &mut frame,
    );
    send.write_all(&frame).await.expect("write");
    let mut reader = FrameReader::new(tandem_proto::limits::MAX_RELAY_FRAME);
    let notice = within("refusal", async {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(frame) = reader.next_frame().expect("frame") {
                return RelayNotice::from_bytes(frame).expect("notice");
            }
            let n = recv.read(&mut buf).await.expect("read").expect("open");
            reader.push(&buf[..n]);
        }
    })
    .await;
    match notice {
        RelayNotice::Refused { reason, detail } => {
            assert_eq!(reason, RefusalReason::UnsupportedVersion);
            assert!(detail.contains("version"), "{detail}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_relay_that_does_not_answer_is_unreachable() {
    // A UDP socket that swallows everything: no relay, and no ICMP error either.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = silent.local_addr().expect("addr").to_string();
    let err = within(
        "handshake timeout",
        RelayClient::connect(&addr, &RelayTrust::Fingerprint(Fingerprint([0; 32]))),
    )
    .await
    .expect_err("nobody answers");
    match err {
        ClientError::Unreachable { relay, .. } => assert_eq!(relay, addr),
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

#[tokio::test]
async fn streams_opened_before_pairing_are_refused_not_buffered() {
    let relay = TestRelay::start("early", |_| {}).await;
    let mut host = relay.client().await;
    let registration = within("register", host.register(Duration::from_secs(60)))
        .await
        .expect("registered");
    let mut early = host.connection().open_uni().await.expect("open");
    early
        .write_all(b"Fnobody to send this to")
        .await
        .expect("write");
    let stopped = within("stop", early.stopped()).await.expect("stopped");
    assert_eq!(stopped, Some(quinn::VarInt::from_u32(0x7e)));
    // The connection is fine and still pairs.
    let mut viewer = relay.client().await;
    within("join", viewer.join(&registration.routing))
        .await
        .expect("joined");
    within("paired", host.wait_paired()).await.expect("paired");
    relay.stop().await;
}

#[tokio::test]
async fn concurrent_pairings_stay_apart() {
    let relay = TestRelay::start("apart", |_| {}).await;
    let (host_a, viewer_a) = relay.pair().await;
    let (host_b, viewer_b) = relay.pair().await;
    for (viewer, tag) in [(&viewer_a, b'A'), (&viewer_b, b'B')] {
        let mut send = viewer.connection().open_uni().await.expect("open");
        send.write_all(&[b'I', tag]).await.expect("write");
        send.finish().expect("finish");
    }
    for (host, tag) in [(&host_a, b'A'), (&host_b, b'B')] {
        let mut recv = within("accept", host.connection().accept_uni())
            .await
            .expect("accept");
        let got = within("read", recv.read_to_end(16)).await.expect("read");
        assert_eq!(got, [b'I', tag]);
    }
    // Ending one pairing leaves the other working.
    viewer_a.close("done");
    let mut host_a = host_a;
    within("a ends", host_a.peer_left())
        .await
        .expect("peer left");
    let mut send = host_b.connection().open_uni().await.expect("open");
    send.write_all(b"Fstill here").await.expect("write");
    send.finish().expect("finish");
    let mut recv = within("accept", viewer_b.connection().accept_uni())
        .await
        .expect("accept");
    assert_eq!(
        within("read", recv.read_to_end(64)).await.expect("read"),
        b"Fstill here"
    );
    relay.stop().await;
}

/// Sends one request on a raw relay stream and reads the notice back.
async fn raw_request(
    send: &mut quinn::SendStream,
    recv: &mut quinn::RecvStream,
    reader: &mut tandem_proto::framing::FrameReader,
    request: &tandem_proto::relay::RelayRequest,
) -> tandem_proto::relay::RelayNotice {
    use tandem_proto::relay::RelayNotice;
    use tandem_proto::wire::Message;
    let mut frame = Vec::new();
    tandem_proto::framing::write_frame(&request.to_vec(), &mut frame);
    send.write_all(&frame).await.expect("write");
    within("notice", async {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(frame) = reader.next_frame().expect("frame") {
                return RelayNotice::from_bytes(frame).expect("notice");
            }
            let n = recv.read(&mut buf).await.expect("read").expect("open");
            reader.push(&buf[..n]);
        }
    })
    .await
}

/// Reads the next notice, or the connection's close.
async fn next_notice_or_close(
    recv: &mut quinn::RecvStream,
    reader: &mut tandem_proto::framing::FrameReader,
) -> Result<tandem_proto::relay::RelayNotice, quinn::ConnectionError> {
    use tandem_proto::relay::RelayNotice;
    use tandem_proto::wire::Message;
    within("notice or close", async {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(frame) = reader.next_frame().expect("frame") {
                return Ok(RelayNotice::from_bytes(frame).expect("notice"));
            }
            match recv.read(&mut buf).await {
                Ok(Some(n)) => reader.push(&buf[..n]),
                Ok(None) => panic!("relay stream finished"),
                Err(quinn::ReadError::ConnectionLost(e)) => return Err(e),
                Err(e) => panic!("read: {e}"),
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_guessing_flood_from_one_address_is_limited_then_closed_and_locks_out_nobody() {
    use tandem_proto::relay::{RefusalReason, RelayNotice, RelayRequest};
    use tandem_proto::wire::Message;
    let relay = TestRelay::start("flood", |_| {}).await;
    let mut host = relay.client().await;
    let registration = within("register", host.register(Duration::from_secs(60)))
        .await
        .expect("registered");

    // Another loopback address guesses as fast as it can, pipelining 40 requests on one stream.
    let flooder = raw_connection_from("127.0.0.2:0", relay.addr).await;
    let (mut send, mut recv) = flooder.open_bi().await.expect("open");
    let mut frames = Vec::new();
    for i in 0..40u32 {
        // Six-digit guesses never hit the shorter code of the only waiting host.
        let routing = RoutingCode::new(&format!("{:06}", 100_000 + i)).expect("code");
        let request = RelayRequest::Join {
            version: tandem_proto::PROTOCOL_VERSION,
            routing,
        };
        tandem_proto::framing::write_frame(&request.to_vec(), &mut frames);
    }
    // The relay may close the connection before all of it is read.
    let _ = send.write_all(&frames).await;
    let mut reader = tandem_proto::framing::FrameReader::new(tandem_proto::limits::MAX_RELAY_FRAME);
    let (mut unknown, mut limited) = (0, 0);
    let close = loop {
        match next_notice_or_close(&mut recv, &mut reader).await {
            Ok(RelayNotice::Refused {
                reason: RefusalReason::UnknownCode,
                ..
            }) => unknown += 1,
            Ok(RelayNotice::Refused {
                reason: RefusalReason::RateLimited,
                detail,
            }) => {
                assert!(detail.contains("your address"), "{detail}");
                limited += 1;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(close) => break close,
        }
    };
    let join_burst = tandem_relay::RateLimits::default().join_per_ip.burst;
    assert!(unknown <= join_burst, "{unknown} guesses answered");
    assert!(
        unknown + limited <= tandem_relay::server::MAX_REFUSALS_PER_CONNECTION + 1,
        "{unknown} + {limited} refusals before the close"
    );
    match close {
        quinn::ConnectionError::ApplicationClosed(close) => {
            assert_eq!(close.error_code, quinn::VarInt::from_u32(2), "{close:?}");
            let reason = String::from_utf8_lossy(&close.reason).into_owned();
            assert!(reason.contains("too many refused"), "{reason}");
        }
        other => panic!("expected an application close, got {other:?}"),
    }

    // The legitimate viewer, from another address, is unaffected.
    let mut viewer = relay.client().await;
    within("join", viewer.join(&registration.routing))
        .await
        .expect("joined despite the flood");
    within("paired", host.wait_paired()).await.expect("paired");
    relay.stop().await;
}

/// A connection that never sends a request, one that sends half of one, and one that was refused:
/// all closed at the idle deadline, with a reason.
#[tokio::test]
async fn idle_half_sent_and_refused_connections_are_closed_on_time() {
    use tandem_proto::relay::{RelayNotice, RelayRequest};
    let relay = TestRelay::start("idle", |config| {
        config.limits.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let silent = raw_connection(relay.addr).await;
    let half = raw_connection(relay.addr).await;
    let (mut half_send, _half_recv) = half.open_bi().await.expect("open");
    // The length prefix of a frame, and one byte of it.
    half_send.write_all(&[0, 0, 0, 7, 1]).await.expect("write");
    let refused = raw_connection(relay.addr).await;
    let (mut send, mut recv) = refused.open_bi().await.expect("open");
    let mut reader = tandem_proto::framing::FrameReader::new(tandem_proto::limits::MAX_RELAY_FRAME);
    let notice = raw_request(
        &mut send,
        &mut recv,
        &mut reader,
        &RelayRequest::Join {
            version: tandem_proto::PROTOCOL_VERSION,
            routing: RoutingCode::new("999999").expect("code"),
        },
    )
    .await;
    assert!(matches!(notice, RelayNotice::Refused { .. }), "{notice:?}");
    for conn in [&silent, &half, &refused] {
        match within("the idle close", conn.closed()).await {
            quinn::ConnectionError::ApplicationClosed(close) => {
                assert_eq!(close.error_code, quinn::VarInt::from_u32(3), "{close:?}");
                let reason = String::from_utf8_lossy(&close.reason).into_owned();
                assert!(reason.contains("no request in time"), "{reason}");
            }
            other => panic!("expected an application close, got {other:?}"),
        }
    }
    // A host waiting with a code is not idle.
    let mut host = relay.client().await;
    within("register", host.register(Duration::from_secs(60)))
        .await
        .expect("registered");
    let probe = raw_connection(relay.addr).await;
    within("a later idle close", probe.closed()).await;
    assert!(
        host.connection().close_reason().is_none(),
        "the waiting host stays"
    );
    relay.stop().await;
}

/// A viewer with a wrong code burns the host's code and stays connected; the host asks for a new
/// code on the same connection and a real viewer joins it.
#[tokio::test]
async fn a_host_whose_code_was_burned_registers_again_and_pairs() {
    let relay = TestRelay::start("burned", |_| {}).await;
    let mut host = relay.client().await;
    let first = within("register", host.register(Duration::from_secs(60)))
        .await
        .expect("registered");
    let mut guesser = relay.client().await;
    within("guess", guesser.join(&first.routing))
        .await
        .expect("the guess pairs (the handshake would fail)");
    within("paired", host.wait_paired()).await.expect("paired");
    let second = within("register again", host.register(Duration::from_secs(60)))
        .await
        .expect("a fresh code");
    within("the guesser hears", guesser.peer_left())
        .await
        .expect("peer left");
    let mut viewer = relay.client().await;
    within("join", viewer.join(&second.routing))
        .await
        .expect("joined the fresh code");
    within("paired", host.wait_paired()).await.expect("paired");
    // Streams now reach the real viewer.
    let mut send = host.connection().open_uni().await.expect("open");
    send.write_all(b"Fhello").await.expect("write");
    send.finish().expect("finish");
    let mut recv = within("accept", viewer.connection().accept_uni())
        .await
        .expect("accept");
    assert_eq!(
        within("read", recv.read_to_end(16)).await.expect("read"),
        b"Fhello"
    );
    relay.stop().await;
}

/// A viewer that writes as fast as it can to a host that never reads: the relay holds at most its
/// per-connection budget; the rest waits in the two clients' own windows.
#[tokio::test]
async fn a_writer_whose_peer_never_reads_pins_a_bounded_amount_at_the_relay() {
    let relay = TestRelay::start("pinned", |_| {}).await;
    let (host, viewer) = relay.pair().await;
    let (mut send, _recv) = viewer.connection().open_bi().await.expect("open");
    let chunk = payload(64 * 1024, 9);
    let mut written: u64 = 0;
    // The host accepts the stream (its first byte arrives) but never reads it.
    send.write_all(&chunk).await.expect("first chunk");
    written += chunk.len() as u64;
    let _held = within("accept", host.connection().accept_bi())
        .await
        .expect("accepted");
    // Write until the writes stall: flow control has stopped the writer.
    loop {
        match tokio::time::timeout(Duration::from_secs(2), send.write_all(&chunk)).await {
            Ok(Ok(())) => written += chunk.len() as u64,
            Ok(Err(e)) => panic!("write failed: {e}"),
            Err(_) => break,
        }
        assert!(written < 1 << 30, "the writer was never stopped");
    }
    // The viewer's bytes sit in: the host's stream window (8 MiB, a client's own memory), what the
    // relay holds (its budget), and at most one chunk in the forwarder's hands.
    let client_window: u64 = 8 * 1024 * 1024;
    let bound = client_window + tandem_relay::tls::RELAY_CONNECTION_BUDGET + chunk.len() as u64;
    assert!(
        written <= bound,
        "{written} bytes written, more than the {bound} the relay and the host's window allow"
    );
    relay.stop().await;
}

/// Writes `chunk` on a new stream from `viewer` to `host`, whose side accepts it but never reads,
/// until flow control stops the writer. Returns the bytes written and the held streams.
async fn write_until_stalled(
    host: &RelayClient,
    viewer: &RelayClient,
    chunk: &[u8],
) -> (
    u64,
    (quinn::SendStream, quinn::RecvStream, quinn::RecvStream),
) {
    let (mut send, recv) = viewer.connection().open_bi().await.expect("open");
    send.write_all(chunk).await.expect("first chunk");
    let mut written = chunk.len() as u64;
    let (_host_send, host_recv) = within("accept", host.connection().accept_bi())
        .await
        .expect("accepted");
    loop {
        match tokio::time::timeout(Duration::from_secs(2), send.write_all(chunk)).await {
            Ok(Ok(())) => written += chunk.len() as u64,
            Ok(Err(e)) => panic!("write failed: {e}"),
            Err(_) => break,
        }
        assert!(written < 1 << 30, "the writer was never stopped");
    }
    (written, (send, recv, host_recv))
}

#[tokio::test]
async fn writers_whose_peers_never_read_share_one_buffer_budget() {
    // 1 MiB for 4 sessions (8 paired connections): 64 KiB each way per connection. Without the
    // budget each session's stalled stream alone pins its 1 MiB stream window at the relay.
    const BUDGET: u64 = 1024 * 1024;
    const SESSIONS: u64 = 4;
    let relay = TestRelay::start("budget", |c| c.limits.buffer_budget = BUDGET).await;
    // Every pairing first: the budget is split at pairing, and QUIC cannot take back credit
    // already granted.
    let mut pairs = Vec::new();
    for _ in 0..SESSIONS {
        pairs.push(relay.pair().await);
    }
    let chunk = payload(64 * 1024, 5);
    let mut written = 0;
    let mut held = Vec::new();
    for (host, viewer) in &pairs {
        let (n, streams) = write_until_stalled(host, viewer, &chunk).await;
        written += n;
        held.push(streams);
    }
    // Each host's own stream window (8 MiB, its memory) and one chunk in each forwarder's hands
    // are not the relay's; the rest sits in the relay's windows and send buffers.
    let client_window: u64 = 8 * 1024 * 1024;
    let outside = SESSIONS * (client_window + chunk.len() as u64);
    let at_relay = written.saturating_sub(outside);
    assert!(
        at_relay <= BUDGET,
        "{written} bytes written: the relay holds up to {at_relay}, more than its {BUDGET} budget"
    );
    // And it did forward: each host's window filled.
    assert!(
        written >= SESSIONS * client_window,
        "{written} bytes written: the hosts' windows never filled"
    );
    relay.stop().await;
}

/// `GET path` on the metrics listener: the status code and the body.
async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    within("http", async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n").as_bytes())
            .await
            .expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("status code");
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    })
    .await
}

/// Polls `/metrics` until `wanted` holds of the text.
async fn metrics_until(addr: SocketAddr, what: &str, wanted: impl Fn(&str) -> bool) -> String {
    within(what, async {
        loop {
            let (status, body) = http_get(addr, "/metrics").await;
            assert_eq!(status, 200);
            if wanted(&body) {
                return body;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
}

/// The value of the sample named exactly `sample` (with its labels), if present.
fn sample(text: &str, sample: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == sample).then(|| value.parse().ok())?
    })
}

#[tokio::test]
async fn metrics_health_and_readiness_are_served() {
    let dir = temp_dir("metrics");
    let mut config = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.clone());
    config.metrics = Some("127.0.0.1:0".parse().expect("addr"));
    let relay = Relay::bind(config).await.expect("binds");
    let metrics = relay.metrics_addr().expect("a metrics listener");
    let addr = relay.local_addr();
    let trust = RelayTrust::Fingerprint(relay.fingerprint());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(relay.run(shutdown.clone()));

    assert_eq!(
        http_get(metrics, "/healthz").await,
        (200, "ok\n".to_owned())
    );
    assert_eq!(http_get(metrics, "/readyz").await.0, 200);
    assert_eq!(http_get(metrics, "/nope").await.0, 404);

    let mut host = RelayClient::connect(&addr.to_string(), &trust)
        .await
        .expect("host");
    let registration = host.register(Duration::from_secs(60)).await.expect("code");
    let text = metrics_until(metrics, "a waiting host", |t| {
        sample(t, "tandem_relay_waiting_hosts") == Some(1.0)
    })
    .await;
    assert!(text.contains("# HELP tandem_relay_waiting_hosts"), "{text}");
    assert!(
        text.contains("# UNIT tandem_relay_handshake_duration_seconds seconds"),
        "{text}"
    );

    let mut viewer = RelayClient::connect(&addr.to_string(), &trust)
        .await
        .expect("viewer");
    let err = viewer
        .join(&RoutingCode::new("000000").expect("code"))
        .await
        .expect_err("wrong");
    assert!(matches!(err, ClientError::UnknownCode), "{err:?}");
    viewer.join(&registration.routing).await.expect("joined");
    within("paired", host.wait_paired()).await.expect("paired");
    let mut send = viewer.connection().open_uni().await.expect("open");
    send.write_all(&payload(1000, 1)).await.expect("write");
    send.finish().expect("finish");
    let mut recv = within("accept", host.connection().accept_uni())
        .await
        .expect("accept");
    within("read", recv.read_to_end(2000)).await.expect("read");

    let text = metrics_until(metrics, "a live session", |t| {
        sample(t, "tandem_relay_active_sessions") == Some(1.0)
            && sample(
                t,
                "tandem_relay_forwarded_bytes_total{direction=\"viewer_to_host\"}",
            ) == Some(1000.0)
    })
    .await;
    assert_eq!(
        sample(&text, "tandem_relay_sessions_started_total"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "tandem_relay_joins_refused_total{reason=\"unknown_code\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "tandem_relay_connections{state=\"paired\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "tandem_relay_handshake_duration_seconds_count"),
        Some(2.0)
    );
    // The 1000 bytes passed the forwarder in at least one chunk, each timed.
    assert!(
        sample(&text, "tandem_relay_forward_queue_seconds_count").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // One paired session under the default budget: full 2 MiB windows.
    assert_eq!(
        sample(&text, "tandem_relay_buffer_share_bytes"),
        Some(2.0 * 1024.0 * 1024.0)
    );

    viewer.close("done");
    let text = metrics_until(metrics, "the session's end", |t| {
        sample(
            t,
            "tandem_relay_sessions_ended_total{reason=\"viewer_left\"}",
        ) == Some(1.0)
    })
    .await;
    assert_eq!(sample(&text, "tandem_relay_active_sessions"), Some(0.0));
    shutdown.cancel();
    within("shutdown", task).await.expect("task").expect("ran");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_drain_refuses_new_codes_lets_sessions_run_then_closes_them_with_a_reason() {
    let dir = temp_dir("drain");
    let mut config = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.clone());
    config.metrics = Some("127.0.0.1:0".parse().expect("addr"));
    config.drain_timeout = Duration::from_secs(2);
    let relay = Relay::bind(config).await.expect("binds");
    let metrics = relay.metrics_addr().expect("a metrics listener");
    let addr = relay.local_addr().to_string();
    let trust = RelayTrust::Fingerprint(relay.fingerprint());
    let handle = relay.handle();
    let task = tokio::spawn(relay.run(CancellationToken::new()));

    let mut host = RelayClient::connect(&addr, &trust).await.expect("host");
    let registration = host.register(Duration::from_secs(60)).await.expect("code");
    let mut viewer = RelayClient::connect(&addr, &trust).await.expect("viewer");
    viewer.join(&registration.routing).await.expect("joined");
    within("paired", host.wait_paired()).await.expect("paired");
    let mut late = RelayClient::connect(&addr, &trust)
        .await
        .expect("late host");

    handle.drain().expect("drain");
    within("not ready", async {
        while http_get(metrics, "/readyz").await.0 != 503 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    match late.register(Duration::from_secs(60)).await {
        Err(ClientError::Refused { detail, .. }) => {
            assert!(detail.contains("restarting"), "{detail}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The live session still forwards.
    let mut send = host.connection().open_uni().await.expect("open");
    send.write_all(b"Fstill on").await.expect("write");
    send.finish().expect("finish");
    let mut recv = within("accept", viewer.connection().accept_uni())
        .await
        .expect("accept");
    assert_eq!(
        within("read", recv.read_to_end(64)).await.expect("read"),
        b"Fstill on"
    );
    // At the deadline both sides are closed with the reason.
    for client in [&mut host, &mut viewer] {
        let err = within("the drain's end", client.peer_left())
            .await
            .expect_err("closed");
        assert!(err.to_string().contains("shutting down"), "{err}");
    }
    within("run ends", task).await.expect("task").expect("ran");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_drain_with_nothing_live_ends_at_once() {
    let dir = temp_dir("drain-empty");
    let mut config = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.clone());
    config.drain_timeout = Duration::from_secs(3_600);
    let relay = Relay::bind(config).await.expect("binds");
    let handle = relay.handle();
    let task = tokio::spawn(relay.run(CancellationToken::new()));
    handle.drain().expect("drain");
    within("run ends", task).await.expect("task").expect("ran");
    assert!(matches!(handle.drain(), Err(RelayError::Stopped)));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_reload_applies_new_limits_to_what_comes_next() {
    let dir = temp_dir("reload");
    let config = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.clone());
    let tls = config.tls.clone();
    let relay = Relay::bind(config).await.expect("binds");
    let fingerprint = relay.fingerprint();
    let addr = relay.local_addr().to_string();
    let trust = RelayTrust::Fingerprint(fingerprint);
    let handle = relay.handle();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(relay.run(shutdown.clone()));
    let limits = tandem_relay::RateLimits {
        join_per_ip: Rate::new(1, 1),
        ..Default::default()
    };
    let reloaded = handle
        .reload(limits, Duration::from_secs(600), Some((&tls, &dir)))
        .expect("reloaded");
    assert_eq!(reloaded, Some(fingerprint), "the same self-signed identity");
    let mut guesser = RelayClient::connect(&addr, &trust).await.expect("client");
    let nowhere = RoutingCode::new("000000").expect("code");
    let first = guesser.join(&nowhere).await.expect_err("unknown");
    assert!(matches!(first, ClientError::UnknownCode), "{first:?}");
    let second = guesser.join(&nowhere).await.expect_err("limited");
    assert!(
        matches!(second, ClientError::RateLimited { .. }),
        "{second:?}"
    );
    shutdown.cancel();
    within("shutdown", task).await.expect("task").expect("ran");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn two_sides_resuming_with_the_same_id_are_paired_again_and_streams_flow() {
    use tandem_proto::relay::ResumeRole;
    let mut relay = TestRelay::start("resume", |_| {}).await;
    let id = [0x5a; 32];
    // The host comes back first and waits; nothing is said until its peer comes.
    let mut host = relay.client().await;
    let host_waits =
        tokio::spawn(async move { host.resume(ResumeRole::Host, id).await.map(|()| host) });
    // Someone else's id pairs with nobody here.
    let mut stranger = relay.client().await;
    let stranger_waits =
        tokio::spawn(async move { stranger.resume(ResumeRole::Viewer, [0x11; 32]).await });
    let mut viewer = relay.client().await;
    within("viewer resumes", viewer.resume(ResumeRole::Viewer, id))
        .await
        .expect("paired");
    let host = within("host resumes", host_waits)
        .await
        .expect("task")
        .expect("paired");
    relay
        .next_event(|e| matches!(e, RelayEvent::SessionStarted { .. }))
        .await;
    assert!(!stranger_waits.is_finished(), "a stranger is not paired");
    stranger_waits.abort();

    // Streams are forwarded as after a join.
    let mut send = viewer.connection().open_uni().await.expect("open uni");
    send.write_all(b"Iback again").await.expect("write");
    send.finish().expect("finish");
    let mut recv = within("host accepts", host.connection().accept_uni())
        .await
        .expect("accepted");
    let got = within("host reads", recv.read_to_end(64))
        .await
        .expect("read");
    assert_eq!(got, b"Iback again");
}
