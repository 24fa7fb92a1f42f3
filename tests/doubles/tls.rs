//! Serving a double over TLS (`https://`, `wss://`) with the committed test identity
//! (`tests/fixtures/tls`: a private CA and a certificate for 127.0.0.1 it signed). Clients
//! trust it by naming `tests/fixtures/tls/ca.pem` (a venue entry's `tls_roots`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The directory of the test identity.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls")
}

/// The CA a client must trust to reach a TLS double.
pub fn ca_pem_path() -> PathBuf {
    fixtures_dir().join("ca.pem")
}

fn acceptor() -> TlsAcceptor {
    let dir = fixtures_dir();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .expect("fixtures/tls/server.pem")
        .collect::<Result<_, _>>()
        .expect("server certificate PEM");
    let key =
        PrivateKeyDer::from_pem_file(dir.join("server.key")).expect("fixtures/tls/server.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("test identity");
    TlsAcceptor::from(Arc::new(config))
}

/// A TCP listener whose connections are TLS, for `axum::serve`.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl TlsListener {
    /// Wraps a bound listener.
    pub fn new(tcp: TcpListener) -> Self {
        TlsListener {
            tcp,
            acceptor: acceptor(),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            // A client that refuses our certificate (it does not trust the CA) fails here:
            // that is the point of the negative tests, so it is dropped, not fatal.
            match tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS double: handshake refused"),
                Err(_) => tracing::debug!("TLS double: handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
