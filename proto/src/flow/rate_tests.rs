//! The rate controller against a simulated link: a bottleneck of some rate with a FIFO queue, a
//! one-way delay each way, and a host that captures whenever the frame interval and the window of
//! unacknowledged updates allow, sending updates whose size follows the quality.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::*;
use crate::limits::MAX_UNACKED_UPDATES;

const FPS_30: Duration = Duration::from_micros(33_333);
const STEP: Duration = Duration::from_millis(1);

/// A screen with a changing photo: text and UI (exact, fixed cost) plus photo bytes that grow with
/// the quality, as JPEG's do.
fn update_bytes(quality: u8) -> usize {
    2_000 + usize::from(quality) * 500
}

struct Link {
    /// Bytes per second through the bottleneck.
    rate: f64,
    one_way: Duration,
}

struct Sim {
    controller: RateController,
    now: Instant,
    next_seq: u64,
    acked_below: u64,
    last_capture: Option<Instant>,
    /// Acks on their way back: (arrival at the host, seq).
    acks: VecDeque<(Instant, u64)>,
    /// When the bottleneck finishes what it holds.
    link_free: Instant,
    /// (sent, acked) per update, for latency; bytes sent per update.
    latencies: Vec<(Instant, Duration)>,
    sent: Vec<(Instant, usize)>,
    sent_at: VecDeque<Instant>,
    /// Times the quality changed.
    quality_changes: Vec<Instant>,
}

impl Sim {
    fn new(max_quality: u8) -> Self {
        let now = Instant::now();
        Self {
            controller: RateController::new(
                RateConfig {
                    max_quality,
                    min_interval: FPS_30,
                    max_interval: Duration::from_secs(1),
                },
                now,
            ),
            now,
            next_seq: 0,
            acked_below: 0,
            last_capture: None,
            acks: VecDeque::new(),
            link_free: now,
            latencies: Vec::new(),
            sent: Vec::new(),
            sent_at: VecDeque::new(),
            quality_changes: Vec::new(),
        }
    }

    /// Runs `duration` over `link`; with `adaptive` off, the controller is fed but not obeyed.
    fn run(&mut self, link: &Link, duration: Duration, adaptive: bool) {
        let end = self.now + duration;
        while self.now < end {
            while self.acks.front().is_some_and(|(at, _)| *at <= self.now) {
                let Some((_, seq)) = self.acks.pop_front() else {
                    break;
                };
                self.acked_below = seq + 1;
                if let Some(sent) = self.sent_at.pop_front() {
                    self.latencies.push((sent, self.now - sent));
                }
                let before = self.controller.target().quality;
                self.controller.on_ack(seq, self.now);
                if self.controller.target().quality != before {
                    self.quality_changes.push(self.now);
                }
            }
            let target = if adaptive {
                self.controller.target()
            } else {
                RateTarget {
                    quality: 80,
                    frame_interval: FPS_30,
                }
            };
            let due = self
                .last_capture
                .is_none_or(|at| self.now - at >= target.frame_interval);
            if due && self.next_seq - self.acked_below < MAX_UNACKED_UPDATES {
                let bytes = update_bytes(target.quality);
                let seq = self.next_seq;
                self.next_seq += 1;
                self.last_capture = Some(self.now);
                self.controller.on_sent(seq, bytes, self.now);
                let arrives = self.now + link.one_way;
                self.link_free =
                    self.link_free.max(arrives) + Duration::from_secs_f64(bytes as f64 / link.rate);
                self.acks.push_back((self.link_free + link.one_way, seq));
                self.sent.push((self.now, bytes));
                self.sent_at.push_back(self.now);
            }
            self.now += STEP;
        }
    }

    /// Bytes per second and updates per second sent over the last `span`.
    fn recent_rates(&self, span: Duration) -> (f64, f64) {
        let from = self.now - span;
        let recent: Vec<usize> = self
            .sent
            .iter()
            .filter(|(at, _)| *at >= from)
            .map(|(_, b)| *b)
            .collect();
        let secs = span.as_secs_f64();
        (
            recent.iter().sum::<usize>() as f64 / secs,
            recent.len() as f64 / secs,
        )
    }

    /// The 95th percentile send-to-ack time of updates sent over the last `span`.
    fn recent_latency_p95(&self, span: Duration) -> Duration {
        let from = self.now - span;
        let mut recent: Vec<Duration> = self
            .latencies
            .iter()
            .filter(|(at, _)| *at >= from)
            .map(|(_, l)| *l)
            .collect();
        recent.sort();
        recent[recent.len() * 95 / 100]
    }
}

const FAST: Link = Link {
    rate: 100e6,
    one_way: Duration::from_millis(1),
};

/// 4 Mb/s, 40 ms round trip: the netem link of `tests/e2e_netem.rs`.
const SLOW: Link = Link {
    rate: 500e3,
    one_way: Duration::from_millis(20),
};

#[test]
fn a_fast_link_keeps_full_quality_and_frame_rate() {
    let mut sim = Sim::new(80);
    sim.run(&FAST, Duration::from_secs(20), true);
    let target = sim.controller.target();
    assert_eq!(target.quality, 80);
    assert_eq!(target.frame_interval, FPS_30);
    let (_, fps) = sim.recent_rates(Duration::from_secs(5));
    assert!(fps > 28.0, "{fps} frames/s");
}

#[test]
fn a_4_mbit_link_converges_to_lower_quality_and_a_rate_that_fits() {
    let mut sim = Sim::new(80);
    sim.run(&SLOW, Duration::from_secs(30), true);
    let target = sim.controller.target();
    assert!(target.quality < 80, "quality {}", target.quality);
    let (bytes, fps) = sim.recent_rates(Duration::from_secs(10));
    assert!(
        bytes <= SLOW.rate,
        "{bytes} B/s over a {} B/s link",
        SLOW.rate
    );
    assert!(fps >= 5.0, "frames keep coming: {fps} frames/s");
    // Little queue: updates arrive about a round trip plus their own link time after sending.
    let p95 = sim.recent_latency_p95(Duration::from_secs(10));
    assert!(p95 < Duration::from_millis(200), "p95 {p95:?}");

    // Without adaptation the window fills and every update waits behind three others.
    let mut fixed = Sim::new(80);
    fixed.run(&SLOW, Duration::from_secs(30), false);
    let fixed_p95 = fixed.recent_latency_p95(Duration::from_secs(10));
    assert!(
        fixed_p95 > p95 * 3 / 2,
        "fixed {fixed_p95:?} vs adaptive {p95:?}"
    );
}

#[test]
fn quality_and_frame_rate_recover_when_the_link_clears() {
    let mut sim = Sim::new(80);
    sim.run(&SLOW, Duration::from_secs(20), true);
    assert!(sim.controller.target().quality < 80);
    sim.run(&FAST, Duration::from_secs(60), true);
    let target = sim.controller.target();
    assert_eq!(target.quality, 80);
    assert_eq!(target.frame_interval, FPS_30);
}

#[test]
fn lossless_stays_lossless() {
    let mut sim = Sim::new(100);
    sim.run(&SLOW, Duration::from_secs(10), true);
    let target = sim.controller.target();
    assert_eq!(target.quality, 100);
    // The frame rate still adapts.
    assert!(target.frame_interval > FPS_30, "{target:?}");
}

#[test]
fn acks_for_updates_never_sent_change_nothing() {
    let now = Instant::now();
    let mut controller = RateController::new(
        RateConfig {
            max_quality: 80,
            min_interval: FPS_30,
            max_interval: Duration::from_secs(1),
        },
        now,
    );
    let before = controller.target();
    controller.on_ack(u64::MAX, now);
    controller.on_ack(0, now);
    controller.on_sent(5, 1000, now);
    // Out of order or repeated: ignored.
    controller.on_sent(5, 1000, now);
    controller.on_sent(3, 1000, now);
    controller.on_ack(4, now + Duration::from_millis(1));
    assert_eq!(controller.target(), before);
}

#[test]
fn a_link_that_only_just_fits_does_not_flap() {
    let mut sim = Sim::new(80);
    sim.run(&SLOW, Duration::from_secs(120), true);
    // Settled: few quality changes (each one a keyframe) in the last minute.
    let from = sim.now - Duration::from_secs(60);
    let late = sim.quality_changes.iter().filter(|at| **at >= from).count();
    assert!(late <= 6, "{late} quality changes in the last minute");
}
