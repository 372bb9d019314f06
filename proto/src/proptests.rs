//! Property tests for every wire message in the crate: round trips with exact `encoded_len`, canonical
//! encodings, and decoders that never panic on arbitrary bytes.

use proptest::collection::vec;
use proptest::prelude::*;

use crate::Direction;
use crate::StreamKind;
use crate::bulk::{Bulk, ClipFormat};
use crate::code::RoutingCode;
use crate::framing::{FrameReader, write_frame};
use crate::handshake::{FailReason, HandshakeMessage};
use crate::limits::{
    MAX_BULK_CHUNK, MAX_CHAT_LEN, MAX_CURSOR_SIDE, MAX_DETAIL_LEN, MAX_INPUT_TEXT_LEN,
    MAX_MONITOR_NAME_LEN, MAX_MONITORS, MAX_NAME_LEN, MAX_OFFER_NAME_LEN, MAX_PAKE_LEN,
};
use crate::relay::{RefusalReason, RelayNotice, RelayRequest};
use crate::session::{
    Control, EndReason, FileEntry, FrameMsg, HostStats, Input, MonitorInfo, MouseButton,
};
use crate::text::{for_display, is_unsafe};
use crate::wire::{DecodeError, Message};

/// Any Unicode text of at most `max_bytes` bytes: mostly short, sometimes exactly at the limit.
fn text(max_bytes: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => vec(any::<char>(), 0..=(max_bytes / 4).min(64)).prop_map(String::from_iter),
        1 => Just("x".repeat(max_bytes)),
        1 => Just(String::new()),
    ]
}

/// Like [`text`], without the characters display text refuses ([`crate::text::is_unsafe`]).
fn display_text(max_bytes: usize) -> impl Strategy<Value = String> {
    text(max_bytes).prop_map(|t| t.chars().filter(|&c| !is_unsafe(c)).collect())
}

/// A character display text refuses: C0, DEL, C1, separators, bidi overrides and isolates.
fn unsafe_char() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).expect("C0")),
        (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).expect("DEL, C1")),
        (0x2028u32..=0x202e).prop_map(|c| char::from_u32(c).expect("separators, bidi")),
        (0x2066u32..=0x2069).prop_map(|c| char::from_u32(c).expect("bidi isolates")),
    ]
}

/// Clean display text with one unsafe character inserted somewhere, within `max_bytes`.
fn text_with_unsafe_char(max_bytes: usize) -> impl Strategy<Value = String> {
    (
        display_text(max_bytes - 3),
        unsafe_char(),
        any::<prop::sample::Index>(),
    )
        .prop_map(move |(clean, bad, at)| {
            let mut text = clean;
            while text.len() + bad.len_utf8() > max_bytes {
                text.pop();
            }
            let boundaries: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            text.insert(boundaries[at.index(boundaries.len())], bad);
            text
        })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max.min(512))
}

fn routing() -> impl Strategy<Value = RoutingCode> {
    "[0-9]{3,6}".prop_map(|digits| RoutingCode::new(&digits).expect("3 to 6 digits"))
}

fn refusal_reason() -> impl Strategy<Value = RefusalReason> {
    prop_oneof![
        Just(RefusalReason::UnknownCode),
        Just(RefusalReason::RateLimited),
        Just(RefusalReason::UnsupportedVersion),
        Just(RefusalReason::Full),
        Just(RefusalReason::BadRequest),
    ]
}

fn relay_request() -> impl Strategy<Value = RelayRequest> {
    prop_oneof![
        (any::<u16>(), any::<u32>())
            .prop_map(|(version, ttl_secs)| RelayRequest::Register { version, ttl_secs }),
        (any::<u16>(), routing())
            .prop_map(|(version, routing)| RelayRequest::Join { version, routing }),
        (any::<u16>(), any::<bool>(), any::<[u8; 32]>()).prop_map(|(version, host, resume_id)| {
            RelayRequest::Resume {
                version,
                role: if host {
                    crate::relay::ResumeRole::Host
                } else {
                    crate::relay::ResumeRole::Viewer
                },
                resume_id,
            }
        }),
    ]
}

fn relay_notice() -> impl Strategy<Value = RelayNotice> {
    prop_oneof![
        (routing(), any::<u32>())
            .prop_map(|(routing, ttl_secs)| RelayNotice::Registered { routing, ttl_secs }),
        Just(RelayNotice::Paired),
        (refusal_reason(), display_text(MAX_DETAIL_LEN))
            .prop_map(|(reason, detail)| RelayNotice::Refused { reason, detail }),
        Just(RelayNotice::PeerLeft),
        Just(RelayNotice::Expired),
    ]
}

fn handshake_message() -> impl Strategy<Value = HandshakeMessage> {
    prop_oneof![
        (any::<u16>(), bytes(MAX_PAKE_LEN))
            .prop_map(|(version, pake)| HandshakeMessage::ViewerHello { version, pake }),
        (any::<u16>(), bytes(MAX_PAKE_LEN), any::<[u8; 32]>()).prop_map(
            |(version, pake, confirm)| HandshakeMessage::HostHello {
                version,
                pake,
                confirm
            }
        ),
        any::<[u8; 32]>().prop_map(|confirm| HandshakeMessage::ViewerConfirm { confirm }),
        prop::sample::select(FailReason::ALL.to_vec())
            .prop_map(|reason| HandshakeMessage::Failed { reason }),
    ]
}

fn control() -> impl Strategy<Value = Control> {
    prop_oneof![
        display_text(MAX_NAME_LEN).prop_map(|technician| Control::Hello { technician }),
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(view, control, clipboard)| {
            Control::Permissions {
                view,
                control,
                clipboard,
            }
        }),
        Just(Control::RequestControl),
        Just(Control::ReleaseControl),
        any::<bool>().prop_map(|on| Control::ViewerClipboard { on }),
        any::<u64>().prop_map(|seq| Control::Ack { seq }),
        Just(Control::RequestKeyframe),
        display_text(MAX_CHAT_LEN).prop_map(|text| Control::Chat { text }),
        (
            any::<u32>(),
            text(MAX_OFFER_NAME_LEN),
            prop::collection::vec(
                (text(64), any::<u64>(), any::<[u8; 16]>())
                    .prop_map(|(path, size, key)| FileEntry { path, size, key }),
                0..8
            )
        )
            .prop_map(|(id, name, entries)| Control::FileOffer { id, name, entries }),
        (
            any::<u32>(),
            any::<bool>(),
            prop::collection::vec(any::<u64>(), 0..8)
        )
            .prop_map(|(id, accept, resume_from)| Control::FileAnswer {
                id,
                accept,
                resume_from
            }),
        (any::<u32>(), any::<bool>(), display_text(MAX_DETAIL_LEN)).prop_map(
            |(id, sender_side, detail)| Control::FileCancel {
                id,
                sender_side,
                detail
            }
        ),
        any::<u32>().prop_map(|id| Control::FileReceived { id }),
        Just(Control::RequestDiagnostics),
        (1u8..=5, display_text(1024))
            .prop_map(|(rating, comment)| Control::Feedback { rating, comment }),
        prop::option::of(text(256)).prop_map(|snapshot| Control::Diagnostics { snapshot }),
        monitors(),
        prop::option::of(0..MAX_MONITORS as u8).prop_map(|index| Control::SelectMonitor { index }),
        any::<bool>().prop_map(|on| Control::ShowScreen { on }),
        any::<bool>().prop_map(|on| Control::Recording { on }),
        Just(Control::Finish),
        (
            prop::sample::select(EndReason::ALL.to_vec()),
            display_text(MAX_DETAIL_LEN)
        )
            .prop_map(|(reason, detail)| Control::End { reason, detail }),
    ]
}

/// A `Monitors` list of 0..=MAX_MONITORS entries, the selection always one of them (or none).
fn monitors() -> impl Strategy<Value = Control> {
    let monitor = (
        display_text(MAX_MONITOR_NAME_LEN),
        any::<i16>(),
        any::<i16>(),
        any::<u16>(),
        any::<u16>(),
        any::<bool>(),
    )
        .prop_map(|(name, x, y, width, height, primary)| MonitorInfo {
            name,
            x,
            y,
            width,
            height,
            primary,
        });
    (
        any::<u16>(),
        any::<u16>(),
        vec(monitor, 0..=MAX_MONITORS),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(width, height, monitors, index, whole)| {
            let selected =
                (!whole && !monitors.is_empty()).then(|| index.index(monitors.len()) as u8);
            Control::Monitors {
                width,
                height,
                monitors,
                selected,
            }
        })
}

fn cursor_side() -> impl Strategy<Value = u16> {
    let max = MAX_CURSOR_SIDE as u16;
    prop_oneof![8 => 0..=32u16, 1 => Just(max), 1 => 0..=max]
}

fn frame_msg() -> impl Strategy<Value = FrameMsg> {
    prop_oneof![
        (any::<u64>(), bytes(usize::MAX))
            .prop_map(|(seq, payload)| FrameMsg::Update { seq, payload }),
        (any::<i32>(), any::<i32>(), any::<bool>())
            .prop_map(|(x, y, visible)| FrameMsg::CursorPosition { x, y, visible }),
        (
            cursor_side(),
            cursor_side(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>()
        )
            .prop_map(|(width, height, hot_x, hot_y, seed)| {
                let len = usize::from(width) * usize::from(height) * 4;
                let rgba = (0..len).map(|i| (i as u8).wrapping_mul(seed)).collect();
                FrameMsg::CursorShape {
                    width,
                    height,
                    hot_x,
                    hot_y,
                    rgba,
                }
            }),
        (any::<u32>(), 0..=HostStats::MAX_PERMILLE, any::<u32>()).prop_map(
            |(encode_us, lossy_permille, rtt_us)| FrameMsg::Stats(HostStats {
                encode_us,
                lossy_permille,
                rtt_us,
            })
        ),
    ]
}

fn mouse_button() -> impl Strategy<Value = MouseButton> {
    prop::sample::select(MouseButton::ALL.to_vec())
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        (any::<u32>(), any::<u32>()).prop_map(|(x, y)| Input::PointerMove { x, y }),
        (mouse_button(), any::<bool>())
            .prop_map(|(button, pressed)| Input::Button { button, pressed }),
        (any::<i32>(), any::<i32>()).prop_map(|(dx, dy)| Input::Scroll { dx, dy }),
        (any::<u32>(), any::<u32>(), any::<bool>()).prop_map(|(keysym, physical, pressed)| {
            Input::Key {
                keysym,
                physical,
                pressed,
            }
        }),
        text(MAX_INPUT_TEXT_LEN).prop_map(|text| Input::Text { text }),
    ]
}

fn bulk() -> impl Strategy<Value = Bulk> {
    prop_oneof![
        (
            any::<u32>(),
            prop::sample::select(vec![ClipFormat::Text, ClipFormat::Png]),
            any::<u32>(),
            any::<u32>(),
            bytes(MAX_BULK_CHUNK)
        )
            .prop_map(
                |(serial, format, total, offset, data)| Bulk::ClipboardPart {
                    serial,
                    format,
                    total,
                    offset,
                    data
                }
            ),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
            bytes(MAX_BULK_CHUNK)
        )
            .prop_map(|(id, entry, offset, data)| Bulk::FileData {
                id,
                entry,
                offset,
                data
            }),
        (any::<u32>(), any::<u32>(), any::<[u8; 32]>())
            .prop_map(|(id, entry, blake3)| Bulk::FileEntryEnd { id, entry, blake3 }),
    ]
}

/// `from_bytes(to_vec(m)) == m` and `encoded_len() == to_vec().len()`.
fn round_trip<M: Message + PartialEq + std::fmt::Debug>(msg: &M) -> Result<(), TestCaseError> {
    let bytes = msg.to_vec();
    prop_assert_eq!(msg.encoded_len(), bytes.len());
    prop_assert_eq!(
        &M::from_bytes(&bytes).expect("decodes its own encoding"),
        msg
    );
    // write_to appends.
    let mut out = vec![0xEE; 3];
    msg.write_to(&mut out);
    prop_assert_eq!(&out[3..], &bytes[..]);
    Ok(())
}

/// Decoding arbitrary bytes returns, never panics; whatever decodes re-encodes to the same bytes.
fn decodes_safely<M: Message + std::fmt::Debug>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(msg) = M::from_bytes(bytes) {
        prop_assert_eq!(msg.to_vec(), bytes, "non-canonical encoding accepted");
    }
    Ok(())
}

/// Arbitrary bytes, often starting with a valid tag so decoding goes past the first byte.
fn hostile() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..256),
        (0u8..18, vec(any::<u8>(), 0..256)).prop_map(|(tag, mut rest)| {
            rest.insert(0, tag);
            rest
        }),
        // Tag then a small length prefix, to reach the variable-length fields.
        (
            0u8..18,
            vec(any::<u8>(), 0..6),
            0u8..40,
            vec(any::<u8>(), 0..64)
        )
            .prop_map(|(tag, head, len, tail)| {
                let mut out = vec![tag];
                out.extend(head);
                out.extend([0, 0, 0, len]);
                out.extend(tail);
                out
            }),
    ]
}

proptest! {
    #[test]
    fn relay_request_round_trips(msg in relay_request()) { round_trip(&msg)?; }
    #[test]
    fn relay_notice_round_trips(msg in relay_notice()) { round_trip(&msg)?; }
    #[test]
    fn handshake_message_round_trips(msg in handshake_message()) { round_trip(&msg)?; }
    #[test]
    fn control_round_trips(msg in control()) { round_trip(&msg)?; }
    #[test]
    fn frame_msg_round_trips(msg in frame_msg()) { round_trip(&msg)?; }
    #[test]
    fn input_round_trips(msg in input()) { round_trip(&msg)?; }
    #[test]
    fn bulk_round_trips(msg in bulk()) { round_trip(&msg)?; }

    #[test]
    fn relay_request_decodes_arbitrary_bytes(bytes in hostile()) { decodes_safely::<RelayRequest>(&bytes)?; }
    #[test]
    fn relay_notice_decodes_arbitrary_bytes(bytes in hostile()) { decodes_safely::<RelayNotice>(&bytes)?; }
    #[test]
    fn handshake_message_decodes_arbitrary_bytes(bytes in hostile()) { decodes_safely::<HandshakeMessage>(&bytes)?; }
    #[test]
    fn control_decodes_arbitrary_bytes(bytes in hostile()) { decodes_safely::<Control>(&bytes)?; }
    #[test]
    fn frame_msg_decodes_arbitrary_bytes(bytes in hostile()) { decodes_safely::<FrameMsg>(&bytes)?; }
    #[test]
    fn input_decodes_arbitrary_bytes(bytes in hostile()) { decodes_safely::<Input>(&bytes)?; }
    #[test]
    fn bulk_decodes_arbitrary_bytes(bytes in hostile()) { decodes_safely::<Bulk>(&bytes)?; }

    /// Issue 7: an unsafe character anywhere in a name, End detail or refusal detail is refused.
    #[test]
    fn display_fields_refuse_unsafe_characters(
        name in text_with_unsafe_char(MAX_NAME_LEN),
        detail in text_with_unsafe_char(MAX_DETAIL_LEN),
        reason in prop::sample::select(EndReason::ALL.to_vec()),
        refusal in refusal_reason(),
    ) {
        let hello = Control::from_bytes(&Control::Hello { technician: name }.to_vec());
        prop_assert!(matches!(hello, Err(DecodeError::UnsafeText { what: "technician name", .. })), "{:?}", hello);
        let end = Control::from_bytes(&Control::End { reason, detail: detail.clone() }.to_vec());
        prop_assert!(matches!(end, Err(DecodeError::UnsafeText { what: "end detail", .. })), "{:?}", end);
        let refused = RelayNotice::Refused { reason: refusal, detail };
        let refused = RelayNotice::from_bytes(&refused.to_vec());
        prop_assert!(matches!(refused, Err(DecodeError::UnsafeText { what: "refusal detail", .. })), "{:?}", refused);
    }

    /// Whatever text our side is given, `Control::hello` and `Control::end` build a message the peer
    /// decodes.
    #[test]
    fn constructors_always_decode(name in text(4 * MAX_NAME_LEN), detail in text(2 * MAX_DETAIL_LEN)) {
        for msg in [Control::hello(name), Control::end(EndReason::ProtocolError, detail)] {
            prop_assert_eq!(Control::from_bytes(&msg.to_vec()), Ok(msg));
        }
    }

    /// `for_display` leaves no unsafe character, and changes clean text not at all.
    #[test]
    fn for_display_escapes_every_unsafe_character(raw in text(256), clean in display_text(256)) {
        prop_assert!(!for_display(&raw).chars().any(is_unsafe));
        prop_assert_eq!(for_display(&clean), clean.as_str());
    }

    /// Truncating a valid encoding anywhere is an error, never a panic or a shorter message.
    #[test]
    fn truncated_encodings_are_errors(msg in control(), cut in any::<prop::sample::Index>()) {
        let bytes = msg.to_vec();
        let cut = cut.index(bytes.len());
        prop_assert!(Control::from_bytes(&bytes[..cut]).is_err());
    }

    /// Frames survive any split of the stream; arbitrary bytes never panic the reader.
    #[test]
    fn frame_reader_reassembles_any_split(
        bodies in vec(bytes(300), 0..8),
        splits in vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut stream = Vec::new();
        for body in &bodies {
            write_frame(body, &mut stream);
        }
        let mut cuts: Vec<usize> = splits.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.push(0);
        cuts.push(stream.len());
        cuts.sort_unstable();
        let mut reader = FrameReader::new(300);
        let mut got = Vec::new();
        for pair in cuts.windows(2) {
            reader.push(&stream[pair[0]..pair[1]]);
            while let Some(frame) = reader.next_frame().expect("within limit") {
                got.push(frame.to_vec());
            }
        }
        prop_assert_eq!(got, bodies);
        prop_assert_eq!(reader.buffered(), 0);
    }

    #[test]
    fn frame_reader_survives_arbitrary_bytes(chunks in vec(vec(any::<u8>(), 0..64), 0..8)) {
        let mut reader = FrameReader::new(100);
        for chunk in &chunks {
            reader.push(chunk);
            loop {
                prop_assert!(reader.wanted() >= 1);
                match reader.next_frame() {
                    Ok(Some(frame)) => prop_assert!(frame.len() <= 100),
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }

    /// Sealed sequences of messages open in order on the matching stream and direction.
    #[test]
    fn sealed_records_round_trip(
        msgs in vec(control(), 1..6),
        inputs in vec(input(), 0..6),
        frames in vec(frame_msg(), 0..4),
    ) {
        let (host, viewer) = crate::handshake::tests::keys();
        let mut stream = Vec::new();
        let mut sealer = host.sealer(StreamKind::Control, Direction::HostToViewer);
        for m in &msgs {
            sealer.seal(m, &mut stream).expect("seal");
        }
        let mut reader = FrameReader::new(StreamKind::Control.max_frame_len());
        reader.push(&stream);
        let mut opener = viewer.opener(StreamKind::Control, Direction::HostToViewer);
        for m in &msgs {
            let frame = reader.next_frame().expect("ok").expect("frame");
            prop_assert_eq!(&opener.open::<Control>(frame).expect("opens"), m);
        }

        let mut sealer = viewer.sealer(StreamKind::Input, Direction::ViewerToHost);
        let mut opener = host.opener(StreamKind::Input, Direction::ViewerToHost);
        for m in &inputs {
            let mut out = Vec::new();
            sealer.seal(m, &mut out).expect("seal");
            prop_assert_eq!(&opener.open::<Input>(&out[4..]).expect("opens"), m);
        }

        let mut sealer = host.sealer(StreamKind::Frames, Direction::HostToViewer);
        let mut opener = viewer.opener(StreamKind::Frames, Direction::HostToViewer);
        for m in &frames {
            let mut out = Vec::new();
            sealer.seal(m, &mut out).expect("seal");
            prop_assert_eq!(&opener.open::<FrameMsg>(&out[4..]).expect("opens"), m);
        }
    }

    /// Arbitrary frames never open (and never panic) under a session's keys.
    #[test]
    fn arbitrary_frames_never_open(frames in vec(vec(any::<u8>(), 0..128), 1..4)) {
        let (_, viewer) = crate::handshake::tests::keys();
        let mut opener = viewer.opener(StreamKind::Control, Direction::HostToViewer);
        for frame in &frames {
            prop_assert!(opener.open::<Control>(frame).is_err());
        }
    }
}

proptest! {
    /// The fuzz target bodies return normally on arbitrary input.
    #[test]
    fn fuzz_bodies_never_panic(data in hostile()) {
        crate::fuzz::relay_request(&data);
        crate::fuzz::relay_notice(&data);
        crate::fuzz::handshake_message(&data);
        crate::fuzz::control(&data);
        crate::fuzz::frame_msg(&data);
        crate::fuzz::input(&data);
        crate::fuzz::frame_reader(&data);
        crate::fuzz::opener(&data);
        crate::fuzz::handshake(&data);
    }
}
