//! The decoded remote screen, shared between the decoder thread (which publishes what it decoded
//! into it) and the UI (which uploads what changed). Decoding happens outside this lock, in
//! [`crate::decode`]; the lock is held only to copy changed regions in or out.
//!
//! Everything here comes from the host, which may be hostile: picture sizes are capped at real
//! screens ([`VIEWER_LIMITS`]), updates whose header promises more decompressed data than zstd can
//! produce are refused before the decoder reserves for them, and regions handed to the UI are clamped
//! to the current picture, so a stale or oversized region can never make the UI panic.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use tandem_codec::{DecodeError, DecodeInfo, Decoder, Rect};

use crate::decode::ScreenDecoder;
pub use crate::decode::VIEWER_LIMITS;
use crate::present_changes::{PendingChanges, PresentChanges};

pub type SharedScreen = Arc<Mutex<Screen>>;

pub struct Screen {
    width: u32,
    height: u32,
    /// The published picture, RGBA rows top to bottom.
    rgba: Vec<u8>,
    /// Union of regions changed since the UI last took them; `None` when nothing changed.
    dirty: Option<Rect>,
    /// The UI must upload the whole picture: the size changed, or a decode failed part-way and
    /// the dirty regions no longer say what changed.
    full: bool,
    /// The same, for the X11 presenter ([`crate::present_x11`]), which takes changes on its own
    /// thread and at its own pace, and repeats copies on its own copy of the picture.
    present: PendingChanges,
    /// Remote pointer position, for drawing a cursor; `None` while it is outside the shown area.
    pub cursor: Option<(i32, i32)>,
    /// The remote pointer's image, once the host sent one.
    pub cursor_shape: Option<RemoteCursor>,
    /// Updates decoded so far.
    pub frames: u64,
    /// While recording: the recording's time (ms) of the last update published, so a snapshot
    /// can be matched with the recording's picture at that time.
    pub recorded_ms: Option<u32>,
}

impl Screen {
    /// An empty screen: nothing decoded yet.
    pub fn new() -> Self {
        Self {
            width: 0,
            height: 0,
            rgba: Vec::new(),
            dirty: None,
            full: false,
            present: PendingChanges::default(),
            cursor: None,
            cursor_shape: None,
            frames: 0,
            recorded_ms: None,
        }
    }

    pub fn shared() -> SharedScreen {
        Arc::new(Mutex::new(Self::new()))
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
        if info.resized || (width, height) != (self.width, self.height) {
            self.copy_whole(decoder);
        } else {
            self.present.record(info);
            let stride = width as usize * 4;
            for rect in info.dirty.iter().filter_map(|r| clamp(*r, (width, height))) {
                for y in rect.y..rect.y + rect.h {
                    let start = y as usize * stride + rect.x as usize * 4;
                    let end = start + rect.w as usize * 4;
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
                Some(d) => d.union(*rect),
            });
        }
    }

    /// A decode failed part-way: the decoder's picture may have changed anywhere (or changed size),
    /// so publish all of it and make the next [`Screen::take_changes`] a [`Changes::Full`].
    pub fn publish_failed(&mut self, decoder: &Decoder) {
        self.copy_whole(decoder);
        self.dirty = None;
    }

    /// Takes the decoder's whole picture (and size); the UI uploads all of it next.
    fn copy_whole(&mut self, decoder: &Decoder) {
        self.width = decoder.width();
        self.height = decoder.height();
        self.rgba.clear();
        self.rgba.extend_from_slice(decoder.rgba());
        self.full = true;
        self.present.mark_full();
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn rgba(&self) -> &[u8] {
        &self.rgba
    }

    /// What changed since the last call: `Full` after a resize or a failed decode, else the dirty
    /// bounding box clamped to the picture.
    pub fn take_changes(&mut self) -> Changes {
        let dirty = self.dirty.take();
        if std::mem::take(&mut self.full) {
            return Changes::Full;
        }
        match dirty.and_then(|rect| clamp(rect, self.size())) {
            Some(rect) => Changes::Region(rect),
            None => Changes::None,
        }
    }

    /// [`Screen::take_changes`] for the X11 presenter, which keeps its own copy of the picture.
    pub fn take_present_changes(&mut self) -> PresentChanges {
        self.present.take(self.size())
    }

    /// Copies `rect`, clamped to the picture, out as tightly packed RGBA into `out` (replacing its
    /// contents), and returns the rectangle copied: `out` then holds exactly `w * h * 4` bytes. `None`
    /// (and `out` empty) if nothing of `rect` lies inside the picture. `out` never grows past the
    /// picture's size.
    pub fn copy_region(&self, rect: Rect, out: &mut Vec<u8>) -> Option<Rect> {
        out.clear();
        let rect = clamp(rect, self.size())?;
        let stride = self.width as usize * 4;
        let rgba = &self.rgba;
        let row_len = rect.w as usize * 4;
        out.reserve_exact(row_len * rect.h as usize);
        for y in rect.y..rect.y + rect.h {
            let start = y as usize * stride + rect.x as usize * 4;
            match rgba.get(start..start + row_len) {
                Some(row) => out.extend_from_slice(row),
                // The picture always matches its size; refuse rather than hand out a short region
                // if that ever stops being true.
                None => {
                    out.clear();
                    return None;
                }
            }
        }
        Some(rect)
    }

    /// Shows a whole picture (a replay's): the UI uploads all of it next.
    pub fn show_picture(&mut self, width: u32, height: u32, rgba: &[u8]) {
        self.width = width;
        self.height = height;
        self.rgba.clear();
        self.rgba.extend_from_slice(rgba);
        self.full = true;
        self.present.mark_full();
        self.frames += 1;
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

/// The host's pointer image (from `FrameMsg::CursorShape`, already checked against the wire limits).
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteCursor {
    pub width: u16,
    pub height: u16,
    /// The hot spot, clamped into the image.
    pub hot: (u16, u16),
    /// Straight-alpha RGBA, `width * height * 4` bytes.
    pub rgba: Vec<u8>,
    /// Counts images received, so the UI uploads each once.
    pub serial: u64,
}

impl RemoteCursor {
    /// The host's pointer is hidden (an empty image): nothing is drawn for it.
    pub fn is_hidden(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// The image as the host sent it (0×0: the pointer is hidden); `None` when its size does not
    /// match its bytes.
    pub fn new(
        (width, height): (u16, u16),
        (hot_x, hot_y): (u16, u16),
        rgba: Vec<u8>,
        serial: u64,
    ) -> Option<Self> {
        if rgba.len() != usize::from(width) * usize::from(height) * 4 {
            return None;
        }
        Some(Self {
            width,
            height,
            hot: (
                hot_x.min(width.saturating_sub(1)),
                hot_y.min(height.saturating_sub(1)),
            ),
            rgba,
            serial,
        })
    }
}

impl Default for Screen {
    fn default() -> Self {
        Self::new()
    }
}

/// A screen with its own decoder, decoding synchronously in one call: what the decoder thread does,
/// for tests and tools.
pub struct DecodingScreen {
    screen: Screen,
    decoder: ScreenDecoder,
}

impl DecodingScreen {
    pub fn new() -> Self {
        Self::with_decoder(ScreenDecoder::new())
    }

    pub fn with_decoder(decoder: ScreenDecoder) -> Self {
        Self {
            screen: Screen::new(),
            decoder,
        }
    }

    /// Decodes `update` and publishes it; after an error the next change is a full upload.
    pub fn apply(&mut self, update: &[u8]) -> Result<DecodeInfo, DecodeError> {
        self.decoder.apply_to(&mut self.screen, update)
    }
}

impl Default for DecodingScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl std::ops::Deref for DecodingScreen {
    type Target = Screen;
    fn deref(&self) -> &Screen {
        &self.screen
    }
}

impl std::ops::DerefMut for DecodingScreen {
    fn deref_mut(&mut self) -> &mut Screen {
        &mut self.screen
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    None,
    Full,
    Region(Rect),
}

/// The part of `rect` inside a `width` x `height` picture, or `None` if that is empty.
pub fn clamp(rect: Rect, (width, height): (u32, u32)) -> Option<Rect> {
    rect.intersect(Rect {
        x: 0,
        y: 0,
        w: width,
        h: height,
    })
}

/// Hand-built codec updates for tests (layout: `tandem_codec::format`).
#[cfg(test)]
pub(crate) mod test_updates {
    use tandem_codec::format::{FLAG_KEYFRAME, MAGIC, VERSION};

    /// `SOLID` in `tandem_codec::format` (crate-private there).
    const OP_SOLID: u8 = 2;

    /// An update with uncompressed `ops` and no blob.
    pub fn update(flags: u8, width: u32, height: u32, ops: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[VERSION, flags]);
        let ops_len = ops.len() as u32;
        for v in [width, height, ops_len, ops_len, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(ops);
        out
    }

    /// A `SOLID` op filling `x, y, w, h` with `rgb`.
    pub fn solid(x: u16, y: u16, w: u16, h: u16, rgb: [u8; 3]) -> Vec<u8> {
        let mut op = vec![OP_SOLID];
        for v in [x, y, w, h] {
            op.extend_from_slice(&v.to_le_bytes());
        }
        op.extend_from_slice(&[rgb[2], rgb[1], rgb[0]]);
        op
    }

    /// A keyframe of one colour.
    pub fn keyframe(width: u16, height: u16, rgb: [u8; 3]) -> Vec<u8> {
        let ops = solid(0, 0, width, height, rgb);
        update(FLAG_KEYFRAME, width.into(), height.into(), &ops)
    }

    /// A keyframe that resizes the picture to `width` x `height`, then fails on an op outside it.
    pub fn failing_keyframe(width: u16, height: u16) -> Vec<u8> {
        let ops = solid(width, 0, 1, 1, [0, 0, 0]);
        update(FLAG_KEYFRAME, width.into(), height.into(), &ops)
    }
}

#[cfg(test)]
mod tests {
    use super::test_updates::*;
    use super::*;

    /// Issue 7: a keyframe that resizes the picture and then fails used to leave the old dirty
    /// region (bigger than the new picture) for the UI, whose image size assertion then panicked.
    #[test]
    fn a_failed_resize_keyframe_forces_a_full_upload() {
        let mut screen = DecodingScreen::new();
        screen
            .apply(&keyframe(300, 200, [1, 2, 3]))
            .expect("keyframe");
        assert_eq!(screen.take_changes(), Changes::Full);
        let delta = update(0, 300, 200, &solid(0, 0, 300, 200, [9, 9, 9]));
        screen.apply(&delta).expect("delta");
        // The UI has not taken that region yet when the next update fails part-way.
        assert!(screen.apply(&failing_keyframe(10, 10)).is_err());
        assert_eq!(screen.size(), (10, 10));
        assert_eq!(screen.take_changes(), Changes::Full);
        assert_eq!(screen.take_changes(), Changes::None);
    }

    #[test]
    fn cursor_hot_spots_are_clamped_and_bad_images_refused() {
        let cursor = RemoteCursor::new((3, 2), (u16::MAX, 9), vec![0; 24], 1).expect("valid");
        assert_eq!(cursor.hot, (2, 1));
        let hidden = RemoteCursor::new((0, 0), (5, 5), Vec::new(), 2).expect("hidden pointer");
        assert!(hidden.is_hidden());
        assert_eq!(hidden.hot, (0, 0));
        assert!(RemoteCursor::new((3, 2), (0, 0), vec![0; 23], 3).is_none());
    }

    #[test]
    fn copied_regions_are_clamped_to_the_picture() {
        let mut screen = DecodingScreen::new();
        screen
            .apply(&keyframe(10, 10, [1, 2, 3]))
            .expect("keyframe");
        let mut out = vec![7; 3];
        let inside = Rect {
            x: 2,
            y: 3,
            w: 4,
            h: 5,
        };
        assert_eq!(screen.copy_region(inside, &mut out), Some(inside));
        assert_eq!(out.len(), 4 * 5 * 4);
        assert_eq!(&out[..4], &[1, 2, 3, 255]);
        let past_the_edge = Rect {
            x: 8,
            y: 0,
            w: 300,
            h: u32::MAX,
        };
        let clamped = Rect {
            x: 8,
            y: 0,
            w: 2,
            h: 10,
        };
        assert_eq!(screen.copy_region(past_the_edge, &mut out), Some(clamped));
        assert_eq!(out.len(), 2 * 10 * 4);
        let outside = Rect {
            x: 10,
            y: 0,
            w: 5,
            h: 5,
        };
        assert_eq!(screen.copy_region(outside, &mut out), None);
        assert!(out.is_empty());
    }

    #[test]
    fn pictures_larger_than_8k_are_refused() {
        let mut screen = DecodingScreen::new();
        for (w, h) in [(7681, 16), (16, 4321), (4320, 7680)] {
            let err = screen
                .apply(&failing_keyframe(w, h))
                .expect_err("too large");
            assert!(
                matches!(err, DecodeError::TooLarge { .. }),
                "{w}x{h}: {err}"
            );
        }
        assert_eq!(screen.size(), (0, 0));
    }

    /// A header announcing far more ops than its zstd bytes can hold is refused before the decoder
    /// reserves memory for it.
    #[test]
    fn impossible_zstd_ratios_are_refused() {
        use crate::decode::MAX_ZSTD_RATIO;
        use tandem_codec::format::FLAG_OPS_ZSTD;
        let mut bogus = update(
            tandem_codec::format::FLAG_KEYFRAME | FLAG_OPS_ZSTD,
            64,
            64,
            &[0; 8],
        );
        let claimed = 8 * MAX_ZSTD_RATIO + 1;
        bogus[12..16].copy_from_slice(&(claimed as u32).to_le_bytes());
        let err = DecodingScreen::new().apply(&bogus).expect_err("refused");
        assert!(
            matches!(err, DecodeError::OpsTooLarge { len, max } if len == claimed && max == 8 * MAX_ZSTD_RATIO),
            "{err}"
        );
    }

    proptest::proptest! {
        /// Whatever a host sends (valid updates of changing sizes, corrupted anywhere), the region
        /// the UI is told to upload lies inside the current picture and copies out exactly.
        #[test]
        fn changes_always_fit_the_picture(
            steps in proptest::collection::vec(
                (1u16..64, 1u16..64, 0u8..4, proptest::prelude::any::<(usize, u8)>()),
                1..12,
            ),
        ) {
            let mut screen = DecodingScreen::new();
            let mut out = Vec::new();
            for (w, h, kind, (at, byte)) in steps {
                let mut bytes = match kind {
                    0 => keyframe(w, h, [1, 2, 3]),
                    1 => failing_keyframe(w, h),
                    _ => {
                        let (cw, ch) = screen.size();
                        update(0, cw, ch, &solid(0, 0, w, h, [7, 8, 9]))
                    }
                };
                if kind == 3 {
                    let at = at % bytes.len();
                    bytes[at] ^= byte;
                }
                let _ = screen.apply(&bytes);
                let size = screen.size();
                match screen.take_changes() {
                    Changes::Region(rect) => {
                        proptest::prop_assert!(clamp(rect, size) == Some(rect), "{rect:?} in {size:?}");
                        proptest::prop_assert_eq!(screen.copy_region(rect, &mut out), Some(rect));
                        proptest::prop_assert_eq!(out.len(), rect.w as usize * rect.h as usize * 4);
                    }
                    Changes::Full | Changes::None => {}
                }
            }
        }
    }
}
