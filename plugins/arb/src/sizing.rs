//! Equal-share sizing across two ask ladders.
//!
//! Buying `q` shares on both legs costs a piecewise-linear amount: between two consecutive level
//! boundaries (of either ladder) both legs pay a fixed price per share. The walk visits those
//! segments in order with one cursor per ladder, keeping running sums of fully consumed levels,
//! so evaluating any `q` inside the current segment is O(1) and nothing is allocated.
//!
//! Within a segment profit is a line in `q` plus bounded rounding noise (fees are rounded per
//! fill, to a cent on Kalshi), so it is not monotone and its best point need not be an end:
//! [`search`] bounds the segment by budget, cash and minimum notional (all monotone), measures
//! the line's slope, and visits the few sizes near the end the slope points to where profit
//! can still beat the best so far.

use plugin_api::money::{MICRO, SHARE};
use plugin_api::{FeeModel, Level, Price, Qty, Rounding, Usd};

mod search;

/// µ$ of payout per [`Qty`] unit: a dollar per share is `q × PAYOUT_PER_UNIT` µ$ (1 while a
/// `Qty` counts micro-shares).
const PAYOUT_PER_UNIT: i64 = MICRO / SHARE;

/// One leg's trading rules, as the sizing needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegRules {
    /// Smallest price increment (for limit prices).
    pub tick: Price,
    /// Smallest order size.
    pub min_qty: Qty,
    /// Size increment.
    pub qty_step: Qty,
    /// Smallest order value (Polymarket: $1 for a marketable order).
    pub min_notional: Usd,
    /// Taker fee formula of the leg's venue.
    pub fee: FeeModel,
}

impl From<plugin_api::InstrumentRules> for LegRules {
    fn from(r: plugin_api::InstrumentRules) -> Self {
        LegRules {
            tick: r.tick,
            min_qty: r.min_qty,
            qty_step: r.qty_step,
            min_notional: r.min_notional,
            fee: r.taker_fee,
        }
    }
}

/// Caps and thresholds for one sizing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum total outlay, both legs and fees.
    pub budget: Usd,
    /// Cash available on venue A (leg A's cost and fee must fit).
    pub cash_a: Usd,
    /// Cash available on venue B.
    pub cash_b: Usd,
    /// ROI floor in parts per million.
    pub min_roi_ppm: i64,
    /// Safety buffer in basis points of the legs' cost.
    pub slippage_bps: i64,
}

/// The chosen size and its economics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sized {
    /// Shares per leg.
    pub qty: Qty,
    /// Worst (highest) price touched on leg A.
    pub worst_a: Price,
    /// Worst price touched on leg B.
    pub worst_b: Price,
    /// Leg A cost, fees excluded, each level rounded up.
    pub cost_a: Usd,
    /// Leg B cost, fees excluded.
    pub cost_b: Usd,
    /// Leg A taker fees, summed per level.
    pub fee_a: Usd,
    /// Leg B taker fees.
    pub fee_b: Usd,
    /// Slippage buffer subtracted from profit.
    pub buffer: Usd,
    /// `qty × $1 − costs − fees − buffer`.
    pub profit: Usd,
    /// `profit / (costs + fees)` in ppm, rounded down.
    pub roi_ppm: i64,
}

impl Sized {
    /// Total outlay: both legs and their fees.
    pub fn outlay(&self) -> Usd {
        self.cost_a + self.cost_b + self.fee_a + self.fee_b
    }
}

/// A position in one ladder: levels before `idx` are fully consumed.
pub(crate) struct Cursor<'a> {
    levels: &'a [Level],
    fee: FeeModel,
    idx: usize,
    /// Shares in fully consumed levels.
    before: i64,
    cost_before: i64,
    fee_before: i64,
}

impl<'a> Cursor<'a> {
    fn new(levels: &'a [Level], fee: FeeModel) -> Self {
        Cursor {
            levels,
            fee,
            idx: 0,
            before: 0,
            cost_before: 0,
            fee_before: 0,
        }
    }

    fn level(&self) -> Option<Level> {
        self.levels.get(self.idx).copied()
    }

    /// Cumulative shares at the end of the current level. Non-positive sizes count as empty.
    fn end(&self, l: Level) -> i64 {
        self.before + l.qty.0.max(0)
    }

    /// Cost and fee of buying `q` shares in total, `q` within the current level.
    fn at(&self, l: Level, q: i64) -> (i64, i64) {
        let part = Qty(q - self.before);
        (
            self.cost_before + notional_up(l.price, part),
            self.fee_before + self.fee.taker_fee(l.price, part).0,
        )
    }

    fn advance(&mut self, l: Level) {
        let q = Qty(l.qty.0.max(0));
        self.cost_before += notional_up(l.price, q);
        self.fee_before += self.fee.taker_fee(l.price, q).0;
        self.before += q.0;
        self.idx += 1;
    }
}

/// `price × qty` in µ$, rounded up, as the API's [`Qty::notional`] computes it, but in `i64`
/// when the product fits: the walk calls this per level and per candidate, and the API's
/// `i128` division costs several times more.
#[inline]
fn notional_up(price: Price, qty: Qty) -> i64 {
    match price.0.checked_mul(qty.0) {
        Some(x) => x.div_euclid(SHARE) + i64::from(x.rem_euclid(SHARE) != 0),
        None => qty.notional(price, Rounding::Up).0,
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn round_up(q: i64, step: i64) -> i64 {
    (q + step - 1).div_euclid(step) * step
}

fn round_down(q: i64, step: i64) -> i64 {
    q.div_euclid(step) * step
}

/// Finds the equal-share size that maximises profit subject to the limits, or `None` when no
/// size is both allowed by the rules and profitable at the ROI floor.
pub fn size(
    la: &[Level],
    lb: &[Level],
    ra: &LegRules,
    rb: &LegRules,
    lim: &Limits,
) -> Option<Sized> {
    // Both legs must trade the same count, so the size moves in the coarser common step.
    let sa = ra.qty_step.0.max(1);
    let sb = rb.qty_step.0.max(1);
    let step = sa / gcd(sa, sb) * sb;
    let q_min = round_up(ra.min_qty.0.max(rb.min_qty.0).max(step), step);

    let mut a = Cursor::new(la, ra.fee);
    let mut b = Cursor::new(lb, rb.fee);
    let mut best: Option<Sized> = None;

    while let (Some(lvl_a), Some(lvl_b)) = (a.level(), b.level()) {
        let (end_a, end_b) = (a.end(lvl_a), b.end(lvl_b));
        let start = a.before.max(b.before);
        let end = end_a.min(end_b);
        let lo = round_up(start + 1, step).max(q_min);
        let hi = round_down(end, step);
        if lo <= hi {
            let seg = search::Segment {
                a: &a,
                la: lvl_a,
                b: &b,
                lb: lvl_b,
                ra,
                rb,
                lim,
                step,
            };
            // Costs only grow with size, so once the budget binds nothing deeper fits.
            if seg.search(lo, hi, &mut best) {
                break;
            }
            // From here on every extra share costs at least $1 before fees, so deeper levels
            // (dearer still) cannot gain. This segment was still searched: its first
            // step-aligned size straddles the cheaper levels before it (e.g. 122 → 123 shares
            // when a level boundary sits at 122.43).
            if lvl_a.price.0 + lvl_b.price.0 >= Price::ONE.0 {
                break;
            }
        }
        if end_a == end {
            a.advance(lvl_a);
        }
        if end_b == end {
            b.advance(lvl_b);
        }
    }
    best.map(|s| Sized {
        roi_ppm: roi_ppm(s.profit.0, s.outlay().0),
        ..s
    })
}

/// Keeps `cand` if it meets the size rules and beats the best so far. Ties keep the smaller
/// size: the same profit for less capital at risk.
pub(crate) fn consider(best: &mut Option<Sized>, cand: Sized, ra: &LegRules, rb: &LegRules) {
    if cand.cost_a < ra.min_notional || cand.cost_b < rb.min_notional {
        return;
    }
    let better = |b: Sized| cand.profit > b.profit || (cand.profit == b.profit && cand.qty < b.qty);
    if best.is_none_or(better) {
        *best = Some(cand);
    }
}

/// `profit / outlay` in ppm, rounded down so a trade just under the floor never rounds up to
/// it; 0 without an outlay.
fn roi_ppm(profit: i64, outlay: i64) -> i64 {
    if outlay <= 0 {
        return 0;
    }
    // Floor division (`div_euclid` with a positive divisor), in i64 when it fits.
    match profit.checked_mul(1_000_000) {
        Some(x) => x.div_euclid(outlay),
        None => {
            plugin_api::money::div_round(profit as i128 * 1_000_000, outlay as i128, Rounding::Down)
                as i64
        }
    }
}

pub(crate) struct Eval {
    pub(crate) sized: Sized,
    cash_a: Usd,
    cash_b: Usd,
}

impl Eval {
    pub(crate) fn fits(&self, lim: &Limits) -> bool {
        self.sized.outlay() <= lim.budget && self.cash_a <= lim.cash_a && self.cash_b <= lim.cash_b
    }

    /// Profitable and at the ROI floor: `roi_ppm(profit, outlay) ≥ floor`, without dividing
    /// (the ROI is rounded down and the floor is whole ppm, so this is `profit·10⁶ ≥ floor·outlay`).
    pub(crate) fn meets_roi(&self, lim: &Limits) -> bool {
        let (profit, outlay) = (self.sized.profit.0, self.sized.outlay().0);
        profit > 0
            && if outlay > 0 {
                i128::from(profit) * 1_000_000 >= i128::from(lim.min_roi_ppm) * i128::from(outlay)
            } else {
                lim.min_roi_ppm <= 0
            }
    }
}

pub(crate) fn evaluate(
    a: &Cursor<'_>,
    la: Level,
    b: &Cursor<'_>,
    lb: Level,
    q: i64,
    lim: &Limits,
) -> Eval {
    let (cost_a, fee_a) = a.at(la, q);
    let (cost_b, fee_b) = b.at(lb, q);
    let outlay = cost_a + cost_b + fee_a + fee_b;
    // Rounded up: the buffer is a safety margin, so err on the side of less profit.
    let buffer = if lim.slippage_bps == 0 {
        0
    } else {
        plugin_api::money::div_round(
            (cost_a + cost_b) as i128 * lim.slippage_bps as i128,
            10_000,
            Rounding::Up,
        ) as i64
    };
    let profit = q * PAYOUT_PER_UNIT - outlay - buffer;
    Eval {
        sized: Sized {
            qty: Qty(q),
            worst_a: la.price,
            worst_b: lb.price,
            cost_a: Usd(cost_a),
            cost_b: Usd(cost_b),
            fee_a: Usd(fee_a),
            fee_b: Usd(fee_b),
            buffer: Usd(buffer),
            profit: Usd(profit),
            // Filled in for the chosen size only (a division the scan does not need).
            roi_ppm: 0,
        },
        cash_a: Usd(cost_a + fee_a),
        cash_b: Usd(cost_b + fee_b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_notional_matches_the_api() {
        for (p, q) in [
            (333_333, 333),
            (333_333, 3_330_000),
            (1, 1),
            (999_999, 99),
            (0, 5),
            (550_000, 1_000),
            (7, i64::MAX / 3),
        ] {
            let (p, q) = (Price(p), Qty(q));
            assert_eq!(
                notional_up(p, q),
                q.notional(p, Rounding::Up).0,
                "{p:?} {q:?}"
            );
        }
    }
}
