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

use plugin_api::stream::apply_level;
use plugin_api::{Book, StreamChannel, StreamEvent, VenueEvent};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use tokio::sync::{mpsc, watch};

use super::books::VenueIdx;
use super::in_flight::Job;
use super::setup::{Engine, EngineError};
use crate::stream::{StreamOptions, StreamUpdate, UpdateKind};

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

    /// Feed health per streaming venue.
    pub fn feed_health(&self) -> BTreeMap<String, FeedHealth> {
        self.stream_state().health.clone()
    }

    /// The instruments of `vi` that pairs use.
    fn pair_instruments(&self, vi: VenueIdx) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for p in self.pairs.get().iter() {
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

    /// Runs the streams of every venue configured to stream until `stop`, trading on what
    /// they change. Returns at once when no venue streams.
    pub(super) async fn drive_streams(
        &self,
        mut stop: watch::Receiver<bool>,
        trades: mpsc::UnboundedSender<Job>,
    ) -> Result<(), EngineError> {
        let (tx, mut rx) = mpsc::unbounded_channel::<(VenueIdx, StreamChannel, StreamUpdate)>();
        for (vi, venue) in self.venues.iter().enumerate() {
            let Some(entry) = self.cfg.venues.iter().find(|v| v.name == venue.name()) else {
                continue;
            };
            if !entry.stream {
                continue;
            }
            self.start_user_stream(vi, entry, &stop, &tx).await;
            let instruments = self.pair_instruments(vi);
            if instruments.is_empty() {
                continue;
            }
            let opts = StreamOptions {
                stale_after_ms: entry.stream_stale_ms,
                ..StreamOptions::default()
            };
            let (vtx, mut vrx) = mpsc::unbounded_channel();
            match crate::stream::start(
                venue.handle().clone(),
                self.clock.clone(),
                StreamChannel::Market,
                &instruments,
                opts,
                vtx,
                stop.clone(),
            )
            .await
            {
                Ok(_) => {
                    tracing::info!(venue = %venue.name(), instruments = instruments.len(), "streaming books");
                    {
                        let mut s = self.stream_state();
                        let h = s.health.entry(venue.name().to_string()).or_default();
                        h.streaming = true;
                        h.instruments = instruments.len();
                    }
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while let Some(u) = vrx.recv().await {
                            if tx.send((vi, StreamChannel::Market, u)).is_err() {
                                break;
                            }
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(venue = %venue.name(), error = %e, "stream not started; polling books over REST");
                }
            }
        }
        drop(tx);
        // Reports about trades that were running are looked at again on this tick.
        let mut retry = tokio::time::interval(std::time::Duration::from_millis(50));
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let first = tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return Ok(());
                    }
                    continue;
                }
                _ = retry.tick() => {
                    self.retry_user_reports().await?;
                    continue;
                }
                u = rx.recv() => match u {
                    Some(u) => u,
                    None => return Ok(()),
                },
            };
            let mut dirty = BTreeSet::new();
            let mut reports = Vec::new();
            let mut received = self.on_channel_update(first, &mut dirty, &mut reports);
            // Whatever else is already queued is applied before deciding: the decision then
            // sees the newest books.
            while let Ok(u) = rx.try_recv() {
                received = self
                    .on_channel_update(u, &mut dirty, &mut reports)
                    .or(received);
            }
            self.on_user_reports(reports).await?;
            if dirty.is_empty() || *stop.borrow() {
                continue;
            }
            let pairs: Vec<u32> = dirty.into_iter().collect();
            for p in self.evaluate(&pairs).await {
                // (`admit_proposal` skips a pair the REST loop started a trade on meanwhile.)
                if let Some((trade, orders)) = self.admit_proposal(p)? {
                    self.mark_in_flight(&trade);
                    if trades.send((trade, orders, received)).is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Routes one update: user-stream reports are collected for [`Self::on_user_reports`],
    /// market updates applied to the books.
    fn on_channel_update(
        &self,
        (vi, channel, u): (VenueIdx, StreamChannel, StreamUpdate),
        dirty: &mut BTreeSet<u32>,
        reports: &mut Vec<super::user_stream::UserReport>,
    ) -> Option<std::time::Instant> {
        if channel == StreamChannel::User {
            self.on_user_update(vi, u, reports);
            return None;
        }
        // Resolutions need the ledger (settlement): applied with the user reports.
        if let UpdateKind::Events { events, .. } = &u.kind {
            for e in events {
                if let StreamEvent::Resolved { instrument, payout } = e {
                    reports.push(super::user_stream::UserReport::Resolved(
                        vi,
                        instrument.clone(),
                        *payout,
                    ));
                }
            }
        }
        self.on_stream_update(vi, u, dirty)
    }

    /// Applies one update; returns when its frame arrived if it changed books.
    fn on_stream_update(
        &self,
        vi: VenueIdx,
        u: StreamUpdate,
        dirty: &mut BTreeSet<u32>,
    ) -> Option<std::time::Instant> {
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
            UpdateKind::Events { events, received } => {
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
                Some(received)
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
