//! What both native windows share about the platform: they run on X11 (Xwayland in a Wayland
//! session), like the capture, the input injection and the clipboard. winit is built with its
//! Wayland backend (AccessKit's winit adapter asks for it) and would pick Wayland whenever
//! `WAYLAND_DISPLAY` is set; there the user's window could neither stay on top nor sit at the top
//! edge of the screen.

use eframe::egui;

/// Makes the window's event loop use X11.
pub fn x11_only(options: &mut eframe::NativeOptions) {
    options.event_loop_builder = Some(Box::new(|builder| {
        use winit::platform::x11::EventLoopBuilderExtX11;
        builder.with_x11();
    }));
}

/// The options both windows start from: X11, the viewport given.
pub fn options(viewport: egui::ViewportBuilder) -> eframe::NativeOptions {
    let mut options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    x11_only(&mut options);
    options
}
