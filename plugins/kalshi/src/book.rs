//! Instrument ids (`TICKER:yes`, `TICKER:no`) and order books.
//!
//! Kalshi publishes bids only, for both outcomes, sorted ascending (best bid last). A YES bid
//! at p is a NO ask at 1 − p, so the book of `T:yes` is YES bids + (1 − NO bids) as asks, and
//! the book of `T:no` is the mirror image (kalshi.md §3.1).

use plugin_api::{Book, Level, Price, Qty};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

use crate::errors::KalshiError;

/// Which outcome of a binary market an instrument is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Pays $1 if the market resolves YES.
    Yes,
    /// Pays $1 if the market resolves NO.
    No,
}

impl Outcome {
    /// `yes` or `no`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Yes => "yes",
            Outcome::No => "no",
        }
    }
}

/// A parsed instrument id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instrument {
    /// Kalshi market ticker, e.g. `KXNBAGAME-26MAY25NYKCLE-NYK`.
    pub ticker: String,
    /// The outcome.
    pub outcome: Outcome,
}

impl fmt::Display for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ticker, self.outcome.as_str())
    }
}

/// Whether `s` is safe to put in a URL path segment or query value without escaping. Tickers
/// and order ids are restricted to this set so an id can never change the signed path.
pub fn is_url_safe_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Instrument {
    /// Parses `TICKER:yes` / `TICKER:no`.
    pub fn parse(id: &str) -> Result<Instrument, KalshiError> {
        let bad = || {
            KalshiError::Input(format!(
                "instrument {id:?} is not a Kalshi instrument id (expected TICKER:yes or TICKER:no)"
            ))
        };
        let (ticker, side) = id.rsplit_once(':').ok_or_else(bad)?;
        let outcome = match side {
            "yes" | "YES" => Outcome::Yes,
            "no" | "NO" => Outcome::No,
            _ => return Err(bad()),
        };
        if !is_url_safe_id(ticker) {
            return Err(bad());
        }
        Ok(Instrument {
            ticker: ticker.to_string(),
            outcome,
        })
    }

    /// The instrument of the same ticker with outcome `o`.
    pub fn with_outcome(ticker: &str, o: Outcome) -> Instrument {
        Instrument {
            ticker: ticker.to_string(),
            outcome: o,
        }
    }
}

/// Reads a Kalshi fixed-point dollar string exactly.
pub fn dollars(v: &Value, what: &'static str) -> Result<Price, KalshiError> {
    match v {
        Value::String(s) => Price::parse(s).map_err(|e| KalshiError::parse(what, e.message)),
        // Prices are strings since Jan 2026; a JSON number would have passed through f64.
        other => Err(KalshiError::parse(
            what,
            format!("expected a dollar string, got {other}"),
        )),
    }
}

/// Reads a Kalshi fixed-point count (`"10.00"`, two decimals: kalshi.md §3), or a legacy
/// integer count, exactly. A finer count is not Kalshi's format and is refused, never rounded.
pub fn count(v: &Value, what: &'static str) -> Result<Qty, KalshiError> {
    match v {
        Value::String(s) => Qty::parse(s)
            .map_err(|e| KalshiError::parse(what, e.message))
            .and_then(|q| {
                if q.0 % crate::markets::CENT_CONTRACT.0 == 0 {
                    Ok(q)
                } else {
                    Err(KalshiError::parse(
                        what,
                        format!("count {s:?} has more than 2 decimals"),
                    ))
                }
            }),
        Value::Number(n) => n
            .as_i64()
            .and_then(|i| i.checked_mul(plugin_api::money::SHARE))
            .map(Qty)
            .ok_or_else(|| KalshiError::parse(what, format!("count {n} is not a whole number"))),
        other => Err(KalshiError::parse(
            what,
            format!("expected a count string, got {other}"),
        )),
    }
}

/// One side's bid ladder as Kalshi sends it: `[[price, count], ...]`; `null` means empty.
fn ladder(v: Option<&Value>) -> Result<Vec<Level>, KalshiError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let Some(arr) = v.as_array() else {
        if v.is_null() {
            return Ok(Vec::new());
        }
        return Err(KalshiError::parse("orderbook", "a side is not an array"));
    };
    let mut raw = Vec::with_capacity(arr.len());
    for lvl in arr {
        let pair = lvl.as_array().filter(|a| a.len() >= 2).ok_or_else(|| {
            KalshiError::parse("orderbook", format!("level {lvl} is not [price, count]"))
        })?;
        raw.push((
            dollars(&pair[0], "orderbook price")?,
            count(&pair[1], "orderbook count")?,
        ));
    }
    checked_ladder(raw)
}

/// Validates levels and merges repeated prices (so a repeated level cannot make the book
/// ill-formed); ascending by price, empty levels dropped.
pub(crate) fn checked_ladder(mut raw: Vec<(Price, Qty)>) -> Result<Vec<Level>, KalshiError> {
    for &(price, qty) in &raw {
        if price <= Price::ZERO || price >= Price::ONE {
            return Err(KalshiError::parse(
                "orderbook",
                format!("price {price} outside (0, 1)"),
            ));
        }
        if qty.0 < 0 {
            return Err(KalshiError::parse("orderbook", "negative count"));
        }
    }
    // Kalshi sends ascending prices, so this sort is a linear check in the common case.
    raw.sort_by_key(|l| l.0);
    let mut out: Vec<Level> = Vec::with_capacity(raw.len());
    for (price, qty) in raw.into_iter().filter(|l| l.1 .0 > 0) {
        match out.last_mut() {
            Some(last) if last.price == price => {
                last.qty = crate::num::add_qty(last.qty, qty, "orderbook count")?
            }
            _ => out.push(Level { price, qty }),
        }
    }
    Ok(out)
}

/// Builds the book of `ins` from a `GET /markets/{ticker}/orderbook` body.
pub fn parse_book(body: &Value, ins: &Instrument, ts_ms: i64) -> Result<Book, KalshiError> {
    // Current shape: {"orderbook_fp": {"yes_dollars": [...], "no_dollars": [...]}}; before
    // March 2026: {"orderbook": {"yes_dollars": [...], "no_dollars": [...], "yes": ..}}.
    let ob = body
        .get("orderbook_fp")
        .filter(|v| v.is_object())
        .or_else(|| body.get("orderbook").filter(|v| v.is_object()))
        .ok_or_else(|| KalshiError::parse("orderbook", "no `orderbook_fp` object"))?;
    let yes = ladder(ob.get("yes_dollars"))?;
    let no = ladder(ob.get("no_dollars"))?;
    Ok(assemble(yes, no, ins, ts_ms))
}

/// The book from the raw body. The current shape (string levels) is read straight from the
/// bytes without building a JSON tree; anything else (legacy integer counts, escapes, bad
/// data) goes through [`parse_book`], which names what is wrong.
pub fn parse_book_bytes(body: &[u8], ins: &Instrument, ts_ms: i64) -> Result<Book, KalshiError> {
    #[derive(serde::Deserialize)]
    struct Wire<'a> {
        #[serde(borrow)]
        orderbook_fp: Option<Sides<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Sides<'a> {
        #[serde(borrow, default)]
        yes_dollars: Option<Vec<(&'a str, &'a str)>>,
        #[serde(borrow, default)]
        no_dollars: Option<Vec<(&'a str, &'a str)>>,
    }
    fn side(levels: Option<Vec<(&str, &str)>>) -> Option<Vec<(Price, Qty)>> {
        levels
            .unwrap_or_default()
            .into_iter()
            .map(|(p, q)| Some((Price::parse(p).ok()?, Qty::parse(q).ok()?)))
            .collect()
    }
    if let Ok(Wire {
        orderbook_fp: Some(ob),
    }) = serde_json::from_slice::<Wire<'_>>(body)
    {
        if let (Some(yes), Some(no)) = (side(ob.yes_dollars), side(ob.no_dollars)) {
            return Ok(assemble(
                checked_ladder(yes)?,
                checked_ladder(no)?,
                ins,
                ts_ms,
            ));
        }
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| KalshiError::parse("orderbook", format!("response is not JSON: {e}")))?;
    parse_book(&v, ins, ts_ms)
}

/// `GET /markets/orderbooks?tickers=..`: the books of every requested instrument (both
/// outcomes of a ticker come from its one order book). Tickers the venue left out are left out.
pub fn parse_orderbooks(
    body: &Value,
    wanted: &[Instrument],
    ts_ms: i64,
) -> Result<Vec<Book>, KalshiError> {
    let arr = body
        .get("orderbooks")
        .and_then(Value::as_array)
        .ok_or_else(|| KalshiError::parse("orderbooks", "no `orderbooks` array"))?;
    let mut out = Vec::with_capacity(wanted.len());
    for ob in arr {
        let ticker = ob
            .get("ticker")
            .and_then(Value::as_str)
            .ok_or_else(|| KalshiError::parse("orderbooks", "an order book without `ticker`"))?;
        for ins in wanted.iter().filter(|i| i.ticker == ticker) {
            out.push(parse_book(ob, ins, ts_ms)?);
        }
    }
    Ok(out)
}

/// Both ladders (ascending YES and NO bids) as the book of `ins`.
pub(crate) fn assemble(yes: Vec<Level>, no: Vec<Level>, ins: &Instrument, ts_ms: i64) -> Book {
    let (own, other) = match ins.outcome {
        Outcome::Yes => (yes, no),
        Outcome::No => (no, yes),
    };
    // Own bids, best (highest) first.
    let bids: Vec<Level> = own.into_iter().rev().collect();
    // The other outcome's bid at p is our ask at 1 − p; ascending bids give descending asks,
    // so reverse again to get best (lowest) ask first.
    let asks: Vec<Level> = other
        .into_iter()
        .rev()
        .map(|l| Level {
            price: l.price.complement(),
            qty: l.qty,
        })
        .collect();
    Book {
        instrument: ins.to_string(),
        bids,
        asks,
        ts_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instrument_ids() {
        let i = Instrument::parse("KXNBAGAME-26MAY25NYKCLE-NYK:yes").unwrap();
        assert_eq!(i.ticker, "KXNBAGAME-26MAY25NYKCLE-NYK");
        assert_eq!(i.outcome, Outcome::Yes);
        assert_eq!(i.to_string(), "KXNBAGAME-26MAY25NYKCLE-NYK:yes");
        assert_eq!(Instrument::parse("A.B:no").unwrap().outcome, Outcome::No);
        for bad in [
            "",
            ":yes",
            "T",
            "T:maybe",
            "T/../x:yes",
            "T?x=1:yes",
            "T x:no",
        ] {
            assert!(Instrument::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exact_price_and_count_parsing() {
        assert_eq!(dollars(&json!("0.5600"), "p").unwrap(), Price(560_000));
        assert_eq!(dollars(&json!("0.0015"), "p").unwrap(), Price(1_500));
        assert_eq!(dollars(&json!("1.0000"), "p").unwrap(), Price::ONE);
        assert!(dollars(&json!(0.56), "p").is_err());
        assert!(dollars(&json!("0.1234567"), "p").is_err());
        assert!(dollars(&json!("abc"), "p").is_err());
        assert_eq!(count(&json!("10.00"), "c").unwrap(), Qty::shares(10));
        assert_eq!(
            count(&json!("0.01"), "c").unwrap(),
            Qty::parse("0.01").unwrap()
        );
        assert_eq!(count(&json!(13), "c").unwrap(), Qty::shares(13));
        assert!(count(&json!("1.001"), "c").is_err());
        assert!(count(&json!(1.5), "c").is_err());
        assert!(count(&Value::Null, "c").is_err());
    }

    fn sample() -> Value {
        json!({"orderbook_fp": {
            "yes_dollars": [["0.3500", "200.00"], ["0.4200", "13.00"]],
            "no_dollars": [["0.5000", "7.50"], ["0.5400", "400.00"]]
        }})
    }

    #[test]
    fn yes_book_derives_asks_from_no_bids() {
        let b = parse_book(&sample(), &Instrument::parse("T:yes").unwrap(), 5).unwrap();
        assert_eq!(b.instrument, "T:yes");
        assert_eq!(b.ts_ms, 5);
        assert_eq!(
            b.bids,
            vec![
                Level {
                    price: Price(420_000),
                    qty: Qty::shares(13)
                },
                Level {
                    price: Price(350_000),
                    qty: Qty::shares(200)
                }
            ]
        );
        assert_eq!(
            b.asks,
            vec![
                Level {
                    price: Price(460_000),
                    qty: Qty::shares(400)
                },
                Level {
                    price: Price(500_000),
                    qty: Qty::parse("7.50").unwrap()
                }
            ]
        );
        assert!(b.is_well_formed());
    }

    #[test]
    fn no_book_is_the_mirror() {
        let b = parse_book(&sample(), &Instrument::parse("T:no").unwrap(), 0).unwrap();
        assert_eq!(b.best_bid().unwrap().price, Price(540_000));
        assert_eq!(b.best_ask().unwrap().price, Price(580_000));
        assert_eq!(b.asks[1].price, Price(650_000));
        assert!(b.is_well_formed());
    }

    #[test]
    fn empty_null_and_legacy_shapes() {
        let i = Instrument::parse("T:yes").unwrap();
        let b = parse_book(&json!({"orderbook_fp": {"yes_dollars": null}}), &i, 0).unwrap();
        assert!(b.bids.is_empty() && b.asks.is_empty());
        let b = parse_book(
            &json!({"orderbook": {"yes": [[42, 13]], "yes_dollars": [["0.4200", 13]], "no_dollars": null}}),
            &i,
            0,
        )
        .unwrap();
        assert_eq!(
            b.bids,
            vec![Level {
                price: Price(420_000),
                qty: Qty::shares(13)
            }]
        );
        assert!(parse_book(&json!({}), &i, 0).is_err());
        assert!(parse_book(
            &json!({"orderbook_fp": {"yes_dollars": [["1.2", "1.00"]]}}),
            &i,
            0
        )
        .is_err());
        assert!(parse_book(&json!({"orderbook_fp": {"yes_dollars": [["0.2"]]}}), &i, 0).is_err());
        assert!(parse_book(&json!({"orderbook_fp": {"yes_dollars": "x"}}), &i, 0).is_err());
    }

    #[test]
    fn byte_path_matches_the_tree_path() {
        let ins = Instrument::parse("T:no").unwrap();
        for body in [
            json!({"orderbook_fp": {"yes_dollars": [["0.3500", "200.00"], ["0.4200", "13.00"], ["0.4200", "1.50"], ["0.4300", "0.00"]],
                                    "no_dollars": [["0.5400", "400.00"]]}}),
            json!({"orderbook_fp": {"yes_dollars": null, "no_dollars": []}}),
            // Legacy shape and integer counts: only the tree path reads them.
            json!({"orderbook": {"yes_dollars": [["0.4200", 13]], "no_dollars": [["0.5400", 400]], "yes": [[42, 13]]}}),
        ] {
            let bytes = serde_json::to_vec(&body).unwrap();
            assert_eq!(
                parse_book_bytes(&bytes, &ins, 7).unwrap(),
                parse_book(&body, &ins, 7).unwrap(),
                "{body}"
            );
        }
        let merged = parse_book_bytes(
            br#"{"orderbook_fp":{"yes_dollars":[["0.4200","13.00"],["0.4200","1.50"]],"no_dollars":[]}}"#,
            &ins,
            0,
        )
        .unwrap();
        assert_eq!(merged.asks.len(), 1);
        assert_eq!(merged.asks[0].qty, Qty::parse("14.50").unwrap());
        // Errors name the problem on either path.
        for bad in [
            &br#"{"orderbook_fp":{"yes_dollars":[["1.2000","1.00"]]}}"#[..],
            br#"{"orderbook_fp":{"yes_dollars":[["x","1.00"]]}}"#,
            br#"{"orderbook_fp":{"yes_dollars":[["0.5000","-1.00"]]}}"#,
            b"not json",
        ] {
            let e = parse_book_bytes(bad, &ins, 0).unwrap_err().to_string();
            assert!(e.contains("orderbook"), "{e}");
        }
    }
}
