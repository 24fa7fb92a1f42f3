//! Ledger operations. Each public method is one transaction.

use plugin_api::{Price, Qty, Usd};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use super::durability;
use super::intent_log::{self, IntentLog};

use super::lifecycle::{Leg, OrderState, Purpose, Side, Tif, TradeState};
use super::schema::MIGRATIONS;

/// How many errors the ledger keeps.
pub const ERROR_LOG_CAP: i64 = 100;

/// A ledger failure.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A trade was asked to make a transition the lifecycle does not allow.
    #[error("trade {trade_id}: illegal transition {from} → {to}")]
    IllegalTransition {
        /// Trade.
        trade_id: String,
        /// Its state.
        from: TradeState,
        /// The state asked for.
        to: TradeState,
    },
    /// SQLite refused.
    #[error("ledger {path}: {source}")]
    Sql {
        /// Database file.
        path: PathBuf,
        /// Cause.
        source: rusqlite::Error,
    },
    /// A trade or order the ledger already holds was journaled again (refused: nothing of it
    /// was written, and so nothing sent).
    #[error("ledger {path}: {what} is already journaled; not journaled again")]
    Journaled {
        /// Database file.
        path: PathBuf,
        /// The trade or order.
        what: String,
    },
    /// A journaled intent (`intent_log`) that is not a trade and its orders.
    #[error("ledger {path}: the journaled intent of trade {trade_id} cannot be read: {message}")]
    Intent {
        /// Database file.
        path: PathBuf,
        /// The intent's trade.
        trade_id: String,
        /// Why.
        message: String,
    },
    /// The data directory could not be created or archived.
    #[error("ledger {path}: {message}")]
    Io {
        /// Path.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// Trade states (design §4), by their lifecycle names; see [`TradeState`].
pub mod state {
    use super::TradeState;

    /// Approved and journaled; nothing sent.
    pub const PLANNED: TradeState = TradeState::Planned;
    /// Orders on the wire.
    pub const SUBMITTING: TradeState = TradeState::Submitting;
    /// Both legs filled equally.
    pub const HEDGED: TradeState = TradeState::Hedged;
    /// Legs filled unequally; excess to unwind.
    pub const PARTIAL: TradeState = TradeState::Partial;
    /// Selling the excess back.
    pub const UNWINDING: TradeState = TradeState::Unwinding;
    /// Excess sold; nothing hedged remains.
    pub const UNWOUND: TradeState = TradeState::Unwound;
    /// Excess could not be flattened.
    pub const NAKED: TradeState = TradeState::Naked;
    /// Resolved and paid out.
    pub const SETTLED: TradeState = TradeState::Settled;
    /// Refused before anything was sent.
    pub const REJECTED: TradeState = TradeState::Rejected;
    /// Sent, nothing filled.
    pub const FAILED: TradeState = TradeState::Failed;

    /// States in which the trade may still hold or be acquiring positions.
    pub const OPEN: &[TradeState] = TradeState::OPEN;
    /// States whose orders may still be in flight (reconciled continuously).
    pub const IN_FLIGHT: &[TradeState] = TradeState::IN_FLIGHT;
}

/// One recorded transition of a trade: from (none for the first), to, why, when (ms).
pub type Transition = (Option<TradeState>, TradeState, String, i64);

/// One trade.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TradeRow {
    /// Trade id.
    pub id: String,
    /// Pair id.
    pub pair_id: String,
    /// `yes_a_no_b` or `no_a_yes_b`.
    pub direction: String,
    /// Shares per leg as planned.
    pub qty: Qty,
    /// State.
    pub state: TradeState,
    /// Venue of leg A.
    pub venue_a: String,
    /// Venue of leg B.
    pub venue_b: String,
    /// Instrument bought on A.
    pub instrument_a: String,
    /// Instrument bought on B.
    pub instrument_b: String,
    /// Limit on A.
    pub limit_a: Price,
    /// Limit on B.
    pub limit_b: Price,
    /// Expected outlay with fees.
    pub expected_cost: Usd,
    /// Expected profit.
    pub expected_profit: Usd,
    /// Cash reserved on A.
    pub reserved_a: Usd,
    /// Cash reserved on B.
    pub reserved_b: Usd,
    /// Realized loss of unwinds (positive = loss).
    pub unwind_loss: Usd,
    /// Realized P&L once settled.
    pub realized_pnl: Option<Usd>,
    /// Free text: what happened.
    pub note: String,
    /// UTC day of creation.
    pub day: String,
    /// Created, ms.
    pub created_ms: i64,
    /// Last change, ms.
    pub updated_ms: i64,
    /// Settled, ms.
    pub settled_ms: Option<i64>,
}

/// One order (entry or unwind).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderRow {
    /// Idempotency key derived from the trade id.
    pub client_order_id: String,
    /// Trade.
    pub trade_id: String,
    /// Which leg.
    pub leg: Leg,
    /// Entry or unwind.
    pub purpose: Purpose,
    /// Venue instance.
    pub venue: String,
    /// Instrument.
    pub instrument: String,
    /// Buy or sell.
    pub side: Side,
    /// Limit.
    pub price: Price,
    /// Shares.
    pub qty: Qty,
    /// `ioc`, `fok`, ...
    pub tif: Tif,
    /// What the ledger knows of the order.
    pub state: OrderState,
    /// Venue order id once known.
    pub order_id: Option<String>,
    /// Shares filled.
    pub filled_qty: Qty,
    /// Money paid/received for them.
    pub filled_notional: Usd,
    /// Fees.
    pub fees: Usd,
    /// Shares whose fills later failed (ghost fills).
    pub failed_qty: Qty,
    /// Venue reason.
    pub reason: Option<String>,
    /// Created, ms.
    pub created_ms: i64,
    /// Last change, ms.
    pub updated_ms: i64,
}

/// Per-UTC-day counters.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Daily {
    /// Trades started.
    pub trades: u32,
    /// Realized loss (positive), unwind losses included.
    pub loss: Usd,
    /// Realized P&L.
    pub pnl: Usd,
}

/// One logged error.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorRow {
    /// Sequence.
    pub seq: i64,
    /// When, ms.
    pub ts_ms: i64,
    /// Related trade.
    pub trade_id: Option<String>,
    /// Component.
    pub source: String,
    /// Message (never contains secrets).
    pub message: String,
}

/// The ledger.
pub struct Ledger {
    /// Every write, and reads that belong to a write.
    conn: Mutex<Connection>,
    /// Reads on their own (`query_only`): WAL lets them run beside the writer, so a dashboard
    /// reading every trade, or a fill report looking up its order, does not hold the lock a
    /// live trade's journal needs on its way to the wire. (The one exception: a read that
    /// finds a journaled intent pending first writes its rows on the writer, `Self::read`.)
    reader: Mutex<Connection>,
    path: PathBuf,
    /// Synced writes since the last checkpoint (`durability`).
    synced_writes: AtomicU32,
    /// This process's intent file and the intents in it whose rows are not written yet
    /// (`intent_log`). Lock order: `conn`, then `intents`.
    intents: Mutex<IntentLog>,
    /// Whether `intents` may hold any not written out (read without a lock by every use of
    /// the ledger).
    has_pending: AtomicBool,
}

fn trade_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TradeRow> {
    Ok(TradeRow {
        id: r.get("id")?,
        pair_id: r.get("pair_id")?,
        direction: r.get("direction")?,
        qty: Qty(r.get("qty")?),
        state: r.get("state")?,
        venue_a: r.get("venue_a")?,
        venue_b: r.get("venue_b")?,
        instrument_a: r.get("instrument_a")?,
        instrument_b: r.get("instrument_b")?,
        limit_a: Price(r.get("limit_a")?),
        limit_b: Price(r.get("limit_b")?),
        expected_cost: Usd(r.get("expected_cost")?),
        expected_profit: Usd(r.get("expected_profit")?),
        reserved_a: Usd(r.get("reserved_a")?),
        reserved_b: Usd(r.get("reserved_b")?),
        unwind_loss: Usd(r.get("unwind_loss")?),
        realized_pnl: r.get::<_, Option<i64>>("realized_pnl")?.map(Usd),
        note: r.get("note")?,
        day: r.get("day")?,
        created_ms: r.get("created_ms")?,
        updated_ms: r.get("updated_ms")?,
        settled_ms: r.get("settled_ms")?,
    })
}

fn order_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRow> {
    Ok(OrderRow {
        client_order_id: r.get("client_order_id")?,
        trade_id: r.get("trade_id")?,
        leg: r.get("leg")?,
        purpose: r.get("purpose")?,
        venue: r.get("venue")?,
        instrument: r.get("instrument")?,
        side: r.get("side")?,
        price: Price(r.get("price")?),
        qty: Qty(r.get("qty")?),
        tif: r.get("tif")?,
        state: r.get("state")?,
        order_id: r.get("order_id")?,
        filled_qty: Qty(r.get("filled_qty")?),
        filled_notional: Usd(r.get("filled_notional")?),
        fees: Usd(r.get("fees")?),
        failed_qty: Qty(r.get("failed_qty")?),
        reason: r.get("reason")?,
        created_ms: r.get("created_ms")?,
        updated_ms: r.get("updated_ms")?,
    })
}

const INSERT_ORDER: &str = "INSERT INTO orders (client_order_id, trade_id, leg, purpose, venue, instrument, side, price, qty, tif, state, order_id, filled_qty, filled_notional, fees, failed_qty, reason, created_ms, updated_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)";

/// The trade, its entry orders, the day's count and the first transition, in one transaction.
fn insert_planned(c: &mut Connection, t: &TradeRow, orders: &[OrderRow]) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    insert_planned_rows(&tx, t, orders)?;
    tx.commit()
}

/// [`insert_planned`]'s rows, in the caller's transaction (`intent_log` writes them for an
/// intent).
pub(super) fn insert_planned_rows(
    tx: &Connection,
    t: &TradeRow,
    orders: &[OrderRow],
) -> rusqlite::Result<()> {
    // Cached statements: this transaction is on the way to the wire; parsing its SQL each
    // time cost more than writing it.
    tx.prepare_cached(
        "INSERT INTO trades (id, pair_id, direction, qty, state, venue_a, venue_b, instrument_a, instrument_b, limit_a, limit_b, expected_cost, expected_profit, reserved_a, reserved_b, unwind_loss, realized_pnl, note, day, created_ms, updated_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,NULL,?17,?18,?19,?20)",
    )?
    .execute(params![t.id, t.pair_id, t.direction, t.qty.0, t.state, t.venue_a, t.venue_b, t.instrument_a, t.instrument_b, t.limit_a.0, t.limit_b.0, t.expected_cost.0, t.expected_profit.0, t.reserved_a.0, t.reserved_b.0, t.unwind_loss.0, t.note, t.day, t.created_ms, t.updated_ms])?;
    for o in orders {
        insert_order(tx, o)?;
    }
    tx.prepare_cached(
        "INSERT INTO daily (day, trades) VALUES (?1, 1) ON CONFLICT(day) DO UPDATE SET trades = trades + 1",
    )?
    .execute(params![t.day])?;
    tx.prepare_cached(
        "INSERT INTO transitions (trade_id, from_state, to_state, detail, ts_ms) VALUES (?1, NULL, ?2, 'planned', ?3)",
    )?
    .execute(params![t.id, t.state, t.created_ms])?;
    Ok(())
}

fn insert_order(tx: &Connection, o: &OrderRow) -> rusqlite::Result<()> {
    tx.prepare_cached(INSERT_ORDER)?.execute(params![
        o.client_order_id,
        o.trade_id,
        o.leg,
        o.purpose,
        o.venue,
        o.instrument,
        o.side,
        o.price.0,
        o.qty.0,
        o.tif,
        o.state,
        o.order_id,
        o.filled_qty.0,
        o.filled_notional.0,
        o.fees.0,
        o.failed_qty.0,
        o.reason,
        o.created_ms,
        o.updated_ms
    ])?;
    Ok(())
}

fn intent_fault(path: &Path, f: intent_log::Fault) -> LedgerError {
    let path = path.to_path_buf();
    match f {
        intent_log::Fault::Sql(source) => LedgerError::Sql { path, source },
        intent_log::Fault::Io { path, message } => LedgerError::Io { path, message },
        intent_log::Fault::Exists(what) => LedgerError::Journaled { path, what },
        intent_log::Fault::Unreadable { trade_id, message } => LedgerError::Intent {
            path,
            trade_id,
            message,
        },
    }
}

/// Opens the ledger and brings its schema to this build's version. `Ok(Err(v))`: the file is at
/// schema version `v`, newer than this build knows.
fn open_and_migrate(path: &Path) -> rusqlite::Result<Result<Connection, i64>> {
    let mut conn = Connection::open(path)?;
    // The busy timeout first: another process opening the same ledger may hold the lock that
    // switching to WAL or migrating needs.
    conn.execute_batch(
        "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
    )?;
    // A ledger already at this build's version needs no write: a reader (`polymix state`, a
    // test) opening it must not take the write lock from a running engine.
    let known = MIGRATIONS.len() as i64;
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > known {
        return Ok(Err(current));
    }
    if current == known {
        conn.execute_batch(durability::CONNECTION_PRAGMAS)?;
        return Ok(Ok(conn));
    }
    // One migration per write transaction, the version read inside it: two processes opening a
    // fresh ledger at once migrate it once, in turn, never both.
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > known {
            return Ok(Err(version));
        }
        let Some(m) = MIGRATIONS.get(version as usize) else {
            tx.commit()?;
            break;
        };
        tx.execute_batch(&format!("{m}; PRAGMA user_version = {};", version + 1))?;
        tx.commit()?;
    }
    // Migrations commit synced (`synchronous=FULL` above); from here on `durability` syncs.
    conn.execute_batch(durability::CONNECTION_PRAGMAS)?;
    Ok(Ok(conn))
}

/// The read connection of a ledger whose schema is current: refuses writes, so a read-only
/// method that wrote would fail in tests rather than bypass the writer's lock and sync.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.execute_batch("PRAGMA busy_timeout=5000; PRAGMA query_only=1;")?;
    Ok(c)
}

impl Ledger {
    /// Opens (creating and migrating) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| LedgerError::Io {
                path: dir.to_path_buf(),
                message: format!("cannot create data directory: {e}"),
            })?;
        }
        let sql = |source| LedgerError::Sql {
            path: path.to_path_buf(),
            source,
        };
        // SQLite does not call the busy handler in every case: a fresh file switching to WAL in
        // another process, or a read racing that switch, answers SQLITE_BUSY at once. Opening
        // is retried on such an answer until the same 5 s the busy timeout allows.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let conn = loop {
            match open_and_migrate(path) {
                Ok(Ok(c)) => break c,
                Ok(Err(version)) => {
                    return Err(LedgerError::Io {
                        path: path.to_path_buf(),
                        message: format!(
                            "schema version {version} is newer than this polymix knows ({}); use the polymix that wrote it",
                            MIGRATIONS.len()
                        ),
                    })
                }
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(
                        5 + u64::from(rand::random::<u8>() % 20),
                    ));
                }
                Err(e) => return Err(sql(e)),
            }
        };
        let mut conn = conn;
        // A stop between a trade's intent and its rows: they are written before anything
        // reads the ledger (whatever stopped it, the intent was committed before its legs
        // left).
        let left =
            intent_log::materialize_left(&mut conn, path).map_err(|f| intent_fault(path, f))?;
        if left > 0 {
            tracing::info!(ledger = %path.display(), intents = left, "journaled trades of a stopped run written out");
        }
        let reader = open_reader(path).map_err(sql)?;
        Ok(Ledger {
            conn: Mutex::new(conn),
            reader: Mutex::new(reader),
            path: path.to_path_buf(),
            synced_writes: AtomicU32::new(0),
            intents: Mutex::new(IntentLog::new(path)),
            has_pending: AtomicBool::new(false),
        })
    }

    /// Archives the database file (moved aside, never deleted) and continues on a fresh one,
    /// which keeps the pair registry (see `registry_carry`).
    pub fn archive_and_restart(&self, stamp: &str) -> Result<PathBuf, LedgerError> {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        // The archive holds every trade this process journaled, rows and all.
        self.materialize_locked(&mut c)?;
        let written_out = self.intents().written_out();
        if c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").is_ok() {
            // The checkpoint synced the rows into the database: the intents may go.
            self.intents().clear_if_synced(written_out);
        }
        let target = archive(&self.path, stamp)?.ok_or_else(|| LedgerError::Io {
            path: self.path.clone(),
            message: "ledger file vanished".into(),
        })?;
        let fresh = Ledger::open(&self.path)?;
        *self.reader.lock().unwrap_or_else(|p| p.into_inner()) =
            fresh.reader.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut new_conn = fresh.conn.into_inner().unwrap_or_else(|p| p.into_inner());
        super::registry_carry::carry_registry(&mut new_conn, &target).map_err(|source| {
            LedgerError::Sql {
                path: self.path.clone(),
                source,
            }
        })?;
        *c = new_conn;
        Ok(target)
    }

    /// Database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection; if it wrote, the write is on disk when this returns (the
    /// fsync runs after the lock is released, `durability`).
    pub(super) fn with<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<R>,
    ) -> Result<R, LedgerError> {
        let (r, wrote) = self.run(f);
        if wrote {
            self.make_durable()?;
        }
        r
    }

    /// Runs a read on the read connection (never waits for, or holds up, a writer).
    pub(super) fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R>,
    ) -> Result<R, LedgerError> {
        if self.has_pending.load(Ordering::Acquire) {
            // A journaled trade's rows are written before it is read about (`intent_log`).
            self.run(|_| Ok(())).0?;
        }
        let c = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        f(&c).map_err(|source| LedgerError::Sql {
            path: self.path.clone(),
            source,
        })
    }

    /// Runs `f` under the connection's lock; whether it changed any row.
    fn run<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<R>,
    ) -> (Result<R, LedgerError>, bool) {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self.materialize_locked(&mut c) {
            return (Err(e), false);
        }
        let before = c.total_changes();
        let r = f(&mut c).map_err(|source| LedgerError::Sql {
            path: self.path.clone(),
            source,
        });
        let wrote = c.total_changes() != before;
        (r, wrote)
    }

    /// Writes the rows of this process's journaled intents (`intent_log`), under `conn`'s
    /// lock. On failure they stay pending (tried again at the next use, and at the next open
    /// of the ledger from the intents themselves).
    fn materialize_locked(&self, c: &mut Connection) -> Result<(), LedgerError> {
        if !self.has_pending.load(Ordering::Acquire) {
            return Ok(());
        }
        IntentLog::materialize(&self.intents, c).map_err(|f| intent_fault(&self.path, f))?;
        // Under the intents' lock, so an intent appended meanwhile is not hidden.
        let log = self.intents();
        self.has_pending.store(log.has_pending(), Ordering::Release);
        Ok(())
    }

    fn intents(&self) -> std::sync::MutexGuard<'_, IntentLog> {
        self.intents.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Flushes the write-ahead log, and every [`durability::CHECKPOINT_EVERY`] synced writes
    /// folds it into the database (a failed checkpoint only leaves the log longer).
    fn make_durable(&self) -> Result<(), LedgerError> {
        let written_out = self.intents().written_out();
        durability::sync_wal(&self.path).map_err(|e| LedgerError::Io {
            path: durability::wal_path(&self.path),
            message: format!("cannot sync the write-ahead log: {e}"),
        })?;
        // Intents written out before this sync began are on disk as rows now.
        self.intents().clear_if_synced(written_out);
        let n = self.synced_writes.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(durability::CHECKPOINT_EVERY) {
            if let Err(e) = durability::checkpoint(&self.path) {
                tracing::warn!(ledger = %self.path.display(), error = %e, "ledger checkpoint failed; the write-ahead log grows until the next one");
            }
        }
        Ok(())
    }

    /// Journals a new trade with its two entry orders and counts it for the day, atomically.
    pub fn insert_planned(&self, t: &TradeRow, orders: &[OrderRow]) -> Result<(), LedgerError> {
        self.with(|c| insert_planned(c, t, orders))
    }

    /// [`Self::insert_planned`] as one line of this process's intent file (`intent_log`), and
    /// without waiting for the disk: the line is in the operating system when this returns, so
    /// it survives the process dying (kill -9) but a power cut may take it back until the next
    /// synced write of this ledger (every other write is one, the legs' answers are recorded
    /// by one, and each first writes the rows of the intents before it). What a power cut
    /// takes back is adopted from the venues' records on restart (`engine::adopt_orders`).
    /// Refuses a trade or order id an intent not yet written out holds; one the ledger's rows
    /// hold stops the ledger (every later use fails in one line) when the intent's rows are
    /// written, as ids are unique by construction (`intent_log`).
    pub fn journal_intent_unsynced(
        &self,
        t: &TradeRow,
        orders: &[OrderRow],
    ) -> Result<(), LedgerError> {
        // Not `run`, nor the write lock: an earlier trade's rows can wait for its own
        // answers; this one is on its way to the wire.
        let mut log = self.intents();
        log.append(t, orders)
            .map_err(|f| intent_fault(&self.path, f))?;
        self.has_pending.store(true, Ordering::Release);
        Ok(())
    }

    /// Builds the line [`Self::journal_intent_unsynced`] would append for this trade, and drops
    /// it: a rehearsal (`engine/rehearse.rs`) keeps that code warm. Takes no lock and touches
    /// neither the file nor the intents waiting to be written out.
    pub fn rehearse_intent(&self, t: &TradeRow, orders: &[OrderRow]) {
        std::hint::black_box(intent_log::line_of(t, orders).ok());
    }

    /// Makes this process's intent file ahead of its first live trade, so that trade does not
    /// pay for creating it, writing its room (256 KiB of zeros) and mapping it on its way to
    /// the wire.
    pub fn ready_intent_file(&self) -> Result<(), LedgerError> {
        self.intents()
            .ready()
            .map_err(|f| intent_fault(&self.path, f))
    }

    /// Moves a trade to `to` with a note of why.
    pub fn transition(
        &self,
        trade_id: &str,
        to: TradeState,
        detail: &str,
        now_ms: i64,
    ) -> Result<(), LedgerError> {
        let mut illegal = None;
        let r = self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let from: Option<TradeState> = tx
                .query_row(
                    "SELECT state FROM trades WHERE id = ?1",
                    params![trade_id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(f) = from.filter(|f| !f.can_go_to(to)) {
                illegal = Some(f);
                return Ok(());
            }
            tx.execute(
                "UPDATE trades SET state = ?2, updated_ms = ?3, note = CASE WHEN note = '' THEN ?4 ELSE note || '; ' || ?4 END WHERE id = ?1",
                params![trade_id, to, now_ms, detail],
            )?;
            tx.execute(
                "INSERT INTO transitions (trade_id, from_state, to_state, detail, ts_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![trade_id, from, to, detail, now_ms],
            )?;
            tx.commit()
        });
        match illegal {
            Some(from) => Err(LedgerError::IllegalTransition {
                trade_id: trade_id.to_string(),
                from,
                to,
            }),
            None => r,
        }
    }

    /// Journals a new (unwind) order before it is sent.
    pub fn insert_order(&self, o: &OrderRow) -> Result<(), LedgerError> {
        self.with(|c| insert_order(c, o))
    }

    /// Records what the venue said about an order.
    pub fn update_order(&self, o: &OrderRow) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute(
                "UPDATE orders SET state=?2, order_id=?3, filled_qty=?4, filled_notional=?5, fees=?6, failed_qty=?7, reason=?8, updated_ms=?9 WHERE client_order_id=?1",
                params![o.client_order_id, o.state, o.order_id, o.filled_qty.0, o.filled_notional.0, o.fees.0, o.failed_qty.0, o.reason, o.updated_ms],
            )?;
            Ok(())
        })
    }

    /// Books an unwind loss against the trade and the day's loss.
    pub fn add_unwind_loss(&self, trade_id: &str, day: &str, loss: Usd) -> Result<(), LedgerError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE trades SET unwind_loss = unwind_loss + ?2 WHERE id = ?1",
                params![trade_id, loss.0],
            )?;
            tx.execute(
                "INSERT INTO daily (day, loss, pnl) VALUES (?1, ?2, ?3) ON CONFLICT(day) DO UPDATE SET loss = loss + ?2, pnl = pnl + ?3",
                params![day, loss.0.max(0), -loss.0],
            )?;
            tx.commit()
        })
    }

    /// Settles a trade: payout received, total P&L, and the day's counters. `settle_pnl` is the
    /// part of P&L not already booked as unwind loss.
    pub fn settle(
        &self,
        trade_id: &str,
        day: &str,
        payout: Usd,
        total_pnl: Usd,
        settle_pnl: Usd,
        now_ms: i64,
    ) -> Result<(), LedgerError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let from: Option<TradeState> = tx
                .query_row("SELECT state FROM trades WHERE id = ?1", params![trade_id], |r| r.get(0))
                .optional()?;
            // A naked trade stays NAKED (shown until cleared) but records its P&L.
            let to = if from == Some(state::NAKED) { state::NAKED } else { state::SETTLED };
            if let Some(f) = from.filter(|f| !f.can_go_to(to)) {
                tracing::error!(trade_id, from = %f, "settling a trade in a state that cannot settle");
                return Err(rusqlite::Error::InvalidParameterName(format!(
                    "trade {trade_id}: illegal transition {f} → {to}"
                )));
            }
            tx.execute(
                "UPDATE trades SET state = ?2, realized_pnl = ?3, settled_ms = ?4, updated_ms = ?4 WHERE id = ?1",
                params![trade_id, to, total_pnl.0, now_ms],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO settlements (trade_id, payout, pnl, ts_ms) VALUES (?1, ?2, ?3, ?4)",
                params![trade_id, payout.0, total_pnl.0, now_ms],
            )?;
            tx.execute(
                "INSERT INTO daily (day, loss, pnl) VALUES (?1, ?2, ?3) ON CONFLICT(day) DO UPDATE SET loss = loss + ?2, pnl = pnl + ?3",
                params![day, (-settle_pnl.0).max(0), settle_pnl.0],
            )?;
            tx.execute(
                "INSERT INTO transitions (trade_id, from_state, to_state, detail, ts_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![trade_id, from, to, format!("settled: payout {payout}, pnl {total_pnl}"), now_ms],
            )?;
            tx.commit()
        })
    }

    /// Appends an error and keeps only the last [`ERROR_LOG_CAP`].
    pub fn record_error(
        &self,
        trade_id: Option<&str>,
        source: &str,
        message: &str,
        now_ms: i64,
    ) -> Result<(), LedgerError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO errors (ts_ms, trade_id, source, message) VALUES (?1, ?2, ?3, ?4)",
                params![now_ms, trade_id, source, message],
            )?;
            tx.execute(
                "DELETE FROM errors WHERE seq <= (SELECT MAX(seq) FROM errors) - ?1",
                params![ERROR_LOG_CAP],
            )?;
            tx.commit()
        })
    }

    /// The last errors, newest first.
    pub fn errors(&self) -> Result<Vec<ErrorRow>, LedgerError> {
        self.read(|c| {
            let mut s = c.prepare(
                "SELECT seq, ts_ms, trade_id, source, message FROM errors ORDER BY seq DESC",
            )?;
            let rows = s.query_map([], |r| {
                Ok(ErrorRow {
                    seq: r.get(0)?,
                    ts_ms: r.get(1)?,
                    trade_id: r.get(2)?,
                    source: r.get(3)?,
                    message: r.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    /// One trade.
    pub fn trade(&self, id: &str) -> Result<Option<TradeRow>, LedgerError> {
        self.read(|c| {
            c.query_row(
                "SELECT * FROM trades WHERE id = ?1",
                params![id],
                trade_from_row,
            )
            .optional()
        })
    }

    /// Trades in any of `states` (all trades when empty), oldest first. The states are
    /// selected in SQL (on the `trades_state` index): the engine asks for the few trades still
    /// in flight after every trade, and reading every trade ever made for that grew with them.
    pub fn trades_in(&self, states: &[TradeState]) -> Result<Vec<TradeRow>, LedgerError> {
        self.read(|c| {
            if states.is_empty() {
                let mut s = c.prepare("SELECT * FROM trades ORDER BY created_ms, id")?;
                let rows = s.query_map([], trade_from_row)?;
                return rows.collect();
            }
            let marks = vec!["?"; states.len()].join(", ");
            let mut s = c.prepare(&format!(
                "SELECT * FROM trades WHERE state IN ({marks}) ORDER BY created_ms, id"
            ))?;
            let rows = s.query_map(rusqlite::params_from_iter(states.iter()), trade_from_row)?;
            rows.collect()
        })
    }

    /// Orders of a trade in creation order.
    pub fn orders_of(&self, trade_id: &str) -> Result<Vec<OrderRow>, LedgerError> {
        self.read(|c| {
            let mut s =
                c.prepare("SELECT * FROM orders WHERE trade_id = ?1 ORDER BY created_ms, rowid")?;
            let rows = s.query_map(params![trade_id], order_from_row)?;
            rows.collect()
        })
    }

    /// A trade's transitions in order.
    pub fn transitions_of(&self, trade_id: &str) -> Result<Vec<Transition>, LedgerError> {
        self.read(|c| {
            let mut s = c.prepare(
                "SELECT from_state, to_state, detail, ts_ms FROM transitions WHERE trade_id = ?1 ORDER BY seq",
            )?;
            let rows = s.query_map(params![trade_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            rows.collect()
        })
    }

    /// Counters of a UTC day.
    pub fn daily(&self, day: &str) -> Result<Daily, LedgerError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT trades, loss, pnl FROM daily WHERE day = ?1",
                params![day],
                |r| {
                    Ok(Daily {
                        trades: r.get::<_, i64>(0)? as u32,
                        loss: Usd(r.get(1)?),
                        pnl: Usd(r.get(2)?),
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
        })
    }

    /// A stored value.
    pub fn get_kv(&self, key: &str) -> Result<Option<String>, LedgerError> {
        self.read(|c| {
            c.query_row("SELECT value FROM kv WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    /// Stores a value.
    pub fn set_kv(&self, key: &str, value: &str) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                params![key, value],
            )?;
            Ok(())
        })
    }

    /// Number of trades ever journaled (used to number new ones).
    pub fn trade_count(&self) -> Result<i64, LedgerError> {
        self.read(|c| c.query_row("SELECT COUNT(*) FROM trades", [], |r| r.get(0)))
    }

    /// The next trade sequence number, unique for this ledger file (see
    /// [`Ledger::reserve_trade_seqs`]).
    pub fn next_trade_seq(&self) -> Result<i64, LedgerError> {
        self.reserve_trade_seqs(1)
    }

    /// Reserves `n` consecutive trade sequence numbers and returns the first. Taken in one
    /// write transaction (SQLite's write lock), so two tasks, or two processes sharing the
    /// ledger, never get overlapping ranges; numbers start after the trades already journaled.
    /// Reserving a block costs one write for `n` trades, off the per-trade path.
    pub fn reserve_trade_seqs(&self, n: i64) -> Result<i64, LedgerError> {
        let n = n.max(1);
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let last: i64 = tx.query_row(
                "INSERT INTO kv (key, value) VALUES ('trade_seq', (SELECT COUNT(*) FROM trades) + ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?1 RETURNING CAST(value AS INTEGER)",
                params![n],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Ok(last - n + 1)
        })
    }
}

/// Moves a ledger file (and its WAL files) aside to `<name>.<stamp>.archived`; never deletes.
pub fn archive(path: &Path, stamp: &str) -> Result<Option<PathBuf>, LedgerError> {
    if !path.exists() {
        return Ok(None);
    }
    let target = path.with_extension(format!("sqlite.{stamp}.archived"));
    // Intents a stopped process left beside it are this ledger's trades: written into it
    // before it moves, or the fresh ledger at this path would take them at its first open.
    drop(Ledger::open(path)?);
    // Fold the WAL into the main file first so the archive is one self-contained file.
    if let Ok(c) = Connection::open(path) {
        let _ = c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }
    std::fs::rename(path, &target).map_err(|e| LedgerError::Io {
        path: path.to_path_buf(),
        message: format!("cannot archive: {e}"),
    })?;
    for ext in ["sqlite-wal", "sqlite-shm"] {
        let side = path.with_extension(ext);
        if side.exists() {
            let _ = std::fs::rename(&side, target.with_extension(format!("archived-{ext}")));
        }
    }
    Ok(Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "polymix-ledger-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        d.join("paper.sqlite")
    }

    #[test]
    fn error_log_keeps_exactly_the_last_hundred() {
        let l = Ledger::open(&tmp()).unwrap();
        for i in 0..250 {
            l.record_error(None, "test", &format!("e{i}"), i).unwrap();
        }
        let e = l.errors().unwrap();
        assert_eq!(e.len(), 100);
        assert_eq!(e[0].message, "e249");
        assert_eq!(e[99].message, "e150");
    }

    #[test]
    fn trades_in_selects_the_states_asked_for_oldest_first() {
        let l = Ledger::open(&tmp()).unwrap();
        for (id, st, at) in [
            ("t3", "PARTIAL", 30),
            ("t1", "HEDGED", 10),
            ("t2", "SUBMITTING", 20),
            ("t4", "SETTLED", 40),
        ] {
            l.with(|c| {
                c.execute(
                    "INSERT INTO trades (id, pair_id, direction, qty, state, venue_a, venue_b, instrument_a, instrument_b, limit_a, limit_b, expected_cost, expected_profit, reserved_a, reserved_b, day, created_ms, updated_ms) VALUES (?1,'p','yes_a_no_b',100,?2,'a','b','x','y',1,1,1,1,1,1,'2026-01-01',?3,?3)",
                    params![id, st, at],
                )
                .map(|_| ())
            })
            .unwrap();
        }
        let ids = |states: &[TradeState]| -> Vec<String> {
            l.trades_in(states)
                .unwrap()
                .into_iter()
                .map(|t| t.id)
                .collect()
        };
        assert_eq!(ids(&[]), ["t1", "t2", "t3", "t4"]);
        assert_eq!(
            ids(&[TradeState::Partial, TradeState::Submitting]),
            ["t2", "t3"]
        );
        assert_eq!(ids(&[TradeState::Settled]), ["t4"]);
        assert!(ids(&[TradeState::Unwound]).is_empty());
    }

    #[test]
    fn an_unsynced_journal_is_written() {
        let l = Ledger::open(&tmp()).unwrap();
        let sync = |l: &Ledger| -> i64 {
            l.with(|c| c.query_row("PRAGMA synchronous", [], |r| r.get(0)))
                .unwrap()
        };
        // NORMAL: commits are synced by `durability`, after the lock is released.
        assert_eq!(sync(&l), 1, "NORMAL from the start");
        let t = TradeRow {
            id: "t1".into(),
            pair_id: "p".into(),
            direction: "yes_a_no_b".into(),
            qty: Qty::shares(1),
            state: TradeState::Submitting,
            venue_a: "a".into(),
            venue_b: "b".into(),
            instrument_a: "x".into(),
            instrument_b: "y".into(),
            limit_a: Price(1),
            limit_b: Price(1),
            expected_cost: Usd(1),
            expected_profit: Usd(1),
            reserved_a: Usd(1),
            reserved_b: Usd(1),
            unwind_loss: Usd::ZERO,
            realized_pnl: None,
            note: String::new(),
            day: "2026-12-07".into(),
            created_ms: 1,
            updated_ms: 1,
            settled_ms: None,
        };
        let synced = || l.synced_writes.load(Ordering::Relaxed);
        l.journal_intent_unsynced(&t, &[]).unwrap();
        assert_eq!(synced(), 0, "the journal is not synced");
        assert_eq!(l.trade("t1").unwrap().map(|t| t.id).as_deref(), Some("t1"));
        assert_eq!(synced(), 0, "a read is not synced");
        l.record_error(Some("t1"), "test", "a write", 2).unwrap();
        assert_eq!(synced(), 1, "a write is synced");
        // The same id again: ids are unique by construction, so it is met when the rows
        // are written, and stops the ledger in one line.
        l.journal_intent_unsynced(&t, &[]).unwrap();
        let e = l.trade("t1").unwrap_err().to_string();
        assert!(e.contains("the ledger holds a trade of that id"), "{e}");
    }

    #[test]
    fn the_log_is_checkpointed_by_the_ledger_not_by_each_commit() {
        let p = tmp();
        let l = Ledger::open(&p).unwrap();
        let auto: i64 = l
            .with(|c| c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(auto, 0, "no commit checkpoints by itself");
        let writes = 2 * durability::CHECKPOINT_EVERY + 10;
        for i in 0..writes {
            l.record_error(None, "test", &format!("e{i}"), i64::from(i))
                .unwrap();
        }
        // (busy, frames in the log, frames checkpointed) as a fresh connection sees them,
        // without copying anything (a `PASSIVE` checkpoint reports, and copies what it can;
        // everything was copied already but the writes since the last checkpoint).
        let c = Connection::open(&p).unwrap();
        let (log, done): (i64, i64) = c
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(log, done);
        // The log was restarted by the checkpoints: it holds the last ones' writes, not all
        // of them (with each commit checkpointing, or none, it would differ).
        let pages_per_write = log as f64 / f64::from(writes);
        assert!(
            log > 0 && pages_per_write < 0.5,
            "log {log} frames after {writes} writes"
        );
    }

    #[test]
    fn reads_run_beside_a_writer_holding_the_connection() {
        let l = std::sync::Arc::new(Ledger::open(&tmp()).unwrap());
        l.record_error(None, "test", "before", 1).unwrap();
        // A writer in the middle of something: the write connection's lock is taken.
        let held = l.conn.lock().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let l2 = l.clone();
        std::thread::spawn(move || {
            let r = (
                l2.trades_in(&[]),
                l2.errors(),
                l2.trade_count(),
                l2.get_kv("k"),
            );
            let _ = tx
                .send(r.0.is_ok() && r.1.is_ok_and(|e| e.len() == 1) && r.2.is_ok() && r.3.is_ok());
        });
        let answered = rx.recv_timeout(std::time::Duration::from_secs(2));
        drop(held);
        assert_eq!(answered, Ok(true), "reads waited for the writer's lock");
        // The read connection refuses writes: a read-only method that wrote would fail.
        let e = l
            .read(|c| c.execute("INSERT INTO kv (key, value) VALUES ('x', 'y')", []))
            .unwrap_err();
        assert!(e.to_string().contains("readonly"), "{e}");
    }

    #[test]
    fn an_order_is_found_by_its_venue_id_on_an_index() {
        let l = Ledger::open(&tmp()).unwrap();
        let plan: Vec<String> = l
            .read(|c| {
                let mut s = c.prepare(
                    "EXPLAIN QUERY PLAN SELECT trade_id FROM orders WHERE venue = ?1 AND order_id = ?2",
                )?;
                let rows = s.query_map(params!["v", "o"], |r| r.get::<_, String>(3))?;
                rows.collect()
            })
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("INDEX orders_venue_order")),
            "{plan:?}"
        );
    }

    #[test]
    fn an_illegal_transition_is_refused_and_changes_nothing() {
        let l = Ledger::open(&tmp()).unwrap();
        l.with(|c| {
            c.execute(
                "INSERT INTO trades (id, pair_id, direction, qty, state, venue_a, venue_b, instrument_a, instrument_b, limit_a, limit_b, expected_cost, expected_profit, reserved_a, reserved_b, day, created_ms, updated_ms) VALUES ('t1','p','yes_a_no_b',100,'PLANNED','a','b','x','y',1,1,1,1,1,1,'2026-01-01',0,0)",
                [],
            )
            .map(|_| ())
        })
        .unwrap();
        l.transition("t1", state::SUBMITTING, "sending", 1).unwrap();
        l.transition("t1", state::HEDGED, "both legs", 2).unwrap();
        l.settle("t1", "2026-01-01", Usd(1), Usd(1), Usd(1), 3)
            .unwrap();
        let e = l
            .transition("t1", state::PARTIAL, "a bug", 4)
            .expect_err("SETTLED → PARTIAL");
        assert!(
            matches!(
                e,
                LedgerError::IllegalTransition {
                    from: TradeState::Settled,
                    to: TradeState::Partial,
                    ..
                }
            ),
            "{e}"
        );
        let t = l.trade("t1").unwrap().unwrap();
        assert_eq!(t.state, TradeState::Settled);
        assert!(!t.note.contains("a bug"));
        assert!(l
            .settle("t1", "2026-01-01", Usd(1), Usd(1), Usd(1), 5)
            .is_err());
    }

    /// A running engine must not fail a state change with "database is locked" because another
    /// process wrote meanwhile (an operator's `polymix state`, a reset, a test's reader): every
    /// write transaction takes the write lock at its start, where the busy timeout waits,
    /// instead of reading first and failing the upgrade at once (SQLITE_BUSY_SNAPSHOT).
    #[test]
    fn state_changes_wait_for_another_process_writing_instead_of_failing() {
        let path = tmp();
        let l = Ledger::open(&path).unwrap();
        let n = 400;
        l.with(|c| {
            for i in 0..n {
                c.execute(
                    "INSERT INTO trades (id, pair_id, direction, qty, state, venue_a, venue_b, instrument_a, instrument_b, limit_a, limit_b, expected_cost, expected_profit, reserved_a, reserved_b, day, created_ms, updated_ms) VALUES (?1,'p','yes_a_no_b',100,'PLANNED','a','b','x','y',1,1,1,1,1,1,'2026-01-01',0,0)",
                    params![format!("t{i}")],
                )?;
            }
            Ok(())
        })
        .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let other = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                // Another process: its own connection, writing all the time.
                let c = Connection::open(&path).unwrap();
                c.execute_batch("PRAGMA busy_timeout=5000;").unwrap();
                let mut k = 0i64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    c.execute(
                        "INSERT INTO kv (key, value) VALUES ('other', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
                        params![k.to_string()],
                    )
                    .unwrap();
                    k += 1;
                    // Often, not back to back: a writer that never lets go would starve any
                    // other process past its busy timeout, fix or no fix.
                    std::thread::sleep(std::time::Duration::from_micros(300));
                }
            })
        };
        let failed: Vec<String> = (0..n)
            .filter_map(|i| {
                l.transition(&format!("t{i}"), state::SUBMITTING, "sending", 1)
                    .err()
                    .map(|e| e.to_string())
            })
            .collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        other.join().unwrap();
        assert!(
            failed.is_empty(),
            "{} of {n} failed: {:?}",
            failed.len(),
            failed.first()
        );
    }

    #[test]
    fn trade_sequence_numbers_are_unique_across_threads_and_handles() {
        let path = tmp();
        let a = std::sync::Arc::new(Ledger::open(&path).unwrap());
        let b = std::sync::Arc::new(Ledger::open(&path).unwrap());
        let mut handles = Vec::new();
        for i in 0..8 {
            let l = if i % 2 == 0 { a.clone() } else { b.clone() };
            handles.push(std::thread::spawn(move || {
                (0..25)
                    .map(|_| l.next_trade_seq().unwrap())
                    .collect::<Vec<_>>()
            }));
        }
        let mut all: Vec<i64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n, "a sequence number was handed out twice");
        assert_eq!(all, (1..=200).collect::<Vec<_>>());
        // Blocks never overlap either.
        let x = a.reserve_trade_seqs(100).unwrap();
        let y = b.reserve_trade_seqs(100).unwrap();
        assert_eq!((x, y), (201, 301));
    }

    #[test]
    fn processes_opening_a_fresh_ledger_at_once_migrate_it_once() {
        for _ in 0..5 {
            let path = tmp();
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let p = path.clone();
                    std::thread::spawn(move || Ledger::open(&p).map(|_| ()))
                })
                .collect();
            for h in handles {
                h.join().expect("thread").expect("every opener succeeds");
            }
            let l = Ledger::open(&path).expect("open");
            let v: i64 = l
                .with(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
                .expect("version");
            assert_eq!(v, MIGRATIONS.len() as i64);
        }
    }

    #[test]
    fn a_ledger_from_a_newer_polymix_is_refused_in_one_line() {
        let path = tmp();
        let l = Ledger::open(&path).expect("open");
        l.with(|c| c.execute_batch("PRAGMA user_version = 999;"))
            .expect("bump");
        drop(l);
        let e = Ledger::open(&path).err().expect("refused").to_string();
        assert!(e.contains("schema version 999 is newer"), "{e}");
    }

    #[test]
    fn archive_moves_the_file_aside() {
        let p = tmp();
        {
            let l = Ledger::open(&p).unwrap();
            l.set_kv("x", "1").unwrap();
        }
        let a = archive(&p, "20261125T000000").unwrap().unwrap();
        assert!(a.exists());
        assert!(!p.exists());
        let l = Ledger::open(&a).unwrap();
        assert_eq!(l.get_kv("x").unwrap().as_deref(), Some("1"));
    }
}
