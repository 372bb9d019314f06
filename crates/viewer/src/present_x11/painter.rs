//! The presenter thread: owns the child window's contents. Woken by the decoder thread (a new
//! picture or pointer position), by the UI (a new layout) or by the X server (Expose), it uploads
//! the changed region into the picture's pixmap and composites the damaged rectangles into the
//! child. Requests are never waited on; the server's errors arrive as events and are logged.

use std::sync::atomic::Ordering;

use tandem_codec::{Copied, Rect};
use tracing::debug;
use x11rb::connection::{Connection, RequestConnection as _};
use x11rb::protocol::Event;
use x11rb::protocol::render::{
    self, ConnectionExt as _, CreatePictureAux, PictOp, PictType, Pictformat, Picture, Repeat,
    Transform,
};
use x11rb::protocol::xproto::{
    ChangeWindowAttributesAux, ConfigureWindowAux, ConnectionExt as _, CreateGCAux,
    CreateWindowAux, Cursor, EventMask, Gcontext, ImageFormat, ImageOrder, Pixmap, Window,
    WindowClass,
};
use x11rb::rust_connection::RustConnection;

use super::geometry::inverse_scale_fixed;
use super::{Layout, PointerMode, PresentError, Shared, premultiplied_bgra, write_bgrx_region};
use crate::present_changes::PresentChanges;
use crate::screen::{RemoteCursor, Screen, SharedScreen};

/// What the presenter found out about the server and created before its thread starts.
pub(super) struct Setup {
    pub(super) child: Window,
    depth: u8,
    /// The RENDER format of the child's (the egui window's) visual.
    window_format: Pictformat,
    /// RENDER's standard ARGB32, for the pointer image.
    argb32: Pictformat,
    window_picture: Picture,
    /// For `PutImage` into pixmaps of the child's depth.
    gc: Gcontext,
}

impl Setup {
    pub(super) fn new(conn: &RustConnection, parent: u32) -> Result<Self, PresentError> {
        if conn
            .extension_information(render::X11_EXTENSION_NAME)?
            .is_none()
        {
            return Err(PresentError::NoRender);
        }
        let attributes = conn.get_window_attributes(parent)?.reply()?;
        let depth = conn.get_geometry(parent)?.reply()?.depth;
        let visual = attributes.visual;
        let setup = conn.setup();
        let bgr32 = setup.image_byte_order == ImageOrder::LSB_FIRST
            && setup
                .pixmap_formats
                .iter()
                .any(|f| f.depth == depth && f.bits_per_pixel == 32)
            && setup
                .roots
                .iter()
                .flat_map(|root| &root.allowed_depths)
                .filter(|d| d.depth == depth)
                .flat_map(|d| &d.visuals)
                .any(|v| {
                    v.visual_id == visual
                        && (v.red_mask, v.green_mask, v.blue_mask) == (0xff_0000, 0xff00, 0xff)
                });
        if !bgr32 {
            return Err(PresentError::UnsupportedVisual { visual, depth });
        }
        let formats = conn.render_query_pict_formats()?.reply()?;
        let window_format = formats
            .screens
            .iter()
            .flat_map(|s| &s.depths)
            .flat_map(|d| &d.visuals)
            .find(|v| v.visual == visual)
            .map(|v| v.format)
            .ok_or(PresentError::NoPictFormat {
                what: "the window's visual",
            })?;
        let argb32 = formats
            .formats
            .iter()
            .find(|f| {
                let d = &f.direct;
                f.type_ == PictType::DIRECT
                    && f.depth == 32
                    && (d.alpha_shift, d.red_shift, d.green_shift, d.blue_shift) == (24, 16, 8, 0)
                    && (d.alpha_mask, d.red_mask, d.green_mask, d.blue_mask)
                        == (0xff, 0xff, 0xff, 0xff)
            })
            .map(|f| f.id)
            .ok_or(PresentError::NoPictFormat { what: "ARGB32" })?;

        let child = conn.generate_id()?;
        // No input selected: pointer and keys propagate to the egui window. No background: the
        // server never clears what the presenter drew; Expose says what to redraw.
        conn.create_window(
            depth,
            child,
            parent,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_OUTPUT,
            visual,
            &CreateWindowAux::new()
                .colormap(attributes.colormap)
                .border_pixel(0)
                .event_mask(EventMask::EXPOSURE | EventMask::STRUCTURE_NOTIFY),
        )?;
        let window_picture = conn.generate_id()?;
        conn.render_create_picture(window_picture, child, window_format, &Default::default())?;
        let gc = conn.generate_id()?;
        conn.create_gc(gc, child, &CreateGCAux::new().graphics_exposures(0))?;
        conn.flush()?;
        Ok(Self {
            child,
            depth,
            window_format,
            argb32,
            window_picture,
            gc,
        })
    }
}

/// The picture's copy on the server.
struct PicturePixmap {
    size: (u32, u32),
    pixmap: Pixmap,
    picture: Picture,
    /// The scale its transform and filter are set for.
    scale: (f64, f64),
}

/// The remote pointer's image on the server.
struct PointerImage {
    serial: u64,
    /// `None`: the host's pointer is hidden.
    picture: Option<Picture>,
    size: (u32, u32),
    hot: (u32, u32),
    /// The child's X cursor made from it, once needed.
    cursor: Option<Cursor>,
}

/// Where the pointer image was last drawn into the child (view mode), to repair it.
type DrawnPointer = Option<Rect>;

struct Painter<'a> {
    shared: &'a Shared,
    setup: Setup,
    pixmap: Option<PicturePixmap>,
    pointer: Option<PointerImage>,
    /// The child cursor currently set: the serial of its image, or `None` for the parent's.
    child_cursor: Option<u64>,
    drawn_pointer: DrawnPointer,
    /// The layout applied, while the child is mapped.
    shown: Option<Layout>,
    /// BGRX of `uploads`, one region after the other (and older bytes after them).
    scratch: Vec<u8>,
    /// The regions to upload this round.
    uploads: Vec<Rect>,
    /// Largest `PutImage` payload the server takes in one request.
    max_put: usize,
}

/// Runs until the UI's handle is dropped, the child is destroyed (the egui window closed) or the
/// connection fails.
pub(super) fn run(shared: &Shared, setup: Setup, screen: &SharedScreen, relayout: &dyn Fn()) {
    let max_put = shared
        .conn
        .maximum_request_bytes()
        .saturating_sub(64)
        .max(4096);
    let mut painter = Painter {
        shared,
        setup,
        pixmap: None,
        pointer: None,
        child_cursor: None,
        drawn_pointer: None,
        shown: None,
        scratch: Vec::new(),
        uploads: Vec::new(),
        max_put,
    };
    if let Err(e) = painter.serve(screen, relayout) {
        debug!(error = %e, "the X11 presenter stopped");
    }
    shared.active.store(false, Ordering::Release);
    let _ = shared.conn.destroy_window(shared.child);
    let _ = shared.conn.flush();
}

impl Painter<'_> {
    fn serve(&mut self, screen: &SharedScreen, relayout: &dyn Fn()) -> Result<(), PresentError> {
        loop {
            let mut exposed: Option<Rect> = None;
            let mut event = Some(self.shared.conn.wait_for_event()?);
            while let Some(e) = event {
                match e {
                    Event::Expose(e) if e.window == self.shared.child => {
                        let rect = Rect {
                            x: u32::from(e.x),
                            y: u32::from(e.y),
                            w: u32::from(e.width),
                            h: u32::from(e.height),
                        };
                        exposed = Some(exposed.map_or(rect, |r| r.union(rect)));
                    }
                    Event::DestroyNotify(e) if e.window == self.shared.child => return Ok(()),
                    Event::Error(e) => debug!(error = ?e.error_kind, "X error in the presenter"),
                    _ => {}
                }
                event = self.shared.conn.poll_for_event()?;
            }
            self.shared.wake_pending.store(false, Ordering::Release);
            let (layout, stop) = {
                let wanted = self.shared.wanted();
                (wanted.layout, wanted.stop)
            };
            if stop {
                return Ok(());
            }
            self.update(screen, layout, exposed, relayout)?;
            self.shared.conn.flush()?;
        }
    }

    /// Brings the pixmap up to date with the screen, applies `layout`, and redraws what changed.
    fn update(
        &mut self,
        screen: &SharedScreen,
        layout: Option<Layout>,
        exposed: Option<Rect>,
        relayout: &dyn Fn(),
    ) -> Result<(), PresentError> {
        let (size, copies, cursor, new_pointer) = {
            let mut screen = Screen::lock(screen);
            let size = screen.size();
            let mut changes = screen.take_present_changes();
            if size.0 == 0 || size.1 == 0 {
                (size, Vec::new(), None, None)
            } else {
                if self.pixmap.as_ref().map(|p| p.size) != Some(size) {
                    changes = PresentChanges::Full;
                }
                let (copies, uploads) = match changes {
                    PresentChanges::None => (Vec::new(), Vec::new()),
                    PresentChanges::Full => (
                        Vec::new(),
                        vec![Rect {
                            x: 0,
                            y: 0,
                            w: size.0,
                            h: size.1,
                        }],
                    ),
                    PresentChanges::Partial { copies, uploads } => (copies, uploads),
                };
                self.uploads.clear();
                let mut used = 0;
                for rect in uploads {
                    if let Some(end) =
                        write_bgrx_region(screen.rgba(), size.0, rect, &mut self.scratch, used)
                    {
                        used = end;
                        self.uploads.push(rect);
                    }
                }
                let new_pointer = match (&screen.cursor_shape, &self.pointer) {
                    (Some(shape), Some(have)) if shape.serial == have.serial => None,
                    (Some(shape), _) => Some(Some(shape.clone())),
                    (None, Some(_)) => Some(None),
                    (None, None) => None,
                };
                (size, copies, screen.cursor, new_pointer)
            }
        };
        if let Some(shape) = new_pointer {
            self.replace_pointer(shape.as_ref())?;
        }
        let mut resized = false;
        let changed = copies
            .iter()
            .map(|c| c.to)
            .chain(self.uploads.iter().copied())
            .reduce(Rect::union);
        if changed.is_some() {
            resized = self.ensure_pixmap(size)?;
            // A new pixmap only ever comes with the whole picture to upload, never with copies.
            if !resized {
                self.copy_within(&copies)?;
            }
            self.put_uploads()?;
        }

        // Show the picture only with a layout made for its size; else ask the UI for one.
        let wanted = layout.filter(|l| l.picture == size && size.0 > 0);
        if layout.is_some() && wanted.is_none() && size.0 > 0 {
            relayout();
        }
        let Some(layout) = wanted else {
            if self.shown.take().is_some() {
                self.shared.active.store(false, Ordering::Release);
                self.shared.conn.unmap_window(self.shared.child)?;
                self.drawn_pointer = None;
            }
            return Ok(());
        };
        let Some(pixmap) = &self.pixmap else {
            return Ok(());
        };
        let placement = layout.placement;
        let mut redraw: Option<Rect> = exposed;
        if self.shown != Some(layout) || resized {
            let (x, y, w, h) = layout.bounds;
            self.shared.conn.configure_window(
                self.shared.child,
                &ConfigureWindowAux::new()
                    .x(x)
                    .y(y)
                    .width(w.max(1))
                    .height(h.max(1)),
            )?;
            if pixmap.scale != placement.scale {
                self.set_scale(placement.scale)?;
            }
            if self.shown.is_none() {
                // Mapping exposes the whole child; Expose draws it.
                self.shared.conn.map_window(self.shared.child)?;
            } else {
                redraw = placement.picture_area(size);
            }
            self.shown = Some(layout);
            self.drawn_pointer = None;
        }
        if let Some(rect) = changed.and_then(|r| placement.destination(r)) {
            redraw = Some(redraw.map_or(rect, |r| r.union(rect)));
        }
        self.set_child_cursor(layout.pointer)?;
        // The pointer drawn over the picture (view mode) moves or is drawn over: repair under it.
        let pointer_origin = match layout.pointer {
            PointerMode::Remote => cursor.and_then(|pos| self.pointer_origin(&layout, pos)),
            PointerMode::Local => None,
        };
        let pointer_at = pointer_origin.and_then(|origin| self.pointer_rect(&layout, origin));
        if self.drawn_pointer != pointer_at
            && let Some(old) = self.drawn_pointer
        {
            redraw = Some(redraw.map_or(old, |r| r.union(old)));
        }
        if let Some(rect) = redraw {
            self.composite(&layout, rect)?;
        }
        let touches = |p: Rect| redraw.is_some_and(|r| r.intersect(p).is_some());
        if let (Some(at), Some(origin)) = (pointer_at, pointer_origin)
            && (self.drawn_pointer != pointer_at || touches(at))
        {
            self.draw_pointer(at, origin)?;
        }
        self.drawn_pointer = pointer_at;
        self.shared.active.store(true, Ordering::Release);
        Ok(())
    }

    /// A pixmap of `size` for the picture (a new one after a resize); true when it is new.
    fn ensure_pixmap(&mut self, size: (u32, u32)) -> Result<bool, PresentError> {
        if self.pixmap.as_ref().is_some_and(|p| p.size == size) {
            return Ok(false);
        }
        let conn = &self.shared.conn;
        if let Some(old) = self.pixmap.take() {
            conn.render_free_picture(old.picture)?;
            conn.free_pixmap(old.pixmap)?;
        }
        // VIEWER_LIMITS keeps sizes within 7680x4320, well inside X's 16 bits.
        let (w, h) = (clamp_u16(size.0), clamp_u16(size.1));
        let pixmap = conn.generate_id()?;
        conn.create_pixmap(self.setup.depth, pixmap, self.shared.child, w, h)?;
        let picture = conn.generate_id()?;
        // Pad: the bilinear filter at the picture's edges reads its edge pixels, not black.
        conn.render_create_picture(
            picture,
            pixmap,
            self.setup.window_format,
            &CreatePictureAux::new().repeat(Repeat::PAD),
        )?;
        self.pixmap = Some(PicturePixmap {
            size,
            pixmap,
            picture,
            scale: (1.0, 1.0),
        });
        Ok(true)
    }

    /// Repeats the decoder's copies, in order, within the pixmap: the moved pixels stay on the
    /// server.
    fn copy_within(&mut self, copies: &[Copied]) -> Result<(), PresentError> {
        let Some(pixmap) = &self.pixmap else {
            return Ok(());
        };
        for copy in copies {
            self.shared.conn.copy_area(
                pixmap.pixmap,
                pixmap.pixmap,
                self.setup.gc,
                clamp_i16(i64::from(copy.from.0)),
                clamp_i16(i64::from(copy.from.1)),
                clamp_i16(i64::from(copy.to.x)),
                clamp_i16(i64::from(copy.to.y)),
                clamp_u16(copy.to.w),
                clamp_u16(copy.to.h),
            )?;
        }
        Ok(())
    }

    /// Uploads the scratch buffer (BGRX of each of `uploads`, one after the other) into the
    /// pixmap, in requests the server takes.
    fn put_uploads(&mut self) -> Result<(), PresentError> {
        let Some(pixmap) = &self.pixmap else {
            return Ok(());
        };
        let mut at = 0usize;
        for rect in &self.uploads {
            let row_len = rect.w as usize * 4;
            let len = row_len * rect.h as usize;
            let Some(data) = self.scratch.get(at..at + len) else {
                break;
            };
            at += len;
            if row_len == 0 {
                continue;
            }
            let rows_per_put = (self.max_put / row_len).max(1);
            for (i, chunk) in data.chunks(rows_per_put * row_len).enumerate() {
                let rows = chunk.len() / row_len;
                let y = rect.y as usize + i * rows_per_put;
                self.shared.conn.put_image(
                    ImageFormat::Z_PIXMAP,
                    pixmap.pixmap,
                    self.setup.gc,
                    clamp_u16(rect.w),
                    clamp_u16(rows as u32),
                    clamp_i16(i64::from(rect.x)),
                    clamp_i16(y as i64),
                    0,
                    self.setup.depth,
                    chunk,
                )?;
            }
        }
        Ok(())
    }

    /// Sets the pixmap picture's transform and filter for `scale` (child pixels per picture
    /// pixel): identity and nearest at 1:1, where compositing is a copy; bilinear otherwise.
    fn set_scale(&mut self, scale: (f64, f64)) -> Result<(), PresentError> {
        let Some(pixmap) = &mut self.pixmap else {
            return Ok(());
        };
        let (ix, iy) = inverse_scale_fixed(scale);
        let conn = &self.shared.conn;
        conn.render_set_picture_transform(
            pixmap.picture,
            Transform {
                matrix11: ix,
                matrix12: 0,
                matrix13: 0,
                matrix21: 0,
                matrix22: iy,
                matrix23: 0,
                matrix31: 0,
                matrix32: 0,
                matrix33: 1 << 16,
            },
        )?;
        let filter: &[u8] = if scale == (1.0, 1.0) {
            b"nearest"
        } else {
            b"bilinear"
        };
        conn.render_set_picture_filter(pixmap.picture, filter, &[])?;
        pixmap.scale = scale;
        Ok(())
    }

    /// Draws child rectangle `rect` from the pixmap.
    fn composite(&self, layout: &Layout, rect: Rect) -> Result<(), PresentError> {
        let Some(pixmap) = &self.pixmap else {
            return Ok(());
        };
        let (ox, oy) = layout.placement.origin;
        self.shared.conn.render_composite(
            PictOp::SRC,
            pixmap.picture,
            x11rb::NONE,
            self.setup.window_picture,
            clamp_i16(i64::from(rect.x) - i64::from(ox)),
            clamp_i16(i64::from(rect.y) - i64::from(oy)),
            0,
            0,
            clamp_i16(i64::from(rect.x)),
            clamp_i16(i64::from(rect.y)),
            clamp_u16(rect.w),
            clamp_u16(rect.h),
        )?;
        Ok(())
    }

    /// The top-left of the pointer image in the child for the remote pointer at `pos`
    /// (unscaled, its hot spot on the scaled position); `None` without a visible image.
    fn pointer_origin(&self, layout: &Layout, pos: (i32, i32)) -> Option<(i64, i64)> {
        let pointer = self.pointer.as_ref()?;
        pointer.picture?;
        let (sx, sy) = layout.placement.scale;
        let (ox, oy) = layout.placement.origin;
        let x = f64::from(ox) + f64::from(pos.0) * sx - f64::from(pointer.hot.0);
        let y = f64::from(oy) + f64::from(pos.1) * sy - f64::from(pointer.hot.1);
        Some((x.round() as i64, y.round() as i64))
    }

    /// The child rectangle the pointer image covers with its top-left at `origin`, clamped to
    /// the child.
    fn pointer_rect(&self, layout: &Layout, origin: (i64, i64)) -> Option<Rect> {
        let pointer = self.pointer.as_ref()?;
        let (x, y) = origin;
        let (w, h) = (i64::from(layout.bounds.2), i64::from(layout.bounds.3));
        let (left, top) = (x.clamp(0, w), y.clamp(0, h));
        let right = (x + i64::from(pointer.size.0)).clamp(0, w);
        let bottom = (y + i64::from(pointer.size.1)).clamp(0, h);
        (right > left && bottom > top).then(|| Rect {
            x: left as u32,
            y: top as u32,
            w: (right - left) as u32,
            h: (bottom - top) as u32,
        })
    }

    /// Draws the pointer image over the picture into child rectangle `at`, the image's top-left
    /// at `origin` (off `at` when clamped at the child's left or top edge).
    fn draw_pointer(&self, at: Rect, origin: (i64, i64)) -> Result<(), PresentError> {
        let Some(PointerImage {
            picture: Some(picture),
            ..
        }) = &self.pointer
        else {
            return Ok(());
        };
        self.shared.conn.render_composite(
            PictOp::OVER,
            *picture,
            x11rb::NONE,
            self.setup.window_picture,
            clamp_i16(i64::from(at.x) - origin.0),
            clamp_i16(i64::from(at.y) - origin.1),
            0,
            0,
            clamp_i16(i64::from(at.x)),
            clamp_i16(i64::from(at.y)),
            clamp_u16(at.w),
            clamp_u16(at.h),
        )?;
        Ok(())
    }

    /// Replaces the pointer image (a new one from the host, or none).
    fn replace_pointer(&mut self, shape: Option<&RemoteCursor>) -> Result<(), PresentError> {
        let conn = &self.shared.conn;
        if let Some(old) = self.pointer.take() {
            if let Some(picture) = old.picture {
                conn.render_free_picture(picture)?;
            }
            if let Some(cursor) = old.cursor {
                if self.child_cursor == Some(old.serial) {
                    conn.change_window_attributes(
                        self.shared.child,
                        &ChangeWindowAttributesAux::new().cursor(x11rb::NONE),
                    )?;
                    self.child_cursor = None;
                }
                conn.free_cursor(cursor)?;
            }
        }
        let Some(shape) = shape else {
            return Ok(());
        };
        let picture = if shape.is_hidden() {
            None
        } else {
            Some(self.argb32_picture(
                shape.width,
                shape.height,
                &premultiplied_bgra(&shape.rgba),
            )?)
        };
        self.pointer = Some(PointerImage {
            serial: shape.serial,
            picture,
            size: (u32::from(shape.width), u32::from(shape.height)),
            hot: (u32::from(shape.hot.0), u32::from(shape.hot.1)),
            cursor: None,
        });
        Ok(())
    }

    /// In control the child's X cursor is the remote pointer's image (an invisible one when the
    /// host hides its pointer); otherwise, or without an image, the egui window's cursor shows.
    fn set_child_cursor(&mut self, mode: PointerMode) -> Result<(), PresentError> {
        let want = match (&self.pointer, mode) {
            (Some(p), PointerMode::Local) => Some(p.serial),
            _ => None,
        };
        if want == self.child_cursor {
            return Ok(());
        }
        let needs_invisible = want.is_some()
            && self
                .pointer
                .as_ref()
                .is_some_and(|p| p.cursor.is_none() && p.picture.is_none());
        let invisible = if needs_invisible {
            Some(self.invisible_picture()?)
        } else {
            None
        };
        let conn = &self.shared.conn;
        let cursor = match (&mut self.pointer, want) {
            (Some(pointer), Some(_)) => match pointer.cursor {
                Some(cursor) => cursor,
                None => {
                    let cursor = conn.generate_id()?;
                    let Some(source) = pointer.picture.or(invisible) else {
                        return Ok(());
                    };
                    conn.render_create_cursor(
                        cursor,
                        source,
                        clamp_u16(pointer.hot.0),
                        clamp_u16(pointer.hot.1),
                    )?;
                    pointer.cursor = Some(cursor);
                    cursor
                }
            },
            _ => x11rb::NONE,
        };
        conn.change_window_attributes(
            self.shared.child,
            &ChangeWindowAttributesAux::new().cursor(cursor),
        )?;
        self.child_cursor = want;
        Ok(())
    }

    /// A 1x1 fully transparent ARGB32 picture, for a hidden pointer's cursor.
    fn invisible_picture(&self) -> Result<Picture, PresentError> {
        self.argb32_picture(1, 1, &[0; 4])
    }

    /// An ARGB32 RENDER picture of `w`x`h` premultiplied BGRA `pixels`, uploaded through a
    /// pixmap that the picture keeps alive.
    fn argb32_picture(&self, w: u16, h: u16, pixels: &[u8]) -> Result<Picture, PresentError> {
        let conn = &self.shared.conn;
        let pixmap = conn.generate_id()?;
        conn.create_pixmap(32, pixmap, self.shared.child, w, h)?;
        let gc = conn.generate_id()?;
        conn.create_gc(gc, pixmap, &CreateGCAux::new())?;
        conn.put_image(ImageFormat::Z_PIXMAP, pixmap, gc, w, h, 0, 0, 0, 32, pixels)?;
        conn.free_gc(gc)?;
        let picture = conn.generate_id()?;
        conn.render_create_picture(picture, pixmap, self.setup.argb32, &Default::default())?;
        conn.free_pixmap(pixmap)?;
        Ok(picture)
    }
}

fn clamp_u16(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn clamp_i16(v: i64) -> i16 {
    i16::try_from(v.clamp(i64::from(i16::MIN), i64::from(i16::MAX))).unwrap_or(0)
}
