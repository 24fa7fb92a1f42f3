//! A simulator fed by a live market-data instance instead of a scenario (paper trading on live
//! markets). The host hands it what the feed delivered ([`FeedSnapshot`]); orders then fill
//! exactly as in a replay — book walking, FOK/IOC/GTC, the market's fee per fill, ticks and
//! minimums, Polymarket's matched → confirmed delay — against the newest snapshot, depleted by
//! this instance's own fills until the next snapshot replaces it.
//!
//! Each live instrument is its own market here, with the book its feed serves for it: the
//! complementary outcome's book is not derived from it (a live venue serves each instrument's
//! book itself, and a fill on one does not show on the other until the next snapshot).

use std::collections::{BinaryHeap, HashMap};

use plugin_api::{
    Book, FeedSnapshot, IngestReport, InstrumentRules, Level, PluginResult, Price, VenueEvent,
};

use super::Sim;
use crate::account::Account;
use crate::book::MarketState;
use crate::faults::Faults;
use crate::scenario::MarketDef;
use crate::settings::Settings;

/// What the feed told a live-fed instance beyond books.
#[derive(Debug, Default)]
pub(crate) struct FeedState {
    /// Rules per market, as the feed reported them (tick, sizes, minimum notional, fees).
    pub rules: HashMap<u32, InstrumentRules>,
    /// Payout per share of resolved markets, as the feed reported it.
    pub payouts: HashMap<u32, Price>,
    /// The last book the feed sent per market, as sent: an identical one changes nothing.
    pub last_books: HashMap<u32, (Vec<Level>, Vec<Level>)>,
}

/// Levels best first (bids high to low, asks low to high), empty levels dropped: book walking
/// stops at the first level beyond the limit, so the order must hold whatever the feed sent.
fn best_first(levels: &[Level], bids: bool) -> Vec<Level> {
    let mut v: Vec<Level> = levels.iter().filter(|l| l.qty.0 > 0).copied().collect();
    if bids {
        v.sort_by_key(|l| std::cmp::Reverse(l.price));
    } else {
        v.sort_by_key(|l| l.price);
    }
    v
}

impl Sim {
    /// An instance with no scenario: markets appear as their feed's rules arrive.
    pub fn fed(settings: Settings) -> PluginResult<Sim> {
        let mut faults = Faults::default();
        for f in &settings.faults {
            faults.arm(f.clone());
        }
        Ok(Sim {
            account: Account::new(settings.balance),
            settings,
            markets: Vec::new(),
            instruments: HashMap::new(),
            events: Vec::new(),
            levels: Vec::new(),
            cursor: 0,
            trading: true,
            orders: Vec::new(),
            order_ids: HashMap::new(),
            client_ids: HashMap::new(),
            fills: Vec::new(),
            timers: BinaryHeap::new(),
            faults,
            out: Vec::new(),
            now: i64::MIN,
            feed: FeedState::default(),
            refused: Default::default(),
        })
    }

    /// The simulation's time (the latest `now` it was advanced to).
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Whether this instance is fed live.
    pub fn is_fed(&self) -> bool {
        self.settings.feed.is_some()
    }

    /// Whether the venue is trading (a live feed's exchange status).
    pub fn trading(&self) -> bool {
        self.trading
    }

    /// What of `snap` would change anything: books that differ from the last one the feed
    /// sent for their market, rules that differ, resolutions not yet applied, a status change.
    /// A poll that repeats the last one is then nothing to journal or apply (and a resting
    /// order is not filled again from the same displayed quote).
    pub fn changes(&self, mut snap: FeedSnapshot) -> Option<FeedSnapshot> {
        let market = |i: &str| self.instruments.get(i).map(|&(m, _)| m);
        snap.rules.retain(|r| {
            market(&r.instrument).is_none_or(|m| self.feed.rules.get(&m) != Some(&r.rules))
        });
        snap.books.retain(|b| match market(&b.instrument) {
            Some(m) => self
                .feed
                .last_books
                .get(&m)
                .is_none_or(|(bids, asks)| *bids != b.bids || *asks != b.asks),
            // Kept: its rules may arrive in this same snapshot.
            None => true,
        });
        snap.resolutions.retain(|r| {
            r.resolved
                && market(&r.instrument).is_none_or(|m| self.markets[m as usize].resolved.is_none())
        });
        if snap.trading == Some(self.trading) {
            snap.trading = None;
        }
        let nothing = snap.rules.is_empty()
            && snap.books.is_empty()
            && snap.resolutions.is_empty()
            && snap.trading.is_none();
        (!nothing).then_some(snap)
    }

    /// Applies one feed snapshot at the simulator's current time: rules first (a new
    /// instrument becomes a market), then exchange status, books (resting orders the new book
    /// trades through fill at their limit) and resolutions (positions settle at the payout).
    pub fn ingest(&mut self, snap: FeedSnapshot) -> IngestReport {
        let now = self.now;
        let mut report = IngestReport::default();
        for fr in snap.rules {
            match self.instruments.get(&fr.instrument) {
                Some(&(m, _)) => {
                    let def = &mut self.markets[m as usize].def;
                    def.tick = fr.rules.tick;
                    def.min_size = fr.rules.min_qty;
                    self.feed.rules.insert(m, fr.rules);
                }
                None => {
                    let m = self.markets.len() as u32;
                    let def = MarketDef {
                        venue: 0,
                        id: fr.instrument.clone(),
                        event: String::new(),
                        series: String::new(),
                        title: fr.instrument.clone(),
                        start_ms: None,
                        close_ms: None,
                        tick: fr.rules.tick,
                        min_size: fr.rules.min_qty,
                        // The feed's rules carry the market's own schedule (`fee_model`).
                        fee: plugin_api::FeeModel::FREE,
                        // The second instrument is left empty: see the module docs.
                        instruments: [fr.instrument.clone(), String::new()],
                        outcomes: ["Yes".into(), "No".into()],
                    };
                    self.markets.push(MarketState::new(def));
                    self.instruments.insert(fr.instrument, (m, 0));
                    self.feed.rules.insert(m, fr.rules);
                }
            }
        }
        if let Some(t) = snap.trading {
            if t != self.trading {
                self.trading = t;
                self.out.push(VenueEvent::Status { trading: t });
            }
        }
        for Book {
            instrument,
            bids,
            asks,
            ..
        } in snap.books
        {
            let Some(&(m, _)) = self.instruments.get(&instrument) else {
                report.unknown.push(instrument);
                continue;
            };
            self.feed.last_books.insert(m, (bids.clone(), asks.clone()));
            let m = m as usize;
            if self.markets[m].resolved.is_some() {
                continue;
            }
            self.markets[m].set_fed_book(&best_first(&bids, true), &best_first(&asks, false), now);
            if self.trading && !self.markets[m].resting.is_empty() {
                self.match_resting(m, now);
            }
            report.books += 1;
        }
        for r in snap.resolutions.into_iter().filter(|r| r.resolved) {
            let Some(&(m, _)) = self.instruments.get(&r.instrument) else {
                report.unknown.push(r.instrument);
                continue;
            };
            if self.markets[m as usize].resolved.is_some() {
                continue;
            }
            self.feed.payouts.insert(m, r.payout);
            self.resolve(m as usize, r.payout == Price::ONE, now);
            report.resolved.push(r.instrument);
        }
        // Nobody drains events in a live run (the host polls books): keep them bounded.
        if self.out.len() > 1_000 {
            self.out.clear();
        }
        report
    }
}
