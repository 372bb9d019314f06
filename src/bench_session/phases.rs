//! The scripted session, phase by phase, and what each phase measured: the same script runs
//! against every stack. Typing, scrolling and dragging happen on the shared display A (as the
//! user's own desktop would change); the probe presses keys on the technician's display B, into
//! the viewer, and reads the result back from B's screen.

use std::time::{Duration, Instant};

use anyhow::Context;

use super::measure::{cpu_time, percentile};
use super::report::{PhaseReport, ProbeReport};
use super::stacks::{Stack, xdotool};
use super::x11::{Area, Grabber, Keyboard, Mover, ScreenWatch};

/// Where the xterm on A sits, in pixels, between phases.
pub const XTERM_AT: (i32, i32) = (0, 250);

/// How long a probe may wait for its key to show on B.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Counters at one moment.
struct Sample {
    at: Instant,
    cpu: Vec<Duration>,
    bytes: u64,
    presents: u64,
    updates: Option<u64>,
}

pub struct Bench<'a> {
    pub stack: &'a Stack,
    /// Every process whose CPU is measured, by role: the stack's, and the two X servers.
    pub measured: Vec<(&'static str, u32)>,
    /// Changes of the viewer's screen (B) and of the shared one (A).
    pub watch: &'a ScreenWatch,
    pub shared_watch: &'a ScreenWatch,
    /// Display A (shared) and B (the viewer's).
    pub shared: &'a str,
    pub technician: &'a str,
    /// The xterm on A.
    pub xterm: &'a str,
}

impl Bench<'_> {
    fn sample(&self) -> anyhow::Result<Sample> {
        let cpu = self
            .measured
            .iter()
            .map(|(_, pid)| cpu_time(*pid))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let updates = self
            .stack
            .processes
            .iter()
            .find(|(role, _)| *role == "viewer")
            .filter(|_| self.stack.kind == super::stacks::StackKind::Tandem)
            .map(|(_, p)| p.frames.load(std::sync::atomic::Ordering::Relaxed));
        Ok(Sample {
            at: Instant::now(),
            cpu,
            bytes: self.stack.bytes.read()?,
            presents: self.watch.presents().count,
            updates,
        })
    }

    fn report(&self, name: &str, before: &Sample, after: &Sample) -> PhaseReport {
        let seconds = (after.at - before.at).as_secs_f64();
        let per_sec = |n: u64| n as f64 / seconds;
        PhaseReport {
            name: name.into(),
            seconds,
            host_to_viewer_kbytes_per_sec: per_sec(after.bytes.saturating_sub(before.bytes))
                / 1000.0,
            cpu_percent: self
                .measured
                .iter()
                .zip(before.cpu.iter().zip(&after.cpu))
                .map(|((role, _), (b, a))| {
                    (*role, 100.0 * a.saturating_sub(*b).as_secs_f64() / seconds)
                })
                .collect(),
            viewer_frames_per_sec: per_sec(after.presents.saturating_sub(before.presents)),
            updates_per_sec: before
                .updates
                .zip(after.updates)
                .map(|(b, a)| per_sec(a.saturating_sub(b))),
            probe: None,
            viewer_stats: self
                .stack
                .processes
                .iter()
                .find(|(role, _)| *role == "viewer")
                .and_then(|(_, p)| p.stats.lock().unwrap_or_else(|e| e.into_inner()).clone())
                .map(|stats| {
                    serde_json::json!({
                        "encode_ms": stats["encode_ms"],
                        "decode_ms": stats["decode_ms"],
                        "rtt_ms": stats["rtt_ms"],
                    })
                }),
        }
    }

    /// Runs `work` between two samples: one phase.
    fn measure(
        &self,
        name: &str,
        work: impl FnOnce() -> anyhow::Result<Option<ProbeReport>>,
    ) -> anyhow::Result<PhaseReport> {
        self.settle();
        let before = self.sample()?;
        let probe = work().with_context(|| format!("the {name} phase"))?;
        let after = self.sample()?;
        let mut report = self.report(name, &before, &after);
        report.probe = probe;
        Ok(report)
    }

    /// Lets the viewer's screen come to rest between phases (a benchmark's pause, not a test's
    /// synchronisation: a screen that never rests is measured as it is).
    fn settle(&self) {
        let _ = self
            .watch
            .wait_quiet(Duration::from_millis(500), Duration::from_secs(10));
    }

    fn type_on_shared(&self, text: &str) -> anyhow::Result<()> {
        xdotool(self.shared, &["type", "--delay", "5", text]).map(drop)
    }

    fn key_on_shared(&self, keys: &[&str]) -> anyhow::Result<()> {
        let mut args = vec!["key", "--delay", "20"];
        args.extend_from_slice(keys);
        xdotool(self.shared, &args).map(drop)
    }

    fn clear_terminal(&self) -> anyhow::Result<()> {
        self.key_on_shared(&["ctrl+c"])?;
        self.type_on_shared("clear\n")
    }

    /// The whole script; the reports in order, then the scripted session as a whole (typing to
    /// the probe's end).
    pub fn run(
        &self,
        still: Duration,
        phase: Duration,
        probes: usize,
    ) -> anyhow::Result<Vec<PhaseReport>> {
        xdotool(self.shared, &["windowfocus", "--sync", self.xterm])?;
        self.clear_terminal()?;
        let mut reports = vec![self.measure("still", || {
            std::thread::sleep(still);
            Ok(None)
        })?];
        self.settle();
        let session_start = self.sample()?;

        // Typing: a line editor's echo (cat), a key every 60 ms, as a person types quickly.
        self.type_on_shared("cat >/dev/null\n")?;
        reports.push(self.measure("typing", || {
            // As many keys as fit the phase; xdotool ends by itself (stopping it mid-key could
            // leave a key held down on A).
            let keys = (phase.as_millis() / 60).max(1) as usize;
            let text: String = TYPED.chars().cycle().take(keys).collect();
            xdotool(self.shared, &["type", "--delay", "60", &text]).map(drop)?;
            Ok(None)
        })?);
        self.clear_terminal()?;

        // Scrolling: a terminal printing as fast as it can.
        let seconds = phase.as_secs_f64().to_string();
        self.type_on_shared(&format!(
            "timeout {seconds} sh -c 'while :; do find /usr; done'"
        ))?;
        reports.push(self.measure("scrolling", || {
            self.key_on_shared(&["Return"])?;
            std::thread::sleep(phase);
            Ok(None)
        })?);
        self.clear_terminal()?;

        // Dragging: the xterm moved 60 times a second over the photo wallpaper.
        let window: u32 = self.xterm.trim().parse().context("the xterm's window id")?;
        let mover = Mover::new(self.shared)?;
        reports.push(self.measure("drag", || {
            let started = Instant::now();
            let mut step = 0u32;
            while started.elapsed() < phase {
                let t = started.elapsed().as_secs_f64();
                mover.move_window(window, triangle(t, 600.0, 900), triangle(t, 350.0, 500))?;
                step += 1;
                let next = started + Duration::from_secs_f64(f64::from(step) / 60.0);
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            mover.move_window(window, XTERM_AT.0, XTERM_AT.1)?;
            Ok(None)
        })?);

        // The probe: keys pressed on the viewer (B), read back from B's screen.
        self.clear_terminal()?;
        xdotool(
            self.technician,
            &["windowfocus", "--sync", &self.stack.viewer_window],
        )?;
        reports.push(self.measure("probe", || self.probe(probes).map(Some))?);
        self.key_on_shared(&["ctrl+u"])?;
        let session_end = self.sample()?;
        reports.push(self.report("session", &session_start, &session_end));
        Ok(reports)
    }

    /// `probes` key presses into the viewer window on B; each timed from the press until the
    /// part of B's screen that shows the xterm changes (the first X DAMAGE report after which the
    /// pixels differ).
    fn probe(&self, probes: usize) -> anyhow::Result<ProbeReport> {
        let keyboard = Keyboard::new(self.technician)?;
        let viewer = Grabber::new(self.technician)?;
        let shared = Grabber::new(self.shared)?;
        let (width, height) = viewer.size()?;
        // The xterm's top rows, where its prompt and what is typed show: on A where the xterm
        // is, on B wherever the viewer draws it at any scale (A and B are the same size).
        let viewer_area = Area {
            x: 0,
            y: (height / 7) as i16,
            width: width / 2,
            height: height / 3,
        };
        let shared_area = Area {
            x: 0,
            y: XTERM_AT.1 as i16,
            width: width / 2,
            height: 200,
        };
        let (mut to_viewer, mut to_shared) = (Vec::new(), Vec::new());
        for n in 0..probes {
            let _ = self
                .watch
                .wait_quiet(Duration::from_millis(150), Duration::from_secs(3));
            let viewer_before = viewer.grab(viewer_area)?;
            let shared_before = shared.grab(shared_area)?;
            let viewer_checked = self.watch.presents().last;
            let shared_checked = self.shared_watch.presents().last;
            let pressed = Instant::now();
            keyboard.tap_letter(n)?;
            let deadline = pressed + PROBE_TIMEOUT;
            if let Some(at) = first_change(
                self.shared_watch,
                &shared,
                shared_area,
                &shared_before,
                shared_checked,
                deadline,
            )? {
                to_shared.push(ms(at - pressed));
            }
            if let Some(at) = first_change(
                self.watch,
                &viewer,
                viewer_area,
                &viewer_before,
                viewer_checked,
                deadline,
            )? {
                to_viewer.push(ms(at - pressed));
            }
        }
        to_viewer.sort_by(f64::total_cmp);
        to_shared.sort_by(f64::total_cmp);
        Ok(ProbeReport {
            sent: probes,
            seen: to_viewer.len(),
            p50_ms: percentile(&to_viewer, 50.0),
            p95_ms: percentile(&to_viewer, 95.0),
            shared_p50_ms: percentile(&to_shared, 50.0),
            shared_p95_ms: percentile(&to_shared, 95.0),
        })
    }
}

/// When `area` of a screen first differed from `before`: the first damage report after
/// `checked` after which a grab differs, timed at the latest report the grab covers (the grab
/// shows at least everything damaged up to then, so this never flatters); `None` at `deadline`.
fn first_change(
    watch: &ScreenWatch,
    grabber: &Grabber,
    area: Area,
    before: &[u8],
    mut checked: Option<Instant>,
    deadline: Instant,
) -> anyhow::Result<Option<Instant>> {
    while watch.wait_change_after(checked, deadline).is_some() {
        let seen = watch.presents().last;
        if grabber.grab(area)? != before {
            return Ok(seen);
        }
        checked = seen;
    }
    Ok(None)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// What the typing phase types (letters and spaces; a newline now and then).
const TYPED: &str = "the quick brown fox jumps over the lazy dog while the technician watches\n";

/// A position going 0 → `max` → 0 at `speed` px/s.
fn triangle(t: f64, speed: f64, max: i32) -> i32 {
    let span = 2.0 * f64::from(max);
    let at = (t * speed) % span;
    (if at <= f64::from(max) { at } else { span - at }) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drag_path_bounces_between_the_edges() {
        assert_eq!(triangle(0.0, 100.0, 500), 0);
        assert_eq!(triangle(2.0, 100.0, 500), 200);
        assert_eq!(triangle(5.0, 100.0, 500), 500);
        assert_eq!(triangle(7.0, 100.0, 500), 300);
        assert_eq!(triangle(10.0, 100.0, 500), 0);
    }
}
