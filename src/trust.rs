//! Which relay `share` and `join` use and how they trust it, so that nobody has to type a
//! fingerprint: the first of, in order,
//! 1. `--invite` (or `TANDEM_INVITE`): one pasteable string `tandem://HOST:PORT#FINGERPRINT`, which
//!    `tandem relay` prints;
//! 2. `--relay` with `--fingerprint` or `--ca` (or `TANDEM_RELAY` / `TANDEM_FINGERPRINT`);
//! 3. the user's client config, `$XDG_CONFIG_HOME/tandem/client.toml` (`~/.config/...`);
//! 4. the system's, `/etc/tandem/client.toml`;
//! 5. an invite built into this binary (`TANDEM_BUILTIN_INVITE` at build time), so an organisation
//!    can ship a build that knows its relay.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use tandem_i18n::tr;
use tandem_relay::{Fingerprint, RelayTrust};

/// The scheme of an invite string.
const INVITE_SCHEME: &str = "tandem://";
/// The system-wide client config.
const SYSTEM_CONFIG: &str = "/etc/tandem/client.toml";
/// An invite an organisation built into its binary (`TANDEM_BUILTIN_INVITE=... cargo build`).
const BUILTIN_INVITE: Option<&str> = option_env!("TANDEM_BUILTIN_INVITE");

#[derive(Args, Clone)]
pub struct RelayFlags {
    /// The relay as one string, `tandem://HOST:PORT#FINGERPRINT` (printed by `tandem relay`).
    #[arg(long, env = "TANDEM_INVITE", conflicts_with_all = ["relay", "fingerprint", "ca"])]
    pub invite: Option<String>,
    /// Relay address, HOST:PORT. Without it: the client config file, then the built-in relay.
    #[arg(long, env = "TANDEM_RELAY")]
    pub relay: Option<String>,
    /// The relay certificate's SHA-256 fingerprint (as `tandem relay` printed it).
    #[arg(
        long,
        env = "TANDEM_FINGERPRINT",
        conflicts_with = "ca",
        requires = "relay"
    )]
    pub fingerprint: Option<String>,
    /// Verify the relay's certificate chain against this PEM CA file instead of a fingerprint.
    #[arg(long, requires = "relay")]
    pub ca: Option<PathBuf>,
    /// When the connection is lost, keep trying to restore the same session for this many
    /// seconds (no new code, no new consent) before ending it; 0 ends at once.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub reconnect_grace: u64,
}

/// The relay to use, how to trust it, and where that came from (for messages).
pub struct RelayChoice {
    pub addr: String,
    pub trust: RelayTrust,
    pub source: String,
}

/// A client config file: `relay` and `fingerprint` or `ca`, or one `invite`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    invite: Option<String>,
    relay: Option<String>,
    fingerprint: Option<String>,
    ca: Option<PathBuf>,
}

impl RelayFlags {
    /// How long a lost link is waited for; `None` when reconnecting is off.
    pub fn reconnect_grace(&self) -> Option<std::time::Duration> {
        (self.reconnect_grace > 0).then(|| std::time::Duration::from_secs(self.reconnect_grace))
    }

    /// The relay to use, from the flags, the config files or the built-in invite.
    pub fn resolve(&self) -> anyhow::Result<RelayChoice> {
        if let Some(invite) = &self.invite {
            return parse_invite(invite, "--invite").context("--invite");
        }
        if let Some(relay) = &self.relay {
            return Ok(RelayChoice {
                addr: relay.clone(),
                trust: trust_of(self.fingerprint.as_deref(), self.ca.as_deref(), "--relay")?,
                source: "the command line".into(),
            });
        }
        for path in config_files() {
            if let Some(choice) = read_config(&path)? {
                return Ok(choice);
            }
        }
        if let Some(invite) = BUILTIN_INVITE {
            return parse_invite(invite, &tr!("trust-source-builtin"));
        }
        let file = config_files()
            .first()
            .map_or_else(|| SYSTEM_CONFIG.to_owned(), |p| p.display().to_string());
        bail!("{}", tr!("trust-no-relay", file = file))
    }
}

/// The user's config file (if a config directory is known), then the system's.
fn config_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(dir) = dirs::config_dir() {
        files.push(dir.join("tandem").join("client.toml"));
    }
    files.push(PathBuf::from(SYSTEM_CONFIG));
    files
}

/// The relay a config file names; `None` if the file does not exist.
fn read_config(path: &Path) -> anyhow::Result<Option<RelayChoice>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e)
                .with_context(|| tr!("trust-reading-config", path = path.display().to_string()));
        }
    };
    let file: ClientFile = toml::from_str(&text)
        .with_context(|| tr!("trust-config-invalid", path = path.display().to_string()))?;
    let source = path.display().to_string();
    let choice = match file {
        ClientFile {
            invite: Some(invite),
            relay: None,
            fingerprint: None,
            ca: None,
        } => parse_invite(&invite, &source)?,
        ClientFile {
            invite: None,
            relay: Some(relay),
            fingerprint,
            ca,
        } => RelayChoice {
            addr: relay,
            trust: trust_of(fingerprint.as_deref(), ca.as_deref(), &source)?,
            source,
        },
        _ => bail!("{}", tr!("trust-invite-or-relay", source = source)),
    };
    Ok(Some(choice))
}

fn trust_of(
    fingerprint: Option<&str>,
    ca: Option<&Path>,
    source: &str,
) -> anyhow::Result<RelayTrust> {
    match (fingerprint, ca) {
        (Some(fp), None) => {
            Ok(RelayTrust::Fingerprint(fp.parse().with_context(|| {
                tr!("trust-fingerprint-invalid", source = source)
            })?))
        }
        (None, Some(ca)) => Ok(RelayTrust::CaFile(ca.to_owned())),
        (Some(_), Some(_)) => bail!("{}", tr!("trust-fingerprint-and-ca", source = source)),
        (None, None) => bail!("{}", tr!("trust-no-fingerprint", source = source)),
    }
}

/// `tandem://HOST:PORT#FINGERPRINT`.
pub fn invite_string(addr: &str, fingerprint: &Fingerprint) -> String {
    format!("{INVITE_SCHEME}{addr}#{fingerprint}")
}

fn parse_invite(invite: &str, source: &str) -> anyhow::Result<RelayChoice> {
    let invite = invite.trim();
    let rest = invite.strip_prefix(INVITE_SCHEME).with_context(|| {
        tr!(
            "trust-invite-scheme",
            source = source,
            scheme = INVITE_SCHEME
        )
    })?;
    let (addr, fingerprint) = rest
        .split_once('#')
        .with_context(|| tr!("trust-invite-no-fingerprint", source = source))?;
    if addr.is_empty() || !addr.contains(':') {
        bail!("{}", tr!("trust-invite-address", source = source));
    }
    let fingerprint: Fingerprint = fingerprint
        .parse()
        .with_context(|| tr!("trust-invite-fingerprint-invalid", source = source))?;
    Ok(RelayChoice {
        addr: addr.to_owned(),
        trust: RelayTrust::Fingerprint(fingerprint),
        source: source.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "aeae745710d3ae6f4482f36cedeeab0fda864f4954c264a67734625958663ff6";

    #[test]
    fn an_invite_round_trips() {
        let fp: Fingerprint = FP.parse().expect("fp");
        for addr in [
            "relay.example.org:7447",
            "[2001:db8::1]:7447",
            "10.0.0.2:4433",
        ] {
            let choice = parse_invite(&invite_string(addr, &fp), "test").expect("parses");
            assert_eq!(choice.addr, addr);
            assert!(matches!(choice.trust, RelayTrust::Fingerprint(f) if f == fp));
        }
    }

    #[test]
    fn bad_invites_say_what_is_wrong() {
        for (invite, wanted) in [
            ("relay.example.org:7447", "starts with tandem://"),
            ("tandem://relay.example.org:7447", "no #fingerprint"),
            ("tandem://relay.example.org#abc", "HOST:PORT"),
            (
                "tandem://relay.example.org:7447#abc",
                "fingerprint is not valid",
            ),
        ] {
            let error = match parse_invite(invite, "test") {
                Ok(_) => panic!("{invite} parsed"),
                Err(e) => format!("{e:#}"),
            };
            assert!(error.contains(wanted), "{invite}: {error}");
        }
    }

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("client.toml");
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn a_config_file_names_the_relay_by_invite_or_by_keys() {
        let dir = std::env::temp_dir().join(format!("tandem-client-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let by_invite = write(
            &dir,
            &format!("invite = \"tandem://r.example:7447#{FP}\"\n"),
        );
        let choice = read_config(&by_invite).expect("ok").expect("some");
        assert_eq!(choice.addr, "r.example:7447");
        let by_keys = write(
            &dir,
            &format!("relay = \"r.example:1\"\nfingerprint = \"{FP}\"\n"),
        );
        let choice = read_config(&by_keys).expect("ok").expect("some");
        assert_eq!(choice.addr, "r.example:1");
        let by_ca = write(&dir, "relay = \"r.example:1\"\nca = \"/etc/ca.pem\"\n");
        assert!(matches!(
            read_config(&by_ca).expect("ok").expect("some").trust,
            RelayTrust::CaFile(_)
        ));
        for bad in [
            format!("invite = \"tandem://r:1#{FP}\"\nrelay = \"r:1\"\n"),
            "relay = \"r:1\"\n".to_owned(),
            "relya = \"r:1\"\n".to_owned(),
        ] {
            let path = write(&dir, &bad);
            assert!(read_config(&path).is_err(), "{bad}");
        }
        assert!(
            read_config(&dir.join("missing.toml"))
                .expect("ok")
                .is_none()
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
