//! Reads a 429 answer's `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.

use std::time::{Duration, SystemTime};

/// The longest wait a `Retry-After` may impose on one request. A venue asking for more is
/// treated as down for this operation: the caller gets the rate-limit error instead of a hang.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The wait a `Retry-After` value asks for, measured from `now`. `None` when the header is
/// absent or unreadable (the caller then uses its own backoff). Fractional seconds, which some
/// venues send, are honoured; a date in the past means "now".
pub fn parse(value: Option<&str>, now: SystemTime) -> Option<Duration> {
    let v = value?.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(1e9)));
        }
        return None;
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_fractions_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse(Some("1"), now), Some(Duration::from_secs(1)));
        assert_eq!(parse(Some(" 120 "), now), Some(Duration::from_secs(120)));
        assert_eq!(parse(Some("0.5"), now), Some(Duration::from_millis(500)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse(Some(&later), now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse(Some(&earlier), now), Some(Duration::ZERO));
        assert_eq!(parse(Some("-1"), now), None);
        assert_eq!(parse(Some("soon"), now), None);
        assert_eq!(parse(Some("NaN"), now), None);
        assert_eq!(parse(None, now), None);
    }
}
