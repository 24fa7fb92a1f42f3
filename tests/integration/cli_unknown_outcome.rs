//! `polymix venue … place` when the venue's answer to the order write is lost: the command
//! sends the order once, never re-signs or re-sends it, fails with one line that says the
//! outcome is unknown and names every id the order can be looked up by (client order id;
//! Polymarket's expected order id, its EIP-712 digest).

use polymix_doubles::fault::{Fault, FaultRule};
use polymix_doubles::kalshi::{self, KalshiDoubleConfig};
use polymix_doubles::polymarket::{self as pmd, PolymarketDoubleConfig};
use std::path::Path;
use std::process::{Command, Output};

use crate::live_e2e::{kalshi_venue_toml, polymarket_venue_toml, seed, ARB_TICKER, ARB_YES};
use crate::support::{plugin_dirs_toml, polymix_bin, temp_dir};

/// Both doubles, seeded, and a live config naming them.
async fn doubles_and_config(
    tag: &str,
) -> (
    polymix_doubles::polymarket::PolymarketDouble,
    polymix_doubles::kalshi::KalshiDouble,
    std::path::PathBuf,
) {
    let pm = pmd::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir(tag);
    let cfg = dir.join("live.toml");
    std::fs::write(
        &cfg,
        format!(
            "mode = \"live\"\n{}\n{}\n{}\n[api]\nenabled = false\n",
            plugin_dirs_toml(),
            polymarket_venue_toml(&dir, &pm),
            kalshi_venue_toml(&dir, "ks", &ks, 3000)
        ),
    )
    .expect("write config");
    (pm, ks, cfg)
}

/// The one `error:` line (stderr also carries the log).
fn error_line(out: &Output) -> String {
    let all = String::from_utf8_lossy(&out.stderr).into_owned();
    let errs: Vec<&str> = all.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errs.len(), 1, "one error line: {all}");
    errs[0].to_string()
}

fn place(cfg: &Path, venue: &str, instrument: &str, price: &str, coid: &str) -> Output {
    Command::new(polymix_bin())
        .args(["venue", "--config"])
        .arg(cfg)
        .args([
            venue,
            "place",
            "--instrument",
            instrument,
            "--side",
            "buy",
            "--price",
            price,
            "--qty",
            "10",
            "--tif",
            "gtc",
            "--client-order-id",
            coid,
            "--confirm",
        ])
        .env_clear()
        .output()
        .expect("run polymix")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_whose_answer_is_lost_is_sent_once_and_names_its_ids() {
    let (pm, ks, cfg) = doubles_and_config("cli-unknown").await;

    // Polymarket: 502 without booking; the lookup by digest finds nothing.
    pm.inject(FaultRule::once("POST", "/order", Fault::Status(502)));
    let c = cfg.clone();
    let out = tokio::task::spawn_blocking(move || place(&c, "pm", ARB_YES, "0.30", "cli-pm-1"))
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = error_line(&out);
    assert!(err.contains("outcome unknown"), "{err}");
    assert!(err.contains("cli-pm-1"), "names the client order id: {err}");
    assert!(
        err.contains("expected order id 0x"),
        "names the expected order id: {err}"
    );
    assert!(err.contains("order --instrument"), "{err}");
    assert!(
        err.contains(" --id 0x"),
        "the digest is how to find it: {err}"
    );
    assert_eq!(pm.order_posts(), 1, "sent once, never re-signed");
    assert_eq!(pm.accepted_orders(), 0);

    // Kalshi: 503 without booking; the lookup by client order id finds nothing.
    ks.inject(FaultRule::once(
        "POST",
        "/portfolio/events/orders",
        Fault::Status(503),
    ));
    let c = cfg.clone();
    let inst = format!("{ARB_TICKER}:no");
    let out = tokio::task::spawn_blocking(move || place(&c, "ks", &inst, "0.45", "cli-ks-1"))
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = error_line(&out);
    assert!(err.contains("outcome unknown"), "{err}");
    assert!(err.contains("cli-ks-1"), "{err}");
    assert_eq!(ks.place_attempts(), 1, "sent once");
    assert!(ks.orders().is_empty());
}

/// The venue books the order and then the answer is a 500 (Polymarket) or garbage (Kalshi):
/// the command finds the order within the same operation and prints it; one write each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_booked_then_answered_badly_is_found_and_printed() {
    let (pm, ks, cfg) = doubles_and_config("cli-found").await;
    let cases = [
        ("pm", ARB_YES.to_string(), "0.30", Fault::StatusAfter(500)),
        ("pm", ARB_YES.to_string(), "0.31", Fault::DropAfter),
        (
            "ks",
            format!("{ARB_TICKER}:no"),
            "0.45",
            Fault::GarbageAfter,
        ),
        (
            "ks",
            format!("{ARB_TICKER}:no"),
            "0.44",
            Fault::StatusAfter(502),
        ),
    ];
    for (i, (venue, inst, price, fault)) in cases.into_iter().enumerate() {
        let path = if venue == "pm" {
            "/order"
        } else {
            "/portfolio/events/orders"
        };
        let rule = FaultRule::once("POST", path, fault);
        if venue == "pm" {
            pm.inject(rule);
        } else {
            ks.inject(rule);
        }
        let (c, coid) = (cfg.clone(), format!("cli-found-{i}"));
        let out = tokio::task::spawn_blocking(move || place(&c, venue, &inst, price, &coid))
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{venue} {fault:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("order_id"), "{venue} {fault:?}: {text}");
    }
    assert_eq!(pm.order_posts(), 2, "one POST per intent");
    assert_eq!(pm.accepted_orders(), 2);
    assert_eq!(ks.place_attempts(), 2);
    assert_eq!(ks.orders().len(), 2);
}
