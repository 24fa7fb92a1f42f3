//! CTF Exchange **V2** orders (production since 2026-04-28; polymarket.md §3.1): EIP-712 domain
//! `Polymarket CTF Exchange` version `"2"`, the 11-field `Order` struct, signatures for EOA,
//! proxy, Safe and POLY_1271 (ERC-7739 nested typed data) wallets, and the exact `POST /order`
//! body.

use crate::eth::{
    eip712_digest, keccak256, push_hex, u256_from_decimal, u256_word, Address, EthError, Wallet,
};
use std::fmt::Write;

/// Standard CTF Exchange V2 (Polygon and Amoy).
pub const EXCHANGE_V2: &str = "0xE111180000d2663C0091e4f400237545B87B996B";
/// Neg-risk CTF Exchange V2 (Polygon and Amoy).
pub const NEG_RISK_EXCHANGE_V2: &str = "0xe2222d279d744050d28e00520010520000310F59";

const DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
/// The exact V2 order type string.
pub const ORDER_TYPE: &str = "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)";

/// Order side as signed: BUY = 0, SELL = 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSide {
    /// Buy outcome tokens with collateral.
    Buy = 0,
    /// Sell outcome tokens for collateral.
    Sell = 1,
}

impl OrderSide {
    /// `"BUY"` or `"SELL"`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderSide::Buy => "BUY",
            OrderSide::Sell => "SELL",
        }
    }
}

/// Wallet kind that signs (polymarket.md §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureType {
    /// Plain EOA: maker = signer.
    Eoa = 0,
    /// Magic/email proxy wallet: maker = proxy, signer = EOA.
    PolyProxy = 1,
    /// Gnosis Safe: maker = Safe, signer = EOA.
    PolyGnosisSafe = 2,
    /// Deposit wallet (ERC-1271): maker = signer = the wallet; ERC-7739 nested signature.
    Poly1271 = 3,
}

/// An EIP-712 domain for one exchange contract, with its separator precomputed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExchangeDomain {
    /// Chain id.
    pub chain_id: u64,
    /// Verifying contract.
    pub contract: Address,
    /// `hashStruct(EIP712Domain)`.
    pub separator: [u8; 32],
}

impl ExchangeDomain {
    /// The V2 domain of `contract` on `chain_id`.
    pub fn v2(chain_id: u64, contract: Address) -> ExchangeDomain {
        Self::with_version(chain_id, contract, b"2")
    }

    /// A domain with another version string (`"1"` for legacy orders).
    pub fn with_version(chain_id: u64, contract: Address, version: &[u8]) -> ExchangeDomain {
        let mut buf = [0u8; 160];
        buf[..32].copy_from_slice(&keccak256(DOMAIN_TYPE.as_bytes()));
        buf[32..64].copy_from_slice(&keccak256(b"Polymarket CTF Exchange"));
        buf[64..96].copy_from_slice(&keccak256(version));
        buf[96..128].copy_from_slice(&u256_word(chain_id as u128));
        buf[128..].copy_from_slice(&contract.word());
        ExchangeDomain {
            chain_id,
            contract,
            separator: keccak256(&buf),
        }
    }
}

/// The two V2 exchanges of a chain, chosen by a market's `neg_risk` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchanges {
    /// Standard markets.
    pub standard: ExchangeDomain,
    /// Neg-risk markets.
    pub neg_risk: ExchangeDomain,
}

impl Exchanges {
    /// Production V2 contracts (same addresses on Polygon and Amoy).
    pub fn v2(chain_id: u64) -> Exchanges {
        // Constants: parsing cannot fail.
        let std = Address::parse(EXCHANGE_V2).unwrap_or_default();
        let neg = Address::parse(NEG_RISK_EXCHANGE_V2).unwrap_or_default();
        Exchanges {
            standard: ExchangeDomain::v2(chain_id, std),
            neg_risk: ExchangeDomain::v2(chain_id, neg),
        }
    }

    /// The domain for a market.
    pub fn for_market(&self, neg_risk: bool) -> &ExchangeDomain {
        if neg_risk {
            &self.neg_risk
        } else {
            &self.standard
        }
    }
}

/// A V2 order before signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderV2 {
    /// Random salt ≤ 2^53 − 1 (the backend parses it as an IEEE-754 number).
    pub salt: u64,
    /// Funds holder (EOA, proxy, Safe or deposit wallet).
    pub maker: Address,
    /// The signing address.
    pub signer: Address,
    /// Outcome token id, decimal.
    pub token_id: String,
    /// Amount given, 6-decimal base units.
    pub maker_amount: u64,
    /// Amount received, 6-decimal base units.
    pub taker_amount: u64,
    /// Buy or sell.
    pub side: OrderSide,
    /// Wallet kind.
    pub signature_type: SignatureType,
    /// Creation time, ms.
    pub timestamp_ms: u64,
    /// Free 32 bytes.
    pub metadata: [u8; 32],
    /// Builder code (zero when none).
    pub builder: [u8; 32],
    /// Unix seconds, `0` = none. Sent in the JSON, **not** signed.
    pub expiration: u64,
}

/// Largest salt the backend accepts.
pub const MAX_SALT: u64 = (1u64 << 53) - 1;

/// A salt from host randomness: the first 8 bytes masked to 53 bits.
pub fn salt_from_random(random: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&random[..8]);
    u64::from_be_bytes(b) & MAX_SALT
}

impl OrderV2 {
    /// `hashStruct(Order)`.
    pub fn struct_hash(&self) -> Result<[u8; 32], EthError> {
        let token = u256_from_decimal(&self.token_id)?;
        let mut buf = [0u8; 32 * 12];
        let words: [[u8; 32]; 12] = [
            order_typehash(),
            u256_word(self.salt as u128),
            self.maker.word(),
            self.signer.word(),
            token,
            u256_word(self.maker_amount as u128),
            u256_word(self.taker_amount as u128),
            u256_word(self.side as u128),
            u256_word(self.signature_type as u128),
            u256_word(self.timestamp_ms as u128),
            self.metadata,
            self.builder,
        ];
        for (i, w) in words.iter().enumerate() {
            buf[32 * i..32 * (i + 1)].copy_from_slice(w);
        }
        Ok(keccak256(&buf))
    }

    /// The EIP-712 digest; also the order id the CLOB assigns.
    pub fn digest(&self, domain: &ExchangeDomain) -> Result<[u8; 32], EthError> {
        Ok(eip712_digest(&domain.separator, &self.struct_hash()?))
    }

    /// Signs the order. For POLY_1271 the result is the ERC-7739 blob, for the other kinds the
    /// 65-byte `r ‖ s ‖ v`. Returns `(digest, signature)`.
    pub fn sign(
        &self,
        domain: &ExchangeDomain,
        wallet: &Wallet,
    ) -> Result<([u8; 32], Vec<u8>), EthError> {
        let contents = self.struct_hash()?;
        let digest = eip712_digest(&domain.separator, &contents);
        let sig = if self.signature_type == SignatureType::Poly1271 {
            sign_1271(domain, &contents, &self.maker, wallet)?
        } else {
            wallet.sign_digest(&digest)?.to_vec()
        };
        Ok((digest, sig))
    }
}

fn order_typehash() -> [u8; 32] {
    static H: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    *H.get_or_init(|| keccak256(ORDER_TYPE.as_bytes()))
}

/// ERC-7739 nested typed-data signature of a deposit wallet (POLY_1271):
/// `ecdsa(65) ‖ appDomainSeparator ‖ contentsHash ‖ ORDER_TYPE ‖ uint16be(len)`.
fn sign_1271(
    domain: &ExchangeDomain,
    contents: &[u8; 32],
    wallet_addr: &Address,
    wallet: &Wallet,
) -> Result<Vec<u8>, EthError> {
    let typed_data_sign = format!(
        "TypedDataSign(Order contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt){ORDER_TYPE}"
    );
    let mut buf = [0u8; 32 * 7];
    buf[..32].copy_from_slice(&keccak256(typed_data_sign.as_bytes()));
    buf[32..64].copy_from_slice(contents);
    buf[64..96].copy_from_slice(&keccak256(b"DepositWallet"));
    buf[96..128].copy_from_slice(&keccak256(b"1"));
    buf[128..160].copy_from_slice(&u256_word(domain.chain_id as u128));
    buf[160..192].copy_from_slice(&wallet_addr.word());
    // salt = bytes32(0)
    let digest = eip712_digest(&domain.separator, &keccak256(&buf));
    let ecdsa = wallet.sign_digest(&digest)?;
    let mut out = Vec::with_capacity(65 + 64 + ORDER_TYPE.len() + 2);
    out.extend_from_slice(&ecdsa);
    out.extend_from_slice(&domain.separator);
    out.extend_from_slice(contents);
    out.extend_from_slice(ORDER_TYPE.as_bytes());
    out.extend_from_slice(&(ORDER_TYPE.len() as u16).to_be_bytes());
    Ok(out)
}

/// `POST /order` order types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderType {
    /// Good till cancelled.
    Gtc,
    /// Good till date.
    Gtd,
    /// Fill or kill (market order).
    Fok,
    /// Fill and kill (market order).
    Fak,
}

impl OrderType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Gtc => "GTC",
            OrderType::Gtd => "GTD",
            OrderType::Fok => "FOK",
            OrderType::Fak => "FAK",
        }
    }

    /// Whether the CLOB treats it as a market order (FOK/FAK).
    pub fn is_market(self) -> bool {
        matches!(self, OrderType::Fok | OrderType::Fak)
    }
}

/// Writes the order object (py-clob-client-v2 key order, compact JSON). Appends in place rather
/// than through `format!` and temporary hex strings: this runs once per order on the hot path.
pub fn write_order_json(out: &mut String, o: &OrderV2, signature: &[u8]) {
    let push_ascii = |out: &mut String, b: &[u8]| out.extend(b.iter().map(|&c| c as char));
    let _ = write!(out, "{{\"salt\":{},\"maker\":\"", o.salt);
    let maker = o.maker.checksum_ascii();
    push_ascii(out, &maker);
    out.push_str("\",\"signer\":\"");
    if o.signer == o.maker {
        // EOA and deposit wallets sign as themselves: reuse the checksum, skip a Keccak.
        push_ascii(out, &maker);
    } else {
        push_ascii(out, &o.signer.checksum_ascii());
    }
    let _ = write!(
        out,
        "\",\"tokenId\":\"{}\",\"makerAmount\":\"{}\",\"takerAmount\":\"{}\",\"side\":\"{}\",\"expiration\":\"{}\",\"signatureType\":{},\"timestamp\":\"{}\",\"metadata\":\"0x",
        o.token_id,
        o.maker_amount,
        o.taker_amount,
        o.side.as_str(),
        o.expiration,
        o.signature_type as u8,
        o.timestamp_ms,
    );
    push_hex(out, &o.metadata);
    out.push_str("\",\"builder\":\"0x");
    push_hex(out, &o.builder);
    out.push_str("\",\"signature\":\"0x");
    push_hex(out, signature);
    out.push_str("\"}");
}

/// The exact `POST /order` body: `{"order":{…},"owner":…,"orderType":…,"deferExec":false,"postOnly":…}`.
pub fn post_order_body(
    o: &OrderV2,
    signature: &[u8],
    owner: &str,
    order_type: OrderType,
    post_only: bool,
) -> String {
    let mut s = String::with_capacity(1024);
    s.push_str("{\"order\":");
    write_order_json(&mut s, o, signature);
    let _ = write!(
        s,
        ",\"owner\":\"{}\",\"orderType\":\"{}\",\"deferExec\":false,\"postOnly\":{}}}",
        owner,
        order_type.as_str(),
        post_only
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eth::hex0x;
    use crate::test_vectors::{vectors, PK};

    #[test]
    fn typehash_constant() {
        assert_eq!(order_typehash(), keccak256(ORDER_TYPE.as_bytes()));
    }

    fn order_from_json(o: &serde_json::Value) -> OrderV2 {
        OrderV2 {
            salt: o["salt"].as_u64().unwrap(),
            maker: Address::parse(o["maker"].as_str().unwrap()).unwrap(),
            signer: Address::parse(o["signer"].as_str().unwrap()).unwrap(),
            token_id: o["tokenId"].as_str().unwrap().to_string(),
            maker_amount: o["makerAmount"].as_str().unwrap().parse().unwrap(),
            taker_amount: o["takerAmount"].as_str().unwrap().parse().unwrap(),
            side: if o["side"] == "BUY" {
                OrderSide::Buy
            } else {
                OrderSide::Sell
            },
            signature_type: SignatureType::Eoa,
            timestamp_ms: o["timestamp"].as_str().unwrap().parse().unwrap(),
            metadata: [0; 32],
            builder: [0; 32],
            expiration: 0,
        }
    }

    /// polymarket-vectors.json → `orders_v2` (8 generated cases: neg-risk × tick × side):
    /// digest, signature, exact POST body and its HMAC headers.
    #[test]
    fn v2_order_vectors() {
        let v = vectors();
        let w = Wallet::from_hex(PK).unwrap();
        let creds = crate::auth_l2::ApiCreds::new(
            v["api_key"].as_str().unwrap(),
            v["api_secret"].as_str().unwrap(),
            v["api_passphrase"].as_str().unwrap(),
        )
        .unwrap();
        let cases = v["orders_v2"].as_array().unwrap();
        assert_eq!(cases.len(), 8);
        for case in cases {
            let ex = Exchanges::v2(case["chainId"].as_u64().unwrap());
            let neg = case["neg_risk"].as_bool().unwrap();
            let dom = ex.for_market(neg);
            assert_eq!(
                dom.contract,
                Address::parse(case["verifyingContract"].as_str().unwrap()).unwrap()
            );
            let o = order_from_json(&case["order"]);
            let (digest, sig) = o.sign(dom, &w).unwrap();
            assert_eq!(hex0x(&digest), case["digest_library"].as_str().unwrap());
            assert_eq!(hex0x(&sig), case["order"]["signature"].as_str().unwrap());
            assert_eq!(crate::eth::recover(&digest, &sig).unwrap(), w.address());
            let body = post_order_body(
                &o,
                &sig,
                v["api_key"].as_str().unwrap(),
                OrderType::Gtc,
                false,
            );
            assert_eq!(body, case["post_order_body"].as_str().unwrap());
            let sig_hdr = creds.sign("1713398400", "POST", "/order", body.as_bytes());
            assert_eq!(
                sig_hdr,
                case["post_order_headers"]["POLY_SIGNATURE"]
                    .as_str()
                    .unwrap()
            );
        }
    }

    /// polymarket-vectors.json → `published_vector_checks` "V2 POLY_1271 (deposit wallet) order
    /// signature" (py-clob-client-v2 tests/order_utils/test_exchange_order_builder_v2.py).
    #[test]
    fn v2_poly_1271_vector() {
        let v = vectors();
        let exp = v["published_vector_checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"].as_str().unwrap().starts_with("V2 POLY_1271"))
            .unwrap()["expected"]
            .as_str()
            .unwrap()
            .to_string();
        let w = Wallet::from_hex(PK).unwrap();
        let dep = Address::parse("0x1111111111111111111111111111111111111111").unwrap();
        let o = OrderV2 {
            salt: 479249096354,
            maker: dep,
            signer: dep,
            token_id: "1234".into(),
            maker_amount: 100000000,
            taker_amount: 50000000,
            side: OrderSide::Buy,
            signature_type: SignatureType::Poly1271,
            timestamp_ms: 1710000000000,
            metadata: [0; 32],
            builder: [0; 32],
            expiration: 0,
        };
        let (_, sig) = o.sign(&Exchanges::v2(80002).standard, &w).unwrap();
        assert_eq!(hex0x(&sig), exp);
    }

    /// Proxy and Safe orders have maker ≠ signer: each gets its own checksum in the body.
    #[test]
    fn body_with_distinct_maker_and_signer() {
        let w = Wallet::from_hex(PK).unwrap();
        let safe = Address::parse("0xabcdefabcdefabcdefabcdefabcdefabcdefabcd").unwrap();
        let o = OrderV2 {
            salt: 1,
            maker: safe,
            signer: w.address(),
            token_id: "1234".into(),
            maker_amount: 5,
            taker_amount: 10,
            side: OrderSide::Sell,
            signature_type: SignatureType::PolyGnosisSafe,
            timestamp_ms: 7,
            metadata: [0; 32],
            builder: [0x11; 32],
            expiration: 9,
        };
        let body = post_order_body(&o, &[0xab; 65], "k", OrderType::Gtd, true);
        let expected = format!(
            "{{\"order\":{{\"salt\":1,\"maker\":\"{}\",\"signer\":\"{}\",\"tokenId\":\"1234\",\"makerAmount\":\"5\",\"takerAmount\":\"10\",\"side\":\"SELL\",\"expiration\":\"9\",\"signatureType\":2,\"timestamp\":\"7\",\"metadata\":\"{}\",\"builder\":\"{}\",\"signature\":\"{}\"}},\"owner\":\"k\",\"orderType\":\"GTD\",\"deferExec\":false,\"postOnly\":true}}",
            safe.to_checksum(),
            w.address().to_checksum(),
            hex0x(&[0; 32]),
            hex0x(&[0x11; 32]),
            hex0x(&[0xab; 65]),
        );
        assert_eq!(body, expected);
        assert_eq!(
            safe.to_checksum(),
            "0xABcdEFABcdEFabcdEfAbCdefabcdeFABcDEFabCD"
        );
    }

    #[test]
    fn salt_is_53_bits() {
        assert_eq!(salt_from_random(&[0xff; 32]), MAX_SALT);
        assert_eq!(salt_from_random(&[0; 32]), 0);
    }
}
