//! Composites a "window dragged over the wallpaper and a photo" clip from
//! real corpus frames, for `tandem bench --corpus`: the video clip's first
//! frame (gradient wallpaper, a photo in the player window, a clock, a
//! terminal) is the desktop; a 720x480 crop of the terminal clip is the
//! window, dragged along a path with pauses, over the wallpaper, across the
//! photo and back. Not a screen recording (no compositor, no cursor, no
//! redraw delays): a stand-in until one is made with make_corpus.sh.
//!
//!     cargo run --release -p tandem-codec --example drag_clip -- ../shared/bench/corpus /tmp/drag-corpus/drag
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let corpus = PathBuf::from(args.next().ok_or("usage: drag_clip CORPUS OUT_DIR")?);
    let out = PathBuf::from(args.next().ok_or("usage: drag_clip CORPUS OUT_DIR")?);
    std::fs::create_dir_all(&out)?;
    let desk = image::open(corpus.join("video/frame_0001.png"))?.to_rgb8();
    let term = image::open(corpus.join("terminal/frame_0150.png"))?.to_rgb8();
    let (ww, wh) = (720u32, 480u32);
    // Title-bar-like strip so the window has an edge.
    let window = image::RgbImage::from_fn(ww, wh, |x, y| {
        if y < 24 {
            image::Rgb([70, 90, 140])
        } else {
            *term.get_pixel(x + 20, y + 100)
        }
    });
    // Waypoints (x, y, frames to get there); 0 frames = pause of 4 frames.
    let path = [
        (760u32, 80u32, 0u32),
        (1000, 200, 12),
        (1000, 200, 0),
        (700, 420, 14),
        (700, 420, 0),
        (1100, 560, 10),
        (300, 300, 16),
        (300, 300, 0),
    ];
    let mut frames: Vec<(u32, u32)> = vec![(760, 80); 4];
    let mut at = (760i64, 80i64);
    for &(x, y, n) in &path[1..] {
        if n == 0 {
            frames.extend(std::iter::repeat_n((x, y), 4));
            continue;
        }
        for i in 1..=n as i64 {
            let p = (
                at.0 + (x as i64 - at.0) * i / n as i64,
                at.1 + (y as i64 - at.1) * i / n as i64,
            );
            frames.push((p.0 as u32, p.1 as u32));
        }
        at = (x as i64, y as i64);
    }
    for (i, &(x, y)) in frames.iter().enumerate() {
        let mut f = desk.clone();
        image::imageops::replace(&mut f, &window, i64::from(x), i64::from(y));
        f.save(out.join(format!("frame_{:04}.png", i + 1)))?;
    }
    println!("{} frames in {}", frames.len(), out.display());
    Ok(())
}
