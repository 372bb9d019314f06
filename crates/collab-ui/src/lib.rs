//! The collaboration panels of both windows, the technician's viewer and the user's small window:
//! chat, transfers (offers, progress, cancel) and choosing what to send (a path field, drops).
//!
//! [`Board`] is the state, built from the session's [`Notice`](tandem_collab::Notice)s with no
//! egui in it; the widgets draw it and return the [`CollabCommand`](tandem_collab::CollabCommand)s
//! the user asked for, which each window wraps in its own command type. Each window decides the
//! layout, what takes keyboard focus and when to repaint: nothing here asks for a repaint timer.

pub mod board;
pub mod chat;
pub mod native;
pub mod reasons;
pub mod send;
pub mod style;
pub mod transfers;

pub use board::{Board, News, Peer};
pub use chat::ChatBox;
pub use send::SendFile;

use eframe::egui;

/// A text cursor that does not blink. A blinking cursor repaints the window twice a second for as
/// long as a field has the keyboard; under a software renderer that is CPU for nothing, and on the
/// user's side every repaint is also a screen change the session must capture and send.
pub fn steady_cursor(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| style.visuals.text_cursor.blink = false);
}
