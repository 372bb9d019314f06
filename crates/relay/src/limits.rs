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

impl Rate {
    /// This rate multiplied by `by` (burst and refill alike), for a wider network prefix.
    pub fn scaled(self, by: u32) -> Self {
        Self {
            burst: self.burst.saturating_mul(by),
            per_minute: self.per_minute.saturating_mul(by),
        }
    }
}

/// How much more than one address an IPv6 /56 may use: it usually holds a few sites' /64s.
pub const PREFIX_56_SCALE: u32 = 4;
/// How much more than one address an IPv6 /48 may use: a whole site or small provider.
pub const PREFIX_48_SCALE: u32 = 16;

/// Every limit the relay enforces. The defaults suit a small self-hosted relay.
///
/// "Per address" limits apply to an IPv4 address or an IPv6 /64; for IPv6 they also apply, scaled by
/// [`PREFIX_56_SCALE`] and [`PREFIX_48_SCALE`], to the address's /56 and /48, so that one site
/// cannot multiply its share by using many /64s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Register requests from one address. Default: burst 10, 10 per minute.
    pub register_per_ip: Rate,
    /// Register requests in total. Default: burst 200, 600 per minute.
    pub register_global: Rate,
    /// Join requests from one address. Default: burst 5, 2 per minute: a viewer needs one, or a
    /// few after typing mistakes; a code guesser needs hundreds.
    pub join_per_ip: Rate,
    /// Join requests in total. Default: burst 60, 120 per minute. This bounds how fast codes can be
    /// swept: see [`RateLimits::min_routing_digits`].
    pub join_global: Rate,
    /// Hosts waiting with a code at once. Default: 1 000.
    pub max_waiting_hosts: usize,
    /// Hosts waiting with a code at once from one address. Default: 8.
    pub max_waiting_per_ip: u32,
    /// Open connections in total. Default: 2 000. Each connection can make the relay hold up to
    /// about 4 MiB when its peer reads slowly (QUIC windows), so this also bounds memory.
    pub max_connections: usize,
    /// Open connections from one address. Default: 16.
    pub max_connections_per_ip: u32,
    /// Addresses (and IPv6 prefixes) whose rate-limit state is remembered at once; past it, new
    /// ones are refused until idle ones are forgotten. Bounds memory under a flood. Default: 65 536.
    pub max_tracked_ips: usize,
    /// The shortest routing part handed out (3 to 6 digits). Default: 5. The relay also keeps fewer
    /// than one in 1 000 codes of a length in use, so a guessed routing part names a waiting host
    /// with probability below 10^-3, and a sweep at the whole `join_global` rate (1 200 joins in a
    /// 10-minute code lifetime by default) burns a given code with probability about
    /// 1 200 / 10^digits (1.2% with 5 digits).
    pub min_routing_digits: usize,
    /// How long a connection may stay without a code and without a peer (after connecting, after a
    /// refusal, after its session or code ended) before the relay closes it. Default: 60 s.
    pub idle_timeout: Duration,
    /// Bytes all paired connections together may make the relay hold (QUIC receive windows plus
    /// send buffers), split evenly between them; each gets at most 2 MiB each way and at least
    /// 64 KiB. Default: 1 GiB.
    pub buffer_budget: u64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            register_per_ip: Rate::new(10, 10),
            register_global: Rate::new(200, 600),
            join_per_ip: Rate::new(5, 2),
            join_global: Rate::new(60, 120),
            max_waiting_hosts: 1_000,
            max_waiting_per_ip: 8,
            max_connections: 2_000,
            max_connections_per_ip: 16,
            max_tracked_ips: 65_536,
            min_routing_digits: 5,
            idle_timeout: Duration::from_secs(60),
            buffer_budget: crate::budget::DEFAULT_BUFFER_BUDGET,
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

    /// Tokens the bucket holds at `now`.
    pub fn tokens(&self, rate: Rate, now: Instant) -> f64 {
        let mut probe = *self;
        probe.refill(rate, now);
        probe.tokens
    }

    /// Whether an attempt now would be allowed, without taking it.
    pub fn allows(&self, rate: Rate, now: Instant) -> bool {
        let mut probe = *self;
        probe.refill(rate, now);
        probe.tokens >= 1.0
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, rate: Rate, now: Instant) -> bool {
        self.try_take_n(rate, now, 1)
    }

    /// Takes `n` tokens if there are that many.
    pub fn try_take_n(&mut self, rate: Rate, now: Instant, n: u32) -> bool {
        self.refill(rate, now);
        if self.tokens >= f64::from(n) {
            self.tokens -= f64::from(n);
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

/// A unit limits apply to: an IPv4 address, or an IPv6 /64 (what one site usually gets), /56 or
/// /48, with IPv4-mapped IPv6 addresses treated as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IpKey {
    V4([u8; 4]),
    V6Prefix64([u8; 8]),
    V6Prefix56([u8; 7]),
    V6Prefix48([u8; 6]),
}

impl IpKey {
    /// A stable text for the unit (a cluster hashes it into its shared rate counters' keys).
    pub fn label(&self) -> String {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        match self {
            Self::V4(b) => format!("v4:{}", hex(b)),
            Self::V6Prefix64(b) => format!("v6/64:{}", hex(b)),
            Self::V6Prefix56(b) => format!("v6/56:{}", hex(b)),
            Self::V6Prefix48(b) => format!("v6/48:{}", hex(b)),
        }
    }
}

impl From<IpAddr> for IpKey {
    fn from(ip: IpAddr) -> Self {
        Source::from(ip).addr
    }
}

/// Where a connection comes from, as every unit it is counted in: its address (IPv4, or IPv6 /64)
/// and, for IPv6, its /56 and /48.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Source {
    pub addr: IpKey,
    wider: Option<(IpKey, IpKey)>,
}

impl Source {
    /// Every unit with the factor its limits are scaled by: the address first.
    pub fn keys(&self) -> impl Iterator<Item = (IpKey, u32)> + use<> {
        let wider = self.wider;
        std::iter::once((self.addr, 1)).chain(
            wider
                .into_iter()
                .flat_map(|(p56, p48)| [(p56, PREFIX_56_SCALE), (p48, PREFIX_48_SCALE)]),
        )
    }
}

impl From<IpAddr> for Source {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self {
                addr: IpKey::V4(v4.octets()),
                wider: None,
            },
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self {
                    addr: IpKey::V4(v4.octets()),
                    wider: None,
                },
                None => {
                    let o = v6.octets();
                    let mut p64 = [0u8; 8];
                    p64.copy_from_slice(&o[..8]);
                    let mut p56 = [0u8; 7];
                    p56.copy_from_slice(&o[..7]);
                    let mut p48 = [0u8; 6];
                    p48.copy_from_slice(&o[..6]);
                    Self {
                        addr: IpKey::V6Prefix64(p64),
                        wider: Some((IpKey::V6Prefix56(p56), IpKey::V6Prefix48(p48))),
                    }
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

    #[test]
    fn ipv6_sources_are_also_counted_by_their_56_and_48() {
        let a = Source::from("2001:db8:1:2::1".parse::<IpAddr>().expect("ip"));
        let same_56 = Source::from("2001:db8:1:3::1".parse::<IpAddr>().expect("ip"));
        let same_48 = Source::from("2001:db8:1:ff00::1".parse::<IpAddr>().expect("ip"));
        let other = Source::from("2001:db8:2::1".parse::<IpAddr>().expect("ip"));
        let keys = |s: Source| s.keys().collect::<Vec<_>>();
        assert_eq!(keys(a).len(), 3);
        assert_eq!(keys(a)[0], (a.addr, 1));
        assert_ne!(keys(a)[0], keys(same_56)[0]);
        assert_eq!(keys(a)[1], keys(same_56)[1], "one /56");
        assert_eq!(keys(a)[1].1, PREFIX_56_SCALE);
        assert_ne!(keys(a)[1], keys(same_48)[1]);
        assert_eq!(keys(a)[2], keys(same_48)[2], "one /48");
        assert_eq!(keys(a)[2].1, PREFIX_48_SCALE);
        assert_ne!(keys(a)[2], keys(other)[2]);
        let v4 = Source::from(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(keys(v4), vec![(v4.addr, 1)]);
    }
}
