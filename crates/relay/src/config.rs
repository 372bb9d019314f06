//! The relay's TOML configuration file. Every field is optional; its default is documented on it,
//! and `contrib/relay.toml` shows every key with its default and unit (a test parses that file).
//! Only the binary reads the file; the library takes the typed [`RelayConfig`] this turns into.
//!
//! ```toml
//! listen = "0.0.0.0:7447"
//! max_code_ttl_secs = 600
//!
//! [tls]                       # omit for a self-signed certificate kept in the data dir
//! cert_chain = "/etc/tandem/fullchain.pem"
//! key = "/etc/tandem/privkey.pem"
//!
//! [limits]
//! join_per_ip = { burst = 10, per_minute = 10 }
//! max_connections_per_ip = 16
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cluster::ClusterConfig;
use crate::limits::{Rate, RateLimits};
use crate::server::{RelayConfig, TlsSource};
use crate::{DEFAULT_MAX_CODE_TTL, DEFAULT_PORT};

/// The relay's configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// UDP address to listen on. Default: `0.0.0.0:7447` (use `"[::]:7447"` for IPv6).
    pub listen: Option<SocketAddr>,
    /// An operator-supplied certificate. Default: none, so the relay makes a self-signed
    /// certificate on first start, keeps it in the data dir (`relay-cert.pem`, `relay-key.pem`)
    /// and clients pin its fingerprint.
    pub tls: Option<PemFiles>,
    /// The longest a code waits for a viewer, in seconds; hosts asking for longer get this.
    /// Default: 600.
    pub max_code_ttl_secs: Option<u64>,
    /// Rate limits and capacity. Default: every limit at its default.
    pub limits: Option<FileLimits>,
    /// TCP address serving `/metrics` (Prometheus), `/healthz` and `/readyz`, e.g.
    /// `"127.0.0.1:9447"`. Unauthenticated: keep it private. Default: none.
    pub metrics: Option<SocketAddr>,
    /// Seconds a drain (SIGTERM) lets live sessions and waiting hosts carry on before the relay
    /// closes them. Default: 60.
    pub drain_timeout_secs: Option<u64>,
    /// Join a cluster of relays sharing one directory of codes in Redis. Default: none (a lone
    /// relay).
    pub cluster: Option<FileCluster>,
}

/// The `[cluster]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCluster {
    /// The directory, `redis://HOST:PORT/DB`. Required.
    pub redis: String,
    /// This node's id, unique in the cluster. Default: a random one at each start.
    pub node_id: Option<String>,
    /// Where clients reach this node (`host:port`). Default: the listen address, which must then
    /// be a specific IP.
    pub public_addr: Option<String>,
    /// Seconds the directory keeps this node and its codes after its last heartbeat. Default: 10.
    pub heartbeat_ttl_secs: Option<u64>,
    /// Milliseconds one request to Redis may take. Default: 1000.
    pub request_timeout_ms: Option<u64>,
}

impl FileCluster {
    pub fn into_cluster(self) -> ClusterConfig {
        let mut cluster = ClusterConfig::new(self.redis);
        cluster.node_id = self.node_id;
        cluster.public_addr = self.public_addr;
        if let Some(secs) = self.heartbeat_ttl_secs {
            cluster.heartbeat_ttl = Duration::from_secs(secs);
        }
        if let Some(ms) = self.request_timeout_ms {
            cluster.request_timeout = Duration::from_millis(ms);
        }
        cluster
    }
}

/// A PEM certificate chain and its key. Both are required when the `[tls]` table is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PemFiles {
    /// PEM file with the certificate chain, leaf first.
    pub cert_chain: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A token bucket: `burst` attempts at once, regained at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRate {
    pub burst: u32,
    pub per_minute: u32,
}

impl From<FileRate> for Rate {
    fn from(rate: FileRate) -> Self {
        Rate::new(rate.burst, rate.per_minute)
    }
}

/// The `[limits]` table. "Per address" means per IPv4 address or per IPv6 /64; IPv6 /56s and /48s
/// get 4 and 16 times the per-address limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    /// Register requests per address. Default: `{ burst = 10, per_minute = 10 }`.
    pub register_per_ip: Option<FileRate>,
    /// Register requests in total. Default: `{ burst = 200, per_minute = 600 }`.
    pub register_global: Option<FileRate>,
    /// Join requests per address. Default: `{ burst = 5, per_minute = 2 }`.
    pub join_per_ip: Option<FileRate>,
    /// Join requests in total; bounds how fast codes can be swept. Default:
    /// `{ burst = 60, per_minute = 120 }`.
    pub join_global: Option<FileRate>,
    /// Hosts waiting with a code at once. Default: 1000.
    pub max_waiting_hosts: Option<usize>,
    /// Hosts waiting with a code at once from one address. Default: 8.
    pub max_waiting_per_ip: Option<u32>,
    /// Open connections in total; each may hold up to about 4 MiB of buffers at the relay when its
    /// peer reads slowly. Default: 2000.
    pub max_connections: Option<usize>,
    /// Open connections per address. Default: 16.
    pub max_connections_per_ip: Option<u32>,
    /// Addresses whose rate-limit state is remembered at once (bounds memory under a flood).
    /// Default: 65536.
    pub max_tracked_ips: Option<usize>,
    /// The shortest routing part handed out, 3 to 6 digits. Default: 5.
    pub min_routing_digits: Option<usize>,
    /// Seconds a connection may stay without a code and without a peer before it is closed.
    /// Default: 60.
    pub idle_timeout_secs: Option<u64>,
    /// MiB all paired connections together may make the relay hold in QUIC windows and send
    /// buffers, split evenly (2 MiB to 64 KiB each way per connection). Default: 1024.
    pub buffer_budget_mib: Option<u64>,
}

impl FileLimits {
    fn into_limits(self) -> RateLimits {
        let d = RateLimits::default();
        RateLimits {
            register_per_ip: self.register_per_ip.map_or(d.register_per_ip, Rate::from),
            register_global: self.register_global.map_or(d.register_global, Rate::from),
            join_per_ip: self.join_per_ip.map_or(d.join_per_ip, Rate::from),
            join_global: self.join_global.map_or(d.join_global, Rate::from),
            max_waiting_hosts: self.max_waiting_hosts.unwrap_or(d.max_waiting_hosts),
            max_waiting_per_ip: self.max_waiting_per_ip.unwrap_or(d.max_waiting_per_ip),
            max_connections: self.max_connections.unwrap_or(d.max_connections),
            max_connections_per_ip: self
                .max_connections_per_ip
                .unwrap_or(d.max_connections_per_ip),
            max_tracked_ips: self.max_tracked_ips.unwrap_or(d.max_tracked_ips),
            min_routing_digits: self.min_routing_digits.unwrap_or(d.min_routing_digits),
            idle_timeout: self
                .idle_timeout_secs
                .map_or(d.idle_timeout, Duration::from_secs),
            buffer_budget: self
                .buffer_budget_mib
                .map_or(d.buffer_budget, |mib| mib.saturating_mul(1024 * 1024)),
        }
    }
}

impl FileConfig {
    /// Parses the TOML text of a configuration file.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// The typed configuration, with defaults filled in. `data_dir` is where the self-signed
    /// identity lives (the binary decides it, e.g. from a flag or the platform's data directory).
    pub fn into_config(self, data_dir: PathBuf) -> RelayConfig {
        let listen = self
            .listen
            .unwrap_or_else(|| SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), DEFAULT_PORT));
        let mut config = RelayConfig::new(listen, data_dir);
        config.tls = match self.tls {
            Some(files) => TlsSource::Pem {
                cert_chain: files.cert_chain,
                key: files.key,
            },
            None => TlsSource::SelfSigned,
        };
        config.max_code_ttl = self
            .max_code_ttl_secs
            .map_or(DEFAULT_MAX_CODE_TTL, Duration::from_secs);
        config.limits = self.limits.unwrap_or_default().into_limits();
        config.metrics = self.metrics;
        config.drain_timeout = self
            .drain_timeout_secs
            .map_or(crate::server::DEFAULT_DRAIN_TIMEOUT, Duration::from_secs);
        config.cluster = self.cluster.map(FileCluster::into_cluster);
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let config = FileConfig::from_toml("")
            .expect("empty is valid")
            .into_config(PathBuf::from("/tmp/x"));
        assert_eq!(config.listen, "0.0.0.0:7447".parse().expect("addr"));
        assert_eq!(config.tls, TlsSource::SelfSigned);
        assert_eq!(config.max_code_ttl, Duration::from_secs(600));
        assert_eq!(config.limits, RateLimits::default());
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.metrics, None);
        assert_eq!(config.drain_timeout, Duration::from_secs(60));
        assert_eq!(config.cluster, None);
    }

    #[test]
    fn the_cluster_table_is_read() {
        let text = r#"
            [cluster]
            redis = "redis://10.0.0.5:6379/2"
            node_id = "eu-1"
            public_addr = "eu1.relay.example.org:7447"
            heartbeat_ttl_secs = 6
            request_timeout_ms = 250
        "#;
        let cluster = FileConfig::from_toml(text)
            .expect("valid")
            .into_config(PathBuf::from("d"))
            .cluster
            .expect("a cluster node");
        assert_eq!(cluster.redis, "redis://10.0.0.5:6379/2");
        assert_eq!(cluster.node_id.as_deref(), Some("eu-1"));
        assert_eq!(
            cluster.public_addr.as_deref(),
            Some("eu1.relay.example.org:7447")
        );
        assert_eq!(cluster.heartbeat_ttl, Duration::from_secs(6));
        assert_eq!(cluster.request_timeout, Duration::from_millis(250));
        let minimal = FileConfig::from_toml("[cluster]\nredis = \"redis://r:6379/0\"\n")
            .expect("valid")
            .into_config(PathBuf::from("d"))
            .cluster
            .expect("a cluster node");
        assert_eq!(minimal, ClusterConfig::new("redis://r:6379/0"));
        assert!(FileConfig::from_toml("[cluster]\nnode_id = \"x\"\n").is_err());
    }

    #[test]
    fn every_field_is_read() {
        let text = r#"
            listen = "[::]:9000"
            max_code_ttl_secs = 120
            metrics = "127.0.0.1:9447"
            drain_timeout_secs = 30
            [tls]
            cert_chain = "/etc/tandem/chain.pem"
            key = "/etc/tandem/key.pem"
            [limits]
            register_per_ip = { burst = 1, per_minute = 2 }
            register_global = { burst = 3, per_minute = 4 }
            join_per_ip = { burst = 5, per_minute = 6 }
            join_global = { burst = 7, per_minute = 8 }
            max_waiting_hosts = 9
            max_waiting_per_ip = 13
            max_connections = 10
            max_connections_per_ip = 11
            max_tracked_ips = 12
            min_routing_digits = 6
            idle_timeout_secs = 14
            buffer_budget_mib = 15
        "#;
        let config = FileConfig::from_toml(text)
            .expect("valid")
            .into_config(PathBuf::from("d"));
        assert_eq!(config.listen, "[::]:9000".parse().expect("addr"));
        assert_eq!(config.max_code_ttl, Duration::from_secs(120));
        assert_eq!(
            config.metrics,
            Some("127.0.0.1:9447".parse().expect("addr"))
        );
        assert_eq!(config.drain_timeout, Duration::from_secs(30));
        assert_eq!(
            config.tls,
            TlsSource::Pem {
                cert_chain: "/etc/tandem/chain.pem".into(),
                key: "/etc/tandem/key.pem".into()
            }
        );
        assert_eq!(
            config.limits,
            RateLimits {
                register_per_ip: Rate::new(1, 2),
                register_global: Rate::new(3, 4),
                join_per_ip: Rate::new(5, 6),
                join_global: Rate::new(7, 8),
                max_waiting_hosts: 9,
                max_waiting_per_ip: 13,
                max_connections: 10,
                max_connections_per_ip: 11,
                max_tracked_ips: 12,
                min_routing_digits: 6,
                idle_timeout: Duration::from_secs(14),
                buffer_budget: 15 * 1024 * 1024,
            }
        );
    }

    #[test]
    fn mistakes_are_errors_not_silently_ignored() {
        assert!(FileConfig::from_toml("lisen = \"0.0.0.0:1\"").is_err());
        assert!(FileConfig::from_toml("[tls]\ncert_chain = \"a.pem\"").is_err());
        assert!(FileConfig::from_toml("[limits]\njoin_per_ip = { burst = 1 }").is_err());
    }

    /// The documented example names every key, and its values are the defaults.
    #[test]
    fn the_example_file_parses_to_the_defaults() {
        let text = include_str!("../../../contrib/relay.toml");
        // Uncomment every `# key = value` line: the example shows defaults as comments.
        let uncommented: String = text
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") || rest.starts_with('[') => rest,
                _ => line,
            })
            .map(|line| format!("{line}\n"))
            .collect();
        let file = FileConfig::from_toml(&uncommented).expect("the example parses");
        let limits = file.limits.clone().expect("every limit is shown");
        let cluster = file.cluster.clone().expect("the cluster table is shown");
        let config = file.into_config(PathBuf::from("d"));
        let defaults = RelayConfig::new(config.listen, PathBuf::from("d"));
        let example = ClusterConfig::new(cluster.redis.clone());
        let shown = cluster.into_cluster();
        assert_eq!(shown.heartbeat_ttl, example.heartbeat_ttl);
        assert_eq!(shown.request_timeout, example.request_timeout);
        assert_eq!(config.limits, defaults.limits);
        assert_eq!(config.max_code_ttl, defaults.max_code_ttl);
        assert_eq!(config.drain_timeout, defaults.drain_timeout);
        assert_eq!(config.listen, "0.0.0.0:7447".parse().expect("addr"));
        // Every limit key is present, not defaulted.
        let FileLimits {
            register_per_ip,
            register_global,
            join_per_ip,
            join_global,
            max_waiting_hosts,
            max_waiting_per_ip,
            max_connections,
            max_connections_per_ip,
            max_tracked_ips,
            min_routing_digits,
            idle_timeout_secs,
            buffer_budget_mib,
        } = limits;
        assert!(register_per_ip.is_some() && register_global.is_some());
        assert!(join_per_ip.is_some() && join_global.is_some());
        assert!(max_waiting_hosts.is_some() && max_waiting_per_ip.is_some());
        assert!(max_connections.is_some() && max_connections_per_ip.is_some());
        assert!(max_tracked_ips.is_some() && min_routing_digits.is_some());
        assert!(idle_timeout_secs.is_some() && buffer_budget_mib.is_some());
    }
}
