//! The dashboard in headless Chromium during a paper run: PAPER banner, trade count and P&L
//! chart change, screenshot saved under target/. Needs Debian's `chromium`; `.ci/run` installs
//! it and runs this test with `--ignored`. The pair review page (`/pairs`) is driven over
//! Chromium's DevTools protocol: a decision without the key is refused, with it the registry
//! changes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{polymix_bin, profile_dir, temp_dir};

struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("chromium not installed (apt-get install chromium; .ci/run does this)")
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

fn browser(args: &[&str], url: &str, profile: &Path) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("run chromium");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

/// (banner class, mode text, trade count, P&L chart points) from the rendered DOM.
fn read_dom(dom: &str) -> (String, String, u64, u64) {
    let class = between(dom, "<header id=\"banner\" class=\"", "\"")
        .unwrap_or("")
        .to_string();
    let mode = between(dom, "<span id=\"mode\">", "<")
        .unwrap_or("")
        .to_string();
    let count = between(dom, "<span id=\"trade-count\">", "<")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let points = between(dom, "data-points=\"", "\"")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (class, mode, count, points)
}

#[test]
#[ignore = "needs Debian chromium; .ci/run installs it and runs this with --ignored"]
fn dashboard_shows_paper_and_updates_during_a_run() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = crate::paper_e2e::paper_config("browser");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("127.0.0.1:5001", &format!("127.0.0.1:{port}"));
    std::fs::write(&cfg, text).unwrap();
    let dir = temp_dir("browser-profile");
    let log = std::fs::File::create(dir.join("run.log")).unwrap();
    // 4 simulated hours at 600× take about 24 s: long enough to watch trades arrive.
    let _run = Run(Command::new(polymix_bin())
        .args(["run", "--speed", "600", "--config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap());
    let t0 = Instant::now();
    while http_get(port, "/api/health").is_none() {
        assert!(t0.elapsed() < Duration::from_secs(30), "API never came up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("http://127.0.0.1:{port}/");
    let dump = |tag: &str| {
        browser(
            &["--virtual-time-budget=3000", "--dump-dom"],
            &url,
            &dir.join(format!("profile-{tag}")),
        )
    };
    let (class1, mode1, count1, points1) = read_dom(&dump("1"));
    assert_eq!(class1, "paper");
    assert_eq!(mode1, "PAPER");
    // Wait for the replay to finish (the run says so and keeps serving), then look again.
    let t0 = Instant::now();
    while !std::fs::read_to_string(dir.join("run.log"))
        .unwrap_or_default()
        .contains("replay finished")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "replay did not finish"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let (class2, mode2, count2, points2) = read_dom(&dump("2"));
    assert_eq!((class2.as_str(), mode2.as_str()), ("paper", "PAPER"));
    assert!(
        count2 > count1,
        "trade count did not change: {count1} -> {count2}"
    );
    assert!(
        points2 > points1,
        "P&L chart did not change: {points1} -> {points2} points"
    );
    let shot = profile_dir().parent().unwrap().join("dashboard.png");
    browser(
        &[
            "--window-size=1280,1000",
            "--virtual-time-budget=3000",
            &format!("--screenshot={}", shot.display()),
        ],
        &url,
        &dir.join("profile-shot"),
    );
    assert!(shot.is_file(), "no screenshot at {}", shot.display());
}

/// Chromium's DevTools protocol over its WebSocket: just enough to evaluate script in a page.
struct Cdp {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next: u64,
}

impl Cdp {
    /// Starts Chromium on `url` with remote debugging and attaches to its page.
    async fn open(url: &str, profile: &Path) -> (Run, Cdp) {
        let child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run chromium");
        let run = Run(child);
        // Chromium writes the port it chose here once it listens.
        let t0 = Instant::now();
        let port: u16 = loop {
            let f = std::fs::read_to_string(profile.join("DevToolsActivePort")).unwrap_or_default();
            if let Some(p) = f.lines().next().and_then(|l| l.trim().parse().ok()) {
                break p;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "no DevTools port");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let ws_url = loop {
            // reqwest, not `http_get`: Chromium keeps the connection open after answering.
            let list: serde_json::Value =
                match reqwest::get(format!("http://127.0.0.1:{port}/json/list")).await {
                    Ok(r) => r.json().await.unwrap_or_default(),
                    Err(_) => serde_json::Value::Null,
                };
            let page = list.as_array().and_then(|a| {
                a.iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(String::from))
            });
            if let Some(u) = page {
                break u;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "no page target");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let (ws, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .expect("DevTools WebSocket");
        (run, Cdp { ws, next: 0 })
    }

    /// Evaluates `expr` in the page (awaiting a promise) and returns its value.
    async fn eval(&mut self, expr: &str) -> serde_json::Value {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        self.next += 1;
        let id = self.next;
        let req = serde_json::json!({
            "id": id,
            "method": "Runtime.evaluate",
            "params": { "expression": expr, "awaitPromise": true, "returnByValue": true },
        });
        self.ws
            .send(Message::text(req.to_string()))
            .await
            .expect("send to DevTools");
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("DevTools answers")
                .expect("DevTools open")
                .expect("DevTools message");
            let Message::Text(t) = msg else { continue };
            let v: serde_json::Value = serde_json::from_str(t.as_str()).expect("DevTools JSON");
            if v["id"] == id {
                assert!(v["result"]["exceptionDetails"].is_null(), "{expr}: {v}");
                return v["result"]["result"]["value"].clone();
            }
        }
    }

    /// Polls `expr` until it is true.
    async fn wait(&mut self, expr: &str, what: &str) {
        let t0 = Instant::now();
        while self.eval(expr).await != serde_json::Value::Bool(true) {
            assert!(t0.elapsed() < Duration::from_secs(20), "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A clean NBA candidate (Kalshi `ks` against Polymarket `pm`, the paper config's venue
/// names), found by the host's matcher from structured listings.
fn review_candidate() -> polymix_host::pairs::Candidate {
    use plugin_api::{Listing, ListingOutcome, ListingStatus, OutcomeSide, Subject};
    use polymix_host::pairs::leagues::league;
    use polymix_host::pairs::{discover, MatchParams, VenueListings};
    let start = 1_893_456_000_000;
    let l = |venue: &str, ins: [&str; 2], second: OutcomeSide, other: &str| Listing {
        event_id: format!("{venue}-E"),
        market_id: format!("{venue}-M"),
        series: None,
        title: "Los Angeles L at Boston".into(),
        market_title: String::new(),
        participants: vec!["Los Angeles L".into(), "Boston".into()],
        participants_source: "test".into(),
        start_ms: Some(start),
        close_ms: Some(start),
        status: ListingStatus::Open,
        venue_status: "active".into(),
        outcomes: vec![
            ListingOutcome {
                instrument: ins[0].into(),
                side: OutcomeSide::Yes,
                subject: Subject::Participant {
                    name: "Lakers".into(),
                },
                source: "test".into(),
                best_ask: None,
            },
            ListingOutcome {
                instrument: ins[1].into(),
                side: second,
                subject: Subject::Participant { name: other.into() },
                source: "test".into(),
                best_ask: None,
            },
        ],
        threshold: None,
        draw_listed: None,
        multi_outcome: false,
        rules: format!("{venue}: if the Lakers win, YES pays."),
    };
    let a = VenueListings {
        venue: "ks".into(),
        listings: vec![l(
            "ks",
            ["KXT-LAL:yes", "KXT-LAL:no"],
            OutcomeSide::No,
            "Lakers",
        )],
    };
    let b = VenueListings {
        venue: "pm".into(),
        listings: vec![l("pm", ["111", "222"], OutcomeSide::Yes, "Celtics")],
    };
    let d = discover(league("nba").unwrap(), &a, &b, &MatchParams::default());
    let c = d
        .candidates
        .into_iter()
        .find(|c| c.id.ends_with("win-LAL"))
        .expect("a Lakers candidate");
    assert!(c.clean(), "{c:#?}");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian chromium; .ci/run installs it and runs this with --ignored"]
async fn review_page_approves_a_candidate_only_with_the_key() {
    use polymix_host::store::{Ledger, PairState};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = crate::paper_e2e::paper_config("browser-review");
    let key_file = cfg.with_file_name("api_key");
    std::fs::write(&key_file, "s3cret-k3y").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "bind = \"127.0.0.1:5001\"",
        &format!(
            "bind = \"127.0.0.1:{port}\"\napi_key = {{ file = {:?} }}",
            key_file.display().to_string()
        ),
    );
    std::fs::write(&cfg, text).unwrap();
    let ledger_path = polymix_host::config::load(&cfg)
        .expect("config loads")
        .ledger_path();
    let cand = review_candidate();
    {
        let l = Ledger::open(&ledger_path).unwrap();
        l.pair_propose(&cand, 1).unwrap();
    }
    let dir = temp_dir("browser-review-profile");
    let log = std::fs::File::create(dir.join("run.log")).unwrap();
    let _run = Run(Command::new(polymix_bin())
        .args(["run", "--speed", "600", "--config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap());
    let t0 = Instant::now();
    while http_get(port, "/api/health").is_none() {
        assert!(t0.elapsed() < Duration::from_secs(30), "API never came up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state_of = |id: &str| -> (String, Option<String>) {
        let v: serde_json::Value =
            serde_json::from_str(&http_get(port, "/api/registry").unwrap()).unwrap();
        let p = v
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap_or_default();
        (
            p["state"].as_str().unwrap_or("").to_string(),
            p["decided_by"].as_str().map(String::from),
        )
    };
    let (_chrome, mut page) = Cdp::open(
        &format!("http://127.0.0.1:{port}/pairs"),
        &dir.join("chrome"),
    )
    .await;
    let row = format!(
        "document.querySelector('#proposed tr[data-pair=\"{}\"]')",
        cand.id
    );
    page.wait(&format!("!!{row}"), "the candidate listed for review")
        .await;
    // The page shows the polarity evidence and both rules texts.
    let text = page.eval(&format!("{row}.textContent")).await;
    let text = text.as_str().unwrap();
    assert!(
        text.contains("KXT-LAL:yes")
            && text.contains("ks: if the Lakers win")
            && text.contains("pm: if the Lakers win"),
        "{text}"
    );
    let click = format!("{row}.querySelector('button[data-to=\"approved\"]').click(); true");

    // Without the key the API refuses, the page says so, the registry is unchanged.
    page.eval("document.getElementById('by').value = 'ann'; true")
        .await;
    page.eval(&click).await;
    page.wait("!!document.getElementById('refused')", "the refusal shown")
        .await;
    let msg = page
        .eval("document.getElementById('msg').textContent")
        .await;
    assert!(msg.as_str().unwrap().starts_with("403"), "{msg}");
    assert_eq!(state_of(&cand.id).0, "proposed");

    // With the key typed in: approved, by the name given, and the page moves it to decided.
    page.eval("document.getElementById('key').value = 's3cret-k3y'; true")
        .await;
    page.eval(&click).await;
    page.wait("!!document.getElementById('done')", "the approval shown")
        .await;
    assert_eq!(
        state_of(&cand.id),
        (PairState::Approved.as_str().to_string(), Some("ann".into()))
    );
    page.wait(
        &format!(
            "document.querySelector('#decided tr[data-pair=\"{}\"]')?.dataset.state === 'approved'",
            cand.id
        ),
        "the pair listed as approved",
    )
    .await;
    // The key stayed in the page: nothing stored, no cookie.
    let stored = page
        .eval("localStorage.length + sessionStorage.length + document.cookie.length")
        .await;
    assert_eq!(stored, serde_json::json!(0));
}
