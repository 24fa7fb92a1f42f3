//! One discovery pass into the registry: read both venues' listings league by league, match
//! them, route each candidate to the instances that trade it, flag duplicates of registered
//! pairs, and propose every candidate. `polymix pairs discover` and the engine's paper-mode
//! auto-approval ([`crate::engine`]'s `auto_pairs`) both run this, so they cannot disagree.

use std::sync::Arc;

use plugin_api::VenueRules;

use super::fetch::{fetch_league, FetchError};
use super::leagues::League;
use super::{discover, Discovery, MatchParams, VenueListings};
use crate::config::Config;
use crate::plugins::Registry;
use crate::store::pair_registry::{PairRegistryError, Proposed};
use crate::store::Ledger;
use crate::venue_io::{Clock, VenueIo, VenueIoSettings};

/// What to discover.
#[derive(Clone, Debug)]
pub struct DiscoverRequest {
    /// Leagues, in output order.
    pub leagues: Vec<&'static League>,
    /// First instant of games to consider (ms).
    pub from_ms: Option<i64>,
    /// Instant after the last game to consider (ms).
    pub to_ms: Option<i64>,
    /// Venue A instance.
    pub venue_a: String,
    /// Venue B instance.
    pub venue_b: String,
    /// Tolerances.
    pub params: MatchParams,
}

/// One league's result.
#[derive(Clone, Debug)]
pub struct LeagueReport {
    /// League name.
    pub league: &'static str,
    /// Candidates (venues renamed to the trading instances) and unmatched events.
    pub discovery: Discovery,
    /// What proposing each candidate did, in candidate order.
    pub outcomes: Vec<Proposed>,
}

/// Why a discovery pass failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The two venues are the same.
    #[error("venue A and venue B are both {0:?}")]
    SameVenue(String),
    /// No such `[[venue]]`.
    #[error("{file}: no [[venue]] named {venue:?}")]
    NoVenue {
        /// Config file.
        file: String,
        /// Venue.
        venue: String,
    },
    /// The venue's plugin did not load.
    #[error("venue {0} did not load")]
    NotLoaded(String),
    /// The plugin cannot list markets.
    #[error("venue {venue} (plugin {plugin}) does not support listings; it cannot take part in discovery")]
    NoListings {
        /// Venue.
        venue: String,
        /// Plugin.
        plugin: String,
    },
    /// Reading listings failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A candidate's venue cannot be routed to one trading instance.
    #[error("{file}: {message}")]
    Route {
        /// Config file.
        file: String,
        /// Why.
        message: String,
    },
    /// The registry failed.
    #[error(transparent)]
    Registry(#[from] PairRegistryError),
}

/// Runs one discovery pass over `req`'s venues and proposes every candidate into `ledger`'s
/// registry (decided pairs are kept as they are).
pub async fn discover_into_registry(
    cfg: &Config,
    reg: &Registry,
    ledger: &Ledger,
    req: &DiscoverRequest,
    clock: Arc<dyn Clock>,
) -> Result<Vec<LeagueReport>, DiscoverError> {
    if req.venue_a == req.venue_b {
        return Err(DiscoverError::SameVenue(req.venue_a.clone()));
    }
    let file = cfg.source.display().to_string();
    let mut ios: Vec<(String, VenueIo, VenueRules)> = Vec::new();
    for n in [&req.venue_a, &req.venue_b] {
        let entry = cfg.venue(n).ok_or_else(|| DiscoverError::NoVenue {
            file: file.clone(),
            venue: n.clone(),
        })?;
        let inst = reg
            .venue(n)
            .ok_or_else(|| DiscoverError::NotLoaded(n.clone()))?;
        if !inst.info.capabilities.iter().any(|c| c == "listings") {
            return Err(DiscoverError::NoListings {
                venue: n.clone(),
                plugin: inst.plugin.clone(),
            });
        }
        let io = VenueIo::new(
            n,
            inst.handle.clone(),
            VenueIoSettings::resolve(entry, &inst.info.rate_limits),
            clock.clone(),
        );
        ios.push((n.clone(), io, inst.info.rules));
    }
    let mut report = Vec::new();
    for l in &req.leagues {
        let mut sides = Vec::new();
        for (n, io, rules) in &ios {
            let listings = fetch_league(n, io, *rules, l, req.from_ms, req.to_ms).await?;
            sides.push(VenueListings {
                venue: n.clone(),
                listings,
            });
        }
        let mut d: Discovery = discover(l, &sides[0], &sides[1], &req.params);
        super::trading_venue::route_to_trading_venues(cfg, &mut d.candidates).map_err(
            |message| DiscoverError::Route {
                file: file.clone(),
                message,
            },
        )?;
        super::duplicates::flag_duplicates(&mut d.candidates, &ledger.pairs(None)?);
        let mut outcomes = Vec::new();
        for c in &d.candidates {
            outcomes.push(ledger.pair_propose(c, clock.now_ms())?);
        }
        report.push(LeagueReport {
            league: l.name,
            discovery: d,
            outcomes,
        });
    }
    Ok(report)
}
