//! Configuration: TOML with `deny_unknown_fields` everywhere, secrets only by reference, and
//! the seed's environment variables as overrides (delivered to the plugins that declare them). Every error names the file and key path.

mod discovery;
mod env_overrides;
mod load;
mod model;
mod roles;
mod secrets;
mod validate;

pub use discovery::{DiscoverySection, AUTO_PAPER_ACTOR};
pub use env_overrides::{fill_declared_secrets, HostEnv};
pub use load::{load, ConfigError};
pub use model::*;
pub use roles::VenueRole;
pub use secrets::{resolve_secret, SecretRef};
pub use validate::validate_for_run;
