//! Integration tests: one binary, one module per area.

mod kalshi;
mod paper_e2e;
mod plugin_loading;
mod polymarket;
mod support;
