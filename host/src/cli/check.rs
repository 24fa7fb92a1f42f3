//! `polymix check` and `polymix plugins`.

use std::path::Path;
use std::process::ExitCode;

use polymix_host::config::SecretRef;
use polymix_host::plugins::Registry;

use super::output::outln;

fn secret_line(name: &str, r: &SecretRef) -> String {
    format!("    {name} = *** (from {})", r.describe())
}

/// Validates and prints the resolved setup.
pub async fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let (cfg, reg) = super::prepare(path).await?;
    outln!("config: {}", path.display());
    outln!("mode: {}", cfg.mode.as_str());
    outln!("ledger: {}", cfg.ledger_path().display());
    outln!("venues:");
    for v in &cfg.venues {
        let inst = reg.venue(&v.name);
        let rates = polymix_host::venue_io::VenueIoSettings::resolve(
            v,
            &inst.map(|i| i.info.rate_limits.clone()).unwrap_or_default(),
        );
        outln!(
            "  {} (plugin {}, {}, timeout {} ms, rate {}/{} per s)",
            v.name,
            v.plugin,
            match (inst.map(|i| i.info.simulated), v.role, &v.feed) {
                (_, polymix_host::config::VenueRole::MarketData, _) =>
                    "market data only: no orders, no account".to_string(),
                (Some(true), _, Some(f)) => format!("simulated, fed live by {f}"),
                (Some(true), _, None) => "simulated".to_string(),
                (Some(false), _, _) => "LIVE".to_string(),
                (None, _, _) => "?".to_string(),
            },
            v.timeout_ms,
            rates.rates["read"],
            rates.rates["write"]
        );
        // As created: config plus what the environment gave the instance by its declaration.
        let res = reg.resolved("venue", &v.name);
        for (k, val) in res.map_or(&v.settings, |r| &r.settings) {
            outln!("    {k} = {val}");
        }
        for (k, r) in res.map_or(&v.secrets, |r| &r.secrets) {
            outln!("{}", secret_line(k, r));
        }
    }
    outln!("risk:");
    for r in &cfg.risks {
        outln!("  {} (plugin {})", r.name, r.plugin);
        let res = reg.resolved("risk", &r.name);
        for (k, val) in res.map_or(&r.settings, |x| &x.settings) {
            outln!("    {k} = {val}");
        }
    }
    if let Some(s) = &cfg.strategy {
        outln!("strategy: {} (plugin {})", s.name, s.plugin);
        let res = reg.resolved("strategy", &s.name);
        for (k, val) in res.map_or(&s.settings, |x| &x.settings) {
            outln!("    {k} = {val}");
        }
    }
    outln!("pairs: {}", cfg.pairs.len());
    outln!(
        "api: {} (api key {}, reset key {})",
        cfg.api.bind,
        if cfg.api.api_key.is_some() {
            "set"
        } else {
            "not set: mutating endpoints disabled"
        },
        if cfg.api.reset_key.is_some() {
            "set"
        } else {
            "not set"
        }
    );
    outln!("plugins:");
    for row in &reg.rows {
        outln!(
            "  {:<8} {:<10} {} {} (plugin-api {}) {}",
            row.kind,
            row.instance,
            row.name,
            row.version,
            row.api_version,
            row.path.display()
        );
    }
    outln!("ok");
    Ok(ExitCode::SUCCESS)
}

/// Lists loaded plugins.
pub async fn plugins(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(path)?;
    let reg = tokio::task::spawn_blocking(move || Registry::build(&cfg)).await??;
    if json {
        outln!("{}", serde_json::to_string_pretty(&reg.rows)?);
    } else {
        for row in &reg.rows {
            outln!(
                "{:<8} {:<10} {:<12} {:<8} plugin-api {:<8} {}",
                row.kind,
                row.instance,
                row.name,
                row.version,
                row.api_version,
                row.path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
