//! Market-channel WebSocket frames (polymarket.md §1.4) parsed into typed events, and book
//! deltas applied to a [`Book`]. Parsing only: nothing here opens a socket.
//!
//! A frame is one JSON object or an array of them, each tagged by `event_type`:
//! * `book`: a full snapshot → [`MarketEvent::Book`], levels normalised best first as for
//!   `GET /book`.
//! * `price_change`: one [`MarketEvent::Delta`] per entry of `price_changes` (one message may
//!   carry both outcome tokens of a market). `size` is the new total resting at that price, not
//!   an increment; 0 removes the level.
//! * `last_trade_price` → [`MarketEvent::Trade`]; `tick_size_change` → [`MarketEvent::TickSize`].
//! * Any other `event_type` (`best_bid_ask`, `new_market`, `market_resolved`, …) is **reported,
//!   not an error**: [`MarketEvent::Other`] carries its name. The venue adds event types over
//!   time, and one new type must not tear down a stream whose book events are still good; the
//!   caller decides whether to log or count it.
//! * The keep-alive reply `PONG` → [`MarketEvent::Pong`].
//!
//! A frame is all or nothing: one bad or missing field fails it with a [`WsError`] naming the
//! event and the field. Strings are borrowed from the frame, never copied. A frame of
//! `price_change` messages goes through a dedicated scanner first (one allocation, the event
//! list); anything it does not recognise falls back to serde (see `fast`).

use plugin_api::{Book, Level, Price, Qty, Side};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::book::{levels, BookError, LevelWire};
use crate::dec;

/// Why a market-channel frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WsError {
    /// Not JSON, or not an object / array of objects.
    #[error("market frame is not valid JSON: {0}")]
    Json(String),
    /// A message without `event_type`.
    #[error("market message has no `event_type`")]
    NoEventType,
    /// A field the event needs is absent (or `null`).
    #[error("`{event}` message: missing `{field}`")]
    Missing {
        /// The `event_type`.
        event: &'static str,
        /// The field, `price_changes[].price` style when nested.
        field: &'static str,
    },
    /// A field is present but its value is not what the event allows.
    #[error("`{event}` message: bad `{field}`: {value}")]
    Bad {
        /// The `event_type`.
        event: &'static str,
        /// The field, `price_changes[].price` style when nested.
        field: &'static str,
        /// The raw JSON value, cut to 64 bytes.
        value: String,
    },
}

/// A delta applied to a book of another instrument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delta for asset {delta} applied to the book of {book}")]
pub struct WrongInstrument {
    /// The delta's asset id.
    pub delta: String,
    /// The book's instrument.
    pub book: String,
}

/// One level change of one outcome token's book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookDelta<'a> {
    /// Outcome token id (`asset_id`), the book's instrument.
    pub asset_id: &'a str,
    /// `Buy` changes a bid level, `Sell` an ask level.
    pub side: Side,
    /// The level's price, exact.
    pub price: Price,
    /// New total size at `price`, exactly as the venue sends it (like REST books); 0 removes
    /// the level.
    pub qty: Qty,
    /// The venue's best bid after the change, if sent.
    pub best_bid: Option<Price>,
    /// The venue's best ask after the change, if sent.
    pub best_ask: Option<Price>,
    /// The venue's book hash after the change, if sent.
    pub hash: Option<&'a str>,
    /// Venue time, ms since the Unix epoch.
    pub ts_ms: i64,
}

/// The last trade of a token (`last_trade_price`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastTrade<'a> {
    /// Outcome token id.
    pub asset_id: &'a str,
    /// Trade price.
    pub price: Price,
    /// Trade size, exactly as the venue sends it.
    pub qty: Qty,
    /// Taker side.
    pub side: Side,
    /// Fee rate in basis points, if sent.
    pub fee_rate_bps: Option<u32>,
    /// Venue time, ms since the Unix epoch.
    pub ts_ms: i64,
}

/// A token's tick size changed (`tick_size_change`): prices must move to the new grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickSizeChange<'a> {
    /// Outcome token id.
    pub asset_id: &'a str,
    /// Previous tick, if sent.
    pub old: Option<Price>,
    /// New tick.
    pub new: Price,
    /// Venue time, ms since the Unix epoch.
    pub ts_ms: i64,
}

/// One typed market-channel event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarketEvent<'a> {
    /// Full snapshot of one token's book.
    Book(Book),
    /// One level change.
    Delta(BookDelta<'a>),
    /// Last trade price.
    Trade(LastTrade<'a>),
    /// Tick size change.
    TickSize(TickSizeChange<'a>),
    /// An `event_type` this module does not interpret, by name.
    Other(&'a str),
    /// The keep-alive reply.
    Pong,
}

// Scalars are raw JSON so that an event type we do not interpret can carry the same field
// names with other types without failing the frame; each event validates what it uses.
#[derive(Deserialize)]
struct ChangeWire<'a> {
    #[serde(borrow, default)]
    asset_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    price: Option<&'a RawValue>,
    #[serde(borrow, default)]
    size: Option<&'a RawValue>,
    #[serde(borrow, default)]
    side: Option<&'a RawValue>,
    #[serde(borrow, default)]
    hash: Option<&'a RawValue>,
    #[serde(borrow, default)]
    best_bid: Option<&'a RawValue>,
    #[serde(borrow, default)]
    best_ask: Option<&'a RawValue>,
}

/// One `price_changes` entry as raw JSON token texts, whichever path read it.
#[derive(Default)]
struct ChangeRaw<'a> {
    asset_id: Option<&'a str>,
    price: Option<&'a str>,
    size: Option<&'a str>,
    side: Option<&'a str>,
    hash: Option<&'a str>,
    best_bid: Option<&'a str>,
    best_ask: Option<&'a str>,
}

impl<'a> From<&ChangeWire<'a>> for ChangeRaw<'a> {
    fn from(c: &ChangeWire<'a>) -> Self {
        ChangeRaw {
            asset_id: c.asset_id.map(RawValue::get),
            price: c.price.map(RawValue::get),
            size: c.size.map(RawValue::get),
            side: c.side.map(RawValue::get),
            hash: c.hash.map(RawValue::get),
            best_bid: c.best_bid.map(RawValue::get),
            best_ask: c.best_ask.map(RawValue::get),
        }
    }
}

/// The one place a `price_changes` entry becomes a [`BookDelta`].
fn delta<'a>(c: &ChangeRaw<'a>, ts_ms: i64) -> Result<BookDelta<'a>, WsError> {
    const E: &str = "price_change";
    Ok(BookDelta {
        asset_id: id(E, "price_changes[].asset_id", c.asset_id)?,
        side: side(E, "price_changes[].side", c.side)?,
        price: level_price(E, "price_changes[].price", c.price)?,
        qty: size(E, "price_changes[].size", c.size)?,
        best_bid: opt_price(E, "price_changes[].best_bid", c.best_bid)?,
        best_ask: opt_price(E, "price_changes[].best_ask", c.best_ask)?,
        hash: opt_id(E, "price_changes[].hash", c.hash)?,
        ts_ms,
    })
}

#[derive(Deserialize)]
struct MsgWire<'a> {
    #[serde(borrow, default)]
    event_type: Option<&'a RawValue>,
    #[serde(borrow, default)]
    asset_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    // Older documentation names the snapshot sides `buys` / `sells`.
    #[serde(borrow, default, alias = "buys")]
    bids: Option<Vec<LevelWire<'a>>>,
    #[serde(borrow, default, alias = "sells")]
    asks: Option<Vec<LevelWire<'a>>>,
    #[serde(borrow, default)]
    price_changes: Option<Vec<ChangeWire<'a>>>,
    #[serde(borrow, default)]
    price: Option<&'a RawValue>,
    #[serde(borrow, default)]
    size: Option<&'a RawValue>,
    #[serde(borrow, default)]
    side: Option<&'a RawValue>,
    #[serde(borrow, default)]
    fee_rate_bps: Option<&'a RawValue>,
    #[serde(borrow, default)]
    old_tick_size: Option<&'a RawValue>,
    #[serde(borrow, default)]
    new_tick_size: Option<&'a RawValue>,
}

mod fast;

/// Parses one market-channel text frame. See the module doc for what each event becomes.
pub fn parse_frame(frame: &str) -> Result<Vec<MarketEvent<'_>>, WsError> {
    if let Some(events) = fast::price_change_frame(frame) {
        return Ok(events);
    }
    parse_frame_serde(frame)
}

/// The reference parser for every frame, and the only one that reports errors.
fn parse_frame_serde(frame: &str) -> Result<Vec<MarketEvent<'_>>, WsError> {
    let json = |e: serde_json::Error| WsError::Json(e.to_string());
    let t = frame.trim_ascii_start();
    match t.as_bytes().first() {
        Some(b'{') => {
            let m: MsgWire<'_> = serde_json::from_str(frame).map_err(json)?;
            let mut out = Vec::with_capacity(m.price_changes.as_ref().map_or(1, Vec::len));
            push_events(m, &mut out)?;
            Ok(out)
        }
        Some(b'[') => {
            let ms: Vec<MsgWire<'_>> = serde_json::from_str(frame).map_err(json)?;
            let n = ms
                .iter()
                .map(|m| m.price_changes.as_ref().map_or(1, Vec::len))
                .sum();
            let mut out = Vec::with_capacity(n);
            for m in ms {
                push_events(m, &mut out)?;
            }
            Ok(out)
        }
        _ if t.trim_ascii_end() == "PONG" => Ok(vec![MarketEvent::Pong]),
        _ => Err(WsError::Json(format!(
            "expected an object or an array, got {:?}",
            cut(t)
        ))),
    }
}

fn push_events<'a>(m: MsgWire<'a>, out: &mut Vec<MarketEvent<'a>>) -> Result<(), WsError> {
    let raw = |r: Option<&'a RawValue>| r.map(RawValue::get);
    let et = m.event_type.ok_or(WsError::NoEventType)?.get();
    let name = plain_str(et).ok_or_else(|| bad("?", "event_type", et))?;
    match name {
        "price_change" => {
            const E: &str = "price_change";
            let ts_ms = timestamp(E, raw(m.timestamp))?;
            let changes = m.price_changes.ok_or(WsError::Missing {
                event: E,
                field: "price_changes",
            })?;
            for c in &changes {
                out.push(MarketEvent::Delta(delta(&c.into(), ts_ms)?));
            }
        }
        "book" => {
            const E: &str = "book";
            let bad_level = |field| {
                move |e: BookError| WsError::Bad {
                    event: E,
                    field,
                    value: match e {
                        BookError::Level(v) | BookError::Json(v) | BookError::Timestamp(v) => {
                            cut(&v)
                        }
                    },
                }
            };
            let instrument = id(E, "asset_id", raw(m.asset_id))?.to_string();
            let ts_ms = timestamp(E, raw(m.timestamp))?;
            let bids = m.bids.ok_or(WsError::Missing {
                event: E,
                field: "bids",
            })?;
            let asks = m.asks.ok_or(WsError::Missing {
                event: E,
                field: "asks",
            })?;
            out.push(MarketEvent::Book(Book {
                instrument,
                bids: levels(&bids, true).map_err(bad_level("bids[]"))?,
                asks: levels(&asks, false).map_err(bad_level("asks[]"))?,
                ts_ms,
            }));
        }
        "last_trade_price" => {
            const E: &str = "last_trade_price";
            let fee_rate_bps = match m.fee_rate_bps {
                None => None,
                Some(r) => Some(
                    num_text(r.get())
                        .parse::<u32>()
                        .map_err(|_| bad(E, "fee_rate_bps", r.get()))?,
                ),
            };
            out.push(MarketEvent::Trade(LastTrade {
                asset_id: id(E, "asset_id", raw(m.asset_id))?,
                price: level_price(E, "price", raw(m.price))?,
                qty: size(E, "size", raw(m.size))?,
                side: side(E, "side", raw(m.side))?,
                fee_rate_bps,
                ts_ms: timestamp(E, raw(m.timestamp))?,
            }));
        }
        "tick_size_change" => {
            const E: &str = "tick_size_change";
            const F: &str = "new_tick_size";
            let tick = raw(m.new_tick_size).ok_or(WsError::Missing { event: E, field: F })?;
            // A tick is a positive step; 0 would make every price "on the grid".
            let new = dec::price(num_text(tick))
                .filter(|p| p.0 > 0)
                .ok_or_else(|| bad(E, F, tick))?;
            out.push(MarketEvent::TickSize(TickSizeChange {
                asset_id: id(E, "asset_id", raw(m.asset_id))?,
                old: opt_price(E, "old_tick_size", raw(m.old_tick_size))?,
                new,
                ts_ms: timestamp(E, raw(m.timestamp))?,
            }));
        }
        other => out.push(MarketEvent::Other(other)),
    }
    Ok(())
}

/// Applies one delta: sets, inserts or removes the level, keeping the side sorted best first,
/// and takes the delta's timestamp. Removing a level that is not there is a no-op (the book is
/// already in the state the venue describes).
pub fn apply_delta(book: &mut Book, d: &BookDelta<'_>) -> Result<(), WrongInstrument> {
    if book.instrument != d.asset_id {
        return Err(WrongInstrument {
            delta: d.asset_id.to_string(),
            book: book.instrument.clone(),
        });
    }
    let (side, descending) = match d.side {
        Side::Buy => (&mut book.bids, true),
        Side::Sell => (&mut book.asks, false),
    };
    let at = side.binary_search_by(|l| {
        if descending {
            d.price.cmp(&l.price)
        } else {
            l.price.cmp(&d.price)
        }
    });
    match (at, d.qty.0 > 0) {
        (Ok(i), true) => side[i].qty = d.qty,
        (Ok(i), false) => {
            side.remove(i);
        }
        (Err(i), true) => side.insert(
            i,
            Level {
                price: d.price,
                qty: d.qty,
            },
        ),
        (Err(_), false) => {}
    }
    book.ts_ms = d.ts_ms;
    Ok(())
}

/// The raw value cut to 64 bytes (on a char boundary) for an error message.
fn cut(s: &str) -> String {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn bad(event: &'static str, field: &'static str, raw: &str) -> WsError {
    WsError::Bad {
        event,
        field,
        value: cut(raw),
    }
}

/// The contents of a JSON string token without escapes, borrowed. Ids, hashes and event names
/// never need escapes, and refusing them keeps every string a plain borrow of the frame.
fn plain_str(raw: &str) -> Option<&str> {
    let s = raw.strip_prefix('"')?.strip_suffix('"')?;
    (!s.contains('\\')).then_some(s)
}

/// The text of a number token or of a string token holding a number.
fn num_text(raw: &str) -> &str {
    raw.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(raw)
}

fn id<'a>(
    event: &'static str,
    field: &'static str,
    raw: Option<&'a str>,
) -> Result<&'a str, WsError> {
    let raw = raw.ok_or(WsError::Missing { event, field })?;
    plain_str(raw)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(event, field, raw))
}

fn opt_id<'a>(
    event: &'static str,
    field: &'static str,
    raw: Option<&'a str>,
) -> Result<Option<&'a str>, WsError> {
    raw.map(|r| plain_str(r).ok_or_else(|| bad(event, field, r)))
        .transpose()
}

fn timestamp(event: &'static str, raw: Option<&str>) -> Result<i64, WsError> {
    const F: &str = "timestamp";
    let raw = raw.ok_or(WsError::Missing { event, field: F })?;
    let t = num_text(raw);
    // Epoch milliseconds: plain digits; 18 of them cannot overflow i64.
    if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(event, F, raw));
    }
    t.parse().map_err(|_| bad(event, F, raw))
}

fn side(event: &'static str, field: &'static str, raw: Option<&str>) -> Result<Side, WsError> {
    let raw = raw.ok_or(WsError::Missing { event, field })?;
    match plain_str(raw) {
        Some("BUY") => Ok(Side::Buy),
        Some("SELL") => Ok(Side::Sell),
        _ => Err(bad(event, field, raw)),
    }
}

/// A level or trade price: exact to 6 decimals and strictly inside (0, 1).
fn level_price(
    event: &'static str,
    field: &'static str,
    raw: Option<&str>,
) -> Result<Price, WsError> {
    let raw = raw.ok_or(WsError::Missing { event, field })?;
    dec::price(num_text(raw))
        .filter(|p| p.0 > 0 && *p < Price::ONE)
        .ok_or_else(|| bad(event, field, raw))
}

/// A reference price (best bid/ask, tick): exact, any value, absent or `null` → `None`. The
/// venue reports an empty side's best as 0 or 1, so no range is enforced.
fn opt_price(
    event: &'static str,
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<Price>, WsError> {
    raw.map(|r| dec::price(num_text(r)).ok_or_else(|| bad(event, field, r)))
        .transpose()
}

/// A size: non-negative, exact to the micro-share.
fn size(event: &'static str, field: &'static str, raw: Option<&str>) -> Result<Qty, WsError> {
    let raw = raw.ok_or(WsError::Missing { event, field })?;
    dec::qty(num_text(raw))
        .filter(|q| q.0 >= 0)
        .ok_or_else(|| bad(event, field, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    const YES: &str =
        "71321045679252212594626385532706912750332728571942532289631379312455583992563";
    const NO: &str =
        "52114319501245915516055106046884209969926127482827954674443846427813813222426";

    /// Shape of the venue's documented `price_change` message (two tokens of one market).
    fn price_change(changes: &str) -> String {
        format!(
            r#"{{"market":"0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1","price_changes":[{changes}],"timestamp":"1757908892351","event_type":"price_change"}}"#
        )
    }

    fn change(asset: &str, price: &str, size: &str, side: &str) -> String {
        format!(
            r#"{{"asset_id":"{asset}","price":"{price}","size":"{size}","side":"{side}","hash":"56621a121a47ed9333273e21c83b660cff37ae50","best_bid":"0.5","best_ask":"1"}}"#
        )
    }

    /// A level of `hundredths` / 100 shares.
    fn lv(price: i64, hundredths: i64) -> Level {
        Level {
            price: Price(price),
            qty: Qty(hundredths * (plugin_api::money::SHARE / 100)),
        }
    }

    fn deltas<'a>(evs: &'a [MarketEvent<'a>]) -> Vec<&'a BookDelta<'a>> {
        evs.iter()
            .map(|e| match e {
                MarketEvent::Delta(d) => d,
                other => panic!("not a delta: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn single_price_change_object() {
        let f = price_change(
            &[
                change(YES, "0.5", "200", "BUY"),
                change(NO, "0.5", "0", "SELL"),
            ]
            .join(","),
        );
        let evs = parse_frame(&f).unwrap();
        let ds = deltas(&evs);
        assert_eq!(ds.len(), 2);
        assert_eq!(
            *ds[0],
            BookDelta {
                asset_id: YES,
                side: Side::Buy,
                price: Price(500_000),
                qty: Qty::shares(200),
                best_bid: Some(Price(500_000)),
                best_ask: Some(Price::ONE),
                hash: Some("56621a121a47ed9333273e21c83b660cff37ae50"),
                ts_ms: 1_757_908_892_351,
            }
        );
        assert_eq!(
            (ds[1].asset_id, ds[1].side, ds[1].qty),
            (NO, Side::Sell, Qty::ZERO)
        );
    }

    #[test]
    fn array_frame_with_book_trade_tick_and_unknown() {
        let f = format!(
            r#"[
              {{"event_type":"book","asset_id":"{YES}","market":"0x5f65","timestamp":"1757908892000","hash":"0xabc",
                "bids":[{{"price":".48","size":"30"}},{{"price":".49","size":"20.5"}}],
                "asks":[{{"price":".53","size":"12"}},{{"price":".52","size":"25.555"}}]}},
              {price_change},
              {{"asset_id":"{YES}","event_type":"last_trade_price","fee_rate_bps":"0","market":"0x5f65","price":"0.456","side":"BUY","size":"219.217767","timestamp":"1750428146322"}},
              {{"event_type":"tick_size_change","asset_id":"{YES}","market":"0x5f65","old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"100000000"}},
              {{"event_type":"best_bid_ask","market":"0x5f65","asset_id":"{YES}","best_bid":"0.48","best_ask":"0.52","spread":"0.04","timestamp":"1"}}
            ]"#,
            price_change = price_change(&change(YES, "0.51", "10", "SELL")),
        );
        let evs = parse_frame(&f).unwrap();
        assert_eq!(evs.len(), 5);
        let MarketEvent::Book(b) = &evs[0] else {
            panic!("{:?}", evs[0])
        };
        assert_eq!(b.instrument, YES);
        assert_eq!(b.ts_ms, 1_757_908_892_000);
        assert_eq!(b.bids[0], lv(490_000, 2050));
        // Sizes exactly as sent (25.555, not floored to 25.55).
        assert_eq!(
            b.asks[0],
            Level {
                price: Price(520_000),
                qty: Qty::parse("25.555").unwrap()
            }
        );
        assert!(b.is_well_formed());
        assert!(
            matches!(evs[1], MarketEvent::Delta(d) if d.price == Price(510_000) && d.side == Side::Sell)
        );
        assert_eq!(
            evs[2],
            MarketEvent::Trade(LastTrade {
                asset_id: YES,
                price: Price(456_000),
                qty: Qty::parse("219.217767").unwrap(),
                side: Side::Buy,
                fee_rate_bps: Some(0),
                ts_ms: 1_750_428_146_322,
            })
        );
        assert_eq!(
            evs[3],
            MarketEvent::TickSize(TickSizeChange {
                asset_id: YES,
                old: Some(Price(10_000)),
                new: Price(1_000),
                ts_ms: 100_000_000,
            })
        );
        assert_eq!(evs[4], MarketEvent::Other("best_bid_ask"));
    }

    /// Wherever the fast path answers, it must answer exactly what the serde path does; and it
    /// must leave every frame the serde path refuses to the serde path.
    #[test]
    fn fast_path_agrees() {
        let one = price_change(&change(YES, "0.5", "200", "BUY"));
        let two = price_change(
            &[
                change(YES, "0.5", "0", "BUY"),
                change(NO, "0.49", "3.333", "SELL"),
            ]
            .join(","),
        );
        let answered = [
            one.clone(),
            two.clone(),
            format!(" [ {one} , {two} ]\n"),
            // Keys in another order, timestamp first, unknown string fields, whitespace.
            format!(
                r#"{{ "timestamp" : "5", "event_type":"price_change", "extra":"x",
                     "price_changes" : [ {{"side":"SELL","size":"1","price":"0.25","asset_id":"{YES}","note":"é"}} ] }}"#
            ),
        ];
        for f in &answered {
            let fast =
                fast::price_change_frame(f).unwrap_or_else(|| panic!("fast path declined {f}"));
            assert_eq!(Ok(fast), parse_frame_serde(f), "{f}");
        }
        // Refused by both: the serde path reports why.
        let refused = [
            price_change(&change(YES, "0.5x", "1", "BUY")),
            price_change(&change(YES, "0.5", "1", "BUY")).replace("\"1757908892351\"", "\"x\""),
            price_change(&change(YES, "0.5", "1", "BUY"))
                .replace("\"timestamp\":\"1757908892351\",", ""),
            format!("{one}x"),
            format!("[{one},"),
            one.replace("\"price\":\"0.5\"", "\"price\":\"0.5\",\"price\":\"0.6\""),
            one.replace("\"market\":", "\"timestamp\":\"1\",\"market\":"),
            one.replace(
                "\"event_type\":\"price_change\"",
                "\"event_type\":\"price_change\",\"event_type\":\"book\"",
            ),
            // An escaped id is refused, not unescaped (ids never need escapes).
            one.replace("\"hash\":\"", "\"hash\":\"\\u0030"),
        ];
        // Accepted by serde, declined here: numbers, null, escapes, other events, empties.
        let serde_only = [
            one.replace("\"price\":\"0.5\"", "\"price\":0.5"),
            one.replace("\"best_bid\":\"0.5\"", "\"best_bid\":null"),
            one.replace("\"market\":\"0x", "\"market\":\"\\\"0x"),
            one.replace("\"timestamp\":\"1757908892351\"", "\"timestamp\":1757908892351"),
            format!("[{one},{{\"event_type\":\"tick_size_change\",\"asset_id\":\"1\",\"new_tick_size\":\"0.01\",\"timestamp\":\"1\"}}]"),
            price_change(""),
            "[]".into(),
            "PONG".into(),
        ];
        for f in &refused {
            assert_eq!(fast::price_change_frame(f), None, "{f}");
            assert!(parse_frame(f).is_err(), "{f}");
        }
        for f in &serde_only {
            assert_eq!(fast::price_change_frame(f), None, "{f}");
            assert!(parse_frame(f).is_ok(), "{f}");
        }
    }

    /// Older documentation's `buys`/`sells`; and an event we do not interpret is reported even
    /// when it reuses a field name with another type.
    #[test]
    fn old_side_names_and_odd_unknown_events() {
        let f = format!(
            r#"[{{"event_type":"book","asset_id":"{YES}","timestamp":"2","buys":[{{"price":"0.4","size":"1"}}],"sells":[]}},
               {{"event_type":"new_market","price":{{"x":1}},"side":[1,2],"timestamp":null}}]"#
        );
        let evs = parse_frame(&f).unwrap();
        let MarketEvent::Book(b) = &evs[0] else {
            panic!("{:?}", evs[0])
        };
        assert_eq!(b.bids, vec![lv(400_000, 100)]);
        assert!(b.asks.is_empty());
        assert_eq!(evs[1], MarketEvent::Other("new_market"));
    }

    #[test]
    fn pong_and_empty_array() {
        assert_eq!(parse_frame("PONG").unwrap(), vec![MarketEvent::Pong]);
        assert_eq!(parse_frame(" [] ").unwrap(), vec![]);
    }

    #[test]
    fn bad_fields_are_named() {
        let err = |f: &str| parse_frame(f).unwrap_err();
        assert_eq!(
            err(&price_change(&change(YES, "0.5x", "1", "BUY"))),
            WsError::Bad {
                event: "price_change",
                field: "price_changes[].price",
                value: "\"0.5x\"".into()
            }
        );
        // Finer than the 6-decimal price unit: refused, not rounded.
        assert!(matches!(
            err(&price_change(&change(YES, "0.5000001", "1", "BUY"))),
            WsError::Bad {
                field: "price_changes[].price",
                ..
            }
        ));
        assert!(matches!(
            err(&price_change(&change(YES, "1.5", "1", "BUY"))),
            WsError::Bad {
                field: "price_changes[].price",
                ..
            }
        ));
        assert!(matches!(
            err(&price_change(&change(YES, "0.5", "-1", "BUY"))),
            WsError::Bad {
                field: "price_changes[].size",
                ..
            }
        ));
        assert!(matches!(
            err(&price_change(&change(YES, "0.5", "1", "bid"))),
            WsError::Bad {
                field: "price_changes[].side",
                ..
            }
        ));
        assert!(matches!(
            err(&price_change(&change(YES, "0.5", "1", "BUY"))
                .replace("\"1757908892351\"", "\"soon\"")),
            WsError::Bad {
                field: "timestamp",
                ..
            }
        ));
        assert_eq!(
            err(r#"{"event_type":"price_change","timestamp":"1"}"#),
            WsError::Missing {
                event: "price_change",
                field: "price_changes"
            }
        );
        assert_eq!(
            err(
                r#"{"event_type":"price_change","timestamp":"1","price_changes":[{"price":"0.5","size":"1","side":"BUY"}]}"#
            ),
            WsError::Missing {
                event: "price_change",
                field: "price_changes[].asset_id"
            }
        );
        assert!(matches!(
            err(&format!(
                r#"{{"event_type":"book","asset_id":"{YES}","timestamp":"1","bids":[{{"price":"x","size":"1"}}],"asks":[]}}"#
            )),
            WsError::Bad {
                event: "book",
                field: "bids[]",
                ..
            }
        ));
        assert_eq!(err(r#"{"asset_id":"1"}"#), WsError::NoEventType);
        // One bad message fails the whole array frame.
        let f = format!(
            "[{},{}]",
            price_change(&change(YES, "0.5", "1", "BUY")),
            r#"{"event_type":"book"}"#
        );
        assert!(matches!(err(&f), WsError::Missing { event: "book", .. }));
        assert!(matches!(err("not json"), WsError::Json(_)));
        assert!(matches!(err("{\"event_type\":"), WsError::Json(_)));
        assert!(matches!(err(""), WsError::Json(_)));
    }

    #[test]
    fn apply_sets_inserts_and_removes() {
        let mut book = Book {
            instrument: YES.into(),
            bids: vec![lv(490_000, 100), lv(470_000, 100)],
            asks: vec![lv(510_000, 100), lv(530_000, 100)],
            ts_ms: 1,
        };
        let f = price_change(
            &[
                change(YES, "0.48", "5", "BUY"),   // insert between bids
                change(YES, "0.49", "7.5", "BUY"), // replace the best bid's size
                change(YES, "0.47", "0", "BUY"),   // remove a bid
                change(YES, "0.5", "1", "SELL"),   // new best ask
                change(YES, "0.53", "0", "SELL"),  // remove an ask
                change(YES, "0.6", "0", "SELL"),   // remove an absent level: no-op
            ]
            .join(","),
        );
        for e in parse_frame(&f).unwrap() {
            let MarketEvent::Delta(d) = e else { panic!() };
            apply_delta(&mut book, &d).unwrap();
        }
        assert_eq!(book.bids, vec![lv(490_000, 750), lv(480_000, 500),]);
        assert_eq!(book.asks, vec![lv(500_000, 100), lv(510_000, 100),]);
        assert_eq!(book.ts_ms, 1_757_908_892_351);
        assert!(book.is_well_formed());

        let f = price_change(&change(NO, "0.5", "1", "BUY"));
        let other = parse_frame(&f).unwrap();
        let MarketEvent::Delta(d) = other[0] else {
            panic!()
        };
        let before = book.clone();
        assert_eq!(
            apply_delta(&mut book, &d),
            Err(WrongInstrument {
                delta: NO.into(),
                book: YES.into()
            })
        );
        assert_eq!(book, before);
    }
}
