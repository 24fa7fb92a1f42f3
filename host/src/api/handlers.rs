//! Handlers of every route but the trading state ([`super::state`]).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

use super::ApiState;
use crate::venue_io::{Clock, SystemClock};

pub(super) type St = State<Arc<ApiState>>;

/// A 500 with the error as JSON (ledger errors name the file, never a secret).
pub(super) fn internal(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": e.to_string() })),
    )
        .into_response()
}

pub(super) async fn dashboard() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}

pub(super) async fn openapi() -> Json<Value> {
    Json(super::openapi::document().clone())
}

pub(super) async fn health(State(s): St) -> Json<Value> {
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

pub(super) async fn mode(State(s): St) -> Json<Value> {
    let m = s.engine.config().mode.as_str();
    Json(json!({ "mode": m, "live": m == "live" }))
}

/// Archives the ledger; the key checks ran before (see [`super::auth`]).
pub(super) async fn reset(State(s): St) -> Response {
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

pub(super) async fn plugins(State(s): St) -> Json<Value> {
    Json(json!(s.plugins))
}

pub(super) async fn pairs(State(s): St) -> Json<Value> {
    let e = &s.engine;
    let side = |l: &plugin_api::PairLeg| {
        let bid = |i: &str| e.best_bid(&l.venue, i).map(|p| p.0);
        let ask = |i: &str| e.best_ask(&l.venue, i).map(|p| p.0);
        json!({
            "venue": l.venue, "yes": l.yes, "no": l.no,
            "yes_bid": bid(&l.yes), "yes_ask": ask(&l.yes),
            "no_bid": bid(&l.no), "no_ask": ask(&l.no),
        })
    };
    Json(json!(e
        .pairs()
        .iter()
        .zip(e.pair_edges())
        .map(|(p, edge)| json!({
            "id": p.id,
            "a": side(&p.a),
            "b": side(&p.b),
            "edge_yes_a_no_b": edge[0],
            "edge_no_a_yes_b": edge[1],
            "best_edge": edge.iter().flatten().max(),
        }))
        .collect::<Vec<_>>()))
}

#[derive(serde::Deserialize)]
pub(super) struct Since {
    since: Option<i64>,
}

pub(super) async fn trades(State(s): St, Query(q): Query<Since>) -> Response {
    match s.engine.ledger().trades_in(&[]) {
        Ok(t) => Json(json!(t
            .into_iter()
            .filter(|t| q.since.is_none_or(|since| t.updated_ms >= since))
            .collect::<Vec<_>>()))
        .into_response(),
        Err(e) => internal(e),
    }
}

pub(super) async fn errors(State(s): St) -> Response {
    match s.engine.ledger().errors() {
        Ok(e) => Json(json!(e)).into_response(),
        Err(e) => internal(e),
    }
}

pub(super) async fn metrics(State(s): St) -> Response {
    let st = s.engine.stats();
    let mut out = crate::metrics::render();
    out.push_str(&format!(
        "# TYPE polymix_realized_pnl_dollars gauge\npolymix_realized_pnl_dollars {}\n# TYPE polymix_open_trades gauge\npolymix_open_trades {}\n",
        st.realized_pnl.to_decimal(6),
        st.trades.saturating_sub(st.settled)
    ));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    out.push_str(&super::stream_metrics::render(
        &s.engine.feed_health(),
        now_ms,
    ));
    out.push_str(&super::latency_metrics::render(
        &s.engine.decision_to_wire_stages(),
    ));
    // A ledger hiccup leaves these two out rather than failing the whole scrape.
    match s.engine.open_marks() {
        Ok(marks) => {
            let total: plugin_api::Usd = marks.iter().map(|(_, _, m)| m.pnl).sum();
            let unmarked: usize = marks.iter().map(|(_, _, m)| m.unmarked().count()).sum();
            out.push_str(&format!(
                "# HELP polymix_unrealized_pnl_dollars Open positions marked to the best bid, less their cost.\n# TYPE polymix_unrealized_pnl_dollars gauge\npolymix_unrealized_pnl_dollars {}\n# HELP polymix_unmarked_legs Held legs with no bid to mark them to (counted at 0).\n# TYPE polymix_unmarked_legs gauge\npolymix_unmarked_legs {unmarked}\n",
                total.to_decimal(6)
            ));
        }
        Err(e) => tracing::warn!(error = %e, "metrics: unrealized P&L left out"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}
