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
    with(|s| {
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
