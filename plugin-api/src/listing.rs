//! Listings: a venue's markets described by their structure, so the host can find the same
//! proposition on two venues and prove which instrument pays when it holds.
//!
//! A venue plugin answers [`crate::VenueOp::Listings`] with [`crate::OpResult::Listings`]: one
//! [`Listing`] per venue market, each outcome instrument labelled from the venue's *structured*
//! fields (a Kalshi market's `yes_sub_title`, a Polymarket market's `outcomes` entry at the
//! index of its `clobTokenIds` entry), never from prices. Every label says which field it came
//! from ([`ListingOutcome::source`]), so a reviewer can check the polarity against the venue.
//!
//! A plugin that cannot describe a field leaves it out (`None`, empty) rather than guessing;
//! the host's matcher treats unknown as "cannot prove" and does not propose such a pair as safe.

use serde::{Deserialize, Serialize};

use crate::money::Price;

/// Which markets to list (one page).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingFilter {
    /// Venue series or tag, e.g. Kalshi `KXNBAGAME` or Polymarket tag slug `nba`.
    pub series: Option<String>,
    /// Only events starting (or, without a start time, closing) at or after this time (ms).
    pub from_ms: Option<i64>,
    /// Only events starting (or closing) before this time (ms).
    pub to_ms: Option<i64>,
    /// Only open markets (the default for discovery is every status, so a market closed on one
    /// venue shows up and can be vetoed with that reason).
    pub open_only: bool,
    /// Pagination cursor from a previous page.
    pub cursor: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
}

/// Where a market is in its life, mapped from the venue's own status words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingStatus {
    /// Accepting orders.
    Open,
    /// Listed, not yet open (Kalshi `initialized`).
    Unopened,
    /// Temporarily not accepting orders (Kalshi `inactive`, Polymarket `acceptingOrders=false`).
    Paused,
    /// Past its close, result pending or being determined.
    Closed,
    /// Result final and paid.
    Settled,
    /// A status word the plugin does not know.
    Unknown,
}

/// Which side of its subject an outcome instrument pays on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeSide {
    /// Pays $1 when the subject holds.
    Yes,
    /// Pays $1 when the subject does not hold.
    No,
}

crate::tag_first::tag_first_enum! {
    /// What an outcome is about, from the venue's structured fields.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub enum Subject tagged "kind" {
        /// The named participant (team, player) wins the event.
        Participant {
            /// The name exactly as the venue wrote it (e.g. `Los Angeles L`, `Lakers`).
            name: String,
        },
        /// The event ends in a draw (tie).
        Draw,
        /// The listing's [`Threshold`] proposition holds (value above, or below, the line).
        Threshold,
        /// The market's question as a whole (no structure the plugin could read).
        Statement,
    }
}

/// One instrument of a listing and what it pays on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingOutcome {
    /// The instrument id to trade (Polymarket token id; Kalshi `TICKER:yes` / `TICKER:no`).
    pub instrument: String,
    /// Whether it pays when [`ListingOutcome::subject`] holds or when it does not.
    pub side: OutcomeSide,
    /// What it is about.
    pub subject: Subject,
    /// The venue fields the label came from, e.g. `yes_sub_title` or `outcomes[1]`.
    pub source: String,
    /// Best ask (cost of one share) if the listing carried it; for the price-sum check only,
    /// never for polarity.
    pub best_ask: Option<Price>,
}

/// Which way a threshold proposition points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdDirection {
    /// The measured value is above (over) the line.
    Above,
    /// The measured value is below (under) the line.
    Below,
    /// The venue's structured fields do not state a direction the plugin can read (the
    /// threshold's `source` says why). Discovery vetoes any pair on it; it never guesses.
    Unknown,
}

/// A market's line and the direction its headline (YES, or first outcome) proposition states.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Threshold {
    /// The line as the venue wrote it, a decimal string (e.g. `220.5`).
    pub value: String,
    /// Direction of the headline proposition.
    pub direction: ThresholdDirection,
    /// The venue fields it came from, e.g. `strike_type, floor_strike`.
    pub source: String,
}

/// One venue market, described by its structure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Venue event id (Kalshi event ticker, Polymarket event id).
    pub event_id: String,
    /// Venue market id (Kalshi market ticker, Polymarket condition id).
    pub market_id: String,
    /// Venue series or league code (Kalshi `series_ticker`, Polymarket series/tag slug).
    pub series: Option<String>,
    /// Event title as the venue wrote it.
    pub title: String,
    /// Market title or question as the venue wrote it.
    pub market_title: String,
    /// The event's participants (teams), as the venue names them, from structured fields.
    pub participants: Vec<String>,
    /// Where the participants came from, e.g. `markets[].yes_sub_title`.
    pub participants_source: String,
    /// Scheduled start of the underlying event (game), ms since the Unix epoch.
    pub start_ms: Option<i64>,
    /// When trading closes / the market is expected to expire, ms since the Unix epoch.
    pub close_ms: Option<i64>,
    /// Status.
    pub status: ListingStatus,
    /// The venue's own status word(s), for the reviewer.
    pub venue_status: String,
    /// The instruments and what each pays on.
    pub outcomes: Vec<ListingOutcome>,
    /// The line and direction, if the market has one.
    pub threshold: Option<Threshold>,
    /// Whether the venue lists a draw (tie) as an outcome of this event: `Some(true)` when the
    /// event has a draw market or outcome, `Some(false)` when the event's outcomes are known
    /// and none is a draw, `None` when the plugin cannot tell.
    pub draw_listed: Option<bool>,
    /// This market is one outcome of a mutually exclusive event with more than two outcomes
    /// (e.g. a soccer 1X2 event listed as three markets).
    pub multi_outcome: bool,
    /// The market's rules text (settlement terms), verbatim.
    pub rules: String,
}

impl Listing {
    /// The outcome paying when `subject` holds (`Yes`) or not (`No`), if the listing has it.
    pub fn outcome(&self, side: OutcomeSide, subject: &Subject) -> Option<&ListingOutcome> {
        self.outcomes
            .iter()
            .find(|o| o.side == side && &o.subject == subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_round_trips_as_json() {
        let l = Listing {
            event_id: "E".into(),
            market_id: "M".into(),
            series: Some("KXNBAGAME".into()),
            title: "Los Angeles L at Boston".into(),
            market_title: "Los Angeles L at Boston Winner?".into(),
            participants: vec!["Los Angeles L".into(), "Boston".into()],
            participants_source: "markets[].yes_sub_title".into(),
            start_ms: Some(1),
            close_ms: Some(2),
            status: ListingStatus::Open,
            venue_status: "active".into(),
            outcomes: vec![ListingOutcome {
                instrument: "M:yes".into(),
                side: OutcomeSide::Yes,
                subject: Subject::Participant {
                    name: "Los Angeles L".into(),
                },
                source: "yes_sub_title".into(),
                best_ask: Some(Price(550_000)),
            }],
            threshold: None,
            draw_listed: Some(false),
            multi_outcome: false,
            rules: "If Los Angeles L wins...".into(),
        };
        let j = serde_json::to_string(&l).unwrap();
        assert!(j.contains(r#""kind":"participant""#), "{j}");
        let back: Listing = serde_json::from_str(&j).unwrap();
        assert_eq!(back, l);
        let subj = Subject::Participant {
            name: "Los Angeles L".into(),
        };
        assert_eq!(
            l.outcome(OutcomeSide::Yes, &subj).unwrap().instrument,
            "M:yes"
        );
        assert!(l.outcome(OutcomeSide::No, &subj).is_none());
    }
}
