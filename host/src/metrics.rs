//! Process-wide counters and latency sums, rendered as Prometheus text by the control API.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Hist {
    counts: [u64; 12],
    n: u64,
    sum: f64,
}

#[derive(Default)]
struct Store {
    counters: BTreeMap<(String, Vec<(String, String)>), u64>,
    latency: BTreeMap<(String, String), Hist>,
}

static STORE: Mutex<Option<Store>> = Mutex::new(None);

/// A counter kept elsewhere, read when the metrics are rendered.
type Source = Box<dyn Fn() -> u64 + Send + Sync>;

/// Counters kept outside this store (e.g. the log lines the log's writer dropped), by name.
static SOURCES: Mutex<BTreeMap<&'static str, Source>> = Mutex::new(BTreeMap::new());

/// Renders `name` as a counter whose value `read` gives at each render (replacing an earlier
/// source of that name).
pub fn register_counter_source(name: &'static str, read: impl Fn() -> u64 + Send + Sync + 'static) {
    SOURCES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(name, Box::new(read));
}

fn with<R>(f: impl FnOnce(&mut Store) -> R) -> R {
    let mut g = STORE.lock().unwrap_or_else(|p| p.into_inner());
    f(g.get_or_insert_with(Store::default))
}

/// Adds one to a labelled counter.
pub fn inc(name: &str, labels: &[(&str, &str)]) {
    let key = (
        name.to_string(),
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    with(|s| *s.counters.entry(key).or_default() += 1);
}

/// Records one venue operation.
pub fn record_venue_call(venue: &str, op: &str, took: Duration, ok: bool) {
    with(|s| {
        let e = s
            .latency
            .entry((venue.to_string(), op.to_string()))
            .or_default();
        let t = took.as_secs_f64();
        e.n += 1;
        e.sum += t;
        for (i, b) in BUCKETS.iter().enumerate() {
            if t <= *b {
                e.counts[i] += 1;
            }
        }
    });
    if !ok {
        inc(
            "polymix_venue_errors_total",
            &[("venue", venue), ("op", op)],
        );
    }
}

/// Prometheus text exposition of everything recorded.
pub fn render() -> String {
    let mut out = String::new();
    for (name, read) in SOURCES.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        out.push_str(&format!("# TYPE {name} counter\n{name} {}\n", read()));
    }
    out + &with(|s| {
        let mut out = String::new();
        let mut last = String::new();
        for ((name, labels), v) in &s.counters {
            if *name != last {
                out.push_str(&format!("# TYPE {name} counter\n"));
                last = name.clone();
            }
            let l: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace('"', "'")))
                .collect();
            out.push_str(&format!("{name}{{{}}} {v}\n", l.join(",")));
        }
        if !s.latency.is_empty() {
            out.push_str("# TYPE polymix_venue_request_seconds histogram\n");
            for ((venue, op), h) in &s.latency {
                let l = format!("venue=\"{venue}\",op=\"{op}\"");
                for (i, b) in BUCKETS.iter().enumerate() {
                    out.push_str(&format!(
                        "polymix_venue_request_seconds_bucket{{{l},le=\"{b}\"}} {}\n",
                        h.counts[i]
                    ));
                }
                out.push_str(&format!(
                    "polymix_venue_request_seconds_bucket{{{l},le=\"+Inf\"}} {n}\npolymix_venue_request_seconds_count{{{l}}} {n}\npolymix_venue_request_seconds_sum{{{l}}} {sum}\n",
                    n = h.n,
                    sum = h.sum
                ));
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_counter_kept_elsewhere_is_read_at_each_render() {
        let n = Arc::new(AtomicU64::new(0));
        let m = n.clone();
        register_counter_source("polymix_test_source_total", move || {
            m.load(Ordering::Relaxed)
        });
        assert!(render()
            .contains("# TYPE polymix_test_source_total counter\npolymix_test_source_total 0\n"));
        n.store(7, Ordering::Relaxed);
        assert!(render().contains("\npolymix_test_source_total 7\n"));
    }
}
