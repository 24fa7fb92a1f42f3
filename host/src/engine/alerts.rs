//! What the engine tells people: the ledger's error log (folding repeats), notifications
//! (webhooks), and risk halts announced once.

use super::error_throttle::ErrorThrottle;
use crate::notify::{Kind, Notifier};
use crate::store::Ledger;
use crate::venue_io::Clock;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

/// Error log and notifications.
pub(super) struct Alerts {
    ledger: Arc<Ledger>,
    clock: Arc<dyn Clock>,
    throttle: ErrorThrottle,
    notifier: OnceLock<Notifier>,
    /// Keys already announced by [`Alerts::notify_once`].
    announced: Mutex<HashSet<String>>,
}

impl Alerts {
    pub(super) fn new(ledger: Arc<Ledger>, clock: Arc<dyn Clock>) -> Alerts {
        Alerts {
            ledger,
            clock,
            throttle: ErrorThrottle::default(),
            notifier: OnceLock::new(),
            announced: Mutex::new(HashSet::new()),
        }
    }

    /// Attaches a notifier (once; later calls are ignored).
    pub(super) fn set_notifier(&self, n: Notifier) {
        let _ = self.notifier.set(n);
    }

    /// The notifier, if attached.
    pub(super) fn notifier(&self) -> Option<&Notifier> {
        self.notifier.get()
    }

    /// Sends a notification if a notifier is attached; never waits.
    pub(super) fn notify(&self, kind: Kind, text: String, trade_id: Option<&str>) {
        if let Some(n) = self.notifier.get() {
            n.send(kind, text, trade_id);
        }
    }

    /// Like [`Alerts::notify`], but only the first time `key` is seen (risk halts).
    pub(super) fn notify_once(&self, key: &str, kind: Kind, text: String, trade_id: Option<&str>) {
        let first = self
            .announced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string());
        if first {
            self.notify(kind, text, trade_id);
        }
    }

    /// Records an error in the ledger's error log and the log. Errors tied to a trade are
    /// always written; others are folded when they repeat (see `error_throttle`).
    pub(super) fn error(&self, trade_id: Option<&str>, source: &str, message: &str) {
        let now = self.clock.now_ms();
        let message = match trade_id {
            Some(_) => message.to_string(),
            None => match self.throttle.admit(source, message, now) {
                Some(m) => m,
                None => {
                    tracing::debug!(source, message, "repeated engine error");
                    return;
                }
            },
        };
        tracing::error!(trade_id, source, message = %message, "engine error");
        if let Err(e) = self.ledger.record_error(trade_id, source, &message, now) {
            tracing::error!(error = %e, "could not record error in ledger");
        }
    }
}
