//! Adaptive quality (issue 8): feeds proto's rate controller with what the session loop sends and
//! the acks it gets, and hands its target (quality of photographic regions, frame interval) to the
//! capture thread. With adaptation off it still measures, so the two can be compared, but capture
//! keeps the user's quality and `--fps`. Sans-IO: the caller passes the time.

use std::time::{Duration, Instant};

use tandem_proto::flow::{RateConfig, RateController, RateTarget};

/// How often the front end is told the link's numbers (while updates are sent).
pub const REPORT_PERIOD: Duration = Duration::from_secs(1);

/// The longest frame interval adaptation chooses: frames keep coming at least once a second while
/// the screen changes, however slow the link.
pub const MAX_FRAME_INTERVAL: Duration = Duration::from_secs(1);

/// What the front end is told about once a second: what adaptation chose and what went out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateReport {
    /// Whether the target is applied (`--adaptive on`).
    pub adaptive: bool,
    /// The quality photographic regions are encoded at now.
    pub quality: u8,
    /// The most frames per second capture produces now.
    pub max_fps: f64,
    /// Update bytes sent per second over the last period.
    pub bytes_per_sec: f64,
    /// Updates sent per second over the last period.
    pub updates_per_sec: f64,
    /// The link's delivery rate as measured from acks, in bytes per second, once known.
    pub link_bytes_per_sec: Option<f64>,
}

#[derive(Debug)]
pub struct Adaptation {
    controller: RateController,
    enabled: bool,
    /// What capture uses when adaptation is off (and the most it may use when on).
    fixed: RateTarget,
    period_started: Instant,
    period_bytes: u64,
    period_updates: u32,
}

impl Adaptation {
    pub fn new(enabled: bool, quality: u8, max_fps: u32, now: Instant) -> Self {
        let min_interval = Duration::from_secs(1) / max_fps.max(1);
        Self {
            controller: RateController::new(
                RateConfig {
                    max_quality: quality,
                    min_interval,
                    max_interval: MAX_FRAME_INTERVAL,
                },
                now,
            ),
            enabled,
            fixed: RateTarget {
                quality,
                frame_interval: min_interval,
            },
            period_started: now,
            period_bytes: 0,
            period_updates: 0,
        }
    }

    /// Update `seq` of `bytes` went out at `now`.
    pub fn on_sent(&mut self, seq: u64, bytes: usize, now: Instant) {
        self.controller.on_sent(seq, bytes, now);
        self.period_bytes = self.period_bytes.saturating_add(bytes as u64);
        self.period_updates = self.period_updates.saturating_add(1);
    }

    /// The viewer acknowledged every update up to `seq` at `now`.
    pub fn on_ack(&mut self, seq: u64, now: Instant) {
        self.controller.on_ack(seq, now);
    }

    /// What capture should use now.
    pub fn target(&self) -> RateTarget {
        if self.enabled {
            self.controller.target()
        } else {
            self.fixed
        }
    }

    /// The numbers of the period that ended, once a [`REPORT_PERIOD`] has passed.
    pub fn report(&mut self, now: Instant) -> Option<RateReport> {
        let elapsed = now.saturating_duration_since(self.period_started);
        if elapsed < REPORT_PERIOD {
            return None;
        }
        let secs = elapsed.as_secs_f64();
        let target = self.target();
        let report = RateReport {
            adaptive: self.enabled,
            quality: target.quality,
            max_fps: 1.0 / target.frame_interval.as_secs_f64().max(1e-3),
            bytes_per_sec: self.period_bytes as f64 / secs,
            updates_per_sec: f64::from(self.period_updates) / secs,
            link_bytes_per_sec: self.controller.delivery_rate(),
        };
        self.period_started = now;
        self.period_bytes = 0;
        self.period_updates = 0;
        Some(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_keeps_the_users_quality_and_frame_rate_whatever_the_link() {
        let start = Instant::now();
        let mut adaptation = Adaptation::new(false, 80, 30, start);
        // A link so slow that every update waits behind the others.
        let mut now = start;
        for seq in 0..200 {
            adaptation.on_sent(seq, 100_000, now);
            now += Duration::from_millis(200);
            adaptation.on_ack(seq, now);
        }
        assert_eq!(
            adaptation.target(),
            RateTarget {
                quality: 80,
                frame_interval: Duration::from_secs(1) / 30,
            }
        );
        let report = adaptation.report(now).expect("a period passed");
        assert!(!report.adaptive);
        assert_eq!(report.quality, 80);
        // 200 updates of 100 kB over 40 s.
        assert!((report.bytes_per_sec - 500_000.0).abs() < 1.0, "{report:?}");
        assert!(adaptation.report(now).is_none(), "one report per period");
    }
}
