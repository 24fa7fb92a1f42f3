//! Reads a league's listings from one venue through its plugin (`VenueOp::Listings`), page by
//! page, using the venue's own code for the league.

use plugin_api::{Listing, ListingFilter, OpResult, VenueOp, VenueRules};

use super::leagues::League;
use crate::venue_io::{VenueError, VenueIo};

/// Most pages read per series, so a cursor that never ends cannot loop forever.
pub const MAX_PAGES: usize = 50;

/// Why listings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The venue failed or refused.
    #[error("venue {venue}: listings of {series}: {source}")]
    Venue {
        /// Venue.
        venue: String,
        /// Series asked for.
        series: String,
        /// Cause.
        source: VenueError,
    },
    /// The plugin answered with something else.
    #[error("venue {venue}: listings of {series}: the plugin answered {got}, not listings")]
    Unexpected {
        /// Venue.
        venue: String,
        /// Series.
        series: String,
        /// What it answered.
        got: String,
    },
    /// The cursor did not end.
    #[error("venue {venue}: listings of {series}: more than {MAX_PAGES} pages")]
    TooManyPages {
        /// Venue.
        venue: String,
        /// Series.
        series: String,
    },
}

/// The venue codes of a league for a plugin following `rules`: Kalshi series tickers,
/// Polymarket tag slug, or the league name for any other venue.
pub fn series_for(rules: VenueRules, league: &League) -> Vec<String> {
    match rules {
        VenueRules::Kalshi => league.kalshi_series.iter().map(|s| s.to_string()).collect(),
        VenueRules::Polymarket => vec![league.polymarket_tag.to_string()],
        _ => vec![league.name.to_string()],
    }
}

/// Every listing of `league` on the venue behind `io` with a start (or close) in
/// `[from_ms, to_ms)`.
pub async fn fetch_league(
    venue: &str,
    io: &VenueIo,
    rules: VenueRules,
    league: &League,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<Vec<Listing>, FetchError> {
    let mut out = Vec::new();
    for series in series_for(rules, league) {
        let mut cursor = None;
        for page in 0.. {
            if page == MAX_PAGES {
                return Err(FetchError::TooManyPages {
                    venue: venue.to_string(),
                    series,
                });
            }
            let op = VenueOp::Listings {
                filter: ListingFilter {
                    series: Some(series.clone()),
                    from_ms,
                    to_ms,
                    open_only: false,
                    cursor: cursor.take(),
                    limit: None,
                },
            };
            match io.run(&op).await {
                Ok(OpResult::Listings {
                    listings,
                    next_cursor,
                }) => {
                    out.extend(listings);
                    match next_cursor {
                        Some(c) => cursor = Some(c),
                        None => break,
                    }
                }
                Ok(other) => {
                    return Err(FetchError::Unexpected {
                        venue: venue.to_string(),
                        series,
                        got: format!("{other:?}").chars().take(60).collect(),
                    })
                }
                Err(source) => {
                    return Err(FetchError::Venue {
                        venue: venue.to_string(),
                        series,
                        source,
                    })
                }
            }
        }
    }
    Ok(out)
}
