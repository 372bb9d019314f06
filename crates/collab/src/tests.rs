//! The tools against a real session machine, without a network: what a hostile or broken peer's
//! offers and answers get.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tandem_proto::flow::{Grant, HostCommand, HostSession, Transmit};

use super::*;

fn sharing_host() -> HostSession {
    let now = Instant::now();
    let mut host = HostSession::new(Some(Grant::View), now);
    host.handle_control(Control::hello("Alex"), now);
    while host.poll_transmit().is_some() {}
    while host.poll_event().is_some() {}
    host
}

fn tools(downloads: &std::path::Path, accept_files: bool) -> (Collab, Arc<Mutex<Vec<Notice>>>) {
    let notices: Arc<Mutex<Vec<Notice>>> = Arc::default();
    let sink = notices.clone();
    let collab = Collab::new(
        CollabConfig {
            downloads: downloads.to_owned(),
            accept_files,
            system_clipboard: false,
            peer: "The technician",
        },
        move |n| sink.lock().unwrap().push(n),
    );
    (collab, notices)
}

fn offer(id: u32, paths: &[&str]) -> CollabEvent {
    CollabEvent::File(Control::FileOffer {
        id,
        name: "x".into(),
        entries: paths
            .iter()
            .enumerate()
            .map(|(i, p)| FileEntry {
                path: (*p).into(),
                size: 10,
                key: [i as u8; 16],
            })
            .collect(),
    })
}

fn sent(host: &mut HostSession) -> Vec<Control> {
    std::iter::from_fn(|| host.poll_transmit())
        .filter_map(|t| match t {
            Transmit::Control(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn hostile_offers_are_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let downloads = dir.path().join("dl");
    let (mut collab, notices) = tools(&downloads, true);
    let mut host = sharing_host();
    let hostile = [
        "../../etc/passwd",
        "/etc/passwd",
        "a/../../b",
        "CON.txt",
        "ok/\u{1b}[2Jevil",
        "C:\\Windows\\x",
        ".tandem-partial/x.part",
        "",
    ];
    for (id, path) in hostile.iter().enumerate() {
        collab.handle_event(&mut host, offer(id as u32, &["fine.txt", path]));
        let answers = sent(&mut host);
        assert_eq!(
            answers,
            vec![Control::FileAnswer {
                id: id as u32,
                accept: false,
                resume_from: vec![]
            }],
            "{path:?}"
        );
    }
    // An empty offer too (it would never finish).
    collab.handle_event(&mut host, offer(99, &[]));
    assert!(matches!(
        sent(&mut host).as_slice(),
        [Control::FileAnswer { accept: false, .. }]
    ));
    let notices = notices.lock().unwrap();
    assert_eq!(notices.len(), hostile.len() + 1);
    for notice in notices.iter() {
        let Notice::FileFailed { reason, .. } = notice else {
            panic!("{notice:?}");
        };
        let reason = reason.to_string();
        assert!(reason.starts_with("Refused"), "{reason}");
        assert!(!reason.contains('\u{1b}'), "{reason}");
    }
    // Nothing was created, not even the download folder.
    assert!(!downloads.exists());
    assert!(!host.is_ended());
}

#[test]
fn data_and_answers_for_unknown_transfers_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (mut collab, notices) = tools(dir.path(), false);
    let mut host = sharing_host();
    collab.handle_event(
        &mut host,
        CollabEvent::FileData(Bulk::FileData {
            id: 5,
            entry: 0,
            offset: 0,
            data: vec![1; 10],
        }),
    );
    collab.handle_event(
        &mut host,
        CollabEvent::File(Control::FileAnswer {
            id: 5,
            accept: true,
            resume_from: vec![0],
        }),
    );
    collab.handle_event(
        &mut host,
        CollabEvent::File(Control::file_cancel(5, true, "x")),
    );
    collab.handle_event(
        &mut host,
        CollabEvent::File(Control::FileReceived { id: 5 }),
    );
    assert!(collab.wants_bulk());
    assert!(sent(&mut host).is_empty());
    assert!(notices.lock().unwrap().is_empty());
    // An offer nobody answered yet is answered only once, and a second offer with its id is refused.
    collab.handle_event(&mut host, offer(1, &["a.txt"]));
    collab.handle_event(&mut host, offer(1, &["b.txt"]));
    assert!(matches!(
        sent(&mut host).as_slice(),
        [Control::FileCancel { id: 1, .. }]
    ));
}

#[tokio::test]
async fn an_impossible_resume_offset_cancels_the_send() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.bin");
    std::fs::write(&file, vec![7u8; 1000]).unwrap();
    let (mut collab, notices) = tools(dir.path(), false);
    let mut host = sharing_host();
    let (bulk, _bulk_rx) = mpsc::channel(4);
    collab.set_bulk(Some(bulk));
    collab.handle_command(&mut host, CollabCommand::SendPath(file));
    let work = collab.next_work().await;
    collab.handle_work(&mut host, work);
    assert!(matches!(
        sent(&mut host).as_slice(),
        [Control::FileOffer { id: 0, .. }]
    ));
    // Past the end of the file (and not a chunk boundary).
    collab.handle_event(
        &mut host,
        CollabEvent::File(Control::FileAnswer {
            id: 0,
            accept: true,
            resume_from: vec![5000],
        }),
    );
    assert!(matches!(
        sent(&mut host).as_slice(),
        [Control::FileCancel {
            id: 0,
            sender_side: true,
            ..
        }]
    ));
    let notices = notices.lock().unwrap();
    assert!(
        matches!(
            notices.last(),
            Some(Notice::FileFailed {
                reason: FailReason::ImpossibleResume,
                ..
            })
        ),
        "{notices:?}"
    );
    // The host session is unharmed.
    host.handle_command(HostCommand::Stop, Instant::now());
}
