//! `tandem play FILE`: replays a session recording in a window (1x/2x/4x, pause, seek), or with
//! `--png-at SECONDS OUT.png` decodes it headless to that time and writes the picture as a PNG.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use tandem_recording::{Playback, Replay};

use crate::output::Output;

#[derive(Args)]
pub struct PlayArgs {
    /// The recording (`join --record FILE`, or the viewer's Record button).
    file: PathBuf,
    /// Decode to this time (seconds from the start, e.g. 12.5) and write the picture to OUT.png
    /// instead of opening a window.
    #[arg(long, num_args = 2, value_names = ["SECONDS", "OUT.png"])]
    png_at: Option<Vec<String>>,
    /// One JSON object per line for each event.
    #[arg(long)]
    json: bool,
}

pub fn run(args: PlayArgs) -> anyhow::Result<ExitCode> {
    let out = Output { json: args.json };
    let replay =
        Replay::open(&args.file).with_context(|| format!("cannot play {}", args.file.display()))?;
    let info = json!({
        "path": args.file,
        "duration_ms": replay.duration_ms(),
        "updates": replay.updates(),
        "truncated": replay.truncated(),
        "damaged": replay.damaged().map(|e| e.to_string()),
    });
    out.event("recording_opened", info, || {
        let mut text = format!(
            "{}: {:.1} s, {} screen updates",
            args.file.display(),
            f64::from(replay.duration_ms()) / 1000.0,
            replay.updates()
        );
        if replay.truncated() {
            text.push_str(" (the file is cut short: it plays up to its last whole record)");
        }
        if let Some(e) = replay.damaged() {
            text.push_str(&format!(" (unreadable past a point: {e})"));
        }
        text
    });
    let mut playback = Playback::new(replay);
    match args.png_at.as_deref() {
        Some([seconds, png]) => {
            let seconds: f64 = seconds
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .context("--png-at takes a time in seconds (e.g. 12.5) and a file name")?;
            let t_ms = (seconds * 1000.0).round().min(f64::from(u32::MAX)) as u32;
            playback
                .seek(t_ms)
                .with_context(|| format!("cannot decode {} to {seconds} s", args.file.display()))?;
            let (width, height, rgba) = playback.picture();
            let png = PathBuf::from(png);
            image::save_buffer(&png, rgba, width, height, image::ExtendedColorType::Rgba8)
                .with_context(|| format!("cannot write {}", png.display()))?;
            out.event(
                "frame_written",
                json!({ "path": png, "t_ms": t_ms, "width": width, "height": height }),
                || {
                    format!(
                        "Wrote the picture at {seconds} s ({width}x{height}) to {}",
                        png.display()
                    )
                },
            );
        }
        Some(_) => anyhow::bail!("--png-at takes a time in seconds and a file name"),
        None => {
            anyhow::ensure!(
                crate::have_display(),
                "no display to open the player on: use --png-at SECONDS OUT.png"
            );
            let title = format!("Tandem recording — {}", args.file.display());
            tandem_viewer::player::run(title, playback)
                .map_err(|e| anyhow::anyhow!("the player window failed: {e}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
