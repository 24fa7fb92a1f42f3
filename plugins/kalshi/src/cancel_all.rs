//! Cancel-all (the operator's kill switch) on Kalshi: list resting orders
//! (`GET /portfolio/orders?status=resting`, paged), then cancel them in batches with
//! `DELETE /portfolio/events/orders/batched` (kalshi.md §3.3), reporting per order what was and
//! was not cancelled.
//!
//! Why not Kalshi's own `DELETE /portfolio/events/orders` (cancel everything, 204): it reports
//! nothing per order, cannot be limited to one market, and "may also hit orders placed in the
//! following minute" (kalshi.md §3.3) — it would cancel legs the executor sends right after.

use plugin_api::NotCancelled;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::book::is_url_safe_id;
use crate::errors::KalshiError;

/// Orders per batch cancel. Kalshi's batch size "scales with the write budget (old docs: 20)"
/// (kalshi.md §3.3); 20 is accepted on every tier.
pub const BATCH: usize = 20;

/// One resting order to cancel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Kalshi order id.
    pub order_id: String,
    /// Its market.
    pub ticker: String,
}

/// The resting orders of one page of `GET /portfolio/orders?status=resting`, skipping those in
/// `seen` (already tried in an earlier round).
pub fn resting_targets(page: &Value, seen: &[String]) -> Result<Vec<Target>, KalshiError> {
    let arr = page
        .get("orders")
        .and_then(Value::as_array)
        .ok_or_else(|| KalshiError::parse("orders", "no `orders` array"))?;
    let mut out = Vec::with_capacity(arr.len());
    for o in arr {
        let s = |k: &str| o.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        // The list was asked for resting orders; anything else is not ours to cancel.
        if s("status").is_some_and(|st| st != "resting") {
            continue;
        }
        let order_id = s("order_id").ok_or_else(|| KalshiError::parse("order", "no `order_id`"))?;
        if !is_url_safe_id(order_id) {
            return Err(KalshiError::parse(
                "order",
                format!("order id {order_id:?} is not a Kalshi order id"),
            ));
        }
        let ticker = s("ticker")
            .or_else(|| s("market_ticker"))
            .ok_or_else(|| KalshiError::parse("order", format!("{order_id}: no `ticker`")))?;
        if seen.iter().any(|id| id == order_id) {
            continue;
        }
        out.push(Target {
            order_id: order_id.to_string(),
            ticker: ticker.to_string(),
        });
    }
    Ok(out)
}

/// The body of `DELETE /portfolio/events/orders/batched`: `{"orders":[{order_id,
/// market_ticker}]}`.
pub fn batch_body(batch: &[Target]) -> Result<Vec<u8>, KalshiError> {
    let orders: Vec<Value> = batch
        .iter()
        .map(|t| json!({"order_id": t.order_id, "market_ticker": t.ticker}))
        .collect();
    serde_json::to_vec(&json!({ "orders": orders }))
        .map_err(|e| KalshiError::Input(format!("cannot encode batch cancel: {e}")))
}

/// Every order of `batch` as not cancelled, for one reason (the whole batch failed).
pub fn all_failed(batch: &[Target], reason: &str) -> Vec<NotCancelled> {
    batch
        .iter()
        .map(|t| NotCancelled {
            order_id: t.order_id.clone(),
            reason: reason.to_string(),
        })
        .collect()
}

/// Splits a batch answer (`{"orders":[{order_id, reduced_by, error?}]}`) into cancelled ids and
/// refusals. An order of the batch the answer does not mention is not counted as cancelled.
pub fn parse_batch(
    body: &Value,
    batch: &[Target],
) -> Result<(Vec<String>, Vec<NotCancelled>), KalshiError> {
    let arr = body
        .get("orders")
        .and_then(Value::as_array)
        .ok_or_else(|| KalshiError::parse("batch cancel", "no `orders` array"))?;
    let mut cancelled = Vec::new();
    let mut refused = Vec::new();
    for t in batch {
        let item = arr
            .iter()
            .find(|i| i.get("order_id").and_then(Value::as_str) == Some(t.order_id.as_str()));
        match item {
            None => refused.push(NotCancelled {
                order_id: t.order_id.clone(),
                reason: "the batch answer does not mention this order".into(),
            }),
            Some(i) => match i.get("error").filter(|e| !e.is_null()) {
                None => cancelled.push(t.order_id.clone()),
                Some(e) => {
                    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
                    let reason = match e {
                        Value::String(s) => s.clone(),
                        _ => format!("{}: {}", s("code"), s("message")),
                    };
                    refused.push(NotCancelled {
                        order_id: t.order_id.clone(),
                        reason,
                    });
                }
            },
        }
    }
    Ok((cancelled, refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str) -> Target {
        Target {
            order_id: id.into(),
            ticker: "T".into(),
        }
    }

    #[test]
    fn resting_orders_are_taken_and_seen_or_other_ones_skipped() {
        let page = json!({"orders": [
            {"order_id": "a", "ticker": "T", "status": "resting"},
            {"order_id": "b", "ticker": "U", "status": "executed"},
            {"order_id": "c", "market_ticker": "V"},
            {"order_id": "d", "ticker": "T", "status": "resting"}
        ]});
        let got = resting_targets(&page, &["d".into()]).unwrap();
        assert_eq!(
            got,
            vec![
                t("a"),
                Target {
                    order_id: "c".into(),
                    ticker: "V".into()
                }
            ]
        );
        assert!(resting_targets(&json!({"orders": [{"ticker": "T"}]}), &[]).is_err());
        assert!(resting_targets(
            &json!({"orders": [{"order_id": "../x", "ticker": "T"}]}),
            &[]
        )
        .is_err());
        assert!(resting_targets(&json!({}), &[]).is_err());
    }

    #[test]
    fn batch_answers_are_split_per_order() {
        let batch = [t("a"), t("b"), t("c")];
        let body: Value = serde_json::from_slice(&batch_body(&batch).unwrap()).unwrap();
        assert_eq!(
            body["orders"][1],
            json!({"order_id": "b", "market_ticker": "T"})
        );
        let answer = json!({"orders": [
            {"order_id": "a", "reduced_by": "5.00", "ts_ms": 1},
            {"order_id": "b", "error": {"code": "not_found", "message": "order is not resting"}}
        ]});
        let (ok, refused) = parse_batch(&answer, &batch).unwrap();
        assert_eq!(ok, vec!["a".to_string()]);
        assert_eq!(refused.len(), 2);
        assert_eq!(refused[0].order_id, "b");
        assert!(refused[0].reason.contains("not_found"));
        assert_eq!(refused[1].order_id, "c");
        assert!(parse_batch(&json!({}), &batch).is_err());
    }
}
