//! The double's market channel, `GET /ws/market` (polymarket.md §1.4): the first message
//! `{"type":"market","assets_ids":[..]}` (later `{"operation":"subscribe"|"unsubscribe",..}`)
//! answers one `book` event per asset (levels best last, as `GET /book`); every later change of
//! a subscribed book goes out as a `price_change` whose `size` is the level's new total (0
//! removes it); text `PING` is answered `PONG`. Faults: [`WsFault::Disconnect`] and
//! [`WsFault::Stall`] (nothing sent, nothing read, no `PONG`).
//!
//! Books are diffed from the double's own book (`book_json`, the same source as `GET /book`)
//! against what each connection was last sent.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

use super::{lock, Inner};

/// The market channel's path below the double's root.
pub const WS_PATH: &str = "/ws/market";

/// A fault of the websocket feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WsFault {
    /// Every open connection is closed now.
    Disconnect,
    /// Every open connection goes silent (no frames, no `PONG`) for this long.
    Stall(Duration),
}

/// One side's levels as sent: price string → size string.
type Side = BTreeMap<String, String>;

enum Out {
    Text(String),
    Close,
    Stall(Duration),
}

struct Conn {
    tx: mpsc::UnboundedSender<Out>,
    /// Per subscribed asset: bids and asks as last sent.
    sent: BTreeMap<String, (Side, Side)>,
}

/// The websocket side of the double (lives in the double's state, under its lock).
#[derive(Default)]
pub struct Hub {
    next: u64,
    conns: BTreeMap<u64, Conn>,
    /// Frames sent by `event_type` (and `connects`).
    pub counts: BTreeMap<String, usize>,
    /// Every subscription received, in order: connection number (from 1), whether it was the
    /// connection's first message (`type: market`) rather than an `operation`, and its assets.
    pub subscribes: Vec<(u64, bool, Vec<String>)>,
    /// Every `unsubscribe` operation received, in order: connection number and its assets.
    pub unsubscribes: Vec<(u64, Vec<String>)>,
}

fn sides(book: &Value) -> (Side, Side) {
    let side = |k: &str| -> Side {
        book[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| {
                        Some((
                            l["price"].as_str()?.to_string(),
                            l["size"].as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    (side("bids"), side("asks"))
}

fn now_ms() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        .to_string()
}

impl Hub {
    fn send(&mut self, conn: u64, kind: &str, text: String) {
        *self.counts.entry(kind.to_string()).or_default() += 1;
        if let Some(c) = self.conns.get(&conn) {
            let _ = c.tx.send(Out::Text(text));
        }
    }

    /// Sends a `market_resolved` event (polymarket.md §1.4; `custom_feature_enabled`
    /// subscriptions) to every connection subscribed to one of `assets`.
    pub fn market_resolved(&mut self, market: &str, assets: &[&str], winner: &str) {
        let text = serde_json::json!({"event_type": "market_resolved", "market": market,
            "asset_ids": assets, "winning_asset_id": winner, "winning_outcome": "",
            "timestamp": now_ms()})
        .to_string();
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| assets.iter().any(|a| c.sent.contains_key(*a)))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.send(id, "market_resolved", text.clone());
        }
    }

    /// Applies a fault to every open connection.
    pub fn inject(&mut self, f: WsFault) {
        for c in self.conns.values() {
            let _ = c.tx.send(match f {
                WsFault::Disconnect => Out::Close,
                WsFault::Stall(d) => Out::Stall(d),
            });
        }
    }
}

/// Sends every connection the changes of its assets' books since it last heard.
pub(super) fn publish(g: &mut Inner) {
    let mut frames = Vec::new();
    let ids: Vec<u64> = g.ws.conns.keys().copied().collect();
    for id in ids {
        let assets: Vec<String> = g.ws.conns[&id].sent.keys().cloned().collect();
        for asset in assets {
            let Some(book) = g.book_json(&asset) else {
                continue;
            };
            let (bids, asks) = sides(&book);
            let conn = g.ws.conns.get_mut(&id).expect("connection listed");
            let sent = conn.sent.get_mut(&asset).expect("asset listed");
            let mut changes = Vec::new();
            for (side, old, new) in [("BUY", &mut sent.0, &bids), ("SELL", &mut sent.1, &asks)] {
                let prices: std::collections::BTreeSet<String> =
                    old.keys().chain(new.keys()).cloned().collect();
                for p in prices {
                    let now = new.get(&p).cloned().unwrap_or_else(|| "0".into());
                    if old.get(&p) != new.get(&p) {
                        changes.push(json!({"asset_id": asset, "price": p, "size": now, "side": side, "hash": ""}));
                    }
                }
                *old = new.clone();
            }
            if !changes.is_empty() {
                frames.push((
                    id,
                    json!({"event_type": "price_change", "market": book["market"], "timestamp": now_ms(),
                           "price_changes": changes})
                    .to_string(),
                ));
            }
        }
    }
    for (id, text) in frames {
        g.ws.send(id, "price_change", text);
    }
}

/// The upgrade (the market channel needs no credentials).
pub(super) async fn upgrade(State(d): State<Arc<Mutex<Inner>>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| serve(d, socket))
}

async fn serve(d: Arc<Mutex<Inner>>, socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = {
        let mut g = lock(&d);
        g.ws.next += 1;
        let id = g.ws.next;
        *g.ws.counts.entry("connects".into()).or_default() += 1;
        g.ws.conns.insert(
            id,
            Conn {
                tx,
                sent: BTreeMap::new(),
            },
        );
        id
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
                Some(Out::Stall(t)) => tokio::time::sleep(t).await,
                Some(Out::Close) | None => {
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
            },
            msg = source.next() => match msg {
                Some(Ok(Message::Text(t))) => command(&d, id, t.as_str()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    lock(&d).ws.conns.remove(&id);
}

fn command(d: &Mutex<Inner>, id: u64, text: &str) {
    let mut g = lock(d);
    if text == "PING" {
        g.ws.send(id, "PONG", "PONG".into());
        return;
    }
    // Malformed subscriptions are ignored, as the venue does (no error frame).
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let assets: Vec<String> = v["assets_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let subscribe = v["type"] == "market" || v["operation"] == "subscribe";
    if v["operation"] == "unsubscribe" {
        if let Some(c) = g.ws.conns.get_mut(&id) {
            for a in &assets {
                c.sent.remove(a);
            }
        }
        g.ws.unsubscribes.push((id, assets));
        return;
    }
    if !subscribe {
        return;
    }
    g.ws.subscribes
        .push((id, v["type"] == "market", assets.clone()));
    for a in assets {
        let Some(mut book) = g.book_json(&a) else {
            continue;
        };
        let s = sides(&book);
        book["event_type"] = json!("book");
        book["timestamp"] = json!(now_ms());
        if let Some(c) = g.ws.conns.get_mut(&id) {
            c.sent.insert(a, s);
        }
        g.ws.send(id, "book", book.to_string());
    }
}
