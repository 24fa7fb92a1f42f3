//! Which venue instance trades a discovered pair. Discovery reads listings from whatever
//! venue can list; in paper on live markets that is a `market-data` instance, which never
//! trades: the simulator it feeds (`[[venue]] feed = "…"`) trades the same instruments. A
//! candidate read from a feed is registered under the simulator, so an approved pair is one
//! the engine can trade; the evidence keeps where the listing came from.

use crate::config::Config;

use super::Candidate;

/// The instance that trades what venue `listed_on` lists: the one simulator it feeds, or
/// itself. `None` when several simulators share the feed (the operator must choose; the
/// registry cannot guess).
pub fn trading_venue(cfg: &Config, listed_on: &str) -> Option<String> {
    let fed: Vec<&str> = cfg
        .venues
        .iter()
        .filter(|v| v.feed.as_deref() == Some(listed_on))
        .map(|v| v.name.as_str())
        .collect();
    match fed.as_slice() {
        [] => Some(listed_on.to_string()),
        [one] => Some((*one).to_string()),
        _ => None,
    }
}

/// Renames each candidate's venues to the instances that trade them (see [`trading_venue`]),
/// noting the feed in the polarity evidence. Errors name a feed shared by several simulators.
pub fn route_to_trading_venues(cfg: &Config, candidates: &mut [Candidate]) -> Result<(), String> {
    for c in candidates {
        for side in [&mut c.a, &mut c.b] {
            let to = trading_venue(cfg, &side.venue).ok_or_else(|| {
                format!(
                    "venue {} feeds several simulators; discover from it with the trading venues named",
                    side.venue
                )
            })?;
            if to != side.venue {
                side.yes_why = format!("{} (listed on feed {})", side.yes_why, side.venue);
                side.no_why = format!("{} (listed on feed {})", side.no_why, side.venue);
                side.venue = to;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(body: &str) -> Config {
        let dir = std::env::temp_dir().join(format!(
            "polymix-route-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.toml");
        std::fs::write(&p, body).unwrap();
        crate::config::load(&p).expect("config loads")
    }

    const FED: &str = r#"
mode = "paper"
[[venue]]
name = "pm-data"
plugin = "polymarket"
role = "market-data"
[[venue]]
name = "pm"
plugin = "paper-sim"
feed = "pm-data"
[venue.settings]
rules = "polymarket"
[[venue]]
name = "ks"
plugin = "kalshi"
"#;

    #[test]
    fn a_feed_routes_to_the_simulator_it_feeds_and_others_stay() {
        let c = cfg(FED);
        assert_eq!(trading_venue(&c, "pm-data").as_deref(), Some("pm"));
        assert_eq!(trading_venue(&c, "ks").as_deref(), Some("ks"));
        assert_eq!(trading_venue(&c, "pm").as_deref(), Some("pm"));
    }

    #[test]
    fn a_feed_shared_by_two_simulators_is_not_guessed() {
        let two = format!(
            "{FED}\n[[venue]]\nname = \"pm2\"\nplugin = \"paper-sim\"\nfeed = \"pm-data\"\n[venue.settings]\nrules = \"polymarket\"\n"
        );
        assert_eq!(trading_venue(&cfg(&two), "pm-data"), None);
    }
}
