//! The async runtime the product runs on (the `polymix` binary, and the latency benches so
//! they measure what ships).
//!
//! Three worker threads: two to run the engine (the machine this is tuned on has two cores),
//! and one spare for a plugin call that never returns. Plugin calls run on the caller's
//! thread, and one of them at a time runs directly on it (`plugins::guard`); if that one
//! never returns, its thread is gone for good, and the spare keeps two running. Every other
//! call first moves its thread's tasks elsewhere, so no further hang costs a worker.

use tokio::runtime::{Builder, Runtime};

/// Worker threads: two, plus one spare for a plugin call that never returns.
pub const WORKER_THREADS: usize = 3;

/// Builds the runtime (time and I/O enabled).
pub fn build() -> std::io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .enable_all()
        .build()
}
