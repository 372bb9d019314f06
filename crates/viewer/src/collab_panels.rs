//! The technician's collaboration panels around the remote picture: the chat on the right (opened
//! by its toolbar button, or by a message from the user until the technician closes it by hand;
//! from then on the button counts unread messages), the transfers at the bottom (while there are
//! any), and the send-file field under the status bar.

use std::time::{Duration, Instant};

use eframe::egui;
use egui::RichText;
use tandem_collab::{CollabCommand, Notice};
use tandem_collab_ui::{Board, ChatBox, Peer, SendFile, send, transfers};
use tandem_i18n::tr;

/// Tallest the transfers panel gets before its list scrolls.
const TRANSFERS_MAX_HEIGHT: f32 = 240.0;

pub(crate) struct CollabPanels {
    board: Board,
    chat: ChatBox,
    send: SendFile,
    chat_open: bool,
    /// The technician closed the chat: new messages no longer open it, they are counted on its
    /// button, so the picture is not narrowed against their wish.
    chat_closed_by_hand: bool,
    /// The transfer list's height and the panel's own (margins), as last measured: egui sizes a
    /// panel's content by the panel's size in the previous frame, so a scrolling list inside
    /// could never make it grow; the panel is sized from these instead.
    transfers_content: f32,
    transfers_overhead: f32,
}

impl CollabPanels {
    pub(crate) fn new() -> Self {
        Self {
            board: Board::new(Peer::User),
            chat: ChatBox::new("viewer"),
            send: SendFile::new("viewer"),
            chat_open: false,
            chat_closed_by_hand: false,
            transfers_content: 60.0,
            transfers_overhead: 12.0,
        }
    }

    pub(crate) fn absorb(&mut self, notice: Notice) {
        let news = self.board.absorb(notice, Instant::now());
        if news.peer_chat && !self.chat_closed_by_hand {
            // A message from the user is likely the answer the technician waits for.
            self.chat_open = true;
        }
    }

    /// The toolbar's buttons, for a right-to-left layout. `active`: the screen is shared, so chat
    /// and files work.
    pub(crate) fn buttons(&mut self, ui: &mut egui::Ui, active: bool) {
        let unread = self.board.unread();
        let label = if unread > 0 && !self.chat_open {
            RichText::new(tr!("panel-chat-unread", unread = unread)).strong()
        } else {
            RichText::new(tr!("panel-chat"))
        };
        if ui
            .add(egui::Button::new(label).selected(self.chat_open))
            .clicked()
        {
            self.chat_open = !self.chat_open;
            self.chat_closed_by_hand = !self.chat_open;
        }
        self.send.button(ui, active);
    }

    /// The last clipboard event while it is fresh, for the toolbar: its text and whether it
    /// failed.
    pub(crate) fn clipboard_note(&self) -> Option<(String, bool)> {
        self.board
            .note(Instant::now())
            .map(|note| (note.text.clone(), note.failed))
    }

    /// Whether a collaboration field has the keyboard (then no key goes to the remote screen).
    pub(crate) fn keyboard_busy(&self, ctx: &egui::Context) -> bool {
        self.chat.has_focus(ctx) || self.send.has_focus(ctx)
    }

    /// The panels, laid out before the central picture takes the rest. Returns what the user
    /// asked for, drops included.
    pub(crate) fn show(&mut self, ui: &mut egui::Ui, active: bool) -> Vec<CollabCommand> {
        let mut out = Vec::new();
        if self.send.is_open() {
            egui::Panel::top("send-file").show(ui, |ui| {
                out.extend(self.send.show(ui));
            });
        }
        if !self.board.transfers().is_empty() {
            let height = (self.transfers_content + self.transfers_overhead)
                .clamp(40.0, TRANSFERS_MAX_HEIGHT);
            let panel = egui::Panel::bottom("transfers")
                .exact_size(height)
                .show(ui, |ui| {
                    ui.add_space(4.0);
                    // The list fills the panel exactly (no minimum height of its own), so the
                    // margins measured below stay the same from frame to frame.
                    egui::ScrollArea::vertical()
                        .auto_shrink([false, false])
                        .min_scrolled_height(0.0)
                        .show(ui, |ui| transfers::show(ui, &mut self.board, true))
                });
            let list = panel.inner;
            out.extend(list.inner);
            let content = list.content_size.y;
            let overhead =
                (panel.response.rect.height() - list.inner_rect.height()).clamp(0.0, 40.0);
            if (content - self.transfers_content).abs() > 0.5
                || (overhead - self.transfers_overhead).abs() > 0.5
            {
                self.transfers_content = content;
                self.transfers_overhead = overhead;
                // One more frame, at the new size.
                ui.ctx().request_repaint();
            }
        }
        if self.chat_open {
            self.board.mark_read();
            egui::Panel::right("chat")
                .resizable(true)
                .default_size(320.0)
                .size_range(220.0..=640.0)
                .show(ui, |ui| {
                    ui.add_space(4.0);
                    ui.heading(tr!("panel-chat-heading", peer = Peer::User.key()));
                    ui.separator();
                    let label = tr!("panel-chat-peer-label", peer = Peer::User.key());
                    out.extend(self.chat.show(ui, &self.board, &label, active));
                });
        }
        if active {
            out.extend(send::dropped(ui.ctx()));
            send::drop_overlay(
                ui.ctx(),
                &tr!("panel-drop-to-send", peer = Peer::User.key()),
            );
        }
        out
    }

    /// When the window must look again with no event: a clipboard note expires.
    pub(crate) fn next_wakeup(&self) -> Option<Duration> {
        self.board.next_wakeup(Instant::now())
    }
}
