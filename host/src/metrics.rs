//! Process-wide counters and latency sums, rendered as Prometheus text by the control API.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
struct Store {
    counters: BTreeMap<(String, Vec<(String, String)>), u64>,
    latency: BTreeMap<(String, String), (u64, f64)>,
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
        e.0 += 1;
        e.1 += took.as_secs_f64();
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
            out.push_str("# TYPE polymix_venue_request_seconds summary\n");
            for ((venue, op), (n, sum)) in &s.latency {
                out.push_str(&format!(
                    "polymix_venue_request_seconds_count{{venue=\"{venue}\",op=\"{op}\"}} {n}\npolymix_venue_request_seconds_sum{{venue=\"{venue}\",op=\"{op}\"}} {sum}\n"
                ));
            }
        }
        out
    })
}
