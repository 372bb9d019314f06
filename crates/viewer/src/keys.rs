//! Maps egui's keys to X11 keysyms, the key identity the protocol carries.
//!
//! Printable keys travel as committed text (`Input::Text`) unless Ctrl or Alt is held, so that the
//! remote keyboard layout never garbles what the technician typed; everything else travels as a key.

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
        PrintScreen => 0xff61,
        Menu => 0xff67,
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

/// Tells whether one modifier is held.
pub type IsHeld = fn(&Modifiers) -> bool;

/// Modifier keys whose state changes are forwarded as key presses and releases.
pub const MODIFIERS: [(IsHeld, u32); 4] = [
    (|m| m.shift, 0xffe1),   // Shift_L
    (|m| m.ctrl, 0xffe3),    // Control_L
    (|m| m.alt, 0xffe9),     // Alt_L
    (|m| m.mac_cmd, 0xffeb), // Super_L
];

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
    fn printable_keys_go_as_text_unless_ctrl_or_alt() {
        assert!(covered_by_text(Key::A, Modifiers::NONE));
        assert!(covered_by_text(Key::A, Modifiers::SHIFT));
        assert!(!covered_by_text(Key::A, Modifiers::CTRL));
        assert!(!covered_by_text(Key::Enter, Modifiers::NONE));
    }
}
