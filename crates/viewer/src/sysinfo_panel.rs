//! The technician's system-information panel: a button that asks for the user's system information
//! (they are asked to allow it the first time), and a window with the snapshot as readable lines
//! (sections, sizes in KiB/MiB/GiB, durations) that can be filtered and copied, as text or JSON.

use eframe::egui;
use tandem_i18n::tr;
use tandem_proto::text::for_display;

#[derive(Default)]
pub struct SysinfoPanel {
    open: bool,
    waiting: bool,
    declined: bool,
    /// The snapshot as readable lines, display-safe.
    lines: Vec<String>,
    /// The snapshot as indented JSON, display-safe (for "Copy JSON").
    json: String,
    filter: String,
}

impl SysinfoPanel {
    /// The toolbar button; true when a (new) snapshot should be asked for.
    pub fn button(&mut self, ui: &mut egui::Ui, enabled: bool) -> bool {
        let label = if self.waiting {
            tr!("sysinfo-button-waiting")
        } else {
            tr!("sysinfo-button")
        };
        let clicked = ui
            .add_enabled(enabled && !self.waiting, egui::Button::new(label))
            .on_hover_text(tr!("sysinfo-button-hover"))
            .clicked();
        if clicked {
            self.waiting = true;
            self.declined = false;
            self.open = true;
        }
        clicked
    }

    /// The answer arrived: a snapshot (JSON), or `None` if the user declined.
    pub fn absorb(&mut self, snapshot: Option<String>) {
        self.waiting = false;
        self.open = true;
        match snapshot {
            None => self.declined = true,
            Some(json) => {
                let value = serde_json::from_str::<serde_json::Value>(&json).ok();
                let pretty = value
                    .as_ref()
                    .and_then(|v| serde_json::to_string_pretty(v).ok())
                    .unwrap_or(json);
                self.json = for_display(&pretty).into_owned();
                let lines = match &value {
                    Some(value) => readable_lines(value),
                    None => pretty.lines().map(str::to_owned).collect(),
                };
                self.lines = lines.iter().map(|l| for_display(l).into_owned()).collect();
            }
        }
    }

    pub fn show(&mut self, ctx: &egui::Context) {
        let mut open = self.open;
        egui::Window::new(tr!("sysinfo-title"))
            .id(egui::Id::unique("system-information"))
            .open(&mut open)
            .default_size([520.0, 560.0])
            .show(ctx, |ui| {
                if self.waiting {
                    ui.label(tr!("sysinfo-waiting"));
                }
                if self.declined {
                    ui.label(tr!("join-diagnostics-declined"));
                }
                if self.lines.is_empty() {
                    return;
                }
                ui.horizontal(|ui| {
                    ui.label(tr!("sysinfo-filter"));
                    ui.text_edit_singleline(&mut self.filter);
                    if ui.button(tr!("sysinfo-copy")).clicked() {
                        ctx.copy_text(self.lines.join("\n"));
                    }
                    if ui.button(tr!("sysinfo-copy-json")).clicked() {
                        ctx.copy_text(self.json.clone());
                    }
                });
                let needle = self.filter.to_lowercase();
                egui::ScrollArea::vertical().show(ui, |ui| {
                    for line in &self.lines {
                        if needle.is_empty() || line.to_lowercase().contains(&needle) {
                            ui.monospace(line);
                        }
                    }
                });
            });
        self.open = open;
    }
}

/// The snapshot as lines a person reads: its plain values first, then a section per object or list
/// (one line per list item); `*_bytes` as KiB/MiB/GiB, `*_secs` as a duration. Generic over the
/// fields, so a host that sends more (or less) is shown as it is.
fn readable_lines(value: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let Value::Object(fields) = value else {
        return vec![scalar("", value)];
    };
    let mut lines = Vec::new();
    for (key, value) in fields {
        if !matches!(value, Value::Object(_) | Value::Array(_)) {
            lines.push(format!("{}: {}", title(key), scalar(key, value)));
        }
    }
    for (key, value) in fields {
        match value {
            Value::Object(inner) => {
                lines.push(String::new());
                lines.push(title(key));
                for (k, v) in inner {
                    lines.push(format!("  {}: {}", title(k), compact(k, v)));
                }
            }
            Value::Array(items) => {
                lines.push(String::new());
                lines.push(format!("{} ({})", title(key), items.len()));
                for item in items {
                    lines.push(format!("  {}", compact(key, item)));
                }
            }
            _ => {}
        }
    }
    lines
}

/// An object as `name value · name value`, anything else as [`scalar`].
fn compact(key: &str, value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| format!("{} {}", title(k).to_lowercase(), compact(k, v)))
            .collect::<Vec<_>>()
            .join(" · "),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|v| compact(key, v))
            .collect::<Vec<_>>()
            .join(", "),
        other => scalar(key, other),
    }
}

fn scalar(key: &str, value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) if key.ends_with("_bytes") => {
            n.as_u64().map_or_else(|| n.to_string(), tandem_i18n::bytes)
        }
        Value::Number(n) if key.ends_with("_secs") => {
            n.as_u64().map_or_else(|| n.to_string(), duration)
        }
        Value::Number(n) if key.ends_with("_percent") => {
            format!("{:.1} %", n.as_f64().unwrap_or(0.0))
        }
        other => other.to_string(),
    }
}

/// The catalogue's label for a field Tandem's hosts send, by its key without the unit suffix.
fn known_title(key: &str) -> Option<&'static str> {
    Some(match key {
        "addresses" => "sysinfo-key-addresses",
        "cores" => "sysinfo-key-cores",
        "cpu" => "sysinfo-key-cpu",
        "default_route" => "sysinfo-key-default-route",
        "disks" => "sysinfo-key-disks",
        "displays" => "sysinfo-key-displays",
        "dns_servers" => "sysinfo-key-dns-servers",
        "file_system" => "sysinfo-key-file-system",
        "height" => "sysinfo-key-height",
        "hostname" => "sysinfo-key-hostname",
        "kernel" => "sysinfo-key-kernel",
        "load_15m" => "sysinfo-key-load-15m",
        "load_1m" => "sysinfo-key-load-1m",
        "load_5m" => "sysinfo-key-load-5m",
        "mac" => "sysinfo-key-mac",
        "memory" => "sysinfo-key-memory",
        "model" => "sysinfo-key-model",
        "mount" => "sysinfo-key-mount",
        "name" => "sysinfo-key-name",
        "network" => "sysinfo-key-network",
        "os" => "sysinfo-key-os",
        "pid" => "sysinfo-key-pid",
        "primary" => "sysinfo-key-primary",
        "swap_total" => "sysinfo-key-swap-total",
        "swap_used" => "sysinfo-key-swap-used",
        "top_by_cpu" => "sysinfo-key-top-by-cpu",
        "top_by_memory" => "sysinfo-key-top-by-memory",
        "total" => "sysinfo-key-total",
        "uptime" => "sysinfo-key-uptime",
        "used" => "sysinfo-key-used",
        "user" => "sysinfo-key-user",
        "width" => "sysinfo-key-width",
        _ => return None,
    })
}

/// `uptime_secs` → "Uptime", `cpu` → "CPU", `top_by_memory` → "Top by memory": the catalogue's
/// label for the fields Tandem knows, else made from the key (a newer host may send more).
fn title(key: &str) -> String {
    let key = ["_bytes", "_secs", "_percent"]
        .iter()
        .find_map(|suffix| key.strip_suffix(suffix))
        .unwrap_or(key);
    if let Some(id) = known_title(key) {
        return tandem_i18n::message(id, &[]);
    }
    if matches!(key, "cpu" | "os" | "dns_servers" | "mac" | "pid") {
        return key
            .replace("_servers", " servers")
            .to_uppercase()
            .replace(" SERVERS", " servers");
    }
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Seconds as "3 d 4 h", "5 h 12 min" or "42 s".
fn duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => tr!("sysinfo-seconds", seconds = secs),
        (0, 0, m) => tr!("sysinfo-minutes", minutes = m),
        (0, h, m) => tr!("sysinfo-hours", hours = h, minutes = m),
        (d, h, _) => tr!("sysinfo-days", days = d, hours = h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_as_sections_with_units() {
        let value = serde_json::json!({
            "hostname": "desk-12",
            "uptime_secs": 22_680,
            "cpu": { "model": "AMD EPYC", "cores": 2 },
            "memory": { "total_bytes": 25_769_803_776u64 },
            "disks": [{ "mount": "/", "total_bytes": 1_073_741_824u64 }],
            "dns_servers": ["10.0.0.1", "10.0.0.2"],
            "user": null
        });
        let lines = readable_lines(&value);
        assert_eq!(lines[0], "Hostname: desk-12");
        assert!(
            lines.contains(&"Uptime: 6 h 18 min".to_owned()),
            "{lines:?}"
        );
        assert!(lines.contains(&"User: —".to_owned()), "{lines:?}");
        assert!(lines.contains(&"CPU".to_owned()), "{lines:?}");
        assert!(lines.contains(&"  Cores: 2".to_owned()), "{lines:?}");
        assert!(lines.iter().any(|l| l == "  Total: 24.0 GiB"), "{lines:?}");
        assert!(lines.contains(&"Disks (1)".to_owned()), "{lines:?}");
        assert!(
            lines.iter().any(|l| l == "  mount / · total 1.0 GiB"),
            "{lines:?}"
        );
        assert!(lines.contains(&"DNS servers (2)".to_owned()), "{lines:?}");
    }
}
