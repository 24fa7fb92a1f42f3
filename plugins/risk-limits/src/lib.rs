//! # PolyMix risk limits
//!
//! The seed's risk controls as a risk policy plugin, each with the seed's default:
//!
//! | key                     | default | rule (inclusive: at the limit passes)                    |
//! |-------------------------|---------|----------------------------------------------------------|
//! | `daily_loss_limit`      | `500`   | realized loss today (unwind losses included) ≤ limit      |
//! | `max_position_size`     | `1000`  | one trade's total cost, fees included ≤ limit; else shrink |
//! | `max_daily_trades`      | `10`    | trades started today, this one included ≤ limit          |
//! | `min_roi`               | `0.01`  | the trade's expected ROI ≥ minimum                        |
//! | `max_unhedged_exposure` | `250`   | unhedged exposure now ≤ limit                             |
//! | (always)                |         | each leg's cost ≤ its venue's available cash              |
//!
//! Amounts are dollars as decimal strings or numbers. A rejection lists every failed rule with
//! a stable code (see [`limits::codes`]) and a message with the numbers. A trade whose only
//! problem is its size is answered with `Resize` to the largest whole-share size that fits.
#![warn(missing_docs)]
#![allow(non_local_definitions)]

pub mod limits;
pub mod settings;

use plugin_api::{PluginInfo, PluginResult, RiskDecision, RiskPolicy, RiskProposal, RiskSnapshot};

pub use limits::codes;
pub use settings::{LimitSettings, SettingsError};

/// Plugin name reported by `info()`.
pub const NAME: &str = "risk-limits";

/// The limits policy.
#[derive(Debug, Clone)]
pub struct Limits {
    settings: LimitSettings,
}

impl Limits {
    /// Builds the policy from validated settings.
    pub fn new(settings: LimitSettings) -> Self {
        Limits { settings }
    }

    /// The limits in force.
    pub fn settings(&self) -> &LimitSettings {
        &self.settings
    }
}

impl RiskPolicy for Limits {
    fn create(_instance: &str, settings: serde_json::Value) -> PluginResult<Self> {
        Ok(Limits::new(LimitSettings::from_json(&settings)?))
    }

    fn info(&self) -> PluginInfo {
        PluginInfo {
            name: NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    fn check(&self, snapshot: &RiskSnapshot, proposal: &RiskProposal) -> RiskDecision {
        limits::check(&self.settings, snapshot, proposal)
    }
}

/// The seed's environment variables this policy takes, under its own keys of the same names
/// (the ROI floor is a strategy threshold and a risk limit, so both declare it).
pub const DECLARATION: plugin_api::Declaration = plugin_api::Declaration::new(
    &[
        plugin_api::SettingDecl::new(plugin_api::HostSetting::MinRoi, "min_roi"),
        plugin_api::SettingDecl::new(
            plugin_api::HostSetting::MaxPositionSize,
            "max_position_size",
        ),
        plugin_api::SettingDecl::new(plugin_api::HostSetting::MaxDailyTrades, "max_daily_trades"),
        plugin_api::SettingDecl::new(plugin_api::HostSetting::DailyLossLimit, "daily_loss_limit"),
    ],
    &[],
);

/// The cdylib's root module. In its own module only so the macro's undocumented items do not
/// trip `missing_docs` here (the export macro does not document what it generates).
#[allow(missing_docs)]
mod export {
    plugin_api::export_risk!(super::Limits, declaration = super::DECLARATION);
}

#[cfg(test)]
mod tests;
