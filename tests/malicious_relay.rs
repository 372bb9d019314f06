//! A malicious relay can neither read nor hijack a session.
//!
//! The relay runs in this process with a forwarding tap (tandem-relay's `tap` feature) that sees every
//! byte it forwards between the clients, which are the real `tandem share` and `tandem join`
//! processes. One test records a whole session carrying known plaintext and finds none of it; the
//! other substitutes the relay's own SPAKE2 message for the viewer's and checks that both ends refuse
//! the session with the wrong-code error, and that the relay still serves the next session.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::*;
use tandem_codec::{Encoder, EncoderConfig, FrameRef};
use tandem_proto::StreamKind;
use tandem_proto::code::SessionCode;
use tandem_proto::framing::write_frame;
use tandem_proto::handshake::{HandshakeMessage, ViewerHandshake};
use tandem_proto::session::{FrameMsg, Input};
use tandem_proto::wire::Message;
use tandem_relay::{ForwardTap, Relay, RelayConfig, TapDirection};
use tandem_xvfb::VirtualDisplay;
use tokio_util::sync::CancellationToken;

const TECHNICIAN: &str = "Mallory-Test-Technician";
/// Typed through the viewer window into an xterm on the host. Lower case and digits only, so
/// xdotool needs no modifiers.
const TYPED: &str = "tapped secret 4711 qzx";
/// What the xterm on the host shows, so the screen has text of its own.
const SCREEN_TEXT: &str = "MALLORY-SCREEN-MARKER";
/// The length of the pieces of the host's first frame searched for in the recording.
const WINDOW: usize = 32;
/// What both ends must report after a substituted handshake.
const WRONG_CODE: &str = "the code was wrong or already used";

/// A relay served on a tokio runtime inside the test, on 127.0.0.1 with an ephemeral port.
struct InProcessRelay {
    addr: String,
    fingerprint: tandem_relay::Fingerprint,
    shutdown: CancellationToken,
    // Dropped after `shutdown` is cancelled (see Drop), which ends the serving task.
    _runtime: tokio::runtime::Runtime,
    _dir: TempDir,
}

impl InProcessRelay {
    fn start(tap: Arc<dyn ForwardTap>) -> InProcessRelay {
        let dir = TempDir::new("mitm-relay");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-relay")
            .enable_all()
            .build()
            .unwrap();
        let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        config.tap = Some(tap);
        let relay = runtime.block_on(Relay::bind(config)).expect("relay binds");
        let addr = relay.local_addr().to_string();
        let fingerprint = relay.fingerprint();
        let shutdown = CancellationToken::new();
        runtime.spawn(relay.run(shutdown.clone()));
        InProcessRelay {
            addr,
            fingerprint,
            shutdown,
            _runtime: runtime,
            _dir: dir,
        }
    }
}

impl RelayFlags for InProcessRelay {
    fn flags(&self) -> Vec<String> {
        vec![
            "--relay".into(),
            self.addr.clone(),
            "--fingerprint".into(),
            self.fingerprint.to_string(),
        ]
    }
}

impl Drop for InProcessRelay {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Records every forwarded chunk, per direction and stream, and forwards it unchanged.
#[derive(Debug, Default)]
struct Recorder {
    streams: Mutex<HashMap<(TapDirection, u64), Vec<u8>>>,
}

impl ForwardTap for Recorder {
    fn on_chunk(&self, direction: TapDirection, stream: u64, bytes: &mut Vec<u8>) {
        self.streams
            .lock()
            .unwrap()
            .entry((direction, stream))
            .or_default()
            .extend_from_slice(bytes);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether any `WINDOW`-byte piece of `plain` occurs anywhere in `haystack`.
struct Pieces<'a>(HashSet<&'a [u8]>);

impl<'a> Pieces<'a> {
    fn of(plain: &'a [u8]) -> Self {
        Pieces(plain.windows(WINDOW).collect())
    }

    fn found_in(&self, haystack: &[u8]) -> bool {
        haystack.windows(WINDOW).any(|w| self.0.contains(w))
    }
}

/// What the host sends as its first update of a still screen: a keyframe of the screen, from a fresh
/// encoder configured as `tandem share` configures it by default.
fn first_update_payload(width: u32, height: u32, bgrx: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    Encoder::new(EncoderConfig::default())
        .encode(
            FrameRef {
                width,
                height,
                stride: width as usize * 4,
                data: bgrx,
            },
            &mut payload,
        )
        .unwrap();
    payload
}

/// Starts an xterm filling most of `display` that shows `SCREEN_TEXT` and random text, then writes
/// the first line typed into it to `typed_file`, and gives it the keyboard focus. Returns once the
/// screen has stopped changing.
fn start_xterm(display: &mut VirtualDisplay, typed_file: &Path) {
    // Random text fills the screen, so its keyframe is large and has many distinct pieces.
    let script = format!(
        "echo {SCREEN_TEXT}; head -c 9000 /dev/urandom | base64 -w 160 | head -n 52; \
         : > {ready}; read line; printf '%s' \"$line\" > {typed}; exec sleep 600",
        ready = typed_file.with_extension("ready").display(),
        typed = typed_file.display()
    );
    display
        .spawn(
            "xterm",
            [
                "-title",
                "mitm-xterm",
                "-geometry",
                "166x56+0+0",
                "-e",
                "sh",
                "-c",
                &script,
            ],
        )
        .unwrap();
    let name = display.name().to_owned();
    let xterm = wait_for_window(&name, "mitm-xterm");
    // The user's xterm has the keyboard focus (no window manager runs there); set before the screen
    // is taken as still, since xterm redraws its cursor on focus.
    xdotool(&name, &["windowfocus", "--sync", &xterm]);
    wait_until("the xterm's text to be written", STEP, || {
        typed_file.with_extension("ready").exists().then_some(())
    });
    // Then the screen is drawn when two grabs in a row agree.
    let mut last = None;
    wait_until("the host display to hold still", STEP, || {
        let (_, _, grab) = grab_root(&name);
        let still = last.as_ref() == Some(&grab);
        last = Some(grab);
        still.then_some(())
    });
}

#[test]
fn recording_every_forwarded_byte_reveals_no_plaintext() {
    let work = TempDir::new("mitm-record");
    let mut display_a = VirtualDisplay::start(1024, 768).expect("Xvfb for the host");
    let display_b = VirtualDisplay::start(1400, 900).expect("Xvfb for the viewer");
    let (a, b) = (display_a.name().to_owned(), display_b.name().to_owned());
    let typed_file = work.path().join("typed.txt");
    start_xterm(&mut display_a, &typed_file);

    // The screen the host will capture first, and the keyframe it will send of it.
    let (width, height, screen) = grab_root(&a);
    let payload = first_update_payload(width, height, &screen);
    // The encoder ignores the padding byte of each pixel and is deterministic, so this is the
    // payload the host computes from its own capture of the same pixels.
    let mut repadded = screen.clone();
    repadded.chunks_exact_mut(4).for_each(|px| px[3] = 0x5a);
    assert!(first_update_payload(width, height, &repadded) == payload);
    let pieces = Pieces::of(&payload);
    assert!(
        pieces.0.len() > 1000,
        "the first frame gives enough pieces to look for ({} bytes)",
        payload.len()
    );
    // The search would find the frame if it were forwarded in the clear.
    let plain_update = FrameMsg::Update {
        seq: 1,
        payload: payload.clone(),
    };
    assert!(pieces.found_in(&plain_update.to_vec()));

    let recorder = Arc::new(Recorder::default());
    let relay = InProcessRelay::start(recorder.clone());
    let (mut share, code) = start_share(&relay, &a, &["--auto-accept", "control"]);
    let mut join = start_join(&relay, &code, Some(&b), &["--name", TECHNICIAN]);

    // The technician's name reached the host through the sealed Hello.
    let permissions = share.wait_event("permissions");
    assert_eq!(permissions["technician"], TECHNICIAN, "{permissions}");
    let viewer_permissions = join.wait_event("permissions");
    assert_eq!(viewer_permissions["control"], true);
    join.wait_event("first_frame");

    // The host sent the screen grabbed above: the viewer shows exactly it, and the host display did
    // not change in between, so that was the first keyframe.
    let snapshot = work.path().join("viewer.png");
    join.send_line(&format!("snapshot {}", snapshot.display()));
    join.wait_event("snapshot");
    assert!(
        grab_root(&a).2 == screen,
        "the host display held still until the viewer's snapshot"
    );
    assert_eq!(differing_pixels(&screen, &snapshot), Some(0));

    // Type through the viewer's real window; the xterm on the host receives the text.
    let viewer_window = wait_for_window(&b, "Tandem");
    xdotool(&b, &["windowfocus", "--sync", &viewer_window]);
    xdotool(&b, &["type", "--delay", "40", TYPED]);
    xdotool(&b, &["key", "Return"]);
    let typed = wait_until("the typed line on the host", STEP, || {
        std::fs::read_to_string(&typed_file).ok()
    });
    assert_eq!(typed, TYPED);

    join.send_line("end");
    join.wait_event("session_ended");
    share.wait_event("session_ended");
    assert!(join.wait_exit(STEP), "join exits cleanly");
    assert!(share.wait_exit(STEP), "share exits cleanly");

    let streams = recorder.streams.lock().unwrap();
    let total: usize = streams.values().map(Vec::len).sum();
    eprintln!(
        "recorded {total} bytes: {:?}",
        streams
            .iter()
            .map(|(k, v)| (*k, v.len()))
            .collect::<Vec<_>>()
    );
    assert!(
        total > 10_000,
        "the relay forwarded the session ({total} bytes)"
    );
    assert!(
        streams
            .keys()
            .any(|(d, _)| *d == TapDirection::HostToViewer)
            && streams
                .keys()
                .any(|(d, _)| *d == TapDirection::ViewerToHost),
        "both directions recorded"
    );
    // Each typed character travels as its own Input::Text record (egui reports text per key), so
    // look for each record's plaintext as well as the whole line.
    let typed_records: Vec<Vec<u8>> = TYPED
        .chars()
        .map(|c| {
            Input::Text {
                text: c.to_string(),
            }
            .to_vec()
        })
        .collect();
    for ((direction, stream), bytes) in streams.iter() {
        let at = format!("{direction:?} stream {stream}");
        assert!(
            !contains(bytes, TECHNICIAN.as_bytes()),
            "technician name in the clear on {at}"
        );
        assert!(
            !contains(bytes, TYPED.as_bytes()),
            "typed text in the clear on {at}"
        );
        for record in &typed_records {
            assert!(
                !contains(bytes, record),
                "an Input::Text record in the clear on {at}: {record:?}"
            );
        }
        assert!(
            !pieces.found_in(bytes),
            "a piece of the first frame in the clear on {at}"
        );
        assert!(
            !contains(bytes, SCREEN_TEXT.as_bytes()),
            "screen text in the clear on {at}"
        );
    }
}

/// Replaces the SPAKE2 message in the first `ViewerHello` it forwards with the relay's own, holding
/// back the control stream's first bytes until the whole hello has arrived. Afterwards it forwards
/// everything unchanged.
#[derive(Debug, Default)]
struct SubstitutePake {
    state: Mutex<Substitution>,
}

#[derive(Debug, Default)]
struct Substitution {
    /// The relay's SPAKE2 message, set once the test knows the routing code.
    relay_pake: Option<Vec<u8>>,
    /// Control-stream bytes held back so far.
    held: Vec<u8>,
    /// The viewer's SPAKE2 message that was replaced.
    replaced: Option<Vec<u8>>,
}

impl ForwardTap for SubstitutePake {
    fn on_chunk(&self, direction: TapDirection, stream: u64, bytes: &mut Vec<u8>) {
        let mut state = self.state.lock().unwrap();
        if direction != TapDirection::ViewerToHost || stream != 0 || state.replaced.is_some() {
            return;
        }
        state.held.append(bytes);
        // Kind byte, u32-BE length, then the hello.
        let Some(len) = state.held.get(1..5) else {
            return;
        };
        let end = 5 + u32::from_be_bytes(len.try_into().unwrap()) as usize;
        if state.held.len() < end {
            return;
        }
        assert_eq!(state.held[0], StreamKind::Control as u8);
        let HandshakeMessage::ViewerHello { version, pake } =
            HandshakeMessage::from_bytes(&state.held[5..end]).unwrap()
        else {
            panic!("the viewer's first message is not a ViewerHello");
        };
        let relay_pake = state
            .relay_pake
            .clone()
            .expect("relay pake set before join");
        assert_eq!(relay_pake.len(), pake.len(), "same length on the wire");
        let forged = HandshakeMessage::ViewerHello {
            version,
            pake: relay_pake,
        };
        bytes.push(StreamKind::Control as u8);
        write_frame(&forged.to_vec(), bytes);
        bytes.extend_from_slice(&state.held[end..]);
        state.held.clear();
        state.replaced = Some(pake);
    }
}

#[test]
fn substituted_spake2_message_fails_on_both_ends_and_the_relay_recovers() {
    let display_a = VirtualDisplay::start(800, 600).expect("Xvfb for the host");
    let a = display_a.name().to_owned();
    let tap = Arc::new(SubstitutePake::default());
    let relay = InProcessRelay::start(tap.clone());

    let (mut share, code) = start_share(&relay, &a, &["--auto-accept", "control"]);
    // The relay knows the routing digits and its own identity; it guesses the secret. (Even a right
    // guess fails here: the relay only swaps the message and does not finish either handshake.)
    let routing = SessionCode::parse(&code).unwrap().routing;
    let guess = SessionCode::parse(&format!("{} 000000", routing.as_str())).unwrap();
    let (_relay_side, relay_hello) = ViewerHandshake::start(&guess, &relay.fingerprint.0);
    let HandshakeMessage::ViewerHello { pake, .. } = relay_hello else {
        unreachable!("start returns a ViewerHello");
    };
    tap.state.lock().unwrap().relay_pake = Some(pake.clone());

    let mut join = start_join(&relay, &code, None, &["--name", TECHNICIAN, "--headless"]);
    join.wait_event("paired");
    share.wait_event("paired");
    assert!(!join.wait_exit(STEP), "join fails");
    let replaced = tap.state.lock().unwrap().replaced.clone();
    let replaced = replaced.expect("the relay substituted the viewer's SPAKE2 message");
    assert_ne!(replaced, pake);
    // The technician is told to ask for a new code; the person sharing is told someone tried a
    // wrong code, theirs is now dead, and gets a fresh one by itself.
    let stderr = wait_until("join's error on stderr", STEP, || {
        let text = join.stderr();
        text.contains("error:").then_some(text)
    });
    assert!(
        stderr.contains(WRONG_CODE),
        "join reports a wrong code: {stderr}"
    );
    let burned = share.wait_event("code_burned");
    assert_eq!(burned["wrong_tries"], 1, "{burned}");
    let fresh = share.wait_event("code_issued");
    assert_ne!(fresh["code"].as_str(), Some(code.as_str()), "{fresh}");
    for proc in [&mut join, &mut share] {
        let events = proc.seen.clone();
        assert!(
            !events.iter().any(|e| e["event"] == "secured"),
            "{} never considered the session secured: {events:?}",
            proc.name
        );
    }
    share.send_line("stop");
    share.wait_event("session_ended");
    assert!(share.wait_exit(STEP), "share stops cleanly");

    // The relay is fine: the next session through it works.
    let (mut share, code) = start_share(&relay, &a, &["--auto-accept", "view"]);
    let mut join = start_join(&relay, &code, None, &["--name", TECHNICIAN, "--headless"]);
    join.wait_event("first_frame");
    share.send_line("stop");
    share.wait_event("session_ended");
    join.wait_event("session_ended");
    assert!(share.wait_exit(STEP));
    assert!(join.wait_exit(STEP));
}
