//! `market_resolved` on the market channel (polymarket.md §1.4; sent with
//! `custom_feature_enabled: true`): `{"event_type":"market_resolved","market","asset_ids":[..],
//! "winning_asset_id","winning_outcome",...}`. Each listed asset resolves: the winning one pays
//! $1 per share, the others $0. Rare, so read with `serde_json` off the fast path.

use plugin_api::stream::StreamEvent;
use plugin_api::{ErrorKind, PluginError, PluginResult, Price};
use serde_json::Value;

fn err(detail: String) -> PluginError {
    PluginError::new(
        ErrorKind::Parse,
        format!("polymarket market_resolved: {detail}"),
    )
}

/// The resolutions in one frame (an object or an array of them); events of other types are
/// skipped (the fast parser reported them).
pub fn events(frame: &str) -> PluginResult<Vec<StreamEvent>> {
    let v: Value = serde_json::from_str(frame).map_err(|e| err(format!("not JSON: {e}")))?;
    let items = match v {
        Value::Array(a) => a,
        o => vec![o],
    };
    let mut out = Vec::new();
    for m in items
        .iter()
        .filter(|m| m.get("event_type").and_then(Value::as_str) == Some("market_resolved"))
    {
        let winner = m
            .get("winning_asset_id")
            .and_then(Value::as_str)
            .ok_or_else(|| err("missing `winning_asset_id`".into()))?;
        let assets = m
            .get("asset_ids")
            .and_then(Value::as_array)
            .ok_or_else(|| err("missing `asset_ids`".into()))?;
        for a in assets {
            let a = a
                .as_str()
                .ok_or_else(|| err(format!("bad `asset_ids` item {a}")))?;
            out.push(StreamEvent::Resolved {
                instrument: a.to_string(),
                payout: if a == winner { Price::ONE } else { Price(0) },
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_winner_pays_one_and_the_others_nothing() {
        let e = events(r#"{"event_type":"market_resolved","market":"0xc","asset_ids":["11","22"],"winning_asset_id":"22","winning_outcome":"No","timestamp":"1"}"#).unwrap();
        assert_eq!(
            e,
            vec![
                StreamEvent::Resolved {
                    instrument: "11".into(),
                    payout: Price(0)
                },
                StreamEvent::Resolved {
                    instrument: "22".into(),
                    payout: Price::ONE
                },
            ]
        );
        let e = events(r#"{"event_type":"market_resolved","asset_ids":["11"]}"#).unwrap_err();
        assert!(e.message.contains("winning_asset_id"), "{e}");
    }
}
