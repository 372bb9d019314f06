//! Where a picture rectangle lands in the child window, and back. Pure arithmetic, no X: the
//! presenter composites in destination (child window) space, so every damaged picture rectangle is
//! turned into the child's pixels it touches, with a margin for the bilinear filter's reach.

use tandem_codec::Rect;

/// How the picture sits in the child window, in physical pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// The child window's size.
    pub window: (u32, u32),
    /// Where the picture's top-left corner is, relative to the child (negative when the picture is
    /// scrolled past the child's left or top edge at 1:1).
    pub origin: (i32, i32),
    /// Child pixels per picture pixel, horizontally and vertically.
    pub scale: (f64, f64),
}

impl Placement {
    /// The picture is shown one picture pixel per screen pixel: copied, not filtered.
    pub fn is_one_to_one(&self) -> bool {
        self.scale == (1.0, 1.0)
    }

    /// The child pixels that picture rectangle `damaged` can change: scaled, grown by the filter's
    /// reach (a bilinear sample reads the neighbouring source pixel, which lands up to one scaled
    /// pixel away), and clamped to the child window. `None` when nothing of it is visible.
    pub fn destination(&self, damaged: Rect) -> Option<Rect> {
        if damaged.w == 0 || damaged.h == 0 {
            return None;
        }
        let (sx, sy) = self.scale;
        if !(sx.is_finite() && sy.is_finite() && sx > 0.0 && sy > 0.0) {
            return None;
        }
        let (margin_x, margin_y) = if self.is_one_to_one() {
            (0.0, 0.0)
        } else {
            (sx.ceil().max(1.0), sy.ceil().max(1.0))
        };
        let left = f64::from(self.origin.0) + f64::from(damaged.x) * sx - margin_x;
        let top = f64::from(self.origin.1) + f64::from(damaged.y) * sy - margin_y;
        let right = f64::from(self.origin.0)
            + (f64::from(damaged.x) + f64::from(damaged.w)) * sx
            + margin_x;
        let bottom = f64::from(self.origin.1)
            + (f64::from(damaged.y) + f64::from(damaged.h)) * sy
            + margin_y;
        clamp_span(left, right, self.window.0).and_then(|(x, w)| {
            clamp_span(top, bottom, self.window.1).map(|(y, h)| Rect { x, y, w, h })
        })
    }

    /// The whole picture's extent in the child, clamped to it: what to draw after a map, a
    /// resize, or a new picture.
    pub fn picture_area(&self, picture: (u32, u32)) -> Option<Rect> {
        self.destination(Rect {
            x: 0,
            y: 0,
            w: picture.0,
            h: picture.1,
        })
    }
}

/// `[from, to)` rounded outwards and clamped to `[0, limit)`, as a start and a non-zero length.
fn clamp_span(from: f64, to: f64, limit: u32) -> Option<(u32, u32)> {
    let start = from.floor().max(0.0);
    let end = to.ceil().min(f64::from(limit));
    // Both are whole numbers inside [0, limit] here, so the casts are exact.
    (end > start).then_some((start as u32, (end - start) as u32))
}

/// The RENDER transform (16.16 fixed point) mapping child pixels to picture pixels: the inverse of
/// the placement's scale. The origin is applied through the composite's source offset.
pub fn inverse_scale_fixed(scale: (f64, f64)) -> (i32, i32) {
    let to_fixed = |s: f64| -> i32 {
        let inverse = (65536.0 / s).round();
        if inverse.is_finite() {
            inverse.clamp(1.0, f64::from(i32::MAX)) as i32
        } else {
            65536
        }
    };
    (to_fixed(scale.0), to_fixed(scale.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x: u32, y: u32, w: u32, h: u32) -> Rect {
        Rect { x, y, w, h }
    }

    #[test]
    fn one_to_one_is_a_shift_by_the_origin_without_margin() {
        let at = Placement {
            window: (800, 600),
            origin: (10, -20),
            scale: (1.0, 1.0),
        };
        assert_eq!(at.destination(rect(5, 30, 7, 3)), Some(rect(15, 10, 7, 3)));
        // Scrolled above the child's top edge: clipped, not wrapped.
        assert_eq!(at.destination(rect(0, 0, 4, 25)), Some(rect(10, 0, 4, 5)));
        assert_eq!(at.destination(rect(0, 0, 4, 20)), None);
    }

    #[test]
    fn scaled_rects_grow_by_the_filter_reach_and_stay_in_the_window() {
        let half = Placement {
            window: (960, 540),
            origin: (0, 0),
            scale: (0.5, 0.5),
        };
        // 100..110 x 50..51 at half size is 50..55 x 25..25.5, one child pixel more each side.
        assert_eq!(
            half.destination(rect(100, 50, 10, 1)),
            Some(rect(49, 24, 7, 3))
        );
        // At the corner the margin is clamped away.
        assert_eq!(half.destination(rect(0, 0, 2, 2)), Some(rect(0, 0, 2, 2)));
        assert_eq!(
            half.destination(rect(1918, 1078, 2, 2)),
            Some(rect(958, 538, 2, 2))
        );
        let double = Placement {
            window: (400, 400),
            origin: (0, 0),
            scale: (2.0, 2.0),
        };
        assert_eq!(
            double.destination(rect(10, 10, 1, 1)),
            Some(rect(18, 18, 6, 6))
        );
    }

    #[test]
    fn hostile_or_degenerate_input_gives_nothing_or_a_clamped_rect() {
        let at = Placement {
            window: (100, 100),
            origin: (0, 0),
            scale: (0.977, 0.977),
        };
        assert_eq!(at.destination(rect(0, 0, 0, 10)), None);
        assert_eq!(at.destination(rect(500, 0, 10, 10)), None);
        assert_eq!(
            at.destination(rect(0, 0, u32::MAX, u32::MAX)),
            Some(rect(0, 0, 100, 100))
        );
        let broken = Placement {
            scale: (f64::NAN, 1.0),
            ..at
        };
        assert_eq!(broken.destination(rect(0, 0, 1, 1)), None);
        assert_eq!(at.picture_area((1920, 1080)), Some(rect(0, 0, 100, 100)));
    }

    #[test]
    fn the_inverse_transform_is_fixed_point() {
        assert_eq!(inverse_scale_fixed((1.0, 0.5)), (65536, 131072));
        assert_eq!(inverse_scale_fixed((2.0, 0.0)), (32768, 65536));
    }
}
