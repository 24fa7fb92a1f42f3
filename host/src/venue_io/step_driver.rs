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
    /// A request that may have changed state at the venue (an order placement) was sent and
    /// its outcome could not be learnt. The operation is never re-run: the caller looks the
    /// order up by its client order id or by one of `expected_order_ids`.
    #[error(
        "{venue}: {op}: outcome unknown{}: {message}",
        ids_note(expected_order_ids)
    )]
    OutcomeUnknown {
        /// Venue instance.
        venue: String,
        /// Operation name.
        op: &'static str,
        /// What was learnt.
        message: String,
        /// Venue order ids journaled before the writes (Polymarket: EIP-712 digests).
        expected_order_ids: Vec<String>,
    },
    /// The instance has `role = "market-data"` and the operation is not public market data:
    /// refused before the plugin is called, so nothing is sent.
    #[error("{venue}: {op} refused: venue `{venue}` has role = \"market-data\" and serves public market data only (markets, books, rules, resolutions, exchange status); orders, cancels and account requests never go to it")]
    MarketDataOnly {
        /// Venue instance.
        venue: String,
        /// Operation name.
        op: &'static str,
    },
    /// A rehearsal ([`VenueOp::Rehearse`]) was handed to the step driver: it is never sent.
    #[error("{venue}: a rehearsed order is never sent")]
    Rehearsal {
        /// Venue instance.
        venue: String,
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
            VenueError::OutcomeUnknown { .. } => true,
            VenueError::Journal { .. }
            | VenueError::MarketDataOnly { .. }
            | VenueError::Rehearsal { .. } => false,
            VenueError::Plugin(e) => matches!(e.kind(), Some(ErrorKind::Timeout)),
        }
    }

    /// The plugin error kind, if there is one.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            VenueError::Plugin(e) => e.kind().cloned(),
            VenueError::Transport { .. } => Some(ErrorKind::Network),
            VenueError::OutcomeUnknown { .. } => Some(ErrorKind::Timeout),
            VenueError::Journal { .. } | VenueError::Rehearsal { .. } => Some(ErrorKind::Internal),
            VenueError::MarketDataOnly { .. } => Some(ErrorKind::Unsupported),
        }
    }
}

fn ids_note(ids: &[String]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(" (expected order id {})", ids.join(", "))
    }
}

/// An error and its chain of causes on one line, each cause once (hyper and reqwest repeat
/// their inner error in their own message now and then).
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = c.source();
    }
    line
}

/// I/O for one venue instance.
pub struct VenueIo {
    name: String,
    venue: Arc<Guarded<VenueHandle>>,
    client: reqwest::Client,
    /// The kept connection for order writes (`order_connection`), if on.
    lane: Option<Arc<super::OrderLane>>,
    limiter: RateLimiter,
    settings: VenueIoSettings,
    clock: Arc<dyn Clock>,
    /// Orders rehearsed ([`Self::rehearse`]).
    rehearsals: std::sync::atomic::AtomicU64,
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
        let builder = || {
            reqwest::Client::builder()
                .timeout(settings.timeout)
                .pool_max_idle_per_host(8)
        };
        let configured = match &settings.tls {
            Some(trust) => builder().use_preconfigured_tls(trust.reqwest_config()),
            None => builder(),
        };
        // Building fails only if the TLS backend cannot start; say so rather than go quiet.
        // The fallback keeps the timeout (a request must never wait forever) and trusts the
        // web PKI roots alone.
        let client = configured.build().unwrap_or_else(|e| {
            tracing::error!(venue = name, error = %e, "venue HTTP client not built as configured; using the web PKI roots only");
            builder().build().unwrap_or_default()
        });
        let lane = settings.order_connection.then(|| {
            Arc::new(super::OrderLane::new(
                name,
                settings.tls.as_ref(),
                settings.timeout,
            ))
        });
        VenueIo {
            name: name.to_string(),
            lane,
            limiter: RateLimiter::new(settings.rates.clone()),
            venue,
            client,
            settings,
            clock,
            rehearsals: Default::default(),
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

    /// The kept order connection, if `order_connection` is on (for tests and the API).
    pub fn order_lane(&self) -> Option<&super::OrderLane> {
        self.lane.as_deref()
    }

    /// Opens the kept order connection ahead of the next order if it is not open (the
    /// preparer's tick; a no-op before the venue's first order write named its server).
    pub fn keep_order_connection(&self) {
        if let Some(lane) = &self.lane {
            lane.keep_open();
        }
    }

    async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, String> {
        if !req.idempotent {
            if let Some(lane) = &self.lane {
                if let Some(ready) = lane.take(req) {
                    super::wire_stamp::write_sent();
                    let r = lane.send(ready).await;
                    if r.is_ok() {
                        super::wire_stamp::response_read();
                    }
                    return r;
                }
            }
        }
        let r = self.send_by_client(req).await;
        if !req.idempotent {
            // This write went the slow way: have a connection ready for the next one.
            self.keep_order_connection();
        }
        r
    }

    /// [`Self::send`] through the venue's `reqwest` client.
    async fn send_by_client(&self, req: &HttpRequest) -> Result<HttpResponse, String> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| format!("bad method {:?}", req.method))?;
        let mut rb = self.client.request(method, &req.url);
        for (k, v) in &req.headers {
            rb = rb.header(k, v);
        }
        if !req.body.is_empty() {
            rb = rb.body(req.body.clone());
        }
        if !req.idempotent {
            super::wire_stamp::write_sent();
        }
        let resp = rb.send().await.map_err(|e| {
            if e.is_timeout() {
                format!(
                    "no response within {} ms",
                    self.settings.timeout.as_millis()
                )
            } else {
                // reqwest's message names the URL but not headers: no secrets. Its causes
                // (refused connection, untrusted certificate, ...) follow, or the line would
                // not say why.
                format!("request failed: {}", with_causes(&e))
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
        super::wire_stamp::response_read();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// Builds an operation's first step (for an order: signs it) without sending anything,
    /// so the caller can journal what the step will write ([`Begun::expected_order_id`])
    /// together with its own records, in one transaction, before [`Self::run_begun`] sends it.
    /// Only for live adapters: a simulator acts inside `begin`.
    pub async fn begin(&self, op: &VenueOp) -> Result<Begun, VenueError> {
        if let Some(refused) = self.refusal(op) {
            return Err(refused);
        }
        let ctx = self.ctx();
        let op_owned = op.clone();
        let step = self
            .venue
            .call_async("begin", move |h| h.begin(&op_owned, ctx))
            .await?;
        Ok(Begun {
            op: op.clone(),
            step,
        })
    }

    /// Rehearses an order (`engine/rehearse.rs`): the plugin builds it as
    /// [`VenueOp::PlaceOrder`] would, and its request is framed for the kept order connection
    /// as a real one is, then dropped. Nothing is sent: this never calls the step driver.
    pub async fn rehearse(&self, order: plugin_api::OrderRequest) -> Result<(), VenueError> {
        let begun = self.begin(&VenueOp::Rehearse { order }).await?;
        if let Step::Http { request, .. } = &begun.step {
            if let Some(lane) = &self.lane {
                lane.rehearse(request);
            }
            self.rehearsals
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            crate::metrics::inc("polymix_order_rehearsals_total", &[("venue", &self.name)]);
        }
        // (`Prepared`: the plugin had nothing to build yet, e.g. no market rules cached.)
        Ok(())
    }

    /// How many orders [`Self::rehearse`] built (answers with nothing to build not counted).
    pub fn rehearsals(&self) -> u64 {
        self.rehearsals.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// [`Self::run_journaled`] from a step [`Self::begin`] built: that step is sent as built
    /// (the order id journaled from it is the one the venue gets).
    pub async fn run_begun(
        &self,
        begun: Begun,
        journal: &mut (dyn FnMut(Option<&str>) -> Result<(), String> + Send),
    ) -> Result<OpResult, VenueError> {
        self.run_from(&begun.op, Some(begun.step), journal).await
    }

    /// The refusal `op` meets on this instance before anything is sent, if any: a
    /// `market-data` instance is never asked for an order, cancel or account operation.
    pub fn refusal(&self, op: &VenueOp) -> Option<VenueError> {
        (self.settings.market_data_only && !super::market_data::is_public_market_data(op)).then(
            || VenueError::MarketDataOnly {
                venue: self.name.clone(),
                op: op.name(),
            },
        )
    }

    /// Runs one operation to completion.
    pub async fn run(&self, op: &VenueOp) -> Result<OpResult, VenueError> {
        self.run_journaled(op, &mut |_| Ok(())).await
    }

    /// Runs one operation. Before each request that may change state at the venue (a
    /// non-idempotent request) leaves, `journal` is called with the order id the venue will
    /// give it when the plugin knows it in advance ([`HttpRequest::expected_order_id`]); if
    /// `journal` fails the request is not sent.
    ///
    /// Retries belong to steps, never to a whole operation once it has written: a failed read
    /// is re-sent as the same request and resumed with the same continuation; a 429 is re-sent
    /// as-is after its `Retry-After` (the venue did not process it). Once a write may have
    /// been processed the operation never runs again: if its outcome cannot be learnt it ends
    /// in [`VenueError::OutcomeUnknown`] carrying every expected order id, for the caller to
    /// look up.
    pub async fn run_journaled(
        &self,
        op: &VenueOp,
        journal: &mut (dyn FnMut(Option<&str>) -> Result<(), String> + Send),
    ) -> Result<OpResult, VenueError> {
        self.run_from(op, None, journal).await
    }

    async fn run_from(
        &self,
        op: &VenueOp,
        mut first: Option<Step>,
        journal: &mut (dyn FnMut(Option<&str>) -> Result<(), String> + Send),
    ) -> Result<OpResult, VenueError> {
        if let Some(refused) = self.refusal(op) {
            tracing::error!(venue = %self.name, op = op.name(), "operation refused: market-data instance");
            return Err(refused);
        }
        if matches!(op, VenueOp::Rehearse { .. }) {
            // Whatever the plugin built for it: a rehearsal only warms the way to the wire.
            tracing::error!(venue = %self.name, "a rehearsed order reached the step driver; not sent");
            return Err(VenueError::Rehearsal {
                venue: self.name.clone(),
            });
        }
        let started = std::time::Instant::now();
        let mut run = OpRun {
            budget: self.settings.retries,
            attempt: 0,
            wrote: false,
            expected: Vec::new(),
        };
        let result = loop {
            match self.run_once(op, first.take(), journal, &mut run).await {
                Ok(r) => break Ok(r),
                Err(e) if run.wrote => break Err(self.after_write(op, e, &run)),
                // Nothing reached the venue that could have changed anything: running the
                // operation again (e.g. after a rate-limited `begin`) cannot double an order.
                // A write operation that timed out without a request (a simulator acting in
                // process) may have acted: it is never re-run.
                Err(e) if is_rerunnable(op, &e) && run.budget > 0 => {
                    let wait = self.backoff(run.attempt);
                    tracing::warn!(venue = %self.name, op = op.name(), attempt = run.attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying operation that sent no write");
                    run.spend();
                    self.sleep(wait).await;
                }
                Err(e) => break Err(e),
            }
        };
        crate::metrics::record_venue_call(&self.name, op.name(), started.elapsed(), result.is_ok());
        result
    }

    /// The error of an operation that sent a write: a definite venue refusal stays what it
    /// is; anything else means the write may have taken effect.
    fn after_write(&self, op: &VenueOp, e: VenueError, run: &OpRun) -> VenueError {
        let definite = matches!(
            e.kind(),
            Some(ErrorKind::Rejected { .. } | ErrorKind::InvalidInput | ErrorKind::Auth)
        );
        if definite {
            return e;
        }
        let e = VenueError::OutcomeUnknown {
            venue: self.name.clone(),
            op: op.name(),
            message: e.to_string(),
            expected_order_ids: run.expected.clone(),
        };
        tracing::warn!(venue = %self.name, op = op.name(), error = %e, "write sent, outcome unknown; the caller must look it up");
        e
    }

    /// Hands the plugin a response (or a wait's end). Once a write has left in this
    /// operation (`wrote`), on the instance's worker thread rather than this one: the order's
    /// fate is in what the plugin makes of the answer, and a plugin that hangs must time out
    /// (the outcome is then unknown, looked up or left to reconciliation) instead of holding
    /// the operation, and the trade waiting on it, for ever. This call is after the wire, so
    /// the handoff costs no latency that matters.
    async fn resume(
        &self,
        wrote: bool,
        state: String,
        resp: HttpResponse,
    ) -> Result<Step, CallError> {
        let ctx = self.ctx();
        let call = move |h: &VenueHandle| h.resume(state, resp, ctx);
        if wrote {
            self.venue.call_async_on_worker("resume", call).await
        } else {
            self.venue.call_async("resume", call).await
        }
    }

    async fn run_once(
        &self,
        op: &VenueOp,
        first: Option<Step>,
        journal: &mut (dyn FnMut(Option<&str>) -> Result<(), String> + Send),
        run: &mut OpRun,
    ) -> Result<OpResult, VenueError> {
        let mut step = match first {
            Some(step) => step,
            None => {
                let ctx = self.ctx();
                let op_owned = op.clone();
                self.venue
                    .call_async("begin", move |h| h.begin(&op_owned, ctx))
                    .await?
            }
        };
        loop {
            match step {
                Step::Done { result } => return Ok(result),
                Step::Wait { ms, state } => {
                    self.sleep(Duration::from_millis(ms)).await;
                    let waited = HttpResponse {
                        status: 0,
                        headers: vec![],
                        body: vec![],
                    };
                    step = self.resume(run.wrote, state, waited).await?;
                }
                Step::Http { request, state } => {
                    step = self.http_step(op, request, state, journal, run).await?;
                }
            }
        }
    }

    /// Sends one request (re-sending it where that is safe) and hands the answer to the plugin.
    async fn http_step(
        &self,
        op: &VenueOp,
        request: HttpRequest,
        state: String,
        journal: &mut (dyn FnMut(Option<&str>) -> Result<(), String> + Send),
        run: &mut OpRun,
    ) -> Result<Step, VenueError> {
        if !request.idempotent {
            let id = request.expected_order_id.as_deref();
            journal(id).map_err(|message| VenueError::Journal {
                venue: self.name.clone(),
                op: op.name(),
                message,
            })?;
            if let Some(id) = id {
                if !run.expected.iter().any(|x| x == id) {
                    run.expected.push(id.to_string());
                }
            }
        }
        loop {
            self.limiter.acquire(&request.rate_class).await;
            tracing::debug!(venue = %self.name, method = %request.method, url = %request.url, "request");
            let resp = match self.send(&request).await {
                Ok(r) if r.status == 429 && run.budget > 0 => {
                    // Not processed: the same bytes may go again once the venue allows.
                    let asked = super::retry_after::parse(
                        r.header("retry-after"),
                        std::time::SystemTime::now(),
                    );
                    let wait = asked.unwrap_or_else(|| self.backoff(run.attempt));
                    if wait <= super::retry_after::MAX_RETRY_AFTER {
                        tracing::warn!(venue = %self.name, op = op.name(), wait_ms = wait.as_millis() as u64, retry_after = ?r.header("retry-after"), "rate limited; re-sending the same request after the wait");
                        run.spend();
                        self.sleep(wait).await;
                        continue;
                    }
                    r
                }
                Ok(r) => r,
                Err(message) if request.idempotent && run.budget == 0 && run.wrote => {
                    // A read after a write (the lookup of a lost answer, the fills of a
                    // placed order) that keeps failing: the plugin decides what it can still
                    // report from what it already knows, rather than losing it.
                    HttpResponse {
                        status: 0,
                        headers: vec![("x-polymix-transport-error".into(), message)],
                        body: vec![],
                    }
                }
                Err(message) if request.idempotent => {
                    if run.budget == 0 {
                        return Err(VenueError::Transport {
                            venue: self.name.clone(),
                            op: op.name(),
                            message,
                            ambiguous: false,
                        });
                    }
                    let wait = self.backoff(run.attempt);
                    tracing::warn!(venue = %self.name, op = op.name(), url = %request.url, wait_ms = wait.as_millis() as u64, error = %message, "read failed; re-sending it");
                    run.spend();
                    self.sleep(wait).await;
                    continue;
                }
                Err(message) => {
                    // A write whose answer was lost may have been processed. The plugin is
                    // resumed with status 0 so it can look the outcome up itself.
                    tracing::warn!(venue = %self.name, op = op.name(), error = %message, "write sent, no answer; asking the plugin to look it up");
                    run.wrote = true;
                    HttpResponse {
                        status: 0,
                        headers: vec![("x-polymix-transport-error".into(), message)],
                        body: vec![],
                    }
                }
            };
            if !request.idempotent && resp.status != 429 {
                run.wrote = true;
            }
            match self.resume(run.wrote, state.clone(), resp).await {
                Ok(s) => return Ok(s),
                Err(e) => {
                    let retry_read = request.idempotent
                        && run.budget > 0
                        && matches!(
                            e.kind(),
                            Some(ErrorKind::Network | ErrorKind::Timeout | ErrorKind::RateLimited)
                        );
                    if !retry_read {
                        return Err(e.into());
                    }
                    let wait = self.backoff(run.attempt);
                    tracing::warn!(venue = %self.name, op = op.name(), url = %request.url, wait_ms = wait.as_millis() as u64, error = %e, "read answered a transient error; re-sending it");
                    run.spend();
                    self.sleep(wait).await;
                }
            }
        }
    }
}

/// An operation whose first step is built and not yet sent (see [`VenueIo::begin`]).
#[derive(Debug)]
pub struct Begun {
    op: VenueOp,
    step: Step,
}

impl Begun {
    /// The order id the venue will give what the first step writes, when the plugin knows it
    /// before sending (Polymarket: the order's EIP-712 digest).
    pub fn expected_order_id(&self) -> Option<&str> {
        match &self.step {
            Step::Http { request, .. } if !request.idempotent => {
                request.expected_order_id.as_deref()
            }
            _ => None,
        }
    }
}

/// Progress of one operation across its steps.
struct OpRun {
    /// Re-sends left (shared by every step of the operation).
    budget: u32,
    /// Re-sends done, for the backoff.
    attempt: u32,
    /// A request that may have changed state at the venue was (possibly) processed.
    wrote: bool,
    /// Order ids journaled before writes, in order.
    expected: Vec<String>,
}

impl OpRun {
    fn spend(&mut self) {
        self.budget = self.budget.saturating_sub(1);
        self.attempt += 1;
    }
}

/// Whether an operation that sent no write may run again after `e`: only an operation that
/// changes nothing. One that places or cancels is never re-run, whatever failed (its
/// reads already retried on their own, and a re-run would sign a new order).
fn is_rerunnable(op: &VenueOp, e: &VenueError) -> bool {
    let writes = matches!(
        op,
        VenueOp::PlaceOrder { .. }
            | VenueOp::PlaceOrders { .. }
            | VenueOp::CancelOrder { .. }
            | VenueOp::CancelOrders { .. }
            | VenueOp::CancelAll { .. }
    );
    if writes {
        return false;
    }
    match e {
        VenueError::Transport { ambiguous, .. } => !ambiguous,
        VenueError::Plugin(e) => e.kind().is_some_and(ErrorKind::is_transient),
        _ => false,
    }
}
