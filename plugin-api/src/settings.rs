//! Reading a plugin's `settings` table (the TOML table from config, handed over as JSON):
//! known keys only (plus the host's context keys, see [`HOST_KEY_PREFIX`]), exact decimals, and
//! errors that name the key.
//!
//! ```
//! use plugin_api::settings::SettingsTable;
//! let v = serde_json::json!({"bet_amount": "250.50", "slippage_bps": 25});
//! let t = SettingsTable::parse(&v, &["bet_amount", "slippage_bps"]).unwrap();
//! assert_eq!(t.decimal("bet_amount").unwrap(), Some(250_500_000));
//! assert_eq!(t.integer("slippage_bps").unwrap(), Some(25));
//! assert!(SettingsTable::parse(&serde_json::json!({"bet": 1}), &["bet_amount"]).is_err());
//! // The host's context keys are not settings: ignored unless asked for.
//! let ctx = serde_json::json!({"bet_amount": "1", "_config_dir": "/etc/polymix"});
//! assert!(SettingsTable::parse(&ctx, &["bet_amount"]).is_ok());
//! ```

use serde_json::{Map, Value};
use std::fmt::Display;
use std::ops::RangeInclusive;

use crate::{PluginError, Usd};

/// Settings keys starting with `_` are context the host adds to every instance's table; a
/// config file never contains them (the host refuses such keys there). A plugin reads the ones
/// it needs and ignores the others: [`SettingsTable::parse`] does, and a plugin parsing its
/// table another way should skip keys for which [`is_host_key`] holds.
pub const HOST_KEY_PREFIX: &str = "_";
/// Host context: the directory of the config file, so relative paths in settings resolve
/// against it. Every instance gets it.
pub const HOST_CONFIG_DIR: &str = "_config_dir";
/// Host context: the config's data directory (resolved), where the host keeps its ledger; a
/// plugin that keeps state of its own across restarts puts it there. Every instance gets it.
pub const HOST_DATA_DIR: &str = "_data_dir";
/// Host context: the instance's name in config (`[[venue]] name`, `[[risk]] name`, or the
/// strategy's `name`), unique among instances of its kind. Every instance gets it.
pub const HOST_INSTANCE: &str = "_instance";
/// Host context: for a simulator fed live, the name of the market-data instance feeding it
/// (`[[venue]] feed = "…"`); absent otherwise.
pub const HOST_FEED: &str = "_feed";

/// Whether `key` is host context (see [`HOST_KEY_PREFIX`]) rather than a setting from config.
pub fn is_host_key(key: &str) -> bool {
    key.starts_with(HOST_KEY_PREFIX)
}

/// Why a settings table was refused. Every message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The settings value was not a JSON object (or null).
    #[error("settings must be a table, got {0}")]
    NotATable(&'static str),
    /// Keys the plugin does not know; a typo must not fall back to a default silently.
    #[error("unknown settings key(s): {}; known keys: {}", .unknown.join(", "), .known.join(", "))]
    UnknownKeys {
        /// The keys given that are not known.
        unknown: Vec<String>,
        /// The keys the plugin knows.
        known: Vec<&'static str>,
    },
    /// A value of the wrong shape.
    #[error("`{key}`: expected {expected}, got {got}")]
    BadValue {
        /// The key.
        key: &'static str,
        /// What shape was expected.
        expected: &'static str,
        /// What was found.
        got: String,
    },
    /// A value outside its allowed range.
    #[error("`{key}`: {got} is out of range ({allowed})")]
    OutOfRange {
        /// The key.
        key: &'static str,
        /// The value as given.
        got: String,
        /// The allowed range, for people.
        allowed: &'static str,
    },
}

impl From<SettingsError> for PluginError {
    fn from(e: SettingsError) -> Self {
        PluginError::invalid(e.to_string())
    }
}

/// A validated settings table: an object (or null, meaning empty) with only known keys.
#[derive(Clone, Copy, Debug)]
pub struct SettingsTable<'a> {
    map: Option<&'a Map<String, Value>>,
}

/// How a JSON value is named in messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

impl<'a> SettingsTable<'a> {
    /// Checks that `v` is a table (or null) whose keys are all in `known`.
    pub fn parse(v: &'a Value, known: &[&'static str]) -> Result<Self, SettingsError> {
        let map = match v {
            Value::Null => None,
            Value::Object(m) => Some(m),
            other => return Err(SettingsError::NotATable(type_name(other))),
        };
        let unknown: Vec<String> = map
            .into_iter()
            .flat_map(|m| m.keys())
            .filter(|k| !known.contains(&k.as_str()) && !is_host_key(k))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(SettingsError::UnknownKeys {
                unknown,
                known: known.to_vec(),
            });
        }
        Ok(SettingsTable { map })
    }

    /// The raw value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key))
    }

    /// A decimal string or JSON number as an integer scaled by 1e6, exactly (at most six
    /// decimals). A JSON number is read through its shortest decimal text (`0.01` stays
    /// `0.01`), never through `f64` arithmetic.
    pub fn decimal(&self, key: &'static str) -> Result<Option<i64>, SettingsError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let bad = || SettingsError::BadValue {
            key,
            expected: "a decimal string or number (at most 6 decimals)",
            got: v.to_string(),
        };
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(bad()),
        };
        Usd::parse(&text).map(|u| Some(u.0)).map_err(|_| bad())
    }

    /// A whole number, as a JSON integer or a string of digits.
    pub fn integer(&self, key: &'static str) -> Result<Option<i64>, SettingsError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let parsed = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| SettingsError::BadValue {
            key,
            expected: "a whole number",
            got: v.to_string(),
        })
    }
}

/// `value` if it lies in `range`, else an [`SettingsError::OutOfRange`] naming `key`.
pub fn in_range<T: PartialOrd + Display>(
    key: &'static str,
    value: T,
    range: RangeInclusive<T>,
    allowed: &'static str,
) -> Result<T, SettingsError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(SettingsError::OutOfRange {
            key,
            got: value.to_string(),
            allowed,
        })
    }
}

/// Like [`in_range`] for an amount of money in micro-dollars (as [`SettingsTable::decimal`]
/// returns it): the message shows the dollars the operator wrote (`-5.00`), never micro-units.
pub fn in_range_usd(
    key: &'static str,
    micros: i64,
    range: RangeInclusive<i64>,
    allowed: &'static str,
) -> Result<i64, SettingsError> {
    if range.contains(&micros) {
        Ok(micros)
    } else {
        Err(SettingsError::OutOfRange {
            key,
            got: Usd(micros).to_string(),
            allowed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_keys_exact_decimals_named_errors() {
        let v = json!({"a": 0.015, "b": "7", "c": true});
        let t = SettingsTable::parse(&v, &["a", "b", "c", "d"]).unwrap();
        assert_eq!(t.decimal("a").unwrap(), Some(15_000));
        assert_eq!(t.integer("b").unwrap(), Some(7));
        assert_eq!(t.decimal("d").unwrap(), None);
        let e = t.decimal("c").unwrap_err().to_string();
        assert!(e.contains("`c`") && e.contains("true"), "{e}");
        assert!(t.integer("a").is_err());
        let e = SettingsTable::parse(&v, &["a"]).unwrap_err().to_string();
        assert!(e.contains("b, c") && e.contains("known keys: a"), "{e}");
        assert!(SettingsTable::parse(&json!([1]), &[]).is_err());
        assert!(SettingsTable::parse(&Value::Null, &[])
            .unwrap()
            .get("x")
            .is_none());
        let e = in_range("n", 101, 0..=100, "0 to 100")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`n`: 101 is out of range (0 to 100)"), "{e}");
        assert_eq!(
            SettingsError::NotATable("a string").to_string(),
            "settings must be a table, got a string"
        );
        let e = in_range_usd("limit", -5_000_000, 0..=i64::MAX, "not negative")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "`limit`: -5.00 is out of range (not negative)");
        assert_eq!(in_range_usd("limit", 7, 0..=10, "x"), Ok(7));
        let pe: PluginError = SettingsError::NotATable("x").into();
        assert_eq!(pe.kind, crate::ErrorKind::InvalidInput);
    }
}
