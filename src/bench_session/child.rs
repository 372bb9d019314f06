//! A program the benchmark started, killed when dropped; a `tandem --json` child's events are read
//! on a thread (its stdout must never fill up) and handed over through a channel.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

pub struct Spawned {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    events: Option<mpsc::Receiver<Value>>,
    /// The viewer's decoded-update count from its latest `stats` event (tandem join only).
    pub frames: Arc<AtomicU64>,
    /// The latest `stats` event (tandem join only): encode, decode and round-trip times.
    pub stats: Arc<Mutex<Option<Value>>>,
}

impl Spawned {
    /// Starts `program` with `args` on `display` (or none); `json_events`: read its stdout as one
    /// JSON event per line. Its stderr goes to `log`.
    pub fn start(
        name: &str,
        program: &Path,
        args: &[String],
        display: Option<&str>,
        data_home: &Path,
        log: &Path,
        json_events: bool,
    ) -> anyhow::Result<Spawned> {
        let stderr = std::fs::File::create(log)
            .with_context(|| format!("creating the log file {}", log.display()))?;
        let mut command = Command::new(program);
        command
            .args(args)
            // Session reports and drafts go to the benchmark's throwaway folder.
            .env("XDG_DATA_HOME", data_home)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(if json_events {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(stderr);
        match display {
            Some(display) => command.env("DISPLAY", display),
            None => command.env_remove("DISPLAY"),
        };
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {} ({name})", program.display()))?;
        let frames = Arc::new(AtomicU64::new(0));
        let stats = Arc::new(Mutex::new(None));
        let events = match child.stdout.take() {
            Some(stdout) if json_events => {
                let (tx, rx) = mpsc::channel();
                let frames = frames.clone();
                let stats = stats.clone();
                std::thread::Builder::new()
                    .name(format!("bench-{name}-events"))
                    .spawn(move || {
                        for line in BufReader::new(stdout).lines() {
                            let Ok(line) = line else { break };
                            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                                continue;
                            };
                            if event["event"] == "stats" {
                                if let Some(count) = event["frames"].as_u64() {
                                    frames.store(count, Ordering::Relaxed);
                                }
                                *stats.lock().unwrap_or_else(|e| e.into_inner()) =
                                    Some(event.clone());
                            }
                            // Nobody waits for the rest once the session runs; a closed
                            // receiver is fine.
                            let _ = tx.send(event);
                        }
                    })
                    .context("starting an event reader thread")?;
                Some(rx)
            }
            _ => None,
        };
        let stdin = child.stdin.take();
        Ok(Spawned {
            name: name.into(),
            child,
            stdin,
            events,
            frames,
            stats,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The first event named `name` that satisfies `check`, within `timeout`.
    pub fn wait_event_where(
        &mut self,
        name: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let Some(events) = &self.events else {
            bail!("{} has no event stream", self.name);
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match events.recv_timeout(left) {
                Ok(event) if event["event"] == name && check(&event) => return Ok(event),
                Ok(event) if event["event"] == "session_ended" => {
                    bail!("{} ended while waiting for {name}: {event}", self.name)
                }
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    bail!("{} sent no {name} event within {timeout:?}", self.name)
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!("{} exited before its {name} event", self.name)
                }
            }
        }
    }

    pub fn wait_event(&mut self, name: &str, timeout: Duration) -> anyhow::Result<Value> {
        self.wait_event_where(name, timeout, |_| true)
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
