//! `market_lifecycle_v2` on the market connection (kalshi.md §9; docs.kalshi.com websockets,
//! market lifecycle): `{"type":"market_lifecycle_v2","sid","msg":{"market_ticker",
//! "event_type", "result"?, ...}}`. Both outcome instruments of the market change together:
//! * `deactivated` (trading paused) and `determined` (trading over, outcome known) stop them,
//!   `activated` resumes them;
//! * `settled` with a `result` of `yes` or `no` resolves them ($1 to the winner). As with the
//!   REST reading (`markets::parse_resolution`), only a settled market counts as resolved;
//! * other event types (`created`, `close_date_updated`, ...) are ignored.

use plugin_api::stream::{StreamEvent, StreamRequest};
use plugin_api::{PluginResult, Price};
use serde_json::Value;

use crate::book::{Instrument, Outcome};
use crate::errors::KalshiError;

/// The channel name.
pub const CHANNEL: &str = "market_lifecycle_v2";

/// Command ids of the lifecycle subscription live apart from the host's (which count up from
/// 1 per connection), so acks never collide.
const ID_OFFSET: u64 = 1 << 40;

/// The subscribe command for `tickers`.
pub fn subscribe(r: &StreamRequest, tickers: &[String]) -> String {
    serde_json::json!({
        "id": ID_OFFSET + r.request_id,
        "cmd": "subscribe",
        "params": {"channels": [CHANNEL], "market_tickers": tickers},
    })
    .to_string()
}

fn err(detail: impl Into<String>) -> plugin_api::PluginError {
    KalshiError::parse(CHANNEL, detail).into()
}

/// The events of one lifecycle message body.
pub fn events(msg: Option<&Value>) -> PluginResult<Vec<StreamEvent>> {
    let msg = msg.ok_or_else(|| err("missing `msg`"))?;
    let ticker = msg
        .get("market_ticker")
        .and_then(Value::as_str)
        .ok_or_else(|| err("missing `msg.market_ticker`"))?;
    if !crate::book::is_url_safe_id(ticker) {
        return Err(err(format!("bad `msg.market_ticker`: {ticker:?}")));
    }
    let kind = msg
        .get("event_type")
        .and_then(Value::as_str)
        .ok_or_else(|| err("missing `msg.event_type`"))?;
    let both = [Outcome::Yes, Outcome::No].map(|o| Instrument::with_outcome(ticker, o));
    let status = |trading: bool| {
        both.iter()
            .map(|i| StreamEvent::Status {
                instrument: Some(i.to_string()),
                trading,
            })
            .collect::<Vec<_>>()
    };
    Ok(match kind {
        "activated" => status(true),
        "deactivated" | "determined" => status(false),
        "settled" => match msg.get("result").and_then(Value::as_str) {
            Some(r @ ("yes" | "no")) => {
                let yes = if r == "yes" { Price::ONE } else { Price(0) };
                let mut out = status(false);
                out.push(StreamEvent::Resolved {
                    instrument: both[0].to_string(),
                    payout: yes,
                });
                out.push(StreamEvent::Resolved {
                    instrument: both[1].to_string(),
                    payout: yes.complement(),
                });
                out
            }
            // Scalar or missing result: trading is over; the REST resolution poll decides.
            _ => status(false),
        },
        other => vec![StreamEvent::Ignored {
            what: format!("{CHANNEL}:{other}"),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(j: &str) -> Vec<StreamEvent> {
        events(Some(&serde_json::from_str(j).unwrap())).unwrap()
    }

    #[test]
    fn lifecycle_events_stop_resume_and_resolve_both_outcomes() {
        let paused =
            ev(r#"{"market_ticker":"KX-A","event_type":"deactivated","is_deactivated":true}"#);
        assert_eq!(
            paused,
            vec![
                StreamEvent::Status {
                    instrument: Some("KX-A:yes".into()),
                    trading: false
                },
                StreamEvent::Status {
                    instrument: Some("KX-A:no".into()),
                    trading: false
                },
            ]
        );
        assert!(matches!(
            ev(r#"{"market_ticker":"KX-A","event_type":"activated"}"#)[0],
            StreamEvent::Status { trading: true, .. }
        ));
        let settled = ev(r#"{"market_ticker":"KX-A","event_type":"settled","result":"no"}"#);
        assert!(settled.contains(&StreamEvent::Resolved {
            instrument: "KX-A:no".into(),
            payout: Price::ONE
        }));
        assert!(settled.contains(&StreamEvent::Resolved {
            instrument: "KX-A:yes".into(),
            payout: Price(0)
        }));
        assert!(matches!(
            ev(r#"{"market_ticker":"KX-A","event_type":"created"}"#)[0],
            StreamEvent::Ignored { .. }
        ));
        assert!(events(Some(&serde_json::json!({"event_type":"settled"}))).is_err());
        assert!(events(None).is_err());
    }
}
