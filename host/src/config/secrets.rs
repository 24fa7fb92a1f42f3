//! Secrets by reference. An inline string is refused: secrets live in the environment or in
//! files, never in a config file that gets copied around.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// `{ env = "NAME" }` or `{ file = "path" }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a secret reference: { env = \"NAME\" } or { file = \"path\" } (inline secrets are not allowed)"
)]
pub enum SecretRef {
    /// From an environment variable.
    Env {
        /// Variable name.
        env: String,
    },
    /// From a file (trailing newline trimmed), relative to the config file.
    File {
        /// File path.
        file: String,
    },
}

impl SecretRef {
    /// Where the secret comes from, for messages (never the value).
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Env { env } => format!("environment variable {env}"),
            SecretRef::File { file } => format!("file {file}"),
        }
    }
}

/// Reads a secret. The error names the reference, never a value.
pub fn resolve_secret(r: &SecretRef, config_dir: &Path) -> Result<String, String> {
    match r {
        SecretRef::Env { env } => match std::env::var(env) {
            Ok(v) if !v.is_empty() => Ok(v),
            Ok(_) => Err(format!("environment variable {env} is empty")),
            Err(_) => Err(format!("environment variable {env} is not set")),
        },
        SecretRef::File { file } => {
            let p = if Path::new(file).is_absolute() {
                Path::new(file).to_path_buf()
            } else {
                config_dir.join(file)
            };
            std::fs::read_to_string(&p)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| format!("secret file {} cannot be read: {e}", p.display()))
        }
    }
}
