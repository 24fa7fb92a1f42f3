//! The dashboard in headless Chromium during a paper run: PAPER banner, trade count and P&L
//! chart change, screenshot saved under target/. Needs Debian's `chromium`; `.ci/run` installs
//! it and runs this test with `--ignored`.

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
