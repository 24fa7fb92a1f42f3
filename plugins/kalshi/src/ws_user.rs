//! The account's channels as a plugin-api user stream (kalshi.md §9; docs.kalshi.com
//! websockets): `fill` and `user_orders` on the signed websocket, subscribed with no market
//! filter (the whole account). A `fill` message carries the fields of a REST fill (`trade_id`,
//! `order_id`, `market_ticker`, `side`/`action`, `yes_price_dollars`, `count_fp`, `fee_cost`,
//! `ts`) and is read by the REST reader ([`crate::orders::parse_fill`]), so the stream and the
//! settle sweep name the same fill by the same id; a `user_order` message carries an order
//! object, read by [`crate::orders::parse_order`]. Kalshi is centrally cleared: a fill is
//! final when reported.

use plugin_api::stream::{StreamCommand, StreamEvent, StreamFrame, StreamRequest};
use plugin_api::{PluginError, PluginResult};
use serde_json::Value;

use crate::errors::KalshiError;
use crate::orders::{parse_fill, parse_order};

/// The channels of the user stream.
pub const CHANNELS: [&str; 2] = ["fill", "user_orders"];

/// The subscribe command (the first message); nothing to add later.
pub fn messages(r: &StreamRequest) -> PluginResult<Vec<String>> {
    match (&r.command, r.initial) {
        (StreamCommand::Subscribe { .. }, true) => Ok(vec![serde_json::json!({
            "id": r.request_id,
            "cmd": "subscribe",
            "params": {"channels": CHANNELS},
        })
        .to_string()]),
        _ => Ok(Vec::new()),
    }
}

fn err(detail: impl Into<String>) -> PluginError {
    KalshiError::parse("kalshi user frame", detail).into()
}

/// One frame as events.
pub fn parse(frame: &str) -> PluginResult<StreamFrame> {
    let v: Value =
        serde_json::from_str(frame).map_err(|e| err(format!("not a JSON object: {e}")))?;
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| err("missing `type`"))?;
    let msg = || {
        v.get("msg")
            .ok_or_else(|| err(format!("{kind}: missing `msg`")))
    };
    let event = match kind {
        "fill" => StreamEvent::Fill {
            fill: parse_fill(msg()?, None).map_err(PluginError::from)?,
        },
        "user_order" | "user_orders" => StreamEvent::Order {
            order: parse_order(msg()?, None).map_err(PluginError::from)?,
        },
        "subscribed" => StreamEvent::Subscribed {
            subscription: v["msg"]["sid"]
                .as_u64()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            request_id: v.get("id").and_then(Value::as_u64),
        },
        "error" => StreamEvent::Error {
            message: format!(
                "code {}: {}",
                v["msg"]["code"],
                v["msg"]["msg"].as_str().unwrap_or_default()
            ),
            // A refused user subscription (e.g. not authenticated) is retried on a new
            // connection with a fresh signature.
            resubscribe: true,
        },
        other => StreamEvent::Ignored {
            what: other.to_string(),
        },
    };
    Ok(StreamFrame {
        seq: None,
        events: vec![event],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::stream::StreamChannel;
    use plugin_api::{FillStatus, OrderState, Price, Qty, Side, Usd};

    #[test]
    fn subscribes_to_both_account_channels_once() {
        let mut r = StreamRequest {
            channel: StreamChannel::User,
            command: StreamCommand::Subscribe {
                instruments: vec![],
            },
            initial: true,
            request_id: 3,
        };
        let m: Value = serde_json::from_str(&messages(&r).unwrap()[0]).unwrap();
        assert_eq!(
            m,
            serde_json::json!({"id":3,"cmd":"subscribe","params":{"channels":["fill","user_orders"]}})
        );
        r.initial = false;
        assert!(messages(&r).unwrap().is_empty());
    }

    #[test]
    fn fills_and_orders_become_events() {
        let f = parse(r#"{"type":"fill","sid":13,"msg":{"trade_id":"t1","order_id":"o1","market_ticker":"KX-A","is_taker":true,"side":"no","action":"buy","yes_price_dollars":"0.5500","count_fp":"10.00","fee_cost":"0.0700","ts":1700000000}}"#).unwrap();
        let [StreamEvent::Fill { fill }] = &f.events[..] else {
            panic!("{f:?}")
        };
        assert_eq!(fill.fill_id, "t1");
        assert_eq!(fill.instrument, "KX-A:no");
        assert_eq!((fill.side, fill.price), (Side::Buy, Price(450_000)));
        assert_eq!(fill.qty, Qty::shares(10));
        assert_eq!(fill.fee, Usd(70_000));
        assert_eq!(fill.status, FillStatus::Confirmed);
        let f = parse(r#"{"type":"user_order","sid":14,"msg":{"order_id":"o1","client_order_id":"c1","ticker":"KX-A","book_side":"ask","status":"executed","yes_price_dollars":"0.5500","fill_count_fp":"10.00","remaining_count_fp":"0.00","initial_count_fp":"10.00","taker_fill_cost_dollars":"4.5000","taker_fees_dollars":"0.0700"}}"#).unwrap();
        let [StreamEvent::Order { order }] = &f.events[..] else {
            panic!("{f:?}")
        };
        assert_eq!(order.client_order_id.as_deref(), Some("c1"));
        assert_eq!(order.state, OrderState::Filled);
        assert_eq!(order.filled_qty, Qty::shares(10));
        let e = parse(r#"{"type":"fill","sid":13,"msg":{"order_id":"o1"}}"#).unwrap_err();
        assert!(e.message.contains("fill_id"), "{e}");
        assert!(parse("nope").is_err());
    }
}
