//! The `[[risk]].settings` table of the limits policy, parsed without floats.

pub use plugin_api::settings::SettingsError;
use plugin_api::settings::{in_range, in_range_usd, SettingsTable};
use plugin_api::Usd;
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
    /// Parses and validates the settings table; `null` means all defaults. Limits are never
    /// negative.
    pub fn from_json(v: &Value) -> Result<LimitSettings, SettingsError> {
        let t = SettingsTable::parse(v, &KEYS)?;
        let money = |key: &'static str| -> Result<Option<i64>, SettingsError> {
            t.decimal(key)?
                .map(|x| in_range_usd(key, x, 0..=i64::MAX, "not negative"))
                .transpose()
        };
        let mut s = LimitSettings::default();
        if let Some(x) = money("daily_loss_limit")? {
            s.daily_loss_limit = Usd(x);
        }
        if let Some(x) = money("max_position_size")? {
            s.max_position_size = Usd(x);
        }
        if let Some(x) = t.integer("max_daily_trades")? {
            let n = in_range(
                "max_daily_trades",
                x,
                0..=u32::MAX as i64,
                "0 to 4294967295",
            )?;
            s.max_daily_trades = n as u32;
        }
        if let Some(x) = t.decimal("min_roi")? {
            // A fraction of the cost: 100% or more is a percentage typed as a fraction.
            s.min_roi_ppm =
                in_range_usd("min_roi", x, 0..=999_999, "0 to less than 1; 0.02 is 2%")?;
        }
        if let Some(x) = money("max_unhedged_exposure")? {
            s.max_unhedged_exposure = Usd(x);
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

    #[test]
    fn amounts_are_reported_in_dollars_and_roi_stays_below_one() {
        let e = LimitSettings::from_json(&json!({ "max_position_size": "-5" }))
            .unwrap_err()
            .to_string();
        assert!(e.contains("-5.00") && !e.contains("5000000"), "{e}");
        for roi in [json!("1"), json!(1.5), json!("2")] {
            let e = LimitSettings::from_json(&json!({ "min_roi": roi }))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("min_roi") && e.contains("less than 1"),
                "{roi}: {e}"
            );
        }
        let ok = LimitSettings::from_json(&json!({ "min_roi": "0.999999" })).unwrap();
        assert_eq!(ok.min_roi_ppm, 999_999);
    }
}
