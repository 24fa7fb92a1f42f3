//! The [`Venue`] implementation: operations → signed requests → typed results.
//!
//! ## Client order ids
//! Polymarket stores no client order id. The venue order id is the EIP-712 digest of the signed
//! order, which this plugin computes *before* sending. At signing time it records
//! `client_order_id → digest` (in memory, and in the `state` of the submit step, and in a
//! `tracing` event), so:
//! * an ambiguous submit (timeout, connection drop, 5xx — the host resumes with status 0 or the
//!   error status) is resolved inside the same operation by `GET /data/order/{digest}`;
//! * a later `GetOrder { client_order_id }` in the same process maps to the digest;
//! * the submit request carries the digest as [`HttpRequest::expected_order_id`], which the
//!   host journals before sending, so after a crash it looks the order up by that id.

use plugin_api::{
    Balance, CallCtx, ErrorKind, FeeModel, HttpRequest, HttpResponse, InstrumentRules, OpResult,
    OrderRequest, OrderState, OrderStatus, PluginError, PluginResult, Position, Price, Qty,
    Resolution, Rounding, Side, Step, TimeInForce, Usd, Venue, VenueConfig, VenueInfo, VenueOp,
    VenueRules,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::amounts::{limit_amounts, market_amounts, Dir, TickCfg};
use crate::auth_l2::{url_path, ApiCreds};
use crate::clob::{self, CancelResp, OpenOrder, Page, PostOrderResp, Trade};
use crate::errors::{self, code};
use crate::order_v2::{
    post_order_body, salt_from_random, Exchanges, OrderSide, OrderType, OrderV2,
};
use crate::settings::Settings;
use crate::state::{St, TradesOf};
use crate::{auth_l1, book, dec, eth, gamma};

/// Default minimum order size when a book does not say (shares).
pub const DEFAULT_MIN_SIZE: Qty = Qty::shares(5);
/// An order's size increment: 0.01 share (polymarket.md §3.4, sizes have 2 decimals). Fills and
/// balances are finer (tokens have 6 decimals, as [`Qty`] does); orders are not.
pub const ORDER_STEP: Qty = Qty(plugin_api::money::SHARE / 100);
/// Minimum notional of a marketable order.
pub const MIN_NOTIONAL: Usd = Usd(1_000_000);
const MAX_PAGES: u32 = 50;
/// How far back the account's trades are read for the fills of an order matched by the call
/// that just answered, in seconds. The match happened during that call, so this covers the
/// call's own length and the clock skew between this machine and the venue (NTP keeps it under
/// a second; two minutes is a wide margin). Wider costs pages: an account trading one asset
/// often would read every trade of the window after each order (10 minutes before this).
pub(crate) const MATCH_WINDOW_S: i64 = 120;
/// Most tokens asked for in one `POST /books`.
pub const MAX_BOOKS: usize = 100;

/// Market parameters needed to sign an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketMeta {
    /// Tick size.
    pub tick: Price,
    /// Neg-risk market (selects the exchange contract); `None` until the venue said, since a
    /// guess would sign for the wrong exchange.
    pub neg_risk: Option<bool>,
    /// Minimum limit-order size.
    pub min_size: Qty,
}

#[derive(Clone, Debug)]
struct KnownOrder {
    digest: String,
}

/// The Polymarket venue adapter.
#[derive(Debug)]
pub struct PolymarketVenue {
    s: Settings,
    ex: Exchanges,
    creds: Mutex<Option<ApiCreds>>,
    meta: Mutex<HashMap<String, MarketMeta>>,
    cond: Mutex<HashMap<String, String>>,
    by_client: Mutex<HashMap<String, KnownOrder>>,
    by_digest: Mutex<HashMap<String, String>>,
    /// Each token's own taker fee rate (ppm), from `/clob-markets` (`fd.r`); the configured
    /// `fee_rate` is only the fallback for tokens never looked up.
    fee_rates: Mutex<HashMap<String, u32>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub(crate) fn is_2xx(r: &HttpResponse) -> bool {
    (200..300).contains(&r.status)
}

pub(crate) fn check_token(t: &str) -> PluginResult<()> {
    if t.is_empty() || t.len() > 78 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PluginError::invalid(format!(
            "instrument {t:?} is not a Polymarket token id (a decimal integer)"
        )));
    }
    Ok(())
}

pub(crate) fn check_order_id(id: &str) -> PluginResult<()> {
    let ok =
        id.len() == 66 && id.starts_with("0x") && id[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(PluginError::invalid(format!(
            "order id {id:?} is not 0x + 32 bytes of hex"
        )));
    }
    Ok(())
}

pub(crate) fn parse_err(what: &str, e: impl std::fmt::Display) -> PluginError {
    PluginError::parse(format!("{what}: unexpected response: {e}"))
}

pub(crate) fn done(result: OpResult) -> PluginResult<Step> {
    Ok(Step::Done { result })
}

impl PolymarketVenue {
    pub(crate) fn http(&self, request: HttpRequest, st: St) -> PluginResult<Step> {
        let state = serde_json::to_string(&st)
            .map_err(|e| PluginError::new(ErrorKind::Internal, format!("state: {e}")))?;
        Ok(Step::Http { request, state })
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.s
    }

    pub(crate) fn clob(&self, path_and_query: &str) -> String {
        format!("{}{}", self.s.clob_url, path_and_query)
    }

    pub(crate) fn creds(&self) -> Option<ApiCreds> {
        lock(&self.creds).clone()
    }

    /// An L2-signed request.
    pub(crate) fn l2(
        &self,
        method: &str,
        url: String,
        body: Vec<u8>,
        ctx: &CallCtx,
        rate: &str,
    ) -> PluginResult<HttpRequest> {
        let creds = self
            .creds()
            .ok_or_else(|| PluginError::new(ErrorKind::Auth, "no API credentials yet"))?;
        let ts = (ctx.now_ms.div_euclid(1000)).to_string();
        let hdrs = creds.headers(
            &self.s.wallet()?.address(),
            &ts,
            method,
            url_path(&url),
            &body,
        );
        let mut req = HttpRequest::new(method, url, rate);
        for (k, v) in hdrs {
            req.headers.push((k, v));
        }
        if !body.is_empty() {
            req = req.json_body(body);
        }
        Ok(req)
    }

    fn l1(&self, method: &str, path: &str, ctx: &CallCtx) -> PluginResult<HttpRequest> {
        let ts = ctx.now_ms.div_euclid(1000).to_string();
        let hdrs = auth_l1::headers(self.s.wallet()?, self.s.chain_id, &ts, 0)
            .map_err(|e| PluginError::new(ErrorKind::Auth, e.to_string()))?;
        let mut req = HttpRequest::new(method, self.clob(path), "auth");
        req.headers.extend(hdrs);
        // Creating an existing key fails harmlessly and falls back to derive.
        req.idempotent = true;
        Ok(req)
    }

    /// Maps a failed response, dropping derived credentials the venue refused.
    pub(crate) fn fail(&self, what: &str, r: &HttpResponse) -> PluginError {
        let e = errors::from_response(what, r);
        if e.kind == ErrorKind::Auth && r.status == 401 {
            // Derived credentials are dropped so the next call derives them again;
            // configured ones stay (the operator must fix them).
            if self.s.creds.is_none() {
                *lock(&self.creds) = None;
            }
        }
        e
    }

    fn needs_auth(op: &VenueOp) -> bool {
        matches!(
            op,
            VenueOp::PlaceOrder { .. }
                | VenueOp::PlaceOrders { .. }
                | VenueOp::CancelOrders { .. }
                | VenueOp::CancelAll { .. }
                | VenueOp::CancelOrder { .. }
                | VenueOp::GetOrder { .. }
                | VenueOp::OpenOrders { .. }
                | VenueOp::Fills { .. }
                | VenueOp::Balance
        )
    }

    pub(crate) fn cached_meta(&self, token: &str) -> Option<MarketMeta> {
        lock(&self.meta).get(token).copied()
    }

    pub(crate) fn store_meta(
        &self,
        token: &str,
        m: &book::BookMeta,
        tick_override: Option<Price>,
    ) -> MarketMeta {
        let mut map = lock(&self.meta);
        let prev = map.get(token).copied();
        let meta = MarketMeta {
            tick: tick_override
                .or(m.tick)
                .or(prev.map(|p| p.tick))
                .unwrap_or(Price(10_000)),
            neg_risk: m.neg_risk.or(prev.and_then(|p| p.neg_risk)),
            min_size: m
                .min_size
                .or(prev.map(|p| p.min_size))
                .unwrap_or(DEFAULT_MIN_SIZE),
        };
        map.insert(token.to_string(), meta);
        if let Some(c) = &m.condition_id {
            lock(&self.cond).insert(token.to_string(), c.clone());
        }
        meta
    }

    /// Records which client order id an order id belongs to (Polymarket keeps none).
    pub(crate) fn remember(&self, client_order_id: &str, order_id: &str) {
        lock(&self.by_client).insert(
            client_order_id.to_string(),
            KnownOrder {
                digest: order_id.to_ascii_lowercase(),
            },
        );
        lock(&self.by_digest).insert(order_id.to_ascii_lowercase(), client_order_id.to_string());
    }

    /// The taker fee rate of `token`: the market's own when known, else the configured one.
    pub(crate) fn fee_rate_of(&self, token: &str) -> u32 {
        lock(&self.fee_rates)
            .get(token)
            .copied()
            .unwrap_or(self.s.fee_rate_ppm)
    }

    fn client_id_of(&self, digest: &str) -> Option<String> {
        lock(&self.by_digest)
            .get(&digest.to_ascii_lowercase())
            .cloned()
    }

    // ---------------------------------------------------------------- operations

    fn start(&self, op: VenueOp, ctx: &CallCtx) -> PluginResult<Step> {
        match op {
            VenueOp::Markets { filter } => {
                let limit = filter.limit.unwrap_or(100).clamp(1, 100);
                let mut url = match &filter.series {
                    Some(tag) => format!(
                        "{}/events/keyset?limit={limit}&tag_slug={}",
                        self.s.gamma_url,
                        enc(tag)
                    ),
                    None => format!("{}/markets/keyset?limit={limit}", self.s.gamma_url),
                };
                match filter.status.as_deref() {
                    Some("open") | Some("active") => url.push_str("&closed=false&active=true"),
                    Some("closed") | Some("resolved") | Some("settled") => {
                        url.push_str("&closed=true")
                    }
                    _ => {}
                }
                if let Some(c) = &filter.cursor {
                    url.push_str(&format!("&after_cursor={}", enc(c)));
                }
                self.http(HttpRequest::new("GET", url, "gamma"), St::Markets)
            }
            VenueOp::Listings { filter } => {
                let tag = filter.series.clone().ok_or_else(|| {
                    PluginError::invalid("listings need a Gamma tag slug, e.g. nba")
                })?;
                let limit = filter.limit.unwrap_or(100).clamp(1, 100);
                let mut url = format!(
                    "{}/events/keyset?limit={limit}&tag_slug={}",
                    self.s.gamma_url,
                    enc(&tag)
                );
                if filter.open_only {
                    url.push_str("&closed=false&active=true");
                }
                if let Some(c) = filter.cursor.as_deref().filter(|c| !c.is_empty()) {
                    url.push_str(&format!("&after_cursor={}", enc(c)));
                }
                self.http(
                    HttpRequest::new("GET", url, "gamma"),
                    St::Listings { filter },
                )
            }
            VenueOp::Book { instrument } => {
                check_token(&instrument)?;
                let req = HttpRequest::new(
                    "GET",
                    self.clob(&format!("/book?token_id={instrument}")),
                    "book",
                );
                self.http(req, St::Book { instrument })
            }
            VenueOp::Books { instruments } => {
                if instruments.is_empty() || instruments.len() > MAX_BOOKS {
                    return Err(PluginError::invalid(format!(
                        "books takes 1 to {MAX_BOOKS} instruments, not {}",
                        instruments.len()
                    )));
                }
                let mut body = Vec::with_capacity(instruments.len());
                for t in &instruments {
                    check_token(t)?;
                    body.push(serde_json::json!({ "token_id": t }));
                }
                let body = serde_json::to_vec(&body)
                    .map_err(|e| PluginError::new(ErrorKind::Internal, e.to_string()))?;
                let mut req = HttpRequest::new("POST", self.clob("/books"), "book").json_body(body);
                // A read, whatever the method: safe to resend.
                req.idempotent = true;
                self.http(req, St::Books)
            }
            VenueOp::Rules { instrument } => {
                check_token(&instrument)?;
                let req = HttpRequest::new(
                    "GET",
                    self.clob(&format!("/tick-size?token_id={instrument}")),
                    "read",
                );
                self.http(req, St::RulesTick { instrument })
            }
            VenueOp::PlaceOrder { order } => {
                check_token(&order.instrument)?;
                if order.client_order_id.is_empty() {
                    return Err(PluginError::invalid("client_order_id must not be empty"));
                }
                match self.cached_meta(&order.instrument) {
                    Some(meta) => self.submit_known(order, meta, ctx),
                    None => {
                        let req = HttpRequest::new(
                            "GET",
                            self.clob(&format!("/book?token_id={}", order.instrument)),
                            "book",
                        );
                        self.http(req, St::PlaceMeta { order })
                    }
                }
            }
            VenueOp::CancelOrder {
                order_id,
                instrument,
            } => {
                check_order_id(&order_id)?;
                let body = serde_json::json!({ "orderID": order_id })
                    .to_string()
                    .into_bytes();
                let req = self.l2("DELETE", self.clob("/order"), body, ctx, "cancel")?;
                self.http(
                    req,
                    St::Cancel {
                        order_id,
                        instrument,
                    },
                )
            }
            VenueOp::GetOrder {
                order_id,
                client_order_id,
                ..
            } => {
                let id = match (&order_id, &client_order_id) {
                    (Some(id), _) => id.clone(),
                    (None, Some(c)) => lock(&self.by_client)
                        .get(c)
                        .map(|k| k.digest.clone())
                        .ok_or_else(|| {
                            PluginError::invalid(format!(
                                "client order id {c:?} is unknown to this instance: Polymarket keeps no client ids; look the order up by its order id (the EIP-712 digest returned or logged at submit)"
                            ))
                        })?,
                    (None, None) => return Err(PluginError::invalid("get_order needs an order_id or a client_order_id")),
                };
                check_order_id(&id)?;
                let req = self.l2(
                    "GET",
                    self.clob(&format!("/data/order/{id}")),
                    Vec::new(),
                    ctx,
                    "read",
                )?;
                self.http(
                    req,
                    St::GetOrder {
                        order_id: id,
                        client_order_id,
                    },
                )
            }
            VenueOp::OpenOrders { instrument } => {
                self.open_orders_page(instrument, Vec::new(), Vec::new(), None, 0, ctx)
            }
            VenueOp::Fills {
                instrument,
                since_ms,
            } => self.fills_page(instrument, since_ms, Vec::new(), None, 0, ctx),
            VenueOp::Balance => {
                let url = self.clob(&format!(
                    "/balance-allowance?asset_type=COLLATERAL&signature_type={}",
                    self.s.signature_type as u8
                ));
                let req = self.l2("GET", url, Vec::new(), ctx, "read")?;
                self.http(req, St::Balance)
            }
            VenueOp::Positions => {
                let url = format!(
                    "{}/positions?user={}&sizeThreshold=0&limit=500",
                    self.s.data_url,
                    self.s.maker.to_checksum()
                );
                self.http(HttpRequest::new("GET", url, "data"), St::Positions)
            }
            VenueOp::Resolution { instrument } => {
                check_token(&instrument)?;
                let cid = lock(&self.cond).get(&instrument).cloned();
                match cid {
                    Some(c) => self.http(
                        HttpRequest::new(
                            "GET",
                            self.clob(&format!("/markets/{}", enc(&c))),
                            "read",
                        ),
                        St::ResMarket { instrument },
                    ),
                    None => self.http(
                        HttpRequest::new(
                            "GET",
                            self.clob(&format!("/markets-by-token/{instrument}")),
                            "read",
                        ),
                        St::ResToken { instrument },
                    ),
                }
            }
            VenueOp::PlaceOrders { orders } => self.place_batch(orders, ctx),
            VenueOp::CancelOrders { order_ids } => self.cancel_many(order_ids, ctx),
            VenueOp::CancelAll { instrument } => self.cancel_all(instrument, ctx),
            VenueOp::ExchangeStatus => {
                // The CLOB documents no trading-hours or halt endpoint; its health check
                // `GET /ok` (polymarket.md §1.2) is the real signal that it takes requests.
                let mut req = HttpRequest::new("GET", self.clob("/ok"), "read");
                req.idempotent = true;
                self.http(req, St::ExchangeStatus)
            }
            VenueOp::Settlements { market, since_ms } => self.settlements(market, since_ms, ctx),
            // The next signature's nonce, off the path to the wire (`nonce`). Without a key
            // there is nothing to sign, and the host stops asking.
            VenueOp::Prepare => match &self.s.wallet {
                Some(w) => {
                    if !w.prepare_nonce() {
                        tracing::warn!("no randomness for a prepared nonce; the next order signs with RFC 6979");
                    }
                    Ok(Step::Done {
                        result: OpResult::Prepared,
                    })
                }
                None => Err(PluginError::unsupported("prepare")),
            },
            VenueOp::Rehearse { order } => self.rehearse(&order, ctx),
            other => Err(PluginError::unsupported(other.name())),
        }
    }

    fn open_orders_page(
        &self,
        instrument: Option<String>,
        acc: Vec<OrderStatus>,
        after: Vec<Option<i64>>,
        cursor: Option<String>,
        pages: u32,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let mut url = self.clob("/data/orders");
        let mut sep = '?';
        if let Some(i) = &instrument {
            check_token(i)?;
            url.push_str(&format!("{sep}asset_id={i}"));
            sep = '&';
        }
        if let Some(c) = &cursor {
            url.push_str(&format!("{sep}next_cursor={}", enc(c)));
        }
        let req = self.l2("GET", url, Vec::new(), ctx, "read")?;
        self.http(
            req,
            St::OpenOrders {
                instrument,
                acc,
                after,
                pages,
            },
        )
    }

    fn fills_page(
        &self,
        instrument: Option<String>,
        since_ms: Option<i64>,
        acc: Vec<plugin_api::Fill>,
        cursor: Option<String>,
        pages: u32,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let mut q: Vec<String> = Vec::new();
        if let Some(i) = &instrument {
            check_token(i)?;
            q.push(format!("asset_id={i}"));
        }
        if let Some(s) = since_ms {
            q.push(format!("after={}", s.div_euclid(1000)));
        }
        if let Some(c) = &cursor {
            q.push(format!("next_cursor={}", enc(c)));
        }
        let mut url = self.clob("/data/trades");
        if !q.is_empty() {
            url.push('?');
            url.push_str(&q.join("&"));
        }
        let req = self.l2("GET", url, Vec::new(), ctx, "read")?;
        self.http(
            req,
            St::Fills {
                instrument,
                since_ms,
                acc,
                pages,
            },
        )
    }

    /// Builds and signs the V2 order for `req`. Returns `(body, digest hex, order type)`.
    pub fn build_order(
        &self,
        req: &OrderRequest,
        meta: &MarketMeta,
        ctx: &CallCtx,
    ) -> PluginResult<(String, String, OrderType)> {
        self.build_order_signed_by(req, meta, ctx, Some(self.s.wallet()?))
    }

    /// [`Self::build_order`] signed by `wallet`; with `None` (a rehearsal, `rehearse`) signed
    /// by nobody: zeros where the signature goes.
    pub(crate) fn build_order_signed_by(
        &self,
        req: &OrderRequest,
        meta: &MarketMeta,
        ctx: &CallCtx,
        wallet: Option<&eth::Wallet>,
    ) -> PluginResult<(String, String, OrderType)> {
        let creds = self
            .creds()
            .ok_or_else(|| PluginError::new(ErrorKind::Auth, "no API credentials yet"))?;
        let neg_risk = meta.neg_risk.ok_or_else(|| {
            PluginError::new(
                ErrorKind::Internal,
                format!("neg_risk of {} is not known yet", req.instrument),
            )
        })?;
        let tick = meta.tick;
        let cfg = TickCfg::new(tick)
            .ok_or_else(|| PluginError::invalid(format!("unsupported tick size {tick}")))?;
        if req.qty.0 <= 0 {
            return Err(PluginError::invalid("order quantity must be positive"));
        }
        if !req.price.is_on_tick(tick) {
            return Err(PluginError::invalid(format!(
                "price {} is not a multiple of the market's tick {tick}",
                req.price
            )));
        }
        if req.price < tick || req.price > Price::ONE - tick {
            return Err(PluginError::invalid(format!(
                "price {} is outside [{tick}, {}]",
                req.price,
                Price::ONE - tick
            )));
        }
        let now_s = ctx.now_ms.div_euclid(1000);
        let (otype, expiration) = match req.tif {
            TimeInForce::Gtc => (OrderType::Gtc, 0u64),
            TimeInForce::Gtd { expires_ms } => {
                let exp = expires_ms.div_euclid(1000);
                if exp < now_s + 60 {
                    return Err(PluginError::invalid(
                        "GTD expiry must be at least 60 s in the future (the CLOB's security threshold)",
                    ));
                }
                (OrderType::Gtd, exp as u64)
            }
            TimeInForce::Fok => (OrderType::Fok, 0),
            TimeInForce::Ioc => (OrderType::Fak, 0),
            _ => return Err(PluginError::unsupported("this time in force")),
        };
        if req.post_only && otype.is_market() {
            return Err(PluginError::invalid("post_only needs GTC or GTD"));
        }
        let dir = match req.side {
            Side::Buy => Dir::Buy,
            Side::Sell => Dir::Sell,
        };
        // Sizes in 6-decimal base units (a `Qty` is micro-shares already). A size off the
        // venue's 0.01 step is refused: the signed amounts would floor it, and the order would
        // silently trade less than asked.
        let too_big = || PluginError::invalid(format!("order size {} is too large", req.qty));
        if req.qty.0 % ORDER_STEP.0 != 0 {
            return Err(PluginError::invalid(format!(
                "order size {} is not a multiple of the venue's size step {ORDER_STEP}",
                req.qty
            )));
        }
        let size_micro = req.qty.0;
        let amounts = if otype.is_market() {
            // BUY: dollars to spend = qty × price, floored to cents; SELL: shares.
            let amount = match req.side {
                Side::Buy => {
                    clob::notional(req.qty, req.price)
                        .ok_or_else(too_big)?
                        .round_to(10_000, Rounding::Down)
                        .0
                }
                Side::Sell => size_micro,
            };
            let a = market_amounts(dir, amount.max(0) as u64, req.price, cfg);
            let notional = match req.side {
                Side::Buy => a.maker,
                Side::Sell => a.taker,
            };
            let notional = i64::try_from(notional).map_err(|_| too_big())?;
            if notional < MIN_NOTIONAL.0 {
                return Err(PluginError::invalid(format!(
                    "marketable orders need at least $1 notional; {} shares at {} is ${}",
                    req.qty,
                    req.price,
                    Usd(notional)
                )));
            }
            a
        } else {
            if req.qty < meta.min_size {
                return Err(PluginError::invalid(format!(
                    "size {} is below the market minimum of {} shares",
                    req.qty, meta.min_size
                )));
            }
            let a = limit_amounts(dir, req.price, size_micro as u64, cfg);
            // Amounts are read back as i64 (micro-dollars, micro-shares).
            if i64::try_from(a.maker.max(a.taker)).is_err() {
                return Err(too_big());
            }
            a
        };
        if amounts.maker == 0 || amounts.taker == 0 {
            return Err(PluginError::invalid("order amounts round to zero"));
        }
        let order = OrderV2 {
            salt: salt_from_random(&ctx.random),
            maker: self.s.maker,
            signer: self.s.order_signer,
            token_id: req.instrument.clone(),
            maker_amount: amounts.maker,
            taker_amount: amounts.taker,
            side: match req.side {
                Side::Buy => OrderSide::Buy,
                Side::Sell => OrderSide::Sell,
            },
            signature_type: self.s.signature_type,
            timestamp_ms: ctx.now_ms.max(0) as u64,
            metadata: [0; 32],
            builder: self.s.builder,
            expiration,
        };
        let domain = self.ex.for_market(neg_risk);
        let (digest, sig) = match wallet {
            Some(w) => order.sign(domain, w),
            None => order.digest(domain).map(|d| (d, vec![0u8; 65])),
        }
        .map_err(|e| PluginError::invalid(format!("cannot sign order: {e}")))?;
        let body = post_order_body(&order, &sig, &creds.key, otype, req.post_only);
        Ok((body, eth::hex0x(&digest), otype))
    }

    /// Submits once the exchange is known: asks `GET /neg-risk` first when no book said.
    fn submit_known(
        &self,
        order: OrderRequest,
        meta: MarketMeta,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        if meta.neg_risk.is_some() {
            return self.submit(order, meta, ctx, false);
        }
        let req = self.neg_risk_request(&order.instrument);
        self.http(req, St::PlaceNegRisk { order })
    }

    pub(crate) fn neg_risk_request(&self, token: &str) -> HttpRequest {
        HttpRequest::new(
            "GET",
            self.clob(&format!("/neg-risk?token_id={token}")),
            "read",
        )
    }

    /// Records the flag a `GET /neg-risk` answer gives for `token` (whose metadata is cached).
    pub(crate) fn record_neg_risk(
        &self,
        token: &str,
        r: &HttpResponse,
    ) -> PluginResult<MarketMeta> {
        if !is_2xx(r) {
            return Err(self.fail("neg-risk", r));
        }
        let flag = clob::parse_neg_risk(&r.body)
            .ok_or_else(|| parse_err("neg-risk", "no boolean neg_risk"))?;
        self.set_neg_risk(token, flag)
    }

    fn set_neg_risk(&self, token: &str, flag: bool) -> PluginResult<MarketMeta> {
        let mut map = lock(&self.meta);
        let meta = map.get_mut(token).ok_or_else(|| {
            PluginError::new(ErrorKind::Internal, format!("no metadata for {token}"))
        })?;
        meta.neg_risk = Some(flag);
        Ok(*meta)
    }

    fn submit(
        &self,
        order: OrderRequest,
        meta: MarketMeta,
        ctx: &CallCtx,
        tick_retry: bool,
    ) -> PluginResult<Step> {
        let (body, digest, otype) = self.build_order(&order, &meta, ctx)?;
        self.remember(&order.client_order_id, &digest);
        // The id is known before sending: the host journals it, so a lost answer or a crash is
        // reconciled by looking this id up.
        let mut req = self
            .l2("POST", self.clob("/order"), body.into_bytes(), ctx, "order")?
            .expect_order_id(digest.clone());
        req.idempotent = false;
        self.http(
            req,
            St::PlaceSubmit {
                order,
                digest,
                market: otype.is_market(),
                tick_retry,
            },
        )
    }

    fn lookup_submit(
        &self,
        order: OrderRequest,
        digest: String,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let req = self.l2(
            "GET",
            self.clob(&format!("/data/order/{digest}")),
            Vec::new(),
            ctx,
            "read",
        )?;
        self.http(req, St::PlaceLookup { order, digest })
    }

    /// The status of an accepted order from the `POST /order` answer: exactly the shares and
    /// dollars the venue reports (a marketable BUY spends `qty × price` and gets more shares
    /// when the book is better; they are never capped at the asked size), with the fee
    /// estimated at the market's own rate on the average price until the fills replace it
    /// ([`Self::order_trades`]). An amount that cannot be read is an error: the order exists
    /// and its fill is unknown.
    pub(crate) fn placed_status(
        &self,
        order: &OrderRequest,
        id: String,
        r: &PostOrderResp,
        market: bool,
    ) -> Result<OrderStatus, String> {
        let (making, taking) = r.amounts()?;
        let (shares_micro, notional_micro) = match order.side {
            Side::Buy => (taking, making),
            Side::Sell => (making, taking),
        };
        // Token amounts are micro-shares, exactly a `Qty`: booked as reported, never floored.
        let filled = Qty(shares_micro);
        let avg = if filled.0 > 0 {
            let p = notional_micro as i128 * plugin_api::money::SHARE as i128 / filled.0 as i128;
            if p > Price::ONE.0 as i128 {
                return Err(format!("amounts {making}/{taking} imply a price above $1"));
            }
            Price(p as i64)
        } else {
            Price::ZERO
        };
        let status = r.status.as_deref().unwrap_or("").to_ascii_lowercase();
        let state = match status.as_str() {
            "matched" if filled >= order.qty => OrderState::Filled,
            "matched" | "unmatched" if market => OrderState::Cancelled,
            _ if filled.0 > 0 => OrderState::PartiallyFilled,
            _ => OrderState::Open,
        };
        let fees = clob::fill_fee(self.fee_rate_of(&order.instrument), avg, filled)
            .ok_or_else(|| format!("takingAmount/makingAmount {taking}/{making} out of range"))?;
        Ok(OrderStatus {
            order_id: id,
            client_order_id: Some(order.client_order_id.clone()),
            instrument: order.instrument.clone(),
            side: order.side,
            price: order.price,
            qty: order.qty,
            filled_qty: filled,
            filled_notional: Usd(notional_micro),
            fees,
            state,
            reason: (state == OrderState::Cancelled)
                .then(|| format!("{status}: unfilled remainder killed")),
        })
    }

    /// Asks for the trades of an order that matched something, so its notional and fee become
    /// the sum over its fills (each at the maker's price, fee per fill). `strict`: a failed
    /// listing is an error (reads, which the host retries); otherwise the order keeps the
    /// estimate it carries (a placement or cancel that did happen must not turn into an error).
    pub(crate) fn order_trades(
        &self,
        q: TradesOf,
        cursor: Option<String>,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        if q.order.filled_qty.0 == 0 {
            let order = q.order.clone();
            return self.trades_done(q, order, ctx);
        }
        check_token(&q.order.instrument)?;
        let mut url = self.clob(&format!("/data/trades?asset_id={}", q.order.instrument));
        if let Some(a) = q.after_s {
            url.push_str(&format!("&after={a}"));
        }
        if let Some(c) = &cursor {
            url.push_str(&format!("&next_cursor={}", enc(c)));
        }
        let req = self.l2("GET", url, Vec::new(), ctx, "read")?;
        self.http(req, St::OrderTrades(q))
    }

    fn order_trades_page(
        &self,
        mut q: TradesOf,
        r: &HttpResponse,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let page = if is_2xx(r) {
            Page::<Trade>::parse(&r.body).map_err(|e| parse_err("trades of order", e))
        } else {
            Err(self.fail("trades of order", r))
        };
        let key = self.creds().map(|c| c.key).unwrap_or_default();
        let maker = self.s.maker.to_checksum();
        let page = page.and_then(|p| {
            let (items, next) = p.split();
            for t in items {
                let fills = t
                    .fills(&key, &maker)
                    .map_err(|e| parse_err("trades of order", e))?;
                q.acc.extend(fills.into_iter().filter(|f| {
                    f.order_id.eq_ignore_ascii_case(&q.order.order_id)
                        && f.status != plugin_api::FillStatus::Failed
                }));
            }
            Ok(next)
        });
        match page {
            Err(e) if q.strict => Err(e),
            Err(e) => {
                tracing::warn!(order_id = %q.order.order_id, error = %e, "trades of order unavailable; fee estimated at the market's rate");
                let order = q.order.clone();
                self.trades_done(q, order, ctx)
            }
            Ok(Some(c)) if q.pages + 1 < MAX_PAGES => {
                q.pages += 1;
                self.order_trades(q, Some(c), ctx)
            }
            Ok(_) => match with_fills(q.order.clone(), &q.acc) {
                Some(o) => self.trades_done(q, o, ctx),
                None if q.strict => Err(parse_err("trades of order", "amounts out of range")),
                None => {
                    let order = q.order.clone();
                    self.trades_done(q, order, ctx)
                }
            },
        }
    }

    /// One order's fills are read: a single order is the result; an order of a batch takes
    /// its place in the batch's results and the next matched order is read.
    fn trades_done(&self, q: TradesOf, order: OrderStatus, ctx: &CallCtx) -> PluginResult<Step> {
        if let Some(l) = q.listing {
            return self.listed_order_done(l, order, ctx);
        }
        match q.batch {
            None => done(OpResult::Order { order }),
            Some(mut b) => {
                if let Some(slot) = b.results.get_mut(b.index) {
                    *slot = plugin_api::PlaceOutcome::Accepted { order };
                }
                self.batch_fills(b.results, b.index + 1, q.after_s, ctx)
            }
        }
    }

    /// Reads the fills of the batch's matched orders from `from` on, one order at a time, so
    /// each accepted order's notional and fee are the sums over its fills; then the batch's
    /// result.
    pub(crate) fn batch_fills(
        &self,
        results: Vec<plugin_api::PlaceOutcome>,
        from: usize,
        after_s: Option<i64>,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let next = results
            .iter()
            .enumerate()
            .skip(from)
            .find_map(|(i, r)| match r {
                plugin_api::PlaceOutcome::Accepted { order } if order.filled_qty.0 > 0 => {
                    Some((i, order.clone()))
                }
                _ => None,
            });
        match next {
            None => done(OpResult::Placed { results }),
            Some((index, order)) => {
                let mut q = TradesOf::new(order, after_s, false);
                q.batch = Some(crate::state::BatchFills { results, index });
                self.order_trades(q, None, ctx)
            }
        }
    }

    /// Handles a refused order: tick refresh, balance-cache refresh, or the error.
    fn refused(
        &self,
        order: OrderRequest,
        err: PluginError,
        tick_retry: bool,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let code = match &err.kind {
            ErrorKind::Rejected { code } => code.clone(),
            _ => return Err(err),
        };
        if code == code::TICK_SIZE && !tick_retry {
            let req = HttpRequest::new(
                "GET",
                self.clob(&format!("/tick-size?token_id={}", order.instrument)),
                "read",
            );
            return self.http(
                req,
                St::PlaceTick {
                    order,
                    error: err.message,
                },
            );
        }
        if code == code::INSUFFICIENT_BALANCE {
            let q = match order.side {
                Side::Buy => "asset_type=COLLATERAL".to_string(),
                Side::Sell => format!("asset_type=CONDITIONAL&token_id={}", order.instrument),
            };
            let url = self.clob(&format!(
                "/balance-allowance/update?{q}&signature_type={}",
                self.s.signature_type as u8
            ));
            let req = self.l2("GET", url, Vec::new(), ctx, "read")?;
            return self.http(
                req,
                St::PlaceBalanceUpdate {
                    code,
                    error: err.message,
                },
            );
        }
        Err(err)
    }

    fn cancel_status(
        &self,
        order_id: &str,
        instrument: &str,
        o: Option<OpenOrder>,
        canceled: bool,
        reason: Option<String>,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let coid = self.client_id_of(order_id);
        match o {
            Some(o) => {
                let after = o.created_s();
                let mut s =
                    self.estimate_fee(o.to_status(coid).map_err(|e| parse_err("order", e))?)?;
                if canceled && !s.state.is_final() {
                    s.state = OrderState::Cancelled;
                    s.reason = Some("canceled".into());
                }
                if !canceled && !s.state.is_final() {
                    return Err(PluginError::rejected(
                        "cancel_refused",
                        format!(
                            "order {order_id} was not cancelled: {}",
                            reason.unwrap_or_default()
                        ),
                    ));
                }
                // The cancel happened: a failed trades listing keeps the estimate.
                self.order_trades(TradesOf::new(s, after, false), None, ctx)
            }
            None if canceled => done(OpResult::Order {
                order: OrderStatus {
                    order_id: order_id.to_string(),
                    client_order_id: coid,
                    instrument: instrument.to_string(),
                    side: Side::Buy,
                    price: Price::ZERO,
                    qty: Qty::ZERO,
                    filled_qty: Qty::ZERO,
                    filled_notional: Usd::ZERO,
                    fees: Usd::ZERO,
                    state: OrderState::Cancelled,
                    reason: Some("canceled (order details unavailable)".into()),
                },
            }),
            None => Err(PluginError::rejected(
                "not_found",
                format!("order {order_id} not found: {}", reason.unwrap_or_default()),
            )),
        }
    }

    /// A read-back order's fee estimated at the market's rate on its limit price, for shares
    /// its trades do not cover yet. A size too large for the fee to fit is an error, not a zero.
    pub(crate) fn estimate_fee(&self, mut s: OrderStatus) -> PluginResult<OrderStatus> {
        s.fees = clob::fill_fee(self.fee_rate_of(&s.instrument), s.price, s.filled_qty)
            .ok_or_else(|| {
                parse_err(
                    "order",
                    format!(
                        "order {}: size_matched {} is out of range",
                        s.order_id, s.filled_qty
                    ),
                )
            })?;
        Ok(s)
    }

    fn on_response(&self, st: St, r: HttpResponse, ctx: &CallCtx) -> PluginResult<Step> {
        match st {
            St::L1Create { op } => {
                if is_2xx(&r) {
                    if let Some(c) = parse_creds(&r.body) {
                        *lock(&self.creds) = Some(c);
                        return self.start(*op, ctx);
                    }
                }
                if r.status == 429 || r.status >= 500 || r.status == 0 {
                    return Err(errors::from_response("create api key", &r));
                }
                let req = self.l1("GET", "/auth/derive-api-key", ctx)?;
                self.http(req, St::L1Derive { op })
            }
            St::L1Derive { op } => {
                if !is_2xx(&r) {
                    return Err(errors::from_response("derive api key", &r));
                }
                let c = parse_creds(&r.body).ok_or_else(|| {
                    PluginError::new(
                        ErrorKind::Auth,
                        "derive api key: response has no usable credentials",
                    )
                })?;
                *lock(&self.creds) = Some(c);
                self.start(*op, ctx)
            }
            St::Listings { filter } => {
                if !is_2xx(&r) {
                    return Err(self.fail("listings", &r));
                }
                let (listings, next_cursor) = crate::listings::parse_listings(&r.body, &filter)
                    .map_err(|e| parse_err("listings", e))?;
                done(OpResult::Listings {
                    listings,
                    next_cursor,
                })
            }
            St::Markets => {
                if !is_2xx(&r) {
                    return Err(self.fail("markets", &r));
                }
                let (markets, next_cursor) =
                    gamma::parse_markets_page(&r.body).map_err(|e| parse_err("markets", e))?;
                done(OpResult::Markets {
                    markets,
                    next_cursor,
                })
            }
            St::Book { instrument } => {
                if !is_2xx(&r) {
                    return Err(self.fail("book", &r));
                }
                let (b, m) =
                    book::parse_book(&r.body, &instrument).map_err(|e| parse_err("book", e))?;
                self.store_meta(&instrument, &m, None);
                done(OpResult::Book { book: b })
            }
            St::Books => {
                if !is_2xx(&r) {
                    return Err(self.fail("books", &r));
                }
                let parsed = book::parse_books(&r.body).map_err(|e| parse_err("books", e))?;
                let mut books = Vec::with_capacity(parsed.len());
                for (b, m) in parsed {
                    if b.instrument.is_empty() {
                        return Err(parse_err("books", "a book without asset_id"));
                    }
                    self.store_meta(&b.instrument, &m, None);
                    books.push(b);
                }
                done(OpResult::Books { books })
            }
            St::RulesTick { instrument } => {
                if !is_2xx(&r) {
                    return Err(self.fail("tick size", &r));
                }
                let tick = clob::parse_tick(&r.body)
                    .ok_or_else(|| parse_err("tick size", "no minimum_tick_size"))?;
                let req = HttpRequest::new(
                    "GET",
                    self.clob(&format!("/book?token_id={instrument}")),
                    "book",
                );
                self.http(
                    req,
                    St::RulesBook {
                        instrument,
                        tick: tick.0,
                    },
                )
            }
            St::RulesBook { instrument, tick } => {
                if !is_2xx(&r) {
                    return Err(self.fail("book", &r));
                }
                let (_, m) =
                    book::parse_book(&r.body, &instrument).map_err(|e| parse_err("book", e))?;
                let meta = self.store_meta(&instrument, &m, Some(Price(tick)));
                match m.condition_id {
                    Some(cid) => {
                        let req = HttpRequest::new(
                            "GET",
                            self.clob(&format!("/clob-markets/{}", enc(&cid))),
                            "read",
                        );
                        self.http(
                            req,
                            St::RulesFee {
                                instrument,
                                tick,
                                min_size: meta.min_size.0,
                            },
                        )
                    }
                    None => self.rules_done(&instrument, tick, meta.min_size.0, None),
                }
            }
            St::RulesFee {
                instrument,
                tick,
                min_size,
            } => {
                let fee = if is_2xx(&r) {
                    clob::parse_clob_market_fee(&r.body)
                } else {
                    None
                };
                if let Some(rate) = fee {
                    lock(&self.fee_rates).insert(instrument.clone(), rate);
                }
                self.rules_done(&instrument, tick, min_size, fee)
            }
            St::PlaceMeta { order } => {
                if !is_2xx(&r) {
                    return Err(self.fail("book (order metadata)", &r));
                }
                let (_, m) = book::parse_book(&r.body, &order.instrument)
                    .map_err(|e| parse_err("book", e))?;
                let meta = self.store_meta(&order.instrument, &m, None);
                self.submit_known(order, meta, ctx)
            }
            St::PlaceNegRisk { order } => {
                let meta = self.record_neg_risk(&order.instrument, &r)?;
                self.submit(order, meta, ctx, false)
            }
            St::PlaceSubmit {
                order,
                digest,
                market,
                tick_retry,
            } => {
                // Said with the answer, not when signed: a plugin's log line is formatted and
                // handed to the host whatever the host's level, ~14 µs of an order's way to
                // the wire (BENCHMARKS.md, "Rehearsed orders"). The id is journaled before
                // the write either way.
                tracing::info!(client_order_id = %order.client_order_id, order_id = %digest, status = r.status, "polymarket order answered");
                match r.status {
                    200..=299 => {
                        // A 2xx means the venue took the request: an answer that cannot be read
                        // is an unknown outcome (look the order up), never a refusal.
                        let resp: PostOrderResp = match serde_json::from_slice(&r.body) {
                            Ok(x) => x,
                            Err(e) => {
                                tracing::warn!(client_order_id = %order.client_order_id, order_id = %digest, error = %e, "unreadable 2xx answer to POST /order; looking the order up");
                                return self.lookup_submit(order, digest, ctx);
                            }
                        };
                        let msg = resp.error_msg.clone().unwrap_or_default();
                        let id = resp.order_id.clone().unwrap_or_default();
                        let refused = resp.success == Some(false) || !msg.is_empty();
                        if !refused && id.is_empty() {
                            tracing::warn!(client_order_id = %order.client_order_id, order_id = %digest, "2xx answer to POST /order without an order id or error; looking the order up");
                            return self.lookup_submit(order, digest, ctx);
                        }
                        if !refused {
                            if !id.eq_ignore_ascii_case(&digest) {
                                tracing::warn!(expected = %digest, got = %id, "venue order id differs from the EIP-712 digest");
                                lock(&self.by_digest)
                                    .insert(id.to_ascii_lowercase(), order.client_order_id.clone());
                            }
                            let status = match self.placed_status(&order, id.clone(), &resp, market)
                            {
                                Ok(s) => s,
                                Err(e) => {
                                    // The whole answer is suspect: look up the id journaled before sending.
                                    tracing::warn!(client_order_id = %order.client_order_id, order_id = %digest, error = %e, "unreadable amounts in the answer to POST /order; looking the order up");
                                    return self.lookup_submit(order, digest, ctx);
                                }
                            };
                            let matched = resp
                                .status
                                .as_deref()
                                .is_some_and(|s| s.eq_ignore_ascii_case("matched"));
                            if matched && status.filled_qty.0 == 0 && status.filled_notional.0 == 0
                            {
                                // Matched without amounts: ask for the authoritative fill.
                                return self.lookup_submit(order, id, ctx);
                            }
                            // The match happened during this call.
                            let after = ctx.now_ms.div_euclid(1000) - MATCH_WINDOW_S;
                            return self.order_trades(
                                TradesOf::new(status, Some(after), false),
                                None,
                                ctx,
                            );
                        }
                        let text = if msg.is_empty() {
                            "order refused without a message".to_string()
                        } else {
                            msg
                        };
                        self.refused(order, errors::rejection(&text), tick_retry, ctx)
                    }
                    // Outcome unknown: the order may or may not exist. Look up its id.
                    0 | 408 | 500 | 502 | 504 => self.lookup_submit(order, digest, ctx),
                    503 => {
                        let e = errors::from_response("post order", &r);
                        if matches!(e.kind, ErrorKind::Rejected { .. }) {
                            Err(e)
                        } else {
                            self.lookup_submit(order, digest, ctx)
                        }
                    }
                    _ => {
                        let e = self.fail("post order", &r);
                        self.refused(order, e, tick_retry, ctx)
                    }
                }
            }
            St::PlaceTick { order, error } => {
                let tick = if is_2xx(&r) {
                    clob::parse_tick(&r.body)
                } else {
                    None
                };
                let Some(tick) = tick else {
                    return Err(errors::rejection(&error));
                };
                let mut meta = self.cached_meta(&order.instrument).unwrap_or(MarketMeta {
                    tick,
                    neg_risk: None,
                    min_size: DEFAULT_MIN_SIZE,
                });
                meta.tick = tick;
                lock(&self.meta).insert(order.instrument.clone(), meta);
                if order.price.is_on_tick(tick) {
                    self.submit(order, meta, ctx, true)
                } else {
                    Err(PluginError::rejected(
                        code::TICK_SIZE,
                        format!("{error} (hint: the market's tick is now {tick}; price {} is off the grid)", order.price),
                    ))
                }
            }
            St::PlaceLookup { order, digest } => {
                if !is_2xx(&r) {
                    return Err(PluginError::new(
                        ErrorKind::Timeout,
                        format!(
                            "submit outcome unknown for client order {}: lookup of expected order id {digest} failed ({}); look it up again",
                            order.client_order_id,
                            errors::error_text(&r.body)
                        ),
                    ));
                }
                match clob::parse_order(&r.body).map_err(|e| parse_err("order", e))? {
                    Some(o) => {
                        let after = o.created_s();
                        let mut s = o
                            .to_status(Some(order.client_order_id.clone()))
                            .map_err(|e| parse_err("order", e))?;
                        if s.instrument.is_empty() {
                            s.instrument = order.instrument.clone();
                        }
                        let s = self.estimate_fee(s)?;
                        self.order_trades(TradesOf::new(s, after, false), None, ctx)
                    }
                    None => Err(PluginError::new(
                        ErrorKind::Timeout,
                        format!(
                            "submit outcome unknown for client order {}: expected order id {digest} is not known to the venue yet; look it up again before resubmitting",
                            order.client_order_id
                        ),
                    )),
                }
            }
            St::PlaceBalanceUpdate { code, error } => Err(PluginError::rejected(code, error)),
            St::BatchMeta { orders, instrument } => self.batch_meta(orders, &instrument, &r, ctx),
            St::BatchNegRisk { orders, instrument } => {
                self.batch_neg_risk(orders, &instrument, &r, ctx)
            }
            St::BatchSubmit { orders, slots } => self.batch_submitted(&orders, &slots, &r, ctx),
            St::CancelMany => self.cancelled(&r),
            St::OrderTrades(q) => self.order_trades_page(q, &r, ctx),
            St::Cancel {
                order_id,
                instrument,
            } => {
                if !is_2xx(&r) {
                    return Err(self.fail("cancel", &r));
                }
                let c: CancelResp =
                    serde_json::from_slice(&r.body).map_err(|e| parse_err("cancel", e))?;
                let canceled = c.canceled.iter().any(|x| x.eq_ignore_ascii_case(&order_id));
                let reason = c
                    .not_canceled
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&order_id))
                    .map(|(_, v)| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    });
                let req = self.l2(
                    "GET",
                    self.clob(&format!("/data/order/{order_id}")),
                    Vec::new(),
                    ctx,
                    "read",
                )?;
                self.http(
                    req,
                    St::CancelLookup {
                        order_id,
                        instrument,
                        canceled,
                        reason,
                    },
                )
            }
            St::CancelLookup {
                order_id,
                instrument,
                canceled,
                reason,
            } => {
                let o = if is_2xx(&r) {
                    clob::parse_order(&r.body).ok().flatten()
                } else {
                    None
                };
                self.cancel_status(&order_id, &instrument, o, canceled, reason, ctx)
            }
            St::GetOrder {
                order_id,
                client_order_id,
            } => {
                if !is_2xx(&r) {
                    return Err(self.fail("get order", &r));
                }
                match clob::parse_order(&r.body).map_err(|e| parse_err("order", e))? {
                    Some(o) => {
                        let coid = client_order_id.or_else(|| self.client_id_of(&order_id));
                        let after = o.created_s();
                        let s = o.to_status(coid).map_err(|e| parse_err("order", e))?;
                        let s = self.estimate_fee(s)?;
                        self.order_trades(TradesOf::new(s, after, true), None, ctx)
                    }
                    None => Err(PluginError::rejected(
                        "not_found",
                        format!("order {order_id} is not known to the venue"),
                    )),
                }
            }
            St::OpenOrders {
                instrument,
                mut acc,
                mut after,
                pages,
            } => {
                if !is_2xx(&r) {
                    return Err(self.fail("open orders", &r));
                }
                let page: Page<OpenOrder> =
                    Page::parse(&r.body).map_err(|e| parse_err("open orders", e))?;
                let (items, next) = page.split();
                for o in items {
                    let coid = self.client_id_of(&o.id);
                    after.push(o.created_s());
                    acc.push(o.to_status(coid).map_err(|e| parse_err("open orders", e))?);
                }
                match next {
                    Some(c) if pages + 1 < MAX_PAGES => {
                        self.open_orders_page(instrument, acc, after, Some(c), pages + 1, ctx)
                    }
                    // Matched orders get their fills read: fee and notional as booked.
                    _ => self.listing_fills(acc, after, 0, ctx),
                }
            }
            St::Fills {
                instrument,
                since_ms,
                mut acc,
                pages,
            } => {
                if !is_2xx(&r) {
                    return Err(self.fail("fills", &r));
                }
                let page: Page<Trade> = Page::parse(&r.body).map_err(|e| parse_err("trades", e))?;
                let (items, next) = page.split();
                let key = self.creds().map(|c| c.key).unwrap_or_default();
                let maker = self.s.maker.to_checksum();
                // The venue times trades in whole seconds (`match_time`): a fill in the same
                // second as `since_ms` is not older than it.
                let since = since_ms.map(|s| s.div_euclid(1000) * 1000);
                for t in items {
                    for mut f in t.fills(&key, &maker).map_err(|e| parse_err("trades", e))? {
                        if since.is_some_and(|s| f.ts_ms < s) {
                            continue;
                        }
                        if instrument.as_ref().is_some_and(|i| *i != f.instrument) {
                            continue;
                        }
                        f.client_order_id = self.client_id_of(&f.order_id);
                        acc.push(f);
                    }
                }
                match next {
                    Some(c) if pages + 1 < MAX_PAGES => {
                        self.fills_page(instrument, since_ms, acc, Some(c), pages + 1, ctx)
                    }
                    _ => done(OpResult::Fills { fills: acc }),
                }
            }
            St::ExchangeStatus => {
                let detail = |d: &str| Some(format!("CLOB GET /ok: {d}"));
                match r.status {
                    200..=299 => done(OpResult::ExchangeStatus {
                        trading: true,
                        detail: detail("healthy (a health check: post-only / cancel-only mode shows only on orders)"),
                    }),
                    // Matching engine restarting (polymarket.md §3.5): not trading now.
                    425 => done(OpResult::ExchangeStatus {
                        trading: false,
                        detail: detail("HTTP 425, matching engine restarting"),
                    }),
                    _ => {
                        let e = self.fail("exchange status", &r);
                        if matches!(&e.kind, ErrorKind::Rejected { code: c } if c == code::TRADING_RESTRICTED)
                        {
                            done(OpResult::ExchangeStatus {
                                trading: false,
                                detail: detail(&format!(
                                    "HTTP {}: {}",
                                    r.status,
                                    errors::error_text(&r.body)
                                )),
                            })
                        } else {
                            Err(e)
                        }
                    }
                }
            }
            St::Balance => {
                if !is_2xx(&r) {
                    return Err(self.fail("balance", &r));
                }
                let b = clob::parse_balance(&r.body)
                    .ok_or_else(|| parse_err("balance", "no balance field"))?;
                done(OpResult::Balance {
                    balance: Balance {
                        available: b,
                        total: b,
                    },
                })
            }
            St::Settlements(w) => self.closed_positions(w, &r, ctx),
            St::Positions => {
                if !is_2xx(&r) {
                    return Err(self.fail("positions", &r));
                }
                done(OpResult::Positions {
                    positions: parse_positions(&r.body)?,
                })
            }
            St::ResToken { instrument } => {
                if !is_2xx(&r) {
                    return Err(self.fail("market by token", &r));
                }
                let cid = clob::parse_condition_id(&r.body)
                    .ok_or_else(|| parse_err("market by token", "no condition_id"))?;
                lock(&self.cond).insert(instrument.clone(), cid.clone());
                let req =
                    HttpRequest::new("GET", self.clob(&format!("/markets/{}", enc(&cid))), "read");
                self.http(req, St::ResMarket { instrument })
            }
            St::ResMarket { instrument } => {
                if !is_2xx(&r) {
                    return Err(self.fail("market", &r));
                }
                let (closed, winner) = clob::parse_resolution(&r.body, &instrument)
                    .ok_or_else(|| parse_err("market", "no tokens"))?;
                let resolved = closed && winner.is_some();
                done(OpResult::Resolution {
                    resolution: Resolution {
                        instrument,
                        resolved,
                        payout: if winner == Some(true) {
                            Price::ONE
                        } else {
                            Price::ZERO
                        },
                    },
                })
            }
        }
    }

    fn rules_done(
        &self,
        instrument: &str,
        tick: i64,
        min_size: i64,
        fee_ppm: Option<u32>,
    ) -> PluginResult<Step> {
        done(OpResult::Rules {
            rules: InstrumentRules {
                tick: Price(tick),
                min_qty: Qty(min_size),
                qty_step: ORDER_STEP,
                min_notional: MIN_NOTIONAL,
                taker_fee: FeeModel::polymarket(fee_ppm.unwrap_or(self.s.fee_rate_ppm)),
                neg_risk: self.cached_meta(instrument).and_then(|m| m.neg_risk),
            },
        })
    }
}

/// `order` with its notional and fee replaced by the sums over `fills` (the venue's booking).
/// Shares the fills do not cover yet (trades still being listed) keep the order's estimate,
/// pro rata. `None` if a sum does not fit.
fn with_fills(mut order: OrderStatus, fills: &[plugin_api::Fill]) -> Option<OrderStatus> {
    if fills.is_empty() {
        tracing::warn!(order_id = %order.order_id, filled = %order.filled_qty, "no trades listed for a matched order; notional and fee stay estimated");
        return Some(order);
    }
    let mut covered = Qty::ZERO;
    let mut notional = Usd::ZERO;
    let mut fees = Usd::ZERO;
    for f in fills {
        covered = Qty(covered.0.checked_add(f.qty.0)?);
        notional = clob::sum_usd(notional, clob::notional(f.qty, f.price)?)?;
        fees = clob::sum_usd(fees, f.fee)?;
    }
    if covered < order.filled_qty {
        let rest = (order.filled_qty.0 - covered.0) as i128;
        let all = order.filled_qty.0 as i128;
        tracing::warn!(order_id = %order.order_id, filled = %order.filled_qty, covered = %covered, "trades cover part of the order; the rest stays estimated");
        let part = |v: Usd| i64::try_from(v.0 as i128 * rest / all).ok().map(Usd);
        notional = clob::sum_usd(notional, part(order.filled_notional)?)?;
        fees = clob::sum_usd(fees, part(order.fees)?)?;
    } else {
        if covered > order.filled_qty {
            tracing::warn!(order_id = %order.order_id, filled = %order.filled_qty, covered = %covered, "trades list more shares than the order reports; booking the trades");
        }
        order.filled_qty = covered;
    }
    order.filled_notional = notional;
    order.fees = fees;
    Some(order)
}

fn parse_creds(body: &[u8]) -> Option<ApiCreds> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct C {
        api_key: String,
        secret: String,
        passphrase: String,
    }
    let c: C = serde_json::from_slice(body).ok()?;
    ApiCreds::new(&c.api_key, &c.secret, &c.passphrase).ok()
}

fn parse_positions(body: &[u8]) -> PluginResult<Vec<Position>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct P {
        asset: String,
        size: Box<serde_json::value::RawValue>,
        #[serde(default)]
        initial_value: Option<Box<serde_json::value::RawValue>>,
        #[serde(default)]
        avg_price: Option<Box<serde_json::value::RawValue>>,
    }
    let ps: Vec<P> = serde_json::from_slice(body).map_err(|e| parse_err("positions", e))?;
    let bad = |asset: &str, field: &str, raw: &serde_json::value::RawValue| {
        parse_err(
            "positions",
            format!(
                "asset {asset}: {field} {:?} is not a valid decimal in range",
                dec::raw_text(raw)
            ),
        )
    };
    let mut out = Vec::with_capacity(ps.len());
    for p in ps {
        let raw_size = dec::raw_text(&p.size);
        let qty = dec::qty_nearest(raw_size).ok_or_else(|| bad(&p.asset, "size", &p.size))?;
        let cost = match (&p.initial_value, &p.avg_price) {
            (Some(v), _) => {
                dec::usd(dec::raw_text(v)).ok_or_else(|| bad(&p.asset, "initialValue", v))?
            }
            (None, Some(a)) => dec::parse_scaled(dec::raw_text(a), 6, Rounding::HalfUp)
                .and_then(|x| i64::try_from(x).ok())
                .filter(|x| (0..=Price::ONE.0).contains(x))
                .and_then(|x| clob::notional(qty, Price(x)))
                .ok_or_else(|| bad(&p.asset, "avgPrice", a))?,
            // The Data API sent no cost: unknown, reported as zero.
            (None, None) => Usd::ZERO,
        };
        if qty.0 > 0 {
            out.push(Position {
                instrument: p.asset,
                qty,
                cost,
            });
        }
    }
    Ok(out)
}

impl Venue for PolymarketVenue {
    fn create(config: VenueConfig) -> PluginResult<Self> {
        let s = Settings::parse(&config.settings, &config.secrets)?;
        let ex = Exchanges::v2(s.chain_id);
        Ok(PolymarketVenue {
            creds: Mutex::new(s.creds.clone()),
            s,
            ex,
            meta: Mutex::new(HashMap::new()),
            cond: Mutex::new(HashMap::new()),
            by_client: Mutex::new(HashMap::new()),
            by_digest: Mutex::new(HashMap::new()),
            fee_rates: Mutex::new(HashMap::new()),
        })
    }

    fn info(&self) -> VenueInfo {
        VenueInfo {
            name: "polymarket".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            rules: VenueRules::Polymarket,
            simulated: false,
            capabilities: {
                // Without a private key the instance serves public data only: it says so, so
                // a host never plans to trade through it.
                let public = [
                    "markets",
                    "listings",
                    "book",
                    "books",
                    "rules",
                    "resolution",
                    "exchange_status",
                ];
                let signed = [
                    "place_order",
                    "cancel_order",
                    "get_order",
                    "open_orders",
                    "fills",
                    "balance",
                    "positions",
                    "place_orders",
                    "cancel_orders",
                    "cancel_all",
                ];
                let trading: &[&str] = if self.s.wallet.is_some() {
                    &signed
                } else {
                    &[]
                };
                public
                    .iter()
                    .chain(trading)
                    .map(|s| s.to_string())
                    .collect()
            },
            // The trading endpoints' sustained limits (docs.polymarket.com rate limits:
            // `POST /order` 36,000 and `DELETE /order` 30,000 per 10 minutes), for the
            // `order` and `cancel` classes its requests carry; reads stay at the host's pace.
            rate_limits: [("order".to_string(), 60), ("cancel".to_string(), 50)]
                .into_iter()
                .collect(),
        }
    }

    fn begin(&self, op: VenueOp, ctx: CallCtx) -> PluginResult<Step> {
        if Self::needs_auth(&op) && self.creds().is_none() {
            let req = self.l1("POST", "/auth/api-key", &ctx)?;
            return self.http(req, St::L1Create { op: Box::new(op) });
        }
        self.start(op, &ctx)
    }

    fn resume(&self, state: String, response: HttpResponse, ctx: CallCtx) -> PluginResult<Step> {
        let st: St = serde_json::from_str(&state)
            .map_err(|e| PluginError::invalid(format!("unknown continuation state: {e}")))?;
        self.on_response(st, response, &ctx)
    }

    fn stream_spec(
        &self,
        channel: plugin_api::StreamChannel,
        _ctx: CallCtx,
    ) -> PluginResult<plugin_api::StreamSpec> {
        let has_account = self.s.wallet.is_some() || self.creds().is_some();
        crate::ws_stream::spec(&self.s, channel, has_account)
    }

    fn stream_messages(&self, request: plugin_api::StreamRequest) -> PluginResult<Vec<String>> {
        crate::ws_stream::messages(&request, self.creds().as_ref())
    }

    fn stream_parse(
        &self,
        channel: plugin_api::StreamChannel,
        frame: &str,
        _ctx: CallCtx,
    ) -> PluginResult<plugin_api::StreamFrame> {
        if channel == plugin_api::StreamChannel::User {
            let key = self.creds().map(|c| c.key).unwrap_or_default();
            let maker = self.s.maker.to_checksum();
            return crate::ws_stream::parse(channel, frame, Some((&key, &maker)));
        }
        crate::ws_stream::parse(channel, frame, None)
    }
}
