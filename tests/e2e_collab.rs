//! Working together in a session, through the real binaries: chat, files both ways (refusal,
//! cancel, resume after the relay connection is cut, a full disk) and clipboard sync with the real X
//! clipboards of two Xvfb displays (`xclip`), including the grant and a second concurrent session.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;
use tandem_xvfb::VirtualDisplay;

/// A file of `len` pseudo-random bytes (incompressible, reproducible).
fn random_file(path: &Path, len: usize, seed: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = seed | 1;
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(block.len());
        file.write_all(&block[..n]).unwrap();
        left -= n;
    }
    file.flush().unwrap();
}

fn blake3_hex(path: &Path) -> String {
    let mut hasher = blake3::Hasher::new();
    std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut hasher).unwrap();
    hasher.finalize().to_hex().to_string()
}

fn partials(downloads: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(downloads.join(".tandem-partial")) {
        Ok(dir) => dir.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_default().to_owned()
}

/// A session: the host (the user) on `display` with `share_extra`, the viewer headless with
/// `join_extra`, on `join_display` if given (for its clipboard). Returns once the screen is shown.
fn session(
    relay: &TestRelay,
    display: &str,
    share_extra: &[&str],
    join_display: Option<&str>,
    join_extra: &[&str],
) -> (Proc, Proc) {
    let (share, code) = start_share(relay, display, share_extra);
    let mut join_args = vec!["--headless"];
    join_args.extend_from_slice(join_extra);
    let mut join = start_join(relay, &code, join_display, &join_args);
    join.wait_event("first_frame");
    (share, join)
}

#[test]
fn chat_and_files_both_ways_with_refusal() {
    let display = VirtualDisplay::start(640, 480).expect("Xvfb");
    let work = TempDir::new("collab-files");
    let (dl_user, dl_tech) = (work.path().join("user"), work.path().join("tech"));
    let relay = TestRelay::start();
    let (mut share, mut join) = session(
        &relay,
        display.name(),
        &[
            "--auto-accept",
            "view",
            "--downloads",
            dl_user.to_str().unwrap(),
        ],
        None,
        &["--downloads", dl_tech.to_str().unwrap()],
    );

    // Chat both ways; an escape sequence from the peer never reaches the terminal.
    join.send_line("chat Bonjour, ça va ? \u{1b}[2J");
    let said = share.wait_event("chat");
    assert_eq!(said["from"], "peer");
    assert_eq!(text(&said, "text"), "Bonjour, ça va ? \u{FFFD}[2J");
    share.send_line("chat Oui ✓");
    let said = join.wait_event_where("chat", STEP, |v| v["from"] == "peer");
    assert_eq!(text(&said, "text"), "Oui ✓");

    // The technician sends 200 MB; the user is asked and answers y.
    let big = work.path().join("installer.bin");
    random_file(&big, 200 * 1024 * 1024, 7);
    join.send_line(&format!("send {}", big.display()));
    let offered = share.wait_event("file_offered");
    assert_eq!(offered["name"], "installer.bin");
    assert_eq!(offered["bytes"], 200 * 1024 * 1024);
    share.send_line("y");
    let received = share.wait_event("file_received");
    let path = PathBuf::from(text(&received, "path"));
    assert_eq!(path, dl_user.join("installer.bin"));
    assert_eq!(text(&received, "blake3"), blake3_hex(&big));
    assert_eq!(blake3_hex(&path), blake3_hex(&big));
    join.wait_event_where("file_done", STEP, |v| v["direction"] == "sent");
    share.wait_event_where("file_done", STEP, |v| v["direction"] == "received");

    // The user sends a folder with nested paths and a hostile name: the hostile one is left out
    // (and said so), the rest arrives in place on the technician's side.
    let folder = work.path().join("logs");
    std::fs::create_dir_all(folder.join("app/2026")).unwrap();
    std::fs::write(folder.join("app/2026/today.log"), "today\n").unwrap();
    std::fs::write(folder.join("system.log"), "boot ok\n").unwrap();
    std::fs::write(folder.join("evil\u{1b}]0;pwned\u{7}.log"), "x").unwrap();
    share.send_line(&format!("send {}", folder.display()));
    let sent = share.wait_event("file_offer_sent");
    assert_eq!(sent["files"], 2);
    let skipped = sent["skipped"].to_string();
    assert!(skipped.contains("evil"), "{skipped}");
    assert!(!skipped.contains('\u{1b}'), "{skipped}");
    let offered = join.wait_event("file_offered");
    assert_eq!(offered["files"], 2);
    join.send_line(&format!("accept {}", offered["id"]));
    join.wait_event_where("file_done", STEP, |v| v["direction"] == "received");
    assert_eq!(
        std::fs::read_to_string(dl_tech.join("logs/app/2026/today.log")).unwrap(),
        "today\n"
    );
    assert_eq!(
        std::fs::read_to_string(dl_tech.join("logs/system.log")).unwrap(),
        "boot ok\n"
    );

    // Refused: nothing lands, the sender is told.
    let note = work.path().join("note.txt");
    std::fs::write(&note, "refuse me").unwrap();
    share.send_line(&format!("send {}", note.display()));
    join.wait_event("file_offered");
    join.send_line("n");
    let failed = share.wait_event("file_failed");
    assert!(text(&failed, "reason").contains("refused"), "{failed}");
    assert!(!dl_tech.join("note.txt").exists());

    // Same name again: never overwritten.
    join.send_line(&format!("send {}", big.display()));
    share.wait_event("file_offered");
    share.send_line("y");
    let again = share.wait_event("file_received");
    assert_eq!(
        PathBuf::from(text(&again, "path")),
        dl_user.join("installer (1).bin")
    );
    assert!(partials(&dl_user).is_empty());
    assert!(partials(&dl_tech).is_empty());

    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    assert!(join.wait_exit(STEP));
}

#[test]
fn cancel_and_resume_after_the_relay_connection_is_cut() {
    let display = VirtualDisplay::start(640, 480).expect("Xvfb");
    let work = TempDir::new("collab-resume");
    let dl_user = work.path().join("user");
    // Without a reconnect grace a cut ends the session: the transfer resumes in the next one.
    let share_flags = [
        "--auto-accept",
        "view",
        "--accept-files",
        "--downloads",
        dl_user.to_str().unwrap(),
        "--reconnect-grace",
        "0",
    ];
    let big = work.path().join("disk.img");
    let size: u64 = 600 * 1024 * 1024;
    random_file(&big, size as usize, 11);

    let relay = TestRelay::start();
    let no_grace = ["--reconnect-grace", "0"];
    let (mut share, mut join) = session(&relay, display.name(), &share_flags, None, &no_grace);

    // Cancelled by the sender mid-way: the receiver deletes what it had.
    join.send_line(&format!("send {}", big.display()));
    share.wait_event_where("file_progress", STEP, |v| v["bytes"].as_u64() > Some(0));
    join.send_line("cancel out-0");
    let failed = share.wait_event("file_failed");
    assert!(text(&failed, "reason").contains("cancelled"), "{failed}");
    wait_until("the partial file to be deleted", STEP, || {
        partials(&dl_user).is_empty().then_some(())
    });

    // Sent again, and the relay connection is cut a quarter of the way.
    join.send_line(&format!("send {}", big.display()));
    share.wait_event_where("file_progress", STEP, |v| {
        v["bytes"].as_u64().unwrap_or(0) >= size / 4
    });
    let mut relay = relay;
    relay.proc.kill();
    share.wait_event("session_ended");
    join.wait_event("session_ended");
    share.wait_exit(STEP);
    join.wait_exit(STEP);
    let kept = partials(&dl_user);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let kept_len = std::fs::metadata(&kept[0]).unwrap().len();
    assert!(kept_len > 0 && kept_len < size, "{kept_len}");
    assert!(!dl_user.join("disk.img").exists());

    // A new session: the same file resumes from what arrived, and the whole file checks out.
    let relay = TestRelay::start();
    let (mut share, mut join) = session(&relay, display.name(), &share_flags, None, &[]);
    join.send_line(&format!("send {}", big.display()));
    let accepted = share.wait_event("file_accepted");
    let resumed = accepted["resumed_from"].as_u64().unwrap();
    assert!(resumed > 0 && resumed <= kept_len, "{accepted}");
    let received = share.wait_event("file_received");
    assert_eq!(text(&received, "blake3"), blake3_hex(&big));
    assert_eq!(blake3_hex(&dl_user.join("disk.img")), blake3_hex(&big));
    assert!(partials(&dl_user).is_empty());
    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    join.wait_exit(STEP);
}

/// A tmpfs of `megabytes` mounted at `path` for the test's life (needs root, as CI runs).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(path: &Path, megabytes: u32) -> SmallDisk {
        std::fs::create_dir_all(path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(path)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mounting a small tmpfs failed: this test needs root (CI runs as root)"
        );
        SmallDisk(path.to_owned())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_a_clear_error_and_the_session_goes_on() {
    let display = VirtualDisplay::start(640, 480).expect("Xvfb");
    let work = TempDir::new("collab-full");
    let disk = SmallDisk::mount(&work.path().join("small"), 8);
    let relay = TestRelay::start();
    let (mut share, mut join) = session(
        &relay,
        display.name(),
        &[
            "--auto-accept",
            "view",
            "--accept-files",
            "--downloads",
            disk.0.to_str().unwrap(),
        ],
        None,
        &[],
    );
    let big = work.path().join("big.bin");
    random_file(&big, 32 * 1024 * 1024, 3);
    join.send_line(&format!("send {}", big.display()));
    let failed = share.wait_event("file_failed");
    assert!(text(&failed, "reason").contains("full"), "{failed}");
    let told = join.wait_event("file_failed");
    assert!(text(&told, "reason").contains("full"), "{told}");
    // Nothing half-written under the final name, and the partial is gone.
    assert!(!disk.0.join("big.bin").exists());
    assert!(partials(&disk.0).is_empty(), "{:?}", partials(&disk.0));

    // The session is unharmed.
    join.send_line("chat still here?");
    assert_eq!(text(&share.wait_event("chat"), "text"), "still here?");
    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    join.wait_exit(STEP);
}

// ---- clipboard ----

fn paste(display: &str, target: &str) -> Option<Vec<u8>> {
    let output = Command::new("xclip")
        .args(["-selection", "clipboard", "-t", target, "-o"])
        .env("DISPLAY", display)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output.status.success().then_some(output.stdout)
}

fn paste_text(display: &str) -> String {
    paste(display, "UTF8_STRING")
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn wait_clipboard(display: &str, expected: &str) {
    wait_until(
        &format!("the clipboard of {display} to be {expected:?}"),
        STEP,
        || (paste_text(display) == expected).then_some(()),
    );
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8, 255])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn pixels(png: &[u8]) -> Vec<u8> {
    image::load_from_memory(png).unwrap().to_rgba8().into_raw()
}

#[test]
fn clipboard_syncs_both_ways_while_allowed() {
    let display_a = VirtualDisplay::start(640, 480).expect("Xvfb");
    let display_b = VirtualDisplay::start(640, 480).expect("Xvfb");
    let relay = TestRelay::start();
    let (mut share, mut join) = session(
        &relay,
        display_a.name(),
        &["--auto-accept", "control"],
        Some(display_b.name()),
        &[],
    );
    assert_eq!(
        join.seen
            .iter()
            .find(|v| v["event"] == "permissions")
            .unwrap()["clipboard"],
        true
    );

    // Technician -> user, and back, Unicode and newlines included.
    let from_tech = "from the technician: héllo 🌍\nsecond line";
    xclip_copy(display_b.name(), "UTF8_STRING", from_tech.as_bytes());
    wait_clipboard(display_a.name(), from_tech);
    let from_user = "from the user: ✓ Ελληνικά русский 日本語";
    xclip_copy(display_a.name(), "UTF8_STRING", from_user.as_bytes());
    wait_clipboard(display_b.name(), from_user);
    share.wait_event("clipboard_sent");
    join.wait_event("clipboard_received");

    // An image, user -> technician.
    let image = png(64, 48);
    xclip_copy(display_a.name(), "image/png", &image);
    let got = wait_until("the image on the technician's clipboard", STEP, || {
        paste(display_b.name(), "image/png").filter(|b| b.starts_with(b"\x89PNG"))
    });
    assert_eq!(pixels(&got), pixels(&image));

    // Control taken back: clipboard sharing stops at once, both ways.
    share.send_line("revoke");
    join.wait_event_where("permissions", STEP, |v| v["clipboard"] == false);
    xclip_copy(display_b.name(), "UTF8_STRING", b"after the revoke");
    xclip_copy(display_a.name(), "UTF8_STRING", b"user after the revoke");
    // A round trip through both sessions' loops: anything sent would have been sent by now.
    join.send_line("chat barrier");
    share.wait_event_where("chat", STEP, |v| v["text"] == "barrier");
    share.send_line("chat barrier back");
    join.wait_event_where("chat", STEP, |v| v["text"] == "barrier back");
    assert_eq!(paste_text(display_a.name()), "user after the revoke");
    assert_eq!(paste_text(display_b.name()), "after the revoke");
    join.assert_no_clipboard_since("permissions");

    // The user allows the clipboard for this view-only session.
    share.send_line("clipboard on");
    join.wait_event_where("permissions", STEP, |v| {
        v["clipboard"] == true && v["control"] == false
    });
    xclip_copy(display_b.name(), "UTF8_STRING", b"allowed again");
    wait_clipboard(display_a.name(), "allowed again");

    share.send_line("stop");
    assert!(share.wait_exit(STEP));
    join.wait_exit(STEP);
}

#[test]
fn a_second_session_never_sees_the_first_sessions_clipboard() {
    let display_a1 = VirtualDisplay::start(640, 480).expect("Xvfb");
    let display_a2 = VirtualDisplay::start(640, 480).expect("Xvfb");
    let display_b = VirtualDisplay::start(640, 480).expect("Xvfb");
    let relay = TestRelay::start();
    let control = ["--auto-accept", "control"];
    let (mut share1, mut join1) = session(
        &relay,
        display_a1.name(),
        &control,
        Some(display_b.name()),
        &[],
    );
    let (mut share2, mut join2) = session(
        &relay,
        display_a2.name(),
        &control,
        Some(display_b.name()),
        &[],
    );
    // User 2 copies first (it reaches the technician: that is their session), and it settles.
    xclip_copy(display_a2.name(), "UTF8_STRING", b"user 2's own clipboard");
    wait_clipboard(display_b.name(), "user 2's own clipboard");

    // User 1 copies: it reaches the technician's clipboard through session 1 ...
    xclip_copy(display_a1.name(), "UTF8_STRING", b"user 1's secret");
    wait_clipboard(display_b.name(), "user 1's secret");
    join1.wait_event("clipboard_received");
    // ... and never user 2, though session 2 watches the same technician clipboard.
    join2.send_line("chat barrier");
    share2.wait_event_where("chat", STEP, |v| v["text"] == "barrier");
    share2.send_line("chat barrier back");
    join2.wait_event_where("chat", STEP, |v| v["text"] == "barrier back");
    assert_eq!(paste_text(display_a2.name()), "user 2's own clipboard");
    assert!(
        !join2.seen.iter().any(|v| v["event"] == "clipboard_sent"),
        "{:?}",
        join2.seen
    );

    // What the technician copies themselves still reaches the session they work in.
    xclip_copy(
        display_b.name(),
        "UTF8_STRING",
        b"the technician's own text",
    );
    wait_clipboard(display_a1.name(), "the technician's own text");

    for share in [&mut share1, &mut share2] {
        share.send_line("stop");
        assert!(share.wait_exit(STEP));
    }
    join1.wait_exit(STEP);
    join2.wait_exit(STEP);
}
