//! Plugin metadata.

use serde::{Deserialize, Serialize};

/// The three kinds of plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    /// A venue adapter.
    Venue,
    /// A risk policy.
    Risk,
    /// A strategy.
    Strategy,
}

impl PluginKind {
    /// The file-name infix: `polymix_<kind>_<name>`.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Venue => "venue",
            PluginKind::Risk => "risk",
            PluginKind::Strategy => "strategy",
        }
    }
}

/// Name and version of a risk or strategy plugin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
}
