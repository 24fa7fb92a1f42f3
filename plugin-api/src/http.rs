//! Sans-IO HTTP: a venue plugin describes requests, the host sends them and hands back responses.

use serde::{Deserialize, Serialize};

/// A fully formed, signed HTTP request for the host to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, `DELETE`, ...
    pub method: String,
    /// Absolute URL including the query string.
    pub url: String,
    /// Headers in order; signatures included.
    pub headers: Vec<(String, String)>,
    /// Body bytes exactly as signed.
    #[serde(default, with = "body_serde")]
    pub body: Vec<u8>,
    /// Safe to resend after a timeout or connection error (reads, and cancels). Order placement
    /// is never idempotent at the HTTP level; the host resolves it by client order id instead.
    pub idempotent: bool,
    /// Rate-limit bucket this request draws from, e.g. `"read"` or `"write"`.
    pub rate_class: String,
    /// For an order placement whose venue order id is known before it is sent (Polymarket: the
    /// order's EIP-712 digest): that id. The host journals it before sending, so after a lost
    /// answer or a crash the order is looked up by it ([`crate::VenueOp::GetOrder`]'s
    /// `order_id`) and never sent twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_order_id: Option<String>,
}

/// What came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (names lower-cased).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    #[serde(default, with = "body_serde")]
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A request with no headers or body.
    pub fn new(method: &str, url: impl Into<String>, rate_class: &str) -> Self {
        HttpRequest {
            method: method.to_string(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            idempotent: method == "GET" || method == "DELETE",
            rate_class: rate_class.to_string(),
            expected_order_id: None,
        }
    }

    /// Marks this request as placing the order whose venue id will be `order_id`.
    pub fn expect_order_id(mut self, order_id: impl Into<String>) -> Self {
        self.expected_order_id = Some(order_id.into());
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets a JSON body (the exact bytes that were signed) and its content type.
    pub fn json_body(mut self, body: Vec<u8>) -> Self {
        self.headers
            .push(("content-type".to_string(), "application/json".to_string()));
        self.body = body;
        self
    }
}

impl HttpResponse {
    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text (lossy), for error messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Bodies travel as UTF-8 text when they are text (the common case) and base64-free byte arrays
/// otherwise, so JSON bodies stay readable in logs and fixtures.
mod body_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Body {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(b) {
            Ok(t) => Body::Text(t.to_string()).serialize(s),
            Err(_) => Body::Bytes(b.to_vec()).serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(match Body::deserialize(d)? {
            Body::Text(t) => t.into_bytes(),
            Body::Bytes(b) => b,
        })
    }
}
