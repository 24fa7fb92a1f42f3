//! Request signing: RSA-PSS (SHA-256, MGF1-SHA-256, salt 32 bytes) over
//! `timestamp_ms + METHOD + path`, base64 (kalshi.md §2). Ed25519 keys (the newer key type the
//! official SDK 3.34 accepts) sign the same message with plain Ed25519.
//!
//! RSA runs on `ring` (constant-time, maintained, already in the tree through rustls): its
//! `RSA_PSS_SHA256` is exactly Kalshi's recipe, salt length = digest length = 32 (kalshi.md §2;
//! ring's `pss.rs` requires the salt to be the digest length). The salt comes from ring's
//! `SystemRandom` (the OS generator): ring takes randomness only from its own sources, so the
//! host's per-call bytes are not used here, and RSA signatures are not reproducible run to run
//! (tests verify them; one test reproduces the committed bytes with ring's test generator).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{RsaKeyPair, RSA_PSS_SHA256};
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
    rng: SystemRandom,
}

enum PrivateKey {
    Rsa(Box<RsaKeyPair>),
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
            rng: SystemRandom::new(),
        })
    }

    /// The API key id (not secret by itself, but kept out of logs anyway).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Base64 signature of `timestamp_ms + METHOD + path`. RSA-PSS draws its 32-byte salt from
    /// the OS generator, so each signature is fresh; Ed25519 is deterministic.
    pub fn sign(&self, ts_ms: i64, method: &str, path: &str) -> Result<String, KalshiError> {
        self.sign_message(message(ts_ms, method, path).as_bytes(), &self.rng)
    }

    /// Signs `msg` with salt from `rng` (tests pass a fixed one).
    fn sign_message(&self, msg: &[u8], rng: &dyn SecureRandom) -> Result<String, KalshiError> {
        match &self.key {
            PrivateKey::Rsa(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&RSA_PSS_SHA256, rng, msg, &mut sig).map_err(|_| {
                    KalshiError::Signing(
                        "RSA-PSS signing failed (no random salt from the OS generator?)".into(),
                    )
                })?;
                Ok(B64.encode(sig))
            }
            PrivateKey::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                Ok(B64.encode(k.sign(msg).to_bytes()))
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
    ) -> Result<[(&'static str, String); 3], KalshiError> {
        Ok(self.headers_with(ts_ms, self.sign(ts_ms, method, path)?))
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
    // The PEM's base64 body as DER (RFC 7468); errors name the encoding problem only.
    let der = |want: &str| -> Result<Vec<u8>, KalshiError> {
        match pem_rfc7468::decode_vec(pem.as_bytes()) {
            Ok((label, der)) if label == want => Ok(der),
            Ok((label, _)) => Err(fail(&format!("has PEM label {label:?}, expected {want:?}"))),
            Err(e) => Err(fail(&format!(
                "is not valid PEM ({})",
                redacted(&e.to_string())
            ))),
        }
    };
    let rsa = |k: RsaKeyPair| PrivateKey::Rsa(Box::new(k));
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        // PKCS#1 `RSAPrivateKey`.
        RsaKeyPair::from_der(&der("RSA PRIVATE KEY")?)
            .map(rsa)
            .map_err(|e| {
                fail(&format!(
                    "is not a valid PKCS#1 RSA key ({})",
                    redacted(&e.to_string())
                ))
            })
    } else if pem.contains("BEGIN PRIVATE KEY") {
        // PKCS#8 holds either key type; the algorithm identifier inside decides.
        match RsaKeyPair::from_pkcs8(&der("PRIVATE KEY")?) {
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
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;
    use ring::signature::{UnparsedPublicKey, RSA_PSS_2048_8192_SHA256};

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

    /// The public key of the committed test key (PKCS#1 `RSAPublicKey` DER).
    fn public() -> Vec<u8> {
        let Ok(PrivateKey::Rsa(k)) = parse_private_key(&test_pem()) else {
            panic!("test key is RSA")
        };
        k.public().as_ref().to_vec()
    }

    /// Kalshi's server-side check: RSA-PSS, SHA-256, MGF1-SHA-256, salt = 32 (ring's verifier
    /// requires the salt to be the digest length, so a MAX_LENGTH salt fails here as there).
    pub(crate) fn verify(ts: &str, method: &str, path: &str, sig_b64: &str) -> bool {
        let Ok(raw) = B64.decode(sig_b64) else {
            return false;
        };
        UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, public())
            .verify(format!("{ts}{method}{path}").as_bytes(), &raw)
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
        // The committed SPKI public key is the same key.
        let spki = pem_rfc7468::decode_vec(v["public_key_pem"].as_str().unwrap().as_bytes())
            .unwrap()
            .1;
        assert!(
            spki.ends_with(&public()),
            "SPKI wraps the same RSAPublicKey"
        );
    }

    #[test]
    fn our_signatures_verify_for_both_key_encodings() {
        for pem in ["private_key_pem_pkcs1", "private_key_pem_pkcs8"] {
            let signer = Signer::new(
                "a952bcbe-ec3b-4b5b-b8f9-11dae589608c",
                vectors()[pem].as_str().unwrap(),
            )
            .unwrap();
            let path = "/trade-api/v2/portfolio/orders";
            let a = signer.sign(1_703_123_456_789, "GET", path).unwrap();
            let b = signer.sign(1_703_123_456_789, "GET", path).unwrap();
            assert_ne!(a, b, "PSS salt is fresh per signature");
            assert_eq!(B64.decode(&a).unwrap().len(), 256);
            assert!(verify("1703123456789", "GET", path, &a));
            assert!(verify("1703123456789", "GET", path, &b));
            // The query is never signed; the prefix always is.
            let q = signer
                .sign(
                    1_703_123_456_789,
                    "GET",
                    "/trade-api/v2/portfolio/orders?limit=5",
                )
                .unwrap();
            assert!(verify("1703123456789", "GET", path, &q));
            assert!(!verify("1703123456789", "GET", "/portfolio/orders", &a));
            assert!(!verify("1703123456", "GET", path, &a));
            assert!(!verify("1703123456789", "POST", path, &a));
        }
    }

    #[test]
    #[allow(deprecated)]
    fn ring_reproduces_the_committed_rust_signatures_byte_for_byte() {
        // Signatures made by the previous signer (the `rsa` crate, PSS salt = the first 32
        // bytes of a ChaCha20 stream seeded with `seed`), checked once with
        // `python3 /work/shared/venues/kalshi_verify.py verify` (exit 0) and committed. Given
        // the same salt (through ring's own fixed test generator), ring's RSA-PSS must produce
        // the same bytes: same encoding, same key, same recipe.
        let fx: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/kalshi/rust_signatures.json"
        ))
        .unwrap();
        let signer = Signer::new("test-key-id", &test_pem()).unwrap();
        let sigs = fx["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 4);
        for x in sigs {
            let seed: Vec<u8> = x["seed"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap() as u8)
                .collect();
            let mut salt = [0u8; 32];
            ChaCha20Rng::from_seed(seed.try_into().unwrap()).fill_bytes(&mut salt);
            let ts: i64 = x["timestamp_ms"].as_str().unwrap().parse().unwrap();
            let msg = message(
                ts,
                x["method"].as_str().unwrap(),
                x["path"].as_str().unwrap(),
            );
            let sig = signer
                .sign_message(
                    msg.as_bytes(),
                    &ring::test::rand::FixedSliceRandom { bytes: &salt },
                )
                .unwrap();
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
            "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
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
            let got = signer
                .sign(
                    ts,
                    c["method"].as_str().unwrap(),
                    c["path"].as_str().unwrap(),
                )
                .unwrap();
            assert_eq!(got, c["signature"].as_str().unwrap(), "{c}");
        }
        // The query never enters the message.
        assert_eq!(
            signer
                .sign(
                    1_764_000_000_000,
                    "GET",
                    "/trade-api/v2/portfolio/balance?x=1",
                )
                .unwrap(),
            cases[0]["signature"].as_str().unwrap()
        );
    }
}
