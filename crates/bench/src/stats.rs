//! Latency samples and their summaries (percentiles, rates).

use std::time::Duration;

use serde::Serialize;

/// Latencies of one kind of operation, plus its failures.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    micros: Vec<u64>,
    errors: u64,
}

/// What a [`Samples`] comes to, for printing and JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Successful operations.
    pub count: u64,
    /// Failed operations (NO/BAD, timeouts, dropped connections).
    pub errors: u64,
    /// Successful operations per second of the run.
    pub per_sec: f64,
    /// Mean latency in milliseconds.
    pub mean_ms: f64,
    /// Median latency in milliseconds.
    pub p50_ms: f64,
    /// 90th percentile latency in milliseconds.
    pub p90_ms: f64,
    /// 99th percentile latency in milliseconds.
    pub p99_ms: f64,
    /// Slowest operation in milliseconds.
    pub max_ms: f64,
}

impl Samples {
    /// Records one successful operation.
    pub fn record(&mut self, d: Duration) {
        self.micros
            .push(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    /// Records one failed operation.
    pub fn error(&mut self) {
        self.errors += 1;
    }

    /// Adds another set of samples.
    pub fn merge(&mut self, other: &Samples) {
        self.micros.extend_from_slice(&other.micros);
        self.errors += other.errors;
    }

    /// Successful operations so far.
    pub fn count(&self) -> u64 {
        self.micros.len() as u64
    }

    /// Failures so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Percentiles and the rate over a run of `secs` seconds.
    pub fn summary(&self, secs: f64) -> Summary {
        let mut v = self.micros.clone();
        v.sort_unstable();
        let ms = |us: u64| us as f64 / 1000.0;
        let pct = |p: f64| -> f64 {
            if v.is_empty() {
                return 0.0;
            }
            let i = ((p / 100.0) * (v.len() as f64)).ceil() as usize;
            ms(v[i.clamp(1, v.len()) - 1])
        };
        let mean = if v.is_empty() {
            0.0
        } else {
            ms(v.iter().sum::<u64>()) / v.len() as f64
        };
        Summary {
            count: v.len() as u64,
            errors: self.errors,
            per_sec: if secs > 0.0 {
                v.len() as f64 / secs
            } else {
                0.0
            },
            mean_ms: mean,
            p50_ms: pct(50.0),
            p90_ms: pct(90.0),
            p99_ms: pct(99.0),
            max_ms: v.last().copied().map(ms).unwrap_or(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut s = Samples::default();
        for i in 1..=100 {
            s.record(Duration::from_millis(i));
        }
        let sum = s.summary(10.0);
        assert_eq!(sum.count, 100);
        assert_eq!(sum.p50_ms, 50.0);
        assert_eq!(sum.p99_ms, 99.0);
        assert_eq!(sum.max_ms, 100.0);
        assert_eq!(sum.per_sec, 10.0);
        assert_eq!(Samples::default().summary(1.0).p50_ms, 0.0);
    }
}
