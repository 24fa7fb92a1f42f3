//! `polymix trades`: every trade of the ledger with its legs (entry and unwind orders), as
//! booked: shares filled, money paid and fees per order, not what was asked.

use std::path::Path;
use std::process::ExitCode;

use polymix_host::store::{state, Ledger, OrderRow, TradeRow};

use super::output::outln;

/// Which trades to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Every trade, oldest first.
    All,
    /// Trades that may still hold or acquire positions.
    Open,
}

fn is_open(t: &TradeRow) -> bool {
    state::OPEN.contains(&t.state) && t.settled_ms.is_none()
}

/// Prints the trades.
pub async fn trades(path: &Path, json: bool, which: Which) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(path)?;
    let ledger_path = cfg.ledger_path();
    if !ledger_path.exists() {
        anyhow::bail!(
            "{}: no ledger at {} (nothing has run with this config yet)",
            path.display(),
            ledger_path.display()
        );
    }
    let ledger = Ledger::open(&ledger_path)?;
    let mut rows: Vec<(TradeRow, Vec<OrderRow>)> = Vec::new();
    for t in ledger.trades_in(&[])? {
        if which == Which::Open && !is_open(&t) {
            continue;
        }
        let legs = ledger.orders_of(&t.id)?;
        rows.push((t, legs));
    }
    if json {
        let list = rows
            .iter()
            .map(|(t, legs)| {
                let mut v = serde_json::to_value(t)?;
                v["legs"] = serde_json::to_value(legs)?;
                Ok(v)
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        outln!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} trades ({}) in {}",
        rows.len(),
        if which == Which::Open { "open" } else { "all" },
        ledger_path.display()
    );
    for (t, legs) in &rows {
        outln!(
            "{} {} {} {} qty {} cost ${} expected ${} realized {}{}",
            t.id,
            t.pair_id,
            t.direction,
            t.state,
            t.qty,
            t.expected_cost.to_decimal(2),
            t.expected_profit.to_decimal(2),
            t.realized_pnl
                .map(|p| format!("${}", p.to_decimal(2)))
                .unwrap_or_else(|| "-".into()),
            if t.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", t.note)
            }
        );
        for o in legs {
            outln!(
                "    {} {} {} {} {} {} @ {} {}: filled {} for ${} fees ${}{}",
                o.leg,
                o.purpose,
                o.venue,
                o.side,
                o.instrument,
                o.qty,
                o.price.to_decimal(4),
                o.state,
                o.filled_qty,
                o.filled_notional.to_decimal(2),
                o.fees.to_decimal(2),
                o.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
