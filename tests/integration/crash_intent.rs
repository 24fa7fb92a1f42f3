//! A kill between a live trade's intent and its rows (`store::intent_log`): the trade's journal
//! before its legs leave is one line of the process's intent file, and its trade, order and
//! transition rows are written from it at the ledger's next use. The process dies after both
//! legs reached their venues and before that use (`POLYMIX_FAULT_DIE_AT_ANSWER`); the intent
//! file then holds the intent and the ledger no trade. Restart must write the rows from it, find both legs by their journaled ids
//! without sending either again, and resolve the trade.

use plugin_api::{client_order_id, Qty};
use polymix_doubles::kalshi::{self, KalshiDoubleConfig};
use polymix_doubles::polymarket as pmd;
use polymix_host::store::{state, Leg};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::crash_restart::{ledger_trades, pm_ks_config, until, Polymix};
use crate::live_e2e::{engine_toml, polymarket_venue_toml, seed};
use crate::support::temp_dir;

/// Rows of `table` in the ledger file, read with SQLite alone (opening a `Ledger` would write
/// the intents out).
fn rows(ledger: &Path, table: &str) -> i64 {
    let c =
        rusqlite::Connection::open_with_flags(ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the ledger file");
    c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

/// Journaled intents (complete lines) in the intent files beside the ledger file.
fn intents(ledger: &Path) -> usize {
    polymix_host::store::intent_files(ledger)
        .expect("list the data directory")
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .matches('\n')
                .count()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_a_trades_intent_and_its_rows_restart_writes_them_and_resolves_it() {
    let pm = pmd::spawn(pmd::PolymarketDoubleConfig {
        settle_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir("crash-intent");
    let config = |file: &str, engine: String| {
        pm_ks_config(&dir, file, &polymarket_venue_toml(&dir, &pm), &ks, &engine)
    };
    // The first run's sweeps stay away (each reads the ledger, which writes the rows): only
    // the trade itself could use the ledger after its intent, and it dies first.
    let quiet = engine_toml(50, 600_000).replace("reconcile_ms = 100", "reconcile_ms = 600000");
    let cfg1 = config("run1.toml", quiet);
    let cfg2 = config("run2.toml", engine_toml(50, 500));
    let ledger = dir.join("data").join("live.sqlite");

    let mut p1 = Polymix::start_with_env(
        &cfg1,
        dir.join("run1.log"),
        &[("POLYMIX_FAULT_DIE_AT_ANSWER", "1")],
    );
    let start = Instant::now();
    while p1.running() {
        assert!(
            start.elapsed() < Duration::from_secs(25),
            "the first run did not die at its first answer; log:\n{}",
            p1.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log1 = p1.log_text();
    assert_eq!(
        pm.accepted_orders(),
        1,
        "leg a reached Polymarket; log:\n{log1}"
    );
    assert_eq!(ks.orders().len(), 1, "leg b reached Kalshi; log:\n{log1}");
    assert_eq!(intents(&ledger), 1, "the intent; log:\n{log1}");
    assert_eq!(rows(&ledger, "trades"), 0, "and no rows yet; log:\n{log1}");
    assert_eq!(rows(&ledger, "orders"), 0);

    let mut p2 = Polymix::start(&cfg2, dir.join("run2.log"));
    until(
        &mut p2,
        "the trade to be hedged",
        Duration::from_secs(25),
        || {
            intents(&ledger) == 0
                && ledger_trades(&ledger)
                    .first()
                    .is_some_and(|(t, _)| t.state == state::HEDGED)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    p2.assert_running();
    p2.kill();
    let log2 = p2.log_text();
    assert!(
        log2.contains("journaled trades of a stopped run written out"),
        "the restart wrote the intent out; log:\n{log2}"
    );
    let trades = ledger_trades(&ledger);
    assert_eq!(trades.len(), 1, "{trades:#?}");
    let (t, orders) = &trades[0];
    assert_eq!(t.state, state::HEDGED, "{t:#?}\n{orders:#?}");
    assert_eq!(orders.len(), 2, "no unwind: {orders:#?}");
    for (leg, venue, tag) in [(Leg::A, "pm", 'a'), (Leg::B, "ks", 'b')] {
        let o = orders.iter().find(|o| o.leg == leg).expect("leg");
        assert_eq!(o.venue, venue);
        assert_eq!(o.client_order_id, client_order_id(&t.id, tag, 0));
        assert_eq!(o.filled_qty, Qty::shares(10), "{o:#?}");
    }
    // Each intent reached its venue once: nothing sent again after the restart.
    assert_eq!(pm.received_orders().len(), 1);
    assert_eq!(ks.orders().len(), 1);
}
