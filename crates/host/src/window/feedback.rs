//! After sharing, one question: how did it go (1 to 5 and a comment), Send or Skip. Escape skips.

use eframe::egui;
use egui::{Key, RichText};
use tandem_collab_ui::style;
use tandem_i18n::tr;

use crate::HostCommand;

/// Draws the question; returns the answer once given. `user_stopped`: the user pressed Stop
/// sharing (else the technician ended the session).
pub(crate) fn show(
    ui: &mut egui::Ui,
    technician: &str,
    user_stopped: bool,
    rating: &mut Option<u8>,
    comment: &mut String,
) -> Option<HostCommand> {
    ui.horizontal(|ui| {
        style::mark(ui, 22.0);
        ui.label(RichText::new(tr!("window-title-short")).color(style::accent(ui)));
    });
    let heading = if user_stopped {
        tr!("window-feedback-you-stopped")
    } else {
        tr!("window-feedback-they-ended", name = technician)
    };
    ui.label(RichText::new(heading).heading().strong());
    ui.label(tr!("window-feedback-question", name = technician));
    ui.horizontal(|ui| {
        for n in 1..=5u8 {
            let label = match n {
                1 => tr!("window-feedback-bad"),
                5 => tr!("window-feedback-great"),
                n => n.to_string(),
            };
            if ui.selectable_label(*rating == Some(n), label).clicked() {
                *rating = Some(n);
            }
        }
    });
    let label = ui.label(tr!("window-feedback-comment"));
    ui.text_edit_singleline(comment).labelled_by(label.id);
    let mut answer = None;
    ui.horizontal(|ui| {
        if style::add(ui, style::secondary(tr!("window-feedback-skip"))).clicked() {
            answer = Some(HostCommand::SkipFeedback);
        }
        if let Some(n) = *rating
            && style::add(ui, style::primary(tr!("window-feedback-send"))).clicked()
        {
            answer = Some(HostCommand::Feedback {
                rating: n,
                comment: comment.clone(),
            });
        }
    });
    if answer.is_none() && ui.input(|i| i.key_pressed(Key::Escape)) {
        answer = Some(HostCommand::SkipFeedback);
    }
    answer
}
