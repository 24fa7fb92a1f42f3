//! Paper trading on live markets: a simulator venue fed by a `market-data` instance.
//!
//! For each `[[venue]]` with `feed = "<market-data instance>"`, the live loop polls the feed's
//! books (every `poll_ms`), and its resolutions, exchange status and any missing rules (every
//! `settle_poll_ms`), through the feed's own `VenueIo` — which refuses every order, cancel and
//! account operation to a market-data instance — and hands them to the simulator with
//! `VenueOp::Ingest`. The engine then trades the simulator exactly as any venue.

use plugin_api::feed::INGEST_CAPABILITY;
use plugin_api::{Book, FeedRules, FeedSnapshot, OpResult, Resolution, VenueOp};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use super::books::VenueIdx;
use super::setup::{Engine, EngineError};
use crate::config::{Config, PairEntry, VenueRole};
use crate::plugins::Registry;
use crate::venue_io::{Clock, VenueIo, VenueIoSettings};

/// Instruments per batch book request.
const CHUNK: usize = 50;

/// One simulator and the market-data instance feeding it.
pub(super) struct FeedLink {
    /// The market-data instance.
    pub source: Arc<VenueIo>,
    /// The simulator it feeds.
    pub target: VenueIdx,
    /// Whether the feed serves several books in one request.
    batch: bool,
    /// The simulator's instance name.
    target_name: String,
    state: Mutex<FeedState>,
}

#[derive(Default)]
struct FeedState {
    /// The simulator's pair instruments (grows when a pair joins the running engine).
    instruments: Vec<String>,
    /// Instruments whose rules reached the simulator.
    ruled: BTreeSet<String>,
    /// Whether the feed reports exchange status (dropped on its first `Unsupported`).
    no_status: bool,
    last_ok_ms: Option<i64>,
    last_error: Option<String>,
}

/// Which feed a venue uses and how fresh it is (for the API and dashboard).
#[derive(Clone, Debug, Serialize)]
pub struct FeedStatus {
    /// The simulator venue.
    pub venue: String,
    /// The market-data instance feeding it.
    pub feed: String,
    /// When its last poll was handed over complete (ms).
    pub last_ok_ms: Option<i64>,
    /// Age of that data now (ms); `None` before the first.
    pub age_ms: Option<i64>,
    /// The last failure of a feed request, if the last poll had one.
    pub last_error: Option<String>,
}

/// The feed links of a config: checks that each feed target can be fed (a simulator with the
/// `ingest` capability) and follows the same venue's rules as its feed.
pub(super) fn link(
    cfg: &Config,
    registry: &Registry,
    venue_idx: &HashMap<String, VenueIdx>,
    clock: &Arc<dyn Clock>,
    pairs: &[PairEntry],
) -> Result<Vec<FeedLink>, EngineError> {
    let mut links = Vec::new();
    for entry in cfg.venues.iter().filter(|v| v.role == VenueRole::Trading) {
        let Some(feed) = &entry.feed else { continue };
        let setup = |m: String| EngineError::Setup(m);
        let target = registry
            .venue(&entry.name)
            .ok_or_else(|| setup(format!("venue `{}` did not load", entry.name)))?;
        let source = registry.venue(feed).ok_or_else(|| {
            setup(format!(
                "feed `{feed}` of venue `{}` did not load",
                entry.name
            ))
        })?;
        let source_entry = cfg
            .venue(feed)
            .ok_or_else(|| setup(format!("feed `{feed}` is not in the config")))?;
        if !target.info.simulated
            || !target
                .info
                .capabilities
                .iter()
                .any(|c| c == INGEST_CAPABILITY)
        {
            return Err(setup(format!(
                "venue `{}` (plugin {}) cannot be fed live: only a simulator with the `{INGEST_CAPABILITY}` capability (paper-sim) takes a feed",
                entry.name, target.plugin
            )));
        }
        if target.info.rules != source.info.rules {
            return Err(setup(format!(
                "venue `{}` imitates {:?} rules but its feed `{feed}` is a {:?} venue; feed each simulator from the venue it imitates",
                entry.name, target.info.rules, source.info.rules
            )));
        }
        let link = FeedLink {
            source: Arc::new(VenueIo::new(
                feed,
                source.handle.clone(),
                VenueIoSettings::resolve(source_entry, &source.info.rate_limits),
                clock.clone(),
            )),
            target: venue_idx[&entry.name],
            batch: source.info.capabilities.iter().any(|c| c == "books"),
            target_name: entry.name.clone(),
            state: Mutex::new(FeedState::default()),
        };
        link.add_pairs(pairs);
        links.push(link);
    }
    Ok(links)
}

/// Feeds the legs of pairs that joined the running engine (`pair_adopt`): their instruments are
/// added to the feeds of their simulators and polled once in full (rules, books, resolutions),
/// so the simulator knows them before the engine reads their rules. Returns whether any feed
/// gained an instrument.
pub(super) async fn add_pairs(
    links: &[FeedLink],
    venues: &[Arc<VenueIo>],
    clock: &Arc<dyn Clock>,
    pairs: &[PairEntry],
) -> bool {
    let mut grew = false;
    for l in links {
        if l.add_pairs(pairs) {
            poll_one(l, venues, clock, true).await;
            grew = true;
        }
    }
    grew
}

impl FeedLink {
    /// Adds the instruments of `pairs`' legs on this link's simulator; whether any was new.
    fn add_pairs(&self, pairs: &[PairEntry]) -> bool {
        let mut st = self.state();
        let before = st.instruments.len();
        for leg in pairs
            .iter()
            .flat_map(|p| [&p.a, &p.b])
            .filter(|leg| leg.venue == self.target_name)
        {
            for i in [&leg.yes, &leg.no] {
                if !st.instruments.contains(i) {
                    st.instruments.push(i.clone());
                }
            }
        }
        st.instruments.len() > before
    }

    /// The instruments fed now.
    fn instruments(&self) -> Vec<String> {
        self.state().instruments.clone()
    }

    /// Instruments whose rules have not reached the simulator (always polled at least once).
    fn missing(&self) -> usize {
        let st = self.state();
        if st.last_ok_ms.is_none() && st.last_error.is_none() {
            return st.instruments.len().max(1);
        }
        st.instruments
            .iter()
            .filter(|i| !st.ruled.contains(*i))
            .count()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FeedState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rules of the instruments the simulator does not have yet.
    async fn missing_rules(&self, errors: &mut Vec<String>) -> Vec<FeedRules> {
        let missing: Vec<String> = {
            let st = self.state();
            st.instruments
                .iter()
                .filter(|i| !st.ruled.contains(*i))
                .cloned()
                .collect()
        };
        let mut out = Vec::new();
        for instrument in missing {
            match self
                .source
                .run(&VenueOp::Rules {
                    instrument: instrument.clone(),
                })
                .await
            {
                Ok(OpResult::Rules { rules }) => out.push(FeedRules { instrument, rules }),
                Ok(_) => errors.push(format!("rules of {instrument}: unexpected result")),
                Err(e) => errors.push(format!("rules of {instrument}: {e}")),
            }
        }
        out
    }

    /// Books of every instrument. A book the feed no longer serves (market closed or
    /// resolved), or could not serve this time, is handed over empty: the simulator never
    /// fills against a book older than the last poll (that would be easier than live).
    async fn books(&self, now_ms: i64, errors: &mut Vec<String>) -> Vec<Book> {
        let empty = |i: &String| Book {
            instrument: i.clone(),
            bids: Vec::new(),
            asks: Vec::new(),
            ts_ms: now_ms,
        };
        let mut out = Vec::new();
        let instruments = self.instruments();
        if self.batch {
            for chunk in instruments.chunks(CHUNK) {
                let op = VenueOp::Books {
                    instruments: chunk.to_vec(),
                };
                match self.source.run(&op).await {
                    Ok(OpResult::Books { books }) => {
                        let got: BTreeSet<String> =
                            books.iter().map(|b| b.instrument.clone()).collect();
                        out.extend(books);
                        out.extend(chunk.iter().filter(|i| !got.contains(*i)).map(empty));
                    }
                    Ok(_) => {
                        errors.push("books: unexpected result".into());
                        out.extend(chunk.iter().map(empty));
                    }
                    Err(e) => {
                        errors.push(format!("books: {e}"));
                        out.extend(chunk.iter().map(empty));
                    }
                }
            }
            return out;
        }
        for i in &instruments {
            match self
                .source
                .run(&VenueOp::Book {
                    instrument: i.clone(),
                })
                .await
            {
                Ok(OpResult::Book { book }) => out.push(book),
                Err(e) if matches!(e.kind(), Some(plugin_api::ErrorKind::Rejected { ref code }) if code.contains("not_found")) => {
                    out.push(empty(i))
                }
                Ok(_) => {
                    errors.push(format!("book {i}: unexpected result"));
                    out.push(empty(i));
                }
                Err(e) => {
                    errors.push(format!("book {i}: {e}"));
                    out.push(empty(i));
                }
            }
        }
        out
    }

    async fn resolutions(&self, errors: &mut Vec<String>) -> Vec<Resolution> {
        let mut out = Vec::new();
        for i in &self.instruments() {
            match self
                .source
                .run(&VenueOp::Resolution {
                    instrument: i.clone(),
                })
                .await
            {
                Ok(OpResult::Resolution { resolution }) => out.push(resolution),
                Ok(_) => errors.push(format!("resolution {i}: unexpected result")),
                Err(e) => errors.push(format!("resolution {i}: {e}")),
            }
        }
        out
    }

    async fn trading(&self, errors: &mut Vec<String>) -> Option<bool> {
        if self.state().no_status {
            return None;
        }
        match self.source.run(&VenueOp::ExchangeStatus).await {
            Ok(OpResult::ExchangeStatus { trading, .. }) => Some(trading),
            Err(e) if matches!(e.kind(), Some(plugin_api::ErrorKind::Unsupported)) => {
                self.state().no_status = true;
                None
            }
            Ok(_) => None,
            Err(e) => {
                errors.push(format!("exchange status: {e}"));
                None
            }
        }
    }
}

/// Hands the simulators their first data (rules, books, resolutions, status) before the
/// engine reads pair rules from them.
/// A pair whose rules are missing then does not trade for the whole run, so a feed that fails
/// at start-up (a network hiccup) is asked again a few times first.
pub(super) async fn prime(links: &[FeedLink], venues: &[Arc<VenueIo>], clock: &Arc<dyn Clock>) {
    /// Attempts, and the pause between them.
    const ATTEMPTS: u32 = 3;
    const PAUSE: std::time::Duration = std::time::Duration::from_secs(2);
    for attempt in 1..=ATTEMPTS {
        for l in links.iter().filter(|l| l.missing() > 0) {
            poll_one(l, venues, clock, true).await;
        }
        let missing: usize = links.iter().map(FeedLink::missing).sum();
        if missing == 0 {
            return;
        }
        tracing::warn!(missing, attempt, "feed rules missing at start-up");
        if attempt < ATTEMPTS {
            tokio::time::sleep(PAUSE).await;
        }
    }
}

/// One poll of one feed, handed to its simulator. `full` adds resolutions, exchange status
/// and rules not yet delivered. Failures are kept for the status and logged; what did arrive
/// is still handed over.
async fn poll_one(l: &FeedLink, venues: &[Arc<VenueIo>], clock: &Arc<dyn Clock>, full: bool) {
    let mut errors = Vec::new();
    let rules = if full {
        l.missing_rules(&mut errors).await
    } else {
        Vec::new()
    };
    let (resolutions, trading) = if full {
        (
            l.resolutions(&mut errors).await,
            l.trading(&mut errors).await,
        )
    } else {
        (Vec::new(), None)
    };
    let received_ms = clock.now_ms();
    let books = l.books(received_ms, &mut errors).await;
    let ruled: Vec<String> = rules.iter().map(|r| r.instrument.clone()).collect();
    let snapshot = FeedSnapshot {
        source: l.source.name().to_string(),
        received_ms,
        rules,
        books,
        resolutions,
        trading,
    };
    let target = &venues[l.target];
    match target.run(&VenueOp::Ingest { snapshot }).await {
        Ok(OpResult::Ingested { report }) => {
            if !report.unknown.is_empty() {
                tracing::debug!(venue = %target.name(), unknown = ?report.unknown, "feed data for instruments without rules");
            }
            let mut st = l.state();
            st.ruled.extend(ruled);
            if errors.is_empty() {
                st.last_ok_ms = Some(received_ms);
                st.last_error = None;
            }
        }
        Ok(_) => errors.push("ingest: unexpected result".into()),
        Err(e) => errors.push(format!("ingest into {}: {e}", target.name())),
    }
    if let Some(first) = errors.first() {
        tracing::warn!(feed = %l.source.name(), venue = %target.name(), errors = errors.len(), first = %first, "feed poll incomplete");
        l.state().last_error = Some(first.clone());
    }
}

impl Engine {
    /// Polls every feed and hands its data to the simulator it feeds (see the module docs).
    pub(super) async fn poll_feeds(&self, full: bool) {
        let polls = self
            .feeds
            .iter()
            .map(|l| poll_one(l, &self.venues, &self.clock, full));
        futures_util::future::join_all(polls).await;
    }

    /// Which feed each fed venue uses and how fresh its data is.
    pub fn feed_status(&self) -> Vec<FeedStatus> {
        let now = self.clock.now_ms();
        self.feeds
            .iter()
            .map(|l| {
                let st = l.state();
                FeedStatus {
                    venue: self.venues[l.target].name().to_string(),
                    feed: l.source.name().to_string(),
                    last_ok_ms: st.last_ok_ms,
                    age_ms: st.last_ok_ms.map(|t| now.saturating_sub(t)),
                    last_error: st.last_error.clone(),
                }
            })
            .collect()
    }

    /// Whether any venue is fed live (the run is then a live loop, never a replay).
    pub fn is_fed(&self) -> bool {
        !self.feeds.is_empty()
    }
}
