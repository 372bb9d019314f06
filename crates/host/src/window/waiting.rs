//! Waiting for the technician: the code large and grouped, Copy, when it expires, New code and Stop.

use std::time::Duration;

use eframe::egui;
use egui::{FontId, RichText};
use tandem_collab_ui::style;
use tandem_i18n::tr;

/// What the waiting screen shows.
pub(crate) struct Waiting<'a> {
    /// Already in groups of three (`482 193 715`).
    pub code: &'a str,
    pub left: Duration,
    /// Why this is not the first code (a wrong-code join burned the previous one).
    pub notice: Option<&'a str>,
}

/// What the user asked for on the waiting screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitingAction {
    NewCode,
    Stop,
}

pub(crate) fn show(ui: &mut egui::Ui, waiting: &Waiting<'_>) -> Option<WaitingAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        style::mark(ui, 22.0);
        ui.label(RichText::new(tr!("window-title-short")).color(style::accent(ui)));
    });
    if let Some(notice) = waiting.notice {
        ui.colored_label(ui.visuals().warn_fg_color, notice);
    }
    ui.label(RichText::new(tr!("window-code-intro")).heading());
    ui.horizontal(|ui| {
        // A label of its own, so a screen reader reads the code as one item.
        ui.label(
            RichText::new(waiting.code)
                .font(FontId::monospace(40.0))
                .strong()
                .color(style::accent(ui)),
        );
        ui.add_space(8.0);
        let copy = style::add(ui, style::secondary(tr!("window-copy")))
            .on_hover_text(tr!("window-copy-hint"));
        if copy.clicked() {
            ui.ctx().copy_text(waiting.code.replace(' ', ""));
        }
    });
    let secs = waiting.left.as_secs();
    ui.label(tr!(
        "window-code-expires",
        minutes = secs / 60,
        seconds = format!("{:02}", secs % 60)
    ));
    ui.label(RichText::new(tr!("window-code-once")).color(ui.visuals().weak_text_color()));
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        if style::add(ui, style::secondary(tr!("window-new-code"))).clicked() {
            action = Some(WaitingAction::NewCode);
        }
        if style::add(ui, style::secondary(tr!("window-stop"))).clicked() {
            action = Some(WaitingAction::Stop);
        }
    });
    action
}
