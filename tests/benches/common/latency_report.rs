//! Prints a decision-to-wire run: the totals' percentiles, then where the time went, stage by
//! stage (`polymix_host::engine::decision_latency::Stage`), so a regression points at its stage.

use polymix_host::engine::decision_latency::{quantile as percentile, Sample, Stage};
use std::time::Duration;

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Prints `name`'s totals and per-stage p50/p90/p99 (stages no sample passed are left out).
pub fn print(name: &str, trades: usize, samples: &[Sample]) {
    assert!(!samples.is_empty(), "no samples: no trade sent both legs");
    let mut s: Vec<Duration> = samples.iter().map(|s| s.total).collect();
    s.sort();
    println!(
        "{name}: {trades} trades, {} samples: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, min {:.0} µs, max {:.0} µs",
        s.len(),
        us(percentile(&s, 0.50)),
        us(percentile(&s, 0.90)),
        us(percentile(&s, 0.99)),
        us(s[0]),
        us(s[s.len() - 1]),
    );
    println!("  stage (time since the previous stage)      p50 µs    p90 µs    p99 µs");
    for stage in Stage::ALL {
        let mut d: Vec<Duration> = samples
            .iter()
            .filter_map(|s| s.stages[stage as usize])
            .collect();
        if d.is_empty() {
            continue;
        }
        d.sort();
        println!(
            "  {:<40} {:>9.0} {:>9.0} {:>9.0}",
            stage.name(),
            us(percentile(&d, 0.50)),
            us(percentile(&d, 0.90)),
            us(percentile(&d, 0.99)),
        );
    }
}
