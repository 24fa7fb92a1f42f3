//! Logging never holds up the engine: the `polymix` binary writes its log lines from a thread
//! of its own, so a stderr that takes nothing (a stalled pipe, a paused terminal) does not stop
//! a run. Before, every thread that logged wrote to stderr itself and waited with it.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A pipe whose buffer is one page (4 KiB): `(read end, write end)`.
fn small_pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `pipe` fills both descriptors on success; each is owned once, below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: the descriptors were just opened and are owned by nothing else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: F_SETPIPE_SZ on a pipe this function owns.
    let size = unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, 4096) };
    assert!(size >= 4096, "F_SETPIPE_SZ");
    (r, w)
}

#[test]
fn a_run_whose_stderr_nobody_reads_still_runs_to_the_end() {
    let config = crate::paper_e2e::paper_config("log-stall");
    let (read_end, write_end) = small_pipe();
    // At -vv the bundled job logs ~29 KB: seven times what the pipe holds.
    let mut child = Command::new(crate::support::polymix_bin())
        .args(["-vv", "run", "--exit-on-completion", "--config"])
        // -vv decides what is logged, whatever the environment says.
        .env_remove("RUST_LOG")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(write_end))
        .spawn()
        .expect("spawn polymix");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run stalled behind a stderr nobody reads (60 s)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read stdout");
    assert!(status.success(), "{status}: {out}");
    // The whole job ran: its summary is the bundled one.
    assert!(
        out.contains("balance pm                      $9988.04"),
        "{out}"
    );
    assert!(
        out.contains("balance ks                     $10041.99"),
        "{out}"
    );
    // And it did log (to the pipe, as much as the pipe took).
    let mut logged = vec![0u8; 4096];
    let n = std::fs::File::from(read_end)
        .read(&mut logged)
        .expect("read the pipe");
    assert!(n > 0, "nothing was logged at -vv");
}
