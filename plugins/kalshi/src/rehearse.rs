//! Rehearsed orders ([`plugin_api::VenueOp::Rehearse`]): the step a `PlaceOrder` begins with
//! (body, authentication headers, the step) built through the same code, for the host to read
//! and drop, so that code and its data are in the CPU's caches when a real order comes
//! (BENCHMARKS.md, "Rehearsed orders").
//!
//! What keeps it without effect: its signature header is a placeholder of a real one's length
//! (zero bytes in base64), never a signature: the prepared one (`presign`) is left for the next
//! real order, and none is made (an RSA signature is ~0.6 ms, and would be a real one). Nothing
//! is remembered or logged, and the host never sends a rehearsal's step (its step driver
//! refuses to).

use plugin_api::{CallCtx, OrderRequest, PluginError, PluginResult, Step};

use crate::book::Instrument;
use crate::{orders, KalshiVenue, Pending, PLACE_PATH};

/// Where a signature goes: 256 zero bytes in base64, the length of an RSA-2048 signature.
const PLACEHOLDER: &str =
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

impl KalshiVenue {
    /// [`plugin_api::VenueOp::Rehearse`] (see the module's doc).
    pub(crate) fn rehearse(&self, order: &OrderRequest, ctx: &CallCtx) -> PluginResult<Step> {
        let Some(signer) = self.signer.as_ref() else {
            // A public-data instance never places an order: nothing to keep warm.
            return Err(PluginError::unsupported("rehearse"));
        };
        let ins = Instrument::parse(&order.instrument)?;
        let (body, placed) = orders::place_body(order, &ins, ctx.now_ms)?;
        let headers = signer.headers_with(ctx.now_ms, PLACEHOLDER.to_string());
        let req = self.assemble("POST", PLACE_PATH, &[], Some(body), Some(headers), "write");
        self.http(req, &Pending::Place { placed })
    }
}
