//! The stream driver of a live run: books of venues with `stream = true` come over their
//! websocket (`crate::stream`) into the same book cache the REST poll fills, and every applied
//! change re-evaluates the pairs it touches at once, with no poll interval in between.
//!
//! Correctness under faults:
//! * A book is *fresh* once the stream sent its snapshot on the current connection; a level
//!   change of a book that is not fresh is dropped (it would apply to an unknown state).
//! * Both venues' subscribe replies start with a snapshot, so a (re)connect needs no REST
//!   snapshot, which for Kalshi's signed deltas could not be aligned with the sequence anyway.
//! * A sequence gap (`Resync`) or a connection that went down or stale (`Down`) clears those
//!   books: their pairs do not trade until a fresh snapshot arrives.
//! * While an instrument is not fresh the REST poll keeps fetching it (the fallback); while it
//!   is fresh the poll leaves it to the stream, so a REST answer older than a delta can never
//!   overwrite it.
//! * The stream keeps its own copy of each book: the engine's cache takes our own fills off
//!   its asks (`Books::consume`), and signed deltas must apply to the venue's book, not that.
//! * Pairs adopted while running join the stream at once (`stream_joined_pairs`): their new
//!   instruments go onto a connection with room, or a new one. Until their snapshots arrive
//!   they are not fresh, so the REST poll fetches them meanwhile.
//! * Pairs retired (or rejected) in the registry leave it (`stream_left_pairs`): instruments
//!   no other pair uses are unsubscribed, and the stream forgets their books. A suspended pair
//!   keeps streaming, so it trades at once when approved again.

use plugin_api::stream::apply_level;
use plugin_api::{Book, StreamChannel, StreamEvent, VenueEvent};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

use super::books::VenueIdx;
use super::decision_latency::{Stage, Stamps};
use super::in_flight::Job;
use super::setup::{Engine, EngineError};
use super::user_stream::UserReport;
use crate::stream::{StreamOptions, StreamUpdate, UpdateKind, VenueStreams};

/// One venue's feed as the API shows it.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct FeedHealth {
    /// Whether the venue streams at all (config `stream = true` and the plugin offers it).
    pub streaming: bool,
    /// Connections up now.
    pub connections_up: usize,
    /// Instruments whose book is fresh from the stream.
    pub fresh_instruments: usize,
    /// Instruments the stream carries.
    pub instruments: usize,
    /// When the last frame arrived (ms since the epoch).
    pub last_frame_ms: Option<i64>,
    /// Disconnects and stale connections so far.
    pub disconnects: u64,
    /// Sequence gaps resynced so far.
    pub resyncs: u64,
    /// The last reason a connection went down.
    pub last_error: Option<String>,
    /// Whether the account's user stream (orders and fills) runs for this venue.
    pub user_stream: bool,
    /// Whether its connection is up now.
    pub user_connected: bool,
    /// Order and fill reports received on it so far.
    pub user_reports: u64,
}

/// What the stream driver shares with the REST poll and the API.
#[derive(Default)]
pub struct StreamState {
    /// Connections up, by venue and the venue's connection index.
    up: HashSet<(VenueIdx, usize)>,
    fresh: HashSet<(VenueIdx, String)>,
    books: HashMap<(VenueIdx, String), Book>,
    pub(super) health: BTreeMap<String, FeedHealth>,
    /// User streams that went down since they last connected: their fills are swept over
    /// REST when they are back (see `user_stream`).
    pub(super) user_down: HashSet<VenueIdx>,
    /// Trades a user-stream report was about while they were running: looked at again.
    pub(super) pending_reports: BTreeSet<String>,
    /// Order reports about trades that were running: applied once they are not.
    pub(super) pending_orders: Vec<(VenueIdx, plugin_api::OrderStatus)>,
    /// The market streams of each streaming venue, which take the instruments of pairs that
    /// join while running.
    market: HashMap<VenueIdx, VenueStreams>,
    /// Pairs the registry retired or rejected: their instruments are not streamed.
    left: HashSet<String>,
}

impl Engine {
    pub(super) fn stream_state(&self) -> std::sync::MutexGuard<'_, StreamState> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the stream owns this book now (fresh): the REST poll leaves it alone.
    pub(super) fn stream_owned(&self, vi: VenueIdx, instrument: &str) -> bool {
        let s = self.stream_state();
        !s.fresh.is_empty() && s.fresh.contains(&(vi, instrument.to_string()))
    }

    /// Applies books a REST poll fetched, except those the stream made fresh while the poll
    /// was on its way: such an answer is older than the stream's book and would overwrite it
    /// until the next delta. Checked and applied under the stream state's lock, so a snapshot
    /// cannot land between the check and the write (the stream marks a book fresh under that
    /// lock, and applies it after taking it).
    pub(super) fn apply_polled(
        &self,
        vi: VenueIdx,
        events: Vec<VenueEvent>,
        dirty: &mut BTreeSet<u32>,
    ) {
        let s = self.stream_state();
        let (kept, dropped): (Vec<VenueEvent>, Vec<VenueEvent>) =
            events.into_iter().partition(|e| match e {
                VenueEvent::Book { book } => !s.fresh.contains(&(vi, book.instrument.clone())),
                _ => true,
            });
        if !dropped.is_empty() {
            tracing::debug!(venue = %self.venues[vi].name(), books = dropped.len(), "REST books older than the stream's dropped");
        }
        self.apply_events(vi, kept, dirty);
        drop(s);
    }

    /// Feed health per streaming venue.
    pub fn feed_health(&self) -> BTreeMap<String, FeedHealth> {
        self.stream_state().health.clone()
    }

    /// The instruments of `vi` that pairs use, leaving out pairs in `left` (retired or
    /// rejected).
    fn pair_instruments(&self, vi: VenueIdx, left: &HashSet<String>) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for p in self.pairs.get().iter() {
            if left.contains(&p.id) {
                continue;
            }
            for leg in [&p.a, &p.b] {
                if self.vidx(&leg.venue) != Some(vi) {
                    continue;
                }
                for i in [&leg.yes, &leg.no] {
                    if seen.insert(i.clone()) {
                        out.push(i.clone());
                    }
                }
            }
        }
        out
    }

    /// Subscribes the instruments of pairs that joined the running engine on every streaming
    /// venue's stream (those it does not carry yet), at once. Does not wait: the connections
    /// send the subscriptions.
    pub(super) fn stream_joined_pairs(&self) {
        let mut s = self.stream_state();
        let venues: Vec<VenueIdx> = s.market.keys().copied().collect();
        for vi in venues {
            self.join_stream(&mut s, vi);
        }
    }

    /// Unsubscribes, on every streaming venue, the instruments only pairs in `left` (retired
    /// or rejected in the registry) use, at once. Does not wait. The stream forgets their
    /// books; the engine's cache keeps the last one, as it does for a retired pair's books on
    /// a polled venue (the gate keeps the pair from trading on it; the mark of positions still
    /// held stays the last bid seen rather than none).
    pub(super) fn stream_left_pairs(&self, left: HashSet<String>) {
        let mut s = self.stream_state();
        if s.left == left {
            return;
        }
        s.left = left;
        let venues: Vec<VenueIdx> = s.market.keys().copied().collect();
        for vi in venues {
            let wanted: HashSet<String> = self.pair_instruments(vi, &s.left).into_iter().collect();
            let StreamState {
                market,
                health,
                fresh,
                books,
                ..
            } = &mut *s;
            let Some(streams) = market.get_mut(&vi) else {
                continue;
            };
            let removed = streams.retain(&wanted);
            if removed.is_empty() {
                continue;
            }
            for i in &removed {
                let key = (vi, i.clone());
                fresh.remove(&key);
                books.remove(&key);
            }
            let name = self.venues[vi].name();
            tracing::info!(venue = %name, instruments = removed.len(), "stream drops the instruments of retired pairs");
            let h = health.entry(name.to_string()).or_default();
            h.instruments = streams.instruments();
            h.fresh_instruments = fresh.iter().filter(|(v, _)| *v == vi).count();
        }
    }

    /// Adds `vi`'s pair instruments its stream does not carry yet; counts them in its health.
    fn join_stream(&self, s: &mut StreamState, vi: VenueIdx) {
        let wanted = self.pair_instruments(vi, &s.left);
        let StreamState { market, health, .. } = s;
        let Some(streams) = market.get_mut(&vi) else {
            return;
        };
        let added = streams.add(&wanted);
        let name = self.venues[vi].name();
        if !added.is_empty() {
            tracing::info!(venue = %name, instruments = added.len(), connections = streams.connections(), "stream takes the instruments of joined pairs");
        }
        health.entry(name.to_string()).or_default().instruments = streams.instruments();
    }

    /// Runs the streams of every venue configured to stream until `stop`, trading on what
    /// they change. Returns at once when no venue streams.
    ///
    /// Two loops: books (market channels) decide trades; account reports (user channels,
    /// and resolutions, which need the ledger) are applied by their own loop, so a book frame
    /// never waits behind a report's ledger writes or REST lookups.
    pub(super) async fn drive_streams(
        self: &Arc<Self>,
        stop: watch::Receiver<bool>,
        trades: mpsc::UnboundedSender<Job>,
        freed: mpsc::UnboundedReceiver<BTreeSet<u32>>,
    ) -> Result<(), EngineError> {
        let (market_tx, market_rx) = mpsc::unbounded_channel::<(VenueIdx, StreamUpdate)>();
        let (user_tx, user_rx) = mpsc::unbounded_channel::<(VenueIdx, StreamUpdate)>();
        let (reports_tx, reports_rx) = mpsc::unbounded_channel::<Vec<UserReport>>();
        for (vi, venue) in self.venues.iter().enumerate() {
            let Some(entry) = self.cfg.venues.iter().find(|v| v.name == venue.name()) else {
                continue;
            };
            if !entry.stream {
                continue;
            }
            self.start_user_stream(vi, entry, &stop, &user_tx).await;
            // Started even with no pair yet: the first pair adopted on this venue joins it.
            let left = self.stream_state().left.clone();
            let instruments = self.pair_instruments(vi, &left);
            let opts = StreamOptions {
                stale_after_ms: entry.stream_stale_ms,
                tls: entry.tls.clone(),
                ..StreamOptions::default()
            };
            let to_driver = market_tx.clone();
            let sink = crate::stream::Sink::new(move |u| to_driver.send((vi, u)).is_ok());
            match crate::stream::start(
                venue.handle().clone(),
                self.clock.clone(),
                StreamChannel::Market,
                &instruments,
                opts,
                sink,
                stop.clone(),
            )
            .await
            {
                Ok(streams) => {
                    tracing::info!(venue = %venue.name(), instruments = instruments.len(), "streaming books");
                    let mut s = self.stream_state();
                    s.health
                        .entry(venue.name().to_string())
                        .or_default()
                        .streaming = true;
                    s.market.insert(vi, streams);
                    // Pairs adopted while it was starting.
                    self.join_stream(&mut s, vi);
                }
                Err(e) => {
                    tracing::warn!(venue = %venue.name(), error = %e, "stream not started; polling books over REST");
                }
            }
        }
        drop((market_tx, user_tx));
        tokio::try_join!(
            self.drive_stream_books(stop.clone(), market_rx, freed, reports_tx, trades),
            self.drive_user_reports(stop, user_rx, reports_rx),
        )?;
        Ok(())
    }

    /// Applies streamed books and decides on what they changed, at once. Pairs a trade just
    /// freed (`freed`, from the trade runner) are decided again on the books as they are: a
    /// change that came while their trade ran was skipped then (the pair was busy), and a
    /// streamed book may not change again for a long time.
    async fn drive_stream_books(
        self: &Arc<Self>,
        mut stop: watch::Receiver<bool>,
        mut rx: mpsc::UnboundedReceiver<(VenueIdx, StreamUpdate)>,
        mut freed: mpsc::UnboundedReceiver<BTreeSet<u32>>,
        reports: mpsc::UnboundedSender<Vec<UserReport>>,
        trades: mpsc::UnboundedSender<Job>,
    ) -> Result<(), EngineError> {
        let mut freed_open = true;
        loop {
            let first = tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return Ok(());
                    }
                    continue;
                }
                u = rx.recv() => match u {
                    Some(u) => u,
                    None => return Ok(()),
                },
                f = freed.recv(), if freed_open => {
                    match f {
                        // No book arrival to time from: not a latency sample.
                        Some(pairs) if !*stop.borrow() => {
                            let pairs: Vec<u32> = pairs.into_iter().collect();
                            if !self.decide_and_hand_over(&pairs, Stamps::default(), &trades).await? {
                                return Ok(());
                            }
                        }
                        Some(_) => {}
                        None => freed_open = false,
                    }
                    continue;
                }
            };
            let mut dirty = BTreeSet::new();
            let mut resolved = Vec::new();
            let mut stamps = self.on_market_update(first, &mut dirty, &mut resolved);
            // Whatever else is already queued is applied before deciding: the decision then
            // sees the newest books (and is timed from the newest frame that changed one).
            while let Ok(u) = rx.try_recv() {
                stamps = self
                    .on_market_update(u, &mut dirty, &mut resolved)
                    .or(stamps);
            }
            if !resolved.is_empty() {
                // The report loop may be gone only because the run is stopping.
                let _ = reports.send(resolved);
            }
            if dirty.is_empty() || *stop.borrow() {
                continue;
            }
            let pairs: Vec<u32> = dirty.into_iter().collect();
            let stamps = stamps.unwrap_or_default();
            if !self.decide_and_hand_over(&pairs, stamps, &trades).await? {
                return Ok(());
            }
        }
    }

    /// Applies the account's reports (user channels) and streamed resolutions, and looks
    /// again at reports about trades that were running.
    async fn drive_user_reports(
        &self,
        mut stop: watch::Receiver<bool>,
        mut user: mpsc::UnboundedReceiver<(VenueIdx, StreamUpdate)>,
        mut resolved: mpsc::UnboundedReceiver<Vec<UserReport>>,
    ) -> Result<(), EngineError> {
        // Reports about trades that were running are looked at again on this tick.
        let mut retry = tokio::time::interval(std::time::Duration::from_millis(50));
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let (mut user_open, mut resolved_open) = (true, true);
        while user_open || resolved_open {
            let mut reports = Vec::new();
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return Ok(());
                    }
                }
                _ = retry.tick() => self.retry_user_reports().await?,
                u = user.recv(), if user_open => match u {
                    Some((vi, u)) => {
                        self.on_user_update(vi, u, &mut reports);
                        while let Ok((vi, u)) = user.try_recv() {
                            self.on_user_update(vi, u, &mut reports);
                        }
                    }
                    None => user_open = false,
                },
                r = resolved.recv(), if resolved_open => match r {
                    Some(r) => reports.extend(r),
                    None => resolved_open = false,
                },
            }
            self.on_user_reports(reports).await?;
        }
        Ok(())
    }

    /// Applies one market update; resolutions it carries go to `resolved` (they need the
    /// ledger: settlement).
    fn on_market_update(
        &self,
        (vi, u): (VenueIdx, StreamUpdate),
        dirty: &mut BTreeSet<u32>,
        resolved: &mut Vec<UserReport>,
    ) -> Option<Stamps> {
        if let UpdateKind::Events { events, .. } = &u.kind {
            for e in events {
                if let StreamEvent::Resolved { instrument, payout } = e {
                    resolved.push(UserReport::Resolved(vi, instrument.clone(), *payout));
                }
            }
        }
        self.on_stream_update(vi, u, dirty)
    }

    /// Applies one update; returns when its frame arrived (and was parsed and dequeued) if it
    /// changed books.
    fn on_stream_update(
        &self,
        vi: VenueIdx,
        u: StreamUpdate,
        dirty: &mut BTreeSet<u32>,
    ) -> Option<Stamps> {
        let dequeued = std::time::Instant::now();
        let name = self.venues[vi].name().to_string();
        match u.kind {
            UpdateKind::Connected { .. } => {
                let mut s = self.stream_state();
                s.up.insert((vi, u.connection));
                let up = s.up.iter().filter(|(v, _)| *v == vi).count();
                s.health.entry(name).or_default().connections_up = up;
                None
            }
            UpdateKind::Down {
                instruments,
                reason,
            } => {
                self.unfresh(vi, &instruments);
                let mut s = self.stream_state();
                s.up.remove(&(vi, u.connection));
                let up = s.up.iter().filter(|(v, _)| *v == vi).count();
                let h = s.health.entry(name).or_default();
                h.connections_up = up;
                h.disconnects += 1;
                h.last_error = Some(reason);
                None
            }
            UpdateKind::Resync { instruments } => {
                self.unfresh(vi, &instruments);
                self.stream_state().health.entry(name).or_default().resyncs += 1;
                None
            }
            UpdateKind::Events {
                events,
                received,
                parsed,
            } => {
                let mut changed = Vec::new();
                {
                    let mut s = self.stream_state();
                    for e in events {
                        match e {
                            StreamEvent::Book { book } => {
                                let key = (vi, book.instrument.clone());
                                s.fresh.insert(key.clone());
                                s.books.insert(key, book.clone());
                                changed.push(book);
                            }
                            StreamEvent::Level {
                                instrument,
                                side,
                                price,
                                change,
                                ts_ms,
                            } => {
                                let key = (vi, instrument);
                                if !s.fresh.contains(&key) {
                                    continue;
                                }
                                if let Some(b) = s.books.get_mut(&key) {
                                    apply_level(b, side, price, change);
                                    b.ts_ms = ts_ms;
                                    changed.push(b.clone());
                                }
                            }
                            StreamEvent::Status {
                                instrument: Some(i),
                                trading,
                            } => {
                                drop(s);
                                dirty.extend(self.on_instrument_status(vi, &i, trading));
                                s = self.stream_state();
                            }
                            StreamEvent::Status {
                                instrument: None,
                                trading,
                            } => {
                                drop(s);
                                self.apply_events(vi, vec![VenueEvent::Status { trading }], dirty);
                                s = self.stream_state();
                            }
                            _ => {}
                        }
                    }
                    let fresh = s.fresh.iter().filter(|(v, _)| *v == vi).count();
                    let h = s.health.entry(name).or_default();
                    h.fresh_instruments = fresh;
                    h.last_frame_ms = Some(self.clock.now_ms());
                }
                if changed.is_empty() {
                    return None;
                }
                let events = changed
                    .into_iter()
                    .map(|book| VenueEvent::Book { book })
                    .collect();
                self.apply_events(vi, events, dirty);
                let mut stamps = Stamps::from_book(Some(received));
                stamps.stamp_at(Stage::Parsed, parsed);
                stamps.stamp_at(Stage::Dequeued, dequeued);
                Some(stamps)
            }
        }
    }

    /// Forgets the stream's books of `instruments` and clears them from the cache: their
    /// pairs do not trade until a fresh snapshot (or the REST fallback) brings them back.
    fn unfresh(&self, vi: VenueIdx, instruments: &[String]) {
        {
            let mut s = self.stream_state();
            for i in instruments {
                let key = (vi, i.clone());
                s.fresh.remove(&key);
                s.books.remove(&key);
            }
            let fresh = s.fresh.iter().filter(|(v, _)| *v == vi).count();
            let name = self.venues[vi].name().to_string();
            s.health.entry(name).or_default().fresh_instruments = fresh;
        }
        self.market.forget_books(vi, instruments);
    }
}
