//! The pointer's image, streamed apart from the screen: the XFIXES extension reports when the shown
//! cursor changes (`CursorNotify`), and the image is read then (`GetCursorImage`), on a named thread
//! with its own X connection. The viewer draws it itself, so pointer motion never costs a screen
//! update, and the image crosses the link once per change rather than inside every frame.

use std::sync::Arc;
use std::thread::JoinHandle;

use tandem_proto::limits::MAX_CURSOR_SIDE;
use tracing::{debug, warn};
use x11rb::connection::Connection;
use x11rb::errors::{ConnectError, ConnectionError, ReplyError, ReplyOrIdError};
use x11rb::protocol::Event;
use x11rb::protocol::xfixes::{ConnectionExt as _, CursorNotifyMask};
use x11rb::protocol::xproto::{
    ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, WindowClass,
};
use x11rb::rust_connection::RustConnection;

/// The pointer's image as the protocol carries it: straight-alpha RGBA, rows top to bottom.
#[derive(Clone, PartialEq, Eq)]
pub struct CursorImage {
    pub width: u16,
    pub height: u16,
    pub hot_x: u16,
    pub hot_y: u16,
    pub rgba: Vec<u8>,
}

impl std::fmt::Debug for CursorImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CursorImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("hot_x", &self.hot_x)
            .field("hot_y", &self.hot_y)
            .finish_non_exhaustive()
    }
}

impl CursorImage {
    /// Converts an XFIXES cursor image (`width * height` ARGB pixels, premultiplied alpha, as u32s)
    /// to straight RGBA, cropped to [`MAX_CURSOR_SIDE`] per side (the hot spot is near the top left
    /// of real cursors). `None` if `argb` holds fewer pixels than the size says.
    pub fn from_xfixes(width: u16, height: u16, hot: (u16, u16), argb: &[u32]) -> Option<Self> {
        let (w, h) = (usize::from(width), usize::from(height));
        if argb.len() < w.checked_mul(h)? {
            return None;
        }
        let max = MAX_CURSOR_SIDE as usize;
        let (out_w, out_h) = (w.min(max), h.min(max));
        let mut rgba = Vec::with_capacity(out_w * out_h * 4);
        if out_w > 0 {
            for row in argb.chunks_exact(w).take(out_h) {
                for &pixel in &row[..out_w] {
                    rgba.extend_from_slice(&unpremultiply(pixel));
                }
            }
        }
        Some(Self {
            width: out_w as u16,
            height: out_h as u16,
            hot_x: hot.0,
            hot_y: hot.1,
            rgba,
        })
    }
}

/// One premultiplied ARGB pixel as straight R, G, B, A.
fn unpremultiply(argb: u32) -> [u8; 4] {
    let [a, r, g, b] = argb.to_be_bytes();
    if a == 0 {
        return [0; 4];
    }
    let straight = |c: u8| ((u32::from(c) * 255 + u32::from(a) / 2) / u32::from(a)).min(255) as u8;
    [straight(r), straight(g), straight(b), a]
}

/// Why the pointer's image cannot be watched (the viewer then draws a plain marker).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CursorWatchError {
    #[error("cannot open the X display: {0}")]
    Connect(#[from] ConnectError),
    #[error("the X connection failed: {0}")]
    Connection(#[from] ConnectionError),
    #[error("the X server has no usable XFIXES extension: {0}")]
    NoXfixes(#[source] ReplyError),
    #[error("X request failed: {0}")]
    Request(#[from] ReplyOrIdError),
    #[error("no X screen {screen}")]
    NoScreen { screen: usize },
    #[error("cannot start the cursor thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Watches the pointer's image on the display `DISPLAY` names, from the `tandem-cursor` thread.
pub struct CursorWatcher {
    conn: Arc<RustConnection>,
    /// An invisible window of ours; a message to it wakes the thread to stop.
    wake: u32,
    thread: Option<JoinHandle<()>>,
}

impl CursorWatcher {
    /// Starts watching; `deliver` gets the image now and after every change, and returns `false`
    /// when nobody wants more (the thread then ends).
    pub fn start(
        mut deliver: impl FnMut(CursorImage) -> bool + Send + 'static,
    ) -> Result<Self, CursorWatchError> {
        let (conn, screen) = x11rb::connect(None)?;
        let conn = Arc::new(conn);
        let root = conn
            .setup()
            .roots
            .get(screen)
            .ok_or(CursorWatchError::NoScreen { screen })?
            .root;
        // XFIXES 2 has cursor notification and images; the version must be asked for first.
        conn.xfixes_query_version(5, 0)?
            .reply()
            .map_err(CursorWatchError::NoXfixes)?;
        conn.xfixes_select_cursor_input(root, CursorNotifyMask::DISPLAY_CURSOR)?;
        let wake = conn.generate_id()?;
        conn.create_window(
            0,
            wake,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            0,
            &CreateWindowAux::new(),
        )?;
        conn.flush()?;
        let thread = {
            let conn = conn.clone();
            std::thread::Builder::new()
                .name("tandem-cursor".into())
                .spawn(move || watch(&conn, wake, &mut deliver))
                .map_err(CursorWatchError::Thread)?
        };
        Ok(Self {
            conn,
            wake,
            thread: Some(thread),
        })
    }
}

impl Drop for CursorWatcher {
    fn drop(&mut self) {
        let message = ClientMessageEvent::new(32, self.wake, 0u32, [0u32; 5]);
        let sent = self
            .conn
            .send_event(false, self.wake, EventMask::NO_EVENT, message)
            .is_ok()
            && self.conn.flush().is_ok();
        if let Some(thread) = self.thread.take()
            && sent
        {
            let _ = thread.join();
        }
    }
}

/// Reads the image now and after each change (a change of serial) until told to stop.
fn watch(conn: &RustConnection, wake: u32, deliver: &mut dyn FnMut(CursorImage) -> bool) {
    let mut serial = None;
    let mut read = |serial: &mut Option<u32>| -> bool {
        let reply = match conn.xfixes_get_cursor_image().map(|c| c.reply()) {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                warn!(error = %e, "cannot read the cursor image");
                return true;
            }
            Err(e) => {
                warn!(error = %e, "cannot read the cursor image");
                return false;
            }
        };
        if *serial == Some(reply.cursor_serial) {
            return true;
        }
        *serial = Some(reply.cursor_serial);
        match CursorImage::from_xfixes(
            reply.width,
            reply.height,
            (reply.xhot, reply.yhot),
            &reply.cursor_image,
        ) {
            Some(image) => {
                debug!(
                    width = image.width,
                    height = image.height,
                    "the cursor changed"
                );
                deliver(image)
            }
            None => true,
        }
    };
    if !read(&mut serial) {
        return;
    }
    loop {
        match conn.wait_for_event() {
            Ok(Event::XfixesCursorNotify(_)) => {
                if !read(&mut serial) {
                    return;
                }
            }
            Ok(Event::ClientMessage(message)) if message.window == wake => return,
            Ok(_) => {}
            Err(e) => {
                warn!(error = %e, "the cursor watcher lost its X connection");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premultiplied_argb_becomes_straight_rgba() {
        // Opaque, transparent, half-transparent white (premultiplied 0x80 each), and a
        // premultiplied value above its alpha (invalid, clamped).
        let argb = [0xff_10_20_30, 0x00_00_00_00, 0x80_80_80_80, 0x40_ff_00_20];
        let image = CursorImage::from_xfixes(2, 2, (1, 0), &argb).expect("image");
        assert_eq!(
            (image.width, image.height, image.hot_x, image.hot_y),
            (2, 2, 1, 0)
        );
        assert_eq!(
            image.rgba,
            [
                0x10, 0x20, 0x30, 0xff, //
                0, 0, 0, 0, //
                255, 255, 255, 0x80, //
                255, 0, 0x80, 0x40,
            ]
        );
    }

    #[test]
    fn short_images_are_refused_and_huge_ones_cropped() {
        assert_eq!(CursorImage::from_xfixes(4, 4, (0, 0), &[0; 15]), None);
        assert_eq!(
            CursorImage::from_xfixes(u16::MAX, u16::MAX, (0, 0), &[]),
            None
        );
        let side = MAX_CURSOR_SIDE as u16 + 4;
        let argb: Vec<u32> = (0..u32::from(side) * 3).map(|i| 0xff00_0000 | i).collect();
        let image = CursorImage::from_xfixes(side, 3, (2, 2), &argb).expect("image");
        assert_eq!((u32::from(image.width), image.height), (MAX_CURSOR_SIDE, 3));
        assert_eq!(image.rgba.len(), MAX_CURSOR_SIDE as usize * 3 * 4);
        // The second row starts at the second source row, not where the cropped first row ended.
        let second = MAX_CURSOR_SIDE as usize * 4;
        assert_eq!(
            image.rgba[second..second + 4],
            unpremultiply(argb[usize::from(side)])
        );
        let empty = CursorImage::from_xfixes(0, 0, (0, 0), &[]).expect("image");
        assert!(empty.rgba.is_empty());
    }
}
