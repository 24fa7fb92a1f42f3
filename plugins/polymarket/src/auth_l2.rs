//! L2 authentication: HMAC-SHA256 request signing (polymarket.md §2.2).
//!
//! Message = `timestamp + METHOD + path (no query) + exact body bytes`; key = the API secret
//! decoded as base64 (URL-safe or standard alphabet, padding optional — as tolerant as the
//! official TS client); output = URL-safe base64 **with** padding.

use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

use crate::eth::Address;

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes an API secret: maps `+/` to `-_`, drops whitespace and other junk characters,
/// accepts missing or present padding.
pub fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    let cleaned: String = secret
        .chars()
        .filter_map(|c| match c {
            '+' => Some('-'),
            '/' => Some('_'),
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            _ => None,
        })
        .collect();
    if cleaned.is_empty() {
        return None;
    }
    LENIENT.decode(cleaned.as_bytes()).ok()
}

/// The L2 credentials. `Debug` shows only the API key id.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiCreds {
    /// API key (a UUID); also the `owner` of orders.
    pub key: String,
    /// Decoded HMAC key.
    secret: Vec<u8>,
    /// Passphrase.
    passphrase: String,
    /// The secret as issued: the user channel's subscription carries it as text.
    secret_text: String,
}

impl fmt::Debug for ApiCreds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiCreds({}, ***)", self.key)
    }
}

/// A secret that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("api_secret is not base64")]
pub struct BadSecret;

impl ApiCreds {
    /// Builds credentials, decoding the secret.
    pub fn new(key: &str, secret: &str, passphrase: &str) -> Result<ApiCreds, BadSecret> {
        Ok(ApiCreds {
            key: key.trim().to_string(),
            secret: decode_secret(secret).ok_or(BadSecret)?,
            passphrase: passphrase.trim().to_string(),
            secret_text: secret.trim().to_string(),
        })
    }

    /// The `auth` object of a user-channel subscription (polymarket.md §1.4; docs.polymarket.com
    /// market-data/websocket/user-channel): the three credentials as issued.
    pub fn ws_auth(&self) -> serde_json::Value {
        serde_json::json!({
            "apiKey": self.key,
            "secret": self.secret_text,
            "passphrase": self.passphrase,
        })
    }

    /// The HMAC signature of one request.
    pub fn sign(&self, timestamp: &str, method: &str, path: &str, body: &[u8]) -> String {
        sign_raw(&self.secret, timestamp, method, path, body)
    }

    /// The five L2 headers.
    pub fn headers(
        &self,
        address: &Address,
        timestamp: &str,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> [(String, String); 5] {
        [
            ("POLY_ADDRESS".into(), address.to_checksum()),
            (
                "POLY_SIGNATURE".into(),
                self.sign(timestamp, method, path, body),
            ),
            ("POLY_TIMESTAMP".into(), timestamp.to_string()),
            ("POLY_API_KEY".into(), self.key.clone()),
            ("POLY_PASSPHRASE".into(), self.passphrase.clone()),
        ]
    }

    /// Checks a passphrase in constant-ish time (for the test double).
    pub fn passphrase_matches(&self, p: &str) -> bool {
        self.passphrase.len() == p.len()
            && self
                .passphrase
                .bytes()
                .zip(p.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// HMAC-SHA256 over `timestamp + method + path + body`, URL-safe base64 with padding.
pub fn sign_raw(key: &[u8], timestamp: &str, method: &str, path: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(method.as_bytes());
    mac.update(path.as_bytes());
    mac.update(body);
    URL_SAFE.encode(mac.finalize().into_bytes())
}

/// The path of a URL without scheme, host and query (`https://h/a/b?x=1` → `/a/b`).
pub fn url_path(url: &str) -> &str {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    let path = match rest.find('/') {
        Some(i) => &rest[i..],
        None => "/",
    };
    match path.find(['?', '#']) {
        Some(i) => &path[..i],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eth::Wallet;
    use crate::test_vectors::{vectors, PK};

    const SECRET: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    /// polymarket-vectors.json → `published_vector_checks` "HMAC …" (py-clob-client
    /// tests/signing/test_hmac.py, clob-client hmac.test.ts, rs-clob-client src/auth.rs).
    #[test]
    fn published_hmac_vectors() {
        let c = ApiCreds::new("k", SECRET, "p").unwrap();
        assert_eq!(
            c.sign("1000000", "test-sign", "/orders", br#"{"hash": "0x123"}"#),
            "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc="
        );
        assert_eq!(
            c.sign("1000000", "test-sign", "/orders", br#"{"hash":"0x123"}"#),
            "4gJVbox-R6XlDK4nlaicig0_ANVL1qdcahiL8CXfXLM="
        );
        assert_eq!(
            c.sign("1", "GET", "/", b""),
            "eHaylCwqRSOa2LFD77Nt_SaTpbsxzN8eTEI3LryhEj4="
        );
        // Both alphabets, padded or not, decode to the same key.
        let url = ApiCreds::new("k", "--_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "p").unwrap();
        let std = ApiCreds::new("k", "++/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "p").unwrap();
        let unpadded =
            ApiCreds::new("k", "--_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "p").unwrap();
        let body = br#"{"hash": "0x123"}"#;
        let expected = "HNo0ctLa8EfeOxYf0wiNci4JqCwLiVWsubxySKwD1cs=";
        assert_eq!(url.sign("1000000", "test-sign", "/orders", body), expected);
        assert_eq!(std.sign("1000000", "test-sign", "/orders", body), expected);
        assert_eq!(
            unpadded.sign("1000000", "test-sign", "/orders", body),
            expected
        );
    }

    /// polymarket-vectors.json → `l2_hmac` (generated with py-clob-client-v2): full header sets.
    #[test]
    fn generated_l2_vectors() {
        let v = vectors();
        let w = Wallet::from_hex(PK).unwrap();
        let creds = ApiCreds::new(
            v["api_key"].as_str().unwrap(),
            v["api_secret"].as_str().unwrap(),
            v["api_passphrase"].as_str().unwrap(),
        )
        .unwrap();
        let cases = v["l2_hmac"].as_array().unwrap();
        assert_eq!(cases.len(), 7);
        for case in cases {
            let ts = case["timestamp"].as_u64().unwrap().to_string();
            let body = case["body"].as_str().unwrap_or("");
            let h = creds.headers(
                &w.address(),
                &ts,
                case["method"].as_str().unwrap(),
                case["requestPath"].as_str().unwrap(),
                body.as_bytes(),
            );
            for (k, val) in case["headers"].as_object().unwrap() {
                let got = &h.iter().find(|(n, _)| n == k).unwrap().1;
                assert_eq!(
                    got,
                    val.as_str().unwrap(),
                    "{k} of {}",
                    case["hmac_message"]
                );
            }
        }
    }

    #[test]
    fn paths_drop_query() {
        assert_eq!(
            url_path("http://127.0.0.1:5/data/orders?asset_id=1"),
            "/data/orders"
        );
        assert_eq!(url_path("https://clob.polymarket.com"), "/");
        assert_eq!(
            url_path("https://h/x/data/order/0xab"),
            "/x/data/order/0xab"
        );
    }

    #[test]
    fn debug_hides_secret() {
        let c = ApiCreds::new("key-id", SECRET, "pass").unwrap();
        let d = format!("{c:?}");
        assert!(d.contains("key-id") && !d.contains("pass") && !d.contains("AAAA"));
        assert!(ApiCreds::new("k", "!!!", "p").is_err());
    }
}
