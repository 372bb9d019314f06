//! Adaptive quality on a constrained link (PROTOCOL.md §7, "Adaptive quality"): a sans-IO,
//! delay-based rate controller for the host's screen updates. It is fed the size of each update sent and the time
//! each `Ack` arrives, and says which JPEG quality photographic regions get and how long capture
//! waits between frames. Text and UI are exact whatever it decides: the codec never codes them
//! lossy, and the quality only reaches natural-content tiles.
//!
//! Per acknowledged update it estimates, from the ack times alone (the host has no view into the
//! relay's or QUIC's queues):
//! - the base RTT: the smallest send-to-ack time of the last [`BASE_RTT_WINDOW`] (a little high,
//!   as it includes the smallest update's own link time, which only makes the tests below stricter);
//! - how long the update waited behind earlier ones (the standing queue):
//!   `max(0, previous ack - (sent + base RTT))`;
//! - when it did wait, the link carried nothing else between the previous ack and its own, so
//!   bytes over that gap, summed over at least [`MIN_SAMPLE_TIME`], is the link's delivery rate.
//!   When the screen sends too little to queue for a while, the rate is raised step by step
//!   (probing), until a queue measures it again.
//!
//! The frame interval is set so the average update fits 80 % of the measured rate. While a queue
//! stands (delay above the base by a margin, or more bytes in flight than the link carries in a
//! round trip plus the margin) the interval is lengthened further, and while a queue stands or the
//! frame rate that fits is below two thirds of the maximum, the quality steps down, at most one step
//! per [`QUALITY_HOLD`]. When neither holds for [`RECOVER_AFTER`], quality steps up again; a step
//! up followed soon by a step down doubles the wait before the next try, so a link that only just
//! fits does not flap.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Least time between two quality changes (each change makes the next update a keyframe).
pub const QUALITY_HOLD: Duration = Duration::from_secs(2);
/// How long the link must be clear before quality steps up again (doubled after a failed try).
pub const RECOVER_AFTER: Duration = Duration::from_secs(4);
/// The longest wait before quality tries to step up again after failed tries.
pub const MAX_RECOVER_AFTER: Duration = Duration::from_secs(32);
/// The lowest quality the controller goes to (unless the user's is lower).
pub const MIN_QUALITY: u8 = 25;
/// The qualities stepped through below the user's, highest first.
const QUALITY_STEPS: [u8; 4] = [60, 45, 35, MIN_QUALITY];
/// Share of the measured delivery rate the updates are paced to.
const RATE_HEADROOM: f64 = 0.8;
/// Queueing delay above which the link counts as congested: this, or half the base RTT if larger.
const MIN_DELAY_MARGIN: Duration = Duration::from_millis(30);
/// How long a smallest round trip counts as the base RTT (the path may change).
pub const BASE_RTT_WINDOW: Duration = Duration::from_secs(10);
/// How long a delivery-rate measurement is trusted without a new one: the screen may have sent too
/// little to queue since, so the link may have more room; after this the estimate is raised by
/// [`PROBE_GAIN`] (and again after as long), until a queue measures it again.
const RATE_WINDOW: Duration = Duration::from_secs(2);
const PROBE_GAIN: f64 = 1.25;
/// A delivery-rate sample covers at least this much link time (single acks jitter).
pub const MIN_SAMPLE_TIME: Duration = Duration::from_millis(40);
/// Updates remembered while unacknowledged; more (a window larger than this) are not measured.
const MAX_TRACKED: usize = 64;

/// What the controller is told once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateConfig {
    /// The user's quality for photographic regions: never exceeded (100: lossless, never changed).
    pub max_quality: u8,
    /// The shortest frame interval (`1 / --fps`).
    pub min_interval: Duration,
    /// The longest frame interval: frames keep coming at least this often while the screen changes.
    pub max_interval: Duration,
}

/// What the controller decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateTarget {
    /// JPEG quality of photographic regions.
    pub quality: u8,
    /// Least time between two captures.
    pub frame_interval: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u64,
    bytes: u64,
    at: Instant,
}

/// A minimum over a sliding time window, kept as two half-window buckets.
#[derive(Debug, Clone, Copy)]
struct Windowed {
    window: Duration,
    current: Option<(f64, Instant)>,
    previous: Option<f64>,
}

impl Windowed {
    fn new(window: Duration) -> Self {
        Self {
            window,
            current: None,
            previous: None,
        }
    }

    fn add(&mut self, value: f64, now: Instant) {
        match self.current {
            Some((best, started)) if now.saturating_duration_since(started) < self.window / 2 => {
                self.current = Some((best.min(value), started));
            }
            Some((best, _)) => {
                self.previous = Some(best);
                self.current = Some((value, now));
            }
            None => self.current = Some((value, now)),
        }
    }

    fn get(&self, now: Instant) -> Option<f64> {
        let (best, started) = self.current?;
        // A bucket older than the whole window says nothing about the link any more.
        if now.saturating_duration_since(started) >= self.window {
            return None;
        }
        Some(match self.previous {
            Some(previous) => best.min(previous),
            None => best,
        })
    }
}

/// The host's rate controller. See the module docs.
#[derive(Debug, Clone)]
pub struct RateController {
    config: RateConfig,
    /// Qualities to step through, highest (the user's) first.
    levels: Vec<u8>,
    level: usize,
    in_flight: VecDeque<Sent>,
    last_ack: Option<Instant>,
    base_rtt: Windowed,
    /// Bytes per second the link delivers, measured while updates queued (smoothed), and when.
    rate: Option<f64>,
    rate_at: Instant,
    sample_bytes: u64,
    sample_time: Duration,
    /// Smoothed queueing delay of the last updates, in seconds.
    queue_delay: f64,
    /// Smoothed update size, in bytes.
    update_bytes: f64,
    /// Extra lengthening of the frame interval while a queue drains (1 = none).
    backoff: f64,
    last_quality_change: Option<Instant>,
    /// The last step up, while it may still turn out to have been too much.
    probing_since: Option<Instant>,
    recover_after: Duration,
    clear_since: Option<Instant>,
}

impl RateController {
    pub fn new(config: RateConfig, now: Instant) -> Self {
        let mut levels = vec![config.max_quality];
        if config.max_quality < 100 {
            levels.extend(
                QUALITY_STEPS
                    .iter()
                    .copied()
                    .filter(|&q| q < config.max_quality),
            );
        }
        let config = RateConfig {
            max_interval: config.max_interval.max(config.min_interval),
            ..config
        };
        Self {
            config,
            levels,
            level: 0,
            in_flight: VecDeque::new(),
            last_ack: None,
            base_rtt: Windowed::new(BASE_RTT_WINDOW),
            rate: None,
            rate_at: now,
            sample_bytes: 0,
            sample_time: Duration::ZERO,
            queue_delay: 0.0,
            update_bytes: 0.0,
            backoff: 1.0,
            last_quality_change: None,
            probing_since: None,
            recover_after: RECOVER_AFTER,
            clear_since: None,
        }
    }

    /// Update `seq` of `bytes` was queued for sending at `now`.
    pub fn on_sent(&mut self, seq: u64, bytes: usize, now: Instant) {
        if self.in_flight.back().is_some_and(|s| s.seq >= seq) {
            return;
        }
        if self.in_flight.len() == MAX_TRACKED {
            self.in_flight.pop_front();
        }
        let bytes = bytes as u64;
        self.in_flight.push_back(Sent {
            seq,
            bytes,
            at: now,
        });
        self.update_bytes = if self.update_bytes == 0.0 {
            bytes as f64
        } else {
            0.75 * self.update_bytes + 0.25 * bytes as f64
        };
    }

    /// The viewer acknowledged every update up to `seq` at `now`. Acks for updates not sent (or
    /// already acknowledged) change nothing.
    pub fn on_ack(&mut self, seq: u64, now: Instant) {
        while self.in_flight.front().is_some_and(|s| s.seq <= seq) {
            let Some(sent) = self.in_flight.pop_front() else {
                break;
            };
            self.on_delivered(sent, now);
        }
        self.decide(now);
    }

    fn on_delivered(&mut self, sent: Sent, now: Instant) {
        let rtt = now.saturating_duration_since(sent.at);
        // The smallest round trip includes the smallest update's own link time: a base a little
        // high, which only makes the tests below stricter.
        self.base_rtt.add(rtt.as_secs_f64(), now);
        let base = self.base_rtt.get(now).map_or(rtt, Duration::from_secs_f64);
        let earliest = sent.at + base;
        let waited = self.last_ack.map_or(Duration::ZERO, |last| {
            last.saturating_duration_since(earliest)
        });
        self.queue_delay = 0.7 * self.queue_delay + 0.3 * waited.as_secs_f64();
        if let Some(last) = self.last_ack
            && !waited.is_zero()
        {
            // It was at the bottleneck before the one before it was through: the link carried
            // nothing else between the two acks, so their gap is this update's link time.
            self.sample_bytes += sent.bytes;
            self.sample_time += now.saturating_duration_since(last);
            if self.sample_time >= MIN_SAMPLE_TIME {
                let sample = self.sample_bytes as f64 / self.sample_time.as_secs_f64();
                self.rate = Some(match self.rate {
                    Some(rate) if now.saturating_duration_since(self.rate_at) < RATE_WINDOW => {
                        0.5 * rate + 0.5 * sample
                    }
                    _ => sample,
                });
                self.rate_at = now;
                self.sample_bytes = 0;
                self.sample_time = Duration::ZERO;
            }
        }
        self.last_ack = Some(now);
    }

    fn margin(&self, now: Instant) -> f64 {
        let base = self.base_rtt.get(now).unwrap_or(0.0);
        MIN_DELAY_MARGIN.as_secs_f64().max(base / 2.0)
    }

    /// A queue stands: delay above the base by the margin, or more in flight than the link
    /// carries in a round trip plus the margin.
    fn congested(&self, now: Instant) -> bool {
        let margin = self.margin(now);
        if self.queue_delay > margin {
            return true;
        }
        match (self.rate, self.base_rtt.get(now)) {
            (Some(rate), Some(base)) => {
                let in_flight: u64 = self.in_flight.iter().map(|s| s.bytes).sum();
                // One update always fits, however large: only a queue of them counts.
                self.in_flight.len() > 1 && in_flight as f64 > rate * (base + 2.0 * margin)
            }
            _ => false,
        }
    }

    /// The frame interval that makes the average update fit the measured rate.
    fn paced_interval(&self) -> Duration {
        let min = self.config.min_interval;
        let Some(rate) = self.rate else {
            return min;
        };
        let fit = self.update_bytes * self.backoff / (rate * RATE_HEADROOM);
        Duration::from_secs_f64(
            fit.clamp(min.as_secs_f64(), self.config.max_interval.as_secs_f64()),
        )
    }

    fn decide(&mut self, now: Instant) {
        if let Some(rate) = self.rate
            && now.saturating_duration_since(self.rate_at) >= RATE_WINDOW
            && !self.congested(now)
        {
            self.rate = Some(rate * PROBE_GAIN);
            self.rate_at = now;
        }
        let hold_over = self
            .last_quality_change
            .is_none_or(|at| now.saturating_duration_since(at) >= QUALITY_HOLD);
        let fps_limited = self.paced_interval() > self.config.min_interval * 3 / 2;
        let congested = self.congested(now);
        self.backoff = if congested {
            (self.backoff * 1.25).min(4.0)
        } else {
            (self.backoff * 0.9).max(1.0)
        };
        // A standing queue, or a link that only fits a low frame rate: trade quality for frames.
        if congested || fps_limited {
            self.clear_since = None;
            if let Some(probe) = self.probing_since.take()
                && now.saturating_duration_since(probe) < self.recover_after * 2
            {
                // The last step up was too much: wait longer before the next try.
                self.recover_after = (self.recover_after * 2).min(MAX_RECOVER_AFTER);
            }
            if hold_over && self.level + 1 < self.levels.len() {
                self.level += 1;
                self.last_quality_change = Some(now);
            }
            return;
        }
        let clear_since = *self.clear_since.get_or_insert(now);
        if self
            .probing_since
            .is_some_and(|at| now.saturating_duration_since(at) >= self.recover_after * 2)
        {
            // The last step up held: the next one may come sooner again.
            self.probing_since = None;
            self.recover_after = RECOVER_AFTER;
        }
        if self.level > 0
            && hold_over
            && now.saturating_duration_since(clear_since) >= self.recover_after
        {
            self.level -= 1;
            self.last_quality_change = Some(now);
            self.probing_since = Some(now);
            self.clear_since = Some(now);
        }
    }

    /// What capture and the encoder should use now.
    pub fn target(&self) -> RateTarget {
        RateTarget {
            quality: self
                .levels
                .get(self.level)
                .copied()
                .unwrap_or(self.config.max_quality),
            frame_interval: self.paced_interval(),
        }
    }

    /// The measured delivery rate, in bytes per second, if known.
    pub fn delivery_rate(&self) -> Option<f64> {
        self.rate
    }
}

#[cfg(test)]
#[path = "rate_tests.rs"]
mod tests;
