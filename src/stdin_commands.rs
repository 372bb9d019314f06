//! Commands typed (or scripted) on stdin, read on their own thread and passed to a session.

use std::io::BufRead;

use tokio::sync::mpsc::UnboundedSender;

/// Reads stdin line by line until it ends or the session is gone; `parse` turns a trimmed line into a
/// command, or `None` to skip it (after printing help, if the line meant something).
pub fn spawn<C: Send + 'static>(
    commands: UnboundedSender<C>,
    mut parse: impl FnMut(&str) -> Option<C> + Send + 'static,
) {
    let spawned = std::thread::Builder::new()
        .name("tandem-stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { return };
                let Some(command) = parse(line.trim()) else {
                    continue;
                };
                if commands.send(command).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!(
            "{}",
            tandem_i18n::tr!("cli-stdin-failed", error = e.to_string())
        );
    }
}
