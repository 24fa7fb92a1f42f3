//! The one step driver for tests: venue operations run through the host's own [`VenueIo`]
//! (retries, timeouts, rate limits, journaling exactly as the engine and the CLI get them) on a
//! plugin loaded as a cdylib through the registry, exactly as `polymix` loads it.

use polymix_host::plugins::Registry;
use polymix_host::venue_io::{SystemClock, VenueIo, VenueIoSettings};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::support::plugin_dirs_toml;

/// Loads the plugins of a config holding `venues` (TOML blocks).
pub async fn registry_for(dir: &Path, venues: &str) -> Registry {
    let p = dir.join("venues.toml");
    std::fs::write(
        &p,
        format!("mode = \"live\"\n{}\n{venues}", plugin_dirs_toml()),
    )
    .expect("write config");
    let cfg = polymix_host::config::load(&p).expect("config loads");
    tokio::task::spawn_blocking(move || Registry::build(&cfg))
        .await
        .expect("join")
        .expect("plugins load")
}

/// The host's I/O for venue `name`, with a short backoff so the tests stay quick.
pub fn venue_io(reg: &Registry, name: &str, timeout_ms: u64, retries: u32) -> VenueIo {
    VenueIo::new(
        name,
        reg.venue(name).expect("venue").handle.clone(),
        VenueIoSettings {
            timeout: Duration::from_millis(timeout_ms),
            retries,
            rates: [("read".to_string(), 100), ("write".to_string(), 100)]
                .into_iter()
                .collect(),
            backoff: Duration::from_millis(20),
            market_data_only: false,
            tls: None,
            order_connection: true,
        },
        Arc::new(SystemClock),
    )
}

/// Writes a secret to a file in `dir` and returns the TOML that points a `[venue.secrets]`
/// entry at it (secrets are never written into the config itself).
pub fn secret_file(dir: &Path, name: &str, value: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, value).expect("write secret");
    format!("{{ file = {:?} }}", p.display().to_string())
}
