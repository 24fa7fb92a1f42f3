//! Conformance checks (feature `testing`). A third-party plugin calls these from its own tests;
//! they drive the plugin through the same FFI shim the host uses, so panics, JSON shapes and
//! basic contracts are checked without loading a cdylib.

use crate::ffi::{RiskHandle, StrategyHandle, VenueHandle};
use crate::{
    CallCtx, ErrorKind, PairSpec, PluginError, PluginResult, RiskDecision, RiskPolicy,
    RiskProposal, RiskSnapshot, Secrets, Step, Strategy, Venue, VenueOp,
};

/// A fixed call context for deterministic tests.
pub fn fixed_ctx() -> CallCtx {
    CallCtx {
        now_ms: 1_764_000_000_000,
        random: [7u8; 32],
    }
}

fn fail(msg: String) -> PluginError {
    PluginError::new(ErrorKind::Internal, format!("conformance: {msg}"))
}

/// Checks a venue plugin: it reports a name and version, answers a balance request with either
/// a well-formed HTTP step or a result, and answers an operation it cannot parse with an error
/// rather than a panic.
pub fn check_venue<T: Venue>(settings: &serde_json::Value, secrets: &Secrets) -> PluginResult<()> {
    let v = VenueHandle::in_process::<T>("conformance", settings, secrets)?;
    let info = v.info()?;
    if info.name.is_empty() || info.version.is_empty() {
        return Err(fail("info() must give a name and a version".into()));
    }
    match v.begin(&VenueOp::Balance, fixed_ctx()) {
        Ok(Step::Http { request, .. }) => {
            if !(request.url.starts_with("http://") || request.url.starts_with("https://")) {
                return Err(fail(format!(
                    "balance request URL is not absolute: {}",
                    request.url
                )));
            }
            if request.method.is_empty() || request.rate_class.is_empty() {
                return Err(fail("request needs a method and a rate class".into()));
            }
        }
        Ok(Step::Done { .. }) | Ok(Step::Wait { .. }) => {}
        Err(e) if e.kind == ErrorKind::Panic => return Err(e),
        Err(_) => {}
    }
    match v.begin(
        &VenueOp::Book {
            instrument: String::new(),
        },
        fixed_ctx(),
    ) {
        Err(e) if e.kind == ErrorKind::Panic => Err(fail(format!("book(\"\") panicked: {e}"))),
        _ => Ok(()),
    }
}

/// Checks a strategy: empty books produce no proposal and no panic.
pub fn check_strategy<T: Strategy>(
    settings: &serde_json::Value,
    pairs: &[PairSpec],
) -> PluginResult<()> {
    let s = StrategyHandle::in_process::<T>("conformance", settings, pairs)?;
    let info = s.info()?;
    if info.name.is_empty() {
        return Err(fail("info() must give a name".into()));
    }
    let mut out = abi_stable::std_types::RVec::new();
    let empty: &[crate::Level] = &[];
    let batch: Vec<crate::ffi::FfiPairBooks<'_>> = pairs
        .iter()
        .map(|p| crate::ffi::FfiPairBooks {
            pair: p.index,
            ctx: crate::EvalCtx {
                now_ms: fixed_ctx().now_ms,
                available_a: crate::Usd::dollars(1000),
                available_b: crate::Usd::dollars(1000),
            },
            a_yes: empty.into(),
            a_no: empty.into(),
            b_yes: empty.into(),
            b_no: empty.into(),
        })
        .collect();
    s.evaluate(&batch, &mut out)?;
    if !out.is_empty() {
        return Err(fail("empty books must not produce proposals".into()));
    }
    Ok(())
}

/// Checks a risk policy: it decides a proposal without panicking and a rejection has reasons.
pub fn check_risk<T: RiskPolicy>(
    settings: &serde_json::Value,
    snapshot: &RiskSnapshot,
    proposal: &RiskProposal,
) -> PluginResult<RiskDecision> {
    let r = RiskHandle::in_process::<T>("conformance", settings)?;
    r.info()?;
    let d = r.check(snapshot, proposal)?;
    if let RiskDecision::Reject { reasons } = &d {
        if reasons.is_empty() {
            return Err(fail("a rejection must carry at least one reason".into()));
        }
    }
    Ok(d)
}
