//! The leagues discovery knows: where each venue lists them and whether a game can end level.
//!
//! Maintained by hand, like the alias table: a league is only discovered when both its venue
//! codes are known here (Kalshi series tickers, kalshi.md §6; Polymarket Gamma tag slugs).

use serde::Serialize;

/// Whether a game of the league can end in a draw (tie), which decides whether "team A does not
/// win" equals "team B wins".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Draws {
    /// Never (overtime / shootout / extra innings decide every game).
    Never,
    /// Possible but rare (NFL regular season ties); venues may settle a tie differently.
    Rare,
    /// Part of the market (soccer 1X2): each outcome is its own proposition.
    Common,
}

/// One league.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct League {
    /// Short name used on the command line and in pair ids, e.g. `nba`.
    pub name: &'static str,
    /// Kalshi series tickers listing its games (winner markets first).
    pub kalshi_series: &'static [&'static str],
    /// Polymarket Gamma tag slug of its games.
    pub polymarket_tag: &'static str,
    /// Draw rule.
    pub draws: Draws,
}

/// Every league discovery knows.
pub const LEAGUES: &[League] = &[
    League {
        name: "nba",
        kalshi_series: &["KXNBAGAME", "KXNBATOTAL"],
        polymarket_tag: "nba",
        draws: Draws::Never,
    },
    League {
        name: "nfl",
        kalshi_series: &["KXNFLGAME", "KXNFLTOTAL"],
        polymarket_tag: "nfl",
        draws: Draws::Rare,
    },
    League {
        name: "nhl",
        kalshi_series: &["KXNHLGAME", "KXNHLTOTAL"],
        polymarket_tag: "nhl",
        draws: Draws::Never,
    },
    League {
        name: "mlb",
        kalshi_series: &["KXMLBGAME", "KXMLBTOTAL"],
        polymarket_tag: "mlb",
        draws: Draws::Never,
    },
    League {
        name: "epl",
        kalshi_series: &["KXEPLGAME", "KXEPLTOTAL"],
        polymarket_tag: "epl",
        draws: Draws::Common,
    },
];

/// The league named `name` (case-insensitive).
pub fn league(name: &str) -> Option<&'static League> {
    LEAGUES.iter().find(|l| l.name.eq_ignore_ascii_case(name))
}

/// The league a venue series or tag belongs to.
pub fn league_of_series(series: &str) -> Option<&'static League> {
    LEAGUES.iter().find(|l| {
        l.kalshi_series
            .iter()
            .any(|s| s.eq_ignore_ascii_case(series))
            || l.polymarket_tag.eq_ignore_ascii_case(series)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(league("NBA").unwrap().draws, Draws::Never);
        assert_eq!(league_of_series("KXEPLGAME").unwrap().name, "epl");
        assert_eq!(league_of_series("nfl").unwrap().draws, Draws::Rare);
        assert!(league("curling").is_none());
    }
}
