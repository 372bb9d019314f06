//! Composites a "modal dialog dims the page" clip from a real corpus frame,
//! for `tandem bench --corpus`: the web clip's first frame (text and a
//! photo) is the page; a modal opens with a 150 ms fade of a black overlay
//! to 50 % (three frames at 20 fps, as a browser composites it:
//! `round(v * (255 - a) / 255)`) and a dialog box (a crop of the terminal
//! clip under a title strip) in the middle, stays open, and closes with the
//! reverse fade; twice. Not a screen recording: a stand-in until one is
//! made with make_corpus.sh.
//!
//!     cargo run --release -p tandem-codec --example dim_clip -- ../shared/bench/corpus /tmp/dim-corpus/dim
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let corpus = PathBuf::from(args.next().ok_or("usage: dim_clip CORPUS OUT_DIR")?);
    let out = PathBuf::from(args.next().ok_or("usage: dim_clip CORPUS OUT_DIR")?);
    std::fs::create_dir_all(&out)?;
    let page = image::open(corpus.join("web/frame_0001.png"))?.to_rgb8();
    let term = image::open(corpus.join("terminal/frame_0150.png"))?.to_rgb8();
    let (dw, dh) = (640u32, 360u32);
    let dialog = image::RgbImage::from_fn(dw, dh, |x, y| {
        if y < 32 {
            image::Rgb([245, 245, 245])
        } else {
            *term.get_pixel(x + 40, y + 200)
        }
    });
    let dimmed = |a: u32| {
        let mut f = page.clone();
        for p in f.pixels_mut() {
            for c in &mut p.0 {
                *c = ((u32::from(*c) * (255 - a) + 127) / 255) as u8;
            }
        }
        f
    };
    // Overlay alpha per frame: closed, fading in, open with the dialog,
    // fading out; twice.
    let mut alphas: Vec<(u32, bool)> = Vec::new();
    for _ in 0..2 {
        alphas.extend(std::iter::repeat_n((0, false), 5));
        alphas.extend([(43, false), (86, false), (128, true)]);
        alphas.extend(std::iter::repeat_n((128, true), 8));
        alphas.extend([(86, false), (43, false)]);
    }
    alphas.extend(std::iter::repeat_n((0, false), 5));
    let (px, py) = ((page.width() - dw) / 2, (page.height() - dh) / 2);
    for (i, &(a, with_dialog)) in alphas.iter().enumerate() {
        let mut f = if a == 0 { page.clone() } else { dimmed(a) };
        if with_dialog {
            image::imageops::replace(&mut f, &dialog, i64::from(px), i64::from(py));
        }
        f.save(out.join(format!("frame_{:04}.png", i + 1)))?;
    }
    println!("{} frames in {}", alphas.len(), out.display());
    Ok(())
}
