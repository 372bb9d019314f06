//! The container (all integers little endian):
//!
//! ```text
//! file    := header record*
//! header  := "TNDMREC\n" version:u16 width:u16 height:u16           (14 bytes)
//! record  := t_ms:u32 kind:u8 len:u32 payload                        (9 + len bytes)
//! kind 1  UPDATE  payload = one codec update, byte for byte as received
//! kind 2  CURSOR  payload = x:i32 y:i32 visible:u8                   (len 9)
//! kind 3  SIZE    payload = width:u32 height:u32                     (len 8)
//! ```
//!
//! `width`/`height` in the header are the picture's size when recording started (0 if unknown; the
//! first update is a keyframe that sets it). `t_ms` counts milliseconds from the start and never
//! decreases (a reader clamps it, so a hostile file cannot make time run backwards). A reader skips
//! kinds it does not know (a later version may add some), refuses a record longer than
//! [`MAX_RECORD_LEN`], and treats a record cut short at the end of the file as the end.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use tandem_codec::format as codec;

/// The file's first bytes.
pub const MAGIC: [u8; 8] = *b"TNDMREC\n";
/// The container version this crate writes and reads.
pub const VERSION: u16 = 1;
/// Bytes of the file header.
pub const HEADER_LEN: usize = 14;
/// Bytes before each record's payload.
pub const RECORD_HEADER_LEN: usize = 9;
/// The longest record a reader accepts: more than any update the protocol carries (16 MiB frames).
pub const MAX_RECORD_LEN: usize = 64 << 20;

const KIND_UPDATE: u8 = 1;
const KIND_CURSOR: u8 = 2;
const KIND_SIZE: u8 = 3;

/// What went wrong reading or writing a recording.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordingError {
    #[error("could not {action} the recording: {source}")]
    Io {
        action: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("not a Tandem recording (wrong magic bytes)")]
    BadMagic,
    #[error("recording version {version} is not supported (this build reads version {VERSION})")]
    UnsupportedVersion { version: u16 },
    #[error("the file ends inside its header ({have} of {HEADER_LEN} bytes)")]
    TruncatedHeader { have: usize },
    #[error("a record claims {len} bytes, more than the {max} allowed")]
    RecordTooLong { len: usize, max: usize },
    #[error("a {kind} record has {len} bytes where {expected} are due")]
    BadRecordLen {
        kind: &'static str,
        len: usize,
        expected: usize,
    },
}

/// The file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    /// The picture's size when recording started (0 if not known yet).
    pub width: u16,
    pub height: u16,
}

/// One record: what happened at `t_ms` after the recording started.
#[derive(Clone, PartialEq, Eq)]
pub enum Record {
    /// One codec update, exactly as received.
    Update { t_ms: u32, payload: Vec<u8> },
    /// Where the remote pointer is, relative to the picture (`visible: false`: not on it).
    Cursor {
        t_ms: u32,
        x: i32,
        y: i32,
        visible: bool,
    },
    /// The picture's size changed (the keyframe that follows carries it too).
    Size { t_ms: u32, width: u32, height: u32 },
}

impl Record {
    pub fn t_ms(&self) -> u32 {
        match self {
            Self::Update { t_ms, .. } | Self::Cursor { t_ms, .. } | Self::Size { t_ms, .. } => {
                *t_ms
            }
        }
    }
}

// Pixels are never printed: only sizes.
impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Update { t_ms, payload } => f
                .debug_struct("Update")
                .field("t_ms", t_ms)
                .field("len", &payload.len())
                .finish(),
            Self::Cursor {
                t_ms,
                x,
                y,
                visible,
            } => f
                .debug_struct("Cursor")
                .field("t_ms", t_ms)
                .field("x", x)
                .field("y", y)
                .field("visible", visible)
                .finish(),
            Self::Size {
                t_ms,
                width,
                height,
            } => f
                .debug_struct("Size")
                .field("t_ms", t_ms)
                .field("width", width)
                .field("height", height)
                .finish(),
        }
    }
}

/// Whether a codec update is a keyframe (sets the size, empties the tile cache): a recording
/// starts with one, and a replay seeks from one.
pub fn is_keyframe(update: &[u8]) -> bool {
    update.len() >= codec::HEADER_LEN
        && update[..2] == codec::MAGIC
        && update[3] & codec::FLAG_KEYFRAME != 0
}

/// Writes a recording through a buffer; [`RecordingWriter::flush`] pushes it to the file (the
/// caller flushes periodically, so a crash loses at most the last moments).
pub struct RecordingWriter<W: Write> {
    out: BufWriter<W>,
    last_t: u32,
    records: u64,
    bytes: u64,
}

impl RecordingWriter<File> {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path, width: u16, height: u16) -> Result<Self, RecordingError> {
        let file = File::create(path).map_err(|source| RecordingError::Io {
            action: "create",
            source,
        })?;
        Self::new(file, width, height)
    }
}

impl<W: Write> RecordingWriter<W> {
    /// Writes the header to `out`.
    pub fn new(out: W, width: u16, height: u16) -> Result<Self, RecordingError> {
        let mut out = BufWriter::with_capacity(256 * 1024, out);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(&MAGIC);
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&width.to_le_bytes());
        header.extend_from_slice(&height.to_le_bytes());
        out.write_all(&header).map_err(write_error)?;
        Ok(Self {
            out,
            last_t: 0,
            records: 0,
            bytes: HEADER_LEN as u64,
        })
    }

    /// One codec update, as received.
    pub fn write_update(&mut self, t_ms: u32, update: &[u8]) -> Result<(), RecordingError> {
        self.write_record(t_ms, KIND_UPDATE, update)
    }

    /// The pointer's position relative to the picture.
    pub fn write_cursor(
        &mut self,
        t_ms: u32,
        x: i32,
        y: i32,
        visible: bool,
    ) -> Result<(), RecordingError> {
        let mut payload = [0u8; 9];
        payload[..4].copy_from_slice(&x.to_le_bytes());
        payload[4..8].copy_from_slice(&y.to_le_bytes());
        payload[8] = u8::from(visible);
        self.write_record(t_ms, KIND_CURSOR, &payload)
    }

    /// The picture's new size.
    pub fn write_size(&mut self, t_ms: u32, width: u32, height: u32) -> Result<(), RecordingError> {
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(&width.to_le_bytes());
        payload[4..].copy_from_slice(&height.to_le_bytes());
        self.write_record(t_ms, KIND_SIZE, &payload)
    }

    /// Pushes buffered records to the file.
    pub fn flush(&mut self) -> Result<(), RecordingError> {
        self.out.flush().map_err(write_error)
    }

    /// Flushes and hands back the inner writer.
    pub fn finish(self) -> Result<W, RecordingError> {
        self.out
            .into_inner()
            .map_err(|e| write_error(e.into_error()))
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes written so far, header included (some may still be in the buffer).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn write_record(&mut self, t_ms: u32, kind: u8, payload: &[u8]) -> Result<(), RecordingError> {
        if payload.len() > MAX_RECORD_LEN {
            return Err(RecordingError::RecordTooLong {
                len: payload.len(),
                max: MAX_RECORD_LEN,
            });
        }
        // Time never runs backwards in a recording.
        let t_ms = t_ms.max(self.last_t);
        self.last_t = t_ms;
        let mut head = [0u8; RECORD_HEADER_LEN];
        head[..4].copy_from_slice(&t_ms.to_le_bytes());
        head[4] = kind;
        head[5..].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        self.out.write_all(&head).map_err(write_error)?;
        self.out.write_all(payload).map_err(write_error)?;
        self.records += 1;
        self.bytes += (RECORD_HEADER_LEN + payload.len()) as u64;
        Ok(())
    }
}

fn write_error(source: io::Error) -> RecordingError {
    RecordingError::Io {
        action: "write",
        source,
    }
}

/// Reads a recording record by record. Never panics on any input; a record cut short at the end
/// is the end ([`RecordingReader::truncated`] says so).
pub struct RecordingReader<R: Read> {
    input: R,
    header: Header,
    /// Bytes consumed from the start of the file.
    position: u64,
    /// Where the payload of the record last returned starts.
    payload_offset: u64,
    last_t: u32,
    truncated: bool,
    done: bool,
}

impl<R: Read> RecordingReader<R> {
    /// Reads and checks the header.
    pub fn new(mut input: R) -> Result<Self, RecordingError> {
        let mut head = [0u8; HEADER_LEN];
        let have = read_full(&mut input, &mut head)?;
        if have >= MAGIC.len() && head[..MAGIC.len()] != MAGIC {
            return Err(RecordingError::BadMagic);
        }
        if have < HEADER_LEN {
            if head[..have] != MAGIC[..have.min(MAGIC.len())] {
                return Err(RecordingError::BadMagic);
            }
            return Err(RecordingError::TruncatedHeader { have });
        }
        let version = u16::from_le_bytes([head[8], head[9]]);
        if version != VERSION {
            return Err(RecordingError::UnsupportedVersion { version });
        }
        Ok(Self {
            input,
            header: Header {
                version,
                width: u16::from_le_bytes([head[10], head[11]]),
                height: u16::from_le_bytes([head[12], head[13]]),
            },
            position: HEADER_LEN as u64,
            payload_offset: HEADER_LEN as u64,
            last_t: 0,
            truncated: false,
            done: false,
        })
    }

    pub fn header(&self) -> Header {
        self.header
    }

    /// Where the payload of the record [`next_record`](Self::next_record) returned last starts,
    /// from the start of the file: a replay keeps this instead of the payload, and reads it again
    /// when it needs it.
    pub fn payload_offset(&self) -> u64 {
        self.payload_offset
    }

    /// The input, positioned after what was read.
    pub fn into_inner(self) -> R {
        self.input
    }

    /// Whether the file ended inside a record (what came before it is whole and was read).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The next record, or `None` at the end (or at a record cut short).
    pub fn next_record(&mut self) -> Result<Option<Record>, RecordingError> {
        while !self.done {
            let mut head = [0u8; RECORD_HEADER_LEN];
            let have = read_full(&mut self.input, &mut head)?;
            if have < RECORD_HEADER_LEN {
                self.done = true;
                self.truncated = have > 0;
                return Ok(None);
            }
            let t_ms = u32::from_le_bytes([head[0], head[1], head[2], head[3]]).max(self.last_t);
            self.last_t = t_ms;
            let kind = head[4];
            let len = u32::from_le_bytes([head[5], head[6], head[7], head[8]]) as usize;
            if len > MAX_RECORD_LEN {
                self.done = true;
                return Err(RecordingError::RecordTooLong {
                    len,
                    max: MAX_RECORD_LEN,
                });
            }
            // Read through `take` so a lying length reserves nothing before the bytes exist.
            let mut payload = Vec::new();
            let got = (&mut self.input)
                .take(len as u64)
                .read_to_end(&mut payload)
                .map_err(read_error)?;
            self.payload_offset = self.position + RECORD_HEADER_LEN as u64;
            self.position = self.payload_offset + got as u64;
            if got < len {
                self.done = true;
                self.truncated = true;
                return Ok(None);
            }
            let record = match kind {
                KIND_UPDATE => Record::Update { t_ms, payload },
                KIND_CURSOR => {
                    let p = exact::<9>(&payload, "cursor")?;
                    Record::Cursor {
                        t_ms,
                        x: i32::from_le_bytes([p[0], p[1], p[2], p[3]]),
                        y: i32::from_le_bytes([p[4], p[5], p[6], p[7]]),
                        visible: p[8] != 0,
                    }
                }
                KIND_SIZE => {
                    let p = exact::<8>(&payload, "size")?;
                    Record::Size {
                        t_ms,
                        width: u32::from_le_bytes([p[0], p[1], p[2], p[3]]),
                        height: u32::from_le_bytes([p[4], p[5], p[6], p[7]]),
                    }
                }
                // A kind from a later version: skipped.
                _ => continue,
            };
            return Ok(Some(record));
        }
        Ok(None)
    }
}

impl RecordingReader<io::BufReader<File>> {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        let file = File::open(path).map_err(|source| RecordingError::Io {
            action: "open",
            source,
        })?;
        Self::new(io::BufReader::new(file))
    }
}

fn exact<const N: usize>(payload: &[u8], kind: &'static str) -> Result<[u8; N], RecordingError> {
    payload
        .try_into()
        .map_err(|_| RecordingError::BadRecordLen {
            kind,
            len: payload.len(),
            expected: N,
        })
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> Result<usize, RecordingError> {
    let mut have = 0;
    while have < buf.len() {
        match input.read(&mut buf[have..]) {
            Ok(0) => break,
            Ok(n) => have += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(e)),
        }
    }
    Ok(have)
}

fn read_error(source: io::Error) -> RecordingError {
    RecordingError::Io {
        action: "read",
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> (Vec<u8>, Vec<Record>) {
        let records = vec![
            Record::Update {
                t_ms: 0,
                payload: vec![1, 2, 3],
            },
            Record::Cursor {
                t_ms: 5,
                x: -3,
                y: 700,
                visible: true,
            },
            Record::Size {
                t_ms: 9,
                width: 1920,
                height: 1080,
            },
            Record::Update {
                t_ms: 40,
                payload: vec![9; 1000],
            },
        ];
        let mut w = RecordingWriter::new(Vec::new(), 800, 600).expect("header");
        for r in &records {
            match r {
                Record::Update { t_ms, payload } => w.write_update(*t_ms, payload),
                Record::Cursor {
                    t_ms,
                    x,
                    y,
                    visible,
                } => w.write_cursor(*t_ms, *x, *y, *visible),
                Record::Size {
                    t_ms,
                    width,
                    height,
                } => w.write_size(*t_ms, *width, *height),
            }
            .expect("write");
        }
        (w.finish().expect("finish"), records)
    }

    fn read_all(bytes: &[u8]) -> Result<(Vec<Record>, bool), RecordingError> {
        let mut r = RecordingReader::new(bytes)?;
        let mut out = Vec::new();
        while let Some(rec) = r.next_record()? {
            out.push(rec);
        }
        Ok((out, r.truncated()))
    }

    #[test]
    fn round_trip() {
        let (bytes, records) = sample();
        let r = RecordingReader::new(bytes.as_slice()).expect("header");
        assert_eq!(
            r.header(),
            Header {
                version: VERSION,
                width: 800,
                height: 600
            }
        );
        assert_eq!(read_all(&bytes).expect("reads"), (records, false));
    }

    /// A file cut anywhere inside a record reads as every whole record before the cut.
    #[test]
    fn truncated_file_reads_to_the_last_whole_record() {
        let (bytes, records) = sample();
        let mut ends = vec![HEADER_LEN];
        for r in &records {
            let len = match r {
                Record::Update { payload, .. } => payload.len(),
                Record::Cursor { .. } => 9,
                Record::Size { .. } => 8,
            };
            ends.push(ends[ends.len() - 1] + RECORD_HEADER_LEN + len);
        }
        for cut in HEADER_LEN..=bytes.len() {
            let whole = ends.iter().filter(|&&e| e <= cut).count() - 1;
            let (got, truncated) = read_all(&bytes[..cut]).expect("reads");
            assert_eq!(got, records[..whole], "cut at {cut}");
            assert_eq!(truncated, !ends.contains(&cut), "cut at {cut}");
        }
    }

    #[test]
    fn headers_are_checked() {
        assert!(matches!(
            RecordingReader::new(&b"PNG\x89garbage-garbage"[..]),
            Err(RecordingError::BadMagic)
        ));
        assert!(matches!(
            RecordingReader::new(&MAGIC[..5]),
            Err(RecordingError::TruncatedHeader { have: 5 })
        ));
        let mut bytes = sample().0;
        bytes[8] = 9;
        assert!(matches!(
            RecordingReader::new(bytes.as_slice()),
            Err(RecordingError::UnsupportedVersion { version: 9 })
        ));
    }

    #[test]
    fn lying_lengths_and_unknown_kinds() {
        let mut bytes = RecordingWriter::new(Vec::new(), 1, 1)
            .expect("header")
            .finish()
            .expect("finish");
        // An unknown kind is skipped; then a record claiming 4 GiB is refused without reserving it.
        bytes.extend_from_slice(&[0, 0, 0, 0, 77, 2, 0, 0, 0, 1, 2]);
        bytes.extend_from_slice(&[1, 0, 0, 0, KIND_UPDATE, 0xff, 0xff, 0xff, 0xff]);
        let mut r = RecordingReader::new(bytes.as_slice()).expect("header");
        assert!(matches!(
            r.next_record(),
            Err(RecordingError::RecordTooLong { .. })
        ));
        assert!(matches!(r.next_record(), Ok(None)));
        // A cursor record of the wrong size is an error.
        let mut bytes = RecordingWriter::new(Vec::new(), 1, 1)
            .expect("header")
            .finish()
            .expect("finish");
        bytes.extend_from_slice(&[0, 0, 0, 0, KIND_CURSOR, 1, 0, 0, 0, 1]);
        assert!(matches!(
            read_all(&bytes),
            Err(RecordingError::BadRecordLen { kind: "cursor", .. })
        ));
    }

    #[test]
    fn time_never_runs_backwards() {
        let mut w = RecordingWriter::new(Vec::new(), 1, 1).expect("header");
        w.write_update(50, &[1]).expect("write");
        w.write_update(10, &[2]).expect("write");
        let bytes = w.finish().expect("finish");
        let (records, _) = read_all(&bytes).expect("reads");
        assert_eq!(records[1].t_ms(), 50);
    }

    proptest! {
        /// Any bytes after a valid header: records or an error, never a panic.
        #[test]
        fn hostile_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let mut bytes = RecordingWriter::new(Vec::new(), 1, 1)
                .expect("header")
                .finish()
                .expect("finish");
            bytes.extend_from_slice(&tail);
            let _ = read_all(&bytes);
            let _ = read_all(&tail);
        }
    }
}
