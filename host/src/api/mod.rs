//! Control API (axum): read-only state for people and scripts, and key-protected mutations.
//! Binds 127.0.0.1 by default; a non-loopback bind needs an API key, and so does every mutating
//! endpoint (without one configured they answer 403).
//!
//! Every route is declared once, in [`routes`]: the router and the OpenAPI document are both
//! built from that table, so a route cannot be served without being documented.

mod auth;
mod errors;
mod handlers;
mod latency_metrics;
mod limits;
pub mod openapi;
mod registry;
pub mod routes;
mod schemas;
mod state;
mod stream_metrics;

use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::engine::Engine;
use crate::plugins::registry::PluginRow;

pub use routes::{route_docs, Auth, Body, QueryParam, RouteDoc};

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The bind address is not an address.
    #[error("api.bind: {0:?} is not a socket address (expected e.g. 127.0.0.1:5001)")]
    BadBind(String),
    /// Non-loopback without a key.
    #[error("api.bind: {0} is not a loopback address; set api.api_key to expose the API")]
    Exposed(String),
    /// The socket could not be bound.
    #[error("api.bind: cannot listen on {addr}: {message}")]
    Listen {
        /// Address.
        addr: String,
        /// OS message.
        message: String,
    },
}

/// Bounds on the API's connections, so a flood of idle or half-open sockets cannot exhaust the
/// engine's file descriptors (the API shares the process with the trading engine).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiLimits {
    /// Connections served at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// A new connection must deliver its first request's headers within this.
    pub header_timeout: std::time::Duration,
    /// A connection on which nothing arrives for this long is closed.
    pub idle_timeout: std::time::Duration,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_connections: 256,
            header_timeout: std::time::Duration::from_secs(10),
            idle_timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// Shared state of the handlers.
pub struct ApiState {
    /// The running engine.
    pub engine: Arc<Engine>,
    /// Loaded plugins.
    pub plugins: Vec<PluginRow>,
    /// Key for mutating endpoints (`x-api-key`); without it they are disabled.
    pub api_key: Option<String>,
    /// Key for reset (`x-reset-key`, on top of the API key), if configured.
    pub reset_key: Option<String>,
    /// Connection bounds.
    pub limits: ApiLimits,
}

/// Checks the bind address against the key rule.
pub fn check_bind(bind: &str, has_key: bool) -> Result<SocketAddr, ApiError> {
    let addr: SocketAddr = bind
        .parse()
        .map_err(|_| ApiError::BadBind(bind.to_string()))?;
    if !addr.ip().is_loopback() && !has_key {
        return Err(ApiError::Exposed(bind.to_string()));
    }
    Ok(addr)
}

/// Binds and serves in the background; returns the bound address.
pub async fn serve(bind: &str, state: ApiState) -> Result<SocketAddr, ApiError> {
    let addr = check_bind(bind, state.api_key.is_some())?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ApiError::Listen {
            addr: bind.to_string(),
            message: e.to_string(),
        })?;
    let local = listener.local_addr().map_err(|e| ApiError::Listen {
        addr: bind.to_string(),
        message: e.to_string(),
    })?;
    let bounded = limits::BoundedListener::new(listener, state.limits);
    let app = router(Arc::new(state));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(bounded, app).await {
            tracing::error!(error = %e, "control API stopped");
        }
    });
    tracing::info!(addr = %local, "control API listening");
    Ok(local)
}

/// The routes, from the table in [`routes`]; mutating ones behind the key checks of their entry.
pub fn router(state: Arc<ApiState>) -> Router {
    routes::table()
        .into_iter()
        .fold(Router::new(), |r, route| {
            let handler = auth::guard(route.doc.auth, route.handler, &state);
            r.route(route.doc.path, handler)
        })
        .layer(axum::middleware::from_fn(errors::json_errors))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::check_bind;

    #[test]
    fn non_loopback_bind_needs_a_key() {
        assert!(check_bind("127.0.0.1:5001", false).is_ok());
        assert!(check_bind("[::1]:5001", false).is_ok());
        let e = check_bind("0.0.0.0:5001", false).unwrap_err().to_string();
        assert!(e.contains("api_key"), "{e}");
        assert!(check_bind("0.0.0.0:5001", true).is_ok());
        assert!(check_bind("localhost", false).is_err());
    }

    /// The router is folded from `routes::table()`, which the OpenAPI document is built from; a
    /// route added any other way would be served undocumented, so the source may have no other.
    #[test]
    fn routes_are_added_only_from_the_table() {
        fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push((
                        p.display().to_string(),
                        std::fs::read_to_string(&p).unwrap(),
                    ));
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        // Spelled in pieces so this test does not count itself.
        let adders = [
            [".rou", "te("],
            [".ne", "st("],
            [".mer", "ge("],
            [".fall", "back("],
            [".route_ser", "vice("],
        ];
        let mut found = Vec::new();
        for (path, src) in &files {
            for [x, y] in adders {
                let needle = format!("{x}{y}");
                for _ in src.matches(&needle) {
                    found.push(format!("{path}: {needle}"));
                }
            }
        }
        let expected = format!("api/mod.rs: {}{}", adders[0][0], adders[0][1]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].ends_with(&expected), "{found:?}");
    }
}
