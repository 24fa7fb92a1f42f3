//! Legacy CTF Exchange **V1** order hashing (domain version `"1"`), kept only to verify old
//! records and the published vectors. Production rejects V1 orders since 2026-04-28
//! (`order_version_mismatch`); this adapter never sends them.

use crate::eth::{eip712_digest, keccak256, u256_from_decimal, u256_word, Address, EthError};
use crate::order_v2::ExchangeDomain;

/// The exact V1 order type string.
pub const ORDER_TYPE_V1: &str = "Order(uint256 salt,address maker,address signer,address taker,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint256 expiration,uint256 nonce,uint256 feeRateBps,uint8 side,uint8 signatureType)";

/// A V1 order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderV1 {
    /// Salt.
    pub salt: u64,
    /// Funds holder.
    pub maker: Address,
    /// Signing address.
    pub signer: Address,
    /// Counterparty (zero = public).
    pub taker: Address,
    /// Token id, decimal.
    pub token_id: String,
    /// Maker amount, base units.
    pub maker_amount: u64,
    /// Taker amount, base units.
    pub taker_amount: u64,
    /// Expiry (unix s), 0 = none.
    pub expiration: u64,
    /// On-chain cancel nonce.
    pub nonce: u64,
    /// Fee in basis points.
    pub fee_rate_bps: u64,
    /// 0 = BUY, 1 = SELL.
    pub side: u8,
    /// Wallet kind.
    pub signature_type: u8,
}

impl OrderV1 {
    /// The EIP-712 digest under a V1 domain (`ExchangeDomain::with_version(.., b"1")`).
    pub fn digest(&self, domain: &ExchangeDomain) -> Result<[u8; 32], EthError> {
        let words: [[u8; 32]; 13] = [
            keccak256(ORDER_TYPE_V1.as_bytes()),
            u256_word(self.salt as u128),
            self.maker.word(),
            self.signer.word(),
            self.taker.word(),
            u256_from_decimal(&self.token_id)?,
            u256_word(self.maker_amount as u128),
            u256_word(self.taker_amount as u128),
            u256_word(self.expiration as u128),
            u256_word(self.nonce as u128),
            u256_word(self.fee_rate_bps as u128),
            u256_word(self.side as u128),
            u256_word(self.signature_type as u128),
        ];
        let mut buf = Vec::with_capacity(32 * 13);
        for w in &words {
            buf.extend_from_slice(w);
        }
        Ok(eip712_digest(&domain.separator, &keccak256(&buf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eth::{hex0x, Wallet};
    use crate::test_vectors::{vectors, PK};

    fn dom(chain: u64, c: &str) -> ExchangeDomain {
        ExchangeDomain::with_version(chain, Address::parse(c).unwrap(), b"1")
    }

    fn amoy_order(w: &Wallet) -> OrderV1 {
        OrderV1 {
            salt: 479249096354,
            maker: w.address(),
            signer: w.address(),
            taker: Address::ZERO,
            token_id: "1234".into(),
            maker_amount: 100000000,
            taker_amount: 50000000,
            expiration: 0,
            nonce: 0,
            fee_rate_bps: 100,
            side: 0,
            signature_type: 0,
        }
    }

    /// polymarket-vectors.json → `published_vector_checks` "V1 order …" (python-order-utils
    /// tests/test_order_builder.py; clob-client exchange.order.builder.test.ts; rs-clob-client
    /// tests/clob.rs sign_order_should_succeed).
    #[test]
    fn published_v1_vectors() {
        let w = Wallet::from_hex(PK).unwrap();
        let o = amoy_order(&w);
        let d = o
            .digest(&dom(80002, "0xdFE02Eb6733538f8Ea35D585af8DE5958AD99E40"))
            .unwrap();
        assert_eq!(
            hex0x(&d),
            "0x02ca1d1aa31103804173ad1acd70066cb6c1258a4be6dada055111f9a7ea4e55"
        );
        assert_eq!(hex0x(&w.sign_digest(&d).unwrap()), "0x302cd9abd0b5fcaa202a344437ec0b6660da984e24ae9ad915a592a90facf5a51bb8a873cd8d270f070217fea1986531d5eec66f1162a81f66e026db653bf7ce1c");
        let d = o
            .digest(&dom(80002, "0xC5d563A36AE78145C45a50134d48A1215220f80a"))
            .unwrap();
        assert_eq!(
            hex0x(&d),
            "0xf15790d3edc4b5aed427b0b543a9206fcf4b1a13dfed016d33bfb313076263b8"
        );
        assert_eq!(hex0x(&w.sign_digest(&d).unwrap()), "0x1b3646ef347e5bd144c65bd3357ba19c12c12abaeedae733cf8579bc51a2752c0454c3bc6b236957e393637982c769b8dc0706c0f5c399983d933850afd1cbcd1c");

        let one = Address::parse("0x1111111111111111111111111111111111111111").unwrap();
        let ts = OrderV1 {
            salt: 1,
            maker: one,
            signer: one,
            taker: Address::ZERO,
            token_id: "101".into(),
            maker_amount: 1000000,
            taker_amount: 2000000,
            expiration: 0,
            nonce: 2,
            fee_rate_bps: 0,
            side: 0,
            signature_type: 0,
        };
        let d = ts
            .digest(&dom(137, "0x0000000000000000000000000000000000000001"))
            .unwrap();
        assert_eq!(
            hex0x(&d),
            "0xeb162c6cc7aa28ad096a7c40fb9556d41fa1730d71103ba7103589ae1f18d942"
        );

        let proxy = OrderV1 {
            salt: 1,
            maker: Address::parse("0x995c9b1f779c04e65AF8ea3360F96c43b5e62316").unwrap(),
            signer: w.address(),
            taker: Address::parse("0xf7fB45986800e2D259BAa25B56466bd02dA37a44").unwrap(),
            token_id: "123".into(),
            maker_amount: 51200000,
            taker_amount: 100000000,
            expiration: 0,
            nonce: 2,
            fee_rate_bps: 0,
            side: 0,
            signature_type: 1,
        };
        let d = proxy
            .digest(&dom(137, "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"))
            .unwrap();
        assert_eq!(hex0x(&w.sign_digest(&d).unwrap()), "0xb89102a9ec11c3862d8dda7285419cef9c98543587cff4ecb06746ca9d68227e208059730490abee957b1b01da56705c60066f91d83d20e8cbf378592d3899441b");
    }

    /// polymarket-vectors.json → `orders_v1` (9 generated cases incl. a POLY_PROXY one).
    #[test]
    fn generated_v1_vectors() {
        let v = vectors();
        let w = Wallet::from_hex(PK).unwrap();
        let cases = v["orders_v1"].as_array().unwrap();
        assert_eq!(cases.len(), 9);
        for case in cases {
            let o = &case["order"];
            let s = |k: &str| o[k].as_str().unwrap().to_string();
            let order = OrderV1 {
                salt: o["salt"].as_u64().unwrap(),
                maker: Address::parse(&s("maker")).unwrap(),
                signer: Address::parse(&s("signer")).unwrap(),
                taker: Address::parse(&s("taker")).unwrap(),
                token_id: s("tokenId"),
                maker_amount: s("makerAmount").parse().unwrap(),
                taker_amount: s("takerAmount").parse().unwrap(),
                expiration: s("expiration").parse().unwrap(),
                nonce: s("nonce").parse().unwrap(),
                fee_rate_bps: s("feeRateBps").parse().unwrap(),
                side: if s("side") == "BUY" { 0 } else { 1 },
                signature_type: o["signatureType"].as_u64().unwrap() as u8,
            };
            let contract = case["verifyingContract"]
                .as_str()
                .unwrap_or("0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E");
            let chain = case["chainId"].as_u64().unwrap_or(137);
            let d = order.digest(&dom(chain, contract)).unwrap();
            let exp = case["digest_library"]
                .as_str()
                .or(case["digest_independent"].as_str())
                .unwrap();
            assert_eq!(hex0x(&d), exp);
            assert_eq!(hex0x(&w.sign_digest(&d).unwrap()), s("signature"));
        }
    }
}
