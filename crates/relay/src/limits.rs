//! Rate limits and capacity, sans-IO: token buckets driven by a clock the caller passes in.

use std::net::IpAddr;
use std::time::{Duration, Instant};

/// A token bucket's shape: up to `burst` attempts at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Attempts allowed back to back from a full bucket.
    pub burst: u32,
    /// Attempts regained per minute.
    pub per_minute: u32,
}

impl Rate {
    pub const fn new(burst: u32, per_minute: u32) -> Self {
        Self { burst, per_minute }
    }

    /// How long an emptied bucket takes to fill up again.
    pub fn refill_time(&self) -> Duration {
        if self.per_minute == 0 {
            return Duration::MAX;
        }
        Duration::from_secs_f64(f64::from(self.burst) * 60.0 / f64::from(self.per_minute))
    }
}

/// Every limit the relay enforces. The defaults suit a small self-hosted relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Register requests from one address (IPv6: one /64). Default: burst 10, 10 per minute.
    pub register_per_ip: Rate,
    /// Register requests in total. Default: burst 200, 600 per minute.
    pub register_global: Rate,
    /// Join requests from one address (IPv6: one /64). Default: burst 10, 10 per minute.
    pub join_per_ip: Rate,
    /// Join requests in total. Default: burst 200, 600 per minute.
    pub join_global: Rate,
    /// Hosts waiting with a code at once. Default: 1 000.
    pub max_waiting_hosts: usize,
    /// Open connections in total. Default: 2 000. Each connection can make the relay hold up to
    /// about 24 MiB when its peer reads slowly (QUIC windows), so this also bounds memory.
    pub max_connections: usize,
    /// Open connections from one address (IPv6: one /64). Default: 16.
    pub max_connections_per_ip: u32,
    /// Addresses whose rate-limit state is remembered at once; past it, new addresses are refused
    /// until idle ones are forgotten. Bounds memory under a flood. Default: 65 536.
    pub max_tracked_ips: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            register_per_ip: Rate::new(10, 10),
            register_global: Rate::new(200, 600),
            join_per_ip: Rate::new(10, 10),
            join_global: Rate::new(200, 600),
            max_waiting_hosts: 1_000,
            max_connections: 2_000,
            max_connections_per_ip: 16,
            max_tracked_ips: 65_536,
        }
    }
}

/// A token bucket. Starts full.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub fn full(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: f64::from(rate.burst),
            last: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * f64::from(rate.per_minute) / 60.0).min(f64::from(rate.burst));
        self.last = now;
    }

    /// Whether an attempt now would be allowed, without taking it.
    pub fn allows(&self, rate: Rate, now: Instant) -> bool {
        let mut probe = *self;
        probe.refill(rate, now);
        probe.tokens >= 1.0
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, rate: Rate, now: Instant) -> bool {
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket is full again by `now`: then it is no different from a fresh one and can
    /// be forgotten.
    pub fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let mut probe = *self;
        probe.refill(rate, now);
        probe.tokens >= f64::from(rate.burst)
    }
}

/// The unit limits apply to: an IPv4 address, or an IPv6 /64 (what one site usually gets), with
/// IPv4-mapped IPv6 addresses treated as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IpKey {
    V4([u8; 4]),
    V6Prefix([u8; 8]),
}

impl From<IpAddr> for IpKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4.octets()),
                None => {
                    let mut prefix = [0u8; 8];
                    prefix.copy_from_slice(&v6.octets()[..8]);
                    Self::V6Prefix(prefix)
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn bucket_allows_burst_then_refills_at_rate() {
        let rate = Rate::new(3, 60); // one per second
        let t0 = Instant::now();
        let mut bucket = Bucket::full(rate, t0);
        assert!(bucket.try_take(rate, t0));
        assert!(bucket.try_take(rate, t0));
        assert!(bucket.try_take(rate, t0));
        assert!(!bucket.allows(rate, t0));
        assert!(!bucket.try_take(rate, t0));
        assert!(!bucket.try_take(rate, t0 + Duration::from_millis(900)));
        assert!(bucket.try_take(rate, t0 + Duration::from_millis(1000)));
        assert!(!bucket.is_full(rate, t0 + Duration::from_secs(2)));
        assert!(bucket.is_full(rate, t0 + Duration::from_secs(4)));
        assert_eq!(rate.refill_time(), Duration::from_secs(3));
    }

    #[test]
    fn ipv6_addresses_in_one_64_share_a_key() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(IpKey::from(a), IpKey::from(b));
        assert_ne!(IpKey::from(a), IpKey::from(c));
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(
            IpKey::from(mapped),
            IpKey::from(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        assert_ne!(
            IpKey::from(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            IpKey::from(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
    }
}
