//! Chat, clipboard and files on the terminal, the same for `share` and `join`: the flags, the stdin
//! commands (`send PATH`, `chat TEXT`, `accept ID`, `refuse ID`, `cancel ID`) and the events.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;
use tandem_collab::{CollabCommand, CollabConfig, Notice, TransferId, Way};
use tandem_collab_ui::Peer;
use tandem_collab_ui::reasons::{clipboard_failed, transfer_stopped};
use tandem_i18n::tr;
use tandem_proto::bulk::ClipFormat;
use tandem_proto::flow::ChatFrom;
use tandem_proto::text::for_display;

use crate::output::Output;

#[derive(Args, Clone)]
pub struct CollabFlags {
    /// Where received files go (default: your Downloads folder, in `Tandem`). Files are never
    /// overwritten: a second `a.txt` becomes `a (1).txt`.
    #[arg(long, value_name = "DIR")]
    downloads: Option<PathBuf>,
    /// Accept every file the other side sends without asking (for scripts).
    #[arg(long)]
    accept_files: bool,
    /// Never share the clipboard in this session, whatever is allowed.
    #[arg(long)]
    no_clipboard: bool,
}

impl CollabFlags {
    pub fn config(&self, peer: &'static str) -> CollabConfig {
        CollabConfig {
            downloads: self
                .downloads
                .clone()
                .unwrap_or_else(tandem_collab::Downloads::default_dir),
            accept_files: self.accept_files,
            system_clipboard: !self.no_clipboard,
            peer,
        }
    }
}

/// Offers from the peer waiting for `y`/`n` on the terminal, oldest first.
#[derive(Clone, Default)]
pub struct PendingOffers(Arc<Mutex<VecDeque<u32>>>);

impl PendingOffers {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<u32>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records what a notice changes; call before printing it, so an answer typed as soon as the
    /// question shows finds it.
    pub fn track(&self, notice: &Notice) {
        let mut pending = self.lock();
        match notice {
            Notice::FileOffered { transfer, .. } => pending.push_back(transfer.id),
            Notice::FileAccepted { transfer, .. }
            | Notice::FileFailed { transfer, .. }
            | Notice::FileDone { transfer, .. }
                if transfer.way == Way::Incoming =>
            {
                pending.retain(|id| *id != transfer.id);
            }
            _ => {}
        }
    }

    /// The oldest offer waiting for an answer.
    pub fn take_oldest(&self) -> Option<u32> {
        self.lock().pop_front()
    }
}

/// The collaboration commands, for the `commands: …` hint of `share` and `join`.
pub fn help() -> String {
    tr!("collab-commands-help")
}

/// A collaboration command typed on stdin, or `None` if the line is not one.
pub fn parse_command(line: &str) -> Option<CollabCommand> {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    match word {
        "send" if !rest.is_empty() => Some(CollabCommand::SendPath(PathBuf::from(rest))),
        "chat" | "say" if !rest.is_empty() => Some(CollabCommand::Chat(rest.to_owned())),
        "accept" | "refuse" => {
            let id = rest.trim_start_matches("in-").parse().ok()?;
            Some(CollabCommand::Answer {
                id,
                accept: word == "accept",
            })
        }
        "cancel" => Some(CollabCommand::Cancel(rest.parse().ok()?)),
        _ => None,
    }
}

/// The format's name in JSON events (and the selector of the prose's wording).
fn format_name(format: ClipFormat) -> &'static str {
    match format {
        ClipFormat::Text => "text",
        ClipFormat::Png => "image",
    }
}

/// Prints notices; progress is printed as prose at most once a second per transfer (every report
/// in JSON).
pub struct NoticePrinter {
    /// Who is on the other side, for the sentences that name them.
    peer: Peer,
    last_progress: HashMap<TransferId, Instant>,
}

impl NoticePrinter {
    pub fn new(peer: Peer) -> Self {
        Self {
            peer,
            last_progress: HashMap::new(),
        }
    }

    pub fn print(&mut self, out: &Output, notice: &Notice, peer: &str, answer_hint: bool) {
        match notice {
            Notice::Chat { from, text } => {
                let text = for_display(text);
                let from = match from {
                    ChatFrom::Us => "you",
                    ChatFrom::Peer => "peer",
                };
                out.event("chat", json!({ "from": from, "text": text }), || {
                    if from == "you" {
                        tr!("collab-chat-from-you", text = &*text)
                    } else {
                        tr!("collab-chat-from-peer", peer = peer, text = &*text)
                    }
                });
            }
            Notice::ClipboardSent { format, bytes } => out.event(
                "clipboard_sent",
                json!({ "format": format_name(*format), "bytes": bytes }),
                || tr!("collab-clipboard-sent", format = format_name(*format), size = tandem_i18n::bytes(*bytes as u64)),
            ),
            Notice::ClipboardReceived { format, bytes } => out.event(
                "clipboard_received",
                json!({ "format": format_name(*format), "bytes": bytes }),
                || tr!("collab-clipboard-received", peer = peer, format = format_name(*format), size = tandem_i18n::bytes(*bytes as u64)),
            ),
            Notice::ClipboardFailed { reason } => {
                // JSON keeps the English sentence; people read it in their language.
                let english = reason.to_string();
                let english = for_display(&english);
                out.event("clipboard_failed", json!({ "detail": english }), || {
                    clipboard_failed(reason)
                });
            }
            Notice::FileOffered {
                transfer,
                name,
                files,
                bytes,
            } => {
                let name = for_display(name);
                out.event(
                    "file_offered",
                    json!({ "transfer": transfer.to_string(), "id": transfer.id, "name": name, "files": files, "bytes": bytes }),
                    || {
                        let what = tr!("collab-files-what", name = &*name, files = *files, size = tandem_i18n::bytes(*bytes));
                        if answer_hint {
                            tr!("collab-file-offered-ask", peer = peer, what = what, id = transfer.id)
                        } else {
                            tr!("collab-file-offered", peer = peer, what = what)
                        }
                    },
                );
            }
            Notice::FileOfferSent {
                transfer,
                name,
                files,
                bytes,
                skipped,
            } => {
                let name = for_display(name);
                let skipped: Vec<String> =
                    skipped.iter().map(|s| for_display(s).into_owned()).collect();
                out.event(
                    "file_offer_sent",
                    json!({ "transfer": transfer.to_string(), "name": name, "files": files, "bytes": bytes, "skipped": skipped }),
                    || {
                        let mut text = tr!(
                            "collab-file-offer-sent",
                            name = &*name,
                            files = *files,
                            size = tandem_i18n::bytes(*bytes),
                            transfer = transfer.to_string(),
                            peer = peer
                        );
                        if !skipped.is_empty() {
                            text.push(' ');
                            text.push_str(&tr!("collab-files-not-sent", names = skipped.join(", ")));
                        }
                        text
                    },
                );
            }
            Notice::FileAccepted {
                transfer,
                resumed_from,
            } => out.event(
                "file_accepted",
                json!({ "transfer": transfer.to_string(), "resumed_from": resumed_from }),
                || {
                    if *resumed_from > 0 {
                        tr!("collab-transfer-resumes", transfer = transfer.to_string(), size = tandem_i18n::bytes(*resumed_from))
                    } else {
                        tr!("collab-transfer-starts", transfer = transfer.to_string())
                    }
                },
            ),
            Notice::FileProgress {
                transfer,
                name,
                done,
                total,
                bytes_per_sec,
                eta_secs,
            } => {
                if !out.json {
                    let now = Instant::now();
                    let last = self.last_progress.entry(*transfer).or_insert(now - Duration::from_secs(2));
                    if now.duration_since(*last) < Duration::from_secs(1) && done < total {
                        return;
                    }
                    *last = now;
                }
                let name = for_display(name);
                out.event(
                    "file_progress",
                    json!({ "transfer": transfer.to_string(), "name": name, "bytes": done, "total": total, "bytes_per_sec": bytes_per_sec, "eta_secs": eta_secs }),
                    || {
                        let percent = if *total > 0 { *done as f64 * 100.0 / *total as f64 } else { 100.0 };
                        let progress = tr!(
                            "collab-transfer-progress",
                            transfer = transfer.to_string(),
                            name = &*name,
                            percent = format!("{percent:.0}"),
                            done = tandem_i18n::bytes(*done),
                            total = tandem_i18n::bytes(*total),
                            rate = tandem_i18n::bytes(*bytes_per_sec as u64)
                        );
                        match eta_secs {
                            Some(secs) => tr!("collab-transfer-progress-eta", progress = progress, seconds = format!("{secs:.0}")),
                            None => progress,
                        }
                    },
                );
            }
            Notice::FileReceived {
                transfer,
                path,
                bytes,
                blake3,
            } => out.event(
                "file_received",
                json!({ "transfer": transfer.to_string(), "path": path, "bytes": bytes, "blake3": blake3 }),
                || tr!("collab-file-received", path = for_display(&path.display().to_string()).into_owned(), size = tandem_i18n::bytes(*bytes)),
            ),
            Notice::FileDone {
                transfer,
                name,
                files,
                bytes,
                secs,
            } => {
                self.last_progress.remove(transfer);
                let name = for_display(name);
                let direction = match transfer.way {
                    Way::Outgoing => "sent",
                    Way::Incoming => "received",
                };
                let rate = if *secs > 0.0 { *bytes as f64 / secs } else { 0.0 };
                out.event(
                    "file_done",
                    json!({ "transfer": transfer.to_string(), "direction": direction, "name": name, "files": files, "bytes": bytes, "secs": secs, "bytes_per_sec": rate }),
                    || {
                        tr!(
                            "collab-transfer-done",
                            transfer = transfer.to_string(),
                            name = &*name,
                            direction = direction,
                            files = *files,
                            size = tandem_i18n::bytes(*bytes),
                            seconds = tandem_i18n::decimal(*secs, 1),
                            rate = tandem_i18n::bytes(rate as u64)
                        )
                    },
                );
            }
            Notice::FileFailed {
                transfer,
                name,
                reason,
            } => {
                self.last_progress.remove(transfer);
                let name = for_display(name);
                // JSON keeps the English sentence; people read it in their language.
                let english = reason.to_string();
                let english = for_display(&english);
                out.event(
                    "file_failed",
                    json!({ "transfer": transfer.to_string(), "name": name, "reason": english }),
                    || {
                        let said = transfer_stopped(reason, self.peer);
                        tr!("collab-transfer-failed", transfer = transfer.to_string(), name = &*name, reason = said)
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_commands_parse() {
        assert_eq!(
            parse_command("send /tmp/a b.txt"),
            Some(CollabCommand::SendPath(PathBuf::from("/tmp/a b.txt")))
        );
        assert_eq!(
            parse_command("chat hello there"),
            Some(CollabCommand::Chat("hello there".into()))
        );
        assert_eq!(
            parse_command("accept 3"),
            Some(CollabCommand::Answer {
                id: 3,
                accept: true
            })
        );
        assert_eq!(
            parse_command("refuse in-4"),
            Some(CollabCommand::Answer {
                id: 4,
                accept: false
            })
        );
        assert_eq!(
            parse_command("cancel out-2"),
            Some(CollabCommand::Cancel(TransferId {
                way: Way::Outgoing,
                id: 2
            }))
        );
        assert_eq!(parse_command("send"), None);
        assert_eq!(parse_command("cancel 2"), None);
    }
}
