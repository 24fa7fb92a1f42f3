//! The best size inside one segment, where both legs fill at one fixed price each.
//!
//! Inside a segment every money figure is a straight line in the size `q` plus a bounded rounding
//! error: costs are `price × shares` rounded up to a micro-dollar, each leg's fee is its
//! schedule's exact value (`rate × shares + per-fill terms`, linear at a fixed price) rounded per
//! fill to the schedule's unit, with a floor at its minimum, and the slippage buffer is a rounded
//! fraction of the costs. So
//!
//! ```text
//! profit(q) = s·q + c − noise(q),   0 ≤ noise(q) < D
//! ```
//!
//! with `D` known from the two schedules' rounding units and minimums (see [`noise`]). Profit is
//! therefore not monotone in `q` (a Kalshi fee steps up a cent every ~0.6 contract at 50¢), so the
//! segment's ends are not enough: the optimum can sit a few shares below the budget-bound size,
//! where one leg's fee has just not stepped up. But it cannot sit far away: a size `j` units below
//! a size already seen earns at most `profit + D − s·j`, so once `s·j > D` plus the gap to the best
//! so far, nothing lower can win. The search measures `s` once per segment (on a virtual fill
//! far beyond the level, where the rounding error is negligible against the span), then visits
//! every step-aligned size inside that window, starting from the end where the trend points
//! (the feasible top when `s > 0`, the bottom otherwise).
//!
//! The ROI floor is the same shape: `margin(q) = profit·10⁶ − floor·outlay` is a line plus bounded
//! noise, and a size is allowed when `margin ≥ 0`. Where the margin is well below zero the scan
//! jumps straight to where the line could first cross zero again instead of stepping through.
//!
//! Budget and cash (`fits`) and the minimum notional are exactly monotone in `q` (costs and fees
//! never fall as a fill grows), so they bound the segment by binary search first.

use super::{consider, evaluate, Cursor, Eval, LegRules, Limits, Sized};
use plugin_api::{Level, Rounding};

/// The virtual span, in [`plugin_api::Qty`] units, over which a segment's slope is measured. Long
/// enough that the rounding error (a few cents) is negligible per unit, short enough that no
/// valid fee schedule overflows: 2³⁰ units at the most a schedule can charge per share (four
/// terms of `u32::MAX` ppm) stays far below `i64::MAX` micro-dollars.
const SPAN: i64 = 1 << 30;

/// The most sizes one segment's scan evaluates. Reached only when the segment's margin after
/// fees is within a hair of zero (then profit is flat up to a cent of rounding across many
/// shares and the window spans the whole segment); the sizes closest to the trend's end are
/// visited first, so what the cap can lose is bounded by the rounding noise `D` (about a cent).
const MAX_SCAN: u32 = 1024;

/// The two legs' current levels and everything a segment's evaluation needs.
pub(crate) struct Segment<'s, 'a> {
    pub a: &'s Cursor<'a>,
    pub la: Level,
    pub b: &'s Cursor<'a>,
    pub lb: Level,
    pub ra: &'s LegRules,
    pub rb: &'s LegRules,
    pub lim: &'s Limits,
    /// The common size step; `lo` and `hi` given to [`Segment::search`] are multiples of it.
    pub step: i64,
}

/// Bounds on the per-unit slope of profit and of the ROI margin inside one segment, as
/// numerators over [`SPAN`].
struct Slopes {
    profit_lb: i128,
    profit_ub: i128,
    margin_lb: i128,
    margin_ub: i128,
}

impl Segment<'_, '_> {
    fn eval(&self, q: i64) -> Eval {
        evaluate(self.a, self.la, self.b, self.lb, q, self.lim)
    }

    /// `profit·10⁶ − floor·outlay`: non-negative exactly when the ROI floor is met (the ROI is
    /// `profit·10⁶ / outlay` rounded down, compared with an integer floor).
    fn margin(&self, e: &Eval) -> i128 {
        i128::from(e.sized.profit.0) * 1_000_000
            - i128::from(self.lim.min_roi_ppm) * i128::from(e.sized.outlay().0)
    }

    fn notional_ok(&self, e: &Eval) -> bool {
        e.sized.cost_a >= self.ra.min_notional && e.sized.cost_b >= self.rb.min_notional
    }

    /// An upper bound on how far apart the rounding errors of profit at two sizes of this
    /// segment can be, in micro-dollars.
    fn noise(&self) -> i64 {
        // A fee rounded to unit `u` is within `[0, u)` of its exact value when rounded up,
        // `(−u, 0]` down, `[−u/2, u/2]` half-up; a minimum `m` can lift it to at most `m`
        // above (the exact fee is positive). The spread is what matters.
        let fee = |r: &LegRules| {
            let rd = r.fee.rounding();
            let (u, m) = (i64::from(rd.unit_micro), i64::from(rd.minimum_micro));
            let (lo, hi) = match rd.mode {
                Rounding::Up => (0, u),
                Rounding::Down => (-u, 0),
                Rounding::HalfUp => (-(u / 2) - 1, u / 2 + 1),
            };
            hi.max(m) - lo
        };
        // Each leg's cost rounds up by under 1 µ$; the buffer rounds up by under 1 µ$ on top of
        // carrying at most 100 % of the costs' error. One more for good measure.
        fee(self.ra) + fee(self.rb) + 2 + 3 + 1
    }

    /// Measures the slopes between `q` (evaluated as `e0`) and `q + SPAN` (a virtual fill: the evaluation is a
    /// formula of the level's price, valid beyond the level's depth). `None` if that would
    /// overflow, and then the caller scans without a slope.
    fn slopes(&self, q: i64, e0: &Eval, d: i64) -> Option<Slopes> {
        let e1 = self.eval(q.checked_add(SPAN)?);
        let dp = i128::from(e1.sized.profit.0) - i128::from(e0.sized.profit.0);
        let dm = self.margin(&e1) - self.margin(e0);
        let d = i128::from(d);
        let dm_noise = d * (1_000_000 + i128::from(self.lim.min_roi_ppm));
        Some(Slopes {
            profit_lb: dp - d,
            profit_ub: dp + d,
            margin_lb: dm - dm_noise,
            margin_ub: dm + dm_noise,
        })
    }

    /// Considers every size of `[lo, hi]` (step-aligned, inside this segment) that could beat
    /// `best`, and updates it. Returns whether budget or cash binds in the segment, so that no
    /// deeper size fits either.
    pub(crate) fn search(&self, lo: i64, hi: i64, best: &mut Option<Sized>) -> bool {
        let lim = self.lim;
        let at_hi = self.eval(hi);
        let binds = !at_hi.fits(lim);
        let (top, at_top) = if binds {
            if !self.eval(lo).fits(lim) {
                return true;
            }
            let top = self.last(lo, hi, |e| e.fits(lim));
            (top, self.eval(top))
        } else {
            (hi, at_hi)
        };
        // Levels already consumed count towards the minimum notional, so once both legs'
        // earlier levels meet it no evaluation is needed.
        let met = |c: &Cursor<'_>, r: &LegRules| c.cost_before >= r.min_notional.0;
        let bottom =
            if (met(self.a, self.ra) && met(self.b, self.rb)) || self.notional_ok(&self.eval(lo)) {
                lo
            } else if self.notional_ok(&at_top) {
                self.last(lo, top, |e| !self.notional_ok(e)) + self.step
            } else {
                return binds;
            };
        let d = self.noise();
        let scan = Scan {
            seg: self,
            d: i128::from(d),
            d_margin: i128::from(d) * (1_000_000 + i128::from(lim.min_roi_ppm)),
            bottom,
            top,
        };
        match self.slopes(top, &at_top, d) {
            Some(s) if s.profit_lb > 0 => scan.down(at_top, &s, best),
            s => scan.up(s.as_ref(), best),
        }
        binds
    }

    /// The largest step-aligned `q` in `[lo, hi]` with `ok(q)`, given `ok(lo)` and that `ok`
    /// is monotone (true then false).
    fn last(&self, lo: i64, hi: i64, ok: impl Fn(&Eval) -> bool) -> i64 {
        let (mut good, mut bad) = (lo, hi + self.step);
        while bad - good > self.step {
            let mid = good + (bad - good) / self.step / 2 * self.step;
            if ok(&self.eval(mid)) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        good
    }
}

/// One segment's scan over `[bottom, top]`, all of it within budget, cash and notional.
struct Scan<'s, 'a, 'b> {
    seg: &'b Segment<'s, 'a>,
    /// Rounding noise bound of profit (µ$) and of the ROI margin.
    d: i128,
    d_margin: i128,
    bottom: i64,
    top: i64,
}

impl Scan<'_, '_, '_> {
    /// What a size must earn to replace `best`: as much (a tie at a smaller size wins, and the
    /// downward scan meets smaller sizes last), or anything positive when there is no best.
    fn threshold(best: &Option<Sized>) -> i128 {
        best.map_or(1, |b| i128::from(b.profit.0))
    }

    /// Evaluates `q` and keeps it if allowed; returns its profit and ROI margin.
    fn visit(&self, q: i64, best: &mut Option<Sized>) -> (i128, i128) {
        self.keep(self.seg.eval(q), best)
    }

    /// Keeps an evaluated size if allowed; returns its profit and ROI margin.
    fn keep(&self, e: Eval, best: &mut Option<Sized>) -> (i128, i128) {
        let seg = self.seg;
        if e.meets_roi(seg.lim) {
            consider(best, e.sized, seg.ra, seg.rb);
        }
        (i128::from(e.sized.profit.0), seg.margin(&e))
    }

    /// Profit rises along the segment: from the top down, until nothing lower can reach the
    /// best. From a visited size `q`, a size `j` units lower earns at most
    /// `profit(q) + D − profit_lb·j/SPAN` and has a margin of at most
    /// `margin(q) + D_m − margin_lb·j/SPAN`.
    fn down(&self, at_top: Eval, s: &Slopes, best: &mut Option<Sized>) {
        let step = self.seg.step;
        let mut q = self.top;
        let mut next = Some(at_top);
        for _ in 0..MAX_SCAN {
            let (profit, margin) = match next.take() {
                Some(e) => self.keep(e, best),
                None => self.visit(q, best),
            };
            let room = profit + self.d - Self::threshold(best);
            if room < 0 {
                break;
            }
            // The farthest a candidate can be (profit) and the nearest it can be (margin).
            let j_max = room * i128::from(SPAN) / s.profit_lb;
            let Some(j_min) = nearest(margin + self.d_margin, -s.margin_lb) else {
                break;
            };
            let j = round_up(j_min.max(1), step);
            if j > j_max || q - self.bottom < j as i64 {
                break;
            }
            q -= j as i64;
        }
    }

    /// Profit falls or is flat along the segment: from the bottom up. A size `j` units higher
    /// earns at most `profit(q) + D + profit_ub·j/SPAN`. Without a measured slope (overflow) the
    /// scan runs to the top.
    fn up(&self, s: Option<&Slopes>, best: &mut Option<Sized>) {
        let step = self.seg.step;
        let mut q = self.bottom;
        for _ in 0..MAX_SCAN {
            let (profit, margin) = self.visit(q, best);
            let room = profit + self.d - Self::threshold(best);
            let left = i128::from(self.top - q);
            let (j_max, j_min) = match s {
                Some(s) => {
                    let j_max = if s.profit_ub < 0 {
                        if room < 0 {
                            break;
                        }
                        room * i128::from(SPAN) / -s.profit_ub
                    } else {
                        // Rising, if at all, by less than the measurement can tell: stop only
                        // when even the top could not reach the best.
                        if room * i128::from(SPAN) + s.profit_ub * left < 0 {
                            break;
                        }
                        left
                    };
                    let Some(j_min) = nearest(margin + self.d_margin, s.margin_ub) else {
                        break;
                    };
                    (j_max, j_min)
                }
                None => (left, 1),
            };
            let j = round_up(j_min.max(1), step);
            if j > j_max || j > left {
                break;
            }
            q += j as i64;
        }
    }
}

/// The least distance `j` (in units) at which a margin bounded by `head + rate·j/SPAN` can be
/// non-negative: 0 when `head ≥ 0`, `None` when it never can (`rate ≤ 0`).
fn nearest(head: i128, rate: i128) -> Option<i128> {
    if head >= 0 {
        Some(0)
    } else if rate <= 0 {
        None
    } else {
        let need = -head * i128::from(SPAN);
        Some((need + rate - 1) / rate)
    }
}

fn round_up(j: i128, step: i64) -> i128 {
    let step = i128::from(step);
    (j + step - 1) / step * step
}
