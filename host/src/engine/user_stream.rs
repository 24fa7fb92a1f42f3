//! The account's user streams (Polymarket's user channel, Kalshi's `fill` and `user_orders`):
//! fills and order states as they happen, next to the REST sweeps that remain the slow
//! reconciliation.
//!
//! * A fill report is recorded (what the venue booked: shares, price and fee per fill) and
//!   its trade reviewed at once through the one ghost-fill decision point
//!   ([`Engine::review_fills`]); a Polymarket trade that turned FAILED is unwound within
//!   moments instead of at the next settle poll.
//! * An order report about an order whose outcome the ledger does not know (a lost answer)
//!   is taken as the venue's record of it, as a lookup's answer would be, and its trade
//!   resolved now ([`Engine::on_order_report`]) rather than at the next reconcile sweep.
//! * A report about a trade that is running is kept and looked at again once it is done.
//! * A user stream that went down may have missed reports (the venues do not replay them):
//!   when it is back, the fills of unconfirmed trades and unknown orders are swept over REST
//!   at once, so a disconnect mid-trade loses nothing.

use plugin_api::{Fill, OrderStatus, StreamChannel, StreamEvent};
use tokio::sync::{mpsc, watch};

use super::books::VenueIdx;
use super::setup::{Engine, EngineError};
use crate::config::VenueEntry;
use crate::store::FillSource;
use crate::stream::{StreamOptions, StreamUpdate, UpdateKind};

/// A report from a user stream, applied after the frame's book changes.
#[derive(Debug)]
pub(super) enum UserReport {
    /// Fills (new, or a settlement status change).
    Fills(VenueIdx, Vec<Fill>),
    /// An order's state.
    Order(VenueIdx, OrderStatus),
    /// The stream is back after being down: sweep what it may have missed.
    Reconnected,
    /// A market stream reported an instrument resolved, paying this per share.
    Resolved(VenueIdx, String, plugin_api::Price),
}

impl Engine {
    /// Starts venue `vi`'s user stream if the plugin offers one; a venue without it keeps
    /// learning fills from the REST sweeps only.
    pub(super) async fn start_user_stream(
        &self,
        vi: VenueIdx,
        entry: &VenueEntry,
        stop: &watch::Receiver<bool>,
        tx: &mpsc::UnboundedSender<(VenueIdx, StreamUpdate)>,
    ) {
        let venue = &self.venues[vi];
        let opts = StreamOptions {
            stale_after_ms: entry.stream_stale_ms,
            tls: entry.tls.clone(),
            ..StreamOptions::default()
        };
        let to_driver = tx.clone();
        let sink = crate::stream::Sink::new(move |u| to_driver.send((vi, u)).is_ok());
        match crate::stream::start(
            venue.handle().clone(),
            self.clock.clone(),
            StreamChannel::User,
            &[],
            opts,
            sink,
            stop.clone(),
        )
        .await
        {
            Ok(_) => {
                tracing::info!(venue = %venue.name(), "streaming the account's orders and fills");
                self.stream_state()
                    .health
                    .entry(venue.name().to_string())
                    .or_default()
                    .user_stream = true;
            }
            Err(e) => {
                tracing::info!(venue = %venue.name(), error = %e, "no user stream; fills come from the REST sweeps");
            }
        }
    }

    /// Sorts one user-stream update into reports (no I/O here: the driver applies them).
    pub(super) fn on_user_update(
        &self,
        vi: VenueIdx,
        u: StreamUpdate,
        reports: &mut Vec<UserReport>,
    ) {
        let name = self.venues[vi].name().to_string();
        match u.kind {
            UpdateKind::Connected { .. } => {
                let mut s = self.stream_state();
                s.health.entry(name).or_default().user_connected = true;
                if s.user_down.remove(&vi) {
                    reports.push(UserReport::Reconnected);
                }
            }
            UpdateKind::Down { reason, .. } => {
                let mut s = self.stream_state();
                s.user_down.insert(vi);
                let h = s.health.entry(name).or_default();
                h.user_connected = false;
                h.disconnects += 1;
                h.last_error = Some(format!("user stream: {reason}"));
            }
            UpdateKind::Resync { .. } => {}
            UpdateKind::Events { events, .. } => {
                let mut fills = Vec::new();
                let mut n = 0;
                for e in events {
                    match e {
                        StreamEvent::Fill { fill } => {
                            n += 1;
                            fills.push(fill);
                        }
                        StreamEvent::Order { order } => {
                            n += 1;
                            reports.push(UserReport::Order(vi, order));
                        }
                        _ => {}
                    }
                }
                if !fills.is_empty() {
                    reports.push(UserReport::Fills(vi, fills));
                }
                let mut s = self.stream_state();
                let h = s.health.entry(name).or_default();
                h.user_reports += n;
                h.last_frame_ms = Some(self.clock.now_ms());
            }
        }
    }

    /// Applies the reports of one batch of updates.
    pub(super) async fn on_user_reports(
        &self,
        reports: Vec<UserReport>,
    ) -> Result<(), EngineError> {
        for r in reports {
            match r {
                UserReport::Fills(vi, fills) => {
                    let trades = self.record_fill_reports(vi, &fills, FillSource::Stream)?;
                    for t in trades {
                        self.review_trade_reports(&t).await?;
                    }
                }
                UserReport::Order(vi, order) => {
                    if let Some(order) = self.on_order_report(vi, order).await? {
                        self.stream_state().pending_orders.push((vi, order));
                    }
                }
                UserReport::Resolved(vi, instrument, payout) => {
                    self.on_streamed_resolution(vi, instrument, payout).await?;
                }
                UserReport::Reconnected => {
                    tracing::info!("user stream back: sweeping fills and unknown orders over REST");
                    self.check_fills().await?;
                    self.reconcile_pending().await?;
                }
            }
        }
        Ok(())
    }

    /// Reviews one trade's fills after reports about it.
    async fn review_trade_reports(&self, trade_id: &str) -> Result<(), EngineError> {
        if self.review_fills(trade_id).await?.deferred {
            self.defer_report(trade_id.to_string());
        }
        Ok(())
    }

    fn defer_report(&self, trade_id: String) {
        self.stream_state().pending_reports.insert(trade_id);
    }

    /// Looks again at trades reports were about while they ran.
    pub(super) async fn retry_user_reports(&self) -> Result<(), EngineError> {
        let pending: Vec<String> = {
            let s = self.stream_state();
            if s.pending_reports.is_empty() && s.pending_orders.is_empty() {
                return Ok(());
            }
            s.pending_reports.iter().cloned().collect()
        };
        // (The two locks are never held together.)
        let ready: Vec<String> = pending
            .into_iter()
            .filter(|t| !self.is_in_flight(t))
            .collect();
        {
            let mut s = self.stream_state();
            for t in &ready {
                s.pending_reports.remove(t);
            }
        }
        for t in ready {
            self.review_trade_reports(&t).await?;
        }
        let orders = std::mem::take(&mut self.stream_state().pending_orders);
        for (vi, order) in orders {
            if let Some(order) = self.on_order_report(vi, order).await? {
                self.stream_state().pending_orders.push((vi, order));
            }
        }
        Ok(())
    }
}
