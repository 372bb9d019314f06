//! The decoded remote screen, shared between the decoder thread (which publishes what it decoded
//! into it) and the UI (which uploads what changed). Decoding itself happens outside this lock, in
//! [`crate::decode`]; the lock is held only to copy changed regions in or out.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use tandem_codec::{DecodeInfo, Decoder, Rect};

pub type SharedScreen = Arc<Mutex<Screen>>;

pub struct Screen {
    width: u32,
    height: u32,
    /// The published picture, RGBA rows top to bottom.
    rgba: Vec<u8>,
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
            width: 0,
            height: 0,
            rgba: Vec::new(),
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

    /// Copies what `info` says changed from the decoder's picture into this one.
    pub fn publish(&mut self, decoder: &Decoder, info: &DecodeInfo) {
        let (width, height) = (decoder.width(), decoder.height());
        let source = decoder.rgba();
        if info.resized
            || (width, height) != (self.width, self.height)
            || self.rgba.len() != source.len()
        {
            self.width = width;
            self.height = height;
            self.rgba.clear();
            self.rgba.extend_from_slice(source);
            self.resized = true;
        } else {
            let stride = width as usize * 4;
            for rect in &info.dirty {
                for y in rect.y..rect.y.saturating_add(rect.h).min(height) {
                    let start = y as usize * stride + rect.x.min(width) as usize * 4;
                    let end =
                        y as usize * stride + rect.x.saturating_add(rect.w).min(width) as usize * 4;
                    if let (Some(to), Some(from)) =
                        (self.rgba.get_mut(start..end), source.get(start..end))
                    {
                        to.copy_from_slice(from);
                    }
                }
            }
        }
        self.frames += 1;
        for rect in &info.dirty {
            self.dirty = Some(match self.dirty {
                None => *rect,
                Some(d) => union(d, *rect),
            });
        }
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn rgba(&self) -> &[u8] {
        &self.rgba
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
        let stride = self.width as usize * 4;
        let rgba = &self.rgba;
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
