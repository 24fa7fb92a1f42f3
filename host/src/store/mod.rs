//! The ledger: SQLite (WAL, `synchronous=FULL`), one database per mode. Every trade
//! transition is written here before it is acted on. One write is not synced as it commits:
//! a live trade's journal before its legs leave (`Ledger::insert_planned_unsynced`; the next
//! synced write carries it to disk, and restart adopts what a power cut took back).

mod fills;
mod ledger;
pub mod lifecycle;
pub mod pair_registry;
#[cfg(test)]
mod qty_migration_tests;
mod registry_carry;
mod replay_position;
mod schema;

pub use fills::{FillRow, FillSource};
pub use ledger::*;
pub use lifecycle::{Leg, OrderState, Purpose, Side, Tif, TradeState};
pub use pair_registry::{PairRegistryError, PairState, RegisteredPair};
pub use registry_carry::reset_ledger;
pub use replay_position::{archive_paper_journals, LedgerTotals, PAPER_JOURNALS_DIR};
