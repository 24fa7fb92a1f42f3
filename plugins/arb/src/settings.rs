//! The `[strategy].settings` table of the arb strategy, parsed without floats.

use plugin_api::{PluginError, Usd};
use serde_json::Value;

/// Every key the strategy understands; anything else is refused so a typo is not silently
/// ignored (a misspelt `min_roi` would otherwise trade at the default threshold).
pub const KEYS: [&str; 4] = ["bet_amount", "min_roi", "slippage_bps", "slippage_ticks"];

/// Largest accepted `slippage_ticks`; more than this is surely a mistake (a hundred ticks of
/// a cent market is the whole price range).
pub const MAX_SLIPPAGE_TICKS: i64 = 100;

/// Why settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The settings value was not a JSON object (or null).
    #[error("settings must be a table, got {0}")]
    NotATable(String),
    /// Keys the strategy does not know.
    #[error("unknown settings key(s): {}; known keys: {}", .0.join(", "), KEYS.join(", "))]
    UnknownKeys(Vec<String>),
    /// A value that is not a decimal string or number.
    #[error("`{key}`: expected a decimal string or number, got {got}")]
    NotADecimal {
        /// The key.
        key: &'static str,
        /// What was found.
        got: String,
    },
    /// A value outside its allowed range.
    #[error("`{key}`: {value} is out of range ({allowed})")]
    OutOfRange {
        /// The key.
        key: &'static str,
        /// The value as given.
        value: String,
        /// The allowed range, for people.
        allowed: &'static str,
    },
}

impl From<SettingsError> for PluginError {
    fn from(e: SettingsError) -> Self {
        PluginError::invalid(e.to_string())
    }
}

/// Validated arb settings in fixed point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArbSettings {
    /// Maximum total outlay of one trade, fees included (seed `BET_AMOUNT`).
    pub bet_amount: Usd,
    /// Minimum return on outlay, parts per million (`0.01` is 10_000).
    pub min_roi_ppm: i64,
    /// Safety buffer subtracted from profit, in basis points of the legs' cost.
    pub slippage_bps: i64,
    /// Ticks added to each leg's limit price beyond the worst level walked.
    pub slippage_ticks: i64,
}

impl Default for ArbSettings {
    fn default() -> Self {
        ArbSettings {
            bet_amount: Usd::dollars(100),
            min_roi_ppm: 10_000,
            slippage_bps: 0,
            slippage_ticks: 0,
        }
    }
}

impl ArbSettings {
    /// Parses and validates the settings table; `null` means all defaults.
    pub fn from_json(v: &Value) -> Result<ArbSettings, SettingsError> {
        let mut s = ArbSettings::default();
        let map = match v {
            Value::Null => return Ok(s),
            Value::Object(m) => m,
            other => return Err(SettingsError::NotATable(type_name(other).into())),
        };
        let unknown: Vec<String> = map
            .keys()
            .filter(|k| !KEYS.contains(&k.as_str()))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(SettingsError::UnknownKeys(unknown));
        }
        if let Some(v) = map.get("bet_amount") {
            s.bet_amount = Usd(decimal6("bet_amount", v)?);
            if s.bet_amount.0 <= 0 {
                return Err(out_of_range("bet_amount", v, "greater than 0"));
            }
        }
        if let Some(v) = map.get("min_roi") {
            s.min_roi_ppm = decimal6("min_roi", v)?;
            // Negative would accept losing trades. A high threshold only makes the strategy
            // idle (never unsafe), so the upper cap is merely a sanity bound.
            if !(0..=100 * 1_000_000).contains(&s.min_roi_ppm) {
                return Err(out_of_range("min_roi", v, "0 to 100"));
            }
        }
        if let Some(v) = map.get("slippage_bps") {
            s.slippage_bps = integer("slippage_bps", v)?;
            if !(0..=10_000).contains(&s.slippage_bps) {
                return Err(out_of_range("slippage_bps", v, "0 to 10000"));
            }
        }
        if let Some(v) = map.get("slippage_ticks") {
            s.slippage_ticks = integer("slippage_ticks", v)?;
            if !(0..=MAX_SLIPPAGE_TICKS).contains(&s.slippage_ticks) {
                return Err(out_of_range("slippage_ticks", v, "0 to 100"));
            }
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

fn out_of_range(key: &'static str, v: &Value, allowed: &'static str) -> SettingsError {
    SettingsError::OutOfRange {
        key,
        value: v.to_string(),
        allowed,
    }
}

/// A decimal string or JSON number as an integer scaled by 1e6, exactly. A JSON number is read
/// through its shortest decimal text (`0.01` stays `0.01`), never through `f64` arithmetic.
fn decimal6(key: &'static str, v: &Value) -> Result<i64, SettingsError> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(SettingsError::NotADecimal {
                key,
                got: type_name(other).into(),
            })
        }
    };
    Usd::parse(&text)
        .map(|u| u.0)
        .map_err(|_| SettingsError::NotADecimal {
            key,
            got: v.to_string(),
        })
}

/// A whole number given as a JSON integer or a string of digits.
fn integer(key: &'static str, v: &Value) -> Result<i64, SettingsError> {
    let parsed = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| SettingsError::NotADecimal {
        key,
        got: v.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_match_the_seed() {
        let s = ArbSettings::from_json(&json!({})).unwrap();
        assert_eq!(s, ArbSettings::default());
        assert_eq!(s.bet_amount, Usd::dollars(100));
        assert_eq!(s.min_roi_ppm, 10_000);
        assert_eq!(ArbSettings::from_json(&Value::Null).unwrap(), s);
    }

    #[test]
    fn strings_and_numbers_parse_exactly() {
        let s = ArbSettings::from_json(&json!({
            "bet_amount": "250.50", "min_roi": 0.015, "slippage_bps": 25, "slippage_ticks": "2"
        }))
        .unwrap();
        assert_eq!(s.bet_amount, Usd(250_500_000));
        assert_eq!(s.min_roi_ppm, 15_000);
        assert_eq!(s.slippage_bps, 25);
        assert_eq!(s.slippage_ticks, 2);
        let s = ArbSettings::from_json(&json!({ "bet_amount": 40 })).unwrap();
        assert_eq!(s.bet_amount, Usd::dollars(40));
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = ArbSettings::from_json(&json!({ "min_rio": "0.02", "bet": 1 })).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("min_rio") && msg.contains("bet"), "{msg}");
        let pe: PluginError = e.into();
        assert_eq!(pe.kind, plugin_api::ErrorKind::InvalidInput);
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            json!({ "bet_amount": "-1" }),
            json!({ "bet_amount": "0" }),
            json!({ "bet_amount": "1.0000001" }),
            json!({ "bet_amount": true }),
            json!({ "min_roi": "-0.01" }),
            json!({ "slippage_bps": 1.5 }),
            json!({ "slippage_bps": -1 }),
            json!({ "slippage_ticks": 101 }),
            json!([1, 2]),
        ] {
            assert!(ArbSettings::from_json(&bad).is_err(), "{bad}");
        }
    }
}
