//! Exact maker/taker amounts for a price and size (polymarket.md §3.4), in 6-decimal base units.
//! Integer arithmetic only: prices are micro-dollars, sizes micro-shares.

use plugin_api::Price;

/// Decimal places that a tick size allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickCfg {
    /// The tick, micro-dollars.
    pub tick: Price,
    /// Price decimals.
    pub price_dec: u32,
    /// Size decimals (always 2).
    pub size_dec: u32,
    /// Amount (collateral) decimals = price decimals + 2.
    pub amount_dec: u32,
}

impl TickCfg {
    /// Configuration for a tick (0.1, 0.01, 0.001, 0.0001, 0.005, 0.0025, or any positive tick
    /// of at most 6 decimals).
    pub fn new(tick: Price) -> Option<TickCfg> {
        if tick.0 <= 0 || tick.0 >= 1_000_000 {
            return None;
        }
        // Price decimals = decimals of the tick itself.
        let mut dec = 6u32;
        let mut t = tick.0;
        while dec > 0 && t % 10 == 0 {
            t /= 10;
            dec -= 1;
        }
        if dec > 4 {
            return None;
        }
        Some(TickCfg {
            tick,
            price_dec: dec,
            size_dec: 2,
            amount_dec: dec + 2,
        })
    }
}

/// Order amounts in base units (1e-6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amounts {
    /// What the maker gives.
    pub maker: u64,
    /// What the maker receives.
    pub taker: u64,
}

/// Buy or sell (local copy so this module stays independent of the plugin API's enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

const P10: [u128; 13] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
];

fn ceil_div(n: u128, d: u128) -> u128 {
    n.div_ceil(d)
}

/// Rounds micro units to `dec` decimals, half to even.
fn round_half_even_micro(v: u128, dec: u32) -> u128 {
    let unit = P10[(6 - dec) as usize];
    let q = v / unit;
    let r = v % unit;
    let half = unit / 2;
    let q = if r > half || (r == half && unit > 1 && q % 2 == 1) {
        q + 1
    } else {
        q
    };
    q * unit
}

/// Floors micro units to `dec` decimals.
fn floor_micro(v: u128, dec: u32) -> u128 {
    let unit = P10[(6 - dec) as usize];
    v / unit * unit
}

/// `num / den` (a value in whole units) → micro units: ceil to `dec + 4` decimals, then floor to
/// `dec` decimals (the SDK's float-noise repair, done exactly).
fn repair(num: u128, den: u128, dec: u32) -> u128 {
    let c = ceil_div(num * P10[(dec + 4) as usize], den);
    (c / P10[4]) * P10[(6 - dec) as usize]
}

/// Limit order (GTC/GTD): `shares = floor(size, 2)`, `usdc = shares × price` repaired to the
/// tick's amount decimals. `size_micro` is shares × 1e6.
pub fn limit_amounts(dir: Dir, price: Price, size_micro: u64, cfg: TickCfg) -> Amounts {
    let p = round_half_even_micro(price.0.max(0) as u128, cfg.price_dec);
    let shares = floor_micro(size_micro as u128, cfg.size_dec);
    // usdc = shares(1e-6) × p(1e-6) = X·1e-12 whole units.
    let usdc = repair(shares * p, P10[12], cfg.amount_dec);
    to_amounts(dir, usdc, shares)
}

fn to_amounts(dir: Dir, usdc: u128, shares: u128) -> Amounts {
    let (m, t) = match dir {
        Dir::Buy => (usdc, shares),
        Dir::Sell => (shares, usdc),
    };
    Amounts {
        maker: m.min(u64::MAX as u128) as u64,
        taker: t.min(u64::MAX as u128) as u64,
    }
}

/// Market order amounts exactly as the official SDKs compute them (reproduces the published
/// vectors): BUY `maker = floor(amount, 2)` dollars, `taker = maker / price`; SELL
/// `maker = floor(amount, 2)` shares, `taker = maker × price`; both repaired to the tick's amount
/// decimals. `amount_micro` is dollars (BUY) or shares (SELL) × 1e6.
pub fn market_amounts_sdk(dir: Dir, amount_micro: u64, price: Price, cfg: TickCfg) -> Amounts {
    let p = floor_micro(price.0.max(1) as u128, cfg.price_dec).max(1);
    let maker = floor_micro(amount_micro as u128, 2);
    let taker = match dir {
        Dir::Buy => repair(maker, p, cfg.amount_dec),
        Dir::Sell => repair(maker * p, P10[12], cfg.amount_dec),
    };
    Amounts {
        maker: maker as u64,
        taker: taker.min(u64::MAX as u128) as u64,
    }
}

/// Market order amounts as the server accepts them: the SDK rule with the taker amount floored
/// to at most 4 decimals (the CLOB rejects more; py-clob-client-v2#99, polymarket.md §3.4).
pub fn market_amounts(dir: Dir, amount_micro: u64, price: Price, cfg: TickCfg) -> Amounts {
    let mut a = market_amounts_sdk(dir, amount_micro, price, cfg);
    a.taker = floor_micro(a.taker as u128, 4) as u64;
    a
}

/// Number of decimals a base-unit amount needs (0..=6).
pub fn decimals_of(units: u64) -> u32 {
    let mut d = 6;
    let mut v = units;
    while d > 0 && v % 10 == 0 {
        v /= 10;
        d -= 1;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(t: &str) -> TickCfg {
        TickCfg::new(Price::parse(t).unwrap()).unwrap()
    }
    fn micro(s: &str) -> u64 {
        // Test helper: decimal string → micro units.
        plugin_api::Usd::parse(s).unwrap().0 as u64
    }

    /// polymarket-vectors.json → `published_vector_checks` "V1 limit amounts …" (17 cases from
    /// py-clob-client tests/order_builder/test_builder.py; amounts did not change in V2).
    #[test]
    fn limit_vectors() {
        let v = crate::test_vectors::vectors();
        let mut n = 0;
        for c in v["published_vector_checks"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            let Some(rest) = name.strip_prefix("V1 limit amounts ") else {
                continue;
            };
            if !name.ends_with("(exact-decimal reference)") {
                continue;
            }
            // e.g. "BUY 15@0.24 tick 0.01 (exact-decimal reference)"
            let parts: Vec<&str> = rest.split_whitespace().collect();
            let dir = if parts[0] == "BUY" {
                Dir::Buy
            } else {
                Dir::Sell
            };
            let (size, price) = parts[1].split_once('@').unwrap();
            let tick = parts[3];
            let a = limit_amounts(dir, Price::parse(price).unwrap(), micro(size), cfg(tick));
            let exp = c["expected"].as_array().unwrap();
            assert_eq!(a.maker, exp[0].as_u64().unwrap(), "{name}");
            assert_eq!(a.taker, exp[1].as_u64().unwrap(), "{name}");
            n += 1;
        }
        assert_eq!(n, 17);
    }

    /// polymarket-vectors.json → "V1 market amounts …" (8 cases, py-clob-client
    /// create_market_order_*). The production rule differs only where the SDK produced more than
    /// 4 taker decimals (BUY on 0.001/0.0001 ticks), which the server rejects.
    #[test]
    fn market_vectors() {
        let v = crate::test_vectors::vectors();
        let mut n = 0;
        for c in v["published_vector_checks"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            let Some(rest) = name.strip_prefix("V1 market amounts ") else {
                continue;
            };
            // "BUY amount=100@0.5 tick 0.1"
            let parts: Vec<&str> = rest.split_whitespace().collect();
            let dir = if parts[0] == "BUY" {
                Dir::Buy
            } else {
                Dir::Sell
            };
            let (amt, price) = parts[1]
                .trim_start_matches("amount=")
                .split_once('@')
                .unwrap();
            let tick = parts[3];
            let exp = c["expected"].as_array().unwrap();
            let exp = Amounts {
                maker: exp[0].as_u64().unwrap(),
                taker: exp[1].as_u64().unwrap(),
            };
            let p = Price::parse(price).unwrap();
            assert_eq!(
                market_amounts_sdk(dir, micro(amt), p, cfg(tick)),
                exp,
                "{name}"
            );
            let prod = market_amounts(dir, micro(amt), p, cfg(tick));
            if decimals_of(exp.taker) <= 4 {
                assert_eq!(prod, exp, "{name}");
            } else {
                assert_eq!(prod.taker, exp.taker / 100 * 100, "{name}");
            }
            n += 1;
        }
        assert_eq!(n, 8);
        // The 4-decimal cap, spelled out: $100 at 0.0056 → 17857.1428 shares.
        let a = market_amounts(Dir::Buy, 100_000_000, Price(5_600), cfg("0.0001"));
        assert_eq!(
            a,
            Amounts {
                maker: 100_000_000,
                taker: 17_857_142_800
            }
        );
    }

    #[test]
    fn tick_configs() {
        assert_eq!(cfg("0.1").amount_dec, 3);
        assert_eq!(cfg("0.01").amount_dec, 4);
        assert_eq!(cfg("0.001").amount_dec, 5);
        assert_eq!(cfg("0.0001").amount_dec, 6);
        assert_eq!(cfg("0.005").price_dec, 3);
        assert_eq!(cfg("0.0025").price_dec, 4);
        assert!(TickCfg::new(Price(0)).is_none());
        assert!(TickCfg::new(Price(1)).is_none());
    }
}
