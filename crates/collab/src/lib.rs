//! Working together in a session, the same on both sides: chat, the system clipboard, and file
//! transfers. The session machine ([`tandem_proto::flow::Machine`]) decides what is allowed and
//! carries the control messages; this crate does the work around it: it reads and writes files
//! (through `tandem-files`, on threads of its own, bounded in memory), feeds the bulk stream at the
//! link's pace, watches and sets the system clipboard (through `tandem-clipboard`), and reports
//! [`Notice`]s to the front end.
//!
//! The session loop owns one [`Collab`] and calls it:
//! - [`Collab::handle_event`] with each [`CollabEvent`] the machine reports;
//! - [`Collab::handle_command`] with the user's [`CollabCommand`]s;
//! - [`Collab::next_work`] / [`Collab::handle_work`] in its `select!`, for what the threads report
//!   (including [`Work::Unblocked`] once a receiver thread that was full took its chunk);
//! - [`Collab::sync`] after anything that may change the grant;
//! - [`Collab::wants_bulk`] to know whether to read the peer's next bulk message (not while the
//!   disk is slower than the link);
//! - [`Collab::finish`] when the session ends.

mod clip;
mod fail;
mod incoming;
mod outgoing;
mod progress;
#[cfg(test)]
mod tests;
mod units;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tandem_proto::bulk::{Bulk, ClipFormat};
use tandem_proto::flow::{ChatFrom, CollabEvent, Machine};
use tandem_proto::limits::MAX_OPEN_OFFERS;
use tandem_proto::session::{Control, FileEntry};
use tandem_proto::text::for_display;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

pub use fail::{ClipFailReason, FailReason};
pub use tandem_files::Downloads;
pub use units::{human_bytes, human_secs};

/// How one side runs the tools.
#[derive(Debug, Clone)]
pub struct CollabConfig {
    /// Where received files land.
    pub downloads: PathBuf,
    /// Accept every file offer without asking (scripts).
    pub accept_files: bool,
    /// Sync the system clipboard when the session allows it. Off: clipboard messages are neither
    /// sent nor applied.
    pub system_clipboard: bool,
    /// How this side names its peer in notices ("The technician", "The user").
    pub peer: &'static str,
}

/// Which way a transfer goes, seen from this side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Way {
    Outgoing,
    Incoming,
}

/// A transfer: its direction and the offering side's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransferId {
    pub way: Way,
    pub id: u32,
}

impl fmt::Display for TransferId {
    /// `out-3`, `in-3`: what a user types to cancel it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let way = match self.way {
            Way::Outgoing => "out",
            Way::Incoming => "in",
        };
        write!(f, "{way}-{}", self.id)
    }
}

impl std::str::FromStr for TransferId {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (way, id) = s.split_once('-').ok_or(())?;
        let way = match way {
            "out" => Way::Outgoing,
            "in" => Way::Incoming,
            _ => return Err(()),
        };
        Ok(Self {
            way,
            id: id.parse().map_err(|_| ())?,
        })
    }
}

/// What the tools report to the front end. Texts and names from the peer are display-safe
/// (no control characters).
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Chat {
        from: ChatFrom,
        text: String,
    },
    /// This side's clipboard was sent to the peer.
    ClipboardSent {
        format: ClipFormat,
        bytes: usize,
    },
    /// The peer's clipboard was put on this side's clipboard.
    ClipboardReceived {
        format: ClipFormat,
        bytes: usize,
    },
    /// A clipboard content was not synced (over a limit, malformed, or the clipboard failed).
    ClipboardFailed {
        reason: ClipFailReason,
    },
    /// The peer offers files: answer with [`CollabCommand::Answer`] (unless files are accepted
    /// automatically, in which case `FileAccepted` follows).
    FileOffered {
        transfer: TransferId,
        name: String,
        files: usize,
        bytes: u64,
    },
    /// This side offered files and waits for the peer's answer.
    FileOfferSent {
        transfer: TransferId,
        name: String,
        files: usize,
        bytes: u64,
        /// Items of a folder that are not sent (links, special files, unsafe names), for a warning.
        skipped: Vec<String>,
    },
    /// The transfer starts; `resumed_from` bytes were already there from an interrupted one.
    FileAccepted {
        transfer: TransferId,
        resumed_from: u64,
    },
    FileProgress {
        transfer: TransferId,
        name: String,
        done: u64,
        total: u64,
        bytes_per_sec: f64,
        /// Seconds left at the current speed, when known.
        eta_secs: Option<f64>,
    },
    /// One file arrived, verified, and is in place.
    FileReceived {
        transfer: TransferId,
        path: PathBuf,
        bytes: u64,
        blake3: String,
    },
    /// The whole offer is done: every file arrived and was verified (on the sender's side, the
    /// receiver confirmed it).
    FileDone {
        transfer: TransferId,
        name: String,
        files: usize,
        bytes: u64,
        secs: f64,
    },
    FileFailed {
        transfer: TransferId,
        name: String,
        reason: FailReason,
    },
}

/// What the user asks of the tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollabCommand {
    Chat(String),
    /// Offer a file or a folder to the peer.
    SendPath(PathBuf),
    /// Answer the peer's offer `id`.
    Answer {
        id: u32,
        accept: bool,
    },
    Cancel(TransferId),
}

/// What the threads report back to the session loop.
#[derive(Debug)]
pub enum Work {
    /// A paused chunk was delivered: read bulk again.
    Unblocked,
    Scanned {
        id: u32,
        result: Result<tandem_files::Outgoing, FailReason>,
    },
    Progress {
        transfer: TransferId,
        done: u64,
    },
    /// The sender thread queued everything (or failed).
    SendFinished {
        id: u32,
        result: Result<(), String>,
    },
    /// The receiver thread checked the partial files: the offsets to resume from.
    ReceiveReady {
        id: u32,
        result: Result<Vec<u64>, String>,
    },
    EntryReceived {
        id: u32,
        path: PathBuf,
        bytes: u64,
        blake3: String,
    },
    ReceiveFinished {
        id: u32,
        result: Result<(), String>,
    },
    Clipboard(clip::ClipWork),
}

struct OutgoingOffer {
    name: String,
    source: Option<tandem_files::Outgoing>,
    total: u64,
    files: usize,
    cancel: Arc<AtomicBool>,
    progress: progress::Rate,
    /// The sender thread is done queueing: waiting for the receiver's `FileReceived`.
    sent: bool,
}

struct IncomingOffer {
    name: String,
    /// The offer's files, validated.
    entries: Vec<tandem_files::EntryMeta>,
    total: u64,
    /// Set once accepted: the receiver thread's queue.
    chunks: Option<mpsc::Sender<Bulk>>,
    cancel: Arc<AtomicBool>,
    progress: progress::Rate,
    answered: bool,
}

/// The collaboration tools of one session. See the crate docs for how a loop drives it.
pub struct Collab {
    config: CollabConfig,
    notify: Box<dyn Fn(Notice) + Send>,
    work_tx: mpsc::UnboundedSender<Work>,
    work_rx: mpsc::UnboundedReceiver<Work>,
    bulk: Option<mpsc::Sender<Bulk>>,
    next_offer: u32,
    outgoing: HashMap<u32, OutgoingOffer>,
    incoming: HashMap<u32, IncomingOffer>,
    /// A chunk the receiver thread had no room for: bulk reading pauses until it is delivered.
    blocked: Option<(mpsc::Sender<Bulk>, Bulk)>,
    clipboard: clip::ClipboardBridge,
}

impl Collab {
    /// Tools that report to the front end through `notify`.
    pub fn new(config: CollabConfig, notify: impl Fn(Notice) + Send + 'static) -> Self {
        let (work_tx, work_rx) = mpsc::unbounded_channel();
        let clipboard = clip::ClipboardBridge::new(config.system_clipboard, work_tx.clone());
        Self {
            config,
            notify: Box::new(notify),
            work_tx,
            work_rx,
            bulk: None,
            next_offer: 0,
            outgoing: HashMap::new(),
            incoming: HashMap::new(),
            blocked: None,
            clipboard,
        }
    }

    /// The bulk stream is open: where file data and clipboard parts go.
    pub fn set_bulk(&mut self, bulk: Option<mpsc::Sender<Bulk>>) {
        self.bulk = bulk;
    }

    fn notice(&self, notice: Notice) {
        (self.notify)(notice);
    }

    /// Follows the machine's grant: starts or stops watching the clipboard.
    pub fn sync(&mut self, machine: &impl Machine) {
        self.clipboard.follow(machine.clipboard_allowed());
    }

    /// Whether the loop should read the peer's next bulk message now.
    pub fn wants_bulk(&self) -> bool {
        self.blocked.is_none()
    }

    /// The next report from a thread, or [`Work::Unblocked`] once a paused chunk reached its
    /// receiver thread (bulk reading resumes). Cancel-safe.
    pub async fn next_work(&mut self) -> Work {
        let queue = self.blocked.as_ref().map(|(queue, _)| queue.clone());
        let room = async {
            match &queue {
                Some(queue) => queue.reserve().await.ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            work = self.work_rx.recv() => match work {
                Some(work) => work,
                // `self` holds a sender: never reached.
                None => std::future::pending().await,
            },
            permit = room => {
                // A closed queue means the transfer ended meanwhile: the chunk is moot.
                if let (Some(permit), Some((_, msg))) = (permit, self.blocked.take()) {
                    permit.send(msg);
                }
                self.blocked = None;
                Work::Unblocked
            }
        }
    }

    /// A command from this side's user.
    pub fn handle_command(&mut self, machine: &mut impl Machine, command: CollabCommand) {
        match command {
            CollabCommand::Chat(text) => match machine.send_chat(&text) {
                Ok(()) => {
                    let text = machine
                        .transcript()
                        .last()
                        .map(|(_, t)| t.clone())
                        .unwrap_or_default();
                    self.notice(Notice::Chat {
                        from: ChatFrom::Us,
                        text,
                    });
                }
                Err(e) => warn!(error = %e, "chat message not sent"),
            },
            CollabCommand::SendPath(path) => self.offer_path(machine, path),
            CollabCommand::Answer { id, accept } => self.answer(machine, id, accept),
            CollabCommand::Cancel(transfer) => {
                self.cancel(machine, transfer, FailReason::YouCancelled, Some(""));
            }
        }
    }

    fn offer_path(&mut self, machine: &mut impl Machine, path: PathBuf) {
        let transfer = TransferId {
            way: Way::Outgoing,
            id: self.next_offer,
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let fail = |this: &Self, reason: FailReason| {
            this.notice(Notice::FileFailed {
                transfer,
                name: for_display(&name).into_owned(),
                reason,
            })
        };
        if !machine.collab_active() {
            fail(self, FailReason::NotSharingYet);
            return;
        }
        if self.outgoing.len() >= MAX_OPEN_OFFERS {
            fail(
                self,
                FailReason::TooManyOpen {
                    max: MAX_OPEN_OFFERS,
                },
            );
            return;
        }
        self.next_offer += 1;
        self.outgoing.insert(
            transfer.id,
            OutgoingOffer {
                name: name.clone(),
                source: None,
                total: 0,
                files: 0,
                cancel: Arc::new(AtomicBool::new(false)),
                progress: progress::Rate::default(),
                sent: false,
            },
        );
        // A folder can be large: list it off the loop.
        let work = self.work_tx.clone();
        let id = transfer.id;
        std::thread::Builder::new()
            .name("tandem-scan".into())
            .spawn(move || {
                let result = tandem_files::scan(&path).map_err(|e| FailReason::ScanFailed {
                    detail: e.to_string(),
                });
                let _ = work.send(Work::Scanned { id, result });
            })
            .map(drop)
            .unwrap_or_else(|e| {
                let _ = self.work_tx.send(Work::Scanned {
                    id,
                    result: Err(FailReason::CannotStart {
                        detail: e.to_string(),
                    }),
                });
            });
    }

    fn answer(&mut self, machine: &mut impl Machine, id: u32, accept: bool) {
        let Some(offer) = self.incoming.get_mut(&id) else {
            warn!(id, "answer to an offer that is not open");
            return;
        };
        if offer.answered {
            return;
        }
        offer.answered = true;
        if !accept {
            self.refuse_incoming(machine, id, FailReason::YouRefused);
            return;
        }
        let downloads = match Downloads::open(self.config.downloads.clone()) {
            Ok(d) => d,
            Err(e) => {
                let reason = FailReason::DownloadsUnusable {
                    detail: e.to_string(),
                };
                self.refuse_incoming(machine, id, reason);
                return;
            }
        };
        let (chunks, rx) = mpsc::channel(incoming::QUEUE);
        offer.chunks = Some(chunks);
        incoming::spawn(
            id,
            downloads,
            offer.entries.clone(),
            rx,
            offer.cancel.clone(),
            self.work_tx.clone(),
        );
    }

    fn refuse_incoming(&mut self, machine: &mut impl Machine, id: u32, reason: FailReason) {
        if let Some(offer) = self.incoming.remove(&id) {
            self.refuse_offer(machine, id, offer.name, reason);
        }
    }

    /// Answers the peer's offer `id` with no, and tells the user why.
    fn refuse_offer(
        &mut self,
        machine: &mut impl Machine,
        id: u32,
        name: String,
        reason: FailReason,
    ) {
        let _ = machine.send_file_control(Control::FileAnswer {
            id,
            accept: false,
            resume_from: Vec::new(),
        });
        self.notice(Notice::FileFailed {
            transfer: TransferId {
                way: Way::Incoming,
                id,
            },
            name,
            reason,
        });
    }

    /// Ends a transfer: stops its thread, tells the user `reason` and, with `for_peer`, the peer why
    /// (empty: this side's user cancelled it).
    fn cancel(
        &mut self,
        machine: &mut impl Machine,
        transfer: TransferId,
        reason: FailReason,
        for_peer: Option<&str>,
    ) {
        let (name, sender_side) = match transfer.way {
            Way::Outgoing => match self.outgoing.remove(&transfer.id) {
                Some(offer) => {
                    offer.cancel.store(true, Ordering::Relaxed);
                    (offer.name, true)
                }
                None => return,
            },
            Way::Incoming => match self.incoming.remove(&transfer.id) {
                Some(offer) => {
                    // The thread deletes the partial files when it sees the flag and its queue close.
                    offer.cancel.store(true, Ordering::Relaxed);
                    (offer.name, false)
                }
                None => return,
            },
        };
        if let Some(detail) = for_peer {
            let _ =
                machine.send_file_control(Control::file_cancel(transfer.id, sender_side, detail));
        }
        self.notice(Notice::FileFailed {
            transfer,
            name,
            reason,
        });
    }

    /// Something from the peer, as the machine passed it on.
    pub fn handle_event(&mut self, machine: &mut impl Machine, event: CollabEvent) {
        match event {
            CollabEvent::Chat { text } => self.notice(Notice::Chat {
                from: ChatFrom::Peer,
                text,
            }),
            CollabEvent::Clipboard { format, data } => {
                self.clipboard.apply(format, data);
            }
            CollabEvent::ClipboardRefused { detail } => self.notice(Notice::ClipboardFailed {
                reason: ClipFailReason::PeerRefused {
                    detail: for_display(&detail).into_owned(),
                },
            }),
            CollabEvent::File(msg) => self.on_file_control(machine, msg),
            CollabEvent::FileData(msg) => self.on_file_data(msg),
        }
    }

    fn on_file_control(&mut self, machine: &mut impl Machine, msg: Control) {
        match msg {
            Control::FileOffer { id, name, entries } => self.on_offer(machine, id, name, entries),
            Control::FileAnswer {
                id,
                accept,
                resume_from,
            } => self.on_answer(machine, id, accept, resume_from),
            Control::FileCancel {
                id,
                sender_side,
                detail,
            } => {
                // `sender_side`: the peer offered it, so it is incoming here.
                let way = if sender_side {
                    Way::Incoming
                } else {
                    Way::Outgoing
                };
                let peer = self.config.peer;
                let reason = if detail.is_empty() {
                    FailReason::PeerCancelled { peer }
                } else {
                    FailReason::PeerStopped {
                        peer,
                        detail: for_display(&detail).into_owned(),
                    }
                };
                self.cancel(machine, TransferId { way, id }, reason, None);
            }
            Control::FileReceived { id } => {
                let Some(offer) = self.outgoing.remove(&id) else {
                    return;
                };
                let transfer = TransferId {
                    way: Way::Outgoing,
                    id,
                };
                info!(%transfer, files = offer.files, bytes = offer.total, "files delivered");
                self.notice(Notice::FileDone {
                    transfer,
                    name: offer.name,
                    files: offer.files,
                    bytes: offer.total,
                    secs: offer.progress.elapsed_secs(),
                });
            }
            _ => {}
        }
    }

    fn on_offer(
        &mut self,
        machine: &mut impl Machine,
        id: u32,
        name: String,
        entries: Vec<FileEntry>,
    ) {
        let transfer = TransferId {
            way: Way::Incoming,
            id,
        };
        let shown = tandem_files::sanitize(&name);
        if self.incoming.contains_key(&id) {
            // Reusing an open id would mix two transfers' data.
            let _ = machine.send_file_control(Control::file_cancel(
                id,
                false,
                "That transfer id is already in use.",
            ));
            return;
        }
        if self.incoming.len() >= MAX_OPEN_OFFERS {
            let reason = FailReason::RefusedTooMany {
                max: MAX_OPEN_OFFERS,
            };
            self.refuse_offer(machine, id, shown, reason);
            return;
        }
        let metas: Vec<tandem_files::EntryMeta> = entries
            .iter()
            .map(|e| tandem_files::EntryMeta {
                path: e.path.clone(),
                size: e.size,
                key: e.key,
            })
            .collect();
        let total = match tandem_files::validate_offer(&metas) {
            Ok(_) if entries.is_empty() => {
                self.refuse_offer(machine, id, shown, FailReason::RefusedEmpty);
                return;
            }
            Ok(total) => total,
            Err(e) => {
                let reason = FailReason::RefusedInvalid {
                    detail: e.to_string(),
                };
                self.refuse_offer(machine, id, shown, reason);
                return;
            }
        };
        let files = metas.len();
        self.incoming.insert(
            id,
            IncomingOffer {
                name: shown.clone(),
                entries: metas,
                total,
                chunks: None,
                cancel: Arc::new(AtomicBool::new(false)),
                progress: progress::Rate::default(),
                answered: false,
            },
        );
        self.notice(Notice::FileOffered {
            transfer,
            name: shown,
            files,
            bytes: total,
        });
        if self.config.accept_files {
            self.answer(machine, id, true);
        }
    }

    fn on_answer(
        &mut self,
        machine: &mut impl Machine,
        id: u32,
        accept: bool,
        resume_from: Vec<u64>,
    ) {
        let transfer = TransferId {
            way: Way::Outgoing,
            id,
        };
        let Some(offer) = self.outgoing.get_mut(&id) else {
            return;
        };
        let Some(source) = offer.source.take() else {
            // Answered before it was offered: only a broken peer does this.
            return;
        };
        if !accept {
            let name = offer.name.clone();
            self.outgoing.remove(&id);
            self.notice(Notice::FileFailed {
                transfer,
                name,
                reason: FailReason::PeerRefused {
                    peer: self.config.peer,
                },
            });
            return;
        }
        if resume_from.len() != source.entries.len()
            || resume_from
                .iter()
                .zip(&source.entries)
                .any(|(&at, e)| at > e.meta.size || at % tandem_files::CHUNK_LEN as u64 != 0)
        {
            let reason = FailReason::ImpossibleResume;
            let for_peer = reason.to_string();
            self.cancel(machine, transfer, reason, Some(&for_peer));
            return;
        }
        let Some(bulk) = self.bulk.clone() else {
            let reason = FailReason::StreamClosed;
            let for_peer = reason.to_string();
            self.cancel(machine, transfer, reason, Some(&for_peer));
            return;
        };
        let resumed: u64 = resume_from.iter().sum();
        offer.progress.start(resumed);
        let cancel = offer.cancel.clone();
        self.notice(Notice::FileAccepted {
            transfer,
            resumed_from: resumed,
        });
        outgoing::spawn(
            id,
            source.entries,
            resume_from,
            bulk,
            cancel,
            self.work_tx.clone(),
        );
    }

    fn on_file_data(&mut self, msg: Bulk) {
        let id = match &msg {
            Bulk::FileData { id, .. } | Bulk::FileEntryEnd { id, .. } => *id,
            Bulk::ClipboardPart { .. } => return,
        };
        // Data for a transfer that was cancelled (or never accepted) is dropped: it may have
        // crossed the cancel.
        let Some(queue) = self.incoming.get(&id).and_then(|o| o.chunks.clone()) else {
            debug!(id, "file data for no open transfer dropped");
            return;
        };
        if let Err(mpsc::error::TrySendError::Full(msg)) = queue.try_send(msg) {
            self.blocked = Some((queue, msg));
        }
    }

    /// A report from a thread.
    pub fn handle_work(&mut self, machine: &mut impl Machine, work: Work) {
        match work {
            Work::Unblocked => {}
            Work::Scanned { id, result } => self.on_scanned(machine, id, result),
            Work::Progress { transfer, done } => {
                let offer = match transfer.way {
                    Way::Outgoing => self
                        .outgoing
                        .get_mut(&transfer.id)
                        .map(|o| (&o.name, o.total, &mut o.progress)),
                    Way::Incoming => self
                        .incoming
                        .get_mut(&transfer.id)
                        .map(|o| (&o.name, o.total, &mut o.progress)),
                };
                if let Some((name, total, rate)) = offer {
                    let bytes_per_sec = rate.update(done);
                    let eta_secs = (bytes_per_sec > 0.0)
                        .then(|| total.saturating_sub(done) as f64 / bytes_per_sec);
                    let notice = Notice::FileProgress {
                        transfer,
                        name: name.clone(),
                        done,
                        total,
                        bytes_per_sec,
                        eta_secs,
                    };
                    self.notice(notice);
                }
            }
            Work::SendFinished { id, result } => match result {
                Ok(()) => {
                    if let Some(offer) = self.outgoing.get_mut(&id) {
                        offer.sent = true;
                    }
                }
                Err(detail) => {
                    let transfer = TransferId {
                        way: Way::Outgoing,
                        id,
                    };
                    let for_peer = detail.clone();
                    let reason = FailReason::SendFailed { detail };
                    self.cancel(machine, transfer, reason, Some(&for_peer));
                }
            },
            Work::ReceiveReady { id, result } => match result {
                Ok(resume_from) => {
                    let Some(offer) = self.incoming.get_mut(&id) else {
                        return;
                    };
                    let resumed: u64 = resume_from.iter().sum();
                    offer.progress.start(resumed);
                    let _ = machine.send_file_control(Control::FileAnswer {
                        id,
                        accept: true,
                        resume_from,
                    });
                    self.notice(Notice::FileAccepted {
                        transfer: TransferId {
                            way: Way::Incoming,
                            id,
                        },
                        resumed_from: resumed,
                    });
                }
                Err(detail) => {
                    self.refuse_incoming(machine, id, FailReason::ReceiveFailed { detail })
                }
            },
            Work::EntryReceived {
                id,
                path,
                bytes,
                blake3,
            } => self.notice(Notice::FileReceived {
                transfer: TransferId {
                    way: Way::Incoming,
                    id,
                },
                path,
                bytes,
                blake3,
            }),
            Work::ReceiveFinished { id, result } => {
                let transfer = TransferId {
                    way: Way::Incoming,
                    id,
                };
                match result {
                    Ok(()) => {
                        let Some(offer) = self.incoming.remove(&id) else {
                            return;
                        };
                        let _ = machine.send_file_control(Control::FileReceived { id });
                        self.notice(Notice::FileDone {
                            transfer,
                            name: offer.name,
                            files: offer.entries.len(),
                            bytes: offer.total,
                            secs: offer.progress.elapsed_secs(),
                        });
                    }
                    Err(detail) => {
                        let for_peer = detail.clone();
                        let reason = FailReason::ReceiveFailed { detail };
                        self.cancel(machine, transfer, reason, Some(&for_peer));
                    }
                }
            }
            Work::Clipboard(work) => {
                if let Some(notice) = self.clipboard.handle(machine, self.bulk.as_ref(), work) {
                    self.notice(notice);
                }
            }
        }
    }

    fn on_scanned(
        &mut self,
        machine: &mut impl Machine,
        id: u32,
        result: Result<tandem_files::Outgoing, FailReason>,
    ) {
        let transfer = TransferId {
            way: Way::Outgoing,
            id,
        };
        let Some(offer) = self.outgoing.get_mut(&id) else {
            // Cancelled while listing.
            return;
        };
        let scanned = match result {
            Ok(scanned) if scanned.entries.is_empty() => Err(FailReason::NothingToSend),
            other => other,
        };
        let scanned = match scanned {
            Ok(scanned) => scanned,
            Err(reason) => {
                let name = offer.name.clone();
                self.outgoing.remove(&id);
                self.notice(Notice::FileFailed {
                    transfer,
                    name,
                    reason,
                });
                return;
            }
        };
        let entries: Vec<FileEntry> = scanned
            .entries
            .iter()
            .map(|e| FileEntry {
                path: e.meta.path.clone(),
                size: e.meta.size,
                key: e.meta.key,
            })
            .collect();
        offer.name = tandem_files::sanitize(&scanned.name);
        offer.total = scanned.total_bytes();
        offer.files = entries.len();
        let skipped = scanned.skipped.iter().map(|s| s.to_string()).collect();
        let msg = Control::FileOffer {
            id,
            name: offer.name.clone(),
            entries,
        };
        let notice = Notice::FileOfferSent {
            transfer,
            name: offer.name.clone(),
            files: offer.files,
            bytes: offer.total,
            skipped,
        };
        offer.source = Some(scanned);
        if machine.send_file_control(msg).is_err() {
            let name = offer.name.clone();
            self.outgoing.remove(&id);
            self.notice(Notice::FileFailed {
                transfer,
                name,
                reason: FailReason::NoLongerSharing,
            });
            return;
        }
        self.notice(notice);
    }

    /// The session ended: stops every thread. Incoming transfers keep their partial files so the
    /// same files offered in a new session resume; outgoing ones just stop.
    pub fn finish(&mut self) {
        for (id, offer) in self.outgoing.drain() {
            offer.cancel.store(true, Ordering::Relaxed);
            (self.notify)(Notice::FileFailed {
                transfer: TransferId {
                    way: Way::Outgoing,
                    id,
                },
                name: offer.name,
                reason: FailReason::EndedWhileSending,
            });
        }
        for (id, offer) in self.incoming.drain() {
            // Not cancelled: the thread keeps the partial files when its queue closes.
            let was_receiving = offer.chunks.is_some();
            drop(offer.chunks);
            let reason = if was_receiving {
                FailReason::EndedWhileReceiving
            } else {
                FailReason::EndedUnanswered
            };
            (self.notify)(Notice::FileFailed {
                transfer: TransferId {
                    way: Way::Incoming,
                    id,
                },
                name: offer.name,
                reason,
            });
        }
        self.blocked = None;
        self.clipboard.follow(false);
    }
}
