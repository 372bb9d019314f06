//! Bodies of the cargo-fuzz targets in `fuzz/`, one per decoder of untrusted bytes. They live here so
//! the normal build type-checks them and unit tests run them; each target is a one-line call. Compiled
//! only with the `fuzzing` feature (and in tests).
//!
//! Every body must return normally on any input: a panic is a bug.

use crate::Direction;
use crate::StreamKind;
use crate::code::SessionCode;
use crate::framing::FrameReader;
use crate::handshake::{HandshakeMessage, HostHandshake, SessionKeys, ViewerHandshake};
use crate::relay::{RelayNotice, RelayRequest};
use crate::session::{Control, FrameMsg, Input};
use crate::wire::{DecodeError, Message, Reader};

/// Decodes `data` as one `M`; whatever decodes must re-encode to exactly `data`.
pub fn decode<M: Message>(data: &[u8]) {
    if let Ok(msg) = M::from_bytes(data) {
        assert_eq!(msg.encoded_len(), data.len(), "encoded_len disagrees");
        assert_eq!(msg.to_vec(), data, "non-canonical encoding accepted");
    }
}

pub fn relay_request(data: &[u8]) {
    decode::<RelayRequest>(data);
}

pub fn relay_notice(data: &[u8]) {
    decode::<RelayNotice>(data);
}

pub fn handshake_message(data: &[u8]) {
    decode::<HandshakeMessage>(data);
}

pub fn control(data: &[u8]) {
    decode::<Control>(data);
}

pub fn frame_msg(data: &[u8]) {
    decode::<FrameMsg>(data);
}

pub fn input(data: &[u8]) {
    decode::<Input>(data);
}

/// Pushes `data` into a [`FrameReader`] in chunks whose sizes come from the data itself.
pub fn frame_reader(data: &[u8]) {
    let Some((&max, mut rest)) = data.split_first() else {
        return;
    };
    let max_len = usize::from(max) * 4;
    let mut reader = FrameReader::new(max_len);
    while let Some((&chunk, tail)) = rest.split_first() {
        let take = usize::from(chunk % 64).min(tail.len());
        let (chunk, tail) = tail.split_at(take);
        rest = tail;
        reader.push(chunk);
        loop {
            assert!(reader.wanted() >= 1);
            match reader.next_frame() {
                Ok(Some(frame)) => assert!(frame.len() <= max_len),
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

/// Raw plaintext, so the fuzzer can seal arbitrary bytes and reach the decoders behind the AEAD.
struct Raw<'a>(&'a [u8]);

impl Message for Raw<'_> {
    fn encoded_len(&self) -> usize {
        self.0.len()
    }
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0);
    }
    fn decode(_: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Err(DecodeError::Invalid {
            what: "raw plaintext",
        })
    }
}

fn open_as<M: Message>(keys: &SessionKeys, kind: StreamKind, dir: Direction, data: &[u8]) {
    // As received: arbitrary bytes must fail authentication (forging Poly1305 is not expected).
    let mut opener = keys.opener(kind, dir);
    assert!(opener.open::<M>(data).is_err(), "forged record opened");
    // Sealed under the right key: opens, then the message decoder sees arbitrary plaintext.
    let mut sealer = keys.sealer(kind, dir);
    let mut frame = Vec::new();
    if sealer.seal(&Raw(data), &mut frame).is_ok() {
        let mut opener = keys.opener(kind, dir);
        match opener.open::<M>(&frame[crate::framing::LEN_PREFIX..]) {
            Ok(msg) => assert_eq!(msg.to_vec(), data),
            Err(crate::seal::OpenError::Decode(_)) => {}
            Err(e) => panic!("a record sealed under the right key failed to open: {e}"),
        }
    }
}

/// [`crate::seal::Opener::open`] with a fixed key. The first byte picks the stream's message type.
pub fn opener(data: &[u8]) {
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    let keys = SessionKeys::from_ikm_for_fuzzing(&[7; 32]);
    match which % 3 {
        0 => open_as::<Control>(&keys, StreamKind::Control, Direction::HostToViewer, data),
        1 => open_as::<FrameMsg>(&keys, StreamKind::Frames, Direction::HostToViewer, data),
        _ => open_as::<Input>(&keys, StreamKind::Input, Direction::ViewerToHost, data),
    }
}

/// Feeds framed, arbitrary handshake messages to both state machines: errors only, never a panic,
/// and never keys (the fuzzer does not know the code).
pub fn handshake(data: &[u8]) {
    let Ok(code) = SessionCode::parse("123 456 789") else {
        return;
    };
    let relay = [9; 32];
    let mut reader = FrameReader::new(1024);
    reader.push(data);
    let mut messages = Vec::new();
    while let Ok(Some(frame)) = reader.next_frame() {
        match HandshakeMessage::from_bytes(frame) {
            Ok(msg) => messages.push(msg),
            Err(_) => return,
        }
    }
    let mut messages = messages.into_iter();
    let mut host = HostHandshake::new(&code, &relay);
    if let Some(first) = messages.next() {
        let _ = host.on_viewer_hello(first.clone());
        if let Some(second) = messages.next() {
            assert!(host.on_viewer_confirm(second).is_err(), "host keyed");
        }
        let (viewer, _) = ViewerHandshake::start(&code, &relay);
        assert!(viewer.on_host_hello(first).is_err(), "viewer keyed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `control` and `opener` targets: a monitor index of "none" with a non-zero index
    /// byte decoded, and re-encoded differently (`SelectMonitor`, and `Monitors`' `selected`).
    #[test]
    fn fuzz_regression_no_monitor_with_a_nonzero_index_is_invalid() {
        let select = [15, 0, 177];
        let monitors = [14, 14, 93, 8, 0, 0, 0, 122];
        for bytes in [&select[..], &monitors[..]] {
            assert!(matches!(
                Control::from_bytes(bytes),
                Err(DecodeError::Invalid {
                    what: "monitor index"
                })
            ));
            control(bytes);
        }
        let mut sealed = vec![0];
        sealed.extend_from_slice(&monitors);
        opener(&sealed);
    }

    /// Runs every body on a small fixed corpus, so the targets are known to run, not only compile.
    #[test]
    fn fuzz_bodies_run_on_a_small_corpus() {
        let mut corpus: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![1, 0, 1],
            vec![255; 40],
            Control::hello("Alex").to_vec(),
            Control::Ack { seq: 9 }.to_vec(),
            Control::Monitors {
                width: 1600,
                height: 600,
                monitors: vec![crate::session::MonitorInfo::new(
                    "DP-1", 0, 0, 800, 600, true,
                )],
                selected: Some(0),
            }
            .to_vec(),
            Control::SelectMonitor { index: None }.to_vec(),
            Control::ShowScreen { on: true }.to_vec(),
            Control::ReleaseControl.to_vec(),
            Control::ViewerClipboard { on: false }.to_vec(),
            Input::Scroll { dx: -1, dy: 2 }.to_vec(),
            FrameMsg::CursorPosition {
                x: 1,
                y: 2,
                visible: true,
            }
            .to_vec(),
            RelayRequest::Register {
                version: 1,
                ttl_secs: 600,
            }
            .to_vec(),
            RelayRequest::Resume {
                version: 1,
                role: crate::relay::ResumeRole::Viewer,
                resume_id: [7; 32],
            }
            .to_vec(),
            RelayNotice::Paired.to_vec(),
        ];
        let mut hello = Vec::new();
        crate::framing::write_frame(
            &HandshakeMessage::ViewerHello {
                version: 1,
                pake: vec![0x42; 33],
            }
            .to_vec(),
            &mut hello,
        );
        corpus.push(hello);
        for data in &corpus {
            relay_request(data);
            relay_notice(data);
            handshake_message(data);
            control(data);
            frame_msg(data);
            input(data);
            frame_reader(data);
            handshake(data);
            for which in 0..3u8 {
                let mut with_selector = vec![which];
                with_selector.extend_from_slice(data);
                opener(&with_selector);
            }
        }
    }
}
