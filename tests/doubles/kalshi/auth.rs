//! Server-side signature check, as Kalshi performs it: RSA-PSS, SHA-256, MGF1-SHA-256, salt
//! exactly 32 bytes (or plain Ed25519 for an Ed25519 key), over `timestamp_ms + METHOD + path`
//! (path with `/trade-api/v2`, no query). On failure it also works out which common client mistake (kalshi.md §8.1) the
//! signature matches, for the test's benefit; the HTTP answer stays Kalshi's generic 401.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::pss::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};

/// A registered API key's public half.
#[derive(Clone, Debug)]
pub enum PublicKey {
    /// RSA (PSS signatures).
    Rsa(RsaPublicKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// Parses a public key PEM (SPKI RSA or Ed25519, or PKCS#1), or derives it from a private key
/// PEM.
pub fn public_key(pem: &str) -> Option<PublicKey> {
    rsa_public_key(pem).map(PublicKey::Rsa).or_else(|| {
        ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
            .ok()
            .map(PublicKey::Ed25519)
    })
}

fn rsa_public_key(pem: &str) -> Option<RsaPublicKey> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    RsaPublicKey::from_public_key_pem(pem)
        .ok()
        .or_else(|| RsaPublicKey::from_pkcs1_pem(pem).ok())
        .or_else(|| {
            rsa::RsaPrivateKey::from_pkcs1_pem(pem)
                .ok()
                .map(|k| k.to_public_key())
        })
        .or_else(|| {
            rsa::RsaPrivateKey::from_pkcs8_pem(pem)
                .ok()
                .map(|k| k.to_public_key())
        })
}

fn verify_msg(key: &PublicKey, msg: &str, sig: &[u8]) -> bool {
    match key {
        PublicKey::Rsa(key) => {
            let Ok(sig) = Signature::try_from(sig) else {
                return false;
            };
            VerifyingKey::<Sha256>::new(key.clone())
                .verify(msg.as_bytes(), &sig)
                .is_ok()
        }
        PublicKey::Ed25519(key) => {
            let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
                return false;
            };
            key.verify_strict(msg.as_bytes(), &sig).is_ok()
        }
    }
}

/// Strict check of one request's signature.
pub fn verify(key: &PublicKey, ts: &str, method: &str, path: &str, sig_b64: &str) -> bool {
    let Ok(sig) = B64.decode(sig_b64) else {
        return false;
    };
    verify_msg(key, &format!("{ts}{method}{path}"), &sig)
}

/// Which known mistake a failed signature matches, if any.
pub fn diagnose(
    key: &PublicKey,
    ts: &str,
    method: &str,
    path: &str,
    query: &str,
    sig_b64: &str,
) -> Vec<&'static str> {
    let Ok(sig) = B64.decode(sig_b64) else {
        return vec!["signature is not standard padded base64"];
    };
    let mut out = Vec::new();
    if !query.is_empty() && verify_msg(key, &format!("{ts}{method}{path}?{query}"), &sig) {
        out.push("the query string was signed (sign the path only)");
    }
    if let Some(short) = path.strip_prefix("/trade-api/v2") {
        if verify_msg(key, &format!("{ts}{method}{short}"), &sig) {
            out.push("the /trade-api/v2 prefix was left out of the signed path");
        }
    }
    if verify_msg(key, &format!("{ts}{}{path}", method.to_lowercase()), &sig) {
        out.push("the method was lower-case in the signed message");
    }
    if let Ok(ms) = ts.parse::<i64>() {
        if verify_msg(key, &format!("{}{method}{path}", ms / 1000), &sig) {
            out.push("a seconds timestamp was signed but milliseconds were sent");
        }
    }
    let PublicKey::Rsa(key) = key else {
        return out;
    };
    let digest = Sha256::digest(format!("{ts}{method}{path}").as_bytes());
    if key
        .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &sig)
        .is_ok()
    {
        out.push("PKCS#1 v1.5 padding was used instead of PSS");
    }
    for salt in [0usize, 20, 64, 190, 222] {
        if let Ok(s) = Signature::try_from(sig.as_slice()) {
            if VerifyingKey::<Sha256>::new_with_salt_len(key.clone(), salt)
                .verify(format!("{ts}{method}{path}").as_bytes(), &s)
                .is_ok()
            {
                out.push("PSS with a salt length other than 32 bytes");
                break;
            }
        }
    }
    out
}
