//! The one driver shape host and viewer share around their sans-IO session machines
//! ([`tandem_proto::flow`]): a reader task per incoming stream and a writer task per outgoing stream,
//! each behind a bounded queue, so the session loop never awaits the network. A peer that stops
//! reading fills a queue, never blocks the loop; Stop always acts at once.

use std::sync::Arc;

use tandem_proto::StreamKind;
use tandem_proto::bulk::Bulk;
use tandem_proto::flow::{Machine, PeerGone, Transmit};
use tandem_proto::session::{Control, FrameMsg, Input};
use tandem_proto::wire::Message;
use tandem_relay::RelayClient;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::{AbortOnDrop, Link, LinkError, SealedRecv, SealedSend, Streams};

/// Messages queued for the control stream before the peer counts as not reading it.
const CONTROL_QUEUE: usize = 64;
/// Frames-stream messages queued: a few updates (the flow-control window bounds them) plus cursor
/// positions, which are dropped rather than queued beyond this.
const FRAMES_QUEUE: usize = 32;
/// Input events queued towards the host; beyond this, input is dropped (the link is far too slow).
const INPUT_QUEUE: usize = 4096;
/// Bulk messages (file and clipboard chunks, up to 256 KiB each) queued for the bulk stream: enough
/// to keep a fast link busy, bounded so a file's size never shows in memory.
const BULK_QUEUE: usize = 16;
/// Messages from all incoming streams but bulk waiting for the session loop.
const INCOMING_QUEUE: usize = 256;
/// Bulk messages read ahead of the session loop. Separate from the rest, so a receiver that pauses
/// bulk (its disk is slower than the link) never holds up control, frames or input.
const INCOMING_BULK_QUEUE: usize = 4;

/// Something from the peer, for the session loop.
#[derive(Debug)]
pub enum Incoming {
    Control(Control),
    Frame(FrameMsg),
    Input(Input),
    /// From the peer's bulk stream, which is read only while the caller wants it.
    Bulk(Bulk),
    /// A stream or the connection ended, or broke the protocol.
    Gone(PeerGone),
}

/// How this side names its peer in what it tells its user ("The technician", "The host").
#[derive(Debug, Clone, Copy)]
pub struct PeerName(pub &'static str);

impl PeerName {
    fn gone(self, error: &LinkError) -> PeerGone {
        if error.is_peer_gone() {
            PeerGone::Left {
                detail: format!("{} left: {}", self.0, crate::describe(error)),
            }
        } else {
            PeerGone::Broken {
                detail: crate::describe(error),
            }
        }
    }

    fn closed(self) -> PeerGone {
        PeerGone::Left {
            detail: format!("{} closed the session.", self.0),
        }
    }
}

/// A writer task that owns one outgoing stream, fed by a bounded queue.
struct Writer<M> {
    queue: Option<mpsc::Sender<M>>,
    _task: AbortOnDrop<()>,
}

impl<M: Message + Send + Sync + 'static> Writer<M> {
    /// Writes queued messages to `send` in order; when the queue is closed, finishes the stream.
    fn spawn(
        send: SealedSend,
        capacity: usize,
        incoming: mpsc::Sender<Incoming>,
        peer: PeerName,
    ) -> Self {
        Self::spawn_with(capacity, incoming, peer, async move { Ok(send) })
    }

    /// Like [`Writer::spawn`], on a stream `open` opens first (queued messages wait for it).
    fn spawn_with(
        capacity: usize,
        incoming: mpsc::Sender<Incoming>,
        peer: PeerName,
        open: impl Future<Output = Result<SealedSend, LinkError>> + Send + 'static,
    ) -> Self {
        let (queue, mut rx) = mpsc::channel::<M>(capacity);
        let task = tokio::spawn(async move {
            let result = async {
                let mut send = open.await?;
                while let Some(msg) = rx.recv().await {
                    send.send(&msg).await?;
                }
                send.finish();
                Ok::<_, LinkError>(())
            }
            .await;
            if let Err(e) = result {
                debug!(error = %e, "a stream writer stopped");
                // The loop may be gone already; then nobody needs to know.
                let _ = incoming.send(Incoming::Gone(peer.gone(&e))).await;
            }
        });
        Self {
            queue: Some(queue),
            _task: AbortOnDrop(task),
        }
    }

    /// A handle to queue messages from another task, waiting while the queue is full.
    fn sender(&self) -> Option<mpsc::Sender<M>> {
        self.queue.clone()
    }

    /// Queues `msg`; gives it back if the queue is full (the peer is not reading) or closed.
    /// Messages waiting in the queue (0 without one).
    fn queued(&self) -> usize {
        self.queue
            .as_ref()
            .map_or(0, |queue| queue.max_capacity() - queue.capacity())
    }

    fn try_send(&self, msg: M) -> Result<(), M> {
        match &self.queue {
            Some(queue) => queue.try_send(msg).map_err(|e| match e {
                mpsc::error::TrySendError::Full(m) | mpsc::error::TrySendError::Closed(m) => m,
            }),
            None => Err(msg),
        }
    }

    /// No more messages: the task finishes the stream once the queue is written.
    fn close_queue(&mut self) {
        self.queue = None;
    }
}

/// Reads `recv` until it ends, passing each message to the loop as `wrap(msg)`. A clean end of the
/// control stream means the peer closed the session; a clean end of another stream means nothing by
/// itself (a peer finishes them all when it ends, and its `End` on the control stream says why).
fn spawn_reader<M: Message + Send + 'static>(
    open: impl Future<Output = Result<SealedRecv, LinkError>> + Send + 'static,
    incoming: mpsc::Sender<Incoming>,
    peer: PeerName,
    wrap: fn(M) -> Incoming,
    end_is_close: bool,
) -> AbortOnDrop<()> {
    AbortOnDrop(tokio::spawn(async move {
        let mut recv = match open.await {
            Ok(recv) => recv,
            Err(e) => {
                let _ = incoming.send(Incoming::Gone(peer.gone(&e))).await;
                return;
            }
        };
        loop {
            let item = match recv.next::<M>().await {
                Ok(Some(msg)) => wrap(msg),
                Ok(None) if end_is_close => Incoming::Gone(peer.closed()),
                Ok(None) => return,
                Err(e) => Incoming::Gone(peer.gone(&e)),
            };
            let last = matches!(item, Incoming::Gone(_));
            // Backpressure: a full loop queue stops reading, and QUIC flow control stops the peer.
            if incoming.send(item).await.is_err() || last {
                return;
            }
        }
    }))
}

/// Reads the peer's bulk stream into its own queue; its end or failure goes to the loop's queue.
fn spawn_bulk_reader(
    open: impl Future<Output = Result<SealedRecv, LinkError>> + Send + 'static,
    bulk: mpsc::Sender<Bulk>,
    incoming: mpsc::Sender<Incoming>,
    peer: PeerName,
) -> AbortOnDrop<()> {
    AbortOnDrop(tokio::spawn(async move {
        let result = async {
            let mut recv = open.await?;
            while let Some(msg) = recv.next::<Bulk>().await? {
                if bulk.send(msg).await.is_err() {
                    break;
                }
            }
            Ok::<_, LinkError>(())
        }
        .await;
        if let Err(e) = result {
            let _ = incoming.send(Incoming::Gone(peer.gone(&e))).await;
        }
    }))
}

/// The session's streams and tasks, driven by the side's loop through a [`Machine`].
pub struct SessionDriver {
    relay: RelayClient,
    streams: Arc<Streams>,
    peer: PeerName,
    control: Writer<Control>,
    frames: Option<Writer<FrameMsg>>,
    input: Option<Writer<Input>>,
    bulk: Option<Writer<Bulk>>,
    incoming_tx: mpsc::Sender<Incoming>,
    incoming: mpsc::Receiver<Incoming>,
    bulk_tx: mpsc::Sender<Bulk>,
    bulk_in: mpsc::Receiver<Bulk>,
    readers: Vec<AbortOnDrop<()>>,
    /// The relay already reported the peer gone (or itself lost): don't ask again.
    relay_done: bool,
    dropped_input: u64,
    /// A cursor image found the frames queue full: the loop sends it again (positions are replaced
    /// by the next one, a shape is not).
    dropped_cursor_shape: bool,
}

impl SessionDriver {
    /// Starts the control stream's reader and writer over an established link.
    pub fn new(link: Link, relay: RelayClient, peer: PeerName) -> Self {
        let (incoming_tx, incoming) = mpsc::channel(INCOMING_QUEUE);
        let (bulk_tx, bulk_in) = mpsc::channel(INCOMING_BULK_QUEUE);
        let control = Writer::spawn(link.control_send, CONTROL_QUEUE, incoming_tx.clone(), peer);
        let control_recv = link.control_recv;
        let reader = spawn_reader::<Control>(
            async move { Ok(control_recv) },
            incoming_tx.clone(),
            peer,
            Incoming::Control,
            true,
        );
        Self {
            relay,
            streams: Arc::new(link.streams),
            peer,
            control,
            frames: None,
            input: None,
            bulk: None,
            incoming_tx,
            incoming,
            bulk_tx,
            bulk_in,
            readers: vec![reader],
            relay_done: false,
            dropped_input: 0,
            dropped_cursor_shape: false,
        }
    }

    /// Opens this side's outgoing stream of `kind` in the background; messages for it queue meanwhile.
    pub fn start_sending(&mut self, kind: StreamKind) {
        let streams = self.streams.clone();
        let open = async move { streams.open_uni(kind).await };
        let tx = self.incoming_tx.clone();
        match kind {
            StreamKind::Frames => {
                self.frames = Some(Writer::spawn_with(FRAMES_QUEUE, tx, self.peer, open));
            }
            StreamKind::Input => {
                self.input = Some(Writer::spawn_with(INPUT_QUEUE, tx, self.peer, open));
            }
            StreamKind::Bulk => {
                self.bulk = Some(Writer::spawn_with(BULK_QUEUE, tx, self.peer, open));
            }
            StreamKind::Control => warn!("the control stream is opened by the handshake"),
        }
    }

    /// Accepts the peer's stream of `kind` in the background and reads it into [`Self::next_incoming`].
    pub fn start_receiving(&mut self, kind: StreamKind) {
        let streams = self.streams.clone();
        let open = async move { streams.accept_uni(kind).await };
        let tx = self.incoming_tx.clone();
        let reader = match kind {
            StreamKind::Frames => {
                spawn_reader::<FrameMsg>(open, tx, self.peer, Incoming::Frame, false)
            }
            StreamKind::Input => spawn_reader::<Input>(open, tx, self.peer, Incoming::Input, false),
            StreamKind::Bulk => spawn_bulk_reader(open, self.bulk_tx.clone(), tx, self.peer),
            StreamKind::Control => {
                warn!("the control stream is accepted by the handshake");
                return;
            }
        };
        self.readers.push(reader);
    }

    /// Routes every message the machine queued to its stream's writer. Never waits: a control queue
    /// that is full means the peer stopped reading, which ends the session.
    pub fn flush(&mut self, machine: &mut impl Machine, now: std::time::Instant) {
        while let Some(transmit) = machine.poll_transmit() {
            let stuck = match transmit {
                Transmit::Control(msg) => self.control.try_send(msg).is_err(),
                Transmit::Frame(msg) => {
                    let is_update = matches!(msg, FrameMsg::Update { .. });
                    let is_shape = matches!(msg, FrameMsg::CursorShape { .. });
                    let queued = self.frames.as_ref().map(|w| w.try_send(msg).is_ok());
                    // A dropped cursor position or statistic is replaced by the next; a dropped
                    // update is not, and a dropped shape is sent again by the loop.
                    self.dropped_cursor_shape |= is_shape && queued == Some(false);
                    is_update && queued != Some(true)
                }
                Transmit::Input(msg) => {
                    let queued = self.input.as_ref().is_some_and(|w| w.try_send(msg).is_ok());
                    if !queued {
                        self.dropped_input += 1;
                        if self.dropped_input.is_power_of_two() {
                            warn!(
                                dropped = self.dropped_input,
                                "input dropped: the link is too slow"
                            );
                        }
                    }
                    false
                }
            };
            if stuck && !machine.is_ended() {
                machine.handle_peer_gone(
                    PeerGone::Left {
                        detail: format!("{} stopped reading what this side sends.", self.peer.0),
                    },
                    now,
                );
            }
        }
        if machine.is_ended() {
            // Nothing after the End: let each writer finish its stream once its queue is out.
            self.control.close_queue();
            if let Some(w) = &mut self.frames {
                w.close_queue();
            }
            if let Some(w) = &mut self.input {
                w.close_queue();
            }
            if let Some(w) = &mut self.bulk {
                w.close_queue();
            }
        }
    }

    /// Frames messages queued and not yet written: a side that sends updates without the peer's
    /// acknowledgements (the technician's screen, "Show my screen") captures only while this is
    /// low, so the link's pace sets its frame rate and nothing is ever dropped. `None` while the
    /// frames stream is not open.
    pub fn frames_queued(&self) -> Option<usize> {
        self.frames.as_ref().map(Writer::queued)
    }

    /// Whether a cursor image was dropped (frames queue full) since the last call; the caller
    /// queues the current image again.
    pub fn take_dropped_cursor_shape(&mut self) -> bool {
        std::mem::take(&mut self.dropped_cursor_shape)
    }

    /// The QUIC round-trip time to the relay (the path's first half; the peer measures the other).
    pub fn rtt(&self) -> std::time::Duration {
        self.relay.connection().rtt()
    }

    /// A handle that queues bulk messages (file data, clipboard parts) for the peer, waiting while
    /// the queue is full: the producer runs at the link's pace. `None` before
    /// `start_sending(StreamKind::Bulk)` or after the session ended.
    pub fn bulk_sender(&self) -> Option<mpsc::Sender<Bulk>> {
        self.bulk.as_ref().and_then(Writer::sender)
    }

    /// The next thing from the peer: a message on any stream, or the peer going away (by its
    /// streams, or as the relay reports). Bulk messages come last, and only when `want_bulk`: not
    /// asking pauses the peer's bulk stream only (QUIC flow control), never the others.
    /// Cancel-safe.
    pub async fn next_incoming(&mut self, want_bulk: bool) -> Incoming {
        let peer = self.peer;
        tokio::select! {
            biased;
            Some(item) = self.incoming.recv() => item,
            Some(bulk) = self.bulk_in.recv(), if want_bulk => Incoming::Bulk(bulk),
            left = self.relay.peer_left(), if !self.relay_done => {
                self.relay_done = true;
                Incoming::Gone(PeerGone::Left {
                    detail: match left {
                        Ok(()) => format!("{} left (their connection closed).", peer.0),
                        Err(e) => format!("The connection to the relay was lost: {}", crate::describe(&e)),
                    },
                })
            }
        }
    }

    /// Lets a lost link go: closes its connection (in case it still lives) without waiting, and
    /// stops every task.
    pub fn abandon(self, reason: &str) {
        self.relay.close(reason);
    }

    /// Closes the connection (whatever is still queued is dropped) and waits briefly for the close to
    /// be sent.
    pub async fn close(self, reason: &str) {
        drop(self.readers);
        self.relay.close_and_wait(reason).await;
    }
}
