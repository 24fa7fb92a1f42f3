//! The pair registry: every pair the engine may trade, with its life
//! `proposed → approved → suspended → retired` (and `rejected`), who decided and when, both
//! markets' rules text side by side, and the evidence (the discovery candidate as JSON).
//!
//! A candidate with a veto or flag (its *blockers*) is approved only with an override reason,
//! which is recorded. `[[pair]]` entries of the config are registered as approved (origin
//! `config`). Every state change is appended to `pair_history`.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::ledger::{Ledger, LedgerError};
use crate::config::PairEntry;
use crate::pairs::Candidate;

/// Where a pair is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairState {
    /// Found by discovery, awaiting review.
    Proposed,
    /// May be traded.
    Approved,
    /// Refused at review (terminal).
    Rejected,
    /// Not traded for now (may be approved again).
    Suspended,
    /// Done (terminal).
    Retired,
}

impl PairState {
    /// Database and CLI word.
    pub fn as_str(self) -> &'static str {
        match self {
            PairState::Proposed => "proposed",
            PairState::Approved => "approved",
            PairState::Rejected => "rejected",
            PairState::Suspended => "suspended",
            PairState::Retired => "retired",
        }
    }

    /// Parses a database or CLI word.
    pub fn parse(s: &str) -> Option<PairState> {
        Some(match s {
            "proposed" => PairState::Proposed,
            "approved" => PairState::Approved,
            "rejected" => PairState::Rejected,
            "suspended" => PairState::Suspended,
            "retired" => PairState::Retired,
            _ => return None,
        })
    }

    /// Whether `self → to` is allowed.
    pub fn can_become(self, to: PairState) -> bool {
        use PairState::*;
        matches!(
            (self, to),
            (Proposed, Approved)
                | (Proposed, Rejected)
                | (Approved, Suspended)
                | (Approved, Retired)
                | (Suspended, Approved)
                | (Suspended, Retired)
        )
    }
}

impl std::fmt::Display for PairState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a pair entered the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairOrigin {
    /// `polymix pairs discover`.
    Discovered,
    /// A `[[pair]]` entry of the config (pre-approved).
    Config,
}

/// A reason a candidate cannot be approved without an override.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    /// Stable code (`start_mismatch`, `price_sum`, …).
    pub code: String,
    /// Human reason.
    pub reason: String,
}

/// One venue's side of a registered pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredSide {
    /// Venue instance.
    pub venue: String,
    /// Instrument paying if P.
    pub yes: String,
    /// Instrument paying if not P.
    pub no: String,
    /// The market's rules text.
    pub rules: String,
}

/// One state change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairChange {
    /// When (ms).
    pub at_ms: i64,
    /// From (none when created).
    pub from: Option<PairState>,
    /// To.
    pub to: PairState,
    /// Who.
    pub actor: String,
    /// Why, if given.
    pub reason: Option<String>,
}

/// A pair in the registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisteredPair {
    /// Id.
    pub id: String,
    /// State.
    pub state: PairState,
    /// Origin.
    pub origin: PairOrigin,
    /// League (empty for config pairs).
    pub league: String,
    /// Description of P.
    pub title: String,
    /// Venue A.
    pub a: RegisteredSide,
    /// Venue B.
    pub b: RegisteredSide,
    /// Vetoes and flags of the candidate.
    pub blockers: Vec<Blocker>,
    /// The discovery candidate (polarity evidence), or null.
    pub candidate: serde_json::Value,
    /// Who made the last decision.
    pub decided_by: Option<String>,
    /// When (ms).
    pub decided_ms: Option<i64>,
    /// The override reason recorded when a blocked candidate was approved.
    pub override_reason: Option<String>,
    /// Created (ms).
    pub created_ms: i64,
    /// Last change (ms).
    pub updated_ms: i64,
    /// State changes, oldest first (filled by [`Ledger::pair`]).
    pub history: Vec<PairChange>,
}

/// A registry failure.
#[derive(Debug, thiserror::Error)]
pub enum PairRegistryError {
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// No such pair.
    #[error("pair {0:?} is not in the registry")]
    NotFound(String),
    /// Not an allowed transition.
    #[error("pair {id}: cannot go from {from} to {to}")]
    Illegal {
        /// Pair.
        id: String,
        /// Its state.
        from: PairState,
        /// Asked for.
        to: PairState,
    },
    /// A blocked candidate needs an override reason to be approved.
    #[error("pair {id} is blocked ({blockers}); approve it only with an override reason")]
    NeedsOverride {
        /// Pair.
        id: String,
        /// The blockers, joined.
        blockers: String,
    },
    /// Another decision changed the pair between reading and writing it.
    #[error("pair {0} changed while being decided; look at it again")]
    Changed(String),
    /// A stored value could not be read back.
    #[error("pair {id}: stored {what} is unreadable: {detail}")]
    Corrupt {
        /// Pair.
        id: String,
        /// Which column.
        what: &'static str,
        /// Why.
        detail: String,
    },
}

/// What proposing a candidate did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proposed {
    /// New pair, state proposed.
    Inserted,
    /// Still proposed; evidence refreshed.
    Refreshed,
    /// Already decided; left as it is.
    Kept(PairState),
}

fn blockers_of(c: &Candidate) -> Vec<Blocker> {
    c.vetoes
        .iter()
        .map(|v| Blocker {
            code: v.code().to_string(),
            reason: v.to_string(),
        })
        .chain(c.flags.iter().map(|f| Blocker {
            code: f.code().to_string(),
            reason: f.to_string(),
        }))
        .collect()
}

struct Row {
    pair: RegisteredPair,
    state: String,
    origin: String,
    blockers: String,
    candidate: String,
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        state: r.get("state")?,
        origin: r.get("origin")?,
        blockers: r.get("blockers")?,
        candidate: r.get("candidate")?,
        pair: RegisteredPair {
            id: r.get("id")?,
            state: PairState::Proposed,
            origin: PairOrigin::Discovered,
            league: r.get("league")?,
            title: r.get("title")?,
            a: RegisteredSide {
                venue: r.get("venue_a")?,
                yes: r.get("yes_a")?,
                no: r.get("no_a")?,
                rules: r.get("rules_a")?,
            },
            b: RegisteredSide {
                venue: r.get("venue_b")?,
                yes: r.get("yes_b")?,
                no: r.get("no_b")?,
                rules: r.get("rules_b")?,
            },
            blockers: Vec::new(),
            candidate: serde_json::Value::Null,
            decided_by: r.get("decided_by")?,
            decided_ms: r.get("decided_ms")?,
            override_reason: r.get("override_reason")?,
            created_ms: r.get("created_ms")?,
            updated_ms: r.get("updated_ms")?,
            history: Vec::new(),
        },
    })
}

fn finish(row: Row) -> Result<RegisteredPair, PairRegistryError> {
    let mut p = row.pair;
    let corrupt = |what, detail: String| PairRegistryError::Corrupt {
        id: p.id.clone(),
        what,
        detail,
    };
    p.state =
        PairState::parse(&row.state).ok_or_else(|| corrupt("state", format!("{:?}", row.state)))?;
    p.origin = match row.origin.as_str() {
        "discovered" => PairOrigin::Discovered,
        "config" => PairOrigin::Config,
        o => return Err(corrupt("origin", format!("{o:?}"))),
    };
    p.blockers =
        serde_json::from_str(&row.blockers).map_err(|e| corrupt("blockers", e.to_string()))?;
    p.candidate =
        serde_json::from_str(&row.candidate).map_err(|e| corrupt("candidate", e.to_string()))?;
    Ok(p)
}

const COLS: &str = "id, state, origin, league, title, venue_a, yes_a, no_a, venue_b, yes_b, no_b, rules_a, rules_b, blockers, candidate, decided_by, decided_ms, override_reason, created_ms, updated_ms";

fn history(
    tx: &rusqlite::Connection,
    id: &str,
    at_ms: i64,
    from: Option<PairState>,
    to: PairState,
    actor: &str,
    reason: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO pair_history (pair_id, at_ms, from_state, to_state, actor, reason) VALUES (?1,?2,?3,?4,?5,?6)",
        params![id, at_ms, from.map(PairState::as_str), to.as_str(), actor, reason],
    )?;
    Ok(())
}

impl Ledger {
    /// Records a discovery candidate: a new one is `proposed`; a proposed one gets fresh
    /// evidence; a decided one is left alone.
    pub fn pair_propose(&self, c: &Candidate, now_ms: i64) -> Result<Proposed, PairRegistryError> {
        let blockers = serde_json::to_string(&blockers_of(c)).unwrap_or_else(|_| "[]".into());
        let cand = serde_json::to_string(c).unwrap_or_else(|_| "null".into());
        Ok(self.with(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let state: Option<String> = tx
                .query_row("SELECT state FROM pair_registry WHERE id = ?1", [&c.id], |r| r.get(0))
                .optional()?;
            let out = match state.as_deref().map(PairState::parse) {
                None => {
                    tx.execute(
                        &format!("INSERT INTO pair_registry ({COLS}) VALUES (?1,'proposed','discovered',?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,NULL,NULL,NULL,?14,?14)"),
                        params![c.id, c.league, c.title, c.a.venue, c.a.yes, c.a.no, c.b.venue, c.b.yes, c.b.no, c.a.rules, c.b.rules, blockers, cand, now_ms],
                    )?;
                    history(&tx, &c.id, now_ms, None, PairState::Proposed, "discovery", None)?;
                    Proposed::Inserted
                }
                Some(Some(PairState::Proposed)) => {
                    tx.execute(
                        "UPDATE pair_registry SET title=?2, venue_a=?3, yes_a=?4, no_a=?5, venue_b=?6, yes_b=?7, no_b=?8, rules_a=?9, rules_b=?10, blockers=?11, candidate=?12, updated_ms=?13 WHERE id=?1",
                        params![c.id, c.title, c.a.venue, c.a.yes, c.a.no, c.b.venue, c.b.yes, c.b.no, c.a.rules, c.b.rules, blockers, cand, now_ms],
                    )?;
                    Proposed::Refreshed
                }
                Some(Some(s)) => Proposed::Kept(s),
                // Never guess a state: an unreadable one stops the write.
                Some(None) => {
                    return Err(rusqlite::Error::FromSqlConversionFailure(
                        1,
                        rusqlite::types::Type::Text,
                        format!("pair {}: unknown state {:?}", c.id, state.unwrap_or_default())
                            .into(),
                    ))
                }
            };
            tx.commit()?;
            Ok(out)
        })?)
    }

    /// Registers the config's `[[pair]]` entries as approved pairs (origin `config`). A pair
    /// already registered keeps its state; a config pair's instruments follow the config.
    pub fn pair_sync_config(
        &self,
        pairs: &[PairEntry],
        now_ms: i64,
    ) -> Result<usize, PairRegistryError> {
        Ok(self.with(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut added = 0;
            for p in pairs {
                let exists: Option<String> = tx
                    .query_row("SELECT origin FROM pair_registry WHERE id = ?1", [&p.id], |r| r.get(0))
                    .optional()?;
                match exists.as_deref() {
                    None => {
                        tx.execute(
                            &format!("INSERT INTO pair_registry ({COLS}) VALUES (?1,'approved','config','',?2,?3,?4,?5,?6,?7,?8,'','','[]','null','config',?9,NULL,?9,?9)"),
                            params![p.id, p.title, p.a.venue, p.a.yes, p.a.no, p.b.venue, p.b.yes, p.b.no, now_ms],
                        )?;
                        history(&tx, &p.id, now_ms, None, PairState::Approved, "config", Some("[[pair]] in config"))?;
                        added += 1;
                    }
                    Some("config") => {
                        tx.execute(
                            "UPDATE pair_registry SET title=?2, venue_a=?3, yes_a=?4, no_a=?5, venue_b=?6, yes_b=?7, no_b=?8 WHERE id=?1 AND (title<>?2 OR venue_a<>?3 OR yes_a<>?4 OR no_a<>?5 OR venue_b<>?6 OR yes_b<>?7 OR no_b<>?8)",
                            params![p.id, p.title, p.a.venue, p.a.yes, p.a.no, p.b.venue, p.b.yes, p.b.no],
                        )?;
                    }
                    Some(_) => {}
                }
            }
            tx.commit()?;
            Ok(added)
        })?)
    }

    /// One pair with its history.
    pub fn pair(&self, id: &str) -> Result<Option<RegisteredPair>, PairRegistryError> {
        let got = self.read(|c| {
            let row = c
                .query_row(&format!("SELECT {COLS} FROM pair_registry WHERE id = ?1"), [id], read_row)
                .optional()?;
            let mut hist = Vec::new();
            if row.is_some() {
                let mut st = c.prepare(
                    "SELECT at_ms, from_state, to_state, actor, reason FROM pair_history WHERE pair_id = ?1 ORDER BY seq",
                )?;
                let rows = st.query_map([id], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                })?;
                for h in rows {
                    hist.push(h?);
                }
            }
            Ok((row, hist))
        })?;
        let (Some(row), hist) = got else {
            return Ok(None);
        };
        let mut p = finish(row)?;
        for (at_ms, from, to, actor, reason) in hist {
            let bad = |s: &str| PairRegistryError::Corrupt {
                id: id.to_string(),
                what: "history state",
                detail: format!("{s:?}"),
            };
            p.history.push(PairChange {
                at_ms,
                from: match from {
                    Some(f) => Some(PairState::parse(&f).ok_or_else(|| bad(&f))?),
                    None => None,
                },
                to: PairState::parse(&to).ok_or_else(|| bad(&to))?,
                actor,
                reason,
            });
        }
        Ok(Some(p))
    }

    /// Every pair (optionally in one state), by id.
    pub fn pairs(
        &self,
        state: Option<PairState>,
    ) -> Result<Vec<RegisteredPair>, PairRegistryError> {
        let rows = self.read(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLS} FROM pair_registry WHERE ?1 IS NULL OR state = ?1 ORDER BY id"
            ))?;
            let rows = st.query_map([state.map(PairState::as_str)], read_row)?;
            rows.collect::<rusqlite::Result<Vec<Row>>>()
        })?;
        rows.into_iter().map(finish).collect()
    }

    /// Moves a pair to `to`, recording who, when and why. Approving a pair that has blockers
    /// needs `override_reason`, which is recorded.
    pub fn pair_decide(
        &self,
        id: &str,
        to: PairState,
        actor: &str,
        reason: Option<&str>,
        override_reason: Option<&str>,
        now_ms: i64,
    ) -> Result<RegisteredPair, PairRegistryError> {
        let p = self
            .pair(id)?
            .ok_or_else(|| PairRegistryError::NotFound(id.to_string()))?;
        if !p.state.can_become(to) {
            return Err(PairRegistryError::Illegal {
                id: id.to_string(),
                from: p.state,
                to,
            });
        }
        let override_reason = override_reason.map(str::trim).filter(|r| !r.is_empty());
        if to == PairState::Approved && !p.blockers.is_empty() && override_reason.is_none() {
            return Err(PairRegistryError::NeedsOverride {
                id: id.to_string(),
                blockers: p
                    .blockers
                    .iter()
                    .map(|b| format!("{}: {}", b.code, b.reason))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        let from = p.state;
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // The state is re-checked in the UPDATE so two deciders cannot both win.
            let n = tx.execute(
                "UPDATE pair_registry SET state=?2, decided_by=?3, decided_ms=?4, override_reason=COALESCE(?5, override_reason), updated_ms=?4 WHERE id=?1 AND state=?6",
                params![id, to.as_str(), actor, now_ms, override_reason, from.as_str()],
            )?;
            if n == 1 {
                let why = match (reason, override_reason) {
                    (Some(r), Some(o)) => Some(format!("{r}; override: {o}")),
                    (None, Some(o)) => Some(format!("override: {o}")),
                    (r, None) => r.map(str::to_string),
                };
                history(&tx, id, now_ms, Some(from), to, actor, why.as_deref())?;
            }
            tx.commit()?;
            Ok(n)
        })
        .map_err(PairRegistryError::from)
        .and_then(|n| {
            if n == 1 {
                Ok(())
            } else {
                Err(PairRegistryError::Changed(id.to_string()))
            }
        })?;
        self.pair(id)?
            .ok_or_else(|| PairRegistryError::NotFound(id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairs::leagues::league;
    use crate::pairs::{discover, MatchParams, VenueListings};
    use plugin_api::{Listing, ListingOutcome, ListingStatus, OutcomeSide, Subject};

    fn candidate(start_b: i64) -> Candidate {
        let l = |venue: &str, ins: [&str; 2], side_b: OutcomeSide, start: i64| Listing {
            event_id: format!("{venue}-E"),
            market_id: format!("{venue}-M"),
            series: None,
            title: "Los Angeles L at Boston".into(),
            market_title: String::new(),
            participants: vec!["Los Angeles L".into(), "Boston".into()],
            participants_source: "test".into(),
            start_ms: Some(start),
            close_ms: Some(start),
            status: ListingStatus::Open,
            venue_status: "active".into(),
            outcomes: vec![
                ListingOutcome {
                    instrument: ins[0].into(),
                    side: OutcomeSide::Yes,
                    subject: Subject::Participant {
                        name: "Lakers".into(),
                    },
                    source: "t".into(),
                    best_ask: None,
                },
                ListingOutcome {
                    instrument: ins[1].into(),
                    side: side_b,
                    subject: if side_b == OutcomeSide::No {
                        Subject::Participant {
                            name: "Lakers".into(),
                        }
                    } else {
                        Subject::Participant {
                            name: "Celtics".into(),
                        }
                    },
                    source: "t".into(),
                    best_ask: None,
                },
            ],
            threshold: None,
            draw_listed: None,
            multi_outcome: false,
            rules: format!("{venue} rules"),
        };
        let a = VenueListings {
            venue: "ks".into(),
            listings: vec![l("ks", ["K:yes", "K:no"], OutcomeSide::No, 0)],
        };
        let b = VenueListings {
            venue: "pm".into(),
            listings: vec![l("pm", ["1", "2"], OutcomeSide::Yes, start_b)],
        };
        let d = discover(league("nba").unwrap(), &a, &b, &MatchParams::default());
        d.candidates
            .into_iter()
            .find(|c| c.id.ends_with("win-LAL"))
            .unwrap()
    }

    fn ledger() -> (Ledger, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("pmx-reg-{}", rand::random::<u64>()));
        let l = Ledger::open(&dir.join("t.sqlite")).unwrap();
        (l, dir)
    }

    #[test]
    fn lifecycle_and_override() {
        let (l, dir) = ledger();
        let clean = candidate(0);
        assert_eq!(l.pair_propose(&clean, 1).unwrap(), Proposed::Inserted);
        assert_eq!(l.pair_propose(&clean, 2).unwrap(), Proposed::Refreshed);
        let p = l
            .pair_decide(&clean.id, PairState::Approved, "ann", None, None, 3)
            .unwrap();
        assert_eq!(
            (p.state, p.decided_by.as_deref(), p.decided_ms),
            (PairState::Approved, Some("ann"), Some(3))
        );
        assert_eq!(
            (p.a.rules.as_str(), p.b.rules.as_str()),
            ("ks rules", "pm rules")
        );
        assert_eq!((p.b.yes.as_str(), p.b.no.as_str()), ("1", "2"));
        assert_eq!(
            l.pair_propose(&clean, 4).unwrap(),
            Proposed::Kept(PairState::Approved)
        );
        assert!(matches!(
            l.pair_decide(&clean.id, PairState::Rejected, "ann", None, None, 5),
            Err(PairRegistryError::Illegal { .. })
        ));
        l.pair_decide(
            &clean.id,
            PairState::Suspended,
            "bob",
            Some("odd fills"),
            None,
            6,
        )
        .unwrap();
        let p = l.pair(&clean.id).unwrap().unwrap();
        let states: Vec<PairState> = p.history.iter().map(|h| h.to).collect();
        assert_eq!(
            states,
            [
                PairState::Proposed,
                PairState::Approved,
                PairState::Suspended
            ]
        );
        assert_eq!(p.history[2].reason.as_deref(), Some("odd fills"));

        // Start times a day apart: vetoed, approvable only with a recorded override.
        let mut trap = candidate(86_400_000);
        trap.id.push_str("-trap");
        assert_eq!(trap.vetoes[0].code(), "start_mismatch");
        l.pair_propose(&trap, 7).unwrap();
        let e = l
            .pair_decide(&trap.id, PairState::Approved, "ann", None, Some("  "), 8)
            .unwrap_err()
            .to_string();
        assert!(e.contains("start_mismatch"), "{e}");
        let p = l
            .pair_decide(
                &trap.id,
                PairState::Approved,
                "ann",
                None,
                Some("rescheduled, same game"),
                9,
            )
            .unwrap();
        assert_eq!(p.override_reason.as_deref(), Some("rescheduled, same game"));
        assert_eq!(l.pairs(Some(PairState::Approved)).unwrap().len(), 1);
        assert!(matches!(
            l.pair_decide("nope", PairState::Approved, "a", None, None, 1),
            Err(PairRegistryError::NotFound(_))
        ));
        let _ = std::fs::remove_dir_all(dir);
    }
}
