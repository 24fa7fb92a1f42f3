//! A scenario replay's journal: a killed instance rebuilt from it continues exactly as one that
//! was never killed (faults taken at the same times, latency orders included), and a journal
//! written for other settings is refused.

use plugin_api::{HttpResponse, OpResult, Side, Step, TimeInForce, Venue, VenueOp};
use serde_json::json;

use crate::tests::{balance, ctx, done, fills, order, place, positions, SCENARIO};
use crate::PaperSim;

fn temp_journal(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "paper-sim-resume-{tag}-{}-{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    d.join("pm.journal")
}

fn with_journal(path: &std::path::Path, balance: &str) -> PaperSim {
    // A latency fault on the first order and a partial fill on TB: the journal must consume
    // them at the times the killed run did.
    PaperSim::from_scenario_text(
        &json!({"rules":"polymarket","scenario":"t","venue_key":"pm","balance":balance,
                "journal": path.display().to_string(),
                "faults":[{"fault":"latency","ms":1500},{"target":"TB","fault":"partial","fraction":"0.5"}]}),
        SCENARIO,
    )
    .unwrap()
}

/// The same operations at the same times; `stop_at` ends early (the kill).
fn drive(v: &PaperSim, stop_at: usize) {
    let steps: [&dyn Fn(&PaperSim); 4] = [
        // Waits 1500 ms (latency fault), then fills against the book as it is then.
        &|v| {
            let step = v
                .begin(
                    VenueOp::PlaceOrder {
                        order: order("o1", "TA", Side::Buy, 600_000, 60, TimeInForce::Ioc),
                    },
                    ctx(4000),
                )
                .unwrap();
            let Step::Wait { ms, state } = step else {
                panic!("expected the latency fault's wait, got {step:?}")
            };
            assert_eq!(ms, 1500);
            let none = HttpResponse {
                status: 0,
                headers: vec![],
                body: vec![],
            };
            v.resume(state, none, ctx(4000 + ms as i64)).unwrap();
        },
        &|v| {
            place(
                v,
                order("o2", "TB", Side::Buy, 500_000, 20, TimeInForce::Ioc),
                7000,
            )
            .unwrap();
        },
        &|v| {
            place(
                v,
                order("o3", "TA", Side::Buy, 450_000, 10, TimeInForce::Gtc),
                8000,
            )
            .unwrap();
        },
        &|v| {
            done(
                v,
                VenueOp::CancelOrder {
                    order_id: "pm-o3".into(),
                    instrument: "TA".into(),
                },
                9000,
            )
            .ok();
        },
    ];
    for s in steps.iter().take(stop_at) {
        s(v);
    }
}

fn state(v: &PaperSim, now: i64) -> String {
    let o = |coid: &str| match done(
        v,
        VenueOp::GetOrder {
            order_id: None,
            client_order_id: Some(coid.into()),
            instrument: "TA".into(),
        },
        now,
    ) {
        Ok(OpResult::Order { order }) => format!("{:?}", (order.state, order.filled_qty)),
        Err(e) => e.message,
        Ok(other) => format!("{other:?}"),
    };
    format!(
        "{:?}\n{:?}\n{:?}\n{} {} {}",
        balance(v, now),
        positions(v, now),
        fills(v, now),
        o("o1"),
        o("o2"),
        o("o3")
    )
}

#[test]
fn a_killed_replay_rebuilt_from_its_journal_continues_as_if_never_killed() {
    let clean = with_journal(&temp_journal("clean"), "1000");
    drive(&clean, 4);
    let want = state(&clean, 60_000);
    for kill_after in 1..=3 {
        let path = temp_journal(&format!("k{kill_after}"));
        {
            let v = with_journal(&path, "1000");
            drive(&v, kill_after);
        } // the kill: nothing but the journal survives
        let v = with_journal(&path, "1000");
        // The remaining steps, then the scenario on (ghost fill, book changes).
        for i in kill_after..4 {
            drive_one(&v, i);
        }
        assert_eq!(state(&v, 60_000), want, "killed after step {kill_after}");
    }
}

fn drive_one(v: &PaperSim, i: usize) {
    // Step i of `drive` alone (0 is only ever run by `drive`).
    match i {
        1 => {
            place(
                v,
                order("o2", "TB", Side::Buy, 500_000, 20, TimeInForce::Ioc),
                7000,
            )
            .unwrap();
        }
        2 => {
            place(
                v,
                order("o3", "TA", Side::Buy, 450_000, 10, TimeInForce::Gtc),
                8000,
            )
            .unwrap();
        }
        3 => {
            done(
                v,
                VenueOp::CancelOrder {
                    order_id: "pm-o3".into(),
                    instrument: "TA".into(),
                },
                9000,
            )
            .ok();
        }
        _ => unreachable!(),
    }
}

#[test]
fn a_journal_for_other_settings_is_refused_with_how_to_start_afresh() {
    let path = temp_journal("other");
    {
        let v = with_journal(&path, "1000");
        drive(&v, 2);
    }
    let e = PaperSim::from_scenario_text(
        &json!({"rules":"polymarket","scenario":"t","venue_key":"pm","balance":"2000",
                "journal": path.display().to_string(),
                "faults":[{"fault":"latency","ms":1500},{"target":"TB","fault":"partial","fraction":"0.5"}]}),
        SCENARIO,
    )
    .err()
    .expect("refused");
    assert!(
        e.message.contains("another scenario or settings") && e.message.contains("polymix reset"),
        "{}",
        e.message
    );
}
