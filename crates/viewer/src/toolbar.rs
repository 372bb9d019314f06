//! The technician's toolbar: where the session stands, always visible, and every action one click
//! or one menu away, grouped: the picture (fit / 1:1 / full screen, the monitor), the keyboard
//! (mode, special keys), the session (request or release control, the clipboard switch, chat,
//! Send file, record), the More menu (statistics, show my screen, system information, notes) and
//! End session at the right. Short labels and a tooltip each (with its host-key shortcut); one
//! row at 1280 points in English and French, and the row wraps rather than overlapping when the
//! window is narrower.

use eframe::egui;
use egui::{Color32, RichText};
use tandem_collab_ui::style;
use tandem_i18n::tr;

use tandem_proto::text::for_display;

use crate::app::{HostMonitors, monitor_label, whole_desktop_label};
use crate::combo::{self, KeyCombo};
use crate::hostkey::{HostKey, Shortcut};
use crate::keyboard::KeyMode;

/// Where the session stands, shown at the toolbar's left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    WaitingForConsent,
    Viewing,
    InControl,
    Reconnecting,
    Ended,
}

impl Phase {
    pub fn label(self) -> String {
        match self {
            Phase::Connecting => tr!("viewer-phase-connecting"),
            Phase::WaitingForConsent => tr!("viewer-phase-waiting"),
            Phase::Viewing => tr!("viewer-phase-viewing"),
            Phase::InControl => tr!("viewer-phase-control"),
            Phase::Reconnecting => tr!("viewer-phase-reconnecting"),
            Phase::Ended => tr!("viewer-phase-ended"),
        }
    }

    /// The pill's fill; white text on each is at least 6:1 (see `tandem_collab_ui::style`).
    fn fill(self) -> Color32 {
        match self {
            Phase::InControl => style::SUCCESS_FILL,
            Phase::Viewing => style::PRIMARY_FILL,
            Phase::Ended => style::DANGER_FILL,
            Phase::Connecting | Phase::WaitingForConsent | Phase::Reconnecting => {
                style::PENDING_FILL
            }
        }
    }
}

/// How the picture is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// The whole remote screen in the window.
    #[default]
    Fit,
    /// One remote pixel per screen pixel, scrolled when larger.
    Actual,
}

/// The clipboard switch: shared, or off and by whom. Clipboards travel only while the user allows
/// it and the technician's own switch is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipboardState {
    Shared,
    /// The technician switched it off.
    OffByYou,
    /// The technician's switch is on; the user does not allow it (or the default rule: only while
    /// in control).
    OffByUser,
}

impl ClipboardState {
    /// From the user's word (the host's `Permissions`) and the technician's switch.
    pub fn new(allowed_by_user: bool, switch_on: bool) -> Self {
        match (allowed_by_user, switch_on) {
            (_, false) => ClipboardState::OffByYou,
            (true, true) => ClipboardState::Shared,
            (false, true) => ClipboardState::OffByUser,
        }
    }

    pub fn label(self) -> String {
        match self {
            ClipboardState::Shared => tr!("viewer-clipboard-shared"),
            ClipboardState::OffByYou => tr!("viewer-clipboard-off-by-you"),
            ClipboardState::OffByUser => tr!("viewer-clipboard-off-by-user"),
        }
    }

    /// The technician's switch.
    fn switch_on(self) -> bool {
        self != ClipboardState::OffByYou
    }
}

/// What the Record button shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordButton {
    Off,
    Asking,
    Recording,
    Refused,
    Failed,
}

/// Everything the toolbar shows.
pub struct Toolbar<'a> {
    pub phase: Phase,
    /// The detail: the last thing that happened, or why it ended.
    pub status: &'a str,
    pub verifier: Option<&'a str>,
    pub view: bool,
    pub control: bool,
    pub control_requested: bool,
    pub clipboard: ClipboardState,
    /// The last clipboard event, while fresh: its text and whether it failed.
    pub clipboard_note: Option<(&'a str, bool)>,
    pub fps: Option<f32>,
    pub show_stats: bool,
    pub scale: Scale,
    pub fullscreen: bool,
    pub key_mode: KeyMode,
    pub monitors: Option<&'a HostMonitors>,
    pub recording: &'a RecordButton,
    pub showing: bool,
    pub finishing: bool,
    pub ended: bool,
    pub host_key: &'a HostKey,
}

/// What the technician asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Scale(Scale),
    Fullscreen(bool),
    SelectMonitor(Option<u8>),
    SetKeyMode(KeyMode),
    SendKeys(KeyCombo),
    RequestControl,
    ReleaseControl,
    /// The technician's clipboard switch.
    Clipboard(bool),
    Stats(bool),
    Record(bool),
    ShowScreen(bool),
    End,
}

/// The tooltip with its shortcut: "Full screen (Right Ctrl+F)".
fn hint(bar: &Toolbar<'_>, text: String, shortcut: Shortcut) -> String {
    format!("{text} ({})", bar.host_key.shortcut_label(shortcut))
}

/// The first row: where it stands, the check number, the frame rate, End session.
pub fn status_row(ui: &mut egui::Ui, bar: &Toolbar<'_>, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        style::mark(ui, 18.0);
        egui::Frame::new()
            .fill(bar.phase.fill())
            .corner_radius(10.0)
            .inner_margin(egui::Margin::symmetric(10, 3))
            .show(ui, |ui| {
                ui.label(
                    RichText::new(bar.phase.label())
                        .color(Color32::WHITE)
                        .strong(),
                );
            });
        ui.label(bar.status);
        if let Some(verifier) = bar.verifier {
            ui.separator();
            ui.label(tr!("viewer-check-number", number = verifier));
        }
        if bar.view && !bar.ended {
            ui.separator();
            let fps = bar.fps.unwrap_or(0.0);
            ui.label(tr!("viewer-fps", fps = format!("{fps:.0}")));
        }
        if bar.ended {
            return;
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let end = if bar.finishing {
                tr!("viewer-end-now")
            } else {
                tr!("viewer-end-session")
            };
            if ui
                .add(style::danger(end))
                .on_hover_text(hint(bar, tr!("viewer-end-hint"), Shortcut::End))
                .clicked()
            {
                actions.push(Action::End);
            }
            ui.label(
                RichText::new(tr!("viewer-host-key-note", key = bar.host_key.label()))
                    .color(ui.visuals().weak_text_color()),
            );
        });
    });
}

/// The second row: the picture's and the keyboard's tools, while the screen is shown.
/// `session_buttons` draws the chat and Send file buttons after the clipboard switch;
/// `more_items` draws system information and notes inside the More menu.
pub fn tools_row(
    ui: &mut egui::Ui,
    bar: &Toolbar<'_>,
    actions: &mut Vec<Action>,
    session_buttons: impl FnOnce(&mut egui::Ui),
    more_items: impl FnOnce(&mut egui::Ui),
) {
    ui.horizontal_wrapped(|ui| {
        // Tighter than the windows' default, so one row holds every tool at 1280 points.
        ui.spacing_mut().button_padding = egui::vec2(7.0, 4.0);
        ui.spacing_mut().item_spacing.x = 5.0;
        // The picture.
        let fit = bar.scale == Scale::Fit;
        if ui
            .selectable_label(fit, tr!("viewer-fit"))
            .on_hover_text(hint(bar, tr!("viewer-fit-hint"), Shortcut::Scale))
            .clicked()
        {
            actions.push(Action::Scale(Scale::Fit));
        }
        if ui
            .selectable_label(!fit, "1:1")
            .on_hover_text(hint(bar, tr!("viewer-actual-hint"), Shortcut::Scale))
            .clicked()
        {
            actions.push(Action::Scale(Scale::Actual));
        }
        if ui
            .selectable_label(bar.fullscreen, tr!("viewer-fullscreen"))
            .on_hover_text(hint(
                bar,
                tr!("viewer-fullscreen-hint"),
                Shortcut::Fullscreen,
            ))
            .clicked()
        {
            actions.push(Action::Fullscreen(!bar.fullscreen));
        }
        monitor_picker(ui, bar, actions);
        ui.separator();
        keyboard_menus(ui, bar, actions);
        ui.separator();
        // The session.
        control_button(ui, bar, actions);
        let clipboard = bar.clipboard;
        // A framed button in both states, so that "off" still reads as something to click.
        let switch = clipboard.switch_on();
        if ui
            .add(egui::Button::new(clipboard.label()).selected(clipboard == ClipboardState::Shared))
            .on_hover_text(tr!("viewer-clipboard-hint"))
            .clicked()
        {
            actions.push(Action::Clipboard(!switch));
        }
        session_buttons(ui);
        if !bar.finishing {
            record_button(ui, bar, actions);
        }
        more_menu(ui, bar, actions, more_items);
        if let Some((text, failed)) = bar.clipboard_note {
            // Last, so that a note that does not fit wraps alone and moves no button.
            let color = if failed {
                ui.visuals().warn_fg_color
            } else {
                ui.visuals().weak_text_color()
            };
            ui.label(RichText::new(text).color(color));
        }
    });
}

/// Request control while viewing, Release control while in control; the host key + C does the
/// same both ways.
fn control_button(ui: &mut egui::Ui, bar: &Toolbar<'_>, actions: &mut Vec<Action>) {
    if bar.control {
        if ui
            .button(tr!("viewer-release-control"))
            .on_hover_text(hint(
                bar,
                tr!("viewer-release-control-hint"),
                Shortcut::Control,
            ))
            .clicked()
        {
            actions.push(Action::ReleaseControl);
        }
    } else if bar.view {
        let label = if bar.control_requested {
            tr!("viewer-control-requested")
        } else {
            tr!("viewer-request-control")
        };
        if ui
            .add_enabled(!bar.control_requested, egui::Button::new(label))
            .on_hover_text(hint(
                bar,
                tr!("viewer-request-control-hint"),
                Shortcut::Control,
            ))
            .clicked()
        {
            actions.push(Action::RequestControl);
        }
    }
}

/// The less frequent tools, one menu away: statistics, Show my screen, system information and
/// notes. The button is marked while one of its toggles is on.
fn more_menu(
    ui: &mut egui::Ui,
    bar: &Toolbar<'_>,
    actions: &mut Vec<Action>,
    more_items: impl FnOnce(&mut egui::Ui),
) {
    let label = if bar.showing {
        tr!("viewer-more-showing")
    } else {
        tr!("viewer-more")
    };
    ui.menu_button(label, |ui| {
        let mut stats = bar.show_stats;
        if ui
            .toggle_value(&mut stats, tr!("viewer-stats"))
            .on_hover_text(hint(bar, tr!("viewer-stats-hint"), Shortcut::Stats))
            .clicked()
        {
            actions.push(Action::Stats(stats));
        }
        let mut showing = bar.showing;
        if ui
            .toggle_value(&mut showing, tr!("viewer-show-my-screen"))
            .on_hover_text(tr!("viewer-show-my-screen-hint"))
            .clicked()
        {
            actions.push(Action::ShowScreen(showing));
        }
        more_items(ui);
    })
    .response
    .on_hover_text(tr!("viewer-more-hint"));
}

/// Record / Stop recording, with where it stands: the user is asked first, and may refuse.
fn record_button(ui: &mut egui::Ui, bar: &Toolbar<'_>, actions: &mut Vec<Action>) {
    let (label, on) = match bar.recording {
        RecordButton::Off => (tr!("viewer-record"), false),
        RecordButton::Asking => (tr!("viewer-record-asking"), true),
        RecordButton::Recording => (tr!("viewer-record-stop"), true),
        RecordButton::Refused => (tr!("viewer-record-refused"), false),
        RecordButton::Failed => (tr!("viewer-record-failed"), false),
    };
    let text = if *bar.recording == RecordButton::Recording {
        RichText::new(format!("• {label}")).color(style::danger_text(ui))
    } else {
        RichText::new(format!("• {label}"))
    };
    if ui
        .add(egui::Button::new(text).selected(on))
        .on_hover_text(tr!("viewer-record-hint"))
        .clicked()
    {
        actions.push(Action::Record(!on));
    }
}

/// The monitor menu: the whole desktop or one monitor, switched within the session.
fn monitor_picker(ui: &mut egui::Ui, bar: &Toolbar<'_>, actions: &mut Vec<Action>) {
    let Some(monitors) = bar.monitors else {
        return;
    };
    if monitors.list.len() < 2 && monitors.selected.is_none() {
        // One monitor is the whole desktop: nothing to pick.
        return;
    }
    // Short in the row (the name alone), in full in the list and the tooltip.
    let current = match monitors
        .selected
        .and_then(|i| monitors.list.get(usize::from(i)))
    {
        Some(m) => for_display(&m.name).into_owned(),
        None => tr!("viewer-whole-desktop-short"),
    };
    let mut choice = monitors.selected;
    egui::ComboBox::from_id_salt("tandem-monitor")
        .selected_text(current)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut choice, None, whole_desktop_label(monitors.size));
            for (i, m) in monitors.list.iter().enumerate() {
                let Ok(i) = u8::try_from(i) else { break };
                ui.selectable_value(&mut choice, Some(i), monitor_label(m));
            }
        })
        .response
        .on_hover_text(tr!("viewer-monitor-hint"));
    if choice != monitors.selected && !bar.ended {
        actions.push(Action::SelectMonitor(choice));
    }
}

/// The keyboard mode (text or physical) and the special keys.
fn keyboard_menus(ui: &mut egui::Ui, bar: &Toolbar<'_>, actions: &mut Vec<Action>) {
    let mut mode = bar.key_mode;
    egui::ComboBox::from_id_salt("tandem-keymode")
        .selected_text(tr!("viewer-keyboard-mode", mode = mode.short_label()))
        .show_ui(ui, |ui| {
            for choice in KeyMode::ALL {
                ui.selectable_value(&mut mode, choice, choice.label());
            }
        })
        .response
        .on_hover_text(tr!("viewer-keyboard-hint"));
    if mode != bar.key_mode {
        // The session confirms with a KeyMode event, which the keyboard follows.
        actions.push(Action::SetKeyMode(mode));
    }
    ui.menu_button(tr!("viewer-send-keys"), |ui| {
        for (label, spec) in combo::PRESETS {
            if ui.button(label).clicked()
                && let Ok(combo) = KeyCombo::parse(spec)
            {
                actions.push(Action::SendKeys(combo));
                ui.close();
            }
        }
    })
    .response
    .on_hover_text(hint(
        bar,
        tr!("viewer-send-keys-hint"),
        Shortcut::CtrlAltDel,
    ));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use egui::accesskit::Role;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use tandem_i18n::Language;
    use tandem_proto::session::MonitorInfo;

    use super::*;
    use crate::collab_panels::CollabPanels;
    use crate::notes::NotesPanel;
    use crate::sysinfo_panel::SysinfoPanel;

    /// The language is process-wide: tests that set it take turns.
    static LANGUAGE: Mutex<()> = Mutex::new(());

    fn monitors() -> HostMonitors {
        let monitor = |name: &str, x: i16, primary: bool| MonitorInfo {
            name: name.into(),
            x,
            y: 0,
            width: 1920,
            height: 1080,
            primary,
        };
        HostMonitors {
            size: (3840, 1080),
            list: vec![monitor("DP-1", 0, true), monitor("HDMI-1", 1920, false)],
            selected: Some(0),
        }
    }

    /// Both rows at 1280 points wide, everything shown at once (two monitors so the picker is
    /// there, recording refused and the clipboard off by the user so their labels are the longest,
    /// `control` choosing Request or Release control): every button fits, none overlaps another,
    /// the tools are on one row, and the accessible names are there.
    fn fits_at_1280(language: Language, control: bool, selected: Option<u8>, names: &[&str]) {
        let _turn = LANGUAGE.lock().unwrap_or_else(|p| p.into_inner());
        tandem_i18n::set_language(language);
        let monitors = HostMonitors {
            selected,
            ..monitors()
        };
        let host_key = HostKey::default();
        let recording = RecordButton::Refused;
        let mut collab = CollabPanels::new();
        let mut sysinfo = SysinfoPanel::default();
        let mut notes = NotesPanel::new(Arc::default(), None, true);
        let mut harness = Harness::builder()
            .with_size(egui::vec2(1280.0, 120.0))
            .build_ui(|ui| {
                tandem_collab_ui::style::apply(
                    ui.ctx(),
                    tandem_collab_ui::style::ThemeChoice::Dark,
                );
                let bar = Toolbar {
                    phase: if control {
                        Phase::InControl
                    } else {
                        Phase::Viewing
                    },
                    status: &tr!("viewer-status-viewing"),
                    verifier: Some("4821"),
                    view: true,
                    control,
                    control_requested: false,
                    clipboard: ClipboardState::OffByUser,
                    clipboard_note: None,
                    fps: Some(30.0),
                    show_stats: false,
                    scale: Scale::Fit,
                    fullscreen: false,
                    key_mode: KeyMode::Text,
                    monitors: Some(&monitors),
                    recording: &recording,
                    showing: false,
                    finishing: false,
                    ended: false,
                    host_key: &host_key,
                };
                let mut actions = Vec::new();
                status_row(ui, &bar, &mut actions);
                tools_row(
                    ui,
                    &bar,
                    &mut actions,
                    |ui| collab.buttons(ui, true),
                    |ui| {
                        sysinfo.button(ui, true);
                        notes.button(ui);
                    },
                );
            });
        harness.run_steps(3);
        harness.check_accessibility();
        for name in names {
            harness.get_by_label_contains(name);
        }
        // The monitor picker and the keyboard mode.
        let menus: Vec<egui::Rect> = harness
            .get_all_by_role(Role::ComboBox)
            .map(|node| node.rect())
            .collect();
        assert_eq!(menus.len(), 2, "the monitor picker and the keyboard mode");
        let buttons: Vec<egui::Rect> = harness
            .get_all_by_role(Role::Button)
            .map(|node| node.rect())
            .chain(menus)
            .collect();
        assert!(buttons.len() >= 12, "{} buttons", buttons.len());
        for (i, a) in buttons.iter().enumerate() {
            assert!(
                a.max.x <= 1280.0 + 0.5 && a.min.x >= -0.5,
                "{a:?} outside 1280"
            );
            for b in &buttons[i + 1..] {
                assert!(
                    !a.shrink(0.5).intersects(b.shrink(0.5)),
                    "{a:?} overlaps {b:?}"
                );
            }
        }
        // The status row's End session is the topmost button; every tool is on the one row below.
        let first_tool_top = buttons
            .iter()
            .map(|r| r.min.y)
            .filter(|&y| y > buttons.iter().map(|r| r.min.y).fold(f32::MAX, f32::min) + 4.0)
            .fold(f32::MAX, f32::min);
        let tool_rows: Vec<f32> = buttons
            .iter()
            .map(|r| r.min.y)
            .filter(|&y| y >= first_tool_top - 4.0)
            .collect();
        assert!(
            tool_rows.iter().all(|&y| (y - first_tool_top).abs() < 8.0),
            "the tools wrap: tops at {tool_rows:?}"
        );
        tandem_i18n::set_language(Language::English);
    }

    #[test]
    fn the_toolbar_fits_1280_points_in_english() {
        let names = [
            "End session",
            "Fit",
            "Request control",
            "Clipboard off (by the user)",
            "More",
        ];
        fits_at_1280(Language::English, false, None, &names);
        let names = [
            "Release control",
            "Clipboard off (by the user)",
            "Record (refused)",
        ];
        fits_at_1280(Language::English, true, Some(0), &names);
    }

    #[test]
    fn the_toolbar_fits_1280_points_in_french() {
        let names = [
            "Terminer la séance",
            "Ajuster",
            "Demander le contrôle",
            "Presse-papiers coupé (utilisateur)",
            "Plus",
        ];
        fits_at_1280(Language::French, false, None, &names);
        let names = ["Rendre le contrôle", "Enregistrer (refusé)"];
        fits_at_1280(Language::French, true, Some(1), &names);
    }

    /// The clipboard switch says who turned it off, and a click flips the technician's side only.
    #[test]
    fn the_clipboard_switch_says_who_turned_it_off() {
        assert_eq!(ClipboardState::new(true, true), ClipboardState::Shared);
        assert_eq!(ClipboardState::new(true, false), ClipboardState::OffByYou);
        assert_eq!(ClipboardState::new(false, false), ClipboardState::OffByYou);
        assert_eq!(ClipboardState::new(false, true), ClipboardState::OffByUser);
        let _turn = LANGUAGE.lock().unwrap_or_else(|p| p.into_inner());
        tandem_i18n::set_language(Language::English);
        let host_key = HostKey::default();
        let recording = RecordButton::Off;
        let mut harness = Harness::builder()
            .with_size(egui::vec2(1280.0, 80.0))
            .build_ui_state(
                |ui, actions: &mut Vec<Action>| {
                    let bar = Toolbar {
                        phase: Phase::InControl,
                        status: "",
                        verifier: None,
                        view: true,
                        control: true,
                        control_requested: false,
                        clipboard: ClipboardState::Shared,
                        clipboard_note: None,
                        fps: None,
                        show_stats: false,
                        scale: Scale::Fit,
                        fullscreen: false,
                        key_mode: KeyMode::Text,
                        monitors: None,
                        recording: &recording,
                        showing: false,
                        finishing: false,
                        ended: false,
                        host_key: &host_key,
                    };
                    tools_row(ui, &bar, actions, |_| {}, |_| {});
                },
                Vec::new(),
            );
        harness.run_steps(2);
        harness.get_by_label("Clipboard shared").click();
        harness.run_steps(2);
        harness.get_by_label("Release control").click();
        harness.run_steps(2);
        assert_eq!(
            harness.state(),
            &vec![Action::Clipboard(false), Action::ReleaseControl]
        );
    }
}
