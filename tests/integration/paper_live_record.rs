//! Record while trading: a paper-on-live run trades the doubles' standing arb while
//! `polymix record`'s recorder writes what the same feeds deliver; the recording replayed in
//! paper mode makes the same trades as the fed run itself (legs, shares, money, fees, P&L).
//!
//! Why they can be identical: both runs use a zero decision-to-fill latency, so each fills
//! against the book as the feed delivered it, and the recorder writes every distinct book the
//! feeds served in order. With a latency L > 0 the fed run fills against the book L ms after
//! its decision on the wall clock while the replay fills against the recorded book at
//! decision time + L on the scenario clock; they agree only when the book did not change
//! within L, which a poll-based recording cannot promise (a change between two polls is
//! never seen). The latency model itself is tested in `paper_live.rs`.

use polymix_host::engine::{Engine, EngineOptions};
use polymix_host::record::{record, RecordOptions};
use polymix_host::store::{state, Ledger, OrderRow, TradeRow};
use polymix_host::venue_io::{SimClock, SystemClock};
use std::sync::Arc;
use std::time::Duration;

use polymix_doubles::kalshi::{self, KalshiDoubleConfig};
use polymix_doubles::polymarket::{self, PolymarketDoubleConfig};

use crate::live_e2e::{pairs_toml, wait_for, ARB_TICKER, ARB_YES, RISK_AND_STRATEGY};
use crate::paper_live::{registry, seed, write_config};
use crate::support::{plugin_dirs_toml, temp_dir};

/// What must be the same in both runs: per trade, its pair, instruments, state and P&L, and
/// each of its orders as booked (leg, purpose, venue, instrument, side, limit, size, state,
/// shares filled, money, fees, shares failed).
fn booked(ledger: &Ledger) -> Vec<String> {
    let mut out = Vec::new();
    for t in ledger.trades_in(&[]).expect("trades") {
        let TradeRow {
            pair_id,
            instrument_a,
            instrument_b,
            state,
            realized_pnl,
            ..
        } = &t;
        out.push(format!(
            "trade {pair_id} {instrument_a} {instrument_b} {state} pnl={realized_pnl:?}"
        ));
        let mut orders: Vec<OrderRow> = ledger.orders_of(&t.id).expect("orders");
        orders.sort_by_key(|o| o.client_order_id.clone());
        for o in orders {
            out.push(format!(
                "  order {:?} {:?} {} {} {:?} limit={} qty={} {:?} filled={} notional={} fees={} failed={}",
                o.leg,
                o.purpose,
                o.venue,
                o.instrument,
                o.side,
                o.price,
                o.qty,
                o.state,
                o.filled_qty,
                o.filled_notional,
                o.fees,
                o.failed_qty
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_made_while_trading_replays_to_the_same_trades() {
    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir("record-while-trading");
    let cfg =
        Arc::new(polymix_host::config::load(&write_config(&dir, &pm, &ks, 0)).expect("config"));
    // The engine and the recorder each load their own plugin instances, as two processes
    // (`polymix run` and `polymix record`) on the same config would.
    let reg = registry(&cfg).await;
    let rec_reg = registry(&cfg).await;
    let engine = std::sync::Arc::new(
        Engine::new(
            cfg.clone(),
            &reg,
            Arc::new(SystemClock),
            EngineOptions {
                live_confirmed: false,
            },
        )
        .await
        .expect("paper-on-live engine"),
    );
    let ledger = engine.ledger().clone();
    let (stop_engine, engine_rx) = tokio::sync::watch::channel(false);
    let (stop_rec, rec_rx) = tokio::sync::watch::channel(false);
    let opts = RecordOptions {
        duration: Duration::from_secs(60),
        poll: Duration::from_millis(30),
        settle_poll: Duration::from_millis(150),
    };
    let mut file = Vec::new();
    let script = async {
        let trades = crate::live_e2e::wait_for_hedged(&ledger, Duration::from_secs(20)).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        pm.resolve(ARB_YES, true);
        ks.update_market(ARB_TICKER, |m| {
            m.status = "finalized".into();
            m.result = "yes".into();
            m.settlement_value_dollars = Some("1.0000".into());
        });
        let id = trades[0].id.clone();
        wait_for(
            &ledger,
            "the trade to settle",
            Duration::from_secs(20),
            |ts| ts.iter().any(|x| x.id == id && x.state == state::SETTLED),
        )
        .await;
        // Let the recorder see the resolutions too.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let _ = stop_engine.send(true);
        let _ = stop_rec.send(true);
    };
    let (run, written, ()) = tokio::join!(
        engine.run_live(engine_rx),
        record(&cfg, &rec_reg, &mut file, opts, rec_rx),
        script
    );
    run.expect("run_live ends cleanly");
    let summary = written.expect("recorded");
    assert_eq!(summary.resolutions, 2, "{summary:?}");
    let fed = booked(&ledger);
    assert!(
        fed.iter().filter(|l| l.starts_with("trade ")).count() >= 1,
        "{fed:#?}"
    );
    assert!(
        fed.iter()
            .filter(|l| l.starts_with("trade "))
            .all(|l| l.contains(" SETTLED ")),
        "{fed:#?}"
    );

    // Replay the recording in paper mode: the same pairs, risk, strategy and engine settings,
    // paper-sims on the file instead of on the feeds.
    let text = String::from_utf8(file).expect("utf-8");
    let scen_path = dir.join("recorded.jsonl");
    std::fs::write(&scen_path, &text).expect("write scenario");
    let header = polymix_venue_paper_sim::scenario::parse_str(&text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .header;
    let replay_dir = temp_dir("record-while-trading-replay");
    let venues = format!(
        "[[venue]]\nname = \"pm\"\nplugin = \"paper-sim\"\n[venue.settings]\nrules = \"polymarket\"\nscenario = {p:?}\nvenue_key = \"pm\"\nbalance = \"1000\"\nconfirm_ms = 200\n\n[[venue]]\nname = \"ks\"\nplugin = \"paper-sim\"\n[venue.settings]\nrules = \"kalshi\"\nscenario = {p:?}\nvenue_key = \"ks\"\nbalance = \"1000\"\n",
        p = scen_path.display().to_string()
    );
    let body = format!(
        "mode = \"paper\"\ndata_dir = {:?}\n{}{venues}{}{}{}",
        replay_dir.join("data").display().to_string(),
        plugin_dirs_toml().replace("call_timeout_ms = 500", "call_timeout_ms = 3000"),
        RISK_AND_STRATEGY,
        crate::live_e2e::engine_toml(50, 200),
        pairs_toml("pm", "ks"),
    );
    let replay_cfg = replay_dir.join("polymix.toml");
    std::fs::write(&replay_cfg, body).expect("write replay config");
    let rcfg = Arc::new(polymix_host::config::load(&replay_cfg).expect("replay config"));
    let rreg = registry(&rcfg).await;
    let clock = SimClock::new(header.start_ms);
    let replay = std::sync::Arc::new(
        Engine::new(
            rcfg,
            &rreg,
            Arc::new(clock.clone()),
            EngineOptions::default(),
        )
        .await
        .expect("replay engine"),
    );
    replay
        .replay(&clock, None, &|_, _| {})
        .await
        .expect("replay runs");
    let replayed = booked(replay.ledger());
    assert_eq!(replayed, fed, "recording:\n{text}");
}
