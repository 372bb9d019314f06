//! The list of transfers: offers from the peer with Accept / Refuse, transfers on their way with a
//! progress bar, speed, time left and Cancel, and how each one ended.

use eframe::egui;
use egui::{Color32, RichText, Sense};
use tandem_collab::{CollabCommand, Way, human_secs};
use tandem_i18n::tr;
use tandem_proto::text::for_display;

use crate::board::{Board, Peer, Phase, Transfer};

/// Draws every transfer on `board`, newest first (so a list taller than its scroll area still shows
/// what just happened), and a "Clear finished" button when some ended.
/// `accept_enabled`: whether Accept may be clicked in this frame (the user's window guards it like
/// its consent prompt). Returns what the user clicked.
pub fn show(ui: &mut egui::Ui, board: &mut Board, accept_enabled: bool) -> Vec<CollabCommand> {
    let mut out = Vec::new();
    let peer = board.peer();
    let mut accepted = Vec::new();
    for t in board.transfers().iter().rev() {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width());
            row(ui, t, peer, accept_enabled, &mut out, &mut accepted);
        });
    }
    for id in accepted {
        board.accepted(id);
    }
    if board.has_finished() && ui.small_button(tr!("panel-clear-finished")).clicked() {
        board.clear_finished();
    }
    out
}

fn row(
    ui: &mut egui::Ui,
    t: &Transfer,
    peer: Peer,
    accept_enabled: bool,
    out: &mut Vec<CollabCommand>,
    accepted: &mut Vec<u32>,
) {
    let direction = match t.id.way {
        Way::Outgoing => tr!("panel-transfer-sending"),
        Way::Incoming => tr!("panel-transfer-receiving"),
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new(direction).weak());
        // Already display-safe (see `Board`); long names are cut, not wrapped.
        ui.add(egui::Label::new(RichText::new(t.summary()).strong()).truncate());
    });
    match &t.phase {
        Phase::Offered { answered: false } => {
            ui.horizontal(|ui| {
                ui.label(tr!("panel-transfer-offered", peer = peer.key()));
                // Accept at the far right and Refuse next to it, as in the consent prompt. Accept
                // is not focusable, so no Tab and Enter (nor a stray Enter meant for the chat)
                // accepts.
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let accept = egui::Button::new(RichText::new(tr!("panel-accept")).strong())
                        .sense(Sense::CLICK);
                    if ui.add_enabled(accept_enabled, accept).clicked() {
                        accepted.push(t.id.id);
                        out.push(CollabCommand::Answer {
                            id: t.id.id,
                            accept: true,
                        });
                    }
                    if ui.button(tr!("panel-refuse")).clicked() {
                        out.push(CollabCommand::Answer {
                            id: t.id.id,
                            accept: false,
                        });
                    }
                });
            });
        }
        Phase::Offered { answered: true } => {
            ui.label(RichText::new(tr!("panel-transfer-starting")).weak());
        }
        Phase::Waiting => {
            ui.horizontal(|ui| {
                ui.label(tr!("panel-transfer-waiting", peer = peer.key()));
                cancel_button(ui, t, out);
            });
        }
        Phase::Moving {
            done,
            total,
            bytes_per_sec,
            eta_secs,
        } => {
            let fraction = if *total > 0 {
                (*done as f64 / *total as f64).clamp(0.0, 1.0)
            } else {
                1.0
            };
            // Not animated: an animated bar repaints every frame, and each frame costs CPU.
            let bar = egui::ProgressBar::new(fraction as f32).text(tr!(
                "panel-transfer-progress",
                percent = format!("{:.0}", fraction * 100.0),
                done = tandem_i18n::bytes(*done),
                total = tandem_i18n::bytes(*total)
            ));
            ui.add(bar);
            ui.horizontal(|ui| {
                let pace = match (*bytes_per_sec > 0.0, eta_secs) {
                    (false, _) => tr!("panel-transfer-starting"),
                    (true, Some(eta)) => tr!(
                        "panel-transfer-pace",
                        rate = tandem_i18n::bytes(*bytes_per_sec as u64),
                        left = human_secs(*eta)
                    ),
                    (true, None) => format!("{}/s", tandem_i18n::bytes(*bytes_per_sec as u64)),
                };
                ui.label(pace);
                cancel_button(ui, t, out);
            });
        }
        Phase::Done { secs } => {
            let mut took = tr!("panel-seconds", seconds = tandem_i18n::decimal(*secs, 1));
            if *secs > 0.0 {
                took.push_str(&tr!(
                    "panel-transfer-rate",
                    rate = tandem_i18n::bytes((t.bytes as f64 / secs) as u64)
                ));
            }
            let text = match (t.id.way, &t.saved) {
                (Way::Incoming, Some(path)) => {
                    // Our own path, but its file name came from the peer.
                    let path = for_display(&path.display().to_string()).into_owned();
                    tr!(
                        "panel-transfer-received-saved",
                        took = took,
                        path = path,
                        more = t.saved_count.saturating_sub(1)
                    )
                }
                (Way::Incoming, None) => tr!("panel-transfer-received", took = took),
                (Way::Outgoing, _) => tr!("panel-transfer-sent", took = took),
            };
            ui.label(RichText::new(text).color(ok_color(ui)));
        }
        Phase::Failed { reason } => {
            ui.label(
                RichText::new(tr!("panel-transfer-stopped", reason = reason.as_str()))
                    .color(ui.visuals().warn_fg_color),
            );
        }
    }
    if t.skipped_count > 0 {
        let more = t.skipped_count.saturating_sub(t.skipped.len());
        let text = tr!(
            "panel-transfer-not-sent",
            names = t.skipped.join(", "),
            more = more
        );
        ui.label(RichText::new(text).weak().small());
    }
}

fn cancel_button(ui: &mut egui::Ui, t: &Transfer, out: &mut Vec<CollabCommand>) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        if ui.button(tr!("panel-cancel")).clicked() {
            out.push(CollabCommand::Cancel(t.id));
        }
    });
}

fn ok_color(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(120, 200, 120)
    } else {
        Color32::from_rgb(30, 120, 40)
    }
}
