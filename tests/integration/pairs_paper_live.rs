//! Discovery to trade, paper on live markets: `polymix pairs discover` reads the doubles'
//! listings through market-data instances, registers the candidate under the paper-sims those
//! feeds feed, `polymix pairs approve` approves it, and the paper-on-live engine (no
//! `[[pair]]` in its config) trades exactly that pair against the doubles' books, sending
//! the doubles no order or account request. Approved before the engine starts, or while it
//! runs (the pair joins without a restart and its legs join the feeds).

use polymix_host::engine::{Engine, EngineOptions};
use polymix_host::store::{state, PairState};
use polymix_host::venue_io::SystemClock;
use std::sync::Arc;
use std::time::Duration;

use crate::pairs::{cli, doubles, D};
use crate::support::{plugin_dirs_toml, temp_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_discovered_over_feeds_and_approved_is_traded_by_the_paper_on_live_engine() {
    discover_approve_trade(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_approved_while_paper_on_live_runs_joins_its_feeds_and_trades() {
    discover_approve_trade(true).await;
}

async fn discover_approve_trade(while_running: bool) {
    let (ks, pm) = doubles().await;
    let dir = temp_dir(if while_running {
        "pairs-paper-live-join"
    } else {
        "pairs-paper-live"
    });
    let cfg_path = dir.join("polymix.toml");
    let venues = format!(
        r#"
[[venue]]
name = "pm-data"
plugin = "polymarket"
role = "market-data"
timeout_ms = 3000
[venue.settings]
clob_url = "{clob}"
gamma_url = "{gamma}"
data_url = "{data}"

[[venue]]
name = "ks-data"
plugin = "kalshi"
role = "market-data"
timeout_ms = 3000
[venue.settings]
base_url = "{ks}"

[[venue]]
name = "pm"
plugin = "paper-sim"
feed = "pm-data"
[venue.settings]
rules = "polymarket"
balance = "1000"

[[venue]]
name = "ks"
plugin = "paper-sim"
feed = "ks-data"
[venue.settings]
rules = "kalshi"
balance = "1000"
"#,
        clob = pm.base_url,
        gamma = pm.gamma_url,
        data = pm.data_url,
        ks = ks.base_url,
    );
    // No [[pair]]: the engine trades what the registry approves.
    std::fs::write(
        &cfg_path,
        format!(
            "mode = \"paper\"\ndata_dir = {:?}\n{}{venues}{}{}",
            dir.join("data").display().to_string(),
            plugin_dirs_toml().replace("call_timeout_ms = 500", "call_timeout_ms = 3000"),
            crate::live_e2e::RISK_AND_STRATEGY,
            crate::live_e2e::engine_toml(50, 200),
        ),
    )
    .unwrap();

    // Discover over the feeds (the config's first two venues are the market-data instances).
    let id = format!("nba-{D}-BOS-LAL-win-LAL");
    let (ok, out, err) = cli(
        &cfg_path,
        &[
            "discover",
            "--league",
            "nba",
            "--from",
            "2030-01-09",
            "--to",
            "2030-01-11",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let c = v
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["candidates"].as_array().unwrap())
        .find(|c| c["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not discovered: {out}"))
        .clone();
    // Registered under the simulators that trade it, with P's instrument on each side.
    assert_eq!(
        (
            c["a"]["venue"].as_str(),
            c["a"]["yes"].as_str(),
            c["b"]["venue"].as_str(),
            c["b"]["yes"].as_str(),
            c["b"]["no"].as_str()
        ),
        (
            Some("pm"),
            Some("1002"),
            Some("ks"),
            Some("KXNBAGAME-30JAN09LALBOS-LAL:yes"),
            Some("KXNBAGAME-30JAN09LALBOS-LAL:no")
        ),
        "{c:#}"
    );
    assert_eq!(c["vetoes"], serde_json::json!([]), "{c:#}");
    let approve = || {
        let (ok, _, err) = cli(&cfg_path, &["approve", &id, "--by", "ann"]);
        assert!(ok, "{err}");
    };
    if !while_running {
        approve();
    }

    // An arb on it: P (Lakers win) costs 0.40 on Polymarket for 10 shares, not-P 0.42 on
    // Kalshi (its YES bid 0.58 from the seed).
    pm.set_book(
        "1002",
        &[("0.37", "50")],
        &[("0.40", "10"), ("0.70", "100")],
    );
    pm.set_book("1001", &[("0.58", "50")], &[("0.62", "100")]);

    let cfg = Arc::new(polymix_host::config::load(&cfg_path).expect("config"));
    let reg = crate::paper_live::registry(&cfg).await;
    let engine = std::sync::Arc::new(
        Engine::new(
            cfg,
            &reg,
            Arc::new(SystemClock),
            EngineOptions {
                live_confirmed: false,
            },
        )
        .await
        .expect("paper-on-live engine"),
    );
    assert!(engine.is_fed());
    let watched =
        |engine: &Engine| -> Vec<String> { engine.pairs().iter().map(|p| p.id.clone()).collect() };
    if while_running {
        assert!(watched(&engine).is_empty(), "nothing approved yet");
    } else {
        assert_eq!(
            watched(&engine),
            std::slice::from_ref(&id),
            "only the approved pair"
        );
    }
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        if while_running {
            tokio::time::sleep(Duration::from_millis(300)).await;
            tokio::task::block_in_place(approve);
        }
        let trades = crate::live_e2e::wait_for_hedged(&ledger, Duration::from_secs(20)).await;
        let _ = tx.send(true);
        trades
    };
    let (run, trades) = tokio::join!(engine.run_live(rx), script);
    run.expect("run_live ends cleanly");
    assert_eq!(watched(&engine), std::slice::from_ref(&id));
    let t = trades
        .iter()
        .find(|t| t.state == state::HEDGED)
        .expect("hedged");
    assert_eq!(
        (
            t.pair_id.as_str(),
            t.instrument_a.as_str(),
            t.instrument_b.as_str()
        ),
        (id.as_str(), "1002", "KXNBAGAME-30JAN09LALBOS-LAL:no")
    );
    // Both legs filled at the simulators, on the books the doubles serve.
    let orders = ledger.orders_of(&t.id).unwrap();
    let (oa, ob) = (
        crate::live_e2e::entry(&orders, "a"),
        crate::live_e2e::entry(&orders, "b"),
    );
    assert_eq!((oa.venue.as_str(), ob.venue.as_str()), ("pm", "ks"));
    assert!(oa.filled_qty > plugin_api::Qty::ZERO && oa.filled_qty == ob.filled_qty);
    assert_eq!(
        ledger.pair(&id).unwrap().unwrap().state,
        PairState::Approved
    );
    // Paper: discovery, feeds and trading sent the doubles public reads only, no order, cancel
    // or account request.
    crate::paper_live::assert_public_only(&pm, &ks, true);
}
