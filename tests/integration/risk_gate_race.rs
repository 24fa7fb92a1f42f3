//! The risk gate asks its policies with no lock held and reserves only if its totals are still
//! the ones the policies judged (`host/src/engine/risk_gate.rs`). Here a policy is slow on its
//! first check while a second proposal is admitted: the first answer is about totals that are
//! gone, so the gate must ask again, and the limit holds. And a policy that hangs holds no
//! lock: the gate goes on, and the policy is disabled at its timeout.

use plugin_api::ffi::RiskHandle;
use plugin_api::{
    PluginInfo, PluginResult, RiskDecision, RiskPolicy, RiskProposal, RiskReason, RiskSnapshot, Usd,
};
use polymix_host::engine::risk_gate::{Admission, Candidate, RiskGate};
use polymix_host::plugins::Guarded;
use polymix_host::store::Ledger;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::temp_dir;

/// Checks made so far by the `slow-first` policy (it is created once, in one test).
static CHECKS: AtomicU32 = AtomicU32::new(0);

/// A test policy; what it does is chosen by its instance name:
/// * `slow-first`: one trade a day; its first check takes 300 ms;
/// * `hangs`: answers only after 2 s (against a 100 ms timeout).
struct TestPolicy {
    hangs: bool,
}

impl RiskPolicy for TestPolicy {
    fn create(instance: &str, _settings: serde_json::Value) -> PluginResult<Self> {
        Ok(TestPolicy {
            hangs: instance == "hangs",
        })
    }

    fn info(&self) -> PluginInfo {
        PluginInfo {
            name: "test-policy".into(),
            version: "0.0.0".into(),
        }
    }

    fn check(&self, snapshot: &RiskSnapshot, _proposal: &RiskProposal) -> RiskDecision {
        if self.hangs {
            std::thread::sleep(Duration::from_secs(2));
            return RiskDecision::Approve;
        }
        if CHECKS.fetch_add(1, Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        if snapshot.trades_today == 0 {
            RiskDecision::Approve
        } else {
            RiskDecision::Reject {
                reasons: vec![RiskReason::new("max_daily_trades", "one a day")],
            }
        }
    }
}

/// A gate over `policy` (called with `timeout`) on a fresh ledger, with `cash` on venues A and
/// B; also returns the guarded policy.
pub(crate) fn gate_over(
    tag: &str,
    policy: RiskHandle,
    timeout: Duration,
    cash: Usd,
) -> (Arc<RiskGate>, Arc<Ledger>, Arc<Guarded<RiskHandle>>) {
    let dir = temp_dir(tag);
    let ledger = Arc::new(Ledger::open(&dir.join("paper.sqlite")).unwrap());
    let policy = Arc::new(Guarded::new(tag, policy, timeout));
    let gate = Arc::new(
        RiskGate::new(
            vec![policy.clone()],
            ledger.clone(),
            plugin_api::Mode::Paper,
            "2026-11-24",
        )
        .unwrap(),
    );
    gate.set_cash("A", cash);
    gate.set_cash("B", cash);
    (gate, ledger, policy)
}

/// The engine's kind of runtime, where policies run on the callers' threads, at once.
fn engine_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

fn test_policy(name: &str) -> RiskHandle {
    RiskHandle::in_process::<TestPolicy>(name, &serde_json::json!({})).unwrap()
}

#[test]
fn a_policy_answer_about_totals_that_moved_is_asked_again() {
    let (gate, ledger, _) = gate_over(
        "gate-race",
        test_policy("slow-first"),
        Duration::from_secs(5),
        Usd::dollars(1_000),
    );
    let approved = engine_runtime().block_on(async {
        let admit = |i: usize| {
            let g = gate.clone();
            tokio::spawn(async move {
                let c: Candidate = crate::paper_e2e::candidate(i, Usd::dollars(48));
                matches!(g.admit(c).unwrap(), Admission::Approved(..))
            })
        };
        let slow = admit(1);
        // The slow check has the totals at 0 trades; the second proposal is admitted meanwhile.
        while CHECKS.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let fast = admit(2).await.unwrap();
        assert!(
            fast,
            "the second proposal is admitted while the first is checked"
        );
        (slow.await.unwrap(), fast)
    });
    assert_eq!(approved, (false, true), "one trade a day");
    assert_eq!(
        CHECKS.load(Ordering::SeqCst),
        3,
        "the slow proposal was checked again"
    );
    assert_eq!(ledger.daily("2026-11-24").unwrap().trades, 1);
    assert_eq!(gate.state().trades_today, 1);
}

#[test]
fn a_hung_policy_holds_no_lock_and_is_disabled_at_its_timeout() {
    let (gate, ledger, policy) = gate_over(
        "gate-hung",
        test_policy("hangs"),
        Duration::from_millis(100),
        Usd::dollars(1_000),
    );
    engine_runtime().block_on(async {
        let hung = {
            let g = gate.clone();
            tokio::spawn(async move {
                let c = crate::paper_e2e::candidate(1, Usd::dollars(48));
                matches!(g.admit(c).unwrap(), Admission::Approved(..))
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The gate is not held while the policy hangs: a balance read goes through at once.
        let t = std::time::Instant::now();
        gate.set_cash("A", Usd::dollars(900));
        assert!(gate.state().cash["A"] == Usd::dollars(900));
        assert!(t.elapsed() < Duration::from_millis(50), "{:?}", t.elapsed());
        // The watchdog disables the policy at its timeout; the next proposal is refused at once.
        let t = std::time::Instant::now();
        while policy.failure().is_none() {
            assert!(t.elapsed() < Duration::from_secs(1), "not disabled");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let t = std::time::Instant::now();
        let g = gate.clone();
        let next = tokio::spawn(async move {
            g.admit(crate::paper_e2e::candidate(2, Usd::dollars(48)))
                .unwrap()
        })
        .await
        .unwrap();
        let Admission::Rejected(reasons) = next else {
            panic!("approved past a disabled policy");
        };
        assert_eq!(reasons[0].code, "risk_plugin_error");
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
        // The hung check's late answer is not taken: fail closed.
        assert!(!hung.await.unwrap(), "a late approval was taken");
    });
    assert!(ledger.trades_in(&[]).unwrap().is_empty());
    assert_eq!(gate.state().trades_today, 0);
}
