//! While sharing, the full window (opened from the bar): who is connected and what they may do,
//! the recording banner, Take back control, Stop sharing, Back to the bar, and the collaboration
//! section (clipboard, files, chat).

use eframe::egui;
use egui::{Color32, RichText};
use tandem_collab_ui::style;
use tandem_i18n::tr;

/// What the full window shows while sharing.
pub(crate) struct Active<'a> {
    pub technician: &'a str,
    pub view: bool,
    pub control: bool,
    pub recording: bool,
    pub verifier: Option<&'a str>,
    /// The technician gave control back (and was not given it again since).
    pub released: bool,
    /// The technician's side of clipboard sharing is on.
    pub technician_clipboard: bool,
    /// Seconds left to restore a lost connection, while it is being restored.
    pub reconnecting: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActiveAction {
    StopSharing,
    TakeBackControl,
    StopRecording,
    BackToBar,
}

/// Draws the top of the full window (everything but the collaboration section).
pub(crate) fn show(ui: &mut egui::Ui, active: &Active<'_>) -> Option<ActiveAction> {
    let mut action = None;
    let name = active.technician;
    ui.horizontal(|ui| {
        style::mark(ui, 22.0);
        ui.label(RichText::new(tr!("window-title-short")).color(style::accent(ui)));
    });
    if let Some(left) = active.reconnecting {
        ui.label(RichText::new(tr!("window-reconnecting")).heading().strong());
        ui.label(tr!(
            "window-reconnecting-detail",
            name = name,
            seconds = left
        ));
    } else {
        ui.label(
            RichText::new(tr!("window-sharing-with", name = name))
                .heading()
                .strong(),
        );
    }
    let can = match (active.view, active.control) {
        (_, true) => tr!("window-can-control", name = name),
        (true, false) => tr!("window-can-see", name = name),
        (false, false) => tr!("window-can-nothing", name = name),
    };
    ui.label(can);
    if active.released && !active.control {
        ui.label(tr!("window-control-released", name = name));
    }
    if !active.technician_clipboard {
        ui.label(tr!("window-technician-clipboard-off", name = name));
    }
    if let Some(verifier) = active.verifier {
        ui.label(tr!("window-check-number", number = verifier));
    }
    if active.recording {
        egui::Frame::new()
            .fill(style::DANGER_FILL)
            .inner_margin(8.0)
            .corner_radius(6.0)
            .show(ui, |ui| {
                // The whole width, so it cannot be missed.
                ui.set_width(ui.available_width());
                ui.label(
                    RichText::new(tr!("window-recording-banner", name = name))
                        .color(Color32::WHITE)
                        .strong(),
                );
                if style::add(ui, style::secondary(tr!("window-stop-recording"))).clicked() {
                    action = Some(ActiveAction::StopRecording);
                }
            });
    }
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        if style::add(ui, style::danger(tr!("window-stop-sharing"))).clicked() {
            action = Some(ActiveAction::StopSharing);
        }
        if active.control
            && style::add(ui, style::secondary(tr!("window-take-back-control"))).clicked()
        {
            action = Some(ActiveAction::TakeBackControl);
        }
        if style::add(ui, style::secondary(tr!("window-back-to-bar"))).clicked() {
            action = Some(ActiveAction::BackToBar);
        }
    });
    ui.separator();
    action
}
