//! A relay with an operator-supplied PEM certificate chain, and clients verifying it against a CA
//! file (or pinning its leaf).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tandem_relay::{
    ClientError, Fingerprint, Relay, RelayClient, RelayConfig, RelayError, RelayTrust, TlsError,
    TlsSource,
};
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(20);

async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, f).await {
        Ok(out) => out,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tandem-relay-pem-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Pki {
    ca: PathBuf,
    chain: PathBuf,
    key: PathBuf,
    leaf: Fingerprint,
}

/// A CA and a leaf it signed for 127.0.0.1 and localhost, written as PEM files.
fn make_pki(dir: &Path, name: &str) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    let pki = Pki {
        ca: dir.join(format!("{name}-ca.pem")),
        chain: dir.join(format!("{name}-chain.pem")),
        key: dir.join(format!("{name}-key.pem")),
        leaf: Fingerprint::of_der(leaf.der()),
    };
    std::fs::write(&pki.ca, ca.pem()).expect("write");
    std::fs::write(&pki.chain, format!("{}{}", leaf.pem(), ca.pem())).expect("write");
    std::fs::write(&pki.key, leaf_key.serialize_pem()).expect("write");
    pki
}

#[tokio::test]
async fn operator_certificate_verified_against_a_ca_file() {
    let dir = Dir::new("ca");
    let pki = make_pki(&dir.0, "good");
    let other = make_pki(&dir.0, "other");
    let mut config = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.0.join("data"));
    config.tls = TlsSource::Pem {
        cert_chain: pki.chain.clone(),
        key: pki.key.clone(),
    };
    let relay = Relay::bind(config).await.expect("binds with the PEM chain");
    assert_eq!(
        relay.fingerprint(),
        pki.leaf,
        "the fingerprint is the leaf's"
    );
    assert!(
        !dir.0.join("data").join("relay-cert.pem").exists(),
        "no self-signed certificate is made"
    );
    let addr = relay.local_addr().to_string();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(relay.run(shutdown.clone()));

    let ca = RelayTrust::CaFile(pki.ca.clone());
    let mut host = within("connect", RelayClient::connect(&addr, &ca))
        .await
        .expect("the chain verifies");
    assert_eq!(host.relay_fingerprint(), pki.leaf);
    assert_eq!(host.relay_id(), pki.leaf.0);
    let registration = within("register", host.register(Duration::from_secs(30)))
        .await
        .expect("registered");
    // Pinning the operator's leaf works too.
    let mut viewer = within(
        "connect",
        RelayClient::connect(&addr, &RelayTrust::Fingerprint(pki.leaf)),
    )
    .await
    .expect("pinned");
    within("join", viewer.join(&registration.routing))
        .await
        .expect("joined");
    within("paired", host.wait_paired()).await.expect("paired");

    let err = within(
        "connect",
        RelayClient::connect(&addr, &RelayTrust::CaFile(other.ca.clone())),
    )
    .await
    .expect_err("another CA does not vouch for this relay");
    assert!(matches!(err, ClientError::Tls(_)), "{err:?}");

    let err = within(
        "connect",
        RelayClient::connect(&addr, &RelayTrust::CaFile(dir.0.join("missing.pem"))),
    )
    .await
    .expect_err("no CA file");
    assert!(err.to_string().contains("missing.pem"), "{err}");

    shutdown.cancel();
    within("shutdown", task)
        .await
        .expect("task")
        .expect("clean");
}

#[tokio::test]
async fn a_missing_key_file_is_a_clear_error() {
    let dir = Dir::new("missing");
    let pki = make_pki(&dir.0, "good");
    let mut config = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.0.join("data"));
    config.tls = TlsSource::Pem {
        cert_chain: pki.chain,
        key: dir.0.join("nope.pem"),
    };
    let err = Relay::bind(config).await.expect_err("no key");
    assert!(
        matches!(err, RelayError::Tls(TlsError::Read { ref path, .. }) if path.ends_with("nope.pem")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_key_that_does_not_match_the_certificate_is_refused() {
    let dir = Dir::new("mismatch");
    let a = make_pki(&dir.0, "a");
    let b = make_pki(&dir.0, "b");
    let mut config = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.0.join("data"));
    config.tls = TlsSource::Pem {
        cert_chain: a.chain,
        key: b.key,
    };
    let err = Relay::bind(config).await.expect_err("mismatched key");
    assert!(matches!(err, RelayError::Tls(_)), "{err:?}");
}
