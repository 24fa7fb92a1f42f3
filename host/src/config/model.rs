//! The configuration schema.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::roles::VenueRole;
use super::secrets::SecretRef;

/// Paper (simulated venues only) or live (real money).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Simulated venues only; the default.
    #[default]
    Paper,
    /// Real venues; needs confirmation (`--live` or `LIVE_TRADING=true`).
    Live,
}

impl Mode {
    /// `paper` or `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Paper => "paper",
            Mode::Live => "live",
        }
    }
}

/// The whole file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Paper or live.
    #[serde(default)]
    pub mode: Mode,
    /// Where the ledgers live (`paper.sqlite`, `live.sqlite`); relative to the config file.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Plugin search settings.
    #[serde(default)]
    pub plugins: PluginsSection,
    /// Venue instances.
    #[serde(default, rename = "venue")]
    pub venues: Vec<VenueEntry>,
    /// Risk policy instances.
    #[serde(default, rename = "risk")]
    pub risks: Vec<PluginEntry>,
    /// The strategy.
    pub strategy: Option<PluginEntry>,
    /// Engine behaviour.
    #[serde(default)]
    pub engine: EngineSection,
    /// Pairs to watch.
    #[serde(default, rename = "pair")]
    pub pairs: Vec<PairEntry>,
    /// Control API.
    #[serde(default)]
    pub api: ApiSection,
    /// Notifications.
    #[serde(default)]
    pub notify: NotifySection,
    /// Pair discovery run by the engine (paper mode's auto-approval).
    #[serde(default)]
    pub discovery: super::discovery::DiscoverySection,
    /// Directory of the config file (set by the loader, never read from TOML).
    #[serde(skip)]
    pub config_dir: PathBuf,
    /// Path of the config file (set by the loader).
    #[serde(skip)]
    pub source: PathBuf,
    /// Well-known settings from the seed's environment variables (set by the loader; the
    /// registry hands each to the plugins that declare it).
    #[serde(skip)]
    pub host_env: super::env_overrides::HostEnv,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

/// `[plugins]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsSection {
    /// Directories searched after an explicit `path`, relative to the config file.
    #[serde(default)]
    pub dirs: Vec<PathBuf>,
    /// Host-side timeout for one plugin call, ms.
    #[serde(default = "default_call_timeout")]
    pub call_timeout_ms: u64,
}

impl Default for PluginsSection {
    fn default() -> Self {
        PluginsSection {
            dirs: Vec::new(),
            call_timeout_ms: default_call_timeout(),
        }
    }
}

fn default_call_timeout() -> u64 {
    2_000
}

/// A `[[venue]]` entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueEntry {
    /// Instance name, used by pairs.
    pub name: String,
    /// Plugin name: file `polymix_venue_<plugin>`.
    pub plugin: String,
    /// Explicit plugin file, wins over the search path.
    pub path: Option<PathBuf>,
    /// Handed to the plugin as JSON.
    #[serde(default)]
    pub settings: toml::Table,
    /// Secrets by reference: `{ env = "NAME" }` or `{ file = "path" }`.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretRef>,
    /// Request timeout, ms (the seed's 10 s).
    #[serde(default = "default_request_timeout")]
    pub timeout_ms: u64,
    /// Retries for idempotent requests and rate-limited operations.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Client-side rate limits, requests per second per class.
    #[serde(default)]
    pub rate_limit: RateLimitSection,
    /// What the instance is for: `trading` (default) or `market-data` (public data only;
    /// the host refuses every order, cancel and account operation to it). See `roles.rs`.
    #[serde(default)]
    pub role: VenueRole,
    /// A simulator fed by a `market-data` instance instead of a scenario file: its name.
    pub feed: Option<String>,
    /// Stream this venue's books over its websocket (when the plugin offers one); REST
    /// polling stays the fallback while the stream is down. Off by default.
    #[serde(default)]
    pub stream: bool,
    /// A tighter staleness bound for the stream than the plugin's own, ms.
    #[serde(default)]
    pub stream_stale_ms: Option<u64>,
    /// A PEM file of root certificates this venue's REST and websocket connections trust
    /// beside the built-in web PKI roots (a private CA, a TLS-intercepting proxy, a test
    /// double); relative to the config file.
    #[serde(default)]
    pub tls_roots: Option<PathBuf>,
    /// The trust built from `tls_roots` when the config loads (not a config key).
    #[serde(skip)]
    pub tls: Option<crate::venue_io::TlsTrust>,
    /// Keep one connection for this venue's order writes and write each order from its
    /// trade's own task (`venue_io/order_lane.rs`); `false` sends them through the HTTP
    /// client like every other request. On by default.
    #[serde(default = "default_true")]
    pub order_connection: bool,
}

fn default_request_timeout() -> u64 {
    10_000
}

fn default_retries() -> u32 {
    3
}

/// Requests per second per class. Unset classes take the rate the venue plugin advertises
/// (e.g. the Kalshi tier), else the defaults (20 reads, 10 writes per second).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    /// Reads per second.
    pub read: Option<u32>,
    /// Writes per second.
    pub write: Option<u32>,
}

/// Reads per second when neither config nor plugin says.
pub const DEFAULT_READ_RATE: u32 = 20;
/// Writes per second when neither config nor plugin says.
pub const DEFAULT_WRITE_RATE: u32 = 10;

/// A `[[risk]]` or `[strategy]` entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    /// Instance name.
    pub name: String,
    /// Plugin name: file `polymix_<kind>_<plugin>`.
    pub plugin: String,
    /// Explicit plugin file.
    pub path: Option<PathBuf>,
    /// Handed to the plugin as JSON.
    #[serde(default)]
    pub settings: toml::Table,
}

/// `[engine]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    /// Time in force of entry legs: `ioc` or `fok`.
    #[serde(default = "default_leg_tif")]
    pub leg_tif: String,
    /// How many ticks below the best bid the last unwind attempt may sell.
    #[serde(default = "default_unwind_ticks")]
    pub unwind_max_ticks: u32,
    /// Give up unwinding (and mark NAKED) after this long, ms.
    #[serde(default = "default_unwind_time_cap")]
    pub unwind_time_cap_ms: u64,
    /// Live mode: poll books every this many ms.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// Live mode: check resolutions and fills every this many ms.
    #[serde(default = "default_settle_poll_ms")]
    pub settle_poll_ms: u64,
    /// How long after an order was sent a venue may still book it when its answer was lost
    /// (a venue can hold a request for seconds before processing it). Until then "not found"
    /// is not final: the order is looked up again at every reconciliation sweep, ms.
    #[serde(default = "default_order_appear_window_ms")]
    pub order_appear_window_ms: u64,
    /// Live mode: look up orders whose outcome is unknown every this many ms.
    #[serde(default = "default_reconcile_ms")]
    pub reconcile_ms: u64,
    /// Live mode: every this many µs each live venue builds a representative order and drops
    /// it (`VenueOp::Rehearse`, never sent), keeping the way to the wire in the CPU's caches
    /// (`engine/rehearse.rs`). Costs CPU all the time; 0 (the default) turns it off.
    #[serde(default)]
    pub rehearse_every_us: u64,
}

impl Default for EngineSection {
    fn default() -> Self {
        EngineSection {
            leg_tif: default_leg_tif(),
            unwind_max_ticks: default_unwind_ticks(),
            unwind_time_cap_ms: default_unwind_time_cap(),
            poll_ms: default_poll_ms(),
            settle_poll_ms: default_settle_poll_ms(),
            order_appear_window_ms: default_order_appear_window_ms(),
            reconcile_ms: default_reconcile_ms(),
            rehearse_every_us: 0,
        }
    }
}

fn default_leg_tif() -> String {
    "ioc".into()
}
fn default_unwind_ticks() -> u32 {
    10
}
fn default_unwind_time_cap() -> u64 {
    30_000
}
fn default_poll_ms() -> u64 {
    1_000
}
fn default_settle_poll_ms() -> u64 {
    10_000
}
fn default_order_appear_window_ms() -> u64 {
    60_000
}
fn default_reconcile_ms() -> u64 {
    2_000
}

/// A `[[pair]]`: one proposition on two venues.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairEntry {
    /// Stable id.
    pub id: String,
    /// Human description of the proposition P.
    #[serde(default)]
    pub title: String,
    /// Venue A's instruments.
    pub a: PairSideEntry,
    /// Venue B's instruments.
    pub b: PairSideEntry,
}

/// One venue's instruments of a pair.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairSideEntry {
    /// Venue instance name.
    pub venue: String,
    /// Instrument paying if P.
    pub yes: String,
    /// Instrument paying if not P.
    pub no: String,
}

/// `[api]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Serve the control API during `run`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Bind address; non-loopback needs `api_key`.
    #[serde(default = "default_bind")]
    pub bind: String,
    /// Key for mutating endpoints.
    pub api_key: Option<SecretRef>,
    /// Key for reset (seed: `LIVE_TRADING_RESET_KEY`).
    pub reset_key: Option<SecretRef>,
    /// Connections served at once; more are closed on accept.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// A new connection must send its request headers within this, ms.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_ms: u64,
    /// A connection silent for this long is closed, ms.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_ms: u64,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            enabled: true,
            bind: default_bind(),
            api_key: None,
            reset_key: None,
            max_connections: default_max_connections(),
            header_timeout_ms: default_header_timeout(),
            idle_timeout_ms: default_idle_timeout(),
        }
    }
}

fn default_max_connections() -> u32 {
    256
}
fn default_header_timeout() -> u64 {
    10_000
}
fn default_idle_timeout() -> u64 {
    60_000
}

fn default_true() -> bool {
    true
}
fn default_bind() -> String {
    "127.0.0.1:5001".into()
}

/// `[notify]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    /// Webhook targets.
    #[serde(default)]
    pub webhooks: Vec<WebhookEntry>,
}

/// One webhook.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEntry {
    /// Target URL, by reference if it embeds a token.
    pub url: SecretRef,
    /// `json`, `slack` or `discord`.
    #[serde(default = "default_format")]
    pub format: String,
}

fn default_format() -> String {
    "json".into()
}

impl Config {
    /// Resolves a path from the config relative to the config file's directory.
    pub fn resolve_path(&self, p: &std::path::Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.config_dir.join(p)
        }
    }

    /// The ledger file for the configured mode.
    pub fn ledger_path(&self) -> PathBuf {
        self.resolve_path(&self.data_dir)
            .join(format!("{}.sqlite", self.mode.as_str()))
    }

    /// A venue entry by instance name.
    pub fn venue(&self, name: &str) -> Option<&VenueEntry> {
        self.venues.iter().find(|v| v.name == name)
    }
}
