//! The ledger: SQLite (WAL), one database per mode. Every trade transition is written here
//! before it is acted on, and is on disk when the write returns; the fsync runs after the
//! connection's lock is released (`durability`). One write is not synced: a live trade's
//! journal before its legs leave, written as one line of the process's intent file beside the
//! ledger (`intent_log`, `Ledger::journal_intent_unsynced`; the next synced write carries its
//! rows to disk, and restart adopts what a power cut took back).

mod durability;
mod fills;
mod intent_file;
mod intent_log;
#[cfg(test)]
mod intent_log_tests;
mod ledger;
pub mod lifecycle;
pub mod pair_registry;
#[cfg(test)]
mod qty_migration_tests;
mod registry_carry;
mod replay_position;
mod schema;

pub use fills::{FillRow, FillSource};
pub use intent_log::intent_files;
pub use ledger::*;
pub use lifecycle::{Leg, OrderState, Purpose, Side, Tif, TradeState};
pub use pair_registry::{PairRegistryError, PairState, RegisteredPair};
pub use registry_carry::reset_ledger;
pub use replay_position::{archive_paper_journals, LedgerTotals, PAPER_JOURNALS_DIR};
