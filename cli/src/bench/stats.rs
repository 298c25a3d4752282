//! Small statistics: medians, percentiles and the paired comparison of two subjects.

/// The median of `values` (mean of the two middle ones for an even count); NaN if empty.
pub(super) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    median_sorted(&sorted)
}

/// The median of already sorted `values`; NaN if empty.
pub(super) fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The `p`th percentile (0–100) of sorted `values` by the nearest-rank method; NaN if empty.
pub(super) fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // saturates; clamped below
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One metric of both subjects over all rounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Comparison {
    /// Median over rounds, localipc.
    pub localipc: f64,
    /// Median over rounds, raw.
    pub raw: f64,
    /// Median over rounds of the per-round ratio; above 1 means localipc did better.
    pub ratio: f64,
    /// Lowest per-round ratio.
    pub ratio_min: f64,
    /// Highest per-round ratio.
    pub ratio_max: f64,
}

/// Compares per-round values of the two subjects, paired by round (both subjects of a round
/// ran back to back, so drift affects both alike). `higher_is_better` says which way the
/// metric goes: ratios are `localipc / raw` for rates and `raw / localipc` for latencies.
pub(super) fn compare(localipc: &[f64], raw: &[f64], higher_is_better: bool) -> Comparison {
    let mut ratios: Vec<f64> = localipc
        .iter()
        .zip(raw)
        .map(|(&l, &r)| if higher_is_better { l / r } else { r / l })
        .collect();
    ratios.sort_by(f64::total_cmp);
    Comparison {
        localipc: median(localipc),
        raw: median(raw),
        ratio: median_sorted(&ratios),
        ratio_min: ratios.first().copied().unwrap_or(f64::NAN),
        ratio_max: ratios.last().copied().unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile_sorted(&sorted, 99.0), 99.0);
        assert_eq!(percentile_sorted(&sorted, 100.0), 100.0);
        assert_eq!(percentile_sorted(&sorted, 0.0), 1.0);
        assert_eq!(percentile_sorted(&[7.0], 99.0), 7.0);
    }

    #[test]
    fn comparison_direction() {
        // Latency: localipc twice as fast → 2.0.
        let c = compare(&[1.0, 1.0, 1.0], &[2.0, 2.0, 2.0], false);
        assert_eq!((c.ratio, c.localipc, c.raw), (2.0, 1.0, 2.0));
        // Rate: localipc half as fast → 0.5.
        let c = compare(&[1.0, 2.0, 3.0], &[2.0, 4.0, 3.0], true);
        assert_eq!((c.ratio, c.ratio_min, c.ratio_max), (0.5, 0.5, 1.0));
    }
}
