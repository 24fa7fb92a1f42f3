//! `GET /api/trading/state` (and `/api/paper/state`): balances, open trades with their legs and
//! marks, today's counters, limits, realized and unrealized P&L, recent errors.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use plugin_api::Usd;
use serde_json::{json, Value};

use super::handlers::{internal, St};
use crate::store::LedgerError;

/// Money as both micro-dollars (like every other money field) and a decimal-dollar string.
fn money(v: Usd) -> (i64, String) {
    (v.0, v.to_decimal(6))
}

pub(super) async fn trading_state(State(s): St) -> Response {
    let run = || -> Result<Value, LedgerError> {
        let engine = &s.engine;
        let l = engine.ledger();
        let gate = engine.gate().state();
        let mut unrealized = Usd::ZERO;
        let mut unmarked = Vec::new();
        let mut open = Vec::new();
        for (t, legs, m) in engine.open_marks()? {
            unrealized += m.pnl;
            unmarked.extend(m.unmarked().map(|u| {
                json!({ "trade_id": t.id, "leg": u.leg, "venue": u.venue, "instrument": u.instrument, "held": u.held })
            }));
            let (pnl, pnl_usd) = money(m.pnl);
            open.push(json!({
                "trade": t,
                "legs": legs,
                "unrealized_pnl": pnl,
                "unrealized_pnl_usd": pnl_usd,
                "marks": m.legs,
            }));
        }
        let all = l.trades_in(&[])?;
        let realized: Usd = all.iter().filter_map(|t| t.realized_pnl).sum();
        let limits = engine
            .config()
            .risks
            .iter()
            .map(|r| json!({ "name": r.name, "settings": crate::plugins::registry::settings_json(&r.settings) }))
            .collect::<Vec<_>>();
        let (realized, realized_usd) = money(realized);
        let (unrealized, unrealized_usd) = money(unrealized);
        Ok(json!({
            "mode": engine.config().mode.as_str(),
            // `reconciling` until every trade a stop left in flight is known; then `trading`.
            "phase": engine.phase(),
            "pairs_not_trading": (0..engine.pairs().len())
                .filter_map(|i| engine.pair_off(i).map(|why| json!({ "pair": engine.pairs()[i].id, "reason": why })))
                .collect::<Vec<_>>(),
            "balances": gate.cash,
            "reserved": gate.reserved,
            "today": { "day": gate.day, "trades": gate.trades_today, "loss": gate.loss_today },
            "exposure": { "open": gate.open_exposure, "unhedged": gate.unhedged },
            "limits": limits,
            "open_trades": open,
            "trades_total": all.len(),
            "realized_pnl": realized,
            "realized_pnl_usd": realized_usd,
            "unrealized_pnl": unrealized,
            "unrealized_pnl_usd": unrealized_usd,
            "unmarked_legs": unmarked,
            // Simulators fed by live market data: which feed, and how fresh (empty in a replay).
            "feeds": engine.feed_status(),
            "stats": engine.stats(),
            // Per streaming venue: connections up, fresh books, disconnects, resyncs.
            "streams": engine.feed_health(),
            "errors": l.errors()?.into_iter().take(20).collect::<Vec<_>>(),
        }))
    };
    match run() {
        Ok(v) => Json(v).into_response(),
        Err(e) => internal(e),
    }
}
