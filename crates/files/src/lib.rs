//! The synchronous, I/O-owning core of Tandem's file transfer: everything that touches the disk on
//! either end, and nothing that touches the network.
//!
//! **Sender.** [`scan`] turns a file or folder into an [`Outgoing`] offer: one [`EntryMeta`]
//! (relative '/'-separated path, size, 16-byte resume key) per regular file, plus what was skipped
//! and why. [`EntryReader`] then reads one entry a [`CHUNK_LEN`] chunk at a time from a start offset
//! and returns the BLAKE3 hash of the whole file at the end.
//!
//! **Receiver.** [`validate_offer`] (or [`validate_relative_path`] per entry) checks an offer before
//! anything is created. [`Downloads::begin`] starts or resumes one entry, [`IncomingFile::write`]
//! appends chunks strictly in order, and [`IncomingFile::finish`] checks the sender's hash and only
//! then gives the file its final name, never overwriting anything.
//!
//! **Partial files.** Data is only ever written to `<root>/.tandem-partial/<key as 32 hex>.part`.
//! The final name appears (by a hard link, which fails rather than replace an existing file) only
//! once the length and the hash are verified, so nothing half-written or corrupt ever sits under a
//! name the user will open.
//!
//! **Resume.** The key is the first 16 bytes of a BLAKE3 hash over the relative path, the size, the
//! modification time and the absolute source path ([`resume_key`]), so offering the same unchanged
//! file again gives the same key and finds the same partial file, and a changed file does not.
//! [`Downloads::begin`] resumes from the partial file's length rounded down to a multiple of
//! [`CHUNK_LEN`] (a torn last chunk is dropped) if that length is at most the size, and from 0
//! otherwise; it re-hashes the kept prefix, and the sender hashes the same prefix without sending it
//! ([`EntryReader::open`]), so both ends end with the hash of the whole file.
//!
//! **Hash.** BLAKE3 of the whole file's bytes, computed while streaming on both ends. It catches
//! corruption, a resume onto a stale prefix, and a file that changed while being sent; it is not an
//! authentication of the sender (the link's encryption is).
//!
//! Memory is bounded by one chunk per open entry whatever the file size. Logs carry paths and sizes,
//! never file contents.

mod atomic;
mod path;
mod receive;
mod scan;
mod send;

use std::collections::HashSet;

use thiserror::Error;

pub use atomic::write_atomically;
pub use path::{PathError, sanitize, validate_relative_path};
pub use receive::{Downloads, IncomingFile, ReceiveError, UnsafeKind};
pub use scan::{Outgoing, ScanError, SkipReason, Skipped, SourceEntry, resume_key, scan};
pub use send::{EntryReader, SendError};

/// The data chunk the sender reads and the unit resume works in.
pub const CHUNK_LEN: usize = 256 * 1024;
/// Entries (regular files) in one offer.
pub const MAX_ENTRIES: usize = 10_000;
/// Bytes of one relative path.
pub const MAX_PATH_LEN: usize = 1024;
/// Bytes of one path component: the common file-system limit (ext4, APFS, NTFS in UTF-16 units).
pub const MAX_COMPONENT_LEN: usize = 255;
/// Components of one relative path, the file name included.
pub const MAX_DEPTH: usize = 32;
/// The folder under the download root holding partial files; refused as an offered first
/// component.
pub const PARTIAL_DIR: &str = ".tandem-partial";

/// One file as the wire describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    /// '/'-separated, relative, valid by [`validate_relative_path`].
    pub path: String,
    pub size: u64,
    /// Names the receiver's partial file; equal for the same unchanged file offered again.
    pub key: [u8; 16],
}

/// Why a whole offer was refused by [`validate_offer`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OfferError {
    #[error("the offer lists {count} files; at most {max} are accepted")]
    TooManyEntries { count: usize, max: usize },
    #[error("file {index} of the offer has an unsafe name: {source}")]
    Path { index: usize, source: PathError },
    #[error("file {index} of the offer repeats the resume key of an earlier file")]
    DuplicateKey { index: usize },
    #[error("the offer's sizes add up to more than 2^64 bytes")]
    TooLarge,
}

/// Checks a whole offer before anything is created: the entry count, every path, no two entries
/// sharing a key (they would share one partial file) and a total size that fits a `u64`. Returns
/// the total size in bytes, for a consent prompt or a free-space check.
///
/// Two entries with the same path are allowed: the second is saved as `name (1).ext`.
pub fn validate_offer(entries: &[EntryMeta]) -> Result<u64, OfferError> {
    if entries.len() > MAX_ENTRIES {
        return Err(OfferError::TooManyEntries {
            count: entries.len(),
            max: MAX_ENTRIES,
        });
    }
    let mut keys = HashSet::with_capacity(entries.len());
    let mut total: u64 = 0;
    for (index, entry) in entries.iter().enumerate() {
        validate_relative_path(&entry.path).map_err(|source| OfferError::Path { index, source })?;
        if !keys.insert(entry.key) {
            return Err(OfferError::DuplicateKey { index });
        }
        total = total.checked_add(entry.size).ok_or(OfferError::TooLarge)?;
    }
    Ok(total)
}

/// The key as it appears in a partial file's name.
fn key_hex(key: &[u8; 16]) -> String {
    use std::fmt::Write as _;
    key.iter().fold(String::with_capacity(32), |mut out, byte| {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// A byte count for people: "1.5 GiB (1610612736 bytes)".
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {} ({bytes} bytes)", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(path: &str, size: u64, key: u8) -> EntryMeta {
        EntryMeta {
            path: path.into(),
            size,
            key: [key; 16],
        }
    }

    #[test]
    fn offer_validation() {
        assert_eq!(validate_offer(&[]), Ok(0));
        assert_eq!(
            validate_offer(&[meta("a/x", 3, 1), meta("a/x", 4, 2)]),
            Ok(7)
        );
        assert_eq!(
            validate_offer(&[meta("a/x", 3, 1), meta("../x", 4, 2)]),
            Err(OfferError::Path {
                index: 1,
                source: PathError::DotComponent {
                    path: "../x".into()
                }
            })
        );
        assert_eq!(
            validate_offer(&[meta("a", 3, 1), meta("b", 4, 1)]),
            Err(OfferError::DuplicateKey { index: 1 })
        );
        assert_eq!(
            validate_offer(&[meta("a", u64::MAX, 1), meta("b", 1, 2)]),
            Err(OfferError::TooLarge)
        );
        let many: Vec<EntryMeta> = (0..=MAX_ENTRIES).map(|i| meta("f", 0, i as u8)).collect();
        assert_eq!(
            validate_offer(&many),
            Err(OfferError::TooManyEntries {
                count: MAX_ENTRIES + 1,
                max: MAX_ENTRIES
            })
        );
    }

    #[test]
    fn formatting_helpers() {
        assert_eq!(key_hex(&[0xab; 16]), "ab".repeat(16));
        assert_eq!(key_hex(&[0; 16]).len(), 32);
        assert_eq!(human_bytes(5), "5 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB (1536 bytes)");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB (3221225472 bytes)");
    }
}
