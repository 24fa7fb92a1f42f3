//! The ledger: SQLite (WAL, `synchronous=FULL`), one database per mode. Every trade
//! transition is written here before it is acted on.

mod ledger;
pub mod lifecycle;
mod schema;

pub use ledger::*;
pub use lifecycle::{Leg, OrderState, Purpose, Side, TradeState};
