//! The counters a phase is measured with: CPU time of a process (/proc/PID/stat), bytes on the
//! host → viewer stream (the relay's forwarded-bytes counter, or the VNC server's TCP socket),
//! and percentiles of the probe's latencies.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

/// User + system CPU time a process has used so far (all its threads).
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat (did the process exit?)"))?;
    parse_cpu_ticks(&stat)
        .map(|ticks| Duration::from_secs_f64(ticks as f64 / clock_ticks_per_sec()))
        .with_context(|| format!("parsing /proc/{pid}/stat"))
}

/// utime + stime (fields 14 and 15) from a /proc/PID/stat line; the command name before them is
/// in parentheses and may itself hold spaces and parentheses.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// USER_HZ: 100 on every Linux architecture the kernel still builds for userspace.
fn clock_ticks_per_sec() -> f64 {
    100.0
}

/// Where the host → viewer byte count of a session is read.
pub enum ByteCounter {
    /// The relay's Prometheus counter `tandem_relay_forwarded_bytes_total{direction="host_to_viewer"}`:
    /// the host's sealed stream bytes (updates, cursor, framing, AEAD tags) the relay forwarded, without
    /// QUIC and UDP headers.
    RelayMetrics(SocketAddr),
    /// `bytes_sent` of the server's established TCP socket on this local port (`ss -ti`): the RFB
    /// stream the server wrote, without TCP/IP headers.
    TcpServerPort(u16),
}

impl ByteCounter {
    pub fn read(&self) -> anyhow::Result<u64> {
        match self {
            ByteCounter::RelayMetrics(addr) => {
                let url = format!("http://{addr}/metrics");
                let body = ureq::get(&url)
                    .call()
                    .with_context(|| format!("reading {url}"))?
                    .body_mut()
                    .read_to_string()
                    .context("reading the relay's metrics")?;
                forwarded_host_to_viewer(&body)
                    .context("the relay's metrics have no host_to_viewer forwarded bytes")
            }
            ByteCounter::TcpServerPort(port) => {
                let output = Command::new("ss")
                    .args(["-tinH", "state", "established"])
                    .arg(format!("( sport = :{port} )"))
                    .output()
                    .context("running ss (iproute2)")?;
                if !output.status.success() {
                    bail!("ss failed: {}", String::from_utf8_lossy(&output.stderr));
                }
                Ok(tcp_bytes_sent(&String::from_utf8_lossy(&output.stdout)))
            }
        }
    }
}

/// Sums the host → viewer forwarded-bytes samples of a Prometheus text exposition.
fn forwarded_host_to_viewer(metrics: &str) -> Option<u64> {
    let samples: Vec<u64> = metrics
        .lines()
        .filter(|line| {
            line.starts_with("tandem_relay_forwarded")
                && line.contains("direction=\"host_to_viewer\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|value| value as u64)
        .collect();
    (!samples.is_empty()).then(|| samples.iter().sum())
}

/// Sums `bytes_sent:N` over the sockets `ss -ti` listed (0 when none is connected).
fn tcp_bytes_sent(ss: &str) -> u64 {
    ss.split_whitespace()
        .filter_map(|field| field.strip_prefix("bytes_sent:")?.parse::<u64>().ok())
        .sum()
}

/// The `p`th percentile (0..=100) of sorted samples, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_survive_a_command_name_with_parentheses_and_spaces() {
        let stat = "4242 (tandem (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 731 112 0 0 20 0 9 0";
        assert_eq!(parse_cpu_ticks(stat), Some(843));
        assert_eq!(parse_cpu_ticks("4242 (cut short"), None);
    }

    #[test]
    fn forwarded_bytes_are_summed_over_host_to_viewer_samples_only() {
        let metrics = "# TYPE tandem_relay_forwarded_bytes counter\n\
            tandem_relay_forwarded_bytes_total{direction=\"host_to_viewer\"} 1500\n\
            tandem_relay_forwarded_bytes_total{direction=\"viewer_to_host\"} 99\n";
        assert_eq!(forwarded_host_to_viewer(metrics), Some(1500));
        assert_eq!(forwarded_host_to_viewer("# nothing\n"), None);
    }

    #[test]
    fn tcp_bytes_sent_sums_the_listed_sockets() {
        let ss = "0 0 127.0.0.1:5901 127.0.0.1:40000\n\t cubic rto:204 bytes_sent:1200 \
            bytes_acked:1200 bytes_received:300\n0 0 127.0.0.1:5901 127.0.0.1:40002\n\t \
            bytes_sent:34 bytes_received:1\n";
        assert_eq!(tcp_bytes_sent(ss), 1234);
        assert_eq!(tcp_bytes_sent(""), 0);
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), Some(10.0));
        assert_eq!(percentile(&samples, 95.0), Some(19.0));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
