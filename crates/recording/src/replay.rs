//! Replaying a recording: index its records, then decode to any time. Seeking goes back to the
//! last keyframe at or before the target (the codec's state starts there) and decodes forward.
//!
//! The index keeps where each update lies in the file, not the update: an hour-long recording
//! costs a few bytes per record in memory, and each update is read again when it is decoded.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use tandem_codec::{DecodeError, Decoder, DecoderLimits};

use crate::format::{Header, Record, RecordingError, RecordingReader, is_keyframe};

/// The largest picture a replay decodes: an 8K screen, as the viewer.
pub const REPLAY_LIMITS: DecoderLimits = DecoderLimits {
    max_width: 7680,
    max_height: 4320,
};

/// Why a replay could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    #[error(transparent)]
    Recording(#[from] RecordingError),
    #[error("the recording holds no keyframe: nothing to show")]
    NoKeyframe,
    #[error("the update at {t_ms} ms could not be decoded: {source}")]
    Decode {
        t_ms: u32,
        #[source]
        source: DecodeError,
    },
}

/// A recording the replay can read again at any offset.
pub trait RecordingSource: Read + Seek + Send {}
impl<T: Read + Seek + Send> RecordingSource for T {}

/// One record of the index: an update by its place in the file, the small records whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Update { t_ms: u32, offset: u64, len: usize },
    Other(Record),
}

impl Entry {
    pub fn t_ms(&self) -> u32 {
        match self {
            Self::Update { t_ms, .. } => *t_ms,
            Self::Other(record) => record.t_ms(),
        }
    }
}

/// A recording indexed for replay.
pub struct Replay {
    header: Header,
    source: Box<dyn RecordingSource>,
    records: Vec<Entry>,
    /// Indices into `records` of the keyframe updates, in order.
    keyframes: Vec<usize>,
    truncated: bool,
    /// A record past which the file could not be read (what came before plays).
    damaged: Option<RecordingError>,
}

impl Replay {
    /// Indexes the recording at `path`.
    pub fn open(path: &Path) -> Result<Self, ReplayError> {
        let file = File::open(path).map_err(|source| RecordingError::Io {
            action: "open",
            source,
        })?;
        Self::load(RecordingReader::new(BufReader::new(file))?)
    }

    /// Indexes every record `reader` yields (reading each once, keeping none of the updates). A
    /// record that cannot be read ends the replay there ([`Replay::damaged`]); a file cut short
    /// plays to its last whole record.
    pub fn load<R: RecordingSource + 'static>(
        mut reader: RecordingReader<R>,
    ) -> Result<Self, ReplayError> {
        let mut records = Vec::new();
        let mut keyframes = Vec::new();
        let damaged = loop {
            match reader.next_record() {
                Ok(Some(Record::Update { t_ms, payload })) => {
                    if is_keyframe(&payload) {
                        keyframes.push(records.len());
                    }
                    records.push(Entry::Update {
                        t_ms,
                        offset: reader.payload_offset(),
                        len: payload.len(),
                    });
                }
                Ok(Some(record)) => records.push(Entry::Other(record)),
                Ok(None) => break None,
                Err(RecordingError::Io { action, source }) => {
                    return Err(RecordingError::Io { action, source }.into());
                }
                Err(e) => break Some(e),
            }
        };
        if keyframes.is_empty() {
            return Err(ReplayError::NoKeyframe);
        }
        let header = reader.header();
        let truncated = reader.truncated();
        Ok(Self {
            header,
            source: Box::new(reader.into_inner()),
            records,
            keyframes,
            truncated,
            damaged,
        })
    }

    pub fn header(&self) -> Header {
        self.header
    }

    /// The time of the last record.
    pub fn duration_ms(&self) -> u32 {
        self.records.last().map_or(0, Entry::t_ms)
    }

    /// Whether the file ended inside a record.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Why the file could not be read past some record, if so.
    pub fn damaged(&self) -> Option<&RecordingError> {
        self.damaged.as_ref()
    }

    pub fn records(&self) -> &[Entry] {
        &self.records
    }

    /// How many screen updates it holds.
    pub fn updates(&self) -> usize {
        self.records
            .iter()
            .filter(|r| matches!(r, Entry::Update { .. }))
            .count()
    }

    /// Reads the update at `offset` into `buf` again.
    fn read_update(&mut self, offset: u64, len: usize, buf: &mut Vec<u8>) -> io::Result<()> {
        self.source.seek(SeekFrom::Start(offset))?;
        buf.resize(len, 0);
        self.source.read_exact(buf)
    }
}

/// A replay's decoder at one point in time.
pub struct Playback {
    replay: Replay,
    decoder: Decoder,
    /// The next record to apply.
    next: usize,
    /// Time reached (every record at or before it is applied).
    position_ms: u32,
    cursor: Option<(i32, i32)>,
    /// Bumped whenever the picture changes, so a window re-uploads only then.
    generation: u64,
    /// The update being decoded, read back from the file (reused: no allocation per update).
    update: Vec<u8>,
}

impl Playback {
    /// A playback before its first record (nothing decoded yet).
    pub fn new(replay: Replay) -> Self {
        Self {
            replay,
            decoder: Decoder::new(REPLAY_LIMITS),
            next: 0,
            position_ms: 0,
            cursor: None,
            generation: 0,
            update: Vec::new(),
        }
    }

    pub fn replay(&self) -> &Replay {
        &self.replay
    }

    /// Shows the picture as it was at `t_ms`: every update at or before it applied. Backwards, or
    /// past a keyframe, it starts again from the last keyframe at or before `t_ms`.
    pub fn seek(&mut self, t_ms: u32) -> Result<(), ReplayError> {
        let records = &self.replay.records;
        // The last keyframe at or before the target (the first one if the target is before it).
        let k = self
            .replay
            .keyframes
            .partition_point(|&i| records[i].t_ms() <= t_ms);
        let keyframe = self.replay.keyframes[k.saturating_sub(1)];
        if t_ms < self.position_ms || keyframe >= self.next {
            self.decoder = Decoder::new(REPLAY_LIMITS);
            self.next = keyframe;
            // The cursor as last recorded before that keyframe.
            self.cursor = records[..keyframe]
                .iter()
                .rev()
                .find_map(|r| match r {
                    Entry::Other(Record::Cursor { x, y, visible, .. }) => {
                        Some(visible.then_some((*x, *y)))
                    }
                    _ => None,
                })
                .flatten();
            self.generation += 1;
        }
        let mut first = true;
        while let Some(record) = self.replay.records.get(self.next).cloned() {
            // The keyframe itself always applies, even if the target is before it.
            if record.t_ms() > t_ms && !(first && self.next == keyframe) {
                break;
            }
            first = false;
            match record {
                Entry::Update { t_ms, offset, len } => {
                    // The file may have changed since it was indexed: an error, never garbage.
                    self.replay
                        .read_update(offset, len, &mut self.update)
                        .map_err(|source| RecordingError::Io {
                            action: "read",
                            source,
                        })?;
                    self.decoder
                        .decode(&self.update)
                        .map_err(|source| ReplayError::Decode { t_ms, source })?;
                    self.generation += 1;
                }
                Entry::Other(Record::Cursor { x, y, visible, .. }) => {
                    self.cursor = visible.then_some((x, y));
                    self.generation += 1;
                }
                Entry::Other(Record::Size { .. } | Record::Update { .. }) => {}
            }
            self.next += 1;
        }
        self.position_ms = t_ms;
        Ok(())
    }

    /// The time shown.
    pub fn position_ms(&self) -> u32 {
        self.position_ms
    }

    /// The picture: width, height and RGBA pixels.
    pub fn picture(&self) -> (u32, u32, &[u8]) {
        (
            self.decoder.width(),
            self.decoder.height(),
            self.decoder.rgba(),
        )
    }

    /// Where the remote pointer was, if on the picture.
    pub fn cursor(&self) -> Option<(i32, i32)> {
        self.cursor
    }

    /// Changes whenever the picture or the cursor changes.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::RecordingWriter;
    use tandem_codec::{Encoder, EncoderConfig, FrameRef};

    const W: u32 = 128;
    const H: u32 = 64;

    /// A BGRX frame: a background and a bar at `step` (text-like content, lossless).
    fn frame(step: u32) -> Vec<u8> {
        let mut f = vec![0u8; (W * H * 4) as usize];
        for y in 0..H {
            for x in 0..W {
                let i = ((y * W + x) * 4) as usize;
                let bar = x / 16 == step % 8;
                f[i..i + 3].copy_from_slice(&if bar { [20, 40, 200] } else { [240, 240, 240] });
            }
        }
        f
    }

    /// Encodes frames 0..n at 100 ms apart (keyframes at `keys`), decoding alongside; returns the
    /// recording and the picture the decoder had after each update.
    fn record(n: u32, keys: &[u32]) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut enc = Encoder::new(EncoderConfig {
            quality: 80,
            threads: 1,
        });
        let mut dec = Decoder::new(REPLAY_LIMITS);
        let mut w = RecordingWriter::new(Vec::new(), W as u16, H as u16).expect("header");
        let mut pictures = Vec::new();
        for step in 0..n {
            if keys.contains(&step) {
                enc.force_keyframe();
            }
            let data = frame(step);
            let mut out = Vec::new();
            enc.encode(
                FrameRef {
                    width: W,
                    height: H,
                    stride: (W * 4) as usize,
                    data: &data,
                },
                &mut out,
            )
            .expect("encodes");
            dec.decode(&out).expect("decodes");
            w.write_update(step * 100, &out).expect("write");
            w.write_cursor(step * 100 + 50, step as i32, 3, true)
                .expect("write");
            pictures.push(dec.rgba().to_vec());
        }
        (w.finish().expect("finish"), pictures)
    }

    fn load(bytes: &[u8]) -> Result<Replay, ReplayError> {
        Replay::load(RecordingReader::new(io::Cursor::new(bytes.to_vec())).expect("header"))
    }

    fn playback(bytes: &[u8]) -> Playback {
        Playback::new(load(bytes).expect("loads"))
    }

    #[test]
    fn seeking_anywhere_shows_what_the_viewer_decoded_then() {
        let (bytes, pictures) = record(12, &[0, 6]);
        let mut p = playback(&bytes);
        assert_eq!(p.replay().duration_ms(), 1150);
        // Forwards, backwards, across the second keyframe, and between updates.
        for t in [0, 250, 1100, 520, 640, 99, 1150, 700, 700] {
            p.seek(t).expect("seeks");
            let step = (t / 100) as usize;
            assert_eq!(p.picture().2, pictures[step].as_slice(), "at {t} ms");
            let cursor_step = if t % 100 >= 50 {
                step as i32
            } else {
                step as i32 - 1
            };
            assert_eq!(
                p.cursor(),
                (cursor_step >= 0).then_some((cursor_step, 3)),
                "at {t}"
            );
        }
    }

    #[test]
    fn a_truncated_recording_plays_to_its_last_whole_update() {
        let (bytes, pictures) = record(5, &[0]);
        // Cut inside the last update's payload.
        let (whole, _) = record(4, &[0]);
        let cut = whole.len() + 20;
        let replay = load(&bytes[..cut]).expect("loads");
        assert!(replay.truncated());
        assert_eq!(replay.updates(), 4);
        let mut p = Playback::new(replay);
        p.seek(10_000).expect("seeks");
        assert_eq!(p.picture().2, pictures[3].as_slice());
    }

    #[test]
    fn updates_are_read_from_the_file_when_decoded_and_a_file_cut_later_is_an_error() {
        let (bytes, pictures) = record(8, &[0]);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("session.tndmrec");
        std::fs::write(&path, &bytes).expect("write");
        let replay = Replay::open(&path).expect("indexes");
        // The index holds offsets: each update's bytes are where it says.
        for entry in replay.records() {
            if let Entry::Update { offset, len, .. } = entry {
                let at = usize::try_from(*offset).expect("fits");
                assert!(
                    is_keyframe(&bytes[at..at + len])
                        || bytes[at..at + 2] == tandem_codec::format::MAGIC
                );
            }
        }
        let mut p = Playback::new(replay);
        p.seek(350).expect("seeks");
        assert_eq!(p.picture().2, pictures[3].as_slice());
        // Cut the file under the replay: going on is an I/O error, not a panic or garbage.
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(bytes.len() as u64 / 2))
            .expect("truncates");
        assert!(matches!(
            p.seek(10_000),
            Err(ReplayError::Recording(RecordingError::Io { .. }))
        ));
    }

    #[test]
    fn hostile_recordings_are_errors_not_panics() {
        // No keyframe at all.
        let mut w = RecordingWriter::new(Vec::new(), 1, 1).expect("header");
        w.write_update(0, b"not an update").expect("write");
        let bytes = w.finish().expect("finish");
        assert!(matches!(load(&bytes), Err(ReplayError::NoKeyframe)));
        // A keyframe header over garbage: a decode error at its time.
        let (good, _) = record(1, &[0]);
        let mut bytes = good.clone();
        let last = bytes.len() - 30;
        bytes[last..].fill(0xAB);
        let mut p = playback(&bytes);
        let mut flipped = 0;
        for i in crate::format::HEADER_LEN..good.len() {
            // Flip every byte in turn: loads and seeks return, whatever they return.
            let mut b = good.clone();
            b[i] ^= 0x5A;
            if let Ok(reader) = RecordingReader::new(io::Cursor::new(b))
                && let Ok(replay) = Replay::load(reader)
            {
                let _ = Playback::new(replay).seek(u32::MAX);
                flipped += 1;
            }
        }
        assert!(flipped > 0);
        let _ = p.seek(0);
    }
}
