//! The technician's notes panel: plain-text notes kept with the session (autosaved to a draft file
//! as they are typed), and the outcome asked for when the session ends. The front end reads them
//! for the session report.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use eframe::egui;
use tandem_i18n::tr;

/// What the technician concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Resolved,
    NotResolved,
    Escalated,
}

/// The notes and the outcome, shared between the window and the front end that writes the report.
#[derive(Debug, Default)]
pub struct Notes {
    pub text: String,
    pub outcome: Option<Outcome>,
    pub summary: String,
}

pub type SharedNotes = Arc<Mutex<Notes>>;

pub fn lock(notes: &SharedNotes) -> MutexGuard<'_, Notes> {
    notes.lock().unwrap_or_else(|p| p.into_inner())
}

/// The panel: a toggle in the toolbar, a window with the notes and the outcome.
pub struct NotesPanel {
    notes: SharedNotes,
    /// Where the notes are saved as they change (kept if the program dies).
    draft: Option<PathBuf>,
    open: bool,
    saved: String,
    /// Ask for the outcome at the end (there is a report to put it in).
    ask_outcome: bool,
}

impl NotesPanel {
    /// A panel over `notes`, saving a draft to `draft` as they change; with `ask_outcome`, the
    /// window asks for the outcome when the session ends.
    pub fn new(notes: SharedNotes, draft: Option<PathBuf>, ask_outcome: bool) -> Self {
        Self {
            notes,
            draft,
            open: false,
            saved: String::new(),
            ask_outcome,
        }
    }

    pub fn button(&mut self, ui: &mut egui::Ui) {
        if ui
            .selectable_label(self.open, tr!("notes-button"))
            .on_hover_text(tr!("notes-button-hover"))
            .clicked()
        {
            self.open = !self.open;
        }
    }

    /// The session ended: the outcome is still to be chosen, so the window stays open for it.
    pub fn wants_outcome(&self) -> bool {
        self.ask_outcome && lock(&self.notes).outcome.is_none()
    }

    /// Shows the panel; at the end (`ended`) it opens by itself and asks for the outcome. Returns
    /// true when the technician is done with it after the end (saved or skipped).
    pub fn show(&mut self, ctx: &egui::Context, ended: bool) -> bool {
        if ended {
            self.open = true;
        }
        let mut done = false;
        let mut open = self.open;
        egui::Window::new(if ended {
            tr!("notes-title-ended")
        } else {
            tr!("notes-button")
        })
        .open(&mut open)
        .default_size([420.0, 360.0])
        .show(ctx, |ui| {
            let mut notes = lock(&self.notes);
            ui.label(tr!("notes-label"));
            ui.add(
                egui::TextEdit::multiline(&mut notes.text)
                    .desired_rows(8)
                    .desired_width(f32::INFINITY),
            );
            ui.separator();
            ui.label(tr!("notes-outcome"));
            ui.horizontal(|ui| {
                for (value, label) in [
                    (Outcome::Resolved, tr!("notes-outcome-resolved")),
                    (Outcome::NotResolved, tr!("notes-outcome-not-resolved")),
                    (Outcome::Escalated, tr!("notes-outcome-escalated")),
                ] {
                    if ui
                        .selectable_label(notes.outcome == Some(value), label)
                        .clicked()
                    {
                        notes.outcome = Some(value);
                    }
                }
            });
            ui.label(tr!("notes-summary"));
            ui.text_edit_singleline(&mut notes.summary);
            if ended {
                ui.horizontal(|ui| {
                    if ui.button(tr!("notes-close-without-outcome")).clicked() {
                        done = true;
                    }
                    if notes.outcome.is_some()
                        && ui
                            .button(egui::RichText::new(tr!("notes-save-and-close")).strong())
                            .clicked()
                    {
                        done = true;
                    }
                });
            }
            let text = notes.text.clone();
            drop(notes);
            self.autosave(text);
        });
        self.open = open;
        // Closing the window at the end counts as done.
        done || (ended && !self.open)
    }

    fn autosave(&mut self, text: String) {
        if text == self.saved {
            return;
        }
        if let Some(path) = &self.draft
            && let Err(e) = tandem_files::write_atomically(path, text.as_bytes())
        {
            tracing::warn!(error = %e, "the notes draft could not be saved");
        }
        self.saved = text;
    }
}
