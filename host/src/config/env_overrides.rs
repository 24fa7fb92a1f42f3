//! The seed's environment variables, so existing deployments keep working. `PAPER_TRADING_*`
//! apply in paper mode, `LIVE_TRADING_*` in live mode.
//!
//! The host names no plugin here. Each well-known setting
//! ([`plugin_api::declare::HostSetting`]) is read and validated once, at load ([`HostEnv`]); the
//! registry then writes it into every instance whose plugin declares it, under the plugin's own
//! key ([`HostEnv::apply`]), and fills the secrets a venue plugin declares from their default
//! variables ([`fill_declared_secrets`]).

use std::collections::BTreeMap;

use plugin_api::declare::{Declared, HostSetting, SettingKind};

use super::load::ConfigError;
use super::model::{Config, Mode};
use super::roles::VenueRole;
use super::secrets::SecretRef;

/// The well-known settings given through the environment, validated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostEnv {
    /// Each setting given, with the variable it came from and its value as a plugin receives it
    /// (a decimal as a string, so it is parsed without floats; a whole number as an integer).
    values: Vec<(HostSetting, String, toml::Value)>,
}

impl HostEnv {
    /// Reads `<PAPER|LIVE>_TRADING_<SUFFIX>` for every well-known setting through `get`; a bad
    /// value is an error naming the variable.
    pub fn from_vars(
        mode: Mode,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<HostEnv, ConfigError> {
        let mut values = Vec::new();
        for setting in HostSetting::ALL {
            let var = format!("{}{}", prefix(mode), setting.env_suffix());
            let Some(raw) = get(&var) else { continue };
            let value = match setting.kind() {
                SettingKind::Integer => {
                    let n: i64 = raw.trim().parse().map_err(|_| ConfigError::Env {
                        var: var.clone(),
                        message: format!("expected a whole number, found {raw:?}"),
                    })?;
                    toml::Value::Integer(n)
                }
                SettingKind::Decimal => decimal_value(&var, &raw)?,
            };
            values.push((setting, var, value));
        }
        Ok(HostEnv { values })
    }

    /// The value given for `setting`, if any.
    pub fn value(&self, setting: HostSetting) -> Option<&toml::Value> {
        self.values
            .iter()
            .find(|(s, _, _)| *s == setting)
            .map(|(_, _, v)| v)
    }

    /// Writes every given setting the plugin declares into its settings table, under the
    /// plugin's key, over the config's value. Settings it does not declare are left out.
    pub fn apply(&self, declared: &Declared, settings: &mut toml::Table) {
        for (setting, var, value) in &self.values {
            if let Some(key) = declared.key_for(*setting) {
                tracing::debug!(var = %var, key, "setting from the environment");
                settings.insert(key.to_string(), value.clone());
            }
        }
    }
}

/// Fills each secret a venue plugin declares from its default variable, when the config names
/// no source for that key and `is_set(var)`. A market-data instance uses public endpoints only:
/// it is never handed a key.
pub fn fill_declared_secrets(
    declared: &Declared,
    role: VenueRole,
    secrets: &mut BTreeMap<String, SecretRef>,
    is_set: impl Fn(&str) -> bool,
) {
    if role == VenueRole::MarketData {
        return;
    }
    for d in &declared.secrets {
        if is_set(&d.env) {
            secrets
                .entry(d.key.clone())
                .or_insert_with(|| SecretRef::Env { env: d.env.clone() });
        }
    }
}

fn prefix(mode: Mode) -> &'static str {
    match mode {
        Mode::Paper => "PAPER_TRADING_",
        Mode::Live => "LIVE_TRADING_",
    }
}

fn decimal_value(var: &str, raw: &str) -> Result<toml::Value, ConfigError> {
    // Validate as an exact decimal; keep the string so plugins parse it without floats.
    plugin_api::Usd::parse(raw).map_err(|e| ConfigError::Env {
        var: var.to_string(),
        message: format!("expected a decimal number: {}", e.message),
    })?;
    Ok(toml::Value::String(raw.trim().to_string()))
}

pub(super) fn apply_env_overrides(cfg: &mut Config) -> Result<(), ConfigError> {
    apply_from(cfg, |k| std::env::var(k).ok())
}

pub(super) fn apply_from(
    cfg: &mut Config,
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    cfg.host_env = HostEnv::from_vars(cfg.mode, &get)?;
    let reset_var = format!("{}RESET_KEY", prefix(cfg.mode));
    if cfg.api.reset_key.is_none() && get(&reset_var).is_some() {
        cfg.api.reset_key = Some(SecretRef::Env { env: reset_var });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::declare::{Declaration, SecretDecl, SettingDecl};
    use std::collections::HashMap;
    use std::path::Path;

    const BASE: &str = r#"
mode = "paper"
[[venue]]
name = "pm"
plugin = "paper-sim"
[[risk]]
name = "limits"
plugin = "risk-limits"
[strategy]
name = "arb"
plugin = "arb"
"#;

    fn declared(settings: &[SettingDecl]) -> Declared {
        Declared {
            settings: settings
                .iter()
                .map(|d| plugin_api::declare::DeclaredSetting {
                    setting: d.setting,
                    key: d.key.to_string(),
                })
                .collect(),
            secrets: Vec::new(),
        }
    }

    #[test]
    fn paper_variables_reach_the_plugins_that_declare_them() {
        let mut cfg = super::super::load::parse(Path::new("t.toml"), BASE).unwrap();
        let env: HashMap<&str, &str> = [
            ("PAPER_TRADING_BET_AMOUNT", "250"),
            ("PAPER_TRADING_MAX_DAILY_TRADES", "3"),
            ("LIVE_TRADING_DAILY_LOSS_LIMIT", "1"),
            ("PAPER_TRADING_INITIAL_BALANCE", "5000.50"),
        ]
        .into_iter()
        .collect();
        apply_from(&mut cfg, |k| env.get(k).map(|s| s.to_string())).unwrap();
        let h = &cfg.host_env;
        // The built-in plugins' declarations, as their crates export them.
        let mut s = toml::Table::new();
        h.apply(&Declared::from(&ARB), &mut s);
        assert_eq!(s["bet_amount"].as_str(), Some("250"));
        assert!(!s.contains_key("max_daily_trades"), "arb does not take it");
        let mut r = toml::Table::new();
        h.apply(
            &declared(&[
                SettingDecl::new(HostSetting::MaxDailyTrades, "max_daily_trades"),
                SettingDecl::new(HostSetting::DailyLossLimit, "daily_loss_limit"),
            ]),
            &mut r,
        );
        assert_eq!(r["max_daily_trades"].as_integer(), Some(3));
        assert!(
            !r.contains_key("daily_loss_limit"),
            "a live variable in paper mode"
        );
        // A plugin takes a setting under its own key.
        let mut v = toml::Table::new();
        v.insert("balance".into(), toml::Value::String("1".into()));
        h.apply(
            &declared(&[SettingDecl::new(HostSetting::InitialBalance, "balance")]),
            &mut v,
        );
        assert_eq!(v["balance"].as_str(), Some("5000.50"));
        // One that declares nothing gets nothing, even a key of the same name.
        let mut none = toml::Table::new();
        none.insert("balance".into(), toml::Value::String("1".into()));
        h.apply(&Declared::default(), &mut none);
        assert_eq!(none["balance"].as_str(), Some("1"));
        assert_eq!(none.len(), 1);
    }

    /// What the arb strategy declares (its crate is not a host dependency; the integration
    /// tests load the real plugins).
    const ARB: Declaration = Declaration::new(
        &[
            SettingDecl::new(HostSetting::BetAmount, "bet_amount"),
            SettingDecl::new(HostSetting::MinRoi, "min_roi"),
        ],
        &[],
    );

    const SECRETS: Declaration = Declaration::new(
        &[],
        &[
            SecretDecl::new("api_key", "X_API_KEY"),
            SecretDecl::new("secret", "X_SECRET"),
            SecretDecl::new("unset", "X_UNSET"),
        ],
    );

    #[test]
    fn bad_value_names_the_variable() {
        let mut cfg = super::super::load::parse(Path::new("t.toml"), BASE).unwrap();
        let e = apply_from(&mut cfg, |k| {
            (k == "PAPER_TRADING_MIN_ROI").then(|| "lots".to_string())
        })
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("PAPER_TRADING_MIN_ROI"), "{msg}");
        assert_eq!(msg.lines().count(), 1, "{msg}");
        let e = apply_from(&mut cfg, |k| {
            (k == "PAPER_TRADING_MAX_DAILY_TRADES").then(|| "2.5".to_string())
        })
        .unwrap_err();
        assert!(
            e.to_string().contains("PAPER_TRADING_MAX_DAILY_TRADES"),
            "{e}"
        );
    }

    #[test]
    fn declared_secrets_fill_only_what_config_leaves_open() {
        let d = Declared::from(&SECRETS);
        let is_set = |v: &str| v != "X_UNSET";
        let mut s = BTreeMap::new();
        s.insert(
            "secret".to_string(),
            SecretRef::Env {
                env: "MY_SECRET".into(),
            },
        );
        fill_declared_secrets(&d, VenueRole::Trading, &mut s, is_set);
        assert_eq!(
            s.get("api_key"),
            Some(&SecretRef::Env {
                env: "X_API_KEY".into()
            })
        );
        assert_eq!(
            s.get("secret"),
            Some(&SecretRef::Env {
                env: "MY_SECRET".into()
            })
        );
        assert!(!s.contains_key("unset"));
        let mut md = BTreeMap::new();
        fill_declared_secrets(&d, VenueRole::MarketData, &mut md, is_set);
        assert!(md.is_empty(), "a market-data instance gets no key");
    }
}
