//! The `polymix` binary: exit codes and messages for bad configs, and plugin listing.

use std::path::PathBuf;
use std::process::Command;

fn polymix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_polymix"))
}

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn temp_config(tag: &str, body: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("polymix-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join("bad.toml");
    std::fs::write(&p, body).unwrap();
    p
}

/// Runs `check` and returns (exit code, stderr).
fn check(body: &str, tag: &str, env: &[(&str, &str)]) -> (i32, String) {
    let p = temp_config(tag, body);
    let mut c = polymix();
    c.args(["check", "--config"]).arg(&p);
    for (k, v) in env {
        c.env(k, v);
    }
    c.env_remove("MISSING_SECRET_FOR_TEST");
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_clean_failure(code: i32, err: &str, needles: &[&str]) {
    assert_eq!(code, 1, "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("backtrace"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

const VENUE: &str = "[[venue]]\nname = \"pm\"\nplugin = \"paper-sim\"\n";
/// `check` validates what `run` needs, a strategy included.
const STRATEGY: &str = "[strategy]\nname = \"arb\"\nplugin = \"arb\"\n";

#[test]
fn unknown_key_exits_1_naming_file_and_key() {
    let (c, e) = check(&format!("{VENUE}colour = \"red\"\n"), "unknown", &[]);
    assert_clean_failure(c, &e, &["bad.toml", "venue[0]", "colour"]);
}

#[test]
fn wrong_type_exits_1_naming_key() {
    let (c, e) = check(&format!("{VENUE}timeout_ms = \"ten\"\n"), "type", &[]);
    assert_clean_failure(c, &e, &["bad.toml", "venue[0].timeout_ms"]);
}

#[test]
fn missing_secret_env_var_exits_1_naming_it() {
    let body =
        format!("{VENUE}[venue.secrets]\napi_key = {{ env = \"MISSING_SECRET_FOR_TEST\" }}\n");
    let (c, e) = check(&body, "env", &[]);
    assert_clean_failure(
        c,
        &e,
        &[
            "bad.toml",
            "venue[0].secrets.api_key",
            "MISSING_SECRET_FOR_TEST",
            "not set",
        ],
    );
}

#[test]
fn unreadable_secret_file_exits_1_naming_it() {
    let body = format!("{VENUE}[venue.secrets]\napi_key = {{ file = \"/nonexistent/key.pem\" }}\n");
    let (c, e) = check(&body, "file", &[]);
    assert_clean_failure(c, &e, &["venue[0].secrets.api_key", "/nonexistent/key.pem"]);
}

#[test]
fn missing_plugin_exits_1_naming_plugin_and_searched_paths() {
    let body = format!("[plugins]\ndirs = [\"/nonexistent/plugins\"]\n{STRATEGY}[[venue]]\nname = \"x\"\nplugin = \"nosuch\"\n");
    let (c, e) = check(&body, "plugin", &[]);
    assert_clean_failure(
        c,
        &e,
        &[
            "nosuch",
            "searched",
            "/nonexistent/plugins/libpolymix_venue_nosuch",
        ],
    );
}

#[test]
fn secret_values_never_appear_in_check_output() {
    let body = format!(
        "{STRATEGY}{VENUE}[venue.settings]\nrules = \"polymarket\"\nscenario = \"{}/config/scenarios/bundled.jsonl\"\n[venue.secrets]\ntoken = {{ env = \"POLYMIX_TEST_SECRET\" }}\n",
        repo().display()
    );
    let p = temp_config("mask", &body);
    let out = polymix()
        .args(["check", "--config"])
        .arg(&p)
        .env("POLYMIX_TEST_SECRET", "s3cr3t-value-123")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(all.contains("token = ***"), "{all}");
    assert!(!all.contains("s3cr3t-value-123"), "{all}");
}

#[test]
fn plugins_json_lists_the_bundled_config() {
    let out = polymix()
        .args(["plugins", "--json", "--config"])
        .arg(repo().join("config/paper.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    for r in rows {
        for k in ["kind", "instance", "name", "version", "api_version", "path"] {
            assert!(r.get(k).is_some(), "missing {k} in {r}");
        }
    }
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["venue", "venue", "risk", "strategy"]);
}
