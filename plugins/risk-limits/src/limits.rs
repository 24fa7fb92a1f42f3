//! The checks themselves: pure functions of settings, snapshot and proposal.
//!
//! Every limit is inclusive: a value exactly at the limit passes, anything beyond fails. All
//! checks run every time so a rejection lists every reason at once, not just the first.

use plugin_api::money::SHARE;
use plugin_api::{Qty, RiskDecision, RiskProposal, RiskReason, RiskSnapshot, Usd};

use crate::settings::LimitSettings;

/// Stable reason codes (metrics and alerts key on them; never rename).
pub mod codes {
    /// Realized loss today is over the daily loss limit.
    pub const DAILY_LOSS_LIMIT: &str = "daily_loss_limit";
    /// This trade would exceed the daily trade count.
    pub const MAX_DAILY_TRADES: &str = "max_daily_trades";
    /// The trade costs more than the position size limit.
    pub const MAX_POSITION_SIZE: &str = "max_position_size";
    /// The trade's expected ROI is under the minimum.
    pub const MIN_ROI: &str = "min_roi";
    /// A leg costs more than its venue's available cash.
    pub const INSUFFICIENT_BALANCE: &str = "insufficient_balance";
    /// Unhedged exposure is over its limit.
    pub const MAX_UNHEDGED_EXPOSURE: &str = "max_unhedged_exposure";
}

/// Headroom kept when shrinking a trade to the position limit. The resized trade is priced by
/// scaling the average cost per share, which is exact for prices (a shorter walk only gets
/// cheaper per share) but not for fees: Kalshi rounds each fill's fee up to the cent, so a
/// smaller order can cost up to a cent more per leg than its share of the larger one.
const RESIZE_HEADROOM: Usd = Usd(20_000);

fn reason(code: &str, message: String) -> RiskReason {
    RiskReason::new(code, message)
}

/// A limit that stops trading for the rest of the day (or until exposure is reduced), so the
/// host alerts operators.
fn halt(code: &str, message: String) -> RiskReason {
    RiskReason::halting(code, message)
}

/// Formats parts per million as a percentage with four decimals, exactly.
fn pct(ppm: i64) -> String {
    let sign = if ppm < 0 { "-" } else { "" };
    let a = ppm.unsigned_abs();
    format!("{sign}{}.{:04}%", a / 10_000, a % 10_000)
}

/// Cash reported for `venue`, if any.
fn cash_of(snapshot: &RiskSnapshot, venue: &str) -> Option<Usd> {
    snapshot
        .cash
        .iter()
        .find(|c| c.venue == venue)
        .map(|c| c.available)
}

/// Every limit that does not depend on the trade's size. The position limit is separate
/// because it alone can be cured by shrinking the trade.
fn fixed_limits(s: &LimitSettings, snap: &RiskSnapshot, p: &RiskProposal) -> Vec<RiskReason> {
    let mut out = Vec::new();
    if snap.loss_today > s.daily_loss_limit {
        out.push(halt(
            codes::DAILY_LOSS_LIMIT,
            format!(
                "loss today ${} (unwind losses included) is over the daily loss limit ${}",
                snap.loss_today, s.daily_loss_limit
            ),
        ));
    }
    // `trades_today` counts trades already started; this one would be the next.
    let this_trade = u64::from(snap.trades_today) + 1;
    if this_trade > u64::from(s.max_daily_trades) {
        out.push(halt(
            codes::MAX_DAILY_TRADES,
            format!(
                "this would be trade {this_trade} today, over the limit of {} trades per day",
                s.max_daily_trades
            ),
        ));
    }
    if p.roi_ppm < s.min_roi_ppm {
        out.push(reason(
            codes::MIN_ROI,
            format!(
                "expected ROI {} is under the minimum {}",
                pct(p.roi_ppm),
                pct(s.min_roi_ppm)
            ),
        ));
    }
    if snap.unhedged_exposure > s.max_unhedged_exposure {
        out.push(halt(
            codes::MAX_UNHEDGED_EXPOSURE,
            format!(
                "unhedged exposure ${} is over the limit ${}; no new trades until it is reduced",
                snap.unhedged_exposure, s.max_unhedged_exposure
            ),
        ));
    }
    balance(snap, p, &mut out);
    out
}

/// Each leg's cost (fees included) must fit its venue's available cash. Two legs on one venue
/// must fit together.
fn balance(snap: &RiskSnapshot, p: &RiskProposal, out: &mut Vec<RiskReason>) {
    let legs: &[(&str, Usd, &str)] = if p.venue_a == p.venue_b {
        &[(
            p.venue_a.as_str(),
            Usd(p.cost_a.0 + p.cost_b.0),
            "both legs",
        )]
    } else {
        &[
            (p.venue_a.as_str(), p.cost_a, "leg A"),
            (p.venue_b.as_str(), p.cost_b, "leg B"),
        ]
    };
    for &(venue, need, what) in legs {
        match cash_of(snap, venue) {
            Some(have) if need <= have => {}
            Some(have) => out.push(reason(
                codes::INSUFFICIENT_BALANCE,
                format!("{what} costs ${need} but {venue} has ${have} available"),
            )),
            None => out.push(reason(
                codes::INSUFFICIENT_BALANCE,
                format!("{what} costs ${need} but no cash is reported for venue {venue}"),
            )),
        }
    }
}

/// The largest whole-share size whose proportionally scaled cost, plus headroom for fee
/// rounding, fits `max`. Whole shares because the policy does not know the instruments' steps
/// and a whole share is valid on every venue; the host re-prices the smaller trade and must
/// still enforce each venue's minimum size.
fn resized_qty(qty: Qty, total: Usd, max: Usd) -> Option<Qty> {
    let room = max.0 - RESIZE_HEADROOM.0;
    if qty.0 <= 0 || total.0 <= 0 || room <= 0 {
        return None;
    }
    let q = (qty.0 as i128 * room as i128 / total.0 as i128) as i64;
    let whole = q / SHARE * SHARE;
    (whole >= SHARE && whole < qty.0).then_some(Qty(whole))
}

/// Judges one proposal against every limit.
pub fn check(s: &LimitSettings, snap: &RiskSnapshot, p: &RiskProposal) -> RiskDecision {
    let mut reasons = fixed_limits(s, snap, p);
    let total = p.total_cost();
    if total <= s.max_position_size {
        return if reasons.is_empty() {
            RiskDecision::Approve
        } else {
            RiskDecision::Reject { reasons }
        };
    }
    let resized = resized_qty(p.qty, total, s.max_position_size);
    let size_reason = |detail: String| {
        reason(
            codes::MAX_POSITION_SIZE,
            format!(
                "trade costs ${total} (fees included), over the position limit ${}{detail}",
                s.max_position_size
            ),
        )
    };
    match resized {
        // Shrinking cures only the size; any other objection still rejects outright.
        Some(qty) if reasons.is_empty() => RiskDecision::Resize {
            qty,
            reason: size_reason(format!("; resized from {} to {} shares", p.qty, qty)),
        },
        _ => {
            let detail = if resized.is_none() {
                "; cannot shrink to a whole share within it".to_string()
            } else {
                String::new()
            };
            reasons.push(size_reason(detail));
            RiskDecision::Reject { reasons }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_exact() {
        assert_eq!(pct(10_000), "1.0000%");
        assert_eq!(pct(9_999), "0.9999%");
        assert_eq!(pct(-5_000), "-0.5000%");
        assert_eq!(pct(1_234_567), "123.4567%");
    }

    #[test]
    fn resize_is_proportional_with_headroom() {
        // $1500 for 100 shares against $1000: room 999.98 → 66.665 shares → 66 whole shares.
        assert_eq!(
            resized_qty(Qty::shares(100), Usd::dollars(1500), Usd::dollars(1000)),
            Some(Qty::shares(66))
        );
        // Not even one share fits.
        assert_eq!(
            resized_qty(Qty::shares(2), Usd::dollars(10), Usd::dollars(1)),
            None
        );
        assert_eq!(
            resized_qty(Qty::shares(2), Usd::dollars(10), Usd::ZERO),
            None
        );
    }
}
