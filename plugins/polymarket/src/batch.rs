//! Batch endpoints (polymarket.md §3.5): `POST /orders` (at most 15 orders), `DELETE /orders`
//! (at most 1000 ids), `DELETE /cancel-all` and `DELETE /cancel-market-orders`.
//!
//! Each order of a batch succeeds or fails on its own. An order this plugin cannot build (off
//! tick, below minimum size) is refused locally and never sent; the rest go in one request.
//! An ambiguous batch submit (timeout, 5xx) is reported with every expected order id so the
//! operator can look each one up; nothing is re-sent.

use plugin_api::{
    CallCtx, ErrorKind, HttpRequest, HttpResponse, NotCancelled, OpResult, OrderRequest,
    PlaceOutcome, PluginError, PluginResult, Step,
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

use crate::clob::{CancelResp, PostOrderResp};
use crate::errors;
use crate::state::St;
use crate::venue::{check_order_id, check_token, done, is_2xx, parse_err, PolymarketVenue};

/// Most orders `POST /orders` takes (since 2025-08-21).
pub const MAX_BATCH_ORDERS: usize = 15;
/// Most ids `DELETE /orders` takes (since 2026-06-15).
pub const MAX_BATCH_CANCELS: usize = 1000;

/// What happened to one order of a batch before the answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Slot {
    /// Sent; its expected id and whether it is marketable (FOK/FAK).
    Sent { digest: String, market: bool },
    /// Refused before sending.
    Refused { error: String },
}

impl PolymarketVenue {
    pub(crate) fn place_batch(
        &self,
        orders: Vec<OrderRequest>,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        if orders.is_empty() || orders.len() > MAX_BATCH_ORDERS {
            return Err(PluginError::invalid(format!(
                "a batch holds 1 to {MAX_BATCH_ORDERS} orders, not {}",
                orders.len()
            )));
        }
        let mut seen = HashSet::new();
        for o in &orders {
            check_token(&o.instrument)?;
            if o.client_order_id.is_empty() || !seen.insert(o.client_order_id.as_str()) {
                return Err(PluginError::invalid(format!(
                    "client order id {:?} is empty or repeated in the batch",
                    o.client_order_id
                )));
            }
        }
        // Tick, neg-risk and minimum size are needed to sign: fetch what is missing first.
        if let Some(unknown) = orders.iter().find(|o| {
            self.cached_meta(&o.instrument)
                .is_some_and(|m| m.neg_risk.is_none())
        }) {
            let instrument = unknown.instrument.clone();
            let req = self.neg_risk_request(&instrument);
            return self.http(req, St::BatchNegRisk { orders, instrument });
        }
        if let Some(missing) = orders
            .iter()
            .find(|o| self.cached_meta(&o.instrument).is_none())
        {
            let instrument = missing.instrument.clone();
            let req = HttpRequest::new(
                "GET",
                self.clob(&format!("/book?token_id={instrument}")),
                "book",
            );
            return self.http(req, St::BatchMeta { orders, instrument });
        }
        let mut bodies = Vec::new();
        let mut slots = Vec::with_capacity(orders.len());
        for o in &orders {
            let built = self
                .cached_meta(&o.instrument)
                .ok_or_else(|| PluginError::new(ErrorKind::Internal, "market metadata vanished"))
                .and_then(|meta| self.build_order(o, &meta, ctx));
            match built {
                Ok((body, digest, otype)) => {
                    self.remember(&o.client_order_id, &digest);
                    bodies.push(body);
                    slots.push(Slot::Sent {
                        digest,
                        market: otype.is_market(),
                    });
                }
                Err(e) => slots.push(Slot::Refused {
                    error: e.to_string(),
                }),
            }
        }
        if bodies.is_empty() {
            return self.batch_result(&orders, &slots, Vec::new(), ctx);
        }
        let body = format!("[{}]", bodies.join(",")).into_bytes();
        let mut req = self.l2("POST", self.clob("/orders"), body, ctx, "order")?;
        req.idempotent = false;
        self.http(req, St::BatchSubmit { orders, slots })
    }

    pub(crate) fn batch_meta(
        &self,
        orders: Vec<OrderRequest>,
        instrument: &str,
        r: &HttpResponse,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        if !is_2xx(r) {
            return Err(self.fail("book (order metadata)", r));
        }
        let (_, m) =
            crate::book::parse_book(&r.body, instrument).map_err(|e| parse_err("book", e))?;
        self.store_meta(instrument, &m, None);
        self.place_batch(orders, ctx)
    }

    pub(crate) fn batch_neg_risk(
        &self,
        orders: Vec<OrderRequest>,
        instrument: &str,
        r: &HttpResponse,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        self.record_neg_risk(instrument, r)?;
        self.place_batch(orders, ctx)
    }

    pub(crate) fn batch_submitted(
        &self,
        orders: &[OrderRequest],
        slots: &[Slot],
        r: &HttpResponse,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let expected = || {
            orders
                .iter()
                .zip(slots)
                .filter_map(|(o, s)| match s {
                    Slot::Sent { digest, .. } => Some(format!("{} → {digest}", o.client_order_id)),
                    Slot::Refused { .. } => None,
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let unknown = |why: String| {
            PluginError::new(
                ErrorKind::Timeout,
                format!(
                    "batch outcome unknown ({why}); look up each expected order id before resending (client order → expected order id): {}",
                    expected()
                ),
            )
        };
        match r.status {
            200..=299 => {
                let resps: Vec<PostOrderResp> = serde_json::from_slice(&r.body)
                    .map_err(|e| unknown(format!("unreadable answer: {e}")))?;
                let sent = slots
                    .iter()
                    .filter(|s| matches!(s, Slot::Sent { .. }))
                    .count();
                if resps.len() != sent {
                    return Err(unknown(format!(
                        "{} answers for {sent} orders",
                        resps.len()
                    )));
                }
                // An element with neither an order id nor an error (or with unreadable amounts)
                // is a garbled answer for an order the venue may hold: unknown, not refused.
                let garbled: Vec<String> = orders
                    .iter()
                    .zip(slots)
                    .filter(|(_, s)| matches!(s, Slot::Sent { .. }))
                    .zip(&resps)
                    .filter(|((_, _), r)| {
                        let refused = r.success == Some(false)
                            || r.error_msg.as_deref().is_some_and(|m| !m.is_empty());
                        !refused
                            && (r.order_id.as_deref().unwrap_or("").is_empty()
                                || r.amounts().is_err())
                    })
                    .map(|((o, s), _)| match s {
                        Slot::Sent { digest, .. } => {
                            format!(
                                "client order {} (expected order id {digest})",
                                o.client_order_id
                            )
                        }
                        Slot::Refused { .. } => o.client_order_id.clone(),
                    })
                    .collect();
                if !garbled.is_empty() {
                    return Err(unknown(format!(
                        "unreadable answer for {}",
                        garbled.join(", ")
                    )));
                }
                self.batch_result(orders, slots, resps, ctx)
            }
            0 | 408 | 425 | 500 | 502 | 504 => Err(unknown(format!("HTTP {}", r.status))),
            _ => {
                let e = self.fail("post orders", r);
                if r.status == 503 && !matches!(e.kind, ErrorKind::Rejected { .. }) {
                    return Err(unknown("HTTP 503".into()));
                }
                Err(e)
            }
        }
    }

    fn batch_result(
        &self,
        orders: &[OrderRequest],
        slots: &[Slot],
        resps: Vec<PostOrderResp>,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let mut resps = resps.into_iter();
        let mut results = Vec::with_capacity(orders.len());
        for (o, slot) in orders.iter().zip(slots) {
            let outcome = match slot {
                Slot::Refused { error } => PlaceOutcome::Refused {
                    client_order_id: o.client_order_id.clone(),
                    error: error.clone(),
                },
                Slot::Sent { digest, market } => {
                    let resp = resps
                        .next()
                        .ok_or_else(|| PluginError::new(ErrorKind::Internal, "answer count"))?;
                    let msg = resp.error_msg.clone().unwrap_or_default();
                    let id = resp.order_id.clone().unwrap_or_default();
                    if resp.success != Some(false) && msg.is_empty() && !id.is_empty() {
                        if !id.eq_ignore_ascii_case(digest) {
                            tracing::warn!(expected = %digest, got = %id, "venue order id differs from the EIP-712 digest");
                            self.remember(&o.client_order_id, &id);
                        }
                        PlaceOutcome::Accepted {
                            order: self.placed_status(o, id, &resp, *market).map_err(|e| {
                                PluginError::new(ErrorKind::Internal, format!("checked above: {e}"))
                            })?,
                        }
                    } else {
                        let text = if msg.is_empty() {
                            "order refused without a message".to_string()
                        } else {
                            msg
                        };
                        PlaceOutcome::Refused {
                            client_order_id: o.client_order_id.clone(),
                            error: errors::rejection(&text).to_string(),
                        }
                    }
                }
            };
            results.push(outcome);
        }
        // Matched orders: notional and fee are the sums over their fills, read one order
        // after another. The matches happened during this call (`MATCH_WINDOW_S`).
        let after = ctx.now_ms.div_euclid(1000) - crate::venue::MATCH_WINDOW_S;
        self.batch_fills(results, 0, Some(after), ctx)
    }

    pub(crate) fn cancel_many(&self, order_ids: Vec<String>, ctx: &CallCtx) -> PluginResult<Step> {
        if order_ids.is_empty() || order_ids.len() > MAX_BATCH_CANCELS {
            return Err(PluginError::invalid(format!(
                "a batch cancel holds 1 to {MAX_BATCH_CANCELS} ids, not {}",
                order_ids.len()
            )));
        }
        for id in &order_ids {
            check_order_id(id)?;
        }
        let body = serde_json::to_vec(&order_ids)
            .map_err(|e| PluginError::new(ErrorKind::Internal, e.to_string()))?;
        let req = self.l2("DELETE", self.clob("/orders"), body, ctx, "cancel")?;
        self.http(req, St::CancelMany)
    }

    pub(crate) fn cancel_all(
        &self,
        instrument: Option<String>,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let req = match instrument {
            None => self.l2(
                "DELETE",
                self.clob("/cancel-all"),
                Vec::new(),
                ctx,
                "cancel",
            )?,
            Some(t) => {
                check_token(&t)?;
                let body = serde_json::json!({ "asset_id": t })
                    .to_string()
                    .into_bytes();
                self.l2(
                    "DELETE",
                    self.clob("/cancel-market-orders"),
                    body,
                    ctx,
                    "cancel",
                )?
            }
        };
        self.http(req, St::CancelMany)
    }

    pub(crate) fn cancelled(&self, r: &HttpResponse) -> PluginResult<Step> {
        if !is_2xx(r) {
            return Err(self.fail("cancel", r));
        }
        let c: CancelResp = serde_json::from_slice(&r.body).map_err(|e| parse_err("cancel", e))?;
        done(OpResult::Cancelled {
            cancelled: c.canceled,
            not_cancelled: c
                .not_canceled
                .into_iter()
                .map(|(order_id, v)| NotCancelled {
                    order_id,
                    reason: v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                })
                .collect(),
        })
    }
}
