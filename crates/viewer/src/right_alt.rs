//! Whether the technician's Right Alt key is down, read from this machine's X server. egui reports
//! no AltGr (winit's modifiers have none, and egui has no key for it), but physical mode has to
//! send it by position like any other key, or AltGr+Q on a German keyboard would reach a German
//! host as a plain Q.

use x11rb::protocol::xproto::ConnectionExt;
use x11rb::rust_connection::RustConnection;

use tracing::warn;

/// Right Alt under XKB's evdev keycodes (KEY_RIGHTALT 100, plus 8), which every current X server
/// uses: AltGr on German, French and most other European layouts.
const KEYCODE_RIGHTALT: u8 = 100 + 8;

/// Tells whether Right Alt is down on the technician's keyboard.
pub trait RightAltProbe {
    fn right_alt_down(&mut self) -> bool;
}

/// Asks the X server the window runs on (`DISPLAY`), one round trip per question; connects on
/// the first one, so a window that never uses physical mode never connects.
#[derive(Default)]
pub struct XRightAlt {
    conn: Option<RustConnection>,
    /// Connecting or asking failed: not tried again, and said once.
    failed: bool,
}

impl XRightAlt {
    fn ask(&mut self) -> Result<bool, String> {
        let conn = match &self.conn {
            Some(conn) => conn,
            None => {
                let (conn, _) = x11rb::connect(None).map_err(|e| e.to_string())?;
                self.conn.insert(conn)
            }
        };
        let keys = conn
            .query_keymap()
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?
            .keys;
        Ok(is_down(&keys, KEYCODE_RIGHTALT))
    }
}

impl RightAltProbe for XRightAlt {
    fn right_alt_down(&mut self) -> bool {
        if self.failed {
            return false;
        }
        match self.ask() {
            Ok(down) => down,
            Err(error) => {
                warn!(%error, "cannot read the keyboard from the X server: AltGr is not sent in physical mode");
                self.failed = true;
                self.conn = None;
                false
            }
        }
    }
}

/// Whether `keycode` is down in a QueryKeymap bit vector (bit `keycode % 8` of byte `keycode / 8`).
fn is_down(keys: &[u8; 32], keycode: u8) -> bool {
    keys[usize::from(keycode / 8)] & (1 << (keycode % 8)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keymap_bits_are_read_by_keycode() {
        let mut keys = [0u8; 32];
        assert!(!is_down(&keys, KEYCODE_RIGHTALT));
        // 108 = 13 * 8 + 4.
        keys[13] = 1 << 4;
        assert!(is_down(&keys, KEYCODE_RIGHTALT));
        assert!(!is_down(&keys, KEYCODE_RIGHTALT - 1));
        keys[31] = 0x80;
        assert!(is_down(&keys, 255));
    }
}
