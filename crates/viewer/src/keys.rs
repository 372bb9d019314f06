//! Maps egui's keys to the two codes `Input::Key` carries: the X11 keysym (the key's meaning) and
//! the evdev key code (its position on a PC keyboard, see `tandem_proto::keys`).

use egui::{Key, Modifiers};

/// The X11 keysym for `key`, if it has one worth sending.
pub fn keysym(key: Key) -> Option<u32> {
    use Key::*;
    let sym = match key {
        ArrowDown => 0xff54,
        ArrowLeft => 0xff51,
        ArrowRight => 0xff53,
        ArrowUp => 0xff52,
        Escape => 0xff1b,
        Tab => 0xff09,
        Backspace => 0xff08,
        Enter => 0xff0d,
        Insert => 0xff63,
        Delete => 0xffff,
        Home => 0xff50,
        End => 0xff57,
        PageUp => 0xff55,
        PageDown => 0xff56,
        Space => 0x20,
        F1 => 0xffbe,
        F2 => 0xffbf,
        F3 => 0xffc0,
        F4 => 0xffc1,
        F5 => 0xffc2,
        F6 => 0xffc3,
        F7 => 0xffc4,
        F8 => 0xffc5,
        F9 => 0xffc6,
        F10 => 0xffc7,
        F11 => 0xffc8,
        F12 => 0xffc9,
        F13 => 0xffca,
        F14 => 0xffcb,
        F15 => 0xffcc,
        F16 => 0xffcd,
        F17 => 0xffce,
        F18 => 0xffcf,
        F19 => 0xffd0,
        F20 => 0xffd1,
        PrintScreen => 0xff61,
        Menu => 0xff67,
        Colon => 0x3a,
        Pipe => 0x7c,
        Questionmark => 0x3f,
        Exclamationmark => 0x21,
        OpenCurlyBracket => 0x7b,
        CloseCurlyBracket => 0x7d,
        Plus => 0x2b,
        _ => return printable(key).map(u32::from),
    };
    Some(sym)
}

/// The ASCII character a printable key makes without Shift (its keysym equals that code).
fn printable(key: Key) -> Option<u8> {
    use Key::*;
    let name = key.name();
    if name.len() == 1 {
        let c = name.as_bytes()[0];
        if c.is_ascii_alphanumeric() {
            return Some(c.to_ascii_lowercase());
        }
    }
    Some(match key {
        Num0 => b'0',
        Num1 => b'1',
        Num2 => b'2',
        Num3 => b'3',
        Num4 => b'4',
        Num5 => b'5',
        Num6 => b'6',
        Num7 => b'7',
        Num8 => b'8',
        Num9 => b'9',
        Comma => b',',
        Period => b'.',
        Minus => b'-',
        Equals => b'=',
        Semicolon => b';',
        Quote => b'\'',
        Slash => b'/',
        Backslash => b'\\',
        OpenBracket => b'[',
        CloseBracket => b']',
        Backtick => b'`',
        _ => return None,
    })
}

/// Whether this key event is already carried by a text event egui sends alongside it.
pub fn covered_by_text(key: Key, modifiers: Modifiers) -> bool {
    !(modifiers.ctrl || modifiers.alt || modifiers.mac_cmd)
        && (key == Key::Space || printable(key).is_some())
}

/// The evdev code of the key at `key`'s position (egui names positions by their US label), if the
/// position is one egui reports.
pub fn position(key: Key) -> Option<u32> {
    use Key::*;
    let code = match key {
        Escape => 1,
        Num1 => 2,
        Num2 => 3,
        Num3 => 4,
        Num4 => 5,
        Num5 => 6,
        Num6 => 7,
        Num7 => 8,
        Num8 => 9,
        Num9 => 10,
        Num0 => 11,
        Minus => 12,
        Equals => 13,
        Backspace => 14,
        Tab => 15,
        Q => 16,
        W => 17,
        E => 18,
        R => 19,
        T => 20,
        Y => 21,
        U => 22,
        I => 23,
        O => 24,
        P => 25,
        OpenBracket => 26,
        CloseBracket => 27,
        Enter => 28,
        A => 30,
        S => 31,
        D => 32,
        F => 33,
        G => 34,
        H => 35,
        J => 36,
        K => 37,
        L => 38,
        Semicolon => 39,
        Quote => 40,
        Backtick => 41,
        Backslash => 43,
        Z => 44,
        X => 45,
        C => 46,
        V => 47,
        B => 48,
        N => 49,
        M => 50,
        Comma => 51,
        Period => 52,
        Slash => 53,
        Space => 57,
        F1 => 59,
        F2 => 60,
        F3 => 61,
        F4 => 62,
        F5 => 63,
        F6 => 64,
        F7 => 65,
        F8 => 66,
        F9 => 67,
        F10 => 68,
        // egui reports the keypad's plus as `Plus`; no main-block key is reported so.
        Plus => 78,
        F11 => 87,
        F12 => 88,
        PrintScreen => 99,
        Home => 102,
        ArrowUp => 103,
        PageUp => 104,
        ArrowLeft => 105,
        ArrowRight => 106,
        End => 107,
        ArrowDown => 108,
        PageDown => 109,
        Insert => 110,
        Delete => 111,
        Menu => 127,
        F13 => 183,
        F14 => 184,
        F15 => 185,
        F16 => 186,
        F17 => 187,
        F18 => 188,
        F19 => 189,
        F20 => 190,
        _ => return None,
    };
    Some(code)
}

/// A modifier key: whether egui's state says it is held, its keysym and its position.
#[derive(Clone, Copy)]
pub struct Modifier {
    pub is_held: fn(&Modifiers) -> bool,
    pub keysym: u32,
    pub position: u32,
}

/// Shift, in text mode pressed on the remote side only for keys that are not text.
pub const SHIFT: Modifier = Modifier {
    is_held: |m| m.shift,
    keysym: 0xffe1, // Shift_L
    position: 42,   // KEY_LEFTSHIFT
};

/// Ctrl, Alt and Super: pressed on the remote side as they are here. (egui on Linux reports no
/// Super; `mac_cmd` is the Command key on a Mac.)
pub const CTRL_ALT_SUPER: [Modifier; 3] = [
    Modifier {
        is_held: |m| m.ctrl,
        keysym: 0xffe3, // Control_L
        position: 29,   // KEY_LEFTCTRL
    },
    Modifier {
        is_held: |m| m.alt,
        keysym: 0xffe9, // Alt_L
        position: 56,   // KEY_LEFTALT
    },
    Modifier {
        is_held: |m| m.mac_cmd,
        keysym: 0xffeb, // Super_L
        position: 125,  // KEY_LEFTMETA
    },
];

/// Right Alt, AltGr on most European layouts. egui does not report it; physical mode learns it
/// from the keyboard itself (`crate::right_alt`) and sends it by position.
pub const RIGHT_ALT: Modifier = Modifier {
    is_held: |_| false,
    keysym: 0xfe03, // ISO_Level3_Shift
    position: 100,  // KEY_RIGHTALT
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_digits_map_to_lowercase_ascii() {
        assert_eq!(keysym(Key::A), Some(u32::from(b'a')));
        assert_eq!(keysym(Key::Z), Some(u32::from(b'z')));
        assert_eq!(keysym(Key::Num7), Some(u32::from(b'7')));
        assert_eq!(keysym(Key::Enter), Some(0xff0d));
    }

    #[test]
    fn positions_are_evdev_codes_by_us_label() {
        assert_eq!(position(Key::Escape), Some(1));
        assert_eq!(position(Key::Num1), Some(2));
        assert_eq!(position(Key::Q), Some(16));
        assert_eq!(position(Key::A), Some(30));
        assert_eq!(position(Key::Z), Some(44));
        assert_eq!(position(Key::Y), Some(21));
        assert_eq!(position(Key::Backtick), Some(41));
        assert_eq!(position(Key::Delete), Some(111));
        assert_eq!(position(Key::F12), Some(88));
        assert_eq!(position(Key::Copy), None);
    }

    #[test]
    fn every_key_with_a_position_has_a_distinct_one_a_host_can_type() {
        let mut seen = std::collections::HashMap::new();
        for key in Key::ALL {
            if let Some(code) = position(*key) {
                assert!((1..=tandem_proto::keys::MAX_POSITION).contains(&code));
                assert_eq!(seen.insert(code, *key), None, "{key:?} shares {code}");
            }
        }
        assert!(seen.len() > 80);
    }

    #[test]
    fn printable_keys_go_as_text_unless_ctrl_or_alt() {
        assert!(covered_by_text(Key::A, Modifiers::NONE));
        assert!(covered_by_text(Key::A, Modifiers::SHIFT));
        assert!(!covered_by_text(Key::A, Modifiers::CTRL));
        assert!(!covered_by_text(Key::Enter, Modifiers::NONE));
    }
}
