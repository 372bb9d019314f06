//! Tandem's relay: pairs a host and a viewer by a one-time routing code and forwards the QUIC
//! streams between them, which are sealed end to end so the relay cannot read them.
//!
//! The crate holds both sides of the relay exchange:
//! - [`Relay`], the server: a sans-IO registry (codes, pairing, expiry, rate limits) inside a
//!   tokio + quinn shell with one task per connection.
//! - [`RelayClient`], used by the host ([`RelayClient::register`], [`RelayClient::wait_paired`]) and
//!   the viewer ([`RelayClient::join`]); after pairing, streams opened on
//!   [`RelayClient::connection`] reach the peer.
//!
//! Clients trust the relay by pinning its certificate [`Fingerprint`] (SHA-256 of the leaf DER), or
//! by a CA file for relays with a real certificate.

mod budget;
pub mod cluster;
pub mod config;
mod forward;
mod http;
mod limits;
mod metrics;
mod registry;
mod tap;

pub mod client;
pub mod server;
pub mod tls;

use std::time::Duration;

pub use budget::{DEFAULT_BUFFER_BUDGET, MIN_SHARE};
pub use client::{ClientError, Registration, RelayClient, RelayTrust};
pub use cluster::{ClusterConfig, ClusterError};
pub use limits::Rate;
pub use server::{RateLimits, Relay, RelayConfig, RelayError, RelayEvent, RelayHandle, TlsSource};
pub use tls::{Fingerprint, FingerprintParseError, TlsError};

#[cfg(feature = "tap")]
pub use tap::{ForwardTap, TapDirection};

/// The UDP port a relay listens on by default, and clients assume when none is given.
pub const DEFAULT_PORT: u16 = 7447;
/// The longest a code waits for a viewer unless the operator says otherwise.
pub const DEFAULT_MAX_CODE_TTL: Duration = Duration::from_secs(600);

/// QUIC application close code: normal close.
pub const CLOSE_NORMAL: u32 = 0;
/// QUIC application close code: the relay is shutting down.
pub const CLOSE_SHUTDOWN: u32 = 1;
/// QUIC application close code: the client sent a malformed relay request.
pub const CLOSE_PROTOCOL: u32 = 2;
/// QUIC application close code: the client sent no request in time.
pub const CLOSE_IDLE: u32 = 3;
/// Stream reset / stop code the relay uses on a forwarded stream whose other end is gone.
pub const STREAM_PEER_GONE: u32 = 0x7e;
