//! The async runtime the product runs on (the `polymix` binary, and the latency benches so
//! they measure what ships).
//!
//! Three worker threads: two to run the engine (the machine this is tuned on has two cores),
//! and one spare for a plugin call that never returns. Plugin calls run on the caller's
//! thread, and one of them at a time runs directly on it (`plugins::guard`); if that one
//! never returns, its thread is gone for good, and the spare keeps two running. Every other
//! call first moves its thread's tasks elsewhere, so no further hang costs a worker.

use std::time::Duration;
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

/// How long the process waits at exit for the runtime's threads to stop.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Stops the runtime once the command has ended, waiting at most `wait` for its threads.
/// Dropping it instead would wait for every worker thread without limit, and a thread held
/// by a plugin call that never returns (see above) never comes back: the process would not
/// exit. What the command had to record is on disk by then (the ledger writes before it
/// acts), so threads still busy after `wait` are left behind.
pub fn shutdown(rt: Runtime, wait: Duration) {
    rt.shutdown_timeout(wait);
}

/// The memory allocator of the `polymix` binary (its `#[global_allocator]`, and the latency
/// bench's). Under glibc's malloc the heap of a long live run fragments: in the
/// `frame_to_wire` bench the journal's commit on the way to the wire (`journaled`) grew from
/// ~100 µs p90 in the first few hundred trades to ~500 µs p90 over 1000, the tail in its
/// SQLite insert; with mimalloc it stays ~100 µs (BENCHMARKS.md, "The allocator"). Plugins keep their own allocator:
/// abi_stable types carry their deallocator across the boundary.
pub type Allocator = mimalloc::MiMalloc;

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker held by a call that never returns (a hung plugin) does not keep the process
    /// from ending.
    #[test]
    fn shutdown_does_not_wait_for_a_thread_a_hung_call_holds() {
        let rt = build().unwrap();
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        rt.spawn(async move {
            held_tx.send(()).unwrap();
            // Blocks this worker, as a plugin call that never returns would.
            std::thread::sleep(Duration::from_secs(3600));
        });
        held_rx.recv().unwrap();
        rt.block_on(async {});
        let t = std::time::Instant::now();
        shutdown(rt, Duration::from_millis(200));
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }
}
