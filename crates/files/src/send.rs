//! Reading one entry for sending, a chunk at a time, hashing as it goes.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use thiserror::Error;

use crate::CHUNK_LEN;
use crate::scan::SourceEntry;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SendError {
    #[error("could not {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error(
        "{path} changed while it was being sent (it was {size} bytes when offered); offer it again"
    )]
    Changed { path: PathBuf, size: u64 },
    #[error(
        "cannot start sending at byte {offset} of a {size}-byte file: the receiver asked for an offset that is not a whole number of chunks within the file"
    )]
    BadOffset { offset: u64, size: u64 },
    #[error(
        "the hash was asked for after {sent} of {size} bytes; the whole file must be read first"
    )]
    Incomplete { sent: u64, size: u64 },
}

/// Reads one [`SourceEntry`] from a start offset in [`CHUNK_LEN`] chunks, hashing the whole file.
///
/// Memory is one caller-owned chunk buffer and a BLAKE3 state, whatever the file size.
#[derive(Debug)]
pub struct EntryReader {
    file: File,
    path: PathBuf,
    size: u64,
    /// The offset of the next chunk: everything before it has been hashed.
    position: u64,
    hasher: blake3::Hasher,
}

impl EntryReader {
    /// Opens `entry.source` to send from `offset` (a multiple of [`CHUNK_LEN`], at most the size).
    /// Hashes the prefix `[0, offset)` first, so [`finish`](Self::finish) returns the hash of the
    /// whole file, which is what the receiver checks its resumed copy against.
    pub fn open(entry: &SourceEntry, offset: u64) -> Result<Self, SendError> {
        let size = entry.meta.size;
        if offset > size || !offset.is_multiple_of(CHUNK_LEN as u64) {
            return Err(SendError::BadOffset { offset, size });
        }
        let path = entry.source.clone();
        let file = File::open(&path).map_err(|source| SendError::Io {
            action: "open",
            path: path.clone(),
            source,
        })?;
        let metadata = file.metadata().map_err(|source| SendError::Io {
            action: "read the details of",
            path: path.clone(),
            source,
        })?;
        if !metadata.is_file() || metadata.len() != size {
            return Err(SendError::Changed { path, size });
        }
        let mut reader = EntryReader {
            file,
            path,
            size,
            position: 0,
            hasher: blake3::Hasher::new(),
        };
        let mut buf = Vec::with_capacity(CHUNK_LEN);
        while reader.position < offset {
            reader.read_chunk(&mut buf)?;
        }
        tracing::debug!(path = %reader.path.display(), size, offset, "sending");
        Ok(reader)
    }

    /// Clears `buf` and fills it with the next chunk (up to [`CHUNK_LEN`] bytes). Returns the
    /// chunk's offset in the file, or `None` once the whole file has been read.
    ///
    /// A file that ends early, or still has bytes past its offered size, is
    /// [`SendError::Changed`]: what was sent no longer matches what was offered.
    pub fn next_chunk(&mut self, buf: &mut Vec<u8>) -> Result<Option<u64>, SendError> {
        buf.clear();
        if self.position == self.size {
            return Ok(None);
        }
        self.read_chunk(buf).map(Some)
    }

    /// The BLAKE3 hash of the whole file. Fails if not everything was read, or if the file grew
    /// while being sent.
    pub fn finish(mut self) -> Result<[u8; 32], SendError> {
        if self.position != self.size {
            return Err(SendError::Incomplete {
                sent: self.position,
                size: self.size,
            });
        }
        // One byte more than offered means the file grew (a shrink showed as a short read).
        let mut probe = [0u8; 1];
        let extra =
            read_full(&mut self.file, &mut probe).map_err(|source| self.io("read", source))?;
        if extra != 0 {
            return Err(SendError::Changed {
                path: self.path,
                size: self.size,
            });
        }
        Ok(*self.hasher.finalize().as_bytes())
    }

    fn read_chunk(&mut self, buf: &mut Vec<u8>) -> Result<u64, SendError> {
        let offset = self.position;
        let want = (self.size - offset).min(CHUNK_LEN as u64) as usize;
        buf.clear();
        buf.resize(want, 0);
        let got = read_full(&mut self.file, buf).map_err(|source| self.io("read", source))?;
        if got < want {
            buf.clear();
            return Err(SendError::Changed {
                path: self.path.clone(),
                size: self.size,
            });
        }
        self.hasher.update(buf);
        self.position += want as u64;
        tracing::trace!(offset, len = want, "read chunk");
        Ok(offset)
    }

    fn io(&self, action: &'static str, source: io::Error) -> SendError {
        SendError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }
}

/// Reads until `buf` is full or the file ends; returns how much was read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Write;

    use super::*;
    use crate::scan::scan;

    /// Not a multiple of the chunk size, so the last chunk is short.
    const FILE_LEN: usize = 3 * CHUNK_LEN + 1234;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn sample(dir: &tempfile::TempDir) -> (SourceEntry, Vec<u8>) {
        let bytes = pattern(FILE_LEN);
        let path = dir.path().join("data.bin");
        fs::write(&path, &bytes).expect("write");
        let entry = scan(&path).expect("scan").entries.remove(0);
        (entry, bytes)
    }

    fn read_all(reader: &mut EntryReader) -> Vec<(u64, Vec<u8>)> {
        let mut buf = Vec::new();
        let mut chunks = Vec::new();
        while let Some(offset) = reader.next_chunk(&mut buf).expect("chunk") {
            assert!(buf.len() <= CHUNK_LEN);
            chunks.push((offset, buf.clone()));
        }
        chunks
    }

    #[test]
    fn from_the_start_reads_every_chunk_and_hashes_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (entry, bytes) = sample(&dir);
        let mut reader = EntryReader::open(&entry, 0).expect("open");
        let chunks = read_all(&mut reader);
        let offsets: Vec<u64> = chunks.iter().map(|(offset, _)| *offset).collect();
        let c = CHUNK_LEN as u64;
        assert_eq!(offsets, [0, c, 2 * c, 3 * c]);
        assert_eq!(chunks[3].1.len(), 1234);
        let joined: Vec<u8> = chunks.into_iter().flat_map(|(_, data)| data).collect();
        assert_eq!(joined, bytes);
        assert_eq!(
            reader.finish().expect("finish"),
            *blake3::hash(&bytes).as_bytes()
        );
    }

    #[test]
    fn from_an_offset_sends_the_tail_and_still_hashes_the_whole_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (entry, bytes) = sample(&dir);
        let offset = 2 * CHUNK_LEN as u64;
        let mut reader = EntryReader::open(&entry, offset).expect("open");
        let chunks = read_all(&mut reader);
        assert_eq!(chunks[0].0, offset);
        let joined: Vec<u8> = chunks.into_iter().flat_map(|(_, data)| data).collect();
        assert_eq!(joined, bytes[2 * CHUNK_LEN..]);
        assert_eq!(
            reader.finish().expect("finish"),
            *blake3::hash(&bytes).as_bytes()
        );
    }

    #[test]
    fn an_empty_file_and_an_offset_at_the_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("empty");
        fs::write(&path, b"").expect("write");
        let entry = scan(&path).expect("scan").entries.remove(0);
        let mut reader = EntryReader::open(&entry, 0).expect("open");
        assert_eq!(reader.next_chunk(&mut vec![1, 2, 3]).expect("chunk"), None);
        assert_eq!(
            reader.finish().expect("finish"),
            *blake3::hash(b"").as_bytes()
        );

        let (entry, bytes) = sample(&dir);
        let mut whole = entry.clone();
        whole.meta.size = 3 * CHUNK_LEN as u64;
        fs::write(&whole.source, &bytes[..3 * CHUNK_LEN]).expect("write");
        let mut reader = EntryReader::open(&whole, whole.meta.size).expect("open at end");
        assert_eq!(reader.next_chunk(&mut Vec::new()).expect("chunk"), None);
        assert_eq!(
            reader.finish().expect("finish"),
            *blake3::hash(&bytes[..3 * CHUNK_LEN]).as_bytes()
        );
    }

    #[test]
    fn bad_offsets_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (entry, _) = sample(&dir);
        for offset in [1, CHUNK_LEN as u64 - 1, 4 * CHUNK_LEN as u64] {
            assert!(matches!(
                EntryReader::open(&entry, offset),
                Err(SendError::BadOffset { .. })
            ));
        }
    }

    #[test]
    fn a_file_that_changed_size_is_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (entry, bytes) = sample(&dir);

        // Changed before opening.
        fs::write(&entry.source, &bytes[..100]).expect("write");
        assert!(matches!(
            EntryReader::open(&entry, 0),
            Err(SendError::Changed { .. })
        ));

        // Shrank while being read.
        fs::write(&entry.source, &bytes).expect("write");
        let mut reader = EntryReader::open(&entry, 0).expect("open");
        let mut buf = Vec::new();
        reader.next_chunk(&mut buf).expect("first chunk");
        fs::File::options()
            .write(true)
            .open(&entry.source)
            .expect("open for truncate")
            .set_len(CHUNK_LEN as u64 + 10)
            .expect("truncate");
        assert!(matches!(
            reader.next_chunk(&mut buf),
            Err(SendError::Changed { .. })
        ));

        // Grew while being read.
        fs::write(&entry.source, &bytes).expect("write");
        let mut reader = EntryReader::open(&entry, 0).expect("open");
        fs::File::options()
            .append(true)
            .open(&entry.source)
            .expect("open for append")
            .write_all(b"more")
            .expect("append");
        read_all(&mut reader);
        assert!(matches!(reader.finish(), Err(SendError::Changed { .. })));
    }

    #[test]
    fn finish_before_the_end_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (entry, _) = sample(&dir);
        let mut reader = EntryReader::open(&entry, 0).expect("open");
        reader.next_chunk(&mut Vec::new()).expect("chunk");
        assert!(matches!(
            reader.finish(),
            Err(SendError::Incomplete { sent, .. }) if sent == CHUNK_LEN as u64
        ));
    }
}
