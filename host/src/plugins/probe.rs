//! Loading a plugin file in a child process first, so a file that crashes the dynamic loader
//! (or its own initialisers) kills the child, not the host.
//!
//! The static check ([`super::elf_check`]) refuses what it can see (truncated files, wild
//! header offsets); corruption it does not inspect (code bytes, symbol tables, an initialiser
//! that aborts) only shows when the loader runs. So before the host `dlopen`s a file it runs
//! its own binary as `polymix __probe-plugin --kind KIND PATH`: the child loads the file with
//! every check the host makes (structure, symbol, kind, plugin-api version, layout) and exits
//! 0, or prints the refusal and exits [`REFUSED`]. A child killed by a signal, one that does
//! not finish within [`TIMEOUT`], or any other exit refuses the file with one line naming it
//! and how the child died; the host goes on and the file is never loaded in-process.
//!
//! When it runs: only when the running executable is the `polymix` binary (a test binary
//! that builds a registry in-process is not, and cannot be re-run as a probe), or when
//! `POLYMIX_PROBE_EXE` names a `polymix` binary to probe with (tests set it to the built one).

use plugin_api::PluginKind;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The hidden subcommand the child runs.
pub const SUBCOMMAND: &str = "__probe-plugin";
/// Environment variable naming the `polymix` binary to probe with (overrides the check that
/// the running executable is `polymix`).
pub const EXE_ENV: &str = "POLYMIX_PROBE_EXE";
/// Exit code of a child that loaded the file and refused it cleanly (the host then loads it
/// itself to report the typed refusal; nothing in it crashed).
pub const REFUSED: i32 = 3;
/// How long a child may take to load a file.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The binary to probe with: `POLYMIX_PROBE_EXE`, else the running executable if it is
/// `polymix`; `None` → no probe (the static check still runs).
pub fn probe_exe() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(EXE_ENV) {
        if !p.is_empty() {
            return Some(PathBuf::from(p));
        }
    }
    let exe = std::env::current_exe().ok()?;
    (exe.file_stem()? == "polymix").then_some(exe)
}

/// What the probe found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The child loaded the file and every check passed.
    Loads,
    /// The child refused the file cleanly (its one-line reason).
    Refused(String),
    /// The child died or hung: how.
    Died(String),
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => "signal",
    }
}

fn describe(status: ExitStatus, stderr: &str) -> Verdict {
    use std::os::unix::process::ExitStatusExt;
    let last = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("")
        .to_string();
    if let Some(sig) = status.signal() {
        return Verdict::Died(format!(
            "killed by {} ({sig}) while loading",
            signal_name(sig)
        ));
    }
    match status.code() {
        Some(0) => Verdict::Loads,
        Some(REFUSED) => Verdict::Refused(last),
        Some(c) if last.is_empty() => {
            Verdict::Died(format!("exited with status {c} while loading"))
        }
        Some(c) => Verdict::Died(format!("exited with status {c} while loading: {last}")),
        None => Verdict::Died("ended without a status while loading".into()),
    }
}

/// Runs `exe __probe-plugin --kind KIND PATH` and waits up to `timeout`.
pub fn probe(exe: &Path, path: &Path, kind: PluginKind, timeout: Duration) -> Verdict {
    let mut child = match Command::new(exe)
        .arg(SUBCOMMAND)
        .arg("--kind")
        .arg(kind.as_str())
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return Verdict::Died(format!(
                "could not be probed: cannot start {}: {e}",
                exe.display()
            ))
        }
    };
    // Read stderr on its own thread so a chatty child cannot block on a full pipe; the answer
    // comes over a channel, waited for only briefly (a grandchild could hold the pipe open).
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(mut err) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.by_ref().take(64 * 1024).read_to_string(&mut s);
            let _ = tx.send(s);
        });
    }
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Verdict::Died(format!("could not be probed: {e}"));
            }
        }
    };
    let stderr = rx
        .recv_timeout(Duration::from_millis(200))
        .unwrap_or_default();
    match status {
        Some(s) => describe(s, &stderr),
        None => Verdict::Died(format!("did not finish loading within {timeout:?}")),
    }
}

/// The child's side: `__probe-plugin --kind KIND PATH`. Loads the file in this process with
/// every check; 0 if it loads, [`REFUSED`] with the reason on stderr if a check refuses it.
/// A crash ends this process, which is the point.
pub fn run_child(args: &[std::ffi::OsString]) -> i32 {
    let (kind, path) = match args {
        [flag, kind, path] if flag == "--kind" => (kind.to_string_lossy(), Path::new(path)),
        _ => {
            eprintln!("usage: polymix {SUBCOMMAND} --kind venue|risk|strategy PATH");
            return 2;
        }
    };
    let kind = match kind.as_ref() {
        "venue" => PluginKind::Venue,
        "risk" => PluginKind::Risk,
        "strategy" => PluginKind::Strategy,
        other => {
            eprintln!("unknown plugin kind {other:?}");
            return 2;
        }
    };
    match super::load::load_unprobed(path, kind) {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("{e}");
            REFUSED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn deaths_are_described() {
        // Raw wait statuses: a signal in the low bits, an exit code in the second byte.
        assert_eq!(
            describe(ExitStatus::from_raw(7), ""),
            Verdict::Died("killed by SIGBUS (7) while loading".into())
        );
        assert_eq!(describe(ExitStatus::from_raw(0), ""), Verdict::Loads);
        assert_eq!(
            describe(ExitStatus::from_raw(REFUSED << 8), "x\nfile: bad\n"),
            Verdict::Refused("file: bad".into())
        );
        assert_eq!(
            describe(ExitStatus::from_raw(101 << 8), "boom\n"),
            Verdict::Died("exited with status 101 while loading: boom".into())
        );
    }

    #[test]
    fn a_hanging_child_is_stopped_at_the_timeout() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("polymix-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let exe = dir.join("hangs");
        std::fs::write(&exe, "#!/bin/sh\nexec sleep 30\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let t = Instant::now();
        let v = probe(
            &exe,
            Path::new("x.so"),
            PluginKind::Risk,
            Duration::from_millis(300),
        );
        assert_eq!(
            v,
            Verdict::Died("did not finish loading within 300ms".into())
        );
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
