//! Reading and validating a config file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::env_overrides::apply_env_overrides;
use super::model::Config;
use super::secrets::resolve_secret;

/// A config problem. Each names the file and the key path.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// File.
        file: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML, or not the expected shape.
    #[error("{file}: {key}: {message}")]
    Parse {
        /// File.
        file: PathBuf,
        /// Key path, e.g. `venue[0].timeout_ms`.
        key: String,
        /// What was expected.
        message: String,
    },
    /// Parsed but inconsistent.
    #[error("{file}: {key}: {message}")]
    Invalid {
        /// File.
        file: PathBuf,
        /// Key path.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// An environment override has a bad value.
    #[error("environment variable {var}: {message}")]
    Env {
        /// Variable.
        var: String,
        /// What is wrong.
        message: String,
    },
}

/// Loads, overrides from the environment, and validates.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    let mut cfg = parse(path, &text)?;
    cfg.source = path.to_path_buf();
    cfg.config_dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        })
        .unwrap_or_else(|| PathBuf::from("."));
    apply_env_overrides(&mut cfg)?;
    validate(&cfg)?;
    load_tls_roots(&mut cfg)?;
    Ok(cfg)
}

/// Reads each venue's `tls_roots` now, so a bad file stops the config with its key named
/// rather than the first connection.
fn load_tls_roots(cfg: &mut Config) -> Result<(), ConfigError> {
    for (i, v) in cfg.venues.iter_mut().enumerate() {
        if let Some(p) = &v.tls_roots {
            let trust = crate::venue_io::TlsTrust::load(&cfg.config_dir.join(p)).map_err(|e| {
                ConfigError::Invalid {
                    file: cfg.source.clone(),
                    key: format!("venue[{i}].tls_roots"),
                    message: e.to_string(),
                }
            })?;
            v.tls = Some(trust);
        }
    }
    Ok(())
}

/// Parses TOML text into a config, naming the key path on error.
pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        // toml's message carries a source excerpt; keep its first line and the line number.
        let msg = inner.message().to_string();
        let line = inner
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        ConfigError::Parse {
            file: file.to_path_buf(),
            key: if key == "." || key.is_empty() {
                "(top level)".into()
            } else {
                key
            },
            message: match line {
                Some(l) => format!("{msg} (line {l})"),
                None => msg,
            },
        }
    })
}

fn validate(cfg: &Config) -> Result<(), ConfigError> {
    super::validate::check_values(cfg)?;
    let invalid = |key: String, message: String| ConfigError::Invalid {
        file: cfg.source.clone(),
        key,
        message,
    };
    let mut names = BTreeSet::new();
    for (i, v) in cfg.venues.iter().enumerate() {
        if v.name.is_empty() {
            return Err(invalid(
                format!("venue[{i}].name"),
                "must not be empty".into(),
            ));
        }
        if !names.insert(v.name.as_str()) {
            return Err(invalid(
                format!("venue[{i}].name"),
                format!("duplicate venue name {:?}", v.name),
            ));
        }
        if v.timeout_ms == 0 {
            return Err(invalid(
                format!("venue[{i}].timeout_ms"),
                "must be > 0".into(),
            ));
        }
        for (class, rate) in [("read", v.rate_limit.read), ("write", v.rate_limit.write)] {
            if rate == Some(0) {
                return Err(invalid(
                    format!("venue[{i}].rate_limit.{class}"),
                    "must be at least 1 request per second".into(),
                ));
            }
        }
        for (k, r) in &v.secrets {
            resolve_secret(r, &cfg.config_dir)
                .map_err(|m| invalid(format!("venue[{i}].secrets.{k}"), m))?;
        }
    }
    let mut risk_names = BTreeSet::new();
    for (i, r) in cfg.risks.iter().enumerate() {
        if !risk_names.insert(r.name.as_str()) {
            return Err(invalid(
                format!("risk[{i}].name"),
                format!("duplicate risk name {:?}", r.name),
            ));
        }
    }
    if !matches!(cfg.engine.leg_tif.as_str(), "ioc" | "fok") {
        return Err(invalid(
            "engine.leg_tif".into(),
            format!(
                "expected \"ioc\" or \"fok\", found {:?}",
                cfg.engine.leg_tif
            ),
        ));
    }
    let mut pair_ids = BTreeSet::new();
    for (i, p) in cfg.pairs.iter().enumerate() {
        if !pair_ids.insert(p.id.as_str()) {
            return Err(invalid(
                format!("pair[{i}].id"),
                format!("duplicate pair id {:?}", p.id),
            ));
        }
        for (side, s) in [("a", &p.a), ("b", &p.b)] {
            if cfg.venue(&s.venue).is_none() {
                return Err(invalid(
                    format!("pair[{i}].{side}.venue"),
                    format!("no [[venue]] named {:?}", s.venue),
                ));
            }
            if s.yes == s.no {
                return Err(invalid(
                    format!("pair[{i}].{side}"),
                    "yes and no must be different instruments".into(),
                ));
            }
        }
        if p.a.venue == p.b.venue {
            return Err(invalid(
                format!("pair[{i}].b.venue"),
                "a pair spans two different venues".into(),
            ));
        }
    }
    for (k, r) in [
        ("api.api_key", &cfg.api.api_key),
        ("api.reset_key", &cfg.api.reset_key),
    ] {
        if let Some(r) = r {
            resolve_secret(r, &cfg.config_dir).map_err(|m| invalid(k.into(), m))?;
        }
    }
    for (i, w) in cfg.notify.webhooks.iter().enumerate() {
        resolve_secret(&w.url, &cfg.config_dir)
            .map_err(|m| invalid(format!("notify.webhooks[{i}].url"), m))?;
        if !matches!(w.format.as_str(), "json" | "slack" | "discord") {
            return Err(invalid(
                format!("notify.webhooks[{i}].format"),
                format!("expected json, slack or discord, found {:?}", w.format),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(Path::new("t.toml"), text).unwrap_err().to_string()
    }

    #[test]
    fn unknown_key_names_file_and_path() {
        let e = err("mode = \"paper\"\n[[venue]]\nname = \"a\"\nplugin = \"x\"\nbogus = 1\n");
        assert!(e.starts_with("t.toml: venue[0]"), "{e}");
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn wrong_type_names_key() {
        let e = err("[[venue]]\nname = \"a\"\nplugin = \"x\"\ntimeout_ms = \"soon\"\n");
        assert!(e.contains("venue[0].timeout_ms"), "{e}");
    }

    #[test]
    fn inline_secret_is_refused() {
        let e =
            err("[[venue]]\nname = \"a\"\nplugin = \"x\"\n[venue.secrets]\nkey = \"hunter2\"\n");
        assert!(e.contains("venue[0].secrets.key"), "{e}");
        assert!(e.contains("inline secrets are not allowed"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn a_tls_roots_file_is_read_at_load_relative_to_the_config() {
        let dir = std::env::temp_dir().join(format!("polymix-tls-roots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tls/ca.pem");
        std::fs::copy(&ca, dir.join("ca.pem")).unwrap();
        let venue = "[[venue]]\nname = \"a\"\nplugin = \"x\"\n";
        let good = dir.join("good.toml");
        std::fs::write(&good, format!("{venue}tls_roots = \"ca.pem\"\n")).unwrap();
        let cfg = load(&good).expect("a PEM CA beside the config loads");
        assert!(cfg.venues[0].tls.is_some());
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, format!("{venue}tls_roots = \"nope.pem\"\n")).unwrap();
        let e = load(&bad).unwrap_err().to_string();
        assert!(
            e.contains("venue[0].tls_roots") && e.contains("nope.pem"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rehearse_every_us_is_off_or_at_least_100() {
        let cfg = |v: &str| {
            let c = parse(
                Path::new("t.toml"),
                &format!("[engine]\nrehearse_every_us = {v}\n"),
            )?;
            validate(&c).map(|()| c)
        };
        assert_eq!(cfg("0").unwrap().engine.rehearse_every_us, 0);
        assert_eq!(cfg("1000").unwrap().engine.rehearse_every_us, 1000);
        let e = cfg("50").unwrap_err().to_string();
        assert!(
            e.contains("engine.rehearse_every_us: 50 is out of range") && e.contains("0 for off"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(cfg("-1").is_err());
        assert_eq!(
            parse(Path::new("t.toml"), "")
                .unwrap()
                .engine
                .rehearse_every_us,
            0,
            "off unless configured"
        );
    }

    #[test]
    fn bad_mode_is_named() {
        let e = err("mode = \"yolo\"\n");
        assert!(e.contains("mode"), "{e}");
    }
}
