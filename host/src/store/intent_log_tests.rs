//! A live trade's intent (`intent_log`): its rows are what `insert_planned` writes, read back
//! by every reader, written out at open after a stop, never twice, and never for an id the
//! ledger holds; its file is emptied only once a sync covers the rows, and a running process's
//! file is left to it.

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

fn intent_files(db: &Path) -> Vec<PathBuf> {
    super::intent_files(db).unwrap()
}

/// Complete lines (journaled intents) in the intent files of the ledger at `db`.
fn intents_on_disk(db: &Path) -> usize {
    intent_files(db)
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap().matches('\n').count())
        .sum()
}

/// The one intent file of the ledger at `db`, and its text: its lines, without the zero
/// bytes of room after them.
fn the_intent_file(db: &Path) -> (PathBuf, String) {
    let files = intent_files(db);
    assert_eq!(files.len(), 1, "{files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    let lines = super::intent_file::content(&bytes);
    assert!(
        bytes[lines.len()..].iter().all(|&b| b == 0),
        "only zeros after the lines"
    );
    (files[0].clone(), String::from_utf8(lines.to_vec()).unwrap())
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
    assert_eq!(intents_on_disk(&b), 1, "one line before the legs leave");
    assert!(rows_on_disk(&b, "t-1").is_empty(), "rows written later");
    // Read through the read connection: the rows are written first.
    let read = l.orders_of("t-1").unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].order_id.as_deref(), Some("0xabc"));
    let want = rows_on_disk(&a, "t-1");
    assert_eq!(want.len(), 5, "trade, two orders, a transition, the day");
    assert_eq!(rows_on_disk(&b, "t-1"), want);
    // The rows are not synced yet: the intent stays until a synced write covers them.
    assert_eq!(intents_on_disk(&b), 1);
    l.set_kv("after", "t-1").unwrap();
    assert_eq!(intents_on_disk(&b), 0, "emptied by the synced write");
    assert_eq!(
        intent_files(&b).len(),
        1,
        "the file stays for the next intent"
    );
    // The next intent goes into the same file, as its first line.
    let (t2, o2) = trade("t-1b");
    l.journal_intent_unsynced(&t2, &o2).unwrap();
    let (_, text) = the_intent_file(&b);
    assert!(text.starts_with("{\"trade\":{\"id\":\"t-1b\""), "{text}");
    l.trade("t-1b").unwrap().expect("written out");
    l.set_kv("after", "t-1b").unwrap();
    drop(l);
    assert!(
        intent_files(&b).is_empty(),
        "an empty file goes at a clean stop"
    );
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
    assert!(intent_files(&p).is_empty(), "written out and removed");
    assert_eq!(rows_on_disk(&p, "t-2").len(), 5);
    let tr = l.trade("t-2").unwrap().expect("the trade");
    assert_eq!(tr.state, TradeState::Submitting);
    assert_eq!(tr.note, t.note);
}

#[test]
fn a_running_process_intents_are_left_to_it() {
    let (t, orders) = trade("t-3");
    let p = tmp();
    let engine = Ledger::open(&p).unwrap();
    engine.journal_intent_unsynced(&t, &orders).unwrap();
    // Another process opens the ledger meanwhile (`polymix state`): the engine's file is
    // locked, so it writes nothing from it (nor removes it).
    let other = Ledger::open(&p).unwrap();
    assert!(rows_on_disk(&p, "t-3").is_empty());
    assert_eq!(intents_on_disk(&p), 1);
    // The engine's own next use writes the rows, once.
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
fn an_id_an_intent_holds_is_refused_before_anything_leaves() {
    let (t, orders) = trade("t-4");
    let l = Ledger::open(&tmp()).unwrap();
    l.journal_intent_unsynced(&t, &orders).unwrap();
    // Still an intent: refused.
    let again = l.journal_intent_unsynced(&t, &orders).unwrap_err();
    assert!(
        matches!(&again, LedgerError::Journaled { what, .. } if what == "trade t-4"),
        "{again}"
    );
    // A new trade reusing an order's client id.
    let (t5, mut o5) = trade("t-5");
    o5[1].client_order_id = orders[1].client_order_id.clone();
    let e = l.journal_intent_unsynced(&t5, &o5).unwrap_err();
    assert!(
        e.to_string().contains("order t-4-b is already journaled"),
        "{e}"
    );
    assert!(l.trade("t-5").unwrap().is_none());
    assert!(l.trade("t-4").unwrap().is_some(), "the first one written");
}

#[test]
fn an_intent_whose_trade_id_the_ledger_holds_for_another_trade_stops_the_ledger() {
    let (t, orders) = trade("t-11");
    let l = Ledger::open(&tmp()).unwrap();
    let (mut other, mut other_orders) = trade("t-11");
    other.qty = Qty::shares(3);
    for o in &mut other_orders {
        o.qty = other.qty;
    }
    l.insert_planned(&other, &other_orders).unwrap();
    // Ids are unique by construction; only a defect brings this one, and it is not hidden.
    l.journal_intent_unsynced(&t, &orders).unwrap();
    let e = l.trade("t-11").unwrap_err().to_string();
    assert!(
        e.contains("trade t-11 (an intent of this process's intent file") && !e.contains('\n'),
        "{e}"
    );
    assert!(l.daily("2026-12-07").is_err(), "every later use fails too");
}

#[test]
fn an_unreadable_intent_stops_the_open_with_one_line() {
    let (t, orders) = trade("t-6");
    let p = tmp();
    Ledger::open(&p)
        .unwrap()
        .journal_intent_unsynced(&t, &orders)
        .unwrap();
    let (file, _) = the_intent_file(&p);
    std::fs::write(&file, "{\"trade\":7}\n").unwrap();
    let e = Ledger::open(&p).err().expect("refused");
    let line = e.to_string();
    assert!(
        line.contains("line 1: the journaled intent cannot be read")
            && line.contains("live.sqlite-intents-")
            && !line.contains('\n'),
        "{line}"
    );
    assert!(file.exists(), "kept for the operator to look at");
}

#[test]
fn a_torn_last_line_is_skipped_and_the_lines_before_it_written() {
    // How a kill inside the second intent's copy can leave the file (the newline is stored
    // last, `intent_file`): its first half then the room's zeros; or its start and its end
    // (a copy routine may store a line's end first) with zeros between, and no newline. And
    // a file an earlier version wrote (no room after the lines), cut inside its second line.
    #[derive(Debug)]
    enum Torn {
        FirstHalf,
        StartAndEnd,
        EarlierVersion,
    }
    for case in [Torn::FirstHalf, Torn::StartAndEnd, Torn::EarlierVersion] {
        let (t, orders) = trade("t-7");
        let (t2, o2) = trade("t-7b");
        let p = tmp();
        {
            let l = Ledger::open(&p).unwrap();
            l.journal_intent_unsynced(&t, &orders).unwrap();
            l.journal_intent_unsynced(&t2, &o2).unwrap();
        }
        let (file, text) = the_intent_file(&p);
        let first = text.find('\n').unwrap() + 1;
        let (half, newline) = (first + (text.len() - first) / 2, text.len() - 1);
        let mut bytes = std::fs::read(&file).unwrap();
        match case {
            Torn::FirstHalf => bytes[half..=newline].fill(0),
            Torn::StartAndEnd => {
                bytes[half..half + 8].fill(0);
                bytes[newline] = 0;
            }
            Torn::EarlierVersion => bytes.truncate(half),
        }
        std::fs::write(&file, &bytes).unwrap();
        let l = Ledger::open(&p).unwrap();
        assert_eq!(rows_on_disk(&p, "t-7").len(), 5, "{case:?}");
        assert!(
            l.trade("t-7b").unwrap().is_none(),
            "{case:?}: its legs never left"
        );
        assert!(intent_files(&p).is_empty(), "{case:?}");
    }
}

#[test]
fn an_intent_written_out_before_a_stop_is_not_written_twice() {
    let (t, orders) = trade("t-8");
    let p = tmp();
    {
        let l = Ledger::open(&p).unwrap();
        l.journal_intent_unsynced(&t, &orders).unwrap();
        // Written out by a read; the process stops before a sync empties the file.
        l.trade("t-8").unwrap().expect("the trade");
    }
    assert_eq!(intents_on_disk(&p), 1);
    let l = Ledger::open(&p).unwrap();
    assert!(intent_files(&p).is_empty());
    assert_eq!(rows_on_disk(&p, "t-8").len(), 5);
    assert_eq!(l.daily("2026-12-07").unwrap().trades, 1, "counted once");
}

#[test]
fn an_intent_whose_trade_id_the_ledger_holds_for_another_trade_stops_the_open() {
    let (t, orders) = trade("t-9");
    let (elsewhere, p) = (tmp(), tmp());
    {
        Ledger::open(&elsewhere)
            .unwrap()
            .journal_intent_unsynced(&t, &orders)
            .unwrap();
    }
    let (file, text) = the_intent_file(&elsewhere);
    // The ledger at `p` holds another trade t-9 (another quantity).
    let (mut other, mut other_orders) = trade("t-9");
    other.qty = Qty::shares(3);
    for o in &mut other_orders {
        o.qty = other.qty;
    }
    Ledger::open(&p)
        .unwrap()
        .insert_planned(&other, &other_orders)
        .unwrap();
    let name = file.file_name().unwrap().to_string_lossy().replace(
        &elsewhere.file_name().unwrap().to_string_lossy().to_string(),
        &p.file_name().unwrap().to_string_lossy(),
    );
    std::fs::write(p.parent().unwrap().join(name), text).unwrap();
    let e = Ledger::open(&p).err().expect("refused");
    let line = e.to_string();
    assert!(
        line.contains("trade t-9 (an intent of") && !line.contains('\n'),
        "{line}"
    );
}

#[test]
fn an_intent_row_an_earlier_version_left_is_written_at_open() {
    let (t, orders) = trade("t-10");
    let (scratch, p) = (tmp(), tmp());
    {
        Ledger::open(&scratch)
            .unwrap()
            .journal_intent_unsynced(&t, &orders)
            .unwrap();
    }
    let (_, text) = the_intent_file(&scratch);
    Ledger::open(&p).unwrap();
    Connection::open(&p)
        .unwrap()
        .execute(
            "INSERT INTO intents (trade_id, body) VALUES ('t-10', ?1)",
            [text.trim_end()],
        )
        .unwrap();
    let l = Ledger::open(&p).unwrap();
    assert_eq!(rows_on_disk(&p, "t-10").len(), 5);
    assert!(l.trade("t-10").unwrap().is_some());
    let left: i64 = Connection::open(&p)
        .unwrap()
        .query_row("SELECT count(*) FROM intents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn a_stopped_run_intents_are_archived_with_its_ledger() {
    let (t, orders) = trade("t-12");
    let p = tmp();
    {
        let l = Ledger::open(&p).unwrap();
        l.journal_intent_unsynced(&t, &orders).unwrap();
    }
    let archived = super::registry_carry::reset_ledger(&p, "20261207T190000")
        .unwrap()
        .expect("archived");
    assert!(intent_files(&p).is_empty());
    assert_eq!(rows_on_disk(&archived, "t-12").len(), 5, "in the archive");
    let fresh = Ledger::open(&p).unwrap();
    assert!(
        fresh.trade("t-12").unwrap().is_none(),
        "not in the fresh ledger"
    );
}

#[test]
fn an_intent_file_is_locked_before_an_opener_can_see_it() {
    let p = tmp();
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    // A file still being made is under a name openers do not list.
    let staging = super::intent_log::tests_staging_name(&p);
    std::fs::write(&staging, "").unwrap();
    assert!(intent_files(&p).is_empty(), "{staging:?} is listed");
    std::fs::remove_file(&staging).unwrap();
    // Once named, it is locked: an opener leaves it (and its intent) alone.
    let (t, orders) = trade("t-13");
    let engine = Ledger::open(&p).unwrap();
    engine.journal_intent_unsynced(&t, &orders).unwrap();
    let (file, _) = the_intent_file(&p);
    assert!(
        std::fs::File::open(&file).unwrap().try_lock().is_err(),
        "the named file is locked"
    );
    Ledger::open(&p).unwrap();
    assert_eq!(intents_on_disk(&p), 1);
}

#[test]
fn a_rehearsed_intent_writes_nothing_and_holds_no_id() {
    let (t, orders) = trade("t-14");
    let p = tmp();
    let l = Ledger::open(&p).unwrap();
    l.rehearse_intent(&t, &orders);
    assert!(intent_files(&p).is_empty(), "no file made");
    assert!(l.trade("t-14").unwrap().is_none(), "no rows");
    // Its ids are not taken: the same trade journals as if never rehearsed.
    l.journal_intent_unsynced(&t, &orders).unwrap();
    assert_eq!(intents_on_disk(&p), 1);
}
