//! Hard vetoes (a candidate that has one is never approved without a recorded override) and
//! the price-sum flag for a likely inversion.

use plugin_api::{ListingStatus, Price, ThresholdDirection};
use serde::{Deserialize, Serialize};

use super::leagues::Draws;
use super::normalize::date_of;
use super::polarity::{Complement, VenueSide};

/// Matching tolerances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchParams {
    /// Largest difference of the two start times (ms).
    pub start_window_ms: i64,
    /// Largest difference of the two close / expiry times (ms).
    pub close_window_ms: i64,
    /// How far from $1 the sum of P on one venue and not-P on the other may be before the
    /// pair is flagged as a likely inversion.
    pub price_sum_tolerance: Price,
}

impl Default for MatchParams {
    fn default() -> Self {
        MatchParams {
            start_window_ms: 30 * 60_000,
            close_window_ms: 72 * 3_600_000,
            price_sum_tolerance: Price(200_000),
        }
    }
}

/// Why a candidate must not be traded as it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Veto {
    /// The two start times differ by more than the window (different game or postponed).
    StartMismatch {
        /// Venue A's start.
        a_ms: i64,
        /// Venue B's start.
        b_ms: i64,
        /// The window.
        window_ms: i64,
    },
    /// A venue gives no start time, so "same game" cannot be proven.
    StartUnknown {
        /// The venue.
        venue: String,
    },
    /// The lines differ.
    ThresholdValue {
        /// Venue A's line.
        a: String,
        /// Venue B's line.
        b: String,
    },
    /// The lines point in opposite directions.
    ThresholdDirection {
        /// Venue A's direction.
        a: ThresholdDirection,
        /// Venue B's direction.
        b: ThresholdDirection,
    },
    /// A venue's line market states no direction its plugin could read: which way YES points
    /// is not known, so it is never guessed.
    ThresholdDirectionUnknown {
        /// The venue.
        venue: String,
        /// Why (the plugin's account of the fields it read).
        why: String,
    },
    /// One venue lists a draw outcome for the game and the other does not.
    DrawOnOneSide {
        /// The venue listing a draw.
        with_draw: String,
        /// The venue without one.
        without: String,
    },
    /// A venue's "not P" is the other team's token, which pays nothing on a draw, in a game that
    /// can end level: team A's token would be paired against team B's.
    OtherTeamIsNotComplement {
        /// The venue.
        venue: String,
        /// Its "not P" instrument.
        instrument: String,
    },
    /// The close / expiry times differ by more than the window.
    CloseApart {
        /// Venue A's close.
        a_ms: i64,
        /// Venue B's close.
        b_ms: i64,
        /// The window.
        window_ms: i64,
    },
    /// A market is not open for trading.
    NotOpen {
        /// The venue.
        venue: String,
        /// Its status.
        status: ListingStatus,
        /// The venue's words.
        venue_status: String,
    },
}

impl Veto {
    /// Short stable code, e.g. `start_mismatch`.
    pub fn code(&self) -> &'static str {
        match self {
            Veto::StartMismatch { .. } => "start_mismatch",
            Veto::StartUnknown { .. } => "start_unknown",
            Veto::ThresholdValue { .. } => "threshold_value",
            Veto::ThresholdDirection { .. } => "threshold_direction",
            Veto::ThresholdDirectionUnknown { .. } => "threshold_direction_unknown",
            Veto::DrawOnOneSide { .. } => "draw_on_one_side",
            Veto::OtherTeamIsNotComplement { .. } => "other_team_is_not_complement",
            Veto::CloseApart { .. } => "close_apart",
            Veto::NotOpen { .. } => "not_open",
        }
    }
}

fn hours(ms: i64) -> String {
    format!("{:.1}h", ms as f64 / 3_600_000.0)
}

impl std::fmt::Display for Veto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Veto::StartMismatch {
                a_ms,
                b_ms,
                window_ms,
            } => write!(
                f,
                "start times {} and {} differ by {} (window {})",
                date_of(*a_ms),
                date_of(*b_ms),
                hours((a_ms - b_ms).abs()),
                hours(*window_ms)
            ),
            Veto::StartUnknown { venue } => write!(f, "{venue} gives no start time"),
            Veto::ThresholdValue { a, b } => write!(f, "different lines: {a} vs {b}"),
            Veto::ThresholdDirection { a, b } => {
                write!(f, "opposite directions: {a:?} vs {b:?}")
            }
            Veto::ThresholdDirectionUnknown { venue, why } => {
                write!(f, "{venue} line market has no readable direction: {why}")
            }
            Veto::DrawOnOneSide { with_draw, without } => write!(
                f,
                "{with_draw} lists a draw for this game, {without} does not"
            ),
            Veto::OtherTeamIsNotComplement { venue, instrument } => write!(
                f,
                "not-P on {venue} would be the other team's token {instrument}, which does not pay on a draw"
            ),
            Veto::CloseApart {
                a_ms,
                b_ms,
                window_ms,
            } => write!(
                f,
                "close times differ by {} (window {})",
                hours((a_ms - b_ms).abs()),
                hours(*window_ms)
            ),
            Veto::NotOpen {
                venue,
                status,
                venue_status,
            } => write!(f, "{venue} market is {status:?} ({venue_status})"),
        }
    }
}

/// A warning that blocks approval without a recorded override, like a veto, but is a
/// judgement rather than a fact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Flag {
    /// P on one venue plus not-P on the other is far from $1: the sides likely mean opposite
    /// things (inverted polarity).
    PriceSum {
        /// Ask of A's P plus ask of B's not-P, if both listed.
        yes_a_no_b: Option<Price>,
        /// Ask of A's not-P plus ask of B's P, if both listed.
        no_a_yes_b: Option<Price>,
    },
    /// The registry already holds a live pair (not rejected or retired) on the same
    /// instruments under another id: approving both would trade the same legs twice and
    /// double the exposure.
    SameInstruments {
        /// The registered pair.
        pair: String,
    },
}

impl Flag {
    /// Stable code, as a blocker names it.
    pub fn code(&self) -> &'static str {
        match self {
            Flag::PriceSum { .. } => "price_sum",
            Flag::SameInstruments { .. } => "same_instruments",
        }
    }
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flag::PriceSum {
                yes_a_no_b,
                no_a_yes_b,
            } => {
                let s = |p: &Option<Price>| p.map_or("-".into(), |p| p.to_string());
                write!(
                    f,
                    "likely inversion: P(A)+notP(B) asks {} and notP(A)+P(B) asks {}, far from 1",
                    s(yes_a_no_b),
                    s(no_a_yes_b)
                )
            }
            Flag::SameInstruments { pair } => write!(
                f,
                "pair {pair} in the registry trades the same instruments; approving both would double the exposure"
            ),
        }
    }
}

/// Every veto of a candidate, in a fixed order.
pub fn vetoes(a: &VenueSide, b: &VenueSide, draws: Draws, p: &MatchParams) -> Vec<Veto> {
    let mut v = Vec::new();
    match (a.start_ms, b.start_ms) {
        (Some(x), Some(y)) if (x - y).abs() > p.start_window_ms => v.push(Veto::StartMismatch {
            a_ms: x,
            b_ms: y,
            window_ms: p.start_window_ms,
        }),
        (Some(_), Some(_)) => {}
        (None, _) => v.push(Veto::StartUnknown {
            venue: a.venue.clone(),
        }),
        (_, None) => v.push(Veto::StartUnknown {
            venue: b.venue.clone(),
        }),
    }
    if let (Some(ta), Some(tb)) = (&a.threshold, &b.threshold) {
        if !same_number(&ta.value, &tb.value) {
            v.push(Veto::ThresholdValue {
                a: ta.value.clone(),
                b: tb.value.clone(),
            });
        }
        let unknown = ThresholdDirection::Unknown;
        for (s, t) in [(a, ta), (b, tb)] {
            if t.direction == unknown {
                v.push(Veto::ThresholdDirectionUnknown {
                    venue: s.venue.clone(),
                    why: t.source.clone(),
                });
            }
        }
        if ta.direction != tb.direction && ta.direction != unknown && tb.direction != unknown {
            v.push(Veto::ThresholdDirection {
                a: ta.direction,
                b: tb.direction,
            });
        }
    }
    if a.threshold.is_none() {
        match (a.draw_listed, b.draw_listed) {
            (Some(true), Some(false)) => v.push(Veto::DrawOnOneSide {
                with_draw: a.venue.clone(),
                without: b.venue.clone(),
            }),
            (Some(false), Some(true)) => v.push(Veto::DrawOnOneSide {
                with_draw: b.venue.clone(),
                without: a.venue.clone(),
            }),
            _ => {}
        }
        let draw_possible =
            draws == Draws::Common || a.draw_listed == Some(true) || b.draw_listed == Some(true);
        for s in [a, b] {
            if draw_possible && s.complement == Complement::OtherTeam {
                v.push(Veto::OtherTeamIsNotComplement {
                    venue: s.venue.clone(),
                    instrument: s.no.clone(),
                });
            }
        }
    }
    if let (Some(x), Some(y)) = (a.close_ms, b.close_ms) {
        if (x - y).abs() > p.close_window_ms {
            v.push(Veto::CloseApart {
                a_ms: x,
                b_ms: y,
                window_ms: p.close_window_ms,
            });
        }
    }
    for s in [a, b] {
        if s.status != ListingStatus::Open {
            v.push(Veto::NotOpen {
                venue: s.venue.clone(),
                status: s.status,
                venue_status: s.venue_status.clone(),
            });
        }
    }
    v
}

/// Two decimal strings naming the same number (`220.5` and `220.50`).
fn same_number(a: &str, b: &str) -> bool {
    match (Price::parse(a), Price::parse(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

/// The price-sum check: buying P on one venue and not-P on the other costs about $1 when the
/// sides mean the same thing; an inverted pair costs about 2p or 2(1 − p).
pub fn price_flags(a: &VenueSide, b: &VenueSide, p: &MatchParams) -> Vec<Flag> {
    let sum = |x: Option<Price>, y: Option<Price>| Some(Price(x?.0.checked_add(y?.0)?));
    let s1 = sum(a.yes_ask, b.no_ask);
    let s2 = sum(a.no_ask, b.yes_ask);
    let off =
        |s: Option<Price>| s.is_some_and(|s| (s.0 - Price::ONE.0).abs() > p.price_sum_tolerance.0);
    if off(s1) || off(s2) {
        vec![Flag::PriceSum {
            yes_a_no_b: s1,
            no_a_yes_b: s2,
        }]
    } else {
        Vec::new()
    }
}
