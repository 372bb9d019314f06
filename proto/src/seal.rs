//! Sealed records: every frame after the handshake, on every stream, is one session message encrypted
//! with ChaCha20-Poly1305 under the key of its (stream kind, direction).
//!
//! - nonce: 4 zero bytes, then the record counter as a big-endian `u64`; the counter starts at 0 for
//!   each (stream, direction) key and goes up by one per record, never wrapping;
//! - AAD: the stream kind byte, then the direction byte;
//! - frame body: ciphertext (as long as the plaintext) followed by the 16-byte tag.
//!
//! Because the receiver's counter must match the sender's, a replayed, reordered, deleted or spliced
//! record (from another stream, direction or session) fails to open. Truncation at the end of a stream
//! is not detectable here: a session only ends cleanly on a sealed `Control::End`.
//!
//! Any [`OpenError`] is fatal to the session: the opener does not advance past a forged record, and
//! nothing after it can be trusted.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use thiserror::Error;
use zeroize::Zeroize;

use crate::framing::LEN_PREFIX;
use crate::wire::{DecodeError, Message};
use crate::{Direction, StreamKind};

/// Bytes the AEAD adds to each record.
pub const TAG_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SealError {
    #[error("record counter exhausted: this stream can carry no more records")]
    CounterExhausted,
    /// The record would be over the frame limit of its stream, so the peer would refuse it.
    #[error("sealed record of {len} bytes is over the limit of {max} for this stream")]
    TooLarge { len: usize, max: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OpenError {
    #[error("record failed authentication (forged, replayed, reordered or from another stream)")]
    Forged,
    #[error("record counter exhausted: this stream can carry no more records")]
    CounterExhausted,
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

fn nonce(counter: u64) -> Nonce {
    let mut nonce = Nonce::default();
    nonce[4..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

fn aad(kind: StreamKind, dir: Direction) -> [u8; 2] {
    [kind as u8, dir as u8]
}

/// Seals the records one side sends on one stream.
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    /// The next record's counter; `None` once every counter was used.
    next: Option<u64>,
    aad: [u8; 2],
    max_frame: usize,
}

impl Sealer {
    pub(crate) fn new(key: &[u8; 32], kind: StreamKind, dir: Direction) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            next: Some(0),
            aad: aad(kind, dir),
            max_frame: kind.max_frame_len(),
        }
    }

    /// Encodes `msg`, encrypts it, and appends ONE length-prefixed frame (the
    /// [`crate::framing::write_frame`] format) to `out`. Allocation-free once `out` has the capacity.
    /// On error nothing is appended and the counter is unchanged.
    pub fn seal<M: Message>(&mut self, msg: &M, out: &mut Vec<u8>) -> Result<(), SealError> {
        let counter = self.next.ok_or(SealError::CounterExhausted)?;
        let max = self.max_frame;
        let expected = msg.encoded_len().saturating_add(TAG_LEN);
        if expected > max {
            return Err(SealError::TooLarge { len: expected, max });
        }
        let frame_start = out.len();
        out.reserve(LEN_PREFIX + expected);
        out.extend_from_slice(&[0; LEN_PREFIX]);
        let body_start = out.len();
        msg.write_to(out);
        // Frame by what was written, not by what encoded_len promised.
        let len = out.len() - body_start + TAG_LEN;
        if len > max {
            out.truncate(frame_start);
            return Err(SealError::TooLarge { len, max });
        }
        let tag = match self.encrypt(counter, &mut out[body_start..]) {
            Ok(tag) => tag,
            Err(_) => {
                // Only possible past ChaCha20's 256 GiB message limit, far above any frame limit.
                out[body_start..].zeroize();
                out.truncate(frame_start);
                return Err(SealError::TooLarge { len, max });
            }
        };
        out.extend_from_slice(&tag);
        let prefix = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
        out[frame_start..body_start].copy_from_slice(&prefix);
        self.next = counter.checked_add(1);
        Ok(())
    }

    /// Not generic on purpose: the cipher is compiled here, with this crate's optimisation, not in
    /// whichever crate calls `seal`.
    #[inline(never)]
    fn encrypt(&self, counter: u64, plaintext: &mut [u8]) -> Result<Tag, chacha20poly1305::Error> {
        self.cipher
            .encrypt_in_place_detached(&nonce(counter), &self.aad, plaintext)
    }

    /// Records sealed so far.
    pub fn records_sealed(&self) -> u64 {
        self.next.unwrap_or(u64::MAX)
    }

    #[cfg(test)]
    pub(crate) fn set_counter_for_test(&mut self, next: Option<u64>) {
        self.next = next;
    }
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// Opens the records the peer sends on one stream, in order.
pub struct Opener {
    cipher: ChaCha20Poly1305,
    next: Option<u64>,
    aad: [u8; 2],
    /// Reused plaintext buffer; grows to the largest record seen, zeroed on drop.
    scratch: Vec<u8>,
}

impl Opener {
    pub(crate) fn new(key: &[u8; 32], kind: StreamKind, dir: Direction) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            next: Some(0),
            aad: aad(kind, dir),
            scratch: Vec::new(),
        }
    }

    /// `frame` is one frame body as returned by [`crate::framing::FrameReader::next_frame`]. Decrypts
    /// and decodes. Any error is fatal to the session (the counter does not advance past a forgery).
    pub fn open<M: Message>(&mut self, frame: &[u8]) -> Result<M, OpenError> {
        self.decrypt(frame)?;
        Ok(M::from_bytes(&self.scratch)?)
    }

    /// Decrypts `frame` into `scratch`. Not generic on purpose: the cipher is compiled here, with
    /// this crate's optimisation, not in whichever crate calls `open`.
    #[inline(never)]
    fn decrypt(&mut self, frame: &[u8]) -> Result<(), OpenError> {
        let counter = self.next.ok_or(OpenError::CounterExhausted)?;
        let Some(split) = frame.len().checked_sub(TAG_LEN) else {
            return Err(OpenError::Forged);
        };
        let (ciphertext, tag) = frame.split_at(split);
        self.scratch.clear();
        self.scratch.extend_from_slice(ciphertext);
        if self
            .cipher
            .decrypt_in_place_detached(
                &nonce(counter),
                &self.aad,
                &mut self.scratch,
                Tag::from_slice(tag),
            )
            .is_err()
        {
            return Err(OpenError::Forged);
        }
        self.next = counter.checked_add(1);
        Ok(())
    }

    /// Records opened so far.
    pub fn records_opened(&self) -> u64 {
        self.next.unwrap_or(u64::MAX)
    }

    #[cfg(test)]
    pub(crate) fn set_counter_for_test(&mut self, next: Option<u64>) {
        self.next = next;
    }
}

impl Drop for Opener {
    fn drop(&mut self) {
        self.scratch.zeroize();
    }
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::FrameReader;
    use crate::handshake::SessionKeys;
    use crate::handshake::tests::keys;
    use crate::session::{Control, Input};

    const CONTROL_H2V: (StreamKind, Direction) = (StreamKind::Control, Direction::HostToViewer);

    fn sealer(keys: &SessionKeys) -> Sealer {
        keys.sealer(CONTROL_H2V.0, CONTROL_H2V.1)
    }

    fn opener(keys: &SessionKeys) -> Opener {
        keys.opener(CONTROL_H2V.0, CONTROL_H2V.1)
    }

    /// Seals each message into its own frame body.
    fn records(sealer: &mut Sealer, msgs: &[Control]) -> Vec<Vec<u8>> {
        msgs.iter()
            .map(|m| {
                let mut out = Vec::new();
                sealer.seal(m, &mut out).expect("seal");
                assert_eq!(
                    u32::from_be_bytes(out[..4].try_into().expect("prefix")) as usize,
                    out.len() - 4
                );
                out.split_off(4)
            })
            .collect()
    }

    fn three() -> [Control; 3] {
        [
            Control::Ack { seq: 1 },
            Control::Ack { seq: 2 },
            Control::Ack { seq: 3 },
        ]
    }

    #[test]
    fn replayed_record_fails() {
        let (host, viewer) = keys();
        let recs = records(&mut sealer(&host), &three());
        let mut opener = opener(&viewer);
        assert_eq!(opener.open::<Control>(&recs[0]), Ok(three()[0].clone()));
        assert_eq!(opener.open::<Control>(&recs[0]), Err(OpenError::Forged));
    }

    #[test]
    fn reordered_record_fails() {
        let (host, viewer) = keys();
        let recs = records(&mut sealer(&host), &three());
        let mut opener = opener(&viewer);
        assert_eq!(opener.open::<Control>(&recs[1]), Err(OpenError::Forged));
    }

    #[test]
    fn deleted_record_fails_the_next_one() {
        let (host, viewer) = keys();
        let recs = records(&mut sealer(&host), &three());
        let mut opener = opener(&viewer);
        assert!(opener.open::<Control>(&recs[0]).is_ok());
        assert_eq!(opener.open::<Control>(&recs[2]), Err(OpenError::Forged));
        // The opener did not advance past the forgery: the real next record still opens.
        assert_eq!(opener.open::<Control>(&recs[1]), Ok(three()[1].clone()));
    }

    #[test]
    fn truncated_record_fails() {
        let (host, viewer) = keys();
        let recs = records(&mut sealer(&host), &[Control::hello("Alex the technician")]);
        for len in 0..recs[0].len() {
            let mut opener = opener(&viewer);
            assert_eq!(
                opener.open::<Control>(&recs[0][..len]),
                Err(OpenError::Forged),
                "cut at {len}"
            );
        }
        // A stream cut in the middle of a frame yields no frame at all.
        let mut stream = Vec::new();
        sealer(&host)
            .seal(&Control::RequestControl, &mut stream)
            .expect("seal");
        let mut reader = FrameReader::new(StreamKind::Control.max_frame_len());
        reader.push(&stream[..stream.len() - 1]);
        assert_eq!(reader.next_frame(), Ok(None));
    }

    #[test]
    fn every_flipped_bit_fails() {
        let (host, viewer) = keys();
        let recs = records(&mut sealer(&host), &[Control::hello("Alex")]);
        for bit in 0..recs[0].len() * 8 {
            let mut forged = recs[0].clone();
            forged[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                opener(&viewer).open::<Control>(&forged),
                Err(OpenError::Forged),
                "bit {bit}"
            );
        }
        assert!(opener(&viewer).open::<Control>(&recs[0]).is_ok());
    }

    #[test]
    fn record_from_another_stream_or_direction_fails() {
        let (host, viewer) = keys();
        let recs = records(&mut sealer(&host), &[Control::RequestControl]);
        for (kind, dir) in [
            (StreamKind::Control, Direction::ViewerToHost),
            (StreamKind::Frames, Direction::HostToViewer),
            (StreamKind::Input, Direction::HostToViewer),
            (StreamKind::Input, Direction::ViewerToHost),
        ] {
            assert_eq!(
                viewer.opener(kind, dir).open::<Control>(&recs[0]),
                Err(OpenError::Forged),
                "{kind:?} {dir:?}"
            );
            assert_eq!(
                host.opener(kind, dir).open::<Control>(&recs[0]),
                Err(OpenError::Forged),
                "{kind:?} {dir:?}"
            );
        }
    }

    #[test]
    fn counter_exhaustion_is_an_error_not_a_wrap() {
        let (host, viewer) = keys();
        let mut sealer = sealer(&host);
        let mut opener = opener(&viewer);
        sealer.set_counter_for_test(Some(u64::MAX));
        opener.set_counter_for_test(Some(u64::MAX));
        let mut out = Vec::new();
        sealer
            .seal(&Control::RequestKeyframe, &mut out)
            .expect("last record");
        assert_eq!(
            opener.open::<Control>(&out[4..]),
            Ok(Control::RequestKeyframe)
        );
        let before = out.len();
        assert_eq!(
            sealer.seal(&Control::RequestKeyframe, &mut out),
            Err(SealError::CounterExhausted)
        );
        assert_eq!(out.len(), before, "nothing appended");
        assert_eq!(
            opener.open::<Control>(&out[4..]),
            Err(OpenError::CounterExhausted)
        );
    }

    #[test]
    fn oversized_record_is_refused_before_sending() {
        let (_, viewer) = keys();
        let mut sealer = viewer.sealer(StreamKind::Input, Direction::ViewerToHost);
        let mut out = vec![1, 2, 3];
        let huge = Input::Text {
            text: "x".repeat(StreamKind::Input.max_frame_len()),
        };
        assert!(matches!(
            sealer.seal(&huge, &mut out),
            Err(SealError::TooLarge { .. })
        ));
        assert_eq!(out, [1, 2, 3]);
        assert_eq!(sealer.records_sealed(), 0);
    }

    #[test]
    fn garbage_that_authenticates_is_a_decode_error() {
        // Bytes that are not a Control message, sealed properly, open and then fail to decode.
        struct Raw(Vec<u8>);
        impl Message for Raw {
            fn encoded_len(&self) -> usize {
                self.0.len()
            }
            fn write_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
            fn decode(r: &mut crate::wire::Reader<'_>) -> Result<Self, DecodeError> {
                Ok(Self(r.take(r.remaining())?.to_vec()))
            }
        }
        let (host, viewer) = keys();
        let mut out = Vec::new();
        sealer(&host).seal(&Raw(vec![200]), &mut out).expect("seal");
        assert!(matches!(
            opener(&viewer).open::<Control>(&out[4..]),
            Err(OpenError::Decode(DecodeError::UnknownTag { tag: 200, .. }))
        ));
    }

    #[test]
    fn seal_appends_frames_in_place() {
        let (host, viewer) = keys();
        let mut sealer = sealer(&host);
        let mut out = Vec::with_capacity(4096);
        let ptr = out.as_ptr();
        for seq in 0..20 {
            sealer.seal(&Control::Ack { seq }, &mut out).expect("seal");
        }
        assert_eq!(out.as_ptr(), ptr, "no reallocation with enough capacity");
        assert_eq!(out.len(), 20 * (4 + 9 + TAG_LEN));
        let mut reader = FrameReader::new(StreamKind::Control.max_frame_len());
        reader.push(&out);
        let mut opener = opener(&viewer);
        for seq in 0..20 {
            let frame = reader.next_frame().expect("ok").expect("frame");
            assert_eq!(opener.open::<Control>(frame), Ok(Control::Ack { seq }));
        }
    }
}
