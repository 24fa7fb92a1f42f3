//! When a ledger write reaches the disk, and who waits for it.
//!
//! The connection runs WAL with `synchronous=NORMAL`: a commit is in the operating system
//! when it returns (a kill -9 loses nothing), and the write-ahead log is made durable by an
//! fsync the writer issues itself *after* releasing the connection (`sync_wal`). So a write
//! that must be on disk before it is acted on still is (the caller returns only after the
//! fsync), but no other writer waits on the connection's lock while the disk flushes. Before
//! this, each commit synced under the lock (`synchronous=FULL`), and a live trade's journal
//! on its way to the wire waited behind other tasks' fsyncs: in a 1000-trade run of the
//! `frame_to_wire` bench, 29% of journals waited over 100 µs for the lock (p90 473 µs, p99
//! 1 ms; BENCHMARKS.md, "The ledger's lock is never held across an fsync").
//!
//! Checkpoints (copying the log into the database, two fsyncs) are taken off the writers'
//! path too: the connection never checkpoints by itself (`wal_autocheckpoint=0`); every
//! [`CHECKPOINT_EVERY`] synced writes, the writer that made the count runs a `PASSIVE`
//! checkpoint on a connection of its own, which never blocks the main connection's writers.
//!
//! One write skips the fsync: a live trade's journal before its legs leave, as one line of
//! the process's intent file (`Ledger::journal_intent_unsynced`, `intent_log`); the legs'
//! answers are synced writes, and the file is emptied only once a sync covers the rows
//! written from it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Synced writes between two checkpoints (SQLite's own default is ~1000 log pages; a trade
/// writes a few pages per transaction).
pub(super) const CHECKPOINT_EVERY: u32 = 256;

/// Pragmas of the ledger's connection once its schema is current.
pub(super) const CONNECTION_PRAGMAS: &str =
    "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;";

/// The write-ahead log of the database at `db` (SQLite's naming: `<db>-wal`).
pub(super) fn wal_path(db: &Path) -> PathBuf {
    let mut p: OsString = db.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// Makes every commit so far durable: fsync of the write-ahead log (an fsync flushes the
/// file, whichever descriptor wrote it). A log that is gone was folded into the database by
/// a checkpoint, which synced it, or was never written (a database that is not in WAL mode
/// syncs as it commits), so there is nothing to flush.
pub(super) fn sync_wal(db: &Path) -> std::io::Result<()> {
    match std::fs::File::open(wal_path(db)) {
        Ok(f) => f.sync_data(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A `PASSIVE` checkpoint on a connection of its own: copies what it can of the log into the
/// database without waiting for, or blocking, anyone.
pub(super) fn checkpoint(db: &Path) -> rusqlite::Result<()> {
    let c = rusqlite::Connection::open(db)?;
    c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}
