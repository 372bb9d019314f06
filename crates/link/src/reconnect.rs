//! Getting a lost link back (PROTOCOL.md §9): connect to the same relay again, ask it to pair this
//! side with the other side of the session by the resume id, and prove the resume secret to each
//! other with a new handshake. Retried with backoff until a deadline; the session machines decide
//! what happens meanwhile and after.

use std::time::Duration;

use tandem_proto::handshake::{Credential, ResumeTicket};
use tandem_proto::relay::ResumeRole;
use tandem_relay::{ClientError, RelayClient, RelayTrust};
use thiserror::Error;
use tokio::time::Instant;
use tracing::{debug, info};

use crate::{Link, LinkError, host_handshake_with, viewer_handshake_with};

/// First pause between attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Where and as whom to resume a lost link.
#[derive(Debug, Clone)]
pub struct ResumeTarget {
    /// The relay (node) the lost link ran through, and how it is trusted.
    pub relay: String,
    pub trust: RelayTrust,
    pub role: ResumeRole,
    /// The lost link's ticket.
    pub ticket: ResumeTicket,
}

impl ResumeTarget {
    /// The target for resuming the link `relay` and `link` make up now, as `role`.
    pub fn of(relay: &RelayClient, link: &Link, role: ResumeRole) -> Self {
        let (relay, trust) = relay.reconnect_target();
        Self {
            relay,
            trust,
            role,
            ticket: link.resume.clone(),
        }
    }
}

/// Why a link was not resumed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReconnectError {
    /// Every attempt failed until the deadline; `last` is the last attempt's failure.
    #[error("the link was not restored in time (last attempt: {last})")]
    GaveUp { last: String },
    /// The relay's certificate changed: resuming through another relay identity is refused.
    #[error(transparent)]
    Relay(ClientError),
}

/// One attempt's failure.
#[derive(Debug, Error)]
enum AttemptError {
    #[error(transparent)]
    Relay(#[from] ClientError),
    #[error(transparent)]
    Link(#[from] LinkError),
}

/// Tries to resume the lost link until `deadline`: connect, `Resume`, handshake with the ticket.
/// Returns the new relay connection and the new link (with a new ticket).
pub async fn reconnect(
    target: &ResumeTarget,
    deadline: Instant,
) -> Result<(RelayClient, Link), ReconnectError> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let last = match tokio::time::timeout_at(deadline, try_once(target)).await {
            Ok(Ok(resumed)) => {
                info!(attempt, "link resumed");
                return Ok(resumed);
            }
            Ok(Err(AttemptError::Relay(e @ ClientError::FingerprintMismatch { .. }))) => {
                return Err(ReconnectError::Relay(e));
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer before the deadline".to_owned(),
        };
        debug!(attempt, error = %last, "resume attempt failed");
        if Instant::now() + backoff >= deadline {
            return Err(ReconnectError::GaveUp { last });
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn try_once(target: &ResumeTarget) -> Result<(RelayClient, Link), AttemptError> {
    let mut relay = RelayClient::connect(&target.relay, &target.trust).await?;
    let result = async {
        relay.resume(target.role, target.ticket.id()).await?;
        let credential = Credential::Resume(&target.ticket);
        let connection = relay.connection().clone();
        let link = match target.role {
            ResumeRole::Host => {
                host_handshake_with(connection, credential, &relay.relay_id()).await
            }
            ResumeRole::Viewer => {
                viewer_handshake_with(connection, credential, &relay.relay_id()).await
            }
        }?;
        Ok::<_, AttemptError>(link)
    }
    .await;
    match result {
        Ok(link) => Ok((relay, link)),
        Err(e) => {
            relay.close("resume attempt failed");
            Err(e)
        }
    }
}
