//! Issue 8, adaptive quality on a real constrained link: two network namespaces joined by a veth
//! pair shaped to 4 Mb/s (`tc netem rate 4mbit delay 20ms loss 0.5%` on both ends; where the
//! kernel has no netem, `tbf rate 4mbit`, rate only, and the test says so). The relay and `share`
//! run in one namespace, `join` in the other, so every screen update crosses the shaped link.
//! Display A shows a photo that changes every frame (drawn by this test over X) beside an xterm.
//! With adaptation the host lowers the photo's quality below the maximum, frames keep arriving, the
//! bytes fit the link, and text typed into the xterm arrives exact in the decoded picture.
//!
//! Needs root (CI runs as root); skipped with a message only where `ip netns` cannot be used.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use common::*;
use serde_json::Value;
use tandem_xvfb::VirtualDisplay;

/// The shaped link's rate, bytes per second.
const LINK_BYTES_PER_SEC: f64 = 4e6 / 8.0;
const RELAY_ADDR: &str = "10.77.0.1";

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Two network namespaces and a shaped veth pair between them, removed on drop (also when the test
/// panics: the namespaces go, and the veth pair with them).
struct ShapedLink {
    host_ns: String,
    viewer_ns: String,
    /// What shapes the link, for the log.
    shaping: &'static str,
}

impl ShapedLink {
    /// `None` when network namespaces cannot be made here (not root, no `ip`).
    fn create() -> Option<ShapedLink> {
        let id = std::process::id();
        let host_ns = format!("tdm{id}h");
        let viewer_ns = format!("tdm{id}v");
        if let Err(e) = run("ip", &["netns", "add", &host_ns]) {
            eprintln!(
                "SKIPPED: cannot create a network namespace ({e}); run as root with iproute2"
            );
            return None;
        }
        let mut link = ShapedLink {
            host_ns,
            viewer_ns,
            shaping: "",
        };
        let (h, v) = (link.host_ns.clone(), link.viewer_ns.clone());
        // Interface names are at most 15 bytes.
        let (veth_h, veth_v) = (
            format!("tdv{}h", id % 1_000_000),
            format!("tdv{}v", id % 1_000_000),
        );
        let (h, v, veth_h, veth_v) = (h.as_str(), v.as_str(), veth_h.as_str(), veth_v.as_str());
        let setup = [
            vec!["netns", "add", v],
            vec![
                "link", "add", veth_h, "type", "veth", "peer", "name", veth_v,
            ],
            vec!["link", "set", veth_h, "netns", h],
            vec!["link", "set", veth_v, "netns", v],
            vec!["-n", h, "addr", "add", "10.77.0.1/24", "dev", veth_h],
            vec!["-n", v, "addr", "add", "10.77.0.2/24", "dev", veth_v],
            vec!["-n", h, "link", "set", veth_h, "up"],
            vec!["-n", v, "link", "set", veth_v, "up"],
            vec!["-n", h, "link", "set", "lo", "up"],
            vec!["-n", v, "link", "set", "lo", "up"],
        ];
        for args in setup {
            run("ip", &args).unwrap_or_else(|e| panic!("setting up the link: {e}"));
        }
        let netem = ["netem", "rate", "4mbit", "delay", "20ms", "loss", "0.5%"];
        let tbf = [
            "tbf", "rate", "4mbit", "burst", "32kbit", "latency", "400ms",
        ];
        let shape = |ns: &str, dev: &str, qdisc: &[&str]| {
            let mut args = vec!["-n", ns, "qdisc", "add", "dev", dev, "root"];
            args.extend_from_slice(qdisc);
            run("tc", &args)
        };
        link.shaping = match shape(h, veth_h, &netem[..]) {
            Ok(()) => {
                shape(v, veth_v, &netem[..]).unwrap_or_else(|e| panic!("shaping: {e}"));
                "netem rate 4mbit delay 20ms loss 0.5%"
            }
            Err(e) => {
                eprintln!("this kernel has no netem ({e}); shaping with tbf: rate only");
                shape(h, veth_h, &tbf[..]).unwrap_or_else(|e| panic!("shaping: {e}"));
                shape(v, veth_v, &tbf[..]).unwrap_or_else(|e| panic!("shaping: {e}"));
                "tbf rate 4mbit burst 32kbit latency 400ms"
            }
        };
        Some(link)
    }
}

impl Drop for ShapedLink {
    fn drop(&mut self) {
        for ns in [&self.host_ns, &self.viewer_ns] {
            let _ = run("ip", &["netns", "del", ns]);
        }
    }
}

/// A relay inside the host's namespace, on the veth address.
struct NsRelay {
    _proc: Proc,
    addr: String,
    fingerprint: String,
    _dir: TempDir,
}

impl RelayFlags for NsRelay {
    fn flags(&self) -> Vec<String> {
        vec![
            "--relay".into(),
            self.addr.clone(),
            "--fingerprint".into(),
            self.fingerprint.clone(),
        ]
    }
}

fn start_relay(ns: &str) -> NsRelay {
    let dir = TempDir::new("netem-relay");
    let data = dir.path().to_str().unwrap().to_owned();
    let listen = format!("{RELAY_ADDR}:0");
    let mut proc = Proc::start_in_netns(
        ns,
        "relay",
        &["relay", "--listen", &listen, "--data-dir", &data, "--json"],
        None,
    );
    let listening = proc.wait_event("listening");
    NsRelay {
        addr: listening["addr"].as_str().unwrap().to_owned(),
        fingerprint: listening["fingerprint"].as_str().unwrap().to_owned(),
        _proc: proc,
        _dir: dir,
    }
}

/// A window on `display` showing a photo-like picture (smooth shapes under film grain) that moves
/// every frame until dropped: natural content the codec codes lossy, changing as video does.
struct ChangingPhoto {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const PHOTO: (i16, i16, u16, u16) = (16, 16, 448, 320);

impl ChangingPhoto {
    fn start(display: &str) -> ChangingPhoto {
        use x11rb::connection::Connection;
        use x11rb::protocol::xproto::{
            ConnectionExt, CreateGCAux, CreateWindowAux, ImageFormat, WindowClass,
        };
        use x11rb::wrapper::ConnectionExt as _;

        let (conn, screen_num) = x11rb::connect(Some(display)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("changing-photo".into())
            .spawn(move || {
                let screen = &conn.setup().roots[screen_num];
                let (x, y, w, h) = PHOTO;
                let window = conn.generate_id().unwrap();
                conn.create_window(
                    screen.root_depth,
                    window,
                    screen.root,
                    x,
                    y,
                    w,
                    h,
                    0,
                    WindowClass::INPUT_OUTPUT,
                    0,
                    &CreateWindowAux::new().background_pixel(screen.black_pixel),
                )
                .unwrap();
                conn.change_property8(
                    x11rb::protocol::xproto::PropMode::REPLACE,
                    window,
                    x11rb::protocol::xproto::AtomEnum::WM_NAME,
                    x11rb::protocol::xproto::AtomEnum::STRING,
                    b"changing photo",
                )
                .unwrap();
                let gc = conn.generate_id().unwrap();
                conn.create_gc(gc, window, &CreateGCAux::new()).unwrap();
                conn.map_window(window).unwrap();
                conn.flush().unwrap();
                let (w, h) = (usize::from(w), usize::from(h));
                let mut pixels = vec![0u8; w * h * 4];
                let mut seed = 0x2545_f491_u32;
                let mut frame = 0u32;
                // Strips keep each request below the X server's request size limit.
                let strip = 32;
                while !stopping.load(Ordering::Relaxed) {
                    let t = frame as f32 * 0.15;
                    for (i, px) in pixels.chunks_exact_mut(4).enumerate() {
                        let (px_x, px_y) = ((i % w) as f32, (i / w) as f32);
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        let grain = ((seed >> 24) as f32 - 128.0) * 0.25;
                        let wave = |fx: f32, fy: f32, phase: f32| {
                            ((px_x * fx + px_y * fy) / 40.0 + t + phase).sin() * 90.0 + 128.0
                        };
                        let r = wave(1.0, 0.3, 0.0) + grain;
                        let g = wave(0.4, 1.1, 2.0) + grain;
                        let b = wave(-0.7, 0.8, 4.0) + grain;
                        px.copy_from_slice(&[
                            b.clamp(0.0, 255.0) as u8,
                            g.clamp(0.0, 255.0) as u8,
                            r.clamp(0.0, 255.0) as u8,
                            0,
                        ]);
                    }
                    for top in (0..h).step_by(strip) {
                        let rows = strip.min(h - top);
                        let _ = conn.put_image(
                            ImageFormat::Z_PIXMAP,
                            window,
                            gc,
                            w as u16,
                            rows as u16,
                            0,
                            top as i16,
                            0,
                            screen.root_depth,
                            &pixels[top * w * 4..(top + rows) * w * 4],
                        );
                    }
                    let _ = conn.sync();
                    frame += 1;
                    // The photo's own frame rate (content, not synchronisation).
                    std::thread::sleep(Duration::from_millis(33));
                }
            })
            .unwrap();
        ChangingPhoto {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for ChangingPhoto {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The window `name` on `display`: (x, y, width, height).
fn named_window_geometry(display: &str, name: &str) -> (u32, u32, u32, u32) {
    let id = wait_for_window(display, name);
    let (x, y, w, h) = window_geometry(display, &id);
    let unsigned = |v: i32| u32::try_from(v).unwrap();
    (unsigned(x), unsigned(y), unsigned(w), unsigned(h))
}

/// The B,G,R bytes of `rect` in a BGRX grab `width` pixels wide.
fn region_bgrx(grab: &[u8], width: u32, (x, y, w, h): (u32, u32, u32, u32)) -> Vec<[u8; 3]> {
    let mut out = Vec::new();
    for row in y..y + h {
        for col in x..x + w {
            let at = ((row * width + col) * 4) as usize;
            out.push([grab[at], grab[at + 1], grab[at + 2]]);
        }
    }
    out
}

/// The same region of a decoded RGBA snapshot, as B,G,R.
fn region_png(png: &std::path::Path, (x, y, w, h): (u32, u32, u32, u32)) -> Option<Vec<[u8; 3]>> {
    let image = image::open(png).ok()?.to_rgba8();
    let mut out = Vec::new();
    for row in y..y + h {
        for col in x..x + w {
            let p = image.get_pixel_checked(col, row)?;
            out.push([p[2], p[1], p[0]]);
        }
    }
    Some(out)
}

#[test]
fn adaptation_fits_a_4_mbit_link_and_keeps_text_exact() {
    let Some(link) = ShapedLink::create() else {
        return;
    };
    eprintln!("link shaped with: {}", link.shaping);
    let work = TempDir::new("netem");
    let mut display = VirtualDisplay::start(1024, 768).expect("Xvfb (scripts/install-deps.sh)");
    let a = display.name().to_owned();
    let _photo = ChangingPhoto::start(&a);
    display
        .spawn(
            "xterm",
            ["-geometry", "50x12+520+40", "-title", "netem-xterm"],
        )
        .unwrap();
    let xterm = named_window_geometry(&a, "netem-xterm");
    named_window_geometry(&a, "changing photo");

    let relay = start_relay(&link.host_ns);
    let mut share_args: Vec<String> = vec!["share".into()];
    share_args.extend(relay.flags());
    share_args.extend(
        [
            "--json",
            "--no-window",
            "--auto-accept",
            "view",
            "--adaptive",
            "on",
        ]
        .map(String::from),
    );
    let share_args: Vec<&str> = share_args.iter().map(String::as_str).collect();
    let mut share = Proc::start_in_netns(&link.host_ns, "share", &share_args, Some(&a));
    let code = share.wait_event("code_issued")["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut join_args: Vec<String> = vec!["join".into(), code];
    join_args.extend(relay.flags());
    join_args.extend(
        [
            "--json",
            "--headless",
            "--name",
            "netem technician",
            "--outcome",
            "resolved",
        ]
        .map(String::from),
    );
    let join_args: Vec<&str> = join_args.iter().map(String::as_str).collect();
    let mut join = Proc::start_in_netns(&link.viewer_ns, "join", &join_args, None);
    join.wait_event("first_frame");

    // Adaptation lowers the photo's quality below the user's 80, and frames keep coming.
    let lowered = share.wait_event_where("rate", STEP * 2, |e| {
        e["quality"].as_u64().is_some_and(|q| q < 80)
    });
    eprintln!("adapted: {lowered}");
    // Over the next seconds: updates keep going out, and their bytes fit the link.
    let mut reports: Vec<Value> = Vec::new();
    while reports.len() < 5 {
        reports.push(share.wait_event("rate"));
    }
    for report in &reports {
        assert!(
            report["updates_per_sec"].as_f64().unwrap() > 0.0,
            "frames keep coming: {report}"
        );
    }
    let mean_bytes = reports
        .iter()
        .map(|r| r["bytes_per_sec"].as_f64().unwrap())
        .sum::<f64>()
        / reports.len() as f64;
    assert!(
        mean_bytes <= LINK_BYTES_PER_SEC,
        "{mean_bytes} B/s over a {LINK_BYTES_PER_SEC} B/s link"
    );
    let frames_before = join.wait_event("stats")["frames"].as_u64().unwrap();
    wait_until("more frames at the viewer", STEP, || {
        (join.wait_event("stats")["frames"].as_u64()? > frames_before).then_some(())
    });

    // Text stays exact: a marker typed into the xterm arrives pixel for pixel, while the photo
    // beside it keeps changing lossy.
    let (_, _, before) = grab_root(&a);
    let inner = (xterm.0, xterm.1, xterm.2, xterm.3);
    xdotool(
        &a,
        &["search", "--name", "netem-xterm", "windowfocus", "--sync"],
    );
    xdotool(&a, &["type", "--delay", "30", "echo ADAPTIVE-8-exact"]);
    xdotool(&a, &["key", "Return"]);
    let width = wait_until("the marker on display A", STEP, || {
        let (w, _, grab) = grab_root(&a);
        (region_bgrx(&grab, w, inner) != region_bgrx(&before, w, inner)).then_some(w)
    });
    let snapshot = work.path().join("viewer.png");
    let mut tries = 0;
    wait_until("the xterm exact in the viewer's picture", STEP * 2, || {
        tries += 1;
        let (_, _, host) = grab_root(&a);
        join.send_line(&format!("snapshot {}", snapshot.display()));
        join.wait_event("snapshot");
        let viewer = region_png(&snapshot, inner)?;
        (viewer == region_bgrx(&host, width, inner)).then_some(())
    });
    eprintln!("xterm exact after {tries} snapshot(s)");
    // Processes, the display and then the namespaces go on drop, in reverse order.
}
