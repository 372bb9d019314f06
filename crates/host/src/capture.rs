//! Screen capture behind [`FrameSource`]; [`ScrapSource`] is the real one (X11 MIT-SHM via scrap).

use std::io;
use std::time::Duration;

use tandem_codec::{FrameRef, Rect};
use tandem_proto::flow::Layout;
use tracing::{debug, info, warn};

use crate::damage::{DamageWatcher, DamagedArea};
use crate::monitors::LayoutReader;
use crate::screen_copy::{ScreenCopy, changed_rect, worth_patching};

/// Something that yields screen frames in B,G,R,X order (4th byte undefined).
pub trait FrameSource {
    /// Captures the current screen and lends it to `use_frame` (zero copy: scrap's buffer is only
    /// valid during the call).
    fn capture(&mut self, use_frame: &mut dyn FnMut(FrameRef<'_>)) -> io::Result<()>;
    /// [`FrameSource::capture`], also saying where the frame may differ from the one lent before
    /// (`None`: anywhere), for [`tandem_codec::Encoder::encode_changed`]. A source that cannot
    /// tell says anywhere.
    fn capture_changed(
        &mut self,
        use_frame: &mut dyn FnMut(FrameRef<'_>, Option<Rect>),
    ) -> io::Result<()> {
        self.capture(&mut |frame| use_frame(frame, None))
    }
    /// Pointer position on the captured screen, when the source can tell.
    fn pointer(&mut self) -> Option<(i32, i32)> {
        None
    }
    /// Waits until the screen may have changed since the last call, at most `timeout`; whether it
    /// did. A source that cannot tell waits `timeout` and says yes (polling).
    fn wait_for_change(&mut self, timeout: Duration) -> bool {
        std::thread::sleep(timeout);
        true
    }
    /// The desktop's layout now (root size and monitors), if the source can tell. A source whose
    /// capture has another size than the desktop's reopens it at the new size here.
    fn layout(&mut self) -> io::Result<Option<Layout>> {
        Ok(None)
    }
    /// Whether the layout changed since the last call, as far as the source was told (capture also
    /// reads the layout now and then).
    fn layout_changed(&mut self) -> bool {
        false
    }
}

/// Captures the primary X display (the one `DISPLAY` names): the whole root window.
pub struct ScrapSource {
    grabber: Grabber,
    width: u32,
    height: u32,
    pointer: Option<enigo::Enigo>,
    /// Damage reports from the X server; `None` if unavailable (then capture polls).
    damage: Option<DamageWatcher>,
    /// Reads the root size and RandR monitors; `None` if unavailable (then one fixed screen).
    layout: Option<LayoutReader>,
    /// The screen as last read, patched where damage says it changed; `None` without damage
    /// reports or if its connection failed (then every capture reads the whole screen).
    copy: Option<ScreenCopy>,
}

impl ScrapSource {
    pub fn primary() -> io::Result<Self> {
        let (grabber, width, height) = Grabber::open()?;
        // A second X connection only to read the pointer position; capture works without it.
        let pointer = enigo::Enigo::new(&enigo::Settings::default()).ok();
        let damage = DamageWatcher::start()
            .inspect_err(|e| warn!(error = %e, "no damage reports; polling the screen instead"))
            .ok();
        let layout = LayoutReader::connect()
            .inspect_err(|e| warn!(error = %e, "no layout reader; the screen size is fixed"))
            .ok();
        let copy = match &damage {
            Some(_) => ScreenCopy::connect()
                .inspect_err(|e| warn!(error = %e, "reading whole screens only"))
                .ok(),
            None => None,
        };
        Ok(Self {
            grabber,
            width,
            height,
            pointer,
            damage,
            layout,
            copy,
        })
    }
}

/// How the root window is read.
enum Grabber {
    /// scrap, through MIT-SHM: the fast path, when scrap's display is the whole root. (scrap picks
    /// one RandR monitor, the primary one, and captures only that rectangle.)
    Shm(scrap::Capturer),
    /// A plain X `GetImage` of the whole root: when the desktop has several monitors, so that any of
    /// them, or all, can be shown. One copy through the X socket per capture.
    GetImage {
        conn: Box<x11rb::rust_connection::RustConnection>,
        root: u32,
    },
}

impl Grabber {
    /// A grabber of the whole root at its size now, and that size.
    fn open() -> io::Result<(Self, u32, u32)> {
        use x11rb::protocol::xproto::ConnectionExt as _;

        let display = scrap::Display::primary().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open the X display for capture (is DISPLAY set?): {e}"),
            )
        })?;
        let capturer = scrap::Capturer::new(display)?;
        let (conn, root) = crate::x11::connect_root().map_err(io::Error::other)?;
        let geometry = conn
            .get_geometry(root)
            .map_err(io::Error::other)?
            .reply()
            .map_err(io::Error::other)?;
        let (width, height) = (u32::from(geometry.width), u32::from(geometry.height));
        if (capturer.width() as u32, capturer.height() as u32) == (width, height) {
            return Ok((Self::Shm(capturer), width, height));
        }
        info!("several monitors: capturing the whole desktop with GetImage");
        Ok((
            Self::GetImage {
                conn: Box::new(conn),
                root,
            },
            width,
            height,
        ))
    }
}

impl ScrapSource {
    /// Capture through `copy`: a small change is read on its own and patched into it; a large
    /// one (or an unknown one) is one whole grab, handed over as is (copying it would cost more
    /// than it saves), and the copy is refilled at the next small change.
    fn capture_into(
        &mut self,
        copy: &mut ScreenCopy,
        changed: Option<Rect>,
        use_frame: &mut dyn FnMut(FrameRef<'_>, Option<Rect>),
    ) -> io::Result<()> {
        let (width, height) = (self.width, self.height);
        let Some(rect) = changed.filter(|&rect| worth_patching(rect, width, height)) else {
            copy.invalidate();
            return self.capture(&mut |frame| use_frame(frame, changed));
        };
        if copy.is_valid(width, height) {
            match copy.patch(rect) {
                Ok(()) => {
                    use_frame(copy.frame(), Some(rect));
                    return Ok(());
                }
                // (A resize under way, usually: the whole grab below says what it is.)
                Err(e) => debug!(error = %e, "reading the changed area failed; reading it all"),
            }
        }
        self.capture(&mut |frame| {
            copy.fill(frame);
            use_frame(copy.frame(), Some(rect));
        })
    }

    fn reopen(&mut self) -> io::Result<()> {
        let (grabber, width, height) = Grabber::open()?;
        (self.grabber, self.width, self.height) = (grabber, width, height);
        Ok(())
    }
}

/// Checks a captured root image and lends it to `use_frame`.
fn finish_capture(
    width: u32,
    height: u32,
    frame: &[u8],
    use_frame: &mut dyn FnMut(FrameRef<'_>),
) -> io::Result<()> {
    let stride = width as usize * 4;
    if frame.len() < stride * height as usize {
        return Err(io::Error::other(format!(
            "captured {} bytes, expected {width}x{height} BGRX",
            frame.len()
        )));
    }
    use_frame(FrameRef {
        width,
        height,
        stride,
        data: frame,
    });
    Ok(())
}

impl FrameSource for ScrapSource {
    fn capture(&mut self, use_frame: &mut dyn FnMut(FrameRef<'_>)) -> io::Result<()> {
        let (width, height) = (self.width, self.height);
        let image;
        let frame: &[u8] = match &mut self.grabber {
            Grabber::Shm(capturer) => {
                image = capturer.frame()?;
                &image
            }
            Grabber::GetImage { conn, root } => {
                use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
                let reply = conn
                    .get_image(
                        ImageFormat::Z_PIXMAP,
                        *root,
                        0,
                        0,
                        width as u16,
                        height as u16,
                        !0,
                    )
                    .map_err(io::Error::other)?
                    .reply()
                    .map_err(io::Error::other)?;
                return finish_capture(width, height, &reply.data, use_frame);
            }
        };
        finish_capture(width, height, frame, use_frame)
    }

    fn capture_changed(
        &mut self,
        use_frame: &mut dyn FnMut(FrameRef<'_>, Option<Rect>),
    ) -> io::Result<()> {
        let area = self
            .damage
            .as_ref()
            .map_or(DamagedArea::Anywhere, DamageWatcher::take_area);
        let changed = changed_rect(area, self.width, self.height);
        let Some(mut copy) = self.copy.take() else {
            return self.capture(&mut |frame| use_frame(frame, changed));
        };
        let captured = self.capture_into(&mut copy, changed, use_frame);
        self.copy = Some(copy);
        captured
    }

    fn pointer(&mut self) -> Option<(i32, i32)> {
        use enigo::Mouse;
        self.pointer.as_ref()?.location().ok()
    }
    fn layout(&mut self) -> io::Result<Option<Layout>> {
        let Some(layout) = self.layout.as_ref().and_then(LayoutReader::read) else {
            return Ok(None);
        };
        let size = (u32::from(layout.width), u32::from(layout.height));
        if size != (self.width, self.height) {
            // The desktop was resized: scrap would go on asking for the old rectangle.
            info!(
                width = size.0,
                height = size.1,
                "the desktop was resized; reopening capture"
            );
            self.reopen()?;
        } else if layout.monitors.len() > 1 && matches!(self.grabber, Grabber::Shm(_)) {
            // A monitor was added: scrap sees only one of them now.
            self.reopen()?;
        }
        Ok(Some(layout))
    }

    fn layout_changed(&mut self) -> bool {
        self.damage
            .as_ref()
            .is_some_and(DamageWatcher::take_layout_change)
    }

    fn wait_for_change(&mut self, timeout: Duration) -> bool {
        match &self.damage {
            Some(damage) => damage.wait(timeout),
            None => {
                std::thread::sleep(timeout);
                true
            }
        }
    }
}
