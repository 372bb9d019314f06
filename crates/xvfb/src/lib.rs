//! A virtual X display (Xvfb) owned by a value: started on a free display number, ready when its
//! socket appears, killed with everything started on it when dropped.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum XvfbError {
    #[error("cannot start {program} (is it installed? see README.md)")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("Xvfb on {display} did not come up within {timeout:?}")]
    NotReady { display: String, timeout: Duration },
    #[error("no free X display number between {first} and {last}")]
    NoFreeDisplay { first: u32, last: u32 },
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
    /// Starts `Xvfb` at `width`x`height`x24 on the first free display number from `first`.
    pub fn start(first: u32, width: u32, height: u32) -> Result<Self, XvfbError> {
        let last = first + 200;
        let number = (first..last)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .ok_or(XvfbError::NoFreeDisplay { first, last })?;
        let name = format!(":{number}");
        let server = Command::new("Xvfb")
            .arg(&name)
            .args(["-screen", "0", &format!("{width}x{height}x24")])
            .args(["-nolisten", "tcp", "-noreset"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| XvfbError::Spawn {
                program: "Xvfb".into(),
                source,
            })?;
        let display = Self {
            name,
            server,
            clients: Vec::new(),
        };
        display.wait_ready(number)?;
        Ok(display)
    }

    fn wait_ready(&self, number: u32) -> Result<(), XvfbError> {
        let socket = format!("/tmp/.X11-unix/X{number}");
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if Path::new(&socket).exists() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(XvfbError::NotReady {
            display: self.name.clone(),
            timeout: READY_TIMEOUT,
        })
    }

    /// The `DISPLAY` value, e.g. `:99`.
    pub fn name(&self) -> &str {
        &self.name
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
