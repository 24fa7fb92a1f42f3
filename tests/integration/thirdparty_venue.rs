//! A venue written against plugin-api alone (tests/plugins/thirdparty-venue, plugin `tpx`)
//! brings its own fee schedule — 2¢ per contract plus 1% of notional, rounded down to the
//! cent — and the host trades and books it without knowing that venue.

use plugin_api::{OpResult, Qty, Usd, VenueOp};
use polymix_host::engine::{Engine, EngineOptions};
use polymix_host::plugins::Registry;
use polymix_host::venue_io::SimClock;
use std::sync::Arc;

use crate::support::{plugin_dirs_toml, temp_dir, write_config};

/// Two instances of the third-party venue: YES asks 0.40 on A, NO asks 0.45 on B (50 shares
/// each), so buying both costs 0.85 a share before fees.
fn config(tag: &str) -> String {
    let data = temp_dir(tag).join("data");
    format!(
        r#"mode = "paper"
data_dir = {data:?}
{plugins}
[[venue]]
name = "tpa"
plugin = "tpx"
[venue.settings]
yes_ask = "0.40"
no_ask = "0.70"
depth = 50

[[venue]]
name = "tpb"
plugin = "tpx"
[venue.settings]
yes_ask = "0.70"
no_ask = "0.45"
depth = 50

[[risk]]
name = "limits"
plugin = "risk-limits"

[strategy]
name = "arb"
plugin = "arb"
[strategy.settings]
bet_amount = "100"
min_roi = "0.01"

[engine]
leg_tif = "ioc"

[[pair]]
id = "tpx-1"
title = "TPX market 1"
a = {{ venue = "tpa", yes = "TPX-1-YES", no = "TPX-1-NO" }}
b = {{ venue = "tpb", yes = "TPX-1-YES", no = "TPX-1-NO" }}
"#,
        data = data.display().to_string(),
        plugins = plugin_dirs_toml().replace("call_timeout_ms = 500", "call_timeout_ms = 2000"),
    )
}

/// The venue's published schedule, computed here from first principles (not with plugin-api's
/// fee code): 2¢ × shares + 1% × notional, rounded down to the cent. `qty` in micro-shares,
/// `notional` in micro-dollars; the sum is kept in 1e-8 dollars so it is exact.
fn tpx_fee(qty_micro: i64, notional_micro: i64) -> Usd {
    let exact_e8 = 2 * qty_micro + notional_micro;
    Usd(exact_e8 / 1_000_000 * 10_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_venue_trades_with_its_own_fee_schedule() {
    let cfg = Arc::new(
        polymix_host::config::load(&write_config("tpx", &config("tpx-data"))).expect("config"),
    );
    let c2 = cfg.clone();
    let reg = tokio::task::spawn_blocking(move || Registry::build(&c2))
        .await
        .unwrap()
        .expect("the third-party plugin loads through the registry");
    let tpa = reg.venue("tpa").expect("tpa");
    assert_eq!(tpa.plugin, "tpx");

    // The rules it hands the host carry the schedule as data.
    let rules = tpa
        .handle
        .call("rules", |h| {
            h.run_local(
                &VenueOp::Rules {
                    instrument: "TPX-1-YES".into(),
                },
                plugin_api::CallCtx {
                    now_ms: 0,
                    random: [0; 32],
                },
            )
        })
        .unwrap();
    let OpResult::Rules { rules } = rules else {
        panic!("{rules:?}")
    };
    assert_eq!(
        serde_json::to_value(rules.taker_fee).unwrap(),
        serde_json::json!({
            "terms": [
                {"ppm": 20000, "shape": "one", "basis": "per_share"},
                {"ppm": 10000, "shape": "p", "basis": "per_share"}
            ],
            "rounding": {"unit_micro": 10000, "mode": "down", "minimum_micro": 0}
        })
    );

    let first = reg
        .venues
        .iter()
        .filter_map(|v| v.handle.call("n", |h| Ok(h.next_event_ms())).ok().flatten())
        .min()
        .unwrap();
    let clock = SimClock::new(first);
    let engine = Engine::new(cfg, &reg, Arc::new(clock.clone()), EngineOptions::default())
        .await
        .expect("engine");
    engine
        .replay(&clock, None, &|_, _| {})
        .await
        .expect("replay");
    let balances = engine.refresh_balances().await.unwrap();
    let summary = engine.summary(balances).unwrap();

    let trades = engine.ledger().trades_in(&[]).unwrap();
    assert_eq!(trades.len(), 1, "{summary:?}");
    let orders = engine.ledger().orders_of(&trades[0].id).unwrap();
    assert_eq!(orders.len(), 2, "{orders:#?}");
    let mut total = Usd::ZERO;
    for o in &orders {
        assert_eq!(
            o.filled_qty,
            Qty::shares(50),
            "50 shares, the whole ask: {o:#?}"
        );
        assert_eq!(
            o.fees,
            tpx_fee(o.filled_qty.0, o.filled_notional.0),
            "{o:#?}"
        );
        total += o.fees;
    }
    // By hand: A 50 @ 0.40 → 1.00 + 0.20 = $1.20; B 50 @ 0.45 → 1.00 + 0.225 = $1.225 → $1.22
    // (down, where Kalshi would round up and Polymarket charge 0.05·p·(1−p)).
    let mut fees: Vec<Usd> = orders.iter().map(|o| o.fees).collect();
    fees.sort();
    assert_eq!(fees, [Usd::from_cents(120), Usd::from_cents(122)]);
    assert_eq!(summary.stats.fees, total);
    // YES won: 50 × $1 − (20.00 + 22.50) − 2.42 = $5.08.
    assert!(summary.all_settled(), "{:?}", summary.trades_by_state);
    assert_eq!(summary.realized_pnl, Usd::from_cents(508), "{summary:?}");
}

/// The seed's variables reach a third-party plugin by what it declares, never by its name: tpx
/// declares `initial_balance` (as its `cash`) and gets it; it does not declare `bet_amount` or
/// `max_daily_trades` and gets neither (it refuses unknown keys, so the registry would fail),
/// while the strategy and risk policy that declare those get them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_plugin_gets_the_environment_settings_it_declares() {
    use polymix_host::config::{HostEnv, Mode};
    let mut cfg = polymix_host::config::load(&write_config("tpx-env", &config("tpx-env-data")))
        .expect("config");
    // Set through the loader's own reader, not the process environment (tests run in parallel).
    let env = [
        ("PAPER_TRADING_INITIAL_BALANCE", "1234.56"),
        ("PAPER_TRADING_BET_AMOUNT", "42"),
        ("PAPER_TRADING_MAX_DAILY_TRADES", "7"),
        ("LIVE_TRADING_INITIAL_BALANCE", "99"),
    ];
    let get = |k: &str| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    cfg.host_env = HostEnv::from_vars(Mode::Paper, get).expect("valid values");
    let reg = tokio::task::spawn_blocking(move || Registry::build(&cfg))
        .await
        .unwrap()
        .expect("every instance accepts what it is given");
    for name in ["tpa", "tpb"] {
        assert_eq!(
            balance(&reg, name),
            Usd::parse("1234.56").unwrap(),
            "{name}"
        );
    }
    let s = &reg.strategy_settings;
    assert_eq!(
        s["bet_amount"].as_str(),
        Some("42"),
        "arb declares bet_amount"
    );
    assert!(!s.contains_key("max_daily_trades") && !s.contains_key("cash"));

    // Without the variables the same config gives tpx its own default cash.
    let mut cfg = polymix_host::config::load(&write_config("tpx-env2", &config("tpx-env2-data")))
        .expect("config");
    cfg.host_env = HostEnv::default();
    let reg = tokio::task::spawn_blocking(move || Registry::build(&cfg))
        .await
        .unwrap()
        .expect("registry");
    assert_eq!(balance(&reg, "tpa"), Usd::dollars(1_000));
}

fn balance(reg: &Registry, name: &str) -> Usd {
    let v = reg.venue(name).expect(name);
    let r = v
        .handle
        .call("balance", |h| {
            h.run_local(
                &VenueOp::Balance,
                plugin_api::CallCtx {
                    now_ms: 0,
                    random: [0; 32],
                },
            )
        })
        .unwrap();
    let OpResult::Balance { balance } = r else {
        panic!("{r:?}")
    };
    balance.available
}
