//! Trade ids: `<ledger id>-<sequence>`, unique under concurrent trades and across processes
//! sharing one ledger (never a count of existing trades).

use super::setup::EngineError;
use crate::store::Ledger;
use std::sync::Mutex;

/// Numbers reserved per ledger write (unused ones are skipped after a restart).
const BLOCK: i64 = 64;

/// Hands out trade ids from blocks of sequence numbers reserved in the ledger, so only one
/// trade in [`BLOCK`] pays a ledger write.
pub(super) struct TradeIds {
    ledger_id: String,
    /// Reserved and not yet used: (next, end).
    block: Mutex<(i64, i64)>,
}

impl TradeIds {
    /// The ledger's id (created on first use and kept in the ledger).
    pub(super) fn open(ledger: &Ledger) -> Result<TradeIds, EngineError> {
        let ledger_id = match ledger.get_kv("ledger_id")? {
            Some(id) => id,
            None => {
                let id = format!("{:08x}", rand::random::<u32>());
                ledger.set_kv("ledger_id", &id)?;
                id
            }
        };
        Ok(TradeIds {
            ledger_id,
            block: Mutex::new((0, 0)),
        })
    }

    /// The trade an order's client id names, if the order is one of this ledger's trades'
    /// (`plugin_api::client_order_id`: `pmx-<trade id>-<leg><attempt>`, and every trade id
    /// starts with the ledger's id); `None` for anyone else's (an operator's `pmx-op-…`).
    pub(super) fn own_trade_of(&self, client_order_id: &str) -> Option<String> {
        let rest = client_order_id.strip_prefix("pmx-")?;
        let (trade_id, _leg) = rest.rsplit_once('-')?;
        let seq = trade_id.strip_prefix(&self.ledger_id)?.strip_prefix('-')?;
        (!seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit())).then(|| trade_id.to_string())
    }

    /// The next trade id.
    pub(super) fn next(&self, ledger: &Ledger) -> Result<String, EngineError> {
        let mut b = self.block.lock().unwrap_or_else(|p| p.into_inner());
        if b.0 >= b.1 {
            let first = ledger.reserve_trade_seqs(BLOCK)?;
            *b = (first, first + BLOCK);
        }
        let n = b.0;
        b.0 += 1;
        Ok(format!("{}-{n:06}", self.ledger_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_names_a_trade_of_this_ledger_or_none() {
        let ids = TradeIds {
            ledger_id: "4ff1128e".into(),
            block: Mutex::new((0, 0)),
        };
        let coid = plugin_api::client_order_id("4ff1128e-000007", 'a', 0);
        assert_eq!(ids.own_trade_of(&coid).as_deref(), Some("4ff1128e-000007"));
        assert_eq!(ids.own_trade_of("pmx-op-00ff00ff00ff00ff"), None);
        assert_eq!(ids.own_trade_of("pmx-0badcafe-000007-a0"), None);
        assert_eq!(ids.own_trade_of("pmx-4ff1128e-a0"), None);
        assert_eq!(ids.own_trade_of("4ff1128e-000007-a0"), None);
    }

    #[test]
    fn two_id_sources_on_one_ledger_never_hand_out_the_same_id() {
        let dir = std::env::temp_dir().join(format!(
            "polymix-trade-ids-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("l.db");
        let (l1, l2) = (Ledger::open(&path).unwrap(), Ledger::open(&path).unwrap());
        let (a, b) = (TradeIds::open(&l1).unwrap(), TradeIds::open(&l2).unwrap());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..(BLOCK * 3) {
            assert!(seen.insert(a.next(&l1).unwrap()));
            assert!(seen.insert(b.next(&l2).unwrap()));
        }
        // Both processes share the ledger's id: the sequence alone keeps them apart.
        assert!(seen.iter().all(|id| id.starts_with(&a.ledger_id)));
        assert_eq!(a.ledger_id, b.ledger_id);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
