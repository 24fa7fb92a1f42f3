//! The market channel as a plugin-api stream (polymarket.md §1.4): where to connect, the
//! subscribe messages, the `PING` keep-alive, and frames into [`StreamEvent`]s through the
//! existing parser ([`crate::ws_market::parse_frame`], which keeps its fast `price_change`
//! path). Polymarket does not number its messages, so frames carry no sequence.

use plugin_api::stream::{
    BookSide, KeepAlive, LevelChange, StreamChannel, StreamCommand, StreamEvent, StreamFrame,
    StreamRequest, StreamSpec,
};
use plugin_api::{ErrorKind, PluginError, PluginResult, Side};

use crate::auth_l2::ApiCreds;
use crate::settings::Settings;
use crate::ws_market::{parse_frame, MarketEvent};

/// The venue wants a text `PING` every 10 s (polymarket.md §1.4).
pub const KEEPALIVE_MS: u64 = 10_000;
/// The official SDK treats 30 s without a `PONG` as a dead connection.
pub const STALE_AFTER_MS: u64 = 30_000;

fn market_only(channel: StreamChannel) -> PluginResult<()> {
    match channel {
        StreamChannel::Market => Ok(()),
        _ => Err(PluginError::unsupported("polymarket stream channel")),
    }
}

/// Where and how to connect. The user channel needs the account (`has_account`: a private
/// key or API credentials configured); without it the channel is unsupported.
pub fn spec(s: &Settings, channel: StreamChannel, has_account: bool) -> PluginResult<StreamSpec> {
    let path = match channel {
        StreamChannel::Market => "market",
        StreamChannel::User if has_account => "user",
        _ => {
            return Err(PluginError::unsupported(
                "polymarket user stream without an account",
            ))
        }
    };
    Ok(StreamSpec {
        url: format!("{}/{path}", s.ws_url),
        headers: Vec::new(),
        keepalive: Some(KeepAlive {
            text: "PING".into(),
            every_ms: KEEPALIVE_MS,
        }),
        // No token-count limit since 2025-05-28 (polymarket.md §1.4).
        max_instruments: None,
        stale_after_ms: STALE_AFTER_MS,
    })
}

/// The subscribe / unsubscribe messages. The first message on a connection names the channel
/// (`type: market`); later ones are `operation`s.
pub fn messages(r: &StreamRequest, creds: Option<&ApiCreds>) -> PluginResult<Vec<String>> {
    if r.channel == StreamChannel::User {
        return crate::ws_user::messages(r, creds);
    }
    market_only(r.channel)?;
    let msg = match (&r.command, r.initial) {
        (StreamCommand::Subscribe { instruments }, true) => serde_json::json!({
            "type": "market",
            "assets_ids": instruments,
            // For `market_resolved` (it also brings `best_bid_ask` and `new_market`,
            // reported as ignored).
            "custom_feature_enabled": true,
        }),
        (StreamCommand::Subscribe { instruments }, false) => serde_json::json!({
            "operation": "subscribe",
            "assets_ids": instruments,
        }),
        (StreamCommand::Unsubscribe { instruments, .. }, _) => serde_json::json!({
            "operation": "unsubscribe",
            "assets_ids": instruments,
        }),
        (other, _) => {
            return Err(PluginError::unsupported(&format!(
                "polymarket stream command {other:?}"
            )))
        }
    };
    Ok(vec![msg.to_string()])
}

/// One frame as events. A bad frame is a [`ErrorKind::Parse`] error naming event and field.
/// `account`: the API key and the funder address, which tell our side of a user-channel trade.
pub fn parse(
    channel: StreamChannel,
    frame: &str,
    account: Option<(&str, &str)>,
) -> PluginResult<StreamFrame> {
    if channel == StreamChannel::User {
        return crate::ws_user::parse(frame, account);
    }
    market_only(channel)?;
    let events = parse_frame(frame)
        .map_err(|e| PluginError::new(ErrorKind::Parse, format!("polymarket market frame: {e}")))?;
    let mut out: Vec<StreamEvent> = Vec::with_capacity(events.len());
    let mut resolved = false;
    for e in events {
        match e {
            MarketEvent::Other("market_resolved") => resolved = true,
            e => out.push(event(e)),
        }
    }
    if resolved {
        out.extend(crate::ws_resolved::events(frame)?);
    }
    Ok(StreamFrame {
        seq: None,
        events: out,
    })
}

fn event(e: MarketEvent<'_>) -> StreamEvent {
    match e {
        MarketEvent::Book(book) => StreamEvent::Book { book },
        MarketEvent::Delta(d) => StreamEvent::Level {
            instrument: d.asset_id.to_string(),
            side: match d.side {
                Side::Buy => BookSide::Bid,
                Side::Sell => BookSide::Ask,
            },
            price: d.price,
            // `size` is the new total at the price (ws_market module doc).
            change: LevelChange::Set { qty: d.qty },
            ts_ms: d.ts_ms,
        },
        MarketEvent::Trade(t) => StreamEvent::Trade {
            instrument: t.asset_id.to_string(),
            price: t.price,
            qty: t.qty,
            taker_side: Some(t.side),
            ts_ms: t.ts_ms,
        },
        MarketEvent::TickSize(t) => StreamEvent::TickSize {
            instrument: t.asset_id.to_string(),
            tick: t.new,
        },
        MarketEvent::Other(what) => StreamEvent::Ignored {
            what: what.to_string(),
        },
        MarketEvent::Pong => StreamEvent::Pong,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::{Level, Price, Qty};

    fn parse(c: StreamChannel, f: &str) -> PluginResult<StreamFrame> {
        super::parse(c, f, None)
    }

    #[test]
    fn subscribe_messages_follow_the_documented_shapes() {
        let mut r = StreamRequest {
            channel: StreamChannel::Market,
            command: StreamCommand::Subscribe {
                instruments: vec!["11".into(), "22".into()],
            },
            initial: true,
            request_id: 1,
        };
        let first: serde_json::Value =
            serde_json::from_str(&messages(&r, None).unwrap()[0]).unwrap();
        assert_eq!(
            first,
            serde_json::json!({"type":"market","assets_ids":["11","22"],"custom_feature_enabled":true})
        );
        r.initial = false;
        let later: serde_json::Value =
            serde_json::from_str(&messages(&r, None).unwrap()[0]).unwrap();
        assert_eq!(
            later,
            serde_json::json!({"operation":"subscribe","assets_ids":["11","22"]})
        );
        r.command = StreamCommand::Unsubscribe {
            instruments: vec!["11".into()],
            subscriptions: vec![],
        };
        let un: serde_json::Value = serde_json::from_str(&messages(&r, None).unwrap()[0]).unwrap();
        assert_eq!(
            un,
            serde_json::json!({"operation":"unsubscribe","assets_ids":["11"]})
        );
        // The user channel cannot subscribe without credentials.
        r.channel = StreamChannel::User;
        r.initial = true;
        r.command = StreamCommand::Subscribe {
            instruments: vec![],
        };
        assert!(messages(&r, None).is_err());
    }

    #[test]
    fn frames_become_stream_events() {
        let f = parse(
            StreamChannel::Market,
            r#"{"event_type":"book","asset_id":"11","market":"0xc","bids":[{"price":"0.40","size":"10"}],"asks":[{"price":"0.45","size":"5"}],"timestamp":"1700000000000","hash":"h"}"#,
        )
        .unwrap();
        assert_eq!(f.seq, None);
        match &f.events[..] {
            [StreamEvent::Book { book }] => {
                assert_eq!(book.instrument, "11");
                assert_eq!(
                    book.asks,
                    vec![Level {
                        price: Price(450_000),
                        qty: Qty::shares(5)
                    }]
                );
            }
            other => panic!("{other:?}"),
        }
        let f = parse(
            StreamChannel::Market,
            r#"{"event_type":"price_change","market":"0xc","timestamp":"1700000000001","price_changes":[{"asset_id":"11","price":"0.44","size":"7","side":"SELL","hash":"h2","best_bid":"0.40","best_ask":"0.44"}]}"#,
        )
        .unwrap();
        assert_eq!(
            f.events,
            vec![StreamEvent::Level {
                instrument: "11".into(),
                side: BookSide::Ask,
                price: Price(440_000),
                change: LevelChange::Set {
                    qty: Qty::shares(7)
                },
                ts_ms: 1_700_000_000_001,
            }]
        );
        assert_eq!(
            parse(StreamChannel::Market, "PONG").unwrap().events,
            vec![StreamEvent::Pong]
        );
        assert_eq!(
            parse(
                StreamChannel::Market,
                r#"{"event_type":"market_resolved","market":"0xc","asset_ids":["11"],"winning_asset_id":"11"}"#
            )
            .unwrap()
            .events,
            vec![StreamEvent::Resolved {
                instrument: "11".into(),
                payout: Price::ONE
            }]
        );
    }

    #[test]
    fn a_bad_frame_is_an_error_naming_the_field() {
        let e = parse(
            StreamChannel::Market,
            r#"{"event_type":"price_change","market":"0xc","timestamp":"1","price_changes":[{"asset_id":"11","price":"abc","size":"7","side":"SELL"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Parse);
        assert!(e.message.contains("price"), "{e}");
        assert!(parse(StreamChannel::Market, "{not json").is_err());
    }
}
