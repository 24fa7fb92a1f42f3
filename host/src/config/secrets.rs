//! Secrets by reference. An inline string is refused: secrets live in the environment or in
//! files, never in a config file that gets copied around.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `{ env = "NAME" }` or `{ file = "path" }`: exactly one key. Anything else (an inline string,
/// a `value` beside `env`, both `env` and `file`) is refused without echoing what was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
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

const EXPECTED: &str =
    "a secret reference: { env = \"NAME\" } or { file = \"path\" } (inline secrets are not allowed)";

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = SecretRef;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(EXPECTED)
    }

    // Any scalar is an inline secret: say so without repeating it.
    fn visit_str<E: de::Error>(self, _v: &str) -> Result<SecretRef, E> {
        Err(E::custom(format!("expected {EXPECTED}")))
    }
    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<SecretRef, E> {
        Err(E::custom(format!("expected {EXPECTED}")))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<SecretRef, E> {
        Err(E::custom(format!("expected {EXPECTED}")))
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<SecretRef, E> {
        Err(E::custom(format!("expected {EXPECTED}")))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
        let (mut env, mut file) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            let slot = match key.as_str() {
                "env" => &mut env,
                "file" => &mut file,
                other => {
                    // The value is not read: it may be the secret itself.
                    return Err(de::Error::custom(format!(
                        "unknown key `{other}` in a secret reference; expected exactly one of \
                         `env` or `file` (inline secrets are not allowed)"
                    )));
                }
            };
            if slot.is_some() {
                return Err(de::Error::custom(format!("`{key}` given twice")));
            }
            *slot = Some(map.next_value::<String>()?);
        }
        match (env, file) {
            (Some(env), None) => Ok(SecretRef::Env { env }),
            (None, Some(file)) => Ok(SecretRef::File { file }),
            (Some(_), Some(_)) => Err(de::Error::custom(
                "a secret reference has `env` or `file`, not both",
            )),
            (None, None) => Err(de::Error::custom(format!(
                "empty table: expected {EXPECTED}"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SecretRef, D::Error> {
        d.deserialize_any(SecretVisitor)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Holder {
        k: SecretRef,
    }

    fn parse(text: &str) -> Result<SecretRef, String> {
        toml::from_str::<Holder>(text)
            .map(|h| h.k)
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn exactly_one_of_env_or_file() {
        assert_eq!(
            parse("k = { env = \"A\" }"),
            Ok(SecretRef::Env { env: "A".into() })
        );
        assert_eq!(
            parse("k = { file = \"f\" }"),
            Ok(SecretRef::File { file: "f".into() })
        );
        let e = parse("k = { env = \"A\", value = \"hunter2\" }").unwrap_err();
        assert!(
            e.contains("unknown key `value`") && !e.contains("hunter2"),
            "{e}"
        );
        let e = parse("k = { env = \"A\", file = \"f\" }").unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let e = parse("k = \"hunter2\"").unwrap_err();
        assert!(
            e.contains("inline secrets are not allowed") && !e.contains("hunter2"),
            "{e}"
        );
        assert!(parse("k = {}").is_err());
    }
}
