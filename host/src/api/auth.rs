//! Key checks for mutating routes. A refusal changes nothing and never echoes a key.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Json;
use serde_json::json;
use std::sync::Arc;
use subtle::ConstantTimeEq;

use super::routes::Auth;
use super::ApiState;

/// Header carrying the API key.
pub const API_KEY_HEADER: &str = "x-api-key";
/// Header carrying the reset key.
pub const RESET_KEY_HEADER: &str = "x-reset-key";

/// Answer of every mutating route while no API key is configured.
pub const DISABLED: &str = "mutating endpoints are disabled until [api].api_key is set: add \
     `api_key = { env = \"POLYMIX_API_KEY\" }` (or `{ file = \"path\" }`) under [api], restart, \
     and send the key in the x-api-key header";

/// Whether header `name` holds `expected`, compared in constant time.
fn key_ok(headers: &HeaderMap, name: &str, expected: &str) -> bool {
    headers
        .get(name)
        .map(|v| bool::from(v.as_bytes().ct_eq(expected.as_bytes())))
        .unwrap_or(false)
}

/// Why a request to a route needing `auth` is refused, if it is.
fn refusal(
    auth: Auth,
    api_key: Option<&str>,
    reset_key: Option<&str>,
    headers: &HeaderMap,
) -> Option<&'static str> {
    if auth == Auth::None {
        return None;
    }
    let Some(api_key) = api_key else {
        return Some(DISABLED);
    };
    if !key_ok(headers, API_KEY_HEADER, api_key) {
        return Some("missing or wrong x-api-key");
    }
    if auth == Auth::ApiKeyAndResetKey {
        let Some(reset_key) = reset_key else {
            return Some(
                "reset is disabled: no reset key configured ([api].reset_key or \
                 PAPER_TRADING_RESET_KEY / LIVE_TRADING_RESET_KEY)",
            );
        };
        if !key_ok(headers, RESET_KEY_HEADER, reset_key) {
            return Some("missing or wrong x-reset-key");
        }
    }
    None
}

async fn check(auth: Auth, s: &ApiState, req: Request, next: Next) -> Response {
    match refusal(
        auth,
        s.api_key.as_deref(),
        s.reset_key.as_deref(),
        req.headers(),
    ) {
        None => next.run(req).await,
        Some(why) => {
            tracing::warn!(method = %req.method(), path = %req.uri().path(), reason = why, "mutating request refused");
            (StatusCode::FORBIDDEN, Json(json!({ "error": why }))).into_response()
        }
    }
}

async fn api_key(State(s): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    check(Auth::ApiKey, &s, req, next).await
}

async fn api_and_reset_key(State(s): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    check(Auth::ApiKeyAndResetKey, &s, req, next).await
}

/// Puts the key check of `auth` in front of a route's handler.
pub(super) fn guard(
    auth: Auth,
    handler: MethodRouter<Arc<ApiState>>,
    state: &Arc<ApiState>,
) -> MethodRouter<Arc<ApiState>> {
    match auth {
        Auth::None => handler,
        Auth::ApiKey => handler.route_layer(from_fn_with_state(state.clone(), api_key)),
        Auth::ApiKeyAndResetKey => {
            handler.route_layer(from_fn_with_state(state.clone(), api_and_reset_key))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn without_an_api_key_configured_every_mutation_is_disabled() {
        let h = headers(&[("x-api-key", "anything"), ("x-reset-key", "r")]);
        for auth in [Auth::ApiKey, Auth::ApiKeyAndResetKey] {
            assert_eq!(refusal(auth, None, Some("r"), &h), Some(DISABLED));
        }
        assert!(DISABLED.contains("[api].api_key") && DISABLED.contains("{ env = "));
        assert_eq!(refusal(Auth::None, None, None, &HeaderMap::new()), None);
    }

    #[test]
    fn both_keys_must_match_exactly() {
        let ok = |h: &[(&'static str, &'static str)]| {
            refusal(Auth::ApiKeyAndResetKey, Some("k1"), Some("r1"), &headers(h))
        };
        assert_eq!(ok(&[("x-api-key", "k1"), ("x-reset-key", "r1")]), None);
        assert_eq!(
            ok(&[("x-reset-key", "r1")]),
            Some("missing or wrong x-api-key")
        );
        assert_eq!(
            ok(&[("x-api-key", "k1 "), ("x-reset-key", "r1")]),
            Some("missing or wrong x-api-key")
        );
        assert_eq!(
            ok(&[("x-api-key", "k"), ("x-reset-key", "r1")]),
            Some("missing or wrong x-api-key")
        );
        assert_eq!(
            ok(&[("x-api-key", "k1")]),
            Some("missing or wrong x-reset-key")
        );
        assert_eq!(
            ok(&[("x-api-key", "k1"), ("x-reset-key", "r2")]),
            Some("missing or wrong x-reset-key")
        );
        // The API key alone is enough where no reset key is asked for.
        assert_eq!(
            refusal(
                Auth::ApiKey,
                Some("k1"),
                None,
                &headers(&[("x-api-key", "k1")])
            ),
            None
        );
        // A reset route with no reset key configured stays closed even with the API key.
        let h = headers(&[("x-api-key", "k1"), ("x-reset-key", "")]);
        assert!(refusal(Auth::ApiKeyAndResetKey, Some("k1"), None, &h)
            .unwrap()
            .contains("reset is disabled"));
    }
}
