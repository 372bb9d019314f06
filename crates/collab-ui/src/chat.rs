//! The chat: a transcript that keeps to its newest line, and a one-line input where Enter sends.

use eframe::egui;
use egui::{Id, Key, RichText};
use tandem_collab::CollabCommand;
use tandem_i18n::tr;
use tandem_proto::flow::ChatFrom;
use tandem_proto::limits::MAX_CHAT_LEN;

use crate::board::Board;

/// The chat input's state (what is being typed).
#[derive(Debug)]
pub struct ChatBox {
    input: String,
    id: Id,
}

impl ChatBox {
    pub fn new(id_salt: &str) -> Self {
        Self {
            input: String::new(),
            id: Id::unique(("tandem-chat-input", id_salt)),
        }
    }

    /// Whether the input has the keyboard: the viewer then keeps keys to itself.
    pub fn has_focus(&self, ctx: &egui::Context) -> bool {
        ctx.memory(|m| m.has_focus(self.id))
    }

    /// Draws the transcript over the space `ui` has left and the input under it. `peer` labels
    /// the peer's lines ("User", a technician's name). `enabled`: chat works now (the screen is
    /// shared); otherwise the input is greyed out. Returns the message to send, if one was.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        board: &Board,
        peer: &str,
        enabled: bool,
    ) -> Option<CollabCommand> {
        let mut send = None;
        // Bottom up, so the input sits at the bottom and the transcript takes what is left.
        ui.with_layout(egui::Layout::bottom_up(egui::Align::Min), |ui| {
            let hint = if enabled {
                tr!("panel-chat-hint")
            } else {
                tr!("panel-chat-hint-inactive")
            };
            let edit = egui::TextEdit::singleline(&mut self.input)
                .id(self.id)
                .hint_text(hint)
                // Characters, not bytes: a longer text in UTF-8 is cut where it is sent.
                .char_limit(MAX_CHAT_LEN)
                .desired_width(f32::INFINITY);
            let response = ui.add_enabled(enabled, edit);
            if response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
                let text = self.input.trim();
                if !text.is_empty() {
                    send = Some(CollabCommand::Chat(text.to_owned()));
                    self.input.clear();
                }
                // Enter ends editing in egui; keep the keyboard here for the next message.
                response.request_focus();
            }
            ui.add_space(4.0);
            egui::ScrollArea::vertical()
                .id_salt(self.id.with("transcript"))
                .stick_to_bottom(true)
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    ui.vertical(|ui| transcript(ui, board, peer));
                });
        });
        send
    }
}

fn transcript(ui: &mut egui::Ui, board: &Board, peer: &str) {
    if board.chat().len() == 0 {
        ui.label(RichText::new(tr!("panel-chat-empty")).weak());
        return;
    }
    for line in board.chat() {
        ui.horizontal_wrapped(|ui| {
            // Tight, so the label and the text read as one line.
            ui.spacing_mut().item_spacing.x = 4.0;
            match line.from {
                ChatFrom::Us => ui.label(RichText::new(tr!("panel-chat-you")).strong()),
                ChatFrom::Peer => ui.label(
                    RichText::new(tr!("panel-chat-from", peer = peer))
                        .strong()
                        .color(ui.visuals().hyperlink_color),
                ),
            };
            // Already display-safe (see `Board`).
            ui.label(&line.text);
        });
    }
}
