//! Turns the window's keyboard events into protocol input in the chosen [`KeyMode`], and keeps track
//! of what it pressed on the remote side so that all of it can be let go at once: when the picture
//! loses the keyboard, when the mode changes, when the session ends.
//!
//! Text mode: characters are composed here (Shift, AltGr, dead keys, compose, any script) and sent
//! as `Input::Text`, so what the technician types is what appears whatever the two layouts.
//! Shortcuts (a key with Ctrl or Alt) and keys that are not text (Enter, arrows, F-keys) go as
//! keys by meaning (keysym). Shift is pressed on the remote side only for such keys: held under
//! text it would turn the host's keys to their shifted level (a `/` typed with Shift on one layout
//! is unshifted on another).
//!
//! Physical mode: every key goes down and up by position (keysym 0), and the host types the key at
//! the same position on its keyboard; text is not sent. Right Alt (AltGr) too, though egui does
//! not report it: a [`RightAltProbe`] asks this machine's keyboard whether it is down.

use egui::{Key, Modifiers};
use tandem_proto::keys::KeyId;
use tandem_proto::session::Input;

use crate::keys::{self, CTRL_ALT_SUPER, Modifier, RIGHT_ALT, SHIFT};
use crate::right_alt::RightAltProbe;

/// How the technician's keys reach the remote side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyMode {
    /// Layout-independent: what is typed is what appears.
    #[default]
    Text,
    /// By position: each key as the key at the same place on the remote keyboard.
    Physical,
}

impl KeyMode {
    pub const ALL: [Self; 2] = [Self::Text, Self::Physical];

    /// The name `keymode` takes on stdin and `--json` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Physical => "physical",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// What the window's Keyboard menu shows.
    pub fn label(self) -> String {
        match self {
            Self::Text => tandem_i18n::tr!("viewer-keymode-text-label"),
            Self::Physical => tandem_i18n::tr!("viewer-keymode-physical-label"),
        }
    }

    /// The mode in a word, for the toolbar.
    pub fn short_label(self) -> String {
        match self {
            Self::Text => tandem_i18n::tr!("viewer-keymode-text"),
            Self::Physical => tandem_i18n::tr!("viewer-keymode-physical"),
        }
    }
}

/// A key pressed on the remote side from this window.
#[derive(Debug, Clone, Copy)]
struct Pressed {
    /// The physical key if egui said, else the logical one: press and release share it.
    by: Key,
    logical: Key,
    id: KeyId,
}

/// The window's keyboard, as seen by the remote side.
#[derive(Default)]
pub struct KeyForwarder {
    mode: KeyMode,
    pressed: Vec<Pressed>,
    /// Which of [`MODIFIERS`] are held on the remote side.
    mods: [bool; 5],
    /// Where physical mode learns whether Right Alt is down; without one it is never sent.
    right_alt: Option<Box<dyn RightAltProbe>>,
}

impl std::fmt::Debug for KeyForwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyForwarder")
            .field("mode", &self.mode)
            .field("pressed", &self.pressed)
            .field("mods", &self.mods)
            .field("right_alt", &self.right_alt.is_some())
            .finish()
    }
}

/// Shift first, then Ctrl, Alt and Super, all four known from egui; then Right Alt, which egui
/// does not report and only physical mode sends.
const MODIFIERS: [Modifier; 5] = [
    SHIFT,
    CTRL_ALT_SUPER[0],
    CTRL_ALT_SUPER[1],
    CTRL_ALT_SUPER[2],
    RIGHT_ALT,
];
const RIGHT_ALT_INDEX: usize = 4;

impl KeyForwarder {
    pub fn new(mode: KeyMode) -> Self {
        Self {
            mode,
            ..Self::default()
        }
    }

    /// Physical mode asks `probe` whether Right Alt is down, and sends it by position.
    pub fn with_right_alt(mut self, probe: Box<dyn RightAltProbe>) -> Self {
        self.right_alt = Some(probe);
        self
    }

    pub fn mode(&self) -> KeyMode {
        self.mode
    }

    /// Switches mode, releasing first whatever the old one pressed.
    pub fn set_mode(&mut self, mode: KeyMode, out: &mut Vec<Input>) {
        if mode != self.mode {
            self.release_all(out);
            self.mode = mode;
        }
    }

    /// Whether anything is held on the remote side.
    pub fn holds_anything(&self) -> bool {
        !self.pressed.is_empty() || self.mods.iter().any(|&m| m)
    }

    /// Releases every key and modifier this window holds down on the remote side.
    pub fn release_all(&mut self, out: &mut Vec<Input>) {
        out.extend(self.pressed.drain(..).rev().map(|p| p.id.input(false)));
        for i in (0..MODIFIERS.len()).rev() {
            self.set_modifier(i, false, out);
        }
    }

    /// The modifiers as they are at the end of the frame's events: Ctrl, Alt and Super (and in
    /// physical mode Shift) follow them, so a held Ctrl works with a click; in text mode Shift is
    /// only released here.
    pub fn modifiers(&mut self, now: Modifiers, out: &mut Vec<Input>) {
        for (i, modifier) in MODIFIERS.iter().enumerate().take(RIGHT_ALT_INDEX) {
            let held = (modifier.is_held)(&now);
            if i == 0 && self.mode == KeyMode::Text && held {
                continue;
            }
            self.set_modifier(i, held, out);
        }
        self.sync_right_alt(out);
    }

    /// A key went down or up here. `physical`: the key at its position, as egui reports it.
    pub fn key(
        &mut self,
        key: Key,
        physical: Option<Key>,
        pressed: bool,
        modifiers: Modifiers,
        out: &mut Vec<Input>,
    ) {
        let by = physical.unwrap_or(key);
        if !pressed {
            let at = self
                .pressed
                .iter()
                .rposition(|p| p.by == by)
                .or_else(|| self.pressed.iter().rposition(|p| p.logical == key));
            if let Some(i) = at {
                out.push(self.pressed.remove(i).id.input(false));
            }
            return;
        }
        let position = keys::position(by).unwrap_or(0);
        let id = match self.mode {
            KeyMode::Text => {
                if keys::covered_by_text(key, modifiers) {
                    return;
                }
                let Some(keysym) = keys::keysym(key) else {
                    return;
                };
                KeyId {
                    keysym,
                    physical: position,
                }
            }
            KeyMode::Physical => {
                if position == 0 {
                    return;
                }
                KeyId {
                    keysym: 0,
                    physical: position,
                }
            }
        };
        self.sync_all(modifiers, out);
        if !self.pressed.iter().any(|p| p.id == id) {
            self.pressed.push(Pressed {
                by,
                logical: key,
                id,
            });
        }
        out.push(id.input(true));
    }

    /// Text composed here (after Shift, AltGr, dead keys, compose).
    pub fn text(&mut self, text: String, out: &mut Vec<Input>) {
        if self.mode == KeyMode::Physical {
            return;
        }
        // With Ctrl, Alt or Super the key itself went as a shortcut.
        if self.mods[1..RIGHT_ALT_INDEX].iter().any(|&m| m) {
            return;
        }
        self.set_modifier(0, false, out);
        out.push(Input::Text { text });
    }

    /// A mouse button with these modifiers: Shift+click and Ctrl+click need them on the remote side.
    pub fn pointer_button(&mut self, modifiers: Modifiers, out: &mut Vec<Input>) {
        self.sync_all(modifiers, out);
    }

    /// egui turned Ctrl+C, Ctrl+X or Ctrl+V into a clipboard event (`key`: C, X or V); the remote
    /// side gets the key, with Ctrl. Its release arrives as an ordinary key event.
    pub fn clipboard_shortcut(&mut self, key: Key, out: &mut Vec<Input>) {
        self.key(key, Some(key), true, Modifiers::CTRL, out);
    }

    fn sync_all(&mut self, modifiers: Modifiers, out: &mut Vec<Input>) {
        for (i, modifier) in MODIFIERS.iter().enumerate().take(RIGHT_ALT_INDEX) {
            self.set_modifier(i, (modifier.is_held)(&modifiers), out);
        }
        self.sync_right_alt(out);
    }

    /// Physical mode: Right Alt on the remote side as it is here now. (Text mode composes AltGr
    /// characters here and never sends it.)
    fn sync_right_alt(&mut self, out: &mut Vec<Input>) {
        let held = self.mode == KeyMode::Physical
            && self
                .right_alt
                .as_mut()
                .is_some_and(|probe| probe.right_alt_down());
        self.set_modifier(RIGHT_ALT_INDEX, held, out);
    }

    fn set_modifier(&mut self, i: usize, held: bool, out: &mut Vec<Input>) {
        if self.mods[i] == held {
            return;
        }
        self.mods[i] = held;
        let modifier = MODIFIERS[i];
        let keysym = match self.mode {
            KeyMode::Text => modifier.keysym,
            KeyMode::Physical => 0,
        };
        let id = KeyId {
            keysym,
            physical: modifier.position,
        };
        out.push(id.input(held));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(keysym: u32, physical: u32, pressed: bool) -> Input {
        Input::Key {
            keysym,
            physical,
            pressed,
        }
    }

    const CTRL_DOWN: Input = Input::Key {
        keysym: 0xffe3,
        physical: 29,
        pressed: true,
    };
    const CTRL_UP: Input = Input::Key {
        keysym: 0xffe3,
        physical: 29,
        pressed: false,
    };

    #[test]
    fn text_mode_sends_text_and_no_shift_for_it() {
        let mut kb = KeyForwarder::new(KeyMode::Text);
        let mut out = Vec::new();
        // Shift+2 on a US layout: the key is covered by its text "@".
        kb.key(Key::Num2, Some(Key::Num2), true, Modifiers::SHIFT, &mut out);
        kb.text("@".into(), &mut out);
        kb.modifiers(Modifiers::SHIFT, &mut out);
        kb.key(
            Key::Num2,
            Some(Key::Num2),
            false,
            Modifiers::SHIFT,
            &mut out,
        );
        kb.modifiers(Modifiers::NONE, &mut out);
        assert_eq!(out, vec![Input::Text { text: "@".into() }]);
        assert!(!kb.holds_anything());
    }

    #[test]
    fn text_mode_presses_shift_for_keys_that_are_not_text_and_lets_go_before_text() {
        let mut kb = KeyForwarder::new(KeyMode::Text);
        let mut out = Vec::new();
        kb.key(Key::Tab, Some(Key::Tab), true, Modifiers::SHIFT, &mut out);
        kb.key(Key::Tab, Some(Key::Tab), false, Modifiers::SHIFT, &mut out);
        kb.text("A".into(), &mut out);
        assert_eq!(
            out,
            vec![
                key(0xffe1, 42, true),
                key(0xff09, 15, true),
                key(0xff09, 15, false),
                key(0xffe1, 42, false),
                Input::Text { text: "A".into() },
            ]
        );
    }

    #[test]
    fn text_mode_shortcuts_go_as_keys_by_meaning_with_their_position() {
        let mut kb = KeyForwarder::new(KeyMode::Text);
        let mut out = Vec::new();
        // Ctrl+Z on a German keyboard: the key labelled Z sits where a US keyboard has Y.
        kb.key(Key::Z, Some(Key::Y), true, Modifiers::CTRL, &mut out);
        // egui sends no text with Ctrl; any it did would be dropped.
        kb.text("z".into(), &mut out);
        kb.key(Key::Z, Some(Key::Y), false, Modifiers::CTRL, &mut out);
        kb.modifiers(Modifiers::NONE, &mut out);
        assert_eq!(
            out,
            vec![
                CTRL_DOWN,
                key(0x7a, 21, true),
                key(0x7a, 21, false),
                CTRL_UP
            ]
        );
    }

    #[test]
    fn a_clipboard_shortcut_is_forwarded_as_ctrl_and_the_key() {
        let mut kb = KeyForwarder::new(KeyMode::Text);
        let mut out = Vec::new();
        kb.clipboard_shortcut(Key::C, &mut out);
        kb.key(Key::C, Some(Key::C), false, Modifiers::CTRL, &mut out);
        kb.modifiers(Modifiers::NONE, &mut out);
        assert_eq!(
            out,
            vec![
                CTRL_DOWN,
                key(0x63, 46, true),
                key(0x63, 46, false),
                CTRL_UP
            ]
        );
    }

    #[test]
    fn physical_mode_sends_positions_only_and_no_text() {
        let mut kb = KeyForwarder::new(KeyMode::Physical);
        let mut out = Vec::new();
        kb.key(Key::Z, Some(Key::Y), true, Modifiers::SHIFT, &mut out);
        kb.text("Z".into(), &mut out);
        kb.key(Key::Z, Some(Key::Y), false, Modifiers::SHIFT, &mut out);
        kb.modifiers(Modifiers::NONE, &mut out);
        assert_eq!(
            out,
            vec![
                key(0, 42, true),
                key(0, 21, true),
                key(0, 21, false),
                key(0, 42, false)
            ]
        );
    }

    #[test]
    fn release_all_lets_go_of_keys_and_modifiers_last_pressed_first() {
        let mut kb = KeyForwarder::new(KeyMode::Text);
        let mut out = Vec::new();
        kb.modifiers(Modifiers::CTRL | Modifiers::ALT, &mut out);
        kb.key(
            Key::ArrowLeft,
            Some(Key::ArrowLeft),
            true,
            Modifiers::CTRL | Modifiers::ALT,
            &mut out,
        );
        assert!(kb.holds_anything());
        out.clear();
        kb.release_all(&mut out);
        assert_eq!(
            out,
            vec![key(0xff51, 105, false), key(0xffe9, 56, false), CTRL_UP]
        );
        assert!(!kb.holds_anything());
        out.clear();
        kb.release_all(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn switching_mode_releases_what_the_old_mode_pressed() {
        let mut kb = KeyForwarder::new(KeyMode::Physical);
        let mut out = Vec::new();
        kb.modifiers(Modifiers::SHIFT, &mut out);
        out.clear();
        kb.set_mode(KeyMode::Text, &mut out);
        assert_eq!(out, vec![key(0, 42, false)]);
        assert_eq!(kb.mode(), KeyMode::Text);
    }

    /// Answers what the test set last.
    struct SetRightAlt(std::rc::Rc<std::cell::Cell<bool>>);

    impl RightAltProbe for SetRightAlt {
        fn right_alt_down(&mut self) -> bool {
            self.0.get()
        }
    }

    fn with_right_alt(mode: KeyMode) -> (KeyForwarder, std::rc::Rc<std::cell::Cell<bool>>) {
        let down = std::rc::Rc::new(std::cell::Cell::new(false));
        let kb = KeyForwarder::new(mode).with_right_alt(Box::new(SetRightAlt(down.clone())));
        (kb, down)
    }

    #[test]
    fn physical_mode_sends_right_alt_by_position_before_the_key_it_modifies() {
        let (mut kb, right_alt) = with_right_alt(KeyMode::Physical);
        let mut out = Vec::new();
        // AltGr+Q on a German keyboard: egui sees Q with no modifier at all.
        right_alt.set(true);
        kb.key(Key::Q, Some(Key::Q), true, Modifiers::NONE, &mut out);
        kb.key(Key::Q, Some(Key::Q), false, Modifiers::NONE, &mut out);
        kb.modifiers(Modifiers::NONE, &mut out);
        right_alt.set(false);
        kb.modifiers(Modifiers::NONE, &mut out);
        assert_eq!(
            out,
            vec![
                key(0, 100, true),
                key(0, 16, true),
                key(0, 16, false),
                key(0, 100, false)
            ]
        );
        assert!(!kb.holds_anything());
    }

    #[test]
    fn right_alt_held_is_released_with_everything_else() {
        let (mut kb, right_alt) = with_right_alt(KeyMode::Physical);
        let mut out = Vec::new();
        right_alt.set(true);
        kb.modifiers(Modifiers::NONE, &mut out);
        assert!(kb.holds_anything());
        out.clear();
        kb.release_all(&mut out);
        assert_eq!(out, vec![key(0, 100, false)]);
        assert!(!kb.holds_anything());
    }

    #[test]
    fn text_mode_never_sends_right_alt() {
        let (mut kb, right_alt) = with_right_alt(KeyMode::Text);
        let mut out = Vec::new();
        right_alt.set(true);
        // The window composed AltGr+Q into @ itself.
        kb.key(Key::Q, Some(Key::Q), true, Modifiers::NONE, &mut out);
        kb.text("@".into(), &mut out);
        kb.modifiers(Modifiers::NONE, &mut out);
        assert_eq!(out, vec![Input::Text { text: "@".into() }]);
    }

    #[test]
    fn mode_names_round_trip() {
        for mode in KeyMode::ALL {
            assert_eq!(KeyMode::from_name(mode.name()), Some(mode));
        }
        assert_eq!(KeyMode::from_name("scancode"), None);
    }
}
