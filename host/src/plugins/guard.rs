//! Host-side protection around every plugin call: an instance that panicked or hung (did not
//! return within the configured timeout) is disabled while the host keeps running.
//!
//! Two ways to call:
//! * **On a worker thread** ([`Guarded::call`], and [`Guarded::call_async`] outside a
//!   multi-thread runtime): each instance runs these calls on its own thread and the caller
//!   waits at most the timeout, then gets [`CallError::Timeout`].
//! * **On the caller's thread** ([`Guarded::call_async`] and [`Guarded::call_here`] on a
//!   multi-thread runtime, the engine's):
//!   a thread handoff there and back cost ~30–150 µs per call on a two-core machine, several
//!   times the plugins' own work, and the hot path (a book's parse, the strategy, the risk
//!   policy, both order builds) makes five of them. A watchdog thread disables the instance
//!   once a call outlives the timeout, as the worker path does; a call that returns late is
//!   answered with [`CallError::Timeout`], its result dropped, as before.
//!
//!   Such a call runs *directly* on the runtime's thread when it holds the process's one
//!   direct-call permit, else inside `block_in_place`, which first moves the thread's other
//!   tasks to a fresh thread. That move wakes a second thread and cost ~10 µs per call here,
//!   more with the two cores contended (decision to wire 0.94–1.00 ms with every call moved,
//!   0.73–0.76 ms with direct calls; BENCHMARKS.md, session 7). What the permit bounds: a
//!   direct call that never returns keeps its runtime thread (and the permit) for good, so
//!   every later call moves its tasks first, and a plugin that hangs, however many of its
//!   calls hang, costs the runtime at most one thread in the whole process (the product's
//!   runtime has one spare for it, `crate::runtime`). A direct call that is slow but returns
//!   delays the tasks queued behind it on that thread until other threads steal them, except,
//!   most likely, one: the task the caller's task woke last sits in tokio's LIFO slot, which no
//!   other thread may steal, and waits for the call to end (for good, if it never ends). Measured in session
//!   12 with `admission_race` (a risk policy's first check sleeping 300 ms): in 3 of 8 runs the
//!   other driver proposed nothing for those 300 ms; with every call moved off, in none.
//!   Tokio's `disable_lifo_slot` would remove this, but it is unstable (`tokio_unstable`).
//!   Emptying the slot before each direct call (spawning an empty task, which takes the
//!   slot's place) was tried in session 13: it cost 35–50 µs of the decision's way to the
//!   wire (each later wake then displaces the empty task and wakes a second thread), so
//!   instead a call past its timeout raises the registry's `HangAlarm` (`watchdog`) and a
//!   live run stops, for a restart to reconcile.
//!   Calls whose caller must be answered whatever the plugin does go to the worker thread
//!   ([`Guarded::call_async_on_worker`]): the venue driver reads the answer to a write (an
//!   order that has left) that way, so a hung plugin leaves the order's fate unknown, to be
//!   looked up or reconciled, rather than holding its trade.
//!
//! On the worker path, stream frames get a second worker thread of their own
//! ([`Lane::Stream`]): parsing a frame takes microseconds, but on the instance's one thread it
//! would queue behind whatever else the venue is doing (an RSA signature, a response being
//! read), and a book frame is the start of the latency that matters most. (On the caller's
//! thread nothing queues: calls to one instance may run at once, which `T: Sync` allows.)

use plugin_api::{ErrorKind, PluginError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::watchdog::{HangAlarm, Watch};

/// Why a guarded call did not produce a value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error.
    #[error("{instance}: {error}")]
    Plugin {
        /// Instance name.
        instance: String,
        /// The plugin's error.
        error: PluginError,
    },
    /// The call did not return in time; the instance is now disabled.
    #[error("{instance}: call `{what}` did not return within {timeout_ms} ms; instance disabled")]
    Timeout {
        /// Instance name.
        instance: String,
        /// Which call.
        what: String,
        /// The limit.
        timeout_ms: u64,
    },
    /// The instance was disabled by an earlier panic or timeout.
    #[error("{instance}: instance disabled: {reason}")]
    Disabled {
        /// Instance name.
        instance: String,
        /// Why.
        reason: String,
    },
}

impl CallError {
    /// The plugin error kind, if the plugin answered.
    pub fn kind(&self) -> Option<&ErrorKind> {
        match self {
            CallError::Plugin { error, .. } => Some(&error.kind),
            CallError::Timeout { .. } => Some(&ErrorKind::Timeout),
            CallError::Disabled { .. } => None,
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Which of an instance's worker threads runs a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Everything but stream frames.
    General,
    /// Parsing stream frames (started on first use).
    Stream,
}

fn worker(name: String) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            while let Ok(job) = rx.recv() {
                job();
            }
        })
        .expect("spawning a plugin worker thread");
    tx
}

/// A plugin instance behind its worker threads and a timeout.
pub struct Guarded<T: Send + Sync + 'static> {
    instance: String,
    inner: Arc<T>,
    tx: Mutex<mpsc::Sender<Job>>,
    stream_tx: std::sync::OnceLock<Mutex<mpsc::Sender<Job>>>,
    /// Why the instance is disabled, and the calls running on callers' threads.
    watch: Arc<Watch>,
    timeout: Duration,
    /// The direct-call permit (see the module's doc): the process's, or a test's own.
    direct: &'static AtomicBool,
}

/// The process's direct-call permit: true while a call runs directly on a runtime thread.
static DIRECT: AtomicBool = AtomicBool::new(false);

/// Holds the direct-call permit; a call that never returns never gives it back.
struct DirectPermit(&'static AtomicBool);

impl DirectPermit {
    fn take(p: &'static AtomicBool) -> Option<Self> {
        p.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| DirectPermit(p))
    }
}

impl Drop for DirectPermit {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl<T: Send + Sync + 'static> Guarded<T> {
    /// Wraps `inner`, starting its worker thread.
    pub fn new(instance: &str, inner: T, timeout: Duration) -> Self {
        Guarded {
            instance: instance.to_string(),
            inner: Arc::new(inner),
            tx: Mutex::new(worker(format!("plugin-{instance}"))),
            stream_tx: std::sync::OnceLock::new(),
            watch: Arc::new(Watch::new(instance, timeout)),
            timeout,
            direct: &DIRECT,
        }
    }

    /// The same instance with a direct-call permit of its own (tests, which must not share
    /// the process's with tests running beside them).
    #[cfg(test)]
    fn with_direct_permit(mut self, permit: &'static AtomicBool) -> Self {
        self.direct = permit;
        self
    }

    /// The same instance, raising `alarm` when a call on a caller's thread outlives the
    /// timeout (see `watchdog`).
    pub fn with_alarm(self, alarm: HangAlarm) -> Self {
        self.watch.set_alarm(alarm);
        self
    }

    /// Instance name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Why the instance is disabled, if it is.
    pub fn failure(&self) -> Option<String> {
        self.watch.failure()
    }

    /// `Err(Disabled)` once the instance was disabled: no call goes into it again.
    fn enabled(&self) -> Result<(), CallError> {
        match self.failure() {
            Some(reason) => Err(CallError::Disabled {
                instance: self.instance.clone(),
                reason,
            }),
            None => Ok(()),
        }
    }

    fn disable(&self, reason: String) {
        self.watch.disable(reason);
    }

    /// Hands `f` to the `lane`'s worker thread; `reply` takes its result there.
    fn send<R: Send + 'static>(
        &self,
        lane: Lane,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
        reply: impl FnOnce(Result<R, PluginError>) + Send + 'static,
    ) -> Result<(), CallError> {
        self.enabled()?;
        let inner = self.inner.clone();
        let job: Job = Box::new(move || reply(f(&inner)));
        let tx = match lane {
            Lane::General => &self.tx,
            Lane::Stream => self
                .stream_tx
                .get_or_init(|| Mutex::new(worker(format!("plugin-{}-stream", self.instance)))),
        };
        tx.lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| CallError::Disabled {
                instance: self.instance.clone(),
                reason: "worker thread gone".into(),
            })
    }

    fn finish<R>(&self, what: &str, r: Result<R, PluginError>) -> Result<R, CallError> {
        r.map_err(|error| {
            crate::metrics::inc(
                "polymix_plugin_call_failures_total",
                &[("plugin", &self.instance), ("call", what)],
            );
            if error.kind == ErrorKind::Panic {
                self.disable(error.message.clone());
            }
            CallError::Plugin {
                instance: self.instance.clone(),
                error,
            }
        })
        .inspect_err(
            |e| tracing::debug!(plugin = %self.instance, what, error = %e, "plugin call failed"),
        )
    }

    /// Calls the plugin, waiting at most the timeout (blocking the current thread).
    pub fn call<R: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, CallError> {
        let (rtx, rx) = mpsc::sync_channel(1);
        self.send(Lane::General, f, move |r| {
            let _ = rtx.send(r);
        })?;
        match rx.recv_timeout(self.timeout) {
            Ok(r) => self.finish(what, r),
            Err(_) => Err(self.timed_out(what)),
        }
    }

    /// Calls the plugin from synchronous code: on the caller's thread on a multi-thread
    /// runtime (as [`Self::call_async`] does there), else on the worker thread as
    /// [`Self::call`]. Not for a caller that holds a lock others need: a call that never
    /// returns would hold it (the risk gate asks its policies with no lock held).
    pub fn call_here<R: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, CallError> {
        if on_multi_thread_runtime() {
            return self.call_inline(what, f);
        }
        self.call(what, f)
    }

    /// Calls the plugin from async code: on the caller's thread on a multi-thread runtime
    /// (see the module's doc), else on the instance's worker thread, which wakes the caller's
    /// task directly.
    pub async fn call_async<R: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, CallError> {
        self.call_async_on(Lane::General, what, f).await
    }

    /// [`Self::call_async`] on a chosen worker thread (when not run on the caller's).
    pub async fn call_async_on<R: Send + 'static>(
        &self,
        lane: Lane,
        what: &str,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, CallError> {
        if on_multi_thread_runtime() {
            return self.call_inline(what, f);
        }
        self.call_on_worker(lane, what, f).await
    }

    /// [`Self::call_async`] always on the instance's worker thread, whatever the runtime: for
    /// a call whose caller must get an answer even if the plugin hangs ([`CallError::Timeout`]
    /// at the timeout), e.g. reading the answer to an order that has left.
    pub async fn call_async_on_worker<R: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, CallError> {
        self.call_on_worker(Lane::General, what, f).await
    }

    /// Runs the call on this thread under the watchdog: directly while it holds the
    /// direct-call permit, else with the runtime's other tasks moved off the thread meanwhile
    /// (see the module's doc).
    fn call_inline<R>(
        &self,
        what: &str,
        f: impl FnOnce(&T) -> Result<R, PluginError>,
    ) -> Result<R, CallError> {
        self.enabled()?;
        let permit = DirectPermit::take(self.direct);
        let running = self.watch.begin(what, permit.is_some());
        // A panic is an error of kind `Panic` (which disables the instance), as it is when
        // the plugin's own side catches it.
        let call = || plugin_api::ffi::guard(what, || f(&self.inner));
        let r = match permit {
            Some(_permit) => call(),
            None => tokio::task::block_in_place(call),
        };
        if running.end() {
            // Past the timeout: answered as the worker path answers, whatever came back.
            return Err(self.timed_out(what));
        }
        self.finish(what, r)
    }

    /// [`Self::call_async_on`] on the lane's worker thread, the caller's task woken by it.
    async fn call_on_worker<R: Send + 'static>(
        &self,
        lane: Lane,
        what: &str,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, CallError> {
        let (rtx, rx) = tokio::sync::oneshot::channel();
        self.send(lane, f, move |r| {
            let _ = rtx.send(r);
        })?;
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(r)) => self.finish(what, r),
            // Timed out, or the worker dropped the call (it cannot answer any more).
            _ => Err(self.timed_out(what)),
        }
    }

    fn timed_out(&self, what: &str) -> CallError {
        crate::metrics::inc(
            "polymix_plugin_call_failures_total",
            &[("plugin", &self.instance), ("call", what)],
        );
        let e = CallError::Timeout {
            instance: self.instance.clone(),
            what: what.to_string(),
            timeout_ms: self.timeout.as_millis() as u64,
        };
        self.disable(e.to_string());
        e
    }
}

/// Whether this thread runs a multi-thread tokio runtime's tasks, where `block_in_place` can
/// move them elsewhere (it panics on a current-thread runtime).
fn on_multi_thread_runtime() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hung_call_is_cut_off_and_disables_the_instance() {
        let g = Guarded::new("slow", (), Duration::from_millis(50));
        let e = g
            .call("sleep", |_| {
                std::thread::sleep(Duration::from_secs(3600));
                Ok(())
            })
            .unwrap_err();
        assert!(matches!(e, CallError::Timeout { .. }), "{e}");
        let again = g.call("next", |_| Ok(1)).unwrap_err();
        assert!(matches!(again, CallError::Disabled { .. }), "{again}");
    }

    #[test]
    fn a_panic_error_disables_the_instance() {
        let g = Guarded::new("p", (), Duration::from_secs(1));
        let e = g
            .call("boom", |_| -> Result<(), _> {
                Err(PluginError::new(ErrorKind::Panic, "boom"))
            })
            .unwrap_err();
        assert!(matches!(e, CallError::Plugin { .. }));
        assert!(g.failure().is_some());
    }

    #[test]
    fn ordinary_errors_keep_the_instance_alive() {
        let g = Guarded::new("ok", 5u32, Duration::from_secs(1));
        let _ = g.call("bad", |_| -> Result<(), _> {
            Err(PluginError::invalid("nope"))
        });
        assert_eq!(g.call("v", |v| Ok(*v)).unwrap(), 5);
    }

    #[tokio::test]
    async fn an_async_call_answers_and_a_hung_one_is_cut_off() {
        let g = Guarded::new("a", 7u32, Duration::from_millis(50));
        assert_eq!(g.call_async("v", |v| Ok(*v)).await.unwrap(), 7);
        let e = g
            .call_async("sleep", |_| {
                std::thread::sleep(Duration::from_secs(3600));
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(matches!(e, CallError::Timeout { .. }), "{e}");
        let again = g.call_async("next", |_| Ok(1)).await.unwrap_err();
        assert!(matches!(again, CallError::Disabled { .. }), "{again}");
    }

    #[tokio::test]
    async fn a_stream_call_does_not_wait_behind_a_busy_general_lane() {
        let g = Arc::new(Guarded::new("lanes", (), Duration::from_secs(5)));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let busy = {
            let g = g.clone();
            tokio::spawn(async move {
                g.call_async("slow", move |_| {
                    let _ = started_tx.send(());
                    std::thread::sleep(Duration::from_millis(2000));
                    Ok(())
                })
                .await
            })
        };
        started_rx.await.unwrap();
        let t = std::time::Instant::now();
        g.call_async_on(Lane::Stream, "parse", |_| Ok(()))
            .await
            .unwrap();
        assert!(
            t.elapsed() < Duration::from_millis(1500),
            "{:?}",
            t.elapsed()
        );
        busy.await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_the_engines_runtime_a_call_runs_on_the_callers_thread() {
        let g = Guarded::new("inline", (), Duration::from_secs(5));
        let caller = std::thread::current().id();
        let ran_on = g
            .call_async("where", |_| Ok(std::thread::current().id()))
            .await
            .unwrap();
        assert_eq!(ran_on, caller);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hung_call_on_the_callers_thread_disables_the_instance_at_its_timeout() {
        let g = Arc::new(Guarded::new("hung", (), Duration::from_millis(100)));
        let hung = {
            let g = g.clone();
            tokio::spawn(async move {
                g.call_async("sleep", |_| {
                    std::thread::sleep(Duration::from_millis(1500));
                    Ok(())
                })
                .await
            })
        };
        // The watchdog disables it while the call still runs, and the runtime keeps going.
        let t = std::time::Instant::now();
        while g.failure().is_none() {
            assert!(t.elapsed() < Duration::from_millis(1000), "not disabled");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!hung.is_finished());
        let next = g.call_async("next", |_| Ok(1)).await.unwrap_err();
        assert!(matches!(next, CallError::Disabled { .. }), "{next}");
        // Its late answer is dropped: the caller gets the timeout.
        let late = hung.await.unwrap().unwrap_err();
        assert!(matches!(late, CallError::Timeout { .. }), "{late}");
        assert!(g
            .failure()
            .unwrap()
            .contains("did not return within 100 ms"));
    }

    /// A call into `g` on the runtime that sleeps `ms`, and a receiver told when it started.
    fn sleeping_call(
        g: &Arc<Guarded<()>>,
        ms: u64,
    ) -> (
        tokio::task::JoinHandle<Result<(), CallError>>,
        mpsc::Receiver<()>,
    ) {
        let (started_tx, started_rx) = mpsc::channel();
        let g = g.clone();
        let task = tokio::spawn(async move {
            g.call_async("sleep", move |_| {
                let _ = started_tx.send(());
                std::thread::sleep(Duration::from_millis(ms));
                Ok(())
            })
            .await
        });
        (task, started_rx)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hung_calls_cost_the_runtime_at_most_one_thread() {
        // Stand-ins for calls that never return: long past the test's checks.
        let permit: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let a = Arc::new(Guarded::new("a", (), Duration::from_secs(30)).with_direct_permit(permit));
        let b = Arc::new(Guarded::new("b", (), Duration::from_secs(30)).with_direct_permit(permit));
        let (first, started) = sleeping_call(&a, 5000);
        started
            .recv_timeout(Duration::from_secs(2))
            .expect("first call started");
        assert!(
            permit.load(Ordering::Acquire),
            "the first call runs directly"
        );
        // A second hang, on the runtime's other worker: it must move that worker's tasks off
        // first, or no worker is left.
        let (second, started) = sleeping_call(&b, 5000);
        started
            .recv_timeout(Duration::from_secs(2))
            .expect("second call started");
        // The test body runs on its own thread (not a worker): wait with std, since a
        // runtime with no free worker would not fire a tokio timer either.
        let other = tokio::spawn(async { 7 });
        let t = std::time::Instant::now();
        while !other.is_finished() {
            assert!(
                t.elapsed() < Duration::from_millis(2000),
                "the runtime has no worker left while two plugin calls hang"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(other.await.unwrap(), 7);
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
        assert!(
            !permit.load(Ordering::Acquire),
            "returned when the call returned"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_direct_call_past_its_timeout_says_it_holds_a_runtime_thread() {
        let permit: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let timeout = Duration::from_millis(100);
        let a = Arc::new(Guarded::new("a", (), timeout).with_direct_permit(permit));
        let b = Arc::new(Guarded::new("b", (), timeout).with_direct_permit(permit));
        let (first, started) = sleeping_call(&a, 700);
        started.recv_timeout(Duration::from_secs(2)).unwrap();
        assert!(
            permit.load(Ordering::Acquire),
            "the first call runs directly"
        );
        let (second, started) = sleeping_call(&b, 700);
        started.recv_timeout(Duration::from_secs(2)).unwrap();
        // Both outlive their timeout; the watchdog looks every 20 ms.
        std::thread::sleep(Duration::from_millis(400));
        let direct = a.failure().expect("a disabled at its timeout");
        let moved = b.failure().expect("b disabled at its timeout");
        assert!(
            direct.contains("holds one of the runtime's threads"),
            "{direct}"
        );
        assert!(!moved.contains("runtime's threads"), "{moved}");
        assert!(first.await.unwrap().is_err() && second.await.unwrap().is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_holding_its_caller_past_the_timeout_raises_the_alarm_and_one_on_the_worker_does_not(
    ) {
        let permit: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let timeout = Duration::from_millis(100);
        let alarm = HangAlarm::default();
        let worker = Guarded::new("w", (), timeout).with_alarm(alarm.clone());
        let e = worker
            .call_async_on_worker("sleep", |_| {
                std::thread::sleep(Duration::from_millis(400));
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(matches!(e, CallError::Timeout { .. }), "{e}");
        assert!(worker.failure().is_some());
        // The caller got its answer at the timeout: nothing is held.
        assert_eq!(alarm.raised(), None);

        let inline = Arc::new(
            Guarded::new("i", (), timeout)
                .with_direct_permit(permit)
                .with_alarm(alarm.clone()),
        );
        let (held, started) = sleeping_call(&inline, 700);
        started.recv_timeout(Duration::from_secs(2)).unwrap();
        let reason = tokio::time::timeout(Duration::from_millis(600), alarm.wait())
            .await
            .expect("raised within the timeout and a watchdog tick");
        assert!(!held.is_finished(), "raised while the call still runs");
        assert!(
            reason.starts_with("i: call `sleep` did not return within 100 ms")
                && reason.contains("holds one of the runtime's threads and the task that made it"),
            "{reason}"
        );
        assert!(held.await.unwrap().is_err());
        assert_eq!(alarm.raised(), Some(reason));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_still_held_after_its_instance_was_disabled_raises_the_alarm() {
        let permit: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let alarm = HangAlarm::default();
        let g = Arc::new(
            Guarded::new("d", (), Duration::from_millis(100))
                .with_direct_permit(permit)
                .with_alarm(alarm.clone()),
        );
        let (held, started) = sleeping_call(&g, 600);
        started.recv_timeout(Duration::from_secs(2)).unwrap();
        // Disabled for another reason (say a panic in a call beside it) while this one runs.
        g.disable("d: panicked".into());
        let reason = tokio::time::timeout(Duration::from_millis(500), alarm.wait())
            .await
            .expect("raised all the same");
        assert!(reason.contains("call `sleep` did not return"), "{reason}");
        assert_eq!(
            g.failure().as_deref(),
            Some("d: panicked"),
            "the first reason kept"
        );
        assert!(held.await.unwrap().is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_on_the_callers_thread_is_an_error_and_disables_the_instance() {
        let g = Guarded::new("boom", (), Duration::from_secs(5));
        let e = g
            .call_async("boom", |_| -> Result<(), PluginError> { panic!("oops") })
            .await
            .unwrap_err();
        assert!(
            matches!(&e, CallError::Plugin { error, .. } if error.kind == ErrorKind::Panic),
            "{e}"
        );
        assert!(g.failure().unwrap().contains("oops"));
    }
}
