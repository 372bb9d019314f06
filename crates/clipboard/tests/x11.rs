//! The clipboard on a real X server (Xvfb), against `xclip` as the other program.
//!
//! arboard and x11rb read `DISPLAY` from the environment, and setting it in-process is unsafe (and
//! would race between tests). So each test starts its own Xvfb and runs its body in a child: this
//! same test binary, re-executed for that one test with `DISPLAY` and a marker variable set.

use std::io::{Read as _, Write as _};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use tandem_clipboard::{
    ClipContent, ClipEvent, ClipboardError, Detection, LimitExceeded, MAX_TEXT_LEN,
    SystemClipboard, THREAD_NAME,
};
use tandem_xvfb::VirtualDisplay;

/// Set in the child: run the test's body instead of starting a display.
const CHILD: &str = "TANDEM_CLIPBOARD_TEST_CHILD";
/// The longest wait for anything expected to happen (an event, a process).
const WAIT: Duration = Duration::from_secs(10);
/// The longest a whole child test may take.
const CHILD_WAIT: Duration = Duration::from_secs(120);

/// Runs `body` in a child process on a new Xvfb; `name` must be the calling test's name.
fn on_display(name: &str, body: fn()) {
    if std::env::var_os(CHILD).is_some() {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "tandem_clipboard=debug".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
        body();
        return;
    }
    let display = VirtualDisplay::start(320, 240).expect("Xvfb starts");
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new(exe);
    command
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("DISPLAY", display.name())
        // X only: arboard must not pick another backend from the developer's session.
        .env_remove("WAYLAND_DISPLAY");
    let output = run(&mut command, CHILD_WAIT);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = format!(
        "child test {name}: {}\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    // A misspelt name would run no test and pass.
    assert!(stdout.contains("1 passed"), "{report}");
}

/// Runs `command` to the end, killing it and failing if it takes longer than `deadline`.
fn run(command: &mut Command, deadline: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let (mut stdout, mut stderr) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let (tx, rx) = mpsc::channel();
    let err_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    let Ok(stdout) = rx.recv_timeout(deadline) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{command:?} did not finish within {deadline:?}");
    };
    let status = child.wait().expect("waits");
    let stderr = err_reader.join().unwrap_or_default();
    Output {
        status,
        stdout,
        stderr,
    }
}

/// An `xclip -i` serving the clipboard; killed when dropped (it would otherwise serve until another
/// program takes the clipboard).
struct Xclip(Child);

impl Drop for Xclip {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Puts `data` on the clipboard with xclip, as `target` (xclip's default, UTF8_STRING, if `None`).
/// It owns the clipboard shortly after this returns.
fn xclip_copy(data: &[u8], target: Option<&str>) -> Xclip {
    let mut command = Command::new("xclip");
    // -quiet: stay in the foreground, so the child we hold is the one serving.
    command.args(["-selection", "clipboard", "-quiet", "-i"]);
    if let Some(target) = target {
        command.args(["-t", target]);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xclip starts (scripts/install-deps.sh installs it)");
    let mut stdin = child.stdin.take().expect("piped");
    let xclip = Xclip(child);
    stdin.write_all(data).expect("xclip reads its input");
    // End of input: xclip takes the clipboard.
    drop(stdin);
    xclip
}

/// What `xclip -o` reads from the clipboard, as `target`.
fn xclip_paste(target: Option<&str>) -> Vec<u8> {
    let mut command = Command::new("xclip");
    command.args(["-selection", "clipboard", "-o"]);
    if let Some(target) = target {
        command.args(["-t", target]);
    }
    let output = run(&mut command, WAIT);
    assert!(
        output.status.success(),
        "xclip -o failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Starts watching with XFIXES (checked: these tests are about it), events into a channel.
fn watch() -> (SystemClipboard, Receiver<ClipEvent>) {
    watch_with(Detection::Xfixes)
}

fn watch_with(detection: Detection) -> (SystemClipboard, Receiver<ClipEvent>) {
    let (tx, rx) = mpsc::channel();
    let clipboard = SystemClipboard::start_with(detection, move |event| {
        let _ = tx.send(event);
    })
    .expect("the clipboard opens");
    assert_eq!(clipboard.detection(), detection);
    (clipboard, rx)
}

fn next_event(events: &Receiver<ClipEvent>) -> ClipEvent {
    events
        .recv_timeout(WAIT)
        .expect("a clipboard event within the deadline")
}

fn next_text(events: &Receiver<ClipEvent>) -> String {
    match next_event(events) {
        ClipEvent::Changed(ClipContent::Text(text)) => text,
        other => panic!("expected text, got {other:?}"),
    }
}

/// Copies a marker with xclip and checks it is the very next event: whatever should not have been
/// reported before it (a duplicate, an echo) would have come first, as events arrive in order.
fn assert_nothing_before_marker(events: &Receiver<ClipEvent>, marker: &str) -> Xclip {
    let xclip = xclip_copy(marker.as_bytes(), None);
    let text = next_text(events);
    assert!(
        text == marker,
        "expected only the marker, got another text first ({} bytes)",
        text.len()
    );
    xclip
}

/// A deterministic text of exactly `len` bytes with multi-byte characters in it.
fn big_text(len: usize, seed: u32) -> String {
    let mut text = String::with_capacity(len);
    let mut i = seed;
    while text.len() < len {
        let c = match i % 7 {
            0 => 'é',
            1 => '\n',
            2 => '界',
            _ => char::from(b'a' + (i % 26) as u8),
        };
        if text.len() + c.len_utf8() > len {
            text.push('.');
        } else {
            text.push(c);
        }
        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345) >> 3;
    }
    text
}

/// A small picture with varied colours and alpha, PNG-encoded.
fn sample_png() -> (image::RgbaImage, Vec<u8>) {
    let picture = image::RgbaImage::from_fn(9, 7, |x, y| {
        image::Rgba([
            (x * 28) as u8,
            (y * 36) as u8,
            (x * y * 5) as u8,
            if (x + y) % 3 == 0 { 128 } else { 255 },
        ])
    });
    let mut png = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encodes");
    (picture, png)
}

fn decode(png: &[u8]) -> image::RgbaImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("a valid PNG")
        .into_rgba8()
}

#[test]
fn text_copied_with_xclip_is_reported_once() {
    on_display("text_copied_with_xclip_is_reported_once", || {
        let (_clipboard, events) = watch();
        let text = "Grüße, 世界! 👋🏽 こんにちは — ünïcödé\ttab\nnew line";
        let _copied = xclip_copy(text.as_bytes(), None);
        assert_eq!(next_text(&events), text);
        let _marker = assert_nothing_before_marker(&events, "marker");
    });
}

#[test]
fn set_text_is_pasteable_and_not_reported_back() {
    on_display("set_text_is_pasteable_and_not_reported_back", || {
        let (clipboard, events) = watch();
        let text = "from the technician: ✓ 日本語 🚀";
        clipboard.set(ClipContent::Text(text.into())).expect("sets");
        assert_eq!(String::from_utf8(xclip_paste(None)).expect("utf-8"), text);
        // Set twice in a row: both owner changes are ours.
        clipboard
            .set(ClipContent::Text("second".into()))
            .expect("sets");
        assert_eq!(xclip_paste(None), b"second");
        let _marker = assert_nothing_before_marker(&events, "marker");
        // The user copying what the peer sent earlier is news again.
        let _copied = xclip_copy(text.as_bytes(), None);
        assert_eq!(next_text(&events), text);
    });
}

#[test]
fn png_round_trips_both_ways() {
    on_display("png_round_trips_both_ways", || {
        let (clipboard, events) = watch();
        let (picture, png) = sample_png();

        let _copied = xclip_copy(&png, Some("image/png"));
        match next_event(&events) {
            ClipEvent::Changed(ClipContent::Png(reported)) => {
                assert!(decode(&reported) == picture, "reported pixels differ");
            }
            other => panic!("expected a PNG, got {other:?}"),
        }

        // Another picture from the peer (so the echo filter cannot mistake it for the one above).
        let mut flipped = picture.clone();
        image::imageops::flip_horizontal_in_place(&mut flipped);
        let mut flipped_png = Vec::new();
        flipped
            .write_to(
                &mut std::io::Cursor::new(&mut flipped_png),
                image::ImageFormat::Png,
            )
            .expect("encodes");
        clipboard.set(ClipContent::Png(flipped_png)).expect("sets");
        let pasted = xclip_paste(Some("image/png"));
        assert!(decode(&pasted) == flipped, "pasted pixels differ");
        let _marker = assert_nothing_before_marker(&events, "marker");
    });
}

#[test]
fn undecodable_png_is_refused_by_set() {
    on_display("undecodable_png_is_refused_by_set", || {
        let (clipboard, _events) = watch();
        let result = clipboard.set(ClipContent::Png(b"\x89PNG\r\n\x1a\nnot really".to_vec()));
        assert!(
            matches!(result, Err(ClipboardError::BadImage { .. })),
            "{result:?}"
        );
    });
}

#[test]
fn two_mebibytes_of_text_both_ways() {
    on_display("two_mebibytes_of_text_both_ways", || {
        let (clipboard, events) = watch();
        let copied = big_text(2 * 1024 * 1024, 1);
        let _copied = xclip_copy(copied.as_bytes(), None);
        let reported = next_text(&events);
        assert_eq!(reported.len(), copied.len());
        assert!(reported == copied, "reported text differs");

        let sent = big_text(2 * 1024 * 1024, 2);
        clipboard
            .set(ClipContent::Text(sent.clone()))
            .expect("sets");
        let pasted = xclip_paste(None);
        assert_eq!(pasted.len(), sent.len());
        assert!(pasted == sent.as_bytes(), "pasted text differs");
        let _marker = assert_nothing_before_marker(&events, "marker");
    });
}

#[test]
fn text_over_the_limit_is_skipped() {
    on_display("text_over_the_limit_is_skipped", || {
        let (clipboard, events) = watch();
        let _copied = xclip_copy(big_text(MAX_TEXT_LEN + 1, 3).as_bytes(), None);
        assert_eq!(
            next_event(&events),
            ClipEvent::Skipped(LimitExceeded::Text {
                len: MAX_TEXT_LEN + 1,
                max: MAX_TEXT_LEN
            })
        );
        let _marker = assert_nothing_before_marker(&events, "marker");

        let refused = clipboard.set(ClipContent::Text(big_text(MAX_TEXT_LEN + 1, 4)));
        assert!(
            matches!(refused, Err(ClipboardError::TooLarge { .. })),
            "{refused:?}"
        );
        // The clipboard still holds the marker.
        assert_eq!(xclip_paste(None), b"marker");
    });
}

#[test]
fn content_present_before_start_is_not_reported() {
    on_display("content_present_before_start_is_not_reported", || {
        let _before = xclip_copy(b"copied before the session", None);
        wait_until_served(b"copied before the session");
        let (_clipboard, events) = watch();
        let _marker = assert_nothing_before_marker(&events, "first copy in the session");
    });
}

fn watcher_threads() -> usize {
    // The kernel keeps 15 bytes of a thread's name.
    let name = &THREAD_NAME[..THREAD_NAME.len().min(15)];
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .count()
}

fn assert_drop_stops_thread(detection: Detection) {
    let (clipboard, events) = watch_with(detection);
    // The thread names itself once running, maybe after `start` returned.
    let deadline = Instant::now() + WAIT;
    while watcher_threads() == 0 {
        assert!(Instant::now() < deadline, "no thread named {THREAD_NAME}");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(watcher_threads(), 1);
    let (done, dropped) = mpsc::channel();
    std::thread::spawn(move || {
        drop(clipboard);
        let _ = done.send(());
    });
    dropped
        .recv_timeout(Duration::from_secs(5))
        .expect("drop returns within 5 s");
    assert_eq!(watcher_threads(), 0);
    // The callback (and its sender) went with the thread.
    assert!(events.recv_timeout(Duration::ZERO).is_err());
}

#[test]
fn dropping_stops_the_watcher_thread() {
    on_display("dropping_stops_the_watcher_thread", || {
        assert_drop_stops_thread(Detection::Xfixes);
        assert_drop_stops_thread(Detection::Polling);
    });
}

#[test]
fn polling_fallback_reports_changes_without_echo() {
    on_display("polling_fallback_reports_changes_without_echo", || {
        let _before = xclip_copy(b"there before", None);
        wait_until_served(b"there before");
        let (clipboard, events) = watch_with(Detection::Polling);
        let _copied = xclip_copy("polled ✓".as_bytes(), None);
        assert_eq!(next_text(&events), "polled ✓");
        clipboard
            .set(ClipContent::Text("from the peer".into()))
            .expect("sets");
        assert_eq!(xclip_paste(None), b"from the peer");
        let _marker = assert_nothing_before_marker(&events, "marker");
    });
}

/// Waits until xclip reads `expected` from the clipboard, so it really is there.
fn wait_until_served(expected: &[u8]) {
    let deadline = Instant::now() + WAIT;
    loop {
        let output = run(
            Command::new("xclip").args(["-selection", "clipboard", "-o"]),
            WAIT,
        );
        // Fails while the clipboard has no owner yet.
        if output.status.success() && output.stdout == expected {
            return;
        }
        assert!(Instant::now() < deadline, "xclip never served the text");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn dropping_during_a_read_from_a_silent_owner_is_prompt() {
    on_display(
        "dropping_during_a_read_from_a_silent_owner_is_prompt",
        || {
            use x11rb::connection::Connection as _;
            use x11rb::protocol::Event;
            use x11rb::protocol::xproto::{ConnectionExt as _, CreateWindowAux, WindowClass};

            let (clipboard, _events) = watch();
            // An owner that never answers: the watcher's read would wait seconds for it.
            let (conn, screen) = x11rb::connect(None).expect("connects");
            let root = conn.setup().roots[screen].root;
            let window = conn.generate_id().expect("an id");
            conn.create_window(
                0,
                window,
                root,
                0,
                0,
                1,
                1,
                0,
                WindowClass::INPUT_OUTPUT,
                0,
                &CreateWindowAux::new(),
            )
            .expect("creates a window");
            let atom = conn
                .intern_atom(false, b"CLIPBOARD")
                .expect("asks")
                .reply()
                .expect("interns")
                .atom;
            conn.set_selection_owner(window, atom, x11rb::CURRENT_TIME)
                .expect("takes the clipboard");
            conn.flush().expect("flushes");
            // The watcher's request arriving means its read is under way.
            loop {
                if let Event::SelectionRequest(_) = conn.wait_for_event().expect("an event") {
                    break;
                }
            }
            let started = Instant::now();
            drop(clipboard);
            // Well under the 5 s the read would otherwise wait for an answer.
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "drop took {:?}",
                started.elapsed()
            );
            assert_eq!(watcher_threads(), 0);
        },
    );
}
