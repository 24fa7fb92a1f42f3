//! The transport against a loopback websocket server and a test venue whose frames are
//! `StreamFrame` JSON, so the test controls sequence numbers exactly.

use super::*;
use futures_util::{SinkExt, StreamExt};
use plugin_api::{
    Book, PluginResult, StreamCommand, StreamFrame, StreamRequest, StreamSeq, StreamSpec, Venue,
    VenueConfig, VenueInfo, VenueOp, VenueRules,
};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

struct Echo {
    url: String,
}

impl Venue for Echo {
    fn create(c: VenueConfig) -> PluginResult<Self> {
        Ok(Echo {
            url: c.settings["url"].as_str().unwrap_or_default().to_string(),
        })
    }
    fn info(&self) -> VenueInfo {
        VenueInfo {
            name: "echo".into(),
            version: "0".into(),
            rules: VenueRules::Other,
            simulated: false,
            capabilities: vec![],
            rate_limits: Default::default(),
        }
    }
    fn begin(&self, _: VenueOp, _: CallCtx) -> PluginResult<plugin_api::Step> {
        Err(plugin_api::PluginError::unsupported("begin"))
    }
    fn stream_spec(&self, _: StreamChannel, ctx: CallCtx) -> PluginResult<StreamSpec> {
        Ok(StreamSpec {
            url: self.url.clone(),
            headers: vec![("x-signed-at".into(), ctx.now_ms.to_string())],
            keepalive: Some(plugin_api::KeepAlive {
                text: "PING".into(),
                every_ms: 100,
            }),
            max_instruments: Some(2),
            stale_after_ms: 600,
        })
    }
    fn stream_messages(&self, r: StreamRequest) -> PluginResult<Vec<String>> {
        Ok(vec![serde_json::to_string(&r).unwrap()])
    }
    fn stream_parse(&self, _: StreamChannel, f: &str, _: CallCtx) -> PluginResult<StreamFrame> {
        if f == "PONG" {
            return Ok(StreamFrame {
                seq: None,
                events: vec![StreamEvent::Pong],
            });
        }
        serde_json::from_str(f)
            .map_err(|e| plugin_api::PluginError::new(ErrorKind::Parse, e.to_string()))
    }
}

fn book_frame(sub: &str, seq: u64, snapshot: bool, inst: &str) -> String {
    serde_json::to_string(&StreamFrame {
        seq: Some(StreamSeq {
            subscription: sub.into(),
            seq,
            snapshot,
        }),
        events: vec![StreamEvent::Book {
            book: Book {
                instrument: inst.into(),
                ..Book::default()
            },
        }],
    })
    .unwrap()
}

/// Sends book frames of subscription "7": (seq, snapshot, instrument) each.
async fn send_books<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>, frames: &[(u64, bool, &str)])
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    for (seq, snapshot, inst) in frames {
        ws.send(Message::text(book_frame("7", *seq, *snapshot, inst)))
            .await
            .unwrap();
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<StreamUpdate>) -> UpdateKind {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an update within 5 s")
        .expect("channel open")
        .kind
}

/// Reads text messages until one that is not the keep-alive.
async fn command<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> StreamRequest
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match ws.next().await.expect("open").expect("ok") {
            Message::Text(t) if t.as_str() == "PING" => {
                ws.send(Message::text("PONG")).await.unwrap();
            }
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            _ => {}
        }
    }
}

/// A loopback listener and the Echo venue's market streams over it, started on
/// `instruments` (fast reconnects); the updates' receiver and the stop switch.
async fn echo_streams(
    instruments: &[&str],
) -> (
    TcpListener,
    VenueStreams,
    mpsc::UnboundedReceiver<StreamUpdate>,
    watch::Sender<bool>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let handle = VenueHandle::in_process::<Echo>(
        "echo",
        &serde_json::json!({ "url": url }),
        &Default::default(),
    )
    .unwrap();
    let plugin = Arc::new(Guarded::new("echo", handle, Duration::from_secs(5)));
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop_tx, stop) = watch::channel(false);
    let opts = StreamOptions {
        backoff_base_ms: 20,
        backoff_max_ms: 100,
        ..StreamOptions::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(crate::venue_io::SystemClock);
    let instruments: Vec<String> = instruments.iter().map(|s| s.to_string()).collect();
    let streams = start(
        plugin,
        clock,
        StreamChannel::Market,
        &instruments,
        opts,
        tx,
        stop,
    )
    .await
    .unwrap();
    (listener, streams, rx, stop_tx)
}

#[tokio::test]
async fn subscribes_checks_sequences_resubscribes_on_gaps_and_reconnects() {
    let (listener, streams, mut rx, stop_tx) = echo_streams(&["a", "b", "c"]).await;
    assert_eq!(
        streams.connections(),
        2,
        "cap of 2 instruments per connection"
    );

    // Two connections; serve the one carrying [a, b].
    let mut served = None;
    let mut other = None;
    for _ in 0..2 {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let sub = command(&mut ws).await;
        assert!(sub.initial);
        match &sub.command {
            StreamCommand::Subscribe { instruments } if instruments.len() == 2 => served = Some(ws),
            StreamCommand::Subscribe { instruments } => {
                assert_eq!(instruments, &vec!["c".to_string()]);
                other = Some(ws)
            }
            c => panic!("{c:?}"),
        }
    }
    let mut ws = served.unwrap();
    let _other = other;
    let mut connected = 0;
    while connected < 2 {
        if let UpdateKind::Connected { .. } = next(&mut rx).await {
            connected += 1;
        }
    }
    send_books(&mut ws, &[(1, true, "a"), (2, false, "b")]).await;
    // Duplicate, then a gap.
    send_books(&mut ws, &[(2, false, "b"), (4, false, "b")]).await;
    let mut books = Vec::new();
    let resync = loop {
        match next(&mut rx).await {
            UpdateKind::Events { events, .. } => {
                for e in events {
                    if let StreamEvent::Book { book } = e {
                        books.push(book.instrument);
                    }
                }
            }
            UpdateKind::Resync { instruments } => break instruments,
            k => panic!("{k:?}"),
        }
    };
    assert_eq!(books, vec!["a", "b"], "the duplicate was dropped");
    assert_eq!(resync, vec!["a", "b"]);
    let un = command(&mut ws).await;
    assert_eq!(
        un.command,
        StreamCommand::Unsubscribe {
            instruments: vec!["a".into(), "b".into()],
            subscriptions: vec!["7".into()]
        }
    );
    let sub = command(&mut ws).await;
    assert!(!sub.initial);
    assert!(matches!(sub.command, StreamCommand::Subscribe { .. }));

    // Disconnect: the connection reports it and comes back with a fresh subscription.
    // (The unserved connection [c] goes stale and reconnects meanwhile: skip it.)
    drop(ws);
    drop(_other);
    loop {
        if let UpdateKind::Down { instruments, .. } = next(&mut rx).await {
            if instruments == vec!["a", "b"] {
                break;
            }
        }
    }
    let mut ws = loop {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let again = command(&mut ws).await;
        assert!(again.initial);
        if again.command
            == (StreamCommand::Subscribe {
                instruments: vec!["a".into(), "b".into()],
            })
        {
            break ws;
        }
    };
    loop {
        if let UpdateKind::Connected { instruments } = next(&mut rx).await {
            if instruments == vec!["a", "b"] {
                break;
            }
        }
    }

    // A silent stall (nothing read, so no pongs either) is noticed within the stale bound.
    let t0 = Instant::now();
    loop {
        if let UpdateKind::Down {
            reason,
            instruments,
        } = next(&mut rx).await
        {
            if instruments == vec!["a", "b"] {
                assert!(reason.contains("stale"), "{reason}");
                break;
            }
        }
    }
    ws.send(Message::text("late")).await.ok();
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    drop(ws);
    stop_tx.send(true).unwrap();
    for t in streams.into_tasks() {
        tokio::time::timeout(Duration::from_secs(5), t)
            .await
            .unwrap()
            .unwrap();
    }
}

#[test]
fn plan_respects_the_cap() {
    let i: Vec<String> = (0..5).map(|n| n.to_string()).collect();
    assert_eq!(plan(&i, Some(2)).len(), 3);
    assert_eq!(plan(&i, None).len(), 1);
    assert!(plan(&[], None).is_empty());
}

#[test]
fn joining_instruments_fill_connections_up_to_the_cap_then_start_new_ones() {
    let i = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    assert_eq!(
        plan_add(&[2, 1], &i(&["d", "e", "f"]), Some(2)),
        AddPlan {
            onto: vec![(1, i(&["d"]))],
            new: vec![i(&["e", "f"])],
        }
    );
    assert_eq!(
        plan_add(&[], &i(&["a", "b", "c"]), Some(2)),
        AddPlan {
            onto: vec![],
            new: vec![i(&["a", "b"]), i(&["c"])],
        }
    );
    assert_eq!(
        plan_add(&[1, 0], &i(&["x", "y"]), Some(1)),
        AddPlan {
            onto: vec![(1, i(&["x"]))],
            new: vec![i(&["y"])],
        }
    );
    // No cap: everything onto the first connection, or one new connection when none runs.
    assert_eq!(
        plan_add(&[40], &i(&["x", "y"]), None),
        AddPlan {
            onto: vec![(0, i(&["x", "y"]))],
            new: vec![],
        }
    );
    assert_eq!(
        plan_add(&[], &i(&["x"]), None),
        AddPlan {
            onto: vec![],
            new: vec![i(&["x"])],
        }
    );
    assert_eq!(plan_add(&[1], &[], Some(2)), AddPlan::default());
}

/// Accepts one connection and reads its first subscription.
async fn accept(
    listener: &TcpListener,
) -> (
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    StreamRequest,
) {
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .expect("a connection within 5 s")
        .unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let sub = command(&mut ws).await;
    (ws, sub)
}

fn subscribe(instruments: &[&str]) -> StreamCommand {
    StreamCommand::Subscribe {
        instruments: instruments.iter().map(|s| s.to_string()).collect(),
    }
}

#[tokio::test]
async fn instruments_joining_a_running_stream_are_subscribed_at_once_and_after_reconnects() {
    // No instrument yet (a venue with no pair at start): no connection.
    let (listener, mut streams, _rx, stop_tx) = echo_streams(&[]).await;
    assert_eq!((streams.connections(), streams.instruments()), (0, 0));

    // The first joining instrument starts a connection.
    assert_eq!(streams.add(&["a".to_string()]), vec!["a"]);
    let (mut first, sub) = accept(&listener).await;
    assert!(sub.initial);
    assert_eq!(sub.command, subscribe(&["a"]));

    // The next ones: one fits on that connection (cap 2) and is subscribed on it at once; the
    // rest start a second connection. One it already carries is not subscribed again.
    let joined: Vec<String> = ["a", "b", "c", "d", "c"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(streams.add(&joined), vec!["b", "c", "d"]);
    assert_eq!((streams.connections(), streams.instruments()), (2, 4));
    let more = command(&mut first).await;
    assert!(!more.initial, "added on the running connection");
    assert_eq!(more.command, subscribe(&["b"]));
    assert!(more.request_id > sub.request_id);
    let (_second, sub2) = accept(&listener).await;
    assert!(sub2.initial);
    assert_eq!(sub2.command, subscribe(&["c", "d"]));
    assert!(streams.add(&["d".to_string()]).is_empty());

    // A reconnect subscribes the added instrument with the first.
    drop(first);
    let (_again, sub) = loop {
        let (ws, sub) = accept(&listener).await;
        if sub.command == subscribe(&["a", "b"]) {
            break (ws, sub);
        }
    };
    assert!(sub.initial);
    stop_tx.send(true).unwrap();
    for t in streams.into_tasks() {
        tokio::time::timeout(Duration::from_secs(5), t)
            .await
            .unwrap()
            .unwrap();
    }
}

#[test]
fn unsubscribing_drops_whole_subscriptions_by_id_and_narrows_shared_ones() {
    use super::connection::unsubscribe_commands;
    use std::collections::{BTreeSet, HashMap};
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut carried: HashMap<String, BTreeSet<String>> = HashMap::from([
        ("1".to_string(), set(&["a", "b"])),
        ("2".to_string(), set(&["c", "d"])),
        ("3".to_string(), set(&["e"])),
    ]);
    // a and b: all of sid 1; c: part of sid 2; x: no known subscription.
    let (commands, ended) = unsubscribe_commands(&mut carried, &list(&["a", "c", "b", "x"]));
    assert_eq!(
        commands,
        vec![
            StreamCommand::Unsubscribe {
                instruments: list(&["a", "b"]),
                subscriptions: list(&["1"]),
            },
            StreamCommand::Narrow {
                subscription: "2".into(),
                instruments: list(&["c"]),
            },
            StreamCommand::Unsubscribe {
                instruments: list(&["x"]),
                subscriptions: vec![],
            },
        ]
    );
    assert_eq!(ended, list(&["1"]));
    assert_eq!(
        carried,
        HashMap::from([
            ("2".to_string(), set(&["d"])),
            ("3".to_string(), set(&["e"])),
        ])
    );
    // Nothing carried: nothing to send.
    let (commands, ended) = unsubscribe_commands(&mut carried, &[]);
    assert!(commands.is_empty() && ended.is_empty());
}

#[tokio::test]
async fn instruments_retained_out_are_unsubscribed_at_once_and_not_after_reconnects() {
    let (listener, mut streams, mut rx, stop_tx) = echo_streams(&["a", "b"]).await;
    let (mut ws, sub) = accept(&listener).await;
    assert_eq!(sub.command, subscribe(&["a", "b"]));
    // Subscription 7 carries both (their snapshots say so).
    send_books(&mut ws, &[(1, true, "a"), (2, false, "b")]).await;
    let mut seen = 0;
    while seen < 2 {
        if let UpdateKind::Events { events, .. } = next(&mut rx).await {
            seen += events
                .iter()
                .filter_map(super::connection::instrument_of)
                .count();
        }
    }

    // "b" is no longer wanted: subscription 7 keeps "a", so it is narrowed.
    let wanted: std::collections::HashSet<String> = ["a".to_string()].into();
    assert_eq!(streams.retain(&wanted), vec!["b"]);
    assert_eq!(streams.instruments(), 1);
    let un = command(&mut ws).await;
    assert_eq!(
        un.command,
        StreamCommand::Narrow {
            subscription: "7".into(),
            instruments: vec!["b".into()],
        }
    );
    assert!(un.request_id > sub.request_id);
    // A frame of "b" still in flight is dropped; "a" goes on in sequence.
    send_books(&mut ws, &[(3, false, "b"), (4, false, "a")]).await;
    let mut books = Vec::new();
    while !books.contains(&"a".to_string()) {
        if let UpdateKind::Events { events, .. } = next(&mut rx).await {
            books.extend(
                events
                    .iter()
                    .filter_map(super::connection::instrument_of)
                    .map(str::to_string),
            );
        }
    }
    assert_eq!(books, vec!["a"], "b's frame is dropped");
    // Nothing left to retain out.
    assert!(streams.retain(&wanted).is_empty());

    // A reconnect subscribes "a" only.
    drop(ws);
    let (_again, sub) = accept(&listener).await;
    assert!(sub.initial);
    assert_eq!(sub.command, subscribe(&["a"]));
    stop_tx.send(true).unwrap();
    for t in streams.into_tasks() {
        tokio::time::timeout(Duration::from_secs(5), t)
            .await
            .unwrap()
            .unwrap();
    }
}
