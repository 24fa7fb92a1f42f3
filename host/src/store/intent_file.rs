//! This process's intent file, mapped into memory: appending an intent is a copy into the
//! page cache, with no system call.
//!
//! A `write` of the intent's line cost ~29 µs p50 on the way to the wire in the
//! `frame_to_wire` bench (of the `journaled` stage's ~41; BENCHMARKS.md, session 15): ext4's
//! write path, cold between two trades. A store into a shared mapping of the file lands in the
//! same page cache a `write` fills, so it survives the process dying (kill -9) exactly as the
//! `write` did, and a power cut may take it back exactly as before (nothing here syncs; see
//! `intent_log`).
//!
//! The file's layout: complete lines (one intent each), then zero bytes to its end. JSON as
//! `serde_json` writes it never holds a zero byte (control characters are escaped), so a
//! reader takes the bytes before the first zero (`content`).
//!
//! - **A kill inside an append** leaves the line's bytes without its newline, which is stored
//!   last: a reader skips a last line without its newline (its trade's legs never left). A
//!   kill stops the process between two instructions and every store before that point is in
//!   the page cache, whatever order a copy routine stores in; the compiler fence keeps the
//!   newline's store after the line's.
//! - **Emptying** (once every intent in the file is written out and synced) zeroes the first
//!   byte first: from then on the file reads as empty, wherever a kill stops the rest.
//! - **Room** is allocated ahead with real zero blocks (written, not a sparse hole), so a store
//!   never needs a block: a full disk is an error of `create` or `grow`, never a `SIGBUS`
//!   inside a copy. When a line does not fit, the file grows (doubling) and is mapped again;
//!   the intents in it are emptied after every sync, so a few pages do in practice.
//! - **Page faults** are taken ahead too: every page is touched for writing when mapped.
//! - **What a mapping adds**: a store the kernel cannot back (a page it must read back from a
//!   failing disk, or a file some other program cut short) kills the process with `SIGBUS`,
//!   where a `write` would have returned an error. A dead process is what the journal is built
//!   to survive (a kill -9 at any point): the next start writes out what the file holds and
//!   reconciles with the venues.

use memmap2::MmapMut;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{compiler_fence, Ordering};

/// Bytes allocated when the file is made: ~180 intents of a trade and two orders.
pub(super) const INITIAL_ROOM: usize = 256 * 1024;

const PAGE: usize = 4096;

/// Why the file could not be given room or mapped.
#[derive(Debug)]
pub(super) struct RoomError {
    /// What was being done.
    pub(super) what: &'static str,
    /// What failed.
    pub(super) error: std::io::Error,
}

/// An intent file, created empty and locked by its caller, and mapped for appending.
pub(super) struct MappedFile {
    file: File,
    map: MmapMut,
    /// Bytes of complete lines at the start; every byte after them is zero.
    len: usize,
}

impl MappedFile {
    /// Allocates [`INITIAL_ROOM`] zero bytes in `file` (empty, opened for reading and
    /// writing, locked by this process) and maps it.
    pub(super) fn create(file: File) -> Result<MappedFile, RoomError> {
        allocate(&file, 0, INITIAL_ROOM)?;
        let map = map(&file)?;
        Ok(MappedFile { file, map, len: 0 })
    }

    /// Bytes of complete lines in the file.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Appends `line` (without its newline, and holding no zero byte) and its newline. On an
    /// error nothing was stored: the file holds what it held.
    pub(super) fn append(&mut self, line: &[u8]) -> Result<(), RoomError> {
        debug_assert!(!line.contains(&0), "a line holds no zero byte");
        let end = self.len + line.len();
        if end + 1 > self.map.len() {
            self.grow(end + 1)?;
        }
        self.map[self.len..end].copy_from_slice(line);
        compiler_fence(Ordering::SeqCst);
        self.map[end] = b'\n';
        self.len = end + 1;
        Ok(())
    }

    /// Zeroes the lines, the first byte first (see the module's doc).
    pub(super) fn empty(&mut self) {
        if self.len == 0 {
            return;
        }
        self.map[0] = 0;
        compiler_fence(Ordering::SeqCst);
        self.map[1..self.len].fill(0);
        self.len = 0;
    }

    /// Room for at least `needed` bytes: the file doubles (zero blocks written after its
    /// lines' room) and is mapped again.
    fn grow(&mut self, needed: usize) -> Result<(), RoomError> {
        let room = needed.max(self.map.len() * 2).next_multiple_of(PAGE);
        allocate(&self.file, self.map.len(), room)?;
        self.map = map(&self.file)?;
        Ok(())
    }
}

/// The bytes of an intent file a reader takes: those before its first zero byte.
pub(super) fn content(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

/// Writes zero bytes over `[from, to)` of the file: real blocks, so a store into the mapping
/// never has to allocate one.
fn allocate(file: &File, from: usize, to: usize) -> Result<(), RoomError> {
    let zeros = [0u8; 64 * 1024];
    let mut at = from;
    while at < to {
        let n = (to - at).min(zeros.len());
        file.write_all_at(&zeros[..n], at as u64)
            .map_err(|error| RoomError {
                what: "cannot allocate room in the intent file",
                error,
            })?;
        at += n;
    }
    Ok(())
}

/// Maps the whole file shared, and touches every page for writing so no store on the way to
/// the wire takes a page fault.
fn map(file: &File) -> Result<MmapMut, RoomError> {
    // SAFETY: the mapping is of this process's own intent file, locked by it for as long as
    // it runs. No other process writes or truncates it: an opener of the ledger reads an
    // intent file only once it can take its lock, that is once this process is gone, and
    // removes it only then (`intent_log::materialize_file`).
    let mut map = unsafe { MmapMut::map_mut(file) }.map_err(|error| RoomError {
        what: "cannot map the intent file",
        error,
    })?;
    let base = map.as_mut_ptr();
    for at in (0..map.len()).step_by(PAGE) {
        // SAFETY: `at` is inside the mapping. The byte is stored back unchanged, so lines
        // already in the file stay as they are.
        unsafe {
            let p = base.add(at);
            std::ptr::write_volatile(p, std::ptr::read_volatile(p));
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> (std::path::PathBuf, MappedFile) {
        let dir =
            std::env::temp_dir().join(format!("polymix-intent-file-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        (path, MappedFile::create(f).unwrap())
    }

    fn read(path: &std::path::Path) -> Vec<u8> {
        content(&std::fs::read(path).unwrap()).to_vec()
    }

    #[test]
    fn lines_are_in_the_file_as_soon_as_they_are_appended() {
        let (path, mut f) = file();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), INITIAL_ROOM as u64);
        assert_eq!(read(&path), b"");
        f.append(b"{\"a\":1}").unwrap();
        f.append(b"{\"b\":2}").unwrap();
        // Read with `read`, through the page cache, as the next process would.
        assert_eq!(read(&path), b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(f.len(), 16);
    }

    #[test]
    fn an_emptied_file_reads_empty_and_takes_the_next_line_first() {
        let (path, mut f) = file();
        f.append(b"{\"a\":\"a long first line\"}").unwrap();
        f.empty();
        assert_eq!(read(&path), b"");
        assert!(
            std::fs::read(&path).unwrap().iter().all(|&b| b == 0),
            "no stale byte"
        );
        f.append(b"{\"b\":2}").unwrap();
        assert_eq!(read(&path), b"{\"b\":2}\n");
    }

    #[test]
    fn a_line_that_does_not_fit_grows_the_file_and_keeps_the_lines_before_it() {
        let (path, mut f) = file();
        let long = vec![b'x'; INITIAL_ROOM];
        f.append(b"first").unwrap();
        f.append(&long).unwrap();
        f.append(b"last").unwrap();
        let got = read(&path);
        assert_eq!(got.len(), 6 + INITIAL_ROOM + 1 + 5);
        assert!(got.starts_with(b"first\nxxx"));
        assert!(got.ends_with(b"x\nlast\n"));
        assert!(std::fs::metadata(&path).unwrap().len() >= 2 * INITIAL_ROOM as u64);
    }

    #[test]
    fn content_stops_at_the_first_zero_byte() {
        assert_eq!(content(b"a\nb\n\0\0"), b"a\nb\n");
        // A kill inside an append whose copy had stored the line's end before its middle.
        assert_eq!(content(b"a\nhalf\0\0rest\n\0"), b"a\nhalf");
        assert_eq!(content(b"a\n"), b"a\n");
    }
}
