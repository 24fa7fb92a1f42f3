//! Venue I/O: runs a sans-IO venue plugin's steps with one reqwest client per venue, a
//! per-venue timeout and rate limiter, and retries only where a retry cannot double an order.

mod clock;
mod http1_frame;
pub mod market_data;
mod order_lane;
mod rate_limit;
mod retry_after;
mod settings;
mod step_driver;
mod tls;
pub mod wire_stamp;

pub use clock::{Clock, SimClock, SystemClock};
pub use order_lane::OrderLane;
pub use rate_limit::RateLimiter;
pub use settings::VenueIoSettings;
pub use step_driver::{Begun, VenueError, VenueIo};
pub use tls::{TlsRootsError, TlsTrust};
