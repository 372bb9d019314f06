//! Issue 7: a malicious host cannot balloon the viewer's memory with small updates. A counting global
//! allocator measures the peak memory a [`Screen`] (the viewer's decoder) allocates while applying
//! crafted updates of about a hundred bytes that claim huge sizes, and checks it against a stated
//! bound: one picture at the viewer's limit (8K, 7680x4320 RGBA, 133 MB) plus 8 MiB.

#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tandem_codec::format::{FLAG_KEYFRAME, FLAG_OPS_ZSTD, MAGIC, VERSION};
use tandem_viewer::screen::DecodingScreen;
use tandem_viewer::screen::VIEWER_LIMITS;

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counters
// are plain atomics and never affect what is returned.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as growing in place (large reallocations are remapped, not copied).
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Measurements must not overlap: the counters are global.
static MEASURING: Mutex<()> = Mutex::new(());

/// One RGBA picture at the viewer's limit.
const PICTURE_8K: usize = 7680 * 4320 * 4;
/// What a legitimate keyframe at the limit costs: the decoder's picture plus the copy published to
/// the UI (decoding happens outside the UI's lock, so the two are separate buffers).
const KEYFRAME_8K: usize = 2 * PICTURE_8K;
/// Allowance for everything that is not picture-sized (zstd context, small buffers, test harness).
const SLACK: usize = 8 << 20;

/// Peak bytes allocated above what was live before `f` ran.
fn peak_during(f: impl FnOnce()) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed).saturating_sub(before)
}

/// A codec update (layout: `tandem_codec::format`) with the given header fields and body.
fn update(flags: u8, width: u32, height: u32, ops_len: u32, ops_z: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[VERSION, flags]);
    for v in [width, height, ops_len, ops_z.len() as u32, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(ops_z);
    out
}

/// An update with uncompressed `ops` and a blob.
fn with_blob(flags: u8, width: u32, height: u32, ops: &[u8], blob: &[u8]) -> Vec<u8> {
    let mut out = update(flags, width, height, ops.len() as u32, ops);
    out[20..24].copy_from_slice(&(blob.len() as u32).to_le_bytes());
    out.extend_from_slice(blob);
    out
}

/// An update with uncompressed `ops`.
fn plain(flags: u8, width: u32, height: u32, ops: &[u8]) -> Vec<u8> {
    update(flags, width, height, ops.len() as u32, ops)
}

/// A `SOLID` op (tag 2 in `tandem_codec::format`) over `x, y, w, h`.
fn solid(x: u16, y: u16, w: u16, h: u16) -> Vec<u8> {
    let mut op = vec![2];
    for v in [x, y, w, h] {
        op.extend_from_slice(&v.to_le_bytes());
    }
    op.extend_from_slice(&[10, 20, 30]);
    op
}

/// A `COPY` op (tag 1) from `sx, sy` to `dx, dy`, `w` x `h`.
fn copy(sx: u16, sy: u16, dx: u16, dy: u16, w: u16, h: u16) -> Vec<u8> {
    let mut op = vec![1];
    for v in [sx, sy, dx, dy, w, h] {
        op.extend_from_slice(&v.to_le_bytes());
    }
    op
}

/// A valid zstd frame holding `n` zero bytes, as small as zstd makes it.
fn zstd_zeros(n: usize) -> Vec<u8> {
    zstd::bulk::compress(&vec![0u8; n], 19).unwrap()
}

/// Applies `update` to `screen`, returning the peak extra memory; whether it decodes does not matter.
fn hostile(screen: &mut DecodingScreen, update: &[u8]) -> usize {
    assert!(
        update.len() <= 128,
        "a small update: {} bytes",
        update.len()
    );
    peak_during(|| {
        let _ = screen.apply(update);
    })
}

#[test]
fn viewer_limits_are_an_8k_screen() {
    assert_eq!(
        (VIEWER_LIMITS.max_width, VIEWER_LIMITS.max_height),
        (7680, 4320)
    );
}

/// Each crafted update is at most 128 bytes; none may cost more than a legitimate 8K keyframe (the
/// decoder's picture and its published copy) plus 8 MiB.
#[test]
fn small_hostile_updates_cost_at_most_one_8k_picture() {
    let _guard = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    let (w, h) = (7680u32, 4320u32);
    let picture_ops_max = w * h * 4 + (1 << 20);
    let small_zstd = zstd_zeros(1000);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // Beyond the limits: refused before any allocation. With the codec's own default limits
        // (8192x8192) this cost 268 MB.
        (
            "keyframe claiming 8192x8192",
            plain(FLAG_KEYFRAME, 8192, 8192, &solid(0, 0, 1, 1)),
        ),
        (
            "keyframe claiming 65535x65535",
            plain(FLAG_KEYFRAME, 65535, 65535, &solid(0, 0, 1, 1)),
        ),
        // At the limit: the picture itself, once.
        (
            "8K keyframe with one small op",
            plain(FLAG_KEYFRAME, w, h, &solid(0, 0, 1, 1)),
        ),
        // The header's ops_len is what the decoder reserves before decompressing: without the
        // viewer's ratio check this was a second picture's worth.
        (
            "8K keyframe whose zstd ops claim a picture's worth",
            update(
                FLAG_KEYFRAME | FLAG_OPS_ZSTD,
                w,
                h,
                picture_ops_max,
                &small_zstd,
            ),
        ),
        (
            "8K keyframe whose zstd ops claim the largest ratio zstd allows",
            update(
                FLAG_KEYFRAME | FLAG_OPS_ZSTD,
                w,
                h,
                small_zstd.len() as u32 * 32768,
                &small_zstd,
            ),
        ),
    ];
    for (what, bytes) in &cases {
        let mut screen = DecodingScreen::new();
        let peak = hostile(&mut screen, bytes);
        eprintln!("{what}: {} bytes -> peak {peak} bytes", bytes.len());
        assert!(
            peak <= KEYFRAME_8K + SLACK,
            "{what}: {} bytes of update cost {peak} bytes (bound {})",
            bytes.len(),
            KEYFRAME_8K + SLACK
        );
        drop(screen);
    }

    // On top of an 8K picture already shown, a delta may not add another picture's worth.
    let mut screen = DecodingScreen::new();
    screen
        .apply(&plain(FLAG_KEYFRAME, w, h, &solid(0, 0, 1, 1)))
        .unwrap();
    let lie = update(FLAG_OPS_ZSTD, w, h, picture_ops_max, &small_zstd);
    let peak = hostile(&mut screen, &lie);
    eprintln!("8K delta whose zstd ops claim a picture's worth: peak {peak} bytes");
    assert!(peak <= SLACK, "a delta's ops claim cost {peak} bytes");
}

/// The decoder's own buffers: COPY ops used to be allowed twice the picture with a copy buffer that
/// grew by doubling (a 50-byte delta on an 8K picture allocated 503 MB); now copies may cover the
/// picture once and the buffer is reserved exactly.
#[test]
fn copies_cost_at_most_one_8k_picture() {
    let _guard = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    let (w, h) = (7680u16, 4320u16);
    let mut screen = DecodingScreen::new();
    screen
        .apply(&plain(
            FLAG_KEYFRAME,
            w.into(),
            h.into(),
            &solid(0, 0, 1, 1),
        ))
        .unwrap();
    let mut ops = copy(0, 0, 0, 0, w, h);
    ops.extend(copy(0, 0, 0, 0, w, h));
    let delta = plain(0, w.into(), h.into(), &ops);
    let peak = hostile(&mut screen, &delta);
    eprintln!(
        "8K delta of two whole-picture copies: {} bytes -> peak {peak} bytes",
        delta.len()
    );
    assert!(peak <= SLACK + PICTURE_8K, "copies cost {peak} bytes");
}

/// A JPEG tile whose header claims the whole picture is refused by its data's size.
/// Before the check, a 665-byte tile allocated 100 MB of pixels before finding its data missing.
#[test]
fn jpeg_tiles_cost_at_most_one_8k_picture() {
    let _guard = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    let (w, h) = (7680u16, 4320u16);
    let mut screen = DecodingScreen::new();
    screen
        .apply(&plain(
            FLAG_KEYFRAME,
            w.into(),
            h.into(),
            &solid(0, 0, 1, 1),
        ))
        .unwrap();
    // A real 8x8 JPEG whose frame header (SOF0) is patched to claim 7680x4320.
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 10)
        .encode(&[0u8; 8 * 8 * 3], 8, 8, image::ExtendedColorType::Rgb8)
        .unwrap();
    let sof = jpeg.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    // A JPEG tile (tag 5 in `tandem_codec::format`) over the whole picture, then its blob length.
    let mut op = vec![5];
    for v in [0, 0, w, h] {
        op.extend_from_slice(&v.to_le_bytes());
    }
    op.extend_from_slice(&(jpeg.len() as u32).to_le_bytes());
    let delta = with_blob(0, w.into(), h.into(), &op, &jpeg);
    let peak = peak_during(|| {
        let _ = screen.apply(&delta);
    });
    eprintln!(
        "8K delta with one JPEG tile claiming the picture: {} bytes -> peak {peak} bytes",
        delta.len()
    );
    assert!(peak <= SLACK, "a JPEG tile cost {peak} bytes");
}
