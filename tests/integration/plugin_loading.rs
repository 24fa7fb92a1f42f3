//! Plugin foundation: loading, version refusal, panics, hangs, logging, instances.

use plugin_api::{CallCtx, ErrorKind, VenueOp};
use polymix_host::plugins::{CallError, Registry};

use crate::support::{load, logs, plugin_dirs_toml, write_config};

const PAPER_SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../config/scenarios/bundled.jsonl"
);

fn base() -> String {
    format!(
        r#"mode = "paper"
{}
[[venue]]
name = "pm"
plugin = "paper-sim"
[venue.settings]
rules = "polymarket"
scenario = "{PAPER_SCENARIO}"
venue_key = "polymarket"
balance = "1000"

[[venue]]
name = "ks"
plugin = "paper-sim"
[venue.settings]
rules = "kalshi"
scenario = "{PAPER_SCENARIO}"
venue_key = "kalshi"
balance = "2500"

[[risk]]
name = "limits"
plugin = "risk-limits"

[strategy]
name = "arb"
plugin = "arb"
"#,
        plugin_dirs_toml()
    )
}

fn ctx() -> CallCtx {
    CallCtx {
        now_ms: 0,
        random: [0; 32],
    }
}

#[test]
fn bundled_plugins_load_together_and_two_paper_instances_keep_their_settings() {
    let cfg = load(&write_config("load", &base()));
    let reg = Registry::build(&cfg).expect("registry builds");
    let kinds: Vec<(&str, &str)> = reg.rows.iter().map(|r| (r.kind, r.name.as_str())).collect();
    assert!(kinds.contains(&("venue", "paper-sim")), "{kinds:?}");
    assert!(kinds.contains(&("risk", "risk-limits")), "{kinds:?}");
    assert!(kinds.contains(&("strategy", "arb")), "{kinds:?}");
    for r in &reg.rows {
        assert_eq!(r.api_version, plugin_api::API_VERSION);
        assert!(r.path.exists());
    }
    // Same file, two instances, different balances.
    let bal = |name: &str| {
        let v = reg.venue(name).unwrap();
        match v
            .handle
            .call("balance", |h| h.run_local(&VenueOp::Balance, ctx()))
            .unwrap()
        {
            plugin_api::OpResult::Balance { balance } => balance.available,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(bal("pm"), plugin_api::Usd::dollars(1000));
    assert_eq!(bal("ks"), plugin_api::Usd::dollars(2500));
    assert_eq!(reg.rows[0].path, reg.rows[1].path);
}

#[test]
fn an_incompatible_plugin_is_refused_in_one_line_naming_file_and_versions() {
    let body = base().replace(
        "[[risk]]",
        "[[venue]]\nname = \"old\"\nplugin = \"old_api\"\n\n[[risk]]",
    );
    let cfg = load(&write_config("old", &body));
    let err = Registry::build(&cfg).err().expect("refused").to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("polymix_venue_old_api"), "{err}");
    assert!(err.contains("0.1.0"), "{err}");
    assert!(err.contains(plugin_api::API_VERSION), "{err}");
    // The others still load once it is removed.
    let cfg = load(&write_config("old-ok", &base()));
    assert!(Registry::build(&cfg).is_ok());
}

#[test]
fn a_library_without_root_module_is_refused_naming_the_symbol() {
    let body = base().replace(
        "[[risk]]",
        "[[venue]]\nname = \"nr\"\nplugin = \"no_root\"\n\n[[risk]]",
    );
    let cfg = load(&write_config("noroot", &body));
    let err = Registry::build(&cfg).err().expect("refused").to_string();
    assert!(err.contains("polymix_venue_no_root"), "{err}");
    assert!(err.contains("missing symbol"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_missing_plugin_names_every_searched_path() {
    let body = base().replace("plugin = \"arb\"", "plugin = \"nonexistent\"");
    let cfg = load(&write_config("missing", &body));
    let err = Registry::build(&cfg).err().expect("refused").to_string();
    assert!(err.contains("nonexistent"), "{err}");
    assert!(err.contains("searched"), "{err}");
    assert!(err.contains("polymix_strategy_nonexistent"), "{err}");
}

fn misbehaving() -> Registry {
    let body = base().replace(
        "[[risk]]",
        "[[venue]]\nname = \"bad\"\nplugin = \"misbehaving\"\n\n[[risk]]",
    );
    let cfg = load(&write_config("bad", &body));
    Registry::build(&cfg).expect("registry builds")
}

#[test]
fn a_panic_becomes_an_error_and_disables_only_that_instance() {
    let reg = misbehaving();
    let bad = reg.venue("bad").unwrap();
    let op = VenueOp::Book {
        instrument: "panic".into(),
    };
    let e = bad
        .handle
        .call("book", move |h| h.begin(&op, ctx()))
        .unwrap_err();
    match &e {
        CallError::Plugin { error, .. } => {
            assert_eq!(error.kind, ErrorKind::Panic);
            assert!(error.message.contains("deliberate panic"), "{e}");
        }
        other => panic!("expected a plugin panic error, got {other}"),
    }
    assert!(bad.handle.failure().is_some());
    assert!(matches!(
        bad.handle.call("info", |h| h.info()).unwrap_err(),
        CallError::Disabled { .. }
    ));
    // The host and the other plugins carry on.
    let pm = reg.venue("pm").unwrap();
    assert!(pm.handle.call("info", |h| h.info()).is_ok());
}

#[test]
fn a_call_that_never_returns_is_cut_off_at_the_timeout() {
    let reg = misbehaving();
    let bad = reg.venue("bad").unwrap();
    let op = VenueOp::Book {
        instrument: "hang".into(),
    };
    let t0 = std::time::Instant::now();
    let e = bad
        .handle
        .call("book", move |h| h.begin(&op, ctx()))
        .unwrap_err();
    assert!(matches!(e, CallError::Timeout { .. }), "{e}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    assert!(bad.handle.failure().is_some());
}

/// On the engine's runtime plugin calls run on the caller's thread, where a hung call holds
/// its caller; but once a write has left, the answer is read on the worker thread and the
/// operation is answered at the timeout (the order's fate unknown), never held for ever.
#[test]
fn a_hang_reading_the_answer_to_a_write_is_cut_off_at_the_timeout() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let reg = misbehaving();
    let bad = reg.venue("bad").unwrap();
    let handle = bad.handle.clone();
    let held = rt.block_on(async move {
        // A venue that takes the write and answers it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                    .await;
            }
        });
        let settings = polymix_host::venue_io::VenueIoSettings {
            timeout: std::time::Duration::from_secs(2),
            retries: 0,
            rates: Default::default(),
            backoff: std::time::Duration::from_millis(10),
            market_data_only: false,
            tls: None,
            order_connection: true,
        };
        let io = polymix_host::venue_io::VenueIo::new(
            "bad",
            handle,
            settings,
            std::sync::Arc::new(polymix_host::venue_io::SystemClock),
        );
        let op = VenueOp::Book {
            instrument: format!("http://{addr}/order"),
        };
        let t0 = std::time::Instant::now();
        // On a task of its own, so a hung call cannot stop this one from timing it out.
        let run = tokio::spawn(async move { io.run(&op).await.map_err(|e| e.to_string()) });
        let answered = tokio::time::timeout(std::time::Duration::from_secs(10), run).await;
        answered.map(|r| (r.unwrap(), t0.elapsed()))
    });
    // A failed run leaves a thread in the hung plugin: do not wait for it.
    rt.shutdown_background();
    let (answer, took) = held.expect("the operation was held by the hung plugin");
    let e = answer.unwrap_err();
    assert!(e.contains("did not return within"), "{e}");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    assert!(bad.handle.failure().is_some());
}

#[test]
fn plugin_log_events_reach_the_host_subscriber_tagged_with_the_instance() {
    let logs = logs();
    let reg = misbehaving();
    let bad = reg.venue("bad").unwrap();
    let op = VenueOp::Book {
        instrument: "log".into(),
    };
    bad.handle
        .call("book", move |h| h.begin(&op, ctx()))
        .unwrap();
    let lines = logs.lock().unwrap().clone();
    let hit = lines
        .iter()
        .find(|l| l.contains("misbehaving-log"))
        .unwrap_or_else(|| panic!("no plugin event in {lines:#?}"));
    assert!(hit.contains("plugin=bad"), "{hit}");
    assert!(hit.starts_with("WARN"), "{hit}");
}

/// The built risk-limits plugin, copied into a fresh directory under its own file name, and
/// that directory (so config can name it by `path`).
fn copy_of_risk_plugin(tag: &str) -> (std::path::PathBuf, Vec<u8>) {
    let name = polymix_host::plugins::discover::file_name(plugin_api::PluginKind::Risk, "limits");
    let src = crate::support::profile_dir().join("deps").join(&name);
    let bytes = std::fs::read(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let dir = crate::support::temp_dir(tag);
    (dir.join(name), bytes)
}

/// Little-endian field of an ELF64 file (x86_64/aarch64 test hosts).
fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Points the dynamic string table (DT_STRTAB) of an ELF64 library at a wild address: the
/// loader follows it while resolving the library and dies with SIGSEGV.
fn corrupt_string_table(so: &mut [u8]) {
    let phoff = le_u64(so, 32) as usize;
    let phnum = u16::from_le_bytes([so[56], so[57]]) as usize;
    let dynamic = (0..phnum)
        .map(|i| phoff + i * 56)
        .find(|&at| u32::from_le_bytes(so[at..at + 4].try_into().unwrap()) == 2)
        .expect("PT_DYNAMIC");
    let (off, size) = (
        le_u64(so, dynamic + 8) as usize,
        le_u64(so, dynamic + 32) as usize,
    );
    let strtab = (off..off + size)
        .step_by(16)
        .find(|&at| le_u64(so, at) == 5)
        .expect("DT_STRTAB");
    so[strtab + 8..strtab + 16].copy_from_slice(&0x7fff_0000_0000u64.to_le_bytes());
}

/// Issue #11 item 17: a truncated plugin killed the host with SIGBUS inside dlopen, and a
/// corrupted one crashed the loader. Both are refused before loading, in one line naming the
/// file; the process lives on and the other plugins load.
#[cfg(all(
    target_os = "linux",
    target_pointer_width = "64",
    target_endian = "little"
))]
#[test]
fn truncated_or_corrupted_plugin_files_are_refused_before_loading() {
    let (truncated, bytes) = copy_of_risk_plugin("trunc");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let (corrupted, mut bytes) = copy_of_risk_plugin("corrupt");
    corrupt_string_table(&mut bytes);
    std::fs::write(&corrupted, &bytes).unwrap();
    for (file, what) in [(&truncated, "truncated"), (&corrupted, "corrupted")] {
        let body = base().replace(
            "plugin = \"risk-limits\"",
            &format!(
                "plugin = \"risk-limits\"\npath = {:?}",
                file.display().to_string()
            ),
        );
        let cfg = load(&write_config(what, &body));
        let err = Registry::build(&cfg).err().expect("refused").to_string();
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(err.contains(&file.display().to_string()), "{what}: {err}");
        assert!(err.contains("not a valid shared library"), "{what}: {err}");
        assert!(err.contains(what), "{what}: {err}");
    }
    // Still alive, and the real plugins load and answer.
    let reg = Registry::build(&load(&write_config("after-bad", &base()))).expect("builds");
    assert!(reg.rows.iter().any(|r| r.name == "risk-limits"));
    let pm = reg.venue("pm").unwrap();
    assert!(pm.handle.call("info", |h| h.info()).is_ok());
}

/// A shared library built from C whose initialiser runs `body` when the loader maps it: it
/// passes the static check (a well-formed ELF) and dies or hangs only once loaded.
#[cfg(target_os = "linux")]
fn library_whose_initialiser(tag: &str, body: &str) -> std::path::PathBuf {
    let dir = crate::support::temp_dir(tag);
    let c = dir.join("init.c");
    std::fs::write(
        &c,
        format!(
            "#include <stdlib.h>\n#include <unistd.h>\n\
             __attribute__((constructor)) static void init(void) {{ {body} }}\n\
             int polymix_unused(void) {{ return 0; }}\n"
        ),
    )
    .unwrap();
    let so = dir.join("libpolymix_risk_limits.so");
    let out = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&c)
        .output()
        .expect("a C compiler (`cc`, which Rust links with) builds the test library");
    assert!(
        out.status.success(),
        "cc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    so
}

/// Issue #11 item 17, the child-process probe: through the CLI, a plugin file that the static
/// check refuses, one that passes it but aborts in its initialiser, and one that hangs there
/// are each refused with one line naming the file and how it failed; `polymix` itself is not
/// killed, and a config naming the real plugins still checks and lists them.
#[cfg(all(
    target_os = "linux",
    target_pointer_width = "64",
    target_endian = "little"
))]
#[test]
fn plugin_files_that_crash_or_hang_the_loader_are_refused_by_the_cli() {
    use crate::support::polymix_bin;
    use std::os::unix::process::ExitStatusExt;
    let (truncated, bytes) = copy_of_risk_plugin("cli-trunc");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let (corrupted, mut bytes) = copy_of_risk_plugin("cli-corrupt");
    corrupt_string_table(&mut bytes);
    std::fs::write(&corrupted, &bytes).unwrap();
    let aborts = library_whose_initialiser("cli-abort", "abort();");
    let hangs = library_whose_initialiser("cli-hang", "sleep(60);");
    let with_risk_path = |file: &std::path::Path, tag: &str| {
        write_config(
            tag,
            &base().replace(
                "plugin = \"risk-limits\"",
                &format!(
                    "plugin = \"risk-limits\"\npath = {:?}",
                    file.display().to_string()
                ),
            ),
        )
    };
    for (file, tag, says) in [
        (&truncated, "cli-truncated", "not a valid shared library"),
        (&corrupted, "cli-corrupted", "not a valid shared library"),
        (&aborts, "cli-aborts", "killed by SIGABRT (6) while loading"),
        (&hangs, "cli-hangs", "did not finish loading within 5s"),
    ] {
        let cfg = with_risk_path(file, tag);
        for cmd in ["check", "plugins"] {
            let t = std::time::Instant::now();
            let out = std::process::Command::new(polymix_bin())
                .args([cmd, "--config"])
                .arg(&cfg)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr).to_string();
            assert_eq!(
                out.status.signal(),
                None,
                "{tag} {cmd}: polymix was killed: {err}"
            );
            assert_eq!(out.status.code(), Some(1), "{tag} {cmd}: {err}");
            assert_eq!(err.lines().count(), 1, "{tag} {cmd}: {err}");
            assert!(
                err.contains(&file.display().to_string()),
                "{tag} {cmd}: {err}"
            );
            assert!(err.contains(says), "{tag} {cmd}: {err}");
            assert!(
                t.elapsed() < std::time::Duration::from_secs(20),
                "{tag} {cmd}"
            );
        }
    }
    let good = write_config("cli-good", &base());
    let out = std::process::Command::new(polymix_bin())
        .args(["plugins", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("risk-limits") && listed.contains("paper-sim"),
        "{listed}"
    );
}

/// A plugin built against plugin-api alone that declares nothing (the misbehaving example,
/// exported without `declaration =`) is created with its config table only, whatever the
/// environment holds; the paper-sim instances beside it, which declare `initial_balance`, get it.
#[test]
fn a_plugin_that_declares_nothing_gets_no_environment_setting() {
    use polymix_host::config::{HostEnv, Mode};
    let body = base().replace(
        "[[risk]]",
        "[[venue]]\nname = \"bad\"\nplugin = \"misbehaving\"\n\n[[risk]]",
    );
    let mut cfg = load(&write_config("env-undeclared", &body));
    let env = |k: &str| {
        k.starts_with("PAPER_TRADING_").then(|| match k {
            "PAPER_TRADING_MAX_DAILY_TRADES" => "3".to_string(),
            "PAPER_TRADING_MIN_ROI" => "0.02".to_string(),
            _ => "12.5".to_string(),
        })
    };
    cfg.host_env = HostEnv::from_vars(Mode::Paper, env).unwrap();
    let reg = Registry::build(&cfg).expect("registry builds");
    let bad = reg.resolved("venue", "bad").expect("resolved");
    assert!(bad.settings.is_empty(), "{:?}", bad.settings);
    assert!(bad.secrets.is_empty(), "{:?}", bad.secrets);
    let paper: Vec<_> = cfg
        .venues
        .iter()
        .filter(|v| v.plugin == "paper-sim")
        .map(|v| reg.resolved("venue", &v.name).unwrap())
        .collect();
    assert!(!paper.is_empty());
    for p in paper {
        assert_eq!(p.settings["balance"].as_str(), Some("12.5"));
        assert!(!p.settings.contains_key("bet_amount"));
    }
}
