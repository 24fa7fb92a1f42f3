//! The host side of plugin logging: plugin events arrive here and are re-emitted into the
//! host's `tracing` subscriber, tagged with the plugin instance name.

use abi_stable::std_types::RStr;
use plugin_api::log::LogSink;

extern "C" fn emit(level: u8, instance: RStr<'_>, target: RStr<'_>, message: RStr<'_>) {
    // Never let a logging problem unwind into the plugin.
    let _ = std::panic::catch_unwind(|| {
        let (instance, target, message) = (instance.as_str(), target.as_str(), message.as_str());
        match level {
            1 => tracing::error!(target: "plugin", plugin = instance, origin = target, "{message}"),
            2 => tracing::warn!(target: "plugin", plugin = instance, origin = target, "{message}"),
            3 => tracing::info!(target: "plugin", plugin = instance, origin = target, "{message}"),
            4 => tracing::debug!(target: "plugin", plugin = instance, origin = target, "{message}"),
            _ => tracing::trace!(target: "plugin", plugin = instance, origin = target, "{message}"),
        }
    });
}

/// The sink handed to every plugin.
pub fn sink() -> LogSink {
    LogSink { emit }
}
