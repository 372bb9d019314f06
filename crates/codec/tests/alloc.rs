//! Once warm, encoding a frame allocates nothing on the Rust heap.
//!
//! A counting global allocator wraps the system one; this is the only
//! unsafe code in the crate's tests, and it only forwards calls.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tandem_codec::{Encoder, EncoderConfig, FrameRef};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const W: u32 = 640;
const H: u32 = 400;

/// Text-like rows: a few colours, every row distinct.
fn page(offset: u32) -> Vec<u8> {
    let pal = [
        [250u8, 250, 250],
        [20, 20, 20],
        [40, 90, 200],
        [200, 60, 40],
    ];
    let mut v = vec![0u8; (W * H * 4) as usize];
    for y in 0..H {
        let line = y + offset;
        for x in 0..W {
            let glyph = (line / 16).wrapping_mul(7919) ^ (x / 8).wrapping_mul(104_729);
            let on = (glyph.wrapping_mul(2_654_435_761) >> (((line % 16) + x % 8) % 28)) & 1;
            let c = if y < 32 {
                pal[2]
            } else if on == 1 {
                pal[1 + (glyph as usize % 3)]
            } else {
                pal[0]
            };
            let i = ((y * W + x) * 4) as usize;
            v[i..i + 3].copy_from_slice(&c);
            v[i + 3] = (x ^ y) as u8; // undefined 4th byte
        }
    }
    v
}

#[test]
fn encode_allocates_nothing_once_warm() {
    let frames: Vec<Vec<u8>> = (0..12).map(|i| page(i * 13)).collect();
    let mut enc = Encoder::new(EncoderConfig {
        quality: 80,
        threads: 1,
    });
    let mut out = Vec::with_capacity(4 << 20);
    let run = |enc: &mut Encoder, out: &mut Vec<u8>, f: &Vec<u8>| {
        out.clear();
        enc.encode(
            FrameRef {
                width: W,
                height: H,
                stride: (W * 4) as usize,
                data: f,
            },
            out,
        )
        .unwrap()
    };
    // Warm up: a keyframe, scrolls, an unchanged frame.
    for f in &frames[..6] {
        run(&mut enc, &mut out, f);
    }
    run(&mut enc, &mut out, &frames[5]);
    COUNTING.store(true, Ordering::SeqCst);
    let mut changed = 0;
    for f in &frames[6..] {
        changed += usize::from(run(&mut enc, &mut out, f).changed);
        run(&mut enc, &mut out, f); // and unchanged
    }
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(changed, 6);
    // Tab switching: tiles saved in the cache and referenced again.
    // (b shares no rows with a: a switch, not a scroll.)
    let (a, b) = (&frames[0], &page(5_000));
    let tabs = [a, a, a, b, b, b];
    for f in tabs.iter().chain(&tabs) {
        run(&mut enc, &mut out, f);
    }
    COUNTING.store(true, Ordering::SeqCst);
    let mut small = 0;
    for f in tabs.iter().chain(&tabs) {
        run(&mut enc, &mut out, f);
        small += usize::from(out.len() < 2_000);
    }
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(small, 12, "every switch is sent as cache references");
    assert_eq!(
        ALLOCS.load(Ordering::SeqCst),
        0,
        "allocations per warm frame with the cache in use"
    );
    assert_eq!(
        ALLOCS.load(Ordering::SeqCst),
        0,
        "allocations per warm frame"
    );
}
