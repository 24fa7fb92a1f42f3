//! Control API (axum): read-only state for people and scripts, and a key-protected reset.
//! Binds 127.0.0.1 by default; a non-loopback bind needs an API key.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

use crate::engine::Engine;
use crate::plugins::registry::PluginRow;
use crate::store::state as tstate;
use crate::venue_io::{Clock, SystemClock};

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The bind address is not an address.
    #[error("api.bind: {0:?} is not a socket address (expected e.g. 127.0.0.1:5001)")]
    BadBind(String),
    /// Non-loopback without a key.
    #[error("api.bind: {0} is not a loopback address; set api.api_key to expose the API")]
    Exposed(String),
    /// The socket could not be bound.
    #[error("api.bind: cannot listen on {addr}: {message}")]
    Listen {
        /// Address.
        addr: String,
        /// OS message.
        message: String,
    },
}

/// Shared state of the handlers.
pub struct ApiState {
    /// The running engine.
    pub engine: Arc<Engine>,
    /// Loaded plugins.
    pub plugins: Vec<PluginRow>,
    /// Key for mutating endpoints, if configured.
    pub api_key: Option<String>,
    /// Key for reset, if configured.
    pub reset_key: Option<String>,
}

/// Checks the bind address against the key rule.
pub fn check_bind(bind: &str, has_key: bool) -> Result<SocketAddr, ApiError> {
    let addr: SocketAddr = bind
        .parse()
        .map_err(|_| ApiError::BadBind(bind.to_string()))?;
    if !addr.ip().is_loopback() && !has_key {
        return Err(ApiError::Exposed(bind.to_string()));
    }
    Ok(addr)
}

/// Binds and serves in the background; returns the bound address.
pub async fn serve(bind: &str, state: ApiState) -> Result<SocketAddr, ApiError> {
    let addr = check_bind(bind, state.api_key.is_some())?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ApiError::Listen {
            addr: bind.to_string(),
            message: e.to_string(),
        })?;
    let local = listener.local_addr().map_err(|e| ApiError::Listen {
        addr: bind.to_string(),
        message: e.to_string(),
    })?;
    let app = router(Arc::new(state));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "control API stopped");
        }
    });
    tracing::info!(addr = %local, "control API listening");
    Ok(local)
}

/// The routes.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/api/openapi.json", get(openapi))
        .route("/api/health", get(health))
        .route("/api/trading/mode", get(mode))
        .route("/api/trading/state", get(trading_state))
        .route("/api/paper/state", get(trading_state))
        .route("/api/trading/reset", post(reset))
        .route("/api/paper/reset", post(reset))
        .route("/api/plugins", get(plugins))
        .route("/api/pairs", get(pairs))
        .route("/api/trades", get(trades))
        .route("/api/errors", get(errors))
        .route("/metrics", get(metrics))
        .with_state(state)
}

type St = State<Arc<ApiState>>;

/// Every route, for the OpenAPI document (kept next to the router so they cannot drift).
pub const ROUTES: &[(&str, &str, &str)] = &[
    (
        "get",
        "/",
        "Dashboard page (HTML, updates itself every second)",
    ),
    ("get", "/api/openapi.json", "This document"),
    ("get", "/api/health", "Health and failed plugin instances"),
    ("get", "/api/trading/mode", "paper or live"),
    (
        "get",
        "/api/trading/state",
        "Balances, open trades with legs, today's counters, limits, P&L, errors",
    ),
    (
        "get",
        "/api/paper/state",
        "Same as /api/trading/state (kept for existing clients)",
    ),
    (
        "post",
        "/api/trading/reset",
        "Archive the ledger and start clean (x-reset-key, and x-api-key when configured)",
    ),
    (
        "post",
        "/api/paper/reset",
        "Same as /api/trading/reset (kept for existing clients)",
    ),
    ("get", "/api/plugins", "Loaded plugins"),
    ("get", "/api/pairs", "Pairs watched"),
    (
        "get",
        "/api/trades",
        "Trades, optionally ?since=<ms> (last update time)",
    ),
    ("get", "/api/errors", "The last 100 errors, newest first"),
    ("get", "/metrics", "Prometheus text exposition"),
];

async fn dashboard() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("dashboard.html"))
}

async fn openapi() -> Json<Value> {
    let mut paths = serde_json::Map::new();
    for (method, path, summary) in ROUTES {
        let mut op = json!({ "summary": summary, "responses": { "200": { "description": "OK" } } });
        if *method == "post" {
            op["responses"]["403"] =
                json!({ "description": "missing or wrong key; nothing changed" });
            op["parameters"] = json!([
                { "name": "x-reset-key", "in": "header", "required": true, "schema": { "type": "string" } },
                { "name": "x-api-key", "in": "header", "required": false, "schema": { "type": "string" } }
            ]);
        }
        if *path == "/api/trades" {
            op["parameters"] = json!([{ "name": "since", "in": "query", "required": false, "schema": { "type": "integer" } }]);
        }
        paths
            .entry(path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|o| o.insert(method.to_string(), op));
    }
    Json(json!({
        "openapi": "3.0.3",
        "info": { "title": "PolyMix control API", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
    }))
}

fn internal(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": e.to_string() })),
    )
        .into_response()
}

async fn health(State(s): St) -> Json<Value> {
    let failed: Vec<String> = s
        .engine
        .venues()
        .iter()
        .filter_map(|v| v.handle().failure().map(|f| format!("{}: {f}", v.name())))
        .collect();
    Json(
        json!({ "status": if failed.is_empty() { "ok" } else { "degraded" }, "failed_plugins": failed }),
    )
}

async fn mode(State(s): St) -> Json<Value> {
    let m = s.engine.config().mode.as_str();
    Json(json!({ "mode": m, "live": m == "live" }))
}

async fn trading_state(State(s): St) -> Response {
    let l = s.engine.ledger();
    let run = || -> Result<Value, crate::store::LedgerError> {
        let gate = s.engine.gate().state();
        let open: Vec<Value> = l
            .trades_in(tstate::OPEN)?
            .into_iter()
            .filter(|t| t.settled_ms.is_none())
            .map(|t| {
                let legs = l.orders_of(&t.id).unwrap_or_default();
                json!({ "trade": t, "legs": legs })
            })
            .collect();
        let all = l.trades_in(&[])?;
        let realized: i64 = all.iter().filter_map(|t| t.realized_pnl).map(|u| u.0).sum();
        let limits = s
            .engine
            .config()
            .risks
            .iter()
            .map(|r| json!({ "name": r.name, "settings": crate::plugins::registry::settings_json(&r.settings) }))
            .collect::<Vec<_>>();
        Ok(json!({
            "mode": s.engine.config().mode.as_str(),
            "balances": gate.cash,
            "reserved": gate.reserved,
            "today": { "day": gate.day, "trades": gate.trades_today, "loss": gate.loss_today },
            "exposure": { "open": gate.open_exposure, "unhedged": gate.unhedged },
            "limits": limits,
            "open_trades": open,
            "trades_total": all.len(),
            "realized_pnl": realized,
            "unrealized_pnl": Value::Null,
            "stats": s.engine.stats(),
            "errors": l.errors()?.into_iter().take(20).collect::<Vec<_>>(),
        }))
    };
    match run() {
        Ok(v) => Json(v).into_response(),
        Err(e) => internal(e),
    }
}

fn key_ok(headers: &HeaderMap, name: &str, expected: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| bool::from(v.as_bytes().ct_eq(expected.as_bytes())))
        .unwrap_or(false)
}

async fn reset(State(s): St, headers: HeaderMap) -> Response {
    let forbidden =
        |why: &str| (StatusCode::FORBIDDEN, Json(json!({ "error": why }))).into_response();
    if let Some(k) = &s.api_key {
        if !key_ok(&headers, "x-api-key", k) {
            return forbidden("missing or wrong x-api-key");
        }
    }
    let Some(rk) = &s.reset_key else {
        return forbidden("reset is disabled: no reset key configured");
    };
    if !key_ok(&headers, "x-reset-key", rk) {
        return forbidden("missing or wrong x-reset-key");
    }
    let stamp = SystemClock.now_ms().to_string();
    match s.engine.ledger().archive_and_restart(&stamp) {
        Ok(p) => {
            s.engine.gate().reset_counters();
            tracing::warn!(archive = %p.display(), "ledger reset through the API");
            Json(json!({ "reset": true, "archived_to": p })).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn plugins(State(s): St) -> Json<Value> {
    Json(json!(s.plugins))
}

async fn pairs(State(s): St) -> Json<Value> {
    let edges = s.engine.pair_edges();
    Json(json!(s
        .engine
        .pairs()
        .iter()
        .zip(edges)
        .map(|(p, e)| json!({
            "id": p.id,
            "a": { "venue": p.a.venue, "yes": p.a.yes, "no": p.a.no },
            "b": { "venue": p.b.venue, "yes": p.b.yes, "no": p.b.no },
            "edge_yes_a_no_b": e[0],
            "edge_no_a_yes_b": e[1],
            "best_edge": e.iter().flatten().max(),
        }))
        .collect::<Vec<_>>()))
}

#[derive(serde::Deserialize)]
struct Since {
    since: Option<i64>,
}

async fn trades(State(s): St, Query(q): Query<Since>) -> Response {
    match s.engine.ledger().trades_in(&[]) {
        Ok(t) => Json(json!(t
            .into_iter()
            .filter(|t| q.since.is_none_or(|since| t.updated_ms >= since))
            .collect::<Vec<_>>()))
        .into_response(),
        Err(e) => internal(e),
    }
}

async fn errors(State(s): St) -> Response {
    match s.engine.ledger().errors() {
        Ok(e) => Json(json!(e)).into_response(),
        Err(e) => internal(e),
    }
}

async fn metrics(State(s): St) -> Response {
    let st = s.engine.stats();
    let mut out = crate::metrics::render();
    out.push_str(&format!(
        "# TYPE polymix_realized_pnl_dollars gauge\npolymix_realized_pnl_dollars {}\n# TYPE polymix_open_trades gauge\npolymix_open_trades {}\n",
        st.realized_pnl.to_decimal(6),
        st.trades.saturating_sub(st.settled)
    ));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::check_bind;

    #[test]
    fn non_loopback_bind_needs_a_key() {
        assert!(check_bind("127.0.0.1:5001", false).is_ok());
        assert!(check_bind("[::1]:5001", false).is_ok());
        let e = check_bind("0.0.0.0:5001", false).unwrap_err().to_string();
        assert!(e.contains("api_key"), "{e}");
        assert!(check_bind("0.0.0.0:5001", true).is_ok());
        assert!(check_bind("localhost", false).is_err());
    }
}
