//! The small always-on-top window the person sharing their screen sees: the code to read out, the
//! consent questions, and while a session runs who is connected, what they may do, Stop, and the
//! collaboration section (clipboard, files, chat: the `collab_panel` module).
//!
//! The consent prompt resists click-jacking (a technician timing a `RequestControl` so that the user's
//! click on Stop lands on Allow): Allow and Deny sit at the bottom right, away from the status view's
//! buttons (left, under the text; the chat input along the bottom has no button at its right), and
//! Allow only works once [`ConsentGuard`] says so.
//!
//! The window repaints when the session reports something (see [`repaint_slot`]), when the user
//! acts, and on a timer only while something on it changes by itself: the code's countdown (once
//! a second), the consent guard's delay, the end. While sharing, every repaint is also a change of
//! the shared screen, captured and sent.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use eframe::egui;
use tokio::sync::mpsc::UnboundedSender;

use tandem_proto::text::for_display;

use crate::collab_panel::{Action, CollabPanel};
use crate::{Grant, HostCommand, HostEvent};

/// How long the window stays up after the session ended, so the reason can be read.
const LINGER_AFTER_END: Duration = Duration::from_secs(4);
/// The window before and after a session: the code, the consent questions.
const SMALL: [f32; 2] = [440.0, 240.0];
/// While sharing, with room for the files and the chat; the user may make it larger.
const ACTIVE: [f32; 2] = [440.0, 500.0];
const ACTIVE_MIN: [f32; 2] = [400.0, 400.0];

/// A slot the window fills with its egui context, and a waker for whoever forwards the session's
/// events to the window: call it after each event sent, and the window looks at once.
pub fn repaint_slot() -> (Arc<OnceLock<egui::Context>>, Arc<dyn Fn() + Send + Sync>) {
    let slot: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
    let for_waker = slot.clone();
    let wake = Arc::new(move || {
        if let Some(ctx) = for_waker.get() {
            ctx.request_repaint();
        }
    });
    (slot, wake)
}

/// Runs the window on this (the main) thread until the session ends or the user closes it.
/// Closing the window stops sharing. `slot` receives the window's context (see [`repaint_slot`]).
pub fn run(
    events: Receiver<HostEvent>,
    commands: UnboundedSender<HostCommand>,
    slot: Arc<OnceLock<egui::Context>>,
) -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Tandem — share your screen")
            .with_inner_size(SMALL)
            .with_resizable(false)
            .with_always_on_top(),
        ..Default::default()
    };
    let app = HostWindow {
        events,
        commands,
        state: State::Connecting,
        technician: String::new(),
        verifier: None,
        reconnecting: None,
        pending: Vec::new(),
        guard: ConsentGuard::default(),
        ended_at: None,
        collab: CollabPanel::new(),
        grown: false,
        attention: false,
        code_notice: None,
        shown: None,
        recording: false,
        user_stopped: false,
    };
    eframe::run_native(
        "tandem-share",
        options,
        Box::new(move |cc| {
            // Events that arrived before this are picked up by the first frame.
            let _ = slot.set(cc.egui_ctx.clone());
            tandem_collab_ui::steady_cursor(&cc.egui_ctx);
            Ok(Box::new(app))
        }),
    )
}

enum State {
    Connecting,
    Waiting {
        code: String,
        expires: Instant,
    },
    Joining,
    Active {
        view: bool,
        control: bool,
        clipboard: bool,
    },
    /// The user stopped sharing; one question before the end.
    Feedback {
        rating: Option<u8>,
        comment: String,
    },
    Ended(String),
}

struct HostWindow {
    events: Receiver<HostEvent>,
    commands: UnboundedSender<HostCommand>,
    state: State,
    technician: String,
    verifier: Option<String>,
    /// The link is lost and being restored until then.
    reconnecting: Option<Instant>,
    /// Consent questions awaiting an answer, oldest first.
    pending: Vec<Grant>,
    /// Whether Allow may be clicked yet, for the question shown (`pending[0]`).
    guard: ConsentGuard,
    ended_at: Option<Instant>,
    collab: CollabPanel,
    /// The window was made larger for the active session.
    grown: bool,
    /// Something arrived that the user should see (a message, an offer) while the window was not
    /// focused: ask the desktop to flag it.
    attention: bool,
    /// Why the code shown is not the first one (a wrong-code join burned the previous one).
    code_notice: Option<String>,
    /// "Show my screen": the technician's screen and its textures, while they show it.
    shown: Option<(crate::ShownPicture, tandem_viewer::textures::RemoteTextures)>,
    /// The technician is recording (the user allowed it): the indicator shows while true.
    recording: bool,
    /// The user pressed Stop sharing (else the feedback question follows the technician's end).
    user_stopped: bool,
}

/// When the consent prompt's Allow button may be used: not before [`ConsentGuard::DELAY`] after the
/// prompt appeared, and only at a moment with no mouse button held or pressed, so any click on Allow
/// is a press that started after Allow was enabled. A click aimed at something else (Stop, another
/// window) when the prompt pops up therefore never grants anything.
#[derive(Debug, Default, Clone)]
pub struct ConsentGuard {
    /// When the current prompt was first drawn.
    shown_at: Option<Instant>,
    /// Allow was enabled; it stays so until [`ConsentGuard::reset`].
    enabled: bool,
}

impl ConsentGuard {
    /// Long enough to notice that a question appeared; short enough not to annoy.
    pub const DELAY: Duration = Duration::from_secs(1);

    /// A new question is shown: start over.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Called on every frame that shows the prompt. `pointer_busy`: a mouse button is down, or was
    /// pressed or released during this frame. Returns whether Allow is enabled in this frame.
    pub fn on_frame(&mut self, now: Instant, pointer_busy: bool) -> bool {
        let shown_at = *self.shown_at.get_or_insert(now);
        if !self.enabled && !pointer_busy && now.saturating_duration_since(shown_at) >= Self::DELAY
        {
            self.enabled = true;
        }
        self.enabled
    }
}

/// How often the window looks for a new picture of the technician's screen while it is shown.
const SHOWN_REFRESH: Duration = Duration::from_millis(66);

impl HostWindow {
    /// "Show my screen": the technician's screen in a window of its own, view only, with Close.
    fn shown_viewport(&mut self, ctx: &egui::Context) {
        let Some((picture, textures)) = &mut self.shown else {
            return;
        };
        let mut close = false;
        let title = format!("{} is showing you their screen", self.technician);
        ctx.show_viewport_immediate(
            egui::ViewportId::from_hash_of("tandem-shown-screen"),
            egui::ViewportBuilder::default()
                .with_title(title.clone())
                .with_inner_size([960.0, 600.0]),
            |ui, _class| {
                let ctx = ui.ctx().clone();
                if ctx.input(|i| i.viewport().close_requested()) {
                    close = true;
                }
                {
                    let max_side = ctx.input(|i| i.max_texture_side);
                    let mut screen = tandem_viewer::Screen::lock(&picture.0);
                    textures.update(&ctx, &mut screen, max_side);
                }
                egui::Panel::top("shown-bar").show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.label(&title);
                        ui.label("(you only watch; nothing on your side is shared by this)");
                        if ui.button("Close").clicked() {
                            close = true;
                        }
                    });
                });
                egui::CentralPanel::default().show(ui, |ui| match textures.size() {
                    Some((w, h)) => {
                        let avail = ui.available_rect_before_wrap();
                        let scale = (avail.width() / w as f32)
                            .min(avail.height() / h as f32)
                            .min(1.0);
                        let size = egui::vec2(w as f32, h as f32) * scale;
                        let rect = egui::Rect::from_center_size(avail.center(), size);
                        textures.paint(ui.painter(), rect.min, scale);
                    }
                    None => {
                        ui.label("Waiting for the technician's screen…");
                    }
                });
                ctx.request_repaint_after(SHOWN_REFRESH);
            },
        );
        if close {
            self.shown = None;
            self.send(HostCommand::CloseShownScreen);
        }
    }
}

/// What the user is told when a wrong-code join burned their code and a new one replaces it.
pub fn burned_code_notice(wrong_tries: u32) -> String {
    let left = crate::MAX_WRONG_CODES.saturating_sub(wrong_tries);
    format!(
        "Someone tried a wrong code, so that code no longer works. Here is a new one: read it again carefully ({left} more wrong {} and sharing stops).",
        if left == 1 { "try" } else { "tries" }
    )
}

impl HostWindow {
    fn absorb_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                HostEvent::Connected { .. } => {}
                HostEvent::CodeIssued { code, expires_in } => {
                    self.state = State::Waiting {
                        code,
                        expires: Instant::now() + expires_in,
                    };
                }
                HostEvent::ShownScreen { picture } => {
                    self.shown = picture.map(|p| (p, Default::default()));
                }
                HostEvent::ShownFrame { .. } => {}
                HostEvent::CodeBurned { wrong_tries } => {
                    self.code_notice = Some(burned_code_notice(wrong_tries));
                }
                HostEvent::Paired => self.state = State::Joining,
                HostEvent::Secured { verifier } => {
                    self.code_notice = None;
                    self.verifier = Some(verifier);
                }
                HostEvent::Reconnecting { grace } => {
                    self.reconnecting = Some(Instant::now() + grace);
                }
                HostEvent::Resumed => self.reconnecting = None,
                HostEvent::ConsentNeeded { grant, technician } => {
                    self.technician = for_display(&technician).into_owned();
                    if !self.pending.contains(&grant) {
                        self.pending.push(grant);
                    }
                }
                HostEvent::Permissions {
                    technician,
                    view,
                    control,
                    clipboard,
                } => {
                    self.technician = for_display(&technician).into_owned();
                    self.state = State::Active {
                        view,
                        control,
                        clipboard,
                    };
                }
                HostEvent::ConsentWithdrawn { grant } => self.pending.retain(|g| *g != grant),
                HostEvent::Collab(notice) => {
                    let news = self.collab.absorb(notice);
                    self.attention |= news.peer_chat || news.offer;
                }
                HostEvent::FeedbackWanted => {
                    self.pending.clear();
                    self.recording = false;
                    self.state = State::Feedback {
                        rating: None,
                        comment: String::new(),
                    };
                }
                HostEvent::Recording { on } => {
                    self.recording = on;
                    self.attention |= on;
                }
                HostEvent::RecordingRefused => {}
                HostEvent::InputDropped
                | HostEvent::InputSummary { .. }
                | HostEvent::DiagnosticsShared
                | HostEvent::Rate(_)
                | HostEvent::FeedbackGiven { .. } => {}
                HostEvent::Ended { reason, .. } => {
                    self.reconnecting = None;
                    self.pending.clear();
                    self.guard.reset();
                    // The reason may quote the technician's End detail.
                    self.recording = false;
                    self.state = State::Ended(for_display(&reason).into_owned());
                    self.ended_at = Some(Instant::now());
                }
            }
        }
    }

    fn send(&self, command: HostCommand) {
        // The session may already be over; the window then just closes.
        let _ = self.commands.send(command);
    }
}

impl eframe::App for HostWindow {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.absorb_events();
        let ctx = ui.ctx().clone();
        if ctx.input(|i| i.viewport().close_requested()) {
            self.user_stopped = true;
            self.send(HostCommand::Stop);
        }
        if self
            .ended_at
            .is_some_and(|t| t.elapsed() > LINGER_AFTER_END)
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.fit_to_state(&ctx);
        let (focused, clicked) = ctx.input(|i| {
            (
                i.viewport().focused.unwrap_or(false),
                i.pointer.any_pressed(),
            )
        });
        if std::mem::take(&mut self.attention) && !focused {
            ctx.send_viewport_cmd(egui::ViewportCommand::RequestUserAttention(
                egui::UserAttentionType::Informational,
            ));
        }
        if focused || clicked {
            // The chat is always in view while sharing: a window that has the keyboard, or that
            // was just clicked (which does not focus it on every desktop), has been seen.
            self.collab.mark_read();
        }
        self.shown_viewport(&ctx);
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(&grant) = self.pending.first() {
                self.consent_ui(ui, grant);
            } else {
                self.status_ui(ui);
            }
        });
        // Events wake the window (see `repaint_slot`); these change with no event.
        if let Some(ended) = self.ended_at {
            ctx.request_repaint_after(LINGER_AFTER_END.saturating_sub(ended.elapsed()));
        }
        if matches!(self.state, State::Waiting { .. }) {
            ctx.request_repaint_after(Duration::from_secs(1));
        }
        if let Some(after) = self.collab.next_wakeup() {
            ctx.request_repaint_after(after);
        }
    }
}

impl HostWindow {
    /// Larger and resizable once sharing starts (the chat and files need room), once.
    fn fit_to_state(&mut self, ctx: &egui::Context) {
        if self.grown || !matches!(self.state, State::Active { .. }) {
            return;
        }
        self.grown = true;
        ctx.send_viewport_cmd(egui::ViewportCommand::Resizable(true));
        ctx.send_viewport_cmd(egui::ViewportCommand::MinInnerSize(ACTIVE_MIN.into()));
        ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(ACTIVE.into()));
    }

    fn consent_ui(&mut self, ui: &mut egui::Ui, grant: Grant) {
        let who = if self.technician.is_empty() {
            "The technician"
        } else {
            &self.technician
        };
        let question = match grant {
            Grant::View => format!("{who} wants to see your screen."),
            Grant::Control => format!("{who} wants to control your mouse and keyboard."),
            Grant::Diagnostics => format!(
                "{who} wants to read facts about this computer: system, memory, disks, network and running programs."
            ),
            Grant::Recording => format!(
                "{who} wants to record your screen. You will see \"Recording\" here while it runs, and can stop it at any time. If you deny, the session goes on."
            ),
        };
        ui.heading(question);
        if let Some(verifier) = &self.verifier {
            ui.label(format!(
                "If they tell you a check number, it must be {verifier}."
            ));
        }
        let pointer_busy = ui
            .input(|i| i.pointer.any_down() || i.pointer.any_pressed() || i.pointer.any_released());
        let allow_enabled = self.guard.on_frame(Instant::now(), pointer_busy);
        let mut answer = None;
        // Bottom right, Deny nearer the middle: nowhere the status view's New code / Stop / Take
        // back control / Stop sharing buttons (left, under the text) are or will be.
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Max), |ui| {
            let allow = egui::Button::new(egui::RichText::new("  Allow  ").strong());
            if ui.add_enabled(allow_enabled, allow).clicked() {
                answer = Some(true);
            }
            if ui.button("  Deny  ").clicked() {
                answer = Some(false);
            }
        });
        if let Some(allow) = answer {
            self.pending.remove(0);
            self.guard.reset();
            self.send(HostCommand::Consent { grant, allow });
        }
        if !allow_enabled {
            // Enabling happens on a later frame, perhaps with no input to trigger one.
            ui.ctx().request_repaint_after(Duration::from_millis(50));
        }
    }

    /// "How did it go?": 1 to 5 and a comment, Send or Skip.
    fn feedback_ui(&mut self, ui: &mut egui::Ui) {
        let technician = self.technician.clone();
        let State::Feedback { rating, comment } = &mut self.state else {
            return;
        };
        if self.user_stopped {
            ui.heading("You stopped sharing your screen.");
        } else {
            ui.heading(format!("{technician} ended the session."));
        }
        ui.label(format!(
            "How did it go with {technician}? Your answer goes to them."
        ));
        ui.horizontal(|ui| {
            for n in 1..=5u8 {
                let label = match n {
                    1 => "1 (bad)".to_string(),
                    5 => "5 (great)".to_string(),
                    n => n.to_string(),
                };
                if ui.selectable_label(*rating == Some(n), label).clicked() {
                    *rating = Some(n);
                }
            }
        });
        ui.label("A comment (optional):");
        ui.text_edit_singleline(comment);
        let mut answer = None;
        ui.horizontal(|ui| {
            if ui.button("Skip").clicked() {
                answer = Some(HostCommand::SkipFeedback);
            }
            if let Some(n) = *rating
                && ui.button(egui::RichText::new("Send").strong()).clicked()
            {
                answer = Some(HostCommand::Feedback {
                    rating: n,
                    comment: comment.clone(),
                });
            }
        });
        if let Some(answer) = answer {
            self.send(answer);
        }
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        if matches!(self.state, State::Feedback { .. }) {
            self.feedback_ui(ui);
            return;
        }
        match &self.state {
            State::Connecting => {
                ui.heading("Connecting to the relay…");
            }
            State::Waiting { code, expires } => {
                if let Some(notice) = &self.code_notice {
                    ui.colored_label(ui.visuals().warn_fg_color, notice);
                }
                ui.label("Read this code to your technician:");
                ui.label(egui::RichText::new(code).size(40.0).monospace().strong());
                let left = expires.saturating_duration_since(Instant::now()).as_secs();
                ui.label(format!(
                    "It works once and expires in {}:{:02}.",
                    left / 60,
                    left % 60
                ));
                ui.horizontal(|ui| {
                    if ui.button("New code").clicked() {
                        self.send(HostCommand::NewCode);
                    }
                    if ui.button("Stop").clicked() {
                        self.send(HostCommand::Stop);
                    }
                });
            }
            State::Joining => {
                ui.heading("A technician is connecting…");
            }
            State::Active {
                view,
                control,
                clipboard,
            } => {
                let (view, control, clipboard) = (*view, *control, *clipboard);
                if let Some(until) = self.reconnecting {
                    let left = until.saturating_duration_since(Instant::now()).as_secs();
                    ui.heading("Reconnecting…");
                    ui.label(format!(
                        "The connection to {} was lost. Nothing is shared until it is back ({left} s left).",
                        self.technician
                    ));
                    ui.ctx()
                        .request_repaint_after(std::time::Duration::from_secs(1));
                } else {
                    ui.heading(format!("Sharing with {}", self.technician));
                }
                let can = match (view, control) {
                    (_, true) => "They can see your screen and use your mouse and keyboard.",
                    (true, false) => "They can see your screen.",
                    (false, false) => "They cannot see your screen.",
                };
                if self.reconnecting.is_some() {
                    ui.label(format!("Once it is back: {}", can.to_lowercase()));
                } else {
                    ui.label(can);
                }
                if let Some(verifier) = &self.verifier {
                    ui.label(format!("Check number: {verifier}"));
                }
                if self.recording {
                    ui.add_space(4.0);
                    let mut stop = false;
                    egui::Frame::new()
                        .fill(egui::Color32::from_rgb(170, 20, 20))
                        .inner_margin(6.0)
                        .corner_radius(4.0)
                        .show(ui, |ui| {
                            // The whole width, so it cannot be missed.
                            ui.set_width(ui.available_width());
                            ui.label(
                                egui::RichText::new("Recording")
                                    .color(egui::Color32::WHITE)
                                    .strong()
                                    .size(18.0),
                            );
                            ui.horizontal_wrapped(|ui| {
                                ui.label(
                                    egui::RichText::new(format!(
                                        "{} is recording your screen.",
                                        self.technician
                                    ))
                                    .color(egui::Color32::WHITE),
                                );
                                stop = ui.button("Stop recording").clicked();
                            });
                        });
                    if stop {
                        self.send(HostCommand::StopRecording);
                    }
                }
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    if control && ui.button("Take back control").clicked() {
                        self.send(HostCommand::RevokeControl);
                    }
                    if ui
                        .button(egui::RichText::new("Stop sharing").strong())
                        .clicked()
                    {
                        self.user_stopped = true;
                        self.send(HostCommand::Stop);
                    }
                });
                ui.add_space(4.0);
                let technician = self.technician.clone();
                for action in self.collab.show(ui, &technician, clipboard) {
                    match action {
                        Action::Collab(command) => self.send(HostCommand::Collab(command)),
                        Action::Clipboard(on) => {
                            // Shown at once; the session's next `Permissions` confirms it.
                            if let State::Active { clipboard, .. } = &mut self.state {
                                *clipboard = on;
                            }
                            self.send(HostCommand::SetClipboard(Some(on)));
                        }
                    }
                }
            }
            // Drawn by `feedback_ui`.
            State::Feedback { .. } => {}
            State::Ended(reason) => {
                ui.heading("Session ended");
                ui.label(reason.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(100);

    /// Frames every `TICK` from `start` for `n` ticks, with the pointer as `busy` says; returns the
    /// last answer.
    fn frames(guard: &mut ConsentGuard, start: Instant, n: u32, busy: bool) -> bool {
        (0..=n)
            .map(|k| guard.on_frame(start + TICK * k, busy))
            .last()
            .unwrap_or(false)
    }

    #[test]
    fn allow_waits_for_the_delay() {
        let start = Instant::now();
        let mut guard = ConsentGuard::default();
        assert!(!frames(&mut guard, start, 9, false), "enabled before 1 s");
        assert!(guard.on_frame(start + ConsentGuard::DELAY, false));
    }

    /// Issue 7: a press that started before the prompt (aimed at Stop) and is still held when the
    /// delay ends does not enable Allow; only a later moment with the button up does.
    #[test]
    fn a_button_held_since_before_the_prompt_keeps_allow_disabled() {
        let start = Instant::now();
        let mut guard = ConsentGuard::default();
        assert!(!frames(&mut guard, start, 30, true), "held for 3 s");
        assert!(guard.on_frame(start + TICK * 31, false));
    }

    /// A press and release within the very frame the delay ends is not an idle moment.
    #[test]
    fn a_click_in_the_enabling_frame_does_not_count() {
        let start = Instant::now();
        let mut guard = ConsentGuard::default();
        assert!(!frames(&mut guard, start, 9, false));
        assert!(!guard.on_frame(start + ConsentGuard::DELAY, true));
        assert!(guard.on_frame(start + ConsentGuard::DELAY + TICK, false));
    }

    /// Once enabled, pressing and releasing on Allow (busy frames) keeps it enabled, so the click
    /// the user makes on purpose works.
    #[test]
    fn enabled_allow_stays_enabled_through_a_click() {
        let start = Instant::now();
        let mut guard = ConsentGuard::default();
        assert!(frames(&mut guard, start, 10, false));
        assert!(guard.on_frame(start + TICK * 11, true));
        assert!(guard.on_frame(start + TICK * 12, true));
    }

    /// A new question starts over, however long the previous one was up.
    #[test]
    fn reset_starts_over() {
        let start = Instant::now();
        let mut guard = ConsentGuard::default();
        assert!(frames(&mut guard, start, 20, false));
        guard.reset();
        let later = start + Duration::from_secs(10);
        assert!(!guard.on_frame(later, false));
        assert!(!guard.on_frame(later + TICK * 9, false));
        assert!(guard.on_frame(later + ConsentGuard::DELAY, false));
    }
}
