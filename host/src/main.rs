//! `polymix`: the command-line front of the PolyMix host.

mod cli;

use clap::Parser;
use std::process::ExitCode;

// mimalloc: under glibc's malloc, a long live run's heap fragments and the journal's commit on
// the way to the wire grows a tail (BENCHMARKS.md, "The allocator").
#[global_allocator]
static ALLOCATOR: polymix_host::runtime::Allocator = polymix_host::runtime::Allocator {};

fn main() -> ExitCode {
    // The hidden plugin probe (polymix_host::plugins::probe): load one file and exit, before
    // anything else starts (no logging, no runtime) so a crash takes only this process.
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if raw
        .get(1)
        .is_some_and(|a| a == polymix_host::plugins::probe::SUBCOMMAND)
    {
        let code = polymix_host::plugins::probe::run_child(&raw[2..]);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let args = cli::Cli::parse();
    // Held until the command ends: dropping it writes the lines still queued.
    let log = cli::init_logging(&args);
    let rt = match polymix_host::runtime::build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(cli::dispatch(args));
    // Not a plain drop: a thread a hung plugin call holds would keep the process from exiting.
    polymix_host::runtime::shutdown(rt, polymix_host::runtime::SHUTDOWN_WAIT);
    // The queued log lines go out before the last line below, which says why it failed.
    drop(log);
    match result {
        Ok(code) => code,
        // The reader of our output went away (`| head`): nothing left to say to anyone.
        Err(e) if cli::output::is_stdout_closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", cli::error_line(&e));
            ExitCode::from(1)
        }
    }
}
