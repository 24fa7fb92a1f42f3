//! `Listings` for pair discovery, from the scenario's market definitions.
//!
//! Each scenario market becomes one [`Listing`], its outcomes labelled from the scenario's
//! structured fields the way the real venue's plugin labels them from the venue's:
//!
//! * Polymarket rules, a two-outcome market (`outcomes` are names, e.g. `["Lakers", "Hawks"]`):
//!   token `i` pays if `outcomes[i]` wins (source `outcomes[i]`), as Gamma's `outcomes` aligns
//!   with `clobTokenIds`.
//! * Polymarket rules, a Yes/No market: the scenario writes no `groupItemTitle`, so the subject
//!   is read from the question the scenario generator writes (`Will <team> win on <date>?`,
//!   `Will <a> vs. <b> end in a draw?`); anything else is a plain statement, which discovery
//!   never pairs. The source says so.
//! * Kalshi rules: the subject is the market ticker's suffix after its event ticker (`…-LAL`
//!   names the Lakers; `…-TIE` the draw), `TICKER:yes` pays if it holds, `TICKER:no` if not.
//!
//! A market line's optional `start_ms` is the listing's start time (generated scenarios write
//! it, the same instant on both venues); a market without one lists no start time, and
//! discovery vetoes its candidates `start_unknown`. The scenario has no rules text, so `rules`
//! says that. Status is the market's at the simulated time; listing never moves that
//! clock (a fresh instance, as `polymix pairs discover` creates, lists the scenario as it
//! opens).

use std::collections::BTreeMap;

use plugin_api::{Listing, ListingFilter, ListingOutcome, ListingStatus, OutcomeSide, Subject};

use crate::scenario::{MarketDef, RulesKind};

/// Listing pages are this long unless the filter asks for fewer.
const PAGE: usize = 500;

/// What a market's outcome is about, and the field it was read from.
fn subject_of(rules: RulesKind, m: &MarketDef) -> (Subject, String) {
    match rules {
        RulesKind::Kalshi => {
            let suffix =
                m.id.strip_prefix(&format!("{}-", m.event))
                    .unwrap_or_default();
            match suffix {
                "" => (
                    Subject::Statement,
                    "ticker has no suffix after its event".into(),
                ),
                "TIE" => (Subject::Draw, "ticker suffix TIE".into()),
                code => (
                    Subject::Participant { name: code.into() },
                    format!("ticker suffix {code}"),
                ),
            }
        }
        RulesKind::Polymarket => {
            let q = m.title.as_str();
            let source = "question (scenario has no groupItemTitle)".to_string();
            if let Some(team) = q
                .strip_prefix("Will ")
                .and_then(|r| r.split_once(" win on "))
                .map(|(t, _)| t)
            {
                (Subject::Participant { name: team.into() }, source)
            } else if q.starts_with("Will ") && q.ends_with(" end in a draw?") {
                (Subject::Draw, source)
            } else {
                (Subject::Statement, source)
            }
        }
    }
}

/// Whether the market's outcomes are named (a two-way market) rather than Yes/No.
fn named_outcomes(rules: RulesKind, m: &MarketDef) -> bool {
    rules == RulesKind::Polymarket && !(m.outcomes[0] == "Yes" && m.outcomes[1] == "No")
}

fn listing(rules: RulesKind, m: &MarketDef, status: &str, event: &[&MarketDef]) -> Listing {
    let (outcomes, participants, participants_source) = if named_outcomes(rules, m) {
        let outcomes = (0..2)
            .map(|i| ListingOutcome {
                instrument: m.instruments[i].clone(),
                side: OutcomeSide::Yes,
                subject: Subject::Participant {
                    name: m.outcomes[i].clone(),
                },
                source: format!("outcomes[{i}]"),
                best_ask: None,
            })
            .collect();
        (outcomes, m.outcomes.to_vec(), "outcomes".to_string())
    } else {
        let (subject, source) = subject_of(rules, m);
        let outcomes = [OutcomeSide::Yes, OutcomeSide::No]
            .into_iter()
            .zip(&m.instruments)
            .map(|(side, instrument)| ListingOutcome {
                instrument: instrument.clone(),
                side,
                subject: subject.clone(),
                source: source.clone(),
                best_ask: None,
            })
            .collect();
        // The event's teams: every participant its markets are about.
        let teams = event
            .iter()
            .filter_map(|e| match subject_of(rules, e).0 {
                Subject::Participant { name } => Some(name),
                _ => None,
            })
            .collect();
        let src = match rules {
            RulesKind::Kalshi => "ticker suffixes of the event's markets",
            RulesKind::Polymarket => "questions of the event's markets",
        };
        (outcomes, teams, src.to_string())
    };
    let draw = event
        .iter()
        .any(|e| !named_outcomes(rules, e) && subject_of(rules, e).0 == Subject::Draw);
    Listing {
        event_id: m.event.clone(),
        market_id: m.id.clone(),
        series: Some(m.series.clone()),
        title: event.first().map_or(&m.title, |e| &e.title).clone(),
        market_title: m.title.clone(),
        participants,
        participants_source,
        start_ms: m.start_ms,
        close_ms: m.close_ms,
        status: match status {
            "open" => ListingStatus::Open,
            "closed" => ListingStatus::Closed,
            "settled" => ListingStatus::Settled,
            _ => ListingStatus::Unknown,
        },
        venue_status: status.to_string(),
        outcomes,
        threshold: None,
        draw_listed: Some(draw),
        // One of several mutually exclusive Yes/No markets of its event (a 1X2 game).
        multi_outcome: !named_outcomes(rules, m) && event.len() > 2,
        rules: format!(
            "(paper-sim scenario: no rules text) {}; settles by the scenario's resolve record",
            m.title
        ),
    }
}

/// One page of listings: `markets` are this venue's markets with their status words.
pub(crate) fn page(
    rules: RulesKind,
    markets: &[(&MarketDef, &'static str)],
    filter: &ListingFilter,
) -> (Vec<Listing>, Option<String>) {
    let mut events: BTreeMap<&str, Vec<&MarketDef>> = BTreeMap::new();
    for (m, _) in markets {
        events.entry(m.event.as_str()).or_default().push(m);
    }
    let series = filter.series.as_deref().map(str::to_ascii_lowercase);
    let selected: Vec<&(&MarketDef, &str)> = markets
        .iter()
        .filter(|(m, status)| {
            series
                .as_deref()
                .is_none_or(|s| m.series.to_ascii_lowercase() == s)
                && (!filter.open_only || *status == "open")
                // The start time places a market in the window; without one, the close time.
                && filter.from_ms.is_none_or(|f| m.start_ms.or(m.close_ms).is_some_and(|c| c >= f))
                && filter.to_ms.is_none_or(|t| m.start_ms.or(m.close_ms).is_some_and(|c| c < t))
        })
        .collect();
    let start: usize = filter
        .cursor
        .as_deref()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let limit = filter.limit.map_or(PAGE, |l| (l as usize).clamp(1, PAGE));
    let out = selected
        .iter()
        .skip(start)
        .take(limit)
        .map(|(m, status)| listing(rules, m, status, &events[m.event.as_str()]))
        .collect();
    let next = (start + limit < selected.len()).then(|| (start + limit).to_string());
    (out, next)
}
