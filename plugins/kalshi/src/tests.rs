//! Venue-level tests.
