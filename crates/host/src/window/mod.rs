//! The window of the person sharing their screen. One screen at a time, each in its own module:
//! the code to read out ([`waiting`]), each consent question on its own ([`consent`]), while
//! sharing a thin always-on-top bar at the top edge ([`bar`]) that opens the full window
//! ([`active`]: chat, files, clipboard), the feedback question ([`feedback`]) and the end
//! ([`ended`]). The technician's screen, when they show it, has a window of its own ([`shown`]).
//!
//! The same native window changes shape: a small decorated window sized to its content for the
//! code, the questions and the end; the bar (no decorations, 36 points high, centred at the top of
//! the screen, always on top) while sharing; a larger resizable window when the user opens it from
//! the bar. A question arriving while sharing (control, recording) turns the bar back into the
//! window until it is answered. X11 cannot keep a window out of the screen capture, so the
//! technician sees the bar too.
//!
//! The window repaints when the session reports something (see [`repaint_slot`]), when the user
//! acts, and on a timer only while something on it changes by itself: the code's countdown (once
//! a second), the consent guard's delay, the end. While sharing, every repaint is also a change of
//! the shared screen, captured and sent.

#[cfg(test)]
mod a11y_tests;
mod active;
mod bar;
mod consent;
mod ended;
mod feedback;
mod guard;
mod shown;
mod waiting;

use std::sync::mpsc::Receiver;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use eframe::egui;
use tandem_collab_ui::style;
use tandem_i18n::tr;
use tokio::sync::mpsc::UnboundedSender;

use tandem_proto::text::for_display;

use crate::collab_panel::{Action, CollabPanel};
use crate::{Grant, HostCommand, HostEvent};

pub use guard::ConsentGuard;
pub use tandem_collab_ui::style::ThemeChoice;

use active::ActiveAction;
use bar::BarAction;
use ended::Ending;
use waiting::WaitingAction;

/// How long the window stays up after the session ended, so the reason can be read.
const LINGER_AFTER_END: Duration = Duration::from_secs(8);
/// The width of the window for the code, the questions and the end; its height follows the content.
const WIDTH: f32 = 480.0;
/// The full window while sharing, with room for the files and the chat; the user may make it larger.
const ACTIVE: [f32; 2] = [480.0, 540.0];
const ACTIVE_MIN: [f32; 2] = [420.0, 420.0];
/// The margin around every screen's content.
const MARGIN: i8 = 16;

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
    theme: ThemeChoice,
) -> eframe::Result {
    let options = tandem_collab_ui::native::options(
        egui::ViewportBuilder::default()
            .with_title(tr!("window-title"))
            .with_app_id("tandem-share")
            .with_inner_size([WIDTH, 200.0])
            .with_resizable(false)
            .with_always_on_top(),
    );
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
        attention: false,
        code_notice: None,
        shown: None,
        recording: false,
        released: false,
        release_told: false,
        technician_clipboard: true,
        user_stopped: false,
        declined: false,
        full_window: false,
        shape: None,
        size: egui::Vec2::ZERO,
        bar_moved: false,
        title: String::new(),
    };
    eframe::run_native(
        "tandem-share",
        options,
        Box::new(move |cc| {
            // Events that arrived before this are picked up by the first frame.
            let _ = slot.set(cc.egui_ctx.clone());
            style::apply(&cc.egui_ctx, theme);
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

/// The native window's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Decorated, [`WIDTH`] wide, as high as its content.
    Window,
    /// While sharing: the bar.
    Bar,
    /// While sharing, opened from the bar: chat, files and the rest.
    Full,
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
    /// Something arrived that the user should see (a message, an offer) while the window was not
    /// focused: ask the desktop to flag it.
    attention: bool,
    /// Why the code shown is not the first one (a wrong-code join burned the previous one).
    code_notice: Option<String>,
    /// "Show my screen": the technician's screen and its textures, while they show it.
    shown: Option<(crate::ShownPicture, tandem_viewer::textures::RemoteTextures)>,
    /// The technician is recording (the user allowed it): the indicator shows while true.
    recording: bool,
    /// The technician gave control back, and has not been given it again since.
    released: bool,
    /// The bar has said so (logged once, for tests and support).
    release_told: bool,
    /// The technician's side of clipboard sharing is on.
    technician_clipboard: bool,
    /// The user pressed Stop sharing (else the feedback question follows the technician's end).
    user_stopped: bool,
    /// The user denied the first question (nothing was shared).
    declined: bool,
    /// While sharing, the user opened the full window from the bar.
    full_window: bool,
    /// The shape last applied to the native window.
    shape: Option<Shape>,
    /// The inner size last asked for.
    size: egui::Vec2,
    /// The user moved the bar: it is no longer kept centred.
    bar_moved: bool,
    /// The title last set.
    title: String,
}

/// What the user is told when a wrong-code join burned their code and a new one replaces it.
pub fn burned_code_notice(wrong_tries: u32) -> String {
    let left = crate::MAX_WRONG_CODES.saturating_sub(wrong_tries);
    tr!("window-code-burned", left = left)
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
                    if control {
                        self.released = false;
                        self.release_told = false;
                    }
                    self.state = State::Active {
                        view,
                        control,
                        clipboard,
                    };
                }
                HostEvent::ConsentWithdrawn { grant } => {
                    if self.pending.first() == Some(&grant) {
                        self.guard.reset();
                    }
                    self.pending.retain(|g| *g != grant);
                }
                HostEvent::Collab(notice) => {
                    let news = self.collab.absorb(notice);
                    self.attention |= news.peer_chat || news.offer;
                }
                HostEvent::FeedbackWanted => {
                    self.pending.clear();
                    self.guard.reset();
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
                HostEvent::ControlReleased => self.released = true,
                HostEvent::TechnicianClipboard { on } => self.technician_clipboard = on,
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

    fn stop(&mut self) {
        self.user_stopped = true;
        self.send(HostCommand::Stop);
    }

    fn technician_name(&self) -> String {
        consent::name_or_default(&self.technician)
    }

    /// The shape the window should have now.
    fn wanted_shape(&self) -> Shape {
        match self.state {
            State::Active { .. } if self.pending.is_empty() => {
                if self.full_window {
                    Shape::Full
                } else {
                    Shape::Bar
                }
            }
            _ => Shape::Window,
        }
    }

    fn title_now(&self) -> String {
        if let Some(&grant) = self.pending.first() {
            return consent::heading(grant, &self.technician_name());
        }
        match self.state {
            State::Active { .. } => tr!("window-title-sharing", name = self.technician_name()),
            _ => tr!("window-title"),
        }
    }

    /// Changes the native window to `shape` when it is not already.
    fn apply_shape(&mut self, ctx: &egui::Context, shape: Shape) {
        if self.shape == Some(shape) {
            return;
        }
        self.shape = Some(shape);
        let command = |c| ctx.send_viewport_cmd(c);
        match shape {
            Shape::Bar => {
                command(egui::ViewportCommand::Decorations(false));
                command(egui::ViewportCommand::Resizable(false));
                command(egui::ViewportCommand::MinInnerSize(egui::vec2(
                    200.0,
                    bar::HEIGHT,
                )));
                command(egui::ViewportCommand::WindowLevel(
                    egui::WindowLevel::AlwaysOnTop,
                ));
                // At the top edge; the width follows the content, centred (see `size_to`).
                self.size = egui::vec2(640.0, bar::HEIGHT);
                command(egui::ViewportCommand::InnerSize(self.size));
                self.centre_bar(ctx);
            }
            Shape::Window => {
                command(egui::ViewportCommand::Decorations(true));
                command(egui::ViewportCommand::Resizable(false));
                command(egui::ViewportCommand::MinInnerSize(egui::vec2(
                    WIDTH, 120.0,
                )));
            }
            Shape::Full => {
                command(egui::ViewportCommand::Decorations(true));
                command(egui::ViewportCommand::Resizable(true));
                command(egui::ViewportCommand::MinInnerSize(ACTIVE_MIN.into()));
                self.size = ACTIVE.into();
                command(egui::ViewportCommand::InnerSize(self.size));
            }
        }
    }

    /// Asks for an inner size that fits the content, when it differs from the one asked before.
    fn size_to(&mut self, ctx: &egui::Context, wanted: egui::Vec2) {
        let wanted = wanted.ceil();
        if (wanted - self.size).abs().max_elem() > 1.0 {
            self.size = wanted;
            ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(wanted));
            if self.shape == Some(Shape::Bar) {
                self.centre_bar(ctx);
            }
        }
    }

    /// Puts the bar at the middle of the top edge, unless the user moved it.
    fn centre_bar(&self, ctx: &egui::Context) {
        if self.bar_moved {
            return;
        }
        let monitor = ctx.input(|i| i.viewport().monitor_size);
        let x = monitor.map_or(0.0, |m| ((m.x - self.size.x) / 2.0).max(0.0));
        ctx.send_viewport_cmd(egui::ViewportCommand::OuterPosition(egui::pos2(x, 0.0)));
    }
}

impl eframe::App for HostWindow {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.absorb_events();
        let ctx = ui.ctx().clone();
        if ctx.input(|i| i.viewport().close_requested()) && self.ended_at.is_none() {
            self.stop();
        }
        if self
            .ended_at
            .is_some_and(|t| t.elapsed() > LINGER_AFTER_END)
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        let shape = self.wanted_shape();
        self.apply_shape(&ctx, shape);
        let title = self.title_now();
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
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
            // The chat is always in view in the full window: a window that has the keyboard, or
            // that was just clicked (which does not focus it on every desktop), has been seen.
            self.collab.mark_read();
        }
        let name = self.technician_name();
        if let Some((picture, textures)) = &mut self.shown
            && shown::show(&ctx, &name, picture, textures)
        {
            self.shown = None;
            self.send(HostCommand::CloseShownScreen);
        }
        let margin = if shape == Shape::Bar {
            egui::Margin::symmetric(8, 2)
        } else {
            egui::Margin::same(MARGIN)
        };
        let frame = egui::Frame::central_panel(ui.style())
            .inner_margin(margin)
            .fill(if shape == Shape::Bar {
                style::raised(ui)
            } else {
                ui.visuals().panel_fill
            });
        egui::CentralPanel::default().frame(frame).show(ui, |ui| {
            let content = match shape {
                Shape::Bar => {
                    let width = self.bar_ui(ui);
                    egui::vec2(width, bar::HEIGHT)
                }
                Shape::Full => {
                    self.full_ui(ui);
                    self.size
                }
                Shape::Window => {
                    // The content's own extent (the panel's spans the whole window).
                    let content = ui.vertical(|ui| {
                        if let Some(&grant) = self.pending.first() {
                            self.consent_ui(ui, grant);
                        } else {
                            self.screen_ui(ui);
                        }
                    });
                    let height = content.response.rect.height() + 2.0 * f32::from(MARGIN);
                    egui::vec2(WIDTH, height)
                }
            };
            if shape != Shape::Full {
                self.size_to(&ctx, content);
            }
        });
        // Events wake the window (see `repaint_slot`); these change with no event.
        if let Some(ended) = self.ended_at {
            ctx.request_repaint_after(LINGER_AFTER_END.saturating_sub(ended.elapsed()));
        }
        if matches!(self.state, State::Waiting { .. }) || self.reconnecting.is_some() {
            ctx.request_repaint_after(Duration::from_secs(1));
        }
        if let Some(after) = self.collab.next_wakeup() {
            ctx.request_repaint_after(after);
        }
    }
}

impl HostWindow {
    fn consent_ui(&mut self, ui: &mut egui::Ui, grant: Grant) {
        let question = consent::Question {
            grant,
            technician: &self.technician,
            verifier: self.verifier.as_deref(),
        };
        if let Some(allow) = consent::show(ui, &question, &mut self.guard, Instant::now()) {
            self.pending.remove(0);
            self.guard.reset();
            if grant == Grant::View && !allow {
                self.declined = true;
            }
            self.send(HostCommand::Consent { grant, allow });
        }
    }

    fn reconnect_seconds(&self) -> Option<u64> {
        self.reconnecting
            .map(|until| until.saturating_duration_since(Instant::now()).as_secs())
    }

    /// The bar while sharing; returns the width its content needs.
    fn bar_ui(&mut self, ui: &mut egui::Ui) -> f32 {
        let State::Active { view, control, .. } = self.state else {
            return WIDTH;
        };
        let name = self.technician_name();
        let shown = bar::Bar {
            technician: &name,
            view,
            control,
            recording: self.recording,
            released: self.released,
            reconnecting: self.reconnect_seconds(),
        };
        let (action, width) = bar::show(ui, &shown);
        if self.released && !control && !std::mem::replace(&mut self.release_told, true) {
            tracing::info!("bar: the technician gave control back");
        }
        match action {
            Some(BarAction::StopSharing) => self.stop(),
            Some(BarAction::TakeBackControl) => self.send(HostCommand::RevokeControl),
            Some(BarAction::StopRecording) => self.send(HostCommand::StopRecording),
            Some(BarAction::OpenWindow) => self.full_window = true,
            Some(BarAction::Move) => {
                self.bar_moved = true;
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::StartDrag);
            }
            None => {}
        }
        width + 16.0
    }

    /// The full window while sharing.
    fn full_ui(&mut self, ui: &mut egui::Ui) {
        let State::Active {
            view,
            control,
            clipboard,
        } = self.state
        else {
            return;
        };
        let name = self.technician_name();
        let shown = active::Active {
            technician: &name,
            view,
            control,
            recording: self.recording,
            verifier: self.verifier.as_deref(),
            released: self.released,
            technician_clipboard: self.technician_clipboard,
            reconnecting: self.reconnect_seconds(),
        };
        match active::show(ui, &shown) {
            Some(ActiveAction::StopSharing) => self.stop(),
            Some(ActiveAction::TakeBackControl) => self.send(HostCommand::RevokeControl),
            Some(ActiveAction::StopRecording) => self.send(HostCommand::StopRecording),
            Some(ActiveAction::BackToBar) => self.full_window = false,
            None => {}
        }
        for action in self.collab.show(ui, &name, clipboard) {
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

    /// Every screen of the small window but the questions.
    fn screen_ui(&mut self, ui: &mut egui::Ui) {
        let name = self.technician_name();
        let mut command = None;
        match &mut self.state {
            State::Connecting => {
                progress(ui, &tr!("window-connecting"));
            }
            State::Waiting { code, expires } => {
                let shown = waiting::Waiting {
                    code,
                    left: expires.saturating_duration_since(Instant::now()),
                    notice: self.code_notice.as_deref(),
                };
                command = match waiting::show(ui, &shown) {
                    Some(WaitingAction::NewCode) => Some(HostCommand::NewCode),
                    Some(WaitingAction::Stop) => Some(HostCommand::Stop),
                    None => None,
                };
            }
            State::Joining => {
                progress(ui, &tr!("window-joining"));
            }
            // Shown as the bar or the full window; here only for a frame while the shape changes.
            State::Active { .. } => {
                progress(ui, &tr!("window-sharing-with", name = name));
            }
            State::Feedback { rating, comment } => {
                command = feedback::show(ui, &name, self.user_stopped, rating, comment);
            }
            State::Ended(reason) => {
                let ending = if self.declined {
                    Ending::Declined
                } else if self.user_stopped {
                    Ending::UserStopped
                } else {
                    Ending::Other
                };
                if ended::show(ui, reason, ending) {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
        }
        match command {
            Some(HostCommand::Stop) => self.stop(),
            Some(command) => self.send(command),
            None => {}
        }
    }
}

/// A screen that only says what is happening.
fn progress(ui: &mut egui::Ui, text: &str) {
    ui.horizontal(|ui| {
        style::mark(ui, 22.0);
        ui.label(egui::RichText::new(tr!("window-title-short")).color(style::accent(ui)));
    });
    // No spinner: it would repaint (and, while sharing, capture) many times a second.
    ui.label(egui::RichText::new(text).heading());
}
