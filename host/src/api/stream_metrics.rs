//! Feed health per venue stream as Prometheus gauges (the `/metrics` scrape), from the same
//! record the API's `streams` shows ([`crate::engine::stream_driver::FeedHealth`]), so an
//! operator can alert on a dead or silent feed without polling the JSON API.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::engine::stream_driver::FeedHealth;

/// The exposition text for `health` at `now_ms` (ms since the epoch).
pub fn render(health: &BTreeMap<String, FeedHealth>, now_ms: i64) -> String {
    if health.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    };
    let label = |venue: &str, channel: &str| {
        format!(
            "venue=\"{}\",channel=\"{channel}\"",
            venue.replace('"', "'")
        )
    };
    let mut connected = Vec::new();
    let mut age = Vec::new();
    let mut fresh = Vec::new();
    let mut reconnects = Vec::new();
    let mut resyncs = Vec::new();
    for (venue, h) in health {
        if h.streaming {
            connected.push((
                label(venue, "market"),
                u8::from(h.connections_up > 0).to_string(),
            ));
            fresh.push((label(venue, "market"), h.fresh_instruments.to_string()));
        }
        if h.user_stream {
            connected.push((label(venue, "user"), u8::from(h.user_connected).to_string()));
        }
        if let Some(t) = h.last_frame_ms {
            let secs = (now_ms.saturating_sub(t)).max(0) as f64 / 1000.0;
            age.push((
                format!("venue=\"{}\"", venue.replace('"', "'")),
                format!("{secs:.3}"),
            ));
        }
        let v = format!("venue=\"{}\"", venue.replace('"', "'"));
        reconnects.push((v.clone(), h.disconnects.to_string()));
        resyncs.push((v, h.resyncs.to_string()));
    }
    family(
        "polymix_stream_connected",
        "gauge",
        "1 while the venue's stream connection is up (market: at least one).",
        connected,
    );
    family(
        "polymix_stream_last_frame_age_seconds",
        "gauge",
        "Seconds since the venue's streams last delivered a frame.",
        age,
    );
    family(
        "polymix_stream_fresh_books",
        "gauge",
        "Books fresh from the stream (the others are polled over REST).",
        fresh,
    );
    family(
        "polymix_stream_reconnects_total",
        "counter",
        "Stream connections lost or gone stale (each is reconnected).",
        reconnects,
    );
    family(
        "polymix_stream_resyncs_total",
        "counter",
        "Sequence gaps resynced with a fresh snapshot.",
        resyncs,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_per_venue_and_channel() {
        let mut h = BTreeMap::new();
        h.insert(
            "ks".to_string(),
            FeedHealth {
                streaming: true,
                connections_up: 1,
                fresh_instruments: 4,
                instruments: 4,
                last_frame_ms: Some(10_000),
                disconnects: 2,
                resyncs: 3,
                user_stream: true,
                user_connected: false,
                ..FeedHealth::default()
            },
        );
        let t = render(&h, 12_500);
        for line in [
            "polymix_stream_connected{venue=\"ks\",channel=\"market\"} 1",
            "polymix_stream_connected{venue=\"ks\",channel=\"user\"} 0",
            "polymix_stream_last_frame_age_seconds{venue=\"ks\"} 2.500",
            "polymix_stream_fresh_books{venue=\"ks\",channel=\"market\"} 4",
            "polymix_stream_reconnects_total{venue=\"ks\"} 2",
            "polymix_stream_resyncs_total{venue=\"ks\"} 3",
            "# TYPE polymix_stream_connected gauge",
        ] {
            assert!(t.contains(line), "{line} missing in:\n{t}");
        }
        assert_eq!(render(&BTreeMap::new(), 0), "");
    }
}
