//! Rehearsed orders ([`plugin_api::VenueOp::Rehearse`]): the step a `PlaceOrder` begins with,
//! built through the same code (amounts, EIP-712 digest, body, L2 headers, the step; not the
//! signature), for the host to read and drop, so that code and its data are in the CPU's caches
//! when a real order comes. An order built cold took several times its warm time on the way
//! to the wire (BENCHMARKS.md, "Rehearsed orders").
//!
//! What keeps it without effect:
//! - the order is not signed: zeros stand where the signature goes, so the venue would refuse
//!   it, the key is not used, and the account's prepared nonce (`nonce`) is left for the next
//!   real order (the signature itself, with a prepared nonce, is two scalar multiplications;
//!   rehearsing it with a nonce of its own cost ~40 µs of CPU per rehearsal and gained nothing
//!   measurable);
//! - nothing is remembered (no client id → digest entry), logged or fetched: rules not yet
//!   cached mean nothing to rehearse (`Prepared`);
//! - the host never sends a rehearsal's step (its step driver refuses to).

use plugin_api::{CallCtx, OpResult, OrderRequest, PluginError, PluginResult, Step};

use crate::state::St;
use crate::venue::PolymarketVenue;

impl PolymarketVenue {
    /// [`plugin_api::VenueOp::Rehearse`] (see the module's doc).
    pub(crate) fn rehearse(&self, order: &OrderRequest, ctx: &CallCtx) -> PluginResult<Step> {
        if self.settings().wallet.is_none() {
            // A public-data instance never places an order: nothing to keep warm.
            return Err(PluginError::unsupported("rehearse"));
        }
        let nothing = || {
            Ok(Step::Done {
                result: OpResult::Prepared,
            })
        };
        // Credentials, the market's rules or its exchange not known yet: learning them would
        // be a request, so there is nothing to rehearse until a real order has.
        if self.creds().is_none() {
            return nothing();
        }
        let Some(meta) = self
            .cached_meta(&order.instrument)
            .filter(|m| m.neg_risk.is_some())
        else {
            return nothing();
        };
        let (body, digest, otype) = self.build_order_signed_by(order, &meta, ctx, None)?;
        let req = self
            .l2("POST", self.clob("/order"), body.into_bytes(), ctx, "order")?
            .expect_order_id(digest.clone());
        self.http(
            req,
            St::PlaceSubmit {
                order: order.clone(),
                digest,
                market: otype.is_market(),
                tick_retry: false,
            },
        )
    }
}
