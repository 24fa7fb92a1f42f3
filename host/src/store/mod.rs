//! The ledger: SQLite (WAL, `synchronous=FULL`), one database per mode. Every trade
//! transition is written here before it is acted on.

mod ledger;
mod schema;

pub use ledger::*;
