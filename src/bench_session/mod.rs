//! `tandem bench --session`: a live session end to end, the harness issue 8 is tuned against.
//!
//! Two Xvfb displays of the same size: A, the shared desktop (a photo-like wallpaper and an
//! xterm), and B, the technician's, where the viewer runs full screen. Each stack (Tandem, and with
//! `--compare` the VNC peers) gets a fresh pair of displays and runs the same script
//! (`phases.rs`); per phase it reports bytes host → viewer, CPU of each process, the frames the
//! viewer put on its screen, and for the key-press probe the input-to-pixel latency read back
//! from B's screen. A benchmark, not a test: nothing here asserts a number.

mod child;
mod measure;
mod phases;
mod report;
mod stacks;
mod x11;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tandem_xvfb::VirtualDisplay;

use report::{Setup, StackReport};
use stacks::{Displays, StackKind, Workdir};

#[derive(Args)]
pub struct SessionArgs {
    /// With --session: the tandem binary to measure (default: this one). Use a release build
    /// for numbers.
    #[arg(long, value_name = "PATH", requires = "session")]
    tandem: Option<PathBuf>,
    /// With --session: also run the script with these peers, in the same run
    /// (vnc = tigervnc and x11vnc).
    #[arg(long, value_enum, value_delimiter = ',', requires = "session")]
    compare: Vec<Peer>,
    /// With --session: seconds of a still screen.
    #[arg(long, default_value_t = 10.0, requires = "session")]
    still: f64,
    /// With --session: seconds of each of the typing, scrolling and drag phases.
    #[arg(long, default_value_t = 10.0, requires = "session")]
    phase: f64,
    /// With --session: key presses of the latency probe.
    #[arg(long, default_value_t = 40, requires = "session")]
    probes: usize,
    /// With --session: `tandem share --fps`.
    #[arg(long, default_value_t = 60, requires = "session")]
    fps: u32,
    /// With --session: write PNGs of both screens per stack, once the viewer shows A, here.
    #[arg(long, value_name = "DIR", requires = "session")]
    screenshots: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Peer {
    Vnc,
    Tigervnc,
    X11vnc,
}

/// Both displays' size: what the issue measures at.
const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;

pub fn run(args: SessionArgs, json: bool) -> anyhow::Result<ExitCode> {
    let tandem = match args.tandem {
        Some(path) => path,
        None => std::env::current_exe().context("finding this tandem binary")?,
    };
    let mut kinds = vec![StackKind::Tandem];
    for peer in &args.compare {
        let add: &[StackKind] = match peer {
            Peer::Vnc => &[StackKind::Tigervnc, StackKind::X11vnc],
            Peer::Tigervnc => &[StackKind::Tigervnc],
            Peer::X11vnc => &[StackKind::X11vnc],
        };
        for kind in add {
            if !kinds.contains(kind) {
                kinds.push(*kind);
            }
        }
    }
    let script = Script {
        still: Duration::from_secs_f64(args.still.max(0.0)),
        phase: Duration::from_secs_f64(args.phase.max(0.1)),
        probes: args.probes,
    };
    let work = std::env::temp_dir().join(format!("tandem-bench-session-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    if let Some(dir) = &args.screenshots {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut reports = Vec::new();
    for kind in kinds {
        eprintln!("bench --session: {} ...", kind.name());
        let stack_work = work.join(kind.name());
        std::fs::create_dir_all(&stack_work)?;
        let run = run_stack(
            kind,
            &tandem,
            args.fps,
            &script,
            &stack_work,
            args.screenshots.as_deref(),
        );
        match run {
            Ok(phases) => reports.push(StackReport {
                stack: kind.name(),
                skipped: None,
                phases,
            }),
            // Tandem is what is measured; without it there is nothing to compare.
            Err(error) if kind == StackKind::Tandem => {
                return Err(error.context(format!(
                    "measuring Tandem (logs kept in {})",
                    stack_work.display()
                )));
            }
            Err(error) => {
                eprintln!("bench --session: {} skipped: {error:#}", kind.name());
                reports.push(StackReport {
                    stack: kind.name(),
                    skipped: Some(format!("{error:#}")),
                    phases: Vec::new(),
                });
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    let setup = Setup {
        width: WIDTH,
        height: HEIGHT,
        tandem: tandem.display().to_string(),
        fps: args.fps,
    };
    if json {
        println!("{}", report::to_json(&setup, &reports));
    } else {
        print!("{}", report::table(&setup, &reports));
    }
    Ok(ExitCode::SUCCESS)
}

struct Script {
    still: Duration,
    phase: Duration,
    probes: usize,
}

/// One stack on a fresh pair of displays, through the whole script.
fn run_stack(
    kind: StackKind,
    tandem: &Path,
    fps: u32,
    script: &Script,
    work: &Path,
    screenshots: Option<&Path>,
) -> anyhow::Result<Vec<report::PhaseReport>> {
    let mut shared = VirtualDisplay::start(WIDTH, HEIGHT).context("starting Xvfb for display A")?;
    let technician = VirtualDisplay::start(WIDTH, HEIGHT).context("starting Xvfb for display B")?;
    let (a, b) = (shared.name().to_owned(), technician.name().to_owned());
    x11::paint_wallpaper(&a, WIDTH as u16, HEIGHT as u16)?;
    let geometry = format!("100x30+{}+{}", phases::XTERM_AT.0, phases::XTERM_AT.1);
    shared.spawn(
        "xterm",
        [
            "-T",
            "benchterm",
            "-geometry",
            &geometry,
            "-bg",
            "black",
            "-fg",
            "white",
            "-fa",
            "Monospace",
            "-fs",
            "14",
        ],
    )?;
    let xterm = stacks::find_window(&a, "benchterm")?;
    // Both pointers out of the way, before the viewer exists: they stay still from here on.
    let corner = [(WIDTH - 10).to_string(), (HEIGHT - 10).to_string()];
    for display in [&a, &b] {
        stacks::xdotool(display, &["mousemove", &corner[0], &corner[1]])?;
    }
    let displays = Displays {
        shared: &a,
        technician: &b,
        width: WIDTH,
        height: HEIGHT,
    };
    let watch = x11::ScreenWatch::start(&b)?;
    let shared_watch = x11::ScreenWatch::start(&a)?;
    let stack = stacks::start(kind, tandem, fps, &displays, &Workdir { path: work })?;
    // Quiet for a while: vncviewer shows a notice for its first seconds.
    watch
        .wait_quiet(Duration::from_secs(5), Duration::from_secs(60))
        .context("waiting for the viewer to show display A")?;
    if let Some(dir) = screenshots {
        for (display, side) in [(&a, "shared"), (&b, "viewer")] {
            x11::Grabber::new(display)?
                .save_png(&dir.join(format!("{}-{side}.png", kind.name())))?;
        }
    }
    let mut measured: Vec<(&'static str, u32)> = stack
        .processes
        .iter()
        .map(|(role, process)| (*role, process.pid()))
        .collect();
    // Drawing is paid partly by the X servers: the viewer's presents on B, the capture on A.
    measured.push(("xserver_shared", shared.server_pid()));
    measured.push(("xserver_viewer", technician.server_pid()));
    let bench = phases::Bench {
        stack: &stack,
        measured,
        watch: &watch,
        shared_watch: &shared_watch,
        shared: &a,
        technician: &b,
        xterm: &xterm,
    };
    let reports = bench.run(script.still, script.phase, script.probes)?;
    // The stack goes before its displays.
    drop(stack);
    drop(technician);
    drop(shared);
    Ok(reports)
}
