//! L1 authentication: the EIP-712 `ClobAuth` signature used to create or derive API keys
//! (polymarket.md §2.1). Domain `ClobAuthDomain`, version `"1"`, no verifying contract.

use crate::eth::{eip712_digest, keccak256, u256_word, Address, EthError, Wallet};

/// The fixed attestation text.
pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";

const DOMAIN_TYPE: &str = "EIP712Domain(string name,string version,uint256 chainId)";
const CLOB_AUTH_TYPE: &str =
    "ClobAuth(address address,string timestamp,uint256 nonce,string message)";

/// Domain separator of `ClobAuthDomain` v1 on `chain_id`.
pub fn domain_separator(chain_id: u64) -> [u8; 32] {
    let mut buf = [0u8; 128];
    buf[..32].copy_from_slice(&keccak256(DOMAIN_TYPE.as_bytes()));
    buf[32..64].copy_from_slice(&keccak256(b"ClobAuthDomain"));
    buf[64..96].copy_from_slice(&keccak256(b"1"));
    buf[96..].copy_from_slice(&u256_word(chain_id as u128));
    keccak256(&buf)
}

/// EIP-712 digest of a `ClobAuth` message (`timestamp` is unix seconds, signed as a string).
pub fn digest(chain_id: u64, address: &Address, timestamp: &str, nonce: u64) -> [u8; 32] {
    let mut buf = [0u8; 160];
    buf[..32].copy_from_slice(&keccak256(CLOB_AUTH_TYPE.as_bytes()));
    buf[32..64].copy_from_slice(&address.word());
    buf[64..96].copy_from_slice(&keccak256(timestamp.as_bytes()));
    buf[96..128].copy_from_slice(&u256_word(nonce as u128));
    buf[128..].copy_from_slice(&keccak256(CLOB_AUTH_MESSAGE.as_bytes()));
    eip712_digest(&domain_separator(chain_id), &keccak256(&buf))
}

/// The four L1 headers `POLY_ADDRESS`, `POLY_SIGNATURE`, `POLY_TIMESTAMP`, `POLY_NONCE`.
pub fn headers(
    wallet: &Wallet,
    chain_id: u64,
    timestamp: &str,
    nonce: u64,
) -> Result<Vec<(String, String)>, EthError> {
    let addr = wallet.address();
    let sig = wallet.sign_digest(&digest(chain_id, &addr, timestamp, nonce))?;
    Ok(vec![
        ("POLY_ADDRESS".into(), addr.to_checksum()),
        ("POLY_SIGNATURE".into(), crate::eth::hex0x(&sig)),
        ("POLY_TIMESTAMP".into(), timestamp.to_string()),
        ("POLY_NONCE".into(), nonce.to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{vectors, PK};

    /// polymarket-vectors.json → `published_vector_checks` "L1 ClobAuth …" (py-clob-client
    /// tests/signing/test_eip712.py, rs-clob-client) and `l1_clob_auth` (generated, with digests).
    #[test]
    fn clob_auth_vectors() {
        let w = Wallet::from_hex(PK).unwrap();
        let v = vectors();
        let mut n = 0;
        for case in v["l1_clob_auth"].as_array().unwrap() {
            let chain = case["chainId"].as_u64().unwrap();
            let ts = case["timestamp"].as_str().unwrap();
            let nonce = case["nonce"].as_u64().unwrap();
            let d = digest(chain, &w.address(), ts, nonce);
            if let Some(exp) = case["digest_independent"].as_str() {
                assert_eq!(crate::eth::hex0x(&d), exp);
            }
            let h = headers(&w, chain, ts, nonce).unwrap();
            assert_eq!(
                h[1].1,
                case["signature"].as_str().unwrap(),
                "chain {chain} ts {ts}"
            );
            for (k, val) in case["headers"].as_object().unwrap() {
                let got = &h.iter().find(|(n, _)| n == k).unwrap().1;
                assert_eq!(got, val.as_str().unwrap());
            }
            n += 1;
        }
        assert!(n >= 3);
        // The two published signatures, as written in polymarket.md §6.1.
        let h = headers(&w, 80002, "10000000", 23).unwrap();
        assert_eq!(h[1].1, "0xf62319a987514da40e57e2f4d7529f7bac38f0355bd88bb5adbb3768d80de6c1682518e0af677d5260366425f4361e7b70c25ae232aff0ab2331e2b164a1aedc1b");
        let h = headers(&w, 137, "100000", 0).unwrap();
        assert_eq!(h[1].1, "0xfdfb5abf512e439ea61c8595c18e527e718bf16010acf57cef51d09e15893098275d3c6f73038f36ec0cd0ce55436fca14dc64b11611f4dce896e354207508cc1b");
    }
}
