//! Fault injection for the crash tests, off unless its environment variable is set.
//!
//! `POLYMIX_FAULT_JOURNAL_HOLD_MS=N`: a live trade whose journal is normally committed before
//! its legs leave, without waiting for the disk (`executor::journal_unsynced_then_send`), has it
//! written N ms later instead, beside the sends (`executor::send_before_journal`). A test kills the process (SIGKILL)
//! meanwhile: the venues booked the orders and the ledger lacks them, which is what a power
//! cut before the fsync leaves. Restart must adopt those orders (`adopt_orders`). A
//! production run never sets it; when set it is logged once, loudly (and the run's own
//! orders are then briefly unknown to its ledger, which only the crash tests may allow).
//!
//! `POLYMIX_FAULT_DIE_AT_ANSWER=1`: the process dies (`abort`: no destructor, no flush) when
//! the first answer to a live entry order arrives, 300 ms after (so the other leg's write has
//! reached its venue too), before anything of it is recorded: the ledger holds the trade's
//! intent and not its rows (`store::intent_log`), and restart must write them and resolve
//! the trade from the venues.

use std::sync::OnceLock;
use std::time::Duration;

/// The variable that holds a live trade's journal back (see the module's doc).
const JOURNAL_HOLD: &str = "POLYMIX_FAULT_JOURNAL_HOLD_MS";
/// The variable that kills the process at its first order's answer (see the module's doc).
const DIE_AT_ANSWER: &str = "POLYMIX_FAULT_DIE_AT_ANSWER";

/// The configured hold, if any.
pub(super) fn journal_hold() -> Option<Duration> {
    static HOLD: OnceLock<Option<Duration>> = OnceLock::new();
    *HOLD.get_or_init(|| {
        let v = std::env::var(JOURNAL_HOLD).ok()?;
        match v.trim().parse::<u64>() {
            Ok(ms) => {
                tracing::warn!(
                    hold_ms = ms,
                    "{JOURNAL_HOLD} is set: trade journals are held back (crash tests only)"
                );
                Some(Duration::from_millis(ms))
            }
            Err(_) => {
                tracing::error!(value = %v, "{JOURNAL_HOLD} is not a whole number of ms; ignored");
                None
            }
        }
    })
}

/// Whether the process dies at the first answer to a live entry order
/// (`POLYMIX_FAULT_DIE_AT_ANSWER=1`).
pub(super) fn die_at_answer() -> bool {
    static DIE: OnceLock<bool> = OnceLock::new();
    *DIE.get_or_init(|| {
        let on = std::env::var(DIE_AT_ANSWER).is_ok_and(|v| v.trim() == "1");
        if on {
            tracing::warn!("{DIE_AT_ANSWER} is set: the process dies at its first order's answer (crash tests only)");
        }
        on
    })
}

/// Dies, as [`die_at_answer`] says, once the other leg's write has had time to arrive.
pub(super) fn die_now() -> ! {
    std::thread::sleep(Duration::from_millis(300));
    std::process::abort()
}
