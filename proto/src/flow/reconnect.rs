//! Waiting for a lost link to come back (PROTOCOL.md §9), the part both machines share: whether a
//! loss is waited out, until when, and the sentence said when it is not restored in time.

use std::time::{Duration, Instant};

/// How long a side waits, by default, for a lost link to be restored before the session ends.
pub const DEFAULT_RECONNECT_GRACE: Duration = Duration::from_secs(60);

/// A machine's reconnect state: the grace (`None`: a lost link ends the session at once) and, while
/// the link is lost, the deadline.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Reconnect {
    grace: Option<Duration>,
    deadline: Option<Instant>,
}

impl Reconnect {
    pub(super) fn new(grace: Option<Duration>) -> Self {
        Self {
            grace: grace.filter(|g| !g.is_zero()),
            deadline: None,
        }
    }

    /// The link was lost at `now`: the grace to wait, if this loss is waited out (and was not being
    /// waited out already).
    pub(super) fn lose(&mut self, now: Instant) -> Option<Duration> {
        let grace = self.grace?;
        if self.deadline.is_some() {
            return None;
        }
        self.deadline = Some(now + grace);
        Some(grace)
    }

    /// Whether a loss would be waited out.
    pub(super) fn enabled(&self) -> bool {
        self.grace.is_some()
    }

    /// The link is lost and being restored.
    pub(super) fn active(&self) -> bool {
        self.deadline.is_some()
    }

    /// When the grace ends, while the link is lost.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The link is back; true if it was lost.
    pub(super) fn resumed(&mut self) -> bool {
        self.deadline.take().is_some()
    }

    /// The grace is over and the link is not back.
    pub(super) fn expired(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|at| now >= at)
    }

    /// Why the session ends when the grace ran out.
    pub(super) fn gave_up(&self) -> super::EndWhy {
        super::EndWhy::ReconnectExpired {
            grace_secs: self.grace.map_or(0, |g| g.as_secs()),
        }
    }
}
