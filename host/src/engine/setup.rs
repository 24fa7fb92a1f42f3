//! Building an engine from a loaded registry.

use plugin_api::ffi::StrategyHandle;
use plugin_api::{Balance, OpResult, PairSpec, RiskReason, Usd, VenueOp};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use super::books::{Books, VenueIdx};
use super::risk_gate::RiskGate;
use crate::config::{Config, Mode};
use crate::plugins::{Guarded, Registry};
use crate::store::{Ledger, LedgerError};
use crate::venue_io::{Clock, VenueError, VenueIo, VenueIoSettings};

/// Why the engine could not start or went wrong.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Refused for safety (e.g. a live venue in paper mode).
    #[error("{0}")]
    Safety(String),
    /// A venue call failed during setup.
    #[error("{0}")]
    Venue(#[from] VenueError),
    /// The ledger failed.
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    /// Config and plugins disagree.
    #[error("{0}")]
    Setup(String),
    /// One of the engine's tasks died (a panic): the run stops.
    #[error("engine task failed: {0}")]
    Task(String),
    /// A plugin call holds the task that made it past the timeout: the run stops, so that a
    /// restart reconciles (see `plugins::watchdog`).
    #[error("the run stopped: {0}; restart polymix: the ledger holds every trade, and a restart reconciles them with the venues")]
    PluginHung(String),
}

/// Run options from the CLI.
#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    /// Live trading confirmed (`--live` or `LIVE_TRADING=true`).
    pub live_confirmed: bool,
}

/// Counters for the end-of-run summary and the API.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Stats {
    /// Book updates processed.
    pub book_updates: u64,
    /// Proposals from the strategy.
    pub opportunities: u64,
    /// Trades approved.
    pub trades: u64,
    /// Rejections by reason code.
    pub rejections: BTreeMap<String, u64>,
    /// Legs filled in full.
    pub legs_filled: u64,
    /// Legs that filled partly or not at all.
    pub legs_short: u64,
    /// Trades that needed an unwind.
    pub unwinds: u64,
    /// Trades left naked.
    pub naked: u64,
    /// Ghost fills detected.
    pub ghost_fills: u64,
    /// Fees paid.
    pub fees: Usd,
    /// Realized P&L of settled trades.
    pub realized_pnl: Usd,
    /// Trades settled.
    pub settled: u64,
}

/// The engine.
pub struct Engine {
    pub(super) cfg: Arc<Config>,
    pub(super) venues: Vec<Arc<VenueIo>>,
    pub(super) simulated: Vec<bool>,
    /// Per venue: whether it serves several books in one request (capability `books`).
    pub(super) batch_books: Vec<bool>,
    pub(super) venue_idx: HashMap<String, VenueIdx>,
    /// Append-only: pairs approved while running join at the end (`pair_adopt`).
    pub(super) pairs: super::pair_adopt::PairTable,
    /// Replaced (never mutated) when pairs join.
    pub(super) strategy: RwLock<Arc<Guarded<StrategyHandle>>>,
    pub(super) strategy_recipe: super::pair_adopt::StrategyRecipe,
    /// Raised when a plugin call holds its caller past the timeout: a live run stops on it.
    pub(super) hang_alarm: crate::plugins::HangAlarm,
    pub(super) gate: RiskGate,
    pub(super) ledger: Arc<Ledger>,
    pub(super) clock: Arc<dyn Clock>,
    /// Books, venue status, resolutions, pair switches, rules.
    pub(super) market: super::market_view::MarketView,
    pub(super) stats: Mutex<Stats>,
    /// Trades whose entry fills are all confirmed: no more ghost-fill checks needed.
    pub(super) confirmed: Mutex<std::collections::HashSet<String>>,
    pub(super) live_ok: bool,
    /// Error log and notifications.
    pub(super) alerts: super::alerts::Alerts,
    /// Start-up reconciliation, then trading.
    pub(super) phase: Mutex<super::reconcile::Phase>,
    /// Trades running in a live run, and the instruments they hold.
    pub(super) in_flight: Mutex<super::in_flight::InFlight>,
    /// Decision-to-wire samples of live trades.
    pub(super) decision_latency: super::decision_latency::DecisionLatency,
    /// Wakes the preparer after a trade used what venues prepared.
    pub(super) preparer: super::prepare::Preparer,
    /// Trade sequence numbers reserved from the ledger and not yet used: (next, end).
    pub(super) trade_ids: super::trade_ids::TradeIds,
    /// Trades whose orders may be out before their journal record (see `journal_checkpoint`).
    pub(super) unjournaled: super::journal_checkpoint::Unjournaled,
    /// Simulators fed by market-data instances (paper trading on live markets).
    pub(super) feeds: Vec<super::feed::FeedLink>,
    /// Streamed books and feed health (see `stream_driver`).
    pub(super) streams: Mutex<super::stream_driver::StreamState>,
}

impl Engine {
    /// Builds the engine: safety checks, venue I/O, pair rules, strategy, ledger, risk gate.
    pub async fn new(
        cfg: Arc<Config>,
        registry: &Registry,
        clock: Arc<dyn Clock>,
        opts: EngineOptions,
    ) -> Result<Engine, EngineError> {
        let live_ok = cfg.mode == Mode::Live && opts.live_confirmed;
        // A market-data instance never trades (its VenueIo refuses orders and account
        // operations); it only feeds a simulator, so paper mode may use it.
        let market_data = |name: &str| {
            cfg.venue(name)
                .is_some_and(|e| e.role == crate::config::VenueRole::MarketData)
        };
        for v in &registry.venues {
            if !v.info.simulated && !live_ok && !market_data(&v.name) {
                return Err(EngineError::Safety(format!(
                    "venue `{}` (plugin {}) is a live venue, but {}; refusing to start. Use paper-sim venues, or set mode = \"live\" and confirm with --live or LIVE_TRADING=true",
                    v.name,
                    v.plugin,
                    if cfg.mode == Mode::Live { "live trading was not confirmed" } else { "mode is paper" }
                )));
            }
        }
        let mut venues = Vec::new();
        let mut venue_idx = HashMap::new();
        let mut simulated = Vec::new();
        let mut batch_books = Vec::new();
        for v in registry.venues.iter().filter(|v| !market_data(&v.name)) {
            // A venue that trades must be able to place orders: a live adapter configured
            // without its signing secrets is refused here, not at its first order.
            if !v.info.simulated && !v.info.capabilities.iter().any(|c| c == "place_order") {
                return Err(EngineError::Setup(format!(
                    "venue `{}` (plugin {}) cannot place orders as configured (missing signing secrets?); give its secrets, or declare it role = \"market-data\"",
                    v.name, v.plugin
                )));
            }
            let i = venues.len();
            let entry = cfg
                .venue(&v.name)
                .ok_or_else(|| EngineError::Setup(format!("venue {} not in config", v.name)))?;
            venues.push(Arc::new(VenueIo::new(
                &v.name,
                v.handle.clone(),
                VenueIoSettings::resolve(entry, &v.info.rate_limits),
                clock.clone(),
            )));
            venue_idx.insert(v.name.clone(), i);
            simulated.push(v.info.simulated);
            batch_books.push(v.info.capabilities.iter().any(|c| c == "books"));
        }

        // Instrument rules for every pair leg, from the venue itself. A leg whose rules cannot
        // be read (its market resolved or closed, or the venue refused) takes its pair out of
        // trading, never the engine out of service: open trades on it must still settle.
        let mut rules = HashMap::new();
        let mut pairs = Vec::new();
        let mut pair_off: Vec<Option<String>> = Vec::new();
        // Only registry-approved pairs trade; config pairs are registered as approved.
        let ledger = Arc::new(Ledger::open(&cfg.ledger_path())?);
        super::auto_pairs::auto_approve(&cfg, registry, &ledger, clock.clone()).await?;
        let entries = super::pair_gate::tradable_entries(&cfg, &ledger, clock.now_ms())?;
        // Fed simulators learn the legs of every pair to trade (config and registry) first.
        let feeds = super::feed::link(&cfg, registry, &venue_idx, &clock, &entries)?;
        super::feed::prime(&feeds, &venues, &clock).await;
        for (i, p) in entries.iter().enumerate() {
            let (spec, off) =
                super::pair_adopt::pair_spec(&venues, &venue_idx, &mut rules, p, i as u32).await?;
            pairs.push(spec);
            pair_off.push(off);
        }

        let (module, name) = registry
            .strategy
            .clone()
            .ok_or_else(|| EngineError::Setup("config has no [strategy]".into()))?;
        let settings = crate::plugins::registry::settings_json(&registry.strategy_settings);
        let strategy_recipe = super::pair_adopt::StrategyRecipe {
            module,
            name,
            settings,
            timeout: registry.timeout(),
            alarm: registry.hang_alarm().clone(),
        };
        let strategy = RwLock::new(Arc::new(strategy_recipe.create(&pairs).await?));

        let trade_ids = super::trade_ids::TradeIds::open(&ledger)?;
        let alerts = super::alerts::Alerts::new(ledger.clone(), clock.clone());
        let day = super::utc_day(clock.now_ms());
        let policies = registry.risks.iter().map(|r| r.handle.clone()).collect();
        let mode = match cfg.mode {
            Mode::Paper => plugin_api::Mode::Paper,
            Mode::Live => plugin_api::Mode::Live,
        };
        let gate = RiskGate::new(policies, ledger.clone(), mode, &day)?;
        let books = Books::new(&pairs, |n| venue_idx.get(n).copied());
        let n = venues.len();
        let engine = Engine {
            cfg,
            venues,
            simulated,
            batch_books,
            venue_idx,
            pairs: super::pair_adopt::PairTable::new(pairs),
            strategy,
            strategy_recipe,
            hang_alarm: registry.hang_alarm().clone(),
            gate,
            ledger,
            clock,
            market: super::market_view::MarketView::new(books, rules, n, pair_off),
            stats: Mutex::new(Stats::default()),
            confirmed: Mutex::new(Default::default()),
            live_ok,
            alerts,
            phase: Mutex::new(super::reconcile::Phase::Starting),
            in_flight: Mutex::new(Default::default()),
            decision_latency: Default::default(),
            preparer: Default::default(),
            trade_ids,
            unjournaled: Default::default(),
            feeds,
            streams: Mutex::default(),
        };
        for (i, why) in engine.market.pair_offs().iter().enumerate() {
            if let Some(why) = why {
                engine.error(
                    None,
                    "setup",
                    &format!("pair `{}` does not trade: {why}", engine.pairs.get()[i].id),
                );
            }
        }
        engine.refresh_pair_gate();
        engine.refresh_balances().await?;
        Ok(engine)
    }

    /// A fresh trade id (see `trade_ids`).
    pub(super) fn next_trade_id(&self) -> Result<String, EngineError> {
        self.trade_ids.next(&self.ledger)
    }

    /// Reserves the next block of trade ids ahead, off the way to the wire (see `trade_ids`).
    pub(super) fn top_up_trade_ids(&self) -> Result<(), EngineError> {
        self.trade_ids.top_up(&self.ledger)
    }

    /// Where the engine is: reconciling at start-up, or trading.
    pub fn phase(&self) -> super::reconcile::Phase {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn set_phase(&self, p: super::reconcile::Phase) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = p;
    }

    /// Why pair `i` does not trade, if it does not.
    pub fn pair_off(&self, i: usize) -> Option<String> {
        self.market.pair_off(i)
    }

    /// Asks every venue for its cash and hands it to the risk gate.
    pub async fn refresh_balances(&self) -> Result<Vec<(String, Balance)>, EngineError> {
        let mut out = Vec::new();
        for v in &self.venues {
            match v.run(&VenueOp::Balance).await? {
                OpResult::Balance { balance } => {
                    self.gate.set_cash(v.name(), balance.available);
                    out.push((v.name().to_string(), balance));
                }
                _ => {
                    return Err(EngineError::Setup(format!(
                        "venue {} answered balance with another result",
                        v.name()
                    )))
                }
            }
        }
        Ok(out)
    }

    /// Attaches a notifier (once).
    pub fn set_notifier(&self, n: crate::notify::Notifier) {
        self.alerts.set_notifier(n);
    }

    /// The notifier, if attached.
    pub fn notifier(&self) -> Option<&crate::notify::Notifier> {
        self.alerts.notifier()
    }

    /// Sends a notification if a notifier is attached; never waits.
    pub fn notify(&self, kind: crate::notify::Kind, text: String, trade_id: Option<&str>) {
        self.alerts.notify(kind, text, trade_id);
    }

    /// Like [`Engine::notify`], but only the first time `key` is seen (risk halts).
    pub(super) fn notify_once(
        &self,
        key: &str,
        kind: crate::notify::Kind,
        text: String,
        trade_id: Option<&str>,
    ) {
        self.alerts.notify_once(key, kind, text, trade_id);
    }

    /// Top-of-book edge of each pair before fees, per direction, in micro-dollars:
    /// `$1 − (best ask bought on A + best ask bought on B)`; `None` while a book is missing.
    pub fn pair_edges(&self) -> Vec<[Option<i64>; 2]> {
        let pairs = self.pairs.get();
        let quads: Vec<_> = self
            .market
            .with_books(|books| pairs.iter().map(|p| books.pair(p.index)).collect());
        quads
            .into_iter()
            .map(|[ay, an, by, bn]| {
                let best = |b: &Option<Arc<plugin_api::Book>>| {
                    b.as_ref().and_then(|b| b.best_ask()).map(|l| l.price.0)
                };
                let edge = |x: Option<i64>, y: Option<i64>| Some(1_000_000 - x? - y?);
                [edge(best(&ay), best(&bn)), edge(best(&an), best(&by))]
            })
            .collect()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn stat(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub(super) fn count_rejections(&self, reasons: &[RiskReason]) {
        self.stat(|s| {
            for r in reasons {
                *s.rejections.entry(r.code.clone()).or_default() += 1;
                crate::metrics::inc("polymix_rejections_total", &[("reason", &r.code)]);
            }
        });
    }

    /// Records an error in the ledger's error log and the log (see `alerts`).
    pub(super) fn error(&self, trade_id: Option<&str>, source: &str, message: &str) {
        self.alerts.error(trade_id, source, message);
    }

    /// Venue index by name.
    pub(super) fn vidx(&self, name: &str) -> Option<VenueIdx> {
        self.venue_idx.get(name).copied()
    }

    /// Pairs watched, as they are now (pairs approved while running join at the end).
    pub fn pairs(&self) -> Arc<Vec<PairSpec>> {
        self.pairs.get()
    }

    /// The risk gate.
    pub fn gate(&self) -> &RiskGate {
        &self.gate
    }

    /// Venue I/O handles.
    pub fn venues(&self) -> &[Arc<VenueIo>] {
        &self.venues
    }
}
