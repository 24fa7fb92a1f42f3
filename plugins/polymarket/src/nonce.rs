//! ECDSA nonces prepared ahead of the order they sign.
//!
//! A secp256k1 signature of digest `z` by key `d` is `r = x(k·G) mod n`,
//! `s = k⁻¹·(z + r·d) mod n` (SEC 1 §4.1.3). Only `s` needs the message; the point
//! multiplication `k·G` and the inversion `k⁻¹`, almost all of a signature's cost, do not. The
//! host asks the venue to prepare ([`plugin_api::VenueOp::Prepare`]) off the path from a book to
//! the wire, as it does Kalshi's RSA signature, and the next order's signature is then two
//! scalar multiplications (BENCHMARKS.md, "Polymarket signature with a prepared nonce").
//!
//! What keeps this as safe as the RFC 6979 signing it stands in for:
//! - `k` is 32 bytes from the operating system's CSPRNG (`OsRng`), never from the host's
//!   `CallCtx::random`, which a test harness or replay may fill with zeros: a nonce repeated
//!   over two messages, or predictable, gives the private key away.
//! - A nonce is used at most once: it is not `Clone`, it is moved out of its slot by the one
//!   signature that uses it, and `k⁻¹` is zeroed when it is dropped.
//! - Anything out of the ordinary (no randomness, `x(k·G) ≥ n`, `s = 0`) discards the nonce,
//!   and the signature falls back to RFC 6979.
//! - `s` is made low (`s ≤ n/2`, as libsecp256k1 and Ethereum's `ecrecover` users require),
//!   flipping the recovery bit with it.
//!
//! Points and scalars are `k256`'s (constant-time); `k·G` is libsecp256k1's, as for every
//! other signature here.

use k256::elliptic_curve::ops::Reduce;
use k256::elliptic_curve::scalar::IsHigh;
use k256::elliptic_curve::zeroize::Zeroize;
use k256::elliptic_curve::PrimeField;
use k256::{FieldBytes, Scalar, U256};
use rand::rngs::OsRng;
use rand::RngCore;
use secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};
use std::sync::{Arc, Mutex};

/// One prepared nonce: `k⁻¹`, `r` and the parity of `k·G`'s `y`.
pub struct Nonce {
    k_inv: Scalar,
    r: Scalar,
    odd_y: bool,
}

impl Drop for Nonce {
    fn drop(&mut self) {
        self.k_inv.zeroize();
    }
}

impl Nonce {
    /// A fresh nonce from the OS's randomness; `None` if there is none to be had or the
    /// draw is unusable (both leave signing to RFC 6979).
    pub fn generate<C: Signing>(ctx: &Secp256k1<C>) -> Option<Nonce> {
        let mut bytes = [0u8; 32];
        if OsRng.try_fill_bytes(&mut bytes).is_err() {
            return None;
        }
        let nonce = Self::from_bytes(ctx, &bytes);
        bytes.zeroize();
        nonce
    }

    /// The nonce `k` given as 32 big-endian bytes (tests; `generate` in the product).
    fn from_bytes<C: Signing>(ctx: &Secp256k1<C>, k_bytes: &[u8; 32]) -> Option<Nonce> {
        // A `SecretKey` is exactly a scalar in [1, n): its "public key" is k·G.
        let mut sk = SecretKey::from_byte_array(*k_bytes).ok()?;
        let point = PublicKey::from_secret_key(ctx, &sk).serialize();
        sk.non_secure_erase();
        let mut k: Scalar = Option::from(Scalar::from_repr(FieldBytes::from(*k_bytes)))?;
        let k_inv: Option<Scalar> = k.invert().into();
        k.zeroize();
        let mut x = FieldBytes::default();
        x.copy_from_slice(&point[1..33]);
        // x ≥ n (probability ~2⁻¹²⁷) would need recovery ids 2 and 3, which Ethereum's `v`
        // cannot carry: refused, as `Wallet::sign_digest` refuses them.
        let r: Scalar = Option::from(Scalar::from_repr(x))?;
        Some(Nonce {
            k_inv: k_inv?,
            r,
            odd_y: point[0] == 0x03,
        })
    }

    /// Signs `digest` with the private scalar `d`: 65 bytes `r ‖ s ‖ v`, `v ∈ {27, 28}`,
    /// low-s. Consumes the nonce; `None` only if `s` came out zero.
    pub fn sign(self, d: &Scalar, digest: &[u8; 32]) -> Option<[u8; 65]> {
        let z = <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(*digest));
        let mut s = self.k_inv * (z + self.r * d);
        if bool::from(s.is_zero()) {
            return None;
        }
        let mut odd = self.odd_y;
        if bool::from(s.is_high()) {
            // (r, n − s) is the same signature with R's y negated.
            s = -s;
            odd = !odd;
        }
        let mut out = [0u8; 65];
        out[..32].copy_from_slice(&self.r.to_bytes());
        out[32..64].copy_from_slice(&s.to_bytes());
        out[64] = 27 + u8::from(odd);
        Some(out)
    }
}

/// The one nonce kept ready for a wallet's next signature (shared by its clones).
#[derive(Clone, Default)]
pub struct NonceSlot(Arc<Mutex<Option<Nonce>>>);

impl NonceSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Nonce>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes a nonce ready if none is; whether one is ready after.
    pub fn fill<C: Signing>(&self, ctx: &Secp256k1<C>) -> bool {
        if self.lock().is_some() {
            return true;
        }
        // Generated without the lock held; a second filler meanwhile just replaces it (the
        // replaced nonce is dropped unused).
        let Some(n) = Nonce::generate(ctx) else {
            return false;
        };
        *self.lock() = Some(n);
        true
    }

    /// Takes the ready nonce, if any: it is never handed out twice.
    pub fn take(&self) -> Option<Nonce> {
        self.lock().take()
    }

    /// Whether a nonce is ready.
    pub fn ready(&self) -> bool {
        self.lock().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eth::{keccak256, recover, Wallet};

    /// Hardhat account #0, as in `eth::tests`.
    const PK: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    /// ⌊n/2⌋ of secp256k1 (SEC 2 §2.4.1: n = FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFE BAAEDCE6
    /// AF48A03B BFD25E8C D0364141), big-endian.
    const HALF_N: &str = "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0";

    #[test]
    fn a_prepared_signature_recovers_to_the_wallet_and_is_low_s() {
        let w = Wallet::from_hex(PK).unwrap();
        let mut digest = [7u8; 32];
        let mut rs = std::collections::HashSet::new();
        for i in 0..256u32 {
            digest = keccak256(&[&digest[..], &i.to_be_bytes()].concat());
            assert!(w.prepare_nonce());
            let sig = w.sign_digest(&digest).unwrap();
            // Recovered with k256's own code: an independent check of r, s and v.
            assert_eq!(
                recover(&digest, &sig).unwrap(),
                w.address(),
                "signature {i}"
            );
            let s: Scalar = Scalar::from_repr(FieldBytes::from(
                <[u8; 32]>::try_from(&sig[32..64]).unwrap(),
            ))
            .unwrap();
            assert!(!bool::from(s.is_high()), "signature {i} is high-s");
            assert!(
                hex(&sig[32..64]).as_str() <= HALF_N,
                "signature {i}: s above n/2"
            );
            assert!(sig[64] == 27 || sig[64] == 28);
            // Random nonces: no two signatures share r.
            assert!(rs.insert(sig[..32].to_vec()), "r repeated at {i}");
            // And not the deterministic signature.
            assert_ne!(sig, w.sign_digest(&digest).unwrap(), "signature {i}");
        }
    }

    #[test]
    fn a_nonce_signs_once_then_signing_is_rfc6979_again() {
        let w = Wallet::from_hex(PK).unwrap();
        let (d1, d2) = (keccak256(b"one"), keccak256(b"two"));
        let deterministic = (w.sign_digest(&d1).unwrap(), w.sign_digest(&d2).unwrap());
        assert!(w.prepare_nonce());
        let first = w.sign_digest(&d1).unwrap();
        assert_ne!(first, deterministic.0, "the prepared nonce was not used");
        assert_eq!(recover(&d1, &first).unwrap(), w.address());
        // The nonce is gone: the next signature is RFC 6979's, byte for byte.
        assert_eq!(w.sign_digest(&d2).unwrap(), deterministic.1);
        // A clone shares the slot, so one nonce still signs once between them.
        let clone = w.clone();
        assert!(w.prepare_nonce());
        assert_ne!(clone.sign_digest(&d2).unwrap(), deterministic.1);
        assert_eq!(w.sign_digest(&d2).unwrap(), deterministic.1);
    }

    #[test]
    fn a_known_nonce_gives_the_textbook_signature() {
        // With k = 1, R = G: r = Gx mod n, and s = z + r·d (mod n), low-s'd.
        let ctx = Secp256k1::signing_only();
        let mut one = [0u8; 32];
        one[31] = 1;
        let n = Nonce::from_bytes(&ctx, &one).unwrap();
        let gx = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
        assert_eq!(hex(&n.r.to_bytes()), gx);
        assert!(!n.odd_y, "G's y is even");
        let d = Scalar::from(5u64);
        let digest = keccak256(b"textbook");
        let z = <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(digest));
        let mut s = z + n.r * d;
        let mut v = 27;
        if bool::from(s.is_high()) {
            s = -s;
            v = 28;
        }
        let sig = n.sign(&d, &digest).unwrap();
        assert_eq!(hex(&sig[32..64]), hex(&s.to_bytes()));
        assert_eq!(sig[64], v);
        // Zero and n are not nonces.
        assert!(Nonce::from_bytes(&ctx, &[0u8; 32]).is_none());
        let order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
        let mut nb = [0u8; 32];
        for (i, b) in nb.iter_mut().enumerate() {
            *b = u8::from_str_radix(&order[2 * i..2 * i + 2], 16).unwrap();
        }
        assert!(Nonce::from_bytes(&ctx, &nb).is_none());
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
