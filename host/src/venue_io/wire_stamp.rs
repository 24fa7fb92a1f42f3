//! When requests met the wire, for the decision-to-wire measurement: a future run inside
//! [`observe`] learns when the last response it read arrived and when its first write was
//! handed to the transport. Task-local, so two legs sent side by side in one task (each in
//! its own `observe`) each see only their own requests, and nothing is shared between trades.

use std::cell::Cell;
use std::future::Future;
use std::time::Instant;

/// What one observed future did on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireStamps {
    /// When the last response body it read was complete.
    pub last_response: Option<Instant>,
    /// When its first non-idempotent request (an order write) was handed to the transport.
    pub first_write: Option<Instant>,
}

tokio::task_local! {
    static STAMPS: Cell<WireStamps>;
}

/// Runs `f`, recording its wire times.
///
/// Not an `async fn`: one that awaited `f` inside the scope kept `f` twice, as its argument and
/// inside the scope's future (an async fn's arguments are never laid over its other state), and
/// a trade's two observed legs made its sending future ~39 KB, copied on the way to the wire.
/// The stamps are read as `f` completes, inside the scope.
pub fn observe<F: Future>(f: F) -> impl Future<Output = (F::Output, WireStamps)> {
    use futures_util::FutureExt;
    STAMPS.scope(
        Cell::new(WireStamps::default()),
        f.map(|out| (out, STAMPS.with(Cell::get))),
    )
}

/// A write is about to be handed to the transport (outside [`observe`]: nothing happens).
pub(super) fn write_sent() {
    let _ = STAMPS.try_with(|c| {
        let mut s = c.get();
        if s.first_write.is_none() {
            s.first_write = Some(Instant::now());
            c.set(s);
        }
    });
}

/// A response body has been read.
pub(super) fn response_read() {
    let _ = STAMPS.try_with(|c| {
        let mut s = c.get();
        s.last_response = Some(Instant::now());
        c.set(s);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_observed_future_sees_only_its_own_stamps() {
        let ((), outer) = observe(async {
            response_read();
            let ((), inner) = observe(async {
                write_sent();
                write_sent();
            })
            .await;
            assert!(inner.first_write.is_some());
            assert!(inner.last_response.is_none());
        })
        .await;
        assert!(outer.last_response.is_some());
        assert!(
            outer.first_write.is_none(),
            "the inner write is not the outer's"
        );
        // Outside any observer nothing is recorded and nothing panics.
        write_sent();
        response_read();
    }

    #[tokio::test]
    async fn the_first_write_is_kept() {
        let ((), s) = observe(async {
            write_sent();
            let first = STAMPS.with(Cell::get).first_write;
            tokio::task::yield_now().await;
            write_sent();
            assert_eq!(STAMPS.with(Cell::get).first_write, first);
        })
        .await;
        assert!(s.first_write.is_some());
    }
}
