//! A live trade's intent (`intent_log`): its rows are what `insert_planned` writes, read back
//! by every reader, written out at open after a stop, never twice, and never for an id the
//! ledger holds.

use plugin_api::{Price, Qty, Usd};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

use super::ledger::{Ledger, LedgerError, OrderRow, TradeRow};
use super::lifecycle::{Leg, OrderState, Purpose, Side, Tif, TradeState};

fn tmp() -> PathBuf {
    std::env::temp_dir()
        .join(format!(
            "polymix-intent-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ))
        .join("live.sqlite")
}

fn trade(id: &str) -> (TradeRow, Vec<OrderRow>) {
    let t = TradeRow {
        id: id.into(),
        pair_id: "lakers-hawks".into(),
        direction: "yes_a_no_b".into(),
        qty: Qty::shares(10),
        state: TradeState::Submitting,
        venue_a: "pm".into(),
        venue_b: "ks".into(),
        instrument_a: "tok-yes".into(),
        instrument_b: "KX-NO".into(),
        limit_a: Price(420_000),
        limit_b: Price(530_000),
        expected_cost: Usd(9_700_000),
        expected_profit: Usd(300_000),
        reserved_a: Usd(4_200_000),
        reserved_b: Usd(5_500_000),
        unwind_loss: Usd::ZERO,
        realized_pnl: None,
        note: "with a \"quote\" and a ; in it".into(),
        day: "2026-12-07".into(),
        created_ms: 1_796_000_000_000,
        updated_ms: 1_796_000_000_000,
        settled_ms: None,
    };
    let order = |leg: Leg, venue: &str, instrument: &str, price: i64, id: Option<&str>| OrderRow {
        client_order_id: format!("{id_}-{}", leg.as_str(), id_ = t.id),
        trade_id: t.id.clone(),
        leg,
        purpose: Purpose::Entry,
        venue: venue.into(),
        instrument: instrument.into(),
        side: Side::Buy,
        price: Price(price),
        qty: t.qty,
        tif: Tif::Ioc,
        state: OrderState::Sent,
        order_id: id.map(Into::into),
        filled_qty: Qty(0),
        filled_notional: Usd::ZERO,
        fees: Usd::ZERO,
        failed_qty: Qty(0),
        reason: None,
        created_ms: t.created_ms,
        updated_ms: t.created_ms,
    };
    let orders = vec![
        order(Leg::A, "pm", "tok-yes", 420_000, Some("0xabc")),
        order(Leg::B, "ks", "KX-NO", 530_000, None),
    ];
    (t, orders)
}

/// Every row a trade's journal writes, as text, straight from the file (no `Ledger`).
fn rows_on_disk(path: &Path, id: &str) -> Vec<String> {
    let c = Connection::open(path).unwrap();
    let q = |sql: &str| -> Vec<String> {
        let mut st = c.prepare(sql).unwrap();
        let n = st.column_count();
        st.query_map([id], |r| {
            Ok((0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let mut rows = q("SELECT * FROM trades WHERE id = ?1");
    rows.extend(q(
        "SELECT * FROM orders WHERE trade_id = ?1 ORDER BY client_order_id",
    ));
    rows.extend(q(
        "SELECT trade_id, from_state, to_state, detail, ts_ms FROM transitions WHERE trade_id = ?1",
    ));
    rows.extend(q(
        "SELECT day, trades FROM daily WHERE day = (SELECT day FROM trades WHERE id = ?1)",
    ));
    rows
}

fn intents_on_disk(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM intents", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn an_intent_becomes_the_rows_insert_planned_writes() {
    let (t, orders) = trade("t-1");
    let (a, b) = (tmp(), tmp());
    Ledger::open(&a)
        .unwrap()
        .insert_planned(&t, &orders)
        .unwrap();
    let l = Ledger::open(&b).unwrap();
    l.journal_intent_unsynced(&t, &orders).unwrap();
    assert_eq!(intents_on_disk(&b), 1, "one row before the legs leave");
    assert!(rows_on_disk(&b, "t-1").is_empty(), "rows written later");
    // Read through the read connection: the rows are written first.
    let read = l.orders_of("t-1").unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].order_id.as_deref(), Some("0xabc"));
    assert_eq!(intents_on_disk(&b), 0);
    let want = rows_on_disk(&a, "t-1");
    assert_eq!(want.len(), 5, "trade, two orders, a transition, the day");
    assert_eq!(rows_on_disk(&b, "t-1"), want);
}

#[test]
fn an_intent_a_stopped_run_left_is_written_at_open() {
    let (t, orders) = trade("t-2");
    let p = tmp();
    {
        let l = Ledger::open(&p).unwrap();
        l.journal_intent_unsynced(&t, &orders).unwrap();
        // Dropped before any other use, as a kill -9 would leave it.
    }
    assert_eq!(intents_on_disk(&p), 1);
    assert!(rows_on_disk(&p, "t-2").is_empty());
    let l = Ledger::open(&p).unwrap();
    assert_eq!(intents_on_disk(&p), 0);
    assert_eq!(rows_on_disk(&p, "t-2").len(), 5);
    let tr = l.trade("t-2").unwrap().expect("the trade");
    assert_eq!(tr.state, TradeState::Submitting);
    assert_eq!(tr.note, t.note);
}

#[test]
fn an_intent_another_process_wrote_out_is_not_written_twice() {
    let (t, orders) = trade("t-3");
    let p = tmp();
    let engine = Ledger::open(&p).unwrap();
    engine.journal_intent_unsynced(&t, &orders).unwrap();
    // Another process opens the ledger meanwhile (`polymix state`): it writes the rows.
    let other = Ledger::open(&p).unwrap();
    assert_eq!(rows_on_disk(&p, "t-3").len(), 5);
    // The engine's own next use finds the intent gone and writes nothing again.
    let got = engine.trade("t-3").unwrap().expect("the trade");
    assert_eq!(got.id, "t-3");
    let transitions: i64 = other
        .with(|c| {
            c.query_row(
                "SELECT count(*) FROM transitions WHERE trade_id = 't-3'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(transitions, 1);
    assert_eq!(engine.daily("2026-12-07").unwrap().trades, 1);
}

#[test]
fn an_id_the_ledger_holds_is_refused_before_anything_leaves() {
    let (t, orders) = trade("t-4");
    let l = Ledger::open(&tmp()).unwrap();
    l.journal_intent_unsynced(&t, &orders).unwrap();
    // Still an intent: refused.
    let again = l.journal_intent_unsynced(&t, &orders).unwrap_err();
    assert!(
        matches!(&again, LedgerError::Journaled { what, .. } if what == "trade t-4"),
        "{again}"
    );
    // Written out: refused too.
    l.trade("t-4").unwrap().expect("the trade");
    assert!(matches!(
        l.journal_intent_unsynced(&t, &orders),
        Err(LedgerError::Journaled { .. })
    ));
    // A new trade reusing an order's client id.
    let (t5, mut o5) = trade("t-5");
    o5[1].client_order_id = orders[1].client_order_id.clone();
    let e = l.journal_intent_unsynced(&t5, &o5).unwrap_err();
    assert!(
        e.to_string().contains("order t-4-b is already journaled"),
        "{e}"
    );
    assert!(l.trade("t-5").unwrap().is_none());
}

#[test]
fn an_unreadable_intent_stops_the_open_with_one_line() {
    let (t, orders) = trade("t-6");
    let p = tmp();
    Ledger::open(&p)
        .unwrap()
        .journal_intent_unsynced(&t, &orders)
        .unwrap();
    Connection::open(&p)
        .unwrap()
        .execute("UPDATE intents SET body = '{\"trade\":7}'", [])
        .unwrap();
    let e = Ledger::open(&p).err().expect("refused");
    let line = e.to_string();
    assert!(
        line.contains("the journaled intent of trade t-6 cannot be read")
            && line.contains("live.sqlite")
            && !line.contains('\n'),
        "{line}"
    );
}
