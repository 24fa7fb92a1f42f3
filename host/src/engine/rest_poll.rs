//! Market data over REST for the live driver: books of every pair instrument (in batches
//! where the venue can), exchange status, and letting venues prepare their next order.

use plugin_api::{Book, OpResult, VenueEvent, VenueOp};
use std::collections::BTreeSet;

use super::setup::Engine;

impl Engine {
    /// Fetches the book of every pair instrument: one request per chunk of instruments on a
    /// venue with a batch endpoint, one per instrument elsewhere.
    pub(super) async fn poll_books(&self, dirty: &mut BTreeSet<u32>) {
        let mut wanted: Vec<Vec<String>> = vec![Vec::new(); self.venues.len()];
        let mut seen = BTreeSet::new();
        let off = self.market.pair_offs();
        for (i, p) in self.pairs.get().iter().enumerate() {
            if off.get(i).is_some_and(Option::is_some) {
                continue;
            }
            for leg in [&p.a, &p.b] {
                let Some(vi) = self.vidx(&leg.venue) else {
                    continue;
                };
                for inst in [&leg.yes, &leg.no] {
                    // A fresh streamed book is the stream's (see stream_driver).
                    if self.stream_owned(vi, inst) {
                        continue;
                    }
                    if seen.insert((vi, inst.clone())) {
                        wanted[vi].push(inst.clone());
                    }
                }
            }
        }
        // Venues are polled at the same time; each one's requests go in order (its rate
        // limiter paces them anyway).
        let polls = wanted
            .into_iter()
            .enumerate()
            .map(|(vi, instruments)| self.poll_venue_books(vi, instruments));
        for changed in futures_util::future::join_all(polls).await {
            dirty.extend(changed);
        }
    }

    /// One venue's books; returns the pairs whose books changed.
    async fn poll_venue_books(&self, vi: usize, instruments: Vec<String>) -> BTreeSet<u32> {
        /// Instruments per batch request.
        const CHUNK: usize = 50;
        let mut changed = BTreeSet::new();
        let dirty = &mut changed;
        if self.batch_books[vi] {
            for chunk in instruments.chunks(CHUNK) {
                let op = VenueOp::Books {
                    instruments: chunk.to_vec(),
                };
                match self.venues[vi].run(&op).await {
                    Ok(OpResult::Books { books }) => {
                        // A book the venue no longer serves (its market closed or resolved)
                        // is emptied, never left stale for the strategy to trade on.
                        let got: BTreeSet<String> =
                            books.iter().map(|b| b.instrument.clone()).collect();
                        let missing: Vec<&String> =
                            chunk.iter().filter(|i| !got.contains(i.as_str())).collect();
                        if !missing.is_empty() {
                            tracing::warn!(venue = %self.venues[vi].name(), ?missing, "venue served no book (market closed or resolved?); treating it as empty");
                        }
                        let empty = missing.into_iter().map(|i| Book {
                            instrument: i.clone(),
                            bids: Vec::new(),
                            asks: Vec::new(),
                            ts_ms: self.clock.now_ms(),
                        });
                        let events = books
                            .into_iter()
                            .chain(empty)
                            .map(|book| VenueEvent::Book { book });
                        self.apply_polled(vi, events.collect(), dirty);
                    }
                    Ok(_) => {}
                    Err(e) => self.error(None, self.venues[vi].name(), &format!("books: {e}")),
                }
            }
            return changed;
        }
        for inst in instruments {
            match self.venues[vi]
                .run(&VenueOp::Book {
                    instrument: inst.clone(),
                })
                .await
            {
                Ok(OpResult::Book { book }) => {
                    self.apply_polled(vi, vec![VenueEvent::Book { book }], dirty)
                }
                Ok(_) => {}
                Err(e) if matches!(e.kind(), Some(plugin_api::ErrorKind::Rejected { ref code }) if code.contains("not_found")) =>
                {
                    tracing::warn!(venue = %self.venues[vi].name(), instrument = %inst, "venue has no book (market closed or resolved?); treating it as empty");
                    let book = Book {
                        instrument: inst.clone(),
                        bids: Vec::new(),
                        asks: Vec::new(),
                        ts_ms: self.clock.now_ms(),
                    };
                    self.apply_polled(vi, vec![VenueEvent::Book { book }], dirty)
                }
                Err(e) => self.error(None, self.venues[vi].name(), &format!("book {inst}: {e}")),
            }
        }
        changed
    }

    /// Asks each venue whether its exchange is trading; a change stops or resumes trading on
    /// it exactly like a simulator's status event. Venues without the operation are dropped
    /// from `reporting`; a failed check changes nothing (the order path has its own errors).
    pub(super) async fn poll_exchange_status(&self, reporting: &mut Vec<usize>) {
        let mut keep = Vec::with_capacity(reporting.len());
        for &vi in reporting.iter() {
            match self.venues[vi].run(&VenueOp::ExchangeStatus).await {
                Ok(OpResult::ExchangeStatus { trading, detail }) => {
                    keep.push(vi);
                    let was = self.market.venue_trading(vi);
                    if was != trading {
                        if let Some(d) = &detail {
                            tracing::warn!(venue = %self.venues[vi].name(), detail = %d, "exchange status");
                        }
                        let name = self.venues[vi].name();
                        let text = if trading {
                            format!("{name}: exchange trading again")
                        } else {
                            let text = format!(
                                "{name}: exchange not trading{}; no orders until it is",
                                detail.map(|d| format!(" ({d})")).unwrap_or_default()
                            );
                            self.error(None, name, &text);
                            text
                        };
                        self.notify(crate::notify::Kind::VenueStatus, text, None);
                        self.apply_events(
                            vi,
                            vec![VenueEvent::Status { trading }],
                            &mut BTreeSet::new(),
                        );
                    }
                }
                Err(e) if matches!(e.kind(), Some(plugin_api::ErrorKind::Unsupported)) => {}
                Ok(_) => {}
                Err(e) => {
                    keep.push(vi);
                    tracing::warn!(venue = %self.venues[vi].name(), error = %e, "exchange status check failed");
                }
            }
        }
        *reporting = keep;
    }
}
