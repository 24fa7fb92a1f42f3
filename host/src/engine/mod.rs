//! The trading engine: books in, strategy proposals, risk gate, two-leg execution, unwinds,
//! settlement. Paper and live share all of it; only the venue plugins and the clock differ.

mod adopt_orders;
mod alerts;
mod auto_pairs;
mod avg_cost;
pub mod books;
mod decide;
pub mod decision_latency;
mod error_throttle;
mod executor;
mod fault_injection;
mod feed;
mod fill_reports;
mod in_flight;
mod journal_checkpoint;
mod landed;
mod live;
pub mod mark_to_market;
mod market_status;
mod market_view;
mod pair_adopt;
mod pair_audit;
mod pair_gate;
mod prepare;
mod reconcile;
mod rehearse;
pub mod replay;
pub mod replay_resume;
mod rest_poll;
pub mod risk_gate;
mod settlement;
mod setup;
pub mod stream_driver;
pub mod summary;
mod trade_ids;
mod trade_plan;
mod unwind;
mod user_stream;
mod venue_events;

pub use feed::FeedStatus;
pub use reconcile::Phase;
pub use setup::{Engine, EngineError, EngineOptions};
pub use summary::Summary;

/// UTC day `YYYY-MM-DD` of a ms timestamp (civil-from-days, no time zone database needed).
pub fn utc_day(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_day_matches_known_dates() {
        assert_eq!(super::utc_day(0), "1970-01-01");
        assert_eq!(super::utc_day(1_764_028_800_000), "2025-11-25");
        assert_eq!(super::utc_day(1_764_028_799_999), "2025-11-24");
        assert_eq!(super::utc_day(951_782_400_000), "2000-02-29");
    }
}
