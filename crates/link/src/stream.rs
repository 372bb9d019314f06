//! Framed reading and sealed writing on quinn streams.

use quinn::{RecvStream, SendStream};
use tandem_proto::StreamKind;
use tandem_proto::framing::{FrameReader, write_frame};
use tandem_proto::seal::{Opener, Sealer};
use tandem_proto::wire::Message;

use crate::LinkError;

/// Largest single read from a stream.
const READ_CHUNK: usize = 256 * 1024;

/// Reassembles length-prefixed frames from a receive stream, refusing oversized ones.
pub struct FramedRecv {
    stream: RecvStream,
    reader: FrameReader,
    chunk: Vec<u8>,
}

impl FramedRecv {
    pub fn new(stream: RecvStream, max_frame: usize) -> Self {
        Self {
            stream,
            reader: FrameReader::new(max_frame),
            chunk: vec![0; READ_CHUNK],
        }
    }

    /// Reads the stream's leading kind byte and checks it.
    pub async fn expect_kind(&mut self, kind: StreamKind) -> Result<(), LinkError> {
        let mut tag = [0u8; 1];
        self.stream
            .read_exact(&mut tag)
            .await
            .map_err(|_| LinkError::Closed)?;
        if tag[0] != kind as u8 {
            return Err(LinkError::UnexpectedStream { got: tag[0] });
        }
        Ok(())
    }

    /// Calls `f` on the next whole frame; `Ok(None)` when the stream ended cleanly between frames.
    pub async fn next_with<T>(
        &mut self,
        f: impl FnOnce(&[u8]) -> Result<T, LinkError>,
    ) -> Result<Option<T>, LinkError> {
        loop {
            if let Some(frame) = self.reader.next_frame()? {
                return f(frame).map(Some);
            }
            let want = self.reader.wanted().min(self.chunk.len());
            match self.stream.read(&mut self.chunk[..want]).await? {
                Some(n) => self.reader.push(&self.chunk[..n]),
                None if self.reader.buffered() == 0 => return Ok(None),
                // Ended mid-frame: truncated.
                None => return Err(LinkError::Closed),
            }
        }
    }

    /// Next plaintext message (handshake only); a clean end here is an error.
    pub async fn next_plain<M: Message>(&mut self) -> Result<M, LinkError> {
        self.next_with(|frame| Ok(M::from_bytes(frame)?))
            .await?
            .ok_or(LinkError::Closed)
    }
}

/// Writes plaintext frames: only the handshake uses this.
pub struct PlainSend {
    stream: SendStream,
    buf: Vec<u8>,
}

impl PlainSend {
    pub fn new(stream: SendStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn write_kind(&mut self, kind: StreamKind) -> Result<(), LinkError> {
        self.stream.write_all(&[kind as u8]).await?;
        Ok(())
    }

    pub async fn send<M: Message>(&mut self, msg: &M) -> Result<(), LinkError> {
        self.buf.clear();
        write_frame(&msg.to_vec(), &mut self.buf);
        self.stream.write_all(&self.buf).await?;
        Ok(())
    }

    pub fn finish(&mut self) -> Result<(), LinkError> {
        self.stream.finish().map_err(|_| LinkError::Closed)
    }

    /// Waits until the other end has acknowledged everything written and the finish, or stopped the
    /// stream, or the connection is gone. Closing the connection before then discards what is still
    /// unsent.
    pub async fn delivered(&mut self) {
        let _ = self.stream.stopped().await;
    }

    pub fn into_inner(self) -> SendStream {
        self.stream
    }
}

/// Seals each message and writes it as one frame.
pub struct SealedSend {
    stream: SendStream,
    sealer: Sealer,
    buf: Vec<u8>,
}

impl SealedSend {
    pub fn new(stream: SendStream, sealer: Sealer) -> Self {
        Self {
            stream,
            sealer,
            buf: Vec::new(),
        }
    }

    pub async fn send<M: Message>(&mut self, msg: &M) -> Result<(), LinkError> {
        self.buf.clear();
        self.sealer.seal(msg, &mut self.buf)?;
        self.stream.write_all(&self.buf).await?;
        Ok(())
    }

    /// Ends the stream cleanly once what was written is delivered.
    pub fn finish(&mut self) {
        // Already finished or reset: nothing more to end.
        let _ = self.stream.finish();
    }
}

/// Reads frames and opens each as one sealed message.
pub struct SealedRecv {
    framed: FramedRecv,
    opener: Opener,
}

impl SealedRecv {
    pub fn new(framed: FramedRecv, opener: Opener) -> Self {
        Self { framed, opener }
    }

    /// The next message, or `Ok(None)` when the peer ended the stream cleanly.
    pub async fn next<M: Message>(&mut self) -> Result<Option<M>, LinkError> {
        let opener = &mut self.opener;
        self.framed
            .next_with(|frame| Ok(opener.open::<M>(frame)?))
            .await
    }
}
