//! "Show my screen" on the technician's side: the host crate's capture of this display, given to
//! the viewer session as its [`ScreenSource`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tandem_host::presenter::Presenter;
use tandem_viewer::{ScreenSource, ScreenSourceFactory};

struct PresenterSource(Presenter);

impl ScreenSource for PresenterSource {
    fn allow(&self, limit: u64) {
        self.0.allow(limit);
    }

    fn next_update(
        &mut self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + '_>> {
        Box::pin(self.0.next_update())
    }
}

/// Capture of this display, if there is one to capture.
pub fn factory() -> Option<ScreenSourceFactory> {
    crate::have_display().then(|| {
        ScreenSourceFactory(Arc::new(|| {
            Presenter::start()
                .map(|p| Box::new(PresenterSource(p)) as Box<dyn ScreenSource>)
                .map_err(|e| format!("cannot capture this screen: {e}"))
        }))
    })
}
