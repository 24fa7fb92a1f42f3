//! The double's own checks of what a client sends, written from the venue's specification
//! (polymarket.md §2, §3) with the primitives only (k256, sha3, hmac, sha2, base64), never with
//! the adapter's code: a bug in the adapter must not be copied into the check that should catch
//! it. Checked against the official vectors in `polymarket-vectors.json` (tests below).
// The workspace MSRV is 1.85; `is_multiple_of` is 1.87+.
#![allow(clippy::manual_is_multiple_of)]

use base64::Engine as _;
use hmac::{Hmac, Mac};
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use sha2::Sha256;
use sha3::{Digest, Keccak256};

/// CTF Exchange V2 (polymarket.md §3.1), the same on Polygon and Amoy.
pub const EXCHANGE_V2: &str = "0xE111180000d2663C0091e4f400237545B87B996B";
/// Neg Risk CTF Exchange V2.
pub const NEG_RISK_EXCHANGE_V2: &str = "0xe2222d279d744050d28e00520010520000310F59";
const ORDER_TYPE: &str = "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)";
const DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
const CLOB_AUTH_DOMAIN_TYPE: &str = "EIP712Domain(string name,string version,uint256 chainId)";
const CLOB_AUTH_TYPE: &str =
    "ClobAuth(address address,string timestamp,uint256 nonce,string message)";
/// The fixed L1 message (polymarket.md §2.1).
pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";

/// Keccak-256.
pub fn keccak(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// A 20-byte Ethereum address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// `0x` + 40 hex digits, any case.
    pub fn parse(s: &str) -> Option<Address> {
        let b = unhex(s)?;
        Some(Address(b.try_into().ok()?))
    }

    /// EIP-55 mixed-case form.
    pub fn to_checksum(self) -> String {
        let lower = hex(&self.0);
        let h = keccak(lower.as_bytes());
        let mut out = String::from("0x");
        for (i, c) in lower.chars().enumerate() {
            let nibble = (h[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
            out.push(if c.is_ascii_alphabetic() && nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            });
        }
        out
    }

    fn word(self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(&self.0);
        w
    }
}

/// Lowercase hex without `0x`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Decodes `0x…` hex (the prefix is required, as the venue sends it).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x")?;
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A uint256 word from a decimal string (token ids are 77-78 digits).
pub fn u256_dec(s: &str) -> Option<[u8; 32]> {
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut w = [0u8; 32];
    for d in s.bytes() {
        let mut carry = (d - b'0') as u32;
        for byte in w.iter_mut().rev() {
            let v = *byte as u32 * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(w)
}

fn u256(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

/// `keccak(0x1901 ‖ domainSeparator ‖ structHash)`.
fn eip712(domain: [u8; 32], struct_hash: [u8; 32]) -> [u8; 32] {
    let mut m = vec![0x19, 0x01];
    m.extend_from_slice(&domain);
    m.extend_from_slice(&struct_hash);
    keccak(&m)
}

/// Recovers the signer of a 65-byte `r‖s‖v` signature (`v` 27/28 or 0/1).
pub fn recover(digest: &[u8; 32], sig: &[u8]) -> Option<Address> {
    if sig.len() != 65 {
        return None;
    }
    let v = match sig[64] {
        27 | 28 => sig[64] - 27,
        0 | 1 => sig[64],
        _ => return None,
    };
    let s = Signature::from_slice(&sig[..64]).ok()?;
    let key = VerifyingKey::recover_from_prehash(digest, &s, RecoveryId::from_byte(v)?).ok()?;
    let point = key.to_encoded_point(false);
    let h = keccak(&point.as_bytes()[1..]);
    Some(Address(h[12..].try_into().ok()?))
}

/// The L1 `ClobAuth` digest (polymarket.md §2.1).
pub fn clob_auth_digest(chain_id: u64, address: Address, timestamp: &str, nonce: u64) -> [u8; 32] {
    let mut d = Vec::with_capacity(128);
    d.extend_from_slice(&keccak(CLOB_AUTH_DOMAIN_TYPE.as_bytes()));
    d.extend_from_slice(&keccak(b"ClobAuthDomain"));
    d.extend_from_slice(&keccak(b"1"));
    d.extend_from_slice(&u256(chain_id as u128));
    let mut m = Vec::with_capacity(160);
    m.extend_from_slice(&keccak(CLOB_AUTH_TYPE.as_bytes()));
    m.extend_from_slice(&address.word());
    m.extend_from_slice(&keccak(timestamp.as_bytes()));
    m.extend_from_slice(&u256(nonce as u128));
    m.extend_from_slice(&keccak(CLOB_AUTH_MESSAGE.as_bytes()));
    eip712(keccak(&d), keccak(&m))
}

/// Buy or sell, as signed (`uint8`: 0 BUY, 1 SELL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSide {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// A V2 order as posted (polymarket.md §3.1), fields checked for shape.
#[derive(Clone, Debug)]
pub struct PostedOrder {
    /// Salt (≤ 2^53 − 1).
    pub salt: u64,
    /// Funder.
    pub maker: Address,
    /// Signing EOA.
    pub signer: Address,
    /// Token id (decimal).
    pub token_id: String,
    /// Base units given.
    pub maker_amount: u64,
    /// Base units wanted.
    pub taker_amount: u64,
    /// Side.
    pub side: OrderSide,
    /// 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271.
    pub signature_type: u8,
    /// Creation time, ms.
    pub timestamp_ms: u64,
    /// bytes32.
    pub metadata: [u8; 32],
    /// bytes32.
    pub builder: [u8; 32],
    /// The signature bytes.
    pub signature: Vec<u8>,
}

impl PostedOrder {
    /// Reads the `order` object of a `POST /order` payload; `None` if a field is missing or
    /// malformed (the venue answers "invalid order payload").
    pub fn from_json(o: &serde_json::Value) -> Option<PostedOrder> {
        let s = |k: &str| o.get(k).and_then(|v| v.as_str());
        let b32 = |k: &str| -> Option<[u8; 32]> { unhex(s(k)?)?.try_into().ok() };
        Some(PostedOrder {
            salt: o.get("salt")?.as_u64()?,
            maker: Address::parse(s("maker")?)?,
            signer: Address::parse(s("signer")?)?,
            token_id: s("tokenId").filter(|t| u256_dec(t).is_some())?.to_string(),
            maker_amount: s("makerAmount")?.parse().ok()?,
            taker_amount: s("takerAmount")?.parse().ok()?,
            side: match s("side")? {
                "BUY" => OrderSide::Buy,
                "SELL" => OrderSide::Sell,
                _ => return None,
            },
            signature_type: u8::try_from(o.get("signatureType")?.as_u64()?)
                .ok()
                .filter(|t| *t <= 3)?,
            timestamp_ms: s("timestamp")?.parse().ok()?,
            metadata: b32("metadata")?,
            builder: b32("builder")?,
            signature: unhex(s("signature")?)?,
        })
    }

    /// The EIP-712 digest under the exchange at `contract` (the order id the venue returns).
    pub fn digest(&self, chain_id: u64, contract: Address) -> Option<[u8; 32]> {
        let mut d = Vec::with_capacity(160);
        d.extend_from_slice(&keccak(DOMAIN_TYPE.as_bytes()));
        d.extend_from_slice(&keccak(b"Polymarket CTF Exchange"));
        d.extend_from_slice(&keccak(b"2"));
        d.extend_from_slice(&u256(chain_id as u128));
        d.extend_from_slice(&contract.word());
        let mut m = Vec::with_capacity(12 * 32);
        m.extend_from_slice(&keccak(ORDER_TYPE.as_bytes()));
        m.extend_from_slice(&u256(self.salt as u128));
        m.extend_from_slice(&self.maker.word());
        m.extend_from_slice(&self.signer.word());
        m.extend_from_slice(&u256_dec(&self.token_id)?);
        m.extend_from_slice(&u256(self.maker_amount as u128));
        m.extend_from_slice(&u256(self.taker_amount as u128));
        m.extend_from_slice(&u256(match self.side {
            OrderSide::Buy => 0,
            OrderSide::Sell => 1,
        }));
        m.extend_from_slice(&u256(self.signature_type as u128));
        m.extend_from_slice(&u256(self.timestamp_ms as u128));
        m.extend_from_slice(&self.metadata);
        m.extend_from_slice(&self.builder);
        Some(eip712(keccak(&d), keccak(&m)))
    }
}

/// Decodes an API secret: URL-safe or standard base64, padding optional (polymarket.md §6.3).
pub fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    let mut s: String = secret
        .trim()
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    while s.len() % 4 != 0 {
        s.push('=');
    }
    base64::engine::general_purpose::URL_SAFE.decode(s).ok()
}

/// The L2 `POLY_SIGNATURE`: URL-safe base64 (padded) of HMAC-SHA256 over
/// `timestamp + method + path + body` (polymarket.md §2.2).
pub fn l2_signature(key: &[u8], timestamp: &str, method: &str, path: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(method.as_bytes());
    mac.update(path.as_bytes());
    mac.update(body);
    base64::engine::general_purpose::URL_SAFE.encode(mac.finalize().into_bytes())
}

/// Decimals of a 6-decimal base-unit amount (`11782400` → 4: 11.7824).
pub fn decimals_of(units: u64) -> u32 {
    let mut d = 6;
    let mut u = units;
    while d > 0 && u % 10 == 0 {
        u /= 10;
        d -= 1;
    }
    d
}

/// The amount precision a tick allows (polymarket.md §3.4 table): price decimals + 2.
pub fn amount_decimals(tick_micro: i64) -> Option<u32> {
    match tick_micro {
        100_000 => Some(3),
        10_000 => Some(4),
        1_000 | 5_000 => Some(5),
        100 | 2_500 => Some(6),
        _ => None,
    }
}

/// A decimal string (≤ 6 decimals, non-negative) in micro units.
pub fn micro(s: &str) -> Option<i64> {
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    if i.is_empty() && f.is_empty() || f.len() > 6 {
        return None;
    }
    if !i.bytes().chain(f.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: i64 = if i.is_empty() { 0 } else { i.parse().ok()? };
    let frac: i64 = format!("{f:0<6}").parse().ok()?;
    int.checked_mul(1_000_000)?.checked_add(frac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!(
            "../../fixtures/polymarket/polymarket-vectors.json"
        ))
        .expect("vectors")
    }

    #[test]
    fn l1_vectors_verify() {
        let v = vectors();
        let rows = v["l1_clob_auth"].as_array().unwrap();
        assert!(!rows.is_empty());
        for r in rows {
            let addr = Address::parse(r["address"].as_str().unwrap()).unwrap();
            assert_eq!(addr.to_checksum(), r["address"].as_str().unwrap());
            let ts = r["timestamp"].as_str().unwrap();
            let d = clob_auth_digest(
                r["chainId"].as_u64().unwrap(),
                addr,
                ts,
                r["nonce"].as_u64().unwrap(),
            );
            assert_eq!(
                format!("0x{}", hex(&d)),
                r["digest_independent"].as_str().unwrap()
            );
            let sig = unhex(r["signature"].as_str().unwrap()).unwrap();
            assert_eq!(recover(&d, &sig), Some(addr));
            // A different nonce does not verify.
            let other = clob_auth_digest(r["chainId"].as_u64().unwrap(), addr, ts, 99);
            assert_ne!(recover(&other, &sig), Some(addr));
        }
    }

    #[test]
    fn l2_vectors_verify() {
        let v = vectors();
        let rows = v["l2_hmac"].as_array().unwrap();
        assert!(!rows.is_empty());
        for r in rows {
            let key = decode_secret(r["secret"].as_str().unwrap()).unwrap();
            let body = r["body"].as_str().unwrap_or("");
            let sig = l2_signature(
                &key,
                r["timestamp"].to_string().trim_matches('"'),
                r["method"].as_str().unwrap(),
                r["requestPath"].as_str().unwrap(),
                body.as_bytes(),
            );
            assert_eq!(sig, r["headers"]["POLY_SIGNATURE"].as_str().unwrap(), "{r}");
        }
        // Published: rs-clob-client `l2_headers_should_succeed` (polymarket.md §6.1).
        let key = decode_secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        assert_eq!(
            l2_signature(&key, "1", "GET", "/", b""),
            "eHaylCwqRSOa2LFD77Nt_SaTpbsxzN8eTEI3LryhEj4="
        );
        assert_eq!(
            l2_signature(
                &key,
                "1000000",
                "test-sign",
                "/orders",
                br#"{"hash":"0x123"}"#
            ),
            "4gJVbox-R6XlDK4nlaicig0_ANVL1qdcahiL8CXfXLM="
        );
    }

    #[test]
    fn v2_order_vectors_verify() {
        let v = vectors();
        let addr = Address::parse(v["address"].as_str().unwrap()).unwrap();
        let key = decode_secret(v["api_secret"].as_str().unwrap()).unwrap();
        let rows = v["orders_v2"].as_array().unwrap();
        assert_eq!(rows.len(), 8);
        for r in rows {
            let body = r["post_order_body"].as_str().unwrap();
            let payload: Value = serde_json::from_str(body).unwrap();
            let o = PostedOrder::from_json(&payload["order"]).expect("order parses");
            let contract = Address::parse(if r["neg_risk"].as_bool().unwrap() {
                NEG_RISK_EXCHANGE_V2
            } else {
                EXCHANGE_V2
            })
            .unwrap();
            assert_eq!(
                Address::parse(r["verifyingContract"].as_str().unwrap()),
                Some(contract)
            );
            let d = o.digest(r["chainId"].as_u64().unwrap(), contract).unwrap();
            assert_eq!(
                format!("0x{}", hex(&d)),
                r["digest_independent"].as_str().unwrap()
            );
            assert_eq!(recover(&d, &o.signature), Some(addr));
            // The other exchange gives another digest, whose recovery is not the signer.
            let other = Address::parse(if r["neg_risk"].as_bool().unwrap() {
                EXCHANGE_V2
            } else {
                NEG_RISK_EXCHANGE_V2
            })
            .unwrap();
            let d2 = o.digest(r["chainId"].as_u64().unwrap(), other).unwrap();
            assert_ne!(recover(&d2, &o.signature), Some(addr));
            // The POST HMAC covers the exact body.
            let h = &r["post_order_headers"];
            assert_eq!(
                l2_signature(
                    &key,
                    h["POLY_TIMESTAMP"].as_str().unwrap(),
                    "POST",
                    "/order",
                    body.as_bytes()
                ),
                h["POLY_SIGNATURE"].as_str().unwrap()
            );
            // Amounts follow the limit-order precision of the tick, price on the grid.
            let tick = micro(r["tick_size"].as_str().unwrap()).unwrap();
            let (usdc, shares) = match o.side {
                OrderSide::Buy => (o.maker_amount, o.taker_amount),
                OrderSide::Sell => (o.taker_amount, o.maker_amount),
            };
            assert!(decimals_of(shares) <= 2);
            assert!(decimals_of(usdc) <= amount_decimals(tick).unwrap());
            let num = usdc as u128 * 1_000_000;
            assert_eq!(num % shares as u128, 0);
            assert_eq!((num / shares as u128) as i64 % tick, 0);
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(decimals_of(11_782_400), 4);
        assert_eq!(decimals_of(21_040_000), 2);
        assert_eq!(decimals_of(0), 0);
        assert_eq!(micro("0.56"), Some(560_000));
        assert_eq!(micro("5"), Some(5_000_000));
        assert_eq!(micro("-1"), None);
        assert_eq!(micro("99999999999999999"), None);
        assert_eq!(u256_dec("1"), Some(u256(1)));
        assert_eq!(u256_dec(&"9".repeat(79)), None);
    }
}
