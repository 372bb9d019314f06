//! The cluster's shared directory behind a small trait: the shipped node talks to Redis
//! ([`super::redis_dir::RedisDirectory`]); unit tests use [`MemoryDirectory`], an in-memory fake
//! with the same semantics (key expiry, set-if-absent, compare-and-delete) that can also be made
//! unavailable. Every call is one round trip to the directory; the node wraps each in a timeout.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tandem_proto::code::RoutingCode;
use thiserror::Error;

/// Why a directory call failed. Any of them makes the node treat the cluster as unavailable.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum DirectoryError {
    #[error("not connected to the cluster directory")]
    NotConnected,
    #[error("the cluster directory did not answer within {timeout:?}")]
    Timeout { timeout: Duration },
    #[error("the cluster directory failed: {detail}")]
    Backend { detail: String },
}

pub(crate) type DirResult<T> = Result<T, DirectoryError>;
pub(crate) type DirFuture<'a, T> = Pin<Box<dyn Future<Output = DirResult<T>> + Send + 'a>>;

/// A code this node keeps alive in the directory: its key holds `value` (node id and session) and
/// lives `ttl` more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeldCode {
    pub routing: RoutingCode,
    pub value: String,
    pub ttl: Duration,
}

/// What a heartbeat found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Beat {
    /// Whether the directory still had this node from its previous heartbeat. False on the first
    /// one, and when the directory lost its data (a Redis restart without persistence) or this node
    /// missed heartbeats for longer than the TTL: its codes were then written again if free.
    pub was_known: bool,
    /// Per held code, in order: whether its key is ours (kept alive), missing (taken by a join, or
    /// not yet claimed) or another node's.
    pub codes: Vec<CodeState>,
    /// Every live node's published entry (this one included), as (id, text).
    pub nodes: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeState {
    Ours,
    Missing,
    Taken,
}

/// One fixed-window counter: `key` counts attempts in a window of `window` that starts at its first
/// attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WindowCounter {
    pub key: String,
    pub window: Duration,
}

/// The cluster's directory. Keys and values are built by [`super`]; implementations only store.
pub(crate) trait Directory: Send + Sync + 'static {
    /// Connects if not connected (the node calls it with backoff while the directory is down).
    fn connect(&self) -> DirFuture<'_, ()>;
    /// Publishes this node (`node_key` = `entry` for `ttl`, listed in the node set until then),
    /// keeps `codes` alive (re-writing missing ones when the directory had forgotten this node),
    /// and reads every live node's entry.
    fn heartbeat<'a>(
        &'a self,
        node_id: &'a str,
        entry: &'a str,
        ttl: Duration,
        codes: &'a [HeldCode],
    ) -> DirFuture<'a, Beat>;
    /// Takes this node out: its entry and those of `codes` that are still its own.
    fn leave<'a>(&'a self, node_id: &'a str, codes: &'a [HeldCode]) -> DirFuture<'a, ()>;
    /// Counts one attempt in each counter (atomically); returns each count, this one included.
    fn count<'a>(&'a self, counters: &'a [WindowCounter]) -> DirFuture<'a, Vec<u64>>;
    /// Writes `routing` = `value` for `ttl` unless the code is held already; whether it was written.
    fn claim<'a>(
        &'a self,
        routing: &'a RoutingCode,
        value: &'a str,
        ttl: Duration,
    ) -> DirFuture<'a, bool>;
    /// Deletes those `codes` whose keys still hold their value.
    fn release<'a>(&'a self, codes: &'a [HeldCode]) -> DirFuture<'a, ()>;
    /// Takes `routing` (read and delete at once): at most one caller ever gets a given value.
    fn take<'a>(&'a self, routing: &'a RoutingCode) -> DirFuture<'a, Option<String>>;
    /// Reads node `node_id`'s entry and, in the same round trip, stores the redirect ticket `value`
    /// under `routing` for `ttl`. `None` when the node is not live.
    fn redirect<'a>(
        &'a self,
        node_id: &'a str,
        routing: &'a RoutingCode,
        value: &'a str,
        ttl: Duration,
    ) -> DirFuture<'a, Option<String>>;
    /// Takes the redirect ticket stored under `routing`.
    fn take_ticket<'a>(&'a self, routing: &'a RoutingCode) -> DirFuture<'a, Option<String>>;
}

#[cfg(test)]
pub(crate) use fake::MemoryDirectory;

#[cfg(test)]
mod fake {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Instant;

    use super::*;

    #[derive(Default)]
    struct Store {
        keys: HashMap<String, (String, Instant)>,
        nodes: HashMap<String, Instant>,
    }

    impl Store {
        fn get(&mut self, key: &str, now: Instant) -> Option<String> {
            match self.keys.get(key) {
                Some((value, until)) if *until > now => Some(value.clone()),
                Some(_) => {
                    self.keys.remove(key);
                    None
                }
                None => None,
            }
        }

        fn set(&mut self, key: &str, value: &str, ttl: Duration, now: Instant) {
            self.keys
                .insert(key.to_owned(), (value.to_owned(), now + ttl));
        }
    }

    /// The in-memory fake. Shared by several in-process nodes in tests (`Arc`), it can be made
    /// unavailable (every call fails) and expired by hand (`advance`).
    #[derive(Default)]
    pub(crate) struct MemoryDirectory {
        store: Mutex<Store>,
        down: AtomicBool,
        /// Added to the real clock, so tests can make keys expire without waiting.
        skew_ms: AtomicU64,
        pub calls: AtomicU64,
    }

    impl MemoryDirectory {
        pub fn set_down(&self, down: bool) {
            self.down.store(down, Ordering::SeqCst);
        }

        /// Moves the directory's clock forward (keys expire as if `by` passed).
        pub fn advance(&self, by: Duration) {
            self.skew_ms
                .fetch_add(by.as_millis() as u64, Ordering::SeqCst);
        }

        /// Forgets everything (a Redis restart without persistence).
        pub fn flush(&self) {
            if let Ok(mut store) = self.store.lock() {
                *store = Store::default();
            }
        }

        /// Live keys starting with `prefix`.
        pub fn keys(&self, prefix: &str) -> Vec<String> {
            let now = self.now();
            let Ok(mut store) = self.store.lock() else {
                return Vec::new();
            };
            let keys: Vec<String> = store.keys.keys().cloned().collect();
            keys.into_iter()
                .filter(|k| k.starts_with(prefix) && store.get(k, now).is_some())
                .collect()
        }

        fn now(&self) -> Instant {
            Instant::now() + Duration::from_millis(self.skew_ms.load(Ordering::SeqCst))
        }

        fn with<T: Send + 'static>(
            &self,
            f: impl FnOnce(&mut Store, Instant) -> T,
        ) -> DirFuture<'_, T> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let result = if self.down.load(Ordering::SeqCst) {
                Err(DirectoryError::NotConnected)
            } else {
                let now = self.now();
                match self.store.lock() {
                    Ok(mut store) => Ok(f(&mut store, now)),
                    Err(_) => Err(DirectoryError::Backend {
                        detail: "poisoned".to_owned(),
                    }),
                }
            };
            Box::pin(std::future::ready(result))
        }
    }

    impl Directory for MemoryDirectory {
        fn connect(&self) -> DirFuture<'_, ()> {
            self.with(|_, _| ())
        }

        fn heartbeat<'a>(
            &'a self,
            node_id: &'a str,
            entry: &'a str,
            ttl: Duration,
            codes: &'a [HeldCode],
        ) -> DirFuture<'a, Beat> {
            let (node_id, entry, codes) = (node_id.to_owned(), entry.to_owned(), codes.to_vec());
            self.with(move |store, now| {
                let node_key = super::super::node_key(&node_id);
                let was_known = store.get(&node_key, now).is_some();
                store.set(&node_key, &entry, ttl, now);
                store.nodes.insert(node_id.clone(), now + ttl);
                let mut states = Vec::with_capacity(codes.len());
                for code in &codes {
                    let key = super::super::code_key(&code.routing);
                    let state = match store.get(&key, now) {
                        Some(v) if v == code.value => {
                            store.set(&key, &code.value, code.ttl, now);
                            CodeState::Ours
                        }
                        None if !was_known => {
                            store.set(&key, &code.value, code.ttl, now);
                            CodeState::Ours
                        }
                        None => CodeState::Missing,
                        Some(_) => CodeState::Taken,
                    };
                    states.push(state);
                }
                store.nodes.retain(|_, until| *until > now);
                let ids: Vec<String> = store.nodes.keys().cloned().collect();
                let nodes = ids
                    .into_iter()
                    .filter_map(|id| {
                        let text = store.get(&super::super::node_key(&id), now)?;
                        Some((id, text))
                    })
                    .collect();
                Beat {
                    was_known,
                    codes: states,
                    nodes,
                }
            })
        }

        fn leave<'a>(&'a self, node_id: &'a str, codes: &'a [HeldCode]) -> DirFuture<'a, ()> {
            let (node_id, codes) = (node_id.to_owned(), codes.to_vec());
            self.with(move |store, now| {
                store.keys.remove(&super::super::node_key(&node_id));
                store.nodes.remove(&node_id);
                for code in &codes {
                    let key = super::super::code_key(&code.routing);
                    if store.get(&key, now).as_deref() == Some(code.value.as_str()) {
                        store.keys.remove(&key);
                    }
                }
            })
        }

        fn count<'a>(&'a self, counters: &'a [WindowCounter]) -> DirFuture<'a, Vec<u64>> {
            let counters = counters.to_vec();
            self.with(move |store, now| {
                counters
                    .iter()
                    .map(|c| {
                        let (n, until) = match store.keys.get(&c.key) {
                            Some((v, until)) if *until > now => {
                                (v.parse::<u64>().unwrap_or(0) + 1, *until)
                            }
                            _ => (1, now + c.window),
                        };
                        store.keys.insert(c.key.clone(), (n.to_string(), until));
                        n
                    })
                    .collect()
            })
        }

        fn claim<'a>(
            &'a self,
            routing: &'a RoutingCode,
            value: &'a str,
            ttl: Duration,
        ) -> DirFuture<'a, bool> {
            let (key, value) = (super::super::code_key(routing), value.to_owned());
            self.with(move |store, now| {
                if store.get(&key, now).is_some() {
                    false
                } else {
                    store.set(&key, &value, ttl, now);
                    true
                }
            })
        }

        fn release<'a>(&'a self, codes: &'a [HeldCode]) -> DirFuture<'a, ()> {
            let codes = codes.to_vec();
            self.with(move |store, now| {
                for code in &codes {
                    let key = super::super::code_key(&code.routing);
                    if store.get(&key, now).as_deref() == Some(code.value.as_str()) {
                        store.keys.remove(&key);
                    }
                }
            })
        }

        fn take<'a>(&'a self, routing: &'a RoutingCode) -> DirFuture<'a, Option<String>> {
            let key = super::super::code_key(routing);
            self.with(move |store, now| {
                let value = store.get(&key, now);
                store.keys.remove(&key);
                value
            })
        }

        fn redirect<'a>(
            &'a self,
            node_id: &'a str,
            routing: &'a RoutingCode,
            value: &'a str,
            ttl: Duration,
        ) -> DirFuture<'a, Option<String>> {
            let node_key = super::super::node_key(node_id);
            let (key, value) = (super::super::ticket_key(routing), value.to_owned());
            self.with(move |store, now| {
                let node = store.get(&node_key, now);
                store.set(&key, &value, ttl, now);
                node
            })
        }

        fn take_ticket<'a>(&'a self, routing: &'a RoutingCode) -> DirFuture<'a, Option<String>> {
            let key = super::super::ticket_key(routing);
            self.with(move |store, now| {
                let value = store.get(&key, now);
                store.keys.remove(&key);
                value
            })
        }
    }
}
