//! The risk gate: the risk plugins judge a proposal against a snapshot of the gate's totals,
//! and the gate reserves its cash only if the totals are still that snapshot (compared under
//! the gate's lock, with the reservation); if they moved meanwhile the plugins are asked again.
//! So concurrent proposals can never exceed a limit or spend one dollar twice, and no plugin
//! call is made under the lock: a policy that hangs holds only the proposal it was asked
//! about, never the trades that must release or unwind. The cash check is the gate's own, not
//! a plugin's: a config with no `[[risk]]` still cannot spend money a venue does not have.

use plugin_api::ffi::RiskHandle;
use plugin_api::{Mode, Qty, RiskDecision, RiskProposal, RiskReason, RiskSnapshot, Usd, VenueCash};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::plugins::Guarded;
use crate::store::{Ledger, LedgerError, OrderRow, TradeRow};

/// The gate's running totals.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct GateState {
    /// UTC day the counters belong to.
    pub day: String,
    /// Trades started today.
    pub trades_today: u32,
    /// Realized loss today (positive).
    pub loss_today: Usd,
    /// Last known cash per venue.
    pub cash: HashMap<String, Usd>,
    /// Cash reserved by in-flight trades per venue.
    pub reserved: HashMap<String, Usd>,
    /// Cost of open positions.
    pub open_exposure: Usd,
    /// Cost of unhedged legs.
    pub unhedged: Usd,
}

/// What the gate decided.
pub enum Admission {
    /// Approved and journaled; the (possibly resized) trade is returned.
    Approved(Box<TradeRow>, Vec<OrderRow>),
    /// Refused with every reason.
    Rejected(Vec<RiskReason>),
}

/// What the policies answered about one proposal.
struct Verdict {
    proposal: RiskProposal,
    reasons: Vec<RiskReason>,
    /// The smallest share count a policy resized to.
    resize: Option<Qty>,
}

/// A trade the strategy wants, before the gate sees it.
pub struct Candidate {
    /// The risk view.
    pub proposal: RiskProposal,
    /// Builds the journal rows for a given share count (after a resize).
    pub build: Box<dyn Fn(Qty) -> (TradeRow, Vec<OrderRow>) + Send>,
}

/// The gate.
pub struct RiskGate {
    state: Mutex<GateState>,
    policies: Vec<Arc<Guarded<RiskHandle>>>,
    ledger: Arc<Ledger>,
    mode: Mode,
}

/// Why the venues' available cash cannot pay for `needs` (one reason per short venue). A venue
/// whose balance was never read has none: unknown cash is not cash.
fn cash_shortfalls<'a>(
    s: &GateState,
    needs: impl IntoIterator<Item = (&'a str, Usd)>,
) -> Vec<RiskReason> {
    let mut per_venue: Vec<(&str, Usd)> = Vec::new();
    for (venue, amount) in needs {
        match per_venue.iter_mut().find(|(v, _)| *v == venue) {
            Some((_, total)) => *total += amount,
            None => per_venue.push((venue, amount)),
        }
    }
    per_venue
        .into_iter()
        .filter_map(|(venue, need)| {
            let Some(cash) = s.cash.get(venue) else {
                return Some(RiskReason::new(
                    "insufficient_cash",
                    format!("venue {venue}: balance unknown; no trade until it is read"),
                ));
            };
            let available = *cash - s.reserved.get(venue).copied().unwrap_or_default();
            (need > available).then(|| {
                RiskReason::new(
                    "insufficient_cash",
                    format!(
                        "venue {venue}: the trade needs ${} but ${} is available",
                        need.to_decimal(2),
                        available.to_decimal(2)
                    ),
                )
            })
        })
        .collect()
}

impl RiskGate {
    /// A gate over `policies`, starting from the ledger's counters for `day`.
    pub fn new(
        policies: Vec<Arc<Guarded<RiskHandle>>>,
        ledger: Arc<Ledger>,
        mode: Mode,
        day: &str,
    ) -> Result<RiskGate, LedgerError> {
        let d = ledger.daily(day)?;
        Ok(RiskGate {
            state: Mutex::new(GateState {
                day: day.to_string(),
                trades_today: d.trades,
                loss_today: d.loss,
                ..GateState::default()
            }),
            policies,
            ledger,
            mode,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the totals.
    pub fn state(&self) -> GateState {
        self.lock().clone()
    }

    /// Clears the day's counters after a ledger reset (cash and reservations stay: they are
    /// the venues' truth, not the ledger's).
    pub fn reset_counters(&self) {
        let mut s = self.lock();
        s.trades_today = 0;
        s.loss_today = Usd::ZERO;
    }

    /// Sets a venue's cash from a balance query.
    pub fn set_cash(&self, venue: &str, cash: Usd) {
        self.lock().cash.insert(venue.to_string(), cash);
    }

    /// Rolls the counters over at a new UTC day.
    pub fn roll_day(&self, day: &str) -> Result<(), LedgerError> {
        let mut s = self.lock();
        if s.day != day {
            let d = self.ledger.daily(day)?;
            s.day = day.to_string();
            s.trades_today = d.trades;
            s.loss_today = d.loss;
        }
        Ok(())
    }

    fn snapshot(&self, s: &GateState) -> RiskSnapshot {
        let mut cash: Vec<VenueCash> = s
            .cash
            .iter()
            .map(|(v, c)| VenueCash {
                venue: v.clone(),
                available: *c - s.reserved.get(v).copied().unwrap_or_default(),
            })
            .collect();
        cash.sort_by(|a, b| a.venue.cmp(&b.venue));
        RiskSnapshot {
            mode: self.mode,
            day: s.day.clone(),
            trades_today: s.trades_today,
            loss_today: s.loss_today,
            open_exposure: s.open_exposure,
            unhedged_exposure: s.unhedged,
            cash,
        }
    }

    /// Asks every policy about `proposal` against the current totals and drops the answers: a
    /// rehearsal (`engine/rehearse.rs`) keeping the check's code and data warm. Nothing is
    /// reserved, counted or logged; a policy's answer depends only on what it is given
    /// (plugin-api's `RiskPolicy::check`), so an unused one changes nothing.
    pub fn rehearse(&self, proposal: &RiskProposal) {
        let seen = self.snapshot(&self.lock());
        for p in &self.policies {
            let (snap, prop) = (seen.clone(), proposal.clone());
            let _ = p.call_here("check", move |h| h.check(&snap, &prop));
        }
    }

    /// Runs every policy; on approval reserves cash, counts the trade and journals it before
    /// returning. A policy that cannot be called rejects (fail closed).
    pub fn admit(&self, c: Candidate) -> Result<Admission, LedgerError> {
        let admission = self.reserve(c);
        if let Admission::Approved(trade, orders) = &admission {
            self.journal(trade, orders)?;
        }
        Ok(admission)
    }

    /// [`Self::admit`] without the journal: on approval the cash is reserved and the trade
    /// counted, atomically with the checks, and the caller must [`Self::journal`] the trade
    /// before any of it leaves (so it can add what it learns meanwhile, e.g. an order's id,
    /// in the same transaction).
    pub fn reserve(&self, c: Candidate) -> Admission {
        loop {
            let seen = self.snapshot(&self.lock());
            let verdict = self.ask_policies(&seen, c.proposal.clone());
            let mut s = self.lock();
            if self.snapshot(&s) == seen {
                return self.reserve_under_lock(&mut s, &c, verdict);
            }
            // Another trade reserved or released, a balance was read, or the day rolled
            // while the policies looked: their answer was about totals that are gone.
            tracing::debug!(pair = %c.proposal.pair, "risk totals moved during the check; asking again");
        }
    }

    /// Every policy's answer about `proposal` against `snapshot`; no lock is held (a policy
    /// that hangs holds only this proposal, see the module doc).
    fn ask_policies(&self, snapshot: &RiskSnapshot, proposal: RiskProposal) -> Verdict {
        let mut verdict = Verdict {
            proposal,
            reasons: Vec::new(),
            resize: None,
        };
        for p in &self.policies {
            let (snap, prop) = (snapshot.clone(), verdict.proposal.clone());
            match p.call_here("check", move |h| h.check(&snap, &prop)) {
                Ok(RiskDecision::Approve) => {}
                Ok(RiskDecision::Reject { reasons: r }) => verdict.reasons.extend(r),
                Ok(RiskDecision::Resize { qty, reason }) => {
                    tracing::info!(policy = p.instance(), qty = %qty, reason = %reason.message, "risk resize");
                    verdict.resize = Some(verdict.resize.map_or(qty, |q| q.min(qty)));
                }
                Err(e) => verdict
                    .reasons
                    .push(RiskReason::new("risk_plugin_error", e.to_string())),
            }
        }
        verdict
    }

    /// Applies the policies' verdict and the gate's own cash check, and reserves: under the
    /// gate's lock, the totals being the ones the policies judged.
    fn reserve_under_lock(&self, s: &mut GateState, c: &Candidate, verdict: Verdict) -> Admission {
        let Verdict {
            mut proposal,
            mut reasons,
            resize,
        } = verdict;
        if let Some(q) = resize {
            if q.0 <= 0 {
                reasons.push(RiskReason::new(
                    "resized_to_zero",
                    "a policy resized the trade to nothing",
                ));
            } else if q < proposal.qty {
                let scale = |v: Usd| {
                    Usd(((v.0 as i128 * q.0 as i128 + proposal.qty.0 as i128 - 1)
                        / proposal.qty.0 as i128) as i64)
                };
                proposal.cost_a = scale(proposal.cost_a);
                proposal.cost_b = scale(proposal.cost_b);
                proposal.profit =
                    Usd((proposal.profit.0 as i128 * q.0 as i128 / proposal.qty.0 as i128) as i64);
                proposal.qty = q;
            }
        }
        let (trade, orders) = (c.build)(proposal.qty);
        // The host's own check, with or without risk plugins: a trade must be payable from the
        // cash each venue has left after what in-flight trades reserved.
        reasons.extend(cash_shortfalls(
            s,
            [
                (trade.venue_a.as_str(), trade.reserved_a),
                (trade.venue_b.as_str(), trade.reserved_b),
            ],
        ));
        if !reasons.is_empty() {
            return Admission::Rejected(reasons);
        }
        *s.reserved.entry(trade.venue_a.clone()).or_default() += trade.reserved_a;
        *s.reserved.entry(trade.venue_b.clone()).or_default() += trade.reserved_b;
        s.trades_today += 1;
        s.open_exposure += trade.reserved_a + trade.reserved_b;
        Admission::Approved(Box::new(trade), orders)
    }

    /// Journals a reserved trade and its orders in one transaction. If that fails, the
    /// reservation is given back and nothing may be sent.
    pub fn journal(&self, trade: &TradeRow, orders: &[OrderRow]) -> Result<(), LedgerError> {
        let r = self.ledger.insert_planned(trade, orders);
        self.unreserve_unless_journaled(trade, r)
    }

    /// [`Self::journal`] committed without waiting for the disk
    /// (`Ledger::journal_intent_unsynced`): a live trade's, before its legs leave.
    pub fn journal_unsynced(
        &self,
        trade: &TradeRow,
        orders: &[OrderRow],
    ) -> Result<(), LedgerError> {
        let r = self.ledger.journal_intent_unsynced(trade, orders);
        self.unreserve_unless_journaled(trade, r)
    }

    fn unreserve_unless_journaled(
        &self,
        trade: &TradeRow,
        journaled: Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        if journaled.is_err() {
            self.unreserve(trade);
        }
        journaled
    }

    /// Gives back what [`Self::reserve`] took for a trade that was never journaled (and so
    /// never sent).
    fn unreserve(&self, trade: &TradeRow) {
        let mut s = self.lock();
        for (v, amount) in [
            (&trade.venue_a, trade.reserved_a),
            (&trade.venue_b, trade.reserved_b),
        ] {
            *s.reserved.entry(v.clone()).or_default() -= amount;
        }
        s.trades_today = s.trades_today.saturating_sub(1);
        s.open_exposure -= trade.reserved_a + trade.reserved_b;
    }

    /// Replaces a trade's reservation by what it actually spent.
    pub fn release(&self, venue_a: &str, venue_b: &str, reserved: (Usd, Usd), spent: (Usd, Usd)) {
        let mut s = self.lock();
        for (v, r, sp) in [
            (venue_a, reserved.0, spent.0),
            (venue_b, reserved.1, spent.1),
        ] {
            *s.reserved.entry(v.to_string()).or_default() -= r;
            *s.cash.entry(v.to_string()).or_default() -= sp;
        }
        s.open_exposure -= reserved.0 + reserved.1;
        s.open_exposure += spent.0 + spent.1;
    }

    /// Books a realized loss (unwind, settlement) against today's limit.
    pub fn add_loss(&self, loss: Usd) {
        if loss.0 > 0 {
            self.lock().loss_today += loss;
        }
    }

    /// Adjusts the unhedged exposure.
    pub fn add_unhedged(&self, delta: Usd) {
        self.lock().unhedged += delta;
    }

    /// Adjusts the open exposure (settlement removes it) and credits cash.
    pub fn settle(&self, exposure: Usd, credits: &[(String, Usd)]) {
        let mut s = self.lock();
        s.open_exposure -= exposure;
        for (v, c) in credits {
            *s.cash.entry(v.clone()).or_default() += *c;
        }
    }
}
