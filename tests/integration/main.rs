//! Integration tests: one binary, one module per area.

mod plugin_loading;
mod support;
mod kalshi;
mod polymarket;
mod paper_e2e;
