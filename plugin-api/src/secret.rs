//! Secrets handed to plugins. They print as `***` so a stray `{:?}` cannot leak them.

use std::collections::BTreeMap;
use std::fmt;

/// A secret value. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Named secrets of one plugin instance, e.g. `private_key`, `api_key_id`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets(BTreeMap<String, Secret>);

impl Secrets {
    /// An empty set.
    pub fn new() -> Self {
        Secrets(BTreeMap::new())
    }

    /// Adds a secret.
    pub fn insert(&mut self, name: impl Into<String>, value: Secret) {
        self.0.insert(name.into(), value);
    }

    /// A secret by name.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.0.get(name)
    }

    /// A secret by name, or an Auth error naming it.
    pub fn require(&self, name: &str) -> crate::PluginResult<&Secret> {
        self.get(name).ok_or_else(|| {
            crate::PluginError::new(
                crate::ErrorKind::Auth,
                format!("secret `{name}` is not configured"),
            )
        })
    }

    /// Names and values, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}
