//! Key combinations sent on request (the window's Send keys menu, `keys SPEC` on `join`'s stdin),
//! for shortcuts the technician's own desktop would take for itself: Ctrl+Alt+Del, Alt+Tab, Super.

use tandem_proto::keys::KeyId;
use thiserror::Error;

/// Keys pressed in order and released in reverse, each by meaning and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCombo {
    pub keys: Vec<KeyId>,
}

/// The Send keys menu: label and spec.
pub const PRESETS: [(&str, &str); 8] = [
    ("Ctrl+Alt+Del", "ctrl+alt+del"),
    ("Ctrl+Alt+Backspace", "ctrl+alt+backspace"),
    ("Alt+Tab", "alt+tab"),
    ("Alt+F4", "alt+f4"),
    ("Super", "super"),
    ("Ctrl+Esc", "ctrl+esc"),
    ("Ctrl+Shift+Esc", "ctrl+shift+esc"),
    ("Print Screen", "print"),
];

/// Longest combination accepted: more keys than any shortcut has.
const MAX_COMBO_KEYS: usize = 6;

#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComboError {
    #[error(
        "unknown key {name:?} (try ctrl, alt, shift, super, altgr, del, backspace, tab, esc, enter, f1..f12, a..z, 0..9)"
    )]
    UnknownKey { name: String },
    #[error("a key combination has 1 to {max} keys, this one {len}")]
    Length { len: usize, max: usize },
}

impl KeyCombo {
    /// Parses `ctrl+alt+del`: key names joined by `+`, case-insensitive.
    pub fn parse(spec: &str) -> Result<Self, ComboError> {
        let names: Vec<&str> = spec.trim().split('+').map(str::trim).collect();
        if names.iter().any(|n| n.is_empty()) || names.len() > MAX_COMBO_KEYS {
            return Err(ComboError::Length {
                len: names.iter().filter(|n| !n.is_empty()).count(),
                max: MAX_COMBO_KEYS,
            });
        }
        let keys = names
            .iter()
            .map(|name| {
                named(&name.to_ascii_lowercase()).ok_or_else(|| ComboError::UnknownKey {
                    name: (*name).to_owned(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }
}

/// The keysym and evdev position of a key name.
fn named(name: &str) -> Option<KeyId> {
    let (keysym, physical) = match name {
        "ctrl" | "control" => (0xffe3, 29),
        "alt" => (0xffe9, 56),
        "shift" => (0xffe1, 42),
        "super" | "win" | "meta" => (0xffeb, 125),
        "altgr" => (0xfe03, 100), // ISO_Level3_Shift, KEY_RIGHTALT
        "del" | "delete" => (0xffff, 111),
        "backspace" => (0xff08, 14),
        "tab" => (0xff09, 15),
        "esc" | "escape" => (0xff1b, 1),
        "enter" | "return" => (0xff0d, 28),
        "space" => (0x20, 57),
        "insert" => (0xff63, 110),
        "home" => (0xff50, 102),
        "end" => (0xff57, 107),
        "pageup" => (0xff55, 104),
        "pagedown" => (0xff56, 109),
        "up" => (0xff52, 103),
        "down" => (0xff54, 108),
        "left" => (0xff51, 105),
        "right" => (0xff53, 106),
        "print" | "printscreen" => (0xff61, 99),
        "menu" => (0xff67, 127),
        _ => return function_key(name).or_else(|| character(name)),
    };
    Some(KeyId { keysym, physical })
}

/// F1 to F12.
fn function_key(name: &str) -> Option<KeyId> {
    let n: u32 = name.strip_prefix('f')?.parse().ok()?;
    let physical = match n {
        1..=10 => 58 + n,
        11 | 12 => 76 + n,
        _ => return None,
    };
    Some(KeyId {
        keysym: 0xffbd + n,
        physical,
    })
}

/// A letter or digit: its keysym is its ASCII code, its position the US layout's.
fn character(name: &str) -> Option<KeyId> {
    let [c] = name.as_bytes() else {
        return None;
    };
    let key = match c {
        b'a'..=b'z' => egui::Key::from_name(&name.to_ascii_uppercase())?,
        b'0'..=b'9' => egui::Key::from_name(name)?,
        _ => return None,
    };
    Some(KeyId {
        keysym: u32::from(*c),
        physical: crate::keys::position(key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ctrl_alt_del_in_any_case() {
        let combo = KeyCombo::parse(" Ctrl+ALT+del ").expect("combo");
        assert_eq!(
            combo.keys,
            vec![
                KeyId {
                    keysym: 0xffe3,
                    physical: 29
                },
                KeyId {
                    keysym: 0xffe9,
                    physical: 56
                },
                KeyId {
                    keysym: 0xffff,
                    physical: 111
                },
            ]
        );
    }

    #[test]
    fn letters_digits_and_function_keys() {
        let combo = KeyCombo::parse("super+e+7+f4+f12").expect("combo");
        let codes: Vec<(u32, u32)> = combo.keys.iter().map(|k| (k.keysym, k.physical)).collect();
        assert_eq!(
            codes,
            vec![
                (0xffeb, 125),
                (0x65, 18),
                (0x37, 8),
                (0xffc1, 62),
                (0xffc9, 88)
            ]
        );
    }

    #[test]
    fn every_preset_parses() {
        for (label, spec) in PRESETS {
            assert!(KeyCombo::parse(spec).is_ok(), "{label}");
        }
    }

    #[test]
    fn refuses_unknown_names_and_empty_or_long_combos() {
        assert_eq!(
            KeyCombo::parse("ctrl+banana"),
            Err(ComboError::UnknownKey {
                name: "banana".into()
            })
        );
        assert!(matches!(
            KeyCombo::parse("ctrl++c"),
            Err(ComboError::Length { .. })
        ));
        assert!(matches!(
            KeyCombo::parse(""),
            Err(ComboError::Length { .. })
        ));
        assert!(matches!(
            KeyCombo::parse("a+b+c+d+e+f+g"),
            Err(ComboError::Length { .. })
        ));
        assert!(KeyCombo::parse("f13").is_err());
    }
}
