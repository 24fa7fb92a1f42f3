//! The one table of routes: path, method, handler, key requirement and response shape. The
//! router ([`super::router`]) and the OpenAPI document ([`super::openapi`]) are both built from it.

use axum::handler::Handler;
use axum::routing::{on, MethodFilter, MethodRouter};
use std::sync::Arc;

use super::{handlers, registry, state, ApiState};

/// Which keys a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Read-only: none.
    None,
    /// `x-api-key` (every mutating route needs at least this).
    ApiKey,
    /// `x-api-key` and `x-reset-key`.
    ApiKeyAndResetKey,
}

/// What a route answers with on success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// JSON of the named schema in `components/schemas`.
    Json(&'static str),
    /// A JSON array of the named schema.
    JsonList(&'static str),
    /// An HTML page.
    Html,
    /// Prometheus text exposition.
    Prometheus,
}

/// An optional query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryParam {
    /// Name.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
}

/// The documentation half of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteDoc {
    /// `get` or `post` (lower case, as OpenAPI spells it).
    pub method: &'static str,
    /// Path.
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Query parameters (all optional integers here).
    pub query: &'static [QueryParam],
    /// Keys needed.
    pub auth: Auth,
    /// Success body.
    pub body: Body,
    /// Whether it reads the ledger and so may answer 500.
    pub may_fail: bool,
}

/// A route: its documentation and its handler.
pub(super) struct Route {
    pub doc: RouteDoc,
    pub handler: MethodRouter<Arc<ApiState>>,
}

fn get<H, T>(path: &'static str, summary: &'static str, body: Body, handler: H) -> Route
where
    H: Handler<T, Arc<ApiState>>,
    T: 'static,
{
    Route {
        doc: RouteDoc {
            method: "get",
            path,
            summary,
            query: &[],
            auth: Auth::None,
            body,
            may_fail: false,
        },
        handler: on(MethodFilter::GET, handler),
    }
}

/// A mutating route: a key requirement is part of its signature, so none can be added without.
fn post<H, T>(path: &'static str, summary: &'static str, auth: Auth, body: Body, h: H) -> Route
where
    H: Handler<T, Arc<ApiState>>,
    T: 'static,
{
    assert!(auth != Auth::None, "{path}: mutating routes need a key");
    Route {
        doc: RouteDoc {
            method: "post",
            path,
            summary,
            query: &[],
            auth,
            body,
            may_fail: true,
        },
        handler: on(MethodFilter::POST, h),
    }
}

impl Route {
    fn may_fail(mut self) -> Route {
        self.doc.may_fail = true;
        self
    }

    fn query(mut self, q: &'static [QueryParam]) -> Route {
        self.doc.query = q;
        self
    }
}

/// Every route.
pub(super) fn table() -> Vec<Route> {
    use Body::*;
    vec![
        get(
            "/",
            "Dashboard page (HTML, refreshes itself every second)",
            Html,
            handlers::dashboard,
        ),
        get(
            "/pairs",
            "Pair review page (HTML): candidates with polarity evidence, vetoes and both rules \
             texts; approve or reject with the API key (asked on the page, never stored)",
            Html,
            registry::review_page,
        ),
        get(
            "/api/openapi.json",
            "This document",
            Json("OpenApiDocument"),
            handlers::openapi,
        ),
        get(
            "/api/health",
            "Health and failed plugin instances",
            Json("Health"),
            handlers::health,
        ),
        get(
            "/api/trading/mode",
            "paper or live",
            Json("Mode"),
            handlers::mode,
        ),
        get(
            "/api/trading/state",
            "Balances, open trades with legs and marks, today's counters, limits, realized and \
             unrealized P&L, errors",
            Json("TradingState"),
            state::trading_state,
        )
        .may_fail(),
        get(
            "/api/paper/state",
            "Same as /api/trading/state (kept for existing clients)",
            Json("TradingState"),
            state::trading_state,
        )
        .may_fail(),
        post(
            "/api/trading/reset",
            "Archive the ledger (never deleted) and start clean",
            Auth::ApiKeyAndResetKey,
            Json("ResetDone"),
            handlers::reset,
        ),
        post(
            "/api/paper/reset",
            "Same as /api/trading/reset (kept for existing clients)",
            Auth::ApiKeyAndResetKey,
            Json("ResetDone"),
            handlers::reset,
        ),
        get(
            "/api/plugins",
            "Loaded plugins",
            JsonList("Plugin"),
            handlers::plugins,
        ),
        get(
            "/api/pairs",
            "Pairs watched, with top of book and pre-fee edge",
            JsonList("Pair"),
            handlers::pairs,
        ),
        get(
            "/api/registry",
            "The pair registry: every pair with its state, both sides, blockers, both rules \
             texts and history",
            JsonList("RegisteredPair"),
            registry::list,
        )
        .may_fail(),
        post(
            "/api/registry/decide",
            "Approve, reject, suspend or retire a pair; body {id, to, by, reason?, override?} \
             (override is required, and recorded, to approve a pair with vetoes or flags)",
            Auth::ApiKey,
            Json("RegisteredPair"),
            registry::decide,
        ),
        get(
            "/api/trades",
            "Every trade in the ledger, oldest first",
            JsonList("Trade"),
            handlers::trades,
        )
        .query(&[QueryParam {
            name: "since",
            description: "only trades whose last update is at or after this time (ms since the \
                          Unix epoch)",
        }])
        .may_fail(),
        get(
            "/api/errors",
            "The last 100 errors, newest first",
            JsonList("LoggedError"),
            handlers::errors,
        )
        .may_fail(),
        get(
            "/metrics",
            "Prometheus text exposition",
            Prometheus,
            handlers::metrics,
        ),
    ]
}

/// The documentation of every route, in table order.
pub fn route_docs() -> Vec<RouteDoc> {
    table().into_iter().map(|r| r.doc).collect()
}
