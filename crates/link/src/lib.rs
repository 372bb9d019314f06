//! The end-to-end link between a host and a viewer: the streams the relay forwards, the SPAKE2
//! handshake driven over the control stream, and sealed message streams after it.
//!
//! The relay sees only ciphertext here: nothing on these streams is readable without the code's secret.

mod driver;
mod stream;

mod accept;
mod reconnect;

use std::time::Duration;

use quinn::Connection;
use tandem_proto::Direction;
use tandem_proto::StreamKind;
use tandem_proto::code::SessionCode;
use tandem_proto::framing::FramingError;
use tandem_proto::handshake::{
    Credential, HandshakeError, HandshakeMessage, HostHandshake, ResumeTicket, SessionKeys,
    ViewerHandshake,
};
use tandem_proto::seal::{OpenError, SealError};
use tandem_proto::wire::DecodeError;
use thiserror::Error;

pub use driver::{Incoming, PeerName, SessionDriver};
pub use reconnect::{ReconnectError, ResumeTarget, reconnect};
pub use stream::{FramedRecv, SealedRecv, SealedSend};

/// How long a peer may take to open a stream or answer a handshake step.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a failing handshake waits for its `Failed` message to be delivered before returning, so
/// the caller closing the connection right after does not discard it.
const FAIL_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LinkError {
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error("the connection was lost: {0}")]
    Connection(#[from] quinn::ConnectionError),
    #[error("reading from the peer failed: {0}")]
    Read(#[from] quinn::ReadError),
    #[error("sending to the peer failed: {0}")]
    Write(#[from] quinn::WriteError),
    #[error("the peer sent an oversized message: {0}")]
    Framing(#[from] FramingError),
    #[error("the peer sent a malformed message: {0}")]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("the peer opened an unexpected stream (kind byte {got})")]
    UnexpectedStream { got: u8 },
    #[error("the peer closed the stream")]
    Closed,
    /// A second stream of a kind that already has one: its key would reuse nonces.
    #[error("a second {kind:?} stream was opened; each kind has one stream per direction")]
    DuplicateStream { kind: StreamKind },
    #[error("the peer did not answer within {0:?}")]
    Timeout(Duration),
}

impl LinkError {
    /// Whether this means the peer (or the path to it) went away, as opposed to the peer breaking the
    /// protocol: reads and writes that failed because a stream or the connection ended.
    pub fn is_peer_gone(&self) -> bool {
        matches!(
            self,
            Self::Connection(_) | Self::Read(_) | Self::Write(_) | Self::Closed | Self::Timeout(_)
        )
    }
}

/// An established, authenticated link: the sealed control stream both ways, and the keys for the
/// other streams.
pub struct Link {
    pub control_send: SealedSend,
    pub control_recv: SealedRecv,
    /// Short check both sides show, for a cautious user to compare over the phone.
    pub verifier: String,
    /// What this link can be resumed with if it is lost (one use: a resumed link has a new one).
    pub resume: ResumeTicket,
    pub streams: Streams,
}

/// Opens and accepts the link's other streams, each sealed with its own key.
pub struct Streams {
    pub connection: Connection,
    keys: SessionKeys,
    local: Direction,
    used: StreamClaims,
    /// The peer's unidirectional streams, sorted by kind as they arrive (in any order).
    incoming: accept::UniStreams,
}

/// QUIC send priority of each outgoing stream: bulk data yields to everything else, so a large
/// transfer never delays the screen, the input or the control messages.
fn priority(kind: StreamKind) -> i32 {
    match kind {
        StreamKind::Input => 2,
        StreamKind::Control => 1,
        StreamKind::Frames => 0,
        StreamKind::Bulk => -1,
    }
}

/// The (kind, direction) pairs already in use: each key seals one stream only, since a second stream
/// under it would start its nonce counter at 0 again.
#[derive(Debug)]
struct StreamClaims(std::sync::Mutex<Vec<(StreamKind, Direction)>>);

impl StreamClaims {
    /// Claims start with the control stream both ways (the handshake opened it).
    fn new(local: Direction) -> Self {
        Self(std::sync::Mutex::new(vec![
            (StreamKind::Control, local),
            (StreamKind::Control, local.reverse()),
        ]))
    }

    fn claim(&self, kind: StreamKind, direction: Direction) -> Result<(), LinkError> {
        let mut used = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if used.contains(&(kind, direction)) {
            return Err(LinkError::DuplicateStream { kind });
        }
        used.push((kind, direction));
        Ok(())
    }
}

impl Streams {
    /// Opens a unidirectional stream of `kind` towards the peer, sealed with this side's key for it.
    /// Once per kind: a second call is an error.
    pub async fn open_uni(&self, kind: StreamKind) -> Result<SealedSend, LinkError> {
        self.used.claim(kind, self.local)?;
        let mut send = self.connection.open_uni().await?;
        // Only fails once the stream is closed, which the write below reports.
        let _ = send.set_priority(priority(kind));
        send.write_all(&[kind as u8]).await?;
        Ok(SealedSend::new(send, self.keys.sealer(kind, self.local)))
    }

    /// Accepts the peer's unidirectional stream of `kind`, whichever order the peer opened its
    /// streams in. Once per kind: a second call is an error.
    pub async fn accept_uni(&self, kind: StreamKind) -> Result<SealedRecv, LinkError> {
        self.used.claim(kind, self.local.reverse())?;
        let framed = within(self.incoming.take(kind)).await??;
        Ok(SealedRecv::new(
            framed,
            self.keys.opener(kind, self.local.reverse()),
        ))
    }
}

async fn within<T>(fut: impl Future<Output = T>) -> Result<T, LinkError> {
    tokio::time::timeout(STEP_TIMEOUT, fut)
        .await
        .map_err(|_| LinkError::Timeout(STEP_TIMEOUT))
}

/// Host side: accepts the viewer's control stream and runs the handshake on it.
///
/// On a wrong code the viewer is told so before the error returns; the code is then dead, since the
/// relay forgot it at the join.
pub async fn host_handshake(
    connection: Connection,
    code: &SessionCode,
    relay_id: &[u8; 32],
) -> Result<Link, LinkError> {
    host_handshake_with(connection, Credential::Code(code), relay_id).await
}

/// Host side of a handshake proving `credential`: a code, or the resume ticket of a lost link.
pub async fn host_handshake_with(
    connection: Connection,
    credential: Credential<'_>,
    relay_id: &[u8; 32],
) -> Result<Link, LinkError> {
    let (send, recv) = within(connection.accept_bi()).await??;
    let mut recv = FramedRecv::new(recv, StreamKind::Control.max_frame_len());
    recv.expect_kind(StreamKind::Control).await?;
    let mut send = stream::PlainSend::new(send);

    let mut handshake = HostHandshake::with(credential, relay_id);
    let hello = within(recv.next_plain::<HandshakeMessage>()).await??;
    let host_hello = match handshake.on_viewer_hello(hello) {
        Ok(msg) => msg,
        Err(e) => return Err(fail(&mut send, e).await),
    };
    send.send(&host_hello).await?;
    let confirm = within(recv.next_plain::<HandshakeMessage>()).await??;
    let keys = match handshake.on_viewer_confirm(confirm) {
        Ok(keys) => keys,
        Err(e) => return Err(fail(&mut send, e).await),
    };
    Ok(finish(
        connection,
        send,
        recv,
        keys,
        Direction::HostToViewer,
    ))
}

/// Viewer side: opens the control stream and runs the handshake on it.
pub async fn viewer_handshake(
    connection: Connection,
    code: &SessionCode,
    relay_id: &[u8; 32],
) -> Result<Link, LinkError> {
    viewer_handshake_with(connection, Credential::Code(code), relay_id).await
}

/// Viewer side of a handshake proving `credential`: a code, or the resume ticket of a lost link.
pub async fn viewer_handshake_with(
    connection: Connection,
    credential: Credential<'_>,
    relay_id: &[u8; 32],
) -> Result<Link, LinkError> {
    let (send, recv) = connection.open_bi().await?;
    let mut send = stream::PlainSend::new(send);
    send.write_kind(StreamKind::Control).await?;
    let mut recv = FramedRecv::new(recv, StreamKind::Control.max_frame_len());

    let (handshake, hello) = ViewerHandshake::start_with(credential, relay_id);
    send.send(&hello).await?;
    let host_hello = within(recv.next_plain::<HandshakeMessage>()).await??;
    let (confirm, keys) = match handshake.on_host_hello(host_hello) {
        Ok(done) => done,
        Err(e) => return Err(fail(&mut send, e).await),
    };
    send.send(&confirm).await?;
    Ok(finish(
        connection,
        send,
        recv,
        keys,
        Direction::ViewerToHost,
    ))
}

/// Tells the peer why the handshake failed (best effort), and returns the error to report locally.
/// Waits (at most [`FAIL_GRACE`]) until the message is delivered: callers close the connection next,
/// which would otherwise drop it, and the peer would see a reset stream instead of the reason.
async fn fail(send: &mut stream::PlainSend, error: HandshakeError) -> LinkError {
    if let Some(msg) = error.fail_message() {
        // The peer may already be gone; the local error is what matters.
        if send.send(&msg).await.is_ok() && send.finish().is_ok() {
            let _ = tokio::time::timeout(FAIL_GRACE, send.delivered()).await;
        }
    }
    LinkError::Handshake(error)
}

fn finish(
    connection: Connection,
    send: stream::PlainSend,
    recv: FramedRecv,
    keys: SessionKeys,
    local: Direction,
) -> Link {
    let control_send = SealedSend::new(send.into_inner(), keys.sealer(StreamKind::Control, local));
    let control_recv = SealedRecv::new(recv, keys.opener(StreamKind::Control, local.reverse()));
    Link {
        control_send,
        control_recv,
        verifier: keys.verifier(),
        resume: keys.resume_ticket(),
        streams: Streams {
            incoming: accept::UniStreams::spawn(connection.clone()),
            connection,
            keys,
            local,
            used: StreamClaims::new(local),
        },
    }
}

/// An error and its causes on one line (`outer: inner: innermost`), for messages shown to people.
pub fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        // Some errors already include their cause in their own text.
        if !text.ends_with(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        cause = inner.source();
    }
    text
}

/// Owns a spawned task and aborts it when dropped, so no task outlives the session that made it.
pub struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_stream_of_a_kind_is_refused_each_way() {
        let claims = StreamClaims::new(Direction::HostToViewer);
        assert!(
            claims
                .claim(StreamKind::Frames, Direction::HostToViewer)
                .is_ok()
        );
        assert!(matches!(
            claims.claim(StreamKind::Frames, Direction::HostToViewer),
            Err(LinkError::DuplicateStream {
                kind: StreamKind::Frames
            })
        ));
        assert!(
            claims
                .claim(StreamKind::Input, Direction::ViewerToHost)
                .is_ok()
        );
        assert!(
            claims
                .claim(StreamKind::Input, Direction::ViewerToHost)
                .is_err()
        );
        // The handshake's control stream is taken both ways.
        assert!(
            claims
                .claim(StreamKind::Control, Direction::ViewerToHost)
                .is_err()
        );
    }
}
