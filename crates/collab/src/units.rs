//! Sizes and durations as people read them, the same in the terminal and in both windows.

/// `1.5 MiB`, `512 bytes`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `45 s`, `3 min 20 s`, `2 h 5 min`: a time left, rounded up to the second so "0 s" never shows
/// while something is still moving.
pub fn human_secs(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "?".into();
    }
    let total = secs.ceil() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(2_000_000_000), "1.9 GiB");
        assert_eq!(human_secs(0.2), "1 s");
        assert_eq!(human_secs(200.0), "3 min 20 s");
        assert_eq!(human_secs(7500.0), "2 h 5 min");
        assert_eq!(human_secs(f64::INFINITY), "?");
    }
}
