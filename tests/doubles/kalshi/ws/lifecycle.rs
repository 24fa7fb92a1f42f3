//! The double's `market_lifecycle_v2` channel (kalshi.md §9; docs.kalshi.com websockets):
//! `subscribe` (optionally with `market_tickers`) answers `subscribed` with a `sid`; the test
//! drives the market's life with [`super::Hub::lifecycle`], pushed to every subscription that
//! covers the ticker as `{"type":"market_lifecycle_v2","sid","msg":{"market_ticker",
//! "event_type", "result"?}}`.

use serde_json::{json, Value};

use super::{send, HubInner, Shared};

/// One lifecycle subscription.
pub(super) struct LifecycleSub {
    sid: u64,
    pub(super) conn: u64,
    /// Empty: every market.
    pub(super) tickers: Vec<String>,
}

/// Subscribes `conn`.
pub(super) fn subscribe(sh: &Shared, conn: u64, id: &Value, tickers: Vec<String>) {
    let mut g = sh.ws.lock();
    g.next_sid += 1;
    let sid = g.next_sid;
    let ack = json!({"id": id, "type": "subscribed", "msg": {"channel": "market_lifecycle_v2", "sid": sid}});
    send(&mut g, conn, "subscribed", ack.to_string());
    g.lifecycle_subs.push(LifecycleSub { sid, conn, tickers });
}

/// Pushes one lifecycle event of `ticker` to its subscribers.
pub(super) fn push(g: &mut HubInner, ticker: &str, event_type: &str, result: Option<&str>) {
    let mut msg = json!({"market_ticker": ticker, "event_type": event_type});
    if let Some(r) = result {
        msg["result"] = json!(r);
    }
    let frames: Vec<(u64, String)> = g
        .lifecycle_subs
        .iter()
        .filter(|s| s.tickers.is_empty() || s.tickers.iter().any(|t| t == ticker))
        .map(|s| {
            (
                s.conn,
                json!({"type": "market_lifecycle_v2", "sid": s.sid, "msg": msg}).to_string(),
            )
        })
        .collect();
    for (conn, text) in frames {
        send(g, conn, "market_lifecycle_v2", text);
    }
}
