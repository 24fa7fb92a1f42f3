//! The pair registry over the API: `GET /api/registry` lists every registered pair (state,
//! both sides, blockers, both rules texts, history); `POST /api/registry/decide` (API key)
//! approves, rejects, suspends or retires one. A running live engine applies a decision at its
//! next registry check (`engine::pair_gate`, `engine::pair_adopt`), without a restart.
//! `GET /pairs` is the page to review candidates and decide them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::handlers::{internal, St};
use crate::store::{PairRegistryError, PairState};
use crate::venue_io::{Clock, SystemClock};

/// `GET /pairs`: the review page. It reads `/api/registry` and posts decisions to
/// `/api/registry/decide` with the key typed into it.
pub(super) async fn review_page() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("pair_review.html"))
}

pub(super) async fn list(State(s): St) -> Response {
    match s.engine.ledger().pairs(None) {
        Ok(v) => Json(json!(v)).into_response(),
        Err(e) => internal(e),
    }
}

/// `POST /api/registry/decide` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Decision {
    id: String,
    /// `approved`, `rejected`, `suspended` or `retired`.
    to: String,
    by: String,
    #[serde(default)]
    reason: Option<String>,
    /// Needed to approve a pair with vetoes or flags; recorded.
    #[serde(default, rename = "override")]
    override_reason: Option<String>,
}

fn bad(status: StatusCode, msg: String) -> Response {
    (status, Json(json!({ "error": msg }))).into_response()
}

pub(super) async fn decide(State(s): St, body: axum::body::Bytes) -> Response {
    let d: Decision = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("request body: {e}")),
    };
    let to = match PairState::parse(&d.to).filter(|s| *s != PairState::Proposed) {
        Some(t) => t,
        None => {
            return bad(
                StatusCode::BAD_REQUEST,
                format!(
                    "`to`: expected approved, rejected, suspended or retired, found {:?}",
                    d.to
                ),
            )
        }
    };
    if d.by.trim().is_empty() {
        return bad(StatusCode::BAD_REQUEST, "`by` must name who decides".into());
    }
    let r = s.engine.ledger().pair_decide(
        &d.id,
        to,
        d.by.trim(),
        d.reason.as_deref(),
        d.override_reason.as_deref(),
        SystemClock.now_ms(),
    );
    match r {
        Ok(p) => {
            tracing::warn!(pair = %p.id, state = %p.state, by = %d.by, "pair decided through the API");
            Json(json!(p)).into_response()
        }
        Err(e @ PairRegistryError::NotFound(_)) => bad(StatusCode::NOT_FOUND, e.to_string()),
        Err(
            e @ (PairRegistryError::Illegal { .. }
            | PairRegistryError::NeedsOverride { .. }
            | PairRegistryError::Changed(_)),
        ) => bad(StatusCode::CONFLICT, e.to_string()),
        Err(e) => internal(e),
    }
}
