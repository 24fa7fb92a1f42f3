//! Cash and positions of the simulated account.

use std::collections::BTreeMap;

use plugin_api::{Balance, Position, Qty, Usd};

/// Shares held in one instrument.
#[derive(Clone, Debug, Default)]
pub(crate) struct Holding {
    pub qty: Qty,
    /// Paid for them, fees excluded.
    pub cost: Usd,
    /// Held back for resting sell orders.
    pub reserved: Qty,
}

/// The account. A BTreeMap keeps position listings in a stable order (determinism).
#[derive(Debug)]
pub(crate) struct Account {
    pub cash: Usd,
    /// Cash held back for resting buy orders.
    pub reserved: Usd,
    pub holdings: BTreeMap<String, Holding>,
}

impl Account {
    pub fn new(cash: Usd) -> Self {
        Account {
            cash,
            reserved: Usd::ZERO,
            holdings: BTreeMap::new(),
        }
    }

    pub fn available(&self) -> Usd {
        self.cash - self.reserved
    }

    pub fn balance(&self) -> Balance {
        Balance {
            available: self.available(),
            total: self.cash,
        }
    }

    /// Shares that may be sold now.
    pub fn sellable(&self, instrument: &str) -> Qty {
        self.holdings
            .get(instrument)
            .map_or(Qty::ZERO, |h| h.qty - h.reserved)
    }

    /// Adds bought shares; returns the cost added to the position.
    pub fn add(&mut self, instrument: &str, qty: Qty, cost: Usd) -> Usd {
        let h = self.holdings.entry(instrument.to_string()).or_default();
        h.qty += qty;
        h.cost += cost;
        cost
    }

    /// Removes sold shares at average cost; returns the cost removed from the position.
    pub fn remove(&mut self, instrument: &str, qty: Qty) -> Usd {
        let Some(h) = self.holdings.get_mut(instrument) else {
            return Usd::ZERO;
        };
        let qty = qty.min(h.qty);
        let removed = if h.qty.0 == 0 {
            Usd::ZERO
        } else {
            Usd((h.cost.0 as i128 * qty.0 as i128 / h.qty.0 as i128) as i64)
        };
        h.qty -= qty;
        h.cost -= removed;
        if h.qty.0 == 0 && h.reserved.0 == 0 {
            self.holdings.remove(instrument);
        }
        removed
    }

    pub fn positions(&self) -> Vec<Position> {
        self.holdings
            .iter()
            .filter(|(_, h)| h.qty.0 > 0)
            .map(|(i, h)| Position {
                instrument: i.clone(),
                qty: h.qty,
                cost: h.cost,
            })
            .collect()
    }
}
