//! The operator's HTTP listener: `GET /metrics` (Prometheus/OpenMetrics text), `GET /healthz` (the
//! relay runs) and `GET /readyz` (the relay takes new codes; 503 while draining, and on a cluster node while its directory cannot be reached). Three fixed paths
//! need no framework: this reads one request head (bounded in size and time), answers, and closes.
//! Bind it to a private address; it has no authentication.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The longest request head read.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request and read the answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Requests served at once; more wait in the listen backlog.
const MAX_CONCURRENT: usize = 32;

/// What the endpoints report.
#[derive(Clone)]
pub(crate) struct HttpState {
    pub registry: Arc<Registry>,
    /// False while draining.
    pub ready: Arc<AtomicBool>,
    /// On a cluster node: whether its directory (Redis) answers.
    pub cluster_up: Option<Arc<AtomicBool>>,
}

/// Serves until `cancel`.
pub(crate) async fn serve(listener: TcpListener, state: HttpState, cancel: CancellationToken) {
    let mut tasks = JoinSet::new();
    loop {
        // At the limit, wait for a request to finish before accepting more.
        while tasks.len() >= MAX_CONCURRENT {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                _ = tasks.join_next() => {}
            }
        }
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            Some(_) = tasks.join_next() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let state = state.clone();
                    tasks.spawn(async move {
                        let _ = tokio::time::timeout(TIMEOUT, answer(stream, &state)).await;
                    });
                }
                Err(e) => {
                    tracing::debug!("metrics listener: {e}");
                    // E.g. out of file descriptors: do not spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

async fn answer(mut stream: TcpStream, state: &HttpState) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
        if head.len() > MAX_HEAD {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                TEXT,
                b"",
            )
            .await;
        }
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next());
    let path = target
        .map(|t| t.split(|&b| b == b'?').next().unwrap_or_default())
        .unwrap_or_default();
    if method != b"GET" {
        return respond(&mut stream, "405 Method Not Allowed", TEXT, b"GET only\n").await;
    }
    let (status, content_type, body): (&str, &str, Vec<u8>) = match path {
        b"/metrics" => (
            "200 OK",
            OPENMETRICS,
            crate::metrics::encode(&state.registry).into_bytes(),
        ),
        b"/healthz" => ("200 OK", TEXT, b"ok\n".to_vec()),
        b"/readyz" if !state.ready.load(Ordering::Relaxed) => {
            ("503 Service Unavailable", TEXT, b"draining\n".to_vec())
        }
        b"/readyz"
            if state
                .cluster_up
                .as_ref()
                .is_some_and(|up| !up.load(Ordering::Relaxed)) =>
        {
            (
                "503 Service Unavailable",
                TEXT,
                b"relay cluster unavailable\n".to_vec(),
            )
        }
        b"/readyz" => ("200 OK", TEXT, b"ready\n".to_vec()),
        _ => (
            "404 Not Found",
            TEXT,
            b"try /metrics, /healthz or /readyz\n".to_vec(),
        ),
    };
    respond(&mut stream, status, content_type, &body).await
}

const TEXT: &str = "text/plain; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}
