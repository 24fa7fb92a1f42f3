//! "Did the order land?": the one place that decides an order's fate when its outcome is not
//! known (a lost answer, a crash, a late order), by asking the venue, never by re-sending.
//! Reconciliation, the executor and the stream all come here.

use plugin_api::{ErrorKind, OpResult, OrderStatus, Qty, VenueOp};

use super::books::VenueIdx;
use super::setup::{Engine, EngineError};
use crate::store::{OrderRow, OrderState};

impl Engine {
    pub(super) fn apply_status(o: &mut OrderRow, st: &OrderStatus, now: i64) {
        o.order_id = Some(st.order_id.clone());
        o.filled_qty = st.filled_qty;
        o.filled_notional = st.filled_notional;
        o.fees = st.fees;
        o.state = OrderState::from_venue(st.state);
        o.reason = st.reason.clone();
        o.updated_ms = now;
    }

    /// Decides the fate of an order whose outcome is not known (a lost answer, a crash) by
    /// asking the venue, never by re-sending. This is the one place that turns "the venue has
    /// no such order" into a final `not_found`: only once the order can no longer appear —
    /// it was never handed over (`planned`), or it is `sent` without the id a venue that keeps
    /// no client ids needs (journaled before any write, so none left), or the appear window
    /// since it was created has passed. Until then the order stays `unknown` and later sweeps
    /// ask again; one that appears is adopted.
    pub(super) async fn lookup(&self, o: &mut OrderRow, vi: VenueIdx) -> Result<(), EngineError> {
        let now = self.clock.now_ms();
        if o.state == OrderState::Planned {
            // Journaled with its trade, never handed to the venue (a crash came first).
            o.state = OrderState::NotFound;
            o.filled_qty = Qty::ZERO;
            o.reason = Some("never sent: the engine stopped before sending it".into());
            o.updated_ms = now;
            return Ok(());
        }
        // A `sent` order without a journaled id: on a venue that keeps no client ids the id
        // is journaled before any write, so it was never written.
        let never_written = o.state == OrderState::Sent && o.order_id.is_none();
        let op = VenueOp::GetOrder {
            order_id: o.order_id.clone(),
            client_order_id: Some(o.client_order_id.clone()),
            instrument: o.instrument.clone(),
        };
        let deadline = o
            .created_ms
            .saturating_add(self.cfg.engine.order_appear_window_ms as i64);
        match self.venues[vi].run(&op).await {
            Ok(OpResult::Order { order }) => {
                if o.state == OrderState::Unknown || o.state == OrderState::Submitted {
                    tracing::warn!(client_order_id = %o.client_order_id, order_id = %order.order_id, filled = %order.filled_qty, "order whose outcome was unknown found at the venue; adopting it");
                }
                Self::apply_status(o, &order, now);
                return Ok(());
            }
            Ok(other) => {
                o.reason = Some(format!("lookup answered {other:?}"));
            }
            Err(e) => {
                let not_found = matches!(e.kind(), Some(ErrorKind::Rejected { ref code }) if code.contains("not_found"));
                // A venue that keeps no client ids (Polymarket) cannot look up an order whose
                // id was never journaled; such an order was never written.
                let unaskable = matches!(e.kind(), Some(ErrorKind::InvalidInput));
                if never_written && unaskable {
                    o.state = OrderState::NotFound;
                    o.filled_qty = Qty::ZERO;
                    o.reason =
                        Some("never reached the venue: no write left before the stop".into());
                    o.updated_ms = now;
                    return Ok(());
                }
                if not_found && now >= deadline {
                    o.state = OrderState::NotFound;
                    o.filled_qty = Qty::ZERO;
                    o.reason = Some(format!(
                        "venue has no such order {} ms after it was created: it never arrived",
                        now - o.created_ms
                    ));
                    o.updated_ms = now;
                    return Ok(());
                }
                o.reason = Some(if not_found {
                    format!("not at the venue yet; it may still be booked until {deadline} (ms), looking again")
                } else {
                    format!("lookup failed: {e}")
                });
                if !not_found {
                    tracing::warn!(client_order_id = %o.client_order_id, error = %e, "order lookup failed");
                }
            }
        }
        o.state = OrderState::Unknown;
        o.updated_ms = now;
        self.error(
            Some(&o.trade_id),
            "executor",
            &format!(
                "order {} on {}: outcome unknown ({}); reconciling",
                o.client_order_id,
                o.venue,
                o.reason.as_deref().unwrap_or_default()
            ),
        );
        Ok(())
    }
}
