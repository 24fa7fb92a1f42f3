//! # Kalshi venue adapter for PolyMix
//!
//! A sans-IO [`Venue`]: every operation becomes one or more fully signed HTTP requests
//! ([`Step::Http`]) for the host to send, and the responses become typed results. Wire formats
//! follow the Trade API v2 as of late 2026 (`/work/shared/venues/kalshi.md`): V2 order
//! endpoints on a single YES book, fixed-point dollar and count strings, RSA-PSS request
//! signatures.
//!
//! * Settings: `environment` (`"prod"` default, or `"demo"`) **or** `base_url` (a test double,
//!   ending in `/trade-api/v2`); optional `tier` (`basic` default, `advanced`, `premier`,
//!   `paragon`, `prime`). Unknown keys are refused.
//! * Secrets: `api_key_id` and `private_key_pem` (RSA as PKCS#1 or PKCS#8, or Ed25519 as PKCS#8).
//!   Both or neither: without them only public market data (markets, book, rules, resolution)
//!   works.
//! * `presign_max_age_ms` (default 1000, 0 = off): the order-placement signature covers only
//!   timestamp, method and path, so it is prepared off the hot path ([`VenueOp::Prepare`]) and
//!   used by the next order if it is younger than this.
//! * Instruments: `TICKER:yes` and `TICKER:no`. Listings with a series go through
//!   `GET /events?with_nested_markets=true` (a game's markets together); without one through
//!   `GET /markets?mve_filter=exclude`.
//! * Continuation state (`Step::Http::state`) is a small JSON document owned by this plugin.
#![warn(missing_docs)]

pub mod auth;
pub mod book;
pub mod cancel_all;
pub mod errors;
pub mod listings;
pub mod markets;
pub mod num;
pub mod orders;
pub mod portfolio;
pub mod presign;
mod rehearse;
pub mod settings;
pub mod ws_lifecycle;
pub mod ws_stream;
pub mod ws_user;

use plugin_api::{
    CallCtx, Fill, HttpRequest, HttpResponse, NotCancelled, OpResult, OrderStatus, PluginError,
    PluginResult, Position, Settlement, Step, Venue, VenueConfig, VenueInfo, VenueOp, VenueRules,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

use auth::Signer;
use book::{is_url_safe_id, Instrument};
use errors::{api_error, ApiError, KalshiError};
use orders::{Created, Placed};
use presign::{PresignCache, Presigned};
use settings::Settings;

/// The one path whose signature is prepared ahead: order placement.
const PLACE_PATH: &str = "/portfolio/events/orders";

/// Page size for portfolio lists (Kalshi's default is 100).
const PAGE_LIMIT: u32 = 200;
/// Most market tickers asked for in one `GET /markets/orderbooks`.
const MAX_BOOK_TICKERS: usize = 100;
/// Upper bound on pages one operation follows, so a misbehaving cursor cannot loop forever.
const MAX_PAGES: u32 = 50;
/// Cancel-all lists at most `MAX_PAGES` pages of resting orders per round; with more, it lists
/// again after cancelling (at most this many rounds).
const MAX_CANCEL_ROUNDS: u32 = 5;

/// The Kalshi venue adapter. `Debug` never shows credentials.
pub struct KalshiVenue {
    instance: String,
    settings: Settings,
    signer: Option<Signer>,
    presign: PresignCache,
    /// Tickers the market connection's `market_lifecycle_v2` subscription covers.
    lifecycle: ws_stream::LifecycleTickers,
}

impl fmt::Debug for KalshiVenue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KalshiVenue")
            .field("instance", &self.instance)
            .field("base_url", &self.settings.base_url)
            .field("authenticated", &self.signer.is_some())
            .finish()
    }
}

/// Why a placement is being reconciled by client order id.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Cause {
    status: u16,
    code: String,
    message: String,
}

impl From<ApiError> for Cause {
    fn from(a: ApiError) -> Self {
        Cause {
            status: a.status,
            code: a.code,
            message: a.message,
        }
    }
}

/// Where an operation is, between two HTTP round trips.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Pending {
    Markets,
    Events,
    Listings {
        filter: plugin_api::ListingFilter,
    },
    Book {
        ins: Instrument,
    },
    Books {
        wanted: Vec<Instrument>,
    },
    Rules,
    RulesEvent {
        rules: plugin_api::InstrumentRules,
    },
    RulesSeries {
        rules: plugin_api::InstrumentRules,
        series: String,
        event: markets::FeeTerms,
    },
    ExchangeStatus,
    Resolution {
        ins: Instrument,
    },
    Place {
        placed: Placed,
    },
    PlaceFetch {
        placed: Placed,
        created: Created,
    },
    PlaceLookup {
        placed: Placed,
        cause: Cause,
        pages: u32,
    },
    Cancel {
        ins: Instrument,
        order_id: String,
    },
    OrderById {
        ins: Instrument,
    },
    FindOrder {
        ins: Instrument,
        coid: String,
        pages: u32,
    },
    OpenOrders {
        view: Option<Instrument>,
        acc: Vec<OrderStatus>,
        pages: u32,
    },
    Fills {
        view: Option<Instrument>,
        min_s: Option<i64>,
        acc: Vec<Fill>,
        pages: u32,
    },
    Balance,
    Positions {
        acc: Vec<Position>,
        pages: u32,
    },
    Settlements {
        market: Option<String>,
        min_s: Option<i64>,
        acc: Vec<Settlement>,
        pages: u32,
    },
    /// Cancel-all, listing resting orders.
    CancelAllList {
        #[serde(flatten)]
        run: CancelRun,
        pages: u32,
    },
    /// Cancel-all, a batch cancel in flight (`sent`), more to go in `run.queue`.
    CancelAllBatch {
        #[serde(flatten)]
        run: CancelRun,
        sent: Vec<cancel_all::Target>,
    },
}

/// What a cancel-all carries between its round trips.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CancelRun {
    /// Only this market, if the caller named an instrument.
    ticker: Option<String>,
    /// Resting orders listed and not yet sent.
    queue: Vec<cancel_all::Target>,
    /// The listing stopped at the page limit with more to read.
    more: bool,
    /// Listing rounds started.
    round: u32,
    cancelled: Vec<String>,
    not_cancelled: Vec<NotCancelled>,
}

impl CancelRun {
    /// Ids already tried, so a later round does not send them again.
    fn tried(&self) -> Vec<String> {
        self.cancelled
            .iter()
            .cloned()
            .chain(self.not_cancelled.iter().map(|n| n.order_id.clone()))
            .collect()
    }
}

/// Percent-encodes a query value (cursors are opaque and may contain `+`, `/`, `=`).
fn enc(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn query(pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    format!("?{}", parts.join("&"))
}

fn done(result: OpResult) -> PluginResult<Step> {
    Ok(Step::Done { result })
}

impl KalshiVenue {
    /// Requests per second `(read, write)` the configured tier allows; the host paces by it
    /// (advertised in [`VenueInfo::rate_limits`]).
    pub fn rate_limits(&self) -> (u32, u32) {
        self.settings.tier.requests_per_second()
    }

    /// Signs the order path now if no fresh prepared signature is waiting.
    fn prepare(&self, ctx: &CallCtx) -> PluginResult<Step> {
        let Some(signer) = self.signer.as_ref().filter(|_| self.presign.enabled()) else {
            return Err(PluginError::unsupported("prepare"));
        };
        if self.presign.needs(ctx.now_ms) {
            let path = format!("{}{PLACE_PATH}", self.settings.path_prefix);
            self.presign.put(Presigned {
                ts_ms: ctx.now_ms,
                signature: signer.sign(ctx.now_ms, "POST", &path)?,
            });
        }
        done(OpResult::Prepared)
    }

    fn signer(&self) -> Result<&Signer, KalshiError> {
        self.signer.as_ref().ok_or_else(|| {
            KalshiError::Credentials(
                "secrets `api_key_id` and `private_key_pem` are needed for portfolio and order \
                 endpoints"
                    .into(),
            )
        })
    }

    /// Builds a request to `path` (relative to the API root). Authenticated requests carry the
    /// three signature headers over the full path without the query. Public market data is
    /// sent unsigned: Kalshi does not require it there, and an RSA signature costs about a
    /// millisecond on the book path.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        method: &str,
        path: &str,
        q: &[(&str, String)],
        body: Option<Vec<u8>>,
        auth: bool,
        rate_class: &str,
        ctx: &CallCtx,
    ) -> Result<HttpRequest, KalshiError> {
        let headers = if auth {
            let signer = self.signer()?;
            let prepared = (method == "POST" && path == PLACE_PATH)
                .then(|| self.presign.take(ctx.now_ms))
                .flatten();
            Some(match prepared {
                Some(p) => signer.headers_with(p.ts_ms, p.signature),
                None => {
                    let signed_path = format!("{}{path}", self.settings.path_prefix);
                    signer.headers(ctx.now_ms, method, &signed_path)?
                }
            })
        } else {
            None
        };
        Ok(self.assemble(method, path, q, body, headers, rate_class))
    }

    /// The request to `path` with the given authentication headers, if any.
    fn assemble(
        &self,
        method: &str,
        path: &str,
        q: &[(&str, String)],
        body: Option<Vec<u8>>,
        auth: Option<[(&'static str, String); 3]>,
        rate_class: &str,
    ) -> HttpRequest {
        let url = format!("{}{path}{}", self.settings.base_url, query(q));
        let mut req =
            HttpRequest::new(method, url, rate_class).header("accept", "application/json");
        for (k, v) in auth.into_iter().flatten() {
            req = req.header(k, v);
        }
        if let Some(b) = body {
            req = req.json_body(b);
        }
        req
    }

    fn http(&self, req: HttpRequest, p: &Pending) -> PluginResult<Step> {
        let state = serde_json::to_string(p)
            .map_err(|e| KalshiError::State(format!("cannot encode state: {e}")))?;
        Ok(Step::Http {
            request: req,
            state,
        })
    }

    fn get(
        &self,
        path: &str,
        q: &[(&str, String)],
        auth: bool,
        ctx: &CallCtx,
        p: Pending,
    ) -> PluginResult<Step> {
        let req = self.request("GET", path, q, None, auth, "read", ctx)?;
        self.http(req, &p)
    }

    /// One page of an authenticated portfolio list: the given filters (those set), Kalshi's
    /// page size, and the cursor of the previous page.
    fn portfolio_page(
        &self,
        path: &str,
        filters: &[(&'static str, Option<String>)],
        cursor: Option<&str>,
        ctx: &CallCtx,
        p: Pending,
    ) -> PluginResult<Step> {
        let mut q: Vec<(&str, String)> = filters
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (*k, v)))
            .collect();
        q.push(("limit", PAGE_LIMIT.to_string()));
        if let Some(c) = cursor {
            q.push(("cursor", c.to_string()));
        }
        self.get(path, &q, true, ctx, p)
    }

    fn orders_page(
        &self,
        ticker: Option<&str>,
        status: Option<&str>,
        cursor: Option<&str>,
        ctx: &CallCtx,
        p: Pending,
    ) -> PluginResult<Step> {
        let filters = [
            ("ticker", ticker.map(str::to_string)),
            ("status", status.map(str::to_string)),
        ];
        self.portfolio_page("/portfolio/orders", &filters, cursor, ctx, p)
    }

    fn order_by_id(&self, order_id: &str, ctx: &CallCtx, p: Pending) -> PluginResult<Step> {
        if !is_url_safe_id(order_id) {
            return Err(KalshiError::Input(format!(
                "order id {order_id:?} is not a Kalshi order id"
            ))
            .into());
        }
        self.get(&format!("/portfolio/orders/{order_id}"), &[], true, ctx, p)
    }

    fn fills_page(
        &self,
        view: &Option<Instrument>,
        min_s: Option<i64>,
        cursor: Option<&str>,
        ctx: &CallCtx,
        p: Pending,
    ) -> PluginResult<Step> {
        let ticker = view.as_ref().map(|v| v.ticker.as_str());
        self.history_page("/portfolio/fills", ticker, min_s, cursor, ctx, p)
    }

    /// One page of a portfolio history list (fills, settlements): by ticker, from `min_ts`
    /// (Unix seconds), following `cursor`.
    fn history_page(
        &self,
        path: &str,
        ticker: Option<&str>,
        min_s: Option<i64>,
        cursor: Option<&str>,
        ctx: &CallCtx,
        p: Pending,
    ) -> PluginResult<Step> {
        let filters = [
            ("ticker", ticker.map(str::to_string)),
            ("min_ts", min_s.map(|s| s.to_string())),
        ];
        self.portfolio_page(path, &filters, cursor, ctx, p)
    }

    fn positions_page(
        &self,
        cursor: Option<&str>,
        ctx: &CallCtx,
        p: Pending,
    ) -> PluginResult<Step> {
        let filters = [("count_filter", Some("position".to_string()))];
        self.portfolio_page("/portfolio/positions", &filters, cursor, ctx, p)
    }

    /// The decoded JSON of a successful response, or Kalshi's error.
    fn check(resp: &HttpResponse) -> Result<Value, ApiError> {
        if let Some(e) = api_error(resp) {
            return Err(e);
        }
        if resp.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&resp.body).map_err(|e| ApiError {
            status: resp.status,
            code: "invalid_json".into(),
            message: format!("response is not JSON: {e}"),
        })
    }

    fn fail(&self, e: ApiError) -> PluginError {
        // A 2xx that is not JSON is a parse problem, not a venue rejection.
        if (200..300).contains(&e.status) && e.code == "invalid_json" {
            return KalshiError::parse("response", e.message).into();
        }
        e.into_error(self.settings.environment).into()
    }

    fn next_cursor(v: &Value) -> Option<String> {
        v.get("cursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
    }

    fn orders_in(v: &Value) -> Result<&Vec<Value>, KalshiError> {
        v.get("orders")
            .and_then(Value::as_array)
            .ok_or_else(|| KalshiError::parse("orders", "no `orders` array"))
    }

    fn order_in(v: &Value, ins: &Instrument) -> Result<OrderStatus, KalshiError> {
        let o = v
            .get("order")
            .filter(|o| o.is_object())
            .ok_or_else(|| KalshiError::parse("order", "no `order` object"))?;
        orders::parse_order(o, Some(ins))
    }

    /// Looks for `coid` in one page of orders.
    fn find_coid(
        v: &Value,
        coid: &str,
        ins: &Instrument,
    ) -> Result<Option<OrderStatus>, KalshiError> {
        for o in Self::orders_in(v)? {
            if o.get("client_order_id").and_then(Value::as_str) == Some(coid) {
                return orders::parse_order(o, Some(ins)).map(Some);
            }
        }
        Ok(None)
    }

    fn resume_inner(&self, p: Pending, resp: HttpResponse, ctx: CallCtx) -> PluginResult<Step> {
        match p {
            Pending::Place { placed } => {
                let created = Self::check(&resp).map(|v| {
                    orders::parse_created(&v).and_then(|c| {
                        let status = orders::status_from_created(&placed, &c)?;
                        Ok((c, status))
                    })
                });
                match created {
                    Ok(Ok((c, _))) if c.filled.0 > 0 => {
                        // Something traded: read the order back for exact cost and fees.
                        let id = c.order_id.clone();
                        self.order_by_id(&id, &ctx, Pending::PlaceFetch { placed, created: c })
                    }
                    Ok(Ok((_, order))) => done(OpResult::Order { order }),
                    // A 2xx we cannot read (or whose numbers are out of range) means the
                    // order probably exists: find it.
                    Ok(Err(e)) => {
                        let cause = Cause {
                            status: resp.status,
                            code: "unreadable_response".into(),
                            message: e.to_string(),
                        };
                        self.place_lookup(placed, cause, None, 0, &ctx)
                    }
                    // A 2xx whose body is not JSON: the venue took the order and the answer
                    // was mangled on the way; find it.
                    Err(e) if (200..300).contains(&e.status) && e.code == "invalid_json" => {
                        let cause = Cause {
                            status: e.status,
                            code: "unreadable_response".into(),
                            message: e.message,
                        };
                        self.place_lookup(placed, cause, None, 0, &ctx)
                    }
                    // 409: the client_order_id may already be in use (a retried submit); 5xx
                    // or a transport failure (status 0): the order may have been accepted
                    // before the failure. Either way, look it up by client_order_id rather
                    // than failing or resending.
                    Err(e) if e.maybe_duplicate() || e.status >= 500 || e.status == 0 => {
                        self.place_lookup(placed, e.into(), None, 0, &ctx)
                    }
                    Err(e) => Err(self.fail(e)),
                }
            }
            Pending::PlaceFetch { placed, created } => {
                let read = Self::check(&resp)
                    .ok()
                    .and_then(|v| Self::order_in(&v, &placed.ins).ok())
                    .map(|mut o| {
                        o.client_order_id
                            .get_or_insert(placed.client_order_id.clone());
                        o
                    });
                // The order exists whatever the read says: the create answer stands in (it
                // was range-checked when first read, so this cannot fail in practice).
                let order = match read {
                    Some(o) => o,
                    None => orders::status_from_created(&placed, &created).map_err(|e| {
                        KalshiError::OutcomeUnknown(format!(
                            "order {} on {}: it exists but its fill could not be read ({e}); \
                             look it up by client_order_id",
                            placed.client_order_id, placed.ins
                        ))
                    })?,
                };
                done(OpResult::Order { order })
            }
            Pending::PlaceLookup {
                placed,
                cause,
                pages,
            } => {
                let v = match Self::check(&resp) {
                    Ok(v) => v,
                    Err(e) => {
                        return Err(KalshiError::OutcomeUnknown(format!(
                            "order {} on {}: the submit answered HTTP {} `{}` and the lookup by \
                             client_order_id failed (HTTP {} `{}`); the order may exist, look it \
                             up by client_order_id before resending",
                            placed.client_order_id,
                            placed.ins,
                            cause.status,
                            cause.code,
                            e.status,
                            e.code
                        ))
                        .into())
                    }
                };
                if let Some(mut o) = Self::find_coid(&v, &placed.client_order_id, &placed.ins)? {
                    o.client_order_id
                        .get_or_insert(placed.client_order_id.clone());
                    return done(OpResult::Order { order: o });
                }
                if let Some(c) = Self::next_cursor(&v).filter(|_| pages + 1 < MAX_PAGES) {
                    return self.place_lookup(placed, cause, Some(&c), pages + 1, &ctx);
                }
                // Not there (yet). Every cause that leads here (an unreadable 2xx, a 5xx, a
                // transport failure, a 409 that may be our own id) is a write the venue may
                // have processed, and an order can show up in the list late: "not found" is
                // not final, so the outcome is unknown and the engine reconciles by id.
                Err(KalshiError::OutcomeUnknown(format!(
                    "order {} on {}: the submit answered HTTP {} `{}` ({}) and no order with \
                     client_order_id {} is listed yet; the order may exist, look it up by \
                     client_order_id before resending",
                    placed.client_order_id,
                    placed.ins,
                    cause.status,
                    cause.code,
                    cause.message,
                    placed.client_order_id
                ))
                .into())
            }
            Pending::Cancel { ins, order_id } => match Self::check(&resp) {
                // Read the order back so the caller gets its final state and filled amount.
                Ok(_) => self.order_by_id(&order_id, &ctx, Pending::OrderById { ins }),
                // Already gone (filled or cancelled): its state is still readable.
                Err(e) if e.status == 404 => {
                    self.order_by_id(&order_id, &ctx, Pending::OrderById { ins })
                }
                Err(e) => Err(self.fail(e)),
            },
            Pending::OrderById { ins } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                done(OpResult::Order {
                    order: Self::order_in(&v, &ins)?,
                })
            }
            Pending::FindOrder { ins, coid, pages } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                if let Some(o) = Self::find_coid(&v, &coid, &ins)? {
                    return done(OpResult::Order { order: o });
                }
                match Self::next_cursor(&v).filter(|_| pages + 1 < MAX_PAGES) {
                    Some(c) => self.orders_page(
                        Some(&ins.ticker.clone()),
                        None,
                        Some(&c),
                        &ctx,
                        Pending::FindOrder {
                            ins,
                            coid,
                            pages: pages + 1,
                        },
                    ),
                    None => Err(PluginError::rejected(
                        "not_found",
                        format!("no order with client_order_id {coid} on {ins}"),
                    )),
                }
            }
            Pending::OpenOrders {
                view,
                mut acc,
                pages,
            } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                for o in Self::orders_in(&v)? {
                    acc.push(orders::parse_order(o, view.as_ref())?);
                }
                match Self::next_cursor(&v).filter(|_| pages + 1 < MAX_PAGES) {
                    Some(c) => {
                        let t = view.as_ref().map(|i| i.ticker.clone());
                        self.orders_page(
                            t.as_deref(),
                            Some("resting"),
                            Some(&c),
                            &ctx,
                            Pending::OpenOrders {
                                view,
                                acc,
                                pages: pages + 1,
                            },
                        )
                    }
                    None => done(OpResult::Orders { orders: acc }),
                }
            }
            Pending::Fills {
                view,
                min_s,
                mut acc,
                pages,
            } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                let arr = v
                    .get("fills")
                    .and_then(Value::as_array)
                    .ok_or_else(|| KalshiError::parse("fills", "no `fills` array"))?;
                for f in arr {
                    acc.push(orders::parse_fill(f, view.as_ref())?);
                }
                match Self::next_cursor(&v).filter(|_| pages + 1 < MAX_PAGES) {
                    Some(c) => self.fills_page(
                        &view.clone(),
                        min_s,
                        Some(&c),
                        &ctx,
                        Pending::Fills {
                            view,
                            min_s,
                            acc,
                            pages: pages + 1,
                        },
                    ),
                    None => done(OpResult::Fills { fills: acc }),
                }
            }
            Pending::Positions { mut acc, pages } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                acc.extend(portfolio::parse_positions(&v)?);
                match Self::next_cursor(&v).filter(|_| pages + 1 < MAX_PAGES) {
                    Some(c) => self.positions_page(
                        Some(&c),
                        &ctx,
                        Pending::Positions {
                            acc,
                            pages: pages + 1,
                        },
                    ),
                    None => done(OpResult::Positions { positions: acc }),
                }
            }
            Pending::Settlements {
                market,
                min_s,
                mut acc,
                pages,
            } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                acc.extend(portfolio::parse_settlements(&v)?);
                match Self::next_cursor(&v).filter(|_| pages + 1 < MAX_PAGES) {
                    Some(c) => self.history_page(
                        "/portfolio/settlements",
                        market.clone().as_deref(),
                        min_s,
                        Some(&c),
                        &ctx,
                        Pending::Settlements {
                            market,
                            min_s,
                            acc,
                            pages: pages + 1,
                        },
                    ),
                    None => done(OpResult::Settlements { settlements: acc }),
                }
            }
            Pending::CancelAllList { mut run, pages } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                let tried = run.tried();
                run.queue.extend(cancel_all::resting_targets(&v, &tried)?);
                match Self::next_cursor(&v) {
                    Some(c) if pages + 1 < MAX_PAGES => {
                        self.cancel_all_list(run, Some(&c), pages + 1, &ctx)
                    }
                    c => {
                        run.more = c.is_some();
                        self.cancel_all_next(run, &ctx)
                    }
                }
            }
            Pending::CancelAllBatch { mut run, sent } => {
                match Self::check(&resp) {
                    Ok(v) => match cancel_all::parse_batch(&v, &sent) {
                        Ok((ok, refused)) => {
                            run.cancelled.extend(ok);
                            run.not_cancelled.extend(refused);
                        }
                        Err(e) => run.not_cancelled.extend(cancel_all::all_failed(
                            &sent,
                            &format!(
                                "{e}; whether they were cancelled is unknown, list open orders"
                            ),
                        )),
                    },
                    Err(e) => {
                        let reason = format!(
                            "batch cancel answered HTTP {} `{}`: {}",
                            e.status, e.code, e.message
                        );
                        run.not_cancelled
                            .extend(cancel_all::all_failed(&sent, &reason));
                        // Refused credentials refuse every batch: do not send the rest.
                        if matches!(e.status, 401 | 403) {
                            let rest = std::mem::take(&mut run.queue);
                            run.not_cancelled
                                .extend(cancel_all::all_failed(&rest, &reason));
                            run.more = false;
                        }
                    }
                }
                self.cancel_all_next(run, &ctx)
            }
            Pending::Balance => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                done(OpResult::Balance {
                    balance: portfolio::parse_balance(&v)?,
                })
            }
            Pending::Markets => {
                if let Some(e) = api_error(&resp) {
                    return Err(self.fail(e));
                }
                let (markets, next_cursor) = markets::parse_markets_bytes(&resp.body)?;
                done(OpResult::Markets {
                    markets,
                    next_cursor,
                })
            }
            Pending::Events => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                let (markets, next_cursor) = markets::parse_events(&v)?;
                done(OpResult::Markets {
                    markets,
                    next_cursor,
                })
            }
            Pending::Listings { filter } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                let (listings, next_cursor) = listings::parse_listings(&v, &filter)?;
                done(OpResult::Listings {
                    listings,
                    next_cursor,
                })
            }
            Pending::Book { ins } => {
                if let Some(e) = api_error(&resp) {
                    return Err(self.fail(e));
                }
                done(OpResult::Book {
                    book: book::parse_book_bytes(&resp.body, &ins, ctx.now_ms)?,
                })
            }
            Pending::Books { wanted } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                done(OpResult::Books {
                    books: book::parse_orderbooks(&v, &wanted, ctx.now_ms)?,
                })
            }
            Pending::Rules => {
                // Tick and size from the market; the fee from its event and series.
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                let rules = markets::parse_rules(&v)?;
                let event = markets::event_of(&v)?;
                if !is_url_safe_id(&event) {
                    return Err(
                        KalshiError::parse("market", format!("event ticker {event:?}")).into(),
                    );
                }
                self.get(
                    &format!("/events/{event}"),
                    &[],
                    false,
                    &ctx,
                    Pending::RulesEvent { rules },
                )
            }
            Pending::RulesEvent { rules } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                let (series, event) = markets::parse_event_fees(&v)?;
                if !is_url_safe_id(&series) {
                    return Err(
                        KalshiError::parse("event", format!("series ticker {series:?}")).into(),
                    );
                }
                self.get(
                    &format!("/series/{series}"),
                    &[],
                    false,
                    &ctx,
                    Pending::RulesSeries {
                        rules,
                        series,
                        event,
                    },
                )
            }
            Pending::RulesSeries {
                mut rules,
                series,
                event,
            } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                let terms = markets::parse_series_fees(&v)?;
                rules.taker_fee = markets::taker_fee(&series, &event, &terms)?;
                done(OpResult::Rules { rules })
            }
            Pending::ExchangeStatus => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                let (trading, detail) = markets::parse_exchange_status(&v)?;
                done(OpResult::ExchangeStatus { trading, detail })
            }
            Pending::Resolution { ins } => {
                let v = Self::check(&resp).map_err(|e| self.fail(e))?;
                done(OpResult::Resolution {
                    resolution: markets::parse_resolution(&v, &ins)?,
                })
            }
        }
    }

    fn cancel_all_list(
        &self,
        run: CancelRun,
        cursor: Option<&str>,
        pages: u32,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let ticker = run.ticker.clone();
        self.orders_page(
            ticker.as_deref(),
            Some("resting"),
            cursor,
            ctx,
            Pending::CancelAllList { run, pages },
        )
    }

    /// Sends the next batch of the queue; when it is empty, lists again if the last listing
    /// was cut short, else reports.
    fn cancel_all_next(&self, mut run: CancelRun, ctx: &CallCtx) -> PluginResult<Step> {
        if run.queue.is_empty() {
            if run.more && run.round < MAX_CANCEL_ROUNDS {
                run.more = false;
                run.round += 1;
                return self.cancel_all_list(run, None, 0, ctx);
            }
            return done(OpResult::Cancelled {
                cancelled: run.cancelled,
                not_cancelled: run.not_cancelled,
            });
        }
        let n = run.queue.len().min(cancel_all::BATCH);
        let sent: Vec<cancel_all::Target> = run.queue.drain(..n).collect();
        let body = cancel_all::batch_body(&sent)?;
        let req = self.request(
            "DELETE",
            "/portfolio/events/orders/batched",
            &[],
            Some(body),
            true,
            "write",
            ctx,
        )?;
        self.http(req, &Pending::CancelAllBatch { run, sent })
    }

    fn place_lookup(
        &self,
        placed: Placed,
        cause: Cause,
        cursor: Option<&str>,
        pages: u32,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let t = placed.ins.ticker.clone();
        self.orders_page(
            Some(&t),
            None,
            cursor,
            ctx,
            Pending::PlaceLookup {
                placed,
                cause,
                pages,
            },
        )
    }
}

impl Venue for KalshiVenue {
    fn create(config: VenueConfig) -> PluginResult<Self> {
        let settings = Settings::from_json(&config.settings)?;
        let key_id = config.secrets.get("api_key_id");
        let pem = config.secrets.get("private_key_pem");
        let signer = match (key_id, pem) {
            (Some(id), Some(pem)) => Some(Signer::new(id.expose(), pem.expose())?),
            (None, None) => None,
            (Some(_), None) => {
                return Err(KalshiError::Credentials(
                    "secret `private_key_pem` is not configured (`api_key_id` is)".into(),
                )
                .into())
            }
            (None, Some(_)) => {
                return Err(KalshiError::Credentials(
                    "secret `api_key_id` is not configured (`private_key_pem` is)".into(),
                )
                .into())
            }
        };
        tracing::debug!(instance = %config.instance, base_url = %settings.base_url, authenticated = signer.is_some(), "kalshi venue created");
        Ok(KalshiVenue {
            instance: config.instance,
            presign: PresignCache::new(settings.presign_max_age_ms),
            settings,
            signer,
            lifecycle: Default::default(),
        })
    }

    fn info(&self) -> VenueInfo {
        VenueInfo {
            name: "kalshi".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            rules: VenueRules::Kalshi,
            simulated: false,
            capabilities: [
                "markets",
                "listings",
                "book",
                "books",
                "rules",
                "place_order",
                "cancel_order",
                "get_order",
                "open_orders",
                "fills",
                "balance",
                "positions",
                "resolution",
                "settlements",
                "exchange_status",
                "prepare",
                "cancel_all",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rate_limits: {
                let (read, write) = self.rate_limits();
                [("read".to_string(), read), ("write".to_string(), write)]
                    .into_iter()
                    .collect()
            },
        }
    }

    fn begin(&self, op: VenueOp, ctx: CallCtx) -> PluginResult<Step> {
        match op {
            VenueOp::Markets { filter } => {
                if let Some(s) = filter.status.as_deref() {
                    if !matches!(s, "unopened" | "open" | "paused" | "closed" | "settled") {
                        return Err(KalshiError::Input(format!(
                            "market status filter {s:?} is not one of unopened, open, paused, closed, settled"
                        ))
                        .into());
                    }
                }
                let mut q = Vec::new();
                let cursor = filter.cursor.filter(|c| !c.is_empty());
                match filter.series {
                    // A series (e.g. KXNBAGAME) is listed by event, each game's markets
                    // together, paged by event.
                    Some(series) => {
                        if filter.status.as_deref() == Some("paused") {
                            return Err(KalshiError::Input(
                                "events have no `paused` status; list markets without a series to filter paused ones".into(),
                            )
                            .into());
                        }
                        q.push(("series_ticker", series));
                        q.push(("with_nested_markets", "true".into()));
                        if let Some(s) = filter.status {
                            q.push(("status", s));
                        }
                        q.push((
                            "limit",
                            filter.limit.unwrap_or(100).clamp(1, 200).to_string(),
                        ));
                        if let Some(c) = cursor {
                            q.push(("cursor", c));
                        }
                        self.get("/events", &q, false, &ctx, Pending::Events)
                    }
                    None => {
                        if let Some(s) = filter.status {
                            q.push(("status", s));
                        }
                        // Multivariate parlay markets flood listings and cannot be traded as
                        // outcomes.
                        q.push(("mve_filter", "exclude".into()));
                        q.push((
                            "limit",
                            filter.limit.unwrap_or(200).clamp(1, 1000).to_string(),
                        ));
                        if let Some(c) = cursor {
                            q.push(("cursor", c));
                        }
                        self.get("/markets", &q, false, &ctx, Pending::Markets)
                    }
                }
            }
            VenueOp::Listings { filter } => {
                let series = filter.series.clone().ok_or_else(|| {
                    KalshiError::Input("listings need a series ticker, e.g. KXNBAGAME".into())
                })?;
                let mut q = vec![
                    ("series_ticker", series),
                    ("with_nested_markets", "true".to_string()),
                    ("with_milestones", "true".to_string()),
                    (
                        "limit",
                        filter.limit.unwrap_or(100).clamp(1, 200).to_string(),
                    ),
                ];
                if filter.open_only {
                    q.push(("status", "open".into()));
                }
                if let Some(c) = filter.cursor.clone().filter(|c| !c.is_empty()) {
                    q.push(("cursor", c));
                }
                self.get("/events", &q, false, &ctx, Pending::Listings { filter })
            }
            VenueOp::Book { instrument } => {
                let ins = Instrument::parse(&instrument)?;
                let path = format!("/markets/{}/orderbook", ins.ticker);
                self.get(&path, &[], false, &ctx, Pending::Book { ins })
            }
            VenueOp::Books { instruments } => {
                let wanted = instruments
                    .iter()
                    .map(|i| Instrument::parse(i))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut tickers: Vec<&str> = wanted.iter().map(|i| i.ticker.as_str()).collect();
                tickers.sort_unstable();
                tickers.dedup();
                if tickers.is_empty() || tickers.len() > MAX_BOOK_TICKERS {
                    return Err(KalshiError::Input(format!(
                        "books takes 1 to {MAX_BOOK_TICKERS} market tickers, not {}",
                        tickers.len()
                    ))
                    .into());
                }
                // Kalshi's collection format here is a repeated parameter (kalshi.md §3.1).
                let q: Vec<(&str, String)> =
                    tickers.iter().map(|t| ("tickers", t.to_string())).collect();
                self.get(
                    "/markets/orderbooks",
                    &q,
                    false,
                    &ctx,
                    Pending::Books { wanted },
                )
            }
            VenueOp::Rules { instrument } => {
                let ins = Instrument::parse(&instrument)?;
                self.get(
                    &format!("/markets/{}", ins.ticker),
                    &[],
                    false,
                    &ctx,
                    Pending::Rules,
                )
            }
            VenueOp::Resolution { instrument } => {
                let ins = Instrument::parse(&instrument)?;
                let path = format!("/markets/{}", ins.ticker);
                self.get(&path, &[], false, &ctx, Pending::Resolution { ins })
            }
            VenueOp::PlaceOrder { order } => {
                let ins = Instrument::parse(&order.instrument)?;
                let (body, placed) = orders::place_body(&order, &ins, ctx.now_ms)?;
                let req = self.request(
                    "POST",
                    "/portfolio/events/orders",
                    &[],
                    Some(body),
                    true,
                    "write",
                    &ctx,
                )?;
                debug_assert!(!req.idempotent);
                self.http(req, &Pending::Place { placed })
            }
            VenueOp::CancelOrder {
                order_id,
                instrument,
            } => {
                let ins = Instrument::parse(&instrument)?;
                if !is_url_safe_id(&order_id) {
                    return Err(KalshiError::Input(format!(
                        "order id {order_id:?} is not a Kalshi order id"
                    ))
                    .into());
                }
                let path = format!("/portfolio/events/orders/{order_id}");
                let q = [("market_ticker", ins.ticker.clone())];
                let req = self.request("DELETE", &path, &q, None, true, "write", &ctx)?;
                self.http(req, &Pending::Cancel { ins, order_id })
            }
            VenueOp::GetOrder {
                order_id,
                client_order_id,
                instrument,
            } => {
                let ins = Instrument::parse(&instrument)?;
                match (order_id, client_order_id) {
                    (Some(id), _) => self.order_by_id(&id, &ctx, Pending::OrderById { ins }),
                    (None, Some(coid)) => {
                        let t = ins.ticker.clone();
                        self.orders_page(
                            Some(&t),
                            None,
                            None,
                            &ctx,
                            Pending::FindOrder {
                                ins,
                                coid,
                                pages: 0,
                            },
                        )
                    }
                    (None, None) => Err(KalshiError::Input(
                        "get_order needs an order_id or a client_order_id".into(),
                    )
                    .into()),
                }
            }
            VenueOp::OpenOrders { instrument } => {
                let view = instrument.as_deref().map(Instrument::parse).transpose()?;
                let t = view.as_ref().map(|i| i.ticker.clone());
                self.orders_page(
                    t.as_deref(),
                    Some("resting"),
                    None,
                    &ctx,
                    Pending::OpenOrders {
                        view,
                        acc: Vec::new(),
                        pages: 0,
                    },
                )
            }
            VenueOp::Fills {
                instrument,
                since_ms,
            } => {
                let view = instrument.as_deref().map(Instrument::parse).transpose()?;
                // Kalshi filters fills by whole seconds; round down so nothing is missed.
                let min_s = since_ms.map(|ms| ms.div_euclid(1000));
                self.fills_page(
                    &view,
                    min_s,
                    None,
                    &ctx,
                    Pending::Fills {
                        view: view.clone(),
                        min_s,
                        acc: Vec::new(),
                        pages: 0,
                    },
                )
            }
            VenueOp::Balance => self.get("/portfolio/balance", &[], true, &ctx, Pending::Balance),
            VenueOp::Positions => self.positions_page(
                None,
                &ctx,
                Pending::Positions {
                    acc: Vec::new(),
                    pages: 0,
                },
            ),
            VenueOp::Settlements { market, since_ms } => {
                if let Some(m) = market.as_deref().filter(|m| !is_url_safe_id(m)) {
                    return Err(
                        KalshiError::Input(format!("{m:?} is not a Kalshi market ticker")).into(),
                    );
                }
                // Whole seconds, rounded down so nothing is missed.
                let min_s = since_ms.map(|ms| ms.div_euclid(1000));
                self.history_page(
                    "/portfolio/settlements",
                    market.as_deref(),
                    min_s,
                    None,
                    &ctx,
                    Pending::Settlements {
                        market: market.clone(),
                        min_s,
                        acc: Vec::new(),
                        pages: 0,
                    },
                )
            }
            VenueOp::CancelAll { instrument } => {
                // Kalshi has one book per market: an instrument (`T:yes` or `T:no`) names its
                // market, and every resting order there is cancelled.
                let ticker = instrument
                    .as_deref()
                    .map(Instrument::parse)
                    .transpose()?
                    .map(|i| i.ticker);
                self.cancel_all_list(
                    CancelRun {
                        ticker,
                        round: 1,
                        ..CancelRun::default()
                    },
                    None,
                    0,
                    &ctx,
                )
            }
            VenueOp::Prepare => self.prepare(&ctx),
            VenueOp::Rehearse { order } => self.rehearse(&order, &ctx),
            VenueOp::ExchangeStatus => self.get(
                "/exchange/status",
                &[],
                false,
                &ctx,
                Pending::ExchangeStatus,
            ),
            other => Err(PluginError::unsupported(other.name())),
        }
    }

    fn resume(&self, state: String, response: HttpResponse, ctx: CallCtx) -> PluginResult<Step> {
        let p: Pending =
            serde_json::from_str(&state).map_err(|e| KalshiError::State(format!("{e}")))?;
        self.resume_inner(p, response, ctx)
    }

    fn stream_spec(
        &self,
        channel: plugin_api::StreamChannel,
        ctx: CallCtx,
    ) -> PluginResult<plugin_api::StreamSpec> {
        ws_stream::spec(&self.settings, self.signer.as_ref(), channel, &ctx)
    }

    fn stream_messages(&self, request: plugin_api::StreamRequest) -> PluginResult<Vec<String>> {
        ws_stream::messages(&request, &self.lifecycle)
    }

    fn stream_parse(
        &self,
        channel: plugin_api::StreamChannel,
        frame: &str,
        ctx: CallCtx,
    ) -> PluginResult<plugin_api::StreamFrame> {
        ws_stream::parse(channel, frame, &ctx)
    }
}

/// Secrets the host reads from the seed's environment variables when the config names no
/// source for them.
pub const DECLARATION: plugin_api::Declaration = plugin_api::Declaration::new(
    &[],
    &[
        plugin_api::SecretDecl::new("api_key_id", "KALSHI_API_KEY_ID"),
        plugin_api::SecretDecl::new("private_key_pem", "KALSHI_PRIVATE_KEY"),
    ],
);

/// The cdylib's root module. The macro's items carry no docs, hence the local allow; the
/// exported symbol is `#[no_mangle]`, so the private module does not hide it from the loader.
#[allow(missing_docs)]
mod export {
    plugin_api::export_venue!(super::KalshiVenue, declaration = super::DECLARATION);
}

#[cfg(test)]
mod tests;
