//! The user channel (polymarket.md §1.4; docs.polymarket.com market-data/websocket/user-channel):
//! the account's `order` and `trade` events as plugin-api stream events.
//!
//! * Subscribe: `{"auth":{"apiKey","secret","passphrase"},"type":"user"}`, no `markets` (the
//!   whole account), as the first message on the connection; keep-alive `PING`/`PONG` as on
//!   the market channel.
//! * `trade` has the shape of a `GET /data/trades` item (`id`, `taker_order_id`, `status`
//!   MATCHED/MINED/CONFIRMED/RETRYING/FAILED, `maker_orders[]`, `fee_rate_bps`, ...), so it is
//!   read by the same code ([`crate::clob::Trade::fills`]): the same fill ids, prices (the
//!   maker's) and fees per fill as the REST sweep, which lets the host match the two.
//! * `order` (`id`, `status`, `original_size`, `size_matched`, `price`) carries no fill
//!   prices or fees: its notional would be the limit price times the matched size, an
//!   estimate (the venue fills at the makers' prices and charges the fee per fill). A
//!   [`StreamEvent::Order`] promises what the venue booked, so `order` is reported as
//!   [`StreamEvent::Ignored`]; the `trade` events carry the fills, and an order whose outcome
//!   the engine does not know is found by its lookup.

use plugin_api::stream::{StreamCommand, StreamEvent, StreamFrame, StreamRequest};
use plugin_api::{ErrorKind, PluginError, PluginResult};
use serde_json::Value;

use crate::auth_l2::ApiCreds;
use crate::clob::Trade;

fn parse_err(msg: String) -> PluginError {
    PluginError::new(ErrorKind::Parse, format!("polymarket user frame: {msg}"))
}

/// The subscription message: credentials on the first message, nothing to add later (the
/// channel already carries every market of the account).
pub fn messages(r: &StreamRequest, creds: Option<&ApiCreds>) -> PluginResult<Vec<String>> {
    match (&r.command, r.initial) {
        (StreamCommand::Subscribe { .. }, true) => {
            let creds = creds.ok_or_else(|| {
                PluginError::new(
                    ErrorKind::Auth,
                    "polymarket user stream: no API credentials yet (derived on the first authenticated request)",
                )
            })?;
            Ok(vec![
                serde_json::json!({"auth": creds.ws_auth(), "type": "user"}).to_string(),
            ])
        }
        _ => Ok(Vec::new()),
    }
}

/// One frame (an object, an array of objects, or `PONG`) as events. `account`: our API key and
/// funder address, which tell which side of a trade is ours.
pub fn parse(frame: &str, account: Option<(&str, &str)>) -> PluginResult<StreamFrame> {
    let t = frame.trim();
    if t == "PONG" {
        return Ok(StreamFrame {
            seq: None,
            events: vec![StreamEvent::Pong],
        });
    }
    let v: Value = serde_json::from_str(t).map_err(|e| parse_err(format!("not JSON: {e}")))?;
    let items = match v {
        Value::Array(a) => a,
        o => vec![o],
    };
    let (key, maker) = account.unwrap_or(("", ""));
    let mut events = Vec::new();
    for item in items {
        let kind = item
            .get("event_type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match kind.as_str() {
            "trade" => {
                let tr: Trade =
                    serde_json::from_value(item).map_err(|e| parse_err(format!("trade: {e}")))?;
                for fill in tr.fills(key, maker).map_err(parse_err)? {
                    events.push(StreamEvent::Fill { fill });
                }
            }
            other => events.push(StreamEvent::Ignored {
                what: if other.is_empty() {
                    "untyped".into()
                } else {
                    other.to_string()
                },
            }),
        }
    }
    Ok(StreamFrame { seq: None, events })
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::stream::StreamChannel;
    use plugin_api::{FillStatus, Price, Qty, Side, Usd};

    const KEY: &str = "9180014b-33c8-9240-a14b-bdca11c0a465";

    #[test]
    fn the_subscription_carries_the_credentials_as_issued() {
        let creds = ApiCreds::new(KEY, "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", "pass").unwrap();
        let r = StreamRequest {
            channel: StreamChannel::User,
            command: StreamCommand::Subscribe {
                instruments: vec![],
            },
            initial: true,
            request_id: 1,
        };
        let m: Value = serde_json::from_str(&messages(&r, Some(&creds)).unwrap()[0]).unwrap();
        assert_eq!(
            m,
            serde_json::json!({"auth":{"apiKey":KEY,"secret":"c2VjcmV0LXNlY3JldC1zZWNyZXQ=","passphrase":"pass"},"type":"user"})
        );
        let e = messages(&r, None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(!e.message.contains("pass"));
    }

    /// The documented `trade` example (docs.polymarket.com user channel), as the taker with a
    /// fee, then FAILED.
    #[test]
    fn a_taker_trade_is_one_fill_per_maker_order_at_the_makers_price() {
        let frame = |status: &str| {
            format!(
                r#"{{"asset_id":"52114","event_type":"trade","id":"28c4d2eb","last_update":"1672290701",
                "maker_orders":[{{"asset_id":"52114","matched_amount":"10","order_id":"0xff35","outcome":"YES","owner":"other","price":"0.57"}}],
                "market":"0xbd31","match_time":"1672290701","outcome":"YES","owner":"{KEY}","price":"0.60","side":"BUY","size":"10",
                "status":"{status}","taker_order_id":"0x06bc","timestamp":"1672290701","trade_owner":"{KEY}","type":"TRADE","fee_rate_bps":"100"}}"#
            )
        };
        let f = parse(&frame("MATCHED"), Some((KEY, "0xabc"))).unwrap();
        let [StreamEvent::Fill { fill }] = &f.events[..] else {
            panic!("{f:?}")
        };
        assert_eq!(fill.order_id, "0x06bc");
        assert_eq!(fill.side, Side::Buy);
        assert_eq!(fill.price, Price(570_000));
        assert_eq!(fill.qty, Qty::shares(10));
        assert!(fill.fee > Usd::ZERO, "the taker pays the fee per fill");
        assert_eq!(fill.status, FillStatus::Matched);
        let f = parse(&format!("[{}]", frame("FAILED")), Some((KEY, "0xabc"))).unwrap();
        let [StreamEvent::Fill { fill: failed }] = &f.events[..] else {
            panic!("{f:?}")
        };
        assert_eq!(failed.status, FillStatus::Failed);
        assert_eq!(failed.fill_id, fill.fill_id, "the same fill, a new status");
    }

    #[test]
    fn orders_pongs_and_others() {
        // An `order` carries estimates only: reported as ignored, never as booked.
        let f = parse(
            r#"{"event_type":"order","id":"0xff35","owner":"k","market":"0xbd","asset_id":"52114","side":"SELL","original_size":"10","size_matched":"4","price":"0.57","outcome":"YES","type":"UPDATE","status":"LIVE","timestamp":"1672290687"}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            f.events,
            vec![StreamEvent::Ignored {
                what: "order".into()
            }]
        );
        assert_eq!(parse("PONG", None).unwrap().events, vec![StreamEvent::Pong]);
        let e = parse(
            r#"{"event_type":"trade","id":"x","taker_order_id":"0x1","owner":"k","trader_side":"TAKER","size":"abc","price":"0.5","maker_orders":[]}"#,
            Some(("k", "0xabc")),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Parse);
        assert!(e.message.contains("size"), "{e}");
    }
}
