//! Trade ids: `<ledger id>-<sequence>`, unique under concurrent trades and across processes
//! sharing one ledger (never a count of existing trades).

use super::setup::EngineError;
use crate::store::Ledger;
use std::sync::Mutex;

/// Numbers reserved per ledger write (unused ones are skipped after a restart).
const BLOCK: i64 = 64;

/// Hands out trade ids from blocks of sequence numbers reserved in the ledger. The next block
/// is reserved ahead ([`TradeIds::top_up`], after a trade's orders left), so a trade on its
/// way to the wire takes its id without a ledger write (a synced one: a reservation lost to
/// a power cut could hand the same numbers out twice). Only a trade that finds both blocks
/// used up writes.
pub(super) struct TradeIds {
    ledger_id: String,
    blocks: Mutex<Blocks>,
}

/// Reserved and not yet used: `(next, end)`; `spare` is the block after the current one.
#[derive(Default)]
struct Blocks {
    current: (i64, i64),
    spare: Option<(i64, i64)>,
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
            blocks: Mutex::new(Blocks::default()),
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
        let mut b = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        if b.current.0 >= b.current.1 {
            b.current = match b.spare.take() {
                Some(spare) => spare,
                None => {
                    let first = ledger.reserve_trade_seqs(BLOCK)?;
                    (first, first + BLOCK)
                }
            };
        }
        let n = b.current.0;
        b.current.0 += 1;
        Ok(format!("{}-{n:06}", self.ledger_id))
    }

    /// Reserves the block after the current one if there is none yet. The ledger write runs
    /// without the ids' lock, so a trade taking an id meanwhile does not wait for it; if two
    /// top-ups race, the later block is kept and the other's numbers are skipped (as unused
    /// ones are after a restart).
    pub(super) fn top_up(&self, ledger: &Ledger) -> Result<(), EngineError> {
        if self
            .blocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .spare
            .is_some()
        {
            return Ok(());
        }
        let first = ledger.reserve_trade_seqs(BLOCK)?;
        self.blocks.lock().unwrap_or_else(|p| p.into_inner()).spare = Some((first, first + BLOCK));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_a_block_reserved_ahead_taking_ids_writes_nothing() {
        let dir = std::env::temp_dir().join(format!(
            "polymix-trade-ids-ahead-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let l = Ledger::open(&dir.join("l.db")).unwrap();
        let ids = TradeIds::open(&l).unwrap();
        let reserved = |l: &Ledger| l.get_kv("trade_seq").unwrap();
        let first = ids.next(&l).unwrap();
        ids.top_up(&l).unwrap();
        let after_top_up = reserved(&l);
        // The rest of the block, then the spare: no reservation on the way.
        let mut seen = std::collections::HashSet::from([first]);
        for _ in 1..(2 * BLOCK) {
            assert!(seen.insert(ids.next(&l).unwrap()));
        }
        assert_eq!(
            reserved(&l),
            after_top_up,
            "an id was taken with a ledger write"
        );
        // Both blocks used: the next id reserves (the fallback), and is still new.
        assert!(seen.insert(ids.next(&l).unwrap()));
        assert_ne!(reserved(&l), after_top_up);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_client_id_names_a_trade_of_this_ledger_or_none() {
        let ids = TradeIds {
            ledger_id: "4ff1128e".into(),
            blocks: Mutex::new(Blocks::default()),
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
        for i in 0..(BLOCK * 3) {
            assert!(seen.insert(a.next(&l1).unwrap()));
            assert!(seen.insert(b.next(&l2).unwrap()));
            // One of them reserves ahead now and then, as the engine does after a trade.
            if i % 5 == 0 {
                a.top_up(&l1).unwrap();
            }
        }
        // Both processes share the ledger's id: the sequence alone keeps them apart.
        assert!(seen.iter().all(|id| id.starts_with(&a.ledger_id)));
        assert_eq!(a.ledger_id, b.ledger_id);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
