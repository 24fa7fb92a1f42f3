//! The one fault API of both venue doubles.
//!
//! A [`FaultRule`] names a method, a path and a [`Fault`]; the next `times` matching requests
//! get the fault. Both doubles give each fault the same meaning, answered in their venue's
//! own wire shape (Kalshi's 429 body is a bare string without `Retry-After`, Polymarket's 429
//! carries `Retry-After: 1`, as each venue does).
//!
//! The faults split by *when* they strike, which is what a client cannot see:
//! * before processing (`Status`, `Delay`, `Drop`, `Duplicate409`): nothing happens at the
//!   venue (with `Delay`, only if the client is gone before the delay ends);
//! * after processing (`StatusAfter`, `DelayAfter`, `DropAfter`, `GarbageAfter`): the request
//!   took effect (an order is booked, a cancel is done) and then the answer is lost or garbled;
//! * `Late`: the venue holds the request and processes it after the delay whether or not the
//!   client is still there (an order booked seconds after the client gave up on it).
//!
//! ```ignore
//! // Polymarket books the order, then the client sees a 502:
//! pm.inject(FaultRule::once("POST", "/order", Fault::StatusAfter(502)));
//! // Kalshi refuses the next six requests of any kind with a 429:
//! ks.inject(FaultRule::every_request(Fault::Status(429)).times(6));
//! ```

use std::time::Duration;

/// What a fault does to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status without processing (the venue's own error body for it; a 429 is
    /// the venue's rate-limit answer).
    Status(u16),
    /// Sleep, then process and answer normally (a slow venue; a client that gives up during
    /// the sleep leaves nothing processed).
    Delay(Duration),
    /// Drop the connection without processing.
    Drop,
    /// Process (the request takes effect), then answer this status (500/502/504…) with an
    /// error body instead of the real answer.
    StatusAfter(u16),
    /// Process (the request takes effect), then sleep before answering (set it past the
    /// client's timeout for "processed, then timed out").
    DelayAfter(Duration),
    /// Process (the request takes effect), then drop the connection.
    DropAfter,
    /// Process (the request takes effect), then answer with the real status but a body that
    /// is not JSON (a garbled 2xx).
    GarbageAfter,
    /// Hold the request this long, then process it whether or not the client is still there.
    Late(Duration),
    /// Refuse an order submit as a duplicate client order id (409) without processing.
    /// Kalshi's answer; the Polymarket venue has no client order ids and its double answers a
    /// plain `409` instead. On Kalshi it strikes only order submits (other requests pass).
    Duplicate409,
}

impl Fault {
    /// Whether the request is processed before the fault strikes (the venue holds what it
    /// asked for although the client may never learn it).
    pub fn processes_first(&self) -> bool {
        matches!(
            self,
            Fault::StatusAfter(_) | Fault::DelayAfter(_) | Fault::DropAfter | Fault::GarbageAfter
        )
    }
}

/// A fault rule: applies `fault` to the next `times` requests matching `method` and `path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// HTTP method, or any when `None`.
    pub method: Option<String>,
    /// Path prefix below the venue's API root, e.g. `/order` (Polymarket) or
    /// `/portfolio/events/orders` (Kalshi, without `/trade-api/v2`); empty matches every path.
    pub path: String,
    /// What happens.
    pub fault: Fault,
    /// How many requests it strikes.
    pub times: usize,
}

impl FaultRule {
    /// A one-shot fault on `method path`.
    pub fn once(method: &str, path: &str, fault: Fault) -> FaultRule {
        FaultRule {
            method: Some(method.to_string()),
            path: path.to_string(),
            fault,
            times: 1,
        }
    }

    /// A one-shot fault on the next request, whatever it is.
    pub fn every_request(fault: Fault) -> FaultRule {
        FaultRule {
            method: None,
            path: String::new(),
            fault,
            times: 1,
        }
    }

    /// The same rule for the next `n` matching requests.
    pub fn times(mut self, n: usize) -> FaultRule {
        self.times = n;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && path.starts_with(&self.path)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// The pending rules of one double, first added first matched.
#[derive(Default, Debug)]
pub(crate) struct FaultRules(Vec<FaultRule>);

impl FaultRules {
    pub(crate) fn push(&mut self, rule: FaultRule) {
        if rule.times > 0 {
            self.0.push(rule);
        }
    }

    /// The fault for this request, if a rule matches and `applies` accepts its fault; the rule
    /// is used up by one.
    pub(crate) fn take(
        &mut self,
        method: &str,
        path: &str,
        applies: impl Fn(&Fault) -> bool,
    ) -> Option<Fault> {
        let i = self
            .0
            .iter()
            .position(|r| r.matches(method, path) && applies(&r.fault))?;
        let rule = &mut self.0[i];
        rule.times -= 1;
        let f = rule.fault;
        if rule.times == 0 {
            self.0.remove(i);
        }
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_method_and_path_prefix_and_wear_out() {
        let mut r = FaultRules::default();
        r.push(FaultRule::once("POST", "/order", Fault::Drop).times(2));
        r.push(FaultRule::every_request(Fault::Status(429)));
        assert_eq!(r.take("GET", "/order", |_| true), Some(Fault::Status(429)));
        assert_eq!(r.take("GET", "/order", |_| true), None);
        assert_eq!(r.take("post", "/orders", |_| true), Some(Fault::Drop));
        assert_eq!(r.take("POST", "/book", |_| true), None);
        assert_eq!(r.take("POST", "/order", |_| false), None);
        assert_eq!(r.take("POST", "/order", |_| true), Some(Fault::Drop));
        assert_eq!(r.take("POST", "/order", |_| true), None);
    }
}
