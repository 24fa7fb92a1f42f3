//! Control API against an engine that replayed the bundled scenario.

use polymix_host::api::{serve, ApiState};
use polymix_host::engine::{Engine, EngineOptions};
use polymix_host::plugins::Registry;
use polymix_host::venue_io::SimClock;
use std::sync::Arc;

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.expect("request");
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut rb = reqwest::Client::new().post(url);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.send().await.expect("request").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_have_their_shapes_and_reset_needs_the_key() {
    let cfg = Arc::new(
        polymix_host::config::load(&crate::paper_e2e::paper_config("api")).expect("config"),
    );
    let c2 = cfg.clone();
    let reg = tokio::task::spawn_blocking(move || Registry::build(&c2))
        .await
        .unwrap()
        .unwrap();
    let first = reg
        .venues
        .iter()
        .filter_map(|v| v.handle.call("n", |h| Ok(h.next_event_ms())).ok().flatten())
        .min()
        .unwrap();
    let clock = SimClock::new(first);
    let engine = Arc::new(
        Engine::new(
            cfg.clone(),
            &reg,
            Arc::new(clock.clone()),
            EngineOptions::default(),
        )
        .await
        .unwrap(),
    );
    engine.replay(&clock, None, &|_, _| {}).await.unwrap();
    let addr = serve(
        "127.0.0.1:0",
        ApiState {
            engine: engine.clone(),
            plugins: reg.rows.clone(),
            api_key: Some("api-key-1".into()),
            reset_key: Some("reset-key-1".into()),
        },
    )
    .await
    .unwrap();
    let base = format!("http://{addr}");

    let (s, b) = get(&format!("{base}/api/trading/mode")).await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["mode"], "paper");

    for path in ["/api/trading/state", "/api/paper/state"] {
        let (s, b) = get(&format!("{base}{path}")).await;
        assert_eq!(s, 200, "{path}");
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        for k in [
            "mode",
            "balances",
            "today",
            "exposure",
            "limits",
            "open_trades",
            "realized_pnl",
            "errors",
            "stats",
        ] {
            assert!(v.get(k).is_some(), "{path} lacks {k}: {v}");
        }
        assert!(v["balances"]["pm"].is_i64());
    }
    for path in [
        "/api/health",
        "/api/plugins",
        "/api/pairs",
        "/api/trades",
        "/api/errors",
    ] {
        let (s, b) = get(&format!("{base}{path}")).await;
        assert_eq!(s, 200, "{path}");
        serde_json::from_str::<serde_json::Value>(&b).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let (_, b) = get(&format!("{base}/api/pairs")).await;
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&b)
            .unwrap()
            .len(),
        60
    );
    let (_, b) = get(&format!("{base}/api/trades")).await;
    let n_trades = serde_json::from_str::<Vec<serde_json::Value>>(&b)
        .unwrap()
        .len();
    assert!(n_trades > 0);
    let (_, b) = get(&format!("{base}/api/trades?since=99999999999999")).await;
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&b)
            .unwrap()
            .len(),
        0
    );

    // Prometheus text: every sample line is `name{labels} number` or `name number`.
    let (s, m) = get(&format!("{base}/metrics")).await;
    assert_eq!(s, 200);
    assert!(m.contains("polymix_trades_total"), "{m}");
    assert!(m.contains("polymix_venue_request_seconds_bucket{"), "{m}");
    for line in m.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line}"));
        assert!(value.parse::<f64>().is_ok(), "bad value in {line}");
        let bare = name.split('{').next().unwrap();
        assert!(
            bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad name {line}"
        );
    }

    // The dashboard is one self-contained page; the OpenAPI document lists every route.
    let (s, html) = get(&format!("{base}/")).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"banner\"") && html.contains("/api/trading/state"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
    let (s, doc) = get(&format!("{base}/api/openapi.json")).await;
    assert_eq!(s, 200);
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    for (method, path, _) in polymix_host::api::ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
        let (s, _) = if *method == "get" {
            get(&format!("{base}{path}")).await
        } else {
            (0, String::new())
        };
        assert!(*method != "get" || s == 200, "{path} answered {s}");
    }

    // Wrong or missing keys: 403 and nothing changes.
    let reset = format!("{base}/api/trading/reset");
    assert_eq!(post(&reset, &[]).await, 403);
    assert_eq!(
        post(
            &reset,
            &[("x-api-key", "api-key-1"), ("x-reset-key", "wrong")]
        )
        .await,
        403
    );
    assert_eq!(
        post(
            &reset,
            &[("x-api-key", "nope"), ("x-reset-key", "reset-key-1")]
        )
        .await,
        403
    );
    assert_eq!(engine.ledger().trades_in(&[]).unwrap().len(), n_trades);
    // The right keys archive the ledger and start clean.
    assert_eq!(
        post(
            &reset,
            &[("x-api-key", "api-key-1"), ("x-reset-key", "reset-key-1")]
        )
        .await,
        200
    );
    assert_eq!(engine.ledger().trades_in(&[]).unwrap().len(), 0);
    let dir = engine.ledger().path().parent().unwrap().to_path_buf();
    let archived: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".archived"))
        .collect();
    assert_eq!(archived.len(), 1);
    let old = polymix_host::store::Ledger::open(&archived[0].path()).unwrap();
    assert_eq!(old.trades_in(&[]).unwrap().len(), n_trades);
}

#[tokio::test]
async fn a_non_loopback_bind_without_a_key_is_refused() {
    let e = polymix_host::api::check_bind("0.0.0.0:0", false).unwrap_err();
    assert!(e.to_string().contains("api_key"));
}
