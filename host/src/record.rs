//! `polymix record`: what the live feeds deliver — books, rules, exchange status and
//! resolutions — written as a paper-sim scenario (`config/scenarios/README.md`, format 1), so
//! a recorded stretch of live market data replays deterministically with `polymix run`.
//!
//! Every simulator venue fed by a market-data instance (`feed = "..."`) becomes one scenario
//! venue keyed by its instance name (replay it with `scenario = FILE`, `venue_key = "<name>"`).
//! Its pair legs become scenario markets: a Kalshi market `T` from `T:yes`/`T:no`, a Polymarket
//! market from a leg's two tokens. A scenario market carries the book of its first instrument
//! (Kalshi `T:yes`, the Polymarket leg's `yes` token); the other instrument replays as its
//! mirror, which is exactly Kalshi's one order book and how Polymarket's complementary tokens
//! match. A book line is written only when the book changed; crossed snapshots are skipped.

use plugin_api::{Book, Level, OpResult, Price, VenueOp, VenueRules};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, VenueRole};
use crate::plugins::Registry;
use crate::venue_io::{Clock, SystemClock, VenueIo, VenueIoSettings};

/// Why a recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The config has nothing to record, or names something that cannot be recorded.
    #[error("{0}")]
    Config(String),
    /// Writing the file failed.
    #[error("writing the scenario: {0}")]
    Io(#[from] std::io::Error),
}

/// How long and how often to record.
#[derive(Clone, Copy, Debug)]
pub struct RecordOptions {
    /// Stop after this long (or at the stop signal).
    pub duration: Duration,
    /// Book polling interval.
    pub poll: Duration,
    /// Resolution and exchange-status polling interval.
    pub settle_poll: Duration,
}

/// What was written.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RecordSummary {
    /// Scenario markets.
    pub markets: usize,
    /// Book lines.
    pub books: u64,
    /// Resolve lines.
    pub resolutions: u64,
    /// Status lines.
    pub statuses: u64,
    /// Snapshots skipped (crossed books, failed polls).
    pub skipped: u64,
}

struct Market {
    venue: usize,
    id: String,
    instruments: [String; 2],
    tick: Price,
    min_size: plugin_api::Qty,
    fee: plugin_api::FeeModel,
    last: Option<(Vec<Level>, Vec<Level>)>,
    resolved: bool,
}

struct Source {
    key: String,
    rules: &'static str,
    io: VenueIo,
    trading: Option<bool>,
}

fn price(p: Price) -> String {
    p.to_decimal(6)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

fn levels(ls: &[Level]) -> Value {
    Value::Array(
        ls.iter()
            // Exact: "10.00", or "10.3571" when the venue's book holds a finer size.
            .map(|l| json!([price(l.price), l.qty.to_string()]))
            .collect(),
    )
}

/// Best first, repeats merged, empty levels dropped.
fn tidy(ls: &[Level], bids: bool) -> Vec<Level> {
    let mut by: BTreeMap<Price, plugin_api::Qty> = BTreeMap::new();
    for l in ls.iter().filter(|l| l.qty.0 > 0) {
        *by.entry(l.price).or_insert(plugin_api::Qty::ZERO) += l.qty;
    }
    let v = by.into_iter().map(|(price, qty)| Level { price, qty });
    if bids {
        v.rev().collect()
    } else {
        v.collect()
    }
}

/// The scenario markets of the fed venues, and their feeds.
fn plan(cfg: &Config, reg: &Registry) -> Result<(Vec<Source>, Vec<Market>), RecordError> {
    let mut sources = Vec::new();
    let mut markets: Vec<Market> = Vec::new();
    for v in cfg.venues.iter().filter(|v| v.role == VenueRole::Trading) {
        let Some(feed) = &v.feed else { continue };
        let (inst, entry) = reg
            .venue(feed)
            .zip(cfg.venue(feed))
            .ok_or_else(|| RecordError::Config(format!("feed `{feed}` did not load")))?;
        let rules = match inst.info.rules {
            VenueRules::Polymarket => "polymarket",
            VenueRules::Kalshi => "kalshi",
            _ => {
                return Err(RecordError::Config(format!(
                    "feed `{feed}` follows neither Polymarket's nor Kalshi's rules; the scenario format has no other"
                )))
            }
        };
        let vi = sources.len();
        for leg in cfg.pairs.iter().flat_map(|p| [&p.a, &p.b]) {
            if leg.venue != v.name {
                continue;
            }
            let (id, instruments) = if rules == "kalshi" {
                let t = leg
                    .yes
                    .strip_suffix(":yes")
                    .or_else(|| leg.yes.strip_suffix(":no"))
                    .ok_or_else(|| {
                        RecordError::Config(format!(
                            "pair instrument {:?} on {} is not a Kalshi TICKER:yes / TICKER:no",
                            leg.yes, v.name
                        ))
                    })?;
                (t.to_string(), [format!("{t}:yes"), format!("{t}:no")])
            } else {
                (leg.yes.clone(), [leg.yes.clone(), leg.no.clone()])
            };
            let known = markets.iter().any(|m| {
                m.venue == vi
                    && (m.id == id
                        || m.instruments.contains(&instruments[0])
                        || m.instruments.contains(&instruments[1]))
            });
            if !known {
                markets.push(Market {
                    venue: vi,
                    id,
                    instruments,
                    tick: Price(10_000),
                    min_size: plugin_api::Qty::shares(1),
                    fee: plugin_api::FeeModel::FREE,
                    last: None,
                    resolved: false,
                });
            }
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        sources.push(Source {
            key: v.name.clone(),
            rules,
            io: VenueIo::new(
                feed,
                inst.handle.clone(),
                VenueIoSettings::resolve(entry, &inst.info.rate_limits),
                clock,
            ),
            trading: None,
        });
    }
    if sources.is_empty() {
        return Err(RecordError::Config(format!(
            "{}: no venue has a `feed`; record needs simulators fed by market-data instances (see config/paper-live.toml)",
            cfg.source.display()
        )));
    }
    Ok((sources, markets))
}

/// Records until `duration` has passed or `stop` turns true, then writes the scenario.
pub async fn record<W: Write>(
    cfg: &Config,
    reg: &Registry,
    out: &mut W,
    opts: RecordOptions,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<RecordSummary, RecordError> {
    let (mut sources, mut markets) = plan(cfg, reg)?;
    let clock = SystemClock;
    let mut summary = RecordSummary::default();
    // Rules first: a market whose rules cannot be read is not recorded.
    let mut keep = Vec::new();
    for mut m in markets.drain(..) {
        let op = VenueOp::Rules {
            instrument: m.instruments[0].clone(),
        };
        match sources[m.venue].io.run(&op).await {
            Ok(OpResult::Rules { rules }) => {
                m.tick = rules.tick;
                m.min_size = rules.min_qty;
                // Any schedule: the scenario stores it as data when it is not the venue's own
                // formula at a rate.
                m.fee = rules.taker_fee;
                keep.push(m);
            }
            other => {
                tracing::error!(market = %m.id, result = ?other.err(), "rules unreadable; market not recorded");
            }
        }
    }
    let mut markets = keep;
    let start = clock.now_ms();
    let started = std::time::Instant::now();
    let mut last_settle: Option<std::time::Instant> = None;
    let mut events: Vec<(i64, Value)> = Vec::new();
    while started.elapsed() < opts.duration && !*stop.borrow() {
        if last_settle.is_none_or(|t| t.elapsed() >= opts.settle_poll) {
            last_settle = Some(std::time::Instant::now());
            for (vi, s) in sources.iter_mut().enumerate() {
                if let Ok(OpResult::ExchangeStatus { trading, .. }) =
                    s.io.run(&VenueOp::ExchangeStatus).await
                {
                    if s.trading != Some(trading) && (s.trading.is_some() || !trading) {
                        events.push((
                            clock.now_ms(),
                            json!({"type":"status","venue":s.key,"trading":trading}),
                        ));
                        summary.statuses += 1;
                    }
                    s.trading = Some(trading);
                }
                for m in markets.iter_mut().filter(|m| m.venue == vi && !m.resolved) {
                    let op = VenueOp::Resolution {
                        instrument: m.instruments[0].clone(),
                    };
                    if let Ok(OpResult::Resolution { resolution }) = s.io.run(&op).await {
                        if resolution.resolved {
                            m.resolved = true;
                            let winner = if resolution.payout == Price::ONE {
                                &m.instruments[0]
                            } else {
                                &m.instruments[1]
                            };
                            events.push((
                                clock.now_ms(),
                                json!({"type":"resolve","venue":s.key,"market":m.id,"winner":winner}),
                            ));
                            summary.resolutions += 1;
                        }
                    }
                }
            }
        }
        for m in markets.iter_mut().filter(|m| !m.resolved) {
            let s = &sources[m.venue];
            let op = VenueOp::Book {
                instrument: m.instruments[0].clone(),
            };
            let Ok(OpResult::Book { book }) = s.io.run(&op).await else {
                summary.skipped += 1;
                continue;
            };
            let Book { bids, asks, .. } = book;
            let (bids, asks) = (tidy(&bids, true), tidy(&asks, false));
            if let (Some(b), Some(a)) = (bids.first(), asks.first()) {
                if b.price >= a.price {
                    summary.skipped += 1;
                    continue;
                }
            }
            if m.last.as_ref() == Some(&(bids.clone(), asks.clone())) {
                continue;
            }
            let mut line = json!({"type":"book","ts":0,"venue":s.key,"market":m.id});
            if s.rules == "kalshi" {
                // Kalshi lines are bids only: NO bids are the YES asks mirrored.
                let no: Vec<Level> = asks
                    .iter()
                    .map(|l| Level {
                        price: l.price.complement(),
                        qty: l.qty,
                    })
                    .collect();
                line["yes"] = levels(&bids);
                line["no"] = levels(&no);
            } else {
                line["bids"] = levels(&bids);
                line["asks"] = levels(&asks);
            }
            events.push((clock.now_ms(), line));
            summary.books += 1;
            m.last = Some((bids, asks));
        }
        tokio::time::sleep(opts.poll).await;
    }
    // Header first, then markets, then events in time order.
    let end = events.iter().map(|e| e.0).max().unwrap_or(start).max(start);
    let mut w = std::io::BufWriter::new(out);
    let venues: Vec<Value> = sources
        .iter()
        .map(|s| json!({"key": s.key, "rules": s.rules}))
        .collect();
    writeln!(
        w,
        "{}",
        json!({"type":"header","version":1,"name":"recorded","start_ms":start,"end_ms":end,"venues":venues})
    )?;
    for m in &markets {
        let s = &sources[m.venue];
        let mut line = json!({
            "type":"market","venue":s.key,"id":m.id,"tick":price(m.tick),
            "min_size":m.min_size.to_decimal(2),
        });
        let (key, value) = scenario_fee(s.rules, &m.fee);
        line[key] = value;
        if s.rules == "polymarket" {
            line["tokens"] = json!(m.instruments);
        }
        writeln!(w, "{line}")?;
    }
    let mut ts = start;
    for (t, mut line) in events {
        // Non-decreasing, as the format requires (the clock may step back).
        ts = ts.max(t);
        line["ts"] = json!(ts);
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    summary.markets = markets.len();
    Ok(summary)
}

/// How a scenario stores a market's fee schedule: `fee_rate_ppm` when it is the venue rules'
/// own formula at a rate (what older scenarios hold), else `fee`, the schedule as data.
fn scenario_fee(rules: &str, fee: &plugin_api::FeeModel) -> (&'static str, Value) {
    use plugin_api::FeeModel;
    // The formula paper-sim applies to a rate under these rules (its `RulesKind::fee_at_rate`;
    // the host does not link plugins).
    let at_rate: fn(u32) -> FeeModel = match rules {
        "polymarket" => FeeModel::polymarket,
        "kalshi" => FeeModel::kalshi,
        _ => return ("fee", json!(fee)),
    };
    match fee.terms() {
        [t] if at_rate(t.ppm) == *fee => ("fee_rate_ppm", json!(t.ppm)),
        _ => ("fee", json!(fee)),
    }
}

#[cfg(test)]
mod fee_tests {
    use super::scenario_fee;
    use plugin_api::{FeeModel, FeeShape, FeeTerm};
    use serde_json::json;

    #[test]
    fn the_venues_own_formula_is_a_rate_and_any_other_schedule_is_data() {
        assert_eq!(
            scenario_fee("polymarket", &FeeModel::polymarket(30_000)),
            ("fee_rate_ppm", json!(30_000))
        );
        assert_eq!(
            scenario_fee("kalshi", &FeeModel::KALSHI_TAKER),
            ("fee_rate_ppm", json!(70_000))
        );
        // Kalshi's rounding on a Polymarket-rules venue is not Polymarket's formula: data.
        let (k, v) = scenario_fee("polymarket", &FeeModel::KALSHI_TAKER);
        assert_eq!(k, "fee");
        assert_eq!(
            serde_json::from_value::<FeeModel>(v).unwrap(),
            FeeModel::KALSHI_TAKER
        );
        let flat = FeeModel::new(
            &[FeeTerm::per_share(20_000, FeeShape::One)],
            FeeModel::KALSHI_TAKER.rounding(),
        )
        .expect("valid");
        let (k, v) = scenario_fee("kalshi", &flat);
        assert_eq!(k, "fee");
        assert_eq!(serde_json::from_value::<FeeModel>(v).unwrap(), flat);
        let (k, v) = scenario_fee("kalshi", &FeeModel::FREE);
        assert_eq!(k, "fee");
        assert_eq!(
            serde_json::from_value::<FeeModel>(v).unwrap(),
            FeeModel::FREE
        );
    }
}
