//! The working-together rules of PROTOCOL.md §7: when chat, clipboard and files may travel, and how a
//! peer's clipboard parts are assembled or refused without ending the session.

use std::time::Instant;

use super::*;
use crate::bulk::clipboard_parts;
use crate::limits::{MAX_BULK_CHUNK, MAX_CLIPBOARD_TEXT};
use crate::session::{Control, EndReason, FileEntry, Input};

fn host_sharing(now: Instant, control: bool) -> HostSession {
    let mut host = HostSession::new(None, now);
    host.handle_control(Control::hello("Alex"), now);
    host.handle_command(
        HostCommand::Consent {
            grant: Grant::View,
            allow: true,
        },
        now,
    );
    if control {
        host.handle_command(
            HostCommand::Consent {
                grant: Grant::Control,
                allow: true,
            },
            now,
        );
    }
    drain_host(&mut host);
    host
}

fn drain_host(host: &mut HostSession) -> Vec<Transmit> {
    while host.poll_event().is_some() {}
    std::iter::from_fn(|| host.poll_transmit()).collect()
}

fn collab_events(machine: &mut impl Machine) -> Vec<CollabEvent> {
    std::iter::from_fn(|| machine.poll_collab()).collect()
}

fn last_permissions(sent: &[Transmit]) -> Option<(bool, bool, bool)> {
    sent.iter().rev().find_map(|t| match t {
        Transmit::Control(Control::Permissions {
            view,
            control,
            clipboard,
        }) => Some((*view, *control, *clipboard)),
        _ => None,
    })
}

#[test]
fn clipboard_follows_control_unless_the_user_chooses() {
    let now = Instant::now();
    let mut host = host_sharing(now, false);
    assert!(!host.clipboard_allowed());
    assert_eq!(
        host.clipboard_parts(ClipFormat::Text, b"x"),
        Err(NotAllowed::ClipboardOff)
    );

    // Granting control turns it on, and says so to the viewer.
    host.handle_command(
        HostCommand::Consent {
            grant: Grant::Control,
            allow: true,
        },
        now,
    );
    assert_eq!(
        last_permissions(&drain_host(&mut host)),
        Some((true, true, true))
    );
    assert!(host.clipboard_parts(ClipFormat::Text, b"x").is_ok());

    // Taking control back turns it off at once.
    host.handle_command(HostCommand::RevokeControl, now);
    assert_eq!(
        last_permissions(&drain_host(&mut host)),
        Some((true, false, false))
    );
    assert!(!host.clipboard_allowed());

    // The user may allow it for a view-only session, and turn it off while controlled.
    host.handle_command(HostCommand::SetClipboard { allow: Some(true) }, now);
    assert_eq!(
        last_permissions(&drain_host(&mut host)),
        Some((true, false, true))
    );
    host.handle_command(
        HostCommand::Consent {
            grant: Grant::Control,
            allow: true,
        },
        now,
    );
    host.handle_command(HostCommand::SetClipboard { allow: Some(false) }, now);
    assert_eq!(
        last_permissions(&drain_host(&mut host)),
        Some((true, true, false))
    );
    // An unchanged choice sends nothing.
    host.handle_command(HostCommand::SetClipboard { allow: Some(false) }, now);
    assert!(drain_host(&mut host).is_empty());

    // After the end nothing is allowed.
    host.handle_command(HostCommand::SetClipboard { allow: None }, now);
    host.handle_command(HostCommand::Stop, now);
    assert!(!host.clipboard_allowed());
    assert_eq!(host.send_chat("hi"), Err(NotAllowed::NotSharing));
}

#[test]
fn peer_clipboard_is_assembled_only_while_allowed() {
    let now = Instant::now();
    let mut host = host_sharing(now, true);
    let text = "é".repeat(MAX_BULK_CHUNK) + "!"; // two parts and a bit
    let parts = clipboard_parts(9, ClipFormat::Text, text.as_bytes());
    assert_eq!(parts.len(), 3);
    for part in parts.clone() {
        host.handle_bulk(part);
    }
    assert_eq!(
        collab_events(&mut host),
        vec![CollabEvent::Clipboard {
            format: ClipFormat::Text,
            data: text.clone().into_bytes()
        }]
    );

    // A revoke between parts drops the half-received content, and nothing after it is taken.
    host.handle_bulk(parts[0].clone());
    host.handle_command(HostCommand::RevokeControl, now);
    for part in parts[1..].iter().cloned() {
        host.handle_bulk(part);
    }
    for part in parts.clone() {
        host.handle_bulk(part);
    }
    assert!(collab_events(&mut host).is_empty());
    assert!(!host.is_ended());
}

#[test]
fn oversized_or_malformed_clipboards_are_refused_and_the_session_goes_on() {
    let now = Instant::now();
    let mut host = host_sharing(now, true);
    let refused = |events: Vec<CollabEvent>| {
        matches!(events.as_slice(), [CollabEvent::ClipboardRefused { .. }])
    };

    // Announced over the limit: refused before anything is buffered.
    host.handle_bulk(Bulk::ClipboardPart {
        serial: 1,
        format: ClipFormat::Text,
        total: (MAX_CLIPBOARD_TEXT + 1) as u32,
        offset: 0,
        data: vec![b'x'; 10],
    });
    assert!(refused(collab_events(&mut host)));
    // Its remaining parts are ignored quietly.
    host.handle_bulk(Bulk::ClipboardPart {
        serial: 1,
        format: ClipFormat::Text,
        total: (MAX_CLIPBOARD_TEXT + 1) as u32,
        offset: 10,
        data: vec![b'x'; 10],
    });
    assert!(collab_events(&mut host).is_empty());

    // Out of order.
    host.handle_bulk(Bulk::ClipboardPart {
        serial: 2,
        format: ClipFormat::Text,
        total: 20,
        offset: 0,
        data: vec![b'x'; 10],
    });
    host.handle_bulk(Bulk::ClipboardPart {
        serial: 2,
        format: ClipFormat::Text,
        total: 20,
        offset: 15,
        data: vec![b'x'; 5],
    });
    assert!(refused(collab_events(&mut host)));

    // Longer than announced.
    host.handle_bulk(Bulk::ClipboardPart {
        serial: 3,
        format: ClipFormat::Png,
        total: 4,
        offset: 0,
        data: vec![0; 5],
    });
    assert!(refused(collab_events(&mut host)));

    // Not UTF-8.
    for part in clipboard_parts(4, ClipFormat::Text, &[0xff, 0xfe]) {
        host.handle_bulk(part);
    }
    assert!(refused(collab_events(&mut host)));

    // And the next good one goes through: the session is unharmed.
    for part in clipboard_parts(5, ClipFormat::Text, "ok ✓".as_bytes()) {
        host.handle_bulk(part);
    }
    assert_eq!(
        collab_events(&mut host),
        vec![CollabEvent::Clipboard {
            format: ClipFormat::Text,
            data: "ok ✓".as_bytes().to_vec()
        }]
    );
    assert!(!host.is_ended());
}

#[test]
fn chat_and_files_need_a_shared_screen() {
    let now = Instant::now();
    let mut host = HostSession::new(None, now);
    host.handle_control(Control::hello("Alex"), now);
    assert_eq!(host.send_chat("hi"), Err(NotAllowed::NotSharing));
    assert_eq!(
        host.send_file_control(Control::FileReceived { id: 1 }),
        Err(NotAllowed::NotSharing)
    );
    // The viewer's chat before consent is dropped, not shown.
    host.handle_control(Control::chat("let me in"), now);
    assert!(collab_events(&mut host).is_empty());

    host.handle_command(
        HostCommand::Consent {
            grant: Grant::View,
            allow: true,
        },
        now,
    );
    drain_host(&mut host);
    host.send_chat("hello\u{1b}[2J").expect("sharing");
    let sent = drain_host(&mut host);
    assert_eq!(
        sent,
        vec![Transmit::Control(Control::Chat {
            text: "hello\u{FFFD}[2J".into()
        })]
    );
    host.handle_control(Control::chat("thanks"), now);
    let offer = Control::FileOffer {
        id: 3,
        name: "log.txt".into(),
        entries: vec![FileEntry {
            path: "log.txt".into(),
            size: 10,
            key: [1; 16],
        }],
    };
    host.handle_control(offer.clone(), now);
    let data = Bulk::FileData {
        id: 3,
        entry: 0,
        offset: 0,
        data: vec![1, 2],
    };
    host.handle_bulk(data.clone());
    assert_eq!(
        collab_events(&mut host),
        vec![
            CollabEvent::Chat {
                text: "thanks".into()
            },
            CollabEvent::File(offer),
            CollabEvent::FileData(data.clone()),
        ]
    );
    assert_eq!(
        host.transcript(),
        &[
            (ChatFrom::Us, "hello\u{FFFD}[2J".to_string()),
            (ChatFrom::Peer, "thanks".to_string())
        ]
    );

    host.handle_command(HostCommand::Stop, now);
    host.handle_bulk(data);
    host.handle_control(Control::chat("late"), now);
    assert!(collab_events(&mut host).is_empty());
}

#[test]
fn viewer_follows_the_clipboard_grant() {
    let now = Instant::now();
    let mut viewer = ViewerSession::new("Alex", now);
    assert_eq!(viewer.send_chat("hi"), Err(NotAllowed::NotSharing));
    viewer.handle_control(
        Control::Permissions {
            view: true,
            control: false,
            clipboard: false,
        },
        now,
    );
    assert!(viewer.collab_active());
    assert!(!viewer.clipboard_allowed());
    for part in clipboard_parts(0, ClipFormat::Text, b"secret") {
        viewer.handle_bulk(part);
    }
    assert!(collab_events(&mut viewer).is_empty());

    viewer.handle_control(
        Control::Permissions {
            view: true,
            control: true,
            clipboard: true,
        },
        now,
    );
    assert!(viewer.clipboard_parts(ClipFormat::Text, b"x").is_ok());
    for part in clipboard_parts(1, ClipFormat::Text, b"shared") {
        viewer.handle_bulk(part);
    }
    assert_eq!(collab_events(&mut viewer).len(), 1);

    // Clipboard without view is a protocol error.
    viewer.handle_control(
        Control::Permissions {
            view: false,
            control: false,
            clipboard: true,
        },
        now,
    );
    assert!(viewer.is_ended());
    assert!(!viewer.clipboard_allowed());
}

#[test]
fn diagnostics_are_a_third_consent_asked_once_per_session() {
    let now = Instant::now();
    let mut host = host_sharing(now, false);
    let events =
        |host: &mut HostSession| std::iter::from_fn(|| host.poll_event()).collect::<Vec<_>>();

    // Nothing is sent without the user's answer.
    assert!(!host.send_diagnostics("{}".into()));
    host.handle_control(Control::RequestDiagnostics, now);
    assert_eq!(
        events(&mut host),
        vec![HostEvent::ConsentNeeded {
            grant: Grant::Diagnostics,
            technician: "Alex".into()
        }]
    );
    // A second request while the question is open asks nothing more.
    host.handle_control(Control::RequestDiagnostics, now);
    assert!(events(&mut host).is_empty());

    // Declined: the viewer is told, nothing can be sent.
    host.handle_command(
        HostCommand::Consent {
            grant: Grant::Diagnostics,
            allow: false,
        },
        now,
    );
    assert_eq!(
        drain_host(&mut host),
        vec![Transmit::Control(Control::Diagnostics { snapshot: None })]
    );
    assert!(!host.send_diagnostics("{}".into()));

    // Asked again, allowed: the snapshot goes, and refreshes need no new question.
    host.handle_control(Control::RequestDiagnostics, now);
    assert!(matches!(
        events(&mut host).as_slice(),
        [HostEvent::ConsentNeeded { .. }]
    ));
    host.handle_command(
        HostCommand::Consent {
            grant: Grant::Diagnostics,
            allow: true,
        },
        now,
    );
    assert_eq!(events(&mut host), vec![HostEvent::DiagnosticsWanted]);
    assert!(host.send_diagnostics("{\"os\":\"x\"}".into()));
    assert!(!host.send_diagnostics("x".repeat(crate::limits::MAX_DIAGNOSTICS_LEN + 1)));
    host.handle_control(Control::RequestDiagnostics, now);
    assert_eq!(events(&mut host), vec![HostEvent::DiagnosticsWanted]);

    // A flood of requests after a "no" costs the user at most the prompt budget.
    let mut host = host_sharing(now, false);
    let mut asked = 0;
    for _ in 0..10 {
        host.handle_control(Control::RequestDiagnostics, now);
        for event in events(&mut host) {
            if matches!(event, HostEvent::ConsentNeeded { .. }) {
                asked += 1;
                host.handle_command(
                    HostCommand::Consent {
                        grant: Grant::Diagnostics,
                        allow: false,
                    },
                    now,
                );
            }
        }
    }
    assert_eq!(asked, CONTROL_PROMPT_BURST);

    // The end withdraws an open question.
    let mut host = host_sharing(now, false);
    host.handle_control(Control::RequestDiagnostics, now);
    events(&mut host);
    host.handle_command(HostCommand::Stop, now);
    assert!(events(&mut host).contains(&HostEvent::ConsentWithdrawn {
        grant: Grant::Diagnostics
    }));
}

#[test]
fn stopping_asks_for_feedback_and_shares_nothing_meanwhile() {
    let now = Instant::now();
    let start = || {
        let mut host = HostSession::new(None, now).with_feedback(true);
        host.handle_control(Control::hello("Alex"), now);
        for grant in [Grant::View, Grant::Control] {
            if grant == Grant::Control {
                host.handle_control(Control::RequestControl, now);
            }
            host.handle_command(HostCommand::Consent { grant, allow: true }, now);
        }
        drain_host(&mut host);
        host
    };
    let events =
        |host: &mut HostSession| std::iter::from_fn(|| host.poll_event()).collect::<Vec<_>>();

    // Stop: at once nothing is shared (no input, no screen, no clipboard), and the user is asked.
    let mut host = start();
    host.handle_command(HostCommand::Stop, now);
    assert!(!host.control_allowed());
    assert!(!host.clipboard_allowed());
    assert_eq!(host.send_update(vec![1]), Err(UpdateRefused::NotSharing));
    assert_eq!(
        host.handle_input(Input::Text { text: "x".into() }, now),
        None
    );
    assert!(events(&mut host).contains(&HostEvent::FeedbackWanted));
    assert_eq!(
        drain_host(&mut host),
        vec![Transmit::Control(Control::Permissions {
            view: false,
            control: false,
            clipboard: false
        })]
    );
    assert!(!host.is_ended());
    // The answer goes just before the End.
    host.handle_command(
        HostCommand::Feedback {
            rating: 9,
            comment: "Quick \u{1b}fix".into(),
        },
        now,
    );
    let sent = drain_host(&mut host);
    assert_eq!(
        sent[0],
        Transmit::Control(Control::feedback(5, "Quick \u{FFFD}fix"))
    );
    assert!(matches!(
        sent[1],
        Transmit::Control(Control::End {
            reason: EndReason::HostEnded,
            ..
        })
    ));
    assert!(host.is_ended());

    // Skipped, or no answer in time: the End alone.
    for skip in [true, false] {
        let mut host = start();
        host.handle_command(HostCommand::Stop, now);
        drain_host(&mut host);
        if skip {
            host.handle_command(HostCommand::SkipFeedback, now);
        } else {
            host.handle_timeout(now + FEEDBACK_WAIT);
        }
        let sent = drain_host(&mut host);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(host.is_ended());
    }

    // The technician leaving meanwhile ends it at once; the answer has nowhere to go.
    let mut host = start();
    host.handle_command(HostCommand::Stop, now);
    host.handle_control(Control::end(EndReason::ViewerEnded, "bye"), now);
    assert!(host.is_ended());
    host.handle_command(
        HostCommand::Feedback {
            rating: 3,
            comment: String::new(),
        },
        now,
    );
    assert!(
        !drain_host(&mut host)
            .iter()
            .any(|t| matches!(t, Transmit::Control(Control::Feedback { .. })))
    );

    // Without feedback, Stop ends at once as before.
    let mut host = HostSession::new(None, now);
    host.handle_control(Control::hello("Alex"), now);
    host.handle_command(
        HostCommand::Consent {
            grant: Grant::View,
            allow: true,
        },
        now,
    );
    host.handle_command(HostCommand::Stop, now);
    assert!(host.is_ended());
}
