//! Venue roles: a `market-data` instance serves public data only (books, rules, resolutions,
//! exchange status) and may feed a simulator (`feed = "<name>"` on a paper-sim venue), which is
//! how paper mode trades on live markets without ever reaching a live order endpoint.

use serde::{Deserialize, Serialize};

use super::load::ConfigError;
use super::model::Config;

/// What a `[[venue]]` instance is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VenueRole {
    /// Trades (a simulator in paper mode, a real account in live mode).
    #[default]
    Trading,
    /// Public market data only: no secrets, and the host refuses every order, cancel and
    /// account operation to it (`VenueIo`, the one place operations are dispatched).
    MarketData,
}

impl VenueRole {
    /// `trading` or `market-data`.
    pub fn as_str(self) -> &'static str {
        match self {
            VenueRole::Trading => "trading",
            VenueRole::MarketData => "market-data",
        }
    }
}

/// Role and feed rules: a market-data instance takes no secrets and no pair legs; a `feed`
/// names a market-data instance; feeds and scenario replays are not mixed in one run.
pub(super) fn check_roles(cfg: &Config) -> Result<(), ConfigError> {
    let invalid = |key: String, message: String| ConfigError::Invalid {
        file: cfg.source.clone(),
        key,
        message,
    };
    for (i, v) in cfg.venues.iter().enumerate() {
        let at = format!("venue[{i}]");
        if v.role == VenueRole::MarketData {
            if !v.secrets.is_empty() {
                return Err(invalid(
                    format!("{at}.secrets"),
                    format!(
                        "venue `{}` has role = \"market-data\": it uses public endpoints only and takes no secrets; remove them",
                        v.name
                    ),
                ));
            }
            if v.feed.is_some() {
                return Err(invalid(
                    format!("{at}.feed"),
                    "a market-data instance is a feed; it cannot take one".into(),
                ));
            }
        }
        if let Some(f) = &v.feed {
            match cfg.venue(f) {
                Some(src) if src.role == VenueRole::MarketData => {}
                Some(_) => {
                    return Err(invalid(
                        format!("{at}.feed"),
                        format!("venue `{f}` is not a market-data instance (add role = \"market-data\" to it)"),
                    ))
                }
                None => {
                    return Err(invalid(
                        format!("{at}.feed"),
                        format!("no [[venue]] named `{f}`"),
                    ))
                }
            }
            if v.settings.contains_key("scenario") {
                return Err(invalid(
                    format!("{at}.settings.scenario"),
                    "a simulator fed by a live feed replays no scenario; remove one of `feed` and `scenario`".into(),
                ));
            }
        }
    }
    let fed = cfg.venues.iter().any(|v| v.feed.is_some());
    if fed {
        if let Some((i, v)) = cfg.venues.iter().enumerate().find(|(_, v)| {
            v.feed.is_none() && v.role == VenueRole::Trading && v.settings.contains_key("scenario")
        }) {
            return Err(invalid(
                format!("venue[{i}]"),
                format!(
                    "venue `{}` replays a scenario while others are fed live; a run is either a replay or on live feeds",
                    v.name
                ),
            ));
        }
    }
    for (i, p) in cfg.pairs.iter().enumerate() {
        for (side, s) in [("a", &p.a), ("b", &p.b)] {
            if cfg
                .venue(&s.venue)
                .is_some_and(|v| v.role == VenueRole::MarketData)
            {
                return Err(invalid(
                    format!("pair[{i}].{side}.venue"),
                    format!(
                        "venue `{}` is a market-data instance and never trades; name the simulator it feeds",
                        s.venue
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[[venue]]
name = "ks-data"
plugin = "kalshi"
role = "market-data"
[[venue]]
name = "ks"
plugin = "paper-sim"
feed = "ks-data"
[venue.settings]
rules = "kalshi"
"#;

    fn check(extra: &str) -> Result<(), String> {
        let cfg =
            super::super::load::parse(std::path::Path::new("t.toml"), &format!("{BASE}{extra}"))
                .map_err(|e| e.to_string())?;
        check_roles(&cfg).map_err(|e| e.to_string())
    }

    #[test]
    fn feeds_and_market_data_rules() {
        check("").unwrap();
        // Secrets on a trading venue are its own business.
        check("[venue.secrets]\nx = { env = \"X\" }\n").unwrap();
        let e = check(
            "[[venue]]\nname = \"k2\"\nplugin = \"kalshi\"\nrole = \"market-data\"\n[venue.secrets]\nk = { env = \"K\" }\n",
        )
        .unwrap_err();
        assert!(
            e.contains("venue[2].secrets") && e.contains("no secrets"),
            "{e}"
        );
        let e =
            check("[[venue]]\nname = \"s\"\nplugin = \"paper-sim\"\nfeed = \"ks\"\n").unwrap_err();
        assert!(
            e.contains("venue[2].feed") && e.contains("not a market-data"),
            "{e}"
        );
        let e = check("[[venue]]\nname = \"s\"\nplugin = \"paper-sim\"\nfeed = \"nope\"\n")
            .unwrap_err();
        assert!(e.contains("no [[venue]] named `nope`"), "{e}");
        let e = check(
            "[[venue]]\nname = \"s\"\nplugin = \"paper-sim\"\n[venue.settings]\nscenario = \"x.jsonl\"\n",
        )
        .unwrap_err();
        assert!(e.contains("either a replay or on live feeds"), "{e}");
        let e = check(
            "[[pair]]\nid = \"p\"\na = { venue = \"ks-data\", yes = \"A\", no = \"B\" }\nb = { venue = \"ks\", yes = \"C\", no = \"D\" }\n",
        )
        .unwrap_err();
        assert!(
            e.contains("pair[0].a.venue") && e.contains("never trades"),
            "{e}"
        );
    }
}
