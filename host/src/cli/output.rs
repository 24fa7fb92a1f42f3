//! Standard output that a closed pipe cannot crash. `println!` panics when the reader is gone
//! (`polymix check | head -0`); these return [`StdoutClosed`] instead, and `main` ends quietly
//! on it. Other errors are untouched: a broken pipe to a venue is not the reader leaving.

use std::io::Write;

/// Standard output's reader went away.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct StdoutClosed;

/// Writes `text` to stdout and flushes.
pub fn write(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => anyhow::Error::new(StdoutClosed),
            _ => anyhow::anyhow!("cannot write to standard output: {e}"),
        })
}

/// Whether the command stopped because stdout's reader went away.
pub fn is_stdout_closed(e: &anyhow::Error) -> bool {
    e.downcast_ref::<StdoutClosed>().is_some()
}

/// `println!` that returns an error instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::output::write(&format!("{}\n", format_args!($($arg)*)))?
    };
}

/// `print!` that returns an error instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write(&format!($($arg)*))?
    };
}

pub(crate) use {out, outln};
