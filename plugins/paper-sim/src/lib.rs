//! # paper-sim
//!
//! A simulated venue for PolyMix. It imitates Polymarket's or Kalshi's trading rules (ticks,
//! minimum sizes, fees, book shapes), replays a deterministic scenario of order books,
//! outages, faults and resolutions, and fills orders against the replayed books. It never
//! does I/O after `create` (which reads the scenario file): every operation finishes with
//! [`Step::Done`], or [`Step::Wait`] when latency is injected.
//!
//! * Settings: [`settings`].
//! * Scenario format, parser, writer and generator: [`scenario`] and
//!   `config/scenarios/README.md`.
//!
//! Reject codes (`ErrorKind::Rejected { code }`): `trading_halted`, `unknown_instrument`,
//! `market_closed`, `invalid_order`, `invalid_expiration`, `invalid_post_only`,
//! `post_only_would_cross`, `duplicate_client_order_id`, `invalid_price`, `invalid_tick`,
//! `invalid_size`, `below_min_size`, `below_min_notional`, `insufficient_balance`,
//! `insufficient_position`, `order_not_found`, plus whatever code a scenario `reject` fault
//! names. An injected timeout is `ErrorKind::Timeout`. An order refused after it was journaled
//! (a fault's reject, a check when it executes) is answered the same if its client order id is
//! sent again (see [`resume`]).
#![warn(missing_docs)]

mod account;
mod book;
mod faults;
mod journal;
mod listings;
mod resume;
pub mod scenario;
pub mod settings;
mod sim;

use std::sync::{Mutex, MutexGuard};

use plugin_api::{
    CallCtx, HttpResponse, OpResult, PluginError, PluginResult, Step, Venue, VenueConfig,
    VenueEvent, VenueInfo, VenueOp, VenueRules,
};
use serde::{Deserialize, Serialize};

use crate::scenario::{FaultKind, RulesKind, ScenarioReader};
use crate::settings::Settings;
use crate::sim::Sim;

/// The paper-sim venue plugin.
pub struct PaperSim {
    sim: Mutex<Sim>,
    rules: RulesKind,
    /// Fed live by a market-data instance (no scenario).
    fed: bool,
    /// The paper account's journal (a replay's by default, a fed instance's when configured):
    /// every state change is written there before it is applied.
    journal: Mutex<Option<journal::Journal>>,
}

/// What a latency [`Step::Wait`] carries to [`Venue::resume`].
#[derive(Serialize, Deserialize)]
struct Pending {
    op: VenueOp,
    faults: Vec<FaultKind>,
}

impl PaperSim {
    /// Creates an instance from settings and a scenario given as text (the `scenario` setting
    /// is then only a label). For tests and tools.
    pub fn from_scenario_text(settings: &serde_json::Value, text: &str) -> PluginResult<PaperSim> {
        let settings = Settings::parse(settings)?;
        let reader = ScenarioReader::new(text.as_bytes())
            .map_err(|e| PluginError::invalid(e.to_string()))?;
        Self::build(settings, reader)
    }

    fn build<R: std::io::BufRead>(
        settings: Settings,
        reader: ScenarioReader<R>,
    ) -> PluginResult<PaperSim> {
        let rules = settings.rules;
        let header = reader.header().clone();
        let journaled = settings.journal.is_some();
        let mut sim = Sim::load(settings, reader)?;
        let journal = if journaled {
            Some(resume::open(&sim.settings.clone(), &header, &mut sim)?)
        } else {
            None
        };
        Ok(PaperSim {
            sim: Mutex::new(sim),
            rules,
            fed: false,
            journal: Mutex::new(journal),
        })
    }

    /// Creates an instance fed live (the `_feed` setting the host injects for a venue entry
    /// with `feed = "..."`): no scenario, data arrives through [`VenueOp::Ingest`].
    pub fn fed(settings: &serde_json::Value) -> PluginResult<PaperSim> {
        let settings = Settings::parse(settings)?;
        if settings.feed.is_none() {
            return Err(PluginError::invalid(
                "paper-sim: a fed instance needs the `_feed` setting",
            ));
        }
        let rules = settings.rules;
        let journal_path = settings.journal.clone();
        let mut sim = Sim::fed(settings)?;
        let journal = match journal_path {
            Some(path) => {
                let (j, entries) = journal::Journal::open(&path)?;
                // Deterministic: the same operations at the same times rebuild the same account.
                for e in entries {
                    sim.advance(e.now_ms);
                    let _ = Self::run(&mut sim, e.op, &[]);
                }
                Some(j)
            }
            None => None,
        };
        Ok(PaperSim {
            sim: Mutex::new(sim),
            rules,
            fed: true,
            journal: Mutex::new(journal),
        })
    }

    fn lock(&self) -> PluginResult<MutexGuard<'_, Sim>> {
        self.sim.lock().map_err(|_| {
            PluginError::new(
                plugin_api::ErrorKind::Internal,
                "paper-sim state poisoned by an earlier panic",
            )
        })
    }

    /// Writes a state-changing operation to the journal (if kept) before it is applied, with a
    /// replay's fault bookkeeping (see [`resume`]): `take` when the order took its faults now,
    /// `apply` when it is applied now.
    fn journal(
        &self,
        sim: &Sim,
        op: &VenueOp,
        take: bool,
        apply: bool,
        faults: &[FaultKind],
    ) -> PluginResult<()> {
        if !matches!(
            op,
            VenueOp::Ingest { .. } | VenueOp::PlaceOrder { .. } | VenueOp::CancelOrder { .. }
        ) {
            return Ok(());
        }
        let mut j = self.journal.lock().map_err(|_| {
            PluginError::new(
                plugin_api::ErrorKind::Internal,
                "paper-sim journal poisoned",
            )
        })?;
        match j.as_mut() {
            Some(j) => j.append_with(sim.now(), op, take, apply, faults),
            None => Ok(()),
        }
    }

    pub(crate) fn run(sim: &mut Sim, op: VenueOp, faults: &[FaultKind]) -> PluginResult<OpResult> {
        Ok(match op {
            VenueOp::Markets { filter } => {
                let (markets, next_cursor) = sim.markets(&filter);
                OpResult::Markets {
                    markets,
                    next_cursor,
                }
            }
            VenueOp::Book { instrument } => OpResult::Book {
                book: sim.book(&instrument)?,
            },
            VenueOp::Rules { instrument } => OpResult::Rules {
                rules: sim.rules(&instrument)?,
            },
            VenueOp::PlaceOrder { order } => {
                let id = order.client_order_id.clone();
                match sim.place(order, faults) {
                    Ok(order) => OpResult::Order { order },
                    Err(e) => {
                        if matches!(e.kind, plugin_api::ErrorKind::Rejected { .. }) {
                            sim.refused.insert(id, e.clone());
                        }
                        return Err(e);
                    }
                }
            }
            VenueOp::CancelOrder { order_id, .. } => OpResult::Order {
                order: sim.cancel(&order_id)?,
            },
            VenueOp::GetOrder {
                order_id,
                client_order_id,
                ..
            } => OpResult::Order {
                order: sim.get_order(order_id.as_deref(), client_order_id.as_deref())?,
            },
            VenueOp::OpenOrders { instrument } => OpResult::Orders {
                orders: sim.open_orders(instrument.as_deref()),
            },
            VenueOp::Fills {
                instrument,
                since_ms,
            } => OpResult::Fills {
                fills: sim.fills(instrument.as_deref(), since_ms),
            },
            VenueOp::Balance => OpResult::Balance {
                balance: sim.balance(),
            },
            VenueOp::Positions => OpResult::Positions {
                positions: sim.positions(),
            },
            VenueOp::Resolution { instrument } => OpResult::Resolution {
                resolution: sim.resolution(&instrument)?,
            },
            VenueOp::Ingest { snapshot } if sim.is_fed() => OpResult::Ingested {
                report: sim.ingest(snapshot),
            },
            VenueOp::Ingest { .. } => {
                return Err(PluginError::invalid(
                    "paper-sim: this instance replays a scenario; it takes no feed",
                ))
            }
            VenueOp::ExchangeStatus if sim.is_fed() => OpResult::ExchangeStatus {
                trading: sim.trading(),
                detail: None,
            },
            other => return Err(PluginError::unsupported(other.name())),
        })
    }
}

impl Venue for PaperSim {
    fn create(config: VenueConfig) -> PluginResult<Self> {
        let settings = Settings::parse(&config.settings)?;
        if settings.feed.is_some() {
            return Self::fed(&config.settings);
        }
        let mut reader = scenario::open(&settings.scenario)
            .map_err(|e| PluginError::invalid(format!("paper-sim setting `scenario`: {e}")))?;
        reader.only_books_of(&settings.venue_key);
        Self::build(settings, reader)
    }

    fn info(&self) -> VenueInfo {
        VenueInfo {
            name: "paper-sim".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            rules: match self.rules {
                RulesKind::Polymarket => VenueRules::Polymarket,
                RulesKind::Kalshi => VenueRules::Kalshi,
            },
            simulated: true,
            capabilities: if self.fed {
                &[plugin_api::feed::INGEST_CAPABILITY, "exchange_status"][..]
            } else {
                // The scenario's catalogue; a fed instance has none.
                &["listings"]
            }
            .iter()
            .chain(
                [
                    "markets",
                    "book",
                    "rules",
                    "place_order",
                    "cancel_order",
                    "get_order",
                    "open_orders",
                    "fills",
                    "balance",
                    "positions",
                    "resolution",
                    "events",
                ]
                .iter(),
            )
            .map(|s| s.to_string())
            .collect(),
            rate_limits: Default::default(),
        }
    }

    fn begin(&self, op: VenueOp, ctx: CallCtx) -> PluginResult<Step> {
        let mut sim = self.lock()?;
        // Listing is a catalogue read: it never moves the simulated clock (see `listings`).
        if let VenueOp::Listings { filter } = &op {
            let (listings, next_cursor) =
                listings::page(sim.settings.rules, &sim.market_statuses(), filter);
            return Ok(Step::Done {
                result: OpResult::Listings {
                    listings,
                    next_cursor,
                },
            });
        }
        sim.advance(ctx.now_ms);
        let mut latency = 0u64;
        let mut faults = Vec::new();
        match &op {
            VenueOp::PlaceOrder { order } => {
                // An order refused once is answered the same again: its faults were taken.
                if let Some(e) = sim.refused.get(&order.client_order_id) {
                    return Err(e.clone());
                }
                // Refuse a bad order before it takes a fault meant for a real one.
                sim.validate(order)?;
                faults = sim.faults.take_for(&order.instrument);
                latency = sim.settings.latency_ms
                    + faults
                        .iter()
                        .map(|f| {
                            if let FaultKind::Latency { ms } = f {
                                *ms
                            } else {
                                0
                            }
                        })
                        .sum::<u64>();
            }
            VenueOp::CancelOrder { .. } => latency = sim.settings.latency_ms,
            _ => {}
        }
        let op = match op {
            // Only what changes the simulation is journaled and applied.
            VenueOp::Ingest { snapshot } if sim.is_fed() => match sim.changes(snapshot) {
                Some(snapshot) => VenueOp::Ingest { snapshot },
                None => {
                    return Ok(Step::Done {
                        result: OpResult::Ingested {
                            report: Default::default(),
                        },
                    })
                }
            },
            other => other,
        };
        // A replay's order takes its faults now, whenever it is applied (see `resume`).
        let take = !self.fed && matches!(op, VenueOp::PlaceOrder { .. });
        if latency > 0 {
            if take {
                self.journal(&sim, &op, true, false, &[])?;
            }
            let state = serde_json::to_string(&Pending { op, faults })
                .map_err(|e| PluginError::new(plugin_api::ErrorKind::Internal, e.to_string()))?;
            return Ok(Step::Wait { ms: latency, state });
        }
        self.journal(&sim, &op, take, true, &faults)?;
        Self::run(&mut sim, op, &faults).map(|result| Step::Done { result })
    }

    fn resume(&self, state: String, _response: HttpResponse, ctx: CallCtx) -> PluginResult<Step> {
        let pending: Pending = serde_json::from_str(&state)
            .map_err(|e| PluginError::invalid(format!("paper-sim: bad continuation state: {e}")))?;
        let mut sim = self.lock()?;
        sim.advance(ctx.now_ms);
        self.journal(&sim, &pending.op, false, true, &pending.faults)?;
        Self::run(&mut sim, pending.op, &pending.faults).map(|result| Step::Done { result })
    }

    fn poll_events(&self, ctx: CallCtx) -> PluginResult<Vec<VenueEvent>> {
        let mut sim = self.lock()?;
        sim.advance(ctx.now_ms);
        Ok(sim.take_output())
    }

    fn next_event_ms(&self) -> Option<i64> {
        self.lock().ok().and_then(|s| s.next_event_ms())
    }
}

/// The seed's `*_INITIAL_BALANCE` is this simulator's starting cash, its `balance` key.
pub const DECLARATION: plugin_api::Declaration = plugin_api::Declaration::new(
    &[plugin_api::SettingDecl::new(
        plugin_api::HostSetting::InitialBalance,
        "balance",
    )],
    &[],
);

/// The cdylib's root module (generated by the export macro).
mod export {
    #![allow(missing_docs)]
    use super::PaperSim;
    plugin_api::export_venue!(PaperSim, declaration = super::DECLARATION);
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod feed_tests;

#[cfg(test)]
mod resume_tests;
