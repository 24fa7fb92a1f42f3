//! Instance settings and secrets, validated at create time. Unknown keys are refused by name;
//! error messages never contain key material.

use plugin_api::{ErrorKind, PluginError, PluginResult, Secrets};

use crate::auth_l2::ApiCreds;
use crate::eth::{decode_hex_into, Address, Wallet};
use crate::order_v2::SignatureType;

/// Production CLOB host.
pub const DEFAULT_CLOB_URL: &str = "https://clob.polymarket.com";
/// Production Gamma host.
pub const DEFAULT_GAMMA_URL: &str = "https://gamma-api.polymarket.com";
/// Production Data API host.
pub const DEFAULT_DATA_URL: &str = "https://data-api.polymarket.com";
/// Production websocket root; the market channel is `{ws_url}/market` (polymarket.md §1).
pub const DEFAULT_WS_URL: &str = "wss://ws-subscriptions-clob.polymarket.com/ws";
/// Fallback taker fee rate when a market publishes none (parts per million).
pub const DEFAULT_FEE_RATE_PPM: u32 = 50_000;

/// Setting keys this plugin accepts.
pub const KEYS: &[&str] = &[
    "clob_url",
    "gamma_url",
    "data_url",
    "ws_url",
    "chain_id",
    "signature_type",
    "funder",
    "builder",
    "fee_rate",
];

/// Validated settings plus the signing wallet and optional L2 credentials.
#[derive(Debug, Clone)]
pub struct Settings {
    /// CLOB base URL, no trailing slash.
    pub clob_url: String,
    /// Gamma base URL, no trailing slash.
    pub gamma_url: String,
    /// Data API base URL, no trailing slash.
    pub data_url: String,
    /// Websocket root (`ws://` or `wss://`), no trailing slash; channels are `/market`, `/user`.
    pub ws_url: String,
    /// Chain id (137 Polygon, 80002 Amoy).
    pub chain_id: u64,
    /// Wallet kind.
    pub signature_type: SignatureType,
    /// The address that holds funds (order `maker`).
    pub maker: Address,
    /// The address that signs (order `signer`; for POLY_1271 the deposit wallet).
    pub order_signer: Address,
    /// Builder code (bytes32), zero if none.
    pub builder: [u8; 32],
    /// Fallback taker fee rate (ppm).
    pub fee_rate_ppm: u32,
    /// The EOA key; `None` for a public-data instance (no `private_key` secret), which can
    /// read markets, books, rules and resolutions but signs nothing.
    pub wallet: Option<Wallet>,
    /// Configured L2 credentials, if any (otherwise derived via L1 on first use).
    pub creds: Option<ApiCreds>,
}

fn invalid(msg: String) -> PluginError {
    PluginError::invalid(msg)
}

fn auth(msg: &str) -> PluginError {
    PluginError::new(ErrorKind::Auth, msg.to_string())
}

fn url_setting(v: &serde_json::Value, key: &str, default: &str) -> PluginResult<String> {
    match v.get(key) {
        None | Some(serde_json::Value::Null) => Ok(default.to_string()),
        Some(serde_json::Value::String(s))
            if s.starts_with("http://") || s.starts_with("https://") =>
        {
            Ok(s.trim_end_matches('/').to_string())
        }
        Some(_) => Err(invalid(format!(
            "setting `{key}` must be an http(s) URL string"
        ))),
    }
}

/// Parses a decimal fee rate such as `"0.05"` into parts per million, exactly.
pub fn parse_rate_ppm(s: &str) -> Option<u32> {
    let v = crate::dec::parse_scaled(s, 6, plugin_api::Rounding::Down)?;
    let up = crate::dec::parse_scaled(s, 6, plugin_api::Rounding::Up)?;
    (v == up && (0..=1_000_000).contains(&v)).then_some(v as u32)
}

impl Settings {
    /// The signing wallet, or the error a public-data instance gives for anything signed.
    pub fn wallet(&self) -> PluginResult<&Wallet> {
        self.wallet.as_ref().ok_or_else(|| {
            auth("secret `private_key` is not configured: this instance serves public market data only")
        })
    }

    /// Validates settings (a JSON object) and secrets.
    pub fn parse(v: &serde_json::Value, secrets: &Secrets) -> PluginResult<Settings> {
        let obj = match v {
            serde_json::Value::Object(m) => m.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            _ => return Err(invalid("settings must be a table".into())),
        };
        if let Some(k) = obj
            .keys()
            .find(|k| !KEYS.contains(&k.as_str()) && !plugin_api::settings::is_host_key(k))
        {
            return Err(invalid(format!(
                "unknown setting `{k}` (known: {})",
                KEYS.join(", ")
            )));
        }
        let v = serde_json::Value::Object(obj);
        let clob_url = url_setting(&v, "clob_url", DEFAULT_CLOB_URL)?;
        let gamma_url = url_setting(&v, "gamma_url", DEFAULT_GAMMA_URL)?;
        let data_url = url_setting(&v, "data_url", DEFAULT_DATA_URL)?;
        let ws_url = match v.get("ws_url") {
            None | Some(serde_json::Value::Null) => DEFAULT_WS_URL.to_string(),
            Some(serde_json::Value::String(s))
                if s.starts_with("ws://") || s.starts_with("wss://") =>
            {
                s.trim_end_matches('/').to_string()
            }
            Some(_) => {
                return Err(invalid(
                    "setting `ws_url` must be a ws(s):// URL string".into(),
                ))
            }
        };
        let chain_id = match v.get("chain_id") {
            None | Some(serde_json::Value::Null) => 137,
            Some(x) => x
                .as_u64()
                .filter(|c| *c > 0)
                .ok_or_else(|| invalid("setting `chain_id` must be a positive integer".into()))?,
        };
        let signature_type = match v.get("signature_type").and_then(|x| x.as_str()) {
            None => SignatureType::Eoa,
            Some("eoa") => SignatureType::Eoa,
            Some("poly_proxy") => SignatureType::PolyProxy,
            Some("poly_gnosis_safe") => SignatureType::PolyGnosisSafe,
            Some("poly_1271") => SignatureType::Poly1271,
            Some(other) => {
                return Err(invalid(format!(
                    "setting `signature_type` = {other:?}: expected eoa, poly_proxy, poly_gnosis_safe or poly_1271"
                )))
            }
        };
        if v.get("signature_type").is_some_and(|x| !x.is_string()) {
            return Err(invalid("setting `signature_type` must be a string".into()));
        }
        let funder = match v.get("funder") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(Address::parse(s).map_err(|_| {
                invalid("setting `funder` must be a 0x-prefixed 20-byte address".into())
            })?),
            Some(_) => return Err(invalid("setting `funder` must be an address string".into())),
        };
        let mut builder = [0u8; 32];
        match v.get("builder") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(s)) => {
                decode_hex_into(s, &mut builder).map_err(|_| {
                    invalid(
                        "setting `builder` must be a 0x-prefixed 32-byte hex builder code".into(),
                    )
                })?
            }
            Some(_) => return Err(invalid("setting `builder` must be a hex string".into())),
        }
        let fee_rate_ppm = match v.get("fee_rate") {
            None | Some(serde_json::Value::Null) => DEFAULT_FEE_RATE_PPM,
            Some(serde_json::Value::String(s)) => parse_rate_ppm(s)
                .ok_or_else(|| invalid(format!("setting `fee_rate` = {s:?}: expected a decimal between 0 and 1 with at most 6 decimals")))?,
            // A TOML/JSON number: its shortest decimal text, parsed exactly.
            Some(serde_json::Value::Number(n)) => parse_rate_ppm(&n.to_string())
                .ok_or_else(|| invalid("setting `fee_rate`: expected a decimal between 0 and 1".into()))?,
            Some(_) => return Err(invalid("setting `fee_rate` must be a decimal string such as \"0.05\"".into())),
        };

        let names = ["api_key", "api_secret", "api_passphrase"];
        let Some(pk) = secrets.get("private_key") else {
            // Public market data only (e.g. a host `market-data` instance): no key, no signing.
            if names.iter().any(|n| secrets.get(n).is_some()) {
                return Err(auth(
                    "secret `private_key` is not configured (API credentials are); give it, or no secrets for public market data only",
                ));
            }
            return Ok(Settings {
                clob_url,
                gamma_url,
                data_url,
                chain_id,
                signature_type,
                maker: funder.unwrap_or(Address([0; 20])),
                order_signer: Address([0; 20]),
                builder,
                fee_rate_ppm,
                ws_url,
                wallet: None,
                creds: None,
            });
        };
        let wallet = Wallet::from_hex(pk.expose())
            .map_err(|_| auth("secret `private_key` is malformed: expected 32 bytes of hex (64 hex digits, optional 0x)"))?;
        let eoa = wallet.address();
        let (maker, order_signer) = match signature_type {
            SignatureType::Eoa => {
                if let Some(f) = funder {
                    if f != eoa {
                        return Err(invalid(
                            "setting `funder` must be empty or equal the private key's address when signature_type = \"eoa\"".into(),
                        ));
                    }
                }
                (eoa, eoa)
            }
            SignatureType::PolyProxy | SignatureType::PolyGnosisSafe => {
                let f = funder.ok_or_else(|| invalid("setting `funder` (the proxy/Safe address) is required for this signature_type".into()))?;
                (f, eoa)
            }
            SignatureType::Poly1271 => {
                let f = funder.ok_or_else(|| invalid("setting `funder` (the deposit wallet) is required for signature_type = \"poly_1271\"".into()))?;
                (f, f)
            }
        };

        let present: Vec<bool> = names.iter().map(|n| secrets.get(n).is_some()).collect();
        let creds = if present.iter().all(|p| *p) {
            let key = secrets.require("api_key")?.expose();
            let secret = secrets.require("api_secret")?.expose();
            let pass = secrets.require("api_passphrase")?.expose();
            if key.trim().is_empty() || pass.trim().is_empty() {
                return Err(auth(
                    "secrets `api_key` and `api_passphrase` must not be empty",
                ));
            }
            Some(
                ApiCreds::new(key, secret, pass)
                    .map_err(|_| auth("secret `api_secret` is malformed: expected base64"))?,
            )
        } else if present.iter().any(|p| *p) {
            return Err(auth(
                "give all of `api_key`, `api_secret`, `api_passphrase`, or none (then they are derived from `private_key`)",
            ));
        } else {
            None
        };

        Ok(Settings {
            clob_url,
            gamma_url,
            data_url,
            ws_url,
            chain_id,
            signature_type,
            maker,
            order_signer,
            builder,
            fee_rate_ppm,
            wallet: Some(wallet),
            creds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::PK;
    use plugin_api::Secret;
    use serde_json::json;

    fn secrets(pk: &str) -> Secrets {
        let mut s = Secrets::new();
        s.insert("private_key", Secret::new(pk));
        s
    }

    #[test]
    fn defaults_and_unknown_keys() {
        let s = Settings::parse(&json!({}), &secrets(PK)).unwrap();
        assert_eq!(s.clob_url, DEFAULT_CLOB_URL);
        assert_eq!(s.chain_id, 137);
        assert_eq!(s.fee_rate_ppm, 50_000);
        assert!(s.creds.is_none());
        let e = Settings::parse(&json!({"clob_ur": "x"}), &secrets(PK)).unwrap_err();
        assert!(e.message.contains("`clob_ur`"), "{e}");
        let s = Settings::parse(&json!({"fee_rate": "0.072"}), &secrets(PK)).unwrap();
        assert_eq!(s.fee_rate_ppm, 72_000);
        assert!(Settings::parse(&json!({"fee_rate": "abc"}), &secrets(PK)).is_err());
        assert!(Settings::parse(&json!({"signature_type": "magic"}), &secrets(PK)).is_err());
    }

    #[test]
    fn malformed_keys_never_echo() {
        let bad = "0x1234567890abcdef1234567890abcdef1234567890abcdef12345678ZZZZZZZZ";
        let e = Settings::parse(&json!({}), &secrets(bad)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(!e.message.contains("1234567890"));
        let mut s = secrets(PK);
        s.insert("api_key", Secret::new("k"));
        let e = Settings::parse(&json!({}), &s).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth);
        s.insert("api_secret", Secret::new("$$$%%%"));
        s.insert("api_passphrase", Secret::new("p"));
        let e = Settings::parse(&json!({}), &s).unwrap_err();
        assert!(!e.message.contains("$$$"));
        assert!(
            !format!("{:?}", Settings::parse(&json!({}), &secrets(PK)).unwrap()).contains("ac0974")
        );
    }

    #[test]
    fn wallet_kinds() {
        let proxy = "0x995c9b1f779c04e65AF8ea3360F96c43b5e62316";
        let s = Settings::parse(
            &json!({"signature_type":"poly_proxy","funder":proxy}),
            &secrets(PK),
        )
        .unwrap();
        assert_eq!(s.maker, Address::parse(proxy).unwrap());
        assert_eq!(Some(s.order_signer), s.wallet.as_ref().map(|w| w.address()));
        assert!(
            Settings::parse(&json!({"signature_type":"poly_gnosis_safe"}), &secrets(PK)).is_err()
        );
        assert!(Settings::parse(&json!({"funder":proxy}), &secrets(PK)).is_err());
        let s = Settings::parse(
            &json!({"signature_type":"poly_1271","funder":proxy}),
            &secrets(PK),
        )
        .unwrap();
        assert_eq!(s.order_signer, s.maker);
    }
}
