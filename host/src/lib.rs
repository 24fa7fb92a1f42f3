//! PolyMix host runtime: config, plugin loading, venue I/O, the trading engine, the ledger and
//! the control surfaces. The `polymix` binary is a thin CLI over this library.
#![allow(non_local_definitions)]

pub mod api;
pub mod config;
pub mod engine;
pub mod metrics;
pub mod notify;
pub mod pairs;
pub mod plugins;
pub mod record;
pub mod runtime;
pub mod store;
pub mod stream;
pub mod venue_io;
