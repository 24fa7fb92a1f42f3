//! Migration 3: a ledger written when share counts were hundredths of a share opens with every
//! stored quantity in micro-shares (plugin_api::Qty), and nothing else changed.

use plugin_api::{Price, Qty, Usd};
use rusqlite::Connection;
use std::path::PathBuf;

use super::schema::MIGRATIONS;
use super::Ledger;

fn tmp() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "polymix-ledger-qty-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d.join("paper.sqlite")
}

/// A ledger at schema version 2 as the older polymix left it: one trade of 10.50 shares
/// (1050 hundredths), its entry leg filled 10.50 with 0.25 failed, an unwind leg of 0.34.
fn old_ledger(path: &PathBuf, trade_qty: i64) {
    let c = Connection::open(path).unwrap();
    for m in &MIGRATIONS[..2] {
        c.execute_batch(m).unwrap();
    }
    c.execute_batch(&format!(
        "PRAGMA user_version = 2;
        INSERT INTO trades (id, pair_id, direction, qty, state, venue_a, venue_b, instrument_a,
            instrument_b, limit_a, limit_b, expected_cost, expected_profit, reserved_a, reserved_b,
            day, created_ms, updated_ms)
        VALUES ('t1', 'p1', 'a_yes_b_no', {trade_qty}, 'HEDGED', 'pm', 'ks', 'ya', 'nb', 450000,
            500000, 9975000, 525000, 4725000, 5250000, '2026-12-06', 1, 2);
        INSERT INTO orders (client_order_id, trade_id, leg, purpose, venue, instrument, side,
            price, qty, tif, state, filled_qty, filled_notional, fees, failed_qty, created_ms,
            updated_ms)
        VALUES ('t1-a1', 't1', 'a', 'entry', 'pm', 'ya', 'buy', 450000, 1050, 'fok', 'filled',
            1050, 4725000, 11810, 25, 1, 2),
               ('t1-a2', 't1', 'a', 'unwind', 'pm', 'ya', 'sell', 440000, 34, 'ioc',
            'cancelled', 0, 0, 0, 0, 3, 4);"
    ))
    .unwrap();
}

#[test]
fn quantities_in_hundredths_become_micro_shares() {
    let path = tmp();
    old_ledger(&path, 1050);
    let l = Ledger::open(&path).expect("migrates");
    let t = l.trade("t1").unwrap().expect("trade");
    assert_eq!(t.qty, Qty::parse("10.50").unwrap());
    // Money and prices are untouched.
    assert_eq!(
        (t.limit_a, t.expected_cost, t.reserved_b),
        (Price(450_000), Usd(9_975_000), Usd(5_250_000))
    );
    let o = l.orders_of("t1").unwrap();
    let entry = o.iter().find(|o| o.client_order_id == "t1-a1").unwrap();
    assert_eq!(
        (entry.qty, entry.filled_qty, entry.failed_qty),
        (
            Qty::parse("10.50").unwrap(),
            Qty::parse("10.50").unwrap(),
            Qty::parse("0.25").unwrap()
        )
    );
    assert_eq!(
        (entry.price, entry.filled_notional, entry.fees),
        (Price(450_000), Usd(4_725_000), Usd(11_810))
    );
    let unwind = o.iter().find(|o| o.client_order_id == "t1-a2").unwrap();
    assert_eq!(
        (unwind.qty, unwind.filled_qty),
        (Qty::parse("0.34").unwrap(), Qty::ZERO)
    );
    drop(l);
    // Opening again migrates nothing twice.
    let l = Ledger::open(&path).unwrap();
    let t = l.trade("t1").unwrap().unwrap();
    assert_eq!(t.qty, Qty::parse("10.50").unwrap());
    let v: i64 = l
        .with(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(v, MIGRATIONS.len() as i64);
}

#[test]
fn a_quantity_that_would_not_fit_refuses_the_migration_and_changes_nothing() {
    let path = tmp();
    // 9.3e14 hundredths × 10 000 does not fit an i64.
    old_ledger(&path, 930_000_000_000_000);
    let e = Ledger::open(&path).err().expect("refused").to_string();
    assert!(e.contains("every_qty_fits_micro_shares"), "{e}");
    let c = Connection::open(&path).unwrap();
    let (v, q): (i64, i64) = (
        c.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap(),
        c.query_row(
            "SELECT qty FROM orders WHERE client_order_id = 't1-a1'",
            [],
            |r| r.get(0),
        )
        .unwrap(),
    );
    assert_eq!((v, q), (2, 1050), "the ledger is left as it was");
}
