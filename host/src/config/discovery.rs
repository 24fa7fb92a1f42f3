//! `[discovery]`: pair discovery the engine runs itself at start-up.

use serde::{Deserialize, Serialize};

use super::load::ConfigError;
use super::model::{Config, Mode};

/// The actor the registry records for approvals made by [`DiscoverySection::auto_approve`].
pub const AUTO_PAPER_ACTOR: &str = "auto-paper";

/// `[discovery]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverySection {
    /// Paper mode only: at start-up, run pair discovery over the venues' listings (as
    /// `polymix pairs discover` does) and approve every candidate with no veto and no flag, as
    /// actor [`AUTO_PAPER_ACTOR`], recorded in the registry like any approval. Pairs a person
    /// has already decided are left as they are. Refused in live mode: real money trades only
    /// pairs a person approved.
    #[serde(default)]
    pub auto_approve: bool,
    /// Leagues to discover (default: every known league).
    #[serde(default)]
    pub leagues: Vec<String>,
    /// Venue A (default: the config's first venue).
    pub venue_a: Option<String>,
    /// Venue B (default: the config's second venue).
    pub venue_b: Option<String>,
}

/// `[discovery]`'s rules: known leagues, named venues, and no auto-approval outside paper mode.
pub(super) fn check(cfg: &Config) -> Result<(), ConfigError> {
    let d = &cfg.discovery;
    let invalid = |key: &str, message: String| ConfigError::Invalid {
        file: cfg.source.clone(),
        key: key.to_string(),
        message,
    };
    if d.auto_approve && cfg.mode != Mode::Paper {
        return Err(invalid(
            "discovery.auto_approve",
            format!(
                "only allowed in paper mode (mode is {}): a live engine trades only pairs a person approved (`polymix pairs approve`)",
                cfg.mode.as_str()
            ),
        ));
    }
    for (i, l) in d.leagues.iter().enumerate() {
        if crate::pairs::leagues::league(l).is_none() {
            let known: Vec<&str> = crate::pairs::leagues::LEAGUES
                .iter()
                .map(|l| l.name)
                .collect();
            return Err(invalid(
                &format!("discovery.leagues[{i}]"),
                format!("unknown league {l:?} (known: {})", known.join(", ")),
            ));
        }
    }
    for (key, v) in [
        ("discovery.venue_a", &d.venue_a),
        ("discovery.venue_b", &d.venue_b),
    ] {
        if let Some(v) = v {
            if cfg.venue(v).is_none() {
                return Err(invalid(key, format!("no [[venue]] named {v:?}")));
            }
        }
    }
    Ok(())
}
