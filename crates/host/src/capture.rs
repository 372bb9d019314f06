//! Screen capture behind [`FrameSource`]; [`ScrapSource`] is the real one (X11 MIT-SHM via scrap).

use std::io;
use std::time::Duration;

use tandem_codec::FrameRef;
use tracing::warn;

use crate::damage::DamageWatcher;

/// Something that yields screen frames in B,G,R,X order (4th byte undefined).
pub trait FrameSource {
    /// Captures the current screen and lends it to `use_frame` (zero copy: scrap's buffer is only
    /// valid during the call).
    fn capture(&mut self, use_frame: &mut dyn FnMut(FrameRef<'_>)) -> io::Result<()>;
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
}

/// Captures the primary X display (the one `DISPLAY` names).
pub struct ScrapSource {
    capturer: scrap::Capturer,
    width: u32,
    height: u32,
    pointer: Option<enigo::Enigo>,
    /// Damage reports from the X server; `None` if unavailable (then capture polls).
    damage: Option<DamageWatcher>,
}

impl ScrapSource {
    pub fn primary() -> io::Result<Self> {
        let display = scrap::Display::primary().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open the X display for capture (is DISPLAY set?): {e}"),
            )
        })?;
        let capturer = scrap::Capturer::new(display)?;
        let (width, height) = (capturer.width() as u32, capturer.height() as u32);
        // A second X connection only to read the pointer position; capture works without it.
        let pointer = enigo::Enigo::new(&enigo::Settings::default()).ok();
        let damage = DamageWatcher::start()
            .inspect_err(|e| warn!(error = %e, "no damage reports; polling the screen instead"))
            .ok();
        Ok(Self {
            capturer,
            width,
            height,
            pointer,
            damage,
        })
    }
}

impl FrameSource for ScrapSource {
    fn capture(&mut self, use_frame: &mut dyn FnMut(FrameRef<'_>)) -> io::Result<()> {
        let (width, height) = (self.width, self.height);
        let frame = self.capturer.frame()?;
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
            data: &frame,
        });
        Ok(())
    }

    fn pointer(&mut self) -> Option<(i32, i32)> {
        use enigo::Mouse;
        self.pointer.as_ref()?.location().ok()
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
