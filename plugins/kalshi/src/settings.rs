//! Instance settings: which Kalshi environment to talk to, and the account's rate-limit tier.

use serde::Deserialize;

use crate::errors::KalshiError;

/// Production REST root (kalshi.md §1, the host Kalshi recommends since May 2026).
pub const PROD_BASE_URL: &str = "https://external-api.kalshi.com/trade-api/v2";
/// Demo REST root (kalshi.md §1). Demo and prod keys are separate.
pub const DEMO_BASE_URL: &str = "https://external-api.demo.kalshi.co/trade-api/v2";
/// Production websocket URL (kalshi.md §1).
pub const PROD_WS_URL: &str = "wss://external-api-ws.kalshi.com/trade-api/ws/v2";
/// Demo websocket URL (kalshi.md §1).
pub const DEMO_WS_URL: &str = "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2";
/// Every REST path Kalshi signs starts with this prefix (kalshi.md §2).
pub const API_PREFIX: &str = "/trade-api/v2";

/// The raw `settings` table. Unknown keys are refused so a typo (`enviroment`) cannot silently
/// send orders to the wrong place.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    environment: Option<String>,
    base_url: Option<String>,
    tier: Option<String>,
    presign_max_age_ms: Option<i64>,
    ws_url: Option<String>,
}

/// Rate-limit tier of the API key's account (kalshi.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// 200 read / 100 write tokens per second.
    Basic,
    /// 300 / 300.
    Advanced,
    /// 1000 / 1000.
    Premier,
    /// 2000 / 2000.
    Paragon,
    /// 4000 / 4000.
    Prime,
}

impl Tier {
    fn parse(s: &str) -> Result<Tier, KalshiError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "basic" => Tier::Basic,
            "advanced" => Tier::Advanced,
            "premier" => Tier::Premier,
            "paragon" => Tier::Paragon,
            "prime" => Tier::Prime,
            other => {
                return Err(KalshiError::Settings(format!(
                    "`tier` = {other:?} is not one of basic, advanced, premier, paragon, prime"
                )))
            }
        })
    }

    /// Requests per second `(read, write)` at the default cost of 10 tokens per request.
    pub fn requests_per_second(self) -> (u32, u32) {
        let (read, write) = match self {
            Tier::Basic => (200, 100),
            Tier::Advanced => (300, 300),
            Tier::Premier => (1000, 1000),
            Tier::Paragon => (2000, 2000),
            Tier::Prime => (4000, 4000),
        };
        (read / 10, write / 10)
    }
}

/// Validated settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// REST root without a trailing slash, e.g. `https://external-api.kalshi.com/trade-api/v2`.
    pub base_url: String,
    /// The URL path of `base_url` (e.g. `/trade-api/v2`): Kalshi signs the full path.
    pub path_prefix: String,
    /// Websocket URL (`ws://` or `wss://`, path `/trade-api/ws/v2`): from `ws_url`, else the
    /// environment's, else `base_url` with its scheme and API path swapped (test doubles).
    pub ws_url: String,
    /// The websocket URL's path, which the handshake signs (kalshi.md §2).
    pub ws_path: String,
    /// Rate-limit tier (default basic, the most conservative).
    pub tier: Tier,
    /// Short label for error hints (`prod`, `demo` or `custom`).
    pub environment: &'static str,
    /// How old a signature prepared off the hot path may be when an order uses it (0: never
    /// prepare). Kalshi documents no clock-skew window, so the default stays small.
    pub presign_max_age_ms: i64,
}

/// Default age limit of a prepared order signature: one second. The host prepares every
/// quarter of it, so an order finds a fresh one ready.
pub const DEFAULT_PRESIGN_MAX_AGE_MS: i64 = 1_000;

impl Settings {
    /// Parses the instance's `settings` JSON (`null` or `{}` means production, basic tier).
    pub fn from_json(v: &serde_json::Value) -> Result<Settings, KalshiError> {
        let raw: RawSettings = if v.is_null() {
            RawSettings {
                environment: None,
                base_url: None,
                tier: None,
                presign_max_age_ms: None,
                ws_url: None,
            }
        } else {
            // The host's context keys are not settings; every other unknown key is refused.
            let mut own = v.clone();
            if let Some(o) = own.as_object_mut() {
                o.retain(|k, _| !plugin_api::settings::is_host_key(k));
            }
            serde_json::from_value(own).map_err(|e| KalshiError::Settings(e.to_string()))?
        };
        let tier = match raw.tier.as_deref() {
            Some(t) => Tier::parse(t)?,
            None => Tier::Basic,
        };
        let (base_url, environment) = match (raw.environment.as_deref(), raw.base_url) {
            (Some(_), Some(_)) => {
                return Err(KalshiError::Settings(
                    "give either `environment` or `base_url`, not both".into(),
                ))
            }
            (None, Some(url)) => (url, "custom"),
            (Some("prod") | None, None) => (PROD_BASE_URL.to_string(), "prod"),
            (Some("demo"), None) => (DEMO_BASE_URL.to_string(), "demo"),
            (Some(other), None) => {
                return Err(KalshiError::Settings(format!(
                    "`environment` = {other:?} is not \"prod\" or \"demo\""
                )))
            }
        };
        let base_url = base_url.trim_end_matches('/').to_string();
        let rest = base_url
            .strip_prefix("https://")
            .or_else(|| base_url.strip_prefix("http://"))
            .ok_or_else(|| {
                KalshiError::Settings(format!(
                    "`base_url` = {base_url:?} must start with http:// or https://"
                ))
            })?;
        let path_prefix = match rest.find('/') {
            Some(i) => rest[i..].to_string(),
            None => String::new(),
        };
        if path_prefix.contains('?') || path_prefix.contains('#') {
            return Err(KalshiError::Settings(format!(
                "`base_url` = {base_url:?} must not have a query or fragment"
            )));
        }
        // Kalshi signs the full path from the API root; a base URL without the prefix is the
        // classic "prefix missing" 401 (kalshi.md §8.1), so refuse it up front.
        if !path_prefix.ends_with(API_PREFIX) {
            return Err(KalshiError::Settings(format!(
                "`base_url` = {base_url:?} must end with {API_PREFIX}"
            )));
        }
        let presign_max_age_ms = raw.presign_max_age_ms.unwrap_or(DEFAULT_PRESIGN_MAX_AGE_MS);
        if !(0..=30_000).contains(&presign_max_age_ms) {
            return Err(KalshiError::Settings(format!(
                "`presign_max_age_ms` = {presign_max_age_ms} must be between 0 (off) and 30000"
            )));
        }
        let ws_url = match (raw.ws_url, environment) {
            (Some(u), _) => u.trim_end_matches('/').to_string(),
            (None, "prod") => PROD_WS_URL.to_string(),
            (None, "demo") => DEMO_WS_URL.to_string(),
            (None, _) => {
                let swapped = match base_url.strip_prefix("https://") {
                    Some(rest) => format!("wss://{rest}"),
                    None => format!("ws://{}", &base_url["http://".len()..]),
                };
                // `base_url` ends with /trade-api/v2 (checked above).
                let root = &swapped[..swapped.len() - API_PREFIX.len()];
                format!("{root}/trade-api/ws/v2")
            }
        };
        let ws_path = ws_url
            .strip_prefix("wss://")
            .or_else(|| ws_url.strip_prefix("ws://"))
            .map(|rest| rest.find('/').map_or("/", |i| &rest[i..]).to_string())
            .filter(|p| !p.contains('?') && !p.contains('#'))
            .ok_or_else(|| {
                KalshiError::Settings(format!(
                    "`ws_url` = {ws_url:?} must be a ws:// or wss:// URL without a query"
                ))
            })?;
        Ok(Settings {
            ws_url,
            ws_path,
            base_url,
            path_prefix,
            tier,
            environment,
            presign_max_age_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn environments_and_base_url() {
        let s = Settings::from_json(&json!({"environment": "demo"})).unwrap();
        assert_eq!(s.base_url, DEMO_BASE_URL);
        assert_eq!(s.path_prefix, "/trade-api/v2");
        let s = Settings::from_json(&json!({})).unwrap();
        assert_eq!(s.base_url, PROD_BASE_URL);
        let s = Settings::from_json(
            &json!({"base_url": "http://127.0.0.1:9/trade-api/v2/", "tier": "Premier"}),
        )
        .unwrap();
        assert_eq!(s.base_url, "http://127.0.0.1:9/trade-api/v2");
        assert_eq!(s.tier, Tier::Premier);
        assert_eq!(s.tier.requests_per_second(), (100, 100));
        assert_eq!(s.ws_url, "ws://127.0.0.1:9/trade-api/ws/v2");
        assert_eq!(s.ws_path, "/trade-api/ws/v2");
        let s = Settings::from_json(&json!({})).unwrap();
        assert_eq!(s.ws_url, PROD_WS_URL);
        let e = Settings::from_json(&json!({"ws_url": "http://x/y"})).unwrap_err();
        assert!(e.to_string().contains("ws_url"), "{e}");
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Settings::from_json(&json!({"enviroment": "prod"})).unwrap_err();
        assert!(e.to_string().contains("enviroment"), "{e}");
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Settings::from_json(&json!({"environment": "staging"})).is_err());
        assert!(Settings::from_json(&json!({"base_url": "http://127.0.0.1:9"})).is_err());
        assert!(Settings::from_json(&json!({"base_url": "ftp://x/trade-api/v2"})).is_err());
        assert!(Settings::from_json(
            &json!({"environment": "demo", "base_url": "http://x/trade-api/v2"})
        )
        .is_err());
        assert!(Settings::from_json(&json!({"tier": "gold"})).is_err());
        let e = Settings::from_json(&json!({"presign_max_age_ms": -1})).unwrap_err();
        assert!(e.to_string().contains("presign_max_age_ms"), "{e}");
        assert_eq!(
            Settings::from_json(&json!({"presign_max_age_ms": 0}))
                .unwrap()
                .presign_max_age_ms,
            0
        );
    }
}
