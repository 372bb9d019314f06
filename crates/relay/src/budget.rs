//! The relay-wide budget for bytes in flight. Each paired connection may make the relay hold its
//! QUIC receive window (what the client sent that its peer has not taken yet) plus its send buffer
//! (what the relay forwarded that the peer has not acknowledged). Per connection those are capped
//! by [`RELAY_RECEIVE_WINDOW`] and [`RELAY_SEND_WINDOW`]; across connections the budget splits
//! `total` evenly, in powers of two so that pairings rarely change anyone's share, and never below
//! [`MIN_SHARE`] so that a crowded relay still moves screens.
//!
//! Connections that are not paired keep the small windows of the transport config
//! ([`crate::tls::UNPAIRED_WINDOW`]): they carry relay requests only.
//!
//! QUIC cannot take back credit already granted, so after a burst of pairings the relay may hold
//! what earlier, larger shares granted until it is consumed; new credit follows the current share.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::metrics::gauge::Gauge;

use crate::tls::{RELAY_RECEIVE_WINDOW, RELAY_SEND_WINDOW};

/// The smallest share: 64 KiB each way still carries a screen at a few MB/s over a short RTT.
pub const MIN_SHARE: u64 = 64 * 1024;
/// Default total: 1 GiB, a 2,000-connection relay's worth at 256 KiB each way.
pub const DEFAULT_BUFFER_BUDGET: u64 = 1024 * 1024 * 1024;

/// The budget and the paired connections it is shared between.
#[derive(Clone)]
pub(crate) struct BufferBudget {
    inner: Arc<Inner>,
}

struct Inner {
    total: AtomicU64,
    paired: Mutex<Paired>,
    /// The current share each way, for `/metrics`.
    share_gauge: Gauge,
}

struct Paired {
    connections: HashMap<u64, quinn::Connection>,
    next_key: u64,
    share: u64,
}

/// A paired connection's place in the budget; dropping it gives the share back.
pub(crate) struct BudgetSeat {
    budget: BufferBudget,
    key: u64,
}

/// Each way, per paired connection, for `total` bytes over `connections` paired connections.
pub(crate) fn share_for(total: u64, connections: usize) -> u64 {
    let max = u64::from(RELAY_RECEIVE_WINDOW).min(RELAY_SEND_WINDOW);
    let even = total / (2 * connections.max(1) as u64);
    // The largest power of two not above the even split.
    let step = if even == 0 {
        0
    } else {
        1u64 << (63 - even.leading_zeros())
    };
    step.clamp(MIN_SHARE, max)
}

impl BufferBudget {
    pub(crate) fn new(total: u64, share_gauge: Gauge) -> Self {
        let share = share_for(total, 1);
        share_gauge.set(i64::try_from(share).unwrap_or(i64::MAX));
        Self {
            inner: Arc::new(Inner {
                total: AtomicU64::new(total),
                paired: Mutex::new(Paired {
                    connections: HashMap::new(),
                    next_key: 0,
                    share,
                }),
                share_gauge,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Paired> {
        // A panic elsewhere while holding it leaves the map consistent (plain inserts/removes).
        self.inner
            .paired
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a seat for a connection that was just paired, and gives it its share.
    pub(crate) fn seat(&self, connection: &quinn::Connection) -> BudgetSeat {
        let mut paired = self.lock();
        let key = paired.next_key;
        paired.next_key += 1;
        paired.connections.insert(key, connection.clone());
        let changed = self.rebalance(&mut paired);
        if !changed {
            apply(connection, paired.share);
        }
        BudgetSeat {
            budget: self.clone(),
            key,
        }
    }

    /// A new total (configuration reload): shares follow at once.
    pub(crate) fn set_total(&self, total: u64) {
        self.inner.total.store(total, Ordering::Relaxed);
        let mut paired = self.lock();
        self.rebalance(&mut paired);
    }

    /// Recomputes the share; if it changed, applies it to every paired connection. Returns whether
    /// it changed.
    fn rebalance(&self, paired: &mut Paired) -> bool {
        let share = share_for(
            self.inner.total.load(Ordering::Relaxed),
            paired.connections.len(),
        );
        if share == paired.share {
            return false;
        }
        paired.share = share;
        self.inner
            .share_gauge
            .set(i64::try_from(share).unwrap_or(i64::MAX));
        tracing::debug!(
            share,
            paired = paired.connections.len(),
            "buffer share per connection changed"
        );
        for connection in paired.connections.values() {
            apply(connection, share);
        }
        true
    }
}

impl Drop for BudgetSeat {
    fn drop(&mut self) {
        let mut paired = self.budget.lock();
        paired.connections.remove(&self.key);
        self.budget.rebalance(&mut paired);
    }
}

fn apply(connection: &quinn::Connection, share: u64) {
    // `share` ≤ RELAY_RECEIVE_WINDOW, a u32.
    connection.set_receive_window(quinn::VarInt::from_u32(
        u32::try_from(share).unwrap_or(RELAY_RECEIVE_WINDOW),
    ));
    connection.set_send_window(share);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_connections_get_the_full_windows() {
        assert_eq!(share_for(DEFAULT_BUFFER_BUDGET, 1), 2 * 1024 * 1024);
        assert_eq!(share_for(DEFAULT_BUFFER_BUDGET, 256), 2 * 1024 * 1024);
    }

    #[test]
    fn many_connections_split_the_budget_in_powers_of_two() {
        // 1 GiB over 2,000 connections: 268 kB each way evenly, 256 KiB as a power of two.
        assert_eq!(share_for(DEFAULT_BUFFER_BUDGET, 2000), 256 * 1024);
        for n in [1, 3, 17, 300, 2000, 5000] {
            let share = share_for(64 * 1024 * 1024, n);
            assert!(share.is_power_of_two());
            assert!(
                share == MIN_SHARE || 2 * share * n as u64 <= 64 * 1024 * 1024,
                "{n} connections at {share} overrun the budget"
            );
        }
    }

    #[test]
    fn never_below_the_floor() {
        assert_eq!(share_for(0, 10), MIN_SHARE);
        assert_eq!(share_for(1024 * 1024, 100_000), MIN_SHARE);
    }
}
