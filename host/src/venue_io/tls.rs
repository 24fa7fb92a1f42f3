//! Which servers a venue's connections trust. By default the built-in web PKI roots (what
//! `https://` and `wss://` to Polymarket and Kalshi need); a venue entry's `tls_roots` names a
//! PEM file whose certificates are trusted beside them, for both its REST client and its
//! websocket streams: a venue's demo or a gateway behind a private CA, a TLS-intercepting
//! proxy, a test double on 127.0.0.1. One rustls config on the ring provider (the one reqwest
//! and tokio-tungstenite already bring), so no second TLS stack enters the tree.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// Why a `tls_roots` file cannot be trusted.
#[derive(Debug, thiserror::Error)]
pub enum TlsRootsError {
    /// Missing, unreadable, or not PEM.
    #[error("{path}: cannot read PEM certificates: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The PEM reader's answer.
        reason: String,
    },
    /// Read, but no `CERTIFICATE` block in it (a key file named by mistake, say).
    #[error("{path}: no CERTIFICATE block in the file")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A block that is not an X.509 certificate rustls can use as a root.
    #[error("{path}: certificate {index} is not a usable root: {reason}")]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// 1-based position of the block in the file.
        index: usize,
        /// What the parser said.
        reason: String,
    },
    /// The ring provider refused the protocol versions (not expected; named, not unwrapped).
    #[error("TLS client config: {0}")]
    Config(String),
}

/// The trust of one venue's connections: the web PKI roots plus a `tls_roots` file's
/// certificates. Cheap to clone.
#[derive(Clone)]
pub struct TlsTrust {
    config: Arc<rustls::ClientConfig>,
    source: PathBuf,
    extra: usize,
}

impl fmt::Debug for TlsTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TlsTrust(web PKI + {} root(s) from {})",
            self.extra,
            self.source.display()
        )
    }
}

/// A rustls config trusting the web PKI roots alone, on the ring provider (as `TlsTrust`'s);
/// `None` if the provider refuses the default protocol versions (not expected).
pub(super) fn web_pki_config() -> Option<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .ok()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

impl TlsTrust {
    /// Trusts the web PKI roots and every certificate of the PEM file at `path`.
    pub fn load(path: &Path) -> Result<Self, TlsRootsError> {
        let read_err = |reason: String| TlsRootsError::Read {
            path: path.to_path_buf(),
            reason,
        };
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let mut extra = 0usize;
        for (i, cert) in CertificateDer::pem_file_iter(path)
            .map_err(|e| read_err(e.to_string()))?
            .enumerate()
        {
            let cert = cert.map_err(|e| read_err(e.to_string()))?;
            roots.add(cert).map_err(|e| TlsRootsError::BadCertificate {
                path: path.to_path_buf(),
                index: i + 1,
                reason: e.to_string(),
            })?;
            extra += 1;
        }
        if extra == 0 {
            return Err(TlsRootsError::Empty {
                path: path.to_path_buf(),
            });
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsRootsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(TlsTrust {
            config: Arc::new(config),
            source: path.to_path_buf(),
            extra,
        })
    }

    /// The rustls config, for a websocket connector.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        self.config.clone()
    }

    /// A copy of the config for reqwest (`use_preconfigured_tls` takes it by value).
    pub fn reqwest_config(&self) -> rustls::ClientConfig {
        (*self.config).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_ca_loads_and_bad_files_are_named() {
        let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tls/ca.pem");
        let t = TlsTrust::load(&ca).expect("the fixture CA loads");
        assert_eq!(t.extra, 1);
        assert!(format!("{t:?}").contains("1 root(s)"));

        let missing = TlsTrust::load(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(matches!(missing, TlsRootsError::Read { .. }), "{missing}");
        assert!(missing.to_string().contains("/nonexistent/ca.pem"));

        // A key file named by mistake: no certificate in it.
        let e = TlsTrust::load(&ca.with_file_name("server.key")).unwrap_err();
        assert!(matches!(e, TlsRootsError::Empty { .. }), "{e}");

        let junk =
            std::env::temp_dir().join(format!("polymix-tls-junk-{}.pem", std::process::id()));
        std::fs::write(
            &junk,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = TlsTrust::load(&junk).unwrap_err();
        let _ = std::fs::remove_file(&junk);
        assert!(
            matches!(e, TlsRootsError::BadCertificate { index: 1, .. }),
            "{e}"
        );
    }
}
