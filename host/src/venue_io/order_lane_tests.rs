//! The kept order connection against a scripted server on 127.0.0.1 that reads requests with
//! `httparse` (not this module's writer) and answers with bytes written out by hand.

use super::*;
use std::sync::atomic::AtomicUsize;
use tokio::net::TcpListener;

/// What the server does with each request on a connection.
#[derive(Clone)]
enum Answer {
    /// Writes these bytes and waits for the next request.
    Bytes(&'static str),
    /// Writes these bytes, then closes the connection.
    BytesThenClose(&'static str),
    /// Closes the connection without answering (the request was read: processed).
    Close,
}

/// Every request as received: head (request line and headers) and body.
type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

struct Server {
    port: u16,
    accepted: Arc<AtomicUsize>,
    seen: Seen,
}

/// Reads one request (content-length bodies only: all this writer sends).
async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    loop {
        let mut h = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Request::new(&mut h);
        if let httparse::Status::Complete(n) = r.parse(&buf).ok()? {
            let len = r
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| {
                    std::str::from_utf8(h.value)
                        .unwrap()
                        .parse::<usize>()
                        .unwrap()
                })
                .unwrap_or(0);
            let head = String::from_utf8(buf[..n].to_vec()).unwrap();
            while buf.len() < n + len {
                let mut c = [0u8; 4096];
                let k = s.read(&mut c).await.ok()?;
                if k == 0 {
                    return None;
                }
                buf.extend_from_slice(&c[..k]);
            }
            return Some((head, buf[n..n + len].to_vec()));
        }
        let mut c = [0u8; 4096];
        let k = s.read(&mut c).await.ok()?;
        if k == 0 {
            return None;
        }
        buf.extend_from_slice(&c[..k]);
    }
}

/// A server answering each connection's requests in turn with `answers`.
async fn server(answers: Vec<Answer>) -> Server {
    serve(answers, None).await
}

/// The committed test identity (`tests/fixtures/tls`: a CA, and a certificate for 127.0.0.1
/// it signed).
fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tls")
}

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_file_iter(fixtures().join("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key =
        rustls::pki_types::PrivateKeyDer::from_pem_file(fixtures().join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Answers each request on a connection in turn; over TLS with `tls`.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, answers: Vec<Answer>, seen: Seen) {
    for a in answers {
        let Some(req) = read_request(&mut s).await else {
            return;
        };
        seen.lock().unwrap().push(req);
        match a {
            Answer::Bytes(b) => {
                s.write_all(b.as_bytes()).await.unwrap();
                s.flush().await.unwrap();
            }
            Answer::BytesThenClose(b) => {
                s.write_all(b.as_bytes()).await.unwrap();
                let _ = s.shutdown().await;
                return;
            }
            Answer::Close => return,
        }
    }
    // Keep the connection open until the client goes.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest).await;
}

async fn serve(answers: Vec<Answer>, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
    serve_on("127.0.0.1:0", answers, tls).await
}

async fn serve_on(
    addr: &str,
    answers: Vec<Answer>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Server {
    let l = TcpListener::bind(addr).await.unwrap();
    let port = l.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    {
        let (accepted, seen) = (accepted.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let (answers, seen, tls) = (answers.clone(), seen.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(s) = acceptor.accept(s).await {
                                answer(s, answers, seen).await;
                            }
                        }
                        None => answer(s, answers, seen).await,
                    }
                });
            }
        });
    }
    Server {
        port,
        accepted,
        seen,
    }
}

fn order(port: u16, body: &str) -> HttpRequest {
    let mut r = HttpRequest::new(
        "POST",
        format!("http://127.0.0.1:{port}/order?x=1"),
        "write",
    )
    .header("content-type", "application/json");
    r.body = body.as_bytes().to_vec();
    r
}

/// A lane that has learnt the server from one request and has its connection open.
async fn open_lane(port: u16) -> Arc<OrderLane> {
    open_lane_to(
        OrderLane::new("v", None, Duration::from_secs(5)),
        order(port, "{}"),
    )
    .await
}

async fn open_lane_to(lane: OrderLane, first: HttpRequest) -> Arc<OrderLane> {
    let lane = Arc::new(lane);
    assert!(
        lane.take(&first).is_none(),
        "the first write names the server and goes the usual way"
    );
    lane.keep_open();
    for _ in 0..200 {
        if lane.has_idle() {
            return lane;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the connection did not open");
}

/// A server giving `answer` to the first order on a lane opened to it; what that order got.
async fn one_order(answer: Answer) -> (Server, Arc<OrderLane>, Result<HttpResponse, String>) {
    let s = server(vec![answer]).await;
    let lane = open_lane(s.port).await;
    let ready = lane
        .take(&order(s.port, "{}"))
        .expect("the kept connection");
    let r = lane.send(ready).await;
    (s, lane, r)
}

const CREATED: &str = "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"id\":\"o1\"}";

#[tokio::test]
async fn orders_go_out_on_one_kept_connection_byte_for_byte() {
    let s = server(vec![
        Answer::Bytes(CREATED),
        Answer::Bytes(CREATED),
        Answer::Bytes(CREATED),
    ])
    .await;
    let lane = open_lane(s.port).await;
    for (i, body) in ["{\"a\":1}", "{\"b\":22}", "{}"].into_iter().enumerate() {
        let mut req = order(s.port, body);
        if i == 2 {
            req = req.header("Accept", "application/json");
        }
        let ready = lane.take(&req).expect("the kept connection");
        let r = lane.send(ready).await.unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.body, b"{\"id\":\"o1\"}");
        assert!(r
            .headers
            .contains(&("content-type".into(), "application/json".into())));
        assert!(lane.has_idle(), "kept for the next order");
    }
    assert_eq!(s.accepted.load(Ordering::SeqCst), 1, "one connection");
    // Counted for `/metrics` (process-wide: other lanes named "v" may add to it).
    let text = crate::metrics::render();
    let counted = text
        .lines()
        .find_map(|l| l.strip_prefix("polymix_order_connection_writes_total{venue=\"v\"} "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert!(counted >= 3, "{text}");
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(
        seen[2].0.contains("\r\naccept: application/json\r\n") && !seen[2].0.contains("*/*"),
        "the request's own accept replaces the default: {}",
        seen[2].0
    );
    assert_eq!(
        seen[0].0,
        format!(
            "POST /order?x=1 HTTP/1.1\r\nhost: 127.0.0.1:{}\r\naccept: */*\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n",
            s.port
        )
    );
    assert_eq!(seen[0].1, b"{\"a\":1}");
    assert_eq!(seen[1].1, b"{\"b\":22}");
}

#[tokio::test]
async fn a_chunked_answer_after_an_interim_one_is_read_whole() {
    let (_, lane, r) = one_order(Answer::Bytes(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\n{\"id\r\n7\r\n\":\"o2\"}\r\n0\r\nx-trailer: t\r\n\r\n",
    )).await;
    let r = r.unwrap();
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"{\"id\":\"o2\"}"[..])
    );
    assert!(lane.has_idle());
}

#[tokio::test]
async fn a_connection_the_server_closes_is_not_kept_or_used() {
    let (_, lane, r) = one_order(Answer::BytesThenClose(
        "HTTP/1.1 201 Created\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}",
    ))
    .await;
    let r = r.unwrap();
    assert_eq!(r.status, 201);
    assert!(!lane.has_idle(), "`connection: close`: not kept");

    // An HTTP/1.0 answer without `keep-alive`: the server will close, so it is not kept.
    let (_, lane, r) = one_order(Answer::Bytes(
        "HTTP/1.0 201 Created\r\ncontent-length: 2\r\n\r\n{}",
    ))
    .await;
    assert_eq!(r.unwrap().status, 201);
    assert!(!lane.has_idle(), "HTTP/1.0: not kept");

    // Closed by the server while idle: the next order goes the usual way.
    let closing = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closing.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = closing.accept().await {
            drop(s);
        }
    });
    let lane = open_lane(port).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        lane.take(&order(port, "{}")).is_none(),
        "a closed connection is never written to"
    );
    assert!(!lane.has_idle());
}

#[tokio::test]
async fn an_answer_lost_after_the_write_is_an_error_and_the_connection_dropped() {
    let s = server(vec![Answer::Close]).await;
    let lane = open_lane(s.port).await;
    let e = lane
        .send(lane.take(&order(s.port, "{\"a\":1}")).unwrap())
        .await
        .unwrap_err();
    assert!(e.contains("closed before the answer was complete"), "{e}");
    assert_eq!(
        s.seen.lock().unwrap().len(),
        1,
        "the order did reach the server"
    );
    assert!(!lane.has_idle());

    // Bytes past the answer: read, but the connection is not trusted again.
    let (_, lane, r) = one_order(Answer::Bytes(
        "HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n",
    ))
    .await;
    let r = r.unwrap();
    assert_eq!(r.status, 201);
    assert!(!lane.has_idle());
}

#[tokio::test]
async fn requests_this_writer_does_not_frame_go_the_usual_way() {
    let s = server(vec![]).await;
    let lane = open_lane(s.port).await;
    let mut injected = order(s.port, "{}");
    injected.headers.push(("x-a".into(), "1\r\nx-b: 2".into()));
    assert!(lane.take(&injected).is_none(), "a header with CR LF");
    let mut framed = order(s.port, "{}");
    framed.headers.push(("Content-Length".into(), "2".into()));
    assert!(lane.take(&framed).is_none(), "a framing header of its own");
    let mut elsewhere = order(s.port, "{}");
    elsewhere.url = format!("http://127.0.0.1:{}/order", s.port + 1);
    assert!(lane.take(&elsewhere).is_none(), "another server");
    assert!(lane.has_idle(), "none of them took the connection");
}

#[tokio::test]
async fn a_bad_answer_is_an_error() {
    for bytes in [
        "HTTP/1.1 201 Created\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        "garbage\r\n\r\n",
    ] {
        let (_, lane, e) = one_order(Answer::BytesThenClose(bytes)).await;
        let e = e.unwrap_err();
        assert!(e.starts_with("order connection to 127.0.0.1:"), "{e}");
        assert!(!lane.has_idle());
    }
}

#[tokio::test]
async fn over_tls_orders_go_out_on_the_kept_connection() {
    let s = serve(
        vec![Answer::Bytes(CREATED), Answer::Bytes(CREATED)],
        Some(tls_acceptor()),
    )
    .await;
    let https = |body: &str| {
        let mut r = order(s.port, body);
        r.url = r.url.replace("http://", "https://");
        r
    };
    let trust = super::super::TlsTrust::load(&fixtures().join("ca.pem")).unwrap();
    let lane = open_lane_to(
        OrderLane::new("v", Some(&trust), Duration::from_secs(5)),
        https("{}"),
    )
    .await;
    for body in ["{\"a\":1}", "{\"b\":2}"] {
        let r = lane
            .send(lane.take(&https(body)).expect("the kept connection"))
            .await
            .unwrap();
        assert_eq!(
            (r.status, r.body.as_slice()),
            (201, &b"{\"id\":\"o1\"}"[..])
        );
    }
    assert_eq!(s.accepted.load(Ordering::SeqCst), 1, "one TLS connection");
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen[1].1, b"{\"b\":2}");

    // Without the CA the server is not trusted: no connection opens, writes go the usual way.
    let untrusted = Arc::new(OrderLane::new("v", None, Duration::from_secs(5)));
    assert!(untrusted.take(&https("{}")).is_none());
    untrusted.keep_open();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!untrusted.has_idle());
    assert!(untrusted.take(&https("{}")).is_none());
}

#[tokio::test]
async fn a_connection_idle_too_long_is_replaced_not_written_to() {
    let s = server(vec![Answer::Bytes(CREATED)]).await;
    let lane = open_lane_to(
        OrderLane::new("v", None, Duration::from_secs(5)).with_idle_max(Duration::from_millis(100)),
        order(s.port, "{}"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        lane.take(&order(s.port, "{}")).is_none(),
        "retired, not used"
    );
    lane.keep_open();
    let t = std::time::Instant::now();
    while !lane.has_idle() {
        assert!(t.elapsed() < Duration::from_secs(2), "not reopened");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(s.accepted.load(Ordering::SeqCst), 2, "a fresh connection");
    let r = lane
        .send(lane.take(&order(s.port, "{}")).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    assert!(
        s.seen.lock().unwrap().len() == 1,
        "nothing was written to the old one"
    );
}

/// An IPv6 literal server (`http://[::1]:PORT`): connected to without the brackets, named with
/// them in the `host` header, as reqwest names it.
#[tokio::test]
async fn an_ipv6_literal_server_gets_the_kept_connection() {
    let s = serve_on("[::1]:0", vec![Answer::Bytes(CREATED)], None).await;
    let at = |port: u16| {
        let mut r = HttpRequest::new("POST", format!("http://[::1]:{port}/order"), "write");
        r.body = b"{}".to_vec();
        r
    };
    let lane = open_lane_to(
        OrderLane::new("v", None, Duration::from_secs(5)),
        at(s.port),
    )
    .await;
    let ready = lane.take(&at(s.port)).expect("the kept connection");
    let r = lane.send(ready).await.expect("an answer");
    assert_eq!(r.status, 201);
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].0,
        format!(
            "POST /order HTTP/1.1\r\nhost: [::1]:{}\r\naccept: */*\r\ncontent-length: 2\r\n\r\n",
            s.port
        )
    );
}
