//! `polymix run`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use polymix_host::api::{self, ApiError, ApiState};
use polymix_host::config::{resolve_secret, Config, Mode};
use polymix_host::engine::{Engine, EngineOptions};
use polymix_host::plugins::Registry;
use polymix_host::venue_io::{Clock, SimClock, SystemClock};

use super::output::{note, out, outln};

/// Replay speeds accepted by `--speed`: beyond these a sleep between events overflows (1e-300)
/// or rounds to nothing, and NaN or a negative speed has no meaning.
const SPEED: std::ops::RangeInclusive<f64> = 0.001..=1_000_000.0;

/// Starts the control API if enabled. A refused non-loopback bind stops the run; a port that is
/// taken is reported and the run goes on without the API.
async fn start_api(cfg: &Config, engine: &Arc<Engine>, reg: &Registry) -> anyhow::Result<()> {
    if let Some(n) = polymix_host::notify::from_config(cfg).map_err(anyhow::Error::msg)? {
        engine.set_notifier(n);
    }
    if !cfg.api.enabled {
        return Ok(());
    }
    let key = |r: &Option<polymix_host::config::SecretRef>| -> anyhow::Result<Option<String>> {
        r.as_ref()
            .map(|r| resolve_secret(r, &cfg.config_dir).map_err(anyhow::Error::msg))
            .transpose()
    };
    let state = ApiState {
        engine: engine.clone(),
        plugins: reg.rows.clone(),
        api_key: key(&cfg.api.api_key)?,
        reset_key: key(&cfg.api.reset_key)?,
        limits: api::ApiLimits {
            max_connections: cfg.api.max_connections as usize,
            header_timeout: std::time::Duration::from_millis(cfg.api.header_timeout_ms),
            idle_timeout: std::time::Duration::from_millis(cfg.api.idle_timeout_ms),
        },
    };
    match api::serve(&cfg.api.bind, state).await {
        Ok(addr) => {
            note!("control API on http://{addr}/api/trading/state");
            Ok(())
        }
        Err(e @ (ApiError::Exposed(_) | ApiError::BadBind(_))) => Err(e.into()),
        Err(e) => {
            note!("warning: {e}; continuing without the control API");
            Ok(())
        }
    }
}

fn live_confirmed(flag: bool) -> bool {
    flag || std::env::var("LIVE_TRADING")
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1")
        .unwrap_or(false)
}

/// Runs the engine.
pub async fn run(
    path: &Path,
    exit_on_completion: bool,
    speed: Option<f64>,
    live: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if let Some(s) = speed.filter(|s| !SPEED.contains(s)) {
        anyhow::bail!(
            "--speed: {s:?} is out of range (a multiple of real time from {} to {})",
            SPEED.start(),
            SPEED.end()
        );
    }
    let (cfg, reg) = super::prepare(path).await?;
    let cfg = Arc::new(cfg);
    // Market-data instances never trade (the host refuses them orders); what decides paper
    // or live is the trading venues. A simulator fed live runs the live loop, not a replay.
    let trading = |name: &str| {
        cfg.venue(name)
            .is_none_or(|e| e.role != polymix_host::config::VenueRole::MarketData)
    };
    let all_simulated = reg
        .venues
        .iter()
        .filter(|v| trading(&v.name))
        .all(|v| v.info.simulated);
    let fed = cfg.venues.iter().any(|v| v.feed.is_some());
    let opts = EngineOptions {
        live_confirmed: live_confirmed(live),
    };
    if all_simulated && !fed {
        let first = reg
            .venues
            .iter()
            .filter_map(|v| {
                v.handle
                    .call("next_event_ms", |h| Ok(h.next_event_ms()))
                    .ok()
                    .flatten()
            })
            .min()
            .unwrap_or(0);
        // A ledger with trades means a killed (or finished) replay on this data dir: the
        // simulators rebuilt their accounts from their journals and the engine resumes at the
        // ledger's last write (see engine/replay_resume.rs). The clock starts no later than
        // that, so nothing at start moves a simulator past it.
        let (resumed, finished) = {
            use polymix_host::engine::replay_resume::{replay_done, resume_point};
            let ledger = polymix_host::store::Ledger::open(&cfg.ledger_path())?;
            (resume_point(&ledger)?, replay_done(&ledger)?)
        };
        let clock = SimClock::new(resumed.map_or(first, |at| at.min(first)));
        let engine = Arc::new(Engine::new(cfg.clone(), &reg, Arc::new(clock.clone()), opts).await?);
        start_api(&cfg, &engine, &reg).await?;
        let last = reg
            .venues
            .iter()
            .filter_map(|v| {
                v.handle
                    .call("next_event_ms", |h| Ok(h.next_event_ms()))
                    .ok()
                    .flatten()
            })
            .max()
            .unwrap_or(first);
        let bar = indicatif::ProgressBar::new(((last - first).max(1) / 1000) as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} replay [{bar:40}] {pos}/{len} sim-s {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let b2 = bar.clone();
        let progress =
            move |t: i64, _last: i64| b2.set_position(((t - first).max(0) / 1000) as u64);
        engine.replay(&clock, speed, &progress).await?;
        bar.finish_and_clear();
        if resumed.is_some() {
            engine.resumed_stats()?;
        }
        let balances = engine.refresh_balances().await?;
        let summary = engine.summary(balances)?;
        if json {
            outln!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            outln!(
                "PolyMix {} run: {}",
                cfg.mode.as_str().to_uppercase(),
                path.display()
            );
            out!("{}", summary.table());
            if let Some(at) = resumed {
                if finished {
                    outln!("note: the scenario was already replayed to its end on this data dir; these are that run's figures (trades, fees, P&L and balances from the ledger and the paper journals)");
                } else {
                    outln!("note: resumed this data dir's killed replay at sim time {at} ms; trades, fees, P&L and balances cover the whole run, the other counts this process only");
                }
                outln!(
                    "      to start afresh: polymix reset --config {} --key <reset key>",
                    path.display()
                );
            }
            if !summary.all_settled() {
                outln!("note: some trades are still open (markets not resolved in the scenario)");
            }
        }
        if !exit_on_completion {
            note!("replay finished; press Ctrl-C to exit");
            tokio::signal::ctrl_c().await?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if cfg.mode != Mode::Live && !(all_simulated && fed) {
        anyhow::bail!(
            "{}: mode is paper but some venues are live plugins; use paper-sim venues or set mode = \"live\"",
            path.display()
        );
    }
    if fed {
        note!(
            "paper trading on live market data: simulated venues fed by {}; no order leaves the machine",
            cfg.venues
                .iter()
                .filter_map(|v| v.feed.as_deref())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Arc::new(Engine::new(cfg.clone(), &reg, clock, opts).await?);
    start_api(&cfg, &engine, &reg).await?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
    });
    engine.run_live(rx).await?;
    let balances = engine.refresh_balances().await?;
    out!("{}", engine.summary(balances)?.table());
    Ok(ExitCode::SUCCESS)
}
