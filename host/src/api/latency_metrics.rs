//! Decision-to-wire latency of the recent live trades as Prometheus summaries (the `/metrics`
//! scrape): the total and each stage (`engine::decision_latency::Stage`), so an operator sees
//! on a running engine where the time from a book to the wire goes, not only in the bench.

use std::fmt::Write;
use std::time::Duration;

use crate::engine::decision_latency::{quantile, Sample, Stage};

const QUANTILES: [(f64, &str); 3] = [(0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99")];

/// The exposition text for `samples` (the engine's kept samples, at most a few thousand);
/// nothing when there are none.
pub fn render(samples: &[Sample]) -> String {
    if samples.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let mut total: Vec<Duration> = samples.iter().map(|s| s.total).collect();
    total.sort();
    let name = "polymix_decision_to_wire_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Recent live trades: the deciding book's arrival to both orders handed to the transport.\n# TYPE {name} summary"
    );
    for (q, label) in QUANTILES {
        let _ = writeln!(
            out,
            "{name}{{quantile=\"{label}\"}} {:.6}",
            quantile(&total, q).as_secs_f64()
        );
    }
    let _ = writeln!(
        out,
        "{name}_sum {:.6}\n{name}_count {}",
        total.iter().sum::<Duration>().as_secs_f64(),
        total.len()
    );
    let name = "polymix_decision_stage_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Recent live trades: time spent reaching each stage from the one before.\n# TYPE {name} summary"
    );
    for stage in Stage::ALL {
        let mut d: Vec<Duration> = samples
            .iter()
            .filter_map(|s| s.stages[stage as usize])
            .collect();
        if d.is_empty() {
            continue;
        }
        d.sort();
        for (q, label) in QUANTILES {
            let _ = writeln!(
                out,
                "{name}{{stage=\"{}\",quantile=\"{label}\"}} {:.6}",
                stage.name(),
                quantile(&d, q).as_secs_f64()
            );
        }
        let _ = writeln!(
            out,
            "{name}_sum{{stage=\"{s}\"}} {:.6}\n{name}_count{{stage=\"{s}\"}} {}",
            d.iter().sum::<Duration>().as_secs_f64(),
            d.len(),
            s = stage.name(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(total_us: u64, journaled_us: u64) -> Sample {
        let mut stages = [None; Stage::ALL.len()];
        stages[Stage::Journaled as usize] = Some(Duration::from_micros(journaled_us));
        stages[Stage::Wire as usize] = Some(Duration::from_micros(total_us - journaled_us));
        Sample {
            book: std::time::Instant::now(),
            total: Duration::from_micros(total_us),
            stages,
        }
    }

    #[test]
    fn totals_and_stages_as_summaries() {
        assert_eq!(render(&[]), "");
        let s: Vec<Sample> = (1..=100).map(|i| sample(1000 * i, 600)).collect();
        let text = render(&s);
        assert!(
            text.contains("polymix_decision_to_wire_seconds{quantile=\"0.5\"} 0.051000"),
            "{text}"
        );
        assert!(
            text.contains("polymix_decision_to_wire_seconds{quantile=\"0.99\"} 0.099000"),
            "{text}"
        );
        assert!(
            text.contains("polymix_decision_to_wire_seconds_count 100"),
            "{text}"
        );
        assert!(
            text.contains(
                "polymix_decision_stage_seconds{stage=\"journaled\",quantile=\"0.9\"} 0.000600"
            ),
            "{text}"
        );
        assert!(
            text.contains("polymix_decision_stage_seconds_count{stage=\"wire\"} 100"),
            "{text}"
        );
        // A stage no sample passed (streams only) is left out.
        assert!(!text.contains("stage=\"parsed\""), "{text}");
    }
}
