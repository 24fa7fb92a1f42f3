//! A scenario replay that survives a kill.
//!
//! A replay is deterministic: the same scenario, the same settings and the same operations at
//! the same simulated times give the same account. So a replay instance keeps a journal (see
//! [`crate::journal`]; by default `<data_dir>/paper-sim/<instance>.journal`) of only what the
//! host did to it: every order placed and cancelled, with the simulated time it was applied at,
//! written and synced *before* it is applied. Scenario events are not journaled: the scenario
//! file has them.
//!
//! On start the instance rebuilds itself by replaying scenario events and journaled operations
//! in time order (`advance` to each line's time, then apply it): cash, positions, orders, fills
//! and pending timers are exactly what the killed run had after its last operation, and the
//! events it produced on the way (books, fills, resolutions) wait in its output for the host's
//! first poll. The host resumes its simulated clock at its own last durable step (see
//! `host/src/engine/replay_resume.rs`), so the engine finds its orders by client order id
//! and no scenario event is applied twice.
//!
//! Faults: an order takes the armed faults of its instrument when it is *begun*, and with an
//! injected latency it is applied later. The line says which: `take` (faults taken at this
//! time), `apply` (applied at this time) and the `faults` it was applied with; a latency order
//! writes a `take` line when begun and an `apply` line when resumed, so the armed faults are
//! consumed at the same simulated times as in the killed run.
//!
//! The journal's first line names what it was written against ([`fingerprint`]): the scenario
//! (name, seed, span, size in bytes) and the settings that shape the account. A journal for
//! another scenario or other settings is refused with one line saying how to start afresh,
//! never replayed against the wrong data.

use plugin_api::{PluginError, PluginResult, VenueOp};
use serde_json::{json, Value};

use crate::journal::Journal;
use crate::scenario::Header;
use crate::settings::Settings;
use crate::sim::Sim;

/// What a replay journal was written against.
pub(crate) fn fingerprint(settings: &Settings, header: &Header) -> Value {
    let size = std::fs::metadata(&settings.scenario).map(|m| m.len()).ok();
    json!({
        "name": header.name,
        "seed": header.seed,
        "start_ms": header.start_ms,
        "end_ms": header.end_ms,
        "bytes": size,
        "venue_key": settings.venue_key,
        "rules": settings.rules.as_str(),
        "balance": settings.balance.0,
        "latency_ms": settings.latency_ms,
        "confirm_ms": settings.confirm_ms,
        "faults": settings.faults.len(),
    })
}

/// Opens a replay instance's journal and rebuilds `sim` from it.
pub(crate) fn open(settings: &Settings, header: &Header, sim: &mut Sim) -> PluginResult<Journal> {
    let path = settings
        .journal
        .as_deref()
        .ok_or_else(|| PluginError::invalid("paper-sim: no journal path"))?;
    let (mut journal, entries) = Journal::open(path)?;
    let want = fingerprint(settings, header);
    match &journal.header {
        Some(have) if *have != want => {
            return Err(PluginError::invalid(format!(
                "paper-sim journal {}: written for another scenario or settings ({have} here, {want} now); \
                 run `polymix reset --config <this config>` to start afresh",
                path.display()
            )))
        }
        Some(_) => {}
        None if !entries.is_empty() => {
            return Err(PluginError::invalid(format!(
                "paper-sim journal {}: no scenario header (not a replay journal); \
                 run `polymix reset --config <this config>` to start afresh",
                path.display()
            )))
        }
        None => journal.set_header(want),
    }
    for e in entries {
        sim.advance(e.now_ms);
        if e.take {
            if let VenueOp::PlaceOrder { order } = &e.op {
                sim.faults.take_for(&order.instrument);
            }
        }
        if e.apply {
            // A refusal is part of the history too: it changed nothing then and now.
            let _ = crate::PaperSim::run(sim, e.op, &e.faults);
        }
    }
    Ok(journal)
}
