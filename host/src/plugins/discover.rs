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
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.clone());
        dirs.push(exe_dir.join("deps"));
        // A test binary lives in target/<profile>/deps; its plugins may sit one level up.
        if exe_dir.ends_with("deps") {
            if let Some(up) = exe_dir.parent() {
                dirs.push(up.to_path_buf());
            }
        }
    }
    dirs
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
    let mut tried = Vec::new();
    for d in dirs {
        let p = d.join(&file);
        if p.is_file() {
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
    fn file_names_follow_the_kind_prefix_rule() {
        let f = |k, n| file_name(k, n);
        assert!(f(PluginKind::Venue, "paper-sim").contains("polymix_venue_paper_sim"));
        assert!(f(PluginKind::Risk, "risk-limits").contains("polymix_risk_limits"));
        assert!(f(PluginKind::Strategy, "arb").contains("polymix_strategy_arb"));
    }
}
