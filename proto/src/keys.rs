//! Keys on the wire: what `Input::Key`'s two codes mean, and [`HeldKeys`], the keys one side has
//! pressed and not yet released, so that either side can let go of all of them at once (focus
//! lost, control taken back, session over) and no modifier is left stuck.
//!
//! `keysym` is an X11 keysym: the key's meaning. `physical` is the key's position, as a Linux evdev
//! key code (`linux/input-event-codes.h`: 1 `KEY_ESC`, 16 `KEY_Q`, 29 `KEY_LEFTCTRL`, 30 `KEY_A`,
//! 44 `KEY_Z`, 100 `KEY_RIGHTALT`, 125 `KEY_LEFTMETA`, ...), which names a key of a PC keyboard by
//! where it sits whatever the layout; 0 when unknown. A key with `keysym` 0 is to be typed by
//! position (the viewer's physical mode); otherwise by meaning, the position being informative.

use crate::session::Input;

/// The largest position code a host is asked to type: X keycodes are one byte and XKB's evdev
/// keycodes are the evdev code plus 8.
pub const MAX_POSITION: u32 = 247;

/// At most this many keys are tracked as held; a real keyboard holds a handful. A key beyond it is
/// not pressed at all, so everything pressed can always be released.
pub const MAX_HELD_KEYS: usize = 64;

/// One key as pressed: its meaning and its position (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId {
    pub keysym: u32,
    pub physical: u32,
}

impl KeyId {
    /// The `Input::Key` pressing (`pressed: true`) or releasing this key.
    pub fn input(self, pressed: bool) -> Input {
        Input::Key {
            keysym: self.keysym,
            physical: self.physical,
            pressed,
        }
    }
}

/// The keys pressed and not yet released, in the order they went down.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeldKeys {
    held: Vec<KeyId>,
}

/// What [`HeldKeys::observe`] made of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// Not a key, or a key press or release to pass on.
    Pass,
    /// A press beyond [`MAX_HELD_KEYS`]: not to be pressed, since it could not be released later.
    TooMany,
}

impl HeldKeys {
    /// Notes a key press or release; other input passes unchanged. A press of a key already held
    /// (auto-repeat) is not counted twice.
    pub fn observe(&mut self, input: &Input) -> Observed {
        let Input::Key {
            keysym,
            physical,
            pressed,
        } = *input
        else {
            return Observed::Pass;
        };
        let id = KeyId { keysym, physical };
        let at = self.held.iter().position(|k| *k == id);
        match (pressed, at) {
            (true, Some(_)) => {}
            (true, None) if self.held.len() >= MAX_HELD_KEYS => return Observed::TooMany,
            (true, None) => self.held.push(id),
            (false, Some(i)) => {
                self.held.remove(i);
            }
            (false, None) => {}
        }
        Observed::Pass
    }

    /// The releases of every held key, the last pressed first; afterwards nothing is held.
    pub fn release_all(&mut self) -> Vec<Input> {
        self.held.drain(..).rev().map(|k| k.input(false)).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTRL: KeyId = KeyId {
        keysym: 0xffe3,
        physical: 29,
    };
    const C: KeyId = KeyId {
        keysym: 0x63,
        physical: 46,
    };

    #[test]
    fn releases_what_is_held_last_pressed_first() {
        let mut held = HeldKeys::default();
        held.observe(&CTRL.input(true));
        held.observe(&C.input(true));
        held.observe(&C.input(true)); // auto-repeat
        assert_eq!(held.len(), 2);
        assert_eq!(held.release_all(), vec![C.input(false), CTRL.input(false)]);
        assert!(held.is_empty());
        assert!(held.release_all().is_empty());
    }

    #[test]
    fn a_release_forgets_the_key_and_other_input_passes() {
        let mut held = HeldKeys::default();
        held.observe(&CTRL.input(true));
        held.observe(&CTRL.input(false));
        // A release of a key never pressed is harmless.
        held.observe(&C.input(false));
        assert_eq!(
            held.observe(&Input::Text { text: "x".into() }),
            Observed::Pass
        );
        assert!(held.is_empty());
    }

    #[test]
    fn presses_beyond_the_limit_are_refused_and_releasing_still_works() {
        let mut held = HeldKeys::default();
        for keysym in 0..MAX_HELD_KEYS as u32 {
            let key = KeyId {
                keysym,
                physical: 0,
            };
            assert_eq!(held.observe(&key.input(true)), Observed::Pass);
        }
        let one_more = KeyId {
            keysym: 0xffff_ffff,
            physical: 0,
        };
        assert_eq!(held.observe(&one_more.input(true)), Observed::TooMany);
        assert_eq!(held.release_all().len(), MAX_HELD_KEYS);
    }
}
