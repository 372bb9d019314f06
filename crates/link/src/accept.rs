//! The peer's unidirectional streams arrive in whatever order it opened them (frames and bulk from
//! the host may cross). One task accepts them all, reads each one's kind byte and parks it until the
//! session asks for that kind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use quinn::{Connection, RecvStream};
use tandem_proto::StreamKind;
use tokio::sync::Notify;
use tracing::debug;

use crate::{AbortOnDrop, FramedRecv, LinkError, STEP_TIMEOUT};

#[derive(Default)]
struct Parked {
    /// Streams that arrived and wait to be taken.
    ready: HashMap<StreamKind, FramedRecv>,
    /// Kinds that already arrived once (taken or not): a second one is an error.
    seen: Vec<StreamKind>,
    /// The first thing that went wrong (connection lost, a junk or duplicate stream), for every
    /// waiter from then on.
    failed: Option<LinkError>,
}

struct Shared {
    parked: Mutex<Parked>,
    changed: Notify,
}

/// Accepts and sorts the peer's unidirectional streams; dropping it stops the task.
pub(crate) struct UniStreams {
    shared: Arc<Shared>,
    _task: AbortOnDrop<()>,
}

impl UniStreams {
    pub(crate) fn spawn(connection: Connection) -> Self {
        let shared = Arc::new(Shared {
            parked: Mutex::new(Parked::default()),
            changed: Notify::new(),
        });
        let task = tokio::spawn(accept_all(connection, shared.clone()));
        Self {
            shared,
            _task: AbortOnDrop(task),
        }
    }

    /// The peer's stream of `kind`, once it has arrived.
    pub(crate) async fn take(&self, kind: StreamKind) -> Result<FramedRecv, LinkError> {
        loop {
            // Registered before looking, so a stream parked in between still wakes us.
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut parked = lock(&self.shared);
                if let Some(stream) = parked.ready.remove(&kind) {
                    return Ok(stream);
                }
                if let Some(error) = &parked.failed {
                    return Err(copy_error(error));
                }
            }
            changed.await;
        }
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Parked> {
    shared
        .parked
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `LinkError` is not `Clone` (it wraps quinn's errors); waiters get an equivalent.
fn copy_error(error: &LinkError) -> LinkError {
    match error {
        LinkError::UnexpectedStream { got } => LinkError::UnexpectedStream { got: *got },
        LinkError::DuplicateStream { kind } => LinkError::DuplicateStream { kind: *kind },
        LinkError::Connection(e) => LinkError::Connection(e.clone()),
        LinkError::Timeout(d) => LinkError::Timeout(*d),
        _ => LinkError::Closed,
    }
}

async fn accept_all(connection: Connection, shared: Arc<Shared>) {
    loop {
        let result = match connection.accept_uni().await {
            Ok(recv) => {
                // Read the kind byte off the accept loop: a peer that opens a stream and says
                // nothing must not hold up the next one.
                let shared = shared.clone();
                tokio::spawn(async move {
                    let result = tokio::time::timeout(STEP_TIMEOUT, read_kind(recv))
                        .await
                        .unwrap_or(Err(LinkError::Timeout(STEP_TIMEOUT)));
                    park(&shared, result);
                });
                continue;
            }
            Err(e) => Err(LinkError::Connection(e)),
        };
        park(&shared, result);
        return;
    }
}

async fn read_kind(mut recv: RecvStream) -> Result<(StreamKind, FramedRecv), LinkError> {
    let mut tag = [0u8; 1];
    recv.read_exact(&mut tag)
        .await
        .map_err(|_| LinkError::Closed)?;
    let kind = StreamKind::from_u8(tag[0]).ok_or(LinkError::UnexpectedStream { got: tag[0] })?;
    if kind == StreamKind::Control {
        // The control stream is bidirectional and opened by the handshake.
        return Err(LinkError::UnexpectedStream { got: tag[0] });
    }
    Ok((kind, FramedRecv::new(recv, kind.max_frame_len())))
}

fn park(shared: &Shared, result: Result<(StreamKind, FramedRecv), LinkError>) {
    {
        let mut parked = lock(shared);
        match result {
            Ok((kind, stream)) if parked.seen.contains(&kind) => {
                debug!(?kind, "the peer opened a second stream of a kind");
                parked
                    .failed
                    .get_or_insert(LinkError::DuplicateStream { kind });
                drop(stream);
            }
            Ok((kind, stream)) => {
                parked.seen.push(kind);
                parked.ready.insert(kind, stream);
            }
            Err(e) => {
                parked.failed.get_or_insert(e);
            }
        }
    }
    shared.changed.notify_waiters();
}
