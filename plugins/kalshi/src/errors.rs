//! Typed errors of the adapter, Kalshi's two error body shapes, and the mapping onto
//! [`PluginError`] kinds the host uses to decide retries.

use plugin_api::{ErrorKind, HttpResponse, PluginError};
use serde_json::Value;

/// Everything that can go wrong inside the adapter. Messages never carry key material.
#[derive(Debug, thiserror::Error)]
pub enum KalshiError {
    /// A bad `settings` table.
    #[error("kalshi settings: {0}")]
    Settings(String),
    /// Missing or malformed credentials.
    #[error("kalshi credentials: {0}")]
    Credentials(String),
    /// The caller asked for something invalid (bad instrument id, price off range, ...).
    #[error("{0}")]
    Input(String),
    /// Kalshi answered with an error.
    #[error("kalshi answered HTTP {status} `{code}`: {message}{}", hint.as_ref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
    Api {
        /// HTTP status.
        status: u16,
        /// Kalshi's error code, or a synthetic one (`http_502`) when the body had none.
        code: String,
        /// Kalshi's message and details.
        message: String,
        /// What probably caused it (401s).
        hint: Option<String>,
    },
    /// A response we could not understand.
    #[error("could not parse kalshi {what}: {detail}")]
    Parse {
        /// Which response.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The order may or may not exist; the caller must reconcile by client order id.
    #[error("{0}")]
    OutcomeUnknown(String),
    /// Something the venue does that this adapter deliberately does not model.
    #[error("{0}")]
    Unsupported(String),
    /// A continuation state this plugin did not produce.
    #[error("bad continuation state: {0}")]
    State(String),
    /// A request could not be signed (the OS random source failed).
    #[error("kalshi signing: {0}")]
    Signing(String),
}

impl KalshiError {
    /// A parse error about `what`.
    pub fn parse(what: &'static str, detail: impl Into<String>) -> Self {
        KalshiError::Parse {
            what,
            detail: detail.into(),
        }
    }
}

impl From<KalshiError> for PluginError {
    fn from(e: KalshiError) -> Self {
        let kind = match &e {
            KalshiError::Settings(_) | KalshiError::Input(_) => ErrorKind::InvalidInput,
            KalshiError::Credentials(_) => ErrorKind::Auth,
            KalshiError::Parse { .. } => ErrorKind::Parse,
            KalshiError::OutcomeUnknown(_) => ErrorKind::Timeout,
            KalshiError::State(_) | KalshiError::Signing(_) => ErrorKind::Internal,
            KalshiError::Unsupported(_) => ErrorKind::Unsupported,
            KalshiError::Api { status, code, .. } => match *status {
                401 | 403 => ErrorKind::Auth,
                429 => ErrorKind::RateLimited,
                0 | 500..=599 => ErrorKind::Network,
                _ => ErrorKind::Rejected { code: code.clone() },
            },
        };
        PluginError::new(kind, e.to_string())
    }
}

/// Whether a body is a JSON object with a non-null top-level `error` (read without building
/// a tree: other fields are skipped). Not JSON, or not an object: no.
fn has_error_key(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        error: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(body).is_ok_and(|p| p.error.is_some())
}

/// A decoded Kalshi error body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Error code (`too_many_requests` for the bare-string 429 shape).
    pub code: String,
    /// Message, plus details when given.
    pub message: String,
}

/// Longest piece of a non-JSON body quoted in an error (CloudFront HTML pages are long).
const MAX_QUOTE: usize = 200;

/// Decodes an error from a response, if it is one: any non-2xx status, or a 2xx whose body has
/// an `error` key (kalshi.md §3.4: `deprecated_v1_order_endpoint` has arrived with a 2xx).
pub fn api_error(resp: &HttpResponse) -> Option<ApiError> {
    let ok_status = (200..300).contains(&resp.status);
    if ok_status && !has_error_key(&resp.body) {
        // The common case: skip building a JSON tree of a large body just to find no error.
        return None;
    }
    let json: Option<Value> = serde_json::from_slice(&resp.body).ok();
    let err_val = json.as_ref().and_then(|v| v.get("error"));
    if ok_status && err_val.is_none_or(Value::is_null) {
        return None;
    }
    let (code, message) = match err_val {
        // {"error": {"code", "message", "details", "service"}}
        Some(Value::Object(o)) => {
            let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let code = s("code");
            let mut message = s("message");
            let details = s("details");
            if !details.is_empty() {
                if !message.is_empty() {
                    message.push_str(": ");
                }
                message.push_str(&details);
            }
            (code, message)
        }
        // The 429 shape: {"error": "too many requests"}.
        Some(Value::String(s)) => (s.trim().replace(' ', "_").to_lowercase(), s.clone()),
        _ => (String::new(), quote(&resp.text())),
    };
    let code = if code.is_empty() {
        format!("http_{}", resp.status)
    } else {
        code
    };
    Some(ApiError {
        status: resp.status,
        code,
        message,
    })
}

fn quote(text: &str) -> String {
    let t: String = text.chars().take(MAX_QUOTE).collect();
    if text.chars().count() > MAX_QUOTE {
        format!("{t}…")
    } else {
        t
    }
}

/// Why a 401/403 probably happened. The signer follows the documented recipe, so the usual
/// culprits are on the key side; the signing-recipe mistakes are listed for custom builds.
pub fn auth_hint(environment: &str) -> String {
    format!(
        "check that `api_key_id` and `private_key_pem` belong together and to the {environment} \
         environment (demo and prod keys are separate), that the key has the write scope for \
         trading (a read-only key is refused on order endpoints), and that the clock is in sync; \
         the signed message must be timestamp_ms + METHOD + full path with the /trade-api/v2 \
         prefix and without the query, timestamp in milliseconds, not seconds"
    )
}

impl ApiError {
    /// Converts into the adapter error, adding the auth hint where it helps.
    pub fn into_error(self, environment: &str) -> KalshiError {
        let hint = matches!(self.status, 401 | 403).then(|| auth_hint(environment));
        KalshiError::Api {
            status: self.status,
            code: self.code,
            message: self.message,
            hint,
        }
    }

    /// Whether a 409 on order placement may mean "this client_order_id is already in use", in
    /// which case the order is looked up rather than reported as failed. The exact code is
    /// unconfirmed (kalshi.md §3.3), so every 409 except the known business conflicts counts.
    pub fn maybe_duplicate(&self) -> bool {
        self.status == 409
            && !matches!(
                self.code.as_str(),
                "market_closed" | "insufficient_balance" | "market_not_open" | "trading_paused"
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn object_shape() {
        let e = api_error(&resp(
            400,
            r#"{"error":{"code":"invalid_order","message":"bad","details":"exactly one of yes_price","service":"exchange"}}"#,
        ))
        .unwrap();
        assert_eq!(e.code, "invalid_order");
        assert_eq!(e.message, "bad: exactly one of yes_price");
        let pe: PluginError = e.into_error("prod").into();
        assert_eq!(
            pe.kind,
            ErrorKind::Rejected {
                code: "invalid_order".into()
            }
        );
    }

    #[test]
    fn bare_string_429_shape() {
        let e = api_error(&resp(429, r#"{"error":"too many requests"}"#)).unwrap();
        assert_eq!(e.code, "too_many_requests");
        let pe: PluginError = e.into_error("prod").into();
        assert_eq!(pe.kind, ErrorKind::RateLimited);
    }

    #[test]
    fn error_key_in_2xx_is_a_failure() {
        let e = api_error(&resp(
            200,
            r#"{"error":{"code":"deprecated_v1_order_endpoint","message":"Please switch to the V2 endpoints"}}"#,
        ))
        .unwrap();
        assert_eq!(e.code, "deprecated_v1_order_endpoint");
        assert!(api_error(&resp(200, r#"{"balance":5}"#)).is_none());
        assert!(api_error(&resp(201, r#"{"order_id":"x","error":null}"#)).is_none());
    }

    #[test]
    fn statuses_map_to_kinds() {
        let k = |s: u16, body: &str| -> ErrorKind {
            let e: PluginError = api_error(&resp(s, body)).unwrap().into_error("demo").into();
            e.kind
        };
        let auth: PluginError = api_error(&resp(
            401,
            r#"{"error":{"code":"authentication_error","details":"INCORRECT_API_KEY_SIGNATURE"}}"#,
        ))
        .unwrap()
        .into_error("demo")
        .into();
        assert_eq!(auth.kind, ErrorKind::Auth);
        assert!(auth.message.contains("read-only") && auth.message.contains("milliseconds"));
        assert!(auth.message.contains("demo"));
        assert_eq!(k(503, "<html>CloudFront</html>"), ErrorKind::Network);
        assert_eq!(k(500, ""), ErrorKind::Network);
        assert_eq!(
            k(404, r#"{"error":{"code":"not_found"}}"#),
            ErrorKind::Rejected {
                code: "not_found".into()
            }
        );
        assert_eq!(k(502, ""), ErrorKind::Network,);
    }

    #[test]
    fn non_json_bodies_are_quoted_briefly() {
        let long = "x".repeat(5000);
        let e = api_error(&resp(403, &long)).unwrap();
        assert_eq!(e.code, "http_403");
        assert!(e.message.chars().count() <= MAX_QUOTE + 1);
    }

    #[test]
    fn duplicate_detection() {
        let dup = api_error(&resp(409, r#"{"error":{"code":"order_already_exists"}}"#)).unwrap();
        assert!(dup.maybe_duplicate());
        let closed = api_error(&resp(409, r#"{"error":{"code":"market_closed"}}"#)).unwrap();
        assert!(!closed.maybe_duplicate());
    }
}
