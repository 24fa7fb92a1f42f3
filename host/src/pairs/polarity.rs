//! Polarity from structure: for a proposition P, which instrument of a venue pays when P holds
//! (`yes`) and which when it does not (`no`), and the venue fields that say so. Prices are never
//! consulted here.

use plugin_api::{
    Listing, ListingOutcome, ListingStatus, OutcomeSide, Price, Subject, Threshold,
    ThresholdDirection,
};
use serde::{Deserialize, Serialize};

use super::aliases::team_code;

/// The proposition a pair trades.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Proposition {
    /// The team (alias-table code) wins the game.
    Wins {
        /// Team code, e.g. `LAL`.
        team: String,
    },
    /// The game ends in a draw.
    Draw,
    /// The game's measured value is above / below the line.
    Threshold {
        /// The line as venue A wrote it.
        value: String,
        /// Direction on venue A.
        direction: ThresholdDirection,
    },
}

impl std::fmt::Display for Proposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proposition::Wins { team } => write!(f, "{team} wins"),
            Proposition::Draw => write!(f, "draw"),
            Proposition::Threshold { value, direction } => match direction {
                ThresholdDirection::Above => write!(f, "over {value}"),
                ThresholdDirection::Below => write!(f, "under {value}"),
                ThresholdDirection::Unknown => write!(f, "line {value}, direction unknown"),
            },
        }
    }
}

/// How a venue's `no` instrument was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Complement {
    /// The NO side of the same market: pays exactly when `yes` does not.
    SameMarket,
    /// The other team's token of a two-way market: pays when the other team wins, so it equals
    /// "not P" only if the game cannot end level.
    OtherTeam,
}

/// One venue's side of a candidate: its instruments for P and not-P, with the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueSide {
    /// Venue instance name.
    pub venue: String,
    /// Venue event id.
    pub event_id: String,
    /// Venue market id.
    pub market_id: String,
    /// Event title.
    pub title: String,
    /// Market title.
    pub market_title: String,
    /// Instrument paying if P.
    pub yes: String,
    /// Instrument paying if not P.
    pub no: String,
    /// Why `yes` pays if P: the fields it came from.
    pub yes_why: String,
    /// Why `no` pays if not P.
    pub no_why: String,
    /// How `no` was found.
    pub complement: Complement,
    /// Scheduled start (ms).
    pub start_ms: Option<i64>,
    /// Close / expiry (ms).
    pub close_ms: Option<i64>,
    /// Status.
    pub status: ListingStatus,
    /// The venue's status words.
    pub venue_status: String,
    /// Whether the venue lists a draw outcome for the event.
    pub draw_listed: Option<bool>,
    /// One outcome of a multi-outcome event.
    pub multi_outcome: bool,
    /// The market's line.
    pub threshold: Option<Threshold>,
    /// Best ask of `yes`, if listed.
    pub yes_ask: Option<Price>,
    /// Best ask of `no`, if listed.
    pub no_ask: Option<Price>,
    /// The market's rules text.
    pub rules: String,
}

fn why(l: &Listing, o: &ListingOutcome, meaning: &str) -> String {
    format!(
        "{} of market {} ({}): {meaning}",
        o.instrument, l.market_id, o.source
    )
}

fn side(
    venue: &str,
    l: &Listing,
    yes: &ListingOutcome,
    no: &ListingOutcome,
    yes_means: &str,
    no_means: &str,
    complement: Complement,
) -> VenueSide {
    VenueSide {
        venue: venue.to_string(),
        event_id: l.event_id.clone(),
        market_id: l.market_id.clone(),
        title: l.title.clone(),
        market_title: l.market_title.clone(),
        yes: yes.instrument.clone(),
        no: no.instrument.clone(),
        yes_why: why(l, yes, yes_means),
        no_why: why(l, no, no_means),
        complement,
        start_ms: l.start_ms,
        close_ms: l.close_ms,
        status: l.status,
        venue_status: l.venue_status.clone(),
        draw_listed: l.draw_listed,
        multi_outcome: l.multi_outcome,
        threshold: l.threshold.clone(),
        yes_ask: yes.best_ask,
        no_ask: no.best_ask,
        rules: l.rules.clone(),
    }
}

/// The team code an outcome names, if it names one the alias table knows.
fn team_of(league: &str, o: &ListingOutcome) -> Option<&'static str> {
    match &o.subject {
        Subject::Participant { name } => team_code(league, name),
        _ => None,
    }
}

/// A venue's instruments for "`team` wins" among one game's listings: the YES and NO sides of
/// the team's own market when there is one (preferred), else the two tokens of a two-way market.
pub fn wins_side(venue: &str, league: &str, game: &[&Listing], team: &str) -> Option<VenueSide> {
    let yes_means = format!("pays if {team} wins");
    let no_means = format!("pays if {team} does not win");
    for l in game {
        let yes = l
            .outcomes
            .iter()
            .find(|o| o.side == OutcomeSide::Yes && team_of(league, o) == Some(team));
        let no = l
            .outcomes
            .iter()
            .find(|o| o.side == OutcomeSide::No && team_of(league, o) == Some(team));
        if let (Some(y), Some(n)) = (yes, no) {
            return Some(side(
                venue,
                l,
                y,
                n,
                &yes_means,
                &no_means,
                Complement::SameMarket,
            ));
        }
    }
    for l in game {
        if l.outcomes.len() != 2 || l.outcomes.iter().any(|o| o.side != OutcomeSide::Yes) {
            continue;
        }
        let (o0, o1) = (&l.outcomes[0], &l.outcomes[1]);
        let (y, n) = match (team_of(league, o0), team_of(league, o1)) {
            (Some(t0), Some(t1)) if t0 == team && t1 != team => (o0, o1),
            (Some(t0), Some(t1)) if t1 == team && t0 != team => (o1, o0),
            _ => continue,
        };
        let other = team_of(league, n).unwrap_or("?");
        return Some(side(
            venue,
            l,
            y,
            n,
            &yes_means,
            &format!("pays if {other} wins (= {team} does not win only if no draw)"),
            Complement::OtherTeam,
        ));
    }
    None
}

/// A venue's instruments for "draw": the YES and NO sides of its draw market.
pub fn draw_side(venue: &str, game: &[&Listing]) -> Option<VenueSide> {
    game.iter().find_map(|l| {
        let y = l.outcome(OutcomeSide::Yes, &Subject::Draw)?;
        let n = l.outcome(OutcomeSide::No, &Subject::Draw)?;
        Some(side(
            venue,
            l,
            y,
            n,
            "pays on a draw",
            "pays unless a draw",
            Complement::SameMarket,
        ))
    })
}

/// A venue's instruments for a threshold market's headline proposition.
pub fn threshold_side(venue: &str, l: &Listing) -> Option<VenueSide> {
    let t = l.threshold.as_ref()?;
    let y = l.outcome(OutcomeSide::Yes, &Subject::Threshold)?;
    let n = l.outcome(OutcomeSide::No, &Subject::Threshold)?;
    let word = match t.direction {
        ThresholdDirection::Above => "above",
        ThresholdDirection::Below => "below",
        ThresholdDirection::Unknown => "(direction unknown)",
    };
    Some(side(
        venue,
        l,
        y,
        n,
        &format!("pays if {word} {} ({})", t.value, t.source),
        &format!("pays unless {word} {}", t.value),
        Complement::SameMarket,
    ))
}
