//! Deciding which observed clipboard contents are news, with no X in sight: the watcher fingerprints
//! what it reads and asks [`EchoFilter`]; [`crate::SystemClipboard::set`] tells it what it wrote.
//!
//! Two things must not be reported: our own writes coming back (the owner change that `set` causes
//! is seen like any other), and the same content seen again (a clipboard manager taking over the
//! selection with what it just copied, or the fallback poll finding nothing new). Content, not the
//! owner, decides: the owner window of arboard is private, and a manager re-serving our text is
//! still our text.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher, RandomState};

/// A 64-bit keyed hash of some content. The key is random per [`Fingerprinter`], so a peer cannot
/// craft content that collides with what the user will copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint(u64);

pub(crate) struct Fingerprinter(RandomState);

/// What a fingerprint is of; part of the hash, so equal bytes of different kinds differ.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// UTF-8 text.
    Text,
    /// Decoded pixels with their size.
    Pixels,
    /// PNG bytes as received, for images too large to decode.
    Png,
}

/// A fingerprint fed piece by piece, as a transfer arrives; the same bytes in any split give the
/// same result (the hasher is a streaming SipHash).
pub(crate) struct Streaming(std::hash::DefaultHasher);

impl Streaming {
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    pub(crate) fn finish(&self) -> Fingerprint {
        Fingerprint(self.0.finish())
    }
}

impl Fingerprinter {
    pub(crate) fn new() -> Self {
        Self(RandomState::new())
    }

    pub(crate) fn streaming(&self, kind: Kind) -> Streaming {
        let mut hasher = self.0.build_hasher();
        hasher.write_u8(match kind {
            Kind::Text => b'T',
            Kind::Pixels => b'I',
            Kind::Png => b'P',
        });
        Streaming(hasher)
    }

    pub(crate) fn text(&self, text: &str) -> Fingerprint {
        let mut digest = self.streaming(Kind::Text);
        digest.write(text.as_bytes());
        digest.finish()
    }

    /// Pixels, not PNG bytes: what `set` wrote is re-encoded by arboard and read back as PNG from
    /// it, so only the pixels are the same on both paths.
    pub(crate) fn image(&self, width: u32, height: u32, rgba: &[u8]) -> Fingerprint {
        let mut digest = self.streaming(Kind::Pixels);
        digest.write(&width.to_le_bytes());
        digest.write(&height.to_le_bytes());
        digest.write(rgba);
        digest.finish()
    }
}

/// What to do with content the watcher read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Content the user (or another program) put there: report it (or skip it, if over a limit).
    New,
    /// What we last wrote ourselves.
    Echo,
    /// The same as the last content seen.
    Unchanged,
}

/// Taken before reading the clipboard; says whether a `set` ran while the read was under way.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadTicket(u64);

/// The most writes remembered; only a read overlapping this many writes could miss an echo.
const MAX_WRITES: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct EchoFilter {
    /// What `set` wrote, oldest first, each with the generation its write began at. A read may find
    /// the last write begun before it started (still on the clipboard) or any begun since; older
    /// ones were overwritten by those.
    writes: VecDeque<(u64, Fingerprint)>,
    /// The last content reported, skipped or written.
    last_seen: Option<Fingerprint>,
    /// Moves on before and after each write, so a read that overlapped one is known as such.
    generation: u64,
}

impl EchoFilter {
    /// Called before taking ownership of the clipboard with `written`.
    pub(crate) fn will_set(&mut self, written: Fingerprint) {
        self.generation += 1;
        if self.writes.len() == MAX_WRITES {
            self.writes.pop_front();
        }
        self.writes.push_back((self.generation, written));
        self.last_seen = Some(written);
    }

    /// Called once the write returned (whether it succeeded or not).
    pub(crate) fn did_set(&mut self) {
        self.generation += 1;
    }

    /// Marks content as already seen without reporting it: the polling fallback's starting point.
    pub(crate) fn seen(&mut self, content: Fingerprint) {
        self.last_seen = Some(content);
    }

    pub(crate) fn begin_read(&self) -> ReadTicket {
        ReadTicket(self.generation)
    }

    /// Judges content read under `ticket`. Reads are judged one at a time, in the order they began.
    pub(crate) fn observe(&mut self, ticket: ReadTicket, content: Fingerprint) -> Verdict {
        // Writes older than the last one begun before this read can no longer be on the clipboard,
        // for this read or any later one.
        if let Some(current) = self
            .writes
            .iter()
            .rposition(|&(began, _)| began <= ticket.0)
        {
            self.writes.drain(..current);
        }
        if self.writes.iter().any(|&(_, written)| written == content) {
            return Verdict::Echo;
        }
        if self.last_seen == Some(content) {
            return Verdict::Unchanged;
        }
        self.last_seen = Some(content);
        // Once a read made entirely after our writes finds other content, they are history, and
        // the user copying that same content later is news. A read that overlapped a write may
        // have seen the clipboard from before it: that write's own owner change is still to come,
        // so its echo must stay suppressed.
        if ticket.0 == self.generation {
            self.writes.clear();
        }
        Verdict::New
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Fingerprinter, EchoFilter) {
        (Fingerprinter::new(), EchoFilter::default())
    }

    fn read(filter: &mut EchoFilter, content: Fingerprint) -> Verdict {
        let ticket = filter.begin_read();
        filter.observe(ticket, content)
    }

    #[test]
    fn fingerprints_separate_kinds_and_sizes() {
        let hasher = Fingerprinter::new();
        assert_eq!(hasher.text("abc"), hasher.text("abc"));
        assert_ne!(hasher.text("abc"), hasher.text("abd"));
        let pixels = [1u8, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(hasher.image(2, 1, &pixels), hasher.image(2, 1, &pixels));
        assert_ne!(hasher.image(2, 1, &pixels), hasher.image(1, 2, &pixels));
        let as_text = std::str::from_utf8(&pixels).expect("ascii");
        assert_ne!(hasher.image(2, 1, &pixels), hasher.text(as_text));
        let long = "the quick brown fox jumps over the lazy dog, twice over";
        let mut pieces = hasher.streaming(Kind::Text);
        for range in [0..3, 3..3, 3..20, 20..long.len()] {
            pieces.write(&long.as_bytes()[range]);
        }
        assert_eq!(pieces.finish(), hasher.text(long));
        // Keys are per instance: one side's fingerprints say nothing about another's.
        assert_ne!(Fingerprinter::new().text("abc"), hasher.text("abc"));
    }

    #[test]
    fn new_content_is_reported_once() {
        let (hasher, mut filter) = setup();
        assert_eq!(read(&mut filter, hasher.text("a")), Verdict::New);
        // A clipboard manager re-owning the same text.
        assert_eq!(read(&mut filter, hasher.text("a")), Verdict::Unchanged);
        assert_eq!(read(&mut filter, hasher.text("b")), Verdict::New);
        assert_eq!(read(&mut filter, hasher.text("a")), Verdict::New);
    }

    #[test]
    fn our_write_is_an_echo_even_when_seen_twice() {
        let (hasher, mut filter) = setup();
        filter.will_set(hasher.text("peer"));
        filter.did_set();
        assert_eq!(read(&mut filter, hasher.text("peer")), Verdict::Echo);
        assert_eq!(read(&mut filter, hasher.text("peer")), Verdict::Echo);
    }

    #[test]
    fn user_copying_what_the_peer_sent_earlier_is_reported() {
        let (hasher, mut filter) = setup();
        assert_eq!(read(&mut filter, hasher.text("a")), Verdict::New);
        filter.will_set(hasher.text("b"));
        filter.did_set();
        assert_eq!(read(&mut filter, hasher.text("b")), Verdict::Echo);
        // The peer has "b" now: the user copying "a" again is news.
        assert_eq!(read(&mut filter, hasher.text("a")), Verdict::New);
        // And after the user's own copy, "b" copied by the user is news too.
        assert_eq!(read(&mut filter, hasher.text("b")), Verdict::New);
    }

    #[test]
    fn read_overlapping_a_write_keeps_its_echo_suppressed() {
        let (hasher, mut filter) = setup();
        // The watcher starts reading the user's copy "x"...
        let ticket = filter.begin_read();
        // ...while the peer's "b" is written...
        filter.will_set(hasher.text("b"));
        filter.did_set();
        // ...and then judges "x": news, but it must not forget "b".
        assert_eq!(filter.observe(ticket, hasher.text("x")), Verdict::New);
        // The owner change of the write comes next: still an echo.
        assert_eq!(read(&mut filter, hasher.text("b")), Verdict::Echo);
    }

    #[test]
    fn read_started_between_will_and_did_set_counts_as_overlapping() {
        let (hasher, mut filter) = setup();
        filter.will_set(hasher.text("b"));
        // The ownership may not have changed yet: this read can see the old content.
        let ticket = filter.begin_read();
        filter.did_set();
        assert_eq!(filter.observe(ticket, hasher.text("old")), Verdict::New);
        assert_eq!(read(&mut filter, hasher.text("b")), Verdict::Echo);
    }

    #[test]
    fn earlier_write_read_while_a_later_one_lands_is_an_echo() {
        let (hasher, mut filter) = setup();
        filter.will_set(hasher.text("first"));
        filter.did_set();
        // The watcher starts reading after the first write's owner change...
        let ticket = filter.begin_read();
        // ...a second write lands while it reads...
        filter.will_set(hasher.text("second"));
        filter.did_set();
        // ...and what it read was the first write: still ours.
        assert_eq!(filter.observe(ticket, hasher.text("first")), Verdict::Echo);
        assert_eq!(read(&mut filter, hasher.text("second")), Verdict::Echo);
        // Both writes are history for reads begun after them: only the last can be found again.
        assert_eq!(read(&mut filter, hasher.text("first")), Verdict::New);
    }

    #[test]
    fn only_so_many_writes_are_remembered() {
        let overlapping_read = |content: &str| {
            let (hasher, mut filter) = setup();
            let ticket = filter.begin_read();
            for i in 0..=MAX_WRITES {
                filter.will_set(hasher.text(&i.to_string()));
                filter.did_set();
            }
            filter.observe(ticket, hasher.text(content))
        };
        // The oldest write fell out; the next oldest is still known as ours.
        assert_eq!(overlapping_read("0"), Verdict::New);
        assert_eq!(overlapping_read("1"), Verdict::Echo);
    }

    #[test]
    fn seen_content_is_not_news() {
        let (hasher, mut filter) = setup();
        filter.seen(hasher.text("before"));
        assert_eq!(read(&mut filter, hasher.text("before")), Verdict::Unchanged);
        assert_eq!(read(&mut filter, hasher.text("after")), Verdict::New);
    }
}
