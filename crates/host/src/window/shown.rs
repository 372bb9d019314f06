//! "Show my screen": the technician's screen in a window of its own, view only, with Close.

use std::time::Duration;

use eframe::egui;
use tandem_collab_ui::style;
use tandem_i18n::tr;

/// How often the window looks for a new picture of the technician's screen while it is shown.
const SHOWN_REFRESH: Duration = Duration::from_millis(66);

/// Draws the viewport; returns whether the user closed it.
pub(crate) fn show(
    ctx: &egui::Context,
    technician: &str,
    picture: &crate::ShownPicture,
    textures: &mut tandem_viewer::textures::RemoteTextures,
) -> bool {
    let mut close = false;
    let title = tr!("window-shown-title", name = technician);
    ctx.show_viewport_immediate(
        egui::ViewportId::from_hash_of("tandem-shown-screen"),
        egui::ViewportBuilder::default()
            .with_title(title.clone())
            .with_inner_size([960.0, 600.0]),
        |ui, _class| {
            let ctx = ui.ctx().clone();
            if ctx.input(|i| i.viewport().close_requested()) {
                close = true;
            }
            {
                let max_side = ctx.input(|i| i.max_texture_side);
                let mut screen = tandem_viewer::Screen::lock(&picture.0);
                textures.update(&ctx, &mut screen, max_side);
            }
            egui::Panel::top("shown-bar").show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new(&title).strong());
                    ui.label(tr!("window-shown-only-watch"));
                    if style::add(ui, style::secondary(tr!("window-close"))).clicked() {
                        close = true;
                    }
                });
            });
            egui::CentralPanel::default().show(ui, |ui| match textures.size() {
                Some((w, h)) => {
                    let avail = ui.available_rect_before_wrap();
                    let scale = (avail.width() / w as f32)
                        .min(avail.height() / h as f32)
                        .min(1.0);
                    let size = egui::vec2(w as f32, h as f32) * scale;
                    let rect = egui::Rect::from_center_size(avail.center(), size);
                    textures.paint(ui.painter(), rect.min, scale);
                }
                None => {
                    ui.label(tr!("window-shown-waiting"));
                }
            });
            ctx.request_repaint_after(SHOWN_REFRESH);
        },
    );
    close
}
