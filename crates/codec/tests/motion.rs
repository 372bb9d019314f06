//! Motion (scrolls, vertical window moves) and video regions on synthetic frames.
#![allow(clippy::unwrap_used)]

use tandem_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, FrameRef};

const W: u32 = 640;
const H: u32 = 400;

fn frame(v: &[u8]) -> FrameRef<'_> {
    FrameRef {
        width: W,
        height: H,
        stride: (W * 4) as usize,
        data: v,
    }
}

/// Text-like content where every row differs; rows 0..32 are a fixed header.
fn page(offset: u32) -> Vec<u8> {
    let mut v = vec![0u8; (W * H * 4) as usize];
    for y in 0..H {
        let line = y + offset;
        for x in 0..W {
            let glyph = (line / 16).wrapping_mul(7919) ^ (x / 8).wrapping_mul(104_729);
            let on = (glyph.wrapping_mul(2_654_435_761) >> (((line % 16) + x % 8) % 28)) & 1;
            let c: [u8; 3] = if y < 32 {
                [200, 90, 40]
            } else if on == 1 {
                [20, (glyph % 200) as u8, 20]
            } else {
                [250, 250, 250]
            };
            let i = ((y * W + x) * 4) as usize;
            v[i..i + 3].copy_from_slice(&c);
        }
    }
    v
}

fn exact(src: &[u8], dec: &Decoder) -> bool {
    src.chunks_exact(4)
        .zip(dec.rgba().chunks_exact(4))
        .all(|(s, d)| s[0] == d[2] && s[1] == d[1] && s[2] == d[0])
}

/// Encodes and decodes a sequence, returning bytes per update.
fn run(frames: &[Vec<u8>]) -> Vec<usize> {
    let mut enc = Encoder::new(EncoderConfig::default());
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut out = Vec::new();
    let mut sizes = Vec::new();
    for f in frames {
        out.clear();
        let st = enc.encode(frame(f), &mut out).unwrap();
        dec.decode(&out).unwrap();
        assert_eq!(st.lossy_pixels, 0);
        assert!(exact(f, &dec));
        sizes.push(out.len());
    }
    sizes
}

#[test]
fn scroll_sends_only_exposed_rows() {
    let sizes = run(&[page(0), page(37)]);
    // 37 new rows of 368 scrolling ones: far less than the keyframe.
    assert!(sizes[1] * 4 < sizes[0], "{sizes:?}");
}

#[test]
fn smooth_scroll_is_caught_at_every_step() {
    let offsets = [0u32, 2, 7, 15, 26, 40, 55, 69, 80, 88];
    let frames: Vec<Vec<u8>> = offsets.iter().map(|&o| page(o)).collect();
    let sizes = run(&frames);
    for (i, s) in sizes.iter().enumerate().skip(1) {
        assert!(s * 3 < sizes[0], "step {i}: {sizes:?}");
    }
}

#[test]
fn scroll_up_and_back() {
    let sizes = run(&[page(100), page(60), page(100)]);
    assert!(sizes[1] * 3 < sizes[0], "{sizes:?}");
    assert!(sizes[2] * 3 < sizes[0], "{sizes:?}");
}

/// A text window on a flat desktop, at a vertical position.
fn desktop(win_y: u32) -> Vec<u8> {
    desktop_at(128, win_y)
}

/// A text window on a flat desktop, at a position.
fn desktop_at(wx: u32, win_y: u32) -> Vec<u8> {
    let p = page(0);
    let mut v = vec![0u8; (W * H * 4) as usize];
    for px in v.chunks_exact_mut(4) {
        px[..3].copy_from_slice(&[90, 60, 30]);
    }
    let (ww, wh) = (320u32, 160u32);
    for r in 0..wh {
        let y = win_y + r;
        let s = (((r + 40) * W + 100) * 4) as usize;
        let d = ((y * W + wx) * 4) as usize;
        v[d..d + (ww * 4) as usize].copy_from_slice(&p[s..s + (ww * 4) as usize]);
    }
    v
}

#[test]
fn vertical_window_move_is_a_copy() {
    let sizes = run(&[desktop(40), desktop(93), desktop(70)]);
    assert!(sizes[1] * 5 < sizes[0], "{sizes:?}");
    assert!(sizes[2] * 5 < sizes[0], "{sizes:?}");
}

#[test]
fn diagonal_window_drag_is_a_copy() {
    let sizes = run(&[
        desktop_at(100, 60),
        desktop_at(137, 81),
        desktop_at(170, 75),
        desktop_at(150, 120),
    ]);
    for (i, s) in sizes.iter().enumerate().skip(1) {
        assert!(s * 5 < sizes[0], "step {i}: {sizes:?}");
    }
}

fn noise(seed: u32, n: usize) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 24) as u8
        })
        .collect()
}

/// The test clip for video regions: text around a changing natural area.
fn video_frame(base: &[u8], i: u32, (vx, vy, vw, vh): (u32, u32, u32, u32)) -> Vec<u8> {
    let mut f = base.to_vec();
    let g = noise(i + 7, (vw * vh) as usize);
    for y in 0..vh {
        for x in 0..vw {
            let v = 100.0
                + 60.0 * ((x as f32 + 5.0 * i as f32) * 0.05).sin()
                + 50.0 * ((y as f32) * 0.07).cos();
            let k = g[(y * vw + x) as usize];
            let ch = |shift: u32, off: i32| {
                let n = i32::from((k >> shift) & 15) - 8;
                (v as i32 + off + n).clamp(0, 255) as u8
            };
            let p = (((vy + y) * W + vx + x) * 4) as usize;
            f[p..p + 3].copy_from_slice(&[ch(0, -30), ch(2, 0), ch(4, 25)]);
        }
    }
    f
}

#[test]
fn quality_100_is_lossless_even_for_video() {
    let base = page(0);
    let mut enc = Encoder::new(EncoderConfig {
        quality: 100,
        threads: 1,
    });
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut out = Vec::new();
    for i in 0..6 {
        let f = video_frame(&base, i, (192, 96, 320, 192));
        out.clear();
        let st = enc.encode(frame(&f), &mut out).unwrap();
        dec.decode(&out).unwrap();
        assert_eq!(st.lossy_pixels, 0);
        assert!(exact(&f, &dec), "frame {i}");
    }
}

#[test]
fn video_region_is_detected_and_text_around_it_stays_exact() {
    let (vx, vy, vw, vh) = (192u32, 96u32, 320u32, 192u32);
    let base = page(0);
    let mut enc = Encoder::new(EncoderConfig::default());
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut out = Vec::new();
    let mut video_bytes = Vec::new();
    for i in 0..10u32 {
        let f = video_frame(&base, i, (vx, vy, vw, vh));
        out.clear();
        let st = enc.encode(frame(&f), &mut out).unwrap();
        dec.decode(&out).unwrap();
        if i > 0 {
            assert!(st.lossy_pixels > 0, "frame {i}");
            assert!(
                st.lossy_pixels <= u64::from((vw + 2) * (vh + 2)),
                "frame {i}"
            );
        }
        video_bytes.push(out.len());
        // Outside the moving area every pixel is exact.
        for y in 0..H {
            for x in 0..W {
                if (vx.saturating_sub(1)..=vx + vw).contains(&x)
                    && (vy.saturating_sub(1)..=vy + vh).contains(&y)
                {
                    continue;
                }
                let i4 = ((y * W + x) * 4) as usize;
                let (s, d) = (&f[i4..i4 + 3], &dec.rgba()[i4..i4 + 3]);
                assert_eq!([s[2], s[1], s[0]], [d[0], d[1], d[2]], "pixel {x},{y}");
            }
        }
        // Inside: a quality bound.
        let mut sse = 0f64;
        for y in vy..vy + vh {
            for x in vx..vx + vw {
                let i4 = ((y * W + x) * 4) as usize;
                for (a, b) in [f[i4 + 2], f[i4 + 1], f[i4]]
                    .iter()
                    .zip(&dec.rgba()[i4..i4 + 3])
                {
                    let e = f64::from(*a) - f64::from(*b);
                    sse += e * e;
                }
            }
        }
        let psnr = 10.0 * (255.0f64.powi(2) / (sse / f64::from(vw * vh * 3)).max(1e-9)).log10();
        assert!(psnr > 28.0, "frame {i}: PSNR {psnr}");
    }
    // Once the region is video, updates are much smaller than the JPEG ones.
    assert!(video_bytes[9] * 2 < video_bytes[1], "{video_bytes:?}");
}

/// A long page: text rows with a large photo; frames are windows into it.
fn long_page() -> (Vec<u8>, u32) {
    let ph = 2400u32;
    let mut v = vec![0u8; (W * ph * 4) as usize];
    let g = noise(99, (W * ph) as usize);
    for y in 0..ph {
        for x in 0..W {
            let i = ((y * W + x) * 4) as usize;
            let c: [u8; 3] = if photo(x, y) {
                let k = g[(y * W + x) as usize];
                let base = 90.0 + 70.0 * ((x as f32) * 0.02).sin() * ((y as f32) * 0.015).cos();
                let ch = |s: u32, o: i32| {
                    (base as i32 + o + i32::from((k >> s) & 31) - 16).clamp(0, 255) as u8
                };
                [ch(0, -20), ch(2, 10), ch(4, 30)]
            } else {
                // Glyph-like strokes two pixels wide, blank rows between lines.
                let glyph = (y / 16).wrapping_mul(7919) ^ (x / 8).wrapping_mul(104_729);
                let bit = ((y % 16) + (x % 8) / 2) % 28;
                if y % 16 < 11 && (glyph.wrapping_mul(2_654_435_761) >> bit) & 1 == 1 {
                    [20, 20, 20]
                } else {
                    [250, 250, 250]
                }
            };
            v[i..i + 3].copy_from_slice(&c);
        }
    }
    (v, ph)
}

fn photo(x: u32, y: u32) -> bool {
    (96..600).contains(&x) && (500..1400).contains(&y)
}

#[test]
fn scrolling_past_a_photo_keeps_text_exact() {
    scroll_past_photo(0);
}

#[test]
fn scrolling_a_photo_seen_in_the_keyframe_keeps_text_exact() {
    scroll_past_photo(420);
    scroll_past_photo(700);
}

fn scroll_past_photo(start: u32) {
    let (page, _) = long_page();
    let mut enc = Encoder::new(EncoderConfig::default());
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut out = Vec::new();
    for i in 0..20u32 {
        let off = start + i * 45;
        let s = (off * W * 4) as usize;
        let f = &page[s..s + (W * H * 4) as usize];
        out.clear();
        enc.encode(frame(f), &mut out).unwrap();
        dec.decode(&out).unwrap();
        for y in 0..H {
            for x in 0..W {
                // Text near the photo's edge may share a tile with it.
                if photo(x, y + off) {
                    continue;
                }
                let p = ((y * W + x) * 4) as usize;
                let (a, b) = (&f[p..p + 3], &dec.rgba()[p..p + 3]);
                assert_eq!(
                    [a[2], a[1], a[0]],
                    [b[0], b[1], b[2]],
                    "frame {i} pixel {x},{y}"
                );
            }
        }
    }
}

#[test]
fn worker_bands_give_the_same_updates_as_one_thread() {
    let (page, _) = long_page();
    let mut encs: Vec<Encoder> = [1usize, 2, 3, 5]
        .iter()
        .map(|&threads| {
            Encoder::new(EncoderConfig {
                quality: 80,
                threads,
            })
        })
        .collect();
    for i in 0..8u32 {
        let s = ((i * 37) * W * 4) as usize;
        let f = &page[s..s + (W * H * 4) as usize];
        let outs: Vec<Vec<u8>> = encs
            .iter_mut()
            .map(|e| {
                let mut out = Vec::new();
                e.encode(frame(f), &mut out).unwrap();
                out
            })
            .collect();
        for o in &outs[1..] {
            assert!(o == &outs[0], "frame {i}");
        }
    }
}

/// Where a video region ended, the motion search finds its content again:
/// the rows it stopped hashing while the region lasted are hashed anew.
#[test]
fn text_scrolled_after_a_video_region_ended_is_copied() {
    let area = (192u32, 96u32, 320u32, 192u32);
    let base = page(0);
    let scrolled = page(16);
    let scroll_bytes = |frames: &[Vec<u8>]| {
        let mut enc = Encoder::new(EncoderConfig::default());
        let mut dec = Decoder::new(DecoderLimits::default());
        let mut out = Vec::new();
        let mut lossy = 0;
        for f in frames {
            out.clear();
            lossy += enc.encode(frame(f), &mut out).unwrap().lossy_pixels;
            dec.decode(&out).unwrap();
        }
        (out.len(), lossy)
    };
    // A video plays over the page, the page shows again and rests until the
    // region ends, then everything scrolls by one text line.
    let mut with_video: Vec<Vec<u8>> = (0..8).map(|i| video_frame(&base, i, area)).collect();
    with_video.extend(std::iter::repeat_n(base.clone(), 8));
    with_video.push(scrolled.clone());
    let (after_video, lossy) = scroll_bytes(&with_video);
    assert!(lossy > 0, "the video area became a video region");
    let (plain, _) = scroll_bytes(&[base.clone(), scrolled]);
    assert!(
        after_video * 2 < plain * 3,
        "scroll after the video: {after_video} B, without it: {plain} B"
    );
}

/// PSNR of the decoder's picture against `f` over a rect.
fn psnr_in(f: &[u8], dec: &Decoder, (rx, ry, rw, rh): (u32, u32, u32, u32)) -> f64 {
    let mut sse = 0f64;
    for y in ry..ry + rh {
        for x in rx..rx + rw {
            let i4 = ((y * W + x) * 4) as usize;
            for (a, b) in [f[i4 + 2], f[i4 + 1], f[i4]]
                .iter()
                .zip(&dec.rgba()[i4..i4 + 3])
            {
                let e = f64::from(*a) - f64::from(*b);
                sse += e * e;
            }
        }
    }
    10.0 * (255.0f64.powi(2) / (sse / f64::from(rw * rh * 3)).max(1e-9)).log10()
}

/// `f` with a 24x24 patch of text-like content (distinct per `seed`) at (x, y).
fn with_patch(f: &[u8], x: u32, y: u32, seed: u32) -> Vec<u8> {
    let src = page(seed * 48);
    let mut v = f.to_vec();
    for r in 0..24 {
        let (d, s) = (
            (((y + r) * W + x) * 4) as usize,
            (((40 + r) * W + 40) * 4) as usize,
        );
        v[d..d + 96].copy_from_slice(&src[s..s + 96]);
    }
    v
}

/// Inside a video region the encoder keeps no reference pixels (the region's
/// own encoder input tells what changed): a small change there while the
/// video rests is still sent, and an unchanged frame sends nothing.
#[test]
fn a_small_change_inside_a_resting_video_region_is_sent() {
    let area = (128u32, 64u32, 384u32, 256u32);
    let base = page(0);
    let mut enc = Encoder::new(EncoderConfig::default());
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut out = Vec::new();
    // Returns the stats and the patch's PSNR before and after decoding.
    let (px, py) = (296u32, 168u32);
    let mut encode = |f: &[u8], dec: &mut Decoder| {
        out.clear();
        let st = enc.encode(frame(f), &mut out).unwrap();
        let before = if dec.rgba().is_empty() {
            0.0
        } else {
            psnr_in(f, dec, (px, py, 24, 24))
        };
        dec.decode(&out).unwrap();
        (st, before, psnr_in(f, dec, (px, py, 24, 24)))
    };
    let mut last = Vec::new();
    for i in 0..8 {
        last = video_frame(&base, i, area);
        encode(&last, &mut dec);
    }
    // The video rests, a patch in the middle of the region changes (far
    // from the region's edge tiles); twice, before the resting region ends.
    for k in 1..3u32 {
        let f = with_patch(&last, px, py, k);
        let (st, before, after) = encode(&f, &mut dec);
        assert!(st.lossy_pixels > 0, "change {k} was sent as video");
        assert!(
            after > before + 6.0,
            "change {k}: patch PSNR {before} before, {after} after"
        );
        let (st, ..) = encode(&f, &mut dec);
        assert!(
            !st.changed && st.lossy_pixels == 0,
            "unchanged frame after change {k}"
        );
    }
}

/// A region that ends while something inside it changes: the changed tile
/// is sent whole and exact (the encoder had no reference pixels there), the
/// rest of the picture stays as it was.
#[test]
fn a_video_region_ending_during_a_change_inside_it_leaves_that_change_exact() {
    let area = (128u32, 64u32, 384u32, 256u32);
    let base = page(0);
    let mut enc = Encoder::new(EncoderConfig::default());
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut out = Vec::new();
    let mut video = 0;
    for i in 0..8 {
        let f = video_frame(&base, i, area);
        out.clear();
        video += enc.encode(frame(&f), &mut out).unwrap().lossy_pixels;
        dec.decode(&out).unwrap();
    }
    assert!(video > 0, "the area became a video region");
    // The page returns; one patch inside keeps changing, too little to
    // keep the region, until the region ends (its first update without
    // video); from then on the patch rests.
    let (px, py) = (296u32, 168u32);
    let mut ended = None;
    for k in 0..30u32 {
        let f = match &ended {
            None => with_patch(&base, px, py, k % 3 + 1),
            Some(f) => Vec::clone(f),
        };
        out.clear();
        let st = enc.encode(frame(&f), &mut out).unwrap();
        dec.decode(&out).unwrap();
        if ended.is_none() && k > 0 && st.lossy_pixels == 0 {
            ended = Some(f.clone());
        }
        if ended.is_some() {
            // (exact: `psnr_in` caps at ~138 dB)
            let p = psnr_in(&f, &dec, (px, py, 24, 24));
            assert!(p > 100.0, "frame {k}: patch PSNR {p} once the region ended");
        }
    }
    assert!(ended.is_some(), "the region ended");
}

/// What the decoder reports as copies and painted regions rebuilds its picture from the one before
/// (what a viewer keeping its own copy of the picture relies on), for drags and scrolls.
#[test]
fn reported_copies_and_painted_regions_rebuild_the_picture() {
    let frames = [
        desktop_at(100, 60),
        desktop_at(137, 81),
        desktop_at(170, 75),
        page(0),
        page(24),
        page(13),
    ];
    let mut enc = Encoder::new(EncoderConfig::default());
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut out = Vec::new();
    let mut copies_seen = 0;
    for f in &frames {
        let before = dec.rgba().to_vec();
        out.clear();
        enc.encode(frame(f), &mut out).unwrap();
        let info = dec.decode(&out).unwrap();
        if info.resized {
            continue;
        }
        copies_seen += info.copies.len();
        let stride = (W * 4) as usize;
        let mut rebuilt = before.clone();
        for c in &info.copies {
            for row in 0..c.to.h {
                let s = (c.from.1 + row) as usize * stride + c.from.0 as usize * 4;
                let d = (c.to.y + row) as usize * stride + c.to.x as usize * 4;
                let n = c.to.w as usize * 4;
                rebuilt[d..d + n].copy_from_slice(&before[s..s + n]);
            }
        }
        for r in info.painted() {
            for row in r.y..r.y + r.h {
                let s = row as usize * stride + r.x as usize * 4;
                let n = r.w as usize * 4;
                rebuilt[s..s + n].copy_from_slice(&dec.rgba()[s..s + n]);
            }
        }
        assert!(rebuilt == dec.rgba(), "the reported regions miss a change");
    }
    assert!(
        copies_seen >= 4,
        "drags and scrolls were copies: {copies_seen}"
    );
}

/// A steady drag: after the search finds the move once, each next frame confirms it (or twice
/// it, two steps in one frame) without indexing the reference; every step stays a copy.
#[test]
fn a_steady_drag_is_a_copy_every_frame() {
    let frames: Vec<Vec<u8>> = (0..14u32)
        .map(|k| {
            // Two steps in one frame now and then, as captures fall between moves.
            let step = k + k / 5;
            desktop_at(100 + 7 * step, 60 + 3 * step)
        })
        .collect();
    let sizes = run(&frames);
    for (i, s) in sizes.iter().enumerate().skip(1) {
        assert!(s * 5 < sizes[0], "step {i}: {sizes:?}");
    }
}

/// Change that no move explains (here a patch of noise redrawn every frame) makes the search
/// back off; a drag that starts afterwards is still found within the backoff, and stays found.
#[test]
fn a_drag_after_unexplained_change_is_found_within_the_backoff() {
    let with_noise = |mut v: Vec<u8>, seed: u32| {
        let mut state = seed.wrapping_mul(2_654_435_761) | 1;
        for y in 240..400 {
            for x in 480..640 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let c = (state >> 9) % 16;
                let i = ((y * W + x) * 4) as usize;
                v[i..i + 3].copy_from_slice(&[(c * 16) as u8, (200 - c * 9) as u8, 90]);
            }
        }
        v
    };
    // Searches miss at frames 1, 2, 4 and 7, and wait 4 frames after that: the drag starts
    // while the search waits.
    let mut frames: Vec<Vec<u8>> = (0..9).map(|k| with_noise(desktop_at(100, 60), k)).collect();
    let still_noise = frames[8].clone();
    let drag_from = frames.len();
    for k in 1..=20u32 {
        let mut f = with_noise(desktop_at(100 + 5 * k, 60 + 2 * k), 8);
        // Keep the noise as it was (it no longer changes).
        for y in 240..400usize {
            let i = (y * W as usize + 480) * 4;
            f[i..i + 160 * 4].copy_from_slice(&still_noise[i..i + 160 * 4]);
        }
        frames.push(f);
    }
    let sizes = run(&frames);
    let drag = &sizes[drag_from..];
    let first_copy = drag.iter().position(|s| s * 5 < sizes[0]);
    assert!(
        first_copy.is_some_and(|i| i <= 9),
        "the drag was found late: {sizes:?}"
    );
    assert!(
        drag[10..].iter().all(|s| s * 5 < sizes[0]),
        "the drag was lost: {sizes:?}"
    );
}

/// A sideways drag is looked for before any vertical offset while it lasts; when it turns
/// straight down, the vertical search takes it again: every step stays a copy.
#[test]
fn a_drag_that_turns_straight_down_stays_a_copy() {
    let mut frames: Vec<Vec<u8>> = (0..7u32)
        .map(|k| desktop_at(100 + 7 * k, 60 + 3 * k))
        .collect();
    frames.extend((1..7u32).map(|j| desktop_at(142, 78 + 9 * j)));
    let sizes = run(&frames);
    for (i, s) in sizes.iter().enumerate().skip(1) {
        assert!(s * 5 < sizes[0], "step {i}: {sizes:?}");
    }
}

/// Text scrolling under the window while it is dragged sideways: every frame is exact
/// (`run` compares each decoded picture with its source).
#[test]
fn a_drag_over_scrolling_text_stays_exact() {
    let frames: Vec<Vec<u8>> = (0..12u32)
        .map(|k| {
            let mut f = page(5 * k);
            let window = desktop_at(100 + 9 * k, 60 + 2 * k);
            for y in (60 + 2 * k)..(220 + 2 * k) {
                let i = ((y * W + 100 + 9 * k) * 4) as usize;
                f[i..i + 320 * 4].copy_from_slice(&window[i..i + 320 * 4]);
            }
            f
        })
        .collect();
    run(&frames);
}
