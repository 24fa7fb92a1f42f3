//! Logging across the boundary. Each cdylib has its own `tracing` globals, so a plugin's events
//! would vanish; instead the host hands every plugin a [`LogSink`] and plugin-api installs a
//! `tracing` layer inside the plugin that forwards events to it, tagged with the instance name.

use abi_stable::std_types::RStr;
use abi_stable::StableAbi;
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::metadata::Metadata;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// A host function that receives plugin log events. `level`: 1 error, 2 warn, 3 info, 4 debug,
/// 5 trace.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct LogSink {
    /// Called once per event.
    pub emit: extern "C" fn(level: u8, instance: RStr<'_>, target: RStr<'_>, message: RStr<'_>),
}

/// Numeric level used by [`LogSink`].
pub fn level_code(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        _ => 5,
    }
}

/// The [`level_code`] of a level filter: 0 for `OFF` (nothing), else the most verbose level it
/// lets through.
pub fn filter_code(filter: LevelFilter) -> u8 {
    match filter.into_level() {
        None => 0,
        Some(level) => level_code(&level),
    }
}

fn code_filter(code: u8) -> LevelFilter {
    match code {
        0 => LevelFilter::OFF,
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

static SINK: OnceLock<LogSink> = OnceLock::new();

/// The most verbose level the host keeps, as a [`level_code`] (0: none). Until a host says
/// (one built before it could does not), every event is forwarded, as before.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(5);

/// Sets the most verbose level this plugin forwards (a [`level_code`]; 0: none). An event
/// above it is neither formatted nor sent: the host would drop it, and formatting it cost a
/// plugin call on the way to the wire several microseconds (an order's `info` line). Called by
/// the export macros' `set_log_level` entry point, which the host calls after
/// [`install_sink`] with its subscriber's most verbose level.
pub fn set_max_level(code: u8) {
    MAX_LEVEL.store(code.min(5), Ordering::Relaxed);
    // Each call site caches whether it is enabled: ask them all again.
    tracing::callsite::rebuild_interest_cache();
}

fn forwarded(level: &Level) -> bool {
    level_code(level) <= MAX_LEVEL.load(Ordering::Relaxed)
}

thread_local! {
    // The instance whose call is running on this thread. A borrowed `&'static str` stands in
    // for a borrow that lives exactly as long as the call; `with_instance` restores the previous
    // value before the borrow ends. This keeps the hot path free of reference counting.
    static CURRENT: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// Installs the sink and a forwarding subscriber in this plugin (first call wins). Called by
/// the export macros' `set_log_sink` entry point.
pub fn install_sink(sink: LogSink) {
    if SINK.set(sink).is_ok() {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(ForwardLayer);
        // Fails only when this code shares globals with the host (plugin linked as an rlib);
        // then events already reach the host's subscriber directly.
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
}

/// Runs `f` with `instance` recorded as the current instance on this thread, so events logged
/// inside carry its name.
pub fn with_instance<R>(instance: &Arc<str>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<&'static str>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    // SAFETY: the extended borrow is only readable through CURRENT, which `Restore` resets
    // (also on unwind) before `instance` can be dropped by the caller.
    let name: &'static str = unsafe { &*(instance.as_ref() as *const str) };
    let _restore = Restore(CURRENT.with(|c| c.replace(Some(name))));
    f()
}

struct ForwardLayer;

struct FieldText(String);

impl Visit for FieldText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let mut msg = format!("{value:?}");
            if !self.0.is_empty() {
                msg.push(' ');
                msg.push_str(&self.0);
            }
            self.0 = msg;
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={:?}", field.name(), value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={}", field.name(), value);
        }
    }
}

impl<S: Subscriber> Layer<S> for ForwardLayer {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if forwarded(meta.level()) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        forwarded(meta.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(code_filter(MAX_LEVEL.load(Ordering::Relaxed)))
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(sink) = SINK.get() else { return };
        let mut text = FieldText(String::new());
        event.record(&mut text);
        let meta = event.metadata();
        CURRENT.with(|c| {
            let instance = c.get().unwrap_or("");
            (sink.emit)(
                level_code(meta.level()),
                RStr::from_str(instance),
                RStr::from_str(meta.target()),
                RStr::from_str(&text.0),
            );
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    static SEEN: Mutex<Vec<(u8, String)>> = Mutex::new(Vec::new());

    extern "C" fn collect(level: u8, _instance: RStr<'_>, _target: RStr<'_>, message: RStr<'_>) {
        SEEN.lock()
            .unwrap()
            .push((level, message.as_str().to_string()));
    }

    fn seen(marker: &str) -> Vec<u8> {
        SEEN.lock()
            .unwrap()
            .iter()
            .filter(|(_, m)| m.contains(marker))
            .map(|(l, _)| *l)
            .collect()
    }

    fn log_both(marker: &str) {
        tracing::warn!(marker, "a warning");
        tracing::debug!(marker, "a debug line");
    }

    /// The plugin forwards only what the host keeps, and follows the host's level when it
    /// changes, even at call sites already seen under the old one.
    #[test]
    fn events_above_the_host_level_are_not_forwarded() {
        // This test binary is the "plugin": the layer is its global subscriber.
        install_sink(LogSink { emit: collect });
        log_both("default");
        assert_eq!(
            seen("default"),
            vec![2, 4],
            "every event until the host says"
        );
        set_max_level(2);
        log_both("warn-only");
        assert_eq!(seen("warn-only"), vec![2]);
        assert!(
            !tracing::enabled!(Level::DEBUG),
            "debug is off at the call site"
        );
        set_max_level(4);
        log_both("debug-again");
        assert_eq!(seen("debug-again"), vec![2, 4]);
        set_max_level(0);
        log_both("none");
        assert!(seen("none").is_empty());
        assert_eq!(filter_code(LevelFilter::OFF), 0);
        assert_eq!(filter_code(LevelFilter::INFO), 3);
        assert_eq!(
            code_filter(filter_code(LevelFilter::DEBUG)),
            LevelFilter::DEBUG
        );
        set_max_level(5);
    }
}
