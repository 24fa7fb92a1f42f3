//! Command-line parsing and dispatch. `anyhow` lives here and nowhere else.

mod check;
mod run;
mod state;
mod venue;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use polymix_host::config::{self, Config};

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
    /// Show the ledger's state: balances, open trades, today's counters, errors.
    State {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
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
}

/// Sets up `tracing` on stderr.
pub fn init_logging(args: &Cli) {
    let default = match args.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Loads a config or explains why not.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    Ok(config::load(path)?)
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
        Command::Reset { config, key } => state::reset(&config, &key).await,
        Command::Venue(v) => venue::venue(v).await,
    }
}
