//! Value checks beyond the schema, and the extra rules of `run` (shared with `check`, so `check`
//! never says ok for a config `run` refuses). Every error names the file and the key path.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::load::ConfigError;
use super::model::{Config, Mode};

/// Bounds that no sane deployment exceeds; a value outside is a typo (a timeout in µs, a
/// retry count with extra zeros), and refusing it beats waiting a year for an answer.
const TIMEOUT_MS: RangeInclusive<u64> = 1..=600_000;
const POLL_MS: RangeInclusive<u64> = 1..=3_600_000;
/// `engine.rehearse_every_us` when on: below 100 µs it would take most of a core.
const REHEARSE_EVERY_US: RangeInclusive<u64> = 100..=60_000_000;
const MAX_RETRIES: u32 = 20;
/// EIP-155 chain ids are positive; wallets cap them below 2^53 (JSON numbers stay exact).
const CHAIN_ID: RangeInclusive<i64> = 1..=((1i64 << 53) - 1);

struct Checker<'a> {
    cfg: &'a Config,
}

impl Checker<'_> {
    fn invalid(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.cfg.source.clone(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn range_u64(&self, key: &str, v: u64, r: RangeInclusive<u64>) -> Result<(), ConfigError> {
        if r.contains(&v) {
            Ok(())
        } else {
            Err(self.invalid(
                key,
                format!("{v} is out of range ({} to {})", r.start(), r.end()),
            ))
        }
    }

    fn non_empty(&self, key: &str, v: &str) -> Result<(), ConfigError> {
        if v.trim().is_empty() {
            Err(self.invalid(key, "must not be empty"))
        } else {
            Ok(())
        }
    }

    /// `nan`/`inf` anywhere in a plugin's settings. They reach the plugin as JSON `null` (JSON has
    /// no such numbers), which plugins read as "use the default": a silent $10,000.
    fn finite(&self, key: &str, v: &toml::Value) -> Result<(), ConfigError> {
        match v {
            toml::Value::Float(f) if !f.is_finite() => Err(self.invalid(
                key,
                format!("{f} is not a number; write an amount such as \"100\""),
            )),
            toml::Value::Array(a) => a
                .iter()
                .enumerate()
                .try_for_each(|(i, x)| self.finite(&format!("{key}[{i}]"), x)),
            toml::Value::Table(t) => t
                .iter()
                .try_for_each(|(k, x)| self.finite(&format!("{key}.{k}"), x)),
            _ => Ok(()),
        }
    }

    fn settings(&self, at: &str, t: &toml::Table) -> Result<(), ConfigError> {
        for (k, v) in t {
            if plugin_api::settings::is_host_key(k) {
                // Plugins ignore unknown `_` keys (the host's context), so one written here
                // would be silently dropped or would spoof the host's.
                return Err(self.invalid(
                    format!("{at}.settings.{k}"),
                    "keys starting with `_` are reserved for the host's context; remove it",
                ));
            }
            self.finite(&format!("{at}.settings.{k}"), v)?;
        }
        if let Some(v) = t.get("min_roi") {
            self.min_roi(&format!("{at}.settings.min_roi"), v)?;
        }
        Ok(())
    }

    /// ROI is a fraction of the cost; 1 (100%) or more is never met by a two-leg arbitrage, so
    /// it is a percentage typed where a fraction was meant.
    fn min_roi(&self, key: &str, v: &toml::Value) -> Result<(), ConfigError> {
        let below_one = match v {
            toml::Value::String(s) => plugin_api::Usd::parse(s)
                .map(|u| u.0 < 1_000_000)
                .unwrap_or(true), // malformed: the plugin names it
            toml::Value::Integer(i) => *i < 1,
            toml::Value::Float(f) => *f < 1.0,
            _ => true,
        };
        if below_one {
            Ok(())
        } else {
            Err(self.invalid(
                key,
                format!("{v} is 100% or more; min_roi is a fraction (0.02 is 2%)"),
            ))
        }
    }

    /// A balance must fit the fixed-point money type (micro-dollars in an i64).
    fn balance(&self, key: &str, v: &toml::Value) -> Result<(), ConfigError> {
        let fits = match v {
            toml::Value::Integer(i) => i.checked_mul(1_000_000).is_some(),
            toml::Value::String(s) => plugin_api::Usd::parse(s).is_ok(),
            _ => true, // other shapes: the plugin names them
        };
        if fits {
            Ok(())
        } else {
            Err(self.invalid(
                key,
                format!(
                    "{v} is not an amount of dollars that fits (at most {} with 6 decimals)",
                    i64::MAX / 1_000_000
                ),
            ))
        }
    }

    fn chain_id(&self, key: &str, v: &toml::Value) -> Result<(), ConfigError> {
        match v.as_integer() {
            Some(i) if CHAIN_ID.contains(&i) => Ok(()),
            _ => Err(self.invalid(
                key,
                format!("{v} is not a chain id (a positive integer, e.g. 137 for Polygon)"),
            )),
        }
    }
}

/// Value checks of every command: numbers in range, no `nan`, no empty ids, no duplicate pair.
pub(super) fn check_values(cfg: &Config) -> Result<(), ConfigError> {
    let c = Checker { cfg };
    c.range_u64(
        "plugins.call_timeout_ms",
        cfg.plugins.call_timeout_ms,
        TIMEOUT_MS,
    )?;
    for (i, v) in cfg.venues.iter().enumerate() {
        let at = format!("venue[{i}]");
        c.non_empty(&format!("{at}.plugin"), &v.plugin)?;
        c.range_u64(&format!("{at}.timeout_ms"), v.timeout_ms, TIMEOUT_MS)?;
        if v.retries > MAX_RETRIES {
            return Err(c.invalid(
                format!("{at}.retries"),
                format!("{} is out of range (0 to {MAX_RETRIES})", v.retries),
            ));
        }
        c.settings(&at, &v.settings)?;
        if let Some(b) = v.settings.get("balance") {
            c.balance(&format!("{at}.settings.balance"), b)?;
        }
        if let Some(id) = v.settings.get("chain_id") {
            c.chain_id(&format!("{at}.settings.chain_id"), id)?;
        }
    }
    for (i, r) in cfg.risks.iter().enumerate() {
        let at = format!("risk[{i}]");
        c.non_empty(&format!("{at}.name"), &r.name)?;
        c.non_empty(&format!("{at}.plugin"), &r.plugin)?;
        c.settings(&at, &r.settings)?;
    }
    if let Some(s) = &cfg.strategy {
        c.non_empty("strategy.name", &s.name)?;
        c.non_empty("strategy.plugin", &s.plugin)?;
        c.settings("strategy", &s.settings)?;
    }
    let e = &cfg.engine;
    c.range_u64("engine.poll_ms", e.poll_ms, POLL_MS)?;
    c.range_u64("engine.settle_poll_ms", e.settle_poll_ms, POLL_MS)?;
    c.range_u64(
        "engine.unwind_time_cap_ms",
        e.unwind_time_cap_ms,
        0..=86_400_000,
    )?;
    if e.rehearse_every_us != 0 && !REHEARSE_EVERY_US.contains(&e.rehearse_every_us) {
        return Err(c.invalid(
            "engine.rehearse_every_us",
            format!(
                "{} is out of range (0 for off, or {} to {})",
                e.rehearse_every_us,
                REHEARSE_EVERY_US.start(),
                REHEARSE_EVERY_US.end()
            ),
        ));
    }
    c.range_u64(
        "api.max_connections",
        cfg.api.max_connections as u64,
        1..=65_536,
    )?;
    c.range_u64(
        "api.header_timeout_ms",
        cfg.api.header_timeout_ms,
        TIMEOUT_MS,
    )?;
    c.range_u64("api.idle_timeout_ms", cfg.api.idle_timeout_ms, POLL_MS)?;
    super::roles::check_roles(cfg)?;
    pairs(&c)
}

/// Empty ids, and a pair that repeats an earlier one (same instruments, or the same with P and
/// not-P swapped on both venues, which is the same two trades).
fn pairs(c: &Checker<'_>) -> Result<(), ConfigError> {
    let mut seen: BTreeMap<[&str; 6], usize> = BTreeMap::new();
    for (i, p) in c.cfg.pairs.iter().enumerate() {
        c.non_empty(&format!("pair[{i}].id"), &p.id)?;
        for (side, s) in [("a", &p.a), ("b", &p.b)] {
            c.non_empty(&format!("pair[{i}].{side}.venue"), &s.venue)?;
            c.non_empty(&format!("pair[{i}].{side}.yes"), &s.yes)?;
            c.non_empty(&format!("pair[{i}].{side}.no"), &s.no)?;
        }
        let key = [
            p.a.venue.as_str(),
            p.a.yes.as_str(),
            p.a.no.as_str(),
            p.b.venue.as_str(),
            p.b.yes.as_str(),
            p.b.no.as_str(),
        ];
        let mirror = [key[0], key[2], key[1], key[3], key[5], key[4]];
        if let Some(j) = seen.get(&key).or_else(|| seen.get(&mirror)) {
            return Err(c.invalid(
                format!("pair[{i}]"),
                format!(
                    "{:?} trades the same instruments as pair[{j}] ({:?})",
                    p.id, c.cfg.pairs[*j].id
                ),
            ));
        }
        seen.insert(key, i);
    }
    Ok(())
}

/// What `run` needs beyond a loadable config. `check` runs this too, so it never says ok for a
/// config `run` refuses.
pub fn validate_for_run(cfg: &Config) -> Result<(), ConfigError> {
    let c = Checker { cfg };
    if cfg.strategy.is_none() {
        return Err(c.invalid(
            "strategy",
            "missing: add a [strategy] section (e.g. plugin = \"arb\")",
        ));
    }
    super::discovery::check(cfg)?;
    if cfg.mode == Mode::Live && cfg.risks.is_empty() {
        return Err(c.invalid(
            "risk",
            "mode = \"live\" needs at least one [[risk]] policy (e.g. plugin = \"risk-limits\"); \
             refusing to trade real money without limits",
        ));
    }
    if cfg.api.enabled {
        // The API's own rule, so check and run cannot drift apart.
        crate::api::check_bind(&cfg.api.bind, cfg.api.api_key.is_some()).map_err(|e| {
            let m = e.to_string();
            c.invalid("api.bind", m.trim_start_matches("api.bind: "))
        })?;
    }
    Ok(())
}
