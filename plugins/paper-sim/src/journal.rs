//! The paper account kept across restarts (a live-fed instance's when given a `journal`, a
//! scenario replay's by default, see [`crate::resume`]): every operation that changes
//! the simulation (a feed snapshot, an order placed, an order cancelled) is appended to a
//! journal file and synced *before* it is applied, with the time it was applied at. The
//! simulation is deterministic, so on start the journal is replayed to the exact state a
//! killed run had: cash, positions, orders and fills continue, and the host's reconciliation
//! finds its orders by client order id instead of `not found`.
//!
//! One JSON object per line: `{"v": 2, "now_ms": 1764..., "op": <VenueOp>}` (a replay's lines
//! may add `take`, `apply` and `faults`, and its first line is `{"scenario": {...}}`). A torn last line
//! (the process died while writing it) was never applied, so it is dropped; any other bad line
//! is an error naming its line number.
//!
//! `v` is the unit of the shares in `op`: 2 is micro-shares (today's [`plugin_api::Qty`]); a line
//! without `v` was written when a `Qty` counted hundredths of a share and is converted when
//! read ([`upgrade_v1`]), so an account journaled by an older build continues unchanged, and a
//! journal may hold both kinds of line.
//!
//! Reading never changes the file (an operator's `polymix venue ... balance` may read the
//! journal of a running engine). The first write takes an exclusive lock on the file for the
//! life of the process, so two processes never both write one account: the second is refused.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use plugin_api::money::SHARE;
use plugin_api::{Level, PluginError, PluginResult, Qty, VenueOp};
use serde::{Deserialize, Serialize};

use crate::scenario::FaultKind;

/// The line version written today: shares in micro-shares.
const VERSION: u32 = 2;

/// One journaled operation.
#[derive(Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The line's version; absent (0) on lines written in hundredths of a share.
    #[serde(default)]
    pub v: u32,
    pub now_ms: i64,
    pub op: VenueOp,
    /// A replay's order took the armed faults for its instrument at `now_ms` (see
    /// [`crate::resume`]); absent on a fed journal.
    #[serde(default, skip_serializing_if = "is_false")]
    pub take: bool,
    /// The operation was applied at `now_ms` (false: only its faults were taken, the
    /// operation waits for its latency and is journaled again when applied).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub apply: bool,
    /// The faults the operation is applied with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultKind>,
}

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_true(b: &bool) -> bool {
    *b
}
fn yes() -> bool {
    true
}

/// A replay journal's first line: what the account was journaled against (see
/// [`crate::resume`]).
#[derive(Serialize, Deserialize)]
struct HeaderLine {
    scenario: serde_json::Value,
}

/// Converts the shares of a line written in hundredths of a share (no `v`) to micro-shares:
/// an order's size, and a feed snapshot's book levels and size rules. The journaled operations
/// are only these ([`crate::PaperSim`] journals ingests, placements and cancels); a size that
/// does not fit is an error, never wrapped.
fn upgrade_v1(op: &mut VenueOp) -> Result<(), String> {
    fn scale(q: &mut Qty) -> Result<(), String> {
        q.0 =
            q.0.checked_mul(SHARE / 100)
                .ok_or_else(|| format!("size of {} hundredths of a share is out of range", q.0))?;
        Ok(())
    }
    let levels = |ls: &mut Vec<Level>| ls.iter_mut().try_for_each(|l| scale(&mut l.qty));
    match op {
        VenueOp::PlaceOrder { order } => scale(&mut order.qty),
        VenueOp::Ingest { snapshot } => {
            for b in &mut snapshot.books {
                levels(&mut b.bids)?;
                levels(&mut b.asks)?;
            }
            for r in &mut snapshot.rules {
                scale(&mut r.rules.min_qty)?;
                scale(&mut r.rules.qty_step)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The journal: read at start, opened for writing (and locked) on the first append.
pub(crate) struct Journal {
    path: PathBuf,
    file: Option<File>,
    /// Length of the complete lines read at start (a torn tail beyond it is cut before the
    /// first write).
    clean_len: u64,
    /// A replay journal's header, as read.
    pub header: Option<serde_json::Value>,
    /// A new replay journal's header, written with its first entry.
    header_pending: Option<serde_json::Value>,
}

fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> PluginError {
    PluginError::new(
        plugin_api::ErrorKind::Internal,
        format!("paper-sim journal {}: {what}: {e}", path.display()),
    )
}

impl Journal {
    /// Opens (creating) the journal and returns the entries it already holds.
    pub fn open(path: &Path) -> PluginResult<(Journal, Vec<Entry>)> {
        let mut entries = Vec::new();
        let mut header = None;
        let mut keep_bytes = 0u64;
        if path.exists() {
            let f = File::open(path).map_err(|e| io_err(path, "open", e))?;
            let lines: Vec<String> = BufReader::new(f)
                .split(b'\n')
                .map(|l| l.map(|b| String::from_utf8_lossy(&b).into_owned()))
                .collect::<Result<_, _>>()
                .map_err(|e| io_err(path, "read", e))?;
            let n = lines.len();
            for (i, line) in lines.into_iter().enumerate() {
                if line.trim().is_empty() {
                    keep_bytes += line.len() as u64 + 1;
                    continue;
                }
                if i == 0 {
                    if let Ok(h) = serde_json::from_str::<HeaderLine>(&line) {
                        header = Some(h.scenario);
                        keep_bytes += line.len() as u64 + 1;
                        continue;
                    }
                }
                match serde_json::from_str::<Entry>(&line) {
                    Ok(mut e) => {
                        if e.v < VERSION {
                            upgrade_v1(&mut e.op)
                                .map_err(|why| io_err(path, &format!("line {}", i + 1), why))?;
                            e.v = VERSION;
                        }
                        entries.push(e);
                        keep_bytes += line.len() as u64 + 1;
                    }
                    // The last line may be torn by a kill mid-write: it was never applied.
                    Err(_) if i + 1 == n => break,
                    Err(e) => {
                        return Err(io_err(path, &format!("line {}", i + 1), e));
                    }
                }
            }
        }
        Ok((
            Journal {
                path: path.to_path_buf(),
                file: None,
                clean_len: keep_bytes,
                header,
                header_pending: None,
            },
            entries,
        ))
    }

    /// Opens the file for appending under an exclusive lock, cutting a torn tail.
    fn writer(&mut self) -> PluginResult<&mut File> {
        if self.file.is_none() {
            let path = &self.path;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| io_err(path, "create directory", e))?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| io_err(path, "open for append", e))?;
            file.try_lock().map_err(|e| {
                io_err(
                    path,
                    "in use by another process (a running polymix keeps this paper account); not written",
                    e,
                )
            })?;
            let len = file.metadata().map_err(|e| io_err(path, "stat", e))?.len();
            if len > self.clean_len {
                // A write torn by a kill was never applied: drop it.
                file.set_len(self.clean_len)
                    .map_err(|e| io_err(path, "cut a torn last line", e))?;
            }
            self.file = Some(file);
        }
        Ok(self.file.as_mut().expect("opened above"))
    }

    /// Sets a new replay journal's header line; it is written with the first entry, so a run
    /// that journals nothing leaves no file behind.
    pub fn set_header(&mut self, scenario: serde_json::Value) {
        self.header_pending = Some(scenario);
    }

    /// Appends one entry (with a replay's fault bookkeeping, see [`Entry`]) and syncs it to
    /// disk before the caller applies it.
    pub fn append_with(
        &mut self,
        now_ms: i64,
        op: &VenueOp,
        take: bool,
        apply: bool,
        faults: &[FaultKind],
    ) -> PluginResult<()> {
        let mut line = serde_json::to_string(&EntryRef {
            v: VERSION,
            now_ms,
            op,
            take,
            apply,
            faults,
        })
        .map_err(|e| io_err(&self.path, "encode", e))?;
        line.push('\n');
        if let Some(scenario) = self.header_pending.take() {
            let mut head = serde_json::to_string(&HeaderLine { scenario })
                .map_err(|e| io_err(&self.path, "encode", e))?;
            head.push('\n');
            line.insert_str(0, &head);
        }
        self.write_line(&line)
    }

    fn write_line(&mut self, line: &str) -> PluginResult<()> {
        let path = self.path.clone();
        let file = self.writer()?;
        file.write_all(line.as_bytes())
            .and_then(|_| file.sync_data())
            .map_err(|e| io_err(&path, "write", e))
    }
}

#[derive(Serialize)]
struct EntryRef<'a> {
    v: u32,
    now_ms: i64,
    op: &'a VenueOp,
    #[serde(skip_serializing_if = "is_false")]
    take: bool,
    #[serde(skip_serializing_if = "is_true")]
    apply: bool,
    #[serde(skip_serializing_if = "<[FaultKind]>::is_empty")]
    faults: &'a [FaultKind],
}
