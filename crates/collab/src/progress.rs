//! Transfer speed for progress reports: bytes moved in this session over the time since the transfer
//! started, smoothed so the estimate of time left does not jump.

use std::time::Instant;

#[derive(Debug, Default)]
pub(crate) struct Rate {
    /// When the data started moving, and how much was already there (a resume).
    start: Option<(Instant, u64)>,
    smoothed: f64,
}

impl Rate {
    pub(crate) fn start(&mut self, already: u64) {
        self.start = Some((Instant::now(), already));
    }

    /// Bytes per second with `done` bytes now in place.
    pub(crate) fn update(&mut self, done: u64) -> f64 {
        let Some((start, already)) = self.start else {
            return 0.0;
        };
        let secs = start.elapsed().as_secs_f64();
        if secs <= 0.0 {
            return self.smoothed;
        }
        let average = done.saturating_sub(already) as f64 / secs;
        // Mostly the running average; a little of the last one so a changed link shows.
        self.smoothed = if self.smoothed == 0.0 {
            average
        } else {
            0.7 * self.smoothed + 0.3 * average
        };
        self.smoothed
    }

    pub(crate) fn elapsed_secs(&self) -> f64 {
        self.start
            .map(|(start, _)| start.elapsed().as_secs_f64())
            .unwrap_or(0.0)
    }
}
