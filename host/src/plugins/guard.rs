//! Host-side protection around every plugin call: each instance runs its calls on its own
//! worker thread, the caller waits at most the configured timeout, and an instance that
//! panicked or hung is disabled while the host keeps running.

use plugin_api::{ErrorKind, PluginError};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// A plugin instance behind a worker thread and a timeout.
pub struct Guarded<T: Send + Sync + 'static> {
    instance: String,
    inner: Arc<T>,
    tx: Mutex<mpsc::Sender<Job>>,
    failed: Arc<Mutex<Option<String>>>,
    timeout: Duration,
}

impl<T: Send + Sync + 'static> Guarded<T> {
    /// Wraps `inner`, starting its worker thread.
    pub fn new(instance: &str, inner: T, timeout: Duration) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(format!("plugin-{instance}"))
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
            })
            .expect("spawning a plugin worker thread");
        Guarded {
            instance: instance.to_string(),
            inner: Arc::new(inner),
            tx: Mutex::new(tx),
            failed: Arc::new(Mutex::new(None)),
            timeout,
        }
    }

    /// Instance name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Why the instance is disabled, if it is.
    pub fn failure(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn disable(&self, reason: String) {
        tracing::error!(plugin = %self.instance, %reason, "plugin instance disabled");
        *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
    }

    fn send<R: Send + 'static>(
        &self,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<mpsc::Receiver<Result<R, PluginError>>, CallError> {
        if let Some(reason) = self.failure() {
            return Err(CallError::Disabled {
                instance: self.instance.clone(),
                reason,
            });
        }
        let (rtx, rrx) = mpsc::sync_channel(1);
        let inner = self.inner.clone();
        let job: Job = Box::new(move || {
            let _ = rtx.send(f(&inner));
        });
        self.tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| CallError::Disabled {
                instance: self.instance.clone(),
                reason: "worker thread gone".into(),
            })?;
        Ok(rrx)
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
        let rx = self.send(f)?;
        match rx.recv_timeout(self.timeout) {
            Ok(r) => self.finish(what, r),
            Err(_) => Err(self.timed_out(what)),
        }
    }

    /// Calls the plugin from async code without blocking the runtime.
    pub async fn call_async<R: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, CallError> {
        let rx = self.send(f)?;
        let timeout = self.timeout;
        let waited = tokio::task::spawn_blocking(move || rx.recv_timeout(timeout)).await;
        match waited {
            Ok(Ok(r)) => self.finish(what, r),
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
}
