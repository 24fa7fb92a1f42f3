//! `polymix pairs …`: discover candidate pairs through the venue plugins, and review them in
//! the registry (list, show, approve, reject, suspend, retire).

use clap::{Args, Subcommand};
use plugin_api::Price;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use polymix_host::config::Config;
use polymix_host::pairs::leagues::{league, League, LEAGUES};
use polymix_host::pairs::normalize::parse_date;
use polymix_host::pairs::run::{discover_into_registry, DiscoverRequest};
use polymix_host::pairs::MatchParams;
use polymix_host::plugins::Registry;
use polymix_host::store::pair_registry::Proposed;
use polymix_host::store::{Ledger, PairState, RegisteredPair};
use polymix_host::venue_io::{Clock, SystemClock};

use super::output::outln;

#[derive(Args, Debug)]
pub struct PairsArgs {
    #[command(subcommand)]
    cmd: PairsCmd,
}

#[derive(Args, Debug)]
struct Common {
    /// Config file.
    #[arg(long, short)]
    config: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct Decide {
    #[command(flatten)]
    common: Common,
    /// Pair id.
    id: String,
    /// Who decides (default: $USER).
    #[arg(long)]
    by: Option<String>,
    /// Why.
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Subcommand, Debug)]
enum PairsCmd {
    /// Read both venues' listings and propose candidate pairs into the registry.
    Discover {
        #[command(flatten)]
        common: Common,
        /// Leagues, comma-separated (default: all known).
        #[arg(long, value_delimiter = ',')]
        league: Vec<String>,
        /// First day (YYYY-MM-DD, UTC) of games to consider.
        #[arg(long)]
        from: Option<String>,
        /// Day (YYYY-MM-DD, UTC) after the last one to consider.
        #[arg(long)]
        to: Option<String>,
        /// Venue A (default: the config's first venue).
        #[arg(long)]
        venue_a: Option<String>,
        /// Venue B (default: the config's second venue).
        #[arg(long)]
        venue_b: Option<String>,
        /// Largest start-time difference, minutes.
        #[arg(long, default_value_t = 30)]
        start_window_min: i64,
        /// Largest close-time difference, hours.
        #[arg(long, default_value_t = 72)]
        close_window_h: i64,
    },
    /// List registered pairs.
    List {
        #[command(flatten)]
        common: Common,
        /// Only pairs in this state.
        #[arg(long)]
        state: Option<String>,
    },
    /// One pair: polarity evidence, blockers, both rules texts, history.
    Show {
        #[command(flatten)]
        common: Common,
        /// Pair id.
        id: String,
    },
    /// Approve a pair (a blocked one only with --override REASON, which is recorded).
    Approve {
        #[command(flatten)]
        d: Decide,
        /// Approve despite its vetoes/flags, for this recorded reason.
        #[arg(long = "override")]
        override_reason: Option<String>,
    },
    /// Reject a proposed pair.
    Reject(Decide),
    /// Stop trading an approved pair.
    Suspend(Decide),
    /// Retire a pair for good.
    Retire(Decide),
}

fn now_ms() -> i64 {
    SystemClock.now_ms()
}

fn actor(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "operator".into())
}

/// The registry of a config's ledger, with the config's `[[pair]]` entries registered.
fn open_registry(cfg: &Config) -> anyhow::Result<Ledger> {
    let ledger = Ledger::open(&cfg.ledger_path())?;
    ledger.pair_sync_config(&cfg.pairs, now_ms())?;
    Ok(ledger)
}

pub async fn pairs(a: PairsArgs) -> anyhow::Result<ExitCode> {
    match a.cmd {
        PairsCmd::Discover {
            common,
            league: leagues,
            from,
            to,
            venue_a,
            venue_b,
            start_window_min,
            close_window_h,
        } => {
            let params = MatchParams {
                start_window_ms: start_window_min.max(0).saturating_mul(60_000),
                close_window_ms: close_window_h.max(0).saturating_mul(3_600_000),
                ..MatchParams::default()
            };
            run_discover(common, leagues, from, to, venue_a, venue_b, params).await
        }
        PairsCmd::List { common, state } => {
            let cfg = super::load_config(&common.config)?;
            let state = match state {
                Some(s) => Some(PairState::parse(&s).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--state: expected proposed, approved, rejected, suspended or retired, found {s:?}"
                    )
                })?),
                None => None,
            };
            let list = open_registry(&cfg)?.pairs(state)?;
            if common.json {
                outln!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                outln!("{} pairs in {}", list.len(), cfg.ledger_path().display());
                for p in &list {
                    print_line(p)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PairsCmd::Show { common, id } => {
            let cfg = super::load_config(&common.config)?;
            let p = open_registry(&cfg)?
                .pair(&id)?
                .ok_or_else(|| anyhow::anyhow!("pair {id:?} is not in the registry"))?;
            if common.json {
                outln!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                print_show(&p)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        PairsCmd::Approve { d, override_reason } => decide(d, PairState::Approved, override_reason),
        PairsCmd::Reject(d) => decide(d, PairState::Rejected, None),
        PairsCmd::Suspend(d) => decide(d, PairState::Suspended, None),
        PairsCmd::Retire(d) => decide(d, PairState::Retired, None),
    }
}

fn decide(d: Decide, to: PairState, override_reason: Option<String>) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(&d.common.config)?;
    let p = open_registry(&cfg)?.pair_decide(
        &d.id,
        to,
        &actor(d.by),
        d.reason.as_deref(),
        override_reason.as_deref(),
        now_ms(),
    )?;
    if d.common.json {
        outln!("{}", serde_json::to_string_pretty(&p)?);
    } else {
        print_line(&p)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_line(p: &RegisteredPair) -> anyhow::Result<()> {
    let blockers: Vec<&str> = p.blockers.iter().map(|b| b.code.as_str()).collect();
    outln!(
        "{:<10} {}  {}: yes={} no={}  {}: yes={} no={}{}",
        p.state.as_str(),
        p.id,
        p.a.venue,
        p.a.yes,
        p.a.no,
        p.b.venue,
        p.b.yes,
        p.b.no,
        if blockers.is_empty() {
            String::new()
        } else {
            format!("  BLOCKED: {}", blockers.join(","))
        }
    );
    Ok(())
}

fn print_show(p: &RegisteredPair) -> anyhow::Result<()> {
    outln!("{}  [{}]  {}", p.id, p.state, p.title);
    for (side, label) in [(&p.a, "A"), (&p.b, "B")] {
        outln!("{label} {}: yes (pays if P) = {}", side.venue, side.yes);
        outln!("{label} {}: no  (pays if not P) = {}", side.venue, side.no);
    }
    for key in ["a", "b"] {
        if let Some(s) = p.candidate.get(key) {
            let f = |k: &str| s.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            outln!("why {key}.yes: {}", f("yes_why"));
            outln!("why {key}.no:  {}", f("no_why"));
        }
    }
    for b in &p.blockers {
        outln!("BLOCKER {}: {}", b.code, b.reason);
    }
    if let Some(o) = &p.override_reason {
        outln!("override: {o}");
    }
    outln!("--- rules {} ---\n{}", p.a.venue, p.a.rules);
    outln!("--- rules {} ---\n{}", p.b.venue, p.b.rules);
    for h in &p.history {
        outln!(
            "{}  {} -> {}  by {}{}",
            h.at_ms,
            h.from.map_or("-", |s| s.as_str()),
            h.to,
            h.actor,
            h.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn day_arg(flag: &str, v: Option<String>) -> anyhow::Result<Option<i64>> {
    v.map(|s| {
        parse_date(&s)
            .ok_or_else(|| anyhow::anyhow!("{flag}: expected a date YYYY-MM-DD, found {s:?}"))
    })
    .transpose()
}

async fn run_discover(
    common: Common,
    leagues: Vec<String>,
    from: Option<String>,
    to: Option<String>,
    venue_a: Option<String>,
    venue_b: Option<String>,
    params: MatchParams,
) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(&common.config)?;
    let from_ms = day_arg("--from", from)?;
    let to_ms = day_arg("--to", to)?;
    if let (Some(f), Some(t)) = (from_ms, to_ms) {
        if t <= f {
            anyhow::bail!("--to must be after --from");
        }
    }
    let chosen: Vec<&'static League> = if leagues.is_empty() {
        LEAGUES.iter().collect()
    } else {
        leagues
            .iter()
            .map(|l| {
                league(l).ok_or_else(|| {
                    let known: Vec<&str> = LEAGUES.iter().map(|l| l.name).collect();
                    anyhow::anyhow!(
                        "--league: unknown league {l:?} (known: {})",
                        known.join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let name_of = |given: Option<String>, i: usize, flag: &str| -> anyhow::Result<String> {
        match given {
            Some(n) => Ok(n),
            None => cfg.venues.get(i).map(|v| v.name.clone()).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: discovery needs two venues; give {flag}",
                    common.config.display()
                )
            }),
        }
    };
    let (na, nb) = (
        name_of(venue_a, 0, "--venue-a")?,
        name_of(venue_b, 1, "--venue-b")?,
    );
    if na == nb {
        anyhow::bail!("--venue-a and --venue-b are both {na:?}");
    }
    let c2 = cfg.clone();
    let reg = tokio::task::spawn_blocking(move || Registry::build(&c2)).await??;
    let ledger = open_registry(&cfg)?;
    let req = DiscoverRequest {
        leagues: chosen,
        from_ms,
        to_ms,
        venue_a: na,
        venue_b: nb,
        params,
    };
    let report = discover_into_registry(&cfg, &reg, &ledger, &req, Arc::new(SystemClock)).await?;
    let mut counts = [0usize; 3];
    for o in report.iter().flat_map(|r| &r.outcomes) {
        match o {
            Proposed::Inserted => counts[0] += 1,
            Proposed::Refreshed => counts[1] += 1,
            Proposed::Kept(_) => counts[2] += 1,
        }
    }
    let report: Vec<_> = report
        .into_iter()
        .map(|r| (r.league, r.discovery, r.outcomes))
        .collect();
    if common.json {
        let v: Vec<_> = report
            .iter()
            .map(|(l, d, o)| {
                serde_json::json!({"league": l, "candidates": d.candidates, "registry": o, "unmatched": d.unmatched})
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (l, d, _) in &report {
        outln!(
            "== {l}: {} candidates, {} unmatched",
            d.candidates.len(),
            d.unmatched.len()
        );
        for c in &d.candidates {
            let sum = |x: Option<Price>, y: Option<Price>| match (x, y) {
                (Some(x), Some(y)) => format!("{}", Price(x.0 + y.0)),
                _ => "-".into(),
            };
            outln!(
                "{} {}  {}: yes={} no={}  {}: yes={} no={}  cost(yesA+noB)={}",
                if c.clean() { "ok     " } else { "BLOCKED" },
                c.id,
                c.a.venue,
                c.a.yes,
                c.a.no,
                c.b.venue,
                c.b.yes,
                c.b.no,
                sum(c.a.yes_ask, c.b.no_ask)
            );
            for v in &c.vetoes {
                outln!("    veto {}: {v}", v.code());
            }
            for f in &c.flags {
                outln!("    flag: {f}");
            }
        }
        for u in &d.unmatched {
            outln!(
                "  unmatched {} {} ({}): {}",
                u.venue,
                u.event_id,
                u.title,
                u.reason
            );
        }
    }
    outln!(
        "registry {}: {} new, {} refreshed, {} already decided",
        cfg.ledger_path().display(),
        counts[0],
        counts[1],
        counts[2]
    );
    Ok(ExitCode::SUCCESS)
}
