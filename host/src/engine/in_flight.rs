//! Trades in flight in a live run: each approved trade runs as its own future, so the live
//! loop keeps reading books and trading other pairs while one trade waits on a venue or
//! unwinds. While a trade runs, its instruments are busy (no other trade is decided on books
//! it has not yet taken its shares from) and the reconciliation, fill and settlement sweeps
//! leave it alone (its own future owns it until it ends).

use futures_util::StreamExt;
use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::books::VenueIdx;
use super::decision_latency::{Stage, Stamps};
use super::setup::{Engine, EngineError};
use crate::store::{OrderRow, TradeRow};

/// Which trades are running and which instruments they hold.
#[derive(Default)]
pub(super) struct InFlight {
    instruments: BTreeSet<(VenueIdx, String)>,
    trades: HashSet<String>,
    /// Instruments of every trade the ledger still has in flight, running or not (left by a
    /// restart, or ended with a leg whose outcome is unknown). Until such a trade is resolved
    /// the position on its instruments is not known (a late order may still fill), so no new
    /// trade is decided on them. Rebuilt from the ledger ([`Engine::refresh_unresolved`]).
    unresolved: BTreeSet<(VenueIdx, String)>,
    /// Instruments a claimed trade is unwinding on (a ghost fill found by a sweep or a
    /// stream report), by trade: busy like a running trade's, kept apart so ending the
    /// unwind never frees what a running trade holds.
    unwinding: std::collections::HashMap<String, Vec<(VenueIdx, String)>>,
    /// Instruments of pairs whose proposal is being admitted (the risk policies asked), by
    /// pair: claimed before the policies are asked, so the other driver cannot admit a trade
    /// on the same books meanwhile, without holding a lock across the plugin calls.
    admitting: std::collections::HashMap<u32, Vec<(VenueIdx, String)>>,
    /// Where pairs go when a trade or an unwind frees their instruments: the stream driver
    /// decides them again at once (live runs with streams; `None` otherwise).
    freed: Option<UnboundedSender<BTreeSet<u32>>>,
}

/// A running trade's task, handed by the driver that started it to the trade runner
/// ([`Engine::run_trades`]), which watches it end. Aborted if dropped unfinished: the runner
/// drops what it holds only when the run is failing (as a `JoinSet` would).
pub(super) struct Job(tokio::task::JoinHandle<Result<(), EngineError>>);

impl Drop for Job {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::future::Future for Job {
    type Output = Result<(), EngineError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|r| match r {
            Ok(r) => r,
            Err(e) => Err(EngineError::Task(e.to_string())),
        })
    }
}

/// A pair's instruments claimed while its proposal is admitted; given back when dropped (an
/// admission that failed or panicked holds nothing).
struct AdmissionClaim<'a> {
    engine: &'a Engine,
    pair: Option<u32>,
}

impl AdmissionClaim<'_> {
    /// Gives the claim back under a lock the caller holds.
    fn end(mut self, f: &mut InFlight) {
        if let Some(pair) = self.pair.take() {
            f.admitting.remove(&pair);
        }
    }
}

impl Drop for AdmissionClaim<'_> {
    fn drop(&mut self) {
        if let Some(pair) = self.pair.take() {
            self.engine.in_flight().admitting.remove(&pair);
        }
    }
}

impl Engine {
    fn in_flight(&self) -> std::sync::MutexGuard<'_, InFlight> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn trade_instruments(&self, t: &TradeRow) -> Vec<(VenueIdx, String)> {
        [(&t.venue_a, &t.instrument_a), (&t.venue_b, &t.instrument_b)]
            .into_iter()
            .filter_map(|(v, i)| Some((self.vidx(v)?, i.clone())))
            .collect()
    }

    /// Admits a proposal in a live run and marks its trade running. The REST loop and the
    /// stream driver decide in parallel (tasks of their own), and with a gap between "are its
    /// instruments busy" and "mark them busy" both could admit a trade on the same books, the
    /// second finding their depth gone: so the pair's instruments are claimed first, checked
    /// and claimed under one lock, and held until the trade is marked running or refused. No
    /// lock is held while the risk policies are asked (a hung policy holds only this
    /// proposal, not every other decision).
    pub(super) fn admit_to_run(
        &self,
        p: plugin_api::Proposal,
    ) -> Result<Option<(TradeRow, Vec<OrderRow>)>, EngineError> {
        let Some(claim) = self.claim_for_admission(p.pair) else {
            return Ok(None);
        };
        let admitted = self.admit_proposal(p);
        let mut f = self.in_flight();
        if let Ok(Some((trade, _))) = &admitted {
            let keys = self.trade_instruments(trade);
            f.trades.insert(trade.id.clone());
            f.instruments.extend(keys);
        }
        // Ended under the same lock the trade was marked under: no gap between the two.
        claim.end(&mut f);
        admitted
    }

    /// Claims a pair's four instruments for its admission; `None` if a running, unresolved,
    /// unwinding or admitting trade holds one of them. An unknown pair claims nothing (the
    /// admission reports it).
    fn claim_for_admission(&self, pair: u32) -> Option<AdmissionClaim<'_>> {
        let keys: Vec<(VenueIdx, String)> = match self.pairs.get().get(pair as usize) {
            Some(p) => [
                (&p.a.venue, &p.a.yes),
                (&p.a.venue, &p.a.no),
                (&p.b.venue, &p.b.yes),
                (&p.b.venue, &p.b.no),
            ]
            .into_iter()
            .filter_map(|(v, i)| Some((self.vidx(v)?, i.clone())))
            .collect(),
            None => Vec::new(),
        };
        let mut f = self.in_flight();
        let held = |k: &(VenueIdx, String)| {
            f.instruments.contains(k)
                || f.unresolved.contains(k)
                || f.unwinding.values().any(|keys| keys.contains(k))
                || f.admitting.values().any(|keys| keys.contains(k))
        };
        if keys.iter().any(held) || f.admitting.contains_key(&pair) {
            return None;
        }
        f.admitting.insert(pair, keys);
        Some(AdmissionClaim {
            engine: self,
            pair: Some(pair),
        })
    }

    fn unmark_in_flight(&self, t: &TradeRow) {
        let keys = self.trade_instruments(t);
        let mut f = self.in_flight();
        f.trades.remove(&t.id);
        for k in keys {
            f.instruments.remove(&k);
        }
    }

    /// Claims a trade that is not running for a sweep or a stream report to act on (looks
    /// up, books a ghost fill, unwinds): it counts as running until [`Self::release`], so
    /// the other drivers leave it alone. False if something else runs it. Its instruments are
    /// not marked busy: a claim never blocks new trades (as the settle sweep never did).
    pub(super) fn claim(&self, id: &str) -> bool {
        self.in_flight().trades.insert(id.to_string())
    }

    /// Marks a claimed trade's instruments busy while it unwinds: the unwind sells into
    /// their books, so no new trade is decided on them until [`Self::release`].
    pub(super) fn hold_for_unwind(&self, t: &TradeRow) {
        let keys = self.trade_instruments(t);
        self.in_flight().unwinding.insert(t.id.clone(), keys);
    }

    /// Ends a [`Self::claim`] (and a [`Self::hold_for_unwind`]: the pairs on its instruments
    /// are decided again).
    pub(super) fn release(&self, id: &str) {
        let held = {
            let mut f = self.in_flight();
            f.trades.remove(id);
            f.unwinding.remove(id)
        };
        if let Some(keys) = held {
            self.free_pairs_on(&keys);
        }
        // The settlement sweep skipped it meanwhile: let it look again.
        self.market.mark_settle_dirty();
    }

    /// Where freed pairs are sent from now on (see [`InFlight`]'s `freed`).
    pub(super) fn send_freed_pairs_to(&self, to: UnboundedSender<BTreeSet<u32>>) {
        self.in_flight().freed = Some(to);
    }

    /// Hands the pairs fed by `instruments` to whoever decides freed pairs: the books as they
    /// are now (the stream driver may have skipped a change while they were busy). Nobody
    /// listening (no streams) is fine: the REST loop decides on its next poll.
    fn free_pairs_on(&self, instruments: &[(VenueIdx, String)]) {
        let Some(to) = self.in_flight().freed.clone() else {
            return;
        };
        let pairs = self
            .market
            .pairs_fed_by(instruments.iter().map(|(vi, i)| (*vi, i.as_str())));
        if !pairs.is_empty() {
            let _ = to.send(pairs);
        }
    }

    /// Whether trade `id` is being run by its own future right now.
    pub(super) fn is_in_flight(&self, id: &str) -> bool {
        self.in_flight().trades.contains(id)
    }

    /// Whether any trade is running.
    pub(super) fn any_in_flight(&self) -> bool {
        !self.in_flight().trades.is_empty()
    }

    /// Re-reads which instruments trades still in flight hold (see [`InFlight::unresolved`]).
    /// Live mode calls it at start-up, after each trade's own run and after each
    /// reconciliation sweep, so a trade resolved elsewhere frees its instruments by the next.
    pub(super) fn refresh_unresolved(&self) -> Result<(), EngineError> {
        let open = self.ledger.trades_in(crate::store::state::IN_FLIGHT)?;
        let keys: BTreeSet<_> = open
            .iter()
            .flat_map(|t| self.trade_instruments(t))
            .collect();
        if !keys.is_empty() {
            tracing::debug!(trades = open.len(), "instruments held by unresolved trades");
        }
        self.in_flight().unresolved = keys;
        Ok(())
    }

    /// Whether a pair shares an instrument with a running or unresolved trade.
    pub(super) fn touches_busy(&self, p: &plugin_api::PairSpec) -> bool {
        let f = self.in_flight();
        if f.instruments.is_empty() && f.unresolved.is_empty() && f.unwinding.is_empty() {
            return false;
        }
        [
            (&p.a.venue, &p.a.yes),
            (&p.a.venue, &p.a.no),
            (&p.b.venue, &p.b.yes),
            (&p.b.venue, &p.b.no),
        ]
        .into_iter()
        .any(|(v, i)| {
            self.vidx(v).is_some_and(|vi| {
                let key = (vi, i.clone());
                f.instruments.contains(&key)
                    || f.unresolved.contains(&key)
                    || f.unwinding.values().any(|keys| keys.contains(&key))
            })
        })
    }

    /// Starts an admitted trade. Its way to the wire runs at once, inside the deciding
    /// driver's own poll: building both orders, the journal, both writes handed to the
    /// transport (a spawned task started there ~20 µs later, `started` in BENCHMARKS.md, and
    /// on whatever thread and core took it). At its first wait (the venues' answers) it
    /// becomes a task of its own, which the trade runner watches. Its instruments are
    /// already marked busy.
    ///
    /// The wakers its first poll registered are the driver's: the new task is polled once
    /// as it is spawned, which registers its own (every future re-registers on each poll),
    /// and the driver takes one spurious wake-up. A panic on that first poll is the trade's
    /// failure, as it is inside its task, not the driver's.
    pub(super) async fn start_trade(
        self: &Arc<Self>,
        trade: TradeRow,
        orders: Vec<OrderRow>,
        mut stamps: Stamps,
    ) -> Job {
        let e = self.clone();
        let mut run = Box::pin(async move {
            stamps.stamp(Stage::Started);
            e.run_trade(trade, orders, stamps).await
        });
        let first = std::future::poll_fn(|cx| {
            let polled =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.as_mut().poll(cx)));
            std::task::Poll::Ready(polled)
        })
        .await;
        Job(match first {
            Ok(std::task::Poll::Pending) => tokio::spawn(run),
            Ok(std::task::Poll::Ready(r)) => tokio::spawn(async move { r }),
            // The panic's message and place are already on stderr (the panic hook).
            Err(_) => tokio::spawn(async {
                Err(EngineError::Task(
                    "a trade panicked on its way to the wire".into(),
                ))
            }),
        })
    }

    /// Watches every trade the drivers start until they stop starting trades and the last one
    /// has ended. A ledger failure in any trade ends the run (the others are stopped with it,
    /// as the drivers are).
    pub(super) async fn run_trades(
        self: Arc<Self>,
        mut jobs: UnboundedReceiver<Job>,
    ) -> Result<(), EngineError> {
        let mut running = futures_util::stream::FuturesUnordered::new();
        loop {
            tokio::select! {
                job = jobs.recv() => match job {
                    Some(job) => running.push(job),
                    None => break,
                },
                Some(r) = running.next(), if !running.is_empty() => r?,
            }
        }
        while let Some(r) = running.next().await {
            r?;
        }
        Ok(())
    }

    async fn run_trade(
        &self,
        trade: TradeRow,
        orders: Vec<OrderRow>,
        stamps: Stamps,
    ) -> Result<(), EngineError> {
        let t = trade.clone();
        let r = self.execute(trade, orders, stamps).await;
        // Its instruments stay busy if it ended unresolved (a leg's outcome unknown).
        let refreshed = self.refresh_unresolved();
        self.unmark_in_flight(&t);
        refreshed?;
        // Its pairs are free again: decide them on the books as they are now.
        self.free_pairs_on(&self.trade_instruments(&t));
        // The settlement sweep skipped it while it ran: let it look again.
        self.market.mark_settle_dirty();
        r
    }
}
