//! The directory on Redis (redis-rs, one multiplexed connection). Atomic single commands where
//! Redis has them (`SET NX PX` to claim a code, `GETDEL` to take one, `MULTI` for the rate
//! counters); two short Lua scripts where it has not: "expire / delete this key only if it still
//! holds my value" (compare-and-expire, compare-and-delete), which Redis 7 lacks as a command.
//!
//! A failed or timed-out call drops the connection, so the node's heartbeat reconnects (with
//! backoff) instead of every caller waiting on a dead socket.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Script};
use tandem_proto::code::RoutingCode;

use super::directory::{
    Beat, CodeState, DirFuture, DirResult, Directory, DirectoryError, HeldCode, WindowCounter,
};
use super::{NODES_KEY, code_key, node_key, ticket_key};

/// Keeps each held code alive if it is still ours; with `reassert`, writes missing ones back.
/// Returns one state per key: 1 ours, 0 missing, 2 another node's.
const REFRESH: &str = r"
local n = #KEYS
local out = {}
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if v == ARGV[i] then
    redis.call('PEXPIRE', KEYS[i], ARGV[n + i])
    out[i] = 1
  elseif not v and ARGV[2 * n + 1] == 'reassert' then
    redis.call('SET', KEYS[i], ARGV[i], 'PX', ARGV[n + i])
    out[i] = 1
  elseif not v then
    out[i] = 0
  else
    out[i] = 2
  end
end
return out
";

/// Deletes each key that still holds its value.
const RELEASE: &str = r"
local deleted = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then
    deleted = deleted + redis.call('DEL', KEYS[i])
  end
end
return deleted
";

/// Keys per script call, so one call never holds Redis for long.
const SCRIPT_BATCH: usize = 256;

pub(crate) struct RedisDirectory {
    client: redis::Client,
    config: AsyncConnectionConfig,
    connection: Mutex<Option<MultiplexedConnection>>,
    refresh: Script,
    release: Script,
}

impl RedisDirectory {
    /// A directory at `url` (`redis://HOST:PORT/DB`); nothing is connected yet.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, DirectoryError> {
        let client = redis::Client::open(url).map_err(|e| DirectoryError::Backend {
            detail: format!("bad Redis URL: {e}"),
        })?;
        Ok(Self {
            client,
            config: AsyncConnectionConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout)),
            connection: Mutex::new(None),
            refresh: Script::new(REFRESH),
            release: Script::new(RELEASE),
        })
    }

    fn current(&self) -> DirResult<MultiplexedConnection> {
        self.connection
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .ok_or(DirectoryError::NotConnected)
    }

    fn forget(&self) {
        if let Ok(mut c) = self.connection.lock() {
            *c = None;
        }
    }

    /// Maps a Redis error, dropping the connection unless Redis itself answered with an error.
    fn fail(&self, e: redis::RedisError) -> DirectoryError {
        if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
            self.forget();
        }
        if e.is_timeout() {
            DirectoryError::Timeout {
                timeout: Duration::ZERO,
            }
        } else {
            DirectoryError::Backend {
                detail: e.to_string(),
            }
        }
    }

    async fn refresh_codes(
        &self,
        conn: &mut MultiplexedConnection,
        codes: &[HeldCode],
        reassert: bool,
    ) -> DirResult<Vec<CodeState>> {
        let mut states = Vec::with_capacity(codes.len());
        for batch in codes.chunks(SCRIPT_BATCH) {
            let mut call = self.refresh.prepare_invoke();
            for code in batch {
                call.key(code_key(&code.routing));
            }
            for code in batch {
                call.arg(&code.value);
            }
            for code in batch {
                call.arg(millis(code.ttl));
            }
            call.arg(if reassert { "reassert" } else { "refresh" });
            let out: Vec<i64> = call.invoke_async(conn).await.map_err(|e| self.fail(e))?;
            states.extend(out.into_iter().map(|s| match s {
                1 => CodeState::Ours,
                0 => CodeState::Missing,
                _ => CodeState::Taken,
            }));
        }
        Ok(states)
    }

    async fn release_codes(
        &self,
        conn: &mut MultiplexedConnection,
        codes: &[HeldCode],
    ) -> DirResult<()> {
        for batch in codes.chunks(SCRIPT_BATCH) {
            let mut call = self.release.prepare_invoke();
            for code in batch {
                call.key(code_key(&code.routing));
            }
            for code in batch {
                call.arg(&code.value);
            }
            let _: i64 = call.invoke_async(conn).await.map_err(|e| self.fail(e))?;
        }
        Ok(())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Directory for RedisDirectory {
    fn connect(&self) -> DirFuture<'_, ()> {
        Box::pin(async move {
            if self.current().is_ok() {
                return Ok(());
            }
            let conn = self
                .client
                .get_multiplexed_async_connection_with_config(&self.config)
                .await
                .map_err(|e| DirectoryError::Backend {
                    detail: e.to_string(),
                })?;
            if let Ok(mut c) = self.connection.lock() {
                *c = Some(conn);
            }
            Ok(())
        })
    }

    fn heartbeat<'a>(
        &'a self,
        node_id: &'a str,
        entry: &'a str,
        ttl: Duration,
        codes: &'a [HeldCode],
    ) -> DirFuture<'a, Beat> {
        Box::pin(async move {
            let mut conn = self.current()?;
            let now = unix_millis();
            // The node's entry (its previous value tells whether Redis still knew us), its place
            // in the node set (scored by when it lapses), and the set's live members.
            let (previous, (), (), ids): (Option<String>, (), (), Vec<String>) = redis::pipe()
                .cmd("SET")
                .arg(node_key(node_id))
                .arg(entry)
                .arg("PX")
                .arg(millis(ttl))
                .arg("GET")
                .cmd("ZADD")
                .arg(NODES_KEY)
                .arg(now.saturating_add(millis(ttl)))
                .arg(node_id)
                .ignore()
                .cmd("ZREMRANGEBYSCORE")
                .arg(NODES_KEY)
                .arg("-inf")
                .arg(now)
                .ignore()
                .cmd("ZRANGE")
                .arg(NODES_KEY)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .map(|(p, ids): (Option<String>, Vec<String>)| (p, (), (), ids))
                .map_err(|e| self.fail(e))?;
            let was_known = previous.is_some();
            let codes = self.refresh_codes(&mut conn, codes, !was_known).await?;
            let nodes = if ids.is_empty() {
                Vec::new()
            } else {
                let keys: Vec<String> = ids.iter().map(|id| node_key(id)).collect();
                let entries: Vec<Option<String>> = redis::cmd("MGET")
                    .arg(keys)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| self.fail(e))?;
                ids.into_iter()
                    .zip(entries)
                    .filter_map(|(id, e)| e.map(|e| (id, e)))
                    .collect()
            };
            Ok(Beat {
                was_known,
                codes,
                nodes,
            })
        })
    }

    fn leave<'a>(&'a self, node_id: &'a str, codes: &'a [HeldCode]) -> DirFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.current()?;
            self.release_codes(&mut conn, codes).await?;
            let ((), ()): ((), ()) = redis::pipe()
                .cmd("DEL")
                .arg(node_key(node_id))
                .ignore()
                .cmd("ZREM")
                .arg(NODES_KEY)
                .arg(node_id)
                .ignore()
                .query_async(&mut conn)
                .await
                .map(|()| ((), ()))
                .map_err(|e| self.fail(e))?;
            Ok(())
        })
    }

    fn count<'a>(&'a self, counters: &'a [WindowCounter]) -> DirFuture<'a, Vec<u64>> {
        Box::pin(async move {
            let mut conn = self.current()?;
            // MULTI: for each counter, create it with the window as its lifetime if absent, then
            // count. The window starts at the first attempt and is never extended.
            let mut pipe = redis::pipe();
            pipe.atomic();
            for c in counters {
                pipe.cmd("SET")
                    .arg(&c.key)
                    .arg(0)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(c.window))
                    .ignore()
                    .cmd("INCR")
                    .arg(&c.key);
            }
            pipe.query_async(&mut conn).await.map_err(|e| self.fail(e))
        })
    }

    fn claim<'a>(
        &'a self,
        routing: &'a RoutingCode,
        value: &'a str,
        ttl: Duration,
    ) -> DirFuture<'a, bool> {
        Box::pin(async move {
            let mut conn = self.current()?;
            let set: Option<String> = redis::cmd("SET")
                .arg(code_key(routing))
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query_async(&mut conn)
                .await
                .map_err(|e| self.fail(e))?;
            Ok(set.is_some())
        })
    }

    fn release<'a>(&'a self, codes: &'a [HeldCode]) -> DirFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.current()?;
            self.release_codes(&mut conn, codes).await
        })
    }

    fn take<'a>(&'a self, routing: &'a RoutingCode) -> DirFuture<'a, Option<String>> {
        Box::pin(async move {
            let mut conn = self.current()?;
            redis::cmd("GETDEL")
                .arg(code_key(routing))
                .query_async(&mut conn)
                .await
                .map_err(|e| self.fail(e))
        })
    }

    fn redirect<'a>(
        &'a self,
        node_id: &'a str,
        routing: &'a RoutingCode,
        value: &'a str,
        ttl: Duration,
    ) -> DirFuture<'a, Option<String>> {
        Box::pin(async move {
            let mut conn = self.current()?;
            let (node,): (Option<String>,) = redis::pipe()
                .cmd("GET")
                .arg(node_key(node_id))
                .cmd("SET")
                .arg(ticket_key(routing))
                .arg(value)
                .arg("PX")
                .arg(millis(ttl))
                .ignore()
                .query_async(&mut conn)
                .await
                .map_err(|e| self.fail(e))?;
            Ok(node)
        })
    }

    fn take_ticket<'a>(&'a self, routing: &'a RoutingCode) -> DirFuture<'a, Option<String>> {
        Box::pin(async move {
            let mut conn = self.current()?;
            redis::cmd("GETDEL")
                .arg(ticket_key(routing))
                .query_async(&mut conn)
                .await
                .map_err(|e| self.fail(e))
        })
    }
}
