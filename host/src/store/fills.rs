//! What the venues booked, fill by fill: shares, price and fee of each execution and its
//! settlement status, from whichever source saw it first (the REST fill sweep or a venue's
//! user stream). A fill is keyed by its venue and the venue's fill id, so the same fill seen
//! by both sources is one row: the engine decides from these rows, never from a count of
//! reports, and so never books a fill twice.

use plugin_api::{Fill, FillStatus, Price, Qty, Usd};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::ledger::{Ledger, LedgerError};

/// Where a fill report came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FillSource {
    /// The venue's fills endpoint (the settle sweep).
    Rest,
    /// The venue's user stream.
    Stream,
}

impl FillSource {
    fn as_str(self) -> &'static str {
        match self {
            FillSource::Rest => "rest",
            FillSource::Stream => "stream",
        }
    }
}

fn status_str(s: FillStatus) -> &'static str {
    match s {
        FillStatus::Matched => "matched",
        FillStatus::Mined => "mined",
        FillStatus::Confirmed => "confirmed",
        FillStatus::Failed => "failed",
        // A status added later is not final: it can still move.
        _ => "matched",
    }
}

fn status_parse(s: &str) -> FillStatus {
    match s {
        "mined" => FillStatus::Mined,
        "confirmed" => FillStatus::Confirmed,
        "failed" => FillStatus::Failed,
        _ => FillStatus::Matched,
    }
}

/// One recorded fill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FillRow {
    /// Venue instance.
    pub venue: String,
    /// The venue's fill id.
    pub fill_id: String,
    /// The venue's order id.
    pub order_id: String,
    /// Instrument.
    pub instrument: String,
    /// `buy` or `sell`.
    pub side: String,
    /// Execution price the venue booked.
    pub price: Price,
    /// Shares.
    pub qty: Qty,
    /// Fee the venue charged for this fill.
    pub fee: Usd,
    /// Settlement status now.
    pub status: FillStatus,
    /// Venue time of the fill, ms.
    pub ts_ms: i64,
    /// Which source saw it first.
    pub source: String,
}

impl Ledger {
    /// Records fill reports of `venue`; a fill seen before keeps its first source and takes
    /// the newer status, except that a final status (confirmed, failed) is never taken back
    /// by a lagging report. Returns how many rows were new or changed status.
    pub fn record_fills(
        &self,
        venue: &str,
        fills: &[Fill],
        source: FillSource,
        now_ms: i64,
    ) -> Result<usize, LedgerError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut n = 0;
            {
                let mut s = tx.prepare_cached(
                    "INSERT INTO fills (venue, fill_id, order_id, instrument, side, price, qty, fee, status, ts_ms, source, first_seen_ms, updated_ms)
                     VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?12)
                     ON CONFLICT (venue, fill_id) DO UPDATE SET
                        status = excluded.status, updated_ms = excluded.updated_ms
                     WHERE fills.status NOT IN ('confirmed', 'failed') AND fills.status <> excluded.status",
                )?;
                for f in fills {
                    let side = match f.side {
                        plugin_api::Side::Buy => "buy",
                        plugin_api::Side::Sell => "sell",
                    };
                    n += s.execute(params![
                        venue,
                        f.fill_id,
                        f.order_id,
                        f.instrument,
                        side,
                        f.price.0,
                        f.qty.0,
                        f.fee.0,
                        status_str(f.status),
                        f.ts_ms,
                        source.as_str(),
                        now_ms,
                    ])?;
                }
            }
            tx.commit()?;
            Ok(n)
        })
    }

    /// The recorded fills of one order.
    pub fn fills_of_order(&self, venue: &str, order_id: &str) -> Result<Vec<FillRow>, LedgerError> {
        self.read(|c| {
            let mut s = c.prepare_cached(
                "SELECT venue, fill_id, order_id, instrument, side, price, qty, fee, status, ts_ms, source
                 FROM fills WHERE venue = ?1 AND order_id = ?2 ORDER BY ts_ms, rowid",
            )?;
            let rows = s.query_map(params![venue, order_id], |r| {
                Ok(FillRow {
                    venue: r.get(0)?,
                    fill_id: r.get(1)?,
                    order_id: r.get(2)?,
                    instrument: r.get(3)?,
                    side: r.get(4)?,
                    price: Price(r.get(5)?),
                    qty: Qty(r.get(6)?),
                    fee: Usd(r.get(7)?),
                    status: status_parse(&r.get::<_, String>(8)?),
                    ts_ms: r.get(9)?,
                    source: r.get(10)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The trade an order of `venue` belongs to, by the venue's order id or our client id.
    pub fn trade_of_order(
        &self,
        venue: &str,
        order_id: Option<&str>,
        client_order_id: Option<&str>,
    ) -> Result<Option<String>, LedgerError> {
        self.read(|c| {
            if let Some(id) = order_id {
                let t = c
                    .query_row(
                        "SELECT trade_id FROM orders WHERE venue = ?1 AND order_id = ?2",
                        params![venue, id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if t.is_some() {
                    return Ok(t);
                }
            }
            match client_order_id {
                Some(coid) => c
                    .query_row(
                        "SELECT trade_id FROM orders WHERE venue = ?1 AND client_order_id = ?2",
                        params![venue, coid],
                        |r| r.get(0),
                    )
                    .optional(),
                None => Ok(None),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::Side;

    fn fill(id: &str, status: FillStatus) -> Fill {
        Fill {
            fill_id: id.into(),
            order_id: "o1".into(),
            client_order_id: None,
            instrument: "tok".into(),
            side: Side::Buy,
            price: Price(400_000),
            qty: Qty::shares(10),
            fee: Usd(20_000),
            ts_ms: 5,
            status,
        }
    }

    #[test]
    fn one_row_per_fill_whatever_reports_it_and_final_statuses_stay() {
        let dir = std::env::temp_dir().join(format!("polymix-fills-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let l = Ledger::open(&dir.join("l.db")).unwrap();
        assert_eq!(
            l.record_fills(
                "pm",
                &[fill("f1", FillStatus::Matched)],
                FillSource::Stream,
                1
            )
            .unwrap(),
            1
        );
        // The REST sweep sees the same fill: no second row, nothing changed.
        assert_eq!(
            l.record_fills(
                "pm",
                &[fill("f1", FillStatus::Matched)],
                FillSource::Rest,
                2
            )
            .unwrap(),
            0
        );
        assert_eq!(
            l.record_fills(
                "pm",
                &[fill("f1", FillStatus::Failed)],
                FillSource::Stream,
                3
            )
            .unwrap(),
            1
        );
        // A lagging report cannot take a failure back.
        assert_eq!(
            l.record_fills(
                "pm",
                &[fill("f1", FillStatus::Matched)],
                FillSource::Rest,
                4
            )
            .unwrap(),
            0
        );
        let rows = l.fills_of_order("pm", "o1").unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].status, FillStatus::Failed);
        assert_eq!(rows[0].source, "stream");
        assert_eq!(
            (rows[0].price, rows[0].qty, rows[0].fee),
            (Price(400_000), Qty::shares(10), Usd(20_000))
        );
        // Another venue's fill with the same id is another fill.
        l.record_fills(
            "ks",
            &[fill("f1", FillStatus::Confirmed)],
            FillSource::Rest,
            5,
        )
        .unwrap();
        assert_eq!(l.fills_of_order("pm", "o1").unwrap().len(), 1);
        assert_eq!(l.fills_of_order("ks", "o1").unwrap().len(), 1);
    }
}
