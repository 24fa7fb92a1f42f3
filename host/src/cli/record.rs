//! `polymix record --config F --out FILE [--duration D]`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use polymix_host::record::{self, RecordOptions};

use super::output::{note, outln};

/// `90s`, `15m`, `2h`, `500ms`, or a number of seconds.
fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| {
        anyhow::anyhow!("--duration: {s:?} is not a duration such as 90s, 15m or 2h")
    })?;
    let ms = match unit {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => None,
    }
    .filter(|ms| *ms > 0)
    .ok_or_else(|| {
        anyhow::anyhow!("--duration: {s:?} is not a positive duration such as 90s, 15m or 2h")
    })?;
    Ok(Duration::from_millis(ms))
}

/// Records the feeds of a config to a scenario file.
pub async fn record(config: &Path, out: &Path, duration: Option<&str>) -> anyhow::Result<ExitCode> {
    let duration = match duration {
        Some(d) => parse_duration(d)?,
        None => Duration::from_secs(u64::MAX / 4),
    };
    let (cfg, reg) = super::prepare(config).await?;
    let mut file =
        std::fs::File::create(out).map_err(|e| anyhow::anyhow!("--out {}: {e}", out.display()))?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
    });
    note!(
        "recording the feeds of {} to {} (Ctrl-C stops and writes)",
        config.display(),
        out.display()
    );
    let opts = RecordOptions {
        duration,
        poll: Duration::from_millis(cfg.engine.poll_ms),
        settle_poll: Duration::from_millis(cfg.engine.settle_poll_ms),
    };
    let s = record::record(&cfg, &reg, &mut file, opts, rx).await?;
    outln!(
        "recorded {} markets: {} book, {} resolve and {} status lines ({} snapshots skipped) to {}",
        s.markets,
        s.books,
        s.resolutions,
        s.statuses,
        s.skipped,
        out.display()
    );
    outln!("replay it: set `scenario = \"{}\"` and `venue_key = \"<venue name>\"` on each paper-sim venue instead of `feed`, then `polymix run`", out.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        use super::parse_duration as p;
        assert_eq!(p("90s").unwrap().as_secs(), 90);
        assert_eq!(p("15m").unwrap().as_secs(), 900);
        assert_eq!(p("2h").unwrap().as_secs(), 7200);
        assert_eq!(p("500ms").unwrap().as_millis(), 500);
        assert_eq!(p("30").unwrap().as_secs(), 30);
        assert!(p("0s").is_err() && p("x").is_err() && p("5d").is_err());
    }
}
