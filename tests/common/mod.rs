//! Harness for end-to-end tests: real `tandem` processes, their `--json` events, and X displays.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const TANDEM: &str = env!("CARGO_BIN_EXE_tandem");

/// A generous deadline for one step: the machines are shared and slow, and nothing here is timed.
pub const STEP: Duration = Duration::from_secs(60);

/// A `tandem` child process, killed on drop, whose stdout JSON events are collected on a thread.
pub struct Proc {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    events: mpsc::Receiver<Value>,
    pub seen: Vec<Value>,
    /// Everything the process wrote to stderr so far (also echoed to the test's stderr).
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    pub fn start(name: &str, args: &[&str], display: Option<&str>) -> Proc {
        Self::start_with_env(name, args, display, &[])
    }

    /// [`Proc::start`] with extra environment variables.
    pub fn start_with_env(
        name: &str,
        args: &[&str],
        display: Option<&str>,
        env: &[(&str, &str)],
    ) -> Proc {
        Self::start_program(name, TANDEM, args, display, env)
    }

    /// [`Proc::start`] inside network namespace `netns` (`ip netns exec` execs `tandem` in place,
    /// so killing this process kills `tandem`).
    pub fn start_in_netns(netns: &str, name: &str, args: &[&str], display: Option<&str>) -> Proc {
        let mut full = vec!["netns", "exec", netns, TANDEM];
        full.extend_from_slice(args);
        Self::start_program(name, "ip", &full, display, &[])
    }

    /// Like [`Proc::start_with_env`], with another program in front (e.g. `ip netns exec NS
    /// tandem ...`).
    pub fn start_program(
        name: &str,
        program: &str,
        args: &[&str],
        display: Option<&str>,
        env: &[(&str, &str)],
    ) -> Proc {
        let mut command = Command::new(program);
        command
            .args(args)
            // Reports and drafts go to a throwaway data folder, never the real user's.
            .env("XDG_DATA_HOME", test_data_home())
            .envs(env.iter().copied())
            // TANDEM_TEST_LOG=debug to see more when a test fails.
            .env(
                "RUST_LOG",
                std::env::var("TANDEM_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match display {
            Some(display) => command.env("DISPLAY", display),
            None => command.env_remove("DISPLAY"),
        };
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let label = name.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if !line.contains("\"event\":\"file_progress\"")
                    && !line.contains("\"event\":\"stats\"")
                {
                    eprintln!("[{label}] {line}");
                }
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && tx.send(value).is_err()
                {
                    return;
                }
            }
        });
        let stderr_pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = stderr.clone();
        let label = name.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines() {
                let Ok(line) = line else { return };
                eprintln!("[{label} stderr] {line}");
                let mut text = collected.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Proc {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            events: rx,
            seen: Vec::new(),
            stderr,
        }
    }

    /// What the process wrote to stderr so far. After [`Proc::wait_exit`], wait for a line with
    /// [`wait_until`] rather than reading once: the reader thread may lag the exit.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the next event named `event`, failing on timeout or exit.
    pub fn wait_event(&mut self, event: &str) -> Value {
        self.wait_event_within(event, STEP)
    }

    pub fn wait_event_within(&mut self, event: &str, timeout: Duration) -> Value {
        self.wait_event_where(event, timeout, |_| true)
    }

    /// Panics if a clipboard went either way (`clipboard_sent` or `clipboard_received`) since the
    /// latest event named `since` this process printed.
    pub fn assert_no_clipboard_since(&self, since: &str) {
        let from = self
            .seen
            .iter()
            .rposition(|v| v["event"] == since)
            .unwrap_or_else(|| panic!("no {since} event yet"));
        assert!(
            !self.seen[from..]
                .iter()
                .any(|v| v["event"] == "clipboard_sent" || v["event"] == "clipboard_received"),
            "a clipboard travelled after {since}: {:?}",
            &self.seen[from..]
        );
    }

    /// Waits for the next event named `event` for which `matches` holds.
    pub fn wait_event_where(
        &mut self,
        event: &str,
        timeout: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(value) => {
                    self.seen.push(value.clone());
                    if value["event"] == event && matches(&value) {
                        return value;
                    }
                }
                Err(_) => panic!(
                    "{}: no `{event}` event within {timeout:?}; saw {:?}",
                    self.name, self.seen
                ),
            }
        }
    }

    /// Collects every event until the process has closed its stdout (it exited), into `seen`.
    pub fn drain_events(&mut self, timeout: Duration) -> &[Value] {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(value) => self.seen.push(value),
                Err(mpsc::RecvTimeoutError::Disconnected) => return &self.seen,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("{}: stdout still open after {timeout:?}", self.name)
                }
            }
        }
    }

    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the process to exit; returns whether it succeeded.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} did not exit within {timeout:?}", self.name);
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A relay on loopback with its own data directory.
pub struct TestRelay {
    pub proc: Proc,
    pub addr: String,
    pub fingerprint: String,
    /// `tandem://ADDR#FP`, as the relay printed it.
    pub invite: String,
    pub dir: TempDir,
}

impl TestRelay {
    pub fn start() -> TestRelay {
        Self::start_with(&[])
    }

    /// A relay on loopback reading the TOML `config` file (`tandem_relay::config::FileConfig`).
    pub fn start_with_config(config: &Path) -> TestRelay {
        Self::start_with(&["--config", config.to_str().unwrap()])
    }

    /// A relay listening on `listen` (e.g. `0.0.0.0:0` to be reached from a network namespace).
    pub fn start_listening(listen: &str) -> TestRelay {
        Self::start_on(listen, &[])
    }

    fn start_with(extra: &[&str]) -> TestRelay {
        Self::start_on("127.0.0.1:0", extra)
    }

    fn start_on(listen: &str, extra: &[&str]) -> TestRelay {
        let dir = TempDir::new("relay");
        let data = dir.path().to_str().unwrap().to_owned();
        let mut args = vec!["relay", "--listen", listen, "--data-dir", &data, "--json"];
        args.extend_from_slice(extra);
        let mut proc = Proc::start("relay", &args, None);
        let listening = proc.wait_event("listening");
        TestRelay {
            addr: listening["addr"].as_str().unwrap().to_owned(),
            fingerprint: listening["fingerprint"].as_str().unwrap().to_owned(),
            invite: listening["invite"].as_str().unwrap().to_owned(),
            proc,
            dir,
        }
    }
}

impl TestRelay {
    /// Kills the relay process, as a crash would: nobody is told, connections just stop answering.
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// Starts the relay again on the same address with the same data dir, so with the same key:
    /// clients that pinned its fingerprint trust it as before.
    pub fn restart(&mut self) {
        let data = self.dir.path().to_str().unwrap().to_owned();
        let args = [
            "relay",
            "--listen",
            &self.addr,
            "--data-dir",
            &data,
            "--json",
        ];
        self.proc = Proc::start("relay", &args, None);
        let listening = self.proc.wait_event("listening");
        assert_eq!(listening["addr"], self.addr.as_str(), "the same address");
        assert_eq!(
            listening["fingerprint"],
            self.fingerprint.as_str(),
            "the same key"
        );
    }
}

/// A relay that `tandem share` and `tandem join` can be pointed at: a process or one in the test.
pub trait RelayFlags {
    /// `--relay ADDR --fingerprint FP`.
    fn flags(&self) -> Vec<String>;
}

impl RelayFlags for TestRelay {
    fn flags(&self) -> Vec<String> {
        vec![
            "--relay".into(),
            self.addr.clone(),
            "--fingerprint".into(),
            self.fingerprint.clone(),
        ]
    }
}

/// `tandem share` with `extra` flags on `display`, without its window, up to its code.
pub fn start_share(relay: &impl RelayFlags, display: &str, extra: &[&str]) -> (Proc, String) {
    let mut flags = vec!["--no-window"];
    flags.extend_from_slice(extra);
    start_share_with_window(relay, display, &flags)
}

/// `tandem share` with its window (unless `extra` says `--no-window`) and `extra` flags on
/// `display`, up to its code.
pub fn start_share_with_window(
    relay: &impl RelayFlags,
    display: &str,
    extra: &[&str],
) -> (Proc, String) {
    let mut args: Vec<String> = vec!["share".into()];
    args.extend(relay.flags());
    args.push("--json".into());
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut share = Proc::start("share", &args, Some(display));
    let code = share.wait_event("code_issued")["code"]
        .as_str()
        .unwrap()
        .to_owned();
    (share, code)
}

/// `tandem join CODE` with `extra` flags (a `--name` there replaces the default technician name);
/// on `display` (a real window) or headless when `None`.
pub fn start_join(
    relay: &impl RelayFlags,
    code: &str,
    display: Option<&str>,
    extra: &[&str],
) -> Proc {
    let mut args: Vec<String> = vec!["join".into(), code.into()];
    args.extend(relay.flags());
    args.push("--json".into());
    if !extra.contains(&"--name") {
        args.extend(["--name".into(), "E2E technician".into()]);
    }
    // The viewer window asks for the outcome before it closes; tests about other things say it
    // up front.
    if !extra.contains(&"--outcome") {
        args.extend(["--outcome".into(), "resolved".into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Proc::start("join", &args, display)
}

/// This test process's data folder for the binaries it starts (`XDG_DATA_HOME`).
fn test_data_home() -> PathBuf {
    std::env::temp_dir().join(format!("tandem-test-data-{}", std::process::id()))
}

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("tandem-test-{label}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Holds the keys named by `keysyms` (X keysym names, e.g. `["Control_R", "x"]`) down in order and
/// lets them go in reverse, through XTEST on `display`, and returns once the server has them all.
/// Unlike `xdotool key Control_R+x`, which also presses Left Ctrl to set the Ctrl modifier, only
/// the named keys go down.
pub fn press_chord(display: &str, keysyms: &[&str]) {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::ConnectionExt as _;
    use x11rb::protocol::xtest::ConnectionExt as _;

    let (conn, screen) = x11rb::connect(Some(display)).expect("connect to the X server");
    let root = conn.setup().roots[screen].root;
    let (min, max) = (conn.setup().min_keycode, conn.setup().max_keycode);
    let mapping = conn
        .get_keyboard_mapping(min, max - min + 1)
        .unwrap()
        .reply()
        .unwrap();
    let per = usize::from(mapping.keysyms_per_keycode.max(1));
    let keycodes: Vec<u8> = keysyms
        .iter()
        .map(|name| {
            let keysym = keysym_named(name);
            let index = mapping
                .keysyms
                .chunks(per)
                .position(|syms| syms.first() == Some(&keysym))
                .unwrap_or_else(|| panic!("no key on {display} types {name}"));
            min + index as u8
        })
        .collect();
    // xproto's KeyPress and KeyRelease event codes.
    for &keycode in &keycodes {
        conn.xtest_fake_input(2, keycode, 0, root, 0, 0, 0).unwrap();
    }
    for &keycode in keycodes.iter().rev() {
        conn.xtest_fake_input(3, keycode, 0, root, 0, 0, 0).unwrap();
    }
    // A round trip: every request before it has been processed.
    conn.get_input_focus().unwrap().reply().unwrap();
}

/// The keysym of a name [`press_chord`] accepts: a lower-case letter or one of a few modifiers.
fn keysym_named(name: &str) -> u32 {
    match name {
        "Control_L" => 0xffe3,
        "Control_R" => 0xffe4,
        "Shift_L" => 0xffe1,
        "Shift_R" => 0xffe2,
        "Alt_L" => 0xffe9,
        "Alt_R" => 0xffea,
        letter if letter.len() == 1 && letter.as_bytes()[0].is_ascii_lowercase() => {
            u32::from(letter.as_bytes()[0])
        }
        other => panic!("press_chord knows no keysym {other}"),
    }
}

/// Runs `xdotool` on `display` and returns its stdout.
pub fn xdotool(display: &str, args: &[&str]) -> String {
    let output = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("xdotool is installed (scripts/install-deps.sh)");
    assert!(
        output.status.success(),
        "xdotool {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The visible windows on `display` that `xdotool search --onlyvisible` finds with `query`
/// (e.g. `["--name", "Tandem"]`, `["--class", "xterm"]`); none while the display or xdotool fails.
pub fn visible_windows(display: &str, query: &[&str]) -> Vec<String> {
    let Ok(out) = Command::new("xdotool")
        .args(["search", "--onlyvisible"])
        .args(query)
        .env("DISPLAY", display)
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until at least `count` windows matching `query` are visible on `display`; returns them.
pub fn wait_for_windows(display: &str, query: &[&str], count: usize) -> Vec<String> {
    wait_until(
        &format!("{count} visible window(s) {query:?} on {display}"),
        STEP,
        || {
            let found = visible_windows(display, query);
            (found.len() >= count).then_some(found)
        },
    )
}

/// Waits for a visible window whose name matches `name` on `display`; returns the first.
pub fn wait_for_window(display: &str, name: &str) -> String {
    wait_for_windows(display, &["--name", name], 1).swap_remove(0)
}

/// A window's position and size on `display`: `(x, y, width, height)`.
pub fn window_geometry(display: &str, window: &str) -> (i32, i32, i32, i32) {
    let geometry = xdotool(display, &["getwindowgeometry", "--shell", window]);
    let field = |name: &str| -> i32 {
        geometry
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    (field("X"), field("Y"), field("WIDTH"), field("HEIGHT"))
}

/// The pointer position on `display`.
pub fn pointer(display: &str) -> (i32, i32) {
    let out = xdotool(display, &["getmouselocation", "--shell"]);
    let field = |name: &str| -> i32 {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    (field("X"), field("Y"))
}

/// The root window of `display` as (width, height, B,G,R,X bytes), read with a plain X GetImage
/// (independent of the MIT-SHM path the host captures with).
pub fn grab_root(display: &str) -> (u32, u32, Vec<u8>) {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ConnectionExt, ImageFormat};
    let (conn, screen_num) = x11rb::connect(Some(display)).unwrap();
    let screen = &conn.setup().roots[screen_num];
    let (w, h) = (screen.width_in_pixels, screen.height_in_pixels);
    let image = conn
        .get_image(ImageFormat::Z_PIXMAP, screen.root, 0, 0, w, h, !0)
        .unwrap()
        .reply()
        .unwrap();
    (u32::from(w), u32::from(h), image.data)
}

/// Number of pixels whose R,G,B differ between a BGRX grab and a decoded PNG.
pub fn differing_pixels(bgrx: &[u8], png: &Path) -> Option<usize> {
    let decoded = image::open(png).ok()?.to_rgba8();
    let rgba = decoded.as_raw();
    if rgba.len() != bgrx.len() {
        return Some(usize::MAX);
    }
    Some(
        bgrx.chunks_exact(4)
            .zip(rgba.chunks_exact(4))
            .filter(|(s, d)| s[2] != d[0] || s[1] != d[1] || s[0] != d[2])
            .count(),
    )
}

/// Puts `data` of type `target` (e.g. `UTF8_STRING`, `image/png`) on the CLIPBOARD of `display`
/// with xclip, as another program would.
pub fn xclip_copy(display: &str, target: &str, data: &[u8]) {
    let mut child = Command::new("xclip")
        .args(["-selection", "clipboard", "-t", target, "-i"])
        .env("DISPLAY", display)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xclip is installed (scripts/install-deps.sh)");
    child.stdin.take().unwrap().write_all(data).unwrap();
    // xclip forks a server for the selection and its first process exits.
    assert!(child.wait().unwrap().success());
}
