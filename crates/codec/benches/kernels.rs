//! Per-kernel benches on real corpus frames (`../shared/bench/corpus`), or on
//! synthetic frames when the corpus is absent.
//!
//! `cargo bench -p tandem-codec`
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tandem_codec::bench_api::{Scratch, TileCoder, diff_tiles, encode_tile, hash_rows};
use tandem_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, FrameRef};

struct Frame {
    w: u32,
    h: u32,
    data: Vec<u8>,
}

impl Frame {
    fn as_ref(&self) -> FrameRef<'_> {
        FrameRef {
            width: self.w,
            height: self.h,
            stride: self.w as usize * 4,
            data: &self.data,
        }
    }
    fn bytes(&self) -> u64 {
        self.data.len() as u64
    }
}

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/corpus")
}

fn load(clip: &str, n: u32) -> Option<Frame> {
    let p = corpus().join(clip).join(format!("frame_{n:04}.png"));
    let img = image::open(p).ok()?.into_rgb8();
    let (w, h) = img.dimensions();
    let mut data = Vec::with_capacity((w * h * 4) as usize);
    for p in img.as_raw().chunks_exact(3) {
        data.extend_from_slice(&[p[2], p[1], p[0], 0]);
    }
    Some(Frame { w, h, data })
}

/// A 1920x1080 text-like frame scrolled by `offset` rows, with a photo-like block.
fn synthetic(offset: u32) -> Frame {
    let (w, h) = (1920u32, 1080u32);
    let mut data = vec![0u8; (w * h * 4) as usize];
    for y in 0..h {
        for x in 0..w {
            let line = y + offset;
            let i = ((y * w + x) * 4) as usize;
            let c = if (1200..1800).contains(&x) && (200..600).contains(&line) {
                let v = (x * 7 + line * 13) ^ (x * line);
                [(v % 251) as u8, (v % 241) as u8, (v % 239) as u8]
            } else {
                let g = (line / 18).wrapping_mul(7919) ^ (x / 9).wrapping_mul(104_729);
                if (g.wrapping_mul(2_654_435_761) >> ((line + x) % 27)) & 1 == 1 {
                    [30, 30, 30]
                } else {
                    [250, 250, 250]
                }
            };
            data[i..i + 3].copy_from_slice(&c);
        }
    }
    Frame { w, h, data }
}

fn frame(clip: &str, n: u32, fallback_offset: u32) -> Frame {
    load(clip, n).unwrap_or_else(|| synthetic(fallback_offset))
}

fn packed(f: &Frame) -> Vec<u8> {
    f.data.clone()
}

/// One update per iteration, `a` and `b` in turn, by a one-thread encoder past its keyframe.
fn bench_alternating(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    a: &Frame,
    b: &Frame,
) {
    let mut out = Vec::new();
    g.bench_function(name, |bench| {
        let mut enc = Encoder::new(EncoderConfig {
            threads: 1,
            ..Default::default()
        });
        let mut flip = false;
        bench.iter(|| {
            out.clear();
            let f = if flip { a } else { b };
            flip = !flip;
            enc.encode(f.as_ref(), &mut out).unwrap()
        })
    });
}

fn benches(c: &mut Criterion) {
    let term_a = frame("terminal", 60, 0);
    let term_b = frame("terminal", 61, 16);
    let web_a = frame("web", 10, 0);
    let web_b = frame("web", 11, 40);
    let video = frame("video", 10, 0);

    let mut g = c.benchmark_group("diff");
    g.throughput(Throughput::Bytes(term_a.bytes()));
    let same = packed(&term_a);
    g.bench_function("unchanged_frame", |b| {
        b.iter(|| diff_tiles(term_a.as_ref(), &same))
    });
    let prev = packed(&term_a);
    g.bench_function("terminal_step", |b| {
        b.iter(|| diff_tiles(term_b.as_ref(), &prev))
    });
    g.finish();

    let mut g = c.benchmark_group("motion");
    g.throughput(Throughput::Bytes(web_b.bytes()));
    let mut hashes = Vec::new();
    g.bench_function("row_hashes", |b| {
        b.iter(|| hash_rows(web_b.as_ref(), &mut hashes))
    });
    // The whole search as the encoder runs it: a scrolled page after its keyframe.
    bench_alternating(&mut g, "scroll_update", &web_a, &web_b);
    // A 700x450 text window dragged over a photo-like wallpaper, 7 right and 3 down a frame
    // (what `tandem bench --session`'s drag phase does): the 2-D move search's case.
    let window = |dx: u32, dy: u32| {
        let mut f = Frame {
            w: video.w,
            h: video.h,
            data: video.data.clone(),
        };
        for y in 0..450u32.min(term_a.h) {
            let src = (y * term_a.w * 4) as usize;
            let dst = (((200 + dy + y) * f.w + 300 + dx) * 4) as usize;
            f.data[dst..dst + 700 * 4].copy_from_slice(&term_a.data[src..src + 700 * 4]);
        }
        f
    };
    let (drag_a, drag_b) = (window(0, 0), window(7, 3));
    bench_alternating(&mut g, "window_drag_update", &drag_a, &drag_b);
    g.finish();

    let mut g = c.benchmark_group("tile");
    let mut s = Scratch::default();
    let mut out = Vec::with_capacity(1 << 20);
    // One band of 64x64 tiles across the frame per iteration.
    let band = |f: &Frame| (0, f.h / 2 - 32, f.w, 64u32);
    for (name, f, coder) in [
        ("palette_terminal", &term_a, TileCoder::Palette),
        ("lossless_terminal", &term_a, TileCoder::Lossless),
        ("lossless_video", &video, TileCoder::Lossless),
        ("jpeg80_video", &video, TileCoder::Jpeg(80)),
    ] {
        let (x0, y, w, h) = band(f);
        g.throughput(Throughput::Bytes(u64::from(w * h * 4)));
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let mut n = 0;
                for x in (x0..x0 + w).step_by(64) {
                    n += encode_tile(coder, &mut s, f.as_ref(), x, y, 64.min(w - x), h, &mut out);
                }
                n
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("decode");
    for (name, f) in [("terminal_key", &term_a), ("web_key", &web_a)] {
        let mut enc = Encoder::new(EncoderConfig {
            threads: 1,
            ..Default::default()
        });
        let mut update = Vec::new();
        enc.encode(f.as_ref(), &mut update).unwrap();
        g.throughput(Throughput::Bytes(f.bytes()));
        let mut dec = Decoder::new(DecoderLimits::default());
        g.bench_function(name, |b| {
            b.iter(|| dec.decode(&update).unwrap().dirty.len())
        });
    }
    g.finish();
}

criterion_group! {
    name = kernels;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(kernels);
