//! The double's websocket: `GET /trade-api/ws/v2` with the three signature headers (checked
//! like a REST GET of that path, kalshi.md §2), the `orderbook_delta` channel (kalshi.md §9):
//! `subscribe` answers `subscribed` with a new `sid`, then one `orderbook_snapshot` per market;
//! every change of a market's book afterwards goes out as `orderbook_delta` frames (signed
//! dollar-string counts) with the sid's contiguous `seq`. `unsubscribe` by sids.
//!
//! Books are diffed from the double's own matching book ([`super::exchange::Exchange::orderbook`])
//! against what each subscription was last sent, so the stream and `GET .../orderbook` always
//! tell the same story, unless a test injects a [`WsFault`]: a lost frame (gap), a duplicate,
//! two frames swapped, a disconnect, or a silent stall (nothing sent, nothing read, so no pongs).

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

use super::Shared;

mod lifecycle;
mod user;

/// The websocket path (kalshi.md §1).
pub const WS_PATH: &str = "/trade-api/ws/v2";

/// A fault of the websocket feed; each strikes once (`SlowUpgrades` stays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WsFault {
    /// The next delta frame is lost (its `seq` is used, the frame never sent).
    Gap,
    /// The next delta frame is sent twice.
    Duplicate,
    /// The next two delta frames are sent in swapped order.
    OutOfOrder,
    /// Every open connection is closed now.
    Disconnect,
    /// Every open connection goes silent (no frames, no pongs) for this long.
    Stall(Duration),
    /// From now on every websocket upgrade is answered this late (a slow venue edge; lets a
    /// test have REST requests leave before the stream is up).
    SlowUpgrades(Duration),
}

/// A market's book as last sent to one subscription: YES bids and NO bids by price.
type Ladders = (BTreeMap<String, i64>, BTreeMap<String, i64>);

struct Sub {
    sid: u64,
    conn: u64,
    seq: u64,
    sent: BTreeMap<String, Ladders>,
}

enum Out {
    Text(String),
    Close,
    Stall(Duration),
}

#[derive(Default)]
struct HubInner {
    next_sid: u64,
    next_conn: u64,
    subs: Vec<Sub>,
    conns: BTreeMap<u64, mpsc::UnboundedSender<Out>>,
    faults: VecDeque<WsFault>,
    /// A delta held back by [`WsFault::OutOfOrder`], sent after the next one.
    held: Option<(u64, String)>,
    /// Frames sent, by type (tests check what the feed did).
    sent_counts: BTreeMap<String, usize>,
    connects: usize,
    /// Subscriptions of the user channels (`user`).
    user_subs: Vec<user::UserSub>,
    /// Subscriptions of `market_lifecycle_v2` (`lifecycle`).
    lifecycle_subs: Vec<lifecycle::LifecycleSub>,
    /// The `market_tickers` of every `orderbook_delta` subscribe received, in order, with the
    /// connection it came on.
    book_subscribes: Vec<(u64, Vec<String>)>,
    /// How late every upgrade is answered ([`WsFault::SlowUpgrades`]).
    upgrade_delay: Option<Duration>,
    /// Every `update_subscription` command received, with its connection.
    updates: Vec<(u64, Value)>,
}

/// The websocket side of the double.
#[derive(Default)]
pub struct Hub {
    inner: Mutex<HubInner>,
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HubInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a fault.
    pub fn inject(&self, f: WsFault) {
        let mut g = self.lock();
        match f {
            WsFault::Disconnect => {
                for tx in g.conns.values() {
                    let _ = tx.send(Out::Close);
                }
            }
            WsFault::Stall(d) => {
                for tx in g.conns.values() {
                    let _ = tx.send(Out::Stall(d));
                }
            }
            WsFault::SlowUpgrades(d) => g.upgrade_delay = Some(d),
            other => g.faults.push_back(other),
        }
    }

    /// Pushes a `market_lifecycle_v2` event of `ticker` (`deactivated`, `activated`,
    /// `determined`, `settled` with a `result`, ...) to its subscribers.
    pub fn lifecycle(&self, ticker: &str, event_type: &str, result: Option<&str>) {
        lifecycle::push(&mut self.lock(), ticker, event_type, result);
    }

    /// The `market_tickers` of every `orderbook_delta` subscribe received so far, in order,
    /// each with the number of the connection it came on (connections count from 1).
    pub fn book_subscribes(&self) -> Vec<(u64, Vec<String>)> {
        self.lock().book_subscribes.clone()
    }

    /// The tickers whose books some `orderbook_delta` subscription streams now.
    pub fn streamed_tickers(&self) -> std::collections::BTreeSet<String> {
        self.lock()
            .subs
            .iter()
            .flat_map(|s| s.sent.keys().cloned())
            .collect()
    }

    /// Every `update_subscription` command received, with the connection it came on.
    pub fn updates(&self) -> Vec<(u64, Value)> {
        self.lock().updates.clone()
    }

    /// The `market_tickers` of every `market_lifecycle_v2` subscription, in order, each with
    /// the number of the connection it came on (empty tickers: every market).
    pub fn lifecycle_subscribes(&self) -> Vec<(u64, Vec<String>)> {
        self.lock()
            .lifecycle_subs
            .iter()
            .map(|s| (s.conn, s.tickers.clone()))
            .collect()
    }

    /// How many frames of `kind` were sent, and how many connections were accepted.
    pub fn stats(&self, kind: &str) -> (usize, usize) {
        let g = self.lock();
        (g.sent_counts.get(kind).copied().unwrap_or(0), g.connects)
    }
}

fn ladders(book: &Value) -> Ladders {
    let side = |k: &str| -> BTreeMap<String, i64> {
        book["orderbook_fp"][k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| {
                        let p = l[0].as_str()?.to_string();
                        let q = plugin_api::Qty::parse(l[1].as_str()?).ok()?.0;
                        Some((p, q))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    (side("yes_dollars"), side("no_dollars"))
}

fn levels(m: &BTreeMap<String, i64>) -> Vec<Value> {
    m.iter()
        .map(|(p, q)| json!([p, plugin_api::Qty(*q).to_decimal(2)]))
        .collect()
}

fn send(g: &mut HubInner, conn: u64, kind: &str, text: String) {
    *g.sent_counts.entry(kind.to_string()).or_default() += 1;
    if let Some(tx) = g.conns.get(&conn) {
        let _ = tx.send(Out::Text(text));
    }
}

/// The strings of a JSON array (none if it is not one).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The whole numbers of a JSON array (none if it is not one).
fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// Sends a delta frame through the fault queue.
fn send_delta(g: &mut HubInner, conn: u64, text: String) {
    match g.faults.front().copied() {
        Some(WsFault::Gap) => {
            g.faults.pop_front();
            *g.sent_counts.entry("lost".into()).or_default() += 1;
        }
        Some(WsFault::Duplicate) => {
            g.faults.pop_front();
            send(g, conn, "orderbook_delta", text.clone());
            send(g, conn, "orderbook_delta", text);
        }
        Some(WsFault::OutOfOrder) if g.held.is_none() => {
            g.faults.pop_front();
            g.held = Some((conn, text));
        }
        _ => {
            send(g, conn, "orderbook_delta", text);
            if let Some((c, held)) = g.held.take() {
                send(g, c, "orderbook_delta", held);
            }
        }
    }
}

/// Sends every subscription the changes of its markets' books (and the user channels the
/// account's changes) since it last heard.
pub(super) fn publish(sh: &Shared) {
    user::publish(sh);
    let books: BTreeMap<String, Ladders> = {
        let g = sh.lock();
        let hub = sh.ws.lock();
        hub.subs
            .iter()
            .flat_map(|s| s.sent.keys())
            .filter_map(|t| Some((t.clone(), ladders(&g.ex.orderbook(t)?))))
            .collect()
    };
    let mut hub = sh.ws.lock();
    let g = &mut *hub;
    let mut frames = Vec::new();
    for s in g.subs.iter_mut() {
        for (ticker, sent) in s.sent.iter_mut() {
            let Some(now) = books.get(ticker) else {
                continue;
            };
            for (side, old, new) in [("yes", &mut sent.0, &now.0), ("no", &mut sent.1, &now.1)] {
                let prices: Vec<String> = old.keys().chain(new.keys()).cloned().collect();
                let mut seen = std::collections::BTreeSet::new();
                for p in prices {
                    if !seen.insert(p.clone()) {
                        continue;
                    }
                    let d = new.get(&p).copied().unwrap_or(0) - old.get(&p).copied().unwrap_or(0);
                    if d == 0 {
                        continue;
                    }
                    s.seq += 1;
                    frames.push((
                        s.conn,
                        json!({"type": "orderbook_delta", "sid": s.sid, "seq": s.seq,
                               "msg": {"market_ticker": ticker, "price_dollars": p,
                                       "delta_fp": plugin_api::Qty(d).to_decimal(2), "side": side,
                                       "ts": "2026-01-01T00:00:00Z"}})
                        .to_string(),
                    ));
                }
                *old = new.clone();
            }
        }
    }
    for (conn, text) in frames {
        send_delta(g, conn, text);
    }
}

/// The upgrade: signed like a REST GET of [`WS_PATH`].
pub(super) async fn upgrade(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    {
        let mut g = sh.lock();
        if let Err((status, body)) =
            super::auth_check(&sh, &mut g, "GET", WS_PATH, "", &headers, false, true)
        {
            return super::json_response(status, &body);
        }
    }
    let delay = sh.ws.lock().upgrade_delay;
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    ws.on_upgrade(move |socket| serve(sh, socket))
        .into_response()
}

async fn serve(sh: Arc<Shared>, socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = {
        let mut g = sh.ws.lock();
        g.next_conn += 1;
        g.connects += 1;
        let c = g.next_conn;
        g.conns.insert(c, tx);
        c
    };
    let (mut sink, mut source) = socket.split();
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Out::Text(t)) => {
                    if sink.send(Message::Text(t.into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Stall(d)) => tokio::time::sleep(d).await,
                Some(Out::Close) | None => {
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
            },
            msg = source.next() => match msg {
                Some(Ok(Message::Text(t))) => command(&sh, conn, t.as_str()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let mut g = sh.ws.lock();
    g.conns.remove(&conn);
    g.subs.retain(|s| s.conn != conn);
    g.user_subs.retain(|s| s.conn != conn);
    g.lifecycle_subs.retain(|s| s.conn != conn);
}

fn command(sh: &Shared, conn: u64, text: &str) {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => {
            let mut g = sh.ws.lock();
            let e =
                json!({"type": "error", "msg": {"code": 1, "msg": "Unable to process message"}});
            send(&mut g, conn, "error", e.to_string());
            return;
        }
    };
    let id = v["id"].clone();
    match v["cmd"].as_str() {
        Some("subscribe") => {
            let channels = v["params"]["channels"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if channels == vec![json!("market_lifecycle_v2")] {
                let tickers: Vec<String> = strings(&v["params"]["market_tickers"]);
                lifecycle::subscribe(sh, conn, &id, tickers);
                return;
            }
            if user::is_user(&channels) {
                user::subscribe(sh, conn, &id, &channels);
                return;
            }
            if channels != vec![json!("orderbook_delta")] {
                let mut g = sh.ws.lock();
                let e = json!({"id": id, "type": "error", "msg": {"code": 8, "msg": "Unknown channel name"}});
                send(&mut g, conn, "error", e.to_string());
                return;
            }
            let tickers: Vec<String> = strings(&v["params"]["market_tickers"]);
            let books: Vec<(String, Ladders)> = {
                let g = sh.lock();
                tickers
                    .iter()
                    .map(|t| {
                        let b = g.ex.orderbook(t).map(|b| ladders(&b)).unwrap_or_default();
                        (t.clone(), b)
                    })
                    .collect()
            };
            let mut g = sh.ws.lock();
            g.book_subscribes.push((conn, tickers.clone()));
            g.next_sid += 1;
            let sid = g.next_sid;
            let ack = json!({"id": id, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": sid}});
            send(&mut g, conn, "subscribed", ack.to_string());
            let mut sub = Sub {
                sid,
                conn,
                seq: 0,
                sent: BTreeMap::new(),
            };
            for (t, (yes, no)) in books {
                sub.seq += 1;
                let snap = json!({"type": "orderbook_snapshot", "sid": sid, "seq": sub.seq,
                                  "msg": {"market_ticker": t, "market_id": format!("id-{t}"),
                                          "yes_dollars_fp": levels(&yes), "no_dollars_fp": levels(&no)}});
                send(&mut g, conn, "orderbook_snapshot", snap.to_string());
                sub.sent.insert(t, (yes, no));
            }
            g.subs.push(sub);
        }
        Some("unsubscribe") => {
            let sids: Vec<u64> = u64s(&v["params"]["sids"]);
            let mut g = sh.ws.lock();
            g.subs
                .retain(|s| !(s.conn == conn && sids.contains(&s.sid)));
            for sid in sids {
                let ack = json!({"id": id, "sid": sid, "seq": 0, "type": "unsubscribed"});
                send(&mut g, conn, "unsubscribed", ack.to_string());
            }
        }
        // kalshi.md §9: exactly one sid; the answer `ok` is numbered in its sequence.
        Some("update_subscription") => {
            let sids: Vec<u64> = u64s(&v["params"]["sids"]);
            let tickers: Vec<String> = strings(&v["params"]["market_tickers"]);
            let mut g = sh.ws.lock();
            g.updates.push((conn, v.clone()));
            let sub = match sids.as_slice() {
                [sid] => g.subs.iter_mut().find(|s| s.conn == conn && s.sid == *sid),
                _ => None,
            };
            let ok = match (sub, v["params"]["action"].as_str()) {
                (Some(sub), Some("delete_markets")) if !tickers.is_empty() => {
                    for t in &tickers {
                        sub.sent.remove(t);
                    }
                    sub.seq += 1;
                    Some(
                        json!({"id": id, "sid": sub.sid, "seq": sub.seq, "type": "ok",
                                "msg": {"market_tickers": sub.sent.keys().collect::<Vec<_>>()}}),
                    )
                }
                _ => None,
            };
            let (kind, text) = match ok {
                Some(m) => ("ok", m.to_string()),
                None => (
                    "error",
                    json!({"id": id, "type": "error", "msg": {"code": 11, "msg": "Invalid parameter"}})
                        .to_string(),
                ),
            };
            send(&mut g, conn, kind, text);
        }
        _ => {
            let mut g = sh.ws.lock();
            let e =
                json!({"id": id, "type": "error", "msg": {"code": 5, "msg": "Unknown command"}});
            send(&mut g, conn, "error", e.to_string());
        }
    }
}
