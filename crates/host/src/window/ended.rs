//! The end: why it ended, in one sentence, and what to do next; the window closes by itself.

use eframe::egui;
use egui::RichText;
use tandem_collab_ui::style;
use tandem_i18n::tr;

/// How the session ended, as far as the window knows: it decides the "what next" sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The user pressed Stop (or closed the window).
    UserStopped,
    /// The user denied the first question: nothing was shared.
    Declined,
    /// Anything else: the technician ended, the code expired, the connection was lost…
    Other,
}

/// The sentence that says what to do next.
pub(crate) fn next_step(ending: Ending) -> String {
    match ending {
        Ending::UserStopped => tr!("window-ended-next-stopped"),
        Ending::Declined => tr!("window-ended-next-declined"),
        Ending::Other => tr!("window-ended-next-other"),
    }
}

/// Returns whether Close was pressed.
pub(crate) fn show(ui: &mut egui::Ui, reason: &str, ending: Ending) -> bool {
    ui.horizontal(|ui| {
        style::mark(ui, 22.0);
        ui.label(RichText::new(tr!("window-title-short")).color(style::accent(ui)));
    });
    ui.label(RichText::new(tr!("window-ended")).heading().strong());
    ui.label(reason);
    ui.label(next_step(ending));
    ui.add_space(6.0);
    style::add(ui, style::secondary(tr!("window-close"))).clicked()
}
