//! Venue errors → typed [`PluginError`]s with hints (polymarket.md §3.5 and §7).

use plugin_api::{ErrorKind, HttpResponse, PluginError};

/// A classified venue rejection: our stable code plus a hint for the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    /// Stable code used in [`ErrorKind::Rejected`].
    pub code: &'static str,
    /// What to do about it.
    pub hint: &'static str,
}

/// Stable rejection codes.
pub mod code {
    /// V1-signed order sent to the V2 exchange (or a newer exchange version went live).
    pub const ORDER_VERSION_MISMATCH: &str = "order_version_mismatch";
    /// Order signature did not verify.
    pub const INVALID_SIGNATURE: &str = "invalid_signature";
    /// Balance or allowance too low.
    pub const INSUFFICIENT_BALANCE: &str = "insufficient_balance";
    /// Price not on the tick grid.
    pub const TICK_SIZE: &str = "tick_size";
    /// Below the minimum size.
    pub const MIN_SIZE: &str = "min_size";
    /// Amount precision rules broken.
    pub const INVALID_AMOUNTS: &str = "invalid_amounts";
    /// Duplicate order.
    pub const DUPLICATED: &str = "duplicated";
    /// FOK could not fill completely.
    pub const FOK_NOT_FILLED: &str = "fok_not_filled";
    /// FAK found nothing to match.
    pub const FAK_NO_MATCH: &str = "fak_no_match";
    /// Post-only order would cross.
    pub const POST_ONLY_CROSSES: &str = "post_only_crosses";
    /// Market not accepting orders.
    pub const MARKET_NOT_READY: &str = "market_not_ready";
    /// Exchange in post-only / cancel-only mode.
    pub const TRADING_RESTRICTED: &str = "trading_restricted";
    /// Account-type mismatch (maker/signer not allowed for this API key).
    pub const ACCOUNT_MISMATCH: &str = "account_mismatch";
    /// Bad expiration.
    pub const EXPIRATION: &str = "invalid_expiration";
    /// Anything else the venue refused.
    pub const OTHER: &str = "rejected";
}

/// Recognises a venue error text (`error` or `errorMsg`).
pub fn classify(text: &str) -> Option<Known> {
    let t = text.to_ascii_lowercase();
    let k = |code, hint| Some(Known { code, hint });
    if t.contains("order_version_mismatch") || t.contains("invalid order version") {
        return k(code::ORDER_VERSION_MISMATCH, "the exchange rejected the order version; this plugin signs CTF Exchange V2 orders (domain version \"2\") — check GET /version and upgrade the plugin");
    }
    if t.contains("invalid signature")
        || t.contains("invalid_signature")
        || t.contains("invalid signer")
    {
        return k(code::INVALID_SIGNATURE, "check signature_type and funder (proxy/Safe address shown on polymarket.com), and that the market's neg_risk flag selects the right exchange");
    }
    if t.contains("not enough balance")
        || t.contains("not_enough_balance")
        || t.contains("allowance")
    {
        return k(code::INSUFFICIENT_BALANCE, "fund the funder address with pUSD, approve both V2 exchanges (pUSD approve + CTF setApprovalForAll), then refresh GET /balance-allowance/update");
    }
    if t.contains("tick size") || t.contains("min_tick_size") || t.contains("tick_size") {
        return k(code::TICK_SIZE, "the price is not on the market's current tick grid; tick sizes change near 0 and 1 — refresh GET /tick-size");
    }
    if t.contains("min_size") || t.contains("lower than the minimum") {
        return k(
            code::MIN_SIZE,
            "order size is below the market's minimum (orderMinSize, usually 5 shares)",
        );
    }
    if t.contains("invalid amounts") || t.contains("max accuracy") {
        return k(code::INVALID_AMOUNTS, "maker/taker amounts break the precision rules (limit: per tick; market BUY: maker 2 dp, taker 4 dp)");
    }
    if t.contains("duplicated") {
        return k(
            code::DUPLICATED,
            "an identical order (same digest) already exists",
        );
    }
    if t.contains("fok orders are fully filled or killed") || t.contains("fok_order_not_filled") {
        return k(
            code::FOK_NOT_FILLED,
            "not enough liquidity at or better than the limit price",
        );
    }
    if t.contains("fak order") || t.contains("no orders found to match") {
        return k(
            code::FAK_NO_MATCH,
            "nothing to match at or better than the limit price",
        );
    }
    if t.contains("post-only order")
        || t.contains("invalid_post_only")
        || t.contains("crosses book")
    {
        return k(
            code::POST_ONLY_CROSSES,
            "post-only orders must not cross the book (and need GTC/GTD)",
        );
    }
    if t.contains("not yet ready") || t.contains("market_not_ready") {
        return k(
            code::MARKET_NOT_READY,
            "the market is not accepting orders yet",
        );
    }
    if t.contains("post_only_mode")
        || t.contains("post-only mode")
        || t.contains("cancel-only")
        || t.contains("closed only")
    {
        return k(
            code::TRADING_RESTRICTED,
            "the exchange or account is restricted to post-only / cancel-only",
        );
    }
    if t.contains("maker address not allowed") || t.contains("signer address has to be") {
        return k(code::ACCOUNT_MISMATCH, "the API key's address must be the order signer and the funder must match signature_type");
    }
    if t.contains("expiration") {
        return k(
            code::EXPIRATION,
            "GTD expiry must be at least a minute in the future",
        );
    }
    if t.contains("invalid_order") || t.contains("execution_error") {
        return k(code::OTHER, "the venue refused the order");
    }
    None
}

/// The venue's error text from a JSON body (`error`, `errorMsg`, `message`), else the raw text.
pub fn error_text(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        for k in ["error", "errorMsg", "message", "code"] {
            if let Some(s) = v.get(k).and_then(|x| x.as_str()) {
                if !s.is_empty() {
                    return truncate(s);
                }
            }
        }
    }
    truncate(&String::from_utf8_lossy(body))
}

fn truncate(s: &str) -> String {
    let s = s.trim();
    if s.len() <= 300 {
        return s.to_string();
    }
    let mut end = 300;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// An error for a venue text already known to be a rejection (e.g. `errorMsg` of a 200).
pub fn rejection(text: &str) -> PluginError {
    match classify(text) {
        Some(k) => PluginError::rejected(k.code, format!("{text} (hint: {})", k.hint)),
        None => PluginError::rejected(code::OTHER, text.to_string()),
    }
}

/// Maps a non-2xx response (or a transport failure reported as status 0) to an error.
pub fn from_response(what: &str, r: &HttpResponse) -> PluginError {
    let text = error_text(&r.body);
    match r.status {
        0 => PluginError::new(ErrorKind::Timeout, format!("{what}: no response ({text})")),
        429 => {
            let after = r
                .header("retry-after")
                .map(|s| format!(", retry after {s}s"))
                .unwrap_or_default();
            PluginError::new(
                ErrorKind::RateLimited,
                format!("{what}: rate limited{after}: {text}"),
            )
        }
        425 => PluginError::new(
            ErrorKind::Network,
            format!("{what}: matching engine restarting (425), retry: {text}"),
        ),
        401 | 403 => {
            let hint = if text.contains("L1") {
                "L1 headers refused: check private_key and the clock (POLY_TIMESTAMP)"
            } else {
                "API key refused: check api_key/api_secret/api_passphrase belong to private_key's address, or drop them to derive fresh ones"
            };
            PluginError::new(
                ErrorKind::Auth,
                format!("{what}: HTTP {}: {text} (hint: {hint})", r.status),
            )
        }
        503 if classify(&text).is_some_and(|k| k.code == code::TRADING_RESTRICTED) => {
            rejection(&text)
        }
        500..=599 | 408 => PluginError::new(
            ErrorKind::Network,
            format!("{what}: HTTP {}: {text}", r.status),
        ),
        404 => PluginError::rejected("not_found", format!("{what}: not found: {text}")),
        _ => match classify(&text) {
            Some(k) => PluginError::rejected(k.code, format!("{what}: {text} (hint: {})", k.hint)),
            None => PluginError::rejected(
                format!("http_{}", r.status),
                format!("{what}: HTTP {}: {text}", r.status),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("retry-after".into(), "3".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn code_of(e: &PluginError) -> String {
        match &e.kind {
            ErrorKind::Rejected { code } => code.clone(),
            k => format!("{k:?}"),
        }
    }

    #[test]
    fn known_strings() {
        let cases = [
            (
                r#"{"error":"order_version_mismatch"}"#,
                code::ORDER_VERSION_MISMATCH,
            ),
            (
                r#"{"error":"invalid order version, please use the latest clob-client"}"#,
                code::ORDER_VERSION_MISMATCH,
            ),
            (r#"{"error":"invalid signature"}"#, code::INVALID_SIGNATURE),
            (
                r#"{"error":"not enough balance / allowance"}"#,
                code::INSUFFICIENT_BALANCE,
            ),
            (
                r#"{"error":"Price (0.555) breaks minimum tick size rule: 0.01"}"#,
                code::TICK_SIZE,
            ),
            (
                r#"{"error":"INVALID_ORDER_MIN_SIZE: Size (1.08) lower than the minimum: 5"}"#,
                code::MIN_SIZE,
            ),
            (
                r#"{"error":"invalid amounts, the market buy orders maker amount supports a max accuracy of 2 decimals, taker amount a max of 4 decimals"}"#,
                code::INVALID_AMOUNTS,
            ),
            (
                r#"{"error":"order couldn't be fully filled. FOK orders are fully filled or killed."}"#,
                code::FOK_NOT_FILLED,
            ),
            (
                r#"{"error":"no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."}"#,
                code::FAK_NO_MATCH,
            ),
            (
                r#"{"error":"invalid post-only order: order crosses book"}"#,
                code::POST_ONLY_CROSSES,
            ),
            (
                r#"{"error":"order 0xab is invalid. Duplicated."}"#,
                code::DUPLICATED,
            ),
            (
                r#"{"error":"maker address not allowed"}"#,
                code::ACCOUNT_MISMATCH,
            ),
        ];
        for (body, c) in cases {
            assert_eq!(
                code_of(&from_response("post", &resp(400, body))),
                c,
                "{body}"
            );
        }
    }

    #[test]
    fn transport_kinds() {
        assert_eq!(
            from_response("x", &resp(429, "slow down")).kind,
            ErrorKind::RateLimited
        );
        assert!(from_response("x", &resp(429, ""))
            .message
            .contains("retry after 3s"));
        assert_eq!(from_response("x", &resp(425, "")).kind, ErrorKind::Network);
        assert_eq!(
            from_response("x", &resp(502, "<html>")).kind,
            ErrorKind::Network
        );
        assert_eq!(
            from_response(
                "x",
                &resp(401, r#"{"error":"Unauthorized/Invalid api key"}"#)
            )
            .kind,
            ErrorKind::Auth
        );
        assert_eq!(
            code_of(&from_response(
                "x",
                &resp(503, r#"{"code":"post_only_mode"}"#)
            )),
            code::TRADING_RESTRICTED
        );
        assert_eq!(from_response("x", &resp(0, "")).kind, ErrorKind::Timeout);
    }
}
