//! The consent prompt's guard against click-jacking: a technician timing a request so that a click
//! (or key) the user aimed at something else lands on Allow.

use std::time::{Duration, Instant};

/// When the consent prompt's Allow button may be used: not before [`ConsentGuard::DELAY`] after the
/// prompt appeared, and only at a moment with no mouse button held or pressed, so any click on Allow
/// is a press that started after Allow was enabled. A click aimed at something else (Stop, another
/// window) when the prompt pops up therefore never grants anything.
#[derive(Debug, Default, Clone)]
pub struct ConsentGuard {
    /// When the current prompt was first drawn.
    shown_at: Option<Instant>,
    /// Allow was enabled; it stays so until [`ConsentGuard::reset`].
    enabled: bool,
}

impl ConsentGuard {
    /// Long enough to notice that a question appeared; short enough not to annoy.
    pub const DELAY: Duration = Duration::from_secs(1);

    /// No frame has shown the current question yet: the first one puts the keyboard on Deny.
    pub fn is_fresh(&self) -> bool {
        self.shown_at.is_none()
    }

    /// Whether Allow was enabled by an earlier frame.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// A new question is shown: start over.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Called on every frame that shows the prompt. `pointer_busy`: a mouse button is down, or was
    /// pressed or released during this frame. Returns whether Allow is enabled in this frame.
    pub fn on_frame(&mut self, now: Instant, pointer_busy: bool) -> bool {
        let shown_at = *self.shown_at.get_or_insert(now);
        if !self.enabled && !pointer_busy && now.saturating_duration_since(shown_at) >= Self::DELAY
        {
            self.enabled = true;
        }
        self.enabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(100);

    /// Frames every `TICK` from `start` for `n` ticks, with the pointer as `busy` says; returns the
    /// last answer.
    fn frames(guard: &mut ConsentGuard, start: Instant, n: u32, busy: bool) -> bool {
        (0..=n)
            .map(|k| guard.on_frame(start + TICK * k, busy))
            .last()
            .unwrap_or(false)
    }

    #[test]
    fn allow_waits_for_the_delay() {
        let start = Instant::now();
        let mut guard = ConsentGuard::default();
        assert!(!frames(&mut guard, start, 9, false), "enabled before 1 s");
        assert!(guard.on_frame(start + ConsentGuard::DELAY, false));
    }

    /// Issue 7: a press that started before the prompt (aimed at Stop) and is still held when the
    /// delay ends does not enable Allow; only a later moment with the button up does.
    #[test]
    fn a_button_held_since_before_the_prompt_keeps_allow_disabled() {
        let start = Instant::now();
        let mut guard = ConsentGuard::default();
        assert!(!frames(&mut guard, start, 30, true), "held for 3 s");
        assert!(guard.on_frame(start + TICK * 31, false));
    }

    /// A press and release within the very frame the delay ends is not an idle moment.
    #[test]
    fn a_click_in_the_enabling_frame_does_not_count() {
        let start = Instant::now();
        let mut guard = ConsentGuard::default();
        assert!(!frames(&mut guard, start, 9, false));
        assert!(!guard.on_frame(start + ConsentGuard::DELAY, true));
        assert!(guard.on_frame(start + ConsentGuard::DELAY + TICK, false));
    }

    /// Once enabled, pressing and releasing on Allow (busy frames) keeps it enabled, so the click
    /// the user makes on purpose works.
    #[test]
    fn enabled_allow_stays_enabled_through_a_click() {
        let start = Instant::now();
        let mut guard = ConsentGuard::default();
        assert!(frames(&mut guard, start, 10, false));
        assert!(guard.on_frame(start + TICK * 11, true));
        assert!(guard.on_frame(start + TICK * 12, true));
    }

    /// A new question starts over, however long the previous one was up.
    #[test]
    fn reset_starts_over() {
        let start = Instant::now();
        let mut guard = ConsentGuard::default();
        assert!(frames(&mut guard, start, 20, false));
        guard.reset();
        let later = start + Duration::from_secs(10);
        assert!(!guard.on_frame(later, false));
        assert!(!guard.on_frame(later + TICK * 9, false));
        assert!(guard.on_frame(later + ConsentGuard::DELAY, false));
    }
}
