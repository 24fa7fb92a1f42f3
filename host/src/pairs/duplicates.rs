//! A candidate on instruments the registry already trades under another id (discovery over a
//! config whose `[[pair]]` entries cover the same markets, or the same game found twice) is
//! flagged: approving both would put two trades on the same legs and double the exposure.

use super::{Candidate, Flag};
use crate::store::{PairState, RegisteredPair};

/// Both venues' (venue, yes, no), in an order that does not depend on which venue is A.
type InstrumentsKey = [(String, String, String); 2];

/// The key of a pair's two sides.
fn key(sides: [(&str, &str, &str); 2]) -> InstrumentsKey {
    let mut k = sides.map(|(v, y, n)| (v.to_string(), y.to_string(), n.to_string()));
    k.sort();
    k
}

/// Adds [`Flag::SameInstruments`] to each candidate that shares its instruments with a
/// registered pair that is not rejected or retired and has another id.
pub fn flag_duplicates(candidates: &mut [Candidate], registered: &[RegisteredPair]) {
    let live: Vec<(&str, InstrumentsKey)> = registered
        .iter()
        .filter(|p| !matches!(p.state, PairState::Rejected | PairState::Retired))
        .map(|p| {
            (
                p.id.as_str(),
                key([
                    (&p.a.venue, &p.a.yes, &p.a.no),
                    (&p.b.venue, &p.b.yes, &p.b.no),
                ]),
            )
        })
        .collect();
    for c in candidates {
        let k = key([
            (&c.a.venue, &c.a.yes, &c.a.no),
            (&c.b.venue, &c.b.yes, &c.b.no),
        ]);
        for (id, rk) in &live {
            if *id != c.id && *rk == k {
                c.flags.push(Flag::SameInstruments {
                    pair: (*id).to_string(),
                });
            }
        }
    }
}
