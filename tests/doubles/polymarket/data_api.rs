//! The Data API's `GET /closed-positions`, written from the venue's OpenAPI
//! (`docs.polymarket.com/api-spec/data-openapi.yaml`, "Get closed positions for a user"), and
//! the on-chain redemption that closes a position in a resolved market (polymarket.md §4:
//! the winning token pays 1.00, the loser 0).
//!
//! A position is closed when the wallet traded or redeemed the token and now holds none. Its
//! row: `totalBought` = shares bought, `avgPrice` = their average price, `realizedPnl` =
//! sales + redemption − cost (fees are charged in collateral at match time and not part of
//! it), `curPrice` = the payout once resolved (else 0.5), `timestamp` = the last trade or
//! redemption (unix s). Sorted as the spec's default, `realizedPnl` descending.

use axum::http::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

use super::verify::{Address, OrderSide};
use super::{err, fmt6, lock, now_s, Inner, PolymarketDouble, Reply};

/// What the Data API side of the double remembers.
#[derive(Default)]
pub(super) struct DataLog {
    /// Condition id → when it resolved (unix s).
    resolved_at: HashMap<String, u64>,
    /// Token → its index among its market's outcomes (order of `add_market`).
    outcome_index: HashMap<String, usize>,
    /// `(wallet, token)` → (shares redeemed µ, paid µ$, when).
    redeemed: HashMap<(Address, String), (i64, i64, u64)>,
}

impl DataLog {
    pub(super) fn on_add_market(&mut self, token: &str, index: usize) {
        self.outcome_index.entry(token.to_string()).or_insert(index);
    }

    pub(super) fn on_resolve(&mut self, condition_id: &str) {
        self.resolved_at
            .entry(condition_id.to_string())
            .or_insert_with(now_s);
    }
}

/// A number as the spec types it (`number`), from micro units.
fn num(micro: i64) -> Value {
    serde_json::from_str(&fmt6(micro)).unwrap_or(Value::Null)
}

impl PolymarketDouble {
    /// Redeems `address`'s tokens of a resolved market: each share of the winner pays $1.00,
    /// a loser's pay nothing; the position is then zero (closed).
    pub fn redeem(&self, address: &str, condition_id: &str) {
        let w = Address::parse(address).expect("address");
        let mut g = lock(&self.inner);
        let toks: Vec<(String, bool)> = g
            .markets
            .values()
            .filter(|m| m.seed.condition_id == condition_id)
            .map(|m| {
                (
                    m.seed.token_id.clone(),
                    m.winner.expect("redeem: not resolved"),
                )
            })
            .collect();
        for (token, wins) in toks {
            let held = g.positions.get(&(w, token.clone())).copied().unwrap_or(0);
            if held <= 0 {
                continue;
            }
            let paid = if wins { held } else { 0 };
            *g.balances.entry(w).or_default() += paid;
            g.positions.insert((w, token.clone()), 0);
            let e = g.data_log.redeemed.entry((w, token)).or_insert((0, 0, 0));
            e.0 += held;
            e.1 += paid;
            e.2 = now_s();
        }
    }
}

impl Inner {
    pub(super) fn closed_positions(&self, q: &HashMap<String, String>) -> Reply {
        let Some(user) = Address::parse(q.get("user").map(String::as_str).unwrap_or("")) else {
            return err(400, "invalid user");
        };
        let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
            None => 10,
            Some(Ok(l)) if l <= 50 => l,
            _ => return err(400, "limit must be 0..=50"),
        };
        let offset = match q.get("offset").map(|o| o.parse::<usize>()) {
            None => 0,
            Some(Ok(o)) if o <= 100_000 => o,
            _ => return err(400, "offset must be 0..=100000"),
        };
        let markets: Option<Vec<&str>> = q.get("market").map(|m| m.split(',').collect());
        // (token) → (bought µ, cost µ$, sold proceeds µ$, last trade s)
        let mut acts: BTreeMap<String, (i64, i64, i64, u64)> = BTreeMap::new();
        for t in self
            .trades
            .iter()
            .filter(|t| t.maker == user && !t.reverted)
        {
            let a = acts.entry(t.asset_id.clone()).or_default();
            let value = (t.price as i128 * t.size_micro as i128 / 1_000_000) as i64;
            if t.side == OrderSide::Buy {
                a.0 += t.size_micro;
                a.1 += value;
            } else {
                a.2 += value;
            }
            a.3 = a.3.max(t.match_time);
        }
        for (w, token) in self.data_log.redeemed.keys() {
            if *w == user {
                acts.entry(token.clone()).or_default();
            }
        }
        let mut rows: Vec<(i64, Value)> = Vec::new();
        for (token, (bought, cost, sold, last)) in acts {
            let Some(m) = self.markets.get(&token) else {
                continue;
            };
            let cid = &m.seed.condition_id;
            if markets
                .as_ref()
                .is_some_and(|ms| !ms.contains(&cid.as_str()))
            {
                continue;
            }
            if self
                .positions
                .get(&(user, token.clone()))
                .copied()
                .unwrap_or(0)
                != 0
            {
                continue; // still open
            }
            let (_, paid, at) = self
                .data_log
                .redeemed
                .get(&(user, token.clone()))
                .copied()
                .unwrap_or((0, 0, 0));
            let pnl = sold + paid - cost;
            let avg = if bought > 0 {
                ((cost as i128 * 1_000_000 + bought as i128 / 2) / bought as i128) as i64
            } else {
                0
            };
            let cur = match m.winner {
                Some(true) => 1_000_000,
                Some(false) => 0,
                None => 500_000,
            };
            let opposite = self
                .markets
                .values()
                .find(|o| o.seed.condition_id == *cid && o.seed.token_id != token);
            let index = self
                .data_log
                .outcome_index
                .get(&token)
                .copied()
                .unwrap_or(0);
            rows.push((
                pnl,
                json!({
                    "proxyWallet": user.to_checksum().to_ascii_lowercase(),
                    "asset": token,
                    "conditionId": cid,
                    "avgPrice": num(avg),
                    "totalBought": num(bought),
                    "realizedPnl": num(pnl),
                    "curPrice": num(cur),
                    "title": m.seed.question,
                    "slug": "double-market",
                    "icon": "",
                    "eventSlug": "double-event",
                    "outcome": m.seed.outcome,
                    "outcomeIndex": index,
                    "oppositeOutcome": opposite.map(|o| o.seed.outcome.clone()).unwrap_or_default(),
                    "oppositeAsset": opposite.map(|o| o.seed.token_id.clone()).unwrap_or_default(),
                    "endDate": "2026-12-31T00:00:00Z",
                    "timestamp": at.max(last).max(self.data_log.resolved_at.get(cid).copied().unwrap_or(0)),
                }),
            ));
        }
        rows.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1["asset"].as_str().cmp(&b.1["asset"].as_str()))
        });
        let page: Vec<Value> = rows
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|r| r.1)
            .collect();
        (StatusCode::OK, json!(page))
    }
}
