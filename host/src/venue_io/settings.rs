//! Per-venue I/O settings, resolved from the `[[venue]]` entry and what the plugin advertises.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::config::{VenueEntry, DEFAULT_READ_RATE, DEFAULT_WRITE_RATE};

/// Per-venue I/O settings.
#[derive(Clone, Debug)]
pub struct VenueIoSettings {
    /// Request timeout.
    pub timeout: Duration,
    /// Retries of rate-limited operations and idempotent requests.
    pub retries: u32,
    /// Requests per second per class.
    pub rates: HashMap<String, u32>,
    /// First backoff; doubles per retry, with jitter.
    pub backoff: Duration,
    /// A `market-data` instance: only public market-data operations are dispatched
    /// (see [`super::market_data`]).
    pub market_data_only: bool,
    /// Extra TLS roots (`tls_roots`), for REST and streams; `None`: the web PKI roots.
    pub tls: Option<super::TlsTrust>,
    /// Order writes on a kept connection of their own (`order_connection`).
    pub order_connection: bool,
}

impl VenueIoSettings {
    /// Settings for one venue. Each rate class paces at the config's value when set, else at
    /// what the plugin advertises for the account (Kalshi: the tier), else the default. A
    /// configured rate above the advertised one is kept (the operator may know better, e.g. a
    /// raised limit) but logged, since the venue will likely answer 429. Classes of the
    /// venue's own beyond `read` and `write` (Polymarket's `order` and `cancel` buckets) pace
    /// at what the plugin advertises; one it does not advertise paces at the `read` rate.
    pub fn resolve(entry: &VenueEntry, advertised: &BTreeMap<String, u32>) -> Self {
        let mut rates: HashMap<String, u32> = advertised
            .iter()
            .filter(|(_, r)| **r > 0)
            .map(|(c, r)| (c.clone(), *r))
            .collect();
        for (class, configured, default) in [
            ("read", entry.rate_limit.read, DEFAULT_READ_RATE),
            ("write", entry.rate_limit.write, DEFAULT_WRITE_RATE),
        ] {
            let venue_says = advertised.get(class).copied().filter(|r| *r > 0);
            let rate = match (configured, venue_says) {
                (Some(c), Some(v)) if c > v => {
                    tracing::warn!(venue = %entry.name, class, configured = c, advertised = v, "configured rate limit is above what the venue allows this account");
                    c
                }
                (Some(c), _) => c,
                (None, Some(v)) => v,
                (None, None) => default,
            };
            rates.insert(class.to_string(), rate);
        }
        VenueIoSettings {
            timeout: Duration::from_millis(entry.timeout_ms),
            retries: entry.retries,
            rates,
            backoff: Duration::from_millis(200),
            market_data_only: entry.role == crate::config::VenueRole::MarketData,
            tls: entry.tls.clone(),
            order_connection: entry.order_connection,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(read: Option<u32>, write: Option<u32>) -> VenueEntry {
        let mut e: VenueEntry = toml::from_str("name = \"ks\"\nplugin = \"kalshi\"\n").unwrap();
        e.rate_limit.read = read;
        e.rate_limit.write = write;
        e
    }

    #[test]
    fn config_then_plugin_then_default() {
        let tier: BTreeMap<String, u32> = [("read".to_string(), 30), ("write".to_string(), 30)]
            .into_iter()
            .collect();
        let s = VenueIoSettings::resolve(&entry(None, None), &tier);
        assert_eq!((s.rates["read"], s.rates["write"]), (30, 30));
        let s = VenueIoSettings::resolve(&entry(Some(5), None), &tier);
        assert_eq!((s.rates["read"], s.rates["write"]), (5, 30));
        let s = VenueIoSettings::resolve(&entry(None, None), &BTreeMap::new());
        assert_eq!(
            (s.rates["read"], s.rates["write"]),
            (DEFAULT_READ_RATE, DEFAULT_WRITE_RATE)
        );
        assert_eq!(s.timeout, Duration::from_millis(10_000));
    }

    #[test]
    fn a_venue_class_of_its_own_paces_at_its_advertised_rate() {
        let pm: BTreeMap<String, u32> = [("order".to_string(), 60), ("cancel".to_string(), 50)]
            .into_iter()
            .collect();
        let s = VenueIoSettings::resolve(&entry(Some(5), None), &pm);
        assert_eq!(s.rates["order"], 60);
        assert_eq!(s.rates["cancel"], 50);
        assert_eq!((s.rates["read"], s.rates["write"]), (5, DEFAULT_WRITE_RATE));
    }
}
