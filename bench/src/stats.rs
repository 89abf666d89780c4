//! Summaries of latency samples and of rates.

use std::time::Duration;

use serde::Serialize;

/// Median, p99, mean and count of a set of durations, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub count: usize,
    pub median_us: f64,
    pub p99_us: f64,
    pub mean_us: f64,
}

impl Summary {
    pub fn of(samples: &mut [Duration]) -> Self {
        samples.sort_unstable();
        let count = samples.len();
        let at = |q: f64| {
            if count == 0 {
                0.0
            } else {
                let index = ((count as f64 - 1.0) * q).round() as usize;
                samples[index].as_secs_f64() * 1e6
            }
        };
        let mean = if count == 0 {
            0.0
        } else {
            samples.iter().map(Duration::as_secs_f64).sum::<f64>() / count as f64 * 1e6
        };
        Self {
            count,
            median_us: at(0.5),
            p99_us: at(0.99),
            mean_us: mean,
        }
    }
}

/// The median of `values` (0 when empty).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_set() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let summary = Summary::of(&mut samples);
        assert_eq!(summary.count, 100);
        assert_eq!(summary.median_us, 51.0);
        assert_eq!(summary.p99_us, 99.0);
        assert!((summary.mean_us - 50.5).abs() < 1e-9);
    }

    #[test]
    fn median_of_even_and_empty_sets() {
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
