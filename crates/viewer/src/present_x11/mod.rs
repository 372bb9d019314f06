//! The remote picture presented through an X11 child window of the viewer's egui window, so a
//! change costs the X server a copy of the changed rectangles instead of costing llvmpipe a whole
//! 1080p egui frame (issue 8: ~40 ms of CPU per frame, three frames per key).
//!
//! The presenter keeps the full picture in a server-side pixmap (`PutImage` of each decoded
//! update's changed region) and composites the changed rectangles into a child window that covers
//! the picture's place in the egui window: at 1:1 a plain copy, at fit-to-window a RENDER
//! `Composite` through a scale transform with a bilinear filter, over the damaged destination
//! rectangle plus the filter's reach. It runs on its own thread with its own X connection and never
//! waits for, nor asks for, an egui frame for a picture change: the decoder thread wakes it.
//!
//! egui keeps the chrome. The child selects no input, so pointer and key events propagate to the
//! egui window, which goes on turning them into remote input. While anything of egui's (a menu, a
//! window, a tooltip, the statistics overlay) overlaps the picture, the UI hands the picture back
//! to egui's texture path (the child is unmapped), which stays the fallback everywhere else.

mod geometry;
mod painter;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use x11rb::connection::Connection;
use x11rb::errors::{ConnectError, ConnectionError, ReplyError, ReplyOrIdError};
use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt as _, EventMask, Window};
use x11rb::rust_connection::RustConnection;

pub use geometry::{Placement, inverse_scale_fixed};

use crate::screen::SharedScreen;

/// Why the X11 presenter could not start; the window then draws the picture with egui.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PresentError {
    #[error("the window is not an X11 window")]
    NotX11,
    #[error("cannot connect to the X server: {0}")]
    Connect(#[from] ConnectError),
    #[error("the X connection failed: {0}")]
    Connection(#[from] ConnectionError),
    #[error("the X server refused a request: {0}")]
    Reply(#[from] ReplyError),
    #[error("the X server refused a request or ran out of ids: {0}")]
    ReplyOrId(#[from] ReplyOrIdError),
    #[error("the X server has no RENDER extension")]
    NoRender,
    #[error("the window's visual {visual:#x} (depth {depth}) is not 32-bit little-endian BGR")]
    UnsupportedVisual { visual: u32, depth: u8 },
    #[error("RENDER has no picture format for {what}")]
    NoPictFormat { what: &'static str },
    #[error("cannot start the presenter thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// How the remote pointer is shown over the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointerMode {
    /// In control: the remote pointer's image is the child's own X cursor, so the technician's
    /// pointer looks like the remote one and moves with no delay at all.
    Local,
    /// Viewing: the remote pointer's image is drawn where the host says its pointer is.
    Remote,
}

/// Where the UI wants the picture: the child's place in the egui window and the picture in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// The child window in the egui window, physical pixels: x, y, width, height.
    pub bounds: (i32, i32, u32, u32),
    pub placement: Placement,
    /// The picture size this layout was computed for; a picture of another size is not shown
    /// until the UI lays it out.
    pub picture: (u32, u32),
    pub pointer: PointerMode,
}

/// What the UI asked for, read by the presenter thread when woken.
#[derive(Default)]
struct Wanted {
    layout: Option<Layout>,
    stop: bool,
}

/// State shared by the UI's handle, the wakers and the presenter thread.
struct Shared {
    conn: RustConnection,
    child: Window,
    wanted: Mutex<Wanted>,
    /// A wake message is on its way: further wakes are folded into it.
    wake_pending: AtomicBool,
    /// The child is mapped and shows the picture: picture changes need no egui frame.
    active: AtomicBool,
}

impl Shared {
    fn wanted(&self) -> MutexGuard<'_, Wanted> {
        self.wanted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wakes the presenter thread: a client message to the child, which the server delivers to
    /// the presenter's connection (the child's creator) since no event mask is given.
    fn wake(&self) {
        if self.wake_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let event = ClientMessageEvent::new(32, self.child, x11rb::NONE, [0u32; 5]);
        let sent = self
            .conn
            .send_event(false, self.child, EventMask::NO_EVENT, event)
            .and_then(|_| self.conn.flush());
        if sent.is_err() {
            // The connection is gone; the thread has stopped or is stopping.
            self.active.store(false, Ordering::Release);
        }
    }
}

/// The UI's handle on the presenter. Dropping it stops the presenter thread and destroys the
/// child window; nobody waits for the thread.
pub struct Presenter {
    shared: Arc<Shared>,
}

/// Wakes the presenter for a new picture or pointer position; cheap, callable from any thread.
#[derive(Clone)]
pub struct PresentWaker {
    shared: Arc<Shared>,
}

impl PresentWaker {
    pub fn wake(&self) {
        self.shared.wake();
    }

    /// The child shows the picture: a picture change needs no egui frame.
    pub fn is_active(&self) -> bool {
        self.shared.active.load(Ordering::Acquire)
    }
}

impl Presenter {
    /// Creates the child window in `parent` (an X11 window id on `$DISPLAY`) and starts the
    /// presenter thread. The child stays unmapped until [`Presenter::set_layout`] places it.
    /// `relayout` is called from the presenter thread when the picture changed size, so the UI
    /// lays it out again.
    pub fn start(
        parent: u32,
        screen: SharedScreen,
        relayout: Box<dyn Fn() + Send>,
    ) -> Result<Self, PresentError> {
        let (conn, _screen_num) = x11rb::connect(None)?;
        let setup = painter::Setup::new(&conn, parent)?;
        let child = setup.child;
        let shared = Arc::new(Shared {
            conn,
            child,
            wanted: Mutex::new(Wanted::default()),
            wake_pending: AtomicBool::new(false),
            active: AtomicBool::new(false),
        });
        let for_thread = shared.clone();
        std::thread::Builder::new()
            .name("tandem-present".into())
            .spawn(move || painter::run(&for_thread, setup, &screen, &*relayout))
            .map_err(PresentError::Thread)?;
        Ok(Self { shared })
    }

    pub fn waker(&self) -> PresentWaker {
        PresentWaker {
            shared: self.shared.clone(),
        }
    }

    /// Places the child (`Some`) or hands the picture back to egui (`None`: the child is
    /// unmapped). Cheap when nothing changed.
    pub fn set_layout(&self, layout: Option<Layout>) {
        {
            let mut wanted = self.shared.wanted();
            if wanted.layout == layout {
                return;
            }
            wanted.layout = layout;
        }
        if layout.is_none() {
            // From now on picture changes go to egui again, even before the thread unmaps.
            self.shared.active.store(false, Ordering::Release);
        }
        self.shared.wake();
    }

    /// The child shows the picture as last laid out.
    pub fn is_active(&self) -> bool {
        self.shared.active.load(Ordering::Acquire)
    }
}

impl Drop for Presenter {
    fn drop(&mut self) {
        self.shared.wanted().stop = true;
        self.shared.active.store(false, Ordering::Release);
        // Wake even if a wake is pending: that one may have been consumed already.
        self.shared.wake_pending.store(false, Ordering::Release);
        self.shared.wake();
    }
}

/// Writes `rect` of a `width`-pixel-wide RGBA picture, converted to the X server's 32-bit BGRX
/// (opaque), into `out` from byte `at`, row after row, and returns where it ends. `out` only ever
/// grows (reused buffers are not cleared, which would write every byte twice). `None` when `rect`
/// does not lie inside the picture's bytes (`out` from `at` on then holds nothing of use).
pub fn write_bgrx_region(
    rgba: &[u8],
    width: u32,
    rect: tandem_codec::Rect,
    out: &mut Vec<u8>,
    at: usize,
) -> Option<usize> {
    let stride = width as usize * 4;
    let row_len = rect.w as usize * 4;
    if rect.x.saturating_add(rect.w) > width {
        return None;
    }
    let end = at + row_len * rect.h as usize;
    if out.len() < end {
        out.resize(end, 0);
    }
    for (y, line) in (rect.y..).zip(out[at..end].chunks_exact_mut(row_len.max(1))) {
        let start = y as usize * stride + rect.x as usize * 4;
        swap_to_bgrx(rgba.get(start..start + row_len)?, line);
    }
    Some(end)
}

/// RGBA to BGRX with X = 0xFF, `from` and `to` of one length. Two pixels at a time as one 64-bit
/// word (a few masks and shifts per pair; byte by byte, a window drag spent 40 % of the viewer's
/// time here).
fn swap_to_bgrx(from: &[u8], to: &mut [u8]) {
    const LOW: u64 = 0x0000_00FF_0000_00FF;
    const MID: u64 = 0x0000_FF00_0000_FF00;
    const OPAQUE: u64 = 0xFF00_0000_FF00_0000;
    let mut to_pairs = to.chunks_exact_mut(8);
    let mut from_pairs = from.chunks_exact(8);
    for (to, from) in (&mut to_pairs).zip(&mut from_pairs) {
        let mut word = [0u8; 8];
        word.copy_from_slice(from);
        let rgba = u64::from_le_bytes(word);
        let bgrx = ((rgba & LOW) << 16) | (rgba & MID) | ((rgba >> 16) & LOW) | OPAQUE;
        to.copy_from_slice(&bgrx.to_le_bytes());
    }
    let rest = to_pairs.into_remainder();
    if let (Some(to), Some(from)) = (rest.get_mut(..4), from_pairs.remainder().get(..4)) {
        to.copy_from_slice(&[from[2], from[1], from[0], 0xFF]);
    }
}

/// Straight-alpha RGBA to premultiplied BGRA, RENDER's ARGB32 on a little-endian server.
pub fn premultiplied_bgra(rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgba.len());
    for px in rgba.chunks_exact(4) {
        let a = u16::from(px[3]);
        let mul = |c: u8| ((u16::from(c) * a + 127) / 255) as u8;
        out.extend_from_slice(&[mul(px[2]), mul(px[1]), mul(px[0]), px[3]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_codec::Rect;

    /// Word at a time equals byte by byte, for every length around the 4-pixel blocks.
    #[test]
    fn the_swap_equals_the_byte_by_byte_one() {
        for pixels in 0..40usize {
            let from: Vec<u8> = (0..pixels * 4).map(|i| (i * 37 + 11) as u8).collect();
            let want: Vec<u8> = from
                .chunks_exact(4)
                .flat_map(|p| [p[2], p[1], p[0], 0xFF])
                .collect();
            let mut to = vec![7u8; pixels * 4];
            swap_to_bgrx(&from, &mut to);
            assert_eq!(to, want, "{pixels} pixels");
        }
    }

    #[test]
    fn regions_convert_to_opaque_bgrx_where_asked_and_refuse_what_lies_outside() {
        // 3x2 picture, pixel (x, y) = [x, y, 9, 0].
        let mut rgba = Vec::new();
        for y in 0..2u8 {
            for x in 0..3u8 {
                rgba.extend_from_slice(&[x, y, 9, 0]);
            }
        }
        let rect = |x, y, w, h| Rect { x, y, w, h };
        let mut out = vec![1, 2, 3];
        assert_eq!(
            write_bgrx_region(&rgba, 3, rect(1, 1, 2, 1), &mut out, 3),
            Some(11)
        );
        assert_eq!(out, vec![1, 2, 3, 9, 1, 1, 255, 9, 1, 2, 255]);
        // Into the start of the same buffer: it keeps its length.
        assert_eq!(
            write_bgrx_region(&rgba, 3, rect(0, 0, 1, 1), &mut out, 0),
            Some(4)
        );
        assert_eq!(out[..4], [9, 0, 0, 255]);
        assert_eq!(out.len(), 11);
        assert_eq!(
            write_bgrx_region(&rgba, 3, rect(2, 0, 2, 1), &mut out, 0),
            None
        );
        assert_eq!(
            write_bgrx_region(&rgba, 3, rect(0, 1, 1, 2), &mut out, 0),
            None
        );
    }

    #[test]
    fn cursor_pixels_are_premultiplied() {
        assert_eq!(
            premultiplied_bgra(&[255, 128, 0, 128, 10, 20, 30, 255, 200, 200, 200, 0]),
            vec![0, 64, 128, 128, 30, 20, 10, 255, 0, 0, 0, 0]
        );
    }
}
