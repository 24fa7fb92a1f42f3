//! Command-line parsing and dispatch. `anyhow` lives here and nowhere else.

mod check;
mod order_guard;
pub(crate) mod output;
mod pairs;
mod record;
mod run;
mod state;
mod trades;
mod venue;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use polymix_host::config::{self, Config};
use polymix_host::plugins::{Registry, RegistryError};

/// PolyMix: cross-venue prediction-market arbitrage (paper by default).
#[derive(Parser, Debug)]
#[command(name = "polymix", version, about)]
pub struct Cli {
    /// More log output (-v info, -vv debug). `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate a config, load every plugin, print the resolved setup (secrets masked).
    Check {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// List the plugins a config loads.
    Plugins {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Run the engine: replay the scenario (paper) or trade live.
    Run {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Stop when the scenario is replayed and settled (paper).
        #[arg(long)]
        exit_on_completion: bool,
        /// Replay speed as a multiple of real time (default: as fast as possible).
        #[arg(long)]
        speed: Option<f64>,
        /// Confirm live trading (or set LIVE_TRADING=true).
        #[arg(long)]
        live: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record what the live feeds deliver (books, rules, status, resolutions) as a scenario
    /// that `polymix run` replays.
    Record {
        /// Config file with simulators fed by market-data instances (e.g. config/paper-live.toml).
        #[arg(long, short)]
        config: PathBuf,
        /// Scenario file to write.
        #[arg(long)]
        out: PathBuf,
        /// How long to record: e.g. `90s`, `15m`, `2h` (default: until Ctrl-C).
        #[arg(long)]
        duration: Option<String>,
    },
    /// Show the ledger's state: balances, open trades, today's counters, errors.
    State {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Every trade of the ledger with its legs (orders as booked: fills, money, fees).
    Trades {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Every trade (the default).
        #[arg(long, conflicts_with = "open")]
        all: bool,
        /// Only trades that may still hold or acquire positions.
        #[arg(long)]
        open: bool,
    },
    /// Archive the ledger and start clean (needs the reset key).
    Reset {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
        /// The reset key ([api].reset_key or *_TRADING_RESET_KEY).
        #[arg(long)]
        key: String,
    },
    /// Operator commands through a venue plugin.
    Venue(venue::VenueArgs),
    /// Pair discovery and the pair registry.
    Pairs(pairs::PairsArgs),
}

/// How many log lines may wait for stderr before new ones are dropped.
const LOG_BACKLOG_LINES: usize = 64 * 1024;

/// Sets up `tracing` on stderr. Lines are written by a thread of their own: a thread that
/// logs (a trade on its way to the wire, a leg being unwound) only queues its line, so a
/// stderr that stops taking them (a stalled pipe, a paused terminal) never stops trading.
/// Lines past [`LOG_BACKLOG_LINES`] waiting are dropped, not waited for: the ledger, not the
/// log, is the record. Keep the guard until exit: dropping it writes what is queued (it
/// waits at most about a second for a stderr that takes nothing).
pub fn init_logging(args: &Cli) -> tracing_appender::non_blocking::WorkerGuard {
    let default = match args.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(LOG_BACKLOG_LINES)
        .thread_name("polymix-log")
        .finish(std::io::stderr());
    output::set_notes(writer.clone());
    // Dropped lines are not silent: /metrics counts them.
    let dropped = writer.error_counter();
    polymix_host::metrics::register_counter_source("polymix_log_lines_dropped_total", move || {
        dropped.dropped_lines() as u64
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init();
    guard
}

/// The one line printed for a failed command. Library errors here already end with their
/// cause (`cannot read: <io error>`) *and* expose it as `source()`, so printing anyhow's whole
/// chain (`{:#}`) said every cause twice. A cause is appended only when the line does not
/// already say it, so wrapped errors that omit their cause still show it.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    format!("error: {line}")
}

/// Loads a config or explains why not.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    Ok(config::load(path)?)
}

/// Everything `check` and `run` validate, in one place, so `check` never says ok for a config
/// `run` refuses: the file, the rules of a run, then every plugin with its settings.
pub async fn prepare(path: &Path) -> anyhow::Result<(Config, Registry)> {
    let cfg = load_config(path)?;
    config::validate_for_run(&cfg)?;
    let c2 = cfg.clone();
    let reg = tokio::task::spawn_blocking(move || Registry::build(&c2))
        .await?
        .map_err(|e| plugin_error(&cfg, e))?;
    // The engine refuses this too, but only once `run` starts it; `check` must say so first.
    if cfg.mode == config::Mode::Paper {
        if let Some((i, v)) = reg.venues.iter().enumerate().find(|(_, v)| {
            // A market-data instance never trades: paper may read its public data.
            !v.info.simulated
                && cfg
                    .venue(&v.name)
                    .is_none_or(|e| e.role != config::VenueRole::MarketData)
        }) {
            anyhow::bail!(
                "{}: venue[{i}].plugin: mode is paper but venue `{}` (plugin {}) is a live venue; \
                 use paper-sim venues or set mode = \"live\"",
                cfg.source.display(),
                v.name,
                v.plugin
            );
        }
    }
    Ok((cfg, reg))
}

/// A plugin's refusal of its settings, located like a config error: file, then the key path
/// (`risk[0].settings.min_roi`) when the plugin names a key that is in that table.
fn plugin_error(cfg: &Config, e: RegistryError) -> anyhow::Error {
    let RegistryError::Create {
        section,
        instance,
        error,
        ..
    } = &e
    else {
        return e.into();
    };
    let entry = match *section {
        "venue" => cfg
            .venues
            .iter()
            .position(|v| &v.name == instance)
            .map(|i| (format!("venue[{i}]"), &cfg.venues[i].settings)),
        "risk" => cfg
            .risks
            .iter()
            .position(|r| &r.name == instance)
            .map(|i| (format!("risk[{i}]"), &cfg.risks[i].settings)),
        "strategy" => cfg
            .strategy
            .as_ref()
            .map(|s| ("strategy".to_string(), &s.settings)),
        _ => None,
    };
    let Some((at, settings)) = entry else {
        return anyhow::anyhow!("{}: {e}", cfg.source.display());
    };
    // Settings errors quote the key in backticks (plugin_api::settings::SettingsError).
    let key = error
        .split('`')
        .skip(1)
        .step_by(2)
        .find(|k| settings.contains_key(*k));
    let path = match key {
        Some(k) => format!("{at}.settings.{k}"),
        None => format!("{at}.settings"),
    };
    anyhow::anyhow!("{}: {path}: {e}", cfg.source.display())
}

/// Runs the chosen command.
pub async fn dispatch(args: Cli) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Check { config } => check::check(&config).await,
        Command::Plugins { config, json } => check::plugins(&config, json).await,
        Command::Run {
            config,
            exit_on_completion,
            speed,
            live,
            json,
        } => run::run(&config, exit_on_completion, speed, live, json).await,
        Command::State { config, json } => state::state(&config, json).await,
        Command::Record {
            config,
            out,
            duration,
        } => record::record(&config, &out, duration.as_deref()).await,
        Command::Trades {
            config, json, open, ..
        } => {
            let which = if open {
                trades::Which::Open
            } else {
                trades::Which::All
            };
            trades::trades(&config, json, which).await
        }
        Command::Reset { config, key } => state::reset(&config, &key).await,
        Command::Venue(v) => venue::venue(v).await,
        Command::Pairs(p) => pairs::pairs(p).await,
    }
}
