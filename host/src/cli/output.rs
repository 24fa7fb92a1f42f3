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

/// The log's writer (`init_logging`). Operator notes on stderr go through it too, so they
/// keep their order among log lines and never wait for stderr.
static NOTES: std::sync::OnceLock<tracing_appender::non_blocking::NonBlocking> =
    std::sync::OnceLock::new();

/// Sends later [`note`]s through the log's writer.
pub(crate) fn set_notes(w: tracing_appender::non_blocking::NonBlocking) {
    let _ = NOTES.set(w);
}

/// Queues one line for the operator on stderr (see [`note`]).
pub(crate) fn note_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    match NOTES.get() {
        Some(w) => {
            // Queued, or dropped if stderr has stopped taking lines: never waited for.
            let _ = w.clone().write_all(format!("{args}\n").as_bytes());
        }
        None => eprintln!("{args}"),
    }
}

/// `eprintln!` for a running command: the line is queued for stderr by the log's writer
/// thread, so a stderr that takes nothing never stops the engine.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::cli::output::note_line(format_args!($($arg)*))
    };
}

pub(crate) use {note, out, outln};
