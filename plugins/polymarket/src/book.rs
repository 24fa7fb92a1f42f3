//! Order-book parsing (`GET /book`, `POST /books`): exact fixed-point levels, normalised best
//! first (the CLOB lists bids ascending and asks descending, best level last).

use plugin_api::{Book, Level, Price, Qty};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

use crate::dec;

/// One `{price, size}` level as sent (shared with the WebSocket `book` event).
#[derive(Deserialize)]
pub(crate) struct LevelWire<'a> {
    #[serde(borrow)]
    price: Cow<'a, str>,
    #[serde(borrow)]
    size: Cow<'a, str>,
}

#[derive(Deserialize)]
struct BookWire<'a> {
    #[serde(borrow, default)]
    market: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    asset_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    bids: Vec<LevelWire<'a>>,
    #[serde(borrow, default)]
    asks: Vec<LevelWire<'a>>,
    #[serde(borrow, default)]
    min_order_size: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tick_size: Option<&'a RawValue>,
    #[serde(default)]
    neg_risk: Option<bool>,
}

/// Market parameters that come with a book.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BookMeta {
    /// Condition id (`market`).
    pub condition_id: Option<String>,
    /// Tick size, if sent.
    pub tick: Option<Price>,
    /// Minimum order size in shares, if sent.
    pub min_size: Option<Qty>,
    /// Neg-risk flag, if sent.
    pub neg_risk: Option<bool>,
}

/// Why a book could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    /// Not the expected JSON.
    #[error("book is not valid JSON: {0}")]
    Json(String),
    /// A level's price or size is not a decimal in range; names the field and the value.
    #[error("book level {0} is not a valid decimal in range")]
    Level(String),
    /// The book's timestamp is not a whole number of milliseconds that fits.
    #[error("book timestamp {0:?} is not a whole number of milliseconds")]
    Timestamp(String),
}

/// One level. A price must lie strictly inside (0, 1) (an outcome share never trades at or
/// beyond $1); a size must be a non-negative decimal that fits.
fn level(l: &LevelWire<'_>) -> Result<Option<Level>, BookError> {
    let price = dec::price(&l.price)
        .filter(|p| p.0 > 0 && *p < Price::ONE)
        .ok_or_else(|| BookError::Level(format!("price {:?}", l.price)))?;
    let qty = dec::qty(&l.size).ok_or_else(|| BookError::Level(format!("size {:?}", l.size)))?;
    Ok((qty.0 > 0).then_some(Level { price, qty }))
}

/// Exact levels, zero sizes dropped, sorted best first (duplicates merged).
pub(crate) fn levels(wire: &[LevelWire<'_>], descending: bool) -> Result<Vec<Level>, BookError> {
    let mut out = Vec::with_capacity(wire.len());
    for l in wire {
        if let Some(l) = level(l)? {
            out.push(l);
        }
    }
    let better = |a: &Level, b: &Level| {
        if descending {
            a.price > b.price
        } else {
            a.price < b.price
        }
    };
    if !out.windows(2).all(|w| better(&w[0], &w[1])) {
        if out.windows(2).all(|w| better(&w[1], &w[0])) {
            out.reverse();
        } else {
            out.sort_by(|a, b| {
                if descending {
                    b.price.cmp(&a.price)
                } else {
                    a.price.cmp(&b.price)
                }
            });
            // Merge duplicate price levels.
            out.dedup_by(|b, a| {
                if a.price == b.price {
                    a.qty += b.qty;
                    true
                } else {
                    false
                }
            });
        }
    }
    Ok(out)
}

/// Parses one book object. `instrument` is used when the payload has no `asset_id`.
pub fn parse_book(body: &[u8], instrument: &str) -> Result<(Book, BookMeta), BookError> {
    let w: BookWire<'_> =
        serde_json::from_slice(body).map_err(|e| BookError::Json(e.to_string()))?;
    book_from_wire(w, instrument)
}

fn book_from_wire(w: BookWire<'_>, instrument: &str) -> Result<(Book, BookMeta), BookError> {
    let ts_ms = match w.timestamp {
        Some(r) => dec::whole(dec::raw_text(r))
            .ok_or_else(|| BookError::Timestamp(dec::raw_text(r).to_string()))?,
        None => 0,
    };
    let book = Book {
        instrument: w
            .asset_id
            .map(|c| c.into_owned())
            .unwrap_or_else(|| instrument.to_string()),
        bids: levels(&w.bids, true)?,
        asks: levels(&w.asks, false)?,
        ts_ms,
    };
    let meta = BookMeta {
        condition_id: w.market.map(|c| c.into_owned()).filter(|s| !s.is_empty()),
        tick: w.tick_size.and_then(|r| dec::price(dec::raw_text(r))),
        min_size: w.min_order_size.and_then(|r| dec::qty(dec::raw_text(r))),
        neg_risk: w.neg_risk,
    };
    Ok((book, meta))
}

/// Parses a `POST /books` array.
pub fn parse_books(body: &[u8]) -> Result<Vec<(Book, BookMeta)>, BookError> {
    let ws: Vec<BookWire<'_>> =
        serde_json::from_slice(body).map_err(|e| BookError::Json(e.to_string()))?;
    ws.into_iter().map(|w| book_from_wire(w, "")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = r#"{"market":"0xabc","asset_id":"123","timestamp":"1764000000123","hash":"h",
      "bids":[{"price":"0.48","size":"30"},{"price":"0.49","size":"20.5"},{"price":"0.5","size":"10"}],
      "asks":[{"price":"0.6","size":"5"},{"price":"0.55","size":"7.25"},{"price":"0.52","size":"100"}],
      "min_order_size":"5","tick_size":"0.01","neg_risk":false,"last_trade_price":"0.51"}"#;

    #[test]
    fn normalises_best_first() {
        let (b, m) = parse_book(BOOK.as_bytes(), "x").unwrap();
        assert_eq!(b.instrument, "123");
        assert_eq!(b.ts_ms, 1764000000123);
        assert_eq!(
            b.best_bid().unwrap(),
            Level {
                price: Price(500_000),
                qty: Qty::shares(10)
            }
        );
        assert_eq!(
            b.best_ask().unwrap(),
            Level {
                price: Price(520_000),
                qty: Qty::shares(100)
            }
        );
        assert!(b.is_well_formed());
        assert_eq!(m.tick, Some(Price(10_000)));
        assert_eq!(m.min_size, Some(Qty::shares(5)));
        assert_eq!(m.neg_risk, Some(false));
        assert_eq!(m.condition_id.as_deref(), Some("0xabc"));
    }

    #[test]
    fn unsorted_and_bad_input() {
        let j = r#"{"bids":[{"price":"0.4","size":"1"},{"price":"0.6","size":"1"},{"price":"0.5","size":"1"},{"price":"0.5","size":"2"}],"asks":[],"tick_size":0.001}"#;
        let (b, m) = parse_book(j.as_bytes(), "t").unwrap();
        assert_eq!(
            b.bids.iter().map(|l| l.price.0).collect::<Vec<_>>(),
            vec![600_000, 500_000, 400_000]
        );
        assert_eq!(b.bids[1].qty, Qty::shares(3));
        assert_eq!(m.tick, Some(Price(1000)));
        assert!(parse_book(b"{\"bids\":[{\"price\":\"x\",\"size\":\"1\"}]}", "t").is_err());
        assert!(parse_book(b"null", "t").is_err());
        // Out of range: refused with the field named, never wrapped into a negative price.
        let e = parse_book(
            br#"{"bids":[{"price":"9999999999999","size":"1"}],"asks":[]}"#,
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("price"), "{e}");
        let e =
            parse_book(br#"{"bids":[{"price":"0.5","size":"-3"}],"asks":[]}"#, "t").unwrap_err();
        assert!(e.to_string().contains("size"), "{e}");
        assert!(parse_book(br#"{"bids":[],"asks":[],"timestamp":"-5"}"#, "t").is_err());
        assert!(parse_book(b"", "t").is_err());
    }
}
