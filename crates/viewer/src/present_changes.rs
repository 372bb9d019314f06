//! What changed in the picture since the X11 presenter last took it, kept in the form the presenter
//! replays on its copy of the picture on the server: the decoder's copies (a dragged window, a
//! scroll), which it repeats there with `CopyArea` so that no moved pixel crosses the socket, and
//! the regions it uploads from the final picture.
//!
//! The presenter takes changes at its own pace, so one take may cover several decoded updates. A
//! copy is only kept while its source on the server is known to be right: not in a region still
//! waiting for its upload (which holds older pixels there), and not written by an earlier copy of
//! the same update (the decoder reads all of an update's sources before it writes any, the server
//! runs copies one after the other). Any other copy becomes an upload of its destination. So after
//! the presenter runs the copies in order and then uploads every region from the final picture,
//! its copy equals the picture (a property test below checks this against a model).

use tandem_codec::{Copied, DecodeInfo, Rect};

use crate::screen::clamp;

/// Regions to upload at most: a drag leaves two strips a frame, a busy screen many small ones.
const MAX_UPLOADS: usize = 32;

/// Changes not yet taken by the presenter.
#[derive(Debug, Default)]
pub struct PendingChanges {
    /// The whole picture must be uploaded (new size, a failed decode, a replay).
    full: bool,
    copies: Vec<Copied>,
    uploads: Vec<Rect>,
}

/// What the presenter does to bring its copy up to date.
#[derive(Debug, PartialEq, Eq)]
pub enum PresentChanges {
    None,
    /// Upload the whole picture.
    Full,
    /// Run `copies` in order on the server's copy, then upload `uploads` from the picture.
    Partial {
        copies: Vec<Copied>,
        uploads: Vec<Rect>,
    },
}

impl PendingChanges {
    /// Adds one decoded update.
    pub fn record(&mut self, info: &DecodeInfo) {
        if self.full {
            return;
        }
        let first_of_update = self.copies.len();
        for copy in &info.copies {
            let source = copy.source();
            let meets = |r: &Rect| r.intersect(source).is_some();
            let stale = self.uploads.iter().any(meets)
                || self.copies[first_of_update..]
                    .iter()
                    .any(|earlier| meets(&earlier.to));
            if stale {
                self.upload(copy.to);
            } else {
                self.copies.push(*copy);
            }
        }
        for &rect in info.painted() {
            self.upload(rect);
        }
    }

    /// The whole picture changed.
    pub fn mark_full(&mut self) {
        self.full = true;
        self.copies.clear();
        self.uploads.clear();
    }

    /// Takes everything pending, clamped to a `size` picture.
    pub fn take(&mut self, size: (u32, u32)) -> PresentChanges {
        let pending = std::mem::take(self);
        if pending.full {
            return PresentChanges::Full;
        }
        let inside = |r: &Rect| clamp(*r, size) == Some(*r);
        // The decoder only reports regions inside its picture; one that is not (a size change
        // raced) cannot be replayed, so the picture is uploaded whole.
        if !pending
            .copies
            .iter()
            .all(|c| inside(&c.to) && inside(&c.source()))
        {
            return PresentChanges::Full;
        }
        let uploads: Vec<Rect> = pending
            .uploads
            .iter()
            .filter_map(|r| clamp(*r, size))
            .collect();
        if pending.copies.is_empty() && uploads.is_empty() {
            return PresentChanges::None;
        }
        PresentChanges::Partial {
            copies: pending.copies,
            uploads,
        }
    }

    /// Adds `rect` to the uploads, merged with those it adjoins or overlaps when that adds
    /// little (a strip of tiles along a moved window's edge becomes one rectangle), and once there
    /// are [`MAX_UPLOADS`] with the one that grows least: never into one bounding box of far
    /// apart regions.
    fn upload(&mut self, rect: Rect) {
        let mut rect = rect;
        loop {
            while let Some(i) = self
                .uploads
                .iter()
                .position(|u| waste(*u, rect) * 8 <= area(*u) + area(rect))
            {
                rect = self.uploads.swap_remove(i).union(rect);
            }
            if self.uploads.len() < MAX_UPLOADS {
                self.uploads.push(rect);
                return;
            }
            let nearest = (0..self.uploads.len()).min_by_key(|&i| waste(self.uploads[i], rect));
            if let Some(i) = nearest {
                // (the union may now meet others: look again)
                rect = self.uploads.swap_remove(i).union(rect);
            }
        }
    }
}

fn area(r: Rect) -> u64 {
    u64::from(r.w) * u64::from(r.h)
}

/// Pixels the bounding box of `a` and `b` covers that neither does.
fn waste(a: Rect, b: Rect) -> u64 {
    let both = a.intersect(b).map_or(0, area);
    (area(a.union(b)) + both).saturating_sub(area(a) + area(b))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const W: u32 = 24;
    const H: u32 = 16;

    /// A picture of one value per pixel.
    type Picture = Vec<u32>;

    fn rect_strategy() -> impl Strategy<Value = Rect> {
        (0..W, 0..H).prop_flat_map(|(x, y)| {
            (1..=W - x, 1..=H - y).prop_map(move |(w, h)| Rect { x, y, w, h })
        })
    }

    fn copy_strategy() -> impl Strategy<Value = Copied> {
        rect_strategy().prop_flat_map(|to| {
            (0..=W - to.w, 0..=H - to.h).prop_map(move |from| Copied { from, to })
        })
    }

    /// One update: copies, then painted regions.
    fn update_strategy() -> impl Strategy<Value = (Vec<Copied>, Vec<Rect>)> {
        (
            prop::collection::vec(copy_strategy(), 0..4),
            prop::collection::vec(rect_strategy(), 0..4),
        )
    }

    fn copy_rect(to: &mut Picture, from: &Picture, (sx, sy): (u32, u32), r: Rect) {
        for row in 0..r.h {
            for col in 0..r.w {
                to[((r.y + row) * W + r.x + col) as usize] =
                    from[((sy + row) * W + sx + col) as usize];
            }
        }
    }

    proptest! {
        /// Replaying what was taken (copies one by one, then uploads from the final picture) on a
        /// copy of the picture as it was at the last take gives the picture, however many updates
        /// one take covers.
        #[test]
        fn replaying_what_was_taken_gives_the_picture(
            takes in prop::collection::vec(prop::collection::vec(update_strategy(), 1..5), 1..5)
        ) {
            let mut picture: Picture = (0..W * H).collect();
            let mut server = picture.clone();
            let mut pending = PendingChanges::default();
            let mut fresh = W * H;
            for updates in takes {
                for (copies, painted) in updates {
                    // The decoder: all sources read first, then the copies, then the paint.
                    let before = picture.clone();
                    for c in &copies {
                        copy_rect(&mut picture, &before, c.from, c.to);
                    }
                    for r in &painted {
                        for y in r.y..r.y + r.h {
                            for x in r.x..r.x + r.w {
                                picture[(y * W + x) as usize] = fresh;
                                fresh += 1;
                            }
                        }
                    }
                    let info = DecodeInfo {
                        width: W,
                        height: H,
                        resized: false,
                        dirty: copies.iter().map(|c| c.to).chain(painted.iter().copied()).collect(),
                        copies,
                    };
                    pending.record(&info);
                }
                match pending.take((W, H)) {
                    PresentChanges::None => {}
                    PresentChanges::Full => server = picture.clone(),
                    PresentChanges::Partial { copies, uploads } => {
                        // The server: each copy sees the ones before it.
                        for c in &copies {
                            let now = server.clone();
                            copy_rect(&mut server, &now, c.from, c.to);
                        }
                        for r in &uploads {
                            copy_rect(&mut server, &picture, (r.x, r.y), *r);
                        }
                    }
                }
                prop_assert_eq!(&server, &picture);
            }
        }
    }

    #[test]
    fn a_drag_stays_copies_across_updates_taken_together() {
        let window = Rect {
            x: 2,
            y: 2,
            w: 10,
            h: 6,
        };
        let mut pending = PendingChanges::default();
        for step in 0..3 {
            let to = Rect {
                x: window.x + step + 1,
                ..window
            };
            let strip = Rect {
                x: window.x + step,
                w: 1,
                ..window
            };
            pending.record(&DecodeInfo {
                width: W,
                height: H,
                resized: false,
                dirty: vec![to, strip],
                copies: vec![Copied {
                    from: (window.x + step, window.y),
                    to,
                }],
            });
        }
        let PresentChanges::Partial { copies, uploads } = pending.take((W, H)) else {
            panic!("expected a partial change");
        };
        // Each step's source is the window the step before moved there, never an exposed strip;
        // the three strips side by side are one upload.
        assert_eq!(copies.len(), 3);
        assert_eq!(
            uploads,
            vec![Rect {
                x: 2,
                y: 2,
                w: 3,
                h: 6
            }]
        );
        assert_eq!(pending.take((W, H)), PresentChanges::None);
    }

    #[test]
    fn a_copy_from_a_region_still_to_upload_becomes_an_upload() {
        let mut pending = PendingChanges::default();
        let painted = Rect {
            x: 0,
            y: 0,
            w: 4,
            h: 4,
        };
        let moved = Rect {
            x: 10,
            y: 0,
            w: 4,
            h: 4,
        };
        for info in [
            (vec![], vec![painted]),
            (
                vec![Copied {
                    from: (0, 0),
                    to: moved,
                }],
                vec![],
            ),
        ] {
            pending.record(&DecodeInfo {
                width: W,
                height: H,
                resized: false,
                dirty: info.0.iter().map(|c: &Copied| c.to).chain(info.1).collect(),
                copies: info.0,
            });
        }
        assert_eq!(
            pending.take((W, H)),
            PresentChanges::Partial {
                copies: vec![],
                uploads: vec![painted, moved]
            }
        );
    }

    #[test]
    fn many_far_apart_regions_stay_small() {
        let mut pending = PendingChanges::default();
        let dots: Vec<Rect> = (0..W)
            .flat_map(|x| (0..H).map(move |y| (x, y)))
            .filter(|(x, y)| (x + 2 * y) % 7 == 0)
            .map(|(x, y)| Rect { x, y, w: 1, h: 1 })
            .collect();
        pending.record(&DecodeInfo {
            width: W,
            height: H,
            resized: false,
            dirty: dots.clone(),
            copies: vec![],
        });
        let PresentChanges::Partial { uploads, .. } = pending.take((W, H)) else {
            panic!("expected a partial change");
        };
        assert!(uploads.len() <= MAX_UPLOADS);
        let uploaded: u64 = uploads.iter().map(|r| area(*r)).sum();
        assert!(
            uploaded < u64::from(W * H) / 2,
            "{} dots became {uploaded} pixels",
            dots.len()
        );
    }

    #[test]
    fn full_wins_until_taken() {
        let mut pending = PendingChanges::default();
        pending.mark_full();
        pending.record(&DecodeInfo {
            width: W,
            height: H,
            resized: false,
            dirty: vec![Rect {
                x: 0,
                y: 0,
                w: 1,
                h: 1,
            }],
            copies: vec![],
        });
        assert_eq!(pending.take((W, H)), PresentChanges::Full);
        assert_eq!(pending.take((W, H)), PresentChanges::None);
    }
}
