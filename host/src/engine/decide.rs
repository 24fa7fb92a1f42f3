//! Strategy evaluation: the pairs a change touched, with their books and the cash each venue
//! has free, go to the strategy in one call; its proposals go to the executor.

use abi_stable::std_types::RVec;
use plugin_api::ffi::FfiPairBooks;
use plugin_api::{Book, EvalCtx, Level, Proposal};
use std::sync::Arc;

use super::decision_latency::{Stage, Stamps};
use super::in_flight::Job;
use super::setup::{Engine, EngineError};

/// The four ladders of one pair, shared (not copied) with the strategy worker.
struct PairInput {
    pair: u32,
    ctx: EvalCtx,
    books: [Option<Arc<Book>>; 4],
}

fn asks(b: &Option<Arc<Book>>) -> &[Level] {
    b.as_deref().map(|b| b.asks.as_slice()).unwrap_or(&[])
}

impl Engine {
    /// Live runs: evaluates `pairs` and hands each trade the risk gate admits to the trade
    /// runner, timed from `stamps` (the deciding book). Both live drivers decide through it.
    /// False once the runner is gone (it failed): the driver ends with it.
    pub(super) async fn decide_and_hand_over(
        self: &Arc<Self>,
        pairs: &[u32],
        mut stamps: Stamps,
        trades: &tokio::sync::mpsc::UnboundedSender<Job>,
    ) -> Result<bool, EngineError> {
        let proposals = self.evaluate(pairs).await;
        stamps.stamp(Stage::Decided);
        for p in proposals {
            if trades.is_closed() {
                // The trade runner is gone (it failed): nothing more is started.
                return Ok(false);
            }
            // (It skips a pair the other driver started a trade on meanwhile.)
            if let Some((trade, orders)) = self.admit_to_run(p)? {
                let mut stamps = stamps;
                stamps.stamp(Stage::Admitted);
                // Its orders leave before the decision goes on (see `start_trade`).
                let job = self.start_trade(trade, orders, stamps).await;
                if trades.send(job).is_err() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Runs the strategy over `pairs` and returns its proposals.
    pub async fn evaluate(&self, pairs: &[u32]) -> Vec<Proposal> {
        let inputs: Vec<PairInput> = self.market.read(|m| {
            let (books, trading, off) = (m.books, m.trading, m.pair_off);
            let gate = self.gate.state();
            let table = self.pairs.get();
            let now_ms = self.clock.now_ms();
            pairs
                .iter()
                .filter_map(|&i| {
                    let p = table.get(i as usize)?;
                    if off.get(i as usize).is_some_and(Option::is_some) {
                        return None;
                    }
                    // A trade in flight on any of the pair's instruments has not yet taken
                    // its shares off the books: wait for it.
                    if self.touches_busy(p) {
                        return None;
                    }
                    let (va, vb) = (self.vidx(&p.a.venue)?, self.vidx(&p.b.venue)?);
                    if !trading[va] || !trading[vb] {
                        return None;
                    }
                    let avail = |v: &str| {
                        gate.cash.get(v).copied().unwrap_or_default()
                            - gate.reserved.get(v).copied().unwrap_or_default()
                    };
                    Some(PairInput {
                        pair: i,
                        ctx: EvalCtx {
                            now_ms,
                            available_a: avail(&p.a.venue),
                            available_b: avail(&p.b.venue),
                        },
                        books: books.pair(i),
                    })
                })
                .collect()
        });
        if inputs.is_empty() {
            return Vec::new();
        }
        let strategy = self
            .strategy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let r = strategy
            .call_async("evaluate", move |h| {
                let batch: Vec<FfiPairBooks<'_>> = inputs
                    .iter()
                    .map(|x| FfiPairBooks {
                        pair: x.pair,
                        ctx: x.ctx,
                        a_yes: asks(&x.books[0]).into(),
                        a_no: asks(&x.books[1]).into(),
                        b_yes: asks(&x.books[2]).into(),
                        b_no: asks(&x.books[3]).into(),
                    })
                    .collect();
                let mut out = RVec::new();
                h.evaluate(&batch, &mut out)?;
                Ok(out.into_vec())
            })
            .await;
        match r {
            Ok(v) => v,
            Err(e) => {
                self.error(None, "strategy", &e.to_string());
                Vec::new()
            }
        }
    }
}
