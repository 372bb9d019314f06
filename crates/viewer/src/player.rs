//! `tandem play`: a recording replayed in a window at 1x, 2x or 4x, with pause and a seek slider.
//! The picture is drawn with the viewer's own textures; decoding happens on the UI thread, which
//! is fine for one replay (a seek decodes from the last keyframe before the target).

use std::time::Instant;

use eframe::egui;
use egui::{Color32, Rect};
use tandem_i18n::tr;
use tandem_recording::Playback;

use crate::screen::Screen;
use crate::textures::RemoteTextures;

/// Replays `playback` in a window until it is closed.
pub fn run(title: String, playback: Playback) -> eframe::Result {
    let options = tandem_collab_ui::native::options(
        egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size([1280.0, 760.0]),
    );
    eframe::run_native(
        "tandem-player",
        options,
        Box::new(move |_cc| {
            Ok(Box::new(PlayerApp {
                duration_ms: playback.replay().duration_ms(),
                truncated: playback.replay().truncated() || playback.replay().damaged().is_some(),
                playback,
                screen: Screen::new(),
                textures: RemoteTextures::default(),
                playing: true,
                speed: 1,
                position_ms: 0.0,
                last_tick: None,
                shown: None,
                error: None,
            }))
        }),
    )
}

struct PlayerApp {
    playback: Playback,
    screen: Screen,
    textures: RemoteTextures,
    duration_ms: u32,
    truncated: bool,
    playing: bool,
    /// 1, 2 or 4.
    speed: u32,
    position_ms: f64,
    last_tick: Option<Instant>,
    /// The playback generation the screen holds.
    shown: Option<u64>,
    error: Option<String>,
}

/// `m:ss.s` for a time in milliseconds.
pub fn clock(ms: f64) -> String {
    let secs = ms / 1000.0;
    format!("{}:{:04.1}", (secs / 60.0).floor() as u64, secs % 60.0)
}

impl PlayerApp {
    /// Play/pause, speed, the seek slider and the time; true if the user changed something.
    fn controls(&mut self, ui: &mut egui::Ui) -> bool {
        let mut changed = false;
        ui.horizontal(|ui| {
            let label = if self.playing {
                tr!("player-pause")
            } else {
                tr!("player-play")
            };
            if ui.button(label).clicked() {
                if !self.playing && self.position_ms >= f64::from(self.duration_ms) {
                    self.position_ms = 0.0;
                }
                self.playing = !self.playing;
                changed = true;
            }
            ui.separator();
            for speed in [1, 2, 4] {
                changed |= ui
                    .selectable_value(&mut self.speed, speed, tr!("player-speed", speed = speed))
                    .changed();
            }
            ui.separator();
            let mut seconds = self.position_ms / 1000.0;
            let max = f64::from(self.duration_ms) / 1000.0;
            ui.style_mut().spacing.slider_width = (ui.available_width() - 200.0).max(100.0);
            let slider = egui::Slider::new(&mut seconds, 0.0..=max).show_value(false);
            if ui.add(slider).changed() {
                self.position_ms = seconds * 1000.0;
                changed = true;
            }
            ui.label(format!(
                "{} / {}",
                clock(self.position_ms),
                clock(f64::from(self.duration_ms))
            ));
            if self.truncated {
                ui.label(egui::RichText::new(tr!("player-cut-short")).weak())
                    .on_hover_text(tr!("player-cut-short-hover"));
            }
        });
        if let Some(error) = &self.error {
            ui.colored_label(Color32::LIGHT_RED, error);
        }
        changed
    }

    /// Moves the position on by the time since the last frame (times the speed) while playing,
    /// and shows the picture there.
    fn advance(&mut self) {
        let now = Instant::now();
        if self.playing
            && let Some(last) = self.last_tick
        {
            self.position_ms +=
                now.duration_since(last).as_secs_f64() * 1000.0 * f64::from(self.speed);
            if self.position_ms >= f64::from(self.duration_ms) {
                self.position_ms = f64::from(self.duration_ms);
                self.playing = false;
            }
        }
        self.last_tick = Some(now);
        self.show_position();
    }

    /// Decodes to the position and hands a changed picture to the textures.
    fn show_position(&mut self) {
        if let Err(e) = self.playback.seek(self.position_ms as u32) {
            self.error = Some(tr!("player-stopped", error = e.to_string()));
            self.playing = false;
        }
        if self.shown != Some(self.playback.generation()) {
            let (width, height, rgba) = self.playback.picture();
            self.screen.show_picture(width, height, rgba);
            self.shown = Some(self.playback.generation());
        }
    }

    fn draw(&self, ui: &mut egui::Ui) {
        let Some((width, height)) = self.textures.size() else {
            return;
        };
        let size = egui::vec2(width as f32, height as f32);
        let avail = ui.available_rect_before_wrap();
        let scale = (avail.width() / size.x).min(avail.height() / size.y);
        let rect = Rect::from_center_size(avail.center(), size * scale);
        self.textures.paint(ui.painter(), rect.min, scale);
        if let Some((x, y)) = self.playback.cursor() {
            let p = rect.min + egui::vec2(x as f32, y as f32) * scale;
            ui.painter().circle(
                p,
                4.0,
                Color32::from_rgba_unmultiplied(255, 60, 60, 200),
                egui::Stroke::new(1.0, Color32::WHITE),
            );
        }
    }
}

impl eframe::App for PlayerApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        // Advanced first, so the controls show this frame's state (Play once the end is reached).
        self.advance();
        let changed = egui::Panel::top("controls")
            .show(ui, |ui| self.controls(ui))
            .inner;
        if changed {
            self.show_position();
        }
        let max_side = ctx.input(|i| i.max_texture_side);
        self.textures.update(&ctx, &mut self.screen, max_side);
        egui::CentralPanel::default()
            .frame(egui::Frame::new().fill(Color32::from_gray(24)))
            .show(ui, |ui| self.draw(ui));
        if self.playing {
            // Paced by the recording's own times: the next frame is due within a screen refresh.
            ctx.request_repaint_after(std::time::Duration::from_millis(16));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clock_shows_minutes_and_tenths() {
        assert_eq!(super::clock(0.0), "0:00.0");
        assert_eq!(super::clock(75_250.0), "1:15.2");
    }
}
