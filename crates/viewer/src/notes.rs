//! The technician's notes panel: plain-text notes kept with the session (autosaved to a draft file
//! as they are typed), and the outcome asked for when the session ends. The front end reads them
//! for the session report.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use eframe::egui;

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
            .selectable_label(self.open, "Notes")
            .on_hover_text("Your notes and the outcome, for the session report")
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
            "Before you close: the outcome"
        } else {
            "Notes"
        })
        .open(&mut open)
        .default_size([420.0, 360.0])
        .show(ctx, |ui| {
            let mut notes = lock(&self.notes);
            ui.label("Notes (kept with the session report):");
            ui.add(
                egui::TextEdit::multiline(&mut notes.text)
                    .desired_rows(8)
                    .desired_width(f32::INFINITY),
            );
            ui.separator();
            ui.label("Outcome:");
            ui.horizontal(|ui| {
                for (value, label) in [
                    (Outcome::Resolved, "Resolved"),
                    (Outcome::NotResolved, "Not resolved"),
                    (Outcome::Escalated, "Escalated"),
                ] {
                    if ui
                        .selectable_label(notes.outcome == Some(value), label)
                        .clicked()
                    {
                        notes.outcome = Some(value);
                    }
                }
            });
            ui.label("Summary (optional):");
            ui.text_edit_singleline(&mut notes.summary);
            if ended {
                ui.horizontal(|ui| {
                    if ui.button("Close without an outcome").clicked() {
                        done = true;
                    }
                    if notes.outcome.is_some()
                        && ui
                            .button(egui::RichText::new("Save and close").strong())
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
