//! Structural checks of an ELF shared object before it is handed to the dynamic loader.
//!
//! Why: `dlopen` trusts the file. A truncated library is mapped past its end and the loader's
//! first touch of the missing pages raises SIGBUS, killing the host (exit 135); corrupted
//! headers or dynamic tables make the loader read wild addresses and abort. Neither can be
//! caught once `dlopen` runs, so everything the loader will follow is checked here first:
//! the ELF identity (magic, class, byte order, machine, type), that the program and section
//! header tables lie inside the file, that every loadable segment's file bytes are present,
//! and that the dynamic table and the tables it points at lie inside loaded file bytes.
//!
//! This is a file-format check, not a proof of soundness: a library whose code is corrupted
//! passes it. Field offsets follow the System V gABI, "ELF header", "Program header",
//! "Section header" and "Dynamic section" (https://refspecs.linuxfoundation.org/elf/gabi4+/).

use std::path::Path;

/// Why a file is not a loadable shared object for this host. The text completes the sentence
/// "<file>: not a valid shared library: ...".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ElfError(pub String);

fn bad(msg: impl Into<String>) -> ElfError {
    ElfError(msg.into())
}

/// Host properties a library must match.
#[derive(Clone, Copy, Debug)]
struct Target {
    /// `EM_*` machine number.
    machine: u16,
    little_endian: bool,
}

fn host_target() -> Option<Target> {
    let machine = if cfg!(target_arch = "x86_64") {
        62
    } else if cfg!(target_arch = "aarch64") {
        183
    } else if cfg!(target_arch = "riscv64") {
        243
    } else if cfg!(target_arch = "powerpc64") {
        21
    } else if cfg!(target_arch = "s390x") {
        22
    } else {
        return None;
    };
    Some(Target {
        machine,
        little_endian: cfg!(target_endian = "little"),
    })
}

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const SHDR_SIZE: usize = 64;
const DYN_SIZE: usize = 16;

const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const SHT_NOBITS: u32 = 8;

/// Reads little- or big-endian integers at checked offsets.
struct Reader<'a> {
    bytes: &'a [u8],
    le: bool,
}

impl Reader<'_> {
    fn slice<const N: usize>(&self, at: usize, what: &str) -> Result<[u8; N], ElfError> {
        at.checked_add(N)
            .and_then(|end| self.bytes.get(at..end))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or_else(|| bad(format!("{what} at byte {at} lies past the end of the file")))
    }

    fn u16(&self, at: usize, what: &str) -> Result<u16, ElfError> {
        let b = self.slice::<2>(at, what)?;
        Ok(if self.le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize, what: &str) -> Result<u32, ElfError> {
        let b = self.slice::<4>(at, what)?;
        Ok(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn u64(&self, at: usize, what: &str) -> Result<u64, ElfError> {
        let b = self.slice::<8>(at, what)?;
        Ok(if self.le {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }
}

/// `off + len <= file_len`, without overflow.
fn within(off: u64, len: u64, file_len: u64) -> bool {
    off.checked_add(len).is_some_and(|end| end <= file_len)
}

/// A table of `count` entries of `entsize` bytes at `off`, checked against the file size.
fn table(
    off: u64,
    count: u16,
    entsize: u16,
    want: usize,
    file_len: u64,
    what: &str,
) -> Result<(), ElfError> {
    if count == 0 {
        return Ok(());
    }
    if usize::from(entsize) != want {
        return Err(bad(format!(
            "{what} entry size is {entsize} bytes, expected {want}"
        )));
    }
    let len = u64::from(count) * u64::from(entsize);
    if !within(off, len, file_len) {
        return Err(bad(format!(
            "{what} ({count} entries at byte {off}) runs past the end of the file \
             ({file_len} bytes): the file is truncated or corrupted"
        )));
    }
    Ok(())
}

/// One `PT_LOAD` segment.
#[derive(Clone, Copy, Debug)]
struct Load {
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

impl Load {
    /// The file offset of `len` bytes at virtual address `addr`, if they are all file-backed
    /// by this segment.
    fn file_offset(&self, addr: u64, len: u64) -> Option<u64> {
        let rel = addr.checked_sub(self.vaddr)?;
        (rel.checked_add(len)? <= self.filesz).then(|| self.offset + rel)
    }
}

fn file_offset(loads: &[Load], addr: u64, len: u64) -> Option<u64> {
    loads.iter().find_map(|l| l.file_offset(addr, len))
}

/// Whether 8 bytes at `addr` are inside some segment's memory image (where a relocation
/// may write).
fn in_memory(loads: &[Load], addr: u64) -> bool {
    loads.iter().any(|l| {
        addr.checked_sub(l.vaddr)
            .and_then(|rel| rel.checked_add(8))
            .is_some_and(|end| end <= l.memsz)
    })
}

/// Size of one `Elf64_Rela` entry.
const RELA_SIZE: u64 = 24;

/// Every RELA relocation in `[addr, addr + size)` must write inside the library's own memory
/// image: the loader applies them before any plugin code runs, and a corrupted `r_offset`
/// makes it write to a wild address.
fn relocations(
    r: &Reader<'_>,
    loads: &[Load],
    addr: u64,
    size: u64,
    name: &str,
) -> Result<(), ElfError> {
    let Some(off) = file_offset(loads, addr, size) else {
        // Already refused by the range check.
        return Ok(());
    };
    for i in 0..size / RELA_SIZE {
        let at = (off + i * RELA_SIZE) as usize;
        let target = r.u64(at, "relocation")?;
        if !in_memory(loads, target) {
            return Err(bad(format!(
                "{name} entry {i} writes to address {target:#x}, outside the library: the file \
                 is corrupted"
            )));
        }
    }
    Ok(())
}

/// Checks `bytes` (the whole file) as an ELF shared object for this host.
pub fn check_bytes(bytes: &[u8]) -> Result<(), ElfError> {
    let file_len = bytes.len() as u64;
    if bytes.len() < EHDR_SIZE {
        return Err(bad(format!(
            "{} bytes is too short for an ELF header",
            bytes.len()
        )));
    }
    if &bytes[..4] != b"\x7fELF" {
        return Err(bad("no ELF magic number"));
    }
    let Some(target) = host_target() else {
        // An architecture this check does not know: leave it to the loader.
        return Ok(());
    };
    if bytes[4] != 2 {
        return Err(bad(format!(
            "ELF class {} is not 64-bit (this host is 64-bit)",
            bytes[4]
        )));
    }
    let le = match bytes[5] {
        1 => true,
        2 => false,
        other => return Err(bad(format!("unknown ELF byte order {other}"))),
    };
    if le != target.little_endian {
        return Err(bad("ELF byte order differs from this host's"));
    }
    if bytes[6] != 1 {
        return Err(bad(format!("ELF version {} is not 1", bytes[6])));
    }
    let r = Reader { bytes, le };
    let e_type = r.u16(16, "e_type")?;
    if e_type != ET_DYN {
        return Err(bad(format!(
            "ELF type {e_type} is not a shared object (ET_DYN = 3)"
        )));
    }
    let machine = r.u16(18, "e_machine")?;
    if machine != target.machine {
        return Err(bad(format!(
            "built for machine {machine}, this host is machine {}",
            target.machine
        )));
    }
    let ehsize = r.u16(52, "e_ehsize")?;
    if usize::from(ehsize) != EHDR_SIZE {
        return Err(bad(format!("ELF header size {ehsize} is not {EHDR_SIZE}")));
    }
    let (phoff, shoff) = (r.u64(32, "e_phoff")?, r.u64(40, "e_shoff")?);
    let (phentsize, phnum) = (r.u16(54, "e_phentsize")?, r.u16(56, "e_phnum")?);
    let (shentsize, shnum) = (r.u16(58, "e_shentsize")?, r.u16(60, "e_shnum")?);
    let shstrndx = r.u16(62, "e_shstrndx")?;
    if phnum == 0 {
        return Err(bad("no program headers"));
    }
    table(
        phoff,
        phnum,
        phentsize,
        PHDR_SIZE,
        file_len,
        "program header table",
    )?;
    table(
        shoff,
        shnum,
        shentsize,
        SHDR_SIZE,
        file_len,
        "section header table",
    )?;
    if shnum > 0 && shstrndx >= shnum && shstrndx != 0xffff {
        return Err(bad(format!(
            "section name table index {shstrndx} is not below the section count {shnum}"
        )));
    }

    let (loads, dynamic) = program_headers(&r, phoff, phnum, file_len)?;
    sections(&r, shoff, shnum, file_len)?;
    let Some((dyn_off, dyn_size)) = dynamic else {
        return Err(bad("no dynamic segment (PT_DYNAMIC): not a shared library"));
    };
    dynamic_table(&r, &loads, dyn_off, dyn_size)
}

type Dynamic = Option<(u64, u64)>;

fn program_headers(
    r: &Reader<'_>,
    phoff: u64,
    phnum: u16,
    file_len: u64,
) -> Result<(Vec<Load>, Dynamic), ElfError> {
    let mut loads = Vec::new();
    let mut dynamic = None;
    for i in 0..usize::from(phnum) {
        // In range: the table was checked against the file size.
        let at = phoff as usize + i * PHDR_SIZE;
        let p_type = r.u32(at, "p_type")?;
        let offset = r.u64(at + 8, "p_offset")?;
        let vaddr = r.u64(at + 16, "p_vaddr")?;
        let filesz = r.u64(at + 32, "p_filesz")?;
        let memsz = r.u64(at + 40, "p_memsz")?;
        let align = r.u64(at + 48, "p_align")?;
        match p_type {
            PT_LOAD => {
                if !within(offset, filesz, file_len) {
                    return Err(bad(format!(
                        "loadable segment {i} needs bytes {offset}..{} but the file has \
                         {file_len}: the file is truncated or corrupted",
                        offset.saturating_add(filesz)
                    )));
                }
                if filesz > memsz {
                    return Err(bad(format!(
                        "loadable segment {i} has more file bytes ({filesz}) than memory \
                         ({memsz})"
                    )));
                }
                if vaddr.checked_add(memsz).is_none() {
                    return Err(bad(format!("loadable segment {i} wraps the address space")));
                }
                if align > 1 && (!align.is_power_of_two() || offset % align != vaddr % align) {
                    return Err(bad(format!(
                        "loadable segment {i} is misaligned (offset {offset}, address \
                         {vaddr}, alignment {align})"
                    )));
                }
                if let Some(prev) = loads.last() {
                    let prev: &Load = prev;
                    if vaddr < prev.vaddr {
                        return Err(bad(format!("loadable segment {i} is out of address order")));
                    }
                }
                loads.push(Load {
                    offset,
                    vaddr,
                    filesz,
                    memsz,
                });
            }
            PT_DYNAMIC => {
                if !within(offset, filesz, file_len) {
                    return Err(bad(format!(
                        "dynamic segment needs bytes {offset}..{} but the file has \
                         {file_len}: the file is truncated or corrupted",
                        offset.saturating_add(filesz)
                    )));
                }
                dynamic = Some((vaddr, filesz));
            }
            // Other segments are either inside a PT_LOAD (and so covered) or informational.
            _ => {}
        }
    }
    if loads.is_empty() {
        return Err(bad("no loadable segment (PT_LOAD)"));
    }
    Ok((loads, dynamic))
}

fn sections(r: &Reader<'_>, shoff: u64, shnum: u16, file_len: u64) -> Result<(), ElfError> {
    for i in 0..usize::from(shnum) {
        let at = shoff as usize + i * SHDR_SIZE;
        let sh_type = r.u32(at + 4, "sh_type")?;
        let offset = r.u64(at + 24, "sh_offset")?;
        let size = r.u64(at + 32, "sh_size")?;
        if sh_type != SHT_NOBITS && !within(offset, size, file_len) {
            return Err(bad(format!(
                "section {i} needs bytes {offset}..{} but the file has {file_len}: the file \
                 is truncated or corrupted",
                offset.saturating_add(size)
            )));
        }
    }
    Ok(())
}

const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_PLTRELSZ: u64 = 2;
const DT_PLTREL: u64 = 20;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_RELA: u64 = 7;
const DT_RELASZ: u64 = 8;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;
const DT_REL: u64 = 17;
const DT_RELSZ: u64 = 18;
const DT_JMPREL: u64 = 23;
const DT_INIT_ARRAY: u64 = 25;
const DT_FINI_ARRAY: u64 = 26;
const DT_INIT_ARRAYSZ: u64 = 27;
const DT_FINI_ARRAYSZ: u64 = 28;
const DT_GNU_HASH: u64 = 0x6fff_fef5;
const DT_VERSYM: u64 = 0x6fff_fff0;
const DT_VERNEED: u64 = 0x6fff_fffe;

/// The dynamic table must end with `DT_NULL` inside its segment, and every table it points
/// at (strings, symbols, hashes, relocations, initialisers) must lie in loaded file bytes:
/// these are what the loader reads before any plugin code runs.
fn dynamic_table(r: &Reader<'_>, loads: &[Load], vaddr: u64, size: u64) -> Result<(), ElfError> {
    let off = file_offset(loads, vaddr, size).ok_or_else(|| {
        bad(format!(
            "dynamic table at address {vaddr:#x} ({size} bytes) is not inside a loaded segment"
        ))
    })?;
    let mut tags: Vec<(u64, u64)> = Vec::new();
    let count = size / DYN_SIZE as u64;
    let mut ended = false;
    for i in 0..count {
        let at = (off + i * DYN_SIZE as u64) as usize;
        let tag = r.u64(at, "dynamic entry")?;
        let val = r.u64(at + 8, "dynamic entry")?;
        if tag == DT_NULL {
            ended = true;
            break;
        }
        tags.push((tag, val));
    }
    if !ended {
        return Err(bad("dynamic table has no DT_NULL terminator"));
    }
    let get = |t: u64| tags.iter().find(|(k, _)| *k == t).map(|(_, v)| *v);
    let range = |addr_tag: u64, size_tag: Option<u64>, name: &str| -> Result<(), ElfError> {
        let Some(addr) = get(addr_tag) else {
            return Ok(());
        };
        let len = size_tag.and_then(get).unwrap_or(1);
        if file_offset(loads, addr, len).is_none() {
            return Err(bad(format!(
                "dynamic {name} at address {addr:#x} ({len} bytes) is not inside the file's \
                 loaded bytes: the file is corrupted"
            )));
        }
        Ok(())
    };
    range(DT_STRTAB, Some(DT_STRSZ), "string table")?;
    range(DT_SYMTAB, None, "symbol table")?;
    range(DT_HASH, None, "hash table")?;
    range(DT_GNU_HASH, None, "GNU hash table")?;
    range(DT_RELA, Some(DT_RELASZ), "relocations (RELA)")?;
    range(DT_REL, Some(DT_RELSZ), "relocations (REL)")?;
    range(DT_JMPREL, Some(DT_PLTRELSZ), "PLT relocations")?;
    range(DT_INIT_ARRAY, Some(DT_INIT_ARRAYSZ), "initialiser array")?;
    range(DT_FINI_ARRAY, Some(DT_FINI_ARRAYSZ), "finaliser array")?;
    range(DT_VERSYM, None, "symbol versions")?;
    range(DT_VERNEED, None, "version needs")?;
    if let (Some(a), Some(n)) = (get(DT_RELA), get(DT_RELASZ)) {
        relocations(r, loads, a, n, "relocation (RELA)")?;
    }
    // x86_64 and aarch64 PLT relocations are RELA too (DT_PLTREL = DT_RELA).
    if let (Some(a), Some(n), Some(DT_RELA)) = (get(DT_JMPREL), get(DT_PLTRELSZ), get(DT_PLTREL)) {
        relocations(r, loads, a, n, "PLT relocation")?;
    }
    if get(DT_STRTAB).is_none() || get(DT_SYMTAB).is_none() {
        return Err(bad("dynamic table lacks a string or symbol table"));
    }
    // Library names are offsets into the string table.
    if let Some(strsz) = get(DT_STRSZ) {
        for (tag, val) in &tags {
            if matches!(*tag, DT_NEEDED | DT_SONAME) && *val >= strsz {
                return Err(bad(format!(
                    "dynamic library name offset {val} is past the string table ({strsz} \
                     bytes): the file is corrupted"
                )));
            }
        }
    }
    Ok(())
}

/// Reads and checks the file at `path`. Only ELF platforms are checked; elsewhere the file is
/// left to the platform loader.
pub fn check_file(path: &Path) -> Result<(), ElfError> {
    if !cfg!(all(unix, not(target_vendor = "apple"))) {
        return Ok(());
    }
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read the file: {e}")))?;
    check_bytes(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The running test binary is itself an ELF executable; a shared library of the system
    /// C library stands in for a good `.so` where one exists.
    fn some_system_so() -> Option<Vec<u8>> {
        [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/aarch64-linux-gnu/libc.so.6",
            "/usr/lib64/libc.so.6",
            "/lib64/libc.so.6",
        ]
        .iter()
        .find_map(|p| std::fs::read(p).ok())
    }

    #[test]
    fn short_or_foreign_files_are_refused() {
        assert!(check_bytes(b"").is_err());
        assert!(check_bytes(&[0u8; 100]).unwrap_err().0.contains("magic"));
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 1; // 32-bit
        assert!(check_bytes(&h).unwrap_err().0.contains("64-bit"));
    }

    #[test]
    fn a_good_library_passes_and_any_truncation_is_refused() {
        let Some(so) = some_system_so() else {
            return;
        };
        check_bytes(&so).expect("a system library passes");
        for cut in [10, 63, 64, 200, so.len() / 4, so.len() / 2, so.len() - 1] {
            let e = check_bytes(&so[..cut]);
            assert!(e.is_err(), "cut at {cut} of {} passed", so.len());
        }
    }

    #[test]
    fn corrupted_header_bytes_never_panic_and_bad_tables_are_refused() {
        let Some(so) = some_system_so() else {
            return;
        };
        // Every byte of the ELF header and the first program headers set to 0xff: checked
        // without panicking (most such files are refused; some bytes are not load-relevant).
        for i in 0..(EHDR_SIZE + 4 * PHDR_SIZE) {
            let mut b = so.clone();
            b[i] = 0xff;
            let _ = check_bytes(&b);
        }
        // The program header table moved past the end of the file.
        let mut b = so.clone();
        b[32..40].copy_from_slice(&(so.len() as u64 - 8).to_le_bytes());
        assert!(check_bytes(&b)
            .unwrap_err()
            .0
            .contains("program header table"));
        // A loadable segment pointing far beyond the file.
        let phoff = u64::from_le_bytes(so[32..40].try_into().unwrap()) as usize;
        let mut b = so.clone();
        let first_load = (0..usize::from(u16::from_le_bytes([so[56], so[57]])))
            .map(|i| phoff + i * PHDR_SIZE)
            .find(|&at| u32::from_le_bytes(so[at..at + 4].try_into().unwrap()) == PT_LOAD)
            .unwrap();
        b[first_load + 32..first_load + 40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(check_bytes(&b).unwrap_err().0.contains("loadable segment"));
        // A relocation that would write outside the library.
        let rela = dynamic_value(&so, phoff, 7).expect("libc has RELA relocations");
        let loads: Vec<(u64, u64, u64)> = (0..usize::from(u16::from_le_bytes([so[56], so[57]])))
            .map(|i| phoff + i * PHDR_SIZE)
            .filter(|&at| u32::from_le_bytes(so[at..at + 4].try_into().unwrap()) == PT_LOAD)
            .map(|at| (le(&so, at + 8), le(&so, at + 16), le(&so, at + 32)))
            .collect();
        let (off, vaddr, _) = loads
            .iter()
            .find(|(_, v, f)| rela >= *v && rela < v + f)
            .copied()
            .unwrap();
        let entry = (rela - vaddr + off) as usize;
        let mut b = so.clone();
        b[entry..entry + 8].copy_from_slice(&0x7fff_0000_0000u64.to_le_bytes());
        let e = check_bytes(&b).unwrap_err().0;
        assert!(e.contains("relocation (RELA) entry 0"), "{e}");
    }

    fn le(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }

    /// The value of dynamic tag `tag` of a little-endian ELF64 file.
    fn dynamic_value(so: &[u8], phoff: usize, tag: u64) -> Option<u64> {
        let phnum = usize::from(u16::from_le_bytes([so[56], so[57]]));
        let dynamic = (0..phnum)
            .map(|i| phoff + i * PHDR_SIZE)
            .find(|&at| u32::from_le_bytes(so[at..at + 4].try_into().unwrap()) == PT_DYNAMIC)?;
        let (off, size) = (le(so, dynamic + 8) as usize, le(so, dynamic + 32) as usize);
        (off..off + size)
            .step_by(DYN_SIZE)
            .find(|&at| le(so, at) == tag)
            .map(|at| le(so, at + 8))
    }
}
