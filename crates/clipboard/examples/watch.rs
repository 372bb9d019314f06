//! Watches the clipboard of the display in `DISPLAY` and prints what changes, by kind and size only.
//! `cargo run -p tandem-clipboard --example watch [--poll] [SECONDS]`; runs until interrupted without
//! SECONDS. Handy to try a desktop's programs against the watcher, or to measure an idle watcher's
//! CPU use.

use std::time::Duration;

use tandem_clipboard::{ClipEvent, Detection, SystemClipboard};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tandem_clipboard=debug".into()),
        )
        .init();
    let mut detection = Detection::Xfixes;
    let mut seconds = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--poll" => detection = Detection::Polling,
            number => seconds = Some(number.parse::<u64>()?),
        }
    }
    let clipboard = SystemClipboard::start_with(detection, |event| match event {
        ClipEvent::Changed(content) => println!("changed: {content:?}"),
        ClipEvent::Skipped(limit) => println!("skipped: {limit}"),
        other => println!("{other:?}"),
    })?;
    println!("watching with {:?}", clipboard.detection());
    match seconds {
        Some(seconds) => std::thread::sleep(Duration::from_secs(seconds)),
        None => loop {
            std::thread::park();
        },
    }
    drop(clipboard);
    Ok(())
}
