//! `Sealer::seal` is allocation-free once the output buffer has capacity, and `Opener::open` is once
//! its scratch buffer has grown (for messages without owned fields). Checked with a counting global
//! allocator; this file holds one test so nothing else allocates concurrently.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tandem_proto::Direction;
use tandem_proto::StreamKind;
use tandem_proto::code::SessionCode;
use tandem_proto::handshake::{HostHandshake, ViewerHandshake};
use tandem_proto::session::{Control, FrameMsg};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// The one unsafe item in this crate's tests: a GlobalAlloc must be an `unsafe impl`. It forwards every
// call to the system allocator unchanged and only counts allocations.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn seal_and_open_do_not_allocate_once_warm() {
    let code = SessionCode::parse("482 193 715").expect("code");
    let relay = [3u8; 32];
    let mut host = HostHandshake::new(&code, &relay);
    let (viewer, hello) = ViewerHandshake::start(&code, &relay);
    let reply = host.on_viewer_hello(hello).expect("host hello");
    let (confirm, viewer_keys) = viewer.on_host_hello(reply).expect("viewer keys");
    let host_keys = host.on_viewer_confirm(confirm).expect("host keys");

    let mut sealer = host_keys.sealer(StreamKind::Frames, Direction::HostToViewer);
    let mut opener = viewer_keys.opener(StreamKind::Frames, Direction::HostToViewer);
    let update = FrameMsg::Update {
        seq: 0,
        payload: vec![0x5A; 64 * 1024],
    };
    let cursor = FrameMsg::CursorPosition {
        x: 10,
        y: -3,
        visible: true,
    };
    let mut out = Vec::with_capacity(1 << 20);
    // Warm up: the opener's scratch grows to the largest record.
    sealer.seal(&update, &mut out).expect("seal");
    let _: FrameMsg = opener.open(&out[4..]).expect("open");
    out.clear();

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..100 {
        sealer.seal(&update, &mut out).expect("seal");
        out.clear();
        sealer.seal(&cursor, &mut out).expect("seal");
        out.clear();
    }
    let sealing = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(sealing, 0, "seal allocated {sealing} times");

    let mut control_sealer = host_keys.sealer(StreamKind::Control, Direction::HostToViewer);
    let mut control_opener = viewer_keys.opener(StreamKind::Control, Direction::HostToViewer);
    control_sealer
        .seal(&Control::Ack { seq: 0 }, &mut out)
        .expect("seal");
    let _: Control = control_opener.open(&out[4..]).expect("open");
    out.clear();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for seq in 1..100 {
        control_sealer
            .seal(&Control::Ack { seq }, &mut out)
            .expect("seal");
        let opened: Control = control_opener.open(&out[4..]).expect("open");
        assert!(opened == Control::Ack { seq });
        out.clear();
    }
    let round_trips = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(round_trips, 0, "seal+open allocated {round_trips} times");
}
