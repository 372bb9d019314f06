//! The user's collaboration section of the sharing window: the clipboard switch, the files (offers
//! from the technician, transfers, "Send file…" and drops) and the chat.
//!
//! A file offer is a consent question, answered like the window's other one: Accept sits at the
//! right, is not reachable with the keyboard (Tab, Enter), and only works once a
//! [`ConsentGuard`] allows it, so a click aimed at something else when an offer pops up (and moves
//! the layout) accepts nothing. Refuse needs no guard.

use std::time::{Duration, Instant};

use eframe::egui;
use egui::RichText;
use tandem_collab::{CollabCommand, Notice};
use tandem_collab_ui::{Board, ChatBox, News, Peer, SendFile, send, transfers};
use tandem_i18n::tr;

use crate::window::ConsentGuard;

/// Share of the room left that the file list may take before it scrolls, so the chat keeps some.
const FILES_SHARE: f32 = 0.5;

pub(crate) struct CollabPanel {
    board: Board,
    chat: ChatBox,
    send: SendFile,
    /// Whether Accept may be clicked for the offers shown.
    offer_guard: ConsentGuard,
}

/// What the section asks of the session.
pub(crate) enum Action {
    Collab(CollabCommand),
    /// The "Share clipboard" checkbox was switched.
    Clipboard(bool),
}

impl CollabPanel {
    pub(crate) fn new() -> Self {
        Self {
            board: Board::new(Peer::Technician),
            chat: ChatBox::new("host"),
            send: SendFile::new("host"),
            offer_guard: ConsentGuard::default(),
        }
    }

    pub(crate) fn absorb(&mut self, notice: Notice) -> News {
        let news = self.board.absorb(notice, Instant::now());
        if news.offer {
            // A new card moves the layout under the pointer: Accept waits again.
            self.offer_guard.reset();
        }
        news
    }

    pub(crate) fn mark_read(&mut self) {
        self.board.mark_read();
    }

    /// The whole section, filling what `ui` has left. `technician`: their name, for the chat.
    /// `clipboard`: clipboards are shared now.
    pub(crate) fn show(
        &mut self,
        ui: &mut egui::Ui,
        technician: &str,
        clipboard: bool,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        ui.horizontal(|ui| {
            let mut on = clipboard;
            if ui
                .checkbox(&mut on, tr!("panel-share-clipboard"))
                .on_hover_text(tr!("panel-share-clipboard-hover"))
                .changed()
            {
                out.push(Action::Clipboard(on));
            }
            if let Some(note) = self.board.note(Instant::now()) {
                let color = if note.failed {
                    ui.visuals().warn_fg_color
                } else {
                    ui.visuals().weak_text_color()
                };
                ui.add(egui::Label::new(RichText::new(&note.text).color(color).small()).truncate());
            }
        });
        ui.separator();
        ui.horizontal(|ui| {
            ui.strong(tr!("panel-files"));
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                self.send.button(ui, true);
            });
        });
        if let Some(command) = self.send.show(ui) {
            out.push(Action::Collab(command));
        }
        if !self.board.transfers().is_empty() {
            let accept_enabled = if self.board.open_offers() > 0 {
                let pointer_busy = ui.input(|i| {
                    i.pointer.any_down() || i.pointer.any_pressed() || i.pointer.any_released()
                });
                let enabled = self.offer_guard.on_frame(Instant::now(), pointer_busy);
                if !enabled {
                    // Enabling happens on a later frame, perhaps with no input to trigger one.
                    ui.ctx().request_repaint_after(Duration::from_millis(50));
                }
                enabled
            } else {
                false
            };
            let max_height = (ui.available_height() * FILES_SHARE).max(90.0);
            egui::ScrollArea::vertical()
                .id_salt("host-transfers")
                .max_height(max_height)
                .show(ui, |ui| {
                    let commands = transfers::show(ui, &mut self.board, accept_enabled);
                    out.extend(commands.into_iter().map(Action::Collab));
                });
        } else if !self.send.is_open() {
            ui.label(RichText::new(tr!("panel-files-drop-hint")).weak());
        }
        ui.separator();
        let unread = self.board.unread();
        if unread > 0 {
            ui.horizontal(|ui| {
                ui.strong(tr!("panel-chat"));
                ui.label(
                    RichText::new(format!(" {} ", tr!("panel-chat-new", unread = unread)))
                        .strong()
                        .color(ui.visuals().strong_text_color())
                        .background_color(ui.visuals().selection.bg_fill),
                );
            });
        } else {
            ui.strong(tr!("panel-chat"));
        }
        if let Some(command) = self.chat.show(ui, &self.board, technician, true) {
            out.push(Action::Collab(command));
        }
        out.extend(send::dropped(ui.ctx()).into_iter().map(Action::Collab));
        send::drop_overlay(
            ui.ctx(),
            &tr!("panel-drop-to-send", peer = Peer::Technician.key()),
        );
        out
    }

    /// When the window must look again with no event: a clipboard note expires.
    pub(crate) fn next_wakeup(&self) -> Option<Duration> {
        self.board.next_wakeup(Instant::now())
    }
}
