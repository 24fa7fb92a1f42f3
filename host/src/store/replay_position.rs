//! Where a killed paper replay resumes: the simulated time of the ledger's last write.
//!
//! A replay's engine persists every state change before acting on it, stamped with the
//! simulated clock; the simulators journal every order operation before applying it (see
//! paper-sim's `resume` module). So the last ledger time is the last step whose effects are
//! durable: the simulators are brought to it, and the replay goes on from the next scenario
//! event after it. Nothing after it had a durable effect, so running it again is the same as
//! running it the first time (the simulation and the engine's decisions are deterministic).

use rusqlite::OptionalExtension;

use super::{Ledger, LedgerError};

/// Totals of a ledger's trades that a process's own counters cannot give after a restart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerTotals {
    /// Trades journaled.
    pub trades: u64,
    /// Fees of every order, as the venues booked them (micro-dollars).
    pub fees: i64,
}

impl Ledger {
    /// The simulated (or wall-clock) time of the ledger's last trade, order, transition or
    /// settlement write; `None` for an empty ledger.
    pub fn last_write_ms(&self) -> Result<Option<i64>, LedgerError> {
        self.read(|c| {
            c.query_row(
                "SELECT MAX(m) FROM (
                    SELECT MAX(updated_ms) AS m FROM trades
                    UNION ALL SELECT MAX(updated_ms) FROM orders
                    UNION ALL SELECT MAX(ts_ms) FROM transitions
                    UNION ALL SELECT MAX(ts_ms) FROM settlements)",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()
            .map(Option::flatten)
        })
    }

    /// Trade count and fees over the whole ledger.
    pub fn totals(&self) -> Result<LedgerTotals, LedgerError> {
        self.read(|c| {
            let trades: i64 = c.query_row("SELECT COUNT(*) FROM trades", [], |r| r.get(0))?;
            let fees: i64 = c.query_row("SELECT COALESCE(SUM(fees), 0) FROM orders", [], |r| {
                r.get(0)
            })?;
            Ok(LedgerTotals {
                trades: trades.max(0) as u64,
                fees,
            })
        })
    }
}

/// The folder under the data dir where paper-sim keeps a scenario replay's journals by default
/// (paper-sim's `settings::default_journal`; plugins keep their own state under
/// `<data_dir>/<plugin>/`).
pub const PAPER_JOURNALS_DIR: &str = "paper-sim";

/// Moves the paper journals aside with the ledger on a reset (`<data_dir>/paper-sim` becomes
/// `<data_dir>/paper-sim.<stamp>`, never deleted), so the next replay starts from its scenario.
/// `None` when there were none.
pub fn archive_paper_journals(
    data_dir: &std::path::Path,
    stamp: &str,
) -> std::io::Result<Option<std::path::PathBuf>> {
    let dir = data_dir.join(PAPER_JOURNALS_DIR);
    if !dir.is_dir() {
        return Ok(None);
    }
    let to = data_dir.join(format!("{PAPER_JOURNALS_DIR}.{stamp}"));
    std::fs::rename(&dir, &to)?;
    Ok(Some(to))
}
