//! Bulk messages, sealed, one stream each way ([`crate::StreamKind::Bulk`]): the data of file
//! transfers and clipboard contents, in chunks of at most [`MAX_BULK_CHUNK`] bytes. They travel on
//! their own stream, at a lower priority than the screen and input, so a large transfer never stalls
//! the picture or the keyboard.
//!
//! `Debug` prints sizes and ids only, never data.

use std::fmt;

use crate::limits::MAX_BULK_CHUNK;
use crate::wire::{DecodeError, Message, Reader, WriteExt, bytes_len};

/// What a clipboard carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ClipFormat {
    /// UTF-8 text.
    Text = 1,
    /// A PNG image.
    Png = 2,
}

impl ClipFormat {
    fn from_u8(tag: u8) -> Result<Self, DecodeError> {
        match tag {
            1 => Ok(Self::Text),
            2 => Ok(Self::Png),
            tag => Err(DecodeError::UnknownTag {
                what: "clipboard format",
                tag,
            }),
        }
    }
}

/// A bulk message.
#[derive(Clone, PartialEq, Eq)]
pub enum Bulk {
    /// Part of one clipboard content: `serial` numbers the sender's contents (a new serial replaces an
    /// unfinished one), `total` is the whole content's length, `offset` where `data` goes in it.
    /// Parts of one serial come in order, from offset 0.
    ClipboardPart {
        serial: u32,
        format: ClipFormat,
        total: u32,
        offset: u32,
        data: Vec<u8>,
    },
    /// Bytes of entry `entry` of the sender's offer `id`, at `offset` in the file. In order.
    FileData {
        id: u32,
        entry: u32,
        offset: u64,
        data: Vec<u8>,
    },
    /// Entry `entry` of offer `id` is complete; `blake3` is the hash of the whole file.
    FileEntryEnd {
        id: u32,
        entry: u32,
        blake3: [u8; 32],
    },
}

const CLIPBOARD_PART: u8 = 1;
const FILE_DATA: u8 = 2;
const FILE_ENTRY_END: u8 = 3;

impl Message for Bulk {
    fn encoded_len(&self) -> usize {
        1 + match self {
            Self::ClipboardPart { data, .. } => 4 + 1 + 4 + 4 + bytes_len(data.len()),
            Self::FileData { data, .. } => 4 + 4 + 8 + bytes_len(data.len()),
            Self::FileEntryEnd { .. } => 4 + 4 + 32,
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::ClipboardPart {
                serial,
                format,
                total,
                offset,
                data,
            } => {
                out.put_u8(CLIPBOARD_PART);
                out.put_u32(*serial);
                out.put_u8(*format as u8);
                out.put_u32(*total);
                out.put_u32(*offset);
                out.put_bytes(data);
            }
            Self::FileData {
                id,
                entry,
                offset,
                data,
            } => {
                out.put_u8(FILE_DATA);
                out.put_u32(*id);
                out.put_u32(*entry);
                out.put_u64(*offset);
                out.put_bytes(data);
            }
            Self::FileEntryEnd { id, entry, blake3 } => {
                out.put_u8(FILE_ENTRY_END);
                out.put_u32(*id);
                out.put_u32(*entry);
                out.extend_from_slice(blake3);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            CLIPBOARD_PART => Ok(Self::ClipboardPart {
                serial: r.u32()?,
                format: ClipFormat::from_u8(r.u8()?)?,
                total: r.u32()?,
                offset: r.u32()?,
                data: r.bytes("clipboard part", MAX_BULK_CHUNK)?.to_vec(),
            }),
            FILE_DATA => Ok(Self::FileData {
                id: r.u32()?,
                entry: r.u32()?,
                offset: r.u64()?,
                data: r.bytes("file data", MAX_BULK_CHUNK)?.to_vec(),
            }),
            FILE_ENTRY_END => Ok(Self::FileEntryEnd {
                id: r.u32()?,
                entry: r.u32()?,
                blake3: r.array()?,
            }),
            tag => Err(DecodeError::UnknownTag {
                what: "bulk message",
                tag,
            }),
        }
    }
}

impl fmt::Debug for Bulk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClipboardPart {
                serial,
                format,
                total,
                offset,
                data,
            } => f
                .debug_struct("ClipboardPart")
                .field("serial", serial)
                .field("format", format)
                .field("total", total)
                .field("offset", offset)
                .field("len", &data.len())
                .finish(),
            Self::FileData {
                id,
                entry,
                offset,
                data,
            } => f
                .debug_struct("FileData")
                .field("id", id)
                .field("entry", entry)
                .field("offset", offset)
                .field("len", &data.len())
                .finish(),
            Self::FileEntryEnd { id, entry, .. } => f
                .debug_struct("FileEntryEnd")
                .field("id", id)
                .field("entry", entry)
                .finish_non_exhaustive(),
        }
    }
}

/// Splits one clipboard content into parts of at most [`MAX_BULK_CHUNK`] bytes (one empty part for
/// empty content). The caller keeps `data` within the format's limit
/// ([`crate::limits::MAX_CLIPBOARD_TEXT`], [`crate::limits::MAX_CLIPBOARD_PNG`]).
pub fn clipboard_parts(serial: u32, format: ClipFormat, data: &[u8]) -> Vec<Bulk> {
    let total = u32::try_from(data.len()).unwrap_or(u32::MAX);
    if data.is_empty() {
        return vec![Bulk::ClipboardPart {
            serial,
            format,
            total: 0,
            offset: 0,
            data: Vec::new(),
        }];
    }
    data.chunks(MAX_BULK_CHUNK)
        .enumerate()
        .map(|(i, chunk)| Bulk::ClipboardPart {
            serial,
            format,
            total,
            offset: (i * MAX_BULK_CHUNK) as u32,
            data: chunk.to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_messages_round_trip_and_hide_data() {
        let msgs = [
            Bulk::ClipboardPart {
                serial: 7,
                format: ClipFormat::Png,
                total: 3,
                offset: 0,
                data: b"abc".to_vec(),
            },
            Bulk::FileData {
                id: 1,
                entry: 2,
                offset: 1 << 40,
                data: b"hunter2".to_vec(),
            },
            Bulk::FileEntryEnd {
                id: 1,
                entry: 2,
                blake3: [9; 32],
            },
        ];
        for msg in msgs {
            let bytes = msg.to_vec();
            assert_eq!(bytes.len(), msg.encoded_len());
            assert_eq!(Bulk::from_bytes(&bytes), Ok(msg.clone()));
            assert!(!format!("{msg:?}").contains("hunter2"));
        }
    }

    #[test]
    fn oversized_chunks_and_unknown_tags_are_refused() {
        let big = Bulk::FileData {
            id: 1,
            entry: 0,
            offset: 0,
            data: vec![0; MAX_BULK_CHUNK + 1],
        };
        assert!(matches!(
            Bulk::from_bytes(&big.to_vec()),
            Err(DecodeError::TooLong { .. })
        ));
        assert!(matches!(
            Bulk::from_bytes(&[4]),
            Err(DecodeError::UnknownTag { tag: 4, .. })
        ));
        let part = clipboard_parts(1, ClipFormat::Text, b"x")
            .remove(0)
            .to_vec();
        let mut bad_format = part.clone();
        bad_format[5] = 3;
        assert!(Bulk::from_bytes(&bad_format).is_err());
    }

    #[test]
    fn clipboard_parts_cover_the_content_in_order() {
        let data: Vec<u8> = (0..MAX_BULK_CHUNK * 2 + 5).map(|i| i as u8).collect();
        let parts = clipboard_parts(3, ClipFormat::Text, &data);
        assert_eq!(parts.len(), 3);
        let mut joined = Vec::new();
        for part in parts {
            let Bulk::ClipboardPart {
                total,
                offset,
                data: chunk,
                ..
            } = part
            else {
                panic!("clipboard part");
            };
            assert_eq!(total as usize, data.len());
            assert_eq!(offset as usize, joined.len());
            joined.extend_from_slice(&chunk);
        }
        assert_eq!(joined, data);
        assert_eq!(clipboard_parts(4, ClipFormat::Text, b"").len(), 1);
    }
}
