//! Instance settings (the `settings` table of a paper-sim venue in the host config).
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `rules` | `"polymarket"` \| `"kalshi"` | required | whose rules to imitate |
//! | `scenario` | path | required | scenario file; relative paths resolve against `_config_dir` |
//! | `venue_key` | string | the `rules` value | which scenario venue this instance replays |
//! | `balance` | decimal string (dollars) | `"10000"` | starting cash |
//! | `latency_ms` | integer | `0` | added simulated latency on every place and cancel ([`plugin_api::Step::Wait`]) |
//! | `confirm_ms` | integer | Polymarket `4000`, Kalshi `0` | fills report `matched`, then `mined` at half this, `confirmed` after it |
//! | `faults` | array of fault objects | `[]` | faults armed from the start, same fields as a scenario `fault` line without `type`, `ts`, `venue` |
//!
//! Keys starting with `_` are injected by the host (`_config_dir`) and otherwise ignored; any
//! other unknown key is an error naming it.

use std::path::PathBuf;

use plugin_api::{PluginError, PluginResult, Usd};
use serde_json::Value;

use crate::scenario::{FaultFields, FaultSpec, RulesKind};

/// Parsed settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Whose rules to imitate.
    pub rules: RulesKind,
    /// Scenario file, resolved.
    pub scenario: PathBuf,
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
}

const KEYS: &[&str] = &[
    "rules",
    "scenario",
    "venue_key",
    "balance",
    "latency_ms",
    "confirm_ms",
    "faults",
];

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
            if !k.starts_with('_') && !KEYS.contains(&k.as_str()) {
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
        let scen =
            s("scenario")?.ok_or_else(|| bad("scenario", "missing (path to a scenario file)"))?;
        let mut scenario = PathBuf::from(scen);
        if scenario.is_relative() {
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
        Ok(Settings {
            rules,
            scenario,
            venue_key,
            balance,
            latency_ms: u("latency_ms")?.unwrap_or(0),
            confirm_ms: u("confirm_ms")?.unwrap_or(match rules {
                RulesKind::Polymarket => 4_000,
                RulesKind::Kalshi => 0,
            }),
            faults,
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
