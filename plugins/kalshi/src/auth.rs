//! Request signing: RSA-PSS (SHA-256, MGF1-SHA-256, salt 32 bytes) over
//! `timestamp_ms + METHOD + path`, base64 (kalshi.md §2). Ed25519 keys (the newer key type the
//! official SDK 3.34 accepts) sign the same message with plain Ed25519.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::pss::BlindedSigningKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use rsa::RsaPrivateKey;
use sha2::Sha256;
use std::fmt;

use crate::errors::KalshiError;

/// Header carrying the API key id.
pub const HEADER_KEY: &str = "KALSHI-ACCESS-KEY";
/// Header carrying the Unix-ms timestamp that was signed.
pub const HEADER_TIMESTAMP: &str = "KALSHI-ACCESS-TIMESTAMP";
/// Header carrying the base64 signature.
pub const HEADER_SIGNATURE: &str = "KALSHI-ACCESS-SIGNATURE";

/// Signs Kalshi requests with one API key. `Debug` never shows the key.
pub struct Signer {
    key_id: String,
    key: PrivateKey,
}

enum PrivateKey {
    // BlindedSigningKey uses the default PSS salt length, which is the digest length (32 bytes),
    // exactly what Kalshi verifies; blinding hides the private exponent from timing.
    Rsa(Box<BlindedSigningKey<Sha256>>),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(***)")
    }
}

/// The message Kalshi signs. `path` must already be the full URL path (with `/trade-api/v2`)
/// and must not contain the query string.
pub fn message(ts_ms: i64, method: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    format!("{ts_ms}{}{path}", method.to_ascii_uppercase())
}

impl Signer {
    /// Builds a signer from the key id and a PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8
    /// (`BEGIN PRIVATE KEY`) PEM. Errors describe the format problem, never the key.
    pub fn new(key_id: &str, pem: &str) -> Result<Signer, KalshiError> {
        let key_id = key_id.trim();
        if key_id.is_empty() {
            return Err(KalshiError::Credentials(
                "secret `api_key_id` is empty".into(),
            ));
        }
        if !key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(KalshiError::Credentials(
                "secret `api_key_id` is not a key id (expected a UUID such as \
                 a952bcbe-ec3b-4b5b-b8f9-11dae589608c); was the PEM put there by mistake?"
                    .into(),
            ));
        }
        Ok(Signer {
            key_id: key_id.to_string(),
            key: parse_private_key(pem)?,
        })
    }

    /// The API key id (not secret by itself, but kept out of logs anyway).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Base64 signature of `timestamp_ms + METHOD + path`. The PSS salt and the blinding
    /// factor come from a ChaCha20 stream seeded with `random`, so a fixed seed gives a fixed
    /// signature under test, and the host's fresh randomness gives a fresh one in production.
    pub fn sign(&self, ts_ms: i64, method: &str, path: &str, random: [u8; 32]) -> String {
        let msg = message(ts_ms, method, path);
        match &self.key {
            PrivateKey::Rsa(k) => {
                let mut rng = ChaCha20Rng::from_seed(random);
                B64.encode(k.sign_with_rng(&mut rng, msg.as_bytes()).to_bytes())
            }
            // Ed25519 is deterministic: `random` is not needed.
            PrivateKey::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                B64.encode(k.sign(msg.as_bytes()).to_bytes())
            }
        }
    }

    /// The three authentication headers around a signature made earlier for `ts_ms`.
    pub fn headers_with(&self, ts_ms: i64, signature: String) -> [(&'static str, String); 3] {
        [
            (HEADER_KEY, self.key_id.clone()),
            (HEADER_TIMESTAMP, ts_ms.to_string()),
            (HEADER_SIGNATURE, signature),
        ]
    }

    /// The three authentication headers for one request.
    pub fn headers(
        &self,
        ts_ms: i64,
        method: &str,
        path: &str,
        random: [u8; 32],
    ) -> [(&'static str, String); 3] {
        self.headers_with(ts_ms, self.sign(ts_ms, method, path, random))
    }
}

/// Parses an RSA private key PEM in either encoding Kalshi users have (kalshi.md §2).
fn parse_private_key(pem: &str) -> Result<PrivateKey, KalshiError> {
    // Keys pasted into environment variables often carry literal `\n` instead of newlines.
    let owned;
    let pem = if !pem.contains('\n') && pem.contains("\\n") {
        owned = pem.replace("\\n", "\n");
        owned.as_str()
    } else {
        pem
    };
    let pem = pem.trim();
    let fail = |what: &str| KalshiError::Credentials(format!("secret `private_key_pem` {what}"));
    let rsa = |k: RsaPrivateKey| PrivateKey::Rsa(Box::new(BlindedSigningKey::<Sha256>::new(k)));
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        RsaPrivateKey::from_pkcs1_pem(pem).map(rsa).map_err(|e| {
            fail(&format!(
                "is not a valid PKCS#1 RSA key ({})",
                redacted(&e.to_string())
            ))
        })
    } else if pem.contains("BEGIN PRIVATE KEY") {
        // PKCS#8 holds either key type; the algorithm identifier inside decides (rsa and
        // ed25519-dalek share the pkcs8 crate's DecodePrivateKey).
        match RsaPrivateKey::from_pkcs8_pem(pem) {
            Ok(k) => Ok(rsa(k)),
            Err(rsa_err) => ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                .map(|k| PrivateKey::Ed25519(Box::new(k)))
                .map_err(|_| {
                    fail(&format!(
                        "is neither a PKCS#8 RSA key nor a PKCS#8 Ed25519 key ({})",
                        redacted(&rsa_err.to_string())
                    ))
                }),
        }
    } else if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        Err(fail("is encrypted; export it without a passphrase"))
    } else if pem.contains("BEGIN PUBLIC KEY") || pem.contains("BEGIN RSA PUBLIC KEY") {
        Err(fail("is a public key; the private key is needed to sign"))
    } else if pem.contains("BEGIN OPENSSH PRIVATE KEY") {
        Err(fail(
            "is in OpenSSH format; convert it to PEM (PKCS#1 or PKCS#8)",
        ))
    } else if pem.is_empty() {
        Err(fail("is empty"))
    } else {
        Err(fail(
            "is not a PEM private key (expected -----BEGIN RSA PRIVATE KEY----- or \
             -----BEGIN PRIVATE KEY-----)",
        ))
    }
}

/// Parser errors describe ASN.1 structure, not content; still, keep only short, letter-only
/// words so no base64 run from the key can ever end up in a message.
fn redacted(s: &str) -> String {
    s.split_whitespace()
        .map(|w| if w.len() > 24 { "…" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rsa::pss::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    use rsa::RsaPublicKey;

    /// The committed test-only key and vectors from `kalshi_verify.py vector`.
    pub(crate) fn vectors() -> serde_json::Value {
        serde_json::from_str(include_str!(
            "../../../tests/fixtures/kalshi/signature_vectors.json"
        ))
        .unwrap()
    }

    pub(crate) fn test_pem() -> String {
        vectors()["private_key_pem_pkcs1"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn public() -> RsaPublicKey {
        use rsa::pkcs8::DecodePublicKey;
        RsaPublicKey::from_public_key_pem(vectors()["public_key_pem"].as_str().unwrap()).unwrap()
    }

    fn verify(ts: &str, method: &str, path: &str, sig_b64: &str) -> bool {
        let vk = VerifyingKey::<Sha256>::new(public());
        let Ok(raw) = B64.decode(sig_b64) else {
            return false;
        };
        let Ok(sig) = Signature::try_from(raw.as_slice()) else {
            return false;
        };
        vk.verify(format!("{ts}{method}{path}").as_bytes(), &sig)
            .is_ok()
    }

    #[test]
    fn python_vectors_verify_under_the_documented_recipe() {
        // Vectors produced by /work/shared/venues/kalshi_verify.py `vector` (documented recipe,
        // PSS salt 32); our verifier must accept every one.
        let v = vectors();
        let vecs = v["vectors"].as_array().unwrap();
        assert_eq!(vecs.len(), 5);
        for x in vecs {
            let s = |k: &str| x[k].as_str().unwrap();
            assert!(
                verify(
                    s("timestamp_ms"),
                    s("method"),
                    s("signed_path"),
                    s("signature_b64")
                ),
                "{x}"
            );
            assert_eq!(
                message(
                    s("timestamp_ms").parse().unwrap(),
                    s("method"),
                    s("request_path")
                ),
                s("message")
            );
        }
    }

    #[test]
    fn our_signature_verifies_and_is_deterministic_per_seed() {
        for pem in ["private_key_pem_pkcs1", "private_key_pem_pkcs8"] {
            let signer = Signer::new(
                "a952bcbe-ec3b-4b5b-b8f9-11dae589608c",
                vectors()[pem].as_str().unwrap(),
            )
            .unwrap();
            let path = "/trade-api/v2/portfolio/orders";
            let a = signer.sign(1_703_123_456_789, "GET", path, [1; 32]);
            let b = signer.sign(1_703_123_456_789, "GET", path, [1; 32]);
            let c = signer.sign(1_703_123_456_789, "GET", path, [2; 32]);
            assert_eq!(a, b);
            assert_ne!(a, c, "PSS salt must follow the seed");
            assert_eq!(B64.decode(&a).unwrap().len(), 256);
            assert!(verify("1703123456789", "GET", path, &a));
            assert!(verify("1703123456789", "GET", path, &c));
            // The query is never signed; the prefix always is.
            let q = signer.sign(
                1_703_123_456_789,
                "GET",
                "/trade-api/v2/portfolio/orders?limit=5",
                [1; 32],
            );
            assert!(verify("1703123456789", "GET", path, &q));
            assert!(!verify("1703123456789", "GET", "/portfolio/orders", &a));
            assert!(!verify("1703123456", "GET", path, &a));
            assert!(!verify("1703123456789", "POST", path, &a));
        }
    }

    #[test]
    fn rust_signatures_pass_kalshi_verify_py() {
        // Signatures made by this signer with fixed seeds, checked once with
        // `python3 /work/shared/venues/kalshi_verify.py verify --pub ... --sig ...` (exit 0)
        // and committed; the signer is deterministic per seed, so it must reproduce them.
        let fx: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/kalshi/rust_signatures.json"
        ))
        .unwrap();
        let signer = Signer::new("test-key-id", &test_pem()).unwrap();
        for x in fx["signatures"].as_array().unwrap() {
            let seed: Vec<u8> = x["seed"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap() as u8)
                .collect();
            let seed: [u8; 32] = seed.try_into().unwrap();
            let sig = signer.sign(
                x["timestamp_ms"].as_str().unwrap().parse().unwrap(),
                x["method"].as_str().unwrap(),
                x["path"].as_str().unwrap(),
                seed,
            );
            assert_eq!(sig, x["signature_b64"].as_str().unwrap(), "{x}");
            assert_eq!(x["kalshi_verify_py"]["valid"], true);
        }
    }

    #[test]
    fn malformed_keys_are_auth_errors_without_key_material() {
        let pem = test_pem();
        let body: String = pem.lines().nth(3).unwrap().to_string();
        let broken = pem.replace(&body, &body.chars().rev().collect::<String>());
        for bad in [
            broken.as_str(),
            "not a key",
            "",
            "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----",
        ] {
            let e = Signer::new("key", bad).unwrap_err();
            let pe: plugin_api::PluginError = e.into();
            assert_eq!(pe.kind, plugin_api::ErrorKind::Auth);
            assert!(!pe.message.contains(&body), "{}", pe.message);
            assert!(!pe.message.contains("MII"), "{}", pe.message);
        }
        assert!(Signer::new("", &pem).is_err());
        assert!(Signer::new(&pem, &pem).is_err());
        // Escaped newlines from an env var are accepted.
        assert!(Signer::new("key", &pem.replace('\n', "\\n")).is_ok());
        let s = Signer::new("key", &pem).unwrap();
        assert_eq!(format!("{s:?}"), "Signer(***)");
    }

    /// Ed25519 is deterministic: the signer must reproduce `kalshi_verify.py sign`'s bytes.
    #[test]
    fn ed25519_signatures_match_kalshi_verify_py() {
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/kalshi/ed25519_vectors.json"
        ))
        .unwrap();
        let signer = Signer::new("test-ed", v["private_key_pem"].as_str().unwrap()).unwrap();
        let cases = v["signatures"].as_array().unwrap();
        assert_eq!(cases.len(), 2);
        for c in cases {
            let ts: i64 = c["ts"].as_str().unwrap().parse().unwrap();
            let got = signer.sign(
                ts,
                c["method"].as_str().unwrap(),
                c["path"].as_str().unwrap(),
                [0; 32],
            );
            assert_eq!(got, c["signature"].as_str().unwrap(), "{c}");
        }
        // The query never enters the message.
        assert_eq!(
            signer.sign(
                1_764_000_000_000,
                "GET",
                "/trade-api/v2/portfolio/balance?x=1",
                [1; 32]
            ),
            cases[0]["signature"].as_str().unwrap()
        );
    }
}

/// Regenerates `tests/fixtures/kalshi/rust_signatures.json` input: run with
/// `cargo test -p polymix-plugin-kalshi print_rust_signatures -- --ignored --nocapture`, then
/// verify each line with `kalshi_verify.py verify` (see tests/fixtures/kalshi/README.md).
#[cfg(test)]
#[test]
#[ignore]
fn print_rust_signatures() {
    let signer = Signer::new("test-key-id", &tests::test_pem()).unwrap();
    let cases = [
        ("GET", "/trade-api/v2/portfolio/balance", 7u8),
        ("POST", "/trade-api/v2/portfolio/events/orders", 9),
        (
            "DELETE",
            "/trade-api/v2/portfolio/events/orders/ee5c1c3c-0000-4000-8000-000000000000",
            11,
        ),
        ("GET", "/trade-api/v2/portfolio/orders", 13),
    ];
    for (m, p, seed) in cases {
        let sig = signer.sign(1_764_000_000_000, m, p, [seed; 32]);
        println!("SIG {m} {p} {seed} {sig}");
    }
}
