//! One websocket connection of a venue stream, kept alive for as long as the engine runs:
//! connect with the plugin's (freshly signed) request, subscribe, forward sequence-checked
//! events, send the venue's keep-alive and protocol pings, and on any failure (error, close,
//! silence, a frame the plugin cannot read) report it, back off and start over. Instruments
//! added while it runs (`changes`) are subscribed at once and belong to it from then on (a
//! reconnect subscribes them with the rest); instruments removed are unsubscribed at once
//! (`unsubscribe_commands`), their events still in flight dropped, and never subscribed
//! again. Nothing here knows a venue: every venue-specific byte comes from the plugin.

use futures_util::{SinkExt, StreamExt};
use plugin_api::ffi::VenueHandle;
use plugin_api::{
    CallCtx, ErrorKind, StreamChannel, StreamCommand, StreamEvent, StreamFrame, StreamRequest,
    StreamSpec,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::Message;

use super::backoff::Backoff;
use super::seq::{SeqTracker, Verdict};
use super::venue_streams::Change;
use super::{Sink, StreamOptions, StreamUpdate, UpdateKind};
use crate::plugins::guard::{CallError, Guarded, Lane};
use crate::venue_io::Clock;

/// What one connection carries.
pub struct Connection {
    /// The venue plugin.
    pub plugin: Arc<Guarded<VenueHandle>>,
    /// Time for the plugin's calls (signatures).
    pub clock: Arc<dyn Clock>,
    /// Which stream.
    pub channel: StreamChannel,
    /// The instruments it subscribes.
    pub instruments: Vec<String>,
    /// Instruments to subscribe as well, or to unsubscribe, while it runs (see
    /// `VenueStreams::add` and `VenueStreams::retain`).
    pub changes: Option<mpsc::UnboundedReceiver<Change>>,
    /// Where updates go.
    pub out: Sink,
    /// Tuning.
    pub opts: StreamOptions,
    /// Index of this connection among the venue's, for logs.
    pub index: usize,
}

/// Why a session ended.
enum End {
    /// The engine is stopping.
    Stopped,
    /// Something failed; reconnect.
    Failed(String),
}

fn ctx(clock: &dyn Clock) -> CallCtx {
    let mut random = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut random);
    CallCtx {
        now_ms: clock.now_ms(),
        random,
    }
}

impl Connection {
    fn send(&self, kind: UpdateKind) -> bool {
        self.out.send(StreamUpdate {
            connection: self.index,
            kind,
        })
    }

    /// Runs until `stop` turns true (or the receiver of updates is gone).
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(self.opts.backoff_base_ms, self.opts.backoff_max_ms);
        let mut adds = self.changes.take();
        loop {
            if *stop.borrow() {
                return;
            }
            let reason = match self.session(&mut stop, &mut backoff, &mut adds).await {
                End::Stopped => return,
                End::Failed(r) => r,
            };
            let venue = self.plugin.instance().to_string();
            tracing::warn!(%venue, connection = self.index, %reason, "stream down; reconnecting");
            crate::metrics::inc("polymix_stream_disconnects_total", &[("venue", &venue)]);
            if !self.send(UpdateKind::Down {
                instruments: self.instruments.clone(),
                reason,
            }) {
                return;
            }
            let delay = backoff.next_delay(rand::random());
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn spec(&self) -> Result<StreamSpec, String> {
        let ch = self.channel;
        let c = ctx(self.clock.as_ref());
        self.plugin
            .call_async("stream_spec", move |h| h.stream_spec(ch, c))
            .await
            .map_err(|e| format!("stream_spec: {e}"))
    }

    async fn messages(
        &self,
        command: StreamCommand,
        initial: bool,
        id: u64,
    ) -> Result<Vec<String>, String> {
        self.messages_or_unsupported(command, initial, id)
            .await
            .map_err(|e| format!("stream_messages: {e}"))
    }

    async fn messages_or_unsupported(
        &self,
        command: StreamCommand,
        initial: bool,
        id: u64,
    ) -> Result<Vec<String>, CallError> {
        let req = StreamRequest {
            channel: self.channel,
            command,
            initial,
            request_id: id,
        };
        self.plugin
            .call_async("stream_messages", move |h| h.stream_messages(&req))
            .await
    }

    async fn parse(&self, text: String) -> Result<StreamFrame, String> {
        let ch = self.channel;
        let c = ctx(self.clock.as_ref());
        self.plugin
            .call_async_on(Lane::Stream, "stream_parse", move |h| {
                h.stream_parse(ch, &text, c)
            })
            .await
            .map_err(|e| format!("unreadable frame: {e}"))
    }

    /// Takes the instruments in `list` it does not carry yet; returns them.
    fn take_new(&mut self, list: Vec<String>) -> Vec<String> {
        let mut new = Vec::new();
        for i in list {
            if !self.instruments.contains(&i) && !new.contains(&i) {
                new.push(i);
            }
        }
        self.instruments.extend(new.iter().cloned());
        new
    }

    /// Unsubscribes those of `list` it carries, by the subscriptions they ride
    /// ([`unsubscribe_commands`]); they are not subscribed again. A venue that cannot
    /// (`Unsupported`) leaves them streaming: their events are dropped here.
    #[allow(clippy::too_many_arguments)]
    async fn unsubscribe<S>(
        &mut self,
        list: Vec<String>,
        carried: &mut HashMap<String, BTreeSet<String>>,
        seqs: &mut SeqTracker,
        gone: &mut HashSet<String>,
        sink: &mut S,
        next_id: &mut u64,
    ) -> Result<(), String>
    where
        S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
    {
        let list: Vec<String> = list
            .into_iter()
            .filter(|i| self.instruments.contains(i))
            .collect();
        if list.is_empty() {
            return Ok(());
        }
        self.instruments.retain(|i| !list.contains(i));
        gone.extend(list.iter().cloned());
        let venue = self.plugin.instance().to_string();
        tracing::info!(%venue, connection = self.index, instruments = list.len(), "stream unsubscribing instruments no pair wants");
        let (commands, ended) = unsubscribe_commands(carried, &list);
        for sub in &ended {
            // Whatever of it is still in flight is dropped.
            seqs.forget(sub);
        }
        for cmd in commands {
            let msgs = match self.messages_or_unsupported(cmd, false, *next_id).await {
                Ok(m) => m,
                Err(CallError::Plugin { error, .. }) if error.kind == ErrorKind::Unsupported => {
                    tracing::info!(%venue, connection = self.index, error = %error.message, "venue cannot unsubscribe these; they stream on, ignored");
                    continue;
                }
                Err(e) => return Err(format!("stream_messages: {e}")),
            };
            *next_id += 1;
            for m in msgs {
                sink.send(Message::text(m))
                    .await
                    .map_err(|e| format!("unsubscribe failed: {e}"))?;
            }
        }
        Ok(())
    }

    /// One connection's life, from connect to failure or stop.
    async fn session(
        &mut self,
        stop: &mut watch::Receiver<bool>,
        backoff: &mut Backoff,
        adds: &mut Option<mpsc::UnboundedReceiver<Change>>,
    ) -> End {
        // Instruments added while it was down join the first subscription; those removed
        // are not in it.
        while let Some(Ok(change)) = adds.as_mut().map(mpsc::UnboundedReceiver::try_recv) {
            match change {
                Change::Add(list) => {
                    self.take_new(list);
                }
                Change::Remove(list) => self.instruments.retain(|i| !list.contains(i)),
            }
        }
        let spec = match self.spec().await {
            Ok(s) => s,
            Err(e) => return End::Failed(e),
        };
        let mut req = match spec.url.as_str().into_client_request() {
            Ok(r) => r,
            Err(e) => return End::Failed(format!("bad stream url {:?}: {e}", spec.url)),
        };
        for (k, v) in &spec.headers {
            // Header values may be signatures: name the header, never the value.
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) else {
                return End::Failed(format!("plugin gave an invalid handshake header {k:?}"));
            };
            req.headers_mut().insert(name, value);
        }
        // Our own rustls config only when the venue trusts extra roots; otherwise the crate's
        // (web PKI roots). No Nagle: pongs and subscribes are small and should leave at once.
        let connector = self
            .opts
            .tls
            .as_ref()
            .map(|t| tokio_tungstenite::Connector::Rustls(t.client_config()));
        let connect = tokio_tungstenite::connect_async_tls_with_config(req, None, true, connector);
        let ws = tokio::select! {
            r = tokio::time::timeout(Duration::from_millis(self.opts.connect_timeout_ms), connect) => match r {
                Ok(Ok((ws, _))) => ws,
                Ok(Err(e)) => return End::Failed(format!("connect failed: {e}")),
                Err(_) => return End::Failed("connect timed out".into()),
            },
            _ = stop.changed() => return End::Stopped,
        };
        let (mut sink, mut source) = ws.split();
        let mut next_id = 1u64;
        let subscribe = StreamCommand::Subscribe {
            instruments: self.instruments.clone(),
        };
        // A market connection whose instruments all left subscribes to nothing (a user
        // stream carries the account, with no instrument named).
        let msgs = if self.channel == StreamChannel::Market && self.instruments.is_empty() {
            Vec::new()
        } else {
            match self.messages(subscribe, true, next_id).await {
                Ok(m) => m,
                Err(e) => return End::Failed(e),
            }
        };
        next_id += 1;
        for m in msgs {
            if let Err(e) = sink.send(Message::text(m)).await {
                return End::Failed(format!("subscribe failed: {e}"));
            }
        }
        backoff.reset();
        if !self.send(UpdateKind::Connected {
            instruments: self.instruments.clone(),
        }) {
            return End::Stopped;
        }
        let stale = Duration::from_millis(
            self.opts
                .stale_after_ms
                .map_or(spec.stale_after_ms, |o| o.min(spec.stale_after_ms))
                .max(1),
        );
        // Protocol pings a few times per stale window, so a quiet but healthy connection is
        // told apart from a dead one by its pongs.
        let mut ping = tokio::time::interval(stale / 3);
        let mut keepalive = spec
            .keepalive
            .as_ref()
            .map(|k| tokio::time::interval(Duration::from_millis(k.every_ms.max(1))));
        let mut last_rx = Instant::now();
        let mut seqs = SeqTracker::default();
        // Which instruments each subscription carries (from its book events), for resyncs
        // and unsubscribes.
        let mut carried: HashMap<String, BTreeSet<String>> = HashMap::new();
        // Instruments unsubscribed on this connection: their events still in flight are dropped.
        let mut gone: HashSet<String> = HashSet::new();
        let venue = self.plugin.instance().to_string();
        loop {
            let keepalive_tick = async {
                match keepalive.as_mut() {
                    Some(k) => {
                        k.tick().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let added = async {
                match adds.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.changed() => {
                    let _ = sink.send(Message::Close(None)).await;
                    return End::Stopped;
                }
                change = added => {
                    let list = match change {
                        Some(Change::Add(list)) => list,
                        Some(Change::Remove(list)) => {
                            if let Err(e) = self.unsubscribe(list, &mut carried, &mut seqs, &mut gone, &mut sink, &mut next_id).await {
                                return End::Failed(e);
                            }
                            continue;
                        }
                        None => {
                            // Nobody changes it any more; the connection runs on.
                            *adds = None;
                            continue;
                        }
                    };
                    for i in &list {
                        gone.remove(i);
                    }
                    let new = self.take_new(list);
                    if new.is_empty() {
                        continue;
                    }
                    tracing::info!(%venue, connection = self.index, instruments = new.len(), "stream subscribing joined instruments");
                    let msgs = match self.messages(StreamCommand::Subscribe { instruments: new }, false, next_id).await {
                        Ok(m) => m,
                        Err(e) => return End::Failed(e),
                    };
                    next_id += 1;
                    for m in msgs {
                        if let Err(e) = sink.send(Message::text(m)).await {
                            return End::Failed(format!("subscribe failed: {e}"));
                        }
                    }
                }
                _ = ping.tick() => {
                    if last_rx.elapsed() >= stale {
                        crate::metrics::inc("polymix_stream_stale_total", &[("venue", &venue)]);
                        return End::Failed(format!("stale: nothing received for {} ms", stale.as_millis()));
                    }
                    if let Err(e) = sink.send(Message::Ping(Vec::new().into())).await {
                        return End::Failed(format!("ping failed: {e}"));
                    }
                }
                _ = keepalive_tick => {
                    if let Some(k) = &spec.keepalive {
                        if let Err(e) = sink.send(Message::text(k.text.clone())).await {
                            return End::Failed(format!("keep-alive failed: {e}"));
                        }
                    }
                }
                msg = source.next() => {
                    let msg = match msg {
                        None => return End::Failed("connection closed".into()),
                        Some(Err(e)) => return End::Failed(format!("read failed: {e}")),
                        Some(Ok(m)) => m,
                    };
                    last_rx = Instant::now();
                    let text = match msg {
                        Message::Text(t) => t.as_str().to_string(),
                        Message::Ping(p) => {
                            if let Err(e) = sink.send(Message::Pong(p)).await {
                                return End::Failed(format!("pong failed: {e}"));
                            }
                            continue;
                        }
                        Message::Close(c) => return End::Failed(format!("venue closed the stream: {c:?}")),
                        _ => continue,
                    };
                    let received = Instant::now();
                    // A frame the plugin cannot read may have been a book change: the books
                    // are no longer known to be right, so start over with fresh snapshots.
                    let frame = match self.parse(text).await {
                        Ok(f) => f,
                        Err(e) => return End::Failed(e),
                    };
                    let parsed = Instant::now();
                    if let Some(s) = &frame.seq {
                        match seqs.check(s) {
                            Verdict::Apply => {
                                let set = carried.entry(s.subscription.clone()).or_default();
                                for e in &frame.events {
                                    if let Some(i) = instrument_of(e).filter(|i| !gone.contains(*i)) {
                                        set.insert(i.to_string());
                                    }
                                }
                            }
                            Verdict::Drop => {
                                crate::metrics::inc("polymix_stream_dropped_total", &[("venue", &venue)]);
                                continue;
                            }
                            Verdict::Gap { expected } => {
                                crate::metrics::inc("polymix_stream_gaps_total", &[("venue", &venue)]);
                                let instruments: Vec<String> = carried
                                    .remove(&s.subscription)
                                    .map(|s| s.into_iter().collect())
                                    .unwrap_or_default();
                                tracing::warn!(%venue, subscription = %s.subscription, expected, got = s.seq, "stream gap; resubscribing for a fresh snapshot");
                                if instruments.is_empty() {
                                    return End::Failed("sequence gap on a subscription with no known instruments".into());
                                }
                                if !self.send(UpdateKind::Resync { instruments: instruments.clone() }) {
                                    return End::Stopped;
                                }
                                let un = StreamCommand::Unsubscribe {
                                    instruments: instruments.clone(),
                                    subscriptions: vec![s.subscription.clone()],
                                };
                                let sub = StreamCommand::Subscribe { instruments };
                                for cmd in [un, sub] {
                                    let msgs = match self.messages(cmd, false, next_id).await {
                                        Ok(m) => m,
                                        Err(e) => return End::Failed(e),
                                    };
                                    next_id += 1;
                                    for m in msgs {
                                        if let Err(e) = sink.send(Message::text(m)).await {
                                            return End::Failed(format!("resubscribe failed: {e}"));
                                        }
                                    }
                                }
                                continue;
                            }
                        }
                    }
                    for e in &frame.events {
                        if let StreamEvent::Error { message, resubscribe } = e {
                            tracing::warn!(%venue, %message, "venue reported a stream error");
                            if *resubscribe {
                                return End::Failed(format!("venue asked to resubscribe: {message}"));
                            }
                        }
                    }
                    let mut events = frame.events;
                    if !gone.is_empty() {
                        events.retain(|e| instrument_of(e).is_none_or(|i| !gone.contains(i)));
                    }
                    if !events.is_empty()
                        && !self.send(UpdateKind::Events { events, received, parsed })
                    {
                        return End::Stopped;
                    }
                }
            }
        }
    }
}

/// The commands that stop `removed` on a connection whose subscriptions carry `carried`
/// (updated in place), and the subscriptions that end. A subscription all of whose
/// instruments go is unsubscribed by its id; one that keeps others is narrowed
/// ([`StreamCommand::Narrow`]); instruments no known subscription carries (a venue that does
/// not number its messages, or no snapshot yet) are unsubscribed with no id.
pub fn unsubscribe_commands(
    carried: &mut HashMap<String, BTreeSet<String>>,
    removed: &[String],
) -> (Vec<StreamCommand>, Vec<String>) {
    let removed_set: HashSet<&str> = removed.iter().map(String::as_str).collect();
    let mut subs: Vec<String> = carried.keys().cloned().collect();
    subs.sort();
    let mut commands = Vec::new();
    let mut ended = Vec::new();
    let mut named: HashSet<String> = HashSet::new();
    for sub in subs {
        let Some(set) = carried.get_mut(&sub) else {
            continue;
        };
        let hit: Vec<String> = set
            .iter()
            .filter(|i| removed_set.contains(i.as_str()))
            .cloned()
            .collect();
        if hit.is_empty() {
            continue;
        }
        named.extend(hit.iter().cloned());
        if hit.len() == set.len() {
            carried.remove(&sub);
            commands.push(StreamCommand::Unsubscribe {
                instruments: hit,
                subscriptions: vec![sub.clone()],
            });
            ended.push(sub);
        } else {
            set.retain(|i| !removed_set.contains(i.as_str()));
            commands.push(StreamCommand::Narrow {
                subscription: sub,
                instruments: hit,
            });
        }
    }
    let rest: Vec<String> = removed
        .iter()
        .filter(|i| !named.contains(*i))
        .cloned()
        .collect();
    if !rest.is_empty() {
        commands.push(StreamCommand::Unsubscribe {
            instruments: rest,
            subscriptions: Vec::new(),
        });
    }
    (commands, ended)
}

/// The instrument a book event is about.
pub fn instrument_of(e: &StreamEvent) -> Option<&str> {
    match e {
        StreamEvent::Book { book } => Some(&book.instrument),
        StreamEvent::Level { instrument, .. } => Some(instrument),
        _ => None,
    }
}
