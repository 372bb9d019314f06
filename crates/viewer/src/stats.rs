//! The numbers of the statistics overlay (and the `stats` event): frames decoded per second, kB/s
//! received, decode time measured on the decoder thread, the host's encode time and lossy share
//! (`FrameMsg::Stats`), the round trip, and an input-to-pixel estimate from them. Sans-IO: the
//! caller passes the time, so the arithmetic is tested with a fake clock.

use std::time::{Duration, Instant};

use tandem_i18n::{decimal, tr};
use tandem_proto::session::HostStats;

/// How often the numbers are reported, at most (and only while frames arrive: a still screen
/// produces no reports and so no repaints).
pub const STATS_PERIOD: Duration = Duration::from_secs(1);

/// What presenting a decoded picture adds to input-to-pixel: one refresh of a 60 Hz display (the
/// window uploads the changed region and waits for the next vsync).
pub const PRESENT_ESTIMATE: Duration = Duration::from_micros(16_667);

/// One report.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Overlay {
    /// Updates decoded per second.
    pub fps: f64,
    /// Update bytes received per second, in kB (1000 bytes).
    pub kbytes_per_sec: f64,
    pub bytes_per_frame: u64,
    /// Mean decode time per update, ms.
    pub decode_ms: f64,
    /// The host's mean encode time per update, ms, once it reported.
    pub encode_ms: Option<f64>,
    /// Share of the picture area sent lossy, percent, once the host reported.
    pub lossy_percent: Option<f64>,
    /// The round trip between the two ends through the relay, ms: ours to the relay plus the
    /// host's (ours alone until the host reported).
    pub rtt_ms: f64,
    /// Round trip + encode + decode + one display refresh: how long a click takes to show.
    pub input_to_pixel_ms: f64,
}

/// Updates since the last report.
#[derive(Debug)]
pub struct StatsWindow {
    started: Instant,
    frames: u64,
    bytes: u64,
    decode: Duration,
    /// The host's latest numbers; kept across periods (the host reports about as often).
    host: Option<HostStats>,
}

impl StatsWindow {
    pub fn new(now: Instant) -> Self {
        Self {
            started: now,
            frames: 0,
            bytes: 0,
            decode: Duration::ZERO,
            host: None,
        }
    }

    /// Starts the period again at `now` (at the first picture, so the wait for consent does not
    /// count as time without frames), keeping the host's numbers.
    pub fn restart(&mut self, now: Instant) {
        *self = Self {
            host: self.host,
            ..Self::new(now)
        };
    }

    pub fn record_host(&mut self, stats: HostStats) {
        self.host = Some(stats);
    }

    /// Counts one decoded update; returns a report when a period has passed since the last one.
    /// `rtt`: our round trip to the relay now.
    pub fn record_update(
        &mut self,
        bytes: usize,
        decode: Duration,
        now: Instant,
        rtt: Duration,
    ) -> Option<Overlay> {
        self.frames += 1;
        self.bytes = self.bytes.saturating_add(bytes as u64);
        self.decode = self.decode.saturating_add(decode);
        let elapsed = now.saturating_duration_since(self.started);
        if elapsed < STATS_PERIOD {
            return None;
        }
        let seconds = elapsed.as_secs_f64();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let decode_ms = ms(self.decode) / self.frames as f64;
        let encode_ms = self.host.map(|h| f64::from(h.encode_us) / 1000.0);
        let rtt_ms = ms(rtt) + self.host.map_or(0.0, |h| f64::from(h.rtt_us) / 1000.0);
        let overlay = Overlay {
            fps: self.frames as f64 / seconds,
            kbytes_per_sec: self.bytes as f64 / 1000.0 / seconds,
            bytes_per_frame: self.bytes / self.frames,
            decode_ms,
            encode_ms,
            lossy_percent: self.host.map(|h| f64::from(h.lossy_permille) / 10.0),
            rtt_ms,
            input_to_pixel_ms: rtt_ms + encode_ms.unwrap_or(0.0) + decode_ms + ms(PRESENT_ESTIMATE),
        };
        self.restart(now);
        Some(overlay)
    }
}

/// The overlay's lines, as shown over the picture.
pub fn overlay_lines(o: &Overlay) -> Vec<String> {
    let one = |v: f64| decimal(v, 1);
    let or_dash =
        |v: Option<f64>, unit: &str| v.map_or("–".into(), |v| format!("{} {unit}", one(v)));
    vec![
        tr!("stats-fps", fps = decimal(o.fps, 0)),
        tr!("stats-throughput", kbytes = decimal(o.kbytes_per_sec, 0)),
        tr!("stats-round-trip", ms = one(o.rtt_ms)),
        tr!("stats-encode", value = or_dash(o.encode_ms, "ms")),
        tr!("stats-decode", ms = one(o.decode_ms)),
        tr!("stats-lossy", value = or_dash(o.lossy_percent, "%")),
        tr!("stats-input-to-pixel", ms = decimal(o.input_to_pixel_ms, 0)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_once_a_period_from_a_fake_clock() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let rtt = Duration::from_millis(10);
        let mut window = StatsWindow::new(start);
        // Before the host reported: our RTT alone, no encode time.
        for i in 0..29 {
            assert_eq!(
                window.record_update(20_000, Duration::from_millis(2), at(i * 34), rtt),
                None
            );
        }
        let first = window
            .record_update(20_000, Duration::from_millis(2), at(1000), rtt)
            .expect("a second passed");
        assert!((first.fps - 30.0).abs() < 1e-9, "{first:?}");
        assert!((first.kbytes_per_sec - 600.0).abs() < 1e-9);
        assert_eq!(first.bytes_per_frame, 20_000);
        assert!((first.decode_ms - 2.0).abs() < 1e-9);
        assert_eq!((first.encode_ms, first.lossy_percent), (None, None));
        assert!((first.rtt_ms - 10.0).abs() < 1e-9);
        assert!((first.input_to_pixel_ms - (10.0 + 2.0 + 16.667)).abs() < 1e-9);

        window.record_host(HostStats {
            encode_us: 5_500,
            lossy_permille: 125,
            rtt_us: 14_000,
        });
        // Two updates over two seconds: 1 fps; the host's numbers stay until it reports again.
        assert_eq!(
            window.record_update(1_000, Duration::from_millis(1), at(1500), rtt),
            None
        );
        let second = window
            .record_update(3_000, Duration::from_millis(3), at(3000), rtt)
            .expect("due");
        assert!((second.fps - 1.0).abs() < 1e-9, "{second:?}");
        assert!((second.kbytes_per_sec - 2.0).abs() < 1e-9);
        assert_eq!(second.encode_ms, Some(5.5));
        assert_eq!(second.lossy_percent, Some(12.5));
        assert!((second.rtt_ms - 24.0).abs() < 1e-9);
        assert!((second.input_to_pixel_ms - (24.0 + 5.5 + 2.0 + 16.667)).abs() < 1e-9);
        assert_eq!(overlay_lines(&second)[3], "encode 5.5 ms");
        assert_eq!(overlay_lines(&first)[5], "lossy –");
    }
}
