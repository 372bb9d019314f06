//! Writes the fuzz targets' seed corpora from real encoder output: small
//! crops of the bench clips (so a fuzz execution stays cheap), a few frames
//! each, plus synthetic tab switches and a window drag that exercise the
//! tile cache's SAVE and USE ops, a dimmed page (TRANSFORM) and a dialog
//! shown again off the tile grid (USE of pieces of saved tiles).
//!
//!     cargo run -p tandem-codec --example fuzz_seeds -- ../shared/bench/corpus crates/codec/fuzz/seeds
//!
//! `<out>/decode/*`: a first byte (0: no built-in keyframe) then real updates,
//! framed and compressed as sent. `<out>/ops/*`: the same updates in the
//! `ops` target's compact form with the op streams decompressed.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use tandem_codec::format::{FLAG_KEYFRAME, FLAG_OPS_HISTORY, FLAG_OPS_ZSTD, HEADER_LEN};
use tandem_codec::{Encoder, EncoderConfig, FrameRef};

type Error = Box<dyn std::error::Error>;

/// A BGRX crop of a PNG frame.
fn crop(path: &Path, x: u32, y: u32, w: u32, h: u32) -> Result<Vec<u8>, Error> {
    let img = image::open(path)?.to_rgb8();
    let mut v = Vec::with_capacity((w * h * 4) as usize);
    for yy in y..y + h {
        for xx in x..x + w {
            let p = img.get_pixel(xx, yy).0;
            v.extend_from_slice(&[p[2], p[1], p[0], 0]);
        }
    }
    Ok(v)
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Encodes `frames` (w x h BGRX) and writes both seed forms as `name`.
fn write_seeds(out: &Path, name: &str, w: u32, h: u32, frames: &[Vec<u8>]) -> Result<(), Error> {
    let mut enc = Encoder::new(EncoderConfig {
        quality: 80,
        threads: 1,
    });
    let mut framed = vec![0u8];
    let mut compact = Vec::new();
    let mut history = tandem_codec::OpsDecompressor::new();
    for f in frames {
        let mut u = Vec::new();
        enc.encode(
            FrameRef {
                width: w,
                height: h,
                stride: (w * 4) as usize,
                data: f,
            },
            &mut u,
        )?;
        framed.extend_from_slice(&u);
        let flags = u[3];
        let (ops_len, z_len, blob_len) = (
            le32(&u, 12) as usize,
            le32(&u, 16) as usize,
            le32(&u, 20) as usize,
        );
        let body = &u[HEADER_LEN..HEADER_LEN + z_len];
        if flags & FLAG_KEYFRAME != 0 {
            history.restart()?;
        }
        let ops = if flags & FLAG_OPS_HISTORY != 0 {
            let mut ops = Vec::new();
            history.decompress(body, ops_len, &mut ops)?;
            ops
        } else if flags & FLAG_OPS_ZSTD != 0 {
            zstd::bulk::decompress(body, ops_len)?
        } else {
            body.to_vec()
        };
        let blob = &u[HEADER_LEN + z_len..];
        let (Ok(ol), Ok(bl)) = (u16::try_from(ops.len()), u16::try_from(blob_len)) else {
            eprintln!("{name}: an update too large for the compact form, skipped");
            continue;
        };
        compact.push(flags & FLAG_KEYFRAME);
        compact.extend_from_slice(&[w as u8, h as u8]);
        compact.extend_from_slice(&ol.to_le_bytes());
        compact.extend_from_slice(&bl.to_le_bytes());
        compact.extend_from_slice(&ops);
        compact.extend_from_slice(blob);
    }
    for (dir, bytes) in [("decode", &framed), ("ops", &compact)] {
        let d = out.join(dir);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join(name), bytes)?;
        println!("{dir}/{name}: {} bytes", bytes.len());
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let corpus = PathBuf::from(args.next().ok_or("usage: fuzz_seeds CORPUS OUT")?);
    let out = PathBuf::from(args.next().ok_or("usage: fuzz_seeds CORPUS OUT")?);
    // (clip, first frame, frames, crop x, y, w, h): scrolling text, a
    // scrolled page with a photo, the video player.
    let cuts = [
        ("terminal", 20, 5, 0, 400, 128, 96),
        ("terminal", 120, 4, 200, 200, 128, 96),
        ("web", 8, 5, 400, 300, 128, 96),
        ("web", 20, 4, 900, 200, 160, 128),
        ("video", 4, 5, 500, 300, 254, 192),
    ];
    for (clip, first, n, x, y, w, h) in cuts {
        let frames = (first..first + n)
            .map(|i| {
                crop(
                    &corpus.join(clip).join(format!("frame_{i:04}.png")),
                    x,
                    y,
                    w,
                    h,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        write_seeds(&out, &format!("{clip}-{first}"), w, h, &frames)?;
    }
    // Synthetic: two tabs switched back and forth, then a window dragged
    // over a noisy background (SAVE, USE and column splits).
    let (w, h) = (128u32, 96u32);
    let page = |seed: u32| -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                let on = ((x / 6 + seed) * 7 + (y / 9) * 13).is_multiple_of(5);
                if on {
                    [20, 30, 40, 0]
                } else {
                    [240, 240, 230, 0]
                }
            })
            .collect()
    };
    let (a, b) = (page(1), page(2));
    let tabs = [&a, &a, &a, &b, &b, &b, &a, &b].map(|f| f.clone());
    write_seeds(&out, "tabs", w, h, &tabs)?;
    let mut s = 9u32;
    let bg: Vec<u8> = (0..w * h * 4)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as u8
        })
        .collect();
    let window = |wx: u32, wy: u32| -> Vec<u8> {
        let mut v = bg.clone();
        for y in wy..wy + 40 {
            for x in wx..wx + 50 {
                let i = ((y * w + x) * 4) as usize;
                v[i..i + 3].copy_from_slice(&[(x * 5) as u8, (y * 3) as u8, 90]);
            }
        }
        v
    };
    let drag: Vec<Vec<u8>> = [bg.clone(), bg.clone(), bg.clone()]
        .into_iter()
        .chain(
            [(10, 10), (10, 10), (10, 10), (17, 14), (24, 18), (31, 22)].map(|(x, y)| window(x, y)),
        )
        .collect();
    write_seeds(&out, "drag", w, h, &drag)?;
    // A page dimmed by a modal's overlay in two steps and back (TRANSFORM;
    // 16 tiles, enough for the encoder's tone search).
    let (w, h) = (255u32, 255u32);
    let page: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            if ((x / 6) * 7 + (y / 9) * 13).is_multiple_of(5) {
                [20, 30, 40, 0]
            } else {
                [(x / 64) as u8 * 40 + 60, 240, (y / 48) as u8 * 30 + 90, 0]
            }
        })
        .collect();
    let dim = |a: u32| -> Vec<u8> {
        page.iter()
            .map(|&v| ((u32::from(v) * (255 - a) + 127) / 255) as u8)
            .collect()
    };
    let dims = [
        page.clone(),
        page.clone(),
        dim(64),
        dim(128),
        dim(128),
        page.clone(),
    ];
    write_seeds(&out, "dim", w, h, &dims)?;
    // A dialog closed and shown again 37,21 px away, off the tile grid (USE
    // ops cutting pieces out of saved tiles). 16 grey levels: exact, so it
    // is cached, and varied enough for the shift search's anchors.
    let dialog = |dx: u32, dy: u32| -> Vec<u8> {
        let mut v = page.clone();
        for y in 0..130u32 {
            for x in 0..130u32 {
                let mix = ((x / 2).wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503))
                    .wrapping_mul(2_246_822_519);
                let c = ((mix >> 17) & 15) as u8 * 16;
                let i = (((dy + y) * w + dx + x) * 4) as usize;
                v[i..i + 3].copy_from_slice(&[c, c, 255 - c]);
            }
        }
        v
    };
    let (d1, d2) = (dialog(23, 39), dialog(60, 60));
    let shifted = [&page, &page, &page, &d1, &d1, &d1, &page, &page, &page, &d2].map(|f| f.clone());
    write_seeds(&out, "shifted", w, h, &shifted)?;
    Ok(())
}
