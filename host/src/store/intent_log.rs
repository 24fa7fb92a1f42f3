//! A live trade's journal on its way to the wire, written as one row: its intent.
//!
//! The journal proper is the trade, its two orders, the day's count and the first transition:
//! four tables and five indexes, 10–13 pages of the write-ahead log per trade, and it was
//! the costliest stage from a book frame to the wire (`journaled`, ~125–170 µs p50 in the
//! `frame_to_wire` bench; BENCHMARKS.md). The intent holds the same rows, serialized, in one
//! row of `intents`: one page. It is committed (without waiting for the disk, as the journal
//! was) before either leg leaves, so a kill -9 after it loses nothing.
//!
//! The rows themselves are written from the intent ("materialized") in one transaction that
//! also deletes it, by the ledger's next use of either connection after the legs have left
//! (`Ledger::run`, `Ledger::read`), and by the next open of the ledger for any intent a dead
//! process left. Nothing reads or changes a trade between its intent and that next use, so
//! every reader sees the rows. Deleting the intent and writing its rows in one transaction
//! makes materializing idempotent: two processes on one ledger (a `polymix state` opening it
//! while the engine runs) cannot both write them.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::ledger::{insert_planned_rows, OrderRow, TradeRow};

/// What journaling or materializing an intent met.
#[derive(Debug)]
pub(super) enum Fault {
    /// SQLite refused.
    Sql(rusqlite::Error),
    /// The ledger already holds this (a trade id or client order id): the intent would
    /// write a second copy, so it is refused before any order leaves, as the tables' keys
    /// refuse a second row.
    Exists(String),
    /// A journaled intent whose body is not a trade and its orders.
    Unreadable {
        /// The intent's trade id.
        trade_id: String,
        /// Why.
        message: String,
    },
}

impl From<rusqlite::Error> for Fault {
    fn from(e: rusqlite::Error) -> Self {
        Fault::Sql(e)
    }
}

/// A journaled intent not yet materialized, kept in memory by the process that wrote it.
#[derive(Debug)]
pub(super) struct Intent {
    pub(super) trade: TradeRow,
    pub(super) orders: Vec<OrderRow>,
}

#[derive(Serialize)]
struct BodyRef<'a> {
    trade: &'a TradeRow,
    orders: &'a [OrderRow],
}

#[derive(Deserialize)]
struct Body {
    trade: TradeRow,
    orders: Vec<OrderRow>,
}

fn exists(tx: &Connection, sql: &str, key: &str) -> rusqlite::Result<bool> {
    Ok(tx
        .prepare_cached(sql)?
        .query_row(params![key], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Commits a trade's intent; the caller makes it durable (or not).
pub(super) fn write(c: &mut Connection, t: &TradeRow, orders: &[OrderRow]) -> Result<(), Fault> {
    let body =
        serde_json::to_string(&BodyRef { trade: t, orders }).map_err(|e| Fault::Unreadable {
            trade_id: t.id.clone(),
            message: e.to_string(),
        })?;
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Reads only: the keys the rows will have are free, in the tables and among intents.
    if exists(&tx, "SELECT 1 FROM trades WHERE id = ?1", &t.id)?
        || exists(&tx, "SELECT 1 FROM intents WHERE trade_id = ?1", &t.id)?
    {
        return Err(Fault::Exists(format!("trade {}", t.id)));
    }
    for o in orders {
        if exists(
            &tx,
            "SELECT 1 FROM orders WHERE client_order_id = ?1",
            &o.client_order_id,
        )? {
            return Err(Fault::Exists(format!("order {}", o.client_order_id)));
        }
    }
    tx.prepare_cached("INSERT INTO intents (trade_id, body) VALUES (?1, ?2)")?
        .execute(params![t.id, body])?;
    tx.commit()?;
    Ok(())
}

/// Writes the rows of these intents and deletes them, in one transaction. An intent already
/// gone was materialized by another process on the same ledger: its rows are not written
/// twice.
pub(super) fn materialize(c: &mut Connection, intents: &[Intent]) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for i in intents {
        let gone = tx
            .prepare_cached("DELETE FROM intents WHERE trade_id = ?1")?
            .execute(params![i.trade.id])?;
        if gone > 0 {
            insert_planned_rows(&tx, &i.trade, &i.orders)?;
        }
    }
    tx.commit()
}

/// Materializes the intents a process left when it stopped (at open). Writes nothing when
/// there are none, so opening a ledger to read it takes no write lock. Returns how many.
pub(super) fn materialize_left(c: &mut Connection) -> Result<usize, Fault> {
    let rows: Vec<(String, String)> = c
        .prepare("SELECT trade_id, body FROM intents ORDER BY rowid")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut intents = Vec::with_capacity(rows.len());
    for (trade_id, body) in rows {
        let unreadable = |message: String| Fault::Unreadable {
            trade_id: trade_id.clone(),
            message,
        };
        let b: Body = serde_json::from_str(&body).map_err(|e| unreadable(e.to_string()))?;
        if b.trade.id != trade_id {
            return Err(unreadable(format!("it holds trade {}", b.trade.id)));
        }
        if let Some(o) = b.orders.iter().find(|o| o.trade_id != trade_id) {
            return Err(unreadable(format!(
                "its order {} belongs to trade {}",
                o.client_order_id, o.trade_id
            )));
        }
        intents.push(Intent {
            trade: b.trade,
            orders: b.orders,
        });
    }
    materialize(c, &intents)?;
    Ok(intents.len())
}
