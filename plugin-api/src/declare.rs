//! What a plugin declares about itself before any instance exists: which well-known host
//! settings it accepts and which secrets it can read from the environment.
//!
//! The host fills settings and secrets from the environment by these declarations alone, never by
//! plugin name, so a third-party strategy, risk policy or venue gets exactly what the built-in
//! ones get:
//!
//! - Each [`HostSetting`] is a value the operator can give once for the whole deployment through
//!   the seed's environment variables: `PAPER_TRADING_<SUFFIX>` in paper mode,
//!   `LIVE_TRADING_<SUFFIX>` in live mode (suffix from [`HostSetting::env_suffix`]). The host
//!   writes the value into the settings table of **every instance whose plugin declares it**,
//!   under the key the plugin chose ([`SettingDecl::key`]), overriding the config's value.
//!   Values are validated by the host first ([`HostSetting::kind`]): a bad one stops the host with
//!   one line naming the variable. A plugin that does not declare a setting never receives it.
//! - Each [`SecretDecl`] names a secret key of a venue plugin and the environment variable the
//!   host reads it from when the config names no source for that key (`secrets.<key> =
//!   { env = ... }` or `{ file = ... }` always wins). A venue instance in the `market-data` role is
//!   never handed secrets.
//!
//! A plugin declares with the export macro's optional second argument:
//!
//! ```ignore
//! use plugin_api::declare::{Declaration, HostSetting, SettingDecl};
//! const DECLARATION: Declaration = Declaration::new(
//!     &[SettingDecl::new(HostSetting::BetAmount, "stake")],
//!     &[],
//! );
//! plugin_api::export_strategy!(MyStrategy, declaration = DECLARATION);
//! ```
//!
//! A plugin exported without one (or built before declarations existed) declares nothing.

use serde::{Deserialize, Serialize};

/// A well-known setting the host can fill from the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostSetting {
    /// The most one trade may spend, fees included (dollars, decimal). Seed `*_BET_AMOUNT`.
    BetAmount,
    /// The least return on outlay a trade must promise (a fraction, decimal: `0.01` is 1 %).
    /// Seed `*_MIN_ROI`.
    MinRoi,
    /// The largest position per pair (dollars, decimal). Seed `*_MAX_POSITION_SIZE`.
    MaxPositionSize,
    /// The most trades per day (whole number). Seed `*_MAX_DAILY_TRADES`.
    MaxDailyTrades,
    /// The loss in a day after which trading halts (dollars, decimal). Seed `*_DAILY_LOSS_LIMIT`.
    DailyLossLimit,
    /// A simulated account's starting cash (dollars, decimal). Seed `*_INITIAL_BALANCE`.
    InitialBalance,
}

/// How the host validates and passes a [`HostSetting`]'s value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingKind {
    /// An exact decimal (checked with [`crate::Usd::parse`]), passed as a JSON string so the
    /// plugin parses it without floats.
    Decimal,
    /// A whole number, passed as a JSON integer.
    Integer,
}

impl HostSetting {
    /// Every well-known setting.
    pub const ALL: [HostSetting; 6] = [
        HostSetting::BetAmount,
        HostSetting::MinRoi,
        HostSetting::MaxPositionSize,
        HostSetting::MaxDailyTrades,
        HostSetting::DailyLossLimit,
        HostSetting::InitialBalance,
    ];

    /// The snake-case name, as in JSON (`bet_amount`).
    pub const fn name(self) -> &'static str {
        match self {
            HostSetting::BetAmount => "bet_amount",
            HostSetting::MinRoi => "min_roi",
            HostSetting::MaxPositionSize => "max_position_size",
            HostSetting::MaxDailyTrades => "max_daily_trades",
            HostSetting::DailyLossLimit => "daily_loss_limit",
            HostSetting::InitialBalance => "initial_balance",
        }
    }

    /// The environment variable's suffix after `PAPER_TRADING_` / `LIVE_TRADING_`.
    pub const fn env_suffix(self) -> &'static str {
        match self {
            HostSetting::BetAmount => "BET_AMOUNT",
            HostSetting::MinRoi => "MIN_ROI",
            HostSetting::MaxPositionSize => "MAX_POSITION_SIZE",
            HostSetting::MaxDailyTrades => "MAX_DAILY_TRADES",
            HostSetting::DailyLossLimit => "DAILY_LOSS_LIMIT",
            HostSetting::InitialBalance => "INITIAL_BALANCE",
        }
    }

    /// The value's type.
    pub const fn kind(self) -> SettingKind {
        match self {
            HostSetting::MaxDailyTrades => SettingKind::Integer,
            _ => SettingKind::Decimal,
        }
    }
}

/// A plugin accepts `setting`, delivered under its own settings key `key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SettingDecl {
    /// Which well-known setting.
    pub setting: HostSetting,
    /// The key in the plugin's settings table that receives it (e.g. paper-sim takes
    /// [`HostSetting::InitialBalance`] as `balance`).
    pub key: &'static str,
}

impl SettingDecl {
    /// A declaration, usable in a `const`.
    pub const fn new(setting: HostSetting, key: &'static str) -> SettingDecl {
        SettingDecl { setting, key }
    }
}

/// A venue plugin reads secret `key` from environment variable `env` unless the config says
/// otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SecretDecl {
    /// The key in the plugin's secrets (what [`crate::Secrets::get`] is asked for).
    pub key: &'static str,
    /// The environment variable's default name (e.g. `KALSHI_API_KEY_ID`).
    pub env: &'static str,
}

impl SecretDecl {
    /// A declaration, usable in a `const`.
    pub const fn new(key: &'static str, env: &'static str) -> SecretDecl {
        SecretDecl { key, env }
    }
}

/// Everything a plugin declares, as it writes it (a `const`). Crosses the plugin boundary as
/// JSON (`{"settings": [{"setting": "bet_amount", "key": "bet_amount"}], "secrets": []}`) and is
/// read back by the host as [`Declared`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Declaration {
    /// Well-known host settings accepted.
    pub settings: &'static [SettingDecl],
    /// Secrets with a default environment variable (venue plugins).
    pub secrets: &'static [SecretDecl],
}

impl Declaration {
    /// Declares nothing: what a plugin exported without a declaration has.
    pub const NONE: Declaration = Declaration::new(&[], &[]);

    /// A declaration, usable in a `const`.
    pub const fn new(
        settings: &'static [SettingDecl],
        secrets: &'static [SecretDecl],
    ) -> Declaration {
        Declaration { settings, secrets }
    }
}

/// A declared setting as the host reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredSetting {
    /// Which well-known setting.
    pub setting: HostSetting,
    /// The plugin's settings key for it.
    pub key: String,
}

/// A declared secret as the host reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredSecret {
    /// The plugin's secret key.
    pub key: String,
    /// The environment variable's default name.
    pub env: String,
}

/// A [`Declaration`] as the host reads it from a loaded plugin (owned).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declared {
    /// Well-known host settings accepted.
    #[serde(default)]
    pub settings: Vec<DeclaredSetting>,
    /// Secrets with a default environment variable.
    #[serde(default)]
    pub secrets: Vec<DeclaredSecret>,
}

impl Declared {
    /// The key under which this plugin takes `setting`, if it declares it.
    pub fn key_for(&self, setting: HostSetting) -> Option<&str> {
        self.settings
            .iter()
            .find(|d| d.setting == setting)
            .map(|d| d.key.as_str())
    }
}

impl From<&Declaration> for Declared {
    fn from(d: &Declaration) -> Self {
        Declared {
            settings: d
                .settings
                .iter()
                .map(|s| DeclaredSetting {
                    setting: s.setting,
                    key: s.key.to_string(),
                })
                .collect(),
            secrets: d
                .secrets
                .iter()
                .map(|s| DeclaredSecret {
                    key: s.key.to_string(),
                    env: s.env.to_string(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Declaration = Declaration::new(
        &[SettingDecl::new(HostSetting::InitialBalance, "balance")],
        &[SecretDecl::new("api_key", "X_API_KEY")],
    );

    #[test]
    fn round_trips_as_json() {
        let j = serde_json::to_value(D).unwrap();
        assert_eq!(
            j,
            serde_json::json!({
                "settings": [{"setting": "initial_balance", "key": "balance"}],
                "secrets": [{"key": "api_key", "env": "X_API_KEY"}]
            })
        );
        let back: Declared = serde_json::from_value(j).unwrap();
        assert_eq!(back, Declared::from(&D));
        assert_eq!(back.key_for(HostSetting::InitialBalance), Some("balance"));
        assert_eq!(back.key_for(HostSetting::BetAmount), None);
        let none: Declared = serde_json::from_str("{}").unwrap();
        assert_eq!(none, Declared::from(&Declaration::NONE));
        assert!(serde_json::from_str::<Declared>(
            r#"{"settings": [{"setting": "bogus", "key": "x"}]}"#
        )
        .is_err());
    }

    #[test]
    fn names_and_suffixes_agree() {
        for s in HostSetting::ALL {
            assert_eq!(s.env_suffix().to_lowercase(), s.name());
            let j = serde_json::to_value(s).unwrap();
            assert_eq!(j.as_str(), Some(s.name()));
        }
    }

    #[test]
    fn the_host_reads_a_module_declaration() {
        use crate::ffi::{declaration_json, read_declaration};
        use abi_stable::std_types::RString;
        extern "C" fn good() -> RString {
            declaration_json(&D)
        }
        extern "C" fn bad() -> RString {
            RString::from(r#"{"settings": [{"setting": "bet_amount"}]}"#)
        }
        assert_eq!(read_declaration(Some(good)).unwrap(), Declared::from(&D));
        // A module built before declarations existed has no such field: it declares nothing.
        assert_eq!(read_declaration(None).unwrap(), Declared::default());
        let e = read_declaration(Some(bad)).unwrap_err();
        assert!(e.contains("declaration") && e.contains("key"), "{e}");
    }
}
