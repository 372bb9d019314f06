//! `tandem play FILE`: replays a session recording in a window (1x/2x/4x, pause, seek), or with
//! `--png-at SECONDS OUT.png` decodes it headless to that time and writes the picture as a PNG.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use tandem_i18n::tr;
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
    let replay = Replay::open(&args.file)
        .with_context(|| tr!("play-cannot-open", path = args.file.display().to_string()))?;
    let info = json!({
        "path": args.file,
        "duration_ms": replay.duration_ms(),
        "updates": replay.updates(),
        "truncated": replay.truncated(),
        "damaged": replay.damaged().map(|e| e.to_string()),
    });
    out.event("recording_opened", info, || {
        let mut text = tr!(
            "play-opened",
            path = args.file.display().to_string(),
            seconds = tandem_i18n::decimal(f64::from(replay.duration_ms()) / 1000.0, 1),
            updates = replay.updates()
        );
        if replay.truncated() {
            text.push(' ');
            text.push_str(&tr!("play-truncated"));
        }
        if let Some(e) = replay.damaged() {
            text.push(' ');
            text.push_str(&tr!("play-damaged", error = e.to_string()));
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
                .with_context(|| tr!("play-png-at-time"))?;
            let t_ms = (seconds * 1000.0).round().min(f64::from(u32::MAX)) as u32;
            playback.seek(t_ms).with_context(|| {
                tr!(
                    "play-cannot-decode",
                    path = args.file.display().to_string(),
                    seconds = seconds
                )
            })?;
            let (width, height, rgba) = playback.picture();
            let png = PathBuf::from(png);
            image::save_buffer(&png, rgba, width, height, image::ExtendedColorType::Rgba8)
                .with_context(|| tr!("play-cannot-write", path = png.display().to_string()))?;
            out.event(
                "frame_written",
                json!({ "path": png, "t_ms": t_ms, "width": width, "height": height }),
                || {
                    tr!(
                        "play-frame-written",
                        seconds = seconds,
                        width = width,
                        height = height,
                        path = png.display().to_string()
                    )
                },
            );
        }
        Some(_) => anyhow::bail!("{}", tr!("play-png-at-time")),
        None => {
            anyhow::ensure!(crate::have_display(), "{}", tr!("play-no-display"));
            let title = tr!("play-title", path = args.file.display().to_string());
            tandem_viewer::player::run(title, playback).map_err(|e| {
                anyhow::anyhow!("{}", tr!("play-window-failed", error = e.to_string()))
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
