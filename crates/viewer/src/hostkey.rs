//! The host key (Right Ctrl by default, like VirtualBox's): held, it turns the next keys into the
//! viewer's own shortcuts instead of keys for the remote screen, so the shortcuts never collide
//! with anything the remote side uses. The host key itself never reaches the remote side either.
//!
//! It works on egui's raw input, before egui or the picture see it (`eframe::App::raw_input_hook`):
//! while the host key is down, key, text and clipboard events are taken out, and the modifier it
//! is (Ctrl, Alt, Shift, Super) is cleared, so the remote side never sees it held.

use eframe::egui;
use egui::{Event, Key};
use tandem_i18n::tr;

/// A viewer action reached with host key + a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// F: full screen on or off.
    Fullscreen,
    /// S: fit to the window, or 1:1.
    Scale,
    /// Delete: send Ctrl+Alt+Del.
    CtrlAltDel,
    /// C: ask for control, or give it back while in control.
    Control,
    /// T: the statistics overlay.
    Stats,
    /// Q: end the session.
    End,
}

impl Shortcut {
    pub const ALL: [Shortcut; 6] = [
        Shortcut::Fullscreen,
        Shortcut::Scale,
        Shortcut::CtrlAltDel,
        Shortcut::Control,
        Shortcut::Stats,
        Shortcut::End,
    ];

    pub fn key(self) -> Key {
        match self {
            Shortcut::Fullscreen => Key::F,
            Shortcut::Scale => Key::S,
            Shortcut::CtrlAltDel => Key::Delete,
            Shortcut::Control => Key::C,
            Shortcut::Stats => Key::T,
            Shortcut::End => Key::Q,
        }
    }

    fn from_key(key: Key) -> Option<Shortcut> {
        Shortcut::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// The keys that can be the host key.
const CHOICES: [(&str, Key); 8] = [
    ("right-ctrl", Key::ControlRight),
    ("left-ctrl", Key::ControlLeft),
    ("right-alt", Key::AltRight),
    ("left-alt", Key::AltLeft),
    ("right-shift", Key::ShiftRight),
    ("left-shift", Key::ShiftLeft),
    ("right-super", Key::SuperRight),
    ("left-super", Key::SuperLeft),
];

/// The host key and whether it is held.
#[derive(Debug, Clone)]
pub struct HostKey {
    key: Key,
    held: bool,
}

impl Default for HostKey {
    fn default() -> Self {
        HostKey::new(Key::ControlRight)
    }
}

impl HostKey {
    pub fn new(key: Key) -> HostKey {
        HostKey { key, held: false }
    }

    /// `right-ctrl`, `left-alt`, … (`join --host-key`).
    pub fn parse(name: &str) -> Option<HostKey> {
        let name = name.to_ascii_lowercase();
        CHOICES
            .iter()
            .find(|(choice, _)| *choice == name)
            .map(|&(_, key)| HostKey::new(key))
    }

    /// The names [`HostKey::parse`] accepts.
    pub fn names() -> impl Iterator<Item = &'static str> {
        CHOICES.iter().map(|(name, _)| *name)
    }

    /// The key's name for people: "Right Ctrl".
    pub fn label(&self) -> String {
        match self.key {
            Key::ControlRight => tr!("viewer-key-right-ctrl"),
            Key::ControlLeft => tr!("viewer-key-left-ctrl"),
            Key::AltRight => tr!("viewer-key-right-alt"),
            Key::AltLeft => tr!("viewer-key-left-alt"),
            Key::ShiftRight => tr!("viewer-key-right-shift"),
            Key::ShiftLeft => tr!("viewer-key-left-shift"),
            Key::SuperRight => tr!("viewer-key-right-super"),
            _ => tr!("viewer-key-left-super"),
        }
    }

    /// "Right Ctrl+F", for tooltips.
    pub fn shortcut_label(&self, shortcut: Shortcut) -> String {
        format!("{}+{}", self.label(), shortcut.key().name())
    }

    fn is_host_key(&self, key: Key, physical: Option<Key>) -> bool {
        key == self.key || physical == Some(self.key)
    }

    fn is_ctrl(&self) -> bool {
        matches!(self.key, Key::ControlLeft | Key::ControlRight)
    }

    fn clear_modifier(&self, modifiers: &mut egui::Modifiers) {
        match self.key {
            Key::ControlLeft | Key::ControlRight => {
                modifiers.ctrl = false;
                modifiers.command = false;
            }
            Key::AltLeft | Key::AltRight => modifiers.alt = false,
            Key::ShiftLeft | Key::ShiftRight => modifiers.shift = false,
            _ => {
                modifiers.mac_cmd = false;
            }
        }
    }

    /// Takes the host key and everything typed while it is held out of `input`; returns the
    /// shortcuts pressed. Modifier changes of a frame in which the host key is held at some point
    /// lose the host key's modifier (winit may report the change before or after the key).
    pub fn intercept(&mut self, input: &mut egui::RawInput) -> Vec<Shortcut> {
        let in_frame = self.held
            || input.events.iter().any(|event| {
                matches!(event, Event::Key { key, physical_key, pressed: true, .. }
                    if self.is_host_key(*key, *physical_key))
            });
        let mut shortcuts = Vec::new();
        let mut held = self.held;
        input.events.retain_mut(|event| match event {
            Event::Key {
                key,
                physical_key,
                pressed,
                ..
            } if self.is_host_key(*key, *physical_key) => {
                held = *pressed;
                false
            }
            Event::Key { key, pressed, .. } if held => {
                if *pressed && let Some(shortcut) = Shortcut::from_key(*key) {
                    shortcuts.push(shortcut);
                }
                false
            }
            // egui-winit turns a held Ctrl with C, X or V into these instead of a key press: with
            // Ctrl as the host key they are its C, X and V.
            Event::Copy | Event::Cut | Event::Paste(_) if held => {
                let key = match event {
                    Event::Copy => Key::C,
                    Event::Cut => Key::X,
                    _ => Key::V,
                };
                if self.is_ctrl()
                    && let Some(shortcut) = Shortcut::from_key(key)
                {
                    shortcuts.push(shortcut);
                }
                false
            }
            Event::Text(_) if held => false,
            Event::ModifiersChanged(modifiers) if in_frame => {
                self.clear_modifier(modifiers);
                true
            }
            Event::PointerButton { modifiers, .. } if held => {
                self.clear_modifier(modifiers);
                true
            }
            _ => true,
        });
        self.held = held;
        shortcuts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(key: Key, pressed: bool, modifiers: egui::Modifiers) -> Event {
        Event::Key {
            key,
            physical_key: Some(key),
            pressed,
            repeat: false,
            modifiers,
        }
    }

    /// Right Ctrl+C reaches egui as `Copy`, not as a key press (egui-winit's clipboard
    /// shortcuts): it is still the host key + C, the control shortcut, and nothing is copied.
    #[test]
    fn host_key_c_arrives_as_copy_and_is_the_control_shortcut() {
        let mut host = HostKey::default();
        let ctrl = egui::Modifiers::CTRL;
        let mut input = egui::RawInput {
            events: vec![
                Event::ModifiersChanged(ctrl),
                key(Key::ControlRight, true, ctrl),
                Event::Copy,
                key(Key::C, false, ctrl),
            ],
            ..Default::default()
        };
        assert_eq!(host.intercept(&mut input), vec![Shortcut::Control]);
        assert_eq!(
            input.events,
            vec![Event::ModifiersChanged(egui::Modifiers::NONE)]
        );
        // With Alt as the host key, a Copy is Ctrl+C typed while Alt is held: no shortcut.
        let mut alt = HostKey::new(Key::AltRight);
        let mut input = egui::RawInput {
            events: vec![key(Key::AltRight, true, egui::Modifiers::ALT), Event::Copy],
            ..Default::default()
        };
        assert!(alt.intercept(&mut input).is_empty());
    }

    #[test]
    fn host_key_combinations_become_shortcuts_and_never_reach_the_remote() {
        let mut host = HostKey::default();
        let ctrl = egui::Modifiers::CTRL;
        let mut input = egui::RawInput {
            events: vec![
                Event::ModifiersChanged(ctrl),
                key(Key::ControlRight, true, ctrl),
                key(Key::F, true, ctrl),
                Event::Text("f".into()),
                key(Key::F, false, ctrl),
            ],
            ..Default::default()
        };
        assert_eq!(host.intercept(&mut input), vec![Shortcut::Fullscreen]);
        assert_eq!(
            input.events,
            vec![Event::ModifiersChanged(egui::Modifiers::NONE)],
            "Ctrl is not held on the remote side"
        );

        // Released: keys go through again.
        let mut input = egui::RawInput {
            events: vec![
                key(Key::ControlRight, false, ctrl),
                key(Key::A, true, egui::Modifiers::NONE),
            ],
            ..Default::default()
        };
        assert!(host.intercept(&mut input).is_empty());
        assert_eq!(input.events.len(), 1);
    }

    #[test]
    fn other_keys_pass_untouched() {
        let mut host = HostKey::default();
        let mut input = egui::RawInput {
            events: vec![
                Event::ModifiersChanged(egui::Modifiers::CTRL),
                key(Key::ControlLeft, true, egui::Modifiers::CTRL),
                key(Key::C, true, egui::Modifiers::CTRL),
            ],
            ..Default::default()
        };
        assert!(host.intercept(&mut input).is_empty());
        assert_eq!(
            input.events.len(),
            3,
            "Left Ctrl and Ctrl+C are the remote's"
        );
        assert_eq!(
            input.events[0],
            Event::ModifiersChanged(egui::Modifiers::CTRL)
        );
    }

    #[test]
    fn names_parse() {
        for name in HostKey::names() {
            assert!(HostKey::parse(name).is_some(), "{name}");
        }
        assert_eq!(
            HostKey::parse("Right-Alt").map(|h| h.key),
            Some(Key::AltRight)
        );
        assert!(HostKey::parse("caps").is_none());
    }
}
