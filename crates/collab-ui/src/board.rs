//! What the collaboration panels show, built from the session's [`Notice`]s: the chat transcript,
//! the transfers and where each stands, and the last clipboard event. No egui here, so it is tested
//! without a window; the widgets of this crate draw it.
//!
//! Everything from the peer is kept as [`for_display`] renders it (the notices are already
//! display-safe; this is the second lock on the door), and every list is bounded: a peer that
//! chats or offers without end cannot grow the window's memory.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tandem_collab::{Notice, TransferId, Way};
use tandem_i18n::tr;
use tandem_proto::bulk::ClipFormat;
use tandem_proto::flow::ChatFrom;
use tandem_proto::text::for_display;

/// Chat lines kept; older ones scroll away for good.
pub const MAX_CHAT_LINES: usize = 500;
/// Finished (done, failed, refused) transfers kept on the list.
pub const MAX_FINISHED: usize = 20;
/// Names of skipped items kept per offer, for the warning.
const MAX_SKIPPED: usize = 5;
/// How long a clipboard note stays up.
pub const NOTE_FOR: Duration = Duration::from_secs(6);

#[derive(Debug, Clone, PartialEq)]
pub struct ChatLine {
    pub from: ChatFrom,
    pub text: String,
}

/// Where a transfer stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// The peer offers these files; `answered` once this side clicked Accept (the transfer starts
    /// when the download folder is checked).
    Offered {
        answered: bool,
    },
    /// This side offered them and waits for the peer's answer.
    Waiting,
    Moving {
        done: u64,
        total: u64,
        bytes_per_sec: f64,
        eta_secs: Option<f64>,
    },
    Done {
        secs: f64,
    },
    Failed {
        reason: String,
    },
}

impl Phase {
    pub fn is_finished(&self) -> bool {
        matches!(self, Phase::Done { .. } | Phase::Failed { .. })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub id: TransferId,
    pub name: String,
    pub files: usize,
    pub bytes: u64,
    pub phase: Phase,
    /// Incoming: where the first file landed, and how many files arrived.
    pub saved: Option<PathBuf>,
    pub saved_count: usize,
    /// Outgoing folders: a few of the items that are not sent, and how many there are.
    pub skipped: Vec<String>,
    pub skipped_count: usize,
}

impl Transfer {
    fn new(id: TransferId, name: &str, phase: Phase) -> Self {
        Self {
            id,
            name: for_display(name).into_owned(),
            files: 0,
            bytes: 0,
            phase,
            saved: None,
            saved_count: 0,
            skipped: Vec::new(),
            skipped_count: 0,
        }
    }

    /// `report.pdf (1.2 MiB)`, `photos: 12 files, 40.0 MiB`.
    pub fn summary(&self) -> String {
        match self.files {
            0 => self.name.clone(),
            files => tr!(
                "panel-transfer-summary",
                name = self.name.as_str(),
                files = files,
                size = tandem_i18n::bytes(self.bytes)
            ),
        }
    }
}

/// A short-lived line about the clipboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub text: String,
    pub failed: bool,
    at: Instant,
}

/// What a notice brought that may call for the user's attention.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct News {
    /// A chat message from the peer.
    pub peer_chat: bool,
    /// The peer offers files.
    pub offer: bool,
}

/// Who is on the other side of a window's panels; the sentences that name them are worded for each
/// (`$peer` selects the wording in the catalogue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The person sharing their screen (the technician's window shows this).
    User,
    /// The technician (the user's window shows this).
    Technician,
}

impl Peer {
    /// The selector value the catalogue's messages take as `$peer`.
    pub fn key(self) -> &'static str {
        match self {
            Peer::User => "user",
            Peer::Technician => "technician",
        }
    }
}

/// The state of the collaboration panels of one window.
#[derive(Debug)]
pub struct Board {
    /// Who the notes name.
    peer: Peer,
    chat: VecDeque<ChatLine>,
    unread: usize,
    transfers: Vec<Transfer>,
    note: Option<Note>,
}

impl Board {
    pub fn new(peer: Peer) -> Self {
        Self {
            peer,
            chat: VecDeque::new(),
            unread: 0,
            transfers: Vec::new(),
            note: None,
        }
    }

    pub fn peer(&self) -> Peer {
        self.peer
    }

    pub fn chat(&self) -> impl ExactSizeIterator<Item = &ChatLine> {
        self.chat.iter()
    }

    /// Messages from the peer since [`Board::mark_read`].
    pub fn unread(&self) -> usize {
        self.unread
    }

    pub fn mark_read(&mut self) {
        self.unread = 0;
    }

    /// Oldest first.
    pub fn transfers(&self) -> &[Transfer] {
        &self.transfers
    }

    pub fn has_finished(&self) -> bool {
        self.transfers.iter().any(|t| t.phase.is_finished())
    }

    pub fn clear_finished(&mut self) {
        self.transfers.retain(|t| !t.phase.is_finished());
    }

    /// Offers from the peer not answered yet.
    pub fn open_offers(&self) -> usize {
        self.transfers
            .iter()
            .filter(|t| matches!(t.phase, Phase::Offered { answered: false }))
            .count()
    }

    /// Records that this side accepted offer `id`, so the buttons go away at once.
    pub fn accepted(&mut self, id: u32) {
        let transfer = TransferId {
            way: Way::Incoming,
            id,
        };
        if let Some(t) = self.open_mut(transfer) {
            t.phase = Phase::Offered { answered: true };
        }
    }

    /// The clipboard note, while it is fresh.
    pub fn note(&self, now: Instant) -> Option<&Note> {
        self.note
            .as_ref()
            .filter(|n| now.saturating_duration_since(n.at) < NOTE_FOR)
    }

    /// When the window must look again without any event: the clipboard note expires. Progress
    /// needs no timer, each report is an event.
    pub fn next_wakeup(&self, now: Instant) -> Option<Duration> {
        self.note(now)
            .map(|n| NOTE_FOR.saturating_sub(now.saturating_duration_since(n.at)))
    }

    /// Takes in one notice; says whether it calls for attention.
    pub fn absorb(&mut self, notice: Notice, now: Instant) -> News {
        let mut news = News::default();
        match notice {
            Notice::Chat { from, text } => {
                if from == ChatFrom::Peer {
                    self.unread += 1;
                    news.peer_chat = true;
                }
                if self.chat.len() == MAX_CHAT_LINES {
                    self.chat.pop_front();
                }
                self.chat.push_back(ChatLine {
                    from,
                    text: for_display(&text).into_owned(),
                });
            }
            Notice::ClipboardSent { format, bytes } => {
                self.set_note(
                    tr!("panel-clipboard-sent", what = clip(format, bytes)),
                    false,
                    now,
                );
            }
            Notice::ClipboardReceived { format, bytes } => {
                let text = tr!(
                    "panel-clipboard-received",
                    peer = self.peer.key(),
                    what = clip(format, bytes)
                );
                self.set_note(text, false, now);
            }
            Notice::ClipboardFailed { reason } => {
                let text = tr!(
                    "panel-clipboard-failed",
                    detail = crate::reasons::clipboard_failed(&reason)
                );
                self.set_note(text, true, now);
            }
            Notice::FileOffered {
                transfer,
                name,
                files,
                bytes,
            } => {
                news.offer = true;
                let t = self.upsert(transfer, &name, Phase::Offered { answered: false });
                t.files = files;
                t.bytes = bytes;
            }
            Notice::FileOfferSent {
                transfer,
                name,
                files,
                bytes,
                skipped,
            } => {
                let t = self.upsert(transfer, &name, Phase::Waiting);
                t.files = files;
                t.bytes = bytes;
                t.skipped_count = skipped.len();
                t.skipped = skipped
                    .iter()
                    .take(MAX_SKIPPED)
                    .map(|s| for_display(s).into_owned())
                    .collect();
            }
            Notice::FileAccepted {
                transfer,
                resumed_from,
            } => {
                if let Some(t) = self.open_mut(transfer) {
                    t.phase = Phase::Moving {
                        done: resumed_from,
                        total: t.bytes,
                        bytes_per_sec: 0.0,
                        eta_secs: None,
                    };
                }
            }
            Notice::FileProgress {
                transfer,
                name,
                done,
                total,
                bytes_per_sec,
                eta_secs,
            } => {
                let phase = Phase::Moving {
                    done,
                    total,
                    bytes_per_sec,
                    eta_secs,
                };
                let t = self.upsert(transfer, &name, phase.clone());
                t.phase = phase;
                if t.bytes == 0 {
                    t.bytes = total;
                }
            }
            Notice::FileReceived { transfer, path, .. } => {
                if let Some(t) = self.open_mut(transfer) {
                    t.saved_count += 1;
                    t.saved.get_or_insert(path);
                }
            }
            Notice::FileDone {
                transfer,
                name,
                files,
                bytes,
                secs,
            } => {
                let t = self.upsert(transfer, &name, Phase::Done { secs });
                t.phase = Phase::Done { secs };
                t.files = files;
                t.bytes = bytes;
                self.trim_finished();
            }
            Notice::FileFailed {
                transfer,
                name,
                reason,
            } => {
                let phase = Phase::Failed {
                    reason: crate::reasons::transfer_stopped(&reason, self.peer),
                };
                let t = self.upsert(transfer, &name, phase.clone());
                t.phase = phase;
                self.trim_finished();
            }
        }
        news
    }

    fn set_note(&mut self, text: String, failed: bool, at: Instant) {
        self.note = Some(Note { text, failed, at });
    }

    /// The transfer `id` that is still open (ids are only unique among open transfers in
    /// principle; the latest one is the live one).
    fn open_mut(&mut self, id: TransferId) -> Option<&mut Transfer> {
        self.transfers
            .iter_mut()
            .rev()
            .find(|t| t.id == id && !t.phase.is_finished())
    }

    /// The open transfer `id`, or a new one in `phase` (a transfer that failed before it was
    /// offered, say a path that does not exist, appears only with its failure).
    fn upsert(&mut self, id: TransferId, name: &str, phase: Phase) -> &mut Transfer {
        let at = match self
            .transfers
            .iter()
            .rposition(|t| t.id == id && !t.phase.is_finished())
        {
            Some(at) => at,
            None => {
                self.transfers.push(Transfer::new(id, name, phase));
                self.transfers.len() - 1
            }
        };
        &mut self.transfers[at]
    }

    fn trim_finished(&mut self) {
        let finished = self
            .transfers
            .iter()
            .filter(|t| t.phase.is_finished())
            .count();
        let mut excess = finished.saturating_sub(MAX_FINISHED);
        self.transfers.retain(|t| {
            if excess > 0 && t.phase.is_finished() {
                excess -= 1;
                false
            } else {
                true
            }
        });
    }
}

fn clip(format: ClipFormat, bytes: usize) -> String {
    let format = match format {
        ClipFormat::Text => "text",
        ClipFormat::Png => "image",
    };
    tr!(
        "panel-clipboard-what",
        format = format,
        size = tandem_i18n::bytes(bytes as u64)
    )
}

#[cfg(test)]
mod tests {
    use tandem_collab::FailReason;

    use super::*;

    const IN_1: TransferId = TransferId {
        way: Way::Incoming,
        id: 1,
    };
    const OUT_1: TransferId = TransferId {
        way: Way::Outgoing,
        id: 1,
    };

    fn offered(board: &mut Board, transfer: TransferId, now: Instant) -> News {
        board.absorb(
            Notice::FileOffered {
                transfer,
                name: "report.pdf".into(),
                files: 1,
                bytes: 1000,
            },
            now,
        )
    }

    #[test]
    fn an_incoming_offer_goes_from_question_to_saved_file() {
        let now = Instant::now();
        let mut board = Board::new(Peer::User);
        let news = offered(&mut board, IN_1, now);
        assert!(news.offer && !news.peer_chat);
        assert_eq!(board.open_offers(), 1);
        board.accepted(1);
        assert_eq!(board.open_offers(), 0, "answered: no more buttons");
        board.absorb(
            Notice::FileAccepted {
                transfer: IN_1,
                resumed_from: 0,
            },
            now,
        );
        board.absorb(
            Notice::FileProgress {
                transfer: IN_1,
                name: "report.pdf".into(),
                done: 500,
                total: 1000,
                bytes_per_sec: 250.0,
                eta_secs: Some(2.0),
            },
            now,
        );
        assert_eq!(
            board.transfers()[0].phase,
            Phase::Moving {
                done: 500,
                total: 1000,
                bytes_per_sec: 250.0,
                eta_secs: Some(2.0)
            }
        );
        board.absorb(
            Notice::FileReceived {
                transfer: IN_1,
                path: "/tmp/dl/report.pdf".into(),
                bytes: 1000,
                blake3: String::new(),
            },
            now,
        );
        board.absorb(
            Notice::FileDone {
                transfer: IN_1,
                name: "report.pdf".into(),
                files: 1,
                bytes: 1000,
                secs: 4.0,
            },
            now,
        );
        let t = &board.transfers()[0];
        assert_eq!(board.transfers().len(), 1, "one entry all along");
        assert_eq!(t.phase, Phase::Done { secs: 4.0 });
        assert_eq!(
            t.saved.as_deref(),
            Some(std::path::Path::new("/tmp/dl/report.pdf"))
        );
        assert_eq!(t.summary(), "report.pdf (1000 bytes)");
        board.clear_finished();
        assert!(board.transfers().is_empty());
    }

    /// `send /nope` fails before anything is offered: the failure alone makes an entry.
    #[test]
    fn a_send_that_fails_before_the_offer_shows_its_reason() {
        let mut board = Board::new(Peer::User);
        board.absorb(
            Notice::FileFailed {
                transfer: OUT_1,
                name: "nope".into(),
                reason: FailReason::ScanFailed {
                    detail: "/nope does not exist".into(),
                },
            },
            Instant::now(),
        );
        assert_eq!(
            board.transfers()[0].phase,
            Phase::Failed {
                reason: "/nope does not exist".into()
            }
        );
    }

    /// The same id both ways is two transfers; a finished one is not revived by a later notice
    /// with its id.
    #[test]
    fn ids_are_per_direction_and_finished_entries_stay_finished() {
        let now = Instant::now();
        let mut board = Board::new(Peer::User);
        offered(&mut board, IN_1, now);
        board.absorb(
            Notice::FileOfferSent {
                transfer: OUT_1,
                name: "a".into(),
                files: 2,
                bytes: 10,
                skipped: vec!["link".into()],
            },
            now,
        );
        assert_eq!(board.transfers().len(), 2);
        board.absorb(
            Notice::FileFailed {
                transfer: IN_1,
                name: "report.pdf".into(),
                reason: FailReason::YouRefused,
            },
            now,
        );
        board.absorb(
            Notice::FileAccepted {
                transfer: IN_1,
                resumed_from: 0,
            },
            now,
        );
        assert!(board.transfers()[0].phase.is_finished());
        assert_eq!(board.transfers()[1].phase, Phase::Waiting);
        assert_eq!(board.transfers()[1].skipped, vec!["link".to_string()]);
    }

    #[test]
    fn unread_counts_only_the_peers_messages() {
        let now = Instant::now();
        let mut board = Board::new(Peer::User);
        let news = board.absorb(
            Notice::Chat {
                from: ChatFrom::Us,
                text: "hi".into(),
            },
            now,
        );
        assert_eq!(news, News::default());
        let news = board.absorb(
            Notice::Chat {
                from: ChatFrom::Peer,
                text: "hello".into(),
            },
            now,
        );
        assert!(news.peer_chat);
        assert_eq!(board.unread(), 1);
        board.mark_read();
        assert_eq!(board.unread(), 0);
        assert_eq!(board.chat().len(), 2);
    }

    /// Control characters the peer might slip in (terminal escapes, bidi overrides) are shown as
    /// visible escapes, in chat and in names and reasons alike.
    #[test]
    fn peer_text_is_rendered_harmless() {
        let now = Instant::now();
        let mut board = Board::new(Peer::User);
        board.absorb(
            Notice::Chat {
                from: ChatFrom::Peer,
                text: "a\u{1b}[2Jb\u{202e}c".into(),
            },
            now,
        );
        board.absorb(
            Notice::FileFailed {
                transfer: IN_1,
                name: "x\ny".into(),
                reason: FailReason::PeerStopped {
                    peer: "The technician",
                    detail: "r\u{7}".into(),
                },
            },
            now,
        );
        let line = &board
            .chat()
            .next()
            .map(|l| l.text.clone())
            .unwrap_or_default();
        assert!(!line.chars().any(tandem_proto::text::is_unsafe), "{line:?}");
        let t = &board.transfers()[0];
        assert!(!t.name.chars().any(tandem_proto::text::is_unsafe));
        let Phase::Failed { reason } = &t.phase else {
            panic!("not failed: {:?}", t.phase);
        };
        assert!(!reason.chars().any(tandem_proto::text::is_unsafe));
    }

    #[test]
    fn chat_and_finished_transfers_are_bounded() {
        let now = Instant::now();
        let mut board = Board::new(Peer::User);
        for k in 0..MAX_CHAT_LINES + 10 {
            board.absorb(
                Notice::Chat {
                    from: ChatFrom::Peer,
                    text: k.to_string(),
                },
                now,
            );
        }
        assert_eq!(board.chat().len(), MAX_CHAT_LINES);
        assert_eq!(board.chat().next().map(|l| l.text.as_str()), Some("10"));
        offered(
            &mut board,
            TransferId {
                way: Way::Incoming,
                id: 999,
            },
            now,
        );
        for id in 0..MAX_FINISHED as u32 + 5 {
            board.absorb(
                Notice::FileFailed {
                    transfer: TransferId {
                        way: Way::Outgoing,
                        id,
                    },
                    name: "f".into(),
                    reason: FailReason::YouCancelled,
                },
                now,
            );
        }
        assert_eq!(board.transfers().len(), MAX_FINISHED + 1);
        assert_eq!(board.open_offers(), 1, "an open offer is never trimmed");
        assert_eq!(
            board.transfers()[1].id.id,
            5,
            "the oldest finished went first"
        );
    }

    #[test]
    fn the_clipboard_note_expires_and_asks_for_one_wakeup() {
        let now = Instant::now();
        let mut board = Board::new(Peer::User);
        assert_eq!(board.next_wakeup(now), None);
        board.absorb(
            Notice::ClipboardReceived {
                format: ClipFormat::Text,
                bytes: 12,
            },
            now,
        );
        assert_eq!(
            board.note(now).map(|n| n.text.as_str()),
            Some("The user's clipboard is now on yours (text, 12 bytes).")
        );
        assert_eq!(board.next_wakeup(now), Some(NOTE_FOR));
        let later = now + NOTE_FOR;
        assert_eq!(board.note(later), None);
        assert_eq!(board.next_wakeup(later), None);
    }
}
