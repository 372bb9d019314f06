//! Message framing on a byte stream: a big-endian `u32` length, then that many bytes. Sans-IO: the
//! caller pushes the bytes it read and pops whole frames.

use thiserror::Error;

/// Bytes of the length prefix.
pub const LEN_PREFIX: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FramingError {
    #[error("frame of {len} bytes is over the limit of {max} for this stream")]
    FrameTooLarge { len: usize, max: usize },
}

/// Appends one frame holding `body` to `out`.
pub fn write_frame(body: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
}

/// Writes a frame header for a body of `len` bytes that the caller appends next.
pub fn write_frame_header(len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(&(len as u32).to_be_bytes());
}

/// Reassembles frames from stream bytes, refusing any frame over `max_len` before buffering it.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
    max_len: usize,
}

impl FrameReader {
    pub fn new(max_len: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            max_len,
        }
    }

    /// Bytes buffered but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Pops the next complete frame body, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        let pending = &self.buf[self.start..];
        let Some(prefix) = pending.first_chunk::<LEN_PREFIX>() else {
            self.compact();
            return Ok(None);
        };
        let len = u32::from_be_bytes(*prefix) as usize;
        if len > self.max_len {
            return Err(FramingError::FrameTooLarge {
                len,
                max: self.max_len,
            });
        }
        if pending.len() < LEN_PREFIX + len {
            self.compact();
            return Ok(None);
        }
        let body_start = self.start + LEN_PREFIX;
        self.start = body_start + len;
        Ok(Some(&self.buf[body_start..body_start + len]))
    }

    /// How many more bytes the frame being assembled needs (at least 1), for sizing reads.
    pub fn wanted(&self) -> usize {
        let pending = &self.buf[self.start..];
        match pending.first_chunk::<LEN_PREFIX>() {
            None => LEN_PREFIX - pending.len(),
            Some(prefix) => {
                let len = u32::from_be_bytes(*prefix) as usize;
                (LEN_PREFIX + len).saturating_sub(pending.len()).max(1)
            }
        }
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassembles_frames_split_anywhere() {
        let mut stream = Vec::new();
        write_frame(b"hello", &mut stream);
        write_frame(b"", &mut stream);
        write_frame(&[7u8; 300], &mut stream);
        for split in 0..stream.len() {
            let mut reader = FrameReader::new(1024);
            let mut got = Vec::new();
            for chunk in [&stream[..split], &stream[split..]] {
                reader.push(chunk);
                while let Some(frame) = reader.next_frame().expect("within limit") {
                    got.push(frame.to_vec());
                }
            }
            assert_eq!(got, vec![b"hello".to_vec(), Vec::new(), vec![7u8; 300]]);
            assert_eq!(reader.buffered(), 0);
        }
    }

    #[test]
    fn refuses_oversized_frame_from_its_header() {
        let mut reader = FrameReader::new(10);
        reader.push(&11u32.to_be_bytes());
        assert_eq!(
            reader.next_frame(),
            Err(FramingError::FrameTooLarge { len: 11, max: 10 })
        );
    }
}
