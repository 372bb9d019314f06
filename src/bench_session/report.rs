//! The benchmark's results: a table for people, one JSON object for scripts.

use serde_json::{Value, json};

/// One stack's run of the script.
pub struct StackReport {
    pub stack: &'static str,
    /// The stack could not run (a program missing): why; `phases` is then empty.
    pub skipped: Option<String>,
    pub phases: Vec<PhaseReport>,
}

pub struct PhaseReport {
    pub name: String,
    pub seconds: f64,
    /// See `measure::ByteCounter` for what is counted for each stack.
    pub host_to_viewer_kbytes_per_sec: f64,
    /// CPU time over the phase as % of one core, per role ("relay", "host", "viewer", and the X
    /// servers "xserver_shared" (A) and "xserver_viewer" (B)).
    pub cpu_percent: Vec<(&'static str, f64)>,
    /// Pictures the viewer put on display B per second (X DAMAGE on B's root).
    pub viewer_frames_per_sec: f64,
    /// Updates the Tandem viewer decoded per second (its `stats` events, about once a second:
    /// up to a second off at each end of a phase).
    pub updates_per_sec: Option<f64>,
    pub probe: Option<ProbeReport>,
    /// The Tandem viewer's latest `stats` event at the phase's end (encode, decode and round-trip
    /// times), for the per-stage breakdown.
    pub viewer_stats: Option<Value>,
}

impl PhaseReport {
    /// The viewer's CPU time per picture it put on the screen: what one frame costs it.
    pub fn viewer_cpu_ms_per_frame(&self) -> Option<f64> {
        let (_, percent) = self
            .cpu_percent
            .iter()
            .find(|(role, _)| *role == "viewer")?;
        (self.viewer_frames_per_sec > 0.0).then(|| 10.0 * percent / self.viewer_frames_per_sec)
    }
}

pub struct ProbeReport {
    pub sent: usize,
    /// Probes whose key showed on the viewer's screen.
    pub seen: usize,
    /// Key pressed on B → the viewer's screen shows the xterm's change.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    /// Key pressed on B → the xterm on A changed (the input half of the loop).
    pub shared_p50_ms: Option<f64>,
    pub shared_p95_ms: Option<f64>,
}

pub struct Setup {
    pub width: u32,
    pub height: u32,
    pub tandem: String,
    pub fps: u32,
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

pub fn to_json(setup: &Setup, stacks: &[StackReport]) -> Value {
    json!({
        "screen": format!("{}x{}", setup.width, setup.height),
        "tandem": setup.tandem,
        "tandem_fps_cap": setup.fps,
        "bytes": "host->viewer stream payload: Tandem = bytes the relay forwarded from the host (sealed stream data, no QUIC/UDP headers); VNC = bytes_sent of the server's TCP socket (RFB, no TCP/IP headers)",
        "frames": "pictures the viewer put on display B per second, counted by X DAMAGE on B",
        "stacks": stacks.iter().map(|s| json!({
            "stack": s.stack,
            "skipped": s.skipped,
            "phases": s.phases.iter().map(|p| {
                let cpu: serde_json::Map<String, Value> = p
                    .cpu_percent
                    .iter()
                    .map(|(role, pct)| ((*role).to_owned(), json!(round1(*pct))))
                    .collect();
                json!({
                    "phase": p.name,
                    "seconds": round1(p.seconds),
                    "host_to_viewer_kbytes_per_sec": round1(p.host_to_viewer_kbytes_per_sec),
                    "cpu_percent": cpu,
                    "viewer_frames_per_sec": round1(p.viewer_frames_per_sec),
                    "viewer_cpu_ms_per_frame": p.viewer_cpu_ms_per_frame().map(round1),
                    "updates_per_sec": p.updates_per_sec.map(round1),
                    "probe": p.probe.as_ref().map(|probe| json!({
                        "sent": probe.sent,
                        "seen": probe.seen,
                        "p50_ms": probe.p50_ms.map(round1),
                        "p95_ms": probe.p95_ms.map(round1),
                        "shared_p50_ms": probe.shared_p50_ms.map(round1),
                        "shared_p95_ms": probe.shared_p95_ms.map(round1),
                    })),
                    "viewer_stats": p.viewer_stats,
                })
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

pub fn table(setup: &Setup, stacks: &[StackReport]) -> String {
    let mut out = format!(
        "Live session, {}x{} shared and viewed full screen; Tandem from {} (--fps {}).\n\
         kB/s: host->viewer stream bytes (Tandem: forwarded by the relay; VNC: the server's TCP socket).\n\
         CPU: % of one core; XA, XB: the X servers of A and B. frames/s: pictures the viewer put on its screen (X DAMAGE);\n\
         ms/frame: the viewer's CPU time per such picture.\n\
         Probe: key pressed on the viewer (B) -> its screen shows the xterm's change, p50/p95 (seen/sent);\n\
         on A: the same key -> the xterm on the shared screen changed (the input half).\n\n",
        setup.width, setup.height, setup.tandem, setup.fps
    );
    out.push_str(&format!(
        "{:<10} {:<9} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9} {:>9}  {}\n",
        "phase",
        "stack",
        "kB/s",
        "host%",
        "viewer%",
        "relay%",
        "XA%",
        "XB%",
        "frames/s",
        "ms/frame",
        "updates/s",
        "probe"
    ));
    let phases: Vec<&str> = stacks
        .iter()
        .flat_map(|s| s.phases.iter().map(|p| p.name.as_str()))
        .fold(Vec::new(), |mut names, name| {
            if !names.contains(&name) {
                names.push(name);
            }
            names
        });
    for phase in phases {
        for stack in stacks {
            let Some(p) = stack.phases.iter().find(|p| p.name == phase) else {
                continue;
            };
            let cpu = |role: &str| {
                p.cpu_percent
                    .iter()
                    .find(|(r, _)| *r == role)
                    .map_or("-".to_owned(), |(_, pct)| format!("{pct:.1}"))
            };
            let probe = p.probe.as_ref().map_or("-".to_owned(), |probe| {
                let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
                format!(
                    "{}/{} ms ({}/{}); on A {}/{} ms",
                    ms(probe.p50_ms),
                    ms(probe.p95_ms),
                    probe.seen,
                    probe.sent,
                    ms(probe.shared_p50_ms),
                    ms(probe.shared_p95_ms),
                )
            });
            out.push_str(&format!(
                "{:<10} {:<9} {:>9.1} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9.1} {:>9} {:>9}  {}\n",
                phase,
                stack.stack,
                p.host_to_viewer_kbytes_per_sec,
                cpu("host"),
                cpu("viewer"),
                cpu("relay"),
                cpu("xserver_shared"),
                cpu("xserver_viewer"),
                p.viewer_frames_per_sec,
                p.viewer_cpu_ms_per_frame()
                    .map_or("-".to_owned(), |ms| format!("{ms:.1}")),
                p.updates_per_sec
                    .map_or("-".to_owned(), |u| format!("{u:.1}")),
                probe
            ));
        }
    }
    for stack in stacks {
        if let Some(why) = &stack.skipped {
            out.push_str(&format!("\n{} skipped: {why}\n", stack.stack));
        }
    }
    out
}
