//! While sharing: a thin bar at the top edge of the screen instead of a window over the desktop.
//! Who is connected, what they may do (seeing, controlling, recording), and one click each: Stop
//! sharing, Take back control, Stop recording, and Open (the full window with chat, files and the
//! rest). Dragging its left part (the mark and the text) moves it.
//!
//! The bar's buttons are laid out right to left, Stop sharing first: it is the rightmost button and
//! the first one Tab reaches.

use eframe::egui;
use egui::{Color32, RichText};
use tandem_collab_ui::style;
use tandem_i18n::tr;

/// The bar's height in points.
pub(crate) const HEIGHT: f32 = 36.0;

/// What the bar shows.
pub(crate) struct Bar<'a> {
    pub technician: &'a str,
    pub view: bool,
    pub control: bool,
    pub recording: bool,
    /// The technician gave control back (and was not given it again since): said in the bar.
    pub released: bool,
    /// Seconds left to restore a lost connection, while it is being restored.
    pub reconnecting: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BarAction {
    StopSharing,
    TakeBackControl,
    StopRecording,
    OpenWindow,
    /// The user started dragging the bar.
    Move,
}

/// What the technician may do, in a few words: "seeing", "controlling", "recording".
pub(crate) fn doing(view: bool, control: bool, recording: bool) -> String {
    let mut parts = Vec::new();
    if control {
        parts.push(tr!("window-bar-controlling"));
    } else if view {
        parts.push(tr!("window-bar-seeing"));
    }
    if recording {
        parts.push(tr!("window-bar-recording"));
    }
    parts.join(" · ")
}

/// Draws the bar; returns what was clicked and the width the content needs (for sizing the bar).
pub(crate) fn show(ui: &mut egui::Ui, bar: &Bar<'_>) -> (Option<BarAction>, f32) {
    let mut action = None;
    let mut needed = 0.0;
    ui.horizontal_centered(|ui| {
        let left = ui.horizontal(|ui| {
            style::mark(ui, 18.0);
            let who = if let Some(left) = bar.reconnecting {
                tr!("window-bar-reconnecting", seconds = left)
            } else {
                tr!("window-bar-sharing", name = bar.technician)
            };
            ui.label(RichText::new(who).strong());
            let doing = doing(bar.view, bar.control, bar.recording);
            if !doing.is_empty() {
                let color = if bar.recording {
                    style::DANGER_FILL
                } else {
                    style::accent(ui)
                };
                let chip = if bar.recording {
                    RichText::new(format!("• {doing}")).color(Color32::WHITE)
                } else {
                    RichText::new(doing).color(color)
                };
                if bar.recording {
                    egui::Frame::new()
                        .fill(style::DANGER_FILL)
                        .corner_radius(4.0)
                        .inner_margin(egui::Margin::symmetric(6, 2))
                        .show(ui, |ui| ui.label(chip));
                } else {
                    ui.label(chip);
                }
            }
            if bar.released && !bar.control && bar.reconnecting.is_none() {
                ui.label(
                    RichText::new(tr!("window-bar-released", name = bar.technician))
                        .color(ui.visuals().weak_text_color()),
                );
            }
        });
        // The text part moves the bar (the window has no title bar).
        let handle = ui
            .interact(
                left.response.rect,
                egui::Id::unique("tandem-bar-drag"),
                // Not focusable: Tab goes straight to the buttons.
                egui::Sense::DRAG,
            )
            .on_hover_cursor(egui::CursorIcon::Grab);
        if handle.drag_started() {
            action = Some(BarAction::Move);
        }
        ui.add_space(12.0);
        let right = ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if style::add(ui, style::danger(tr!("window-stop-sharing"))).clicked() {
                action = Some(BarAction::StopSharing);
            }
            if style::add(ui, style::secondary(tr!("window-bar-open")))
                .on_hover_text(tr!("window-bar-open-hint"))
                .clicked()
            {
                action = Some(BarAction::OpenWindow);
            }
            if bar.recording
                && style::add(ui, style::secondary(tr!("window-stop-recording"))).clicked()
            {
                action = Some(BarAction::StopRecording);
            }
            if bar.control
                && style::add(ui, style::secondary(tr!("window-take-back-control"))).clicked()
            {
                action = Some(BarAction::TakeBackControl);
            }
        });
        let spacing = ui.spacing().item_spacing.x;
        // A right-to-left child's rectangle covers only its widgets, from the right edge.
        needed = left.response.rect.width() + 12.0 + 2.0 * spacing + right.response.rect.width();
    });
    (action, needed)
}
