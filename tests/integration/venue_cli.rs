//! `polymix venue kalshi …` and `polymix venue polymarket …` operator commands against the
//! venue doubles, through the real binary, plugin, signing and host I/O.

use plugin_api::Qty;
use polymix_doubles::kalshi::{self, KalshiDoubleConfig, MarketSpec};
use std::path::Path;
use std::process::Command;

use crate::live_e2e::kalshi_venue_toml;
use crate::support::{plugin_dirs_toml, polymix_bin, temp_dir};

const T: &str = "KXNBAGAME-26NOV24LALBOS-LAL";

fn venue(cfg: &Path, args: &[&str]) -> serde_json::Value {
    venue_on(cfg, "ks", args)
}

fn venue_on(cfg: &Path, name: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(polymix_bin())
        .args(["venue", "--json", "--config"])
        .arg(cfg)
        .arg(name)
        .args(args)
        .env_clear()
        .output()
        .expect("run polymix");
    assert!(
        out.status.success(),
        "polymix venue {name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operator_command_works_against_the_double() {
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    ks.add_market(MarketSpec::new(T));
    // YES bids 0.55 (a NO ask at 0.45), NO bids 0.38 (a YES ask at 0.62).
    ks.seed_book(T, &[("0.5500", "10.00")], &[("0.3800", "100.00")]);
    let dir = temp_dir("venue-cli");
    let cfg = dir.join("ks.toml");
    std::fs::write(
        &cfg,
        format!(
            "mode = \"live\"\n{}\n{}\n[api]\nenabled = false\n",
            plugin_dirs_toml(),
            kalshi_venue_toml(&dir, "ks", &ks, 3000)
        ),
    )
    .unwrap();
    let cfg2 = cfg.clone();
    let run = move |args: Vec<&'static str>| {
        let c = cfg2.clone();
        tokio::task::spawn_blocking(move || venue(&c, &args))
    };

    let v = run(vec!["status"]).await.unwrap();
    assert_eq!(v["result"], "exchange_status");
    assert_eq!(v["trading"], true, "{v}");
    ks.set_trading_active(false);
    let v = run(vec!["status"]).await.unwrap();
    assert_eq!(v["trading"], false, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("resume"), "{v}");
    ks.set_trading_active(true);

    let v = run(vec!["balance"]).await.unwrap();
    assert_eq!(v["result"], "balance");
    assert!(v["balance"]["available"].as_i64().unwrap() > 0);

    let v = run(vec!["markets"]).await.unwrap();
    assert_eq!(v["result"], "markets");
    assert!(
        v["markets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["market"] == T || m["instrument"].as_str().unwrap_or("").starts_with(T)),
        "{v}"
    );

    // By series: listed by event (the game), from GET /events with nested markets.
    let v = run(vec!["markets", "--series", "KXNBAGAME", "--status", "open"])
        .await
        .unwrap();
    let listed: Vec<&str> = v["markets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["instrument"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [format!("{T}:yes"), format!("{T}:no")], "{v}");
    assert_eq!(v["markets"][0]["market"], "KXNBAGAME-26NOV24LALBOS", "{v}");
    let v = run(vec!["markets", "--series", "KXNFLGAME"]).await.unwrap();
    assert_eq!(v["markets"], serde_json::json!([]), "{v}");

    let v = run(vec!["book", "KXNBAGAME-26NOV24LALBOS-LAL:no"])
        .await
        .unwrap();
    assert_eq!(v["result"], "book");
    assert_eq!(
        v["book"]["asks"][0]["price"], 450_000,
        "NO ask = 1 − YES bid: {v}"
    );

    let v = run(vec!["rules", "KXNBAGAME-26NOV24LALBOS-LAL:no"])
        .await
        .unwrap();
    assert_eq!(v["result"], "rules");
    assert_eq!(v["rules"]["taker_fee"]["terms"][0]["ppm"], 70_000, "{v}");
    // The fee follows the series' schedule; a flat-fee series is refused, not mispriced.
    ks.set_series_fee("KXNBAGAME", "quadratic", serde_json::json!(0.5));
    let v = run(vec!["rules", "KXNBAGAME-26NOV24LALBOS-LAL:no"])
        .await
        .unwrap();
    assert_eq!(v["rules"]["taker_fee"]["terms"][0]["ppm"], 35_000, "{v}");
    ks.set_series_fee("KXNBAGAME", "flat", serde_json::json!(1));
    let out = Command::new(polymix_bin())
        .args(["venue", "--json", "--config"])
        .arg(&cfg)
        .args(["ks", "rules", "KXNBAGAME-26NOV24LALBOS-LAL:no"])
        .env_clear()
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("flat") && err.contains("KXNBAGAME"), "{err}");
    ks.set_series_fee("KXNBAGAME", "quadratic", serde_json::json!(1));

    let v = run(vec![
        "place",
        "--instrument",
        "KXNBAGAME-26NOV24LALBOS-LAL:no",
        "--side",
        "buy",
        "--price",
        "0.45",
        "--qty",
        "5",
        "--tif",
        "ioc",
        "--client-order-id",
        "op-cli-1",
        "--confirm",
    ])
    .await
    .unwrap();
    assert_eq!(v["result"], "order");
    // Share counts in JSON are micro-shares (plugin_api::Qty): 5 shares.
    assert_eq!(v["order"]["filled_qty"], Qty::shares(5).0, "{v}");
    let id = v["order"]["order_id"].as_str().unwrap().to_string();

    let v = run(vec![
        "order",
        "--instrument",
        "KXNBAGAME-26NOV24LALBOS-LAL:no",
        "--client-order-id",
        "op-cli-1",
    ])
    .await
    .unwrap();
    assert_eq!(v["order"]["order_id"], id.as_str());

    // A resting order to list and cancel.
    let v = run(vec![
        "place",
        "--instrument",
        "KXNBAGAME-26NOV24LALBOS-LAL:yes",
        "--side",
        "buy",
        "--price",
        "0.10",
        "--qty",
        "3",
        "--tif",
        "gtc",
        "--client-order-id",
        "op-cli-2",
        "--confirm",
    ])
    .await
    .unwrap();
    let resting = v["order"]["order_id"].as_str().unwrap().to_string();
    let v = run(vec!["orders"]).await.unwrap();
    assert_eq!(v["result"], "orders");
    assert!(
        v["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["order_id"] == resting.as_str()),
        "{v}"
    );
    let resting_static: &'static str = Box::leak(resting.clone().into_boxed_str());
    let v = run(vec![
        "cancel",
        "--id",
        resting_static,
        "--instrument",
        "KXNBAGAME-26NOV24LALBOS-LAL:yes",
        "--confirm",
    ])
    .await
    .unwrap();
    assert_eq!(v["order"]["state"], "cancelled", "{v}");

    let v = run(vec!["fills"]).await.unwrap();
    assert_eq!(v["result"], "fills");
    assert!(!v["fills"].as_array().unwrap().is_empty());
    let v = run(vec!["positions"]).await.unwrap();
    assert_eq!(v["result"], "positions");
    let v = run(vec!["resolution", "KXNBAGAME-26NOV24LALBOS-LAL:yes"])
        .await
        .unwrap();
    assert_eq!(v["result"], "resolution");
    assert_eq!(v["resolution"]["resolved"], false);

    // Settle the market NO: the 5 NO contracts bought at 0.45 pay $5.00.
    let v = run(vec!["settlements"]).await.unwrap();
    assert_eq!(v["settlements"], serde_json::json!([]), "{v}");
    ks.settle(T, "no");
    let v = run(vec!["settlements", "--market", T]).await.unwrap();
    assert_eq!(v["result"], "settlements");
    let s = &v["settlements"][0];
    assert_eq!(s["market"], T, "{v}");
    assert_eq!(s["result"], "no");
    assert_eq!(s["no_qty"], Qty::shares(5).0);
    assert_eq!(s["no_cost"], 2_250_000, "5 × $0.45: {v}");
    assert_eq!(s["revenue"], 5_000_000);
    let v = run(vec!["resolution", "KXNBAGAME-26NOV24LALBOS-LAL:no"])
        .await
        .unwrap();
    assert_eq!(v["resolution"]["resolved"], true, "{v}");

    // Exactly the two orders we placed reached the venue, once each.
    let orders = ks.orders();
    assert_eq!(orders.len(), 2, "{orders:?}");
    assert_eq!(ks.place_attempts(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_mode_refuses_to_start_when_venue_credentials_are_missing() {
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    let dir = temp_dir("no-creds");
    let body = format!(
        "mode = \"live\"\n{}\n[[venue]]\nname = \"ks\"\nplugin = \"kalshi\"\n[venue.settings]\nbase_url = \"{}\"\n{}{}",
        plugin_dirs_toml(),
        ks.base_url,
        crate::live_e2e::RISK_AND_STRATEGY,
        crate::live_e2e::engine_toml(50, 1000)
    );
    let e = crate::live_e2e::live_engine_refusal(&dir, &body).await;
    assert!(e.contains("ks"), "{e}");
    assert!(
        e.contains("api_key_id") && e.contains("private_key_pem"),
        "{e}"
    );
    assert!(ks.orders().is_empty());
}

/// The host's own I/O path (VenueIo) against the Kalshi double: a 429 storm is ridden out with
/// backoff and one order; a place whose answer times out is found by client order id, not sent
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_io_rides_out_a_429_storm_and_reconciles_a_timed_out_place() {
    use plugin_api::{OpResult, OrderRequest, Price, Qty, Side, TimeInForce, VenueOp};
    use polymix_doubles::fault::{Fault, FaultRule};
    use polymix_host::venue_io::{SystemClock, VenueIo, VenueIoSettings};
    use std::time::Duration;

    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    ks.add_market(MarketSpec::new(T));
    ks.seed_book(T, &[("0.5500", "100.00")], &[("0.3800", "100.00")]);
    let dir = temp_dir("host-io");
    let p = dir.join("ks.toml");
    std::fs::write(
        &p,
        format!(
            "mode = \"live\"\n{}\n{}",
            plugin_dirs_toml(),
            kalshi_venue_toml(&dir, "ks", &ks, 3000)
        ),
    )
    .unwrap();
    let cfg = polymix_host::config::load(&p).unwrap();
    let reg = tokio::task::spawn_blocking(move || polymix_host::plugins::Registry::build(&cfg))
        .await
        .unwrap()
        .unwrap();
    let io = |timeout_ms| {
        VenueIo::new(
            "ks",
            reg.venue("ks").unwrap().handle.clone(),
            VenueIoSettings {
                timeout: Duration::from_millis(timeout_ms),
                retries: 6,
                rates: [("read".to_string(), 50), ("write".to_string(), 50)]
                    .into_iter()
                    .collect(),
                backoff: Duration::from_millis(20),
                market_data_only: false,
                tls: None,
                order_connection: true,
            },
            std::sync::Arc::new(SystemClock),
        )
    };
    let place = |coid: &str| VenueOp::PlaceOrder {
        order: OrderRequest {
            client_order_id: coid.into(),
            instrument: format!("{T}:no"),
            side: Side::Buy,
            price: Price(450_000),
            qty: Qty::shares(5),
            tif: TimeInForce::Ioc,
            post_only: false,
        },
    };

    ks.inject(FaultRule::once("POST", "/portfolio/events/orders", Fault::Status(429)).times(4));
    let r = io(3000)
        .run(&place("storm-1"))
        .await
        .expect("storm ridden out");
    let OpResult::Order { order } = r else {
        panic!("{r:?}")
    };
    assert_eq!(order.filled_qty, Qty::shares(5));
    assert_eq!(ks.place_attempts(), 5, "4 refused + 1 accepted");
    assert_eq!(ks.orders().len(), 1);

    // The double books the order, then answers after 1.5 s; the host gives up at 300 ms and
    // lets the plugin look the order up by its client order id within the same operation.
    ks.inject(FaultRule::once(
        "POST",
        "/portfolio/events/orders",
        Fault::DelayAfter(Duration::from_millis(1500)),
    ));
    let r = io(300)
        .run(&place("slow-1"))
        .await
        .expect("found by lookup");
    assert!(matches!(r, OpResult::Order { .. }), "{r:?}");
    let r = io(3000)
        .run(&VenueOp::GetOrder {
            order_id: None,
            client_order_id: Some("slow-1".into()),
            instrument: format!("{T}:no"),
        })
        .await
        .expect("found by client order id");
    let OpResult::Order { order } = r else {
        panic!("{r:?}")
    };
    assert_eq!(order.client_order_id.as_deref(), Some("slow-1"));
    assert_eq!(ks.orders().len(), 2, "no second order for slow-1");
    assert_eq!(ks.place_attempts(), 6);
}

/// Every `polymix venue pm …` command against the Polymarket double: L2-signed reads, a V2
/// order placed and found, a resting order cancelled, cancel-all as the kill switch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_polymarket_operator_command_works_against_the_double() {
    use polymix_doubles::polymarket::{self as pmd, PolymarketDoubleConfig};
    let pm = pmd::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    crate::live_e2e::seed(&pm, &ks);
    let dir = temp_dir("venue-cli-pm");
    let cfg = dir.join("pm.toml");
    std::fs::write(
        &cfg,
        format!(
            "mode = \"live\"\n{}\n{}\n[api]\nenabled = false\n",
            plugin_dirs_toml(),
            crate::live_e2e::polymarket_venue_toml(&dir, &pm)
        ),
    )
    .unwrap();
    let run = |args: Vec<String>| {
        let c = cfg.clone();
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            venue_on(&c, "pm", &a)
        })
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let yes = crate::live_e2e::ARB_YES;

    let v = run(args(&["balance"])).await.unwrap();
    assert_eq!(v["balance"]["available"], 1_000_000_000i64, "$1000: {v}");
    let v = run(args(&["markets"])).await.unwrap();
    assert!(
        v["markets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["instrument"] == yes),
        "{v}"
    );
    let v = run(args(&["book", yes])).await.unwrap();
    assert_eq!(v["book"]["asks"][0]["price"], 400_000, "{v}");
    let v = run(args(&["rules", yes])).await.unwrap();
    assert_eq!(v["rules"]["tick"], 10_000, "{v}");
    assert_eq!(v["rules"]["neg_risk"], false, "the book said: {v}");

    // A marketable FOK buy of 10 at 0.40: matched in full.
    let v = run(args(&[
        "place",
        "--instrument",
        yes,
        "--side",
        "buy",
        "--price",
        "0.40",
        "--qty",
        "10",
        "--tif",
        "fok",
        "--client-order-id",
        "op-pm-1",
        "--confirm",
    ]))
    .await
    .unwrap();
    assert_eq!(v["order"]["filled_qty"], Qty::shares(10).0, "{v}");
    let id = v["order"]["order_id"].as_str().unwrap().to_string();
    let v = run(args(&["order", "--instrument", yes, "--id", &id]))
        .await
        .unwrap();
    assert_eq!(v["order"]["order_id"], id.as_str(), "{v}");
    let v = run(args(&["fills", "--instrument", yes])).await.unwrap();
    assert!(
        v["fills"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["order_id"] == id.as_str()),
        "{v}"
    );

    // Two resting buys: one cancelled by id, the other by cancel-all.
    let mut resting = Vec::new();
    for (coid, px) in [("op-pm-2", "0.20"), ("op-pm-3", "0.21")] {
        let v = run(args(&[
            "place",
            "--instrument",
            yes,
            "--side",
            "buy",
            "--price",
            px,
            "--qty",
            "10",
            "--tif",
            "gtc",
            "--client-order-id",
            coid,
            "--confirm",
        ]))
        .await
        .unwrap();
        assert_eq!(v["order"]["state"], "open", "{v}");
        resting.push(v["order"]["order_id"].as_str().unwrap().to_string());
    }
    let v = run(args(&["orders"])).await.unwrap();
    assert_eq!(v["orders"].as_array().unwrap().len(), 2, "{v}");
    let v = run(args(&[
        "cancel",
        "--id",
        &resting[0],
        "--instrument",
        yes,
        "--confirm",
    ]))
    .await
    .unwrap();
    assert_eq!(v["order"]["state"], "cancelled", "{v}");
    let out = Command::new(polymix_bin())
        .args(["venue", "--config"])
        .arg(&cfg)
        .args(["pm", "cancel-all"])
        .env_clear()
        .output()
        .unwrap();
    assert!(!out.status.success(), "a live cancel-all needs --confirm");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--confirm"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = run(args(&["cancel-all", "--confirm"])).await.unwrap();
    assert_eq!(v["result"], "cancelled");
    assert_eq!(v["cancelled"], serde_json::json!([resting[1]]), "{v}");
    assert_eq!(pm.order_status(&resting[1]).as_deref(), Some("CANCELED"));
    let v = run(args(&["orders"])).await.unwrap();
    assert_eq!(v["orders"], serde_json::json!([]), "{v}");
    // Exactly the three orders placed reached the venue.
    assert_eq!(pm.received_orders().len(), 3);
    assert_eq!(pm.accepted_orders(), 3);

    // Settlements come from the Data API's closed positions: none while the market trades;
    // once it resolved YES and the 10 shares bought at 0.40 were redeemed, one settlement.
    let v = run(args(&["settlements"])).await.unwrap();
    assert_eq!(v["settlements"], serde_json::json!([]), "{v}");
    pm.resolve(yes, true);
    pm.redeem(crate::live_e2e::PM_ADDR, crate::live_e2e::ARB_COND);
    let v = run(args(&[
        "settlements",
        "--market",
        crate::live_e2e::ARB_COND,
    ]))
    .await
    .unwrap();
    assert_eq!(v["result"], "settlements");
    let s = &v["settlements"][0];
    assert_eq!(s["market"], crate::live_e2e::ARB_COND, "{v}");
    assert_eq!(s["result"], "Yes", "{v}");
    assert_eq!(s["yes_qty"], Qty::shares(10).0, "{v}");
    assert_eq!(s["yes_cost"], 4_000_000, "10 × $0.40: {v}");
    assert_eq!(s["revenue"], 10_000_000, "10 × $1.00 redeemed: {v}");
    assert_eq!(s["no_qty"], 0, "{v}");
}

/// Runs `polymix venue <args>` on `cfg` and returns its output, success or not.
fn venue_raw(cfg: &Path, args: &[&str]) -> std::process::Output {
    Command::new(polymix_bin())
        .args(["venue", "--json", "--config"])
        .arg(cfg)
        .arg("ks")
        .args(args)
        .env_clear()
        .output()
        .expect("run polymix")
}

fn refused_in_one_line(what: &str, out: &std::process::Output) -> String {
    assert!(!out.status.success(), "{what}: must be refused");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    err
}

/// A paper config never reaches a live venue's order endpoint, whatever the command and even
/// with --confirm; a live config needs --confirm for cancel and cancel-all too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_config_never_reaches_a_live_order_endpoint_and_cancels_need_confirm() {
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    ks.add_market(MarketSpec::new(T));
    ks.seed_book(T, &[("0.5500", "10.00")], &[("0.3800", "100.00")]);
    let dir = temp_dir("venue-paper");
    let venue = kalshi_venue_toml(&dir, "ks", &ks, 3000);
    let paper = dir.join("paper.toml");
    std::fs::write(
        &paper,
        format!(
            "mode = \"paper\"\n{}\n{venue}\n[api]\nenabled = false\n",
            plugin_dirs_toml()
        ),
    )
    .unwrap();
    let live = dir.join("live.toml");
    std::fs::write(
        &live,
        format!(
            "mode = \"live\"\n{}\n{venue}\n[api]\nenabled = false\n",
            plugin_dirs_toml()
        ),
    )
    .unwrap();
    let place: Vec<&str> = vec![
        "place",
        "--instrument",
        "KXNBAGAME-26NOV24LALBOS-LAL:no",
        "--side",
        "buy",
        "--price",
        "0.45",
        "--qty",
        "5",
        "--tif",
        "ioc",
        "--confirm",
    ];
    let cancel: Vec<&str> = vec![
        "cancel",
        "--id",
        "some-order",
        "--instrument",
        "KXNBAGAME-26NOV24LALBOS-LAL:no",
        "--confirm",
    ];
    let cancel_all: Vec<&str> = vec!["cancel-all", "--confirm"];
    let (p2, l2) = (paper.clone(), live.clone());
    let outs = tokio::task::spawn_blocking(move || {
        let mut outs = Vec::new();
        for args in [&place, &cancel, &cancel_all] {
            outs.push((format!("paper {args:?}"), venue_raw(&p2, args)));
        }
        // Live, but no --confirm: cancel and cancel-all are refused like place.
        for args in [&place, &cancel, &cancel_all] {
            let unconfirmed: Vec<&str> =
                args.iter().copied().filter(|a| *a != "--confirm").collect();
            outs.push((
                format!("live {unconfirmed:?}"),
                venue_raw(&l2, &unconfirmed),
            ));
        }
        // Reads still work on a paper config.
        outs.push(("paper balance".into(), venue_raw(&p2, &["balance"])));
        outs
    })
    .await
    .unwrap();
    let (last, refusals) = outs.split_last().unwrap();
    for (what, out) in refusals {
        let err = refused_in_one_line(what, out);
        if what.starts_with("paper") {
            assert!(err.contains("paper"), "{what}: {err}");
        } else {
            assert!(err.contains("--confirm"), "{what}: {err}");
        }
    }
    assert!(
        last.1.status.success(),
        "{}",
        String::from_utf8_lossy(&last.1.stderr)
    );
    let order_requests: Vec<_> = ks
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(order_requests.is_empty(), "{order_requests:?}");
    assert_eq!(ks.place_attempts(), 0);
}
