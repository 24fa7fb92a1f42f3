//! Order signatures prepared off the hot path.
//!
//! Kalshi signs `timestamp_ms + METHOD + path`, not the body (kalshi.md §2), so the signature
//! of `POST /portfolio/events/orders` can be made before the order is decided. An RSA-2048 PSS
//! signature is most of the cost of a place request (see BENCHMARKS.md), so the host asks for
//! one ahead ([`plugin_api::VenueOp::Prepare`]) and the next order uses it.

use std::sync::Mutex;

/// A signature made at `ts_ms` for the order-placement path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presigned {
    /// The signed timestamp, sent as `KALSHI-ACCESS-TIMESTAMP`.
    pub ts_ms: i64,
    /// Base64 signature.
    pub signature: String,
}

/// One prepared signature at a time, each used at most once: Kalshi documents nothing about
/// replayed signatures, so two requests never share one.
#[derive(Debug)]
pub struct PresignCache {
    max_age_ms: i64,
    slot: Mutex<Option<Presigned>>,
}

impl PresignCache {
    /// A cache whose signatures are usable for `max_age_ms` (0 turns preparing off).
    pub fn new(max_age_ms: i64) -> Self {
        PresignCache {
            max_age_ms,
            slot: Mutex::new(None),
        }
    }

    /// Whether preparing is on.
    pub fn enabled(&self) -> bool {
        self.max_age_ms > 0
    }

    fn fresh(&self, p: &Presigned, now_ms: i64) -> bool {
        // A timestamp from the future (clock stepped back) is as suspect as a stale one.
        (0..=self.max_age_ms).contains(&(now_ms - p.ts_ms))
    }

    /// Takes the prepared signature if it is still fresh at `now_ms`.
    pub fn take(&self, now_ms: i64) -> Option<Presigned> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        slot.take().filter(|p| self.fresh(p, now_ms))
    }

    /// Whether a new signature should be prepared at `now_ms`: none is ready, or the ready one
    /// is past half its life (so an order never meets one about to expire).
    pub fn needs(&self, now_ms: i64) -> bool {
        if !self.enabled() {
            return false;
        }
        let slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some(p) => !self.fresh(p, now_ms) || now_ms - p.ts_ms > self.max_age_ms / 2,
            None => true,
        }
    }

    /// Stores a freshly made signature.
    pub fn put(&self, p: Presigned) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(ts_ms: i64) -> Presigned {
        Presigned {
            ts_ms,
            signature: format!("sig{ts_ms}"),
        }
    }

    #[test]
    fn single_use_and_age_limited() {
        let c = PresignCache::new(1_000);
        assert!(c.needs(0));
        c.put(sig(10_000));
        assert!(!c.needs(10_400));
        assert!(c.needs(10_600), "past half its life");
        assert_eq!(c.take(10_900), Some(sig(10_000)));
        assert_eq!(c.take(10_900), None, "used once only");
        c.put(sig(10_000));
        assert_eq!(c.take(11_001), None, "too old");
        c.put(sig(10_000));
        assert_eq!(c.take(9_999), None, "from the future");
    }

    #[test]
    fn off_when_zero() {
        let c = PresignCache::new(0);
        assert!(!c.enabled());
        assert!(!c.needs(0));
    }
}
