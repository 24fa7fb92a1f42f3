//! The watchdog of plugin calls made on the caller's thread (`guard`'s inline path): one
//! thread for the whole process looks at every instance's running calls and disables an
//! instance whose call has outlived its timeout, as the worker path does when its wait ends.
//! The caller cannot be given its thread back; what matters is that nothing new is sent into
//! a plugin that hung, and that the operator is told at the timeout, not when (if) it returns.
//!
//! Such a call also holds the task that made it (a driver, a trade on its way out or
//! unwinding) until it returns, and, run directly, the task its thread would have run next
//! (tokio's LIFO slot, which no other thread may take). So the watchdog also raises the
//! instance's [`HangAlarm`], on which a live run stops (`Engine::run_live`): a restart
//! reconciles every trade from the ledger and the venues, where staying up could leave a
//! trade's second leg or unwind waiting for a call that never ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// How often the watchdog looks; a hung call is reported at most this much after its timeout.
const TICK: Duration = Duration::from_millis(20);

/// Raised, with its reason, when a plugin call made on a caller's thread outlives its
/// timeout: the call holds the task that made it, for good if it never returns. One per
/// registry (every instance of one engine's config); a live run stops on it.
#[derive(Clone, Debug)]
pub struct HangAlarm(Arc<tokio::sync::watch::Sender<Option<String>>>);

impl Default for HangAlarm {
    fn default() -> Self {
        HangAlarm(Arc::new(tokio::sync::watch::Sender::new(None)))
    }
}

impl HangAlarm {
    /// Why it was raised, if it was.
    pub fn raised(&self) -> Option<String> {
        self.0.borrow().clone()
    }

    /// Waits until it is raised; its reason (the first, if raised more than once).
    pub async fn wait(&self) -> String {
        let mut rx = self.0.subscribe();
        let reason = match rx.wait_for(Option::is_some).await {
            Ok(r) => r.clone().unwrap_or_default(),
            // The sender lives in `self`: it cannot be gone while this waits.
            Err(_) => std::future::pending().await,
        };
        reason
    }

    fn raise(&self, reason: &str) {
        self.0.send_if_modified(|r| {
            if r.is_some() {
                return false;
            }
            *r = Some(reason.to_string());
            true
        });
    }
}

/// One instance's health and its calls running on callers' threads.
pub(super) struct Watch {
    instance: String,
    timeout: Duration,
    failed: Mutex<Option<String>>,
    running: Mutex<Vec<Running>>,
    next_id: AtomicU64,
    registered: OnceLock<()>,
    alarm: OnceLock<HangAlarm>,
}

struct Running {
    id: u64,
    what: String,
    started: Instant,
    /// Runs directly on a runtime thread (`guard`'s direct-call permit).
    direct: bool,
}

/// A call in progress; [`Call::end`] says whether it outlived the timeout.
pub(super) struct Call<'a> {
    watch: &'a Arc<Watch>,
    id: u64,
    started: Instant,
}

impl Watch {
    pub(super) fn new(instance: &str, timeout: Duration) -> Self {
        Watch {
            instance: instance.to_string(),
            timeout,
            failed: Mutex::new(None),
            running: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            registered: OnceLock::new(),
            alarm: OnceLock::new(),
        }
    }

    /// The alarm a late call raises (the first one set is kept).
    pub(super) fn set_alarm(&self, alarm: HangAlarm) {
        let _ = self.alarm.set(alarm);
    }

    /// Why the instance is disabled, if it is.
    pub(super) fn failure(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Disables the instance; the first reason is kept (and logged once).
    pub(super) fn disable(&self, reason: String) {
        let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        if failed.is_none() {
            tracing::error!(plugin = %self.instance, %reason, "plugin instance disabled");
            *failed = Some(reason);
        }
    }

    /// Registers a call about to run on the caller's thread.
    pub(super) fn begin<'a>(self: &'a Arc<Self>, what: &str, direct: bool) -> Call<'a> {
        self.registered
            .get_or_init(|| watched(Arc::downgrade(self)));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Running {
                id,
                what: what.to_string(),
                started,
                direct,
            });
        Call {
            watch: self,
            id,
            started,
        }
    }

    /// Disables the instance and raises its alarm if one of its calls has outlived the
    /// timeout.
    fn look(&self, now: Instant) {
        let late = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|r| now.duration_since(r.started) > self.timeout)
            .map(|r| (r.what.clone(), r.direct));
        let Some((what, direct)) = late else {
            return;
        };
        // Said once: a call that stays late is seen again at every tick.
        let raised = self.alarm.get().is_none_or(|a| a.raised().is_some());
        if raised && self.failure().is_some() {
            return;
        }
        // A direct call holds a runtime thread too (see the module's doc).
        let held = if direct {
            "one of the runtime's threads and "
        } else {
            ""
        };
        let reason = format!(
            "{}: call `{what}` did not return within {} ms; instance disabled; it holds {held}the task that made it",
            self.instance,
            self.timeout.as_millis()
        );
        if self.failure().is_none() {
            crate::metrics::inc(
                "polymix_plugin_call_failures_total",
                &[("plugin", &self.instance), ("call", &what)],
            );
            self.disable(reason.clone());
        }
        // Raised even if the instance was disabled before (a panic while this call ran):
        // the call holds its caller either way. The alarm keeps its first reason.
        if let Some(alarm) = self.alarm.get() {
            alarm.raise(&reason);
        }
    }
}

impl Call<'_> {
    /// The call returned: true if it took longer than the timeout.
    pub(super) fn end(self) -> bool {
        let late = self.started.elapsed() > self.watch.timeout;
        self.watch
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|r| r.id != self.id);
        late
    }
}

/// Every watched instance; the watchdog thread starts with the first.
fn watched(w: Weak<Watch>) {
    static WATCHED: OnceLock<Mutex<Vec<Weak<Watch>>>> = OnceLock::new();
    let list = WATCHED.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("plugin-watchdog".into())
            .spawn(|| loop {
                std::thread::sleep(TICK);
                let now = Instant::now();
                let alive: Vec<Arc<Watch>> = match WATCHED.get() {
                    Some(l) => {
                        let mut l = l.lock().unwrap_or_else(|p| p.into_inner());
                        l.retain(|w| w.strong_count() > 0);
                        l.iter().filter_map(Weak::upgrade).collect()
                    }
                    None => continue,
                };
                for w in alive {
                    w.look(now);
                }
            });
        if let Err(e) = spawned {
            // Without it a hung call is still answered Timeout when (if) it returns.
            tracing::error!(error = %e, "cannot start the plugin watchdog thread");
        }
        Mutex::new(Vec::new())
    });
    list.lock().unwrap_or_else(|p| p.into_inner()).push(w);
}
