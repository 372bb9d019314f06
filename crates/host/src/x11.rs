//! A connection of its own to the X display `DISPLAY` names, and its root window: capture, the
//! screen copy, the damage watcher and the layout reader each open one.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::Window;
use x11rb::rust_connection::RustConnection;

/// Connects to the display `DISPLAY` names; the connection and its screen's root window.
pub fn connect_root() -> Result<(RustConnection, Window), String> {
    let (conn, screen) = x11rb::connect(None).map_err(|e| e.to_string())?;
    let root = conn
        .setup()
        .roots
        .get(screen)
        .ok_or("no such X screen")?
        .root;
    Ok((conn, root))
}
