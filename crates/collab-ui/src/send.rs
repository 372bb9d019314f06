//! Choosing what to send: a path field (our machines have no native file dialog: no portal, no
//! GTK) and files dropped on the window.

use std::path::PathBuf;

use eframe::egui;
use egui::{Color32, Id, Key, LayerId, Order};
use tandem_collab::CollabCommand;
use tandem_i18n::tr;

/// The "Send file…" path field, open or closed.
#[derive(Debug)]
pub struct SendFile {
    /// The path being typed, while the field is open.
    path: Option<String>,
    id: Id,
    /// Give the field the keyboard when it is next drawn.
    focus: bool,
}

impl SendFile {
    pub fn new(id_salt: &str) -> Self {
        Self {
            path: None,
            id: Id::unique(("tandem-send-path", id_salt)),
            focus: false,
        }
    }

    pub fn is_open(&self) -> bool {
        self.path.is_some()
    }

    /// Whether the path field has the keyboard: the viewer then keeps keys to itself.
    pub fn has_focus(&self, ctx: &egui::Context) -> bool {
        ctx.memory(|m| m.has_focus(self.id))
    }

    /// The "Send file…" button; opens (or closes) the path field.
    pub fn button(&mut self, ui: &mut egui::Ui, enabled: bool) {
        let button = egui::Button::new(tr!("panel-send-file")).selected(self.is_open());
        if ui
            .add_enabled(enabled, button)
            .on_hover_text(tr!("panel-send-file-hover"))
            .clicked()
        {
            if self.is_open() {
                self.path = None;
            } else {
                self.open(ui.ctx());
            }
        }
    }

    /// Opens the field with the home folder filled in and the cursor after it.
    pub fn open(&mut self, ctx: &egui::Context) {
        let mut start = std::env::home_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if !start.is_empty() && !start.ends_with('/') {
            start.push('/');
        }
        let end = start.chars().count();
        self.path = Some(start);
        let mut state = egui::text_edit::TextEditState::load(ctx, self.id).unwrap_or_default();
        state
            .cursor
            .set_char_range(Some(egui::text::CCursorRange::one(
                egui::text::CCursor::new(end),
            )));
        state.store(ctx, self.id);
        self.focus = true;
    }

    /// The open field: "File or folder:", the path, Send and Cancel. Enter sends, Escape closes. Returns
    /// the command once the user sends.
    pub fn show(&mut self, ui: &mut egui::Ui) -> Option<CollabCommand> {
        let path = self.path.as_mut()?;
        let mut send = false;
        let mut close = false;
        ui.horizontal(|ui| {
            ui.label(tr!("panel-send-path-label"));
            // Room for the two buttons on the right.
            let width = (ui.available_width() - 130.0).max(120.0);
            let response = ui.add(
                egui::TextEdit::singleline(path)
                    .id(self.id)
                    .hint_text(tr!("panel-send-path-hint"))
                    .desired_width(width),
            );
            if std::mem::take(&mut self.focus) {
                // After the field's own check: the click that opened it ends in this frame, and
                // to a field focused before that check it is a click elsewhere, which unfocuses.
                response.request_focus();
            }
            if response.lost_focus() {
                send |= ui.input(|i| i.key_pressed(Key::Enter));
                close |= ui.input(|i| i.key_pressed(Key::Escape));
            }
            send |= ui.button(tr!("panel-send")).clicked();
            close |= ui.button(tr!("panel-cancel")).clicked();
        });
        if close {
            self.path = None;
            return None;
        }
        if !send {
            return None;
        }
        let typed = self.path.take()?;
        let path = expand_home(typed.trim());
        if path.as_os_str().is_empty() {
            return None;
        }
        Some(CollabCommand::SendPath(path))
    }
}

/// `~/x` → `/home/me/x`, as a shell would.
fn expand_home(typed: &str) -> PathBuf {
    match (typed.strip_prefix("~/"), std::env::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ if typed == "~" => std::env::home_dir().unwrap_or_default(),
        _ => PathBuf::from(typed),
    }
}

/// The files dropped on the window in this frame, each as a `SendPath`.
pub fn dropped(ctx: &egui::Context) -> Vec<CollabCommand> {
    ctx.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| CollabCommand::SendPath(f.path().to_path_buf()))
            .filter(|c| !matches!(c, CollabCommand::SendPath(p) if p.as_os_str().is_empty()))
            .collect()
    })
}

/// While files are dragged over the window: a veil over everything saying what a drop does.
pub fn drop_overlay(ctx: &egui::Context, text: &str) {
    let hovering = ctx.input(|i| i.raw.hovered_files.len());
    if hovering == 0 {
        return;
    }
    let painter = ctx.layer_painter(LayerId::new(Order::Foreground, Id::unique("tandem-drop")));
    let rect = ctx.content_rect();
    painter.rect_filled(rect, 0.0, Color32::from_black_alpha(180));
    let text = if hovering > 1 {
        tr!("panel-drop-files", text = text, files = hovering)
    } else {
        text.to_owned()
    };
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        text,
        egui::FontId::proportional(24.0),
        Color32::WHITE,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tilde_means_home() {
        let Some(home) = std::env::home_dir() else {
            return;
        };
        assert_eq!(expand_home("~/a b.txt"), home.join("a b.txt"));
        assert_eq!(expand_home("~"), home);
        assert_eq!(expand_home("/tmp/~x"), PathBuf::from("/tmp/~x"));
    }
}
