//! The one error type that crosses the plugin boundary.

use serde::{Deserialize, Serialize};
use std::fmt;

crate::tag_first::tag_first_enum! {
    /// What kind of failure a [`PluginError`] is. The host decides retries from it: only
    /// [`ErrorKind::RateLimited`], [`ErrorKind::Timeout`] and [`ErrorKind::Network`] are transient.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum ErrorKind tagged "kind" {
        /// Credentials missing, malformed or refused.
        Auth,
        /// The venue asked us to slow down.
        RateLimited,
        /// The venue refused the request for a business reason; `code` is the venue's own code.
        Rejected {
            /// The venue's error code or string, e.g. `insufficient_balance`.
            code: String,
        },
        /// The caller passed something invalid (bad settings, a price off tick, ...).
        InvalidInput,
        /// No answer in time. For an order this means the outcome is unknown, not that it failed.
        Timeout,
        /// The connection failed.
        Network,
        /// A response could not be understood.
        Parse,
        /// The plugin does not implement this operation.
        Unsupported,
        /// The plugin panicked; the host disables the instance.
        Panic,
        /// Anything else.
        Internal,
    }
}

impl ErrorKind {
    /// Stable numeric code used on the wire between host and plugin.
    pub fn code(&self) -> u32 {
        match self {
            ErrorKind::Auth => 1,
            ErrorKind::RateLimited => 2,
            ErrorKind::Rejected { .. } => 3,
            ErrorKind::InvalidInput => 4,
            ErrorKind::Timeout => 5,
            ErrorKind::Network => 6,
            ErrorKind::Parse => 7,
            ErrorKind::Unsupported => 8,
            ErrorKind::Panic => 9,
            ErrorKind::Internal => 10,
        }
    }

    /// Rebuilds a kind from its wire code; unknown codes (from a newer plugin) become `Internal`.
    pub fn from_code(code: u32, reject_code: &str) -> ErrorKind {
        match code {
            1 => ErrorKind::Auth,
            2 => ErrorKind::RateLimited,
            3 => ErrorKind::Rejected {
                code: reject_code.to_string(),
            },
            4 => ErrorKind::InvalidInput,
            5 => ErrorKind::Timeout,
            6 => ErrorKind::Network,
            7 => ErrorKind::Parse,
            8 => ErrorKind::Unsupported,
            9 => ErrorKind::Panic,
            _ => ErrorKind::Internal,
        }
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Timeout | ErrorKind::Network
        )
    }

    fn label(&self) -> String {
        match self {
            ErrorKind::Rejected { code } => format!("rejected ({code})"),
            other => format!("{other:?}").to_lowercase(),
        }
    }
}

/// An error from a plugin: a kind and a human-readable message. Messages must never contain
/// secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct PluginError {
    /// What went wrong, by category.
    pub kind: ErrorKind,
    /// What went wrong, for a person.
    pub message: String,
}

impl PluginError {
    /// Builds an error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            message: message.into(),
        }
    }

    /// An [`ErrorKind::InvalidInput`] error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// An [`ErrorKind::Parse`] error.
    pub fn parse(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Parse, message)
    }

    /// An [`ErrorKind::Rejected`] error with the venue's code.
    pub fn rejected(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Rejected { code: code.into() }, message)
    }

    /// An [`ErrorKind::Unsupported`] error naming the operation.
    pub fn unsupported(what: &str) -> Self {
        Self::new(ErrorKind::Unsupported, format!("{what} is not supported"))
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.label(), self.message)
    }
}

/// Result alias used across the API.
pub type PluginResult<T> = Result<T, PluginError>;
