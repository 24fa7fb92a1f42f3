use std::collections::HashMap;

use plugin_api::{FeeModel, Price, Qty, Usd};

use super::*;

fn small() -> GenParams {
    GenParams {
        games: 6,
        soccer: 1,
        updates: Updates::PerMarket(8),
        true_arbs: 2,
        fee_traps: 1,
        ..GenParams::default()
    }
}

fn bytes(p: &GenParams) -> Vec<u8> {
    generate_to(p, Vec::new()).unwrap().1
}

#[test]
fn generator_is_deterministic() {
    let a = bytes(&small());
    assert_eq!(a, bytes(&small()));
    let other = GenParams { seed: 2, ..small() };
    assert_ne!(a, bytes(&other));
}

#[test]
fn generated_scenario_round_trips_through_the_parser() {
    let s = generate(&small()).unwrap();
    let text = String::from_utf8(write_scenario(&s, Vec::new()).unwrap()).unwrap();
    let back = parse_str(&text).unwrap();
    assert_eq!(back, s);
    // Streaming writer and in-memory writer agree byte for byte.
    assert_eq!(text.as_bytes(), &bytes(&small())[..]);
}

const HEADER: &str = r#"{"type":"header","version":1,"name":"t","start_ms":0,"end_ms":100,"venues":[{"key":"pm","rules":"polymarket"},{"key":"ks","rules":"kalshi"}]}"#;
const PM_MARKET: &str = r#"{"type":"market","venue":"pm","id":"C","tokens":["A","B"]}"#;
const KS_MARKET: &str = r#"{"type":"market","venue":"ks","id":"K"}"#;

fn err_of(lines: &[&str]) -> String {
    parse_str(&lines.join("\n")).unwrap_err().to_string()
}

#[test]
fn parse_errors_name_line_and_field() {
    let e = err_of(&[
        HEADER,
        PM_MARKET,
        KS_MARKET,
        r#"{"type":"book","ts":1,"venue":"pm","market":"C","bids":[["0.5","10"],["0.4x","1"]],"asks":[]}"#,
    ]);
    assert!(e.contains("line 4") && e.contains("`bids[1][0]`"), "{e}");
    let e = err_of(&[
        HEADER,
        PM_MARKET,
        r#"{"type":"book","ts":1,"venue":"pm","market":"C","bids":[["0.555","10"]],"asks":[]}"#,
    ]);
    assert!(
        e.contains("line 3") && e.contains("off the market's tick"),
        "{e}"
    );
    let e = err_of(&[
        HEADER,
        PM_MARKET,
        r#"{"type":"book","ts":1,"venue":"pm","market":"C","bids":[["0.5","10"]],"asks":[["0.5","1"]]}"#,
    ]);
    assert!(e.contains("crossed"), "{e}");
    let e = err_of(&[
        HEADER,
        KS_MARKET,
        r#"{"type":"book","ts":1,"venue":"ks","market":"K","bids":[]}"#,
    ]);
    assert!(e.contains("line 3") && e.contains("`bids`"), "{e}");
    let e = err_of(&[
        HEADER,
        PM_MARKET,
        r#"{"type":"book","ts":5,"venue":"pm","market":"C"}"#,
        r#"{"type":"status","ts":4,"venue":"pm","trading":false}"#,
    ]);
    assert!(
        e.contains("line 4") && e.contains("`ts`") && e.contains("time order"),
        "{e}"
    );
    let e = err_of(&[
        HEADER,
        r#"{"type":"book","ts":1,"venue":"pm","market":"Z"}"#,
    ]);
    assert!(e.contains("line 2") && e.contains("`market`"), "{e}");
    let e = err_of(&[
        HEADER,
        r#"{"type":"market","venue":"pm","id":"C","tokens":["A","B"],"colour":"red"}"#,
    ]);
    assert!(e.contains("line 2") && e.contains("colour"), "{e}");
    let e = err_of(&[
        HEADER,
        PM_MARKET,
        r#"{"type":"fault","ts":1,"venue":"pm","fault":"ghost"}"#,
    ]);
    assert!(e.contains("`fail_after_ms`"), "{e}");
    let e = err_of(&[
        HEADER,
        PM_MARKET,
        r#"{"type":"resolve","ts":1,"venue":"pm","market":"C","winner":"Q"}"#,
    ]);
    assert!(e.contains("`winner`"), "{e}");
    let e = err_of(&[r#"{"type":"market"}"#]);
    assert!(e.contains("line 1") && e.contains("header"), "{e}");
    let e = err_of(&[HEADER, "{not json"]);
    assert!(e.contains("line 2") && e.contains("invalid JSON"), "{e}");
    let e = err_of(&[
        HEADER,
        PM_MARKET,
        r#"{"type":"book","ts":1,"venue":"pm","market":"C","bids":[["0.4","1"],["0.5","1"]]}"#,
    ]);
    assert!(e.contains("best first"), "{e}");
}

#[test]
fn kalshi_no_bids_become_yes_asks() {
    let s = parse_str(&[HEADER, KS_MARKET, r#"{"type":"book","ts":1,"venue":"ks","market":"K","yes":[["0.55","10"]],"no":[["0.43","5"],["0.40","7"]]}"#].join("\n")).unwrap();
    match &s.events[0].kind {
        EventKind::Book { asks, .. } => {
            assert_eq!(asks[0].price, Price(570_000));
            assert_eq!(asks[1].price, Price(600_000));
            assert_eq!(asks[1].qty, Qty::shares(7));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.markets[0].instruments,
        ["K:yes".to_string(), "K:no".to_string()]
    );
}

fn bundled_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/scenarios")
        .join(name)
}

#[test]
fn committed_bundled_files_match_the_generator() {
    let text = std::fs::read(bundled_path("bundled.jsonl")).unwrap();
    assert!(
        text.len() < 2_000_000,
        "bundled scenario is {} bytes",
        text.len()
    );
    assert!(text == bytes(&GenParams::bundled()), "bundled.jsonl is stale: run `cargo run -p polymix-plugin-paper-sim --example gen_scenario`");
    let toml = std::fs::read_to_string(bundled_path("bundled.pairs.toml")).unwrap();
    let g = Generator::new(&GenParams::bundled()).unwrap();
    assert!(toml.ends_with(&pairs_toml(
        g.pairs(),
        &[("polymarket", "pm"), ("kalshi", "ks")]
    )));
}

#[test]
fn pairs_toml_has_the_host_format() {
    let p = PairDef {
        id: "nba-2026-11-24-lal-bos-lal".into(),
        title: "Lakers beat \"Celtics\" (2026-11-24)".into(),
        a: PairSide {
            venue: "polymarket".into(),
            yes: "1".into(),
            no: "2".into(),
        },
        b: PairSide {
            venue: "kalshi".into(),
            yes: "K:yes".into(),
            no: "K:no".into(),
        },
    };
    let t = pairs_toml(&[p], &[("polymarket", "pm"), ("kalshi", "ks")]);
    assert_eq!(
        t,
        "[[pair]]\nid = \"nba-2026-11-24-lal-bos-lal\"\ntitle = \"Lakers beat \\\"Celtics\\\" (2026-11-24)\"\na = { venue = \"pm\", yes = \"1\", no = \"2\" }\nb = { venue = \"ks\", yes = \"K:yes\", no = \"K:no\" }\n"
    );
}

/// Replays the bundled scenario's books and classifies every pair's best moment: a true arb
/// (profit after both venues' fees) or a fee trap (cheaper than $1 before fees, a loss after).
#[test]
fn bundled_scenario_has_the_promised_content() {
    let s = parse_file(&bundled_path("bundled.jsonl")).unwrap();
    let leagues: std::collections::BTreeSet<&str> =
        s.markets.iter().map(|m| m.series.as_str()).collect();
    for l in ["nba", "nfl", "nhl", "epl"] {
        assert!(leagues.contains(l), "{leagues:?}");
    }
    let two_way = s
        .markets
        .iter()
        .filter(|m| m.venue == 0 && m.series != "epl")
        .count();
    assert!(two_way >= 20);
    // Every market resolves.
    let resolved = s
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Resolve { .. }))
        .count();
    assert_eq!(resolved, s.markets.len());
    let kinds: Vec<&FaultKind> = s
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Fault { fault, .. } => Some(&fault.kind),
            _ => None,
        })
        .collect();
    assert!(kinds.iter().any(|k| matches!(k, FaultKind::Ghost { .. })));
    assert!(kinds.iter().any(|k| matches!(k, FaultKind::Reject { .. })));
    assert!(kinds.iter().any(|k| matches!(k, FaultKind::Partial { .. })));
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Status { trading: false, .. })));

    let mut index: HashMap<(usize, &str), (usize, usize)> = HashMap::new();
    for (i, m) in s.markets.iter().enumerate() {
        index.insert((m.venue, m.instruments[0].as_str()), (i, 0));
        index.insert((m.venue, m.instruments[1].as_str()), (i, 1));
    }
    let mut top: Vec<Option<(plugin_api::Level, plugin_api::Level)>> = vec![None; s.markets.len()];
    let ask = |t: &Option<(plugin_api::Level, plugin_api::Level)>, o: usize| {
        t.map(|(b, a)| {
            if o == 0 {
                (a.price, a.qty)
            } else {
                (b.price.complement(), b.qty)
            }
        })
    };
    let pm = FeeModel::polymarket(50_000);
    let ks = FeeModel::KALSHI_TAKER;
    let mut best: HashMap<&str, i64> = HashMap::new();
    let mut best_gross: HashMap<&str, i64> = HashMap::new();
    for e in &s.events {
        if let EventKind::Book { market, bids, asks } = &e.kind {
            top[*market as usize] = match (bids.first(), asks.first()) {
                (Some(b), Some(a)) => Some((*b, *a)),
                _ => None,
            };
            for p in &s.pairs {
                for (a_ins, b_ins) in [(&p.a.yes, &p.b.no), (&p.a.no, &p.b.yes)] {
                    let (ma, oa) = index[&(0, a_ins.as_str())];
                    let (mb, ob) = index[&(1, b_ins.as_str())];
                    let (Some((pa, qa)), Some((pb, qb))) = (ask(&top[ma], oa), ask(&top[mb], ob))
                    else {
                        continue;
                    };
                    let q = qa.min(qb).min(Qty::shares(100));
                    let cost = q.notional(pa, plugin_api::Rounding::Up)
                        + q.notional(pb, plugin_api::Rounding::Up);
                    let fees = pm.taker_fee(pa, q) + ks.taker_fee(pb, q);
                    let payout = q.payout(Price::ONE);
                    let net = (payout - cost - fees).0 * 1_000_000 / payout.0.max(1);
                    let gross = (payout - cost).0;
                    let e1 = best.entry(p.id.as_str()).or_insert(i64::MIN);
                    *e1 = (*e1).max(net);
                    let e2 = best_gross.entry(p.id.as_str()).or_insert(i64::MIN);
                    *e2 = (*e2).max(gross);
                }
            }
        }
    }
    let true_arbs = best.values().filter(|&&n| n >= 10_000).count();
    let traps = best
        .iter()
        .filter(|(id, &n)| n < 0 && best_gross[*id] > 0)
        .count();
    eprintln!(
        "bundled: {true_arbs} true arbs, {traps} fee traps, best nets {:?}",
        {
            let mut v: Vec<i64> = best.values().copied().filter(|&n| n > -20_000).collect();
            v.sort();
            v
        }
    );
    assert!(true_arbs >= 4, "true arbs: {true_arbs} {best:?}");
    assert!(traps >= 2, "fee traps: {traps}");
    assert!(
        best.values().all(|&n| n < 60_000),
        "an arb is unrealistically large: {best:?}"
    );
    let _ = Usd::ZERO;
}

#[test]
fn market_start_time_is_optional_and_generated_for_both_venues_of_a_game() {
    let s = parse_str(
        &[
            HEADER,
            PM_MARKET,
            r#"{"type":"market","venue":"ks","id":"K","start_ms":42,"close_ms":90}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    assert_eq!(
        (s.markets[0].start_ms, s.markets[1].start_ms),
        (None, Some(42))
    );
    // Written back only when known.
    let text = String::from_utf8(write_scenario(&s, Vec::new()).unwrap()).unwrap();
    assert!(
        text.contains(
            r#""id":"K","event":"K","series":"","title":"K","start_ms":42,"close_ms":90"#
        ),
        "{text}"
    );
    assert_eq!(
        text.matches("start_ms").count(),
        2,
        "header and K only: {text}"
    );
    // Generated: every market has one, the same on both venues of a game (its event's date).
    let g = generate(&small()).unwrap();
    assert!(g.markets.iter().all(|m| m.start_ms.is_some()));
    let start_of = |venue: usize, date_key: &str| -> Vec<i64> {
        g.markets
            .iter()
            .filter(|m| m.venue == venue && m.event.contains(date_key))
            .filter_map(|m| m.start_ms)
            .collect()
    };
    let pm = start_of(0, "2026-11-24");
    let ks = start_of(1, "26NOV24");
    assert!(!pm.is_empty() && !ks.is_empty());
    assert!(
        pm.iter().chain(&ks).all(|t| *t == small().start_ms),
        "{pm:?} {ks:?}"
    );
}

#[test]
fn a_fee_schedule_is_a_rate_or_data_and_round_trips() {
    use plugin_api::{FeeModel, FeeShape, FeeTerm};
    let flat = FeeModel::new(
        &[FeeTerm::per_share(20_000, FeeShape::One)],
        FeeModel::KALSHI_TAKER.rounding(),
    )
    .unwrap();
    let fee_json = serde_json::to_string(&flat).unwrap();
    let s = parse_str(
        &[
            HEADER,
            r#"{"type":"market","venue":"pm","id":"C","tokens":["A","B"],"fee_rate_ppm":30000}"#,
            &format!(r#"{{"type":"market","venue":"ks","id":"K","fee":{fee_json}}}"#),
            r#"{"type":"market","venue":"ks","id":"K2"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    assert_eq!(s.markets[0].fee, FeeModel::polymarket(30_000));
    assert_eq!(s.markets[1].fee, flat);
    assert_eq!(
        s.markets[2].fee,
        FeeModel::KALSHI_TAKER,
        "the venue's default"
    );
    // Written back: the rate form where it is the venue's formula, data otherwise.
    let text = String::from_utf8(write_scenario(&s, Vec::new()).unwrap()).unwrap();
    assert!(text.contains(r#""fee_rate_ppm":30000"#), "{text}");
    assert!(text.contains(&format!(r#""fee":{fee_json}"#)), "{text}");
    assert_eq!(parse_str(&text).unwrap(), s);
    // Both forms, or a bad schedule: an error naming the line and `fee`.
    let e = err_of(&[
        HEADER,
        &format!(r#"{{"type":"market","venue":"ks","id":"K","fee_rate_ppm":1,"fee":{fee_json}}}"#),
    ]);
    assert!(e.contains("line 2") && e.contains("`fee`"), "{e}");
    let e = err_of(&[
        HEADER,
        r#"{"type":"market","venue":"ks","id":"K","fee":{"terms":[],"rounding":{"unit_micro":0,"mode":"up","minimum_micro":0}}}"#,
    ]);
    assert!(e.contains("line 2") && e.contains("`fee`"), "{e}");
}
