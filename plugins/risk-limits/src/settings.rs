//! The `[[risk]].settings` table of the limits policy, parsed without floats.

use plugin_api::{PluginError, Usd};
use serde_json::Value;

/// Every key the policy understands. Anything else is refused, naming the key: a misspelt limit
/// silently falling back to its default is exactly the failure a risk policy must not have.
pub const KEYS: [&str; 5] = [
    "daily_loss_limit",
    "max_position_size",
    "max_daily_trades",
    "min_roi",
    "max_unhedged_exposure",
];

/// Why settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The settings value was not a JSON object (or null).
    #[error("settings must be a table, got {0}")]
    NotATable(&'static str),
    /// Keys the policy does not know.
    #[error("unknown settings key(s): {}; known keys: {}", .0.join(", "), KEYS.join(", "))]
    UnknownKeys(Vec<String>),
    /// A value that is not a number of the expected shape.
    #[error("`{key}`: expected {expected}, got {got}")]
    BadValue {
        /// The key.
        key: &'static str,
        /// What shape was expected.
        expected: &'static str,
        /// What was found.
        got: String,
    },
    /// A negative limit.
    #[error("`{key}`: must not be negative, got {got}")]
    Negative {
        /// The key.
        key: &'static str,
        /// The value as given.
        got: String,
    },
}

impl From<SettingsError> for PluginError {
    fn from(e: SettingsError) -> Self {
        PluginError::invalid(e.to_string())
    }
}

/// The limits, in fixed point. Defaults are the seed's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// Largest realized loss today (unwind losses included) at which trading may continue.
    pub daily_loss_limit: Usd,
    /// Largest total cost of one trade, fees included.
    pub max_position_size: Usd,
    /// Most trades started per UTC day.
    pub max_daily_trades: u32,
    /// Smallest acceptable ROI, parts per million.
    pub min_roi_ppm: i64,
    /// Largest unhedged exposure at which new trades may still start.
    pub max_unhedged_exposure: Usd,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            daily_loss_limit: Usd::dollars(500),
            max_position_size: Usd::dollars(1000),
            max_daily_trades: 10,
            min_roi_ppm: 10_000,
            max_unhedged_exposure: Usd::dollars(250),
        }
    }
}

impl LimitSettings {
    /// Parses and validates the settings table; `null` means all defaults.
    pub fn from_json(v: &Value) -> Result<LimitSettings, SettingsError> {
        let mut s = LimitSettings::default();
        let map = match v {
            Value::Null => return Ok(s),
            Value::Object(m) => m,
            other => return Err(SettingsError::NotATable(type_name(other))),
        };
        let unknown: Vec<String> = map
            .keys()
            .filter(|k| !KEYS.contains(&k.as_str()))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(SettingsError::UnknownKeys(unknown));
        }
        if let Some(v) = map.get("daily_loss_limit") {
            s.daily_loss_limit = Usd(decimal6("daily_loss_limit", v)?);
        }
        if let Some(v) = map.get("max_position_size") {
            s.max_position_size = Usd(decimal6("max_position_size", v)?);
        }
        if let Some(v) = map.get("max_daily_trades") {
            s.max_daily_trades = count("max_daily_trades", v)?;
        }
        if let Some(v) = map.get("min_roi") {
            s.min_roi_ppm = decimal6("min_roi", v)?;
        }
        if let Some(v) = map.get("max_unhedged_exposure") {
            s.max_unhedged_exposure = Usd(decimal6("max_unhedged_exposure", v)?);
        }
        Ok(s)
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

/// A non-negative decimal string or JSON number as an integer scaled by 1e6, exactly. A JSON
/// number is read through its shortest decimal text (`0.01` stays `0.01`), never via `f64` maths.
fn decimal6(key: &'static str, v: &Value) -> Result<i64, SettingsError> {
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
    let x = Usd::parse(&text).map_err(|_| bad())?.0;
    if x < 0 {
        return Err(SettingsError::Negative {
            key,
            got: v.to_string(),
        });
    }
    Ok(x)
}

/// A non-negative whole number, as a JSON integer or a string of digits.
fn count(key: &'static str, v: &Value) -> Result<u32, SettingsError> {
    let parsed = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match parsed {
        Some(n) if n < 0 => Err(SettingsError::Negative {
            key,
            got: v.to_string(),
        }),
        Some(n) => u32::try_from(n).map_err(|_| SettingsError::BadValue {
            key,
            expected: "a whole number up to 4294967295",
            got: v.to_string(),
        }),
        None => Err(SettingsError::BadValue {
            key,
            expected: "a whole number",
            got: v.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_the_seeds() {
        let d = LimitSettings::from_json(&json!({})).unwrap();
        assert_eq!(d.daily_loss_limit, Usd::dollars(500));
        assert_eq!(d.max_position_size, Usd::dollars(1000));
        assert_eq!(d.max_daily_trades, 10);
        assert_eq!(d.min_roi_ppm, 10_000);
        assert_eq!(d.max_unhedged_exposure, Usd::dollars(250));
        assert_eq!(LimitSettings::from_json(&Value::Null).unwrap(), d);
    }

    #[test]
    fn strings_and_numbers() {
        let s = LimitSettings::from_json(&json!({
            "daily_loss_limit": "123.45", "max_position_size": 50, "max_daily_trades": "3",
            "min_roi": 0.02, "max_unhedged_exposure": "0"
        }))
        .unwrap();
        assert_eq!(s.daily_loss_limit, Usd(123_450_000));
        assert_eq!(s.max_position_size, Usd::dollars(50));
        assert_eq!(s.max_daily_trades, 3);
        assert_eq!(s.min_roi_ppm, 20_000);
        assert_eq!(s.max_unhedged_exposure, Usd::ZERO);
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = LimitSettings::from_json(&json!({ "max_daily_trade": 5 })).unwrap_err();
        assert!(e.to_string().contains("max_daily_trade"), "{e}");
        let pe: PluginError = e.into();
        assert_eq!(pe.kind, plugin_api::ErrorKind::InvalidInput);
    }

    #[test]
    fn negative_and_malformed_values_are_refused() {
        for (bad, key) in [
            (json!({ "daily_loss_limit": "-1" }), "daily_loss_limit"),
            (json!({ "max_position_size": -0.01 }), "max_position_size"),
            (json!({ "max_daily_trades": -1 }), "max_daily_trades"),
            (json!({ "max_daily_trades": 2.5 }), "max_daily_trades"),
            (json!({ "min_roi": "-0.01" }), "min_roi"),
            (
                json!({ "max_unhedged_exposure": "lots" }),
                "max_unhedged_exposure",
            ),
            (json!({ "daily_loss_limit": null }), "daily_loss_limit"),
        ] {
            let e = LimitSettings::from_json(&bad).unwrap_err();
            assert!(e.to_string().contains(key), "{bad}: {e}");
        }
        assert!(LimitSettings::from_json(&json!("x")).is_err());
    }
}
