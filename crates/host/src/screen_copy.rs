//! The screen as capture last read it, kept up to date by reading only what X DAMAGE says changed:
//! a key press in a terminal is a `GetImage` of a few thousand pixels instead of a grab of the
//! whole screen, and the encoder then compares only those tiles.

use std::io;

use tandem_codec::{FrameRef, Rect};
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
use x11rb::rust_connection::RustConnection;

use crate::damage::DamagedArea;

/// Changes of up to this share of the screen (1/16) are read on their own; larger ones take a
/// whole grab, which MIT-SHM makes cheaper per pixel than a `GetImage` through the socket.
const MAX_PATCH_DIVISOR: u64 = 16;

/// The part of a `width` x `height` screen that `area` covers: `None` for anywhere, an empty
/// rectangle for nowhere.
pub fn changed_rect(area: DamagedArea, width: u32, height: u32) -> Option<Rect> {
    match area {
        DamagedArea::Anywhere => None,
        DamagedArea::Nothing => Some(Rect::EMPTY),
        DamagedArea::Within { x0, y0, x1, y1 } => {
            let clamp = |v: i32, max: u32| v.clamp(0, max as i32) as u32;
            let (x0, x1) = (clamp(x0, width), clamp(x1, width));
            let (y0, y1) = (clamp(y0, height), clamp(y1, height));
            Some(Rect {
                x: x0,
                y: y0,
                w: x1.saturating_sub(x0),
                h: y1.saturating_sub(y0),
            })
        }
    }
}

/// Whether a change of `rect` is small enough to read on its own.
pub fn worth_patching(rect: Rect, width: u32, height: u32) -> bool {
    u64::from(rect.w) * u64::from(rect.h) * MAX_PATCH_DIVISOR
        <= u64::from(width) * u64::from(height)
}

/// A copy of the whole root window in B,G,R,X, patched in place.
pub struct ScreenCopy {
    conn: RustConnection,
    root: u32,
    width: u32,
    height: u32,
    data: Vec<u8>,
    /// Whether `data` holds the screen as of the last read (else it must be filled whole first).
    valid: bool,
}

impl ScreenCopy {
    /// Connects to the display `DISPLAY` names (its own connection: capture's may be scrap's).
    pub fn connect() -> io::Result<ScreenCopy> {
        let (conn, root) = crate::x11::connect_root().map_err(io::Error::other)?;
        Ok(ScreenCopy {
            conn,
            root,
            width: 0,
            height: 0,
            data: Vec::new(),
            valid: false,
        })
    }

    /// Whether the copy holds a whole `width` x `height` screen, ready to be patched.
    pub fn is_valid(&self, width: u32, height: u32) -> bool {
        self.valid && (self.width, self.height) == (width, height)
    }

    /// The screen was read whole elsewhere and not copied here: patching must wait for a refill.
    pub fn invalidate(&mut self) {
        self.valid = false;
    }

    /// Fills the copy with a whole screen read elsewhere (`stride` bytes per row).
    pub fn fill(&mut self, frame: FrameRef<'_>) {
        let row = frame.width as usize * 4;
        self.data.resize(row * frame.height as usize, 0);
        for (y, out) in self.data.chunks_exact_mut(row).enumerate() {
            let start = y * frame.stride;
            out.copy_from_slice(&frame.data[start..start + row]);
        }
        (self.width, self.height) = (frame.width, frame.height);
        self.valid = true;
    }

    /// Reads `rect` from the screen into the copy. On an error the copy is no longer valid.
    pub fn patch(&mut self, rect: Rect) -> io::Result<()> {
        self.valid = false;
        if rect.w == 0 || rect.h == 0 {
            self.valid = true;
            return Ok(());
        }
        if rect.x + rect.w > self.width || rect.y + rect.h > self.height {
            return Err(io::Error::other("the changed area lies outside the screen"));
        }
        let reply = self
            .conn
            .get_image(
                ImageFormat::Z_PIXMAP,
                self.root,
                rect.x as i16,
                rect.y as i16,
                rect.w as u16,
                rect.h as u16,
                !0,
            )
            .map_err(io::Error::other)?
            .reply()
            .map_err(io::Error::other)?;
        let row = rect.w as usize * 4;
        if reply.data.len() != row * rect.h as usize {
            return Err(io::Error::other(format!(
                "GetImage of {}x{} gave {} bytes, not 32 bits per pixel",
                rect.w,
                rect.h,
                reply.data.len()
            )));
        }
        let stride = self.width as usize * 4;
        for (i, line) in reply.data.chunks_exact(row).enumerate() {
            let start = (rect.y as usize + i) * stride + rect.x as usize * 4;
            self.data[start..start + row].copy_from_slice(line);
        }
        self.valid = true;
        Ok(())
    }

    /// The copy as a frame (valid only if [`ScreenCopy::is_valid`]).
    pub fn frame(&self) -> FrameRef<'_> {
        FrameRef {
            width: self.width,
            height: self.height,
            stride: self.width as usize * 4,
            data: &self.data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_rect_is_clipped_to_the_screen() {
        let area = DamagedArea::Within {
            x0: -5,
            y0: 10,
            x1: 30,
            y1: 900,
        };
        assert_eq!(
            changed_rect(area, 800, 600),
            Some(Rect {
                x: 0,
                y: 10,
                w: 30,
                h: 590
            })
        );
        assert_eq!(changed_rect(DamagedArea::Anywhere, 800, 600), None);
        let nothing = changed_rect(DamagedArea::Nothing, 800, 600).expect("a rectangle");
        assert_eq!((nothing.w, nothing.h), (0, 0));
        // Wholly off screen: empty.
        let off = DamagedArea::Within {
            x0: 900,
            y0: 0,
            x1: 950,
            y1: 10,
        };
        assert_eq!(changed_rect(off, 800, 600).map(|r| r.w), Some(0));
    }

    #[test]
    fn a_sixteenth_of_the_screen_is_still_patched() {
        let sixteenth = Rect {
            x: 0,
            y: 0,
            w: 200,
            h: 150,
        };
        assert!(worth_patching(sixteenth, 800, 600));
        let more = Rect {
            h: 151,
            ..sixteenth
        };
        assert!(!worth_patching(more, 800, 600));
    }
}
