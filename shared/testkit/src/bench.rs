//! What the benchmarks share: the percentile of a sample of durations. Written without any of the
//! testkit's dependencies, so that the domain's benchmark can include it by path.

use std::time::Duration;

/// The `p`th percentile of `samples` (nearest rank; `p` 0 is the fastest), zero for no sample.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
