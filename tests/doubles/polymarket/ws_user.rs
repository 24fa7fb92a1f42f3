//! The double's user channel, `GET /ws/user` (polymarket.md §1.4; docs.polymarket.com
//! market-data/websocket/user-channel): the first message must be
//! `{"type":"user","auth":{"apiKey","secret","passphrase"}}` with credentials the double
//! issued (anything else closes the connection); from then on every change of the key's
//! trades (`trade`, status MATCHED → CONFIRMED or FAILED, the same object as `GET
//! /data/trades`) and orders (`order`, PLACEMENT / UPDATE) is pushed as it happens. Nothing is
//! replayed: a connection hears only changes after it subscribed, so what happened while a
//! client was away is found over REST only, as with the venue. `PING` is answered `PONG`.
//!
//! Faults: [`UserFault::Disconnect`] closes every connection; [`UserFault::Refuse`] also
//! fails new handshakes (503) for a while.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{fmt6, lock, order_json, trade_json, verify::decode_secret, Inner};

/// The user channel's path below the double's root.
pub const WS_USER_PATH: &str = "/ws/user";

/// How often a connection looks for changes to push.
const TICK: Duration = Duration::from_millis(20);

/// A fault of the user channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserFault {
    /// Every open connection is closed now.
    Disconnect,
    /// Every open connection is closed and new ones are closed at once for this long.
    Refuse(Duration),
}

/// The user channel's side of the double.
#[derive(Default)]
pub struct UserHub {
    /// Bumped by every fault that closes connections.
    generation: u64,
    refuse_until: Option<Instant>,
    /// Frames sent by `event_type` (and `connects`, `subscribed`).
    pub counts: BTreeMap<String, usize>,
}

impl UserHub {
    /// Applies a fault.
    pub fn inject(&mut self, f: UserFault) {
        self.generation += 1;
        if let UserFault::Refuse(d) = f {
            self.refuse_until = Some(Instant::now() + d);
        }
    }
}

/// The upgrade (credentials come in the first message, not the handshake).
/// While refusing, the handshake itself fails (503).
pub(super) async fn upgrade(State(d): State<Arc<Mutex<Inner>>>, ws: WebSocketUpgrade) -> Response {
    let refused = {
        let mut g = lock(&d);
        *g.ws_user.counts.entry("connects".into()).or_default() += 1;
        g.ws_user.refuse_until.is_some_and(|t| Instant::now() < t)
    };
    if refused {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    ws.on_upgrade(move |socket| serve(d, socket))
}

/// What a connection last pushed: trade id → status, order id → (status, size_matched).
#[derive(Default)]
struct Sent {
    trades: BTreeMap<String, String>,
    orders: BTreeMap<String, (String, String)>,
}

/// The key's trades and orders as the venue would push them now, leaving out those `sent`
/// already shows in a state that cannot change any more (a trade CONFIRMED or FAILED, an order
/// as last sent): without that, every tick rebuilt the whole history, which made a run of
/// thousands of trades (the latency bench) slower with every trade.
fn snapshot(g: &mut Inner, key: &str, sent: &Sent) -> (Vec<Value>, Vec<Value>) {
    g.settle();
    let delay = g.cfg.settle_delay;
    let trades = g
        .trades
        .iter()
        .filter(|t| t.owner == key)
        .filter(|t| {
            !sent
                .trades
                .get(&t.id)
                .is_some_and(|s| s == "CONFIRMED" || s == "FAILED")
        })
        .map(|t| trade_json(t, delay))
        .collect();
    let orders = g
        .orders
        .iter()
        .filter(|o| o.owner == key)
        .filter(|o| {
            sent.orders.get(&o.id).is_none_or(|(status, matched)| {
                *status != o.status || *matched != fmt6(o.matched_micro)
            })
        })
        .map(order_json)
        .collect();
    (trades, orders)
}

fn authorised(g: &Inner, v: &Value) -> Option<String> {
    if v["type"] != "user" {
        return None;
    }
    let a = &v["auth"];
    let key = a["apiKey"].as_str()?;
    let info = g.keys.get(key)?;
    let secret = decode_secret(a["secret"].as_str()?)?;
    (secret == info.secret && a["passphrase"].as_str()? == info.passphrase).then(|| key.to_string())
}

async fn serve(d: Arc<Mutex<Inner>>, socket: WebSocket) {
    let (mut sink, mut source) = socket.split();
    let generation = lock(&d).ws_user.generation;
    let mut key: Option<String> = None;
    let mut sent = Sent::default();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let mut out = Vec::new();
                {
                    let mut g = lock(&d);
                    if g.ws_user.generation != generation {
                        break;
                    }
                    let Some(k) = key.as_deref() else { continue };
                    let (trades, orders) = snapshot(&mut g, k, &sent);
                    for mut t in trades {
                        let id = t["id"].as_str().unwrap_or_default().to_string();
                        let status = t["status"].as_str().unwrap_or_default().to_string();
                        if sent.trades.get(&id) != Some(&status) {
                            sent.trades.insert(id, status);
                            t["event_type"] = json!("trade");
                            t["type"] = json!("TRADE");
                            let by_status = format!("trade:{}", t["status"].as_str().unwrap_or_default());
                            *g.ws_user.counts.entry(by_status).or_default() += 1;
                            out.push(("trade", t.to_string()));
                        }
                    }
                    for mut o in orders {
                        let id = o["id"].as_str().unwrap_or_default().to_string();
                        let now = (
                            o["status"].as_str().unwrap_or_default().to_string(),
                            o["size_matched"].as_str().unwrap_or_default().to_string(),
                        );
                        let kind = if sent.orders.contains_key(&id) { "UPDATE" } else { "PLACEMENT" };
                        if sent.orders.get(&id) != Some(&now) {
                            sent.orders.insert(id, now);
                            o["event_type"] = json!("order");
                            o["type"] = json!(kind);
                            out.push(("order", o.to_string()));
                        }
                    }
                    for (kind, _) in &out {
                        *g.ws_user.counts.entry((*kind).to_string()).or_default() += 1;
                    }
                }
                for (_, text) in out {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
            }
            msg = source.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let t = t.as_str();
                    if t == "PING" {
                        if sink.send(Message::Text("PONG".into())).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    if key.is_some() {
                        // Later `operation` messages only narrow markets; the double serves all.
                        continue;
                    }
                    let v: Value = serde_json::from_str(t).unwrap_or(Value::Null);
                    let ok = {
                    let mut g = lock(&d);
                    match authorised(&g, &v) {
                        Some(k) => {
                            // Only what changes from now on is pushed: no replay.
                            let (trades, orders) = snapshot(&mut g, &k, &sent);
                            for t in trades {
                                sent.trades.insert(
                                    t["id"].as_str().unwrap_or_default().to_string(),
                                    t["status"].as_str().unwrap_or_default().to_string(),
                                );
                            }
                            for o in orders {
                                sent.orders.insert(
                                    o["id"].as_str().unwrap_or_default().to_string(),
                                    (
                                        o["status"].as_str().unwrap_or_default().to_string(),
                                        o["size_matched"].as_str().unwrap_or_default().to_string(),
                                    ),
                                );
                            }
                            *g.ws_user.counts.entry("subscribed".into()).or_default() += 1;
                            key = Some(k);
                            true
                        }
                        None => {
                            *g.ws_user.counts.entry("refused".into()).or_default() += 1;
                            false
                        }
                    }
                    };
                    if !ok {
                        let _ = sink.send(Message::Close(None)).await;
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = sink.send(Message::Close(None)).await;
}
