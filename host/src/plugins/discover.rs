//! Where plugin files are looked for. Config names plugins; the host never loads whatever it
//! finds in a directory.

use plugin_api::PluginKind;
use std::path::{Path, PathBuf};

/// `{DLL_PREFIX}polymix_<kind>_<name>{DLL_SUFFIX}`, with `-` in the name turned into `_` and a
/// leading `<kind>-` dropped (plugin `risk-limits` is file `polymix_risk_limits`).
pub fn file_name(kind: PluginKind, name: &str) -> String {
    let name = name.replace('-', "_");
    let prefix = format!("{}_", kind.as_str());
    let name = name.strip_prefix(&prefix).unwrap_or(&name);
    format!(
        "{}polymix_{}_{}{}",
        std::env::consts::DLL_PREFIX,
        kind.as_str(),
        name,
        std::env::consts::DLL_SUFFIX
    )
}

/// Search order: explicit path, `[plugins].dirs`, `$POLYMIX_PLUGIN_DIR`, the executable's
/// directory (and its `deps/` child, where `cargo test` leaves cdylibs).
pub fn search_dirs(config_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = config_dirs.to_vec();
    if let Ok(d) = std::env::var("POLYMIX_PLUGIN_DIR") {
        dirs.extend(std::env::split_paths(&d));
    }
    dirs.extend(exe_dirs());
    dirs
}

/// The executable's own build outputs: its directory, its `deps/` child, and (for a test
/// binary in `target/<profile>/deps`) the profile directory. Cargo writes a plugin to more
/// than one of them and refreshes only some per command (`cargo build` the top level,
/// `cargo test` only `deps/`), so among these the newest file is the one built with this
/// binary: a stale copy left by an older build must not shadow it.
fn exe_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.clone());
        dirs.push(exe_dir.join("deps"));
        if exe_dir.ends_with("deps") {
            if let Some(up) = exe_dir.parent() {
                dirs.push(up.to_path_buf());
            }
        }
    }
    dirs
}

/// The most recently modified of `candidates` that exist.
fn newest(candidates: impl IntoIterator<Item = PathBuf>) -> Option<PathBuf> {
    candidates
        .into_iter()
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
}

/// Finds a plugin file, or returns every path that was tried.
pub fn locate(
    kind: PluginKind,
    name: &str,
    explicit: Option<&Path>,
    dirs: &[PathBuf],
) -> Result<PathBuf, Vec<PathBuf>> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(vec![p.to_path_buf()])
        };
    }
    let file = file_name(kind, name);
    let own = exe_dirs();
    let mut tried = Vec::new();
    for d in dirs {
        let p = d.join(&file);
        if p.is_file() {
            if own.contains(d) {
                let same_build = own
                    .iter()
                    .filter(|o| dirs.contains(o))
                    .map(|o| o.join(&file));
                return Ok(newest(same_build).unwrap_or(p));
            }
            return Ok(p);
        }
        tried.push(p);
    }
    Err(tried)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_copy_wins_among_one_builds_outputs() {
        let d = std::env::temp_dir().join(format!(
            "polymix-discover-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let (old, new) = (d.join("old.so"), d.join("new.so"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(&old, b"old").unwrap();
        std::fs::write(&new, b"new").unwrap();
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(past)
            .unwrap();
        assert_eq!(newest([old.clone(), new.clone()]), Some(new.clone()));
        assert_eq!(newest([new.clone(), old.clone()]), Some(new));
        assert_eq!(newest([d.join("missing.so")]), None);
    }

    #[test]
    fn file_names_follow_the_kind_prefix_rule() {
        let f = |k, n| file_name(k, n);
        assert!(f(PluginKind::Venue, "paper-sim").contains("polymix_venue_paper_sim"));
        assert!(f(PluginKind::Risk, "risk-limits").contains("polymix_risk_limits"));
        assert!(f(PluginKind::Strategy, "arb").contains("polymix_strategy_arb"));
    }
}
