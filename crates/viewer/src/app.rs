//! The technician's window: the toolbar (the `toolbar` module: where the session stands and every
//! action), the remote screen scaled to fit or 1:1, input capture, and the collaboration panels
//! (chat, transfers) around the picture.
//!
//! Keys go to the remote screen only while the picture has egui's keyboard focus and the window has
//! the system's. The picture takes it back whenever nothing else has it, and with a click on it;
//! the chat and path fields take it when clicked, so typing there never reaches the user's machine.
//! When the picture loses the keyboard, every key and modifier held on the remote side is released.
//! The toolbar's Keyboard menu chooses text or physical mode ([`KeyMode`]); its Send keys menu
//! sends shortcuts the technician's own desktop would take for itself (Ctrl+Alt+Del, Alt+Tab). Pointer events go to
//! the remote screen only where the picture is the topmost thing under the pointer. The host key
//! ([`HostKey`], Right Ctrl by default) and what is typed while it is held never reach the remote
//! side: they are the window's own shortcuts.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use eframe::egui;
use egui::{
    Color32, CursorIcon, Event, EventFilter, FontId, Id, Key, LayerId, PointerButton, Pos2, Rect,
    Sense, TextureHandle, TextureOptions, Vec2,
};
use tandem_proto::session::{Input, MonitorInfo, MouseButton};
use tandem_proto::text::for_display;
use tokio::sync::mpsc::UnboundedSender;

use crate::collab_panels::CollabPanels;
use crate::combo::KeyCombo;
use crate::hostkey::{HostKey, Shortcut};
use crate::keyboard::{KeyForwarder, KeyMode};
use crate::notes::NotesPanel;
use crate::present_x11::{Layout, Placement, PointerMode, PresentError, PresentWaker, Presenter};
use crate::right_alt::XRightAlt;
use crate::screen::{Screen, SharedScreen};
use crate::session::Repaint;
use crate::stats::{Overlay, overlay_lines};
use crate::sysinfo_panel::SysinfoPanel;
use crate::textures::RemoteTextures;
use crate::toolbar::{self, ClipboardState, Phase, RecordButton, Scale, Toolbar};
use crate::{RecordingEvent, ViewerCommand, ViewerEvent};
use tandem_collab_ui::style;
use tandem_i18n::tr;

pub use tandem_collab_ui::style::ThemeChoice;

/// How the window looks, which key is the host key and how the remote picture is drawn.
#[derive(Debug, Clone, Default)]
pub struct WindowOptions {
    pub theme: ThemeChoice,
    pub host_key: HostKey,
    pub present: Present,
}

/// How the remote picture reaches the screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Present {
    /// As an egui texture, repainting the window for every change.
    Egui,
    /// Through an X11 child window that is sent only the changed rectangles
    /// ([`crate::present_x11`]), falling back to egui where that cannot start.
    #[default]
    X11,
}

/// Where the window's wake-ups go: its egui context, and the X11 presenter once it runs.
#[derive(Default)]
pub struct WindowSlot {
    ctx: OnceLock<egui::Context>,
    presenter: OnceLock<PresentWaker>,
}

impl WindowSlot {
    /// Wakes the window for something egui draws (a status event).
    pub fn repaint_window(&self) {
        if let Some(ctx) = self.ctx.get() {
            ctx.request_repaint();
        }
    }

    /// A new picture or pointer position: the presenter draws it when it shows the picture,
    /// else egui does.
    fn picture_changed(&self) {
        if let Some(presenter) = self.presenter.get() {
            presenter.wake();
            if presenter.is_active() {
                return;
            }
        }
        self.repaint_window();
    }
}

/// How long the window shows why the session ended before it closes.
const LINGER_AFTER_END: Duration = Duration::from_secs(3);

/// A slot the window fills with its egui context (and presenter), and the callback the session
/// calls for every decoded update and cursor move, which uses it once it is there. The front end
/// also calls [`WindowSlot::repaint_window`] after every status event it forwards, so the window
/// needs no timer.
pub fn repaint_slot() -> (Arc<WindowSlot>, Repaint) {
    let slot = Arc::new(WindowSlot::default());
    let for_network = slot.clone();
    let repaint: Repaint = Arc::new(move || for_network.picture_changed());
    (slot, repaint)
}

/// Runs the viewer window on this (the main) thread until it is closed.
pub fn run(
    title: String,
    screen: SharedScreen,
    events: Receiver<ViewerEvent>,
    commands: UnboundedSender<ViewerCommand>,
    slot: Arc<WindowSlot>,
    notes: NotesPanel,
    window: WindowOptions,
) -> eframe::Result {
    let options = tandem_collab_ui::native::options(
        egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size([1280.0, 760.0]),
    );
    eframe::run_native(
        "tandem-viewer",
        options,
        Box::new(move |cc| {
            let _ = slot.ctx.set(cc.egui_ctx.clone());
            let presenter = match window.present {
                Present::X11 => start_presenter(cc, &screen),
                Present::Egui => None,
            };
            if let Some(presenter) = &presenter {
                let _ = slot.presenter.set(presenter.waker());
            }
            style::apply(&cc.egui_ctx, window.theme);
            tandem_collab_ui::steady_cursor(&cc.egui_ctx);
            Ok(Box::new(ViewerApp {
                screen,
                events,
                commands,
                status: tr!("viewer-status-connecting"),
                phase: Phase::Connecting,
                scale: Scale::Fit,
                host_key: window.host_key,
                shortcuts: Vec::new(),
                verifier: None,
                view: false,
                control: false,
                clipboard: false,
                clipboard_wish: true,
                collab: CollabPanels::new(),
                sysinfo: SysinfoPanel::default(),
                notes,
                notes_done: false,
                outcome_asked: false,
                view_seen: false,
                control_requested: false,
                ended_at: None,
                stats: None,
                show_stats: false,
                showing: false,
                cursor: None,
                textures: RemoteTextures::default(),
                keyboard: KeyForwarder::new(KeyMode::default())
                    .with_right_alt(Box::new(XRightAlt::default())),
                last_pointer: None,
                monitors: None,
                recording: RecordButton::Off,
                finishing: false,
                presenter,
                picture_area: None,
            }))
        }),
    )
}

struct ViewerApp {
    screen: SharedScreen,
    events: Receiver<ViewerEvent>,
    commands: UnboundedSender<ViewerCommand>,
    /// The last thing that happened, in a sentence.
    status: String,
    /// Where the session stands, always shown at the toolbar's left.
    phase: Phase,
    scale: Scale,
    host_key: HostKey,
    /// Host-key shortcuts taken from this frame's raw input, carried out in `ui`.
    shortcuts: Vec<Shortcut>,
    verifier: Option<String>,
    view: bool,
    control: bool,
    /// The user allows clipboards to travel (the host's last `Permissions`).
    clipboard: bool,
    /// The technician's own clipboard switch.
    clipboard_wish: bool,
    collab: CollabPanels,
    sysinfo: SysinfoPanel,
    notes: NotesPanel,
    /// After the end: the technician chose the outcome (or chose not to).
    notes_done: bool,
    /// The screen was shown at some point: there is a session to report on.
    view_seen: bool,
    /// The outcome question was put after the end.
    outcome_asked: bool,
    control_requested: bool,
    /// When the session ended; the window closes a little later.
    ended_at: Option<Instant>,
    /// The last statistics report (once a second while frames arrive).
    stats: Option<Overlay>,
    /// This side's screen is shown to the user ("Show my screen").
    showing: bool,
    /// The statistics overlay is on (the toolbar's Stats toggle, or host key + T).
    show_stats: bool,
    /// The host's pointer image as a texture, and which image it is.
    cursor: Option<CursorTexture>,
    textures: RemoteTextures,
    /// The keyboard as the remote side sees it: the mode, and what is held there.
    keyboard: KeyForwarder,
    last_pointer: Option<(u32, u32)>,
    /// The host's desktop size, monitors and the one shown, once it said.
    monitors: Option<HostMonitors>,
    recording: RecordButton,
    /// End was pressed: waiting for the host (the user may be giving feedback).
    finishing: bool,
    /// Draws the picture through an X11 child window while nothing of egui's overlaps it.
    presenter: Option<Presenter>,
    /// The visible part of the picture in the last frame, in points.
    picture_area: Option<Rect>,
}

/// The X11 presenter in the window `cc` describes; `None` (egui draws the picture) when the window
/// is not an X11 one or the presenter cannot start there.
fn start_presenter(cc: &eframe::CreationContext<'_>, screen: &SharedScreen) -> Option<Presenter> {
    use raw_window_handle::{HasWindowHandle as _, RawWindowHandle};
    let parent = match cc.window_handle().map(|h| h.as_raw()) {
        Ok(RawWindowHandle::Xlib(h)) => u32::try_from(h.window).ok(),
        Ok(RawWindowHandle::Xcb(h)) => Some(h.window.get()),
        _ => None,
    };
    let Some(parent) = parent else {
        tracing::info!(error = %PresentError::NotX11, "the picture is drawn by egui");
        return None;
    };
    let ctx = cc.egui_ctx.clone();
    match Presenter::start(
        parent,
        screen.clone(),
        Box::new(move || ctx.request_repaint()),
    ) {
        Ok(presenter) => Some(presenter),
        Err(error) => {
            tracing::info!(%error, "the picture is drawn by egui");
            None
        }
    }
}

/// The remote pointer's image on the GPU.
struct CursorTexture {
    serial: u64,
    /// `None`: the host's pointer is hidden.
    texture: Option<TextureHandle>,
    size: Vec2,
    hot: Vec2,
}

/// What the last `Monitors` event said.
pub(crate) struct HostMonitors {
    pub(crate) size: (u16, u16),
    pub(crate) list: Vec<MonitorInfo>,
    pub(crate) selected: Option<u8>,
}

/// "Whole desktop (1600×600)".
pub fn whole_desktop_label((width, height): (u16, u16)) -> String {
    tr!("viewer-whole-desktop", width = width, height = height)
}

/// "DP-1 — 800×600, primary"; the name is the host's, escaped for display.
pub fn monitor_label(m: &MonitorInfo) -> String {
    let name = for_display(&m.name).into_owned();
    if m.primary {
        tr!(
            "viewer-monitor-primary",
            name = name,
            width = m.width,
            height = m.height
        )
    } else {
        tr!(
            "viewer-monitor",
            name = name,
            width = m.width,
            height = m.height
        )
    }
}

impl ViewerApp {
    fn send(&self, command: ViewerCommand) {
        // After the session ended nothing listens; the window still closes normally.
        let _ = self.commands.send(command);
    }

    fn absorb_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                ViewerEvent::Connected { .. } => {
                    self.status = tr!("viewer-status-looking");
                }
                ViewerEvent::Paired => self.status = tr!("viewer-status-checking"),
                ViewerEvent::Reconnecting { grace } => {
                    self.phase = Phase::Reconnecting;
                    self.status = tr!("viewer-status-reconnecting", seconds = grace.as_secs());
                }
                // The host's `Permissions` follows at once and says what is allowed.
                ViewerEvent::Resumed => self.status = tr!("viewer-status-reconnected"),
                ViewerEvent::Secured { verifier } => {
                    self.verifier = Some(verifier);
                    self.phase = Phase::WaitingForConsent;
                    self.status = tr!("viewer-status-waiting");
                }
                ViewerEvent::Permissions {
                    view,
                    control,
                    clipboard,
                } => {
                    self.view = view;
                    self.view_seen |= view;
                    self.control = control;
                    self.clipboard = clipboard;
                    (self.phase, self.status) = match (view, control) {
                        (_, true) => (Phase::InControl, tr!("viewer-status-control")),
                        (true, false) => (Phase::Viewing, tr!("viewer-status-viewing")),
                        (false, false) => {
                            (Phase::WaitingForConsent, tr!("viewer-status-not-allowed"))
                        }
                    };
                    if control {
                        self.control_requested = false;
                    }
                }
                ViewerEvent::ControlRequestNotSent { retry_in } => {
                    self.control_requested = false;
                    self.status = tr!(
                        "viewer-status-control-not-sent",
                        seconds = retry_in.as_secs().max(1)
                    );
                }
                ViewerEvent::KeyMode(mode) => {
                    let mut releases = Vec::new();
                    self.keyboard.set_mode(mode, &mut releases);
                    for input in releases {
                        self.send(ViewerCommand::Input(input));
                    }
                }
                ViewerEvent::ClipboardSwitch { on } => self.clipboard_wish = on,
                ViewerEvent::ControlDeclined => {
                    // They may ask again.
                    self.control_requested = false;
                    self.status = tr!("viewer-status-control-declined");
                }
                ViewerEvent::Monitors {
                    width,
                    height,
                    monitors,
                    selected,
                } => {
                    // Another area: the next move is sent even to the same picture position.
                    self.last_pointer = None;
                    self.monitors = Some(HostMonitors {
                        size: (width, height),
                        list: monitors,
                        selected,
                    });
                }
                ViewerEvent::Stats { overlay, .. } => self.stats = Some(overlay),
                ViewerEvent::FirstFrame { .. } => {}
                ViewerEvent::Collab(notice) => self.collab.absorb(notice),
                ViewerEvent::Diagnostics { snapshot } => self.sysinfo.absorb(snapshot),
                ViewerEvent::Feedback { rating, comment } => {
                    let comment = for_display(&comment);
                    self.status = if comment.is_empty() {
                        tr!("viewer-status-rated", rating = rating)
                    } else {
                        tr!(
                            "viewer-status-rated-comment",
                            rating = rating,
                            comment = comment.into_owned()
                        )
                    };
                }
                ViewerEvent::Showing { on, .. } => self.showing = on,
                ViewerEvent::Recording(event) => {
                    self.recording = match event {
                        RecordingEvent::Asking => RecordButton::Asking,
                        RecordingEvent::Started { .. } => RecordButton::Recording,
                        RecordingEvent::Refused => RecordButton::Refused,
                        RecordingEvent::Stopped(_) => RecordButton::Off,
                        RecordingEvent::Failed { reason, .. } => {
                            self.status = tr!("viewer-status-recording-failed", reason = reason);
                            RecordButton::Failed
                        }
                    };
                }
                ViewerEvent::Finishing => {
                    self.finishing = true;
                    self.status = tr!("viewer-status-finishing");
                }
                ViewerEvent::Snapshot { .. }
                | ViewerEvent::CursorShape { .. }
                | ViewerEvent::SnapshotFailed { .. }
                | ViewerEvent::Summary { .. } => {}
                ViewerEvent::Ended { reason, .. } => {
                    // The reason may quote the host's End detail.
                    self.phase = Phase::Ended;
                    self.status = tr!(
                        "viewer-status-ended",
                        reason = for_display(&reason).into_owned()
                    );
                    self.ended_at = Some(Instant::now());
                }
            }
        }
    }

    fn upload(&mut self, ctx: &egui::Context) {
        // Pictures larger than the GPU's largest texture are split into several textures.
        let max_side = ctx.input(|i| i.max_texture_side);
        let mut screen = Screen::lock(&self.screen);
        self.textures.update(ctx, &mut screen, max_side);
        match &screen.cursor_shape {
            None => self.cursor = None,
            Some(shape) if self.cursor.as_ref().map(|c| c.serial) != Some(shape.serial) => {
                let size = [usize::from(shape.width), usize::from(shape.height)];
                let texture = (!shape.is_hidden()).then(|| {
                    let image = egui::ColorImage::from_rgba_unmultiplied(size, &shape.rgba);
                    ctx.load_texture("remote-cursor", image, TextureOptions::LINEAR)
                });
                self.cursor = Some(CursorTexture {
                    serial: shape.serial,
                    texture,
                    size: egui::vec2(f32::from(shape.width), f32::from(shape.height)),
                    hot: egui::vec2(f32::from(shape.hot.0), f32::from(shape.hot.1)),
                });
            }
            Some(_) => {}
        }
    }

    /// The toolbar: where the session stands on the first row, the tools on the second.
    fn toolbar(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        let ended = self.ended_at.is_some();
        let clipboard_note = self.collab.clipboard_note();
        let bar = Toolbar {
            phase: self.phase,
            status: &self.status,
            verifier: self.verifier.as_deref(),
            view: self.view,
            control: self.control,
            control_requested: self.control_requested,
            clipboard: ClipboardState::new(self.clipboard, self.clipboard_wish),
            clipboard_note: clipboard_note.as_ref().map(|(t, f)| (t.as_str(), *f)),
            fps: self.stats.map(|s| s.fps as f32),
            show_stats: self.show_stats,
            scale: self.scale,
            fullscreen: ctx.input(|i| i.viewport().fullscreen.unwrap_or(false)),
            key_mode: self.keyboard.mode(),
            monitors: self.monitors.as_ref(),
            recording: &self.recording,
            showing: self.showing,
            finishing: self.finishing,
            ended,
            host_key: &self.host_key,
        };
        let mut actions = Vec::new();
        toolbar::status_row(ui, &bar, &mut actions);
        let mut diagnostics = false;
        if self.view && !ended {
            let active = self.collab_active();
            let (collab, sysinfo, notes) = (&mut self.collab, &mut self.sysinfo, &mut self.notes);
            toolbar::tools_row(
                ui,
                &bar,
                &mut actions,
                |ui| collab.buttons(ui, active),
                |ui| {
                    diagnostics = sysinfo.button(ui, active);
                    notes.button(ui);
                },
            );
        }
        if diagnostics {
            self.send(ViewerCommand::RequestDiagnostics);
        }
        for action in actions {
            self.act(ctx, action);
        }
    }

    /// Carries out a toolbar action.
    fn act(&mut self, ctx: &egui::Context, action: toolbar::Action) {
        use toolbar::Action;
        match action {
            Action::Scale(scale) => self.scale = scale,
            Action::Fullscreen(on) => ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(on)),
            Action::SelectMonitor(choice) => self.send(ViewerCommand::SelectMonitor(choice)),
            Action::SetKeyMode(mode) => self.send(ViewerCommand::SetKeyMode(mode)),
            Action::SendKeys(combo) => self.send(ViewerCommand::SendKeys(combo)),
            Action::RequestControl => {
                if self.view && !self.control && !self.control_requested {
                    self.control_requested = true;
                    self.send(ViewerCommand::RequestControl);
                }
            }
            Action::ReleaseControl => {
                if self.control {
                    self.send(ViewerCommand::ReleaseControl);
                }
            }
            Action::Clipboard(on) => {
                // Shown at once; the session confirms with `ClipboardSwitch`.
                self.clipboard_wish = on;
                self.send(ViewerCommand::SetClipboard(on));
            }
            Action::Stats(on) => self.show_stats = on,
            Action::Record(on) => self.send(ViewerCommand::Record(on)),
            Action::ShowScreen(on) => self.send(ViewerCommand::ShowScreen(on)),
            Action::End => self.send(ViewerCommand::End),
        }
    }

    /// Carries out the host-key shortcuts of this frame.
    fn shortcuts(&mut self, ctx: &egui::Context) {
        use toolbar::Action;
        for shortcut in std::mem::take(&mut self.shortcuts) {
            if self.ended_at.is_some() {
                continue;
            }
            let action = match shortcut {
                Shortcut::Fullscreen => {
                    let on = ctx.input(|i| i.viewport().fullscreen.unwrap_or(false));
                    Action::Fullscreen(!on)
                }
                Shortcut::Scale => Action::Scale(match self.scale {
                    Scale::Fit => Scale::Actual,
                    Scale::Actual => Scale::Fit,
                }),
                Shortcut::CtrlAltDel => match KeyCombo::parse("ctrl+alt+del") {
                    Ok(combo) => Action::SendKeys(combo),
                    Err(_) => continue,
                },
                // One key both ways: ask while not in control, give back while in it.
                Shortcut::Control if self.control => Action::ReleaseControl,
                Shortcut::Control => Action::RequestControl,
                Shortcut::Stats => Action::Stats(!self.show_stats),
                Shortcut::End => Action::End,
            };
            self.act(ctx, action);
        }
    }

    /// Chat and files work: the screen is shared and the session runs.
    fn collab_active(&self) -> bool {
        self.view && self.ended_at.is_none()
    }

    /// Draws the remote screen scaled to fit, keeping its aspect ratio, with the pointer and the
    /// statistics overlay over it; returns where the picture went.
    /// `presenting`: the X11 child shows the picture; only its place is laid out here. Returns the
    /// picture's rect, its visible part and the picture's size.
    fn draw_screen(&self, ui: &mut egui::Ui, presenting: bool) -> Option<(Rect, Rect, (u32, u32))> {
        let (width, height) = self.textures.size()?;
        let size = egui::vec2(width as f32, height as f32);
        let avail = ui.available_rect_before_wrap();
        let scale = match self.scale {
            Scale::Fit => (avail.width() / size.x).min(avail.height() / size.y),
            // One remote pixel per pixel of this screen.
            Scale::Actual => 1.0 / ui.ctx().pixels_per_point(),
        };
        let shown = size * scale;
        let (rect, visible) = if shown.x <= avail.width() + 0.5 && shown.y <= avail.height() + 0.5 {
            let rect = Rect::from_center_size(avail.center(), shown);
            (rect, self.paint_picture(ui, rect, scale, presenting))
        } else {
            // 1:1 and larger than the window: scroll bars move the view; the wheel stays the
            // remote screen's.
            egui::ScrollArea::both()
                .auto_shrink(false)
                .scroll_source(egui::scroll_area::ScrollSource::SCROLL_BAR)
                .show(ui, |ui| {
                    let (rect, _) = ui.allocate_exact_size(shown, Sense::hover());
                    (rect, self.paint_picture(ui, rect, scale, presenting))
                })
                .inner
        };
        Some((rect, visible, (width, height)))
    }

    /// The picture at `rect`, with the pointer and the statistics overlay over it, unless the
    /// X11 child shows them (`presenting`); returns the part of `rect` that is visible.
    fn paint_picture(&self, ui: &egui::Ui, rect: Rect, scale: f32, presenting: bool) -> Rect {
        if !presenting {
            self.textures.paint(ui.painter(), rect.min, scale);
            self.draw_pointer(ui, rect, scale);
            if self.show_stats {
                self.draw_stats(ui, rect);
            }
        }
        ui.clip_rect().intersect(rect)
    }

    /// The X11 child may show the picture this frame: nothing of egui's lies over the picture's
    /// last place (a menu, a window, a tooltip, the drop veil, the statistics overlay, which is
    /// egui's). Otherwise egui draws the picture, as everywhere without the presenter.
    fn may_present(&self, ctx: &egui::Context) -> bool {
        if self.presenter.is_none() || self.show_stats {
            return false;
        }
        if ctx.input(|i| !i.raw.hovered_files.is_empty()) {
            return false;
        }
        let Some(area) = self.picture_area else {
            return true;
        };
        !ctx.memory(|m| {
            m.areas().visible_layer_ids().into_iter().any(|layer| {
                layer.order != egui::Order::Background
                    && m.area_rect(layer.id).is_none_or(|r| r.intersects(area))
            })
        })
    }

    /// Where the X11 child goes for the picture at `rect` (points), of which `visible` shows.
    fn layout(
        &self,
        ctx: &egui::Context,
        rect: Rect,
        visible: Rect,
        remote: (u32, u32),
    ) -> Option<Layout> {
        let ppp = f64::from(ctx.pixels_per_point());
        let px = |v: f32| (f64::from(v) * ppp).round() as i32;
        let (left, top, right, bottom) = (
            px(visible.min.x),
            px(visible.min.y),
            px(visible.max.x),
            px(visible.max.y),
        );
        if right <= left || bottom <= top || remote.0 == 0 || remote.1 == 0 {
            return None;
        }
        let scale_of = |points: f32, pixels: u32| {
            let scale = f64::from(points) * ppp / f64::from(pixels);
            // 1:1 computed through points can be off by a rounding error: make it a copy.
            if (scale - 1.0).abs() < 1e-4 {
                1.0
            } else {
                scale
            }
        };
        let (width, height) = ((right - left) as u32, (bottom - top) as u32);
        Some(Layout {
            bounds: (left, top, width, height),
            placement: Placement {
                window: (width, height),
                origin: (px(rect.min.x) - left, px(rect.min.y) - top),
                scale: (
                    scale_of(rect.width(), remote.0),
                    scale_of(rect.height(), remote.1),
                ),
            },
            picture: remote,
            pointer: if self.control && self.ended_at.is_none() {
                PointerMode::Local
            } else {
                PointerMode::Remote
            },
        })
    }

    /// The remote pointer, drawn here rather than in the picture. In control with our pointer over
    /// the picture, our pointer *is* the remote one: the system cursor is hidden and the remote
    /// image drawn where ours is, so it moves with no network delay. Otherwise (view only, or our
    /// pointer elsewhere) the image is drawn where the host says its pointer is.
    fn draw_pointer(&self, ui: &egui::Ui, rect: Rect, scale: f32) {
        let ctx = ui.ctx();
        let layer = ui.layer_id();
        let local = ctx.input(|i| i.pointer.hover_pos()).filter(|&pos| {
            rect.contains(pos) && ctx.layer_id_at(pos).is_none_or(|top| top == layer)
        });
        if self.control
            && self.ended_at.is_none()
            && let Some(pos) = local
        {
            if let Some(cursor) = &self.cursor {
                ctx.set_cursor_icon(CursorIcon::None);
                paint_cursor(ui.painter(), cursor, pos, scale);
            }
            // Without an image from the host the system cursor stays.
            return;
        }
        let Some((x, y)) = Screen::lock(&self.screen).cursor else {
            return;
        };
        let at = rect.min + egui::vec2(x as f32, y as f32) * scale;
        match &self.cursor {
            Some(cursor) => paint_cursor(ui.painter(), cursor, at, scale),
            None => paint_marker(ui.painter(), at),
        }
    }

    /// The statistics overlay: a translucent panel in the picture's top-left corner, painted on the
    /// picture's own layer so the pointer over it still reaches the remote screen.
    fn draw_stats(&self, ui: &egui::Ui, rect: Rect) {
        let text = match &self.stats {
            Some(stats) => overlay_lines(stats).join("\n"),
            None => tr!("viewer-stats-waiting"),
        };
        let painter = ui.painter();
        let galley = painter.layout_no_wrap(text, FontId::monospace(12.0), Color32::WHITE);
        let pad = egui::vec2(8.0, 6.0);
        let panel = Rect::from_min_size(rect.min + egui::vec2(8.0, 8.0), galley.size() + 2.0 * pad);
        painter.rect(
            panel,
            4.0,
            Color32::from_black_alpha(200),
            egui::Stroke::new(1.0, Color32::from_white_alpha(60)),
            egui::StrokeKind::Inside,
        );
        painter.galley(panel.min + pad, galley, Color32::WHITE);
    }

    /// Sends the keys of this frame's input to the remote side at once and takes them out of it,
    /// when they are the remote side's (the picture shown and holding the keyboard): egui never
    /// sees them, so it neither runs the two extra passes it runs after any input event (each a
    /// whole-window paint on software OpenGL: three frames per key press and release, now one)
    /// nor acts on them. Everything else (pointer, modifiers) goes the usual way, in the UI pass.
    fn forward_keys(&mut self, ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        if self.picture_area.is_none() || self.ended_at.is_some() {
            return;
        }
        let keyboard = ctx.memory(|m| m.has_focus(picture_id()))
            && !self.collab.keyboard_busy(ctx)
            && raw_input.focused;
        if !keyboard {
            return;
        }
        let mut out = Vec::new();
        raw_input
            .events
            .retain(|event| !forward_key(&mut self.keyboard, event, &mut out));
        for input in out {
            self.send(ViewerCommand::Input(input));
        }
    }

    /// Turns this frame's egui input over the screen area into protocol input. `keyboard`: the
    /// picture had the keyboard focus when the frame began; otherwise keys stay here and modifiers
    /// held on the remote side are released. `layer`: the picture's; a pointer over anything drawn
    /// above it (the drop veil, a tooltip) is not the remote screen's.
    fn forward_input(
        &mut self,
        ctx: &egui::Context,
        rect: Rect,
        remote: (u32, u32),
        keyboard: bool,
        layer: LayerId,
    ) {
        let to_remote = |pos: Pos2| -> Option<(u32, u32)> {
            // No layer recorded there means nothing is drawn over the picture either.
            let on_top = ctx.layer_id_at(pos).is_none_or(|top| top == layer);
            if !rect.contains(pos) || !on_top {
                return None;
            }
            let rel = (pos - rect.min) / rect.size();
            let x = (rel.x * remote.0 as f32).clamp(0.0, remote.0 as f32 - 1.0);
            let y = (rel.y * remote.1 as f32).clamp(0.0, remote.1 as f32 - 1.0);
            Some((x as u32, y as u32))
        };
        let (events, modifiers) = ctx.input(|i| (i.events.clone(), i.modifiers));
        let mut out = Vec::new();
        for event in events {
            match event {
                Event::PointerMoved(pos) => {
                    if let Some((x, y)) = to_remote(pos)
                        && self.last_pointer != Some((x, y))
                    {
                        self.last_pointer = Some((x, y));
                        out.push(Input::PointerMove { x, y });
                    }
                }
                Event::PointerButton {
                    pos,
                    button,
                    pressed,
                    modifiers,
                } => {
                    if let Some((x, y)) = to_remote(pos) {
                        if keyboard {
                            self.keyboard.pointer_button(modifiers, &mut out);
                        }
                        if self.last_pointer != Some((x, y)) {
                            self.last_pointer = Some((x, y));
                            out.push(Input::PointerMove { x, y });
                        }
                        out.push(Input::Button {
                            button: mouse_button(button),
                            pressed,
                        });
                    } else if !pressed {
                        // Release outside the picture still releases, so no button sticks.
                        out.push(Input::Button {
                            button: mouse_button(button),
                            pressed,
                        });
                    }
                }
                Event::MouseWheel { unit, delta, .. } => {
                    let notches = match unit {
                        egui::MouseWheelUnit::Line => delta,
                        egui::MouseWheelUnit::Page => delta * 10.0,
                        egui::MouseWheelUnit::Point => delta / 50.0,
                    };
                    // egui: positive y scrolls content down (wheel up); the protocol: positive = down.
                    let (dx, dy) = (-notches.x.round() as i32, -notches.y.round() as i32);
                    if dx != 0 || dy != 0 {
                        out.push(Input::Scroll { dx, dy });
                    }
                }
                // (Keys of a frame in which `forward_keys` did not run yet: the picture's first.)
                event if keyboard => {
                    forward_key(&mut self.keyboard, &event, &mut out);
                }
                _ => {}
            }
        }
        if keyboard {
            self.keyboard.modifiers(modifiers, &mut out);
        } else {
            // Focus went elsewhere (a field, another window): nothing stays held over there.
            self.keyboard.release_all(&mut out);
        }
        for input in out {
            self.send(ViewerCommand::Input(input));
        }
    }
}

/// Turns a key event (a key, text, or egui's Copy, Cut or Paste) into remote input; whether it
/// was one.
fn forward_key(keyboard: &mut KeyForwarder, event: &Event, out: &mut Vec<Input>) -> bool {
    match event {
        Event::Key {
            key,
            physical_key,
            pressed,
            modifiers,
            ..
        } => keyboard.key(*key, *physical_key, *pressed, *modifiers, out),
        Event::Text(text) => keyboard.text(text.clone(), out),
        // egui turns Ctrl+C/X/V into these; over the picture they are the remote's keys.
        Event::Copy => keyboard.clipboard_shortcut(Key::C, out),
        Event::Cut => keyboard.clipboard_shortcut(Key::X, out),
        Event::Paste(_) => keyboard.clipboard_shortcut(Key::V, out),
        _ => return false,
    }
    true
}

/// The picture's widget: it holds the keyboard focus while keys go to the remote side.
fn picture_id() -> Id {
    Id::unique("tandem-remote-picture")
}

/// The host's pointer image with its hot spot at `at`, at the picture's scale.
fn paint_cursor(painter: &egui::Painter, cursor: &CursorTexture, at: Pos2, scale: f32) {
    let Some(texture) = &cursor.texture else {
        return;
    };
    let place = Rect::from_min_size(at - cursor.hot * scale, cursor.size * scale);
    let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
    painter.image(texture.id(), place, uv, Color32::WHITE);
}

/// A plain arrowhead, for a host that sent no pointer image (XFIXES unavailable).
fn paint_marker(painter: &egui::Painter, at: Pos2) {
    let points = [(0.0, 0.0), (0.0, 15.0), (10.5, 10.5)]
        .map(|(x, y)| at + egui::vec2(x, y))
        .to_vec();
    painter.add(egui::Shape::convex_polygon(
        points,
        Color32::WHITE,
        egui::Stroke::new(1.0, Color32::BLACK),
    ));
}

fn mouse_button(button: PointerButton) -> MouseButton {
    match button {
        PointerButton::Primary => MouseButton::Left,
        PointerButton::Secondary => MouseButton::Right,
        PointerButton::Middle => MouseButton::Middle,
        PointerButton::Extra1 => MouseButton::Back,
        PointerButton::Extra2 => MouseButton::Forward,
    }
}

impl eframe::App for ViewerApp {
    /// The host key and what is typed with it are the window's, before egui or the picture see them.
    fn raw_input_hook(&mut self, ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        let shortcuts = self.host_key.intercept(raw_input);
        self.shortcuts.extend(shortcuts);
        self.forward_keys(ctx, raw_input);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.absorb_events();
        let ctx = ui.ctx().clone();
        if ctx.input(|i| i.viewport().close_requested()) && self.ended_at.is_none() {
            if self.view_seen && !self.finishing {
                // Stay open while the user may be giving feedback; closing again ends at once.
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            }
            self.send(ViewerCommand::End);
        }
        // After the end the window waits for the outcome, if there was a session to report on.
        // Once asked, the question stays until answered (Save and close) or dismissed.
        let asking = self.ended_at.is_some()
            && self.view_seen
            && !self.notes_done
            && (self.outcome_asked || self.notes.wants_outcome());
        self.outcome_asked |= asking;
        if !asking
            && self
                .ended_at
                .is_some_and(|t| t.elapsed() > LINGER_AFTER_END)
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.upload(&ctx);
        let picture = picture_id();
        // Decided before any widget runs, so the keys of this frame go where the focus was when
        // they were typed, and never both to a field and to the remote screen.
        let keyboard = ctx.memory(|m| m.has_focus(picture))
            && !self.collab.keyboard_busy(&ctx)
            && ctx.input(|i| i.focused);
        self.shortcuts(&ctx);
        egui::Panel::top("status")
            .frame(
                egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(8, 6)),
            )
            .show(ui, |ui| self.toolbar(ui, &ctx));
        let active = self.collab_active();
        for command in self.collab.show(ui, active) {
            self.send(ViewerCommand::Collab(command));
        }
        self.sysinfo.show(&ctx);
        if self.notes.show(&ctx, asking) {
            self.notes_done = true;
        }
        let presenting = self.may_present(&ctx);
        let mut layout = None;
        // While the child shows the picture, egui paints nothing under it: on software OpenGL
        // a full-window fill is most of what a frame costs.
        let backdrop = if presenting {
            egui::Frame::NONE
        } else {
            egui::Frame::new().fill(Color32::from_gray(24))
        };
        egui::CentralPanel::default()
            .frame(backdrop)
            .show(ui, |ui| {
                if let Some((rect, visible, remote)) = self.draw_screen(ui, presenting) {
                    self.picture_area = Some(visible);
                    if presenting {
                        layout = self.layout(&ctx, rect, visible, remote);
                    }
                    let response = ui.interact(rect, picture, Sense::click());
                    if response.hovered() && ctx.input(|i| i.pointer.any_pressed()) {
                        response.request_focus();
                    }
                    // Tab, arrows and Escape are the remote's keys, not egui's focus moves.
                    ctx.memory_mut(|m| {
                        m.set_focus_lock_filter(
                            picture,
                            EventFilter {
                                tab: true,
                                horizontal_arrows: true,
                                vertical_arrows: true,
                                escape: true,
                            },
                        );
                        if m.focused().is_none() {
                            m.request_focus(picture);
                        }
                    });
                    if self.ended_at.is_none() {
                        self.forward_input(&ctx, rect, remote, keyboard, ui.layer_id());
                    }
                } else if self.keyboard.holds_anything() {
                    self.picture_area = None;
                    // No picture (any more): nothing stays held over there either.
                    let mut releases = Vec::new();
                    self.keyboard.release_all(&mut releases);
                    for input in releases {
                        self.send(ViewerCommand::Input(input));
                    }
                } else {
                    self.picture_area = None;
                    // On the picture's dark backdrop whatever the theme: #E8E8EC on #181818, 14:1.
                    let text = egui::RichText::new(&self.status).color(Color32::from_gray(232));
                    ui.centered_and_justified(|ui| ui.label(text));
                }
            });
        if let Some(presenter) = &self.presenter {
            // Something of egui's came over the picture during this frame (drawn after it):
            // egui draws the picture next frame, the child stays until then.
            if presenting && !self.may_present(&ctx) {
                ctx.request_repaint();
            } else {
                presenter.set_layout(layout);
            }
        }
        // No timer: decoded frames, cursor moves and status and collaboration events (transfer
        // progress four times a second at most) each wake the window (see `repaint_slot`), so a
        // still screen costs no repaints. Only the close after the end and the end of a clipboard
        // note are timed, once each.
        if let Some(ended) = self.ended_at {
            ctx.request_repaint_after(LINGER_AFTER_END.saturating_sub(ended.elapsed()));
        }
        if let Some(after) = self.collab.next_wakeup() {
            ctx.request_repaint_after(after);
        }
    }
}
