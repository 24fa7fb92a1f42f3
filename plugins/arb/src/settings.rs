//! The `[strategy].settings` table of the arb strategy, parsed without floats.

pub use plugin_api::settings::SettingsError;
use plugin_api::settings::{in_range, SettingsTable};
use plugin_api::Usd;
use serde_json::Value;

/// Every key the strategy understands; anything else is refused so a typo is not silently
/// ignored (a misspelt `min_roi` would otherwise trade at the default threshold).
pub const KEYS: [&str; 4] = ["bet_amount", "min_roi", "slippage_bps", "slippage_ticks"];

/// Largest accepted `slippage_ticks`; more than this is surely a mistake (a hundred ticks of
/// a cent market is the whole price range).
pub const MAX_SLIPPAGE_TICKS: i64 = 100;

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
        let t = SettingsTable::parse(v, &KEYS)?;
        let mut s = ArbSettings::default();
        if let Some(x) = t.decimal("bet_amount")? {
            s.bet_amount = Usd(in_range("bet_amount", x, 1..=i64::MAX, "greater than 0")?);
        }
        if let Some(x) = t.decimal("min_roi")? {
            // Negative would accept losing trades. A high threshold only makes the strategy
            // idle (never unsafe), so the upper cap is merely a sanity bound.
            s.min_roi_ppm = in_range("min_roi", x, 0..=100 * 1_000_000, "0 to 100")?;
        }
        if let Some(x) = t.integer("slippage_bps")? {
            s.slippage_bps = in_range("slippage_bps", x, 0..=10_000, "0 to 10000")?;
        }
        if let Some(x) = t.integer("slippage_ticks")? {
            s.slippage_ticks = in_range("slippage_ticks", x, 0..=MAX_SLIPPAGE_TICKS, "0 to 100")?;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::PluginError;
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
