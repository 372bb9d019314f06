//! The capture thread: grabs the screen, encodes it, and hands updates to the session loop, never
//! more than the session's flow-control window allows (so a slow link gets fewer, fresher frames
//! rather than a queue).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tandem_codec::{Encoder, EncoderConfig, FrameRef, Rect};
use tandem_proto::flow::{Area, Layout};
use tokio::sync::mpsc;
use tracing::warn;

use crate::capture::{FrameSource, ScrapSource};
use crate::cursor::{CursorImage, CursorWatcher};

/// What the capture thread hands the session loop.
#[derive(Debug)]
pub enum Captured {
    /// Encoded codec bytes for the next update, and what encoding it took.
    Update {
        payload: Vec<u8>,
        encoded: EncodeCost,
    },
    /// The pointer's image changed (and once when capture starts).
    CursorShape(CursorImage),
    /// The pointer moved.
    Pointer { x: i32, y: i32 },
    /// The desktop's layout, when capture starts and after every change: give it to the session
    /// machine, then set the area it decides with [`FrameControl::set_area`] and acknowledge
    /// `generation` with [`FrameControl::layout_seen`] (capture waits for that, briefly).
    Layout {
        layout: Layout,
        pointer: Option<(i32, i32)>,
        generation: u64,
    },
}

/// What encoding one update took, for the viewer's statistics overlay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeCost {
    pub time: Duration,
    pub lossy_pixels: u64,
    pub total_pixels: u64,
}

/// Shared between the capture thread and the session loop: how many updates the session's window
/// allows (set by the loop from `HostSession::update_limit`), how many the thread produced, a stop
/// flag and keyframe requests.
pub struct FrameControl {
    credits: Mutex<Credits>,
    changed: Condvar,
    stop: AtomicBool,
    keyframe: AtomicBool,
}

#[derive(Default)]
struct Credits {
    /// Updates with an index below this may be produced.
    limit: u64,
    produced: u64,
    /// The part of the screen to encode (`None`: all of it), as the session machine decides.
    area: Option<Area>,
    /// The last layout generation the session loop handled.
    layout_seen: u64,
    /// Adaptation's quality for photographic regions and least time between captures (`None`:
    /// the configured ones).
    target: Option<(u8, Duration)>,
}

impl FrameControl {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            credits: Mutex::new(Credits::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            keyframe: AtomicBool::new(false),
        })
    }

    /// The session's window now allows updates below `limit` (it never decreases).
    pub fn set_limit(&self, limit: u64) {
        let mut credits = self.lock();
        if limit > credits.limit {
            credits.limit = limit;
            self.changed.notify_all();
        }
    }

    /// The part of the screen to capture from now on (a change makes the next update a keyframe).
    pub fn set_area(&self, area: Option<Area>) {
        self.lock().area = area;
    }

    /// Encode photographic regions at `quality` and capture at most once per `frame_interval` from
    /// now on (adaptation; a change of quality makes the next update a keyframe).
    pub fn set_target(&self, quality: u8, frame_interval: Duration) {
        self.lock().target = Some((quality, frame_interval));
    }

    fn target(&self) -> Option<(u8, Duration)> {
        self.lock().target
    }

    /// The session loop handled layout `generation` (and set the area that follows from it).
    pub fn layout_seen(&self, generation: u64) {
        let mut credits = self.lock();
        credits.layout_seen = credits.layout_seen.max(generation);
        self.changed.notify_all();
    }

    fn area(&self) -> Option<Area> {
        self.lock().area
    }

    /// Waits until layout `generation` was handled, at most `timeout`, so the first picture after
    /// a change already shows the right area.
    fn wait_layout_seen(&self, generation: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut credits = self.lock();
        while credits.layout_seen < generation && !self.stopped() {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return;
            };
            credits = match self.changed.wait_timeout(credits, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    pub fn request_keyframe(&self) {
        self.keyframe.store(true, Ordering::Relaxed);
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.changed.notify_all();
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Credits> {
        self.credits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until another update may be produced; false when stopping.
    fn wait_for_credit(&self) -> bool {
        let mut credits = self.lock();
        while credits.produced >= credits.limit {
            if self.stopped() {
                return false;
            }
            credits = match self
                .changed
                .wait_timeout(credits, Duration::from_millis(200))
            {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        !self.stopped()
    }

    fn take_credit(&self) {
        self.lock().produced += 1;
    }
}

/// Starts capture on its own thread (scrap's capturer must stay on the thread that made it).
/// The thread ends when `control.stop()` is called or the receiver is dropped; an error it met is
/// its result.
pub fn spawn_capture(
    encoder: EncoderConfig,
    max_fps: u32,
    control: Arc<FrameControl>,
    out: mpsc::Sender<Captured>,
) -> std::io::Result<JoinHandle<Result<(), String>>> {
    std::thread::Builder::new()
        .name("tandem-capture".into())
        .spawn(move || {
            let mut source = ScrapSource::primary().map_err(|e| e.to_string())?;
            // The pointer's image comes from its own thread, for as long as capture runs.
            let shapes = out.clone();
            let _cursor = CursorWatcher::start(move |image| {
                shapes.blocking_send(Captured::CursorShape(image)).is_ok()
            })
            .inspect_err(|e| warn!(error = %e, "no cursor images; the viewer draws a marker"))
            .ok();
            capture_loop(&mut source, encoder, max_fps, &control, &out)
        })
}

/// How often the pointer position is read while the screen holds still (pointer motion is not
/// screen damage): fast enough that the remote pointer follows smoothly.
const POINTER_POLL: Duration = Duration::from_millis(16);

/// How often the layout is read again without being told it changed (not every change of RandR
/// monitors is announced by an event).
const LAYOUT_POLL: Duration = Duration::from_millis(500);

/// Captures that may fail in a row (while a resize settles) before capture gives up.
const MAX_CAPTURE_FAILURES: u32 = 10;

/// How long capture waits for the session loop to take in a new layout before going on.
const LAYOUT_HANDOVER: Duration = Duration::from_secs(1);

/// `area` of `frame`, cut to the frame (a layout may be a step ahead of or behind the capture);
/// the whole frame if nothing of the area is in it.
fn crop(frame: FrameRef<'_>, area: Option<Area>) -> FrameRef<'_> {
    let Some(shown) = shown_part(area, frame.width, frame.height) else {
        return frame;
    };
    let start = shown.y as usize * frame.stride + shown.x as usize * 4;
    FrameRef {
        width: shown.w,
        height: shown.h,
        stride: frame.stride,
        data: frame.data.get(start..).unwrap_or_default(),
    }
}

/// The part of a `width` x `height` frame that `area` shows; `None` (the whole frame is used)
/// without an area or when it lies wholly outside the frame.
fn shown_part(area: Option<Area>, width: u32, height: u32) -> Option<Rect> {
    let area = area?;
    Rect {
        x: area.x,
        y: area.y,
        w: area.width,
        h: area.height,
    }
    .intersect(Rect {
        x: 0,
        y: 0,
        w: width,
        h: height,
    })
}

/// `rect` (coordinates of a `width` x `height` frame) in those of the frame [`crop`] makes of it
/// for `area`: the part inside the area, empty if none.
fn crop_rect(rect: Rect, area: Option<Area>, width: u32, height: u32) -> Rect {
    let Some(shown) = shown_part(area, width, height) else {
        return rect;
    };
    rect.intersect(shown).map_or(Rect::EMPTY, |part| Rect {
        x: part.x - shown.x,
        y: part.y - shown.y,
        ..part
    })
}

fn capture_loop(
    source: &mut dyn FrameSource,
    config: EncoderConfig,
    max_fps: u32,
    control: &FrameControl,
    out: &mpsc::Sender<Captured>,
) -> Result<(), String> {
    let mut encoder = Encoder::new(config.clone());
    let max_fps_period = Duration::from_secs(1) / max_fps.max(1);
    let mut period = max_fps_period;
    let mut buf = Vec::new();
    let mut pointer = None;
    let mut encode_error = None;
    // The first picture needs no change; after it, capture only when the screen changed.
    let mut changed_since = true;
    let mut last_capture: Option<Instant> = None;
    let mut layout: Option<Layout> = None;
    let mut layout_read: Option<Instant> = None;
    let mut generation = 0;
    let mut area = None;
    let mut failures = 0;
    while !control.stopped() {
        if source.layout_changed() || layout_read.is_none_or(|at| at.elapsed() >= LAYOUT_POLL) {
            layout_read = Some(Instant::now());
            let now_layout = source
                .layout()
                .map_err(|e| format!("reopening capture after a resize: {e}"))?;
            if now_layout.is_some() && now_layout != layout {
                layout.clone_from(&now_layout);
                if let Some(layout) = now_layout {
                    generation += 1;
                    let pointer = source.pointer();
                    if out
                        .blocking_send(Captured::Layout {
                            layout,
                            pointer,
                            generation,
                        })
                        .is_err()
                    {
                        break;
                    }
                    control.wait_layout_seen(generation, LAYOUT_HANDOVER);
                    changed_since = true;
                }
            }
        }
        let now_area = control.area();
        let mut keyframe = control.keyframe.swap(false, Ordering::Relaxed);
        if now_area != area {
            // Another part of the screen (or the same at another size): a keyframe of it.
            area = now_area;
            keyframe = true;
        }
        if let Some((quality, interval)) = control.target() {
            period = interval.max(max_fps_period);
            if quality != encoder.config().quality {
                // The codec takes its quality when built: a new encoder, whose first update is a
                // keyframe (adaptation changes quality seldom for this reason).
                encoder = Encoder::new(EncoderConfig {
                    quality,
                    ..config.clone()
                });
            }
        }
        if changed_since || keyframe {
            // At most `max_fps` (or adaptation's rate): changes arriving sooner are coalesced into
            // the next capture.
            if let Some(rest) = last_capture.and_then(|at| period.checked_sub(at.elapsed())) {
                std::thread::sleep(rest);
            }
            if !control.wait_for_credit() {
                break;
            }
            if keyframe {
                encoder.force_keyframe();
            }
            buf.clear();
            let mut changed = false;
            let mut encoded = EncodeCost::default();
            last_capture = Some(Instant::now());
            let captured = source.capture_changed(&mut |frame, within| {
                let started = Instant::now();
                let within = within.map(|rect| crop_rect(rect, area, frame.width, frame.height));
                match encoder.encode_changed(crop(frame, area), within, &mut buf) {
                    Ok(stats) => {
                        changed = stats.changed;
                        encoded = EncodeCost {
                            time: started.elapsed(),
                            lossy_pixels: stats.lossy_pixels,
                            total_pixels: stats.total_pixels,
                        };
                    }
                    Err(e) => encode_error = Some(e.to_string()),
                }
            });
            if let Err(e) = captured {
                // The desktop may have been resized under the capture (X refuses the old
                // rectangle): read the layout again, which reopens capture at the new size, and
                // try again; only failures that persist end the session.
                failures += 1;
                if failures > MAX_CAPTURE_FAILURES {
                    return Err(format!("capturing the screen: {e}"));
                }
                warn!(error = %e, failures, "capture failed; reading the layout again");
                layout_read = None;
                changed_since = true;
                std::thread::sleep(POINTER_POLL);
                continue;
            }
            failures = 0;
            if let Some(e) = encode_error.take() {
                return Err(format!("encoding the screen: {e}"));
            }
            if changed {
                control.take_credit();
                let payload = std::mem::take(&mut buf);
                if out
                    .blocking_send(Captured::Update { payload, encoded })
                    .is_err()
                {
                    break;
                }
            }
        }
        let now_pointer = source.pointer();
        if now_pointer != pointer {
            pointer = now_pointer;
            if let Some((x, y)) = now_pointer
                && out.blocking_send(Captured::Pointer { x, y }).is_err()
            {
                break;
            }
        }
        changed_since = source.wait_for_change(POINTER_POLL.min(period));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_codec::Decoder;
    use tandem_proto::session::MonitorInfo;

    fn rect(x: u32, y: u32, w: u32, h: u32) -> Rect {
        Rect { x, y, w, h }
    }

    /// The changed area follows the crop to the chosen monitor: moved to its origin, cut to it,
    /// empty when the change is on another monitor.
    #[test]
    fn the_changed_area_follows_the_crop() {
        let right = Some(Area {
            x: 1024,
            y: 0,
            width: 800,
            height: 600,
        });
        assert_eq!(
            crop_rect(rect(1000, 10, 100, 20), right, 1824, 768),
            rect(0, 10, 76, 20)
        );
        let elsewhere = crop_rect(rect(10, 10, 100, 20), right, 1824, 768);
        assert_eq!((elsewhere.w, elsewhere.h), (0, 0));
        assert_eq!(
            crop_rect(rect(5, 6, 7, 8), None, 1824, 768),
            rect(5, 6, 7, 8)
        );
        // An area outside the frame leaves the frame whole (as `crop` does), and the rectangle.
        let outside = Some(Area {
            x: 4000,
            y: 0,
            width: 10,
            height: 10,
        });
        assert_eq!(
            crop_rect(rect(5, 6, 7, 8), outside, 1824, 768),
            rect(5, 6, 7, 8)
        );
    }

    /// A desktop of `width` x `height` whose pixel (x, y) is a function of its position, that is
    /// resized (and refuses one capture, as X does with the old rectangle) after `resize_after`
    /// captures.
    struct Resizing {
        size: (u32, u32),
        resize_to: (u32, u32),
        resize_after: u32,
        captures: u32,
        refused: bool,
        buf: Vec<u8>,
    }

    fn pixel(x: u32, y: u32) -> [u8; 4] {
        [(x % 251) as u8, (y % 241) as u8, ((x ^ y) % 239) as u8, 0]
    }

    impl FrameSource for Resizing {
        fn capture(&mut self, use_frame: &mut dyn FnMut(FrameRef<'_>)) -> std::io::Result<()> {
            self.captures += 1;
            if self.captures == self.resize_after {
                self.size = self.resize_to;
            }
            if self.captures == self.resize_after && !self.refused {
                self.refused = true;
                return Err(std::io::Error::other("BadMatch"));
            }
            let (w, h) = self.size;
            self.buf.clear();
            for y in 0..h {
                for x in 0..w {
                    self.buf.extend_from_slice(&pixel(x, y));
                }
            }
            use_frame(FrameRef {
                width: w,
                height: h,
                stride: w as usize * 4,
                data: &self.buf,
            });
            Ok(())
        }

        fn wait_for_change(&mut self, _timeout: Duration) -> bool {
            true
        }

        fn layout(&mut self) -> std::io::Result<Option<Layout>> {
            let (w, h) = self.size;
            Ok(Some(Layout {
                width: w as u16,
                height: h as u16,
                monitors: vec![
                    MonitorInfo::new("L", 0, 0, 80, h as u16, true),
                    MonitorInfo::new("R", 80, 0, 80, h as u16, false),
                ],
            }))
        }
    }

    /// Issue 10: a resize under the capture is followed: the failed capture is retried at the new
    /// size, the layout is reported again, and the picture decodes to the selected area's pixels at
    /// each size (a keyframe at the new size, never a delta against the old picture).
    #[test]
    fn a_resize_under_capture_is_followed_with_the_areas_pixels() {
        let control = FrameControl::new();
        control.set_limit(u64::MAX);
        let (tx, mut rx) = mpsc::channel(64);
        let thread_control = control.clone();
        let capture = std::thread::spawn(move || {
            let mut source = Resizing {
                size: (160, 50),
                resize_to: (120, 40),
                resize_after: 4,
                captures: 0,
                refused: false,
                buf: Vec::new(),
            };
            capture_loop(
                &mut source,
                EncoderConfig::default(),
                1000,
                &thread_control,
                &tx,
            )
        });
        let mut decoder = Decoder::new(Default::default());
        let mut layouts = Vec::new();
        let mut sizes = Vec::new();
        while sizes.last() != Some(&(40, 40)) {
            match rx.blocking_recv().expect("capture runs") {
                Captured::Layout {
                    layout, generation, ..
                } => {
                    // The right monitor, as the machine would pick it.
                    let width = u32::from(layout.width).min(160) - 80;
                    layouts.push((layout.width, layout.height));
                    control.set_area(Some(Area {
                        x: 80,
                        y: 0,
                        width,
                        height: u32::from(layout.height),
                    }));
                    control.layout_seen(generation);
                }
                Captured::Update { payload, .. } => {
                    decoder.decode(&payload).expect("decodes");
                    let (w, h) = (decoder.width(), decoder.height());
                    let rgba = decoder.rgba();
                    for y in 0..h {
                        for x in 0..w {
                            let at = (y * w + x) as usize * 4;
                            let [b, g, r, _] = pixel(80 + x, y);
                            assert_eq!(rgba[at..at + 3], [r, g, b], "({x},{y})");
                        }
                    }
                    if sizes.last() != Some(&(w, h)) {
                        sizes.push((w, h));
                    }
                }
                Captured::Pointer { .. } | Captured::CursorShape(_) => {}
            }
        }
        control.stop();
        drop(rx);
        assert_eq!(capture.join().expect("joins"), Ok(()));
        assert_eq!(layouts.first(), Some(&(160, 50)));
        assert_eq!(layouts.last(), Some(&(120, 40)));
        assert_eq!(sizes, [(80, 50), (40, 40)]);
    }

    /// Film grain on a smooth gradient, new every capture: natural content the codec codes lossy.
    struct Grain {
        seed: u32,
        buf: Vec<u8>,
    }

    impl FrameSource for Grain {
        fn capture(&mut self, use_frame: &mut dyn FnMut(FrameRef<'_>)) -> std::io::Result<()> {
            let (w, h) = (256u32, 192u32);
            self.buf.clear();
            for y in 0..h {
                for x in 0..w {
                    self.seed = self
                        .seed
                        .wrapping_mul(1_664_525)
                        .wrapping_add(1_013_904_223);
                    let grain = (self.seed >> 27) as u8;
                    self.buf.extend_from_slice(&[
                        (x as u8).wrapping_add(grain),
                        (y as u8).wrapping_add(grain),
                        ((x + y) as u8).wrapping_add(grain),
                        0,
                    ]);
                }
            }
            use_frame(FrameRef {
                width: w,
                height: h,
                stride: w as usize * 4,
                data: &self.buf,
            });
            Ok(())
        }

        fn wait_for_change(&mut self, _timeout: Duration) -> bool {
            true
        }
    }

    /// Issue 8: adaptation's quality reaches the encoder: photographic content is lossy at the
    /// configured quality, and exact after the target asks for 100 (lossless), with no restart.
    #[test]
    fn the_targets_quality_reaches_the_encoder() {
        let control = FrameControl::new();
        control.set_limit(u64::MAX);
        let (tx, mut rx) = mpsc::channel(4);
        let thread_control = control.clone();
        let capture = std::thread::spawn(move || {
            let mut source = Grain {
                seed: 1,
                buf: Vec::new(),
            };
            capture_loop(
                &mut source,
                EncoderConfig {
                    quality: 80,
                    threads: 1,
                },
                1000,
                &thread_control,
                &tx,
            )
        });
        let mut next_lossy = || loop {
            match rx.blocking_recv().expect("capture runs") {
                Captured::Update { encoded, .. } => return encoded.lossy_pixels,
                _ => continue,
            }
        };
        // Lossy at 80 within a few updates (the first may be a lossless keyframe).
        assert!((0..20).any(|_| next_lossy() > 0), "grain is coded lossy");
        control.set_target(100, Duration::from_millis(1));
        // Updates queued (the channel holds 4) or being encoded when the target changed may still
        // be lossy; after them none is.
        for _ in 0..6 {
            next_lossy();
        }
        for _ in 0..10 {
            assert_eq!(next_lossy(), 0, "quality 100 is lossless");
        }
        control.stop();
        drop(rx);
        assert_eq!(capture.join().expect("joins"), Ok(()));
    }
}
