//! A live trade's journal on its way to the wire: its intent, one line appended to a file.
//!
//! The journal proper is the trade, its two orders, the day's count and the first transition:
//! four tables and five indexes of the ledger. Written as one SQLite transaction it was the
//! costliest stage from a book frame to the wire; written as one row of an `intents` table it
//! still cost ~60 µs p50 in the `frame_to_wire` bench, almost all of it SQLite's transaction
//! (begin 15, the id checks 16, the insert 6, the commit 24; BENCHMARKS.md, session 12). Now the
//! intent (the same rows, as one JSON line) is appended to this process's intent file,
//! `<ledger>-intents-<random>`, mapped into memory: a copy, with no system call
//! (`intent_file`; a `write` cost ~29 µs p50 there, session 15). It is in the operating
//! system's page cache when the copy ends, before either leg leaves, so a kill -9 after it
//! loses nothing. Nothing waits for the disk: the legs' answers are synced writes, and until
//! one lands a power cut may take the intent back, as it could the unsynced row before
//! (restart adopts such orders from the venues, `engine::adopt_orders`).
//!
//! The rows are written from the intents ("materialized") by this process at its next use of
//! the ledger (`Ledger::run`, `Ledger::read`); nothing reads or changes a trade in between.
//! The file is emptied once every intent in it is written out and a sync of the ledger that
//! began after that covers them (`Ledger::make_durable`).
//!
//! Each process holds an exclusive lock (`flock`) on its own intent file while it runs. Opening
//! a ledger writes out every intent file whose lock it can take (its process is gone) and
//! removes it; a locked file belongs to a running process, which writes out its own. A reader
//! takes the bytes before the file's first zero byte (the zeros after the lines are room made
//! ahead, `intent_file`). A last line without its newline is an append the process died
//! inside: that trade's legs never left, so it is skipped. Writing out is idempotent: a trade
//! the ledger already holds with the same fixed fields was written out before a stop that came
//! ahead of the file's removal, and is not written twice; one with other fields is a
//! collision, refused in one line.
//!
//! A trade id or client order id an intent of this process not yet written out holds is
//! refused before anything leaves; one the ledger's rows hold (ids are unique by construction,
//! so only a defect could bring one) stops the ledger when the intent is written out. Ledgers of earlier versions
//! kept intents as rows of the `intents` table; rows a stopped run left there are written out
//! at open as before.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::intent_file::{self, MappedFile};
use super::ledger::{insert_planned_rows, OrderRow, TradeRow};

/// What journaling or materializing an intent met.
#[derive(Debug)]
pub(super) enum Fault {
    /// SQLite refused.
    Sql(rusqlite::Error),
    /// An intent file could not be created, written, read or removed.
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The ledger already holds this (a trade id or client order id), or an intent of this
    /// process does: a second copy is refused before any order leaves.
    Exists(String),
    /// A journaled intent whose body is not a trade and its orders.
    Unreadable {
        /// The intent's trade id (or where it is, for a line of a file).
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

fn io(path: &Path, what: &str, e: std::io::Error) -> Fault {
    Fault::Io {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    }
}

/// A journaled intent: the rows its trade's journal writes.
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

impl Body {
    /// The intent, if its orders are its trade's.
    fn into_intent(self, trade_id: Option<&str>) -> Result<Intent, String> {
        if trade_id.is_some_and(|id| id != self.trade.id) {
            return Err(format!("it holds trade {}", self.trade.id));
        }
        if let Some(o) = self.orders.iter().find(|o| o.trade_id != self.trade.id) {
            return Err(format!(
                "its order {} belongs to trade {}",
                o.client_order_id, o.trade_id
            ));
        }
        Ok(Intent {
            trade: self.trade,
            orders: self.orders,
        })
    }
}

/// The intent's line (without its newline).
pub(super) fn line_of(t: &TradeRow, orders: &[OrderRow]) -> Result<Vec<u8>, Fault> {
    serde_json::to_vec(&BodyRef { trade: t, orders }).map_err(|e| Fault::Unreadable {
        trade_id: t.id.clone(),
        message: e.to_string(),
    })
}

/// This process's intent file, and its intents whose rows are not written yet.
pub(super) struct IntentLog {
    db: PathBuf,
    /// Created, locked and mapped ahead of the first live trade (`ready`), or at the first
    /// intent.
    file: Option<OwnFile>,
    /// Journaled, not yet written out (shared, so writing them out copies no rows).
    pending: Vec<Arc<Intent>>,
    /// Counts the times intents were written out: the file is emptied only by a sync that
    /// began after the last of them.
    written_out: u64,
}

struct OwnFile {
    path: PathBuf,
    /// Mapped: an append is a copy (`intent_file`).
    file: MappedFile,
}

fn ledger_name(db: &Path) -> String {
    db.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn file_prefix(db: &Path) -> String {
    format!("{}-intents-", ledger_name(db))
}

/// Where an intent file is made before it is locked: a name no opener of the ledger looks at
/// (`intent_files`), so none can take a fresh file for a dead process's, write out nothing
/// and remove it while its owner goes on appending to an unlinked file.
fn staging_prefix(db: &Path) -> String {
    format!("{}-intent-staging-", ledger_name(db))
}

/// Creates this process's intent file, locked before it takes the name openers look for (the
/// lock is the inode's, so the rename keeps it).
fn create_locked(db: &Path) -> Result<OwnFile, Fault> {
    let tag = format!("{:016x}", rand::random::<u64>());
    let staging = dir_of(db).join(format!("{}{tag}", staging_prefix(db)));
    let path = dir_of(db).join(format!("{}{tag}", file_prefix(db)));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&staging)
        .map_err(|e| io(&staging, "cannot create the intent file", e))?;
    // Held for as long as this process runs: an opener of the ledger leaves the file to it.
    let locked = file
        .try_lock()
        .map_err(|e| io(&staging, "cannot lock the intent file", e.into()))
        .and_then(|()| {
            std::fs::rename(&staging, &path)
                .map_err(|e| io(&path, "cannot name the intent file", e))
        });
    if let Err(f) = locked {
        let _ = std::fs::remove_file(&staging);
        return Err(f);
    }
    // Named and locked: an opener that meets it now leaves it alone, and one that meets it
    // after a kill before it is mapped reads zeros (no intent) and removes it.
    match MappedFile::create(file) {
        Ok(file) => Ok(OwnFile { path, file }),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(io(&path, e.what, e.error))
        }
    }
}

/// A staging name for the ledger at `db` (tests).
#[cfg(test)]
pub(super) fn tests_staging_name(db: &Path) -> PathBuf {
    dir_of(db).join(format!("{}0000000000000000", staging_prefix(db)))
}

fn dir_of(db: &Path) -> PathBuf {
    match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl IntentLog {
    /// The (not yet created) intent file of a process using the ledger at `db`.
    pub(super) fn new(db: &Path) -> IntentLog {
        IntentLog {
            db: db.to_path_buf(),
            file: None,
            pending: Vec::new(),
            written_out: 0,
        }
    }

    /// Whether intents wait to be written out.
    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Refuses ids an intent not yet written out holds, then appends the intent as one line.
    pub(super) fn append(&mut self, t: &TradeRow, orders: &[OrderRow]) -> Result<(), Fault> {
        self.refuse_pending_ids(t, orders)?;
        let line = line_of(t, orders)?;
        let own = self.own_file()?;
        own.file
            .append(&line)
            .map_err(|e| io(&own.path, e.what, e.error))?;
        self.pending.push(Arc::new(Intent {
            trade: t.clone(),
            orders: orders.to_vec(),
        }));
        Ok(())
    }

    /// Ids are unique by construction (trade ids come from sequence blocks reserved in the
    /// ledger, `engine::trade_ids`; client order ids name their trade), so this is the cheap
    /// half of a belt-and-braces check: against the intents in memory. An id the ledger's rows
    /// hold is met when the intent is written out (`write_rows`), and stops the ledger in one
    /// line: looking it up here cost ~40 µs on the way to the wire (the read connection's
    /// cache is cold after every write).
    fn refuse_pending_ids(&self, t: &TradeRow, orders: &[OrderRow]) -> Result<(), Fault> {
        if self.pending.iter().any(|i| i.trade.id == t.id) {
            return Err(Fault::Exists(format!("trade {}", t.id)));
        }
        for o in orders {
            let taken = self.pending.iter().any(|i| {
                i.orders
                    .iter()
                    .any(|p| p.client_order_id == o.client_order_id)
            });
            if taken {
                return Err(Fault::Exists(format!("order {}", o.client_order_id)));
            }
        }
        Ok(())
    }

    /// Creates, locks and maps the file now rather than at the first intent.
    pub(super) fn ready(&mut self) -> Result<(), Fault> {
        self.own_file().map(|_| ())
    }

    fn own_file(&mut self) -> Result<&mut OwnFile, Fault> {
        if self.file.is_none() {
            self.file = Some(create_locked(&self.db)?);
        }
        Ok(self.file.as_mut().expect("created above"))
    }

    /// Writes the rows of the pending intents in one transaction (the intents stay pending,
    /// and their ids refused, until it commits). Called under the ledger's write lock.
    pub(super) fn materialize(
        this: &std::sync::Mutex<IntentLog>,
        c: &mut Connection,
    ) -> Result<(), Fault> {
        let batch: Vec<Arc<Intent>> = lock(this).pending.clone();
        if batch.is_empty() {
            return Ok(());
        }
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for i in &batch {
            write_rows(&tx, i, "this process's intent file", false)?;
        }
        tx.commit()?;
        let mut log = lock(this);
        // Only this function removes intents, under the write lock: the batch is still first.
        log.pending.drain(..batch.len());
        log.written_out += 1;
        Ok(())
    }

    /// How many times intents were written out so far (read before a sync begins).
    pub(super) fn written_out(&self) -> u64 {
        self.written_out
    }

    /// After a sync of the ledger that began when [`Self::written_out`] was `synced`: empties
    /// the file if every intent in it is written out and that sync covers them.
    pub(super) fn clear_if_synced(&mut self, synced: u64) {
        if !self.pending.is_empty() || self.written_out != synced {
            return;
        }
        if let Some(own) = self.file.as_mut() {
            own.file.empty();
        }
    }
}

impl Drop for IntentLog {
    /// An empty file is removed at a clean stop (one with intents in it is left for the next
    /// open to write out).
    fn drop(&mut self) {
        if let Some(own) = self.file.as_ref().filter(|f| f.file.len() == 0) {
            if self.pending.is_empty() {
                let _ = std::fs::remove_file(&own.path);
            }
        }
    }
}

fn lock(m: &std::sync::Mutex<IntentLog>) -> std::sync::MutexGuard<'_, IntentLog> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes an intent's rows. A trade the ledger holds already is refused, except, for an
/// intent file a stopped process left (`rewrite`), one with the same fixed fields: that
/// intent was written out before the stop came ahead of the file's removal.
fn write_rows(tx: &Connection, i: &Intent, source: &str, rewrite: bool) -> Result<(), Fault> {
    let t = &i.trade;
    let held: Option<(String, i64, i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT pair_id, qty, limit_a, limit_b, created_ms FROM trades WHERE id = ?1",
        )?
        .query_row(params![t.id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let same = |h: &(String, i64, i64, i64, i64)| {
        *h == (
            t.pair_id.clone(),
            t.qty.0,
            t.limit_a.0,
            t.limit_b.0,
            t.created_ms,
        )
    };
    match held {
        None => Ok(insert_planned_rows(tx, t, &i.orders)?),
        Some(h) if rewrite && same(&h) => Ok(()),
        Some(_) => Err(Fault::Exists(format!(
            "trade {} (an intent of {source}; the ledger holds a trade of that id)",
            t.id
        ))),
    }
}

/// Writes out the intents stopped processes left: rows of the `intents` table (earlier
/// versions) and intent files whose lock is free. Returns how many. Writes nothing when there
/// are none, so opening a ledger to read it takes no write lock.
pub(super) fn materialize_left(c: &mut Connection, db: &Path) -> Result<usize, Fault> {
    let mut n = materialize_table_left(c)?;
    let files =
        intent_files(db).map_err(|e| io(&dir_of(db), "cannot list the data directory", e))?;
    for path in files {
        n += materialize_file(c, db, &path)?;
    }
    Ok(n)
}

/// The intent files beside the ledger at `db` (`<ledger>-intents-<random>`: each process's that
/// journaled a live trade and has not stopped cleanly), sorted by name.
pub fn intent_files(db: &Path) -> std::io::Result<Vec<PathBuf>> {
    let prefix = file_prefix(db);
    let entries = match std::fs::read_dir(dir_of(db)) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// One stopped process's intent file: written out and removed, unless its process still runs
/// (its lock is held) or another opener removed it first.
fn materialize_file(c: &mut Connection, db: &Path, path: &Path) -> Result<usize, Fault> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io(path, "cannot open the intent file", e)),
    };
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(0),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(io(path, "cannot lock the intent file", e))
        }
    }
    // Locked: still the file at this path, or removed by an opener that held the lock first?
    let ours = f.metadata().map_err(|e| io(path, "cannot stat", e))?;
    match std::fs::metadata(path) {
        Ok(m) if m.ino() == ours.ino() && m.dev() == ours.dev() => {}
        _ => return Ok(0),
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)
        .map_err(|e| io(path, "cannot read the intent file", e))?;
    let mut intents = Vec::new();
    for (no, line) in intent_file::content(&bytes)
        .split_inclusive(|&b| b == b'\n')
        .enumerate()
    {
        let Some(line) = line.strip_suffix(b"\n") else {
            // The process died inside this append: the trade's legs never left.
            tracing::warn!(file = %path.display(), line = no + 1, "an intent whose write did not complete skipped (its orders were never sent)");
            continue;
        };
        let body: Body = serde_json::from_slice(line).map_err(|e| Fault::Io {
            path: path.to_path_buf(),
            message: format!("line {}: the journaled intent cannot be read: {e}", no + 1),
        })?;
        let intent = body.into_intent(None).map_err(|message| Fault::Io {
            path: path.to_path_buf(),
            message: format!(
                "line {}: the journaled intent cannot be read: {message}",
                no + 1
            ),
        })?;
        intents.push(intent);
    }
    if !intents.is_empty() {
        let source = path.display().to_string();
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for i in &intents {
            write_rows(&tx, i, &source, true)?;
        }
        tx.commit()?;
        // The rows are on disk before the intents are gone.
        super::durability::sync_wal(db).map_err(|e| {
            io(
                &super::durability::wal_path(db),
                "cannot sync the write-ahead log",
                e,
            )
        })?;
    }
    std::fs::remove_file(path)
        .map_err(|e| io(path, "cannot remove the written-out intent file", e))?;
    Ok(intents.len())
}

/// Writes out the rows of the `intents` table (ledgers of earlier versions) and deletes them,
/// in one transaction. Returns how many.
fn materialize_table_left(c: &mut Connection) -> Result<usize, Fault> {
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
        intents.push(b.into_intent(Some(&trade_id)).map_err(unreadable)?);
    }
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for i in &intents {
        let gone = tx
            .prepare_cached("DELETE FROM intents WHERE trade_id = ?1")?
            .execute(params![i.trade.id])?;
        if gone > 0 {
            insert_planned_rows(&tx, &i.trade, &i.orders)?;
        }
    }
    tx.commit()?;
    Ok(intents.len())
}
