//! Instance settings (the `settings` table of a paper-sim venue in the host config).
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `rules` | `"polymarket"` \| `"kalshi"` | required | whose rules to imitate |
//! | `scenario` | path | required unless fed live | scenario file; relative paths resolve against `_config_dir` |
//! | `venue_key` | string | the `rules` value | which scenario venue this instance replays |
//! | `balance` | decimal string (dollars) | `"10000"` | starting cash |
//! | `latency_ms` | integer | `0`; `250` when fed live | added simulated latency on every place and cancel ([`plugin_api::Step::Wait`]); the order then fills against the book as it is after the wait |
//! | `confirm_ms` | integer | Polymarket `4000`, Kalshi `0` | fills report `matched`, then `mined` at half this, `confirmed` after it |
//! | `faults` | array of fault objects | `[]` | faults armed from the start, same fields as a scenario `fault` line without `type`, `ts`, `venue` (replays only) |
//! | `journal` | path | fed live: none; a scenario replay: `<_data_dir>/paper-sim/<_instance>.journal` when the host gives `_data_dir` | the paper account's journal; a restarted run continues from it (relative paths resolve against `_config_dir`). See [`crate::resume`] for a replay |
//!
//! Keys starting with `_` are injected by the host and otherwise ignored: `_config_dir`,
//! `_data_dir` and `_instance` (where a replay's journal goes by default), and
//! `_feed`, the name of the `market-data` instance feeding this one when its `[[venue]]` entry
//! says `feed = "..."` (then no scenario is read: books, rules, resolutions and exchange status
//! arrive through [`plugin_api::VenueOp::Ingest`]). Any other unknown key is an error naming it.

use std::path::{Path, PathBuf};

use plugin_api::settings::{HOST_DATA_DIR, HOST_INSTANCE};
use plugin_api::{PluginError, PluginResult, Usd};
use serde_json::Value;

use crate::scenario::{FaultFields, FaultSpec, RulesKind};

/// Parsed settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Whose rules to imitate.
    pub rules: RulesKind,
    /// Scenario file, resolved (empty when fed live).
    pub scenario: PathBuf,
    /// The market-data instance feeding this one, instead of a scenario.
    pub feed: Option<String>,
    /// Scenario venue key this instance replays.
    pub venue_key: String,
    /// Starting cash.
    pub balance: Usd,
    /// Added latency on place and cancel, ms.
    pub latency_ms: u64,
    /// Fill confirmation delay, ms.
    pub confirm_ms: u64,
    /// Faults armed from the start.
    pub faults: Vec<FaultSpec>,
    /// The journal that keeps the paper account across restarts.
    pub journal: Option<PathBuf>,
}

const KEYS: &[&str] = &[
    "rules",
    "scenario",
    "venue_key",
    "balance",
    "latency_ms",
    "confirm_ms",
    "faults",
    "journal",
];

/// Where a scenario replay's journal goes by default: `<data_dir>/paper-sim/<instance>.journal`
/// (`polymix reset` removes that folder).
pub fn default_journal(data_dir: &Path, instance: &str) -> PathBuf {
    data_dir
        .join("paper-sim")
        .join(format!("{instance}.journal"))
}

fn bad(key: &str, msg: impl std::fmt::Display) -> PluginError {
    PluginError::invalid(format!("paper-sim setting `{key}`: {msg}"))
}

impl Settings {
    /// Parses and validates settings JSON.
    pub fn parse(v: &Value) -> PluginResult<Settings> {
        let obj = match v {
            Value::Object(o) => o,
            Value::Null => return Err(bad("rules", "missing (settings are empty)")),
            _ => return Err(PluginError::invalid("paper-sim settings must be a table")),
        };
        for k in obj.keys() {
            if !plugin_api::settings::is_host_key(k) && !KEYS.contains(&k.as_str()) {
                return Err(bad(
                    k,
                    format!("unknown key (expected one of {})", KEYS.join(", ")),
                ));
            }
        }
        let s = |key: &str| -> PluginResult<Option<&str>> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(bad(key, "expected a string")),
            }
        };
        let u = |key: &str| -> PluginResult<Option<u64>> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| bad(key, "expected a non-negative integer")),
            }
        };
        let rules_s = s("rules")?.ok_or_else(|| bad("rules", "missing (polymarket or kalshi)"))?;
        let rules = RulesKind::parse(rules_s)
            .ok_or_else(|| bad("rules", format!("{rules_s:?} is not polymarket or kalshi")))?;
        let feed = s("_feed")?.map(str::to_string);
        let scen = match (s("scenario")?, &feed) {
            (Some(_), Some(f)) => {
                return Err(bad(
                    "scenario",
                    format!(
                        "this instance is fed live by `{f}`; give a scenario or a feed, not both"
                    ),
                ))
            }
            (Some(sc), None) => sc,
            (None, Some(_)) => "",
            (None, None) => {
                return Err(bad(
                    "scenario",
                    "missing (path to a scenario file, or `feed` on the venue entry)",
                ))
            }
        };
        let mut scenario = PathBuf::from(scen);
        if feed.is_none() && scenario.is_relative() {
            if let Some(dir) = s("_config_dir")? {
                scenario = PathBuf::from(dir).join(scenario);
            }
        }
        let venue_key = s("venue_key")?.unwrap_or(rules.as_str()).to_string();
        let balance = match obj.get("balance") {
            None | Some(Value::Null) => Usd::dollars(10_000),
            Some(Value::String(b)) => Usd::parse(b).map_err(|e| bad("balance", e.message))?,
            Some(Value::Number(n)) if n.is_u64() => Usd::dollars(n.as_u64().unwrap_or(0) as i64),
            Some(_) => {
                return Err(bad(
                    "balance",
                    "expected a decimal string such as \"10000\"",
                ))
            }
        };
        if balance.0 < 0 {
            return Err(bad("balance", "must not be negative"));
        }
        let faults = match obj.get("faults") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let fields: FaultFields = serde_json::from_value(f.clone())
                        .map_err(|e| bad(&format!("faults[{i}]"), e))?;
                    fields
                        .build()
                        .map_err(|(field, m)| bad(&format!("faults[{i}].{field}"), m))
                })
                .collect::<PluginResult<Vec<_>>>()?,
            Some(_) => return Err(bad("faults", "expected an array")),
        };
        let journal = match s("journal")? {
            Some(j) => {
                let mut p = PathBuf::from(j);
                if p.is_relative() {
                    if let Some(dir) = s("_config_dir")? {
                        p = PathBuf::from(dir).join(p);
                    }
                }
                Some(p)
            }
            // A scenario replay keeps its account under the host's data dir, so a killed run
            // continues where it was (see `crate::resume`); a fed instance only when asked.
            None if feed.is_none() => match (s(HOST_DATA_DIR)?, s(HOST_INSTANCE)?) {
                (Some(dir), Some(name)) => Some(default_journal(Path::new(dir), name)),
                _ => None,
            },
            None => None,
        };
        if feed.is_some() && !faults.is_empty() {
            return Err(bad(
                "faults",
                "faults are injected into scenario replays only, not into an instance fed live",
            ));
        }
        // Harder than live by default: a fed instance never fills at the decision's book.
        let default_latency = if feed.is_some() { 250 } else { 0 };
        Ok(Settings {
            rules,
            scenario,
            feed,
            venue_key,
            balance,
            latency_ms: u("latency_ms")?.unwrap_or(default_latency),
            confirm_ms: u("confirm_ms")?.unwrap_or(match rules {
                RulesKind::Polymarket => 4_000,
                RulesKind::Kalshi => 0,
            }),
            faults,
            journal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_relative_path() {
        let s = Settings::parse(
            &json!({"rules":"kalshi","scenario":"scenarios/x.jsonl","_config_dir":"/etc/pmx"}),
        )
        .unwrap();
        assert_eq!(s.scenario, PathBuf::from("/etc/pmx/scenarios/x.jsonl"));
        assert_eq!(s.venue_key, "kalshi");
        assert_eq!(s.balance, Usd::dollars(10_000));
        assert_eq!(s.confirm_ms, 0);
    }

    #[test]
    fn fed_instance_needs_no_scenario_and_waits_by_default() {
        let s = Settings::parse(&json!({"rules":"kalshi","_feed":"ks-data"})).unwrap();
        assert_eq!(s.feed.as_deref(), Some("ks-data"));
        assert_eq!(s.latency_ms, 250);
        let s = Settings::parse(&json!({"rules":"kalshi","_feed":"d","latency_ms":0})).unwrap();
        assert_eq!(s.latency_ms, 0);
        let e = Settings::parse(&json!({"rules":"kalshi","_feed":"d","scenario":"x"})).unwrap_err();
        assert!(e.message.contains("not both"), "{}", e.message);
        let e = Settings::parse(&json!({"rules":"kalshi"})).unwrap_err();
        assert!(e.message.contains("`scenario`"), "{}", e.message);
    }

    #[test]
    fn unknown_key_is_named() {
        let e =
            Settings::parse(&json!({"rules":"kalshi","scenario":"x","ballance":"5"})).unwrap_err();
        assert!(e.message.contains("`ballance`"), "{}", e.message);
        let e =
            Settings::parse(&json!({"rules":"kalshi","scenario":"x","faults":[{"fault":"ghost"}]}))
                .unwrap_err();
        assert!(
            e.message.contains("faults[0].fail_after_ms"),
            "{}",
            e.message
        );
        let e = Settings::parse(&json!({"rules":"x","scenario":"x"})).unwrap_err();
        assert!(e.message.contains("`rules`"));
    }
}
