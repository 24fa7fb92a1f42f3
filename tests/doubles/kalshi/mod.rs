//! A Kalshi Trade API v2 test double on 127.0.0.1.
//!
//! It behaves like the real venue where the adapter can get it wrong (kalshi.md):
//! * verifies every RSA-PSS signature (salt 32) against the registered public key, over
//!   `timestamp_ms + METHOD + /trade-api/v2/...` without the query, and answers Kalshi's 401
//!   `authentication_error` to each common mistake (query signed, prefix missing, seconds
//!   timestamp, unknown/demo key, read-only key on a write endpoint); [`KalshiDouble::auth_failures`]
//!   says which mistake it recognised;
//! * validates V2 order bodies strictly (dollar strings with 2–4 decimals, counts with exactly
//!   2 decimals, tick grid, required fields, no legacy fields);
//! * keeps a real matching book per market, charges the taker fee
//!   `ceil_to_cent(0.07·C·P·(1−P))`, refuses a reused `client_order_id` with 409;
//! * answers the removed V1 order-writing endpoints with `deprecated_v1_order_endpoint`
//!   (with a 200 status by default, as reported in the wild);
//! * injects the faults of [`crate::fault`] (Kalshi's bare-string 429s, 5xx before or after
//!   processing, slow, late, dropped or garbled answers, forced 409s).
//!
//! ```ignore
//! let double = polymix_doubles::kalshi::spawn(KalshiDoubleConfig::default()).await;
//! double.add_market(MarketSpec::new("KXNBAGAME-26MAY25NYKCLE-NYK"));
//! double.seed_book("KXNBAGAME-26MAY25NYKCLE-NYK", &[("0.4200", "13.00")], &[("0.5400", "400.00")]);
//! // settings: {"base_url": double.base_url}, secrets: test_keypair()
//! ```

pub mod auth;
pub mod exchange;
pub mod ws;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use plugin_api::{Price, Qty, Usd};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::fault::{Fault, FaultRule, FaultRules};
use exchange::{err, Exchange, NewOrder, Reject};
pub use exchange::{FillRec, MarketSpec, OrderRec};

/// The key id of the committed test key.
pub const TEST_KEY_ID: &str = "0b6a5e53-7c59-4b7e-9a39-test00000001";
const PREFIX: &str = "/trade-api/v2";

/// A test-only RSA key pair. Never register it anywhere.
#[derive(Clone)]
pub struct TestKeypair {
    /// Key id to send in `KALSHI-ACCESS-KEY`.
    pub key_id: String,
    /// PKCS#1 private key PEM (`BEGIN RSA PRIVATE KEY`), as Kalshi hands them out.
    pub private_key_pem: String,
    /// The same key as PKCS#8.
    pub private_key_pem_pkcs8: String,
    /// SPKI public key PEM.
    pub public_key_pem: String,
}

impl std::fmt::Debug for TestKeypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestKeypair({})", self.key_id)
    }
}

/// The committed test key (`tests/fixtures/kalshi/signature_vectors.json`, made by
/// `kalshi_verify.py vector`). TEST ONLY.
pub fn test_keypair() -> TestKeypair {
    let v: Value =
        serde_json::from_str(include_str!("../../fixtures/kalshi/signature_vectors.json"))
            .expect("committed fixture is JSON");
    let s = |k: &str| v[k].as_str().expect("fixture field").to_string();
    TestKeypair {
        key_id: TEST_KEY_ID.into(),
        private_key_pem: s("private_key_pem_pkcs1"),
        private_key_pem_pkcs8: s("private_key_pem_pkcs8"),
        public_key_pem: s("public_key_pem"),
    }
}

/// The committed Ed25519 test key (`tests/fixtures/kalshi/ed25519_vectors.json`, made by
/// `kalshi_verify.py keygen --ed25519`). TEST ONLY. Register it with
/// [`RegisteredKey::from_pair`] to accept it.
pub fn test_ed25519_keypair(key_id: &str) -> TestKeypair {
    let v: Value = serde_json::from_str(include_str!("../../fixtures/kalshi/ed25519_vectors.json"))
        .expect("committed fixture is JSON");
    let s = |k: &str| v[k].as_str().expect("fixture field").to_string();
    TestKeypair {
        key_id: key_id.into(),
        private_key_pem: s("private_key_pem"),
        private_key_pem_pkcs8: s("private_key_pem"),
        public_key_pem: s("public_key_pem"),
    }
}

/// Generates a fresh RSA-2048 test key pair (takes a few seconds in debug builds; prefer
/// [`test_keypair`] unless a second, distinct key is needed).
pub fn generate_keypair(key_id: &str) -> TestKeypair {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("rsa keygen");
    TestKeypair {
        key_id: key_id.into(),
        private_key_pem: key.to_pkcs1_pem(LineEnding::LF).expect("pem").to_string(),
        private_key_pem_pkcs8: key.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string(),
        public_key_pem: key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem"),
    }
}

/// A key the double accepts.
#[derive(Clone, Debug)]
pub struct RegisteredKey {
    /// Key id.
    pub key_id: String,
    /// Public key PEM.
    pub public_key_pem: String,
    /// Whether it has the `write` scope (orders); read-only keys get 401 on writes.
    pub write: bool,
}

impl RegisteredKey {
    /// A read+write registration of a test key pair.
    pub fn from_pair(k: &TestKeypair) -> RegisteredKey {
        RegisteredKey {
            key_id: k.key_id.clone(),
            public_key_pem: k.public_key_pem.clone(),
            write: true,
        }
    }
}

/// How the double is set up.
#[derive(Clone, Debug)]
pub struct KalshiDoubleConfig {
    /// Registered keys (default: the committed test key, read+write).
    pub keys: Vec<RegisteredKey>,
    /// Largest accepted |server clock − KALSHI-ACCESS-TIMESTAMP|; `None` disables the check.
    pub max_skew_ms: Option<i64>,
    /// Starting cash.
    pub balance: Usd,
    /// Status of the `deprecated_v1_order_endpoint` answer (reported as 2xx in the wild).
    pub v1_status: u16,
    /// Serve `https://` and `wss://` with the test identity (`crate::tls`), as the venue does.
    pub tls: bool,
}

impl Default for KalshiDoubleConfig {
    fn default() -> Self {
        let k = test_keypair();
        KalshiDoubleConfig {
            keys: vec![RegisteredKey {
                key_id: k.key_id,
                public_key_pem: k.public_key_pem,
                write: true,
            }],
            max_skew_ms: Some(60_000),
            balance: Usd::dollars(10_000),
            v1_status: 200,
            tls: false,
        }
    }
}

/// One request as the double saw it.
#[derive(Clone, Debug)]
pub struct RequestRec {
    /// Method.
    pub method: String,
    /// Path (with prefix).
    pub path: String,
    /// Raw query.
    pub query: String,
    /// Status answered (0 when the connection was dropped).
    pub status: u16,
    /// Body as text.
    pub body: String,
}

/// A refused signature and the mistake it matched.
#[derive(Clone, Debug)]
pub struct AuthFailure {
    /// Method and path of the request.
    pub request: String,
    /// Why it was refused.
    pub reason: String,
    /// Known client mistakes the signature matches.
    pub diagnosis: Vec<&'static str>,
}

struct Inner {
    ex: Exchange,
    faults: FaultRules,
    requests: Vec<RequestRec>,
    auth_failures: Vec<AuthFailure>,
    place_attempts: usize,
    /// What `GET /exchange/status` says about trading.
    trading_active: bool,
}

struct Shared {
    ws: ws::Hub,
    config: KalshiDoubleConfig,
    keys: Vec<(RegisteredKey, auth::PublicKey)>,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not poison every later request.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running double.
#[derive(Clone)]
pub struct KalshiDouble {
    /// REST root, e.g. `http://127.0.0.1:PORT/trade-api/v2`.
    pub base_url: String,
    /// Bound address.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

/// Starts a double on 127.0.0.1 (random port) on the current tokio runtime.
pub async fn spawn(config: KalshiDoubleConfig) -> KalshiDouble {
    let keys = config
        .keys
        .iter()
        .map(|k| {
            (
                k.clone(),
                auth::public_key(&k.public_key_pem)
                    .expect("registered key must be a PEM public key"),
            )
        })
        .collect();
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            ex: Exchange::new(config.balance),
            faults: FaultRules::default(),
            requests: Vec::new(),
            auth_failures: Vec::new(),
            place_attempts: 0,
            trading_active: true,
        }),
        config,
        keys,
        ws: ws::Hub::default(),
    });
    let app = Router::new()
        .route(ws::WS_PATH, axum::routing::get(ws::upgrade))
        .fallback(handle)
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let tls = shared.config.tls;
    tokio::spawn(async move {
        if tls {
            let _ = axum::serve(crate::tls::TlsListener::new(listener), app).await;
        } else {
            let _ = axum::serve(listener, app).await;
        }
    });
    KalshiDouble {
        base_url: format!("{}://{addr}{PREFIX}", if tls { "https" } else { "http" }),
        addr,
        shared,
    }
}

fn parse_levels(levels: &[(&str, &str)]) -> Vec<(Price, Qty)> {
    levels
        .iter()
        .map(|(p, q)| {
            (
                Price::parse(p).expect("seed price"),
                Qty::parse(q).expect("seed count"),
            )
        })
        .collect()
}

impl KalshiDouble {
    /// Adds (or replaces the spec of) a market.
    pub fn add_market(&self, spec: MarketSpec) {
        self.shared.lock().ex.add_market(spec);
    }

    /// Sets an event's title and game start (a milestone `start_date`).
    pub fn set_event(&self, event_ticker: &str, title: &str, start_date: Option<&str>) {
        self.shared.lock().ex.events.insert(
            event_ticker.to_string(),
            exchange::EventMeta {
                title: title.to_string(),
                start_date: start_date.map(str::to_string),
            },
        );
    }

    /// Changes a market, e.g. to close or settle it.
    pub fn update_market(&self, ticker: &str, f: impl FnOnce(&mut MarketSpec)) {
        assert!(
            self.shared.lock().ex.update_market(ticker, f),
            "unknown market {ticker}"
        );
    }

    /// Sets third-party liquidity as Kalshi shows it: YES bids and NO bids, `(price, count)`
    /// dollar/count strings. A NO bid at q is a YES ask at 1 − q.
    pub fn seed_book(&self, ticker: &str, yes_bids: &[(&str, &str)], no_bids: &[(&str, &str)]) {
        self.shared
            .lock()
            .ex
            .seed_book(ticker, &parse_levels(yes_bids), &parse_levels(no_bids));
        ws::publish(&self.shared);
    }

    /// The websocket URL (`ws://127.0.0.1:PORT/trade-api/ws/v2`; `wss://` when serving TLS).
    pub fn ws_url(&self) -> String {
        let scheme = if self.shared.config.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.addr, ws::WS_PATH)
    }

    /// Injects a websocket fault (see [`ws::WsFault`]).
    pub fn ws_inject(&self, f: ws::WsFault) {
        self.shared.ws.inject(f);
    }

    /// Pushes a `market_lifecycle_v2` event (`deactivated`, `activated`, `settled` with a
    /// `result`, ...) of `ticker` to the websocket's lifecycle subscribers.
    pub fn ws_lifecycle(&self, ticker: &str, event_type: &str, result: Option<&str>) {
        self.shared.ws.lifecycle(ticker, event_type, result);
    }

    /// The `market_tickers` of every `orderbook_delta` subscribe the websocket received, in
    /// order, each with the number of the connection it came on.
    pub fn ws_book_subscribes(&self) -> Vec<(u64, Vec<String>)> {
        self.shared.ws.book_subscribes()
    }

    /// The tickers whose books the websocket's `orderbook_delta` subscriptions stream now.
    pub fn ws_streamed_tickers(&self) -> std::collections::BTreeSet<String> {
        self.shared.ws.streamed_tickers()
    }

    /// Every `update_subscription` command the websocket received, with its connection.
    pub fn ws_updates(&self) -> Vec<(u64, serde_json::Value)> {
        self.shared.ws.updates()
    }

    /// The `market_tickers` of every `market_lifecycle_v2` subscription the websocket holds, in
    /// order, each with the number of the connection it came on.
    pub fn ws_lifecycle_subscribes(&self) -> Vec<(u64, Vec<String>)> {
        self.shared.ws.lifecycle_subscribes()
    }

    /// Websocket frames of `kind` sent so far (`lost` counts frames a gap swallowed), and
    /// connections accepted.
    pub fn ws_stats(&self, kind: &str) -> (usize, usize) {
        self.shared.ws.stats(kind)
    }

    /// Determines and settles a market (`yes` or `no`): positions pay out into cash and a
    /// settlement record appears under `GET /portfolio/settlements`.
    pub fn settle(&self, ticker: &str, result: &str) {
        assert!(
            self.shared.lock().ex.settle(ticker, result, now_ms()),
            "unknown market {ticker}"
        );
    }

    /// Sets a series' fee schedule as `GET /series/{ticker}` reports it, e.g. `("quadratic",
    /// json!(0.5))` or `("flat", json!(1))`.
    pub fn set_series_fee(&self, series: &str, fee_type: &str, multiplier: Value) {
        self.shared
            .lock()
            .ex
            .series_fees
            .insert(series.to_string(), (fee_type.to_string(), multiplier));
    }

    /// Opens or halts trading as `GET /exchange/status` reports it.
    pub fn set_trading_active(&self, on: bool) {
        self.shared.lock().trading_active = on;
    }

    /// Sets the user's cash.
    pub fn set_balance(&self, cash: Usd) {
        self.shared.lock().ex.cash = cash;
    }

    /// The user's spendable cash.
    pub fn balance(&self) -> Usd {
        self.shared.lock().ex.cash
    }

    /// The user's signed YES position in a market (negative = NO).
    pub fn position(&self, ticker: &str) -> Qty {
        self.shared.lock().ex.position(ticker)
    }

    /// Adds a fault rule ([`crate::fault`]: the same faults, with the same meaning, as the
    /// Polymarket double's). Paths are matched below `/trade-api/v2`.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.lock().faults.push(rule);
    }

    /// Orders the double accepted.
    pub fn orders(&self) -> Vec<OrderRec> {
        self.shared.lock().ex.orders.clone()
    }

    /// Fills of the user's orders.
    pub fn fills(&self) -> Vec<FillRec> {
        self.shared.lock().ex.fills.clone()
    }

    /// How many order submits reached the double (accepted or not, faults included).
    pub fn place_attempts(&self) -> usize {
        self.shared.lock().place_attempts
    }

    /// Every request seen.
    pub fn requests(&self) -> Vec<RequestRec> {
        self.shared.lock().requests.clone()
    }

    /// Refused signatures.
    pub fn auth_failures(&self) -> Vec<AuthFailure> {
        self.shared.lock().auth_failures.clone()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Ends the connection without an answer. `resume_unwind` skips the panic hook, so this
/// is silent; hyper drops the connection whose task unwound.
fn drop_connection() -> ! {
    std::panic::resume_unwind(Box::new("kalshi double: dropped connection"))
}

async fn handle(State(sh): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let is_submit = method == "POST" && path == format!("{PREFIX}/portfolio/events/orders");
    let fault = {
        let mut g = sh.lock();
        if is_submit {
            g.place_attempts += 1;
        }
        let below_root = path.strip_prefix(PREFIX).unwrap_or(&path);
        // A duplicate-id refusal only makes sense for an order submit.
        g.faults.take(&method, below_root, |f| {
            *f != Fault::Duplicate409 || is_submit
        })
    };
    let seen = Seen {
        method,
        path,
        query,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    match fault {
        Some(Fault::Status(429)) => {
            // Kalshi's 429: a bare-string body and no Retry-After (kalshi.md "Rate limits").
            seen.record(&sh, 429);
            return json_response(429, &json!({"error": "too many requests"}));
        }
        Some(Fault::Status(s)) => {
            seen.record(&sh, s);
            let (s, b) = err(s, "internal_server_error", "internal server error");
            return json_response(s, &b);
        }
        Some(Fault::Drop) => {
            seen.record(&sh, 0);
            drop_connection();
        }
        Some(Fault::Duplicate409) => {
            seen.record(&sh, 409);
            let (s, b) = err(
                409,
                "order_already_exists",
                "an order with this client_order_id already exists",
            );
            return json_response(s, &b);
        }
        Some(Fault::Delay(t)) => tokio::time::sleep(t).await,
        Some(Fault::Late(t)) => {
            // Processing runs in its own task, so a client that hangs up does not cancel it.
            let sh2 = sh.clone();
            let headers = parts.headers.clone();
            let task = tokio::spawn(async move {
                tokio::time::sleep(t).await;
                let (status, body) = process(
                    &sh2,
                    &seen.method,
                    &seen.path,
                    &seen.query,
                    &headers,
                    &bytes,
                );
                seen.record(&sh2, status);
                (status, body)
            });
            return match task.await {
                Ok((status, body)) => answer(status, &body),
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            };
        }
        _ => {}
    }
    let (status, body) = process(
        &sh,
        &seen.method,
        &seen.path,
        &seen.query,
        &parts.headers,
        &bytes,
    );
    match fault {
        Some(Fault::DelayAfter(t)) => tokio::time::sleep(t).await,
        Some(Fault::StatusAfter(s)) => {
            seen.record(&sh, s);
            let (s, b) = err(s, "internal_server_error", "internal server error");
            return json_response(s, &b);
        }
        Some(Fault::DropAfter) => {
            seen.record(&sh, 0);
            drop_connection();
        }
        Some(Fault::GarbageAfter) => {
            // Booked, then the real status with a body that is not JSON (a proxy's page).
            seen.record(&sh, status);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            return (
                status,
                [("content-type", "text/html")],
                "<html><body>upstream hiccup</body></html>",
            )
                .into_response();
        }
        _ => {}
    }
    seen.record(&sh, status);
    answer(status, &body)
}

/// A request as it arrived, for the log.
struct Seen {
    method: String,
    path: String,
    query: String,
    body: String,
}

impl Seen {
    fn record(&self, sh: &Shared, status: u16) {
        sh.lock().requests.push(RequestRec {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            status,
            body: self.body.clone(),
        });
    }
}

/// The venue's answer: JSON, or no body for a 204.
fn answer(status: u16, body: &Value) -> Response {
    if status == 204 {
        return Response::builder()
            .status(204)
            .body(Body::empty())
            .unwrap_or_default();
    }
    json_response(status, body)
}

/// Decodes an `application/x-www-form-urlencoded` query (`+` is a space, as in Go's and
/// most servers' decoders, so an unescaped `+` in a cursor is corrupted like in production).
fn parse_query(q: &str) -> Result<Vec<(String, String)>, Reject> {
    let dec = |s: &str| -> Result<String, Reject> {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let h = s
                        .get(i + 1..i + 3)
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    out.push(h.ok_or_else(|| {
                        err(400, "invalid_parameters", "bad percent-encoding in query")
                    })?);
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).map_err(|_| err(400, "invalid_parameters", "query is not UTF-8"))
    };
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Ok((dec(k)?, dec(v)?))
        })
        .collect()
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

/// Opaque cursor: contains `+`, `/` and `=` so a client that does not percent-encode it
/// breaks, as it would against Kalshi's base64 cursors.
fn cursor_for(offset: usize) -> String {
    format!("cur+{offset}/=")
}

fn paginate(
    items: Vec<Value>,
    q: &[(String, String)],
    default_limit: usize,
    max: usize,
) -> Result<(Vec<Value>, String), Reject> {
    let limit = match param(q, "limit") {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| err(400, "invalid_parameters", "limit out of range"))?,
        None => default_limit,
    };
    let start = match param(q, "cursor").filter(|c| !c.is_empty()) {
        Some(c) => c
            .strip_prefix("cur+")
            .and_then(|r| r.strip_suffix("/="))
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| err(400, "invalid_parameters", "invalid cursor"))?,
        None => 0,
    };
    let end = (start + limit).min(items.len());
    let next = if end < items.len() {
        cursor_for(end)
    } else {
        String::new()
    };
    Ok((
        items
            .into_iter()
            .skip(start)
            .take(end.saturating_sub(start))
            .collect(),
        next,
    ))
}

#[allow(clippy::too_many_arguments)]
fn auth_check(
    sh: &Shared,
    g: &mut Inner,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    write: bool,
    required: bool,
) -> Result<(), Reject> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (key, ts, sig) = (
        h("KALSHI-ACCESS-KEY"),
        h("KALSHI-ACCESS-TIMESTAMP"),
        h("KALSHI-ACCESS-SIGNATURE"),
    );
    if key.is_none() && ts.is_none() && sig.is_none() && !required {
        return Ok(());
    }
    let mut fail = |reason: String, diagnosis: Vec<&'static str>, details: &str| -> Reject {
        g.auth_failures.push(AuthFailure {
            request: format!("{method} {path}"),
            reason,
            diagnosis,
        });
        (
            401,
            json!({"error": {"code": "authentication_error", "message": "authentication failed", "details": details, "service": "auth"}}),
        )
    };
    let (Some(key), Some(ts), Some(sig)) = (key, ts, sig) else {
        return Err(fail(
            "missing KALSHI-ACCESS-* headers".into(),
            vec![],
            "MISSING_AUTH_HEADERS",
        ));
    };
    let Some((reg, pk)) = sh.keys.iter().find(|(k, _)| k.key_id == key) else {
        return Err(fail(
            format!("unknown key id {key} (demo key on prod, or the wrong id?)"),
            vec![],
            "INCORRECT_API_KEY",
        ));
    };
    if !ts.bytes().all(|b| b.is_ascii_digit()) || ts.len() < 13 {
        return Err(fail(
            format!("timestamp {ts} is not Unix milliseconds"),
            vec!["seconds timestamp"],
            "INCORRECT_API_KEY_SIGNATURE",
        ));
    }
    if !auth::verify(pk, ts, method, path, sig) {
        let diag = auth::diagnose(pk, ts, method, path, query, sig);
        return Err(fail(
            "signature does not verify".into(),
            diag,
            "INCORRECT_API_KEY_SIGNATURE",
        ));
    }
    if let (Some(max), Ok(t)) = (sh.config.max_skew_ms, ts.parse::<i64>()) {
        if (now_ms() - t).abs() > max {
            return Err(fail(
                format!("timestamp {ts} is too far from the server clock"),
                vec![],
                "TIMESTAMP_OUT_OF_RANGE",
            ));
        }
    }
    if write && !reg.write {
        return Err(fail(
            "read-only key used on a write endpoint".into(),
            vec![],
            "INSUFFICIENT_API_KEY_SCOPE",
        ));
    }
    Ok(())
}

fn process(
    sh: &Shared,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (u16, Value) {
    let answer = {
        let mut g = sh.lock();
        match route(sh, &mut g, method, path, query, headers, body) {
            Ok((s, v)) => (s, v),
            Err((s, v)) => (s, v),
        }
    };
    // An order or cancel may have changed a book: the websocket tells its subscribers.
    if method != "GET" {
        ws::publish(sh);
    }
    answer
}

fn route(
    sh: &Shared,
    g: &mut Inner,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(u16, Value), Reject> {
    let not_found = || err(404, "not_found", "route not found");
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Err(not_found());
    };
    let seg: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let q = parse_query(query)?;
    let portfolio = seg.first() == Some(&"portfolio");
    let write = method != "GET";
    auth_check(sh, g, method, path, query, headers, write, portfolio)?;
    let now = now_ms();
    let ex = &mut g.ex;
    match (method, seg.as_slice()) {
        ("GET", ["exchange", "status"]) => Ok((
            200,
            json!({"exchange_active": true, "trading_active": g.trading_active,
                   "exchange_estimated_resume_time": if g.trading_active { Value::Null } else { json!("2030-01-01T13:00:00Z") }}),
        )),
        ("GET", ["events"]) => {
            if param(&q, "with_nested_markets") != Some("true") {
                return Err(err(
                    400,
                    "invalid_parameters",
                    "this double serves events with nested markets only",
                ));
            }
            let items = ex.list_events(param(&q, "series_ticker"), param(&q, "status"));
            let (page, cursor) = paginate(items, &q, 100, 200)?;
            let milestones = if param(&q, "with_milestones") == Some("true") {
                ex.milestones_for(&page)
            } else {
                Vec::new()
            };
            Ok((
                200,
                json!({"events": page, "milestones": milestones, "cursor": cursor}),
            ))
        }
        ("GET", ["events", e]) => ex.event_json(e).map(|v| (200, v)).ok_or_else(not_found),
        ("GET", ["series", t]) => ex.series_json(t).map(|v| (200, v)).ok_or_else(not_found),
        ("GET", ["markets"]) => {
            let items = ex.list_markets(
                param(&q, "series_ticker"),
                param(&q, "status"),
                param(&q, "mve_filter") == Some("exclude"),
            );
            let (page, cursor) = paginate(items, &q, 100, 1000)?;
            Ok((200, json!({"markets": page, "cursor": cursor})))
        }
        ("GET", ["markets", "orderbooks"]) => {
            let tickers: Vec<&str> = q
                .iter()
                .filter(|(k, _)| k == "tickers")
                .map(|(_, v)| v.as_str())
                .collect();
            if tickers.is_empty() || tickers.len() > 100 {
                return Err(err(
                    400,
                    "invalid_parameters",
                    "tickers: 1 to 100 repeated parameters",
                ));
            }
            let books: Vec<Value> = tickers
                .iter()
                .filter_map(|t| {
                    let mut b = ex.orderbook(t)?;
                    b["ticker"] = json!(t);
                    Some(b)
                })
                .collect();
            Ok((200, json!({"orderbooks": books})))
        }
        ("GET", ["markets", t]) => ex
            .market(t)
            .map(|m| (200, json!({"market": m})))
            .ok_or_else(not_found),
        ("GET", ["markets", t, "orderbook"]) => {
            ex.orderbook(t).map(|b| (200, b)).ok_or_else(not_found)
        }
        ("GET", ["portfolio", "balance"]) => {
            let cents = ex.cash.0.div_euclid(10_000);
            Ok((
                200,
                json!({"balance": cents, "balance_dollars": ex.cash.to_decimal(4), "portfolio_value": cents, "updated_ts": now / 1000}),
            ))
        }
        ("GET", ["portfolio", "positions"]) => {
            let (page, cursor) = paginate(ex.positions_json(), &q, 100, 1000)?;
            Ok((
                200,
                json!({"market_positions": page, "event_positions": [], "cursor": cursor}),
            ))
        }
        ("GET", ["portfolio", "fills"]) => {
            let min_ts = min_ts_param(&q)?;
            let (page, cursor) =
                paginate(ex.fills_json(param(&q, "ticker"), min_ts), &q, 100, 1000)?;
            Ok((200, json!({"fills": page, "cursor": cursor})))
        }
        ("GET", ["portfolio", "settlements"]) => {
            let min_ts = min_ts_param(&q)?;
            let (page, cursor) = paginate(
                ex.settlements_json(param(&q, "ticker"), min_ts),
                &q,
                100,
                1000,
            )?;
            Ok((200, json!({"settlements": page, "cursor": cursor})))
        }
        ("GET", ["portfolio", "orders"]) => {
            let status = param(&q, "status");
            if status.is_some_and(|s| !matches!(s, "resting" | "canceled" | "executed")) {
                return Err(err(
                    400,
                    "invalid_parameters",
                    "status must be resting, canceled or executed",
                ));
            }
            let (page, cursor) =
                paginate(ex.orders_json(param(&q, "ticker"), status), &q, 100, 1000)?;
            Ok((200, json!({"orders": page, "cursor": cursor})))
        }
        ("GET", ["portfolio", "orders", id]) => ex
            .order_json(id)
            .map(|o| (200, json!({"order": o})))
            .ok_or_else(|| err(404, "not_found", "order not found")),
        ("POST", ["portfolio", "events", "orders"]) => {
            let o = validate_order(body)?;
            ex.place(o, now).map(|r| (201, r))
        }
        ("DELETE", ["portfolio", "events", "orders", "batched"]) => {
            let items = validate_batch_cancel(body)?;
            let answers: Vec<Value> = items
                .iter()
                .map(|(id, ticker)| {
                    let ticker = ticker.clone().or_else(|| ex.ticker_of(id));
                    let r = match ticker {
                        Some(t) => ex.cancel(id, &t, now),
                        None => Err(err(404, "not_found", "order not found")),
                    };
                    // Per-item failures carry Kalshi's error object under `error`.
                    r.unwrap_or_else(|(_, e)| json!({"order_id": id, "error": e["error"]}))
                })
                .collect();
            Ok((200, json!({ "orders": answers })))
        }
        ("DELETE", ["portfolio", "events", "orders", id]) => {
            let t = param(&q, "market_ticker")
                .ok_or_else(|| err(400, "missing_parameters", "market_ticker is required"))?;
            ex.cancel(id, t, now).map(|r| (200, r))
        }
        // Removed V1 order-writing endpoints (June 2026).
        ("POST", ["portfolio", "orders", ..]) | ("DELETE", ["portfolio", "orders", ..]) => Ok((
            sh.config.v1_status,
            json!({"error": {"code": "deprecated_v1_order_endpoint", "message": "Please switch to the V2 endpoints", "service": "exchange"}}),
        )),
        _ => Err(not_found()),
    }
}

/// The `min_ts` filter of history lists: Unix seconds, and a milliseconds value is refused
/// the way a careful server would (it would silently match nothing).
fn min_ts_param(q: &[(String, String)]) -> Result<Option<i64>, Reject> {
    let Some(s) = param(q, "min_ts") else {
        return Ok(None);
    };
    let t = s
        .parse::<i64>()
        .map_err(|_| err(400, "invalid_parameters", "min_ts must be Unix seconds"))?;
    if t > 100_000_000_000 {
        return Err(err(
            400,
            "invalid_parameters",
            "min_ts looks like milliseconds; it is Unix seconds",
        ));
    }
    Ok(Some(t))
}

/// `^\d+\.\d{lo,hi}$`.
fn decimal_with(s: &str, lo: usize, hi: usize) -> bool {
    let Some((i, f)) = s.split_once('.') else {
        return false;
    };
    !i.is_empty()
        && i.bytes().all(|b| b.is_ascii_digit())
        && (lo..=hi).contains(&f.len())
        && f.bytes().all(|b| b.is_ascii_digit())
}

/// Most orders in one batch request: "max batch size scales with the write budget (old docs:
/// 20)" (kalshi.md §3.3); the double holds clients to the documented floor.
pub const MAX_BATCH: usize = 20;

/// `DELETE /portfolio/events/orders/batched` body: `{"orders":[{order_id, market_ticker?,
/// subaccount?, exchange_index?}]}` (kalshi.md §3.3); the V1 shape `{"ids":[…]}` is refused.
fn validate_batch_cancel(body: &[u8]) -> Result<Vec<(String, Option<String>)>, Reject> {
    let bad = |d: &str| {
        (
            400,
            json!({"error": {"code": "invalid_parameters", "message": "invalid batch cancel", "details": d, "service": "exchange"}}),
        )
    };
    let v: Value = serde_json::from_slice(body).map_err(|_| bad("body is not JSON"))?;
    let o = v.as_object().ok_or_else(|| bad("body is not an object"))?;
    if let Some(k) = o.keys().find(|k| k.as_str() != "orders") {
        return Err(bad(&format!("unknown field `{k}` (V2 takes `orders`)")));
    }
    let arr = o
        .get("orders")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("orders is required"))?;
    if arr.is_empty() || arr.len() > MAX_BATCH {
        return Err(bad(&format!("orders must hold 1 to {MAX_BATCH} items")));
    }
    arr.iter()
        .map(|i| {
            let io = i.as_object().ok_or_else(|| bad("each item is an object"))?;
            if let Some(k) = io.keys().find(|k| {
                !matches!(
                    k.as_str(),
                    "order_id" | "market_ticker" | "subaccount" | "exchange_index"
                )
            }) {
                return Err(bad(&format!("unknown item field `{k}`")));
            }
            let id = io
                .get("order_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad("order_id is required"))?;
            let t = match io.get("market_ticker") {
                None => None,
                Some(Value::String(t)) => Some(t.clone()),
                Some(_) => return Err(bad("market_ticker must be a string")),
            };
            Ok((id.to_string(), t))
        })
        .collect()
}

const ORDER_FIELDS: &[&str] = &[
    "ticker",
    "client_order_id",
    "side",
    "count",
    "price",
    "time_in_force",
    "self_trade_prevention_type",
    "expiration_time",
    "post_only",
    "reduce_only",
    "cancel_order_on_pause",
    "subaccount",
    "order_group_id",
    "exchange_index",
];

fn validate_order(body: &[u8]) -> Result<NewOrder, Reject> {
    let bad = |d: &str| {
        (
            400,
            json!({"error": {"code": "invalid_order", "message": "invalid order", "details": d, "service": "exchange"}}),
        )
    };
    let v: Value = serde_json::from_slice(body).map_err(|_| bad("body is not JSON"))?;
    let o = v.as_object().ok_or_else(|| bad("body is not an object"))?;
    for k in o.keys() {
        if !ORDER_FIELDS.contains(&k.as_str()) {
            // Legacy V1 fields (action, type, yes_price, count_fp, ...) are a common mistake.
            return Err(bad(&format!("unknown field `{k}`")));
        }
    }
    let s = |k: &str| o.get(k).and_then(Value::as_str);
    let ticker = s("ticker").ok_or_else(|| bad("ticker is required"))?;
    let coid = s("client_order_id").ok_or_else(|| bad("client_order_id is required"))?;
    if coid.is_empty()
        || coid.len() > 64
        || !coid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:+=/".contains(&b))
    {
        return Err(bad("client_order_id must match ^[-\\w:+=/]{1,64}$"));
    }
    let bid = match s("side") {
        Some("bid") => true,
        Some("ask") => false,
        _ => {
            return Err(bad(
                "side must be bid or ask (V2); yes/no with action is the removed V1 shape",
            ))
        }
    };
    let count = match o.get("count") {
        Some(Value::String(c)) if decimal_with(c, 2, 2) => {
            Qty::parse(c).map_err(|_| bad("count"))?
        }
        Some(_) => {
            return Err(bad(
                "count must be a fixed-point string with 2 decimals, e.g. \"10.00\"",
            ))
        }
        None => return Err(bad("count is required")),
    };
    if count.0 <= 0 {
        return Err(bad("count must be positive"));
    }
    let price = match o.get("price") {
        Some(Value::String(p)) if decimal_with(p, 2, 4) => {
            Price::parse(p).map_err(|_| bad("price"))?
        }
        Some(_) => {
            return Err((
                400,
                json!({"error": {"code": "invalid_price", "message": "price must be a dollar string with 2-4 decimals, e.g. \"0.5600\""}}),
            ))
        }
        None => return Err(bad("price is required")),
    };
    if price <= Price::ZERO || price >= Price::ONE {
        return Err((
            400,
            json!({"error": {"code": "invalid_price", "message": "price must be between 0 and 1"}}),
        ));
    }
    let tif = s("time_in_force").ok_or_else(|| bad("time_in_force is required"))?;
    if !matches!(
        tif,
        "fill_or_kill" | "good_till_canceled" | "immediate_or_cancel"
    ) {
        return Err(bad(
            "time_in_force must be fill_or_kill, good_till_canceled or immediate_or_cancel",
        ));
    }
    match s("self_trade_prevention_type") {
        Some("taker_at_cross" | "maker") => {}
        _ => {
            return Err(bad(
                "self_trade_prevention_type is required (taker_at_cross or maker)",
            ))
        }
    }
    if let Some(e) = o.get("expiration_time") {
        let Some(secs) = e.as_i64() else {
            return Err(bad("expiration_time must be an integer (Unix seconds)"));
        };
        if tif != "good_till_canceled" {
            return Err(bad(
                "expiration_time is only allowed with good_till_canceled",
            ));
        }
        if secs > 100_000_000_000 {
            return Err(bad(
                "expiration_time looks like milliseconds; it is Unix seconds",
            ));
        }
        if secs * 1000 <= now_ms() {
            return Err(bad("expiration_time is in the past"));
        }
    }
    let post_only = match o.get("post_only") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("post_only must be a boolean")),
    };
    Ok(NewOrder {
        ticker: ticker.into(),
        client_order_id: coid.into(),
        bid,
        yes_price: price,
        count,
        tif: tif.into(),
        post_only,
        body: v.clone(),
    })
}
