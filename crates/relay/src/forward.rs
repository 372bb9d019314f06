//! Forwarding of streams between paired peers: bytes copied unread, finish propagated as finish,
//! reset as reset, stop as stop. Each forwarder watches a cancellation token: when the pairing ends,
//! the half still alive is reset (never finished, which would look like a clean end).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quinn::{ReadError, RecvStream, SendStream, VarInt, WriteError};
use tokio_util::sync::CancellationToken;

use crate::STREAM_PEER_GONE;
use crate::tap::StreamTap;

/// Where forwarded bytes are counted: the session's own counter and the relay-wide metric, and
/// how long each chunk waited in the relay between arriving and being handed to the other side.
#[derive(Debug, Clone)]
pub(crate) struct ByteCount {
    pub session: Arc<AtomicU64>,
    pub total: prometheus_client::metrics::counter::Counter<u64, AtomicU64>,
    pub queue: prometheus_client::metrics::histogram::Histogram,
}

impl ByteCount {
    fn add(&self, n: u64, waited: Duration) {
        self.session.fetch_add(n, Ordering::Relaxed);
        self.total.inc_by(n);
        self.queue.observe(waited.as_secs_f64());
    }
}

/// Largest chunk read at once.
const CHUNK: usize = 64 * 1024;

fn peer_gone() -> VarInt {
    VarInt::from_u32(STREAM_PEER_GONE)
}

/// A bidirectional stream opened by one side: open one on the peer and copy both ways. `up` counts
/// bytes from the opener to the peer, `down` the other way; `tap_up` and `tap_down` see the chunks
/// each way (nothing without the `tap` feature).
pub(crate) async fn forward_bi(
    (mut opener_send, mut opener_recv): (SendStream, RecvStream),
    peer: quinn::Connection,
    up: ByteCount,
    down: ByteCount,
    (tap_up, tap_down): (StreamTap, StreamTap),
    cancel: CancellationToken,
) {
    let opened = tokio::select! {
        biased;
        _ = cancel.cancelled() => None,
        opened = peer.open_bi() => opened.ok(),
    };
    let Some((peer_send, peer_recv)) = opened else {
        let _ = opener_send.reset(peer_gone());
        let _ = opener_recv.stop(peer_gone());
        return;
    };
    tokio::join!(
        copy(opener_recv, peer_send, &up, tap_up, &cancel),
        copy(peer_recv, opener_send, &down, tap_down, &cancel),
    );
}

/// A unidirectional stream opened by one side: open one on the peer and copy.
pub(crate) async fn forward_uni(
    mut opener_recv: RecvStream,
    peer: quinn::Connection,
    up: ByteCount,
    tap_up: StreamTap,
    cancel: CancellationToken,
) {
    let opened = tokio::select! {
        biased;
        _ = cancel.cancelled() => None,
        opened = peer.open_uni() => opened.ok(),
    };
    let Some(peer_send) = opened else {
        let _ = opener_recv.stop(peer_gone());
        return;
    };
    copy(opener_recv, peer_send, &up, tap_up, &cancel).await;
}

/// Copies `recv` into `send` until the end, propagating finish, reset and stop. Each chunk passes
/// through `tap` first (a no-op without the `tap` feature).
async fn copy(
    mut recv: RecvStream,
    mut send: SendStream,
    counter: &ByteCount,
    tap: StreamTap,
    cancel: &CancellationToken,
) {
    let mut first = true;
    loop {
        let read = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                abandon(&mut recv, &mut send);
                return;
            }
            stopped = send.stopped() => {
                // The receiver no longer wants the data: tell the sender with the same code.
                let code = match stopped {
                    Ok(Some(code)) => code,
                    Ok(None) | Err(_) => peer_gone(),
                };
                let _ = recv.stop(code);
                return;
            }
            read = recv.read_chunk(CHUNK, true) => read,
        };
        match read {
            Ok(Some(mut chunk)) => {
                let arrived = Instant::now();
                if !tap.apply(&mut chunk) {
                    continue;
                }
                if std::mem::take(&mut first)
                    && chunk.offset == 0
                    && chunk.bytes.first() == Some(&(tandem_proto::StreamKind::Bulk as u8))
                {
                    // A bulk stream (file data) yields to the session's other streams on this
                    // link too, as it does on the sender's. The kind byte is plaintext by design
                    // (PROTOCOL.md §1); it says nothing about the content.
                    let _ = send.set_priority(-1);
                }
                let len = chunk.bytes.len() as u64;
                let written = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => {
                        abandon(&mut recv, &mut send);
                        return;
                    }
                    written = send.write_chunk(chunk.bytes) => written,
                };
                match written {
                    Ok(()) => {
                        counter.add(len, arrived.elapsed());
                    }
                    Err(WriteError::Stopped(code)) => {
                        let _ = recv.stop(code);
                        return;
                    }
                    Err(_) => {
                        let _ = recv.stop(peer_gone());
                        return;
                    }
                }
            }
            Ok(None) => {
                let _ = send.finish();
                return;
            }
            Err(ReadError::Reset(code)) => {
                let _ = send.reset(code);
                return;
            }
            Err(_) => {
                let _ = send.reset(peer_gone());
                return;
            }
        }
    }
}

fn abandon(recv: &mut RecvStream, send: &mut SendStream) {
    let _ = send.reset(peer_gone());
    let _ = recv.stop(peer_gone());
}
