//! Drives a venue plugin's step machine: sends its requests, feeds responses back, retries what
//! is safe to retry.

use plugin_api::ffi::VenueHandle;
use plugin_api::{CallCtx, ErrorKind, HttpRequest, HttpResponse, OpResult, Step, VenueOp};
use rand::RngCore;
use std::sync::Arc;
use std::time::Duration;

use super::clock::Clock;
use super::rate_limit::RateLimiter;
use super::settings::VenueIoSettings;
use crate::plugins::{CallError, Guarded};

/// Why an operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VenueError {
    /// The plugin answered with an error, or could not be called.
    #[error("{0}")]
    Plugin(#[from] CallError),
    /// The request could not be completed (connect error, timeout). For a non-idempotent
    /// request the outcome is unknown: `ambiguous` is set and the caller must reconcile.
    #[error("{venue}: {op}: {message}{}", if *ambiguous { " (outcome unknown)" } else { "" })]
    Transport {
        /// Venue instance.
        venue: String,
        /// Operation name.
        op: &'static str,
        /// What happened.
        message: String,
        /// Whether a non-idempotent request may have taken effect.
        ambiguous: bool,
    },
    /// The expected order id could not be journaled, so the order was not sent.
    #[error("{venue}: {op}: not sent: journaling the expected order id failed: {message}")]
    Journal {
        /// Venue instance.
        venue: String,
        /// Operation name.
        op: &'static str,
        /// What happened.
        message: String,
    },
}

impl VenueError {
    /// Whether an order may have been placed although no answer said so.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            VenueError::Transport { ambiguous, .. } => *ambiguous,
            VenueError::Journal { .. } => false,
            VenueError::Plugin(e) => matches!(e.kind(), Some(ErrorKind::Timeout)),
        }
    }

    /// The plugin error kind, if there is one.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            VenueError::Plugin(e) => e.kind().cloned(),
            VenueError::Transport { .. } => Some(ErrorKind::Network),
            VenueError::Journal { .. } => Some(ErrorKind::Internal),
        }
    }
}

/// I/O for one venue instance.
pub struct VenueIo {
    name: String,
    venue: Arc<Guarded<VenueHandle>>,
    client: reqwest::Client,
    limiter: RateLimiter,
    settings: VenueIoSettings,
    clock: Arc<dyn Clock>,
}

fn random_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

impl VenueIo {
    /// I/O for `venue` with its own connection pool.
    pub fn new(
        name: &str,
        venue: Arc<Guarded<VenueHandle>>,
        settings: VenueIoSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .pool_max_idle_per_host(8)
            .build()
            .unwrap_or_default();
        VenueIo {
            name: name.to_string(),
            limiter: RateLimiter::new(settings.rates.clone()),
            venue,
            client,
            settings,
            clock,
        }
    }

    /// Venue instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The guarded plugin handle.
    pub fn handle(&self) -> &Arc<Guarded<VenueHandle>> {
        &self.venue
    }

    fn ctx(&self) -> CallCtx {
        CallCtx {
            now_ms: self.clock.now_ms(),
            random: random_bytes(),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.settings.backoff.as_millis() as u64 * (1u64 << attempt.min(6));
        let jitter = rand::random::<u64>() % (base / 2 + 1);
        Duration::from_millis(base + jitter)
    }

    async fn sleep(&self, d: Duration) {
        if !self.clock.is_simulated() {
            tokio::time::sleep(d).await;
        }
    }

    async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, String> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| format!("bad method {:?}", req.method))?;
        let mut rb = self.client.request(method, &req.url);
        for (k, v) in &req.headers {
            rb = rb.header(k, v);
        }
        if !req.body.is_empty() {
            rb = rb.body(req.body.clone());
        }
        let resp = rb.send().await.map_err(|e| {
            if e.is_timeout() {
                format!(
                    "no response within {} ms",
                    self.settings.timeout.as_millis()
                )
            } else {
                // reqwest's message names the URL but not headers: no secrets.
                format!("request failed: {e}")
            }
        })?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("reading body failed: {e}"))?
            .to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// Runs one operation to completion.
    pub async fn run(&self, op: &VenueOp) -> Result<OpResult, VenueError> {
        self.run_journaled(op, &mut |_| Ok(())).await
    }

    /// Runs one operation; before a request that carries an expected order id
    /// ([`HttpRequest::expected_order_id`]) is sent, `journal` must have stored that id. If it
    /// cannot, the request is not sent.
    pub async fn run_journaled(
        &self,
        op: &VenueOp,
        journal: &mut (dyn FnMut(&str) -> Result<(), String> + Send),
    ) -> Result<OpResult, VenueError> {
        let started = std::time::Instant::now();
        let mut attempt = 0u32;
        let result = loop {
            match self.run_once(op, journal).await {
                Ok(r) => break Ok(r),
                Err(Retry::Again(e)) if attempt < self.settings.retries => {
                    let wait = self.backoff(attempt);
                    tracing::warn!(venue = %self.name, op = op.name(), attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying");
                    attempt += 1;
                    self.sleep(wait).await;
                }
                Err(Retry::Again(e)) | Err(Retry::Final(e)) => break Err(e),
            }
        };
        crate::metrics::record_venue_call(&self.name, op.name(), started.elapsed(), result.is_ok());
        result
    }

    async fn run_once(
        &self,
        op: &VenueOp,
        journal: &mut (dyn FnMut(&str) -> Result<(), String> + Send),
    ) -> Result<OpResult, Retry> {
        let ctx = self.ctx();
        let op_owned = op.clone();
        let mut step = self
            .venue
            .call_async("begin", move |h| h.begin(&op_owned, ctx))
            .await
            .map_err(classify)?;
        loop {
            match step {
                Step::Done { result } => return Ok(result),
                Step::Wait { ms, state } => {
                    self.sleep(Duration::from_millis(ms)).await;
                    let ctx = self.ctx();
                    step = self
                        .venue
                        .call_async("resume", move |h| {
                            h.resume(
                                state,
                                HttpResponse {
                                    status: 0,
                                    headers: vec![],
                                    body: vec![],
                                },
                                ctx,
                            )
                        })
                        .await
                        .map_err(classify)?;
                }
                Step::Http { request, state } => {
                    if let Some(id) = &request.expected_order_id {
                        journal(id).map_err(|message| {
                            Retry::Final(VenueError::Journal {
                                venue: self.name.clone(),
                                op: op.name(),
                                message,
                            })
                        })?;
                    }
                    self.limiter.acquire(&request.rate_class).await;
                    tracing::debug!(venue = %self.name, method = %request.method, url = %request.url, "request");
                    let resp = match self.send(&request).await {
                        Ok(r) => r,
                        Err(message) => {
                            let e = VenueError::Transport {
                                venue: self.name.clone(),
                                op: op.name(),
                                message,
                                ambiguous: !request.idempotent,
                            };
                            return Err(if request.idempotent {
                                Retry::Again(e)
                            } else {
                                Retry::Final(e)
                            });
                        }
                    };
                    let ctx = self.ctx();
                    let idempotent = request.idempotent;
                    step = match self
                        .venue
                        .call_async("resume", move |h| h.resume(state, resp, ctx))
                        .await
                    {
                        Ok(s) => s,
                        Err(e) => {
                            // A 5xx on a write may have been processed: only reads retry.
                            let transient_read = idempotent
                                && matches!(
                                    e.kind(),
                                    Some(ErrorKind::Network | ErrorKind::Timeout)
                                );
                            return Err(match classify(e) {
                                Retry::Again(e) => Retry::Again(e),
                                Retry::Final(e) if transient_read => Retry::Again(e),
                                f => f,
                            });
                        }
                    };
                }
            }
        }
    }
}

enum Retry {
    Again(VenueError),
    Final(VenueError),
}

/// Rate limiting means the venue did not process the request: safe to retry anything.
fn classify(e: CallError) -> Retry {
    if matches!(e.kind(), Some(ErrorKind::RateLimited)) {
        Retry::Again(e.into())
    } else {
        Retry::Final(e.into())
    }
}
