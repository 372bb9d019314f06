//! A whole session in memory through the public API only, as host and viewer run it: stream-kind
//! bytes, framing, the plaintext handshake, then sealed records, pipelined the way a real client
//! writes them. The "relay" is a byte buffer per stream direction that it may tamper with.

use tandem_proto::Direction;
use tandem_proto::StreamKind;
use tandem_proto::code::SessionCode;
use tandem_proto::framing::{FrameReader, write_frame};
use tandem_proto::handshake::{HandshakeMessage, HostHandshake, ViewerHandshake};
use tandem_proto::seal::OpenError;
use tandem_proto::session::{Control, EndReason, FrameMsg, Input, UpdateWindow};
use tandem_proto::wire::Message;

const RELAY_ID: [u8; 32] = [0x11; 32];

/// Reads the kind byte the opener wrote, then frames.
fn accept(stream: &[u8]) -> (StreamKind, FrameReader) {
    let kind = StreamKind::from_u8(stream[0]).expect("kind byte");
    let mut reader = FrameReader::new(kind.max_frame_len());
    reader.push(&stream[1..]);
    (kind, reader)
}

#[test]
fn a_whole_session_in_memory() {
    let code = SessionCode::parse("482 193 715").expect("code");

    // Viewer opens the control stream: kind byte, then ViewerHello.
    let (viewer_hs, hello) = ViewerHandshake::start(&code, &RELAY_ID);
    let mut control_v2h = vec![StreamKind::Control as u8];
    write_frame(&hello.to_vec(), &mut control_v2h);

    // Host accepts it and answers on the same (bidirectional) stream, which has no kind byte that way.
    let (kind, mut host_control) = accept(&control_v2h);
    assert_eq!(kind, StreamKind::Control);
    let mut host_hs = HostHandshake::new(&code, &RELAY_ID);
    let frame = host_control.next_frame().expect("ok").expect("hello");
    let reply = host_hs
        .on_viewer_hello(HandshakeMessage::from_bytes(frame).expect("decodes"))
        .expect("host hello");
    let mut control_h2v = Vec::new();
    write_frame(&reply.to_vec(), &mut control_h2v);

    // Viewer finishes and pipelines its confirm and its first sealed record in one write.
    let mut viewer_control = FrameReader::new(StreamKind::Control.max_frame_len());
    viewer_control.push(&control_h2v);
    let frame = viewer_control.next_frame().expect("ok").expect("reply");
    let (confirm, viewer_keys) = viewer_hs
        .on_host_hello(HandshakeMessage::from_bytes(frame).expect("decodes"))
        .expect("viewer keys");
    let mut viewer_seal = viewer_keys.sealer(StreamKind::Control, Direction::ViewerToHost);
    let mut viewer_open = viewer_keys.opener(StreamKind::Control, Direction::HostToViewer);
    let mut write = Vec::new();
    write_frame(&confirm.to_vec(), &mut write);
    viewer_seal
        .seal(&Control::hello("Alex from support"), &mut write)
        .expect("seal");

    // Host: the confirm, then sealed records from the same frame reader.
    host_control.push(&write);
    let frame = host_control.next_frame().expect("ok").expect("confirm");
    let host_keys = host_hs
        .on_viewer_confirm(HandshakeMessage::from_bytes(frame).expect("decodes"))
        .expect("host keys");
    assert_eq!(host_keys.verifier(), viewer_keys.verifier());
    let mut host_open = host_keys.opener(StreamKind::Control, Direction::ViewerToHost);
    let mut host_seal = host_keys.sealer(StreamKind::Control, Direction::HostToViewer);
    let frame = host_control.next_frame().expect("ok").expect("hello");
    assert_eq!(
        host_open.open::<Control>(frame),
        Ok(Control::hello("Alex from support"))
    );

    // Consent, then the frames stream with flow control.
    let mut out = Vec::new();
    host_seal
        .seal(
            &Control::Permissions {
                view: true,
                control: true,
                clipboard: true,
            },
            &mut out,
        )
        .expect("seal");
    viewer_control.push(&out);
    let frame = viewer_control
        .next_frame()
        .expect("ok")
        .expect("permissions");
    assert_eq!(
        viewer_open.open::<Control>(frame),
        Ok(Control::Permissions {
            view: true,
            control: true,
            clipboard: true
        })
    );

    let mut window = UpdateWindow::default();
    let mut frames = vec![StreamKind::Frames as u8];
    let mut frames_seal = host_keys.sealer(StreamKind::Frames, Direction::HostToViewer);
    while let Some(seq) = window.next_seq() {
        frames_seal
            .seal(
                &FrameMsg::Update {
                    seq,
                    payload: vec![seq as u8; 100],
                },
                &mut frames,
            )
            .expect("seal");
    }
    let (kind, mut viewer_frames) = accept(&frames);
    assert_eq!(kind, StreamKind::Frames);
    let mut frames_open = viewer_keys.opener(StreamKind::Frames, Direction::HostToViewer);
    let mut acks = Vec::new();
    while let Some(frame) = viewer_frames.next_frame().expect("ok") {
        let FrameMsg::Update { seq, .. } = frames_open.open(frame).expect("update") else {
            panic!("an update");
        };
        viewer_seal
            .seal(&Control::Ack { seq }, &mut acks)
            .expect("seal");
    }
    host_control.push(&acks);
    while let Some(frame) = host_control.next_frame().expect("ok") {
        let Control::Ack { seq } = host_open.open(frame).expect("ack") else {
            panic!("an ack");
        };
        window.on_ack(seq).expect("sent");
    }
    assert_eq!(window.unacked(), 0);

    // Input, viewer -> host.
    let mut input = vec![StreamKind::Input as u8];
    let mut input_seal = viewer_keys.sealer(StreamKind::Input, Direction::ViewerToHost);
    for msg in Input::text_chunks("hello") {
        input_seal.seal(&msg, &mut input).expect("seal");
    }
    let (_, mut host_input) = accept(&input);
    let mut input_open = host_keys.opener(StreamKind::Input, Direction::ViewerToHost);
    let frame = host_input.next_frame().expect("ok").expect("text");
    assert_eq!(
        input_open.open::<Input>(frame),
        Ok(Input::Text {
            text: "hello".into()
        })
    );

    // A relay that flips one byte of a forwarded record is caught. (A real client ends the session at
    // any OpenError; the opener does not advance past the forgery, so the genuine record still opens.)
    let mut out = Vec::new();
    host_seal
        .seal(&Control::end(EndReason::HostEnded, "bye"), &mut out)
        .expect("seal");
    let mut tampered = out.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x80;
    assert_eq!(
        viewer_open.open::<Control>(&tampered[4..]),
        Err(OpenError::Forged)
    );
    assert_eq!(
        viewer_open.open::<Control>(&out[4..]),
        Ok(Control::end(EndReason::HostEnded, "bye"))
    );
}
