//! The remote-desktop stacks the benchmark runs between display A (shared) and display B (the
//! technician's): Tandem (relay + share + join window), TigerVNC (X0tigervnc, the server behind
//! x0vncserver, + vncviewer) and
//! x11vnc (+ the same vncviewer). Each is started the way a user would run it, with the viewer
//! full screen on B, and handed back with its processes and its byte counter.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::child::Spawned;
use super::measure::ByteCounter;

/// How long one step of starting a stack may take (a debug build on a busy machine is slow).
const STEP: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StackKind {
    Tandem,
    Tigervnc,
    X11vnc,
}

impl StackKind {
    pub fn name(self) -> &'static str {
        match self {
            StackKind::Tandem => "tandem",
            StackKind::Tigervnc => "tigervnc",
            StackKind::X11vnc => "x11vnc",
        }
    }

    /// The programs this stack needs on PATH (Tandem's binary is passed in).
    pub fn programs(self) -> &'static [&'static str] {
        match self {
            StackKind::Tandem => &[],
            StackKind::Tigervnc => &["X0tigervnc", "vncviewer"],
            StackKind::X11vnc => &["x11vnc", "vncviewer"],
        }
    }
}

/// A running stack.
pub struct Stack {
    pub kind: StackKind,
    /// (role, process): "relay", "host", "viewer".
    pub processes: Vec<(&'static str, Spawned)>,
    pub bytes: ByteCounter,
    /// The viewer's top-level window on display B.
    pub viewer_window: String,
}

pub struct Displays<'a> {
    pub shared: &'a str,
    pub technician: &'a str,
    pub width: u32,
    pub height: u32,
}

/// Where the stacks keep their logs and throwaway data.
pub struct Workdir<'a> {
    pub path: &'a Path,
}

impl Workdir<'_> {
    fn log(&self, name: &str) -> PathBuf {
        self.path.join(format!("{name}.log"))
    }
}

pub fn start(
    kind: StackKind,
    tandem: &Path,
    fps: u32,
    displays: &Displays<'_>,
    work: &Workdir<'_>,
) -> anyhow::Result<Stack> {
    for program in kind.programs() {
        if !on_path(program) {
            bail!(
                "{program} is not installed (scripts/install-deps.sh --review installs the VNC peers)"
            );
        }
    }
    let mut stack = match kind {
        StackKind::Tandem => start_tandem(tandem, fps, displays, work)?,
        StackKind::Tigervnc | StackKind::X11vnc => start_vnc(kind, displays, work)?,
    };
    let (w, h) = (displays.width.to_string(), displays.height.to_string());
    let full = |window: &str| {
        xdotool(
            displays.technician,
            &["getwindowgeometry", "--shell", window],
        )
        .is_ok_and(|geometry| {
            geometry.contains(&format!("WIDTH={w}\n"))
                && geometry.contains(&format!("HEIGHT={h}\n"))
        })
    };
    let window = match kind {
        // No window manager on B: place and size the window ourselves.
        StackKind::Tandem => {
            let window = stack.viewer_window.clone();
            xdotool(displays.technician, &["windowmove", &window, "0", "0"])?;
            xdotool(displays.technician, &["windowsize", &window, &w, &h])?;
            wait_for(STEP, "the viewer window to fill display B", || {
                full(&window).then_some(window.clone())
            })?
        }
        // vncviewer goes full screen itself, through a new window: wait for that one.
        _ => {
            let pid = stack
                .processes
                .iter()
                .find(|(role, _)| *role == "viewer")
                .map(|(_, p)| p.pid().to_string())
                .context("a VNC stack without its viewer")?;
            wait_for(STEP, "vncviewer's full-screen window", || {
                xdotool(
                    displays.technician,
                    &["search", "--onlyvisible", "--pid", &pid],
                )
                .ok()?
                .lines()
                .find(|window| full(window))
                .map(str::to_owned)
            })?
        }
    };
    stack.viewer_window.clone_from(&window);
    xdotool(displays.technician, &["windowfocus", "--sync", &window])?;
    for (role, process) in &mut stack.processes {
        if !process.running() {
            let log = std::fs::read_to_string(work.log(&process.name)).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(4).collect();
            bail!(
                "the {role} ({}) exited; its log ends: {}",
                process.name,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            );
        }
    }
    Ok(stack)
}

fn start_tandem(
    tandem: &Path,
    fps: u32,
    displays: &Displays<'_>,
    work: &Workdir<'_>,
) -> anyhow::Result<Stack> {
    let spawn = |name: &str, args: Vec<String>, display: Option<&str>| {
        Spawned::start(
            name,
            tandem,
            &args,
            display,
            work.path,
            &work.log(name),
            true,
        )
    };
    let relay_data = work.path.join("relay");
    let mut relay = spawn(
        "relay",
        strings(&[
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--json",
            "--data-dir",
            &relay_data.to_string_lossy(),
        ]),
        None,
    )?;
    let listening = relay.wait_event("listening", STEP)?;
    let field = |name: &str| -> anyhow::Result<String> {
        listening[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the relay's listening event has no {name}"))
    };
    let (addr, fingerprint) = (field("addr")?, field("fingerprint")?);
    let metrics: SocketAddr = field("metrics")?
        .parse()
        .context("the relay's metrics address")?;
    let relay_flags = ["--relay", &addr, "--fingerprint", &fingerprint];
    let fps = fps.to_string();
    let mut share_args = strings(&["share"]);
    share_args.extend(strings(&relay_flags));
    share_args.extend(strings(&[
        "--json",
        "--no-window",
        "--auto-accept",
        "control",
        "--fps",
        &fps,
    ]));
    let mut share = spawn("share", share_args, Some(displays.shared))?;
    let code = share.wait_event("code_issued", STEP)?["code"]
        .as_str()
        .map(str::to_owned)
        .context("the code_issued event has no code")?;
    let mut join_args = strings(&["join", &code]);
    join_args.extend(strings(&relay_flags));
    join_args.extend(strings(&[
        "--json",
        "--name",
        "bench",
        "--outcome",
        "resolved",
    ]));
    let mut join = spawn("join", join_args, Some(displays.technician))?;
    join.wait_event_where("permissions", STEP, |e| e["control"] == true)?;
    join.wait_event("first_frame", STEP)?;
    let viewer_window = find_window(displays.technician, "Tandem")?;
    Ok(Stack {
        kind: StackKind::Tandem,
        processes: vec![("relay", relay), ("host", share), ("viewer", join)],
        bytes: ByteCounter::RelayMetrics(metrics),
        viewer_window,
    })
}

fn start_vnc(
    kind: StackKind,
    displays: &Displays<'_>,
    work: &Workdir<'_>,
) -> anyhow::Result<Stack> {
    let port = free_tcp_port()?;
    let port_arg = port.to_string();
    let (program, args) = match kind {
        StackKind::Tigervnc => (
            // The server itself: Debian's x0vncserver is a wrapper that starts it in the
            // background and exits.
            "X0tigervnc",
            // TigerVNC's defaults otherwise (polling and encodings as shipped).
            strings(&[
                "-display",
                displays.shared,
                "-rfbport",
                &port_arg,
                "-localhost",
                "-SecurityTypes",
                "None",
            ]),
        ),
        _ => (
            "x11vnc",
            strings(&[
                "-display",
                displays.shared,
                "-rfbport",
                &port_arg,
                "-localhost",
                "-nopw",
                "-forever",
                "-shared",
                "-quiet",
            ]),
        ),
    };
    let server = Spawned::start(
        kind.name(),
        Path::new(program),
        &args,
        Some(displays.shared),
        work.path,
        &work.log(kind.name()),
        false,
    )?;
    // Asked of the kernel rather than by connecting, so the server sees only the real viewer.
    wait_for(STEP, "the VNC server to listen", || {
        let listening = Command::new("ss")
            .args(["-tlnH"])
            .arg(format!("( sport = :{port} )"))
            .output()
            .ok()?;
        (!listening.stdout.is_empty()).then_some(())
    })?;
    let viewer = Spawned::start(
        "vncviewer",
        Path::new("vncviewer"),
        &strings(&[
            "-FullScreen",
            "-SecurityTypes",
            "None",
            &format!("127.0.0.1::{port}"),
        ]),
        Some(displays.technician),
        work.path,
        &work.log("vncviewer"),
        false,
    )?;
    // vncviewer names its window only through the window manager's properties; `start` finds
    // it by pid once it is full screen.
    let viewer_window = String::new();
    Ok(Stack {
        kind,
        processes: vec![("host", server), ("viewer", viewer)],
        bytes: ByteCounter::TcpServerPort(port),
        viewer_window,
    })
}

/// A TCP port nobody listens on now (the server binds it a moment later).
fn free_tcp_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free TCP port")?;
    Ok(listener.local_addr()?.port())
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Runs `xdotool` on `display`; its stdout.
pub fn xdotool(display: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .context("running xdotool (scripts/install-deps.sh installs it)")?;
    if !output.status.success() {
        bail!(
            "xdotool {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The first visible window on `display` whose name contains `name`.
pub fn find_window(display: &str, name: &str) -> anyhow::Result<String> {
    wait_for(STEP, &format!("a window named {name} on {display}"), || {
        xdotool(display, &["search", "--onlyvisible", "--name", name])
            .ok()?
            .lines()
            .next()
            .map(str::to_owned)
    })
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `timeout`.
pub fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
