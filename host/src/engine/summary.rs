//! The end-of-run summary.

use plugin_api::{Balance, Usd};
use serde::Serialize;
use std::collections::BTreeMap;

use super::setup::{Engine, Stats};
use crate::store::{state, LedgerError};

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Pairs watched.
    pub pairs: usize,
    /// Engine counters.
    pub stats: Stats,
    /// Trades by state, from the ledger.
    pub trades_by_state: BTreeMap<String, u64>,
    /// Realized P&L from the ledger (all settled trades).
    pub realized_pnl: Usd,
    /// Ending balances per venue.
    pub balances: Vec<(String, Balance)>,
    /// Open exposure the risk gate still counts (zero once everything settled).
    pub exposure_open: Usd,
}

impl Engine {
    /// Builds the summary from counters and the ledger.
    pub fn summary(&self, balances: Vec<(String, Balance)>) -> Result<Summary, LedgerError> {
        let mut by_state = BTreeMap::new();
        let mut pnl = Usd::ZERO;
        for t in self.ledger.trades_in(&[])? {
            *by_state.entry(t.state.as_str().to_string()).or_default() += 1;
            pnl += t.realized_pnl.unwrap_or_default();
        }
        Ok(Summary {
            pairs: self.pairs.get().len(),
            stats: self.stats(),
            trades_by_state: by_state,
            realized_pnl: pnl,
            balances,
            exposure_open: self.gate.state().open_exposure,
        })
    }
}

impl Summary {
    /// A plain-text table.
    pub fn table(&self) -> String {
        let s = &self.stats;
        let mut rows: Vec<(String, String)> = vec![
            ("pairs watched".into(), self.pairs.to_string()),
            ("book updates".into(), s.book_updates.to_string()),
            ("opportunities".into(), s.opportunities.to_string()),
            ("trades".into(), s.trades.to_string()),
        ];
        for (code, n) in &s.rejections {
            rows.push((format!("rejected: {code}"), n.to_string()));
        }
        rows.push(("legs filled".into(), s.legs_filled.to_string()));
        rows.push(("legs short".into(), s.legs_short.to_string()));
        rows.push(("unwinds".into(), s.unwinds.to_string()));
        rows.push(("naked".into(), s.naked.to_string()));
        rows.push(("ghost fills".into(), s.ghost_fills.to_string()));
        for (st, n) in &self.trades_by_state {
            rows.push((format!("trades {st}"), n.to_string()));
        }
        rows.push(("fees paid".into(), format!("${}", s.fees.to_decimal(2))));
        rows.push((
            "realized P&L".into(),
            format!("${}", self.realized_pnl.to_decimal(2)),
        ));
        for (v, b) in &self.balances {
            rows.push((
                format!("balance {v}"),
                format!("${}", b.available.to_decimal(2)),
            ));
        }
        let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let mut out = String::new();
        out.push_str(&format!("{:-<1$}\n", "", w + 16));
        for (k, v) in rows {
            out.push_str(&format!("{k:<w$}  {v:>12}\n"));
        }
        out.push_str(&format!("{:-<1$}\n", "", w + 16));
        out
    }

    /// Whether every trade that holds positions has settled.
    pub fn all_settled(&self) -> bool {
        [
            state::PLANNED,
            state::SUBMITTING,
            state::HEDGED,
            state::PARTIAL,
            state::UNWINDING,
        ]
        .iter()
        .all(|s| !self.trades_by_state.contains_key(s.as_str()))
    }
}
