//! The decoded remote screen, shared between the network thread (which decodes into it) and the UI
//! (which uploads what changed).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use tandem_codec::{DecodeInfo, Decoder, DecoderLimits, Rect};

pub type SharedScreen = Arc<Mutex<Screen>>;

pub struct Screen {
    decoder: Decoder,
    /// Union of regions changed since the UI last took them; `None` when nothing changed.
    dirty: Option<Rect>,
    /// The size changed since the UI last looked: upload everything.
    resized: bool,
    /// Remote pointer position, for drawing a cursor.
    pub cursor: Option<(i32, i32)>,
    /// Updates decoded so far.
    pub frames: u64,
}

impl Screen {
    pub fn shared() -> SharedScreen {
        Arc::new(Mutex::new(Self {
            decoder: Decoder::new(DecoderLimits::default()),
            dirty: None,
            resized: false,
            cursor: None,
            frames: 0,
        }))
    }

    /// Locks the screen; a poisoned lock (a panicked holder) still yields the pixels.
    pub fn lock(shared: &SharedScreen) -> MutexGuard<'_, Screen> {
        shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn apply(&mut self, update: &[u8]) -> Result<DecodeInfo, tandem_codec::DecodeError> {
        let info = self.decoder.decode(update)?;
        self.frames += 1;
        self.resized |= info.resized;
        for rect in &info.dirty {
            self.dirty = Some(match self.dirty {
                None => *rect,
                Some(d) => union(d, *rect),
            });
        }
        Ok(info)
    }

    pub fn size(&self) -> (u32, u32) {
        (self.decoder.width(), self.decoder.height())
    }

    pub fn rgba(&self) -> &[u8] {
        self.decoder.rgba()
    }

    /// What changed since the last call: `Full` after a resize, else the dirty bounding box.
    pub fn take_changes(&mut self) -> Changes {
        let dirty = self.dirty.take();
        if std::mem::take(&mut self.resized) {
            return Changes::Full;
        }
        match dirty {
            Some(rect) => Changes::Region(rect),
            None => Changes::None,
        }
    }

    /// Copies `rect` out as tightly packed RGBA.
    pub fn copy_region(&self, rect: Rect, out: &mut Vec<u8>) {
        out.clear();
        let stride = self.decoder.width() as usize * 4;
        let rgba = self.decoder.rgba();
        for y in rect.y..rect.y + rect.h {
            let start = y as usize * stride + rect.x as usize * 4;
            if let Some(row) = rgba.get(start..start + rect.w as usize * 4) {
                out.extend_from_slice(row);
            }
        }
    }

    /// Writes the decoded picture as a PNG.
    pub fn save_png(&self, path: &Path) -> Result<(), image::ImageError> {
        let (width, height) = self.size();
        image::save_buffer(
            path,
            self.rgba(),
            width,
            height,
            image::ExtendedColorType::Rgba8,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    None,
    Full,
    Region(Rect),
}

fn union(a: Rect, b: Rect) -> Rect {
    let x = a.x.min(b.x);
    let y = a.y.min(b.y);
    let right = (a.x + a.w).max(b.x + b.w);
    let bottom = (a.y + a.h).max(b.y + b.h);
    Rect {
        x,
        y,
        w: right - x,
        h: bottom - y,
    }
}
