//! Plain-text tables and the units of the bench's values.

/// What a value measures, for formatting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// A duration in nanoseconds.
    Nanos,
    /// Bytes per second.
    BytesPerSec,
    /// Events per second.
    PerSec,
}

impl Unit {
    /// The unit of the raw values, as the JSON document names it: `ns`, `B/s`, `1/s`.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Self::Nanos => "ns",
            Self::BytesPerSec => "B/s",
            Self::PerSec => "1/s",
        }
    }
}

/// `value` in `unit` with three significant digits, e.g. `9.81 µs`, `3.21 GiB/s`, `52.1 k/s`.
pub(crate) fn format(unit: Unit, value: f64) -> String {
    if !value.is_finite() {
        return "-".into();
    }
    let (scaled, suffix) = match unit {
        Unit::Nanos if value >= 1e6 => (value / 1e6, "ms"),
        Unit::Nanos if value >= 1e3 => (value / 1e3, "µs"),
        Unit::Nanos => (value, "ns"),
        Unit::BytesPerSec if value >= 1024.0 * 1024.0 * 1024.0 => {
            (value / (1024.0 * 1024.0 * 1024.0), "GiB/s")
        }
        Unit::BytesPerSec => (value / (1024.0 * 1024.0), "MiB/s"),
        Unit::PerSec if value >= 1e6 => (value / 1e6, "M/s"),
        Unit::PerSec if value >= 1e3 => (value / 1e3, "k/s"),
        Unit::PerSec => (value, "/s"),
    };
    format!("{} {suffix}", three_digits(scaled))
}

/// `value` with three significant digits (at least none after the point for ≥ 100).
fn three_digits(value: f64) -> String {
    match value.abs() {
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 10.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

/// A byte count in the largest binary unit that divides it, e.g. `64 B`, `64 KiB`, `256 MiB`.
pub(crate) fn bytes(n: u64) -> String {
    for (shift, suffix) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n % (1 << shift) == 0 {
            return format!("{} {suffix}", n >> shift);
        }
    }
    format!("{n} B")
}

/// A ratio as `1.01x`.
pub(crate) fn ratio(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}x")
    } else {
        "-".into()
    }
}

/// Renders `rows` under `header`: the first `left` columns left-aligned (labels), the others
/// right-aligned (values), two spaces between columns, a rule under the header.
pub(crate) fn render(header: &[&str], left: usize, rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            let pad = width - cell.chars().count();
            if i > 0 {
                out.push_str("  ");
            }
            if i < left {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(header);
    let total = widths.iter().sum::<usize>() + 2 * (cols.saturating_sub(1));
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&line(&cells));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(format(Unit::Nanos, 9_812.0), "9.81 µs");
        assert_eq!(format(Unit::Nanos, 812.0), "812 ns");
        assert_eq!(format(Unit::Nanos, 12_500_000.0), "12.5 ms");
        assert_eq!(format(Unit::BytesPerSec, 3.5 * 1073741824.0), "3.50 GiB/s");
        assert_eq!(format(Unit::BytesPerSec, 812.0 * 1048576.0), "812 MiB/s");
        assert_eq!(format(Unit::PerSec, 52_100.0), "52.1 k/s");
        assert_eq!(format(Unit::PerSec, f64::NAN), "-");
        assert_eq!(ratio(0.987), "0.99x");
        assert_eq!(bytes(64), "64 B");
        assert_eq!(bytes(65536), "64 KiB");
        assert_eq!(bytes(256 << 20), "256 MiB");
        assert_eq!(bytes(1000), "1000 B");
    }

    #[test]
    fn alignment() {
        let out = render(
            &["case", "value"],
            1,
            &[
                vec!["a".into(), "1 µs".into()],
                vec!["longer".into(), "10".into()],
            ],
        );
        assert_eq!(
            out,
            "case    value\n-------------\na        1 µs\nlonger     10\n"
        );
        let out = render(
            &["g", "case", "v"],
            2,
            &[vec!["s".into(), "a".into(), "1".into()]],
        );
        assert_eq!(out, "g  case  v\n----------\ns  a     1\n");
    }
}
