//! Keeps a repeating error from flooding the ledger: a live loop that polls every second would
//! otherwise write the same "book X: venue unreachable" 3 600 times an hour. The first
//! occurrence is recorded at once; repeats within the window are counted, and the next
//! occurrence after the window is recorded with that count. Errors tied to a trade are never
//! throttled (the engine records those directly).

use std::collections::HashMap;
use std::sync::Mutex;

/// How long identical errors are folded together.
pub const WINDOW_MS: i64 = 60_000;

/// Per (source, message): when it was last recorded and how many repeats were held back.
#[derive(Default)]
pub struct ErrorThrottle {
    seen: Mutex<HashMap<(String, String), (i64, u64)>>,
}

impl ErrorThrottle {
    /// The message to record now, or `None` if this is a repeat inside the window.
    pub fn admit(&self, source: &str, message: &str, now_ms: i64) -> Option<String> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let key = (source.to_string(), message.to_string());
        match seen.get_mut(&key) {
            Some((last, held)) if now_ms - *last < WINDOW_MS => {
                *held += 1;
                None
            }
            Some((last, held)) => {
                let out = if *held > 0 {
                    format!(
                        "{message} (and {held} more like it in the {} s before)",
                        WINDOW_MS / 1000
                    )
                } else {
                    message.to_string()
                };
                *last = now_ms;
                *held = 0;
                Some(out)
            }
            None => {
                seen.insert(key, (now_ms, 0));
                Some(message.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_folded_and_counted() {
        let t = ErrorThrottle::default();
        assert_eq!(
            t.admit("ks", "book A: down", 0).as_deref(),
            Some("book A: down")
        );
        assert_eq!(t.admit("ks", "book A: down", 1_000), None);
        assert_eq!(t.admit("ks", "book A: down", 59_999), None);
        // Another message or source is its own series.
        assert!(t.admit("ks", "book B: down", 2_000).is_some());
        assert!(t.admit("pm", "book A: down", 2_000).is_some());
        assert_eq!(
            t.admit("ks", "book A: down", 60_000).as_deref(),
            Some("book A: down (and 2 more like it in the 60 s before)")
        );
        assert_eq!(t.admit("ks", "book A: down", 60_001), None);
        assert_eq!(
            t.admit("ks", "book A: down", 200_000).as_deref(),
            Some("book A: down (and 1 more like it in the 60 s before)")
        );
        assert_eq!(
            t.admit("ks", "book A: down", 300_000).as_deref(),
            Some("book A: down")
        );
    }
}
