//! Latest books per (venue, instrument) and which pairs each instrument feeds. Instruments are
//! interned once at start so the hot path does no string allocation.

use plugin_api::{Book, Level, PairSpec, Qty};
use std::collections::HashMap;
use std::sync::Arc;

/// Index of a venue in the engine's venue table.
pub type VenueIdx = usize;

/// Book cache and the instrument → pairs index.
#[derive(Default)]
pub struct Books {
    ids: Vec<HashMap<String, usize>>,
    books: Vec<Option<Arc<Book>>>,
    feeds: Vec<Vec<u32>>,
    pair_ids: Vec<[usize; 4]>,
}

impl Books {
    /// Indexes `pairs`; `venue_of` maps a venue name to its index.
    pub fn new(pairs: &[PairSpec], venue_of: impl Fn(&str) -> Option<VenueIdx>) -> Books {
        let mut b = Books::default();
        for p in pairs {
            b.add_pair(p, &venue_of);
        }
        b
    }

    /// Indexes one more pair (one approved while the engine runs); its books arrive with the
    /// next poll.
    pub fn add_pair(&mut self, p: &PairSpec, venue_of: impl Fn(&str) -> Option<VenueIdx>) {
        let mut ids = [usize::MAX; 4];
        let mut k = 0;
        for leg in [&p.a, &p.b] {
            let v = venue_of(&leg.venue);
            for inst in [&leg.yes, &leg.no] {
                if let Some(v) = v {
                    let id = self.intern(v, inst);
                    self.feeds[id].push(p.index);
                    ids[k] = id;
                }
                k += 1;
            }
        }
        let at = p.index as usize;
        if self.pair_ids.len() <= at {
            self.pair_ids.resize(at + 1, [usize::MAX; 4]);
        }
        self.pair_ids[at] = ids;
    }

    fn intern(&mut self, venue: VenueIdx, inst: &str) -> usize {
        if self.ids.len() <= venue {
            self.ids.resize_with(venue + 1, HashMap::new);
        }
        if let Some(&id) = self.ids[venue].get(inst) {
            return id;
        }
        let id = self.books.len();
        self.ids[venue].insert(inst.to_string(), id);
        self.books.push(None);
        self.feeds.push(Vec::new());
        id
    }

    fn id(&self, venue: VenueIdx, inst: &str) -> Option<usize> {
        self.ids.get(venue)?.get(inst).copied()
    }

    /// Stores a book; returns the pairs it feeds (none for instruments no pair uses).
    pub fn update(&mut self, venue: VenueIdx, book: Book) -> &[u32] {
        match self.id(venue, &book.instrument) {
            Some(id) => {
                self.books[id] = Some(Arc::new(book));
                &self.feeds[id]
            }
            None => &[],
        }
    }

    /// The latest book.
    pub fn get(&self, venue: VenueIdx, instrument: &str) -> Option<&Arc<Book>> {
        self.books[self.id(venue, instrument)?].as_ref()
    }

    /// The four books of a pair: A yes, A no, B yes, B no.
    pub fn pair(&self, pair: u32) -> [Option<Arc<Book>>; 4] {
        let ids = self
            .pair_ids
            .get(pair as usize)
            .copied()
            .unwrap_or([usize::MAX; 4]);
        ids.map(|id| self.books.get(id).and_then(|b| b.clone()))
    }

    /// Asks of an instrument, or an empty ladder.
    pub fn asks(&self, venue: VenueIdx, instrument: &str) -> &[Level] {
        self.get(venue, instrument)
            .map(|b| b.asks.as_slice())
            .unwrap_or(&[])
    }

    /// Removes `qty` bought from the cached asks (our own fill took that liquidity until the
    /// venue's next book says otherwise), so the same depth is not traded twice. Known gap: it
    /// runs when both legs are back, so a streamed book that already showed the fill by then
    /// loses that depth twice, until its next change (conservative: depth under-stated, never
    /// over-stated).
    pub fn consume(&mut self, venue: VenueIdx, instrument: &str, mut qty: Qty) {
        let Some(id) = self.id(venue, instrument) else {
            return;
        };
        let Some(b) = self.books[id].as_mut() else {
            return;
        };
        let b = Arc::make_mut(b);
        while qty.0 > 0 && !b.asks.is_empty() {
            let take = b.asks[0].qty.min(qty);
            b.asks[0].qty -= take;
            qty -= take;
            if b.asks[0].qty.0 == 0 {
                b.asks.remove(0);
            }
        }
    }

    /// The pairs an instrument's book feeds (none for instruments no pair uses).
    pub fn pairs_of(&self, venue: VenueIdx, instrument: &str) -> &[u32] {
        match self.id(venue, instrument) {
            Some(id) => &self.feeds[id],
            None => &[],
        }
    }

    /// Drops one book (its stream lost track of it: it must not be traded on).
    pub fn clear_instrument(&mut self, venue: VenueIdx, instrument: &str) {
        if let Some(id) = self.id(venue, instrument) {
            self.books[id] = None;
        }
    }

    /// Drops a venue's books (outage: stale books must not be traded on).
    pub fn clear_venue(&mut self, venue: VenueIdx) {
        if let Some(ids) = self.ids.get(venue) {
            for &id in ids.values() {
                self.books[id] = None;
            }
        }
    }
}
