//! A Polymarket CLOB + Gamma + Data API double on 127.0.0.1.
//!
//! It checks requests the way the venue does: L1 `ClobAuth` signatures, L2 HMACs with the secret
//! it issued, V2 order digests recomputed from the posted JSON with the signer recovered
//! (V1-shaped orders → `order_version_mismatch`, wrong exchange for a neg-risk market →
//! `invalid signature`), tick/decimal/min-size rules with the real error strings, balance
//! checks, matching against a seeded book, trades MATCHED → CONFIRMED (or FAILED for a
//! configured ghost fill), and injected faults (status codes, slow responses, dropped
//! connections — before or after the request took effect).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::fault::{Fault, FaultRule, FaultRules};
use plugin_api::Price;

mod data_api;
pub mod gamma_events;
pub mod verify;
pub mod ws;
pub mod ws_user;
use verify::{
    amount_decimals, clob_auth_digest, decimals_of, decode_secret, l2_signature, recover, unhex,
    Address, OrderSide, PostedOrder,
};

/// Double configuration.
#[derive(Clone, Debug)]
pub struct PolymarketDoubleConfig {
    /// Chain id used for signatures.
    pub chain_id: u64,
    /// API key issued on L1 create (and by [`PolymarketDouble::issue_key`]).
    pub api_key: String,
    /// Its secret (URL-safe base64).
    pub api_secret: String,
    /// Its passphrase.
    pub api_passphrase: String,
    /// How long trades stay MATCHED before CONFIRMED (or FAILED).
    pub settle_delay: Duration,
    /// Page size of `/data/orders`, `/data/trades` and Gamma keyset listings.
    pub page_size: usize,
    /// Serve `https://` and `wss://` with the test identity (`crate::tls`), as the venue does.
    pub tls: bool,
}

impl Default for PolymarketDoubleConfig {
    fn default() -> Self {
        PolymarketDoubleConfig {
            chain_id: 137,
            api_key: "11111111-2222-3333-4444-555555555555".into(),
            api_secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=".into(),
            api_passphrase: "double-passphrase".into(),
            settle_delay: Duration::from_millis(500),
            page_size: 100,
            tls: false,
        }
    }
}

/// A seeded market (one outcome token).
#[derive(Clone, Debug)]
pub struct MarketSeed {
    /// Token id (decimal).
    pub token_id: String,
    /// Condition id.
    pub condition_id: String,
    /// Question.
    pub question: String,
    /// Outcome name.
    pub outcome: String,
    /// Neg-risk flag (selects the exchange).
    pub neg_risk: bool,
    /// Tick, e.g. "0.01".
    pub tick: String,
    /// Minimum size in shares, e.g. "5".
    pub min_size: String,
    /// Taker fee rate, e.g. "0.05".
    pub fee_rate: Option<String>,
    /// Leave `neg_risk` out of `/book` answers (only `GET /neg-risk` tells).
    pub book_omits_neg_risk: bool,
}

impl MarketSeed {
    /// A standard market with tick 0.01 and a 5-share minimum.
    pub fn new(token_id: &str, condition_id: &str) -> Self {
        MarketSeed {
            token_id: token_id.into(),
            condition_id: condition_id.into(),
            question: "Will it happen?".into(),
            outcome: "Yes".into(),
            neg_risk: false,
            tick: "0.01".into(),
            min_size: "5".into(),
            fee_rate: Some("0.05".into()),
            book_omits_neg_risk: false,
        }
    }
}

struct KeyInfo {
    secret: Vec<u8>,
    passphrase: String,
    address: Address,
}

#[derive(Clone)]
struct Market {
    seed: MarketSeed,
    tick: Price,
    min_size_micro: i64,
    closed: bool,
    winner: Option<bool>,
}

/// One level: price (µ$) and size (micro-shares).
type Lvl = (i64, i64);

#[derive(Clone, Debug)]
struct DOrder {
    id: String,
    status: String,
    asset_id: String,
    market: String,
    side: OrderSide,
    price: i64,
    original_micro: i64,
    matched_micro: i64,
    owner: String,
    maker: Address,
    order_type: String,
    created_at: u64,
}

#[derive(Clone, Debug)]
struct DTrade {
    id: String,
    order_id: String,
    asset_id: String,
    market: String,
    side: OrderSide,
    price: i64,
    size_micro: i64,
    fee_bps: i64,
    /// The taker order's limit price (the trade's `price`; the fill is at the maker's).
    limit: i64,
    owner: String,
    maker: Address,
    at: Instant,
    match_time: u64,
    ghost: bool,
    reverted: bool,
}

struct Inner {
    cfg: PolymarketDoubleConfig,
    keys: HashMap<String, KeyInfo>,
    key_of: HashMap<Address, String>,
    funder_of: HashMap<Address, Address>,
    markets: HashMap<String, Market>,
    books: HashMap<String, (Vec<Lvl>, Vec<Lvl>)>,
    balances: HashMap<Address, i64>,
    positions: HashMap<(Address, String), i64>,
    orders: Vec<DOrder>,
    trades: Vec<DTrade>,
    received: Vec<Value>,
    /// Every request as it arrived (method, path, body), faults included.
    log: Vec<(String, String, Vec<u8>)>,
    faults: FaultRules,
    ghost_next: usize,
    balance_updates: usize,
    /// `(standard, neg-risk)` V2 exchange contracts.
    exchanges: (Address, Address),
    /// Real-shaped sports events served by `/events/keyset?tag_slug=…`.
    gamma_events: Vec<gamma_events::GammaEventSeed>,
    ws: ws::Hub,
    ws_user: ws_user::UserHub,
    /// Resolutions, redemptions and outcome order for the Data API's closed positions.
    data_log: data_api::DataLog,
}

/// A running double.
pub struct PolymarketDouble {
    /// CLOB base URL (`http://127.0.0.1:port`).
    pub base_url: String,
    /// Gamma base URL.
    pub gamma_url: String,
    /// Data API base URL.
    pub data_url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PolymarketDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Formats micro units as a trimmed decimal string.
fn fmt6(v: i64) -> String {
    let neg = v < 0;
    let a = v.unsigned_abs();
    let s = format!("{}.{:06}", a / 1_000_000, a % 1_000_000);
    let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    if neg {
        format!("-{s}")
    } else {
        s
    }
}

/// A seeded decimal (test setup input) in micro units.
fn micro(s: &str) -> i64 {
    verify::micro(s).unwrap_or_else(|| panic!("double setup: {s:?} is not a decimal"))
}

type Reply = (StatusCode, Value);

fn err(status: u16, msg: &str) -> Reply {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({ "error": msg }),
    )
}

/// Starts a double on an ephemeral port.
pub async fn spawn(cfg: PolymarketDoubleConfig) -> PolymarketDouble {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let inner = Arc::new(Mutex::new(Inner {
        exchanges: (
            Address::parse(verify::EXCHANGE_V2).expect("exchange address"),
            Address::parse(verify::NEG_RISK_EXCHANGE_V2).expect("exchange address"),
        ),
        cfg,
        data_log: data_api::DataLog::default(),
        keys: HashMap::new(),
        key_of: HashMap::new(),
        funder_of: HashMap::new(),
        markets: HashMap::new(),
        books: HashMap::new(),
        balances: HashMap::new(),
        positions: HashMap::new(),
        orders: Vec::new(),
        trades: Vec::new(),
        received: Vec::new(),
        log: Vec::new(),
        faults: FaultRules::default(),
        ghost_next: 0,
        balance_updates: 0,
        gamma_events: Vec::new(),
        ws: ws::Hub::default(),
        ws_user: ws_user::UserHub::default(),
    }));
    let app = axum::Router::new()
        .route(ws::WS_PATH, axum::routing::get(ws::upgrade))
        .route(ws_user::WS_USER_PATH, axum::routing::get(ws_user::upgrade))
        .fallback(handle_and_publish)
        .with_state(inner.clone());
    let tls = lock(&inner).cfg.tls;
    let task = tokio::spawn(async move {
        if tls {
            let _ = axum::serve(crate::tls::TlsListener::new(listener), app).await;
        } else {
            let _ = axum::serve(listener, app).await;
        }
    });
    let base = format!("{}://{addr}", if tls { "https" } else { "http" });
    PolymarketDouble {
        gamma_url: format!("{base}/gamma"),
        data_url: format!("{base}/data-api"),
        base_url: base,
        inner,
        task,
    }
}

impl PolymarketDouble {
    /// Registers the configured API credentials for `address` (as if created earlier) and
    /// returns `(key, secret, passphrase)`.
    pub fn issue_key(&self, address: &str) -> (String, String, String) {
        let mut g = lock(&self.inner);
        let a = Address::parse(address).expect("address");
        let c = g.cfg.clone();
        g.register(a);
        (c.api_key, c.api_secret, c.api_passphrase)
    }

    /// Declares `funder` as the maker wallet of `eoa` (proxy/Safe accounts).
    pub fn set_funder(&self, eoa: &str, funder: &str) {
        let mut g = lock(&self.inner);
        g.funder_of.insert(
            Address::parse(eoa).expect("eoa"),
            Address::parse(funder).expect("funder"),
        );
    }

    /// Adds a market.
    pub fn add_market(&self, seed: MarketSeed) {
        let tick = Price::parse(&seed.tick).expect("tick");
        let m = Market {
            min_size_micro: micro(&seed.min_size),
            tick,
            seed: seed.clone(),
            closed: false,
            winner: None,
        };
        let mut g = lock(&self.inner);
        let index = g
            .markets
            .values()
            .filter(|o| {
                o.seed.condition_id == seed.condition_id && o.seed.token_id != seed.token_id
            })
            .count();
        g.data_log.on_add_market(&seed.token_id, index);
        g.books.entry(seed.token_id.clone()).or_default();
        g.markets.insert(seed.token_id, m);
    }

    /// Adds a real-shaped Gamma sports event (served under its tag by `/events/keyset`); each
    /// of its tokens also becomes a tradable market with an empty book.
    pub fn add_gamma_event(&self, e: gamma_events::GammaEventSeed) {
        for m in &e.markets {
            for (o, t) in m.outcomes.iter().zip(&m.token_ids) {
                let mut seed = MarketSeed::new(t, &m.condition_id);
                seed.question = m.question.clone();
                seed.outcome = o.clone();
                seed.neg_risk = e.neg_risk;
                self.add_market(seed);
            }
        }
        lock(&self.inner).gamma_events.push(e);
    }

    /// Replaces a book: `(price, size)` decimal strings, any order.
    pub fn set_book(&self, token: &str, bids: &[(&str, &str)], asks: &[(&str, &str)]) {
        let conv = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(p, s)| (micro(p), micro(s)))
                .collect::<Vec<_>>()
        };
        let mut b = conv(bids);
        let mut a = conv(asks);
        b.sort_by_key(|x| std::cmp::Reverse(x.0));
        a.sort_by_key(|x| x.0);
        let mut g = lock(&self.inner);
        g.books.insert(token.to_string(), (b, a));
        ws::publish(&mut g);
    }

    /// The market channel's URL root for the adapter's `ws_url` setting (`ws://127.0.0.1:PORT/ws`,
    /// `wss://` when the double serves TLS).
    pub fn ws_url(&self) -> String {
        let ws = match self.base_url.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}"),
            None => self.base_url.replacen("http://", "ws://", 1),
        };
        format!("{ws}/ws")
    }

    /// Applies a websocket fault to every open connection.
    pub fn ws_inject(&self, f: ws::WsFault) {
        lock(&self.inner).ws.inject(f);
    }

    /// Pushes `market_resolved` for condition `market` (its `assets`, `winner` pays $1) on the
    /// market channel.
    pub fn ws_market_resolved(&self, market: &str, assets: &[&str], winner: &str) {
        lock(&self.inner).ws.market_resolved(market, assets, winner);
    }

    /// Applies a fault to the user channel.
    pub fn user_inject(&self, f: ws_user::UserFault) {
        lock(&self.inner).ws_user.inject(f);
    }

    /// User-channel frames pushed of one kind (`trade`, `order`, `trade:FAILED` by status),
    /// or `connects`, `subscribed`, `refused`.
    pub fn user_count(&self, kind: &str) -> usize {
        lock(&self.inner)
            .ws_user
            .counts
            .get(kind)
            .copied()
            .unwrap_or(0)
    }

    /// How many REST requests to `path` the double has seen.
    pub fn request_count(&self, path: &str) -> usize {
        lock(&self.inner)
            .log
            .iter()
            .filter(|(_, p, _)| p == path)
            .count()
    }

    /// Every market-channel subscription received, in order: connection number, whether it
    /// was the connection's first message (`type: market`) rather than an `operation`, assets.
    pub fn ws_subscribes(&self) -> Vec<(u64, bool, Vec<String>)> {
        lock(&self.inner).ws.subscribes.clone()
    }

    /// Every market-channel `unsubscribe` operation received, in order: connection number and
    /// its assets.
    pub fn ws_unsubscribes(&self) -> Vec<(u64, Vec<String>)> {
        lock(&self.inner).ws.unsubscribes.clone()
    }

    /// Websocket frames sent of `kind` (`book`, `price_change`, `PONG`), or `connects`.
    pub fn ws_count(&self, kind: &str) -> usize {
        lock(&self.inner).ws.counts.get(kind).copied().unwrap_or(0)
    }

    /// Changes a market's tick (as the venue does near 0 and 1).
    pub fn set_tick(&self, token: &str, tick: &str) {
        if let Some(m) = lock(&self.inner).markets.get_mut(token) {
            m.tick = Price::parse(tick).expect("tick");
            m.seed.tick = tick.to_string();
        }
    }

    /// Sets the collateral balance (dollars) of an address.
    pub fn set_balance(&self, address: &str, usd: &str) {
        lock(&self.inner)
            .balances
            .insert(Address::parse(address).expect("address"), micro(usd));
    }

    /// Collateral balance of an address, micro-dollars.
    pub fn balance(&self, address: &str) -> i64 {
        let a = Address::parse(address).expect("address");
        lock(&self.inner).balances.get(&a).copied().unwrap_or(0)
    }

    /// Sets an outcome-token position (shares).
    pub fn set_position(&self, address: &str, token: &str, shares: &str) {
        let a = Address::parse(address).expect("address");
        lock(&self.inner)
            .positions
            .insert((a, token.to_string()), micro(shares));
    }

    /// Resolves the market of `token`: it wins (`true`) or loses.
    pub fn resolve(&self, token: &str, wins: bool) {
        let mut g = lock(&self.inner);
        let cid = g.markets.get(token).map(|m| m.seed.condition_id.clone());
        if let Some(c) = &cid {
            g.data_log.on_resolve(c);
        }
        for m in g.markets.values_mut() {
            if Some(&m.seed.condition_id) == cid.as_ref() {
                m.closed = true;
                m.winner = Some(if m.seed.token_id == token {
                    wins
                } else {
                    !wins
                });
            }
        }
    }

    /// Adds a fault rule ([`crate::fault`]: the same faults, with the same meaning, as the
    /// Kalshi double's).
    pub fn inject(&self, rule: FaultRule) {
        lock(&self.inner).faults.push(rule);
    }

    /// The next order that matches produces trades that end FAILED (a ghost fill).
    pub fn ghost_next_fill(&self) {
        lock(&self.inner).ghost_next += 1;
    }

    /// Every request that arrived, as (method, path, body), in order, including those a
    /// fault refused or dropped before processing.
    pub fn request_log(&self) -> Vec<(String, String, Vec<u8>)> {
        lock(&self.inner).log.clone()
    }

    /// How many `POST /order` requests arrived (processed or not).
    pub fn order_posts(&self) -> usize {
        self.request_log()
            .iter()
            .filter(|(m, p, _)| m == "POST" && p == "/order")
            .count()
    }

    /// Every `POST /order` payload received (also rejected ones), in order.
    pub fn received_orders(&self) -> Vec<Value> {
        lock(&self.inner).received.clone()
    }

    /// Number of orders the venue accepted.
    pub fn accepted_orders(&self) -> usize {
        lock(&self.inner).orders.len()
    }

    /// Status of an order by id.
    pub fn order_status(&self, id: &str) -> Option<String> {
        lock(&self.inner)
            .orders
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.status.clone())
    }

    /// Outcome-token position of an address, micro-shares.
    pub fn position(&self, address: &str, token: &str) -> i64 {
        let a = Address::parse(address).expect("address");
        lock(&self.inner)
            .positions
            .get(&(a, token.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Every order the venue holds, as (order id, shares matched in micro-shares, status).
    pub fn order_records(&self) -> Vec<(String, i64, String)> {
        lock(&self.inner)
            .orders
            .iter()
            .map(|o| (o.id.clone(), o.matched_micro, o.status.clone()))
            .collect()
    }

    /// What the venue booked for one order: (shares matched in micro-shares, money paid or
    /// received in micro-dollars at each fill's price, taker fees charged in micro-dollars).
    pub fn order_booking(&self, id: &str) -> Option<(i64, i64, i64)> {
        let g = lock(&self.inner);
        let o = g.orders.iter().find(|o| o.id == id)?;
        let (mut money, mut fees) = (0i64, 0i64);
        for t in g.trades.iter().filter(|t| t.order_id == id && !t.reverted) {
            money += (t.price as i128 * t.size_micro as i128 / 1_000_000) as i64;
            fees += taker_fee_micro(t.size_micro, t.price, t.fee_bps);
        }
        Some((o.matched_micro, money, fees))
    }

    /// Number of `GET /balance-allowance/update` calls.
    pub fn balance_updates(&self) -> usize {
        lock(&self.inner).balance_updates
    }
}

/// Every request, then (after anything but a read) the book changes it caused go out on the
/// websocket.
async fn handle_and_publish(
    State(d): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let read = method == Method::GET;
    let r = handle(State(d.clone()), method, uri, headers, body).await;
    if !read {
        ws::publish(&mut lock(&d));
    }
    r
}

async fn handle(
    State(d): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query: HashMap<String, String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), pct_decode(v)))
        .collect();
    let fault = {
        let mut g = lock(&d);
        g.log
            .push((method.as_str().to_string(), path.clone(), body.to_vec()));
        g.faults.take(method.as_str(), &path, |_| true)
    };
    // The venue has no client order ids: a duplicate-id refusal is a plain 409 here.
    let fault = fault.map(|f| match f {
        Fault::Duplicate409 => Fault::Status(409),
        f => f,
    });
    match &fault {
        Some(Fault::Status(s)) => {
            let mut r = (
                StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                axum::Json(json!({"error": "injected fault"})),
            )
                .into_response();
            if *s == 429 {
                r.headers_mut()
                    .insert("retry-after", "1".parse().expect("header"));
            }
            return r;
        }
        Some(Fault::Delay(t)) => tokio::time::sleep(*t).await,
        Some(Fault::Drop) => std::panic::resume_unwind(Box::new("dropped connection (injected)")),
        _ => {}
    }
    if let Some(Fault::Late(t)) = fault {
        // Processing runs in its own task, so a client that hangs up does not cancel it.
        let d2 = d.clone();
        let m = method.as_str().to_string();
        let task = tokio::spawn(async move {
            tokio::time::sleep(t).await;
            let mut g = lock(&d2);
            g.route(&m, &path, &query, &headers, &body)
        });
        return match task.await {
            Ok((status, v)) => (status, axum::Json(v)).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
    }
    let (status, v) = {
        let mut g = lock(&d);
        g.route(method.as_str(), &path, &query, &headers, &body)
    };
    match fault {
        Some(Fault::DelayAfter(t)) => tokio::time::sleep(t).await,
        Some(Fault::DropAfter) => {
            std::panic::resume_unwind(Box::new("dropped connection (injected)"))
        }
        Some(Fault::StatusAfter(s)) => {
            return (
                StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                axum::Json(json!({"error": "injected fault after processing"})),
            )
                .into_response();
        }
        Some(Fault::GarbageAfter) => {
            return (
                status,
                [("content-type", "text/html")],
                "<html><body>upstream hiccup</body></html>",
            )
                .into_response();
        }
        _ => {}
    }
    (status, axum::Json(v)).into_response()
}

/// The taker fee of one fill in micro-dollars, as polymarket.md §5 states it:
/// `shares × rate × p × (1 − p)`, rounded to 5 decimals (half up), at least 0.00001 when
/// positive. `size_micro` in micro-shares, `price_micro` in micro-dollars, `fee_bps` in bps.
fn taker_fee_micro(size_micro: i64, price_micro: i64, fee_bps: i64) -> i64 {
    let num = size_micro as i128
        * fee_bps as i128
        * price_micro as i128
        * (1_000_000 - price_micro as i128);
    // micro-shares · bps · micro · micro → micro-dollars: ÷ (1e6 · 1e4 · 1e6 · 1e6) × 1e6.
    let den: i128 = 10_000 * 1_000_000 * 1_000_000;
    if num <= 0 {
        return 0;
    }
    let tens = (num + den * 5) / (den * 10);
    ((tens * 10) as i64).max(10)
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hdr<'a>(h: &'a HeaderMap, n: &str) -> &'a str {
    h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("")
}

impl Inner {
    fn register(&mut self, a: Address) -> String {
        let c = self.cfg.clone();
        self.keys.insert(
            c.api_key.clone(),
            KeyInfo {
                secret: decode_secret(&c.api_secret).expect("double secret"),
                passphrase: c.api_passphrase.clone(),
                address: a,
            },
        );
        self.key_of.insert(a, c.api_key.clone());
        c.api_key
    }

    fn creds_json(&self) -> Value {
        json!({"apiKey": self.cfg.api_key, "secret": self.cfg.api_secret, "passphrase": self.cfg.api_passphrase})
    }

    fn l1(&self, h: &HeaderMap) -> Result<Address, Reply> {
        let bad = || err(401, "Invalid L1 Request headers");
        let addr = Address::parse(hdr(h, "poly_address")).ok_or_else(bad)?;
        let ts = hdr(h, "poly_timestamp");
        let nonce: u64 = hdr(h, "poly_nonce").parse().map_err(|_| bad())?;
        let sig = unhex(hdr(h, "poly_signature")).ok_or_else(bad)?;
        let digest = clob_auth_digest(self.cfg.chain_id, addr, ts, nonce);
        match recover(&digest, &sig) {
            Some(a) if a == addr => Ok(addr),
            _ => Err(bad()),
        }
    }

    /// Verifies L2 headers; returns (api key, signer address).
    fn l2(
        &self,
        method: &str,
        path: &str,
        h: &HeaderMap,
        body: &[u8],
    ) -> Result<(String, Address), Reply> {
        let unauthorized = || err(401, "Unauthorized/Invalid api key");
        let key = hdr(h, "poly_api_key");
        let info = self.keys.get(key).ok_or_else(unauthorized)?;
        if info.passphrase != hdr(h, "poly_passphrase") {
            return Err(unauthorized());
        }
        let addr = Address::parse(hdr(h, "poly_address")).ok_or_else(unauthorized)?;
        if addr != info.address {
            return Err(unauthorized());
        }
        let expect = l2_signature(&info.secret, hdr(h, "poly_timestamp"), method, path, body);
        if expect != hdr(h, "poly_signature") {
            return Err(unauthorized());
        }
        Ok((key.to_string(), addr))
    }

    fn route(
        &mut self,
        method: &str,
        path: &str,
        q: &HashMap<String, String>,
        h: &HeaderMap,
        body: &[u8],
    ) -> Reply {
        let token = q.get("token_id").cloned().unwrap_or_default();
        match (method, path) {
            ("GET", "/time") => (StatusCode::OK, json!(now_s())),
            ("GET", "/version") => (StatusCode::OK, json!({"version": 2})),
            // Health check (polymarket.md §1.2; body shape unconfirmed, the adapter reads only
            // the status). Inject `Fault::Status(503)` on `/ok` to simulate an outage.
            ("GET", "/ok") => (StatusCode::OK, json!("OK")),
            ("POST", "/auth/api-key") => match self.l1(h) {
                Err(e) => e,
                Ok(a) if self.key_of.contains_key(&a) => err(400, "Could not create api key"),
                Ok(a) => {
                    self.register(a);
                    (StatusCode::OK, self.creds_json())
                }
            },
            ("GET", "/auth/derive-api-key") => match self.l1(h) {
                Err(e) => e,
                Ok(a) if self.key_of.contains_key(&a) => (StatusCode::OK, self.creds_json()),
                Ok(_) => err(400, "Could not derive api key!"),
            },
            ("GET", "/book") => match self.book_json(&token) {
                Some(b) => (StatusCode::OK, b),
                None => err(404, "No orderbook exists for the requested token id"),
            },
            ("POST", "/books") => {
                let req: Vec<Value> = serde_json::from_slice(body).unwrap_or_default();
                let out: Vec<Value> = req
                    .iter()
                    .filter_map(|r| self.book_json(r["token_id"].as_str().unwrap_or("")))
                    .collect();
                (StatusCode::OK, json!(out))
            }
            ("GET", "/tick-size") => match self.markets.get(&token) {
                // A JSON number, as the venue sends it.
                Some(m) => (
                    StatusCode::OK,
                    serde_json::from_str(&format!("{{\"minimum_tick_size\":{}}}", m.seed.tick))
                        .unwrap_or(Value::Null),
                ),
                None => err(404, "market not found"),
            },
            ("GET", "/neg-risk") => match self.markets.get(&token) {
                Some(m) => (StatusCode::OK, json!({"neg_risk": m.seed.neg_risk})),
                None => err(404, "market not found"),
            },
            _ if method == "GET" && path.starts_with("/markets-by-token/") => {
                match self.markets.get(&path["/markets-by-token/".len()..]) {
                    Some(m) => (StatusCode::OK, json!({"condition_id": m.seed.condition_id})),
                    None => err(404, "market not found"),
                }
            }
            _ if method == "GET" && path.starts_with("/markets/") => {
                self.clob_market(&path["/markets/".len()..], false)
            }
            _ if method == "GET" && path.starts_with("/clob-markets/") => {
                self.clob_market(&path["/clob-markets/".len()..], true)
            }
            ("GET", "/gamma/markets/keyset")
            | ("GET", "/gamma/events/keyset")
            | ("GET", "/gamma/markets") => self.gamma(path, q),
            ("GET", "/data-api/positions") => self.positions(q),
            ("GET", "/data-api/closed-positions") => self.closed_positions(q),
            _ => self.private(method, path, q, h, body),
        }
    }

    fn book_json(&self, token: &str) -> Option<Value> {
        // A resolved market's order book is gone: the venue answers 404 for it.
        let m = self.markets.get(token).filter(|m| !m.closed)?;
        let (bids, asks) = self.books.get(token).cloned().unwrap_or_default();
        // The venue lists both sides with the best level last.
        let lv = |v: &[Lvl]| {
            v.iter()
                .rev()
                .map(|(p, s)| json!({"price": fmt6(*p), "size": fmt6(*s)}))
                .collect::<Vec<_>>()
        };
        let mut b = json!({
            "market": m.seed.condition_id, "asset_id": token, "timestamp": now_ms().to_string(), "hash": "",
            "bids": lv(&bids), "asks": lv(&asks), "min_order_size": m.seed.min_size, "tick_size": m.seed.tick,
            "neg_risk": m.seed.neg_risk, "last_trade_price": "0.5"
        });
        if m.seed.book_omits_neg_risk {
            b.as_object_mut()?.remove("neg_risk");
        }
        Some(b)
    }

    fn clob_market(&self, cid: &str, compact: bool) -> Reply {
        let toks: Vec<&Market> = self
            .markets
            .values()
            .filter(|m| m.seed.condition_id == cid)
            .collect();
        let Some(first) = toks.first() else {
            return err(404, "market not found");
        };
        if compact {
            let mut v = json!({"t": toks.iter().map(|m| json!({"t": m.seed.token_id, "o": m.seed.outcome})).collect::<Vec<_>>(),
                "mts": first.seed.tick, "mos": first.seed.min_size, "nr": first.seed.neg_risk});
            if let Some(r) = &first.seed.fee_rate {
                v["fd"] = serde_json::from_str(&format!("{{\"r\":{r},\"e\":1,\"to\":true}}"))
                    .unwrap_or(Value::Null);
            }
            return (StatusCode::OK, v);
        }
        (
            StatusCode::OK,
            json!({
                "condition_id": cid, "closed": first.closed, "neg_risk": first.seed.neg_risk,
                "minimum_tick_size": first.seed.tick, "minimum_order_size": first.seed.min_size,
                "tokens": toks.iter().map(|m| json!({"token_id": m.seed.token_id, "outcome": m.seed.outcome, "price": "0.5", "winner": m.winner == Some(true)})).collect::<Vec<_>>(),
            }),
        )
    }

    fn gamma(&self, path: &str, q: &HashMap<String, String>) -> Reply {
        if path.ends_with("/events/keyset") && !self.gamma_events.is_empty() {
            return self.gamma_event_page(q);
        }
        let mut by_cond: Vec<(String, Vec<&Market>)> = Vec::new();
        let mut ms: Vec<&Market> = self.markets.values().collect();
        ms.sort_by(|a, b| a.seed.token_id.cmp(&b.seed.token_id));
        for m in ms {
            match by_cond.iter_mut().find(|(c, _)| *c == m.seed.condition_id) {
                Some((_, v)) => v.push(m),
                None => by_cond.push((m.seed.condition_id.clone(), vec![m])),
            }
        }
        if let Some(c) = q.get("closed") {
            let want = c == "true";
            by_cond.retain(|(_, v)| v[0].closed == want);
        }
        let start: usize = q
            .get("after_cursor")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let limit: usize = q
            .get("limit")
            .and_then(|c| c.parse().ok())
            .unwrap_or(self.cfg.page_size)
            .min(self.cfg.page_size);
        let page: Vec<Value> = by_cond
            .iter()
            .skip(start)
            .take(limit)
            .map(|(cid, v)| {
                let ids: Vec<&str> = v.iter().map(|m| m.seed.token_id.as_str()).collect();
                let outs: Vec<&str> = v.iter().map(|m| m.seed.outcome.as_str()).collect();
                let prices: Vec<&str> = v
                    .iter()
                    .map(|m| match m.winner {
                        Some(true) => "1",
                        Some(false) => "0",
                        None => "0.5",
                    })
                    .collect();
                let mut g = json!({
                    "id": cid, "conditionId": cid, "question": v[0].seed.question,
                    "outcomes": serde_json::to_string(&outs).unwrap_or_default(),
                    "clobTokenIds": serde_json::to_string(&ids).unwrap_or_default(),
                    "outcomePrices": serde_json::to_string(&prices).unwrap_or_default(),
                    "closed": v[0].closed, "active": true, "acceptingOrders": !v[0].closed,
                    "umaResolutionStatus": if v[0].closed { "resolved" } else { "" },
                    "negRisk": v[0].seed.neg_risk, "endDate": "2026-12-31T00:00:00Z",
                });
                if let Some(r) = &v[0].seed.fee_rate {
                    g["feeSchedule"] = serde_json::from_str(&format!(
                        "{{\"exponent\":1,\"rate\":{r},\"takerOnly\":true}}"
                    ))
                    .unwrap_or(Value::Null);
                }
                g
            })
            .collect();
        let next = if start + limit < by_cond.len() {
            Value::String((start + limit).to_string())
        } else {
            Value::Null
        };
        if path.ends_with("/events/keyset") {
            let events: Vec<Value> = page.into_iter().map(|m| json!({"markets": [m]})).collect();
            (
                StatusCode::OK,
                json!({"events": events, "next_cursor": next}),
            )
        } else if path.ends_with("/keyset") {
            (
                StatusCode::OK,
                json!({"markets": page, "next_cursor": next}),
            )
        } else {
            (StatusCode::OK, json!(page))
        }
    }

    /// Seeded events of `tag_slug`, keyset-paged (`after_cursor` = offset, as this double's
    /// other listings), `closed=false` keeping events with an open market.
    fn gamma_event_page(&self, q: &HashMap<String, String>) -> Reply {
        let tag = q.get("tag_slug").cloned().unwrap_or_default();
        let mut evs: Vec<&gamma_events::GammaEventSeed> =
            self.gamma_events.iter().filter(|e| e.tag == tag).collect();
        if q.get("closed").map(String::as_str) == Some("false") {
            evs.retain(|e| e.markets.iter().any(|m| !m.closed));
        }
        let start: usize = match q.get("after_cursor") {
            Some(c) => match c.parse() {
                Ok(n) => n,
                Err(_) => return err(400, "invalid cursor"),
            },
            None => 0,
        };
        let limit: usize = q
            .get("limit")
            .and_then(|c| c.parse().ok())
            .unwrap_or(self.cfg.page_size)
            .min(self.cfg.page_size);
        let top = |t: &str| {
            let (bids, asks) = self.books.get(t).cloned().unwrap_or_default();
            let bid = bids.iter().map(|l| l.0).max().map(fmt6);
            let ask = asks.iter().map(|l| l.0).min().map(fmt6);
            (bid, ask)
        };
        let page: Vec<Value> = evs
            .iter()
            .skip(start)
            .take(limit)
            .map(|e| gamma_events::event_json(e, &top))
            .collect();
        let next = if start + limit < evs.len() {
            Value::String((start + limit).to_string())
        } else {
            Value::Null
        };
        (StatusCode::OK, json!({"events": page, "next_cursor": next}))
    }

    fn positions(&self, q: &HashMap<String, String>) -> Reply {
        let Some(user) = Address::parse(q.get("user").map(String::as_str).unwrap_or("")) else {
            return err(400, "invalid user");
        };
        let out: Vec<Value> = self
            .positions
            .iter()
            .filter(|((a, _), s)| *a == user && **s > 0)
            .map(|((_, t), s)| {
                serde_json::from_str(&format!(
                    "{{\"asset\":\"{t}\",\"size\":{},\"avgPrice\":0.5}}",
                    fmt6(*s)
                ))
                .unwrap_or(Value::Null)
            })
            .collect();
        (StatusCode::OK, json!(out))
    }

    fn wallet_of(&self, signer: Address) -> Address {
        self.funder_of.get(&signer).copied().unwrap_or(signer)
    }

    fn private(
        &mut self,
        method: &str,
        path: &str,
        q: &HashMap<String, String>,
        h: &HeaderMap,
        body: &[u8],
    ) -> Reply {
        let (key, signer) = match self.l2(method, path, h, body) {
            Ok(x) => x,
            Err(e) => {
                if path == "/order" && method == "POST" {
                    self.received
                        .push(serde_json::from_slice(body).unwrap_or(Value::Null));
                }
                return e;
            }
        };
        match (method, path) {
            ("POST", "/order") => {
                let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                self.received.push(v.clone());
                self.post_order(&v, &key, signer)
            }
            ("POST", "/orders") => {
                let Ok(v) = serde_json::from_slice::<Vec<Value>>(body) else {
                    return err(400, "Invalid order payload");
                };
                if v.len() > 15 {
                    return err(400, "too many orders in a batch (max 15)");
                }
                let out: Vec<Value> = v
                    .iter()
                    .map(|p| {
                        self.received.push(p.clone());
                        let (s, r) = self.post_order(p, &key, signer);
                        if s.is_success() { r } else { json!({"success": false, "errorMsg": r["error"], "orderID": "", "status": ""}) }
                    })
                    .collect();
                (StatusCode::OK, json!(out))
            }
            ("DELETE", "/order") => {
                let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let id = v["orderID"].as_str().unwrap_or("").to_string();
                (StatusCode::OK, self.cancel(&[id], &key))
            }
            ("DELETE", "/orders") => {
                let Ok(ids) = serde_json::from_slice::<Vec<String>>(body) else {
                    return err(400, "Invalid order ids");
                };
                if ids.len() > 1000 {
                    return err(400, "too many orders to cancel (max 1000)");
                }
                (StatusCode::OK, self.cancel(&ids, &key))
            }
            ("DELETE", "/cancel-market-orders") => {
                let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let (market, asset) = (v["market"].as_str(), v["asset_id"].as_str());
                if market.is_none() && asset.is_none() {
                    return err(400, "market or asset_id is required");
                }
                let ids: Vec<String> = self
                    .orders
                    .iter()
                    .filter(|o| o.owner == key && o.status == "LIVE")
                    .filter(|o| asset.is_none_or(|a| a == o.asset_id))
                    .filter(|o| market.is_none_or(|m| m == o.market))
                    .map(|o| o.id.clone())
                    .collect();
                (StatusCode::OK, self.cancel(&ids, &key))
            }
            ("DELETE", "/cancel-all") => {
                let ids: Vec<String> = self
                    .orders
                    .iter()
                    .filter(|o| o.owner == key && o.status == "LIVE")
                    .map(|o| o.id.clone())
                    .collect();
                (StatusCode::OK, self.cancel(&ids, &key))
            }
            ("GET", "/data/orders") => {
                let items: Vec<Value> = self
                    .orders
                    .iter()
                    .filter(|o| o.owner == key && o.status == "LIVE")
                    .filter(|o| q.get("asset_id").is_none_or(|a| *a == o.asset_id))
                    .map(order_json)
                    .collect();
                (StatusCode::OK, self.page(items, q))
            }
            ("GET", "/data/trades") => {
                self.settle();
                let after: u64 = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
                let delay = self.cfg.settle_delay;
                let items: Vec<Value> = self
                    .trades
                    .iter()
                    .filter(|t| t.owner == key && t.match_time >= after)
                    .filter(|t| q.get("asset_id").is_none_or(|a| *a == t.asset_id))
                    .map(|t| trade_json(t, delay))
                    .collect();
                (StatusCode::OK, self.page(items, q))
            }
            ("GET", "/balance-allowance") => {
                let w = self.wallet_of(signer);
                let bal = if q.get("asset_type").map(String::as_str) == Some("CONDITIONAL") {
                    self.positions
                        .get(&(w, q.get("token_id").cloned().unwrap_or_default()))
                        .copied()
                        .unwrap_or(0)
                } else {
                    self.balances.get(&w).copied().unwrap_or(0)
                };
                let (standard, neg_risk) = self.exchanges;
                (
                    StatusCode::OK,
                    json!({"balance": bal.to_string(), "allowances": {
                    standard.to_checksum(): "115792089237316195423570985008687907853269984665640564039457584007913129639935",
                    neg_risk.to_checksum(): "115792089237316195423570985008687907853269984665640564039457584007913129639935"}}),
                )
            }
            ("GET", "/balance-allowance/update") => {
                self.balance_updates += 1;
                (StatusCode::OK, json!({}))
            }
            _ if method == "GET" && path.starts_with("/data/order/") => {
                let id = &path["/data/order/".len()..];
                match self
                    .orders
                    .iter()
                    .find(|o| o.id.eq_ignore_ascii_case(id) && o.owner == key)
                {
                    Some(o) => (StatusCode::OK, order_json(o)),
                    None => (StatusCode::OK, Value::Null),
                }
            }
            _ => err(404, "not found"),
        }
    }

    fn page(&self, items: Vec<Value>, q: &HashMap<String, String>) -> Value {
        let start: usize = q
            .get("next_cursor")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let n = self.cfg.page_size;
        let data: Vec<Value> = items.iter().skip(start).take(n).cloned().collect();
        let next = if start + n < items.len() {
            (start + n).to_string()
        } else {
            "LTE=".to_string()
        };
        json!({"data": data, "next_cursor": next, "limit": n, "count": data.len()})
    }

    /// Trades past the settle delay become final; ghost fills revert their transfers once.
    fn settle(&mut self) {
        let delay = self.cfg.settle_delay;
        let mut reverts = Vec::new();
        for t in self.trades.iter_mut() {
            if t.ghost && !t.reverted && t.at.elapsed() >= delay {
                t.reverted = true;
                reverts.push((
                    t.maker,
                    t.asset_id.clone(),
                    t.side,
                    t.price,
                    t.size_micro,
                    t.fee_bps,
                ));
            }
        }
        for (w, asset, side, price, size, fee_bps) in reverts {
            let usdc = (price as i128 * size as i128 / 1_000_000) as i64;
            let sign = if side == OrderSide::Buy { 1 } else { -1 };
            // A reverted settlement undoes the transfer and the fee charged on it.
            let fee = taker_fee_micro(size, price, fee_bps);
            *self.balances.entry(w).or_default() += sign * usdc + fee;
            *self.positions.entry((w, asset)).or_default() -= sign * size;
        }
    }

    fn cancel(&mut self, ids: &[String], key: &str) -> Value {
        let mut canceled = Vec::new();
        let mut not = serde_json::Map::new();
        for id in ids {
            match self
                .orders
                .iter_mut()
                .find(|o| o.id.eq_ignore_ascii_case(id) && o.owner == key)
            {
                Some(o) if o.status == "LIVE" => {
                    o.status = "CANCELED".into();
                    canceled.push(o.id.clone());
                }
                Some(_) => {
                    not.insert(
                        id.clone(),
                        json!("order can't be canceled: already matched or canceled"),
                    );
                }
                None => {
                    not.insert(id.clone(), json!("order not found"));
                }
            }
        }
        json!({"canceled": canceled, "not_canceled": not})
    }

    fn post_order(&mut self, v: &Value, key: &str, signer_hdr: Address) -> Reply {
        let o = &v["order"];
        if !o.is_object() {
            return err(400, "invalid order payload");
        }
        if o.get("taker").is_some()
            || o.get("nonce").is_some()
            || o.get("feeRateBps").is_some()
            || o.get("timestamp").is_none()
            || o.get("metadata").is_none()
        {
            return err(400, "order_version_mismatch");
        }
        if v["owner"].as_str() != Some(key) {
            return err(400, "the order owner has to be the owner of the API KEY");
        }
        // `expiration` is sent but not signed in V2; it must still be a number.
        let expiration_ok = o["expiration"]
            .as_str()
            .is_some_and(|e| e.parse::<u64>().is_ok());
        let Some(order) = PostedOrder::from_json(o).filter(|_| expiration_ok) else {
            return err(400, "invalid order payload");
        };
        if order.salt > (1u64 << 53) - 1 {
            return err(400, "invalid order payload: salt");
        }
        let Some(m) = self.markets.get(&order.token_id).cloned() else {
            return err(400, "INVALID_ORDER_ERROR: market not found");
        };
        let contract = if m.seed.neg_risk {
            self.exchanges.1
        } else {
            self.exchanges.0
        };
        let Some(digest) = order.digest(self.cfg.chain_id, contract) else {
            return err(400, "invalid order payload");
        };
        // POLY_1271 (deposit wallet) signatures are ERC-1271 blobs this double does not verify.
        let recovered = if order.signature_type == 3 {
            None
        } else {
            recover(&digest, &order.signature)
        };
        if recovered != Some(order.signer) {
            return err(400, "invalid signature");
        }
        if order.signer != signer_hdr {
            return err(400, "signer address has to be the address of the API KEY");
        }
        if order.signature_type == 0 && order.maker != order.signer {
            return err(400, "invalid signature");
        }
        if order.signature_type != 0 && self.funder_of.get(&order.signer) != Some(&order.maker) {
            return err(400, "maker address not allowed");
        }
        let id = format!("0x{}", verify::hex(&digest));
        if self.orders.iter().any(|x| x.id == id) {
            return err(400, &format!("order {id} is invalid. Duplicated."));
        }
        let otype = v["orderType"].as_str().unwrap_or("GTC").to_string();
        let market = otype == "FOK" || otype == "FAK";
        if !matches!(otype.as_str(), "GTC" | "GTD" | "FOK" | "FAK") {
            return err(400, "invalid order type");
        }
        let post_only = v["postOnly"].as_bool().unwrap_or(false);
        if post_only && market {
            return err(
                400,
                "INVALID_POST_ONLY_ORDER_TYPE: post-only orders are only allowed with GTC/GTD",
            );
        }
        let Some(amount_dec) = amount_decimals(m.tick.0) else {
            return err(400, "INVALID_ORDER_ERROR");
        };
        let (maker, taker) = (order.maker_amount as i64, order.taker_amount as i64);
        let (usdc, shares) = match order.side {
            OrderSide::Buy => (maker, taker),
            OrderSide::Sell => (taker, maker),
        };
        if usdc <= 0 || shares <= 0 {
            return err(400, "invalid amounts, amounts must be positive");
        }
        let (md, td) = (decimals_of(maker as u64), decimals_of(taker as u64));
        let side_name = if order.side == OrderSide::Buy {
            "buy"
        } else {
            "sell"
        };
        if market {
            if md > 2 || td > 4 {
                return err(400, &format!("invalid amounts, the market {side_name} orders maker amount supports a max accuracy of 2 decimals, taker amount a max of 4 decimals"));
            }
        } else {
            let (mmax, tmax) = if order.side == OrderSide::Buy {
                (amount_dec, 2)
            } else {
                (2, amount_dec)
            };
            if md > mmax || td > tmax {
                return err(400, &format!("invalid amounts, the {side_name} orders maker amount supports a max accuracy of {mmax} decimals, taker amount a max of {tmax} decimals"));
            }
        }
        // Implied price (µ$, exact for limit orders).
        let num = usdc as i128 * 1_000_000;
        let price = (num / shares as i128) as i64;
        let exact = num % shares as i128 == 0;
        let tick = m.tick.0;
        if !market && (!exact || price % tick != 0) || price < tick || price > 1_000_000 - tick {
            let p = if exact {
                fmt6(price)
            } else {
                format!("{}", usdc as f64 / shares as f64)
            };
            return err(
                400,
                &format!(
                    "INVALID_ORDER_MIN_TICK_SIZE: Price ({p}) breaks minimum tick size rule: {}",
                    m.seed.tick
                ),
            );
        }
        if !market && shares < m.min_size_micro {
            return err(
                400,
                &format!(
                    "INVALID_ORDER_MIN_SIZE: Size ({}) lower than the minimum: {}",
                    fmt6(shares),
                    m.seed.min_size
                ),
            );
        }
        let wallet = order.maker;
        let have = match order.side {
            OrderSide::Buy => self.balances.get(&wallet).copied().unwrap_or(0),
            OrderSide::Sell => self
                .positions
                .get(&(wallet, order.token_id.clone()))
                .copied()
                .unwrap_or(0),
        };
        if have < maker {
            return err(400, "not enough balance / allowance");
        }
        // Matching against the book.
        let (bids, asks) = self.books.get(&order.token_id).cloned().unwrap_or_default();
        let levels = if order.side == OrderSide::Buy {
            &asks
        } else {
            &bids
        };
        let crosses = |lp: i64| -> bool {
            match order.side {
                OrderSide::Buy => lp as i128 * shares as i128 <= num,
                OrderSide::Sell => lp as i128 * shares as i128 >= num,
            }
        };
        let mut fills: Vec<(usize, i64, i64)> = Vec::new(); // (level, price, shares)
        let mut left_shares = shares; // limit & market SELL: shares to trade
        let mut left_usdc = usdc; // market BUY: dollars to spend
        for (i, (lp, ls)) in levels.iter().enumerate() {
            if !crosses(*lp) {
                break;
            }
            let take = if market && order.side == OrderSide::Buy {
                let afford = (left_usdc as i128 * 1_000_000 / *lp as i128) as i64 / 10_000 * 10_000;
                afford.min(*ls)
            } else {
                left_shares.min(*ls)
            };
            if take <= 0 {
                break;
            }
            fills.push((i, *lp, take));
            left_shares -= take;
            left_usdc -= (*lp as i128 * take as i128 / 1_000_000) as i64;
        }
        let got: i64 = fills.iter().map(|f| f.2).sum();
        if post_only && got > 0 {
            return err(400, "invalid post-only order: order crosses book");
        }
        let full = if market && order.side == OrderSide::Buy {
            got >= shares
        } else {
            left_shares == 0
        };
        if otype == "FOK" && !full {
            return err(
                400,
                "order couldn't be fully filled. FOK orders are fully filled or killed.",
            );
        }
        if otype == "FAK" && got == 0 {
            return err(400, "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.");
        }
        // Apply.
        let ghost = if got > 0 && self.ghost_next > 0 {
            self.ghost_next -= 1;
            true
        } else {
            false
        };
        let fee_bps = m
            .seed
            .fee_rate
            .as_deref()
            .map(|r| micro(r) / 100)
            .unwrap_or(0);
        let mut paid = 0i64;
        let mut trade_ids = Vec::new();
        {
            let book = self.books.entry(order.token_id.clone()).or_default();
            let side_levels = if order.side == OrderSide::Buy {
                &mut book.1
            } else {
                &mut book.0
            };
            for (i, _, take) in &fills {
                side_levels[*i].1 -= take;
            }
            side_levels.retain(|l| l.1 > 0);
        }
        let mut fees = 0i64;
        for (_, lp, take) in &fills {
            let amount = (*lp as i128 * *take as i128 / 1_000_000) as i64;
            paid += amount;
            fees += taker_fee_micro(*take, *lp, fee_bps);
            let tid = format!("trade-{}", self.trades.len() + 1);
            trade_ids.push(tid.clone());
            self.trades.push(DTrade {
                id: tid,
                order_id: id.clone(),
                asset_id: order.token_id.clone(),
                market: m.seed.condition_id.clone(),
                side: order.side,
                price: *lp,
                limit: price,
                size_micro: *take,
                fee_bps,
                owner: key.to_string(),
                maker: wallet,
                at: Instant::now(),
                match_time: now_s(),
                ghost,
                reverted: false,
            });
        }
        let sign = if order.side == OrderSide::Buy { 1 } else { -1 };
        // The operator charges the taker fee in collateral at match time (polymarket.md §5).
        *self.balances.entry(wallet).or_default() -= sign * paid + fees;
        *self
            .positions
            .entry((wallet, order.token_id.clone()))
            .or_default() += sign * got;
        let resting = !market && got < shares;
        let status = if resting { "LIVE" } else { "MATCHED" };
        self.orders.push(DOrder {
            id: id.clone(),
            status: status.into(),
            asset_id: order.token_id.clone(),
            market: m.seed.condition_id.clone(),
            side: order.side,
            price,
            original_micro: if market { got } else { shares },
            matched_micro: got,
            owner: key.to_string(),
            maker: wallet,
            order_type: otype,
            created_at: now_s(),
        });
        let (making, taking) = match order.side {
            OrderSide::Buy => (paid, got),
            OrderSide::Sell => (got, paid),
        };
        (
            StatusCode::OK,
            json!({
                "success": true, "errorMsg": "", "orderID": id,
                "status": if got > 0 && !resting { "matched" } else { "live" },
                "makingAmount": if got > 0 { fmt6(making) } else { String::new() },
                "takingAmount": if got > 0 { fmt6(taking) } else { String::new() },
                "tradeIDs": trade_ids, "transactionsHashes": [],
            }),
        )
    }
}

fn order_json(o: &DOrder) -> Value {
    json!({
        "id": o.id, "status": o.status, "market": o.market, "asset_id": o.asset_id,
        "side": if o.side == OrderSide::Buy { "BUY" } else { "SELL" },
        "original_size": fmt6(o.original_micro), "size_matched": fmt6(o.matched_micro),
        "price": fmt6(o.price), "outcome": "Yes", "order_type": o.order_type,
        "maker_address": o.maker.to_checksum(), "owner": o.owner, "expiration": "0",
        "associate_trades": [], "created_at": o.created_at,
    })
}

fn trade_json(t: &DTrade, delay: Duration) -> Value {
    let status = if t.at.elapsed() < delay {
        "MATCHED"
    } else if t.ghost {
        "FAILED"
    } else {
        "CONFIRMED"
    };
    json!({
        "id": t.id, "taker_order_id": t.order_id, "market": t.market, "asset_id": t.asset_id,
        "side": if t.side == OrderSide::Buy { "BUY" } else { "SELL" },
        // As the venue: the trade's `price` is the taker's limit; each maker order matched
        // carries its own price and amount (the book level here), which is what is booked.
        "size": fmt6(t.size_micro), "price": fmt6(t.limit), "fee_rate_bps": t.fee_bps.to_string(),
        "status": status, "match_time": t.match_time.to_string(), "last_update": t.match_time.to_string(),
        "outcome": "Yes", "owner": t.owner, "maker_address": t.maker.to_checksum(), "trader_side": "TAKER",
        "transaction_hash": if status == "CONFIRMED" { format!("0x{:064x}", t.match_time) } else { String::new() },
        "bucket_index": 0,
        "maker_orders": [{
            "order_id": format!("book-{}", t.id), "owner": "book-maker",
            "maker_address": "0x0000000000000000000000000000000000000001",
            "matched_amount": fmt6(t.size_micro), "price": fmt6(t.price), "fee_rate_bps": "0",
            "asset_id": t.asset_id, "outcome": "Yes",
            "side": if t.side == OrderSide::Buy { "SELL" } else { "BUY" },
        }],
    })
}

#[cfg(test)]
mod fault_tests {
    //! The "process, then fail the reply" faults: the venue holds the order, the client sees a
    //! failure. Requests are signed here with the primitives (k256), not with the adapter.
    use super::verify::{self, Address, PostedOrder};
    use super::*;
    use k256::ecdsa::SigningKey;

    const PK: [u8; 32] = [
        0xac, 0x09, 0x74, 0xbe, 0xc3, 0x9a, 0x17, 0xe3, 0x6b, 0xa4, 0xa6, 0xb4, 0xd2, 0x38, 0xff,
        0x94, 0x4b, 0xac, 0xb4, 0x78, 0xcb, 0xed, 0x5e, 0xfc, 0xae, 0x78, 0x4d, 0x7b, 0xf4, 0xf2,
        0xff, 0x80,
    ];
    const ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    const TOKEN: &str = "1234";

    /// A signed GTC BUY of 10 @ 0.50 with a distinct salt, as a `POST /order` body.
    fn order_body(salt: u64, key: &str) -> String {
        let a = Address::parse(ADDR).unwrap();
        let mut o = PostedOrder {
            salt,
            maker: a,
            signer: a,
            token_id: TOKEN.into(),
            maker_amount: 5_000_000,
            taker_amount: 10_000_000,
            side: OrderSide::Buy,
            signature_type: 0,
            timestamp_ms: 1_700_000_000_000,
            metadata: [0; 32],
            builder: [0; 32],
            signature: Vec::new(),
        };
        let d = o
            .digest(137, Address::parse(verify::EXCHANGE_V2).unwrap())
            .unwrap();
        let sk = SigningKey::from_bytes(&PK.into()).unwrap();
        let (sig, rec) = sk.sign_prehash_recoverable(&d).unwrap();
        o.signature = sig.to_bytes().to_vec();
        o.signature.push(27 + rec.to_byte());
        json!({"order": {"salt": o.salt, "maker": ADDR, "signer": ADDR, "tokenId": TOKEN,
            "makerAmount": "5000000", "takerAmount": "10000000", "side": "BUY", "expiration": "0",
            "signatureType": 0, "timestamp": "1700000000000",
            "metadata": format!("0x{}", "00".repeat(32)), "builder": format!("0x{}", "00".repeat(32)),
            "signature": format!("0x{}", verify::hex(&o.signature))},
            "owner": key, "orderType": "GTC", "deferExec": false, "postOnly": false})
        .to_string()
    }

    async fn post(pm: &PolymarketDouble, body: String) -> Result<(u16, String), String> {
        let (key, secret, pass) = {
            let g = lock(&pm.inner);
            (
                g.cfg.api_key.clone(),
                g.cfg.api_secret.clone(),
                g.cfg.api_passphrase.clone(),
            )
        };
        let sig = verify::l2_signature(
            &verify::decode_secret(&secret).unwrap(),
            "1700000000",
            "POST",
            "/order",
            body.as_bytes(),
        );
        let r = reqwest::Client::new()
            .post(format!("{}/order", pm.base_url))
            .header("POLY_ADDRESS", ADDR)
            .header("POLY_SIGNATURE", sig)
            .header("POLY_TIMESTAMP", "1700000000")
            .header("POLY_API_KEY", key)
            .header("POLY_PASSPHRASE", pass)
            .body(body)
            .timeout(Duration::from_millis(500))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        Ok((status, r.text().await.map_err(|e| e.to_string())?))
    }

    #[tokio::test]
    async fn faults_after_processing_keep_the_order() {
        let pm = spawn(PolymarketDoubleConfig::default()).await;
        let (key, _, _) = pm.issue_key(ADDR);
        pm.add_market(MarketSeed::new(TOKEN, "0xc"));
        pm.set_balance(ADDR, "1000");
        // Before processing: refused, nothing placed.
        pm.inject(FaultRule::once("POST", "/order", Fault::Status(500)));
        assert_eq!(post(&pm, order_body(1, &key)).await.unwrap().0, 500);
        assert_eq!(pm.accepted_orders(), 0);
        // After processing: the order exists, the reply fails.
        pm.inject(FaultRule::once("POST", "/order", Fault::StatusAfter(502)));
        assert_eq!(post(&pm, order_body(2, &key)).await.unwrap().0, 502);
        assert_eq!(pm.accepted_orders(), 1);
        pm.inject(FaultRule::once("POST", "/order", Fault::GarbageAfter));
        let (s, body) = post(&pm, order_body(3, &key)).await.unwrap();
        assert_eq!(s, 200);
        assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
        assert_eq!(pm.accepted_orders(), 2);
        pm.inject(FaultRule::once("POST", "/order", Fault::DropAfter));
        assert!(post(&pm, order_body(4, &key)).await.is_err());
        assert_eq!(pm.accepted_orders(), 3);
        pm.inject(FaultRule::once(
            "POST",
            "/order",
            Fault::DelayAfter(Duration::from_secs(2)),
        ));
        assert!(
            post(&pm, order_body(5, &key)).await.is_err(),
            "client timed out"
        );
        assert_eq!(pm.accepted_orders(), 4);
        // No fault: answered normally; a forged signature is refused.
        let (s, body) = post(&pm, order_body(6, &key)).await.unwrap();
        assert_eq!(s, 200, "{body}");
        let forged = order_body(7, &key).replace("\"salt\":7", "\"salt\":8");
        let (s, body) = post(&pm, forged).await.unwrap();
        assert_eq!(
            (s, body.contains("invalid signature")),
            (400, true),
            "{body}"
        );
        assert_eq!(pm.accepted_orders(), 5);
    }
}
