//! Logging across the boundary. Each cdylib has its own `tracing` globals, so a plugin's events
//! would vanish; instead the host hands every plugin a [`LogSink`] and plugin-api installs a
//! `tracing` layer inside the plugin that forwards events to it, tagged with the instance name.

use abi_stable::std_types::RStr;
use abi_stable::StableAbi;
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};
use tracing::field::{Field, Visit};
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

static SINK: OnceLock<LogSink> = OnceLock::new();

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
