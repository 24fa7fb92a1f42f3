//! A token bucket per (venue, request class).

use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

/// Token buckets keyed by request class (`read`, `write`, ...).
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    rates: HashMap<String, u32>,
}

impl RateLimiter {
    /// Buckets with the given per-second rates; unknown classes use the `read` rate.
    pub fn new(rates: HashMap<String, u32>) -> Self {
        RateLimiter {
            buckets: Mutex::new(HashMap::new()),
            rates,
        }
    }

    /// Waits until a token of `class` is available, then takes it.
    pub async fn acquire(&self, class: &str) {
        loop {
            let wait = {
                let mut b = self.buckets.lock().await;
                let rate = self
                    .rates
                    .get(class)
                    .or_else(|| self.rates.get("read"))
                    .copied()
                    .unwrap_or(10)
                    .max(1) as f64;
                let bucket = b.entry(class.to_string()).or_insert(Bucket {
                    tokens: rate,
                    rate,
                    burst: rate,
                    last: Instant::now(),
                });
                let now = Instant::now();
                let elapsed = now.duration_since(bucket.last).as_secs_f64();
                bucket.tokens = (bucket.tokens + elapsed * bucket.rate).min(bucket.burst);
                bucket.last = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - bucket.tokens) / bucket.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bucket_paces_requests() {
        let rl = RateLimiter::new([("write".to_string(), 20)].into_iter().collect());
        let t0 = Instant::now();
        for _ in 0..30 {
            rl.acquire("write").await;
        }
        // 20 immediately (burst), 10 more at 20/s ≈ 0.5 s.
        let e = t0.elapsed();
        assert!(e >= Duration::from_millis(400), "{e:?}");
        assert!(e < Duration::from_secs(3), "{e:?}");
    }
}
