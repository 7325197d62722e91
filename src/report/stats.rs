//! What several timed runs of one thing say: their mean and spread, their extremes, and
//! their median with an interval that holds the true median 95% of the time.

use serde::{Deserialize, Serialize};

/// The figures of a set of samples (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// How many samples.
    pub runs: usize,
    /// Their mean.
    pub mean_s: f64,
    /// Their standard deviation (n - 1 in the denominator; 0 for a single sample).
    pub sd_s: f64,
    /// The shortest.
    pub min_s: f64,
    /// The longest.
    pub max_s: f64,
    /// The median.
    pub median_s: f64,
    /// The lower end of the median's 95% interval.
    pub median_low_s: f64,
    /// The upper end of the median's 95% interval.
    pub median_high_s: f64,
}

impl Stats {
    /// The figures of `samples`; `None` when there are none.
    ///
    /// The median's interval is distribution-free: the order statistics at
    /// n/2 -+ 0.98 sqrt(n) (the normal approximation of the binomial count of samples
    /// below the median), clamped to the samples. Timings are skewed (a run can be slowed
    /// by much, never sped up by much), so an interval that assumes a bell curve would
    /// mislead. With few samples it is wide: with three or fewer it is their whole range.
    pub fn of(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let variance = if n > 1 {
            sorted.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        let half_width = 0.98 * (n as f64).sqrt();
        let low = ((n as f64 / 2.0 - half_width).floor().max(1.0) as usize).min(n);
        let high = ((1.0 + n as f64 / 2.0 + half_width).ceil() as usize).clamp(1, n);
        Some(Stats {
            runs: n,
            mean_s: mean,
            sd_s: variance.sqrt(),
            min_s: sorted[0],
            max_s: sorted[n - 1],
            median_s: median,
            median_low_s: sorted[low - 1].min(median),
            median_high_s: sorted[high - 1].max(median),
        })
    }

    /// Whether the medians' intervals of `self` and `other` are apart: only then is the
    /// difference between them more than the noise of the measurement. A single run has
    /// no interval (its "interval" is the run itself), so it differs from nothing: one
    /// run says nothing about the noise.
    pub fn differs_from(&self, other: &Stats) -> bool {
        let single = self.runs == 1 || other.runs == 1;
        !single
            && (self.median_high_s < other.median_low_s || other.median_high_s < self.median_low_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_of_five_samples() {
        let s = Stats::of(&[3.0, 1.0, 2.0, 5.0, 4.0]).unwrap();
        assert_eq!((s.runs, s.min_s, s.max_s, s.median_s), (5, 1.0, 5.0, 3.0));
        assert_eq!(s.mean_s, 3.0);
        assert!((s.sd_s - 2.5f64.sqrt()).abs() < 1e-12);
        assert!(s.median_low_s <= 3.0 && s.median_high_s >= 3.0);
        assert!(Stats::of(&[]).is_none());
    }

    #[test]
    fn one_sample_has_no_spread() {
        let s = Stats::of(&[2.0]).unwrap();
        assert_eq!((s.sd_s, s.median_low_s, s.median_high_s), (0.0, 2.0, 2.0));
    }

    #[test]
    fn the_median_interval_narrows_with_more_samples() {
        let many: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = Stats::of(&many).unwrap();
        assert!(s.median_low_s >= 35.0 && s.median_high_s <= 65.0, "{s:?}");
        let apart = Stats::of(&[10.0, 10.1, 10.2]).unwrap();
        let near = Stats::of(&[10.15, 10.3, 10.4]).unwrap();
        let far = Stats::of(&[20.0, 20.1, 20.2]).unwrap();
        assert!(!apart.differs_from(&near));
        assert!(apart.differs_from(&far));
        let once = Stats::of(&[20.0]).unwrap();
        assert!(
            !apart.differs_from(&once),
            "one run tells nothing of the noise"
        );
    }
}
