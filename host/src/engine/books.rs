//! Latest books per (venue, instrument) and which pairs each instrument feeds.

use plugin_api::{Book, Level, PairSpec};
use std::collections::HashMap;
use std::sync::Arc;

/// Index of a venue in the engine's venue table.
pub type VenueIdx = usize;

/// Book cache and the instrument → pairs index.
#[derive(Default)]
pub struct Books {
    books: HashMap<(VenueIdx, String), Arc<Book>>,
    feeds: HashMap<(VenueIdx, String), Vec<u32>>,
}

impl Books {
    /// Indexes `pairs`; `venue_of` maps a venue name to its index.
    pub fn new(pairs: &[PairSpec], venue_of: impl Fn(&str) -> Option<VenueIdx>) -> Books {
        let mut b = Books::default();
        for p in pairs {
            for leg in [&p.a, &p.b] {
                if let Some(v) = venue_of(&leg.venue) {
                    for inst in [&leg.yes, &leg.no] {
                        b.feeds.entry((v, inst.clone())).or_default().push(p.index);
                    }
                }
            }
        }
        b
    }

    /// Stores a book; returns the pairs it feeds.
    pub fn update(&mut self, venue: VenueIdx, book: Book) -> &[u32] {
        let key = (venue, book.instrument.clone());
        self.books.insert(key.clone(), Arc::new(book));
        self.feeds.get(&key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The latest book.
    pub fn get(&self, venue: VenueIdx, instrument: &str) -> Option<&Arc<Book>> {
        self.books.get(&(venue, instrument.to_string()))
    }

    /// Asks of an instrument, or an empty ladder.
    pub fn asks(&self, venue: VenueIdx, instrument: &str) -> &[Level] {
        self.get(venue, instrument)
            .map(|b| b.asks.as_slice())
            .unwrap_or(&[])
    }

    /// Removes `qty` bought from the cached asks (our own fill took that liquidity until the
    /// venue's next book says otherwise), so the same depth is not traded twice.
    pub fn consume(&mut self, venue: VenueIdx, instrument: &str, mut qty: plugin_api::Qty) {
        let Some(b) = self.books.get_mut(&(venue, instrument.to_string())) else {
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

    /// Drops a venue's books (outage: stale books must not be traded on).
    pub fn clear_venue(&mut self, venue: VenueIdx) {
        self.books.retain(|(v, _), _| *v != venue);
    }
}
