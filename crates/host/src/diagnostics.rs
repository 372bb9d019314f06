//! The system-information snapshot the technician may read once the user allows it: facts about the
//! machine from `sysinfo` and the OS's own files (`/proc/net/route`, `/etc/resolv.conf`) and the X
//! server, never from a shell command, and nothing the peer chose (the request carries no
//! parameters).

use std::time::Duration;

use serde::Serialize;
use sysinfo::{Disks, Networks, ProcessesToUpdate, System, Users};

/// Processes listed per ranking (by CPU, by memory).
const TOP_PROCESSES: usize = 10;

#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub os: String,
    pub kernel: String,
    pub hostname: String,
    pub uptime_secs: u64,
    pub cpu: Cpu,
    pub memory: Memory,
    pub disks: Vec<Disk>,
    pub network: Vec<Interface>,
    pub default_route: Option<String>,
    pub dns_servers: Vec<String>,
    pub top_by_cpu: Vec<Process>,
    pub top_by_memory: Vec<Process>,
    pub user: Option<String>,
    pub displays: Vec<Display>,
}

#[derive(Debug, Serialize)]
pub struct Cpu {
    pub model: String,
    pub cores: usize,
    pub load_1m: f64,
    pub load_5m: f64,
    pub load_15m: f64,
}

#[derive(Debug, Serialize)]
pub struct Memory {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Disk {
    pub mount: String,
    pub file_system: String,
    pub total_bytes: u64,
    pub used_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Interface {
    pub name: String,
    pub mac: String,
    pub addresses: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub cpu_percent: f32,
    pub memory_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Display {
    pub name: String,
    pub x: i16,
    pub y: i16,
    pub width: u16,
    pub height: u16,
    pub primary: bool,
}

/// Gathers a snapshot. Blocking (CPU usage needs two samples a moment apart): call it off the
/// session loop.
pub fn gather() -> Snapshot {
    let mut system = System::new();
    system.refresh_cpu_all();
    system.refresh_processes(ProcessesToUpdate::All, true);
    // CPU usage is a difference between two samples.
    std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL.max(Duration::from_millis(200)));
    system.refresh_cpu_all();
    system.refresh_processes(ProcessesToUpdate::All, true);
    system.refresh_memory();

    let load = System::load_average();
    let cpu = Cpu {
        model: system
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_owned())
            .unwrap_or_default(),
        cores: system.cpus().len(),
        load_1m: load.one,
        load_5m: load.five,
        load_15m: load.fifteen,
    };
    let memory = Memory {
        total_bytes: system.total_memory(),
        used_bytes: system.used_memory(),
        swap_total_bytes: system.total_swap(),
        swap_used_bytes: system.used_swap(),
    };
    let disks = Disks::new_with_refreshed_list()
        .iter()
        .map(|d| Disk {
            mount: d.mount_point().display().to_string(),
            file_system: d.file_system().to_string_lossy().into_owned(),
            total_bytes: d.total_space(),
            used_bytes: d.total_space().saturating_sub(d.available_space()),
        })
        .collect();
    let mut network: Vec<Interface> = Networks::new_with_refreshed_list()
        .iter()
        .map(|(name, data)| Interface {
            name: name.clone(),
            mac: data.mac_address().to_string(),
            addresses: data
                .ip_networks()
                .iter()
                .map(|n| format!("{}/{}", n.addr, n.prefix))
                .collect(),
        })
        .collect();
    network.sort_by(|a, b| a.name.cmp(&b.name));

    let processes: Vec<Process> = system
        .processes()
        .values()
        .filter(|p| p.thread_kind().is_none())
        .map(|p| Process {
            pid: p.pid().as_u32(),
            name: p.name().to_string_lossy().into_owned(),
            cpu_percent: p.cpu_usage(),
            memory_bytes: p.memory(),
        })
        .collect();
    let top = |key: fn(&Process) -> f64| {
        let mut ranked: Vec<&Process> = processes.iter().collect();
        ranked.sort_by(|a, b| key(b).total_cmp(&key(a)));
        ranked
            .into_iter()
            .take(TOP_PROCESSES)
            .map(|p| Process {
                pid: p.pid,
                name: p.name.clone(),
                cpu_percent: p.cpu_percent,
                memory_bytes: p.memory_bytes,
            })
            .collect()
    };

    Snapshot {
        os: System::long_os_version().unwrap_or_default(),
        kernel: System::kernel_version().unwrap_or_default(),
        hostname: System::host_name().unwrap_or_default(),
        uptime_secs: System::uptime(),
        cpu,
        memory,
        disks,
        network,
        default_route: default_route(),
        dns_servers: dns_servers(),
        top_by_cpu: top(|p| f64::from(p.cpu_percent)),
        top_by_memory: top(|p| p.memory_bytes as f64),
        user: current_user(),
        displays: displays(),
    }
}

/// The gateway of the default route, from `/proc/net/route` (Linux).
fn default_route() -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    parse_default_route(&table)
}

fn parse_default_route(table: &str) -> Option<String> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) != Some(&"00000000") {
            return None;
        }
        let gateway = u32::from_str_radix(fields.get(2)?, 16).ok()?;
        // The kernel prints it in host (little-endian) byte order.
        let ip = std::net::Ipv4Addr::from(gateway.to_le_bytes());
        Some(format!("{ip} via {}", fields.first()?))
    })
}

/// The `nameserver` lines of `/etc/resolv.conf`.
fn dns_servers() -> Vec<String> {
    std::fs::read_to_string("/etc/resolv.conf")
        .map(|text| parse_nameservers(&text))
        .unwrap_or_default()
}

fn parse_nameservers(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(|rest| rest.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The user this program runs as: the person sharing their screen.
fn current_user() -> Option<String> {
    let users = Users::new_with_refreshed_list();
    let uid = sysinfo::get_current_pid().ok().and_then(|pid| {
        System::new_with_specifics(sysinfo::RefreshKind::nothing().with_processes(
            sysinfo::ProcessRefreshKind::nothing().with_user(sysinfo::UpdateKind::Always),
        ))
        .process(pid)
        .and_then(|p| p.user_id().cloned())
    })?;
    users.get_user_by_id(&uid).map(|u| u.name().to_owned())
}

/// The X monitors (RandR), or the whole screen where RandR has none.
fn displays() -> Vec<Display> {
    use x11rb::connection::Connection;
    use x11rb::protocol::randr::ConnectionExt as _;
    use x11rb::protocol::xproto::ConnectionExt as _;

    let Ok((conn, screen_num)) = x11rb::connect(None) else {
        return Vec::new();
    };
    let Some(screen) = conn.setup().roots.get(screen_num) else {
        return Vec::new();
    };
    let root = screen.root;
    let whole = Display {
        name: "screen".into(),
        x: 0,
        y: 0,
        width: screen.width_in_pixels,
        height: screen.height_in_pixels,
        primary: true,
    };
    let monitors = conn
        .randr_get_monitors(root, true)
        .ok()
        .and_then(|cookie| cookie.reply().ok());
    let Some(monitors) = monitors else {
        return vec![whole];
    };
    let mut out: Vec<Display> = monitors
        .monitors
        .iter()
        .map(|m| Display {
            name: conn
                .get_atom_name(m.name)
                .ok()
                .and_then(|c| c.reply().ok())
                .map(|r| String::from_utf8_lossy(&r.name).into_owned())
                .unwrap_or_default(),
            x: m.x,
            y: m.y,
            width: m.width,
            height: m.height,
            primary: m.primary,
        })
        .collect();
    if out.is_empty() {
        out.push(whole);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_route_and_dns_are_read_from_the_os_files() {
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n\
                     eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n\
                     eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\n";
        assert_eq!(
            parse_default_route(table).as_deref(),
            Some("192.168.0.1 via eth0")
        );
        assert_eq!(parse_default_route("Iface\n"), None);
        assert_eq!(
            parse_nameservers("# comment\nnameserver 10.0.0.2\nsearch x\nnameserver ::1\n"),
            vec!["10.0.0.2", "::1"]
        );
    }

    #[test]
    fn a_snapshot_has_the_basics_and_serialises() {
        let snapshot = gather();
        assert!(!snapshot.kernel.is_empty());
        assert!(snapshot.memory.total_bytes > 0);
        assert!(snapshot.cpu.cores > 0);
        assert!(serde_json::to_string(&snapshot).is_ok());
    }
}
