//! The remote picture as GPU textures. A picture wider or taller than the GPU's largest texture
//! (`max_texture_side`, often 8192 or 16384, sometimes 4096 or 2048) is split into a grid of textures
//! that each fit, so no host can make the window fail by sending a picture the GPU cannot hold.

use eframe::egui;
use egui::{Color32, ColorImage, Pos2, TextureHandle, TextureOptions, Vec2};
use tandem_codec::Rect;

use crate::screen::{Changes, Screen};

/// The textures showing the remote picture, and the part of the picture each one holds.
#[derive(Default)]
pub struct RemoteTextures {
    /// Picture size and max side the grid was made for.
    made_for: Option<((u32, u32), u32)>,
    tiles: Vec<(Rect, TextureHandle)>,
    /// Scratch for copying regions out of the picture.
    region: Vec<u8>,
}

impl RemoteTextures {
    /// Uploads what changed in `screen` since the last call: everything on the first call, after a
    /// resize, after a failed decode or when `max_side` changed; else only the changed region.
    pub fn update(&mut self, ctx: &egui::Context, screen: &mut Screen, max_side: usize) {
        let size = screen.size();
        if size.0 == 0 || size.1 == 0 {
            return;
        }
        let max_side = u32::try_from(max_side).unwrap_or(u32::MAX).max(1);
        let key = (size, max_side);
        let changes = screen.take_changes();
        if self.made_for != Some(key) {
            self.rebuild(ctx, screen, key);
            return;
        }
        match changes {
            Changes::None => {}
            Changes::Full => {
                for (tile, texture) in &mut self.tiles {
                    if let Some(image) = copy_image(screen, *tile, &mut self.region) {
                        texture.set(image, TextureOptions::LINEAR);
                    }
                }
            }
            Changes::Region(changed) => {
                for (tile, texture) in &mut self.tiles {
                    let Some(part) = changed.intersect(*tile) else {
                        continue;
                    };
                    if let Some(image) = copy_image(screen, part, &mut self.region) {
                        let at = [(part.x - tile.x) as usize, (part.y - tile.y) as usize];
                        texture.set_partial(at, image, TextureOptions::LINEAR);
                    }
                }
            }
        }
    }

    /// New textures for a new grid; the old ones are freed when their handles drop.
    fn rebuild(&mut self, ctx: &egui::Context, screen: &Screen, key: ((u32, u32), u32)) {
        let ((width, height), max_side) = key;
        self.tiles.clear();
        for (i, tile) in grid(width, height, max_side).into_iter().enumerate() {
            if let Some(image) = copy_image(screen, tile, &mut self.region) {
                let name = format!("remote-screen-{i}");
                self.tiles
                    .push((tile, ctx.load_texture(name, image, TextureOptions::LINEAR)));
            }
        }
        self.made_for = Some(key);
    }

    /// The picture size the textures hold, once something was uploaded.
    pub fn size(&self) -> Option<(u32, u32)> {
        self.made_for.map(|(size, _)| size)
    }

    /// How many textures hold the picture.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }

    /// The largest side of any texture, in pixels.
    pub fn largest_side(&self) -> usize {
        self.tiles
            .iter()
            .map(|(_, t)| t.size()[0].max(t.size()[1]))
            .max()
            .unwrap_or(0)
    }

    /// Paints the picture with its top-left corner at `origin`, `scale` screen points per pixel.
    pub fn paint(&self, painter: &egui::Painter, origin: Pos2, scale: f32) {
        let uv = egui::Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
        for (tile, texture) in &self.tiles {
            let min = origin + Vec2::new(tile.x as f32, tile.y as f32) * scale;
            let size = Vec2::new(tile.w as f32, tile.h as f32) * scale;
            painter.image(
                texture.id(),
                egui::Rect::from_min_size(min, size),
                uv,
                Color32::WHITE,
            );
        }
    }
}

/// `rect` of the picture as an image, built only when the copied bytes match its size exactly.
fn copy_image(screen: &Screen, rect: Rect, scratch: &mut Vec<u8>) -> Option<ColorImage> {
    let copied = screen.copy_region(rect, scratch)?;
    let size = [copied.w as usize, copied.h as usize];
    (copied == rect && scratch.len() == size[0] * size[1] * 4)
        .then(|| ColorImage::from_rgba_unmultiplied(size, scratch))
}

/// Splits a `width` x `height` picture into row-major tiles of at most `max_side` pixels a side
/// that cover it exactly once.
pub fn grid(width: u32, height: u32, max_side: u32) -> Vec<Rect> {
    let max_side = max_side.max(1);
    let mut tiles = Vec::new();
    for y in (0..height).step_by(max_side as usize) {
        for x in (0..width).step_by(max_side as usize) {
            tiles.push(Rect {
                x,
                y,
                w: max_side.min(width - x),
                h: max_side.min(height - y),
            });
        }
    }
    tiles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_the_picture_once_within_the_side() {
        for (w, h, side) in [
            (1, 1, 1),
            (100, 50, 16),
            (7680, 4320, 2048),
            (16, 16, 16),
            (5, 3, 1),
        ] {
            let tiles = grid(w, h, side);
            let mut covered = vec![0u8; (w * h) as usize];
            for t in &tiles {
                assert!(t.w >= 1 && t.h >= 1 && t.w <= side && t.h <= side, "{t:?}");
                for y in t.y..t.y + t.h {
                    for x in t.x..t.x + t.w {
                        covered[(y * w + x) as usize] += 1;
                    }
                }
            }
            assert!(covered.iter().all(|&c| c == 1), "{w}x{h} by {side}");
        }
        assert!(grid(0, 10, 8).is_empty());
    }
}

#[cfg(test)]
mod upload_tests {
    use super::*;
    use crate::screen::DecodingScreen;
    use crate::screen::test_updates::*;

    /// Issue 7: a picture larger than the GPU's largest texture is split into textures that fit.
    #[test]
    fn pictures_over_the_max_side_become_several_textures() {
        let ctx = egui::Context::default();
        let mut screen = DecodingScreen::new();
        screen
            .apply(&keyframe(300, 200, [1, 2, 3]))
            .expect("keyframe");
        let mut textures = RemoteTextures::default();
        textures.update(&ctx, &mut screen, 128);
        assert_eq!(textures.size(), Some((300, 200)));
        assert_eq!(textures.len(), 3 * 2);
        assert_eq!(textures.largest_side(), 128);
        // A region across tile borders updates each tile it touches without panicking.
        let delta = update(0, 300, 200, &solid(100, 100, 100, 50, [4, 5, 6]));
        screen.apply(&delta).expect("delta");
        textures.update(&ctx, &mut screen, 128);
        assert_eq!(textures.len(), 6);
        // A larger GPU limit regroups the picture into one texture.
        textures.update(&ctx, &mut screen, 4096);
        assert_eq!((textures.len(), textures.largest_side()), (1, 300));
    }

    /// Issue 7: a failed resize keyframe, with an older region still pending, used to make the
    /// window build an image from too few bytes (an assertion in egui). Now it re-uploads the
    /// whole new picture.
    #[test]
    fn a_failed_resize_keyframe_reuploads_everything() {
        let ctx = egui::Context::default();
        let mut screen = DecodingScreen::new();
        let mut textures = RemoteTextures::default();
        screen
            .apply(&keyframe(300, 200, [1, 2, 3]))
            .expect("keyframe");
        textures.update(&ctx, &mut screen, 8192);
        let delta = update(0, 300, 200, &solid(0, 0, 300, 200, [9, 9, 9]));
        screen.apply(&delta).expect("delta");
        assert!(screen.apply(&failing_keyframe(10, 10)).is_err());
        textures.update(&ctx, &mut screen, 8192);
        assert_eq!(textures.size(), Some((10, 10)));
        assert_eq!(textures.largest_side(), 10);
    }
}
