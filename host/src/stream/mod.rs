//! Venue streams over websockets (see `plugin_api::stream`): the host side. The host owns the
//! connections (TLS on rustls/ring, protocol pings and pongs, reconnects with backoff and
//! jitter, resubscribing after a reconnect or a sequence gap, the per-connection instrument
//! cap, instruments joining a running stream); the venue plugin supplies every venue-specific
//! byte. Updates go to one channel for the engine's stream driver.

pub mod backoff;
pub mod connection;
pub mod seq;
pub mod venue_streams;

pub use venue_streams::{plan_add, AddPlan, VenueStreams};

use plugin_api::ffi::VenueHandle;
use plugin_api::{CallCtx, ErrorKind, StreamChannel, StreamEvent};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, watch};

use crate::plugins::guard::{CallError, Guarded};
use crate::venue_io::Clock;

/// Host-side tuning of a venue's streams.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// First reconnect delay, ms (doubles per failure, with jitter).
    pub backoff_base_ms: u64,
    /// Longest reconnect delay, ms.
    pub backoff_max_ms: u64,
    /// Give up a connect attempt after this long, ms.
    pub connect_timeout_ms: u64,
    /// A tighter staleness bound than the plugin's, ms.
    pub stale_after_ms: Option<u64>,
    /// Extra TLS roots for `wss://` (the venue's `tls_roots`); `None`: the web PKI roots.
    pub tls: Option<crate::venue_io::TlsTrust>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            backoff_base_ms: 250,
            backoff_max_ms: 30_000,
            connect_timeout_ms: 10_000,
            stale_after_ms: None,
            tls: None,
        }
    }
}

/// Where a venue's stream updates go: a channel, or a function that tags each update on its
/// way into a shared channel (the engine's: venue and channel), so no task sits between a
/// connection and the driver (a forwarding task is one more wake-up per frame).
#[derive(Clone)]
pub struct Sink(Arc<dyn Fn(StreamUpdate) -> bool + Send + Sync>);

impl Sink {
    /// A sink calling `f`, which answers false once nobody listens any more.
    pub fn new(f: impl Fn(StreamUpdate) -> bool + Send + Sync + 'static) -> Self {
        Sink(Arc::new(f))
    }

    /// Delivers one update; false when nobody listens any more.
    pub fn send(&self, u: StreamUpdate) -> bool {
        (self.0)(u)
    }
}

impl From<mpsc::UnboundedSender<StreamUpdate>> for Sink {
    fn from(tx: mpsc::UnboundedSender<StreamUpdate>) -> Self {
        Sink::new(move |u| tx.send(u).is_ok())
    }
}

/// Something one connection reports.
#[derive(Debug)]
pub struct StreamUpdate {
    /// Which of the venue's connections.
    pub connection: usize,
    /// What happened.
    pub kind: UpdateKind,
}

/// What a connection reports.
#[derive(Debug)]
pub enum UpdateKind {
    /// Connected and subscribed; books follow as snapshots.
    Connected {
        /// The connection's instruments.
        instruments: Vec<String>,
    },
    /// Sequence-checked events of one frame.
    Events {
        /// The events.
        events: Vec<StreamEvent>,
        /// When the frame arrived.
        received: Instant,
        /// When the plugin had parsed it.
        parsed: Instant,
    },
    /// A gap: these books are not known to be right until their next snapshot.
    Resync {
        /// The instruments.
        instruments: Vec<String>,
    },
    /// The connection is down (error, close, silence); it reconnects by itself.
    Down {
        /// The connection's instruments.
        instruments: Vec<String>,
        /// Why.
        reason: String,
    },
}

/// Why a venue's streams could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The plugin does not stream.
    #[error("venue {0} does not offer streams")]
    Unsupported(String),
    /// The plugin failed to describe its stream.
    #[error("venue {venue}: stream_spec failed: {error}")]
    Spec {
        /// Venue instance.
        venue: String,
        /// The error.
        error: CallError,
    },
}

/// Splits `instruments` into connections of at most `cap` each (all in one without a cap).
pub fn plan(instruments: &[String], cap: Option<u32>) -> Vec<Vec<String>> {
    match cap {
        Some(c) if c > 0 => instruments.chunks(c as usize).map(<[_]>::to_vec).collect(),
        _ if instruments.is_empty() => Vec::new(),
        _ => vec![instruments.to_vec()],
    }
}

/// Starts the connections for `instruments` of one venue; they run until `stop`. With no
/// instruments none starts yet (the plugin is still asked for its spec, so a venue that cannot
/// stream says so now); [`VenueStreams::add`] starts them when instruments join.
pub async fn start(
    plugin: Arc<Guarded<VenueHandle>>,
    clock: Arc<dyn Clock>,
    channel: StreamChannel,
    instruments: &[String],
    opts: StreamOptions,
    out: impl Into<Sink>,
    stop: watch::Receiver<bool>,
) -> Result<VenueStreams, StartError> {
    let out = out.into();
    let venue = plugin.instance().to_string();
    let ctx = CallCtx {
        now_ms: clock.now_ms(),
        random: [0; 32],
    };
    let spec = match plugin
        .call_async("stream_spec", move |h| h.stream_spec(channel, ctx))
        .await
    {
        Ok(s) => s,
        Err(CallError::Plugin { error, .. }) if error.kind == ErrorKind::Unsupported => {
            return Err(StartError::Unsupported(venue))
        }
        Err(error) => return Err(StartError::Spec { venue, error }),
    };
    let mut streams = VenueStreams::new(
        plugin,
        clock,
        channel,
        opts,
        out,
        stop,
        spec.max_instruments,
    );
    // A user stream carries the whole account on one connection, whatever the instruments.
    let plans = if channel == StreamChannel::User {
        vec![Vec::new()]
    } else {
        plan(instruments, spec.max_instruments)
    };
    for instruments in plans {
        streams.spawn(instruments);
    }
    Ok(streams)
}

#[cfg(test)]
mod tests;
