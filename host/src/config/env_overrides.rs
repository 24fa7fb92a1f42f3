//! The seed's environment variables override matching config keys, so existing deployments
//! keep working. `PAPER_TRADING_*` apply in paper mode, `LIVE_TRADING_*` in live mode.

use super::load::ConfigError;
use super::model::{Config, Mode};
use super::secrets::SecretRef;

/// Where a seed variable lands.
enum Target {
    /// `[strategy].settings.<key>`
    Strategy(&'static str),
    /// `[[risk]].settings.<key>` of every risk-limits instance.
    Risk(&'static str),
    /// Both strategy and risk (min ROI is a strategy threshold and a risk limit).
    Both(&'static str),
    /// `settings.balance` of every paper-sim venue.
    PaperBalance,
}

const SUFFIXES: &[(&str, Target)] = &[
    ("BET_AMOUNT", Target::Strategy("bet_amount")),
    ("MIN_ROI", Target::Both("min_roi")),
    ("MAX_POSITION_SIZE", Target::Risk("max_position_size")),
    ("MAX_DAILY_TRADES", Target::Risk("max_daily_trades")),
    ("DAILY_LOSS_LIMIT", Target::Risk("daily_loss_limit")),
    ("INITIAL_BALANCE", Target::PaperBalance),
];

/// Venue secrets filled from `POLYMARKET_*` / `KALSHI_*` when the config names none.
const VENUE_SECRETS: &[(&str, &str, &str)] = &[
    ("kalshi", "api_key_id", "KALSHI_API_KEY_ID"),
    ("kalshi", "private_key_pem", "KALSHI_PRIVATE_KEY"),
    ("polymarket", "private_key", "POLYMARKET_PRIVATE_KEY"),
    ("polymarket", "api_key", "POLYMARKET_API_KEY"),
    ("polymarket", "api_secret", "POLYMARKET_API_SECRET"),
    ("polymarket", "api_passphrase", "POLYMARKET_API_PASSPHRASE"),
];

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
    let prefix = match cfg.mode {
        Mode::Paper => "PAPER_TRADING_",
        Mode::Live => "LIVE_TRADING_",
    };
    for (suffix, target) in SUFFIXES {
        let var = format!("{prefix}{suffix}");
        let Some(raw) = get(&var) else { continue };
        let value = if *suffix == "MAX_DAILY_TRADES" {
            let n: i64 = raw.trim().parse().map_err(|_| ConfigError::Env {
                var: var.clone(),
                message: format!("expected a whole number, found {raw:?}"),
            })?;
            toml::Value::Integer(n)
        } else {
            decimal_value(&var, &raw)?
        };
        match target {
            Target::Strategy(k) => set_strategy(cfg, k, value),
            Target::Risk(k) => set_risk(cfg, k, value),
            Target::Both(k) => {
                set_strategy(cfg, k, value.clone());
                set_risk(cfg, k, value);
            }
            Target::PaperBalance => {
                for v in cfg.venues.iter_mut().filter(|v| v.plugin == "paper-sim") {
                    v.settings.insert("balance".into(), value.clone());
                }
            }
        }
    }
    let reset_var = format!("{prefix}RESET_KEY");
    if cfg.api.reset_key.is_none() && get(&reset_var).is_some() {
        cfg.api.reset_key = Some(SecretRef::Env { env: reset_var });
    }
    for (plugin, key, var) in VENUE_SECRETS {
        if get(var).is_none() {
            continue;
        }
        // A market-data instance uses public endpoints only: it is never handed a key.
        for v in cfg
            .venues
            .iter_mut()
            .filter(|v| v.plugin == *plugin && v.role != super::roles::VenueRole::MarketData)
        {
            v.secrets
                .entry((*key).to_string())
                .or_insert_with(|| SecretRef::Env {
                    env: (*var).to_string(),
                });
        }
    }
    Ok(())
}

fn set_strategy(cfg: &mut Config, key: &str, value: toml::Value) {
    if let Some(s) = cfg.strategy.as_mut().filter(|s| s.plugin == "arb") {
        s.settings.insert(key.to_string(), value);
    }
}

fn set_risk(cfg: &mut Config, key: &str, value: toml::Value) {
    for r in cfg.risks.iter_mut().filter(|r| r.plugin == "risk-limits") {
        r.settings.insert(key.to_string(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn paper_variables_override_paper_config_only() {
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
        let s = &cfg.strategy.as_ref().unwrap().settings;
        assert_eq!(s["bet_amount"].as_str(), Some("250"));
        let r = &cfg.risks[0].settings;
        assert_eq!(r["max_daily_trades"].as_integer(), Some(3));
        assert!(!r.contains_key("daily_loss_limit"));
        assert_eq!(cfg.venues[0].settings["balance"].as_str(), Some("5000.50"));
    }

    #[test]
    fn bad_value_names_the_variable() {
        let mut cfg = super::super::load::parse(Path::new("t.toml"), BASE).unwrap();
        let e = apply_from(&mut cfg, |k| {
            (k == "PAPER_TRADING_MIN_ROI").then(|| "lots".to_string())
        })
        .unwrap_err();
        assert!(e.to_string().contains("PAPER_TRADING_MIN_ROI"), "{e}");
    }
}
