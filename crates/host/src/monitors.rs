//! The desktop's layout as the X server reports it: the root window's size and the RandR monitors
//! (name, geometry, primary). The rules about which part is shown live in
//! `tandem_proto::flow` (the host machine); this only reads.

use tandem_proto::flow::Layout;
use tandem_proto::limits::MAX_MONITORS;
use tandem_proto::session::MonitorInfo;
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::{ConnectionExt as _, Window};
use x11rb::rust_connection::RustConnection;

/// An X connection to read the layout on (the display `DISPLAY` names).
pub struct LayoutReader {
    conn: RustConnection,
    root: Window,
    randr: bool,
}

impl LayoutReader {
    pub fn connect() -> Result<Self, String> {
        let (conn, root) = crate::x11::connect_root()?;
        // RandR 1.5 has monitors; without it the desktop is one monitor.
        let randr = conn
            .randr_query_version(1, 5)
            .ok()
            .and_then(|c| c.reply().ok())
            .is_some_and(|v| v.major_version > 1 || v.minor_version >= 5);
        Ok(Self { conn, root, randr })
    }

    /// The layout now; `None` if the X server did not answer.
    pub fn read(&self) -> Option<Layout> {
        // The root's size now (the setup's is from when we connected).
        let geometry = self.conn.get_geometry(self.root).ok()?.reply().ok()?;
        let mut monitors = Vec::new();
        if self.randr
            && let Some(reply) = self
                .conn
                .randr_get_monitors(self.root, true)
                .ok()
                .and_then(|c| c.reply().ok())
        {
            for m in reply.monitors.iter().take(MAX_MONITORS) {
                let name = self
                    .conn
                    .get_atom_name(m.name)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .map(|r| String::from_utf8_lossy(&r.name).into_owned())
                    .unwrap_or_else(|| format!("monitor {}", monitors.len() + 1));
                monitors.push(MonitorInfo::new(
                    &name, m.x, m.y, m.width, m.height, m.primary,
                ));
            }
        }
        Some(Layout {
            width: geometry.width,
            height: geometry.height,
            monitors,
        })
    }
}
