//! Webhook notifications: trade executed, leg failure and unwind, naked leg, risk halt,
//! settlement, engine start and stop, each marked LIVE or PAPER. Sending happens on a
//! background task behind a bounded queue, so the engine never waits for a webhook.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Engine started.
    EngineStart,
    /// Engine stopped.
    EngineStop,
    /// Both legs sent and filled.
    TradeExecuted,
    /// A leg failed or filled short; the other was unwound.
    LegFailure,
    /// A leg could not be flattened.
    NakedLeg,
    /// A risk limit stopped trading.
    RiskHalt,
    /// A trade settled.
    Settlement,
    /// A venue's exchange stopped or resumed trading.
    VenueStatus,
    /// A pair's two markets settled inconsistently with its polarity; the pair is suspended.
    PairDivergence,
}

/// One notification.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    /// `PAPER` or `LIVE`.
    pub mode: String,
    /// What happened.
    pub kind: Kind,
    /// Human text (never contains secrets).
    pub text: String,
    /// Related trade.
    pub trade_id: Option<String>,
}

/// A webhook target.
#[derive(Clone, Debug)]
pub struct Target {
    /// URL (may carry a token: never logged).
    pub url: String,
    /// `json`, `slack` or `discord`.
    pub format: String,
}

/// The notifier handle the engine holds.
pub struct Notifier {
    /// One queue per target, so a slow or dead webhook never delays the others.
    queues: Vec<mpsc::Sender<Message>>,
    mode: String,
    dropped: AtomicU64,
    /// Messages queued and not yet finished (sent or given up) across all targets.
    pending: Arc<AtomicU64>,
}

fn body(format: &str, m: &Message) -> serde_json::Value {
    let line = format!("[{}] {}", m.mode, m.text);
    match format {
        "slack" => serde_json::json!({ "text": line }),
        "discord" => serde_json::json!({ "content": line }),
        _ => serde_json::to_value(m).unwrap_or_default(),
    }
}

/// Tries a message up to three times, backing off between tries.
async fn deliver(client: &reqwest::Client, t: &Target, m: &Message) {
    let b = body(&t.format, m);
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
        match client.post(&t.url).json(&b).send().await {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => tracing::warn!(
                status = r.status().as_u16(),
                attempt,
                "webhook refused a notification"
            ),
            // The error may contain the URL; log only its kind.
            Err(e) => tracing::warn!(
                timeout = e.is_timeout(),
                connect = e.is_connect(),
                attempt,
                "webhook unreachable"
            ),
        }
    }
    crate::metrics::inc("polymix_notifications_failed_total", &[]);
}

impl Notifier {
    /// Starts one sender task per target. `mode` is `paper` or `live`.
    pub fn start(mode: &str, targets: Vec<Target>) -> Notifier {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        let pending = Arc::new(AtomicU64::new(0));
        let queues = targets
            .into_iter()
            .map(|t| {
                let (tx, mut rx) = mpsc::channel::<Message>(1024);
                let (client, pending) = (client.clone(), pending.clone());
                tokio::spawn(async move {
                    while let Some(m) = rx.recv().await {
                        deliver(&client, &t, &m).await;
                        pending.fetch_sub(1, Ordering::SeqCst);
                    }
                });
                tx
            })
            .collect();
        Notifier {
            queues,
            mode: mode.to_uppercase(),
            dropped: AtomicU64::new(0),
            pending,
        }
    }

    /// Queues a notification for every target; drops it for a target whose queue is full
    /// (and counts it) rather than block.
    pub fn send(&self, kind: Kind, text: String, trade_id: Option<&str>) {
        let m = Message {
            mode: self.mode.clone(),
            kind,
            text,
            trade_id: trade_id.map(str::to_string),
        };
        for q in &self.queues {
            self.pending.fetch_add(1, Ordering::SeqCst);
            if q.try_send(m.clone()).is_err() {
                self.pending.fetch_sub(1, Ordering::SeqCst);
                self.dropped.fetch_add(1, Ordering::Relaxed);
                crate::metrics::inc("polymix_notifications_dropped_total", &[]);
            }
        }
    }

    /// Waits (at most 5 s) until everything queued so far was delivered or given up, so the
    /// stop message goes out at shutdown.
    pub async fn flush(&self) {
        for _ in 0..500 {
            if self.pending.load(Ordering::SeqCst) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Builds the notifier from `[notify]`, or `None` when no webhook is configured.
pub fn from_config(cfg: &crate::config::Config) -> Result<Option<Notifier>, String> {
    if cfg.notify.webhooks.is_empty() {
        return Ok(None);
    }
    let mut targets = Vec::new();
    for (i, w) in cfg.notify.webhooks.iter().enumerate() {
        let url = crate::config::resolve_secret(&w.url, &cfg.config_dir)
            .map_err(|e| format!("notify.webhooks[{i}].url: {e}"))?;
        targets.push(Target {
            url,
            format: w.format.clone(),
        });
    }
    Ok(Some(Notifier::start(cfg.mode.as_str(), targets)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_mark_the_mode() {
        let m = Message {
            mode: "PAPER".into(),
            kind: Kind::TradeExecuted,
            text: "bought".into(),
            trade_id: Some("t1".into()),
        };
        assert_eq!(body("slack", &m)["text"], "[PAPER] bought");
        assert_eq!(body("discord", &m)["content"], "[PAPER] bought");
        let j = body("json", &m);
        assert_eq!(j["mode"], "PAPER");
        assert_eq!(j["kind"], "trade_executed");
        assert_eq!(j["trade_id"], "t1");
    }
}
