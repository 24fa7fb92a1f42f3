//! Scenarios: the JSON Lines format paper-sim replays (`config/scenarios/README.md`), its
//! streaming parser and writer, a deterministic generator, and the `[[pair]]` TOML writer.

mod format;
mod generate;
mod parse;
mod write;

pub use format::{
    Event, EventKind, FaultKind, FaultSpec, FaultTarget, Header, MarketDef, PairDef, PairSide,
    RulesKind, Scenario, VenueDef, FORMAT_VERSION,
};
pub use generate::{generate, generate_to, GenError, GenParams, Generator, Updates};
pub(crate) use parse::FaultFields;
pub use parse::{open, parse_file, parse_str, Item, ScenarioError, ScenarioReader};
pub use write::{pairs_toml, write_scenario, ScenarioWriter};

#[cfg(test)]
mod tests;
