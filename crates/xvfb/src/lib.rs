//! A virtual X display (Xvfb) owned by a value: Xvfb picks a free display number itself and says so
//! once it accepts connections (`-displayfd`), so parallel tests never race for a number; killed with
//! everything started on it when dropped.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum XvfbError {
    #[error("cannot start {program} (is it installed? see README.md)")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("Xvfb did not come up within {timeout:?}")]
    NotReady { timeout: Duration },
}

/// How long Xvfb may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A running Xvfb and the programs started on it.
pub struct VirtualDisplay {
    name: String,
    server: Child,
    clients: Vec<Child>,
}

impl VirtualDisplay {
    /// Starts `Xvfb` at `width`x`height`x24 on a display number it picks; returns once it accepts
    /// connections.
    pub fn start(width: u32, height: u32) -> Result<Self, XvfbError> {
        let mut server = Command::new("Xvfb")
            .args(["-displayfd", "1"])
            .args(["-screen", "0", &format!("{width}x{height}x24")])
            .args(["-nolisten", "tcp", "-noreset"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| XvfbError::Spawn {
                program: "Xvfb".into(),
                source,
            })?;
        let number = server.stdout.take().and_then(|stdout| {
            // Xvfb writes the number once it is ready; read it on a thread to bound the wait.
            let (tx, rx) = std::sync::mpsc::channel();
            let _ = std::thread::Builder::new()
                .name("xvfb-displayfd".into())
                .spawn(move || {
                    let mut line = String::new();
                    let _ = BufReader::new(stdout).read_line(&mut line);
                    let _ = tx.send(line.trim().parse::<u32>().ok());
                });
            rx.recv_timeout(READY_TIMEOUT).ok().flatten()
        });
        let Some(number) = number else {
            let _ = server.kill();
            let _ = server.wait();
            return Err(XvfbError::NotReady {
                timeout: READY_TIMEOUT,
            });
        };
        Ok(Self {
            name: format!(":{number}"),
            server,
            clients: Vec::new(),
        })
    }

    /// The `DISPLAY` value, e.g. `:99`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The X server's process id (to measure what drawing on this display costs).
    pub fn server_pid(&self) -> u32 {
        self.server.id()
    }

    /// Starts `program` on this display; it is killed when the display is dropped.
    pub fn spawn<I, S>(&mut self, program: &str, args: I) -> Result<(), XvfbError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let child = Command::new(program)
            .args(args)
            .env("DISPLAY", &self.name)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| XvfbError::Spawn {
                program: program.into(),
                source,
            })?;
        self.clients.push(child);
        Ok(())
    }
}

impl Drop for VirtualDisplay {
    fn drop(&mut self) {
        for child in self
            .clients
            .iter_mut()
            .chain(std::iter::once(&mut self.server))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
