//! `polymix state` and `polymix reset`.

use std::path::Path;
use std::process::ExitCode;

use polymix_host::config::resolve_secret;
use polymix_host::engine::utc_day;
use polymix_host::store::{reset_ledger, state, Ledger};
use polymix_host::venue_io::{Clock, SystemClock};
use subtle::ConstantTimeEq;

use super::output::outln;

/// Prints the ledger's state.
pub async fn state(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(path)?;
    let ledger = Ledger::open(&cfg.ledger_path())?;
    let all = ledger.trades_in(&[])?;
    let open: Vec<_> = all
        .iter()
        .filter(|t| state::OPEN.contains(&t.state) && t.settled_ms.is_none())
        .cloned()
        .collect();
    let day = all
        .last()
        .map(|t| t.day.clone())
        .unwrap_or_else(|| utc_day(SystemClock.now_ms()));
    let daily = ledger.daily(&day)?;
    let errors = ledger.errors()?;
    let pnl: i64 = all.iter().filter_map(|t| t.realized_pnl).map(|u| u.0).sum();
    if json {
        let mut legs = serde_json::Map::new();
        for t in &open {
            legs.insert(
                t.id.clone(),
                serde_json::to_value(ledger.orders_of(&t.id)?)?,
            );
        }
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "mode": cfg.mode.as_str(),
                "ledger": cfg.ledger_path(),
                "trades": all.len(),
                "open_trades": open,
                "open_legs": legs,
                "day": day,
                "daily": daily,
                "realized_pnl": plugin_api::Usd(pnl),
                "errors": errors,
            }))?
        );
    } else {
        outln!(
            "mode: {}  ledger: {}",
            cfg.mode.as_str(),
            cfg.ledger_path().display()
        );
        outln!(
            "trades: {}  realized P&L: ${}",
            all.len(),
            plugin_api::Usd(pnl).to_decimal(2)
        );
        outln!(
            "{day}: {} trades, loss ${}, P&L ${}",
            daily.trades,
            daily.loss.to_decimal(2),
            daily.pnl.to_decimal(2)
        );
        outln!("open trades: {}", open.len());
        for t in &open {
            outln!(
                "  {} {} {} qty {} ({})",
                t.id,
                t.pair_id,
                t.state,
                t.qty,
                t.note
            );
        }
        outln!("errors: {}", errors.len());
        for e in errors.iter().take(10) {
            outln!(
                "  [{}] {}: {}",
                e.source,
                e.trade_id.as_deref().unwrap_or("-"),
                e.message
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Archives the ledger after checking the reset key in constant time.
pub async fn reset(path: &Path, key: &str) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(path)?;
    let Some(r) = &cfg.api.reset_key else {
        anyhow::bail!(
            "{}: api.reset_key is not configured (or set {}_TRADING_RESET_KEY); refusing to reset",
            path.display(),
            cfg.mode.as_str().to_uppercase()
        );
    };
    let expected = resolve_secret(r, &cfg.config_dir).map_err(anyhow::Error::msg)?;
    if !bool::from(expected.as_bytes().ct_eq(key.as_bytes())) {
        eprintln!("error: wrong reset key; nothing changed");
        return Ok(ExitCode::from(1));
    }
    let stamp = format!("{}", SystemClock.now_ms());
    match reset_ledger(&cfg.ledger_path(), &stamp)? {
        Some(p) => outln!("ledger archived to {}", p.display()),
        None => outln!(
            "no ledger at {}; nothing to archive",
            cfg.ledger_path().display()
        ),
    }
    // A replay's paper accounts follow the ledger: without it they would resume a run it no
    // longer knows.
    let data_dir = cfg.resolve_path(&cfg.data_dir);
    match polymix_host::store::archive_paper_journals(&data_dir, &stamp) {
        Ok(Some(p)) => outln!("paper journals archived to {}", p.display()),
        Ok(None) => {}
        Err(e) => anyhow::bail!(
            "{}: could not archive the paper journals: {e}",
            data_dir
                .join(polymix_host::store::PAPER_JOURNALS_DIR)
                .display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}
