//! Value parsers for command-line options.

use std::time::Duration;

/// A byte count: a plain number or one with a binary suffix (`K`, `KiB`, `M`, `MiB`, `G`,
/// `GiB`; case-insensitive), at least 1.
pub(crate) fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits_end);
    let shift = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("'{s}' is not a size (examples: 64, 64K, 256M, 1G)")),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (examples: 64, 64K, 256M, 1G)"))?;
    let bytes = n
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("'{s}' is too large"))?;
    if bytes == 0 {
        return Err("must be at least 1 byte".into());
    }
    Ok(bytes)
}

/// A byte count that must fit in memory (`usize`), as [`size`].
pub(crate) fn buf_size(s: &str) -> Result<usize, String> {
    usize::try_from(size(s)?).map_err(|_| format!("'{s}' is too large"))
}

/// A count of at least 1.
pub(crate) fn count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// A duration in seconds, fractions allowed (`0.5`).
pub(crate) fn seconds(s: &str) -> Result<Duration, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("'{s}' is not a number of seconds"))
}

/// A duration in seconds greater than zero, fractions allowed.
pub(crate) fn positive_seconds(s: &str) -> Result<Duration, String> {
    match seconds(s)? {
        d if d.is_zero() => Err("must be more than 0".into()),
        d => Ok(d),
    }
}

/// A duration in minutes greater than zero, fractions allowed (`0.5` is 30 s).
pub(crate) fn minutes(s: &str) -> Result<Duration, String> {
    let mins: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of minutes"))?;
    match Duration::try_from_secs_f64(mins * 60.0) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be more than 0".into()),
        Err(_) => Err(format!("'{s}' is not a number of minutes")),
    }
}

/// File permission bits in octal (`600`, `0660`, `0o600`), at most `7777`.
#[cfg(unix)]
pub(crate) fn octal_mode(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let digits = t.strip_prefix("0o").unwrap_or(t);
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o7777 && !digits.is_empty() => Ok(mode),
        _ => Err(format!("'{s}' is not an octal file mode like 600 or 0660")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size("64"), Ok(64));
        assert_eq!(size("64K"), Ok(65536));
        assert_eq!(size("1MiB"), Ok(1 << 20));
        assert_eq!(size("2g"), Ok(2 << 30));
        assert!(size("0").is_err());
        assert!(size("12X").is_err());
        assert!(size("").is_err());
        assert!(size("99999999999999G").is_err());
    }

    #[test]
    fn counts_and_seconds() {
        assert_eq!(count("7"), Ok(7));
        assert!(count("0").is_err());
        assert!(count("-1").is_err());
        assert_eq!(seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(seconds("-1").is_err());
        assert!(seconds("soon").is_err());
        assert!(positive_seconds("0").is_err());
        assert_eq!(positive_seconds("2"), Ok(Duration::from_secs(2)));
        assert_eq!(minutes("0.5"), Ok(Duration::from_secs(30)));
        assert_eq!(minutes("10"), Ok(Duration::from_secs(600)));
        assert!(minutes("0").is_err());
        assert!(minutes("-1").is_err());
        assert!(minutes("later").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn modes() {
        assert_eq!(octal_mode("600"), Ok(0o600));
        assert_eq!(octal_mode("0o660"), Ok(0o660));
        assert!(octal_mode("800").is_err());
        assert!(octal_mode("17777").is_err());
        assert!(octal_mode("").is_err());
    }
}
