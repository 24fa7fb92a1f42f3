//! Ethereum primitives the adapter needs: Keccak-256, addresses (EIP-55), 256-bit decimal
//! integers, hex, and recoverable secp256k1 signatures (`r ‖ s ‖ v`, `v ∈ {27, 28}`).
//!
//! Hand-rolled on top of `sha3` instead of pulling in `alloy`: every struct the adapter hashes
//! has only static ABI types, so `abi.encode` is a concatenation of 32-byte words.
//!
//! Signing uses libsecp256k1 (the `secp256k1` crate): it signs about 1.9× faster than `k256`,
//! whose scalar and field inversions dominate a signature (BENCHMARKS.md, venue adapters). Both
//! produce the same bytes (RFC 6979 nonce, low-s), which `tests::libsecp_matches_k256` checks.
//! Recovery stays on `k256`, so every test that recovers a signature is an independent check.
//! An order signed with a nonce the venue prepared ahead (`crate::nonce`) is not RFC 6979's:
//! its nonce is random, used once.

use crate::nonce::NonceSlot;
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use k256::elliptic_curve::zeroize::Zeroize;
use k256::elliptic_curve::PrimeField;
use secp256k1::{Message, PublicKey, Secp256k1, SecretKey, SignOnly};
use sha3::{Digest, Keccak256};
use std::fmt;
use std::sync::OnceLock;

/// Keccak-256 of `data`.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(data);
    h.finalize().into()
}

/// Errors from parsing Ethereum values. Messages never echo key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EthError {
    /// Not valid hex of the expected length.
    #[error("{what}: expected {len} bytes of 0x-prefixed hex")]
    BadHex {
        /// Which value.
        what: &'static str,
        /// Expected byte length.
        len: usize,
    },
    /// Not a decimal integer below 2^256.
    #[error("{what}: not a decimal integer below 2^256")]
    BadUint {
        /// Which value.
        what: &'static str,
    },
    /// The private key is not a valid secp256k1 scalar.
    #[error("private key is not a valid secp256k1 key")]
    BadKey,
    /// A signature could not be produced or recovered.
    #[error("signature error")]
    Signature,
}

/// A 20-byte account address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The zero address.
    pub const ZERO: Address = Address([0; 20]);

    /// Parses `0x` + 40 hex digits (any case; the checksum is not enforced).
    pub fn parse(s: &str) -> Result<Address, EthError> {
        let mut out = [0u8; 20];
        decode_hex_into(s, &mut out).map_err(|_| EthError::BadHex {
            what: "address",
            len: 20,
        })?;
        Ok(Address(out))
    }

    /// The address of a public key: last 20 bytes of keccak(uncompressed point without prefix).
    pub fn from_verifying_key(key: &VerifyingKey) -> Address {
        Self::from_uncompressed(key.to_encoded_point(false).as_bytes())
    }

    /// From a SEC1 uncompressed point (`0x04 ‖ x ‖ y`, 65 bytes).
    fn from_uncompressed(point: &[u8]) -> Address {
        let h = keccak256(&point[1..]);
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[12..]);
        Address(a)
    }

    /// EIP-55 mixed-case checksummed form.
    pub fn to_checksum(&self) -> String {
        let mut out = String::with_capacity(42);
        self.push_checksum(&mut out);
        out
    }

    /// Appends the EIP-55 form to `out` (no temporary string: the order body writes two).
    pub fn push_checksum(&self, out: &mut String) {
        out.extend(self.checksum_ascii().iter().map(|&c| c as char));
    }

    /// The EIP-55 form as ASCII bytes, `0x` included.
    pub fn checksum_ascii(&self) -> [u8; 42] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut lower = [0u8; 40];
        for (i, b) in self.0.iter().enumerate() {
            lower[2 * i] = HEX[(b >> 4) as usize];
            lower[2 * i + 1] = HEX[(b & 0xf) as usize];
        }
        let h = keccak256(&lower);
        let mut out = [0u8; 42];
        out[0] = b'0';
        out[1] = b'x';
        for (i, &c) in lower.iter().enumerate() {
            let nibble = (h[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
            out[2 + i] = if c.is_ascii_alphabetic() && nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            };
        }
        out
    }

    /// The address as a left-padded 32-byte ABI word.
    pub fn word(&self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(&self.0);
        w
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

/// A 256-bit unsigned integer as a big-endian ABI word.
pub fn u256_word(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

/// Parses a decimal string (a Polymarket token id has up to 78 digits) into a big-endian word.
pub fn u256_from_decimal(s: &str) -> Result<[u8; 32], EthError> {
    let bad = EthError::BadUint { what: "token id" };
    if s.is_empty() || s.len() > 78 {
        return Err(bad);
    }
    // Little-endian 64-bit limbs, fed 19 digits at a time (10^19 < 2^64): 5 passes over the
    // limbs for a 78-digit token id instead of 78.
    let mut limbs = [0u64; 4];
    for chunk in s.as_bytes().chunks(19) {
        let mut v = 0u64;
        for &b in chunk {
            if !b.is_ascii_digit() {
                return Err(bad);
            }
            v = v * 10 + (b - b'0') as u64;
        }
        let mul = 10u128.pow(chunk.len() as u32);
        let mut carry = v as u128;
        for l in limbs.iter_mut() {
            let x = (*l as u128) * mul + carry;
            *l = x as u64;
            carry = x >> 64;
        }
        if carry != 0 {
            return Err(bad);
        }
    }
    let mut w = [0u8; 32];
    for (i, l) in limbs.iter().enumerate() {
        w[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&l.to_be_bytes());
    }
    Ok(w)
}

/// Lower-case hex without prefix.
pub fn hex_lower(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// `0x` + lower-case hex.
pub fn hex0x(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    push_hex(&mut s, bytes);
    s
}

/// Appends lower-case hex (no prefix) to `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Not hex, or not the expected length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid hex")]
pub struct HexError;

/// Decodes hex (optional `0x`) into exactly `out.len()` bytes.
pub fn decode_hex_into(s: &str, out: &mut [u8]) -> Result<(), HexError> {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let b = h.as_bytes();
    if b.len() != out.len() * 2 {
        return Err(HexError);
    }
    for (i, o) in out.iter_mut().enumerate() {
        let hi = nibble(b[2 * i]).ok_or(HexError)?;
        let lo = nibble(b[2 * i + 1]).ok_or(HexError)?;
        *o = (hi << 4) | lo;
    }
    Ok(())
}

/// Decodes hex (optional `0x`) of any even length.
pub fn decode_hex(s: &str) -> Result<Vec<u8>, HexError> {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if h.len() % 2 != 0 {
        return Err(HexError);
    }
    let mut out = vec![0u8; h.len() / 2];
    decode_hex_into(h, &mut out)?;
    Ok(out)
}

/// One signing context for the process: building one allocates, and it is read-only after.
fn signer() -> &'static Secp256k1<SignOnly> {
    static CTX: OnceLock<Secp256k1<SignOnly>> = OnceLock::new();
    CTX.get_or_init(Secp256k1::signing_only)
}

/// A secp256k1 signing key with its address, parsed once and reused for every signature.
/// `Debug` never shows the key.
#[derive(Clone)]
pub struct Wallet {
    key: SecretKey,
    address: Address,
    nonces: NonceSlot,
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Wallet({})", self.address)
    }
}

impl Drop for Wallet {
    fn drop(&mut self) {
        // Best effort: `SecretKey` is `Copy`, so this only clears the wallet's own copy.
        self.key.non_secure_erase();
    }
}

impl Wallet {
    /// Parses a 32-byte hex private key (with or without `0x`).
    pub fn from_hex(s: &str) -> Result<Wallet, EthError> {
        let mut k = [0u8; 32];
        decode_hex_into(s.trim(), &mut k).map_err(|_| EthError::BadHex {
            what: "private_key",
            len: 32,
        })?;
        let key = SecretKey::from_byte_array(k).map_err(|_| EthError::BadKey);
        k.fill(0);
        let key = key?;
        let public = PublicKey::from_secret_key(signer(), &key);
        let address = Address::from_uncompressed(&public.serialize_uncompressed());
        Ok(Wallet {
            key,
            address,
            nonces: NonceSlot::default(),
        })
    }

    /// The signer address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Makes a nonce ready for the next signature (`nonce`), if none is; whether one is.
    pub fn prepare_nonce(&self) -> bool {
        self.nonces.fill(signer())
    }

    /// Whether a prepared nonce is waiting for the next signature.
    pub fn nonce_ready(&self) -> bool {
        self.nonces.ready()
    }

    /// Signs a 32-byte digest: 65 bytes `r ‖ s ‖ v` with `v ∈ {27, 28}`, low-s. With a
    /// prepared nonce (taken, so used once) the signature skips the point multiplication;
    /// without one, it is RFC 6979's.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<[u8; 65], EthError> {
        if let Some(nonce) = self.nonces.take() {
            // The key as a scalar only for this signature (no second long-lived copy).
            let mut k = self.key.secret_bytes();
            let d = Option::<k256::Scalar>::from(k256::Scalar::from_repr(k.into()));
            k.zeroize();
            if let Some(mut d) = d {
                let sig = nonce.sign(&d, digest);
                d.zeroize();
                if let Some(sig) = sig {
                    return Ok(sig);
                }
            }
        }
        let sig = signer().sign_ecdsa_recoverable(Message::from_digest(*digest), &self.key);
        let (rec, rs) = sig.serialize_compact();
        // libsecp256k1 returns ids 0..=3; 2 and 3 (r ≥ n) have probability ~2^-127 and no
        // Ethereum `v` encoding, so they are refused rather than wrapped.
        let rec = u8::try_from(i32::from(rec))
            .ok()
            .filter(|r| *r <= 1)
            .ok_or(EthError::Signature)?;
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&rs);
        out[64] = 27 + rec;
        Ok(out)
    }
}

/// Recovers the signer address of a 65-byte `r ‖ s ‖ v` signature over `digest`.
pub fn recover(digest: &[u8; 32], sig: &[u8]) -> Result<Address, EthError> {
    if sig.len() < 65 {
        return Err(EthError::Signature);
    }
    let v = sig[64];
    let rec = match v {
        27 | 28 => v - 27,
        0 | 1 => v,
        _ => return Err(EthError::Signature),
    };
    let signature = Signature::from_slice(&sig[..64]).map_err(|_| EthError::Signature)?;
    let rec = RecoveryId::from_byte(rec).ok_or(EthError::Signature)?;
    let key = VerifyingKey::recover_from_prehash(digest, &signature, rec)
        .map_err(|_| EthError::Signature)?;
    Ok(Address::from_verifying_key(&key))
}

/// EIP-712 digest `keccak(0x19 0x01 ‖ domainSeparator ‖ structHash)`.
pub fn eip712_digest(domain_separator: &[u8; 32], struct_hash: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    buf[2..34].copy_from_slice(domain_separator);
    buf[34..].copy_from_slice(struct_hash);
    keccak256(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hardhat account #0, the key every vector in polymarket-vectors.json uses.
    pub const PK: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn address_and_checksum() {
        let w = Wallet::from_hex(PK).unwrap();
        assert_eq!(
            w.address().to_checksum(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(
            format!("{w:?}"),
            "Wallet(0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266)"
        );
    }

    #[test]
    fn decimal_u256() {
        assert_eq!(u256_from_decimal("1234").unwrap(), u256_word(1234));
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(u256_from_decimal(max).unwrap(), [0xff; 32]);
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert!(u256_from_decimal(over).is_err());
        assert!(u256_from_decimal("12a").is_err());
        assert!(u256_from_decimal("").is_err());
        // The 19-digit chunking against the plain digit-by-digit definition, every length.
        let reference = |s: &str| {
            let mut w = [0u8; 32];
            for b in s.bytes() {
                let mut carry = (b - b'0') as u16;
                for x in w.iter_mut().rev() {
                    let v = *x as u16 * 10 + carry;
                    *x = v as u8;
                    carry = v >> 8;
                }
            }
            w
        };
        let digits: String = (0..78usize)
            .map(|i| (b'0' + ((i * 7 + 3) % 10) as u8) as char)
            .collect();
        for n in 1..=77 {
            assert_eq!(
                u256_from_decimal(&digits[..n]).unwrap(),
                reference(&digits[..n])
            );
        }
        assert_eq!(
            u256_from_decimal("10000000000000000000").unwrap(),
            u256_word(10_000_000_000_000_000_000)
        );
        assert!(u256_from_decimal(&"9".repeat(78)).is_err());
    }

    /// The switch from k256 to libsecp256k1 must not change a single signature byte: same
    /// RFC 6979 nonce, same low-s normalisation, same recovery id. k256 is the reference here.
    #[test]
    fn libsecp_matches_k256() {
        let mut pk = [0u8; 32];
        decode_hex_into(PK, &mut pk).unwrap();
        let reference = k256::ecdsa::SigningKey::from_slice(&pk).unwrap();
        let w = Wallet::from_hex(PK).unwrap();
        let mut digest = [0u8; 32];
        for i in 0..256u32 {
            digest = keccak256(&[&digest[..], &i.to_be_bytes()].concat());
            let (sig, rec) = reference.sign_prehash_recoverable(&digest).unwrap();
            let ours = w.sign_digest(&digest).unwrap();
            assert_eq!(&ours[..64], sig.to_bytes().as_slice(), "digest {i}");
            assert_eq!(ours[64], 27 + rec.to_byte(), "digest {i}");
            assert_eq!(recover(&digest, &ours).unwrap(), w.address());
        }
    }

    #[test]
    fn bad_keys_do_not_echo() {
        let e = Wallet::from_hex("0xdeadbeef").unwrap_err().to_string();
        assert!(!e.contains("deadbeef"));
        assert!(Wallet::from_hex(&format!("0x{}", "00".repeat(32))).is_err());
    }
}
