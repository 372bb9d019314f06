//! Skipping a search that keeps finding nothing.

/// Most frames a search waits after finding nothing.
const MAX_WAIT: u32 = 8;

/// Change that a search never explains frame after frame (a terminal printing pages, a video
/// nothing caught) would pay for the search every frame: after each miss the next searches wait
/// 1, 2, 4, then [`MAX_WAIT`] frames; a hit starts over. (Frames with nothing to search do not:
/// a scroll alternates them with frames the search misses.) What appears while a search waits is
/// found that many frames late; until then its pixels are sent as they are.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    wait: u32,
    next: u32,
}

impl Backoff {
    /// True when this frame's search is skipped (and counts the frame).
    pub(crate) fn skip(&mut self) -> bool {
        if self.wait == 0 {
            return false;
        }
        self.wait -= 1;
        true
    }

    /// The search found nothing.
    pub(crate) fn missed(&mut self) {
        self.wait = self.next;
        self.next = (self.next * 2).clamp(1, MAX_WAIT);
    }

    /// The search found something.
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Searches run at these frames of a run of misses.
    fn searched(frames: u32, backoff: &mut Backoff) -> Vec<u32> {
        (0..frames)
            .filter(|_| {
                if backoff.skip() {
                    return false;
                }
                backoff.missed();
                true
            })
            .collect()
    }

    #[test]
    fn misses_space_the_searches_out_up_to_the_most_wait() {
        let mut backoff = Backoff::default();
        assert_eq!(searched(40, &mut backoff), vec![0, 1, 3, 6, 11, 20, 29, 38]);
        backoff.reset();
        assert!(!backoff.skip());
    }
}
