//! The one visual style of both Tandem windows (the user's and the technician's): spacing, a
//! primary and a secondary button, a danger button, the Tandem mark drawn with egui shapes, and
//! light and dark palettes that follow the system unless `--theme` says otherwise.
//!
//! Contrast (WCAG 2.1 relative luminance; AA needs 4.5:1 for text):
//! - light: text #1B1B1F on #F5F6F8 15.9:1; weak text #5C5C66 on #F5F6F8 6.1:1; accent text
//!   #1A56B8 on #F5F6F8 6.3:1; warning text #7A4A00 on #F5F6F8 6.9:1.
//! - dark: text #E8E8EC on #1B1B1F 14.1:1 (on the bar's #26262C 12.3:1); weak text #A0A0AA on
//!   #1B1B1F 6.6:1; accent text #8CB4FF on #1B1B1F 8.3:1; warning text #F0B429 on #1B1B1F 9.2:1.
//! - red text (recording): #B42318 on #F5F6F8 6.1:1; #FF8A80 on #1B1B1F 7.8:1.
//! - both: white on the primary fill #1A56B8 6.9:1; white on the danger fill #B42318 6.6:1;
//!   white on #1B6E3A (in control) 6.3:1; white on #6B4E00 (waiting) 7.7:1.

use eframe::egui;
use egui::{Color32, CornerRadius, RichText, Stroke, Theme, ThemePreference, Vec2};

/// Which palette: the system's (default), or one forced by `--theme`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

impl ThemeChoice {
    /// `light`, `dark` or `system`.
    pub fn parse(text: &str) -> Option<ThemeChoice> {
        match text.to_ascii_lowercase().as_str() {
            "system" => Some(ThemeChoice::System),
            "light" => Some(ThemeChoice::Light),
            "dark" => Some(ThemeChoice::Dark),
            _ => None,
        }
    }

    fn preference(self) -> ThemePreference {
        match self {
            ThemeChoice::System => ThemePreference::System,
            ThemeChoice::Light => ThemePreference::Light,
            ThemeChoice::Dark => ThemePreference::Dark,
        }
    }
}

/// The primary action's fill (Allow, Copy, Open): white text on it is 6.9:1.
pub const PRIMARY_FILL: Color32 = Color32::from_rgb(0x1A, 0x56, 0xB8);
/// Stop sharing, End session, the recording banner: white text on it is 6.6:1.
pub const DANGER_FILL: Color32 = Color32::from_rgb(0xB4, 0x23, 0x18);
/// "In control" on the technician's toolbar: white text on it is 6.3:1.
pub const SUCCESS_FILL: Color32 = Color32::from_rgb(0x1B, 0x6E, 0x3A);
/// Waiting, connecting, reconnecting: white text on it is 7.7:1.
pub const PENDING_FILL: Color32 = Color32::from_rgb(0x6B, 0x4E, 0x00);
const LIGHT_BG: Color32 = Color32::from_rgb(0xF5, 0xF6, 0xF8);
const LIGHT_TEXT: Color32 = Color32::from_rgb(0x1B, 0x1B, 0x1F);
const LIGHT_WEAK: Color32 = Color32::from_rgb(0x5C, 0x5C, 0x66);
const LIGHT_WARN: Color32 = Color32::from_rgb(0x7A, 0x4A, 0x00);
const DARK_BG: Color32 = Color32::from_rgb(0x1B, 0x1B, 0x1F);
const DARK_RAISED: Color32 = Color32::from_rgb(0x26, 0x26, 0x2C);
const DARK_TEXT: Color32 = Color32::from_rgb(0xE8, 0xE8, 0xEC);
const DARK_WEAK: Color32 = Color32::from_rgb(0xA0, 0xA0, 0xAA);
const DARK_ACCENT_TEXT: Color32 = Color32::from_rgb(0x8C, 0xB4, 0xFF);
const DARK_WARN: Color32 = Color32::from_rgb(0xF0, 0xB4, 0x29);
const DARK_DANGER_TEXT: Color32 = Color32::from_rgb(0xFF, 0x8A, 0x80);

/// Applies the style to both palettes and picks the palette. Call once, at start.
pub fn apply(ctx: &egui::Context, theme: ThemeChoice) {
    ctx.set_theme(theme.preference());
    for (which, dark) in [(Theme::Light, false), (Theme::Dark, true)] {
        ctx.style_mut_of(which, |style| {
            style.spacing.item_spacing = Vec2::new(8.0, 8.0);
            style.spacing.button_padding = Vec2::new(12.0, 6.0);
            style.spacing.interact_size.y = 28.0;
            let v = &mut style.visuals;
            let (bg, text, weak, warn) = if dark {
                (DARK_BG, DARK_TEXT, DARK_WEAK, DARK_WARN)
            } else {
                (LIGHT_BG, LIGHT_TEXT, LIGHT_WEAK, LIGHT_WARN)
            };
            v.panel_fill = bg;
            v.window_fill = if dark { DARK_RAISED } else { Color32::WHITE };
            v.override_text_color = Some(text);
            v.weak_text_color = Some(weak);
            v.warn_fg_color = warn;
            v.hyperlink_color = if dark { DARK_ACCENT_TEXT } else { PRIMARY_FILL };
            v.selection.bg_fill = PRIMARY_FILL;
            v.selection.stroke = Stroke::new(1.0, Color32::WHITE);
            let radius = CornerRadius::same(6);
            for widget in [
                &mut v.widgets.inactive,
                &mut v.widgets.hovered,
                &mut v.widgets.active,
                &mut v.widgets.open,
                &mut v.widgets.noninteractive,
            ] {
                widget.corner_radius = radius;
            }
            // Buttons are outlined (weak text colour); hovered ones in the accent.
            v.widgets.inactive.bg_stroke = Stroke::new(1.0, weak);
            v.widgets.hovered.bg_stroke = Stroke::new(1.5, accent_text(dark));
            v.widgets.active.bg_stroke = Stroke::new(2.0, accent_text(dark));
            v.text_cursor.blink = false;
        });
    }
}

fn accent_text(dark: bool) -> Color32 {
    if dark { DARK_ACCENT_TEXT } else { PRIMARY_FILL }
}

/// The accent colour for text on the panel background, in the current palette.
pub fn accent(ui: &egui::Ui) -> Color32 {
    accent_text(ui.visuals().dark_mode)
}

/// Red for text on the panel background (recording), in the current palette.
pub fn danger_text(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        DARK_DANGER_TEXT
    } else {
        DANGER_FILL
    }
}

/// The raised background of the sharing bar and of cards.
pub fn raised(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        DARK_RAISED
    } else {
        Color32::WHITE
    }
}

/// The primary action: white on the accent fill.
pub fn primary(text: impl Into<String>) -> egui::Button<'static> {
    egui::Button::new(RichText::new(text).strong().color(Color32::WHITE))
        .fill(PRIMARY_FILL)
        .min_size(Vec2::new(96.0, 32.0))
}

/// A secondary action: the panel's text on an outlined button (the outline is every button's,
/// set by [`apply`]).
pub fn secondary(text: impl Into<String>) -> egui::Button<'static> {
    egui::Button::new(RichText::new(text)).min_size(Vec2::new(96.0, 32.0))
}

/// Adds `button` and, while it has the keyboard focus, an accent ring around it: egui's own focus
/// look is a thin stroke, easy to miss for someone moving with Tab.
pub fn add(ui: &mut egui::Ui, button: egui::Button<'_>) -> egui::Response {
    let response = ui.add(button);
    if response.has_focus() {
        ui.painter().rect_stroke(
            response.rect.expand(3.0),
            8.0,
            Stroke::new(2.0, accent(ui)),
            egui::StrokeKind::Outside,
        );
    }
    response
}

/// An action that ends something (Stop sharing, End session): white on red.
pub fn danger(text: impl Into<String>) -> egui::Button<'static> {
    egui::Button::new(RichText::new(text).strong().color(Color32::WHITE))
        .fill(DANGER_FILL)
        .min_size(Vec2::new(0.0, 28.0))
}

/// A greyed look for a primary button that is shown but not usable yet (the consent guard).
pub fn primary_waiting(ui: &egui::Ui, text: impl Into<String>) -> egui::Button<'static> {
    egui::Button::new(
        RichText::new(text)
            .strong()
            .color(ui.visuals().weak_text_color()),
    )
    .fill(ui.visuals().faint_bg_color)
    .stroke(Stroke::new(1.0, ui.visuals().weak_text_color()))
    .min_size(Vec2::new(96.0, 32.0))
}

/// The Tandem mark: two interlocking rings, the two people of a session, `size` points high.
/// Decorative (no accessible name of its own: the window's title and text say "Tandem").
pub fn mark(ui: &mut egui::Ui, size: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(size * 1.5, size), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let r = size * 0.36;
    let stroke = size * 0.12;
    let left = egui::pos2(rect.left() + r + stroke, rect.center().y);
    let right = egui::pos2(rect.right() - r - stroke, rect.center().y);
    painter.circle_stroke(left, r, Stroke::new(stroke, PRIMARY_FILL));
    painter.circle_stroke(right, r, Stroke::new(stroke, accent(ui)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG 2.1 relative luminance.
    fn luminance(c: Color32) -> f64 {
        let channel = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(c.r()) + 0.7152 * channel(c.g()) + 0.0722 * channel(c.b())
    }

    fn contrast(a: Color32, b: Color32) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    /// The ratios written at the top of this file hold, and all pass WCAG AA (4.5:1).
    #[test]
    fn every_text_colour_passes_wcag_aa_on_its_background() {
        let pairs = [
            (LIGHT_TEXT, LIGHT_BG),
            (LIGHT_WEAK, LIGHT_BG),
            (PRIMARY_FILL, LIGHT_BG),
            (LIGHT_WARN, LIGHT_BG),
            (DARK_TEXT, DARK_BG),
            (DARK_TEXT, DARK_RAISED),
            (DARK_WEAK, DARK_BG),
            (DARK_ACCENT_TEXT, DARK_BG),
            (DARK_WARN, DARK_BG),
            (DANGER_FILL, LIGHT_BG),
            (DARK_DANGER_TEXT, DARK_BG),
            (Color32::WHITE, SUCCESS_FILL),
            (Color32::WHITE, PENDING_FILL),
            (Color32::WHITE, PRIMARY_FILL),
            (Color32::WHITE, DANGER_FILL),
        ];
        for (text, bg) in pairs {
            let ratio = contrast(text, bg);
            assert!(ratio >= 4.5, "{text:?} on {bg:?}: {ratio:.2}");
        }
    }

    #[test]
    fn theme_names_parse() {
        assert_eq!(ThemeChoice::parse("Dark"), Some(ThemeChoice::Dark));
        assert_eq!(ThemeChoice::parse("light"), Some(ThemeChoice::Light));
        assert_eq!(ThemeChoice::parse("system"), Some(ThemeChoice::System));
        assert_eq!(ThemeChoice::parse("blue"), None);
    }
}
