//! Turning a strategy proposal into journal rows: trade id, client order ids, reservations.

use plugin_api::{client_order_id, Direction, PairSpec, Proposal, Qty, Rounding, Usd};

use crate::store::{state, Leg, OrderRow, OrderState, Purpose, Side, Tif, TradeRow};

/// What to reserve on each venue for `qty` shares: the leg's cost and its own fee, scaled.
fn leg_reservations(p: &Proposal, qty: Qty) -> (Usd, Usd) {
    let scale = |v: Usd| {
        Usd(((v.0 as i128 * qty.0 as i128 + p.qty.0 as i128 - 1) / p.qty.0.max(1) as i128) as i64)
    };
    let (fee_a, fee_b) = (p.fee_a, p.fee_b);
    // Reserve at the limit price, not the walked average: the fill may be worse by design.
    let at_limit = |lim: plugin_api::Price| qty.notional(lim, Rounding::Up);
    let a = scale(p.cost_a + fee_a).max(at_limit(p.limit_a) + scale(fee_a));
    let b = scale(p.cost_b + fee_b).max(at_limit(p.limit_b) + scale(fee_b));
    (a, b)
}

/// How a trade's direction is stored in the ledger.
pub(super) fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::YesANoB => "yes_a_no_b",
        Direction::NoAYesB => "no_a_yes_b",
    }
}

/// Journal rows for a trade of `qty` shares. The trade is written once, already SUBMITTING
/// with both legs `sent` (one transaction before either leg leaves): a stop before
/// a leg's write leaves it `sent`, which reconciliation resolves by asking the venue.
pub(super) fn build(
    trade_id: &str,
    pair: &PairSpec,
    p: &Proposal,
    qty: Qty,
    tif: Tif,
    now_ms: i64,
    day: &str,
) -> (TradeRow, Vec<OrderRow>) {
    let (inst_a, inst_b) = p.direction.instruments(pair);
    let (reserved_a, reserved_b) = leg_reservations(p, qty);
    let direction = direction_name(p.direction);
    let trade = TradeRow {
        id: trade_id.to_string(),
        pair_id: pair.id.clone(),
        direction: direction.into(),
        qty,
        state: state::SUBMITTING,
        venue_a: pair.a.venue.clone(),
        venue_b: pair.b.venue.clone(),
        instrument_a: inst_a.to_string(),
        instrument_b: inst_b.to_string(),
        limit_a: p.limit_a,
        limit_b: p.limit_b,
        expected_cost: reserved_a + reserved_b,
        expected_profit: Usd((p.profit.0 as i128 * qty.0 as i128 / p.qty.0.max(1) as i128) as i64),
        reserved_a,
        reserved_b,
        unwind_loss: Usd::ZERO,
        realized_pnl: None,
        note: "sending both legs".into(),
        day: day.to_string(),
        created_ms: now_ms,
        updated_ms: now_ms,
        settled_ms: None,
    };
    let order = |leg: Leg, venue: &str, inst: &str, price| OrderRow {
        client_order_id: client_order_id(trade_id, leg.letter(), 0),
        trade_id: trade_id.to_string(),
        leg,
        purpose: Purpose::Entry,
        venue: venue.to_string(),
        instrument: inst.to_string(),
        side: Side::Buy,
        price,
        qty,
        tif,
        state: OrderState::Sent,
        order_id: None,
        filled_qty: Qty::ZERO,
        filled_notional: Usd::ZERO,
        fees: Usd::ZERO,
        failed_qty: Qty::ZERO,
        reason: None,
        created_ms: now_ms,
        updated_ms: now_ms,
    };
    let orders = vec![
        order(Leg::A, &pair.a.venue, inst_a, p.limit_a),
        order(Leg::B, &pair.b.venue, inst_b, p.limit_b),
    ];
    (trade, orders)
}
