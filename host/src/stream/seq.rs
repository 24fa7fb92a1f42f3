//! Per-subscription sequence checks (for venues that number their messages, see
//! `plugin_api::stream`): after a snapshot each message must carry the next number.

use plugin_api::StreamSeq;
use std::collections::HashMap;

/// What to do with a numbered message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// In order: apply it.
    Apply,
    /// A duplicate, an older message, or one of a subscription not (re)started by a
    /// snapshot yet: drop it.
    Drop,
    /// One or more messages are missing: the subscription needs a fresh snapshot.
    Gap {
        /// The number expected.
        expected: u64,
    },
}

/// Last applied number per subscription.
#[derive(Debug, Default)]
pub struct SeqTracker {
    last: HashMap<String, u64>,
}

impl SeqTracker {
    /// Judges (and on [`Verdict::Apply`] records) one message.
    pub fn check(&mut self, s: &StreamSeq) -> Verdict {
        if s.snapshot {
            self.last.insert(s.subscription.clone(), s.seq);
            return Verdict::Apply;
        }
        let Some(last) = self.last.get_mut(&s.subscription) else {
            return Verdict::Drop;
        };
        match s.seq.cmp(&last.saturating_add(1)) {
            std::cmp::Ordering::Equal => {
                *last = s.seq;
                Verdict::Apply
            }
            std::cmp::Ordering::Less => Verdict::Drop,
            std::cmp::Ordering::Greater => {
                let expected = *last + 1;
                // Nothing of this subscription is applied until its next snapshot.
                self.last.remove(&s.subscription);
                Verdict::Gap { expected }
            }
        }
    }

    /// Forgets one subscription (unsubscribed): its later messages are dropped.
    pub fn forget(&mut self, subscription: &str) {
        self.last.remove(subscription);
    }

    /// Forgets every subscription (a new connection).
    pub fn clear(&mut self) {
        self.last.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(sub: &str, seq: u64, snapshot: bool) -> StreamSeq {
        StreamSeq {
            subscription: sub.into(),
            seq,
            snapshot,
        }
    }

    #[test]
    fn in_order_duplicate_old_gap_and_restart() {
        let mut t = SeqTracker::default();
        assert_eq!(
            t.check(&s("1", 5, false)),
            Verdict::Drop,
            "before a snapshot"
        );
        assert_eq!(t.check(&s("1", 1, true)), Verdict::Apply);
        assert_eq!(t.check(&s("1", 2, false)), Verdict::Apply);
        assert_eq!(t.check(&s("1", 2, false)), Verdict::Drop, "duplicate");
        assert_eq!(t.check(&s("1", 1, false)), Verdict::Drop, "older");
        assert_eq!(t.check(&s("2", 1, true)), Verdict::Apply, "own sequence");
        assert_eq!(t.check(&s("1", 4, false)), Verdict::Gap { expected: 3 });
        assert_eq!(t.check(&s("1", 5, false)), Verdict::Drop, "after a gap");
        assert_eq!(t.check(&s("2", 2, false)), Verdict::Apply);
        assert_eq!(t.check(&s("1", 7, true)), Verdict::Apply, "fresh snapshot");
        assert_eq!(t.check(&s("1", 8, false)), Verdict::Apply);
    }
}
