//! The flags that say which relay to use and how to trust it, shared by `share` and `join`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use tandem_relay::{Fingerprint, RelayTrust};

#[derive(Args, Clone)]
pub struct RelayFlags {
    /// Relay address, HOST:PORT (as `tandem relay` printed it).
    #[arg(long, env = "TANDEM_RELAY")]
    pub relay: String,
    /// The relay certificate's SHA-256 fingerprint (as `tandem relay` printed it).
    #[arg(long, env = "TANDEM_FINGERPRINT", conflicts_with = "ca")]
    pub fingerprint: Option<String>,
    /// Verify the relay's certificate chain against this PEM CA file instead of a fingerprint.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// When the connection is lost, keep trying to restore the same session for this many
    /// seconds (no new code, no new consent) before ending it; 0 ends at once.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub reconnect_grace: u64,
}

impl RelayFlags {
    /// How long a lost link is waited for; `None` when reconnecting is off.
    pub fn reconnect_grace(&self) -> Option<std::time::Duration> {
        (self.reconnect_grace > 0).then(|| std::time::Duration::from_secs(self.reconnect_grace))
    }

    pub fn trust(&self) -> anyhow::Result<RelayTrust> {
        match (&self.fingerprint, &self.ca) {
            (Some(fp), _) => {
                let fp: Fingerprint = fp
                    .parse()
                    .context("--fingerprint is not a valid SHA-256 fingerprint")?;
                Ok(RelayTrust::Fingerprint(fp))
            }
            (None, Some(ca)) => Ok(RelayTrust::CaFile(ca.clone())),
            (None, None) => bail!(
                "say how to trust the relay: --fingerprint FP (printed by `tandem relay`) or --ca FILE"
            ),
        }
    }
}
