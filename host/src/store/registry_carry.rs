//! A reset starts the trading record clean, but the pair registry is not trading record: which
//! pairs an operator approved, rejected or suspended, who decided and why, carry over to the
//! fresh ledger (the archive keeps its copy too).

use rusqlite::Connection;
use std::path::Path;

use super::ledger::{archive, Ledger, LedgerError};

/// Copies the registry tables of the `archived` ledger into `conn` (a fresh ledger).
pub(super) fn carry_registry(conn: &mut Connection, archived: &Path) -> rusqlite::Result<()> {
    conn.execute(
        "ATTACH DATABASE ?1 AS archived",
        [archived.to_string_lossy().as_ref()],
    )?;
    let copied = (|| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let has: i64 = tx.query_row(
            "SELECT COUNT(*) FROM archived.sqlite_master WHERE type = 'table' AND name = 'pair_registry'",
            [],
            |r| r.get(0),
        )?;
        if has > 0 {
            // Same binary, same migrations: the columns match one for one.
            tx.execute_batch(
                "INSERT INTO pair_registry SELECT * FROM archived.pair_registry;
                 INSERT INTO pair_history SELECT * FROM archived.pair_history;",
            )?;
        }
        tx.commit()
    })();
    let detached = conn.execute("DETACH DATABASE archived", []);
    copied?;
    detached.map(|_| ())
}

/// Archives the ledger file at `path` (moved aside, never deleted) and starts a fresh one that
/// keeps the pair registry. `None` when there was no ledger.
pub fn reset_ledger(path: &Path, stamp: &str) -> Result<Option<std::path::PathBuf>, LedgerError> {
    let Some(archived) = archive(path, stamp)? else {
        return Ok(None);
    };
    let fresh = Ledger::open(path)?;
    fresh.with(|c| carry_registry(c, &archived))?;
    Ok(Some(archived))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PairEntry, PairSideEntry};
    use crate::store::PairState;

    fn side(v: &str) -> PairSideEntry {
        PairSideEntry {
            venue: v.into(),
            yes: format!("{v}-yes"),
            no: format!("{v}-no"),
        }
    }

    fn ledger_with_a_suspended_pair(tag: &str) -> (Ledger, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "polymix-carry-{tag}-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("paper.sqlite");
        let l = Ledger::open(&path).unwrap();
        let p = PairEntry {
            id: "p1".into(),
            title: "Lakers beat Celtics".into(),
            a: side("pm"),
            b: side("ks"),
        };
        l.pair_sync_config(&[p], 1).unwrap();
        l.pair_decide(
            "p1",
            PairState::Suspended,
            "ops",
            Some("rules differ"),
            None,
            2,
        )
        .unwrap();
        (l, path)
    }

    fn assert_kept(l: &Ledger) {
        let p = l.pair("p1").unwrap().expect("the pair survived the reset");
        assert_eq!(p.state, PairState::Suspended);
        assert!(l.trades_in(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_reset_through_the_api_keeps_the_registry() {
        let (l, _) = ledger_with_a_suspended_pair("api");
        let archived = l.archive_and_restart("1").unwrap();
        assert!(archived.exists());
        assert_kept(&l);
    }

    #[test]
    fn a_reset_from_the_cli_keeps_the_registry() {
        let (l, path) = ledger_with_a_suspended_pair("cli");
        drop(l);
        let archived = reset_ledger(&path, "1").unwrap().expect("archived");
        assert!(archived.exists());
        assert_kept(&Ledger::open(&path).unwrap());
        // The archive still holds its own copy.
        assert!(Ledger::open(&archived)
            .unwrap()
            .pair("p1")
            .unwrap()
            .is_some());
    }
}
