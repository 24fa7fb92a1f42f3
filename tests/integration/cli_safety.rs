//! The CLI's refusals (issue #11 items 12, 13, 18): `check` and `run` share one validation, every
//! refusal is one line naming the file and the key, nothing panics, and `trades` lists the ledger.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::paper_e2e::paper_config;
use crate::support::{plugin_dirs_toml, polymix_bin, temp_dir};

fn polymix(args: &[&str], cfg: &Path) -> Output {
    let mut cmd = Command::new(polymix_bin());
    cmd.args(args).arg("--config").arg(cfg).env_clear();
    cmd.output().expect("run polymix")
}

/// stderr of a failed command, checked to be exactly one `error: ` line without a panic.
fn one_error_line(what: &str, out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "{what}: expected a refusal, got success; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!err.contains("panicked"), "{what}: panicked: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: expected one line, got: {err}");
    assert!(lines[0].starts_with("error: "), "{what}: {err}");
    lines[0].to_string()
}

#[test]
fn an_error_is_printed_once() {
    let dir = temp_dir("err-once");
    let missing = dir.join("missing.toml");
    let out = polymix(&["check"], &missing);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        format!(
            "error: {}: cannot read: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
}

/// One bad config per case: (what, edit of the bundled paper config, key the line must name).
type Case = (&'static str, fn(String) -> String, &'static str);

fn cases() -> Vec<Case> {
    vec![
        (
            "non-loopback bind without api_key",
            |t| t.replace("bind = \"127.0.0.1:5001\"", "bind = \"0.0.0.0:5001\""),
            "api.bind",
        ),
        (
            "no [strategy]",
            |t| {
                t.replace("[strategy]\nname = \"arb\"\nplugin = \"arb\"\n", "")
                    .replace(
                        "[strategy.settings]\nbet_amount = \"100\"\nmin_roi = \"0.01\"\nslippage_bps = 10\n",
                        "",
                    )
            },
            "strategy",
        ),
        (
            "balance that overflows",
            |t| t.replacen("balance = \"10000\"", "balance = 9223372036854775807", 1),
            "venue[0].settings.balance",
        ),
        (
            "balance nan",
            |t| t.replacen("balance = \"10000\"", "balance = nan", 1),
            "venue[0].settings.balance",
        ),
        (
            "a setting spoofing the host's context",
            |t| {
                t.replacen(
                    "balance = \"10000\"",
                    "balance = \"10000\"\n_config_dir = \"/etc\"",
                    1,
                )
            },
            "venue[0].settings._config_dir",
        ),
        (
            "risk limit inf",
            |t| t.replace("daily_loss_limit = \"500\"", "daily_loss_limit = inf"),
            "risk[0].settings.daily_loss_limit",
        ),
        (
            "secret with an inline value beside env",
            |t| {
                t.replace(
                    "bind = \"127.0.0.1:5001\"",
                    "bind = \"127.0.0.1:5001\"\napi_key = { env = \"POLYMIX_API_KEY\", value = \"hunter2\" }",
                )
            },
            "api.api_key",
        ),
        (
            "secret with both env and file",
            |t| {
                t.replace(
                    "bind = \"127.0.0.1:5001\"",
                    "bind = \"127.0.0.1:5001\"\napi_key = { env = \"POLYMIX_API_KEY\", file = \"k\" }",
                )
            },
            "api.api_key",
        ),
        (
            "strategy min_roi of 100%",
            |t| {
                t.replace(
                    "bet_amount = \"100\"\nmin_roi = \"0.01\"",
                    "bet_amount = \"100\"\nmin_roi = \"1\"",
                )
            },
            "strategy.settings.min_roi",
        ),
        (
            "risk min_roi above 100%",
            |t| {
                t.replace(
                    "max_daily_trades = 10\nmin_roi = \"0.01\"",
                    "max_daily_trades = 10\nmin_roi = \"1.5\"",
                )
            },
            "risk[0].settings.min_roi",
        ),
        (
            "poll_ms = 0",
            |t| {
                t.replace(
                    "unwind_max_ticks = 10",
                    "unwind_max_ticks = 10\npoll_ms = 0",
                )
            },
            "engine.poll_ms",
        ),
        (
            "absurd retries",
            |t| {
                t.replacen(
                    "plugin = \"paper-sim\"",
                    "plugin = \"paper-sim\"\nretries = 1000000",
                    1,
                )
            },
            "venue[0].retries",
        ),
        (
            "absurd timeout",
            |t| {
                t.replacen(
                    "plugin = \"paper-sim\"",
                    "plugin = \"paper-sim\"\ntimeout_ms = 31536000000000",
                    1,
                )
            },
            "venue[0].timeout_ms",
        ),
        (
            "absurd chain id",
            |t| {
                t.replacen(
                    "rules = \"polymarket\"",
                    "rules = \"polymarket\"\nchain_id = -1",
                    1,
                )
            },
            "venue[0].settings.chain_id",
        ),
        (
            "absurd plugin call timeout",
            |t| t.replace("call_timeout_ms = 2000", "call_timeout_ms = 0"),
            "plugins.call_timeout_ms",
        ),
        (
            "empty pair id",
            |t| t.replacen("id = \"nba-2026-11-24-lal-atl-lal\"", "id = \"\"", 1),
            "pair[0].id",
        ),
        (
            "empty strategy name",
            |t| t.replace("name = \"arb\"", "name = \"\""),
            "strategy.name",
        ),
        (
            "empty instrument",
            |t| {
                t.replacen(
                    "b = { venue = \"ks\", yes = \"KXNBAGAME-26NOV24LALATL-LAL:yes\"",
                    "b = { venue = \"ks\", yes = \"\"",
                    1,
                )
            },
            "pair[0].b.yes",
        ),
        (
            "duplicate pair",
            |t| {
                t.replacen(
                    "id = \"nba-2026-11-24-lal-atl-atl\"\ntitle = \"Hawks beat Lakers (2026-11-24)\"\na = { venue = \"pm\", yes = \"90881525469256921211353244888324999879208924244768334500403299460466019084720\", no = \"66710704108362827492587607390786074734466198873693910035303396253831077542550\" }\nb = { venue = \"ks\", yes = \"KXNBAGAME-26NOV24LALATL-ATL:yes\", no = \"KXNBAGAME-26NOV24LALATL-ATL:no\" }",
                    "id = \"copy\"\na = { venue = \"pm\", yes = \"66710704108362827492587607390786074734466198873693910035303396253831077542550\", no = \"90881525469256921211353244888324999879208924244768334500403299460466019084720\" }\nb = { venue = \"ks\", yes = \"KXNBAGAME-26NOV24LALATL-LAL:yes\", no = \"KXNBAGAME-26NOV24LALATL-LAL:no\" }",
                    1,
                )
            },
            "pair[1]",
        ),
        (
            "self-referencing pair",
            |t| {
                t.replacen(
                    "b = { venue = \"ks\", yes = \"KXNBAGAME-26NOV24LALATL-LAL:yes\", no = \"KXNBAGAME-26NOV24LALATL-LAL:no\" }",
                    "b = { venue = \"pm\", yes = \"90881525469256921211353244888324999879208924244768334500403299460466019084720\", no = \"66710704108362827492587607390786074734466198873693910035303396253831077542550\" }",
                    1,
                )
            },
            "pair[0].b.venue",
        ),
        (
            "live venue in a paper config",
            |t| {
                // The second venue's paper-sim block, settings and all, becomes a Kalshi venue.
                let start = t.find("plugin = \"paper-sim\"\n[venue.settings]\nrules = \"kalshi\"");
                let end = t.find("venue_key = \"kalshi\"\nbalance = \"10000\"\n");
                let (Some(start), Some(end)) = (start, end) else {
                    return t;
                };
                let end = end + "venue_key = \"kalshi\"\nbalance = \"10000\"\n".len();
                format!(
                    "{}plugin = \"kalshi\"\n[venue.settings]\nbase_url = \"http://127.0.0.1:9/trade-api/v2\"\n{}",
                    &t[..start],
                    &t[end..]
                )
            },
            "venue[1].plugin",
        ),
        (
            // Paper's auto-approval trades unreviewed pairs: never with real money.
            "pair auto-approval in live mode",
            |t| t.replace("mode = \"paper\"", "mode = \"live\""),
            "discovery.auto_approve",
        ),
        (
            "negative risk limit, reported in dollars",
            |t| t.replace("max_position_size = \"1000\"", "max_position_size = \"-5\""),
            "risk[0].settings.max_position_size",
        ),
    ]
}

#[test]
fn check_and_run_refuse_the_same_bad_configs_with_one_line_naming_the_key() {
    // The shipped paper config (pairs from discovery) plus hand-written `[[pair]]` entries, so
    // both can be broken.
    let base = crate::paper_e2e::paper_config_with_pairs("bad-cfg-base");
    let text = std::fs::read_to_string(&base).unwrap();
    let out = polymix(&["check"], &base);
    assert!(
        out.status.success(),
        "the base config must pass: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut failures = Vec::new();
    for (what, edit, key) in cases() {
        let bad = edit(text.clone());
        assert_ne!(bad, text, "{what}: the edit did not apply");
        let cfg = base.with_file_name(format!("bad-{}.toml", what.replace(' ', "-")));
        std::fs::write(&cfg, &bad).unwrap();
        let check = polymix(&["check"], &cfg);
        let run = polymix(&["run", "--exit-on-completion"], &cfg);
        let result = std::panic::catch_unwind(|| {
            let c = one_error_line(&format!("{what} (check)"), &check);
            let r = one_error_line(&format!("{what} (run)"), &run);
            assert_eq!(c, r, "{what}: check and run disagree");
            assert!(
                c.contains(&cfg.display().to_string()),
                "{what}: no file: {c}"
            );
            assert!(c.contains(key), "{what}: no key {key}: {c}");
            assert!(!c.contains("hunter2"), "{what}: secret echoed: {c}");
            if what.contains("dollars") {
                assert!(c.contains("-5") && !c.contains("5000000"), "{what}: {c}");
            }
        });
        if let Err(e) = result {
            failures.push(
                e.downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| what.to_string()),
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn a_tiny_speed_is_refused_without_a_panic() {
    let base = paper_config("speed");
    for speed in ["1e-300", "NaN", "-1", "inf"] {
        let out = polymix(
            &["run", "--exit-on-completion", &format!("--speed={speed}")],
            &base,
        );
        let line = one_error_line(speed, &out);
        assert!(line.contains("--speed"), "{line}");
    }
}

#[test]
fn writing_to_a_closed_pipe_does_not_panic() {
    let base = paper_config("pipe");
    for args in [vec!["check"], vec!["state"], vec!["trades"]] {
        let mut child = Command::new(polymix_bin())
            .args(&args)
            .arg("--config")
            .arg(&base)
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // `| head -0`
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.status.code().is_some(), "{args:?}: killed by a signal");
    }
}

/// A live config over a Kalshi double, with a strategy and no `[[risk]]`.
fn live_without_risk(dir: &Path, ks: &polymix_doubles::kalshi::KalshiDouble) -> PathBuf {
    let cfg = dir.join("live-no-risk.toml");
    std::fs::write(
        &cfg,
        format!(
            "mode = \"live\"\ndata_dir = {:?}\n{}\n{}\n[strategy]\nname = \"arb\"\nplugin = \"arb\"\n[api]\nenabled = false\n",
            dir.join("data").display().to_string(),
            plugin_dirs_toml(),
            crate::live_e2e::kalshi_venue_toml(dir, "ks", ks, 3000)
        ),
    )
    .unwrap();
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_mode_without_a_risk_policy_is_refused_by_check_and_run() {
    let ks = polymix_doubles::kalshi::spawn(Default::default()).await;
    let dir = temp_dir("live-no-risk");
    let cfg = live_without_risk(&dir, &ks);
    let c2 = cfg.clone();
    let (check, run) = tokio::task::spawn_blocking(move || {
        (
            polymix(&["check"], &c2),
            polymix(&["run", "--live", "--exit-on-completion"], &c2),
        )
    })
    .await
    .unwrap();
    let c = one_error_line("check", &check);
    let r = one_error_line("run", &run);
    assert_eq!(c, r);
    assert!(c.contains(&cfg.display().to_string()), "{c}");
    assert!(c.contains("[[risk]]"), "{c}");
    assert!(
        ks.requests().iter().all(|r| r.method == "GET"),
        "nothing but reads may reach the venue"
    );
}

#[test]
fn trades_lists_every_trade_with_its_legs() {
    let cfg = paper_config("trades-cmd");
    let run = polymix(&["run", "--exit-on-completion", "--json"], &cfg);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let ledger = polymix_host::store::Ledger::open(&crate::support::load(&cfg).ledger_path())
        .expect("ledger");
    let all = ledger.trades_in(&[]).unwrap();
    assert!(!all.is_empty(), "the bundled scenario trades");

    let out = polymix(&["trades", "--json", "--all"], &cfg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = v.as_array().expect("an array of trades");
    assert_eq!(listed.len(), all.len());
    for (t, row) in listed.iter().zip(&all) {
        assert_eq!(t["id"], row.id.as_str());
        assert_eq!(t["state"], row.state.as_str());
        let legs = t["legs"].as_array().expect("legs");
        let orders = ledger.orders_of(&row.id).unwrap();
        assert_eq!(legs.len(), orders.len(), "{t}");
        for (l, o) in legs.iter().zip(&orders) {
            assert_eq!(l["client_order_id"], o.client_order_id.as_str());
            assert_eq!(l["filled_qty"], o.filled_qty.0);
            assert_eq!(l["fees"], o.fees.0);
        }
    }
    let open = polymix(&["trades", "--json", "--open"], &cfg);
    let v: serde_json::Value = serde_json::from_slice(&open.stdout).unwrap();
    let n_open = all
        .iter()
        .filter(|t| polymix_host::store::state::OPEN.contains(&t.state) && t.settled_ms.is_none())
        .count();
    assert_eq!(v.as_array().unwrap().len(), n_open);

    // The table names every trade.
    let out = polymix(&["trades"], &cfg);
    let text = String::from_utf8_lossy(&out.stdout);
    for row in &all {
        assert!(text.contains(&row.id), "{text}");
    }
}

/// `check` prints each instance as it is created: the seed's variables land in the plugins that
/// declare them (arb: bet amount; risk-limits: daily trades; paper-sim: initial balance as its
/// `balance`), nowhere else; a bad value is one line naming the variable.
#[test]
fn check_shows_environment_settings_where_plugins_declare_them() {
    let base = paper_config("env-decl");
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new(polymix_bin());
        cmd.args(["check", "--config"]).arg(&base).env_clear();
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().expect("run polymix")
    };
    let out = run(&[
        ("PAPER_TRADING_BET_AMOUNT", "77.5"),
        ("PAPER_TRADING_MAX_DAILY_TRADES", "9"),
        ("PAPER_TRADING_INITIAL_BALANCE", "4321"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let section = |from: &str, to: &str| -> String {
        let s = text.find(from).unwrap_or_else(|| panic!("{from}: {text}"));
        let e = text[s..].find(to).map_or(text.len(), |e| s + e);
        text[s..e].to_string()
    };
    let strategy = section("strategy:", "pairs:");
    assert!(strategy.contains("bet_amount = \"77.5\""), "{strategy}");
    assert!(!strategy.contains("max_daily_trades"), "{strategy}");
    let risk = section("risk:", "strategy:");
    assert!(risk.contains("max_daily_trades = 9"), "{risk}");
    assert!(
        !risk.contains("bet_amount") && !risk.contains("4321"),
        "{risk}"
    );
    let venues = section("venues:", "risk:");
    assert_eq!(
        venues.matches("balance = \"4321\"").count(),
        2,
        "both paper-sim venues: {venues}"
    );
    assert!(
        !venues.contains("77.5") && !venues.contains("= 9"),
        "{venues}"
    );

    let bad = run(&[("PAPER_TRADING_MAX_DAILY_TRADES", "many")]);
    let line = one_error_line("bad env value", &bad);
    assert!(line.contains("PAPER_TRADING_MAX_DAILY_TRADES"), "{line}");
}
