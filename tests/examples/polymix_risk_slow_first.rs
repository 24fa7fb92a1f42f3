//! Test-only risk policy: approves everything, but its first check takes
//! `first_check_ms` (a policy that is slow once: a cold cache, a remote limit service). A
//! live engine's two decision drivers then overlap in admission for that long
//! (`integration::admission_race`).
#![allow(non_local_definitions, missing_docs)]

use plugin_api::{PluginInfo, PluginResult, RiskDecision, RiskPolicy, RiskProposal, RiskSnapshot};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct SlowFirst {
    first: AtomicBool,
    delay: Duration,
}

impl RiskPolicy for SlowFirst {
    fn create(_instance: &str, settings: serde_json::Value) -> PluginResult<Self> {
        let ms = settings
            .get("first_check_ms")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        Ok(SlowFirst {
            first: AtomicBool::new(true),
            delay: Duration::from_millis(ms),
        })
    }

    fn info(&self) -> PluginInfo {
        PluginInfo {
            name: "slow-first".into(),
            version: "0.0.1".into(),
        }
    }

    fn check(&self, _snapshot: &RiskSnapshot, _proposal: &RiskProposal) -> RiskDecision {
        if self.first.swap(false, Ordering::SeqCst) {
            tracing::info!(marker = "slow-first-check", "first check: waiting");
            std::thread::sleep(self.delay);
        }
        RiskDecision::Approve
    }
}

plugin_api::export_risk!(SlowFirst);
