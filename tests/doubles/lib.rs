//! Venue test doubles served on 127.0.0.1. They check requests the way the real venues do
//! (signatures, field formats, error replies) so the live adapters are tested honestly.
pub mod fault;
pub mod kalshi;
pub mod polymarket;
pub mod tls;
