//! The double's user channels on the same signed websocket (kalshi.md §9; docs.kalshi.com
//! websockets): `subscribe` with `channels` among `fill` and `user_orders` (no market filter:
//! the whole account) answers one `subscribed` per channel with its own `sid`; from then on
//! every new fill of the account goes out as `{"type":"fill","sid","msg":{trade_id, order_id,
//! client_order_id, market_ticker, is_taker, side, action, yes_price_dollars, count_fp,
//! fee_cost, ts}}` and every change of an order (status or filled count) as
//! `{"type":"user_order","sid","msg":<the REST order object>}`. Nothing is replayed: a
//! subscription hears what happens after it was made. (Field names follow the REST objects
//! and the documented WS fill; the `user_order` payload's exact field set is not confirmed.)

use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::{send, HubInner, Shared};

/// One user-channel subscription.
pub(super) struct UserSub {
    sid: u64,
    pub(super) conn: u64,
    channel: &'static str,
    /// Fills already sent (by index in the double's fill list).
    fills_sent: usize,
    /// Orders as last sent: order id → (status, filled).
    orders_sent: BTreeMap<String, (String, String)>,
}

/// Whether `channels` names only user channels (and at least one).
pub(super) fn is_user(channels: &[Value]) -> bool {
    !channels.is_empty()
        && channels
            .iter()
            .all(|c| matches!(c.as_str(), Some("fill") | Some("user_orders")))
}

/// The account's fills and orders now.
fn account(sh: &Shared) -> (Vec<Value>, Vec<(String, Value)>) {
    let g = sh.lock();
    let fills = g
        .ex
        .fills
        .iter()
        .map(|f| {
            json!({"trade_id": f.fill_id, "order_id": f.order_id,
                   "client_order_id": g.ex.orders.iter().find(|o| o.order_id == f.order_id).map(|o| o.client_order_id.clone()),
                   "market_ticker": f.ticker, "is_taker": true,
                   // A bid buys YES; an ask is a NO buy.
                   "side": if f.bid { "yes" } else { "no" }, "action": "buy",
                   "yes_price_dollars": f.yes_price.to_decimal(4), "count_fp": f.count.to_decimal(2),
                   "fee_cost": f.fee.to_decimal(4), "ts": f.ts_ms / 1000})
        })
        .collect();
    let orders =
        g.ex.orders
            .iter()
            .map(|o| (o.order_id.clone(), o.json()))
            .collect();
    (fills, orders)
}

fn order_key(o: &Value) -> (String, String) {
    (
        o["status"].as_str().unwrap_or_default().to_string(),
        o["fill_count_fp"].as_str().unwrap_or_default().to_string(),
    )
}

/// Subscribes `conn` to the user channels in `channels`.
pub(super) fn subscribe(sh: &Shared, conn: u64, id: &Value, channels: &[Value]) {
    let (fills, orders) = account(sh);
    let mut g = sh.ws.lock();
    for c in channels {
        let channel = if c.as_str() == Some("fill") {
            "fill"
        } else {
            "user_orders"
        };
        g.next_sid += 1;
        let sid = g.next_sid;
        let ack = json!({"id": id, "type": "subscribed", "msg": {"channel": channel, "sid": sid}});
        send(&mut g, conn, "subscribed", ack.to_string());
        g.user_subs.push(UserSub {
            sid,
            conn,
            channel,
            fills_sent: fills.len(),
            orders_sent: orders
                .iter()
                .map(|(id, o)| (id.clone(), order_key(o)))
                .collect(),
        });
    }
}

/// Sends every user subscription what changed in the account since it last heard.
pub(super) fn publish(sh: &Shared) {
    let (fills, orders) = account(sh);
    let mut hub = sh.ws.lock();
    let g: &mut HubInner = &mut hub;
    let mut frames = Vec::new();
    for s in g.user_subs.iter_mut() {
        match s.channel {
            "fill" => {
                for f in fills.iter().skip(s.fills_sent) {
                    frames.push((
                        s.conn,
                        "fill",
                        json!({"type": "fill", "sid": s.sid, "msg": f}),
                    ));
                }
                s.fills_sent = fills.len();
            }
            _ => {
                for (id, o) in &orders {
                    let now = order_key(o);
                    if s.orders_sent.get(id) != Some(&now) {
                        s.orders_sent.insert(id.clone(), now);
                        frames.push((
                            s.conn,
                            "user_order",
                            json!({"type": "user_order", "sid": s.sid, "msg": o}),
                        ));
                    }
                }
            }
        }
    }
    for (conn, kind, v) in frames {
        send(g, conn, kind, v.to_string());
    }
}
