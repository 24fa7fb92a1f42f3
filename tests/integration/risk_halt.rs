//! A risk policy the host has never heard of declares which of its reasons halt trading, and the
//! host alerts on exactly those: it matches no policy's codes.

use plugin_api::ffi::RiskHandle;
use plugin_api::{
    PluginInfo, PluginResult, RiskDecision, RiskPolicy, RiskProposal, RiskReason, RiskSnapshot,
};
use polymix_host::engine::{Engine, EngineOptions};
use polymix_host::notify::{Notifier, Target};
use polymix_host::plugins::registry::RiskInstance;
use polymix_host::plugins::{Guarded, Registry};
use polymix_host::venue_io::SimClock;
use std::sync::Arc;
use std::time::Duration;

/// Rejects every trade with two reasons of its own: one that halts, one that does not.
struct CircuitBreaker;

impl RiskPolicy for CircuitBreaker {
    fn create(_: &str, _: serde_json::Value) -> PluginResult<Self> {
        Ok(CircuitBreaker)
    }

    fn info(&self) -> PluginInfo {
        PluginInfo {
            name: "circuit-breaker".into(),
            version: "1.0.0".into(),
        }
    }

    fn check(&self, _: &RiskSnapshot, _: &RiskProposal) -> RiskDecision {
        RiskDecision::Reject {
            reasons: vec![
                RiskReason::halting("breaker_tripped", "the operator's breaker is open"),
                RiskReason::new("spread_too_thin", "this one trade is not worth it"),
            ],
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_policys_halting_reason_alerts_once_a_day_and_its_other_reason_never() {
    let (addr, got) = crate::support::webhook_receiver().await;

    let cfg = Arc::new(
        polymix_host::config::load(&crate::paper_e2e::paper_config("risk-halt")).expect("config"),
    );
    let c2 = cfg.clone();
    let mut reg = tokio::task::spawn_blocking(move || Registry::build(&c2))
        .await
        .unwrap()
        .unwrap();
    // Swap the bundled risk-limits policy for the in-process one (same FFI shim as a plugin).
    let handle = RiskHandle::in_process::<CircuitBreaker>("breaker", &serde_json::json!({}))
        .expect("create");
    let info = handle.info().expect("info");
    reg.risks = vec![RiskInstance {
        name: "breaker".into(),
        info,
        handle: Arc::new(Guarded::new("breaker", handle, Duration::from_secs(5))),
    }];
    let first = reg
        .venues
        .iter()
        .filter_map(|v| v.handle.call("n", |h| Ok(h.next_event_ms())).ok().flatten())
        .min()
        .unwrap();
    let clock = SimClock::new(first);
    let engine = Engine::new(cfg, &reg, Arc::new(clock.clone()), EngineOptions::default())
        .await
        .unwrap();
    engine.set_notifier(Notifier::start(
        "paper",
        vec![Target {
            url: format!("http://{addr}/hook"),
            format: "json".into(),
        }],
    ));
    engine.replay(&clock, None, &|_, _| {}).await.unwrap();
    for _ in 0..100 {
        if got
            .lock()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "engine_stop")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let msgs = got.lock().unwrap().clone();
    let halts: Vec<&str> = msgs
        .iter()
        .filter(|m| m["kind"] == "risk_halt")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    let stats = engine.stats();
    assert_eq!(stats.trades, 0, "every proposal was rejected");
    let rejected = stats.rejections["breaker_tripped"];
    assert_eq!(stats.rejections["spread_too_thin"], rejected);
    // One alert per halting code and UTC day (the bundled scenario crosses midnight), not one
    // per rejection.
    assert!(!halts.is_empty(), "the halting reason must alert: {msgs:?}");
    assert!(
        halts.len() < rejected as usize,
        "{halts:?} for {rejected} rejections"
    );
    assert!(
        halts.iter().all(|t| t.contains("breaker_tripped")),
        "{halts:?}"
    );
    assert!(
        !msgs
            .iter()
            .any(|m| m["text"].as_str().unwrap_or("").contains("spread_too_thin")),
        "a non-halting reason is never an alert: {msgs:?}"
    );
}
