//! Every transition PROTOCOL.md §7 lists, as tables: a state reached by a few steps, one more step,
//! and exactly what is sent and reported.

use std::time::{Duration, Instant};

use super::*;
use crate::session::{Control, EndReason, Input};

/// One step fed to a host session.
#[derive(Clone)]
enum H {
    Ctl(Control),
    Cmd(HostCommand),
    Gone(PeerGone),
    /// Time passes by this much, then `handle_timeout`.
    Wait(Duration),
}

fn hello() -> H {
    H::Ctl(Control::hello("Alex"))
}
fn allow(grant: Grant) -> H {
    H::Cmd(HostCommand::Consent { grant, allow: true })
}
fn deny(grant: Grant) -> H {
    H::Cmd(HostCommand::Consent {
        grant,
        allow: false,
    })
}
fn end_from_peer() -> H {
    H::Ctl(Control::end(EndReason::ViewerEnded, "bye"))
}
fn perms(view: bool, control: bool) -> Transmit {
    Transmit::Control(Control::Permissions {
        view,
        control,
        clipboard: control,
    })
}
fn end(reason: EndReason) -> String {
    format!("End({reason:?})")
}

/// The states of the host, as the steps that reach them from a fresh session.
fn host_state(name: &str) -> Vec<H> {
    let mut steps = Vec::new();
    let chain: &[&str] = match name {
        "await_hello" => &[],
        "ask_view" => &["hello"],
        "sharing" => &["hello", "view"],
        "control_prompt" => &["hello", "view", "request"],
        "control" => &["hello", "view", "request", "grant"],
        "declined" => &["hello", "view", "request", "refuse"],
        "done" => &["hello", "view", "stop"],
        "recording_prompt" => &["hello", "view", "record"],
        "recording" => &["hello", "view", "record", "allow_recording"],
        "control_clip_off" => &["hello", "view", "request", "grant", "clip_off"],
        other => panic!("unknown state {other}"),
    };
    for step in chain {
        steps.push(match *step {
            "hello" => hello(),
            "view" => allow(Grant::View),
            "request" => H::Ctl(Control::RequestControl),
            "grant" => allow(Grant::Control),
            "refuse" => deny(Grant::Control),
            "stop" => H::Cmd(HostCommand::Stop),
            "record" => H::Ctl(Control::Recording { on: true }),
            "allow_recording" => allow(Grant::Recording),
            "clip_off" => H::Ctl(Control::ViewerClipboard { on: false }),
            other => panic!("unknown step {other}"),
        });
    }
    steps
}

fn apply_host(session: &mut HostSession, step: H, now: &mut Instant) {
    match step {
        H::Ctl(msg) => session.handle_control(msg, *now),
        H::Cmd(cmd) => session.handle_command(cmd, *now),
        H::Gone(gone) => session.handle_peer_gone(gone, *now),
        H::Wait(d) => {
            *now += d;
            session.handle_timeout(*now);
        }
    }
}

/// Short names for what the session sent: messages as themselves, `End` by its reason only.
fn sent_names(session: &mut HostSession) -> Vec<String> {
    std::iter::from_fn(|| session.poll_transmit())
        .map(|t| match t {
            Transmit::Control(Control::End { reason, .. }) => end(reason),
            other => format!("{other:?}"),
        })
        .collect()
}

fn host_event_names(session: &mut HostSession) -> Vec<String> {
    std::iter::from_fn(|| session.poll_event())
        .map(|e| match e {
            HostEvent::TechnicianArrived { .. } => "Arrived".to_owned(),
            HostEvent::ConsentNeeded { grant, .. } => format!("Ask({grant:?})"),
            HostEvent::ConsentWithdrawn { grant } => format!("Withdrawn({grant:?})"),
            HostEvent::Permissions { view, control, .. } => format!("Perms({view},{control})"),
            HostEvent::StartStreaming => "Stream".into(),
            HostEvent::KeyframeRequested => "Keyframe".into(),
            HostEvent::InputDropped => "InputDropped".into(),
            HostEvent::DiagnosticsWanted => "Diagnostics".into(),
            HostEvent::FeedbackWanted => "Feedback".into(),
            HostEvent::ShownScreen { on } => format!("Shown({on})"),
            HostEvent::Reconnecting { .. } => "Reconnecting".into(),
            HostEvent::Resumed { streaming } => format!("Resumed({streaming})"),
            HostEvent::Recording { on } => format!("Recording({on})"),
            HostEvent::ControlReleased => "Released".into(),
            HostEvent::TechnicianClipboard { on } => format!("TechClipboard({on})"),
            HostEvent::Ended(e) => format!("Ended({:?},{:?})", e.by, e.reason),
        })
        .collect()
}

fn names(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn fmt_transmits(items: Vec<Transmit>) -> Vec<String> {
    items.into_iter().map(|t| format!("{t:?}")).collect()
}

struct HostRow {
    from: &'static str,
    auto: Option<Grant>,
    step: H,
    sent: Vec<String>,
    events: Vec<&'static str>,
    ended: bool,
}

fn row(from: &'static str, step: H, sent: Vec<String>, events: &[&'static str]) -> HostRow {
    let ended = events.iter().any(|e| e.starts_with("Ended"));
    HostRow {
        from,
        auto: None,
        step,
        sent,
        events: events.to_vec(),
        ended,
    }
}

#[test]
fn host_transitions() {
    let t = |msgs: Vec<Transmit>| fmt_transmits(msgs);
    let end_pe = || vec![end(EndReason::ProtocolError)];
    let proto_err = ["Ended(Us,ProtocolError)"];
    let mut rows = vec![
        // Hello.
        row("await_hello", hello(), vec![], &["Arrived", "Ask(View)"]),
        row(
            "await_hello",
            H::Ctl(Control::RequestControl),
            end_pe(),
            &proto_err,
        ),
        row(
            "await_hello",
            H::Ctl(Control::Ack { seq: 0 }),
            end_pe(),
            &proto_err,
        ),
        row(
            "await_hello",
            H::Wait(HELLO_TIMEOUT - Duration::from_millis(1)),
            vec![],
            &[],
        ),
        row("await_hello", H::Wait(HELLO_TIMEOUT), end_pe(), &proto_err),
        // Asking to view.
        row(
            "ask_view",
            allow(Grant::View),
            t(vec![perms(true, false)]),
            &["Perms(true,false)", "Stream"],
        ),
        row(
            "ask_view",
            deny(Grant::View),
            [
                t(vec![perms(false, false)]),
                vec![end(EndReason::ConsentDenied)],
            ]
            .concat(),
            &["Perms(false,false)", "Ended(Us,ConsentDenied)"],
        ),
        row(
            "ask_view",
            hello(),
            end_pe(),
            &["Withdrawn(View)", "Ended(Us,ProtocolError)"],
        ),
        row(
            "ask_view",
            H::Ctl(Control::Ack { seq: 0 }),
            end_pe(),
            &["Withdrawn(View)", "Ended(Us,ProtocolError)"],
        ),
        row("ask_view", H::Ctl(Control::RequestControl), vec![], &[]),
        row("ask_view", allow(Grant::Control), vec![], &[]),
        row("ask_view", H::Cmd(HostCommand::RevokeControl), vec![], &[]),
        // Sharing: control requests, answered only on change.
        row(
            "sharing",
            H::Ctl(Control::RequestControl),
            vec![],
            &["Ask(Control)"],
        ),
        row(
            "control_prompt",
            H::Ctl(Control::RequestControl),
            vec![],
            &[],
        ),
        row(
            "control_prompt",
            allow(Grant::Control),
            t(vec![perms(true, true)]),
            &["Perms(true,true)"],
        ),
        row(
            "control_prompt",
            deny(Grant::Control),
            t(vec![perms(true, false)]),
            &["Perms(true,false)"],
        ),
        row(
            "control_prompt",
            H::Cmd(HostCommand::RevokeControl),
            t(vec![perms(true, false)]),
            &["Withdrawn(Control)", "Perms(true,false)"],
        ),
        row("control", H::Ctl(Control::RequestControl), vec![], &[]),
        row(
            "control",
            H::Cmd(HostCommand::RevokeControl),
            t(vec![perms(true, false)]),
            &["Perms(true,false)"],
        ),
        row("sharing", H::Cmd(HostCommand::RevokeControl), vec![], &[]),
        row(
            "sharing",
            allow(Grant::Control),
            t(vec![perms(true, true)]),
            &["Perms(true,true)"],
        ),
        row(
            "declined",
            H::Ctl(Control::RequestControl),
            vec![],
            &["Ask(Control)"],
        ),
        // Flow control and the rest.
        row(
            "sharing",
            H::Ctl(Control::Ack { seq: 0 }),
            end_pe(),
            &proto_err,
        ),
        row(
            "sharing",
            H::Ctl(Control::Permissions {
                view: true,
                control: true,
                clipboard: true,
            }),
            end_pe(),
            &proto_err,
        ),
        row("sharing", hello(), end_pe(), &proto_err),
        row(
            "sharing",
            H::Ctl(Control::RequestKeyframe),
            vec![],
            &["Keyframe"],
        ),
        row("sharing", H::Ctl(Control::chat("x")), vec![], &[]),
        row(
            "control",
            H::Gone(PeerGone::Broken {
                detail: "bad seal".into(),
            }),
            end_pe(),
            &proto_err,
        ),
        row(
            "sharing",
            H::Gone(PeerGone::Left {
                detail: "gone".into(),
            }),
            vec![],
            &["Ended(Peer,ViewerEnded)"],
        ),
        row(
            "sharing",
            H::Cmd(HostCommand::CaptureFailed {
                detail: "no display".into(),
            }),
            vec![end(EndReason::Shutdown)],
            &["Ended(Us,Shutdown)"],
        ),
    ];
    // End from the viewer, and Stop, in every live state.
    for from in [
        "await_hello",
        "ask_view",
        "sharing",
        "control_prompt",
        "control",
    ] {
        let withdrawn: &[&str] = match from {
            "ask_view" => &["Withdrawn(View)"],
            "control_prompt" => &["Withdrawn(Control)"],
            _ => &[],
        };
        let mut peer_end = withdrawn.to_vec();
        peer_end.push("Ended(Peer,ViewerEnded)");
        rows.push(row(from, end_from_peer(), vec![], &peer_end));
        let mut stop = withdrawn.to_vec();
        stop.push("Ended(Us,HostEnded)");
        rows.push(row(
            from,
            H::Cmd(HostCommand::Stop),
            vec![end(EndReason::HostEnded)],
            &stop,
        ));
    }
    // Recording (issue 13): asked like the other consents, answered with `Recording`, stoppable by
    // the user at any time, off with the end; a refusal leaves the session running.
    let rec = |on: bool| t(vec![Transmit::Control(Control::Recording { on })]);
    rows.extend([
        row(
            "sharing",
            H::Ctl(Control::Recording { on: true }),
            vec![],
            &["Ask(Recording)"],
        ),
        row(
            "recording_prompt",
            allow(Grant::Recording),
            rec(true),
            &["Recording(true)"],
        ),
        row("recording_prompt", deny(Grant::Recording), rec(false), &[]),
        row(
            "recording_prompt",
            H::Ctl(Control::Recording { on: true }),
            vec![],
            &[],
        ),
        row(
            "recording_prompt",
            H::Ctl(Control::Recording { on: false }),
            rec(false),
            &["Withdrawn(Recording)"],
        ),
        row(
            "recording_prompt",
            H::Cmd(HostCommand::Stop),
            vec![end(EndReason::HostEnded)],
            &["Withdrawn(Recording)", "Ended(Us,HostEnded)"],
        ),
        row(
            "recording",
            H::Ctl(Control::Recording { on: true }),
            rec(true),
            &[],
        ),
        row(
            "recording",
            H::Ctl(Control::Recording { on: false }),
            rec(false),
            &["Recording(false)"],
        ),
        row(
            "recording",
            H::Cmd(HostCommand::StopRecording),
            rec(false),
            &["Recording(false)"],
        ),
        row(
            "recording",
            H::Cmd(HostCommand::Stop),
            vec![end(EndReason::HostEnded)],
            &["Recording(false)", "Ended(Us,HostEnded)"],
        ),
        row(
            "recording",
            end_from_peer(),
            vec![],
            &["Recording(false)", "Ended(Peer,ViewerEnded)"],
        ),
        row("sharing", allow(Grant::Recording), vec![], &[]),
        row("sharing", H::Cmd(HostCommand::StopRecording), vec![], &[]),
        row(
            "ask_view",
            H::Ctl(Control::Recording { on: true }),
            rec(false),
            &[],
        ),
        row(
            "await_hello",
            H::Ctl(Control::Recording { on: true }),
            end_pe(),
            &proto_err,
        ),
        // The technician's Finish without feedback: the End that answers it says it was theirs.
        row(
            "sharing",
            H::Ctl(Control::Finish),
            vec![end(EndReason::ViewerEnded)],
            &["Ended(Peer,ViewerEnded)"],
        ),
        row(
            "recording",
            H::Ctl(Control::Finish),
            vec![end(EndReason::ViewerEnded)],
            &["Recording(false)", "Ended(Peer,ViewerEnded)"],
        ),
        row(
            "ask_view",
            H::Ctl(Control::Finish),
            vec![end(EndReason::ViewerEnded)],
            &["Withdrawn(View)", "Ended(Peer,ViewerEnded)"],
        ),
        row("await_hello", H::Ctl(Control::Finish), end_pe(), &proto_err),
    ]);
    // The technician gives control back (`ReleaseControl`, issue 14): like the user's Take back
    // control while control is granted, with the user told who did it; nothing otherwise.
    let perms_clip = |control: bool, clipboard: bool| {
        t(vec![Transmit::Control(Control::Permissions {
            view: true,
            control,
            clipboard,
        })])
    };
    let release = || H::Ctl(Control::ReleaseControl);
    rows.extend([
        row("await_hello", release(), end_pe(), &proto_err),
        row("ask_view", release(), vec![], &[]),
        row("sharing", release(), vec![], &[]),
        row("control_prompt", release(), vec![], &[]),
        row("declined", release(), vec![], &[]),
        row("recording", release(), vec![], &[]),
        row(
            "control",
            release(),
            t(vec![perms(true, false)]),
            &["Perms(true,false)", "Released"],
        ),
        row(
            "control_clip_off",
            release(),
            perms_clip(false, false),
            &["Perms(true,false)", "Released"],
        ),
    ]);
    // The technician's clipboard switch (`ViewerClipboard`, issue 14): the effective sharing is
    // the user's rule and the technician's wish; Permissions go out only when it changes.
    let clip = |on: bool| H::Ctl(Control::ViewerClipboard { on });
    rows.extend([
        row("await_hello", clip(false), end_pe(), &proto_err),
        row("ask_view", clip(false), vec![], &["TechClipboard(false)"]),
        // Viewing only: the default rule already keeps the clipboard off.
        row("sharing", clip(false), vec![], &["TechClipboard(false)"]),
        row("sharing", clip(true), vec![], &[]),
        row(
            "control",
            clip(false),
            perms_clip(true, false),
            &["TechClipboard(false)", "Perms(true,true)"],
        ),
        row("control", clip(true), vec![], &[]),
        row("control_clip_off", clip(false), vec![], &[]),
        row(
            "control_clip_off",
            clip(true),
            perms_clip(true, true),
            &["TechClipboard(true)", "Perms(true,true)"],
        ),
        // The user's own switch cannot override the technician's off.
        row(
            "control_clip_off",
            H::Cmd(HostCommand::SetClipboard { allow: Some(true) }),
            vec![],
            &[],
        ),
        // Taking control back keeps the technician's off.
        row(
            "control_clip_off",
            H::Cmd(HostCommand::RevokeControl),
            perms_clip(false, false),
            &["Perms(true,false)"],
        ),
        row("recording", clip(false), vec![], &["TechClipboard(false)"]),
    ]);
    // After the end everything is ignored.
    for step in [
        end_from_peer(),
        hello(),
        H::Ctl(Control::RequestControl),
        H::Ctl(Control::ReleaseControl),
        H::Ctl(Control::ViewerClipboard { on: false }),
        H::Ctl(Control::Ack { seq: 99 }),
        H::Cmd(HostCommand::Stop),
        allow(Grant::Control),
        H::Wait(HELLO_TIMEOUT),
    ] {
        rows.push(row("done", step, vec![], &[]));
    }
    // Auto-accept grants without asking.
    for (auto, control) in [(Grant::View, false), (Grant::Control, true)] {
        let mut r = row("await_hello", hello(), t(vec![perms(true, control)]), &[]);
        r.auto = Some(auto);
        r.events = if control {
            vec!["Arrived", "Perms(true,true)", "Stream"]
        } else {
            vec!["Arrived", "Perms(true,false)", "Stream"]
        };
        rows.push(r);
    }

    for (i, r) in rows.into_iter().enumerate() {
        let mut now = Instant::now();
        let mut session = HostSession::new(r.auto, now);
        for step in host_state(r.from) {
            apply_host(&mut session, step, &mut now);
        }
        while session.poll_transmit().is_some() {}
        while session.poll_event().is_some() {}
        apply_host(&mut session, r.step, &mut now);
        let context = format!("row {i} (from {})", r.from);
        assert_eq!(sent_names(&mut session), r.sent, "{context}: sent");
        assert_eq!(
            host_event_names(&mut session),
            names(&r.events),
            "{context}: events"
        );
        assert_eq!(session.is_ended(), r.ended || r.from == "done", "{context}");
    }
}

/// A hostile viewer floods `ReleaseControl` and `ViewerClipboard`: releases with nothing granted
/// cost nothing, offs always apply, and only a burst of ons is heard, so the clipboard watcher is
/// started and stopped a bounded number of times; the budget comes back with time.
#[test]
fn host_release_and_clipboard_switch_floods_are_harmless() {
    let mut now = Instant::now();
    let mut session = HostSession::new(None, now);
    for step in host_state("control") {
        apply_host(&mut session, step, &mut now);
    }
    while session.poll_transmit().is_some() {}
    while session.poll_event().is_some() {}
    session.handle_control(Control::ReleaseControl, now);
    assert!(!session.control_allowed());
    for _ in 0..10_000 {
        session.handle_control(Control::ReleaseControl, now);
    }
    assert_eq!(
        sent_names(&mut session).len(),
        1,
        "one Permissions for one release"
    );
    assert_eq!(
        host_event_names(&mut session),
        names(&["Perms(true,false)", "Released"])
    );
    // The clipboard: let the user share it while viewing, then flood the switch.
    session.handle_command(HostCommand::SetClipboard { allow: Some(true) }, now);
    while session.poll_transmit().is_some() {}
    while session.poll_event().is_some() {}
    let mut changes = 0;
    for i in 0..10_000 {
        session.handle_control(Control::ViewerClipboard { on: i % 2 == 1 }, now);
        changes += sent_names(&mut session).len();
    }
    assert_eq!(
        changes as u32,
        1 + 2 * CLIPBOARD_SWITCH_BURST,
        "{changes} changes"
    );
    assert!(!session.technician_clipboard(), "the last on was not heard");
    session.handle_control(Control::ViewerClipboard { on: true }, now);
    assert!(!session.technician_clipboard());
    now += CLIPBOARD_SWITCH_REFILL;
    session.handle_control(Control::ViewerClipboard { on: true }, now);
    assert!(
        session.technician_clipboard(),
        "heard again after the refill"
    );
    assert_eq!(
        sent_names(&mut session),
        vec![format!(
            "{:?}",
            Transmit::Control(Control::Permissions {
                view: true,
                control: false,
                clipboard: true
            })
        )]
    );
    assert!(!session.is_ended());
}

#[test]
fn host_control_prompts_are_rate_limited() {
    let mut now = Instant::now();
    let mut session = HostSession::new(None, now);
    for step in host_state("sharing") {
        apply_host(&mut session, step, &mut now);
    }
    host_event_names(&mut session);
    let mut asked = 0;
    for _ in 0..1000 {
        session.handle_control(Control::RequestControl, now);
        if !host_event_names(&mut session).is_empty() {
            asked += 1;
        }
        session.handle_command(
            HostCommand::Consent {
                grant: Grant::Control,
                allow: false,
            },
            now,
        );
        while session.poll_transmit().is_some() {}
        host_event_names(&mut session);
    }
    assert_eq!(asked, CONTROL_PROMPT_BURST);
    // One more comes back after the refill interval.
    now += CONTROL_PROMPT_REFILL;
    session.handle_control(Control::RequestControl, now);
    assert_eq!(host_event_names(&mut session), names(&["Ask(Control)"]));
    session.handle_control(Control::RequestControl, now);
    assert!(host_event_names(&mut session).is_empty(), "pending");
}

#[test]
fn host_gates_and_clamps_input() {
    let mut now = Instant::now();
    let mut session = HostSession::new(None, now);
    for step in host_state("sharing") {
        apply_host(&mut session, step, &mut now);
    }
    host_event_names(&mut session);
    let scroll = Input::Scroll {
        dx: i32::MIN,
        dy: i32::MAX,
    };
    assert_eq!(session.handle_input(scroll.clone(), now), None);
    assert_eq!(session.handle_input(scroll.clone(), now), None);
    assert_eq!(host_event_names(&mut session), names(&["InputDropped"]));
    let before = session.input_epoch();
    session.handle_command(
        HostCommand::Consent {
            grant: Grant::Control,
            allow: true,
        },
        now,
    );
    assert_ne!(session.input_epoch(), before);
    assert_eq!(
        session.handle_input(scroll, now),
        Some(Input::Scroll {
            dx: -MAX_SCROLL_NOTCHES,
            dy: MAX_SCROLL_NOTCHES
        })
    );
    assert_eq!(
        session.handle_input(Input::PointerMove { x: u32::MAX, y: 10 }, now),
        Some(Input::PointerMove {
            x: MAX_POINTER_COORD,
            y: 10
        })
    );
    let granted = session.input_epoch();
    session.handle_command(HostCommand::RevokeControl, now);
    // The gate closes synchronously with the command: nothing accepted under the old epoch stays valid.
    assert!(!session.control_allowed());
    assert_ne!(session.input_epoch(), granted);
    assert_eq!(
        session.handle_input(Input::Text { text: "x".into() }, now),
        None
    );
    session.handle_command(HostCommand::Stop, now);
    assert!(!session.control_allowed());
}

#[test]
fn host_flow_control_window() {
    let mut now = Instant::now();
    let mut session = HostSession::new(None, now);
    assert_eq!(session.send_update(vec![1]), Err(UpdateRefused::NotSharing));
    for step in host_state("sharing") {
        apply_host(&mut session, step, &mut now);
    }
    while session.poll_transmit().is_some() {}
    let limit = session.update_limit();
    for seq in 0..limit {
        assert_eq!(session.send_update(vec![0]), Ok(seq));
    }
    assert_eq!(session.send_update(vec![0]), Err(UpdateRefused::WindowFull));
    session.handle_control(Control::Ack { seq: 1 }, now);
    assert_eq!(session.update_limit(), limit + 2);
    // A stale ack is ignored.
    session.handle_control(Control::Ack { seq: 0 }, now);
    assert!(!session.is_ended());
    assert_eq!(session.update_limit(), limit + 2);
    // An ack of an update never sent ends the session.
    session.handle_control(Control::Ack { seq: limit + 5 }, now);
    assert!(session.is_ended());
}

#[test]
fn host_closes_after_the_grace_or_when_the_peer_leaves() {
    let mut now = Instant::now();
    let mut session = HostSession::new(None, now);
    for step in host_state("sharing") {
        apply_host(&mut session, step, &mut now);
    }
    session.handle_command(HostCommand::Stop, now);
    assert_eq!(session.poll_timeout(), Some(now + END_GRACE));
    assert!(!session.poll_close(now));
    assert!(session.poll_close(now + END_GRACE));
    assert!(!session.poll_close(now + END_GRACE), "only once");

    let mut session = HostSession::new(None, now);
    for step in host_state("sharing") {
        apply_host(&mut session, step, &mut now);
    }
    session.handle_command(HostCommand::Stop, now);
    // The viewer read the End and closed: no need to wait.
    session.handle_peer_gone(
        PeerGone::Left {
            detail: "closed".into(),
        },
        now,
    );
    assert!(session.poll_close(now));

    // A peer that left gets no End, and the connection closes at once.
    let mut session = HostSession::new(None, now);
    session.handle_peer_gone(
        PeerGone::Left {
            detail: "gone".into(),
        },
        now,
    );
    assert!(session.poll_close(now));
}

// ---- Viewer ----

#[derive(Clone)]
enum V {
    Ctl(Control),
    Cmd(ViewerCommand),
    Decoded(u64),
    Gone(PeerGone),
}

fn viewer_state(name: &str) -> Vec<V> {
    let view = V::Ctl(Control::Permissions {
        view: true,
        control: false,
        clipboard: false,
    });
    match name {
        "waiting" => vec![],
        "viewing" => vec![view],
        "requested" => vec![view, V::Cmd(ViewerCommand::RequestControl)],
        "control" => vec![
            view,
            V::Cmd(ViewerCommand::RequestControl),
            V::Ctl(Control::Permissions {
                view: true,
                control: true,
                clipboard: true,
            }),
        ],
        "done" => vec![view, V::Cmd(ViewerCommand::End), V::Cmd(ViewerCommand::End)],
        "finishing" => vec![view, V::Cmd(ViewerCommand::End)],
        "asking" => vec![view, V::Cmd(ViewerCommand::Record { on: true })],
        "recording" => vec![
            view,
            V::Cmd(ViewerCommand::Record { on: true }),
            V::Ctl(Control::Recording { on: true }),
        ],
        "control_clip_off" => {
            let mut steps = viewer_state("control");
            steps.push(V::Cmd(ViewerCommand::SetClipboard { on: false }));
            steps
        }
        other => panic!("unknown state {other}"),
    }
}

fn apply_viewer(session: &mut ViewerSession, step: V, now: Instant) {
    match step {
        V::Ctl(msg) => session.handle_control(msg, now),
        V::Cmd(cmd) => session.handle_command(cmd, now),
        V::Decoded(seq) => session.handle_update_decoded(seq, now),
        V::Gone(gone) => session.handle_peer_gone(gone, now),
    }
}

fn viewer_sent(session: &mut ViewerSession) -> Vec<String> {
    std::iter::from_fn(|| session.poll_transmit())
        .map(|t| match t {
            Transmit::Control(Control::End { reason, .. }) => end(reason),
            other => format!("{other:?}"),
        })
        .collect()
}

fn viewer_event_names(session: &mut ViewerSession) -> Vec<String> {
    std::iter::from_fn(|| session.poll_event())
        .map(|e| match e {
            ViewerEvent::Permissions { view, control, .. } => format!("Perms({view},{control})"),
            ViewerEvent::ControlDeclined => "Declined".into(),
            ViewerEvent::ControlRequestNotSent { .. } => "NotSent".into(),
            ViewerEvent::StartFrames => "Frames".into(),
            ViewerEvent::Diagnostics { snapshot } => format!("Diagnostics({})", snapshot.is_some()),
            ViewerEvent::Feedback { rating, .. } => format!("Feedback({rating})"),
            ViewerEvent::Monitors { selected, .. } => format!("Monitors({selected:?})"),
            ViewerEvent::Showing { on, closed_by_user } => {
                format!("Showing({on},{closed_by_user})")
            }
            ViewerEvent::Reconnecting { .. } => "Reconnecting".into(),
            ViewerEvent::Resumed { viewing } => format!("Resumed({viewing})"),
            ViewerEvent::Recording(state) => format!("Recording({state:?})"),
            ViewerEvent::Finishing => "Finishing".into(),
            ViewerEvent::Ended(e) => format!("Ended({:?},{:?})", e.by, e.reason),
        })
        .collect()
}

#[test]
fn viewer_transitions() {
    let ctl = |c: Control| format!("{:?}", Transmit::Control(c));
    let pe = || vec![end(EndReason::ProtocolError)];
    let proto_err: &[&str] = &["Ended(Us,ProtocolError)"];
    let view_only = Control::Permissions {
        view: true,
        control: false,
        clipboard: false,
    };
    let rows: Vec<(&str, V, Vec<String>, &[&str])> = vec![
        (
            "waiting",
            V::Ctl(view_only.clone()),
            vec![],
            &["Perms(true,false)", "Frames"],
        ),
        (
            "waiting",
            V::Ctl(Control::Permissions {
                view: false,
                control: true,
                clipboard: true,
            }),
            pe(),
            proto_err,
        ),
        (
            "waiting",
            V::Cmd(ViewerCommand::RequestControl),
            vec![],
            &[],
        ),
        ("waiting", V::Decoded(0), pe(), proto_err),
        (
            "waiting",
            V::Ctl(Control::end(EndReason::ConsentDenied, "")),
            vec![],
            &["Ended(Peer,ConsentDenied)"],
        ),
        (
            "viewing",
            V::Cmd(ViewerCommand::RequestControl),
            vec![ctl(Control::RequestControl)],
            &[],
        ),
        (
            "requested",
            V::Cmd(ViewerCommand::RequestControl),
            vec![],
            &[],
        ),
        (
            "requested",
            V::Ctl(view_only.clone()),
            vec![],
            &["Perms(true,false)", "Declined"],
        ),
        (
            "control",
            V::Cmd(ViewerCommand::RequestControl),
            vec![],
            &[],
        ),
        (
            "viewing",
            V::Decoded(0),
            vec![ctl(Control::Ack { seq: 0 })],
            &[],
        ),
        ("viewing", V::Decoded(1), pe(), proto_err),
        ("viewing", V::Ctl(Control::hello("x")), pe(), proto_err),
        ("viewing", V::Ctl(Control::RequestControl), pe(), proto_err),
        ("viewing", V::Ctl(Control::Ack { seq: 0 }), pe(), proto_err),
        ("viewing", V::Ctl(Control::RequestKeyframe), pe(), proto_err),
        ("viewing", V::Ctl(Control::chat("x")), vec![], &[]),
        // Ending while viewing waits for the host (its user may be giving feedback).
        (
            "control",
            V::Cmd(ViewerCommand::End),
            vec![ctl(Control::Finish)],
            &["Finishing"],
        ),
        (
            "finishing",
            V::Cmd(ViewerCommand::End),
            vec![end(EndReason::ViewerEnded)],
            &["Ended(Us,ViewerEnded)"],
        ),
        (
            "finishing",
            V::Ctl(Control::end(EndReason::ViewerEnded, "")),
            vec![],
            &["Ended(Us,ViewerEnded)"],
        ),
        (
            "finishing",
            V::Ctl(Control::end(EndReason::HostEnded, "")),
            vec![],
            &["Ended(Peer,HostEnded)"],
        ),
        (
            "finishing",
            V::Ctl(Control::feedback(4, "ok")),
            vec![],
            &["Feedback(4)"],
        ),
        ("finishing", V::Decoded(0), vec![], &[]),
        (
            "finishing",
            V::Cmd(ViewerCommand::Record { on: true }),
            vec![],
            &[],
        ),
        (
            "waiting",
            V::Cmd(ViewerCommand::End),
            vec![end(EndReason::ViewerEnded)],
            &["Ended(Us,ViewerEnded)"],
        ),
        ("viewing", V::Ctl(Control::Finish), pe(), proto_err),
        // Recording: asked, answered, stopped by either side, and never without view.
        (
            "viewing",
            V::Cmd(ViewerCommand::Record { on: true }),
            vec![ctl(Control::Recording { on: true })],
            &["Recording(Asking)"],
        ),
        (
            "waiting",
            V::Cmd(ViewerCommand::Record { on: true }),
            vec![],
            &[],
        ),
        (
            "asking",
            V::Cmd(ViewerCommand::Record { on: true }),
            vec![],
            &[],
        ),
        (
            "asking",
            V::Ctl(Control::Recording { on: true }),
            vec![ctl(Control::RequestKeyframe)],
            &["Recording(On)"],
        ),
        (
            "asking",
            V::Ctl(Control::Recording { on: false }),
            vec![],
            &["Recording(Refused)"],
        ),
        (
            "asking",
            V::Cmd(ViewerCommand::Record { on: false }),
            vec![ctl(Control::Recording { on: false })],
            &["Recording(Off)"],
        ),
        (
            "viewing",
            V::Ctl(Control::Recording { on: true }),
            vec![],
            &[],
        ),
        (
            "recording",
            V::Ctl(Control::Recording { on: false }),
            vec![],
            &["Recording(Off)"],
        ),
        (
            "recording",
            V::Cmd(ViewerCommand::Record { on: false }),
            vec![ctl(Control::Recording { on: false })],
            &["Recording(Off)"],
        ),
        (
            "recording",
            V::Ctl(Control::Permissions {
                view: false,
                control: false,
                clipboard: false,
            }),
            vec![],
            &["Perms(false,false)", "Recording(Off)"],
        ),
        (
            "recording",
            V::Cmd(ViewerCommand::End),
            vec![ctl(Control::Finish)],
            &["Recording(Off)", "Finishing"],
        ),
        (
            "recording",
            V::Ctl(Control::end(EndReason::HostEnded, "")),
            vec![],
            &["Recording(Off)", "Ended(Peer,HostEnded)"],
        ),
        (
            "control",
            V::Ctl(Control::end(EndReason::HostEnded, "")),
            vec![],
            &["Ended(Peer,HostEnded)"],
        ),
        (
            "viewing",
            V::Gone(PeerGone::Left {
                detail: "gone".into(),
            }),
            vec![],
            &["Ended(Peer,HostEnded)"],
        ),
        (
            "viewing",
            V::Gone(PeerGone::Broken {
                detail: "bad".into(),
            }),
            pe(),
            proto_err,
        ),
        // Release control (issue 14): sent only while in control; the host's Permissions answer.
        (
            "control",
            V::Cmd(ViewerCommand::ReleaseControl),
            vec![ctl(Control::ReleaseControl)],
            &[],
        ),
        (
            "viewing",
            V::Cmd(ViewerCommand::ReleaseControl),
            vec![],
            &[],
        ),
        (
            "requested",
            V::Cmd(ViewerCommand::ReleaseControl),
            vec![],
            &[],
        ),
        (
            "waiting",
            V::Cmd(ViewerCommand::ReleaseControl),
            vec![],
            &[],
        ),
        (
            "finishing",
            V::Cmd(ViewerCommand::ReleaseControl),
            vec![],
            &[],
        ),
        ("done", V::Cmd(ViewerCommand::ReleaseControl), vec![], &[]),
        // The clipboard switch: told on change only, in any live stage.
        (
            "control",
            V::Cmd(ViewerCommand::SetClipboard { on: false }),
            vec![ctl(Control::ViewerClipboard { on: false })],
            &[],
        ),
        (
            "waiting",
            V::Cmd(ViewerCommand::SetClipboard { on: false }),
            vec![ctl(Control::ViewerClipboard { on: false })],
            &[],
        ),
        (
            "control",
            V::Cmd(ViewerCommand::SetClipboard { on: true }),
            vec![],
            &[],
        ),
        (
            "control_clip_off",
            V::Cmd(ViewerCommand::SetClipboard { on: false }),
            vec![],
            &[],
        ),
        (
            "control_clip_off",
            V::Cmd(ViewerCommand::SetClipboard { on: true }),
            vec![ctl(Control::ViewerClipboard { on: true })],
            &[],
        ),
        (
            "done",
            V::Cmd(ViewerCommand::SetClipboard { on: false }),
            vec![],
            &[],
        ),
        // Only a viewer sends these.
        ("viewing", V::Ctl(Control::ReleaseControl), pe(), proto_err),
        (
            "control",
            V::Ctl(Control::ViewerClipboard { on: true }),
            pe(),
            proto_err,
        ),
        ("done", V::Ctl(view_only), vec![], &[]),
        ("done", V::Cmd(ViewerCommand::End), vec![], &[]),
        ("done", V::Decoded(0), vec![], &[]),
    ];
    for (i, (from, step, sent, events)) in rows.into_iter().enumerate() {
        let now = Instant::now();
        let mut session = ViewerSession::new("Alex", now);
        for s in viewer_state(from) {
            apply_viewer(&mut session, s, now);
        }
        while session.poll_transmit().is_some() {}
        while session.poll_event().is_some() {}
        apply_viewer(&mut session, step, now);
        let context = format!("viewer row {i} (from {from})");
        assert_eq!(viewer_sent(&mut session), sent, "{context}: sent");
        assert_eq!(
            viewer_event_names(&mut session),
            names(events),
            "{context}: events"
        );
    }
}

#[test]
fn viewer_says_hello_first_and_sends_input_once_viewing() {
    let now = Instant::now();
    let mut session = ViewerSession::new("Alex (IT desk)", now);
    assert_eq!(
        session.poll_transmit(),
        Some(Transmit::Control(Control::hello("Alex (IT desk)")))
    );
    let key = Input::Key {
        keysym: 0x61,
        physical: 0,
        pressed: true,
    };
    assert!(!session.send_input(key.clone()), "nothing to point at yet");
    for s in viewer_state("viewing") {
        apply_viewer(&mut session, s, now);
    }
    while session.poll_transmit().is_some() {}
    assert!(session.send_input(key.clone()));
    assert_eq!(session.poll_transmit(), Some(Transmit::Input(key.clone())));
    session.handle_command(ViewerCommand::End, now);
    while session.poll_transmit().is_some() {}
    assert!(!session.send_input(key), "nothing after the end");
}

#[test]
fn viewer_keeps_the_hosts_prompt_budget() {
    let now = Instant::now();
    let mut session = ViewerSession::new("Alex", now);
    for s in viewer_state("viewing") {
        apply_viewer(&mut session, s, now);
    }
    let declined = Control::Permissions {
        view: true,
        control: false,
        clipboard: false,
    };
    let mut sent = 0;
    for _ in 0..10 {
        while session.poll_transmit().is_some() {}
        viewer_event_names(&mut session);
        session.handle_command(ViewerCommand::RequestControl, now);
        if session.poll_transmit() == Some(Transmit::Control(Control::RequestControl)) {
            sent += 1;
        }
        session.handle_control(declined.clone(), now);
    }
    assert_eq!(sent, CONTROL_PROMPT_BURST);
    viewer_event_names(&mut session);
    session.handle_command(ViewerCommand::RequestControl, now);
    assert_eq!(viewer_event_names(&mut session), names(&["NotSent"]));
    session.handle_command(ViewerCommand::RequestControl, now + CONTROL_PROMPT_REFILL);
    assert_eq!(
        session.poll_transmit(),
        Some(Transmit::Control(Control::RequestControl))
    );
}

/// The technician's clipboard switch acts on this side at once: with it off, nothing is sent
/// or taken even while the host (not yet told) still allows clipboards; back on, they flow again.
#[test]
fn viewer_clipboard_switch_applies_before_the_round_trip() {
    let now = Instant::now();
    let mut session = ViewerSession::new("Alex", now);
    for s in viewer_state("control") {
        apply_viewer(&mut session, s, now);
    }
    assert!(session.clipboard());
    session.handle_command(ViewerCommand::SetClipboard { on: false }, now);
    assert!(!session.clipboard() && !session.clipboard_wish());
    // The host's Permissions sent before it heard the switch still say shared.
    session.handle_control(
        Control::Permissions {
            view: true,
            control: true,
            clipboard: true,
        },
        now,
    );
    assert!(!session.clipboard(), "the technician's off holds");
    session.handle_command(ViewerCommand::SetClipboard { on: true }, now);
    assert!(session.clipboard(), "on again with the host's yes");
    // A viewer started with the switch off tells the host right after Hello.
    let mut off = ViewerSession::new("Alex", now).with_clipboard(false);
    assert_eq!(
        viewer_sent(&mut off),
        vec![
            format!("{:?}", Transmit::Control(Control::hello("Alex"))),
            format!(
                "{:?}",
                Transmit::Control(Control::ViewerClipboard { on: false })
            ),
        ]
    );
}

/// Issue 13: a finishing viewer that hears nothing ends the session itself at `FINISH_WAIT`.
#[test]
fn viewer_finishing_ends_itself_at_the_deadline() {
    let now = Instant::now();
    let mut session = ViewerSession::new("Alex", now);
    apply_viewer(&mut session, viewer_state("viewing").remove(0), now);
    session.handle_command(ViewerCommand::End, now);
    while session.poll_transmit().is_some() {}
    while session.poll_event().is_some() {}
    assert_eq!(session.poll_timeout(), Some(now + FINISH_WAIT));
    session.handle_timeout(now + FINISH_WAIT - Duration::from_millis(1));
    assert!(!session.is_ended());
    session.handle_timeout(now + FINISH_WAIT);
    assert_eq!(viewer_sent(&mut session), vec![end(EndReason::ViewerEnded)]);
    assert_eq!(
        viewer_event_names(&mut session),
        names(&["Ended(Us,ViewerEnded)"])
    );
}

/// Issue 13: the technician ends, the host's user is asked how it went, and the answer reaches the
/// viewer before the host's `End`; both sides say the technician ended it. The two machines are
/// wired together directly.
#[test]
fn technician_ends_and_the_user_still_gives_feedback() {
    let mut now = Instant::now();
    let mut host = HostSession::new(Some(Grant::View), now).with_feedback(true);
    let mut viewer = ViewerSession::new("Alex", now);
    let pump = |host: &mut HostSession, viewer: &mut ViewerSession, now: Instant| {
        for _ in 0..4 {
            while let Some(t) = viewer.poll_transmit() {
                if let Transmit::Control(c) = t {
                    host.handle_control(c, now);
                }
            }
            while let Some(t) = host.poll_transmit() {
                if let Transmit::Control(c) = t {
                    viewer.handle_control(c, now);
                }
            }
        }
    };
    pump(&mut host, &mut viewer, now);
    assert!(viewer.view());
    while host.poll_event().is_some() {}
    while viewer.poll_event().is_some() {}

    viewer.handle_command(ViewerCommand::End, now);
    pump(&mut host, &mut viewer, now);
    assert_eq!(
        host_event_names(&mut host),
        names(&["Perms(false,false)", "Feedback"])
    );
    assert!(!host.is_ended() && !viewer.is_ended());
    assert_eq!(
        viewer_event_names(&mut viewer),
        names(&["Finishing", "Perms(false,false)"])
    );

    now += Duration::from_secs(5);
    host.handle_command(
        HostCommand::Feedback {
            rating: 4,
            comment: "thanks".into(),
        },
        now,
    );
    pump(&mut host, &mut viewer, now);
    assert_eq!(
        host_event_names(&mut host),
        names(&["Ended(Peer,ViewerEnded)"])
    );
    assert_eq!(
        viewer_event_names(&mut viewer),
        names(&["Feedback(4)", "Ended(Us,ViewerEnded)"])
    );

    // Unanswered, the host ends at its own deadline, before the viewer's.
    let mut host = HostSession::new(Some(Grant::View), now).with_feedback(true);
    host.handle_control(Control::hello("Alex"), now);
    host.handle_control(Control::Finish, now);
    while host.poll_transmit().is_some() {}
    while host.poll_event().is_some() {}
    assert_eq!(host.poll_timeout(), Some(now + FEEDBACK_WAIT));
    const { assert!(FEEDBACK_WAIT.as_secs() < FINISH_WAIT.as_secs()) };
    host.handle_timeout(now + FEEDBACK_WAIT);
    assert_eq!(sent_names(&mut host), vec![end(EndReason::ViewerEnded)]);
    assert_eq!(
        host_event_names(&mut host),
        names(&["Ended(Peer,ViewerEnded)"])
    );
}

/// Recording requests share the prompt budget with control and diagnostics: a flood of them is
/// answered no without asking the user.
#[test]
fn host_recording_prompts_are_rate_limited() {
    let mut now = Instant::now();
    let mut session = HostSession::new(None, now);
    for step in host_state("sharing") {
        apply_host(&mut session, step, &mut now);
    }
    while session.poll_transmit().is_some() {}
    while session.poll_event().is_some() {}
    let mut asked = 0;
    for _ in 0..10 {
        session.handle_control(Control::Recording { on: true }, now);
        if host_event_names(&mut session).contains(&"Ask(Recording)".to_owned()) {
            asked += 1;
        }
        session.handle_command(
            HostCommand::Consent {
                grant: Grant::Recording,
                allow: false,
            },
            now,
        );
        while session.poll_transmit().is_some() {}
    }
    assert_eq!(asked, CONTROL_PROMPT_BURST);
    assert!(!session.recording());
}

#[test]
fn viewer_closes_at_once_on_the_hosts_end_and_after_grace_on_its_own() {
    let now = Instant::now();
    let mut session = ViewerSession::new("Alex", now);
    session.handle_control(Control::end(EndReason::HostEnded, ""), now);
    assert!(session.poll_close(now));

    let mut session = ViewerSession::new("Alex", now);
    session.handle_command(ViewerCommand::End, now);
    assert_eq!(session.poll_timeout(), Some(now + END_GRACE));
    assert!(!session.poll_close(now));
    assert!(session.poll_close(now + END_GRACE));
}

/// Issue 10: the host lists its monitors once sharing, shows the one holding the pointer, switches
/// on the viewer's choice, follows layout changes, and maps pointer input and cursor positions
/// through the shown area.
#[test]
fn host_monitors_select_map_input_and_follow_layout_changes() {
    use crate::session::{FrameMsg, MonitorInfo};
    let layout = |width: u16, monitors: &[(&str, i16, u16)]| Layout {
        width,
        height: 600,
        monitors: monitors
            .iter()
            .map(|&(name, x, w)| MonitorInfo::new(name, x, 0, w, 600, x == 0))
            .collect(),
    };
    let two = layout(1600, &[("L", 0, 800), ("R", 800, 800)]);
    let mut now = Instant::now();
    let mut session = HostSession::new(None, now);
    // Before sharing, a layout is not announced.
    session.handle_layout(two.clone(), Some((1000, 10)));
    assert!(
        sent_names(&mut session)
            .iter()
            .all(|s| !s.contains("Monitors"))
    );
    for step in host_state("control") {
        apply_host(&mut session, step, &mut now);
    }
    host_event_names(&mut session);
    sent_names(&mut session);
    session.handle_layout(two.clone(), Some((1000, 10)));
    let area = |x, width| {
        Some(Area {
            x,
            y: 0,
            width,
            height: 600,
        })
    };
    assert_eq!(session.capture_area(), area(800, 800));
    let sent: Vec<_> = std::iter::from_fn(|| session.poll_transmit()).collect();
    assert!(matches!(
        &sent[0],
        Transmit::Control(Control::Monitors { selected: Some(1), monitors, .. }) if monitors.len() == 2
    ));
    assert_eq!(
        sent[1],
        Transmit::Frame(FrameMsg::CursorPosition {
            x: 200,
            y: 10,
            visible: true
        })
    );
    // Input lands on the shown monitor, clamped into it.
    assert_eq!(
        session.handle_input(Input::PointerMove { x: 5, y: 6 }, now),
        Some(Input::PointerMove { x: 805, y: 6 })
    );
    assert_eq!(
        session.handle_input(Input::PointerMove { x: 900, y: 900 }, now),
        Some(Input::PointerMove { x: 1599, y: 599 })
    );
    // The viewer picks the whole desktop, then L.
    session.handle_control(Control::SelectMonitor { index: None }, now);
    assert_eq!(session.capture_area(), area(0, 1600));
    session.handle_control(Control::SelectMonitor { index: Some(0) }, now);
    assert_eq!(session.capture_area(), area(0, 800));
    sent_names(&mut session);
    // The pointer on R is outside the shown area: hidden.
    session.send_cursor(1000, 10, true);
    assert_eq!(
        session.poll_transmit(),
        Some(Transmit::Frame(FrameMsg::CursorPosition {
            x: 1000,
            y: 10,
            visible: false
        }))
    );
    // The desktop is resized and L shrinks: the area follows, the viewer is told.
    session.handle_layout(layout(1280, &[("L", 0, 640), ("R", 640, 640)]), None);
    assert_eq!(session.capture_area(), area(0, 640));
    assert!(sent_names(&mut session)[0].starts_with("Control(Monitors"));
    // Only a viewer sends SelectMonitor; only a host Monitors.
    let mut host = HostSession::new(None, now);
    for step in host_state("sharing") {
        apply_host(&mut host, step, &mut now);
    }
    host.handle_control(
        Control::Monitors {
            width: 1,
            height: 1,
            monitors: Vec::new(),
            selected: None,
        },
        now,
    );
    assert!(host.is_ended());
}

/// Issue 8: the cursor's image and the host's statistics go out only while the screen is shared,
/// and a shape that breaks the wire limits is never queued.
#[test]
fn host_sends_cursor_shapes_and_stats_only_while_sharing() {
    use crate::session::{FrameMsg, HostStats};
    let mut now = Instant::now();
    let mut session = HostSession::new(None, now);
    let stats = HostStats {
        encode_us: 900,
        lossy_permille: 250,
        rtt_us: 3_000,
    };
    assert!(!session.send_cursor_shape((1, 1), (0, 0), vec![0; 4]));
    session.send_stats(stats);
    assert!(
        sent_names(&mut session)
            .iter()
            .all(|s| !s.contains("Cursor") && !s.contains("Stats"))
    );
    for step in host_state("sharing") {
        apply_host(&mut session, step, &mut now);
    }
    sent_names(&mut session);
    assert!(session.send_cursor_shape((2, 1), (1, 0), vec![7; 8]));
    assert_eq!(
        session.poll_transmit(),
        Some(Transmit::Frame(FrameMsg::CursorShape {
            width: 2,
            height: 1,
            hot_x: 1,
            hot_y: 0,
            rgba: vec![7; 8]
        }))
    );
    // Wrong length, or a side past the cap: refused here rather than by the viewer's decoder.
    assert!(!session.send_cursor_shape((2, 1), (0, 0), vec![7; 7]));
    assert!(!session.send_cursor_shape((257, 1), (0, 0), vec![7; 257 * 4]));
    assert_eq!(session.poll_transmit(), None);
    session.send_stats(stats);
    assert_eq!(
        session.poll_transmit(),
        Some(Transmit::Frame(FrameMsg::Stats(stats)))
    );
}

#[test]
fn show_my_screen_both_ways_with_the_user_closing_it() {
    let mut now = Instant::now();
    let show = |on| ViewerCommand::ShowScreen { on };
    let shown = |on| Control::ShowScreen { on };
    // The viewer: nothing goes out before it shows, updates numbered from 0 while it does.
    let mut viewer = ViewerSession::new("Alex", now);
    viewer_sent(&mut viewer);
    assert!(!viewer.send_shown_update(vec![1]));
    viewer.handle_command(show(true), now);
    assert_eq!(viewer_event_names(&mut viewer), ["Showing(true,false)"]);
    assert!(viewer.send_shown_update(vec![1]) && viewer.send_shown_update(vec![2]));
    let sent = viewer_sent(&mut viewer);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent[0].contains("ShowScreen { on: true }"), "{sent:?}");
    assert!(
        sent[1].contains("seq: 0") && sent[2].contains("seq: 1"),
        "{sent:?}"
    );
    // The user closes it: the viewer stops; a second close changes nothing.
    viewer.handle_control(shown(false), now);
    viewer.handle_control(shown(false), now);
    assert_eq!(viewer_event_names(&mut viewer), ["Showing(false,true)"]);
    assert!(!viewer.send_shown_update(vec![3]));
    // Only the viewer may start it.
    viewer.handle_control(shown(true), now);
    assert_eq!(viewer_event_names(&mut viewer), ["Ended(Us,ProtocolError)"]);

    // The host: shown from the first message after Hello, dropped once closed.
    let mut host = HostSession::new(None, now);
    for step in host_state("ask_view") {
        apply_host(&mut host, step, &mut now);
    }
    sent_names(&mut host);
    host_event_names(&mut host);
    let update = || FrameMsg::Update {
        seq: 0,
        payload: vec![1],
    };
    assert_eq!(host.handle_shown_frame(update()), None, "not shown yet");
    host.handle_control(shown(true), now);
    assert_eq!(host_event_names(&mut host), ["Shown(true)"]);
    assert!(host.shown_screen());
    assert_eq!(host.handle_shown_frame(update()), Some(update()));
    host.handle_command(HostCommand::CloseShownScreen, now);
    assert_eq!(host_event_names(&mut host), ["Shown(false)"]);
    assert_eq!(
        sent_names(&mut host),
        [format!("{:?}", Transmit::Control(shown(false)))]
    );
    assert_eq!(
        host.handle_shown_frame(update()),
        None,
        "in flight after the close"
    );
    // The technician shows it again, then the session ends: nothing is shown after the end.
    host.handle_control(shown(true), now);
    host.handle_command(HostCommand::Stop, now);
    assert!(!host.shown_screen());
    assert_eq!(host.handle_shown_frame(update()), None);
}
