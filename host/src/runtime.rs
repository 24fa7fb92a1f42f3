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

/// The memory allocator of the `polymix` binary (its `#[global_allocator]`, and the latency
/// bench's). Under glibc's malloc the heap of a long live run fragments: in the
/// `frame_to_wire` bench the journal's commit on the way to the wire (`journaled`) grew from
/// ~100 µs p90 in the first few hundred trades to ~500 µs p90 over 1000, the tail in its
/// SQLite insert; with mimalloc it stays ~100 µs (BENCHMARKS.md, "The allocator"). Plugins keep their own allocator:
/// abi_stable types carry their deallocator across the boundary.
pub type Allocator = mimalloc::MiMalloc;
