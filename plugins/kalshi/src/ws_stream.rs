//! The `orderbook_delta` channel as a plugin-api stream (kalshi.md §9).
//!
//! The handshake carries the same three signature headers as a REST request, signed over
//! `timestamp + "GET" + <ws path>` (kalshi.md §2), fresh on every connect. Kalshi pings every
//! 10 s with protocol Ping frames, which the host's websocket layer answers, so there is no text
//! keep-alive. Each subscription (`sid`) numbers its messages with a contiguous `seq`, reported
//! in [`StreamFrame::seq`] so the host can spot gaps.
//!
//! Kalshi's book is bids for both outcomes. A YES bid at p is a NO ask at 1 − p (see
//! [`crate::book`]), so a snapshot gives the books of both `T:yes` and `T:no`, and one delta
//! changes one level in each.

use plugin_api::stream::{
    BookSide, LevelChange, StreamChannel, StreamCommand, StreamEvent, StreamFrame, StreamRequest,
    StreamSeq, StreamSpec,
};
use plugin_api::{CallCtx, PluginError, PluginResult, Price, Qty};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::auth::Signer;
use crate::book::{assemble, checked_ladder, Instrument, Outcome};
use crate::errors::KalshiError;
use crate::settings::Settings;

/// Kalshi pings every 10 s; three missed pings make the connection stale.
pub const STALE_AFTER_MS: u64 = 30_000;

const CHANNEL: &str = "orderbook_delta";

fn market_only(channel: StreamChannel) -> PluginResult<()> {
    match channel {
        StreamChannel::Market => Ok(()),
        _ => Err(PluginError::unsupported("kalshi user stream")),
    }
}

/// Where and how to connect; signed when the instance has a key.
pub fn spec(
    s: &Settings,
    signer: Option<&Signer>,
    channel: StreamChannel,
    ctx: &CallCtx,
) -> PluginResult<StreamSpec> {
    match (channel, signer) {
        (StreamChannel::Market, _) | (StreamChannel::User, Some(_)) => {}
        _ => {
            return Err(PluginError::unsupported(
                "kalshi user stream without an API key",
            ))
        }
    }
    let headers = match signer {
        Some(signer) => signer
            .headers(ctx.now_ms, "GET", &s.ws_path)?
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        None => Vec::new(),
    };
    Ok(StreamSpec {
        url: s.ws_url.clone(),
        headers,
        keepalive: None,
        max_instruments: None,
        stale_after_ms: STALE_AFTER_MS,
    })
}

/// The tickers of `instruments`, each once, in first-seen order.
fn tickers(instruments: &[String]) -> PluginResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(instruments.len());
    for i in instruments {
        let t = Instrument::parse(i)?.ticker;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// The tickers the market connection's lifecycle subscription covers. A subscribe that is not
/// the connection's first either asks for a fresh snapshot of books already streamed (a
/// sequence gap) or adds instruments (a pair approved while running); only tickers new to the
/// connection get a lifecycle subscription, so a resync never subscribes a ticker twice and an
/// added one is not left without its market's pauses and settlement. Kalshi streams one market
/// connection per venue instance (no instrument cap), so one set per instance is per connection.
#[derive(Debug, Default)]
pub struct LifecycleTickers(std::sync::Mutex<std::collections::HashSet<String>>);

impl LifecycleTickers {
    /// Of `tickers`, those not covered yet, now counted as covered; `fresh`: a new connection
    /// (nothing is covered on it).
    fn take_new(&self, tickers: &[String], fresh: bool) -> Vec<String> {
        let mut covered = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if fresh {
            covered.clear();
        }
        tickers
            .iter()
            .filter(|t| covered.insert((*t).clone()))
            .cloned()
            .collect()
    }
}

/// A subscription id as Kalshi numbers it.
fn sid(s: &str) -> PluginResult<u64> {
    s.parse::<u64>()
        .map_err(|_| PluginError::invalid(format!("kalshi subscription id {s:?} is not a sid")))
}

/// The subscribe / unsubscribe commands.
pub fn messages(r: &StreamRequest, lifecycle: &LifecycleTickers) -> PluginResult<Vec<String>> {
    if r.channel == StreamChannel::User {
        return crate::ws_user::messages(r);
    }
    market_only(r.channel)?;
    let msg = match &r.command {
        StreamCommand::Subscribe { instruments } => {
            let tickers = tickers(instruments)?;
            let book = serde_json::json!({
                "id": r.request_id,
                "cmd": "subscribe",
                "params": {"channels": [CHANNEL], "market_tickers": tickers},
            });
            // The markets' lifecycle too (trading paused, settled), once per ticker.
            let new = lifecycle.take_new(&tickers, r.initial);
            if !new.is_empty() {
                return Ok(vec![
                    book.to_string(),
                    crate::ws_lifecycle::subscribe(r, &new),
                ]);
            }
            book
        }
        StreamCommand::Unsubscribe { subscriptions, .. } => {
            let sids = subscriptions
                .iter()
                .map(|s| sid(s))
                .collect::<PluginResult<Vec<u64>>>()?;
            // Kalshi unsubscribes only by sid: with none known there is nothing to send.
            if sids.is_empty() {
                return Ok(Vec::new());
            }
            serde_json::json!({"id": r.request_id, "cmd": "unsubscribe", "params": {"sids": sids}})
        }
        // Exactly one sid per `update_subscription` (kalshi.md §9).
        StreamCommand::Narrow {
            subscription,
            instruments,
        } => serde_json::json!({
            "id": r.request_id,
            "cmd": "update_subscription",
            "params": {
                "sids": [sid(subscription)?],
                "market_tickers": tickers(instruments)?,
                "action": "delete_markets",
            },
        }),
        other => {
            return Err(PluginError::unsupported(&format!(
                "kalshi stream command {other:?}"
            )))
        }
    };
    Ok(vec![msg.to_string()])
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: Option<&'a str>,
    id: Option<u64>,
    sid: Option<u64>,
    seq: Option<u64>,
    #[serde(borrow)]
    msg: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct SnapshotMsg<'a> {
    market_ticker: Option<&'a str>,
    #[serde(borrow, default)]
    yes_dollars_fp: Option<Vec<(&'a str, &'a str)>>,
    #[serde(borrow, default)]
    no_dollars_fp: Option<Vec<(&'a str, &'a str)>>,
    ts_ms: Option<i64>,
}

#[derive(Deserialize)]
struct DeltaMsg<'a> {
    market_ticker: Option<&'a str>,
    price_dollars: Option<&'a str>,
    delta_fp: Option<&'a str>,
    side: Option<&'a str>,
    ts_ms: Option<i64>,
}

#[derive(Deserialize)]
struct SubscribedMsg {
    sid: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorMsg<'a> {
    code: Option<i64>,
    #[serde(borrow)]
    msg: Option<std::borrow::Cow<'a, str>>,
}

fn err(what: &'static str, detail: impl Into<String>) -> PluginError {
    KalshiError::parse(what, detail).into()
}

fn need<T>(v: Option<T>, what: &'static str, field: &str) -> PluginResult<T> {
    v.ok_or_else(|| err(what, format!("missing `{field}`")))
}

fn body<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>, what: &'static str) -> PluginResult<T> {
    let raw = need(raw, what, "msg")?;
    serde_json::from_str(raw.get()).map_err(|e| err(what, format!("bad `msg`: {e}")))
}

fn seq(e: &Envelope<'_>, what: &'static str, snapshot: bool) -> PluginResult<StreamSeq> {
    Ok(StreamSeq {
        subscription: need(e.sid, what, "sid")?.to_string(),
        seq: need(e.seq, what, "seq")?,
        snapshot,
    })
}

fn ladder(
    levels: Option<Vec<(&str, &str)>>,
    what: &'static str,
    field: &str,
) -> PluginResult<Vec<plugin_api::Level>> {
    let mut raw = Vec::new();
    for (p, q) in levels.unwrap_or_default() {
        let price = Price::parse(p)
            .map_err(|e| err(what, format!("bad `{field}` price: {}", e.message)))?;
        let qty =
            Qty::parse(q).map_err(|e| err(what, format!("bad `{field}` count: {}", e.message)))?;
        raw.push((price, qty));
    }
    Ok(checked_ladder(raw)?)
}

fn ticker<'a>(t: Option<&'a str>, what: &'static str) -> PluginResult<&'a str> {
    let t = need(t, what, "msg.market_ticker")?;
    if !crate::book::is_url_safe_id(t) {
        return Err(err(what, format!("bad `msg.market_ticker`: {t:?}")));
    }
    Ok(t)
}

/// One frame as events. A bad frame is a [`plugin_api::ErrorKind::Parse`] error naming the
/// message type and field.
pub fn parse(channel: StreamChannel, frame: &str, ctx: &CallCtx) -> PluginResult<StreamFrame> {
    if channel == StreamChannel::User {
        return crate::ws_user::parse(frame);
    }
    market_only(channel)?;
    let e: Envelope<'_> = serde_json::from_str(frame)
        .map_err(|x| err("kalshi ws frame", format!("not a JSON object: {x}")))?;
    let kind = need(e.kind, "kalshi ws frame", "type")?;
    match kind {
        "orderbook_snapshot" => {
            const W: &str = "orderbook_snapshot";
            let m: SnapshotMsg<'_> = body(e.msg, W)?;
            let t = ticker(m.market_ticker, W)?;
            let yes = ladder(m.yes_dollars_fp, W, "msg.yes_dollars_fp")?;
            let no = ladder(m.no_dollars_fp, W, "msg.no_dollars_fp")?;
            let ts = m.ts_ms.unwrap_or(ctx.now_ms);
            let books = [Outcome::Yes, Outcome::No].map(|o| StreamEvent::Book {
                book: assemble(yes.clone(), no.clone(), &Instrument::with_outcome(t, o), ts),
            });
            Ok(StreamFrame {
                seq: Some(seq(&e, W, true)?),
                events: books.into(),
            })
        }
        "orderbook_delta" => {
            const W: &str = "orderbook_delta";
            let m: DeltaMsg<'_> = body(e.msg, W)?;
            let t = ticker(m.market_ticker, W)?;
            let p = need(m.price_dollars, W, "msg.price_dollars")?;
            let price = Price::parse(p)
                .ok()
                .filter(|p| p.0 > 0 && *p < Price::ONE)
                .ok_or_else(|| err(W, format!("bad `msg.price_dollars`: {p:?}")))?;
            let d = need(m.delta_fp, W, "msg.delta_fp")?;
            let delta = Qty::parse(d).map_err(|_| err(W, format!("bad `msg.delta_fp`: {d:?}")))?;
            let bid_outcome = match need(m.side, W, "msg.side")? {
                "yes" => Outcome::Yes,
                "no" => Outcome::No,
                other => return Err(err(W, format!("bad `msg.side`: {other:?}"))),
            };
            let ask_outcome = match bid_outcome {
                Outcome::Yes => Outcome::No,
                Outcome::No => Outcome::Yes,
            };
            let ts_ms = m.ts_ms.unwrap_or(ctx.now_ms);
            let change = LevelChange::Add { delta };
            Ok(StreamFrame {
                seq: Some(seq(&e, W, false)?),
                events: vec![
                    StreamEvent::Level {
                        instrument: Instrument::with_outcome(t, bid_outcome).to_string(),
                        side: BookSide::Bid,
                        price,
                        change,
                        ts_ms,
                    },
                    StreamEvent::Level {
                        instrument: Instrument::with_outcome(t, ask_outcome).to_string(),
                        side: BookSide::Ask,
                        price: price.complement(),
                        change,
                        ts_ms,
                    },
                ],
            })
        }
        "subscribed" => {
            const W: &str = "subscribed";
            let m: SubscribedMsg = body(e.msg, W)?;
            Ok(StreamFrame {
                seq: None,
                events: vec![StreamEvent::Subscribed {
                    subscription: need(m.sid.or(e.sid), W, "msg.sid")?.to_string(),
                    request_id: e.id,
                }],
            })
        }
        "error" => {
            const W: &str = "error";
            let m: ErrorMsg<'_> = body(e.msg, W)?;
            Ok(StreamFrame {
                seq: None,
                events: vec![StreamEvent::Error {
                    message: format!(
                        "kalshi ws error {}: {}",
                        m.code.map_or("?".to_string(), |c| c.to_string()),
                        m.msg.as_deref().unwrap_or("")
                    ),
                    resubscribe: false,
                }],
            })
        }
        crate::ws_lifecycle::CHANNEL => {
            let v: Option<serde_json::Value> =
                match e.msg {
                    Some(raw) => Some(serde_json::from_str(raw.get()).map_err(|x| {
                        err(crate::ws_lifecycle::CHANNEL, format!("bad `msg`: {x}"))
                    })?),
                    None => None,
                };
            Ok(StreamFrame {
                seq: None,
                events: crate::ws_lifecycle::events(v.as_ref())?,
            })
        }
        // The answer to `update_subscription` (a narrowed subscription) is numbered in its
        // subscription's sequence (kalshi.md §9): reported, so the next delta is not taken
        // for a gap. Were its number not the next one, it is dropped as a duplicate, or
        // resyncs the subscription: never a wrong book.
        "ok" if e.sid.is_some() && e.seq.is_some() => Ok(StreamFrame {
            seq: Some(seq(&e, "ok", false)?),
            events: vec![StreamEvent::Ignored { what: "ok".into() }],
        }),
        other => Ok(StreamFrame {
            seq: None,
            events: vec![StreamEvent::Ignored {
                what: other.to_string(),
            }],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::Level;

    const CTX: CallCtx = CallCtx {
        now_ms: 5,
        random: [0; 32],
    };

    /// A level of `hundredths` / 100 contracts.
    fn lv(p: i64, hundredths: i64) -> Level {
        Level {
            price: Price(p),
            qty: Qty(hundredths * (plugin_api::money::SHARE / 100)),
        }
    }

    #[test]
    fn commands_follow_the_documented_shapes() {
        let r = StreamRequest {
            channel: StreamChannel::Market,
            command: StreamCommand::Subscribe {
                instruments: vec!["T1:yes".into(), "T1:no".into(), "T2:yes".into()],
            },
            initial: true,
            request_id: 3,
        };
        let lc = LifecycleTickers::default();
        let v: serde_json::Value = serde_json::from_str(&messages(&r, &lc).unwrap()[0]).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id":3,"cmd":"subscribe","params":{"channels":["orderbook_delta"],"market_tickers":["T1","T2"]}})
        );
        let r = StreamRequest {
            command: StreamCommand::Unsubscribe {
                instruments: vec![],
                subscriptions: vec!["7".into()],
            },
            ..r
        };
        let v: serde_json::Value = serde_json::from_str(&messages(&r, &lc).unwrap()[0]).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id":3,"cmd":"unsubscribe","params":{"sids":[7]}})
        );
        // No sid known: Kalshi unsubscribes only by sid, so nothing is sent.
        let none = StreamRequest {
            command: StreamCommand::Unsubscribe {
                instruments: vec!["T1:yes".into()],
                subscriptions: vec![],
            },
            ..r.clone()
        };
        assert!(messages(&none, &lc).unwrap().is_empty());
        // Narrowing one sid: `update_subscription`, exactly one sid, tickers once each.
        let narrow = StreamRequest {
            command: StreamCommand::Narrow {
                subscription: "7".into(),
                instruments: vec!["T2:yes".into(), "T2:no".into()],
            },
            ..r.clone()
        };
        let v: serde_json::Value =
            serde_json::from_str(&messages(&narrow, &lc).unwrap()[0]).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id":3,"cmd":"update_subscription","params":{"sids":[7],"market_tickers":["T2"],"action":"delete_markets"}})
        );
        let bad = StreamRequest {
            command: StreamCommand::Narrow {
                subscription: "seven".into(),
                instruments: vec!["T2:yes".into()],
            },
            ..r
        };
        let e = messages(&bad, &lc).unwrap_err();
        assert!(
            e.message.contains("\"seven\" is not a sid"),
            "{}",
            e.message
        );
    }

    #[test]
    fn the_answer_to_a_narrowed_subscription_keeps_its_sequence() {
        let f = parse(
            StreamChannel::Market,
            r#"{"id":4,"sid":456,"seq":222,"type":"ok","msg":{"market_tickers":["T1"]}}"#,
            &CTX,
        )
        .unwrap();
        assert_eq!(
            f.seq,
            Some(StreamSeq {
                subscription: "456".into(),
                seq: 222,
                snapshot: false
            })
        );
        // An `ok` with no sequence (another command's answer) is not numbered.
        let f = parse(StreamChannel::Market, r#"{"id":5,"type":"ok"}"#, &CTX).unwrap();
        assert_eq!(f.seq, None);
    }

    #[test]
    fn each_ticker_gets_one_lifecycle_subscription_per_connection() {
        let lc = LifecycleTickers::default();
        let sub = |instruments: &[&str], initial: bool| -> Vec<serde_json::Value> {
            let r = StreamRequest {
                channel: StreamChannel::Market,
                command: StreamCommand::Subscribe {
                    instruments: instruments.iter().map(|s| s.to_string()).collect(),
                },
                initial,
                request_id: 5,
            };
            messages(&r, &lc)
                .unwrap()
                .iter()
                .map(|m| serde_json::from_str(m).unwrap())
                .collect()
        };
        let lifecycle = |ms: &[serde_json::Value]| -> Option<serde_json::Value> {
            ms.iter()
                .find(|m| m["params"]["channels"][0] == crate::ws_lifecycle::CHANNEL)
                .map(|m| m["params"]["market_tickers"].clone())
        };
        // A fresh connection: books and lifecycle of both markets.
        let first = sub(&["T1:yes", "T2:no"], true);
        assert_eq!(first.len(), 2);
        assert_eq!(lifecycle(&first), Some(serde_json::json!(["T1", "T2"])));
        // A resync of T1's book (a sequence gap): the book only.
        let resync = sub(&["T1:yes"], false);
        assert_eq!(resync.len(), 1);
        assert_eq!(
            resync[0]["params"]["market_tickers"],
            serde_json::json!(["T1"])
        );
        // A pair added while running: its new market's lifecycle too, not T2's again.
        let added = sub(&["T2:yes", "T3:yes"], false);
        assert_eq!(lifecycle(&added), Some(serde_json::json!(["T3"])));
        // After a reconnect everything is subscribed again.
        let again = sub(&["T1:yes", "T2:yes", "T3:no"], true);
        assert_eq!(
            lifecycle(&again),
            Some(serde_json::json!(["T1", "T2", "T3"]))
        );
    }

    #[test]
    fn snapshot_and_delta_become_books_and_levels_of_both_outcomes() {
        // Frame shapes from kalshi.md §9.
        let f = parse(
            StreamChannel::Market,
            r#"{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"market_ticker":"T1","market_id":"u","yes_dollars_fp":[["0.3500","200.00"],["0.4000","10.00"]],"no_dollars_fp":[["0.5500","30.00"]]}}"#,
            &CTX,
        )
        .unwrap();
        assert_eq!(
            f.seq,
            Some(StreamSeq {
                subscription: "1".into(),
                seq: 1,
                snapshot: true
            })
        );
        let [StreamEvent::Book { book: yes }, StreamEvent::Book { book: no }] = &f.events[..]
        else {
            panic!("{:?}", f.events)
        };
        assert_eq!(yes.instrument, "T1:yes");
        assert_eq!(yes.bids, vec![lv(400_000, 1_000), lv(350_000, 20_000)]);
        assert_eq!(yes.asks, vec![lv(450_000, 3_000)]);
        assert_eq!(no.instrument, "T1:no");
        assert_eq!(no.bids, vec![lv(550_000, 3_000)]);
        assert_eq!(yes.ts_ms, 5);
        let f = parse(
            StreamChannel::Market,
            r#"{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"T1","price_dollars":"0.4200","delta_fp":"-50.00","side":"no","ts":"2026-01-01T00:00:00Z"}}"#,
            &CTX,
        )
        .unwrap();
        assert_eq!(
            f.seq.as_ref().map(|s| (s.seq, s.snapshot)),
            Some((2, false))
        );
        assert_eq!(
            f.events,
            vec![
                StreamEvent::Level {
                    instrument: "T1:no".into(),
                    side: BookSide::Bid,
                    price: Price(420_000),
                    change: LevelChange::Add {
                        delta: -Qty::shares(50)
                    },
                    ts_ms: 5,
                },
                StreamEvent::Level {
                    instrument: "T1:yes".into(),
                    side: BookSide::Ask,
                    price: Price(580_000),
                    change: LevelChange::Add {
                        delta: -Qty::shares(50)
                    },
                    ts_ms: 5,
                },
            ]
        );
    }

    #[test]
    fn acks_errors_and_unknown_types() {
        let f = parse(
            StreamChannel::Market,
            r#"{"id":1,"type":"subscribed","msg":{"channel":"orderbook_delta","sid":9}}"#,
            &CTX,
        )
        .unwrap();
        assert_eq!(
            f.events,
            vec![StreamEvent::Subscribed {
                subscription: "9".into(),
                request_id: Some(1)
            }]
        );
        let f = parse(
            StreamChannel::Market,
            r#"{"id":2,"type":"error","msg":{"code":8,"msg":"Unknown channel name"}}"#,
            &CTX,
        )
        .unwrap();
        assert!(
            matches!(&f.events[0], StreamEvent::Error { message, .. } if message.contains("8: Unknown channel"))
        );
        let f = parse(
            StreamChannel::Market,
            r#"{"type":"ticker","sid":3,"msg":{}}"#,
            &CTX,
        )
        .unwrap();
        assert_eq!(
            f.events,
            vec![StreamEvent::Ignored {
                what: "ticker".into()
            }]
        );
    }

    #[test]
    fn bad_frames_name_the_field() {
        for (frame, field) in [
            (
                r#"{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"T1","price_dollars":"1.2","delta_fp":"5","side":"yes"}}"#,
                "price_dollars",
            ),
            (
                r#"{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"T1","price_dollars":"0.2","delta_fp":"x","side":"yes"}}"#,
                "delta_fp",
            ),
            (
                r#"{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"T1","price_dollars":"0.2","delta_fp":"5","side":"up"}}"#,
                "side",
            ),
            (
                r#"{"type":"orderbook_delta","sid":1,"msg":{"market_ticker":"T1","price_dollars":"0.2","delta_fp":"5","side":"yes"}}"#,
                "seq",
            ),
            (
                r#"{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"yes_dollars_fp":[]}}"#,
                "market_ticker",
            ),
            (
                r#"{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"market_ticker":"T1","yes_dollars_fp":[["zz","1"]]}}"#,
                "yes_dollars_fp",
            ),
            (r#"{"sid":1}"#, "type"),
            ("[1,2", "JSON"),
        ] {
            let e = parse(StreamChannel::Market, frame, &CTX).unwrap_err();
            assert_eq!(e.kind, plugin_api::ErrorKind::Parse, "{frame}");
            assert!(e.message.contains(field), "{frame}: {e}");
        }
    }
}
