//! One consent question on its own: what the technician asks, what it means in plain words, the
//! check number, a secondary Deny and a primary Allow.
//!
//! The keyboard can never allow by accident: the first frame of each question puts the keyboard
//! on Deny, so Enter or Space pressed as the question appears denies; Enter never activates Allow
//! (only a click, Space once Tab moved to it, or a screen reader's action do), and Escape denies.
//! Allow only works once [`ConsentGuard`] says so (a delay, and no mouse button held): until then
//! it is drawn greyed and ignores every activation, but stays focusable so Tab order never changes
//! under the user's fingers.

use std::time::{Duration, Instant};

use eframe::egui;
use egui::{Key, PointerButton, RichText};
use tandem_collab_ui::style;
use tandem_i18n::tr;

use super::guard::ConsentGuard;
use crate::Grant;

/// What the question screen shows.
pub(crate) struct Question<'a> {
    pub grant: Grant,
    /// The technician's name as shown (already made safe for display), or empty.
    pub technician: &'a str,
    pub verifier: Option<&'a str>,
}

/// The question's heading, also the window's title while it is asked.
pub(crate) fn heading(grant: Grant, name: &str) -> String {
    match grant {
        Grant::View => tr!("window-consent-view", name = name),
        Grant::Control => tr!("window-consent-control", name = name),
        Grant::Diagnostics => tr!("window-consent-diagnostics", name = name),
        Grant::Recording => tr!("window-consent-recording", name = name),
    }
}

/// What allowing means, in plain words.
fn meaning(grant: Grant, name: &str) -> String {
    match grant {
        Grant::View => tr!("window-consent-view-means", name = name),
        Grant::Control => tr!("window-consent-control-means", name = name),
        Grant::Diagnostics => tr!("window-consent-diagnostics-means", name = name),
        Grant::Recording => tr!("window-consent-recording-means"),
    }
}

/// The technician's name, or "The technician" when they gave none.
pub(crate) fn name_or_default(technician: &str) -> String {
    if technician.is_empty() {
        tr!("window-technician-unnamed")
    } else {
        technician.to_owned()
    }
}

/// Draws the question; returns the answer once the user gave one (`true`: allow).
pub(crate) fn show(
    ui: &mut egui::Ui,
    question: &Question<'_>,
    guard: &mut ConsentGuard,
    now: Instant,
) -> Option<bool> {
    let name = name_or_default(question.technician);
    let fresh = guard.is_fresh();
    if fresh {
        tracing::info!(grant = ?question.grant, "consent question shown");
    }
    let pointer_busy =
        ui.input(|i| i.pointer.any_down() || i.pointer.any_pressed() || i.pointer.any_released());
    let was_enabled = guard.is_enabled();
    let allow_enabled = guard.on_frame(now, pointer_busy);
    if allow_enabled && !was_enabled {
        tracing::info!(grant = ?question.grant, "consent: Allow enabled");
    }

    ui.add_space(4.0);
    ui.horizontal(|ui| {
        style::mark(ui, 22.0);
        ui.label(RichText::new(tr!("window-consent-title")).color(style::accent(ui)));
    });
    ui.label(
        RichText::new(heading(question.grant, &name))
            .heading()
            .strong(),
    );
    ui.label(meaning(question.grant, &name));
    if let Some(verifier) = question.verifier {
        ui.add_space(2.0);
        ui.label(RichText::new(tr!("window-check-number", number = verifier)).strong());
        ui.label(
            RichText::new(tr!("window-check-number-hint", name = name.as_str()))
                .color(ui.visuals().weak_text_color()),
        );
    }
    ui.add_space(8.0);

    let mut answer = None;
    // Enter pressed this frame with no Space: it may activate Deny, never Allow.
    let (enter_only, escape) = ui.input(|i| {
        (
            i.key_pressed(Key::Enter) && !i.key_pressed(Key::Space),
            i.key_pressed(Key::Escape),
        )
    });
    ui.horizontal(|ui| {
        // Deny first (left, and first in Tab order); Allow at the right, the primary look.
        let deny = style::add(ui, style::secondary(tr!("window-deny")));
        if fresh {
            deny.request_focus();
        }
        if deny.clicked() {
            answer = Some(false);
        }
        let allow_button = if allow_enabled {
            style::primary(tr!("window-allow"))
        } else {
            style::primary_waiting(ui, tr!("window-allow"))
        };
        let allow = style::add(ui, allow_button);
        let by_enter = enter_only && !allow.clicked_by(PointerButton::Primary);
        if allow.clicked() && allow_enabled && !by_enter {
            answer = Some(true);
        }
    });
    if escape && answer.is_none() {
        answer = Some(false);
    }
    ui.label(RichText::new(tr!("window-consent-keys")).color(ui.visuals().weak_text_color()));
    if !allow_enabled {
        // Enabling happens on a later frame, perhaps with no input to trigger one.
        ui.ctx().request_repaint_after(Duration::from_millis(50));
    }
    answer
}
