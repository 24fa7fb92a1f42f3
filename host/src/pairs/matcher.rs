//! Deterministic matching of two venues' listings into candidate pairs.
//!
//! A game on each venue is an event whose participants both resolve, through the alias table,
//! to team codes of the league. Two games match when they have the same two teams and their
//! start times are within the window; if the teams meet on venue B only on another date, the
//! nearest such game is paired and vetoed (`start_mismatch`), so the trap is shown, not hidden.
//! Within a matched game every proposition both venues can express becomes a candidate, with
//! its polarity ([`super::polarity`]), vetoes and flags ([`super::vetoes`]). Title similarity
//! only orders the output.

use plugin_api::Listing;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::aliases::team_code;
use super::leagues::{Draws, League};
use super::normalize::{date_of, similarity};
use super::polarity::{draw_side, threshold_side, wins_side, Proposition, VenueSide};
use super::vetoes::{price_flags, vetoes, Flag, MatchParams, Veto};

/// One venue's listings for a league.
#[derive(Clone, Debug)]
pub struct VenueListings {
    /// Venue instance name.
    pub venue: String,
    /// Its listings.
    pub listings: Vec<Listing>,
}

/// A proposed pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Deterministic id, e.g. `nba-2026-12-06-BOS-LAL-win-LAL`.
    pub id: String,
    /// League.
    pub league: String,
    /// The proposition P.
    pub proposition: Proposition,
    /// Human description.
    pub title: String,
    /// Venue A's side.
    pub a: VenueSide,
    /// Venue B's side.
    pub b: VenueSide,
    /// Hard vetoes.
    pub vetoes: Vec<Veto>,
    /// Flags (block approval like vetoes unless overridden).
    pub flags: Vec<Flag>,
    /// Informational notes (e.g. rare ties).
    pub notes: Vec<String>,
    /// Title similarity, 0–1000 (ranking only).
    pub similarity: u32,
}

impl Candidate {
    /// Whether it can be approved without an override.
    pub fn clean(&self) -> bool {
        self.vetoes.is_empty() && self.flags.is_empty()
    }
}

/// A listing (event) that matched nothing, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmatched {
    /// Venue.
    pub venue: String,
    /// Venue event id.
    pub event_id: String,
    /// Event title.
    pub title: String,
    /// Why.
    pub reason: String,
}

/// The result of matching one league.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// Candidates, clean ones first, then by similarity.
    pub candidates: Vec<Candidate>,
    /// Events that found no counterpart.
    pub unmatched: Vec<Unmatched>,
}

struct Game<'a> {
    event_id: String,
    title: String,
    teams: BTreeSet<&'static str>,
    start_ms: Option<i64>,
    listings: Vec<&'a Listing>,
}

/// Groups a venue's listings into games; events whose teams do not resolve are unmatched.
fn games<'a>(
    league: &League,
    v: &'a VenueListings,
    unmatched: &mut Vec<Unmatched>,
) -> Vec<Game<'a>> {
    let mut by_event: BTreeMap<&str, Vec<&Listing>> = BTreeMap::new();
    for l in &v.listings {
        by_event.entry(l.event_id.as_str()).or_default().push(l);
    }
    let mut out = Vec::new();
    for (event, ls) in by_event {
        let first = ls[0];
        let mut teams = BTreeSet::new();
        let mut unknown = Vec::new();
        for p in &first.participants {
            match team_code(league.name, p) {
                Some(c) => {
                    teams.insert(c);
                }
                None => unknown.push(p.clone()),
            }
        }
        let reason = if !unknown.is_empty() {
            Some(format!(
                "team name(s) {unknown:?} not in the {} alias table",
                league.name
            ))
        } else if teams.len() != 2 {
            Some(format!(
                "participants {:?} ({}) are not two teams",
                first.participants, first.participants_source
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            unmatched.push(Unmatched {
                venue: v.venue.clone(),
                event_id: event.to_string(),
                title: first.title.clone(),
                reason,
            });
            continue;
        }
        out.push(Game {
            event_id: event.to_string(),
            title: first.title.clone(),
            teams,
            start_ms: ls.iter().filter_map(|l| l.start_ms).min(),
            listings: ls,
        });
    }
    out
}

fn distance(a: Option<i64>, b: Option<i64>) -> i64 {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs(),
        _ => i64::MAX,
    }
}

/// Matches venue A's listings against venue B's for one league.
pub fn discover(
    league: &League,
    a: &VenueListings,
    b: &VenueListings,
    p: &MatchParams,
) -> Discovery {
    let mut out = Discovery::default();
    let ga = games(league, a, &mut out.unmatched);
    let gb = games(league, b, &mut out.unmatched);
    let mut used_b = BTreeSet::new();
    for g in &ga {
        // The nearest game of the same two teams on B (in the window if there is one).
        let h = gb
            .iter()
            .enumerate()
            .filter(|(_, h)| h.teams == g.teams)
            .min_by_key(|(_, h)| distance(g.start_ms, h.start_ms));
        let Some((hi, h)) = h else {
            out.unmatched.push(Unmatched {
                venue: a.venue.clone(),
                event_id: g.event_id.clone(),
                title: g.title.clone(),
                reason: format!("no {} game between {:?}", b.venue, g.teams),
            });
            continue;
        };
        used_b.insert(hi);
        out.candidates
            .extend(game_candidates(league, &a.venue, g, &b.venue, h, p));
    }
    for (i, h) in gb.iter().enumerate() {
        if !used_b.contains(&i) {
            out.unmatched.push(Unmatched {
                venue: b.venue.clone(),
                event_id: h.event_id.clone(),
                title: h.title.clone(),
                reason: format!("no {} game between {:?}", a.venue, h.teams),
            });
        }
    }
    out.candidates.sort_by(|x, y| {
        (!x.clean(), std::cmp::Reverse(x.similarity), &x.id).cmp(&(
            !y.clean(),
            std::cmp::Reverse(y.similarity),
            &y.id,
        ))
    });
    out
}

fn game_candidates(
    league: &League,
    va: &str,
    g: &Game<'_>,
    vb: &str,
    h: &Game<'_>,
    p: &MatchParams,
) -> Vec<Candidate> {
    let date = g
        .start_ms
        .or(h.start_ms)
        .map_or_else(|| "nodate".to_string(), date_of);
    let teams: Vec<&str> = g.teams.iter().copied().collect();
    let base = format!("{}-{date}-{}", league.name, teams.join("-"));
    let mut out = Vec::new();
    let mut push = |slug: String, prop: Proposition, sa: VenueSide, sb: VenueSide| {
        let mut notes = Vec::new();
        if league.draws == Draws::Rare && sa.threshold.is_none() {
            notes.push(format!(
                "{} games can end tied; check both rules for how a tie settles",
                league.name
            ));
        }
        let title = format!("{prop} ({} {date})", teams.join(" v "));
        out.push(Candidate {
            id: format!("{base}-{slug}"),
            league: league.name.to_string(),
            vetoes: vetoes(&sa, &sb, league.draws, p),
            flags: price_flags(&sa, &sb, p),
            similarity: similarity(
                &format!("{} {}", sa.title, sa.market_title),
                &format!("{} {}", sb.title, sb.market_title),
            ),
            proposition: prop,
            title,
            notes,
            a: sa,
            b: sb,
        });
    };
    for team in &teams {
        if let (Some(sa), Some(sb)) = (
            wins_side(va, league.name, &g.listings, team),
            wins_side(vb, league.name, &h.listings, team),
        ) {
            let prop = Proposition::Wins {
                team: team.to_string(),
            };
            push(format!("win-{team}"), prop, sa, sb);
        }
    }
    if let (Some(sa), Some(sb)) = (draw_side(va, &g.listings), draw_side(vb, &h.listings)) {
        push("draw".into(), Proposition::Draw, sa, sb);
    }
    // Lines: same value pairs; otherwise a lone line on each side is paired (and vetoed).
    let ta: Vec<VenueSide> = g
        .listings
        .iter()
        .filter_map(|l| threshold_side(va, l))
        .collect();
    let tb: Vec<VenueSide> = h
        .listings
        .iter()
        .filter_map(|l| threshold_side(vb, l))
        .collect();
    let lone = ta.len() == 1 && tb.len() == 1;
    for sa in &ta {
        let Some(la) = sa.threshold.as_ref() else {
            continue;
        };
        let same = tb.iter().find(|sb| {
            sb.threshold.as_ref().is_some_and(|lb| {
                plugin_api::Price::parse(&lb.value).ok() == plugin_api::Price::parse(&la.value).ok()
            })
        });
        let sb = match (same, lone) {
            (Some(sb), _) => sb,
            (None, true) => &tb[0],
            (None, false) => continue,
        };
        let lb = sb
            .threshold
            .as_ref()
            .map(|t| t.value.clone())
            .unwrap_or_default();
        let slug = if lb == la.value {
            format!("line-{}", la.value)
        } else {
            format!("line-{}-{lb}", la.value)
        };
        let prop = Proposition::Threshold {
            value: la.value.clone(),
            direction: la.direction,
        };
        push(slug, prop, sa.clone(), sb.clone());
    }
    out
}
