//! Integration tests: one binary, one module per area.

mod api;
mod browser;
mod cli_safety;
mod cli_unknown_outcome;
mod crash_restart;
mod crash_sweep;
mod gate_cash;
mod harness;
mod kalshi;
mod live_e2e;
mod live_faults;
mod live_market_status;
mod live_stream;
mod live_user_stream;
mod notify;
mod pairs;
mod paper_e2e;
mod paper_live;
mod plugin_loading;
mod polymarket;
mod risk_halt;
mod stream_books;
mod support;
mod thirdparty_venue;
mod venue_cli;
mod write_faults;
