//! Every API error answers `{"error": "..."}`: axum's own rejections (bad query, unknown path,
//! wrong method, unreadable body) are plain text, which a script reading JSON cannot parse.
//! Bodies are bounded here too, before any handler or key check runs.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Largest request body accepted (no route takes more than a small JSON object).
pub(super) const MAX_BODY: usize = 64 * 1024;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn is_json(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

/// Bounds and checks the body, runs the route, and rewrites a non-JSON error answer as JSON.
pub(super) async fn json_errors(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body too large (at most {MAX_BODY} bytes)"),
        )
    };
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large();
    }
    let req = if is_json(req.headers()) {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
            return too_large();
        };
        if !bytes.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
            return error(StatusCode::BAD_REQUEST, "request body is not valid JSON");
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    as_json(next.run(req).await).await
}

/// A 4xx/5xx answer that is not JSON, rewritten as `{"error": <its text or the status>}`.
pub(super) async fn as_json(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(resp.headers()) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = to_bytes(body, MAX_BODY)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        text
    };
    let mut out = error(status, message);
    // Keep what tells the client how to retry (405's Allow, 429's Retry-After).
    for h in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&h) {
            out.headers_mut().insert(h, v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::FromRequest;

    async fn body_json(r: Response) -> serde_json::Value {
        assert!(is_json(r.headers()), "{:?}", r.headers());
        let b = to_bytes(r.into_body(), MAX_BODY).await.unwrap();
        serde_json::from_slice(&b).unwrap()
    }

    #[tokio::test]
    async fn a_json_body_rejection_becomes_a_json_error() {
        let req = Request::builder()
            .method("POST")
            .header("content-type", "application/json")
            .body(Body::from("{oops"))
            .unwrap();
        let rejection = Json::<serde_json::Value>::from_request(req, &())
            .await
            .unwrap_err()
            .into_response();
        assert!(!is_json(rejection.headers()));
        let status = rejection.status();
        let r = as_json(rejection).await;
        assert_eq!(r.status(), status);
        let v = body_json(r).await;
        assert!(v["error"].as_str().unwrap().contains("JSON"), "{v}");
    }

    #[tokio::test]
    async fn an_empty_error_gets_its_status_text_and_success_is_untouched() {
        let r = as_json(StatusCode::METHOD_NOT_ALLOWED.into_response()).await;
        assert_eq!(body_json(r).await, json!({ "error": "method not allowed" }));
        let ok = as_json("fine".into_response()).await;
        assert!(!is_json(ok.headers()));
    }
}
