//! The binary encoding every Tandem message uses: big-endian integers, length-prefixed byte strings,
//! and a [`Message`] trait with an exact `encoded_len`. Decoding never panics and never allocates more
//! than the input it was given.

use thiserror::Error;

/// Why a message could not be decoded. Every decoder of untrusted bytes returns this, never panics.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("message truncated: needed {needed} more bytes")]
    Truncated { needed: usize },
    #[error("unknown {what} tag {tag}")]
    UnknownTag { what: &'static str, tag: u8 },
    #[error("{what} is {len} bytes, over the limit of {max}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{what} is not valid UTF-8")]
    BadUtf8 { what: &'static str },
    /// Text meant for people holds a control, separator or bidi character
    /// ([`crate::text::is_unsafe`]); `code` is the first one, `at` its byte offset.
    #[error(
        "{what} contains U+{code:04X} at byte {at}, a character that controls terminals or text direction"
    )]
    UnsafeText {
        what: &'static str,
        code: u32,
        at: usize,
    },
    #[error("invalid {what}")]
    Invalid { what: &'static str },
    #[error("{extra} unexpected bytes after the end of the message")]
    TrailingBytes { extra: usize },
}

/// A wire message: knows its exact encoded size, appends itself to a buffer, and parses itself from
/// exactly one message's bytes.
pub trait Message: Sized {
    /// Exact number of bytes [`Message::write_to`] appends.
    fn encoded_len(&self) -> usize;
    /// Appends the encoding to `out` (never clears it).
    fn write_to(&self, out: &mut Vec<u8>);
    /// Parses `bytes`, which must hold exactly one message.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Parses exactly one message; trailing bytes are an error.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let message = Self::decode(&mut reader)?;
        reader.finish()?;
        Ok(message)
    }

    /// The allocating form of [`Message::write_to`].
    fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut out);
        out
    }
}

/// A cursor over untrusted bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Errors unless every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.bytes.len() {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes { extra }),
        }
    }

    pub fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.bytes.len() {
            return Err(DecodeError::Truncated {
                needed: len - self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Invalid { what: "bool" }),
        }
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A `u32` length then that many bytes, refused above `max`.
    pub fn bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(DecodeError::TooLong { what, len, max });
        }
        self.take(len)
    }

    /// Like [`Reader::bytes`], as UTF-8.
    pub fn str(&mut self, what: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes(what, max)?).map_err(|_| DecodeError::BadUtf8 { what })
    }

    /// Like [`Reader::str`], for text shown to people (names, details): refuses any character
    /// [`crate::text::is_unsafe`] rejects, so a peer cannot drive the terminal or window showing it.
    pub fn display_str(&mut self, what: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        let text = self.str(what, max)?;
        match text
            .char_indices()
            .find(|&(_, c)| crate::text::is_unsafe(c))
        {
            None => Ok(text),
            Some((at, c)) => Err(DecodeError::UnsafeText {
                what,
                code: u32::from(c),
                at,
            }),
        }
    }
}

/// Appending writers matching [`Reader`].
pub trait WriteExt {
    fn put_u8(&mut self, v: u8);
    fn put_bool(&mut self, v: bool);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_i32(&mut self, v: i32);
    fn put_u64(&mut self, v: u64);
    /// A `u32` length then the bytes. Callers keep `v` within the limit the reader enforces.
    fn put_bytes(&mut self, v: &[u8]);
}

impl WriteExt for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_bool(&mut self, v: bool) {
        self.push(u8::from(v));
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_i32(&mut self, v: i32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_bytes(&mut self, v: &[u8]) {
        let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
        self.put_u32(len);
        self.extend_from_slice(v);
    }
}

/// Encoded size of a length-prefixed byte string.
pub const fn bytes_len(len: usize) -> usize {
    4 + len
}
