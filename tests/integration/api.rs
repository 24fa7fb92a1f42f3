//! Control API against an engine that replayed the bundled scenario: every GET answer checked
//! against the OpenAPI document's own schema, key rules of the mutating endpoints, and the
//! unrealized P&L recomputed from the API's own legs and books.

use polymix_host::api::{route_docs, serve, ApiLimits, ApiState, Body};
use polymix_host::engine::{Engine, EngineOptions};
use polymix_host::plugins::Registry;
use polymix_host::venue_io::SimClock;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

const API_KEY: &str = "api-key-1-secret";
const RESET_KEY: &str = "reset-key-1-secret";

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.expect("request");
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn get_json(url: &str) -> Value {
    let (s, b) = get(url).await;
    assert_eq!(s, 200, "{url}: {b}");
    serde_json::from_str(&b).unwrap_or_else(|e| panic!("{url}: {e}: {b}"))
}

async fn post(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut rb = reqwest::Client::new().post(url);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.expect("request");
    (r.status().as_u16(), r.text().await.unwrap())
}

/// An engine that replayed `cfg` to its end.
async fn replayed(cfg: &Path) -> (Arc<Engine>, Registry) {
    let cfg = Arc::new(polymix_host::config::load(cfg).expect("config"));
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
        Engine::new(cfg, &reg, Arc::new(clock.clone()), EngineOptions::default())
            .await
            .unwrap(),
    );
    engine.replay(&clock, None, &|_, _| {}).await.unwrap();
    (engine, reg)
}

async fn serve_on(engine: &Arc<Engine>, reg: &Registry, api_key: Option<&str>) -> SocketAddr {
    serve_limited(engine, reg, api_key, ApiLimits::default()).await
}

async fn serve_limited(
    engine: &Arc<Engine>,
    reg: &Registry,
    api_key: Option<&str>,
    limits: ApiLimits,
) -> SocketAddr {
    serve(
        "127.0.0.1:0",
        ApiState {
            engine: engine.clone(),
            plugins: reg.rows.clone(),
            api_key: api_key.map(String::from),
            reset_key: Some(RESET_KEY.into()),
            limits,
        },
    )
    .await
    .unwrap()
}

/// A validator for the schema at `#/components/schemas/...` (or inline) of `schema`, with the
/// document's components alongside so its `$ref`s resolve.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("bad schema {schema}: {e}"))
}

fn assert_valid(doc: &Value, schema: &Value, body: &Value, what: &str) {
    let v = validator(doc, schema);
    let errors: Vec<String> = v
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} deviates from its schema: {errors:#?}"
    );
}

/// JSON pointers where `a` and `b` differ.
fn differences(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (x.get(k), y.get(k)) {
                    (Some(v), Some(w)) => differences(v, w, &p, out),
                    (v, w) => out.push(format!("{p}: {v:?} vs {w:?}")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differences(v, w, &format!("{at}/{i}"), out);
            }
        }
        _ if a != b => out.push(format!("{at}: {a} vs {b}")),
        _ => {}
    }
}

/// (a) The document parses as OpenAPI 3.1 with a well-kept model and survives a round trip
/// unchanged (so no misspelt or unknown keyword was silently dropped); every component schema
/// is a valid JSON Schema 2020-12 schema; every documented route is served.
async fn check_document(base: &str) -> Value {
    let (s, text) = get(&format!("{base}/api/openapi.json")).await;
    assert_eq!(s, 200);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let spec = oas3::from_json(&text).expect("an OpenAPI 3.1 document");
    assert_eq!(spec.validate_version().expect("version").minor, 1);
    let mut lost = Vec::new();
    differences(&doc, &serde_json::to_value(&spec).unwrap(), "", &mut lost);
    assert!(
        lost.is_empty(),
        "the OpenAPI model does not round-trip these: {lost:#?}"
    );
    let schemes = &spec.components.as_ref().unwrap().security_schemes;
    assert!(schemes.contains_key("apiKey") && schemes.contains_key("resetKey"));
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        assert!(
            jsonschema::draft202012::meta::is_valid(schema),
            "{name} is not a JSON Schema"
        );
        validator(&doc, schema);
    }
    let routes = route_docs();
    let ops: usize = spec
        .paths
        .as_ref()
        .unwrap()
        .values()
        .map(|p| p.methods().into_iter().count())
        .sum();
    assert_eq!(ops, routes.len(), "one documented operation per route");
    for r in &routes {
        let item = &spec.paths.as_ref().unwrap()[r.path];
        let op = item
            .methods()
            .into_iter()
            .find(|(m, _)| m.as_str().eq_ignore_ascii_case(r.method))
            .unwrap_or_else(|| panic!("{} {} undocumented", r.method, r.path))
            .1;
        assert!(op.responses.as_ref().unwrap().contains_key("200"));
        // Served: reads answer 200, mutations without keys 403 (never 404 or 405).
        let status = match r.method {
            "get" => get(&format!("{base}{}", r.path)).await.0,
            _ => post(&format!("{base}{}", r.path), &[]).await.0,
        };
        assert_eq!(
            status,
            if r.method == "get" { 200 } else { 403 },
            "{} {}",
            r.method,
            r.path
        );
    }
    assert_eq!(get(&format!("{base}/api/nothing-here")).await.0, 404);
    doc
}

/// (b) Every GET route's JSON answer validates against its declared schema.
async fn check_responses(base: &str, doc: &Value) {
    for r in route_docs().iter().filter(|r| r.method == "get") {
        if !matches!(r.body, Body::Json(_) | Body::JsonList(_)) {
            continue;
        }
        let schema = &doc["paths"][r.path]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        let mut urls = vec![format!("{base}{}", r.path)];
        for q in r.query {
            urls.push(format!("{base}{}?{}=0", r.path, q.name));
        }
        for url in urls {
            let body = get_json(&url).await;
            assert_valid(doc, schema, &body, &url);
        }
    }
    // The schemas are closed: an undocumented field would fail.
    let mut state = get_json(&format!("{base}/api/trading/state")).await;
    state["surprise"] = json!(1);
    let schema = json!({ "$ref": "#/components/schemas/TradingState" });
    assert!(!validator(doc, &schema).is_valid(&state));
}

fn archived_count(engine: &Engine) -> usize {
    let dir = engine.ledger().path().parent().unwrap().to_path_buf();
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".archived"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_matches_its_openapi_document_and_mutations_need_the_api_key() {
    let logs = crate::support::logs();
    let (engine, reg) = replayed(&crate::paper_e2e::paper_config("api")).await;
    let base = format!("http://{}", serve_on(&engine, &reg, Some(API_KEY)).await);

    let doc = check_document(&base).await;
    check_responses(&base, &doc).await;

    let v = get_json(&format!("{base}/api/trading/mode")).await;
    assert_eq!(
        (v["mode"].as_str(), v["live"].as_bool()),
        (Some("paper"), Some(false))
    );
    let state = get_json(&format!("{base}/api/trading/state")).await;
    assert_eq!(state, get_json(&format!("{base}/api/paper/state")).await);
    assert!(state["balances"]["pm"].is_i64());
    // Replayed to the end, every trade settled: nothing left to mark.
    assert_eq!(state["open_trades"], json!([]));
    assert_eq!(
        (
            state["unrealized_pnl"].as_i64(),
            state["unrealized_pnl_usd"].as_str()
        ),
        (Some(0), Some("0.000000"))
    );
    let pairs = get_json(&format!("{base}/api/pairs")).await;
    assert_eq!(pairs.as_array().unwrap().len(), 60);
    assert!(pairs
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["a"]["yes_bid"].is_i64()));
    let trades = get_json(&format!("{base}/api/trades")).await;
    let n_trades = trades.as_array().unwrap().len();
    assert!(n_trades > 0);
    assert_eq!(state["trades_total"].as_u64(), Some(n_trades as u64));
    let later = get_json(&format!("{base}/api/trades?since=99999999999999")).await;
    assert_eq!(later, json!([]));
    assert_eq!(get(&format!("{base}/api/trades?since=soon")).await.0, 400);

    // Prometheus text: every sample line is `name{labels} number` or `name number`.
    let (s, m) = get(&format!("{base}/metrics")).await;
    assert_eq!(s, 200);
    assert!(m.contains("polymix_trades_total"), "{m}");
    assert!(m.contains("polymix_venue_request_seconds_bucket{"), "{m}");
    assert!(
        m.contains("\npolymix_unrealized_pnl_dollars 0.000000\n"),
        "{m}"
    );
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

    // The dashboard is one self-contained page showing both P&Ls.
    let (s, html) = get(&format!("{base}/")).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"banner\"") && html.contains("/api/trading/state"));
    assert!(html.contains("id=\"pnl-total\"") && html.contains("id=\"pnl-unrealized\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );

    // Without [api].api_key, mutating endpoints are disabled whatever is sent.
    let closed = format!("http://{}", serve_on(&engine, &reg, None).await);
    for path in ["/api/trading/reset", "/api/paper/reset"] {
        for headers in [
            &[][..],
            &[("x-api-key", API_KEY), ("x-reset-key", RESET_KEY)][..],
        ] {
            let (s, b) = post(&format!("{closed}{path}"), headers).await;
            assert_eq!(s, 403, "{path}");
            let e: Value = serde_json::from_str(&b).unwrap();
            let e = e["error"].as_str().unwrap();
            assert!(
                e.contains("disabled until [api].api_key is set") && e.contains("{ env = "),
                "{e}"
            );
        }
    }
    assert_eq!(engine.ledger().trades_in(&[]).unwrap().len(), n_trades);
    assert_eq!(archived_count(&engine), 0);

    // Wrong or missing keys: 403, no key echoed back, nothing changes.
    for path in ["/api/trading/reset", "/api/paper/reset"] {
        let url = format!("{base}{path}");
        for headers in [
            &[][..],
            &[("x-reset-key", RESET_KEY)][..],
            &[("x-api-key", API_KEY)][..],
            &[("x-api-key", API_KEY), ("x-reset-key", "wrong")][..],
            &[("x-api-key", "nope"), ("x-reset-key", RESET_KEY)][..],
            &[("x-api-key", RESET_KEY), ("x-reset-key", API_KEY)][..],
        ] {
            let (s, b) = post(&url, headers).await;
            assert_eq!(s, 403, "{path} {headers:?}");
            assert!(
                !b.contains(API_KEY) && !b.contains(RESET_KEY) && !b.contains("nope"),
                "{b}"
            );
            assert!(b.contains("missing or wrong x-"), "{b}");
        }
    }
    assert_eq!(engine.ledger().trades_in(&[]).unwrap().len(), n_trades);
    assert_eq!(archived_count(&engine), 0);

    // The right keys archive the ledger and start clean.
    let (s, b) = post(
        &format!("{base}/api/trading/reset"),
        &[("x-api-key", API_KEY), ("x-reset-key", RESET_KEY)],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let done: Value = serde_json::from_str(&b).unwrap();
    assert_valid(
        &doc,
        &json!({ "$ref": "#/components/schemas/ResetDone" }),
        &done,
        "reset",
    );
    assert_eq!(engine.ledger().trades_in(&[]).unwrap().len(), 0);
    assert_eq!(get_json(&format!("{base}/api/trades")).await, json!([]));
    assert_eq!(archived_count(&engine), 1);
    let dir = engine.ledger().path().parent().unwrap().to_path_buf();
    let archived = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().ends_with(".archived"))
        .unwrap();
    let old = polymix_host::store::Ledger::open(&archived.path()).unwrap();
    assert_eq!(old.trades_in(&[]).unwrap().len(), n_trades);

    // Refusals are logged, keys never are.
    let logs = logs.lock().unwrap_or_else(|p| p.into_inner());
    assert!(logs.iter().any(|l| l.contains("mutating request refused")));
    assert!(!logs
        .iter()
        .any(|l| l.contains(API_KEY) || l.contains(RESET_KEY)));
}

/// The bundled scenario cut inside the Kalshi outage and without resolutions: trades stay open,
/// Polymarket books have bids, Kalshi's were dropped by the outage.
fn open_scenario_config() -> std::path::PathBuf {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let bundled = format!("{root}/config/scenarios/bundled.jsonl");
    let text = std::fs::read_to_string(&bundled).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if line.contains("\"type\":\"status\"") && line.contains("\"trading\":false") {
            break;
        }
    }
    let out: String = out
        .lines()
        .filter(|l| !l.contains("\"type\":\"resolve\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let cfg = crate::paper_e2e::paper_config("api-open");
    let scenario = cfg.parent().unwrap().join("open.jsonl");
    std::fs::write(&scenario, out).unwrap();
    let conf = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(&bundled, &scenario.display().to_string());
    std::fs::write(&cfg, conf).unwrap();
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrealized_pnl_is_the_open_legs_marked_to_the_best_bid() {
    let (engine, reg) = replayed(&open_scenario_config()).await;
    let base = format!("http://{}", serve_on(&engine, &reg, Some(API_KEY)).await);
    let state = get_json(&format!("{base}/api/trading/state")).await;
    let pairs = get_json(&format!("{base}/api/pairs")).await;

    // Best bids by (venue, instrument), from /api/pairs.
    let mut bids: HashMap<(String, String), Option<i64>> = HashMap::new();
    for p in pairs.as_array().unwrap() {
        for side in [&p["a"], &p["b"]] {
            let venue = side["venue"].as_str().unwrap().to_string();
            for (inst, bid) in [("yes", "yes_bid"), ("no", "no_bid")] {
                bids.insert(
                    (venue.clone(), side[inst].as_str().unwrap().to_string()),
                    side[bid].as_i64(),
                );
            }
        }
    }

    // Recompute from the state's own legs, in floating dollars (independent of the engine's
    // fixed-point code): held = good buys − sells; cost = average good entry cost × held.
    let open = state["open_trades"].as_array().unwrap();
    assert!(!open.is_empty(), "the cut scenario leaves trades open");
    let (mut total, mut marked, mut unmarked) = (0.0f64, 0, Vec::new());
    for o in open {
        let t = &o["trade"];
        let mut trade_pnl = 0.0;
        for leg in ["a", "b"] {
            let (mut bought, mut paid, mut sold) = (0.0, 0.0, 0.0);
            for l in o["legs"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["leg"] == leg)
            {
                let f = |k: &str| l[k].as_i64().unwrap() as f64;
                let good = f("filled_qty") - f("failed_qty");
                if l["side"] == "buy" {
                    bought += good / 1e6; // micro-shares
                    if f("filled_qty") > 0.0 {
                        paid += (f("filled_notional") + f("fees")) / 1e6 * good / f("filled_qty");
                    }
                } else {
                    sold += good / 1e6;
                }
            }
            let held = bought - sold;
            if held <= 0.0 {
                continue;
            }
            let venue = t[format!("venue_{leg}")].as_str().unwrap().to_string();
            let inst = t[format!("instrument_{leg}")].as_str().unwrap().to_string();
            let bid = bids[&(venue.clone(), inst.clone())];
            match bid {
                Some(_) => marked += 1,
                None => unmarked.push((t["id"].as_str().unwrap().to_string(), leg.to_string())),
            }
            let value = held * bid.unwrap_or(0) as f64 / 1e6;
            trade_pnl += value - paid * held / bought;
        }
        let api = o["unrealized_pnl"].as_i64().unwrap() as f64 / 1e6;
        assert!(
            (api - trade_pnl).abs() < 1e-5,
            "trade {}: API {api}, recomputed {trade_pnl}",
            t["id"]
        );
        assert_eq!(
            o["unrealized_pnl_usd"].as_str().unwrap(),
            format!("{api:.6}")
        );
        total += trade_pnl;
    }
    let api_total = state["unrealized_pnl"].as_i64().unwrap() as f64 / 1e6;
    assert!(
        (api_total - total).abs() < 1e-5 * open.len() as f64,
        "API {api_total}, recomputed {total}"
    );
    assert_eq!(
        state["unrealized_pnl_usd"].as_str().unwrap(),
        format!("{api_total:.6}")
    );
    assert!(api_total != 0.0);

    // Both kinds of leg are here: marked ones on Polymarket, unmarked ones on Kalshi (outage),
    // each flagged, not skipped.
    assert!(marked > 0, "no leg had a bid");
    assert!(!unmarked.is_empty(), "the outage left no leg unmarked");
    let mut flagged: Vec<(String, String)> = state["unmarked_legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["trade_id"].as_str().unwrap().to_string(),
                u["leg"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    flagged.sort();
    unmarked.sort();
    assert_eq!(flagged, unmarked);
    assert!(state["unmarked_legs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["venue"] == "ks"));

    // The same number is a Prometheus gauge.
    let (_, m) = get(&format!("{base}/metrics")).await;
    let gauge = |name: &str| {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {m}"))
            .to_string()
    };
    assert_eq!(
        gauge("polymix_unrealized_pnl_dollars"),
        state["unrealized_pnl_usd"].as_str().unwrap()
    );
    assert_eq!(gauge("polymix_unmarked_legs"), unmarked.len().to_string());

    // And it validates against the document.
    let doc = get_json(&format!("{base}/api/openapi.json")).await;
    assert_valid(
        &doc,
        &json!({ "$ref": "#/components/schemas/TradingState" }),
        &state,
        "state",
    );
}

#[tokio::test]
async fn a_non_loopback_bind_without_a_key_is_refused() {
    let e = polymix_host::api::check_bind("0.0.0.0:0", false).unwrap_err();
    assert!(e.to_string().contains("api_key"));
}

/// Open file descriptors of this process.
fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// 2,000 half-open connections (connected, nothing sent) must not pin 2,000 descriptors in the
/// server, and a normal request still gets through at once while they are held: at the cap the
/// oldest connection still waiting for its headers gives way (the header timeout here is far
/// longer than the test, so it is not what frees the slots).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_are_bounded_and_a_real_request_still_gets_through() {
    let (engine, reg) = replayed(&crate::paper_e2e::paper_config("api-flood")).await;
    let limits = ApiLimits {
        max_connections: 64,
        header_timeout: std::time::Duration::from_secs(60),
        idle_timeout: std::time::Duration::from_secs(60),
    };
    let addr = serve_limited(&engine, &reg, Some(API_KEY), limits).await;
    let base = format!("http://{addr}");
    assert_eq!(get(&format!("{base}/api/health")).await.0, 200);

    let before = fd_count();
    const N: usize = 2_000;
    let (clients, peak) = tokio::task::spawn_blocking(move || {
        let mut clients = Vec::with_capacity(N);
        let mut peak = 0;
        for i in 0..N {
            match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)) {
                Ok(c) => clients.push(c),
                Err(e) => panic!("connect {i}: {e}"),
            }
            if i % 100 == 99 {
                std::thread::sleep(std::time::Duration::from_millis(20));
                peak = peak.max(fd_count());
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        (clients, peak.max(fd_count()))
    })
    .await
    .unwrap();
    // Our own N client sockets are counted too; the server may add at most its cap and slack.
    let server_side = peak.saturating_sub(before + clients.len());
    assert!(
        server_side <= 64 + 32,
        "the server held {server_side} descriptors for {N} half-open connections"
    );

    // A normal authorized request gets an answer while the flood is still connected.
    let client = reqwest::Client::new();
    let mut ok = false;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !ok && std::time::Instant::now() < deadline {
        if let Ok(r) = client
            .get(format!("{base}/api/trading/state"))
            .header("x-api-key", API_KEY)
            .send()
            .await
        {
            ok = r.status() == 200;
        }
        if !ok {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    assert!(ok, "a normal request never got through");

    // The server closed the half-open connections it accepted (EOF or reset on our side).
    let closed = tokio::task::spawn_blocking(move || {
        let mut c = &clients[0];
        c.set_read_timeout(Some(std::time::Duration::from_secs(3)))
            .unwrap();
        let mut buf = [0u8; 16];
        let r = std::io::Read::read(&mut c, &mut buf);
        matches!(r, Ok(0))
            || matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
    })
    .await
    .unwrap();
    assert!(closed, "a half-open connection was left open");
}

/// Every API error answers `{"error": "..."}`: bad query, unknown path, wrong method, too
/// large or malformed body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_error_answers_a_json_body() {
    let (engine, reg) = replayed(&crate::paper_e2e::paper_config("api-errors")).await;
    let base = format!("http://{}", serve_on(&engine, &reg, Some(API_KEY)).await);
    let client = reqwest::Client::new();
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        (
            "bad query",
            client.get(format!("{base}/api/trades?since=abc")),
            400,
        ),
        ("unknown path", client.get(format!("{base}/api/nope")), 404),
        (
            "bad path",
            client.get(format!("{base}/api/trades/%ZZ")),
            404,
        ),
        (
            "wrong method",
            client.post(format!("{base}/api/trades")),
            405,
        ),
        (
            "bad JSON body",
            client
                .post(format!("{base}/api/trading/reset"))
                .header("x-api-key", API_KEY)
                .header("x-reset-key", RESET_KEY)
                .header("content-type", "application/json")
                .body("{not json"),
            400,
        ),
    ];
    for (what, rb, status) in cases {
        let r = rb.send().await.expect(what);
        assert_eq!(r.status().as_u16(), status, "{what}");
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_string())
            .unwrap_or_default();
        let body = r.text().await.unwrap();
        assert!(ct.starts_with("application/json"), "{what}: {ct}: {body}");
        let v: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {v}"
        );
    }
    // Too large: the server answers from the declared length, before any body byte. Sent by
    // hand with no body, so the answer cannot race a client still writing (a reqwest upload
    // of the body may see the connection close first, which made this case flaky).
    let body = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
            .await
            .expect("connect");
        let req = format!(
            "POST /api/trading/reset HTTP/1.1\r\nhost: x\r\nx-api-key: {API_KEY}\r\nx-reset-key: {RESET_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            200 * 1024
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&out).contains("}") {
            let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf))
                .await
                .expect("an answer within 5 s")
                .expect("read");
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    assert!(body.starts_with("HTTP/1.1 413"), "{body}");
    assert!(
        body.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{body}"
    );
    assert!(body.contains("\"error\""), "{body}");
    // Neither refused reset archived anything.
    assert_eq!(archived_count(&engine), 0);
}
