//! `tandem demo`: a whole session on this machine — an embedded relay on loopback, `tandem share` and
//! `tandem join` as real child processes. With no display it starts its own Xvfb with live content
//! and runs the viewer headless, then reports what the viewer received.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;
use tandem_i18n::tr;
use tandem_proto::text::for_display;
use tandem_relay::{Relay, RelayConfig};
use tandem_xvfb::VirtualDisplay;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct DemoArgs {
    /// Use a virtual display and a headless viewer even when a display is present.
    #[arg(long)]
    headless: bool,
    /// Headless: how long the session runs, in seconds.
    #[arg(long, default_value_t = 6)]
    seconds: u64,
    /// Headless: where to write the PNG of what the viewer decoded.
    #[arg(long)]
    snapshot: Option<PathBuf>,
}

/// How long a child may take to reach its next step.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let headless = args.headless || !crate::have_display();
    let exe = std::env::current_exe().with_context(|| tr!("demo-finding-executable"))?;

    // The screen to share: a fresh virtual display with something moving on it, or this one.
    let mut virtual_display = None;
    let share_display = if headless {
        println!("{}", tr!("demo-starting-xvfb"));
        let mut display =
            VirtualDisplay::start(1280, 800).with_context(|| tr!("demo-xvfb-failed"))?;
        if display
            .spawn(
                "xterm",
                ["-geometry", "110x32+20+20", "-e", "top", "-d", "0.5"],
            )
            .is_err()
        {
            println!("{}", tr!("demo-no-xterm"));
        }
        let name = display.name().to_owned();
        virtual_display = Some(display);
        name
    } else {
        std::env::var("DISPLAY").unwrap_or_default()
    };

    let runtime = crate::runtime()?;
    let data_dir = std::env::temp_dir().join(format!("tandem-demo-{}", std::process::id()));
    let relay = runtime
        .block_on(Relay::bind(RelayConfig::new(
            ([127, 0, 0, 1], 0).into(),
            data_dir.clone(),
        )))
        .with_context(|| tr!("demo-relay-failed"))?;
    let relay_addr = relay.local_addr().to_string();
    let fingerprint = relay.fingerprint().to_string();
    let shutdown = CancellationToken::new();
    let serving = runtime.spawn(relay.run(shutdown.clone()));
    println!(
        "{}",
        tr!(
            "demo-relay-listening",
            addr = relay_addr.to_string(),
            fingerprint = fingerprint.to_string()
        )
    );

    let result = session(
        &exe,
        &relay_addr,
        &fingerprint,
        &share_display,
        headless,
        &args,
    );

    shutdown.cancel();
    let _ = runtime.block_on(serving);
    let _ = std::fs::remove_dir_all(&data_dir);
    drop(virtual_display);
    result
}

fn session(
    exe: &std::path::Path,
    relay: &str,
    fingerprint: &str,
    share_display: &str,
    headless: bool,
    args: &DemoArgs,
) -> anyhow::Result<ExitCode> {
    let relay_flags = ["--relay", relay, "--fingerprint", fingerprint];
    // The windows speak the demo's language.
    let lang = ["--lang", tandem_i18n::language().code()];
    let mut share = Command::new(exe);
    share
        .arg("share")
        .args(relay_flags)
        .args(lang)
        .args(["--auto-accept", "control", "--json"])
        // The demo ends from the viewer; nobody is there to answer "how did it go?".
        .arg("--no-feedback")
        .env("DISPLAY", share_display);
    let (mut share, share_events) = ChildGuard::spawn(share, "tandem share")?;

    let code = loop {
        let event = share_events.next("tandem share")?;
        match event["event"].as_str() {
            Some("code_issued") => break event["code"].as_str().unwrap_or_default().to_owned(),
            Some("session_ended") => bail!(
                "{}",
                tr!(
                    "demo-share-ended",
                    reason = for_display(event["reason"].as_str().unwrap_or_default()).into_owned()
                )
            ),
            _ => {}
        }
    };
    println!("{}", tr!("demo-code-issued", code = code.as_str()));

    let snapshot = args
        .snapshot
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("tandem-demo-viewer.png"));
    let mut join = Command::new(exe);
    join.arg("join")
        .arg(&code)
        .args(lang)
        .args(relay_flags)
        .args(["--name", tr!("demo-technician-name").as_str(), "--json"]);
    if headless {
        join.args(["--headless", "--duration", &args.seconds.to_string()])
            .arg("--snapshot")
            .arg(&snapshot);
    }
    let (mut join, join_events) = ChildGuard::spawn(join, "tandem join")?;
    if !headless {
        println!("{}", tr!("demo-window-open"));
    }

    let mut summary = None;
    let mut snapshot_written = None;
    let mut ended = None;
    while ended.is_none() {
        // A windowed demo lasts as long as the person keeps the window open.
        let event = join_events.next_within("tandem join", Duration::from_secs(24 * 3600))?;
        match event["event"].as_str() {
            Some("secured") => println!(
                "{}",
                tr!(
                    "demo-secured",
                    verifier = event["verifier"].as_str().unwrap_or("?")
                )
            ),
            Some("permissions") => println!(
                "{}",
                tr!(
                    "demo-permissions",
                    view = event["view"].to_string(),
                    control = event["control"].to_string()
                )
            ),
            Some("stats") => println!(
                "  {}",
                tr!(
                    "demo-stats",
                    frames = event["frames"].to_string(),
                    fps = tandem_i18n::decimal(event["fps"].as_f64().unwrap_or(0.0), 1),
                    per_frame = event["bytes_per_frame"].to_string()
                )
            ),
            Some("summary") => summary = Some(event),
            Some("session_ended") => {
                // The reason can quote the host's End detail.
                ended = Some(for_display(event["reason"].as_str().unwrap_or("")).into_owned())
            }
            _ => {}
        }
    }
    // The snapshot event follows session_ended.
    while let Ok(event) = join_events.next_within("tandem join", Duration::from_secs(10)) {
        if event["event"] == "snapshot" {
            snapshot_written = event["path"].as_str().map(PathBuf::from);
        }
    }
    let join_status = join.wait_for(Duration::from_secs(10));
    let share_status = share.wait_for(Duration::from_secs(10));

    println!();
    println!(
        "{}",
        tr!("cli-session-ended", reason = ended.unwrap_or_default())
    );
    if let Some(summary) = summary {
        println!(
            "{}",
            tr!(
                "demo-summary",
                frames = summary["frames"].to_string(),
                seconds = tandem_i18n::decimal(summary["seconds"].as_f64().unwrap_or(0.0), 1),
                fps = tandem_i18n::decimal(summary["fps"].as_f64().unwrap_or(0.0), 1),
                per_frame = summary["bytes_per_frame"].to_string()
            )
        );
    }
    if let Some(path) = snapshot_written {
        println!(
            "{}",
            tr!("demo-snapshot", path = path.display().to_string())
        );
    }
    match (join_status, share_status) {
        (Some(true), Some(true)) => Ok(ExitCode::SUCCESS),
        (join, share) => {
            bail!(
                "{}",
                tr!(
                    "demo-unclean-exit",
                    join = format!("{join:?}"),
                    share = format!("{share:?}")
                )
            )
        }
    }
}

/// A child process killed on drop, whose stdout JSON events are read on a thread.
struct ChildGuard(Child);

struct Events(mpsc::Receiver<Value>);

impl ChildGuard {
    fn spawn(mut command: Command, what: &str) -> anyhow::Result<(Self, Events)> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| tr!("demo-starting", what = what))?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("tandem-demo-events".into())
            .spawn(move || forward_events(stdout, tx))
            .context("starting a reader thread")?;
        Ok((Self(child), Events(rx)))
    }

    /// Waits up to `timeout` for a clean exit; kills it after that.
    fn wait_for(&mut self, timeout: Duration) -> Option<bool> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status.success());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn forward_events(stdout: ChildStdout, tx: mpsc::Sender<Value>) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { return };
        if let Ok(value) = serde_json::from_str::<Value>(&line)
            && tx.send(value).is_err()
        {
            return;
        }
    }
}

impl Events {
    fn next(&self, what: &str) -> anyhow::Result<Value> {
        self.next_within(what, STEP_TIMEOUT)
    }

    fn next_within(&self, what: &str, timeout: Duration) -> anyhow::Result<Value> {
        match self.0.recv_timeout(timeout) {
            Ok(value) => Ok(value),
            Err(mpsc::RecvTimeoutError::Timeout) => bail!(
                "{}",
                tr!(
                    "demo-child-silent",
                    what = what,
                    seconds = timeout.as_secs()
                )
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                bail!("{}", tr!("demo-child-exited", what = what))
            }
        }
    }
}
