//! The technician's system-information panel: a button that asks for the user's system information
//! (they are asked to allow it the first time), and a window with the snapshot as indented lines
//! that can be filtered and copied.

use eframe::egui;
use tandem_proto::text::for_display;

#[derive(Default)]
pub struct SysinfoPanel {
    open: bool,
    waiting: bool,
    declined: bool,
    /// The snapshot as indented JSON lines, display-safe.
    lines: Vec<String>,
    filter: String,
}

impl SysinfoPanel {
    /// The toolbar button; true when a (new) snapshot should be asked for.
    pub fn button(&mut self, ui: &mut egui::Ui, enabled: bool) -> bool {
        let label = if self.waiting {
            "System info…"
        } else {
            "System info"
        };
        let clicked = ui
            .add_enabled(enabled && !self.waiting, egui::Button::new(label))
            .on_hover_text("Ask the user for this computer's system information")
            .clicked();
        if clicked {
            self.waiting = true;
            self.declined = false;
            self.open = true;
        }
        clicked
    }

    /// The answer arrived: a snapshot (JSON), or `None` if the user declined.
    pub fn absorb(&mut self, snapshot: Option<String>) {
        self.waiting = false;
        self.open = true;
        match snapshot {
            None => self.declined = true,
            Some(json) => {
                let pretty = serde_json::from_str::<serde_json::Value>(&json)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .unwrap_or(json);
                self.lines = pretty
                    .lines()
                    .map(|l| for_display(l).into_owned())
                    .collect();
            }
        }
    }

    pub fn show(&mut self, ctx: &egui::Context) {
        let mut open = self.open;
        egui::Window::new("System information")
            .open(&mut open)
            .default_size([520.0, 560.0])
            .show(ctx, |ui| {
                if self.waiting {
                    ui.label("Waiting for the user to allow it…");
                }
                if self.declined {
                    ui.label("The user declined to share their system information.");
                }
                if self.lines.is_empty() {
                    return;
                }
                ui.horizontal(|ui| {
                    ui.label("Filter:");
                    ui.text_edit_singleline(&mut self.filter);
                    if ui.button("Copy").clicked() {
                        ctx.copy_text(self.lines.join("\n"));
                    }
                });
                let needle = self.filter.to_lowercase();
                egui::ScrollArea::vertical().show(ui, |ui| {
                    for line in &self.lines {
                        if needle.is_empty() || line.to_lowercase().contains(&needle) {
                            ui.monospace(line);
                        }
                    }
                });
            });
        self.open = open;
    }
}
