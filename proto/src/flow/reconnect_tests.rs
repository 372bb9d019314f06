//! The lost-link transitions of PROTOCOL.md §9 on both machines: loss → reconnecting → resumed,
//! loss → grace over → ended, and an explicit end while reconnecting.

use std::time::{Duration, Instant};

use super::*;
use crate::session::{Control, EndReason, FrameMsg, Input};

const GRACE: Duration = Duration::from_secs(60);

fn lost() -> PeerGone {
    PeerGone::Left {
        detail: "The technician left: timed out".into(),
    }
}

fn drain<T>(next: impl FnMut() -> Option<T>) -> Vec<T> {
    std::iter::from_fn(next).collect()
}

/// A host sharing with control granted, its queues emptied.
fn host_with_control(now: Instant) -> HostSession {
    let mut host = HostSession::new(None, now).with_reconnect(Some(GRACE));
    host.handle_control(Control::hello("Alex"), now);
    host.handle_command(
        HostCommand::Consent {
            grant: Grant::View,
            allow: true,
        },
        now,
    );
    host.handle_command(
        HostCommand::Consent {
            grant: Grant::Control,
            allow: true,
        },
        now,
    );
    drain(|| host.poll_transmit());
    drain(|| host.poll_event());
    host
}

#[test]
fn host_loss_then_resume_keeps_the_consent_and_restarts_from_a_fresh_window() {
    let now = Instant::now();
    let mut host = host_with_control(now);
    assert_eq!(host.send_update(vec![1]), Ok(0));
    assert!(host.control_allowed());
    let epoch = host.input_epoch();

    host.handle_peer_gone(lost(), now);
    assert!(host.is_reconnecting());
    assert!(!host.is_ended());
    assert_eq!(
        drain(|| host.poll_event()),
        vec![HostEvent::Reconnecting { grace: GRACE }]
    );
    // Nothing is shared and no input applies while the link is lost; queued updates are moot.
    assert!(!host.control_allowed());
    assert!(host.input_epoch() > epoch);
    assert_eq!(host.poll_transmit(), None);
    assert_eq!(host.send_update(vec![2]), Err(UpdateRefused::NotSharing));
    assert_eq!(
        host.handle_input(Input::PointerMove { x: 1, y: 1 }, now),
        None
    );
    assert_eq!(host.poll_timeout(), Some(now + GRACE));
    // A second report of the same loss (another stream's reader) changes nothing.
    host.handle_peer_gone(lost(), now);
    assert!(
        drain(|| host.poll_event())
            .iter()
            .all(|e| *e == HostEvent::InputDropped),
    );

    let later = now + Duration::from_secs(5);
    host.handle_resumed(later);
    assert!(!host.is_reconnecting());
    assert!(host.control_allowed());
    let events = drain(|| host.poll_event());
    assert!(
        events.contains(&HostEvent::Resumed { streaming: true }),
        "{events:?}"
    );
    // No question is asked again: the grant stands and is told to the viewer afresh.
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, HostEvent::ConsentNeeded { .. })),
        "{events:?}"
    );
    assert_eq!(
        host.poll_transmit(),
        Some(Transmit::Control(Control::Permissions {
            view: true,
            control: true,
            clipboard: true,
        }))
    );
    // Updates count from 0 again on the new frames stream.
    assert_eq!(host.send_update(vec![3]), Ok(0));
    assert!(matches!(
        drain(|| host.poll_transmit()).last(),
        Some(Transmit::Frame(FrameMsg::Update { seq: 0, .. }))
    ));
}

#[test]
fn host_ends_with_the_reason_when_the_grace_runs_out() {
    let now = Instant::now();
    let mut host = host_with_control(now);
    host.handle_peer_gone(lost(), now);
    drain(|| host.poll_event());
    host.handle_timeout(now + GRACE - Duration::from_millis(1));
    assert!(!host.is_ended());
    host.handle_timeout(now + GRACE);
    assert!(host.is_ended());
    let events = drain(|| host.poll_event());
    let Some(HostEvent::Ended(ending)) = events.last() else {
        panic!("no end: {events:?}");
    };
    assert_eq!(ending.by, EndedBy::Peer);
    assert_eq!(
        ending.detail,
        "The connection was lost and could not be restored within 60 s."
    );
    // Nobody to send an End to: close at once.
    assert_eq!(host.poll_transmit(), None);
    assert!(host.poll_close(now + GRACE));
    // A resume that comes too late changes nothing.
    host.handle_resumed(now + GRACE);
    assert_eq!(host.poll_event(), None);
}

#[test]
fn a_hopeless_reconnect_ends_at_once_with_its_reason_on_both_sides() {
    let now = Instant::now();
    let mut host = host_with_control(now);
    // Not reconnecting: nothing to give up.
    host.handle_reconnect_failed("moot".into(), now);
    assert!(!host.is_ended());
    host.handle_peer_gone(lost(), now);
    host.handle_reconnect_failed("the relay's certificate changed".into(), now);
    assert!(host.is_ended());
    assert!(matches!(
        drain(|| host.poll_event()).last(),
        Some(HostEvent::Ended(e)) if e.why == super::EndWhy::ReconnectFailed {
            detail: "the relay's certificate changed".into()
        } && e.detail == "The connection was lost and cannot be restored: the relay's certificate changed"
    ));
    let mut viewer = viewing(now);
    viewer.handle_peer_gone(lost(), now);
    viewer.handle_reconnect_failed("the relay's certificate changed".into(), now);
    assert!(viewer.is_ended());
    assert!(viewer.poll_close(now));
}

#[test]
fn host_stop_while_reconnecting_ends_at_once_without_asking_feedback() {
    let now = Instant::now();
    let mut host = host_with_control(now).with_feedback(true);
    host.handle_peer_gone(lost(), now);
    drain(|| host.poll_event());
    host.handle_command(HostCommand::Stop, now);
    assert!(host.is_ended());
    let events = drain(|| host.poll_event());
    assert!(
        matches!(events.last(), Some(HostEvent::Ended(e)) if e.by == EndedBy::Us && e.reason == EndReason::HostEnded),
        "{events:?}"
    );
    assert!(!events.contains(&HostEvent::FeedbackWanted));
    assert!(host.poll_close(now));
}

#[test]
fn without_a_grace_or_before_hello_or_on_a_broken_stream_the_loss_ends_the_session() {
    let now = Instant::now();
    let mut host = HostSession::new(None, now);
    host.handle_control(Control::hello("Alex"), now);
    host.handle_peer_gone(lost(), now);
    assert!(host.is_ended());

    let mut waiting = HostSession::new(None, now).with_reconnect(Some(GRACE));
    waiting.handle_peer_gone(lost(), now);
    assert!(waiting.is_ended(), "no Hello yet: nothing to resume");

    let mut broken = host_with_control(now);
    broken.handle_peer_gone(
        PeerGone::Broken {
            detail: "bad seal".into(),
        },
        now,
    );
    assert!(broken.is_ended());

    let mut viewer = ViewerSession::new("Alex", now).with_reconnect(Some(Duration::ZERO));
    viewer.handle_peer_gone(lost(), now);
    assert!(viewer.is_ended(), "a zero grace disables reconnecting");
}

fn viewing(now: Instant) -> ViewerSession {
    let mut viewer = ViewerSession::new("Alex", now).with_reconnect(Some(GRACE));
    viewer.handle_control(
        Control::Permissions {
            view: true,
            control: true,
            clipboard: false,
        },
        now,
    );
    viewer.handle_update_decoded(0, now);
    viewer.handle_update_decoded(1, now);
    drain(|| viewer.poll_transmit());
    drain(|| viewer.poll_event());
    viewer
}

#[test]
fn viewer_loss_then_resume_counts_updates_from_zero_on_the_new_link() {
    let now = Instant::now();
    let mut viewer = viewing(now);
    viewer.handle_peer_gone(lost(), now);
    assert!(viewer.is_reconnecting());
    assert_eq!(
        drain(|| viewer.poll_event()),
        vec![ViewerEvent::Reconnecting { grace: GRACE }]
    );
    // Nothing is sent on a lost link; a late decode of the old link is not acknowledged.
    assert!(!viewer.send_input(Input::PointerMove { x: 1, y: 1 }));
    viewer.handle_update_decoded(2, now);
    assert_eq!(viewer.poll_transmit(), None);
    assert!(!viewer.is_ended());

    viewer.handle_resumed(now + Duration::from_secs(3));
    assert_eq!(
        drain(|| viewer.poll_event()),
        vec![ViewerEvent::Resumed { viewing: true }]
    );
    assert!(viewer.send_input(Input::PointerMove { x: 1, y: 1 }));
    viewer.handle_update_decoded(0, now);
    assert!(!viewer.is_ended());
    assert!(drain(|| viewer.poll_transmit()).contains(&Transmit::Control(Control::Ack { seq: 0 })));
    // The host's Permissions after the resume is not a new grant: no second StartFrames.
    viewer.handle_control(
        Control::Permissions {
            view: true,
            control: true,
            clipboard: false,
        },
        now,
    );
    assert!(!drain(|| viewer.poll_event()).contains(&ViewerEvent::StartFrames));
}

#[test]
fn viewer_ends_with_the_reason_after_the_grace_and_at_once_on_end() {
    let now = Instant::now();
    let mut viewer = viewing(now);
    viewer.handle_peer_gone(lost(), now);
    drain(|| viewer.poll_event());
    assert_eq!(viewer.poll_timeout(), Some(now + GRACE));
    viewer.handle_timeout(now + GRACE);
    let events = drain(|| viewer.poll_event());
    assert!(
        matches!(events.last(), Some(ViewerEvent::Ended(e)) if e.detail == "The connection was lost and could not be restored within 60 s."),
        "{events:?}"
    );

    let mut ending = viewing(now);
    ending.handle_peer_gone(lost(), now);
    ending.handle_command(ViewerCommand::End, now);
    assert!(ending.is_ended());
    assert_eq!(ending.poll_transmit(), None, "no End on a lost link");
    assert!(ending.poll_close(now));
}

#[test]
fn show_my_screen_ends_with_a_lost_link_on_both_sides_and_waits_for_it() {
    let now = Instant::now();
    let mut host = host_with_control(now);
    host.handle_control(Control::ShowScreen { on: true }, now);
    assert!(host.shown_screen());
    drain(|| host.poll_event());
    host.handle_peer_gone(lost(), now);
    let events = drain(|| host.poll_event());
    assert!(
        events.contains(&HostEvent::ShownScreen { on: false }),
        "{events:?}"
    );
    assert!(!host.shown_screen());

    let mut viewer = viewing(now);
    viewer.handle_command(ViewerCommand::ShowScreen { on: true }, now);
    drain(|| viewer.poll_event());
    drain(|| viewer.poll_transmit());
    viewer.handle_peer_gone(lost(), now);
    let events = drain(|| viewer.poll_event());
    assert!(
        events.contains(&ViewerEvent::Showing {
            on: false,
            closed_by_user: false
        }),
        "{events:?}"
    );
    // Not while the link is lost: nothing could carry it.
    viewer.handle_command(ViewerCommand::ShowScreen { on: true }, now);
    assert!(!viewer.showing());
    assert!(!viewer.send_shown_update(vec![1]));
    viewer.handle_resumed(now);
    viewer.handle_command(ViewerCommand::ShowScreen { on: true }, now);
    assert!(viewer.showing());
}

/// The technician's clipboard switch may have been lost with the old link: after a resume the
/// viewer says it again, so the host never goes back to sharing against the technician's wish.
#[test]
fn viewer_repeats_its_clipboard_switch_after_a_resume() {
    let now = Instant::now();
    let mut viewer = viewing(now);
    drain(|| viewer.poll_transmit());
    // Never switched: nothing to repeat.
    viewer.handle_peer_gone(lost(), now);
    viewer.handle_resumed(now);
    assert_eq!(drain(|| viewer.poll_transmit()), vec![]);
    viewer.handle_command(ViewerCommand::SetClipboard { on: false }, now);
    viewer.handle_peer_gone(lost(), now);
    viewer.handle_resumed(now);
    assert_eq!(
        drain(|| viewer.poll_transmit()),
        vec![Transmit::Control(Control::ViewerClipboard { on: false })]
    );
    assert!(!viewer.clipboard(), "still off on this side");
}
