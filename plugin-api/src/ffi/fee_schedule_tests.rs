//! The host decodes what a plugin returns with the same validating types, so a malformed fee
//! schedule (from a plugin not built with these types, or built against another version) is an
//! error at the boundary, never a fee computed from garbage.

use super::*;
use crate::{FeeModel, InstrumentRules, Price, Qty, Usd};

/// A venue object that answers `begin` with whatever JSON it was given, as a plugin written
/// without plugin-api's types could.
struct RawVenue(String);

impl FfiVenue for RawVenue {
    fn call(&self, _: RStr<'_>, _: FfiFrame) -> RResult<FfiFrame, FfiError> {
        RResult::ROk(FfiFrame::head(RString::from(self.0.as_str())))
    }
    fn next_event_ms(&self) -> ROption<i64> {
        ROption::RNone
    }
}

fn rules_step() -> serde_json::Value {
    let rules = InstrumentRules {
        tick: Price(10_000),
        min_qty: Qty(100),
        qty_step: Qty(100),
        min_notional: Usd::ZERO,
        taker_fee: FeeModel::KALSHI_TAKER,
        neg_risk: None,
    };
    serde_json::to_value(Step::Done {
        result: OpResult::Rules { rules },
    })
    .unwrap()
}

fn begin_with(step: &serde_json::Value) -> PluginResult<Step> {
    let h = VenueHandle {
        obj: FfiVenue_TO::from_value(RawVenue(step.to_string()), TD_Opaque),
    };
    h.begin(
        &VenueOp::Rules {
            instrument: "X".into(),
        },
        CallCtx {
            now_ms: 0,
            random: [0; 32],
        },
    )
}

#[test]
fn a_malformed_fee_schedule_is_refused_when_the_host_decodes_it() {
    let good = rules_step();
    assert!(
        begin_with(&good).is_ok(),
        "the well-formed schedule decodes"
    );

    let mut too_many = good.clone();
    let term = good["result"]["rules"]["taker_fee"]["terms"][0].clone();
    too_many["result"]["rules"]["taker_fee"]["terms"] =
        serde_json::json!([term, term, term, term, term]);
    let e = begin_with(&too_many).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Parse, "{e}");
    assert!(e.message.contains("5 terms"), "{e}");
    assert_eq!(e.to_string().lines().count(), 1, "{e}");

    let mut zero_unit = good.clone();
    zero_unit["result"]["rules"]["taker_fee"]["rounding"]["unit_micro"] = 0.into();
    let e = begin_with(&zero_unit).unwrap_err();
    assert!(e.message.contains("unit of 0"), "{e}");

    // The closed enum of plugin-api 0.1 is not a schedule.
    let mut old = good;
    old["result"]["rules"]["taker_fee"] =
        serde_json::json!({"formula": "kalshi", "rate_ppm": 70000});
    let e = begin_with(&old).unwrap_err();
    assert!(
        e.message.contains("taker_fee") || e.message.contains("formula"),
        "{e}"
    );
}
