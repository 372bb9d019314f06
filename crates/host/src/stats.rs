//! The host's half of the viewer's statistics overlay: encode time and lossy share summed over
//! about a second of updates, sent as one `FrameMsg::Stats`. Sans-IO: the caller passes the time.

use std::time::{Duration, Instant};

use tandem_proto::session::HostStats;

use crate::frames::EncodeCost;

/// How often the host reports, at most (and only while updates are produced).
pub const STATS_PERIOD: Duration = Duration::from_secs(1);

/// Encode costs since the last report.
#[derive(Debug)]
pub struct EncodeWindow {
    started: Instant,
    updates: u32,
    time: Duration,
    lossy_pixels: u64,
    total_pixels: u64,
}

impl EncodeWindow {
    pub fn new(now: Instant) -> Self {
        Self {
            started: now,
            updates: 0,
            time: Duration::ZERO,
            lossy_pixels: 0,
            total_pixels: 0,
        }
    }

    /// Counts one update; returns the report when a period has passed since the last one. `rtt`:
    /// the host's round trip to the relay now.
    pub fn record(&mut self, cost: EncodeCost, now: Instant, rtt: Duration) -> Option<HostStats> {
        self.updates = self.updates.saturating_add(1);
        self.time = self.time.saturating_add(cost.time);
        self.lossy_pixels = self.lossy_pixels.saturating_add(cost.lossy_pixels);
        self.total_pixels = self.total_pixels.saturating_add(cost.total_pixels);
        if now.saturating_duration_since(self.started) < STATS_PERIOD {
            return None;
        }
        let encode_us = (self.time / self.updates).as_micros();
        let lossy_permille = match self.total_pixels {
            0 => 0,
            total => (u128::from(self.lossy_pixels.min(total)) * 1000 / u128::from(total)) as u16,
        };
        let stats = HostStats {
            encode_us: u32::try_from(encode_us).unwrap_or(u32::MAX),
            lossy_permille,
            rtt_us: u32::try_from(rtt.as_micros()).unwrap_or(u32::MAX),
        };
        *self = Self::new(now);
        Some(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(ms: u64, lossy: u64, total: u64) -> EncodeCost {
        EncodeCost {
            time: Duration::from_millis(ms),
            lossy_pixels: lossy,
            total_pixels: total,
        }
    }

    #[test]
    fn reports_the_mean_encode_time_and_lossy_share_once_a_period() {
        let start = Instant::now();
        let rtt = Duration::from_micros(2_500);
        let mut window = EncodeWindow::new(start);
        let at = |ms| start + Duration::from_millis(ms);
        assert_eq!(window.record(cost(4, 0, 1000), at(100), rtt), None);
        assert_eq!(window.record(cost(8, 500, 1000), at(600), rtt), None);
        assert_eq!(
            window.record(cost(12, 1000, 1000), at(1000), rtt),
            Some(HostStats {
                encode_us: 8_000,
                lossy_permille: 500,
                rtt_us: 2_500,
            })
        );
        // A new period starts at the report.
        assert_eq!(window.record(cost(1, 0, 10), at(1999), rtt), None);
        let next = window.record(cost(3, 0, 10), at(2000), rtt).expect("due");
        assert_eq!((next.encode_us, next.lossy_permille), (2_000, 0));
    }

    #[test]
    fn hostile_or_odd_counts_stay_in_range() {
        let start = Instant::now();
        let late = start + STATS_PERIOD;
        let mut window = EncodeWindow::new(start);
        let stats = window
            .record(cost(1, u64::MAX, 10), late, Duration::MAX)
            .expect("due");
        assert_eq!((stats.lossy_permille, stats.rtt_us), (1000, u32::MAX));
        let mut window = EncodeWindow::new(start);
        let stats = window
            .record(cost(1, 0, 0), late, Duration::ZERO)
            .expect("due");
        assert_eq!(stats.lossy_permille, 0);
    }
}
