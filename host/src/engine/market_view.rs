//! The engine's view of the markets: the latest books, each venue's trading status, the
//! resolutions seen, why a pair does not trade, and each instrument's rules.
//!
//! One component with its own locks, reached only through these methods: the drivers (replay,
//! live poll, streams, feeds) write it, the executor and settlement read it. Nothing here
//! talks to a venue or the ledger, so nothing here waits on I/O while holding a lock.

use super::books::{Books, VenueIdx};
use plugin_api::{Book, InstrumentRules, Qty, Resolution};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

/// Instrument rules by (venue, instrument).
pub(super) type RulesMap = HashMap<(VenueIdx, String), InstrumentRules>;

/// Books, venue status, resolutions, pair switches and rules.
pub(super) struct MarketView {
    books: Mutex<Books>,
    rules: RwLock<RulesMap>,
    resolutions: Mutex<HashMap<(VenueIdx, String), Resolution>>,
    /// Per venue: whether its exchange is trading.
    trading: Mutex<Vec<bool>>,
    /// Per pair: why it does not trade (its rules could not be read: a market resolved or
    /// closed since the pair was configured; or the registry no longer approves it). Its open
    /// trades still reconcile and settle.
    pair_off: Mutex<Vec<Option<String>>>,
    /// Set when something may have become settleable (a resolution arrived, a trade changed
    /// state), so the settlement sweep scans the ledger only when it can settle.
    settle_dirty: AtomicBool,
}

/// One consistent read of what the strategy needs: books, venue status, pair switches.
pub(super) struct MarketRead<'a> {
    /// The book cache.
    pub books: &'a Books,
    /// Per venue: trading.
    pub trading: &'a [bool],
    /// Per pair: why it is off, if it is.
    pub pair_off: &'a [Option<String>],
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MarketView {
    /// A view over `venues` venues, with the books indexed for the pairs already known.
    pub(super) fn new(
        books: Books,
        rules: RulesMap,
        venues: usize,
        pair_off: Vec<Option<String>>,
    ) -> MarketView {
        MarketView {
            books: Mutex::new(books),
            rules: RwLock::new(rules),
            resolutions: Mutex::new(HashMap::new()),
            trading: Mutex::new(vec![true; venues]),
            pair_off: Mutex::new(pair_off),
            // The first sweep looks at the ledger: a restart may hold settleable trades.
            settle_dirty: AtomicBool::new(true),
        }
    }

    // ---- books ----

    /// Stores a book and adds the pairs it feeds to `touched`.
    pub(super) fn apply_book(&self, venue: VenueIdx, book: Book, touched: &mut BTreeSet<u32>) {
        touched.extend(lock(&self.books).update(venue, book).iter().copied());
    }

    /// Reads the books alone (marks, edges, best prices).
    pub(super) fn with_books<R>(&self, f: impl FnOnce(&Books) -> R) -> R {
        f(&lock(&self.books))
    }

    /// Reads books, venue status and pair switches at one instant (strategy inputs).
    pub(super) fn read<R>(&self, f: impl FnOnce(MarketRead<'_>) -> R) -> R {
        // Lock order: books, trading, pair_off (every multi-lock path here takes them so).
        let books = lock(&self.books);
        let trading = lock(&self.trading);
        let off = lock(&self.pair_off);
        f(MarketRead {
            books: &books,
            trading: &trading,
            pair_off: &off,
        })
    }

    /// Our own fills took `qty` off these asks until the venue's next book says otherwise.
    pub(super) fn consume(&self, fills: impl IntoIterator<Item = (VenueIdx, String, Qty)>) {
        let mut books = lock(&self.books);
        for (vi, instrument, qty) in fills {
            books.consume(vi, &instrument, qty);
        }
    }

    /// The pairs these instruments' books feed, each once.
    pub(super) fn pairs_fed_by<'a>(
        &self,
        instruments: impl IntoIterator<Item = (VenueIdx, &'a str)>,
    ) -> BTreeSet<u32> {
        let books = lock(&self.books);
        instruments
            .into_iter()
            .flat_map(|(vi, i)| books.pairs_of(vi, i).iter().copied())
            .collect()
    }

    /// Drops books a stream lost track of: they must not be traded on.
    pub(super) fn forget_books<'a>(
        &self,
        venue: VenueIdx,
        instruments: impl IntoIterator<Item = &'a String>,
    ) {
        let mut books = lock(&self.books);
        for i in instruments {
            books.clear_instrument(venue, i);
        }
    }

    // ---- venue status ----

    /// Whether a venue's exchange is trading.
    pub(super) fn venue_trading(&self, venue: VenueIdx) -> bool {
        lock(&self.trading).get(venue).copied().unwrap_or(false)
    }

    /// Records a venue's trading status; a venue that stops has its books dropped (stale
    /// books must not be traded on). Returns the previous status.
    pub(super) fn set_venue_trading(&self, venue: VenueIdx, trading: bool) -> bool {
        let was = {
            let mut t = lock(&self.trading);
            match t.get_mut(venue) {
                Some(slot) => std::mem::replace(slot, trading),
                None => return false,
            }
        };
        if !trading {
            lock(&self.books).clear_venue(venue);
        }
        was
    }

    // ---- resolutions ----

    /// Remembers a resolution; only a final one counts.
    pub(super) fn record_resolution(&self, venue: VenueIdx, r: Resolution) {
        if r.resolved {
            lock(&self.resolutions).insert((venue, r.instrument.clone()), r);
            self.mark_settle_dirty();
        }
    }

    /// The resolution seen for an instrument, if any.
    pub(super) fn resolution(&self, venue: VenueIdx, instrument: &str) -> Option<Resolution> {
        lock(&self.resolutions)
            .get(&(venue, instrument.to_string()))
            .cloned()
    }

    /// Every final resolution's payout per share, by (venue, instrument).
    pub(super) fn final_payouts(&self) -> HashMap<(VenueIdx, String), plugin_api::Price> {
        lock(&self.resolutions)
            .iter()
            .filter(|(_, r)| r.resolved)
            .map(|(k, r)| (k.clone(), r.payout))
            .collect()
    }

    /// Something may have become settleable.
    pub(super) fn mark_settle_dirty(&self) {
        self.settle_dirty.store(true, Ordering::SeqCst);
    }

    /// Whether a settlement sweep is due; clears the flag.
    pub(super) fn take_settle_dirty(&self) -> bool {
        self.settle_dirty.swap(false, Ordering::SeqCst)
    }

    // ---- pairs ----

    /// Why pair `i` does not trade, if it does not.
    pub(super) fn pair_off(&self, i: usize) -> Option<String> {
        lock(&self.pair_off).get(i).cloned().flatten()
    }

    /// Every pair's switch, in pair order.
    pub(super) fn pair_offs(&self) -> Vec<Option<String>> {
        lock(&self.pair_off).clone()
    }

    /// Changes pair switches under the lock.
    pub(super) fn update_pair_off<R>(&self, f: impl FnOnce(&mut Vec<Option<String>>) -> R) -> R {
        f(&mut lock(&self.pair_off))
    }

    /// Indexes pairs that joined while running, with their switches, before the pair table
    /// hands out their indexes.
    pub(super) fn add_pairs(
        &self,
        specs: &[plugin_api::PairSpec],
        offs: Vec<Option<String>>,
        rules: RulesMap,
        venue_of: impl Fn(&str) -> Option<VenueIdx>,
    ) {
        lock(&self.pair_off).extend(offs);
        {
            let mut books = lock(&self.books);
            for s in specs {
                books.add_pair(s, &venue_of);
            }
        }
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = rules;
    }

    // ---- rules ----

    /// One instrument's rules, if known.
    pub(super) fn rules_of(&self, venue: VenueIdx, instrument: &str) -> Option<InstrumentRules> {
        self.rules
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(venue, instrument.to_string()))
            .copied()
    }

    /// A copy of all rules (to extend when pairs join).
    pub(super) fn rules_snapshot(&self) -> RulesMap {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::super::pair_adopt::PLACEHOLDER_RULES;
    use super::*;
    use plugin_api::{Level, Price};

    fn book(inst: &str) -> Book {
        Book {
            instrument: inst.into(),
            bids: vec![],
            asks: vec![Level {
                price: Price(400_000),
                qty: Qty::shares(10),
            }],
            ..Book::default()
        }
    }

    fn pair() -> plugin_api::PairSpec {
        let leg = |v: &str, y: &str, n: &str| plugin_api::PairLeg {
            venue: v.into(),
            yes: y.into(),
            no: n.into(),
            yes_rules: PLACEHOLDER_RULES,
            no_rules: PLACEHOLDER_RULES,
        };
        plugin_api::PairSpec {
            id: "p".into(),
            index: 0,
            a: leg("a", "ay", "an"),
            b: leg("b", "by", "bn"),
        }
    }

    fn view() -> MarketView {
        let venue_of = |n: &str| match n {
            "a" => Some(0),
            "b" => Some(1),
            _ => None,
        };
        MarketView::new(
            Books::new(&[pair()], venue_of),
            RulesMap::new(),
            2,
            vec![None],
        )
    }

    #[test]
    fn a_venue_that_stops_trading_loses_its_books_and_reports_the_change() {
        let m = view();
        let mut touched = BTreeSet::new();
        m.apply_book(0, book("ay"), &mut touched);
        assert_eq!(touched.into_iter().collect::<Vec<_>>(), vec![0]);
        assert!(m.with_books(|b| b.get(0, "ay").is_some()));
        assert!(m.set_venue_trading(0, false), "was trading");
        assert!(!m.venue_trading(0));
        assert!(
            m.with_books(|b| b.get(0, "ay").is_none()),
            "stale book kept"
        );
        assert!(!m.set_venue_trading(0, true));
        // An unknown venue is never reported trading.
        assert!(!m.venue_trading(7));
    }

    #[test]
    fn only_final_resolutions_count_and_they_make_a_sweep_due() {
        let m = view();
        assert!(m.take_settle_dirty(), "first sweep is always due");
        assert!(!m.take_settle_dirty());
        let mut r = Resolution {
            instrument: "ay".into(),
            resolved: false,
            payout: Price::ONE,
        };
        m.record_resolution(0, r.clone());
        assert!(m.resolution(0, "ay").is_none());
        assert!(!m.take_settle_dirty());
        r.resolved = true;
        m.record_resolution(0, r);
        assert!(m.resolution(0, "ay").is_some());
        assert!(m.take_settle_dirty());
    }

    #[test]
    fn own_fills_take_liquidity_off_the_cached_asks() {
        let m = view();
        m.apply_book(1, book("bn"), &mut BTreeSet::new());
        m.consume([(1, "bn".to_string(), Qty::shares(4))]);
        let left = m.with_books(|b| b.asks(1, "bn").first().map(|l| l.qty));
        assert_eq!(left, Some(Qty::shares(6)));
    }
}
