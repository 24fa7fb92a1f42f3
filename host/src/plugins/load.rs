//! Opening a plugin file: ELF structure check, symbol probe, kind check, semver check, then abi_stable's layout
//! check. Each refusal is one line naming the file.

use abi_stable::library::{lib_header_from_path, LibHeader, RootModule};
use plugin_api::ffi::{RiskModuleRef, StrategyModuleRef, VenueModuleRef};
use plugin_api::PluginKind;
use semver::Version;
use std::path::{Path, PathBuf};

use super::compat::is_compatible;

/// Why a plugin file was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No file at any searched place.
    #[error("plugin {kind} `{name}` not found; searched: {}", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound {
        /// Kind.
        kind: &'static str,
        /// Plugin name.
        name: String,
        /// Paths tried.
        searched: Vec<PathBuf>,
    },
    /// The OS could not load the file.
    #[error("{}: cannot be loaded as a shared library: {message}", path.display())]
    Open {
        /// File.
        path: PathBuf,
        /// OS message.
        message: String,
    },
    /// The file is not a well-formed shared library (truncated, corrupted, another machine's):
    /// refused before the dynamic loader sees it, since the loader crashes on such files.
    #[error("{}: not a valid shared library, refused before loading: {reason}", path.display())]
    Malformed {
        /// File.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Loading the file in a probe process crashed, hung or failed ([`super::probe`]): it is
    /// never loaded into the host.
    #[error("{}: refused: a probe process loading it {how}", path.display())]
    ProbeDied {
        /// File.
        path: PathBuf,
        /// How the probe ended, e.g. `killed by SIGSEGV (11) while loading`.
        how: String,
    },
    /// The file is a library but not a PolyMix plugin.
    #[error("{}: not a PolyMix plugin: missing symbol `{symbol}` (export it with plugin_api::export_venue!/export_risk!/export_strategy!)", path.display())]
    NoRootModule {
        /// File.
        path: PathBuf,
        /// Missing symbol.
        symbol: String,
    },
    /// A plugin of another kind than config expects.
    #[error("{}: is a `{found}` plugin, config expects `{expected}`", path.display())]
    WrongKind {
        /// File.
        path: PathBuf,
        /// Root module name found.
        found: String,
        /// Expected root module name.
        expected: &'static str,
    },
    /// Built against an incompatible plugin-api.
    #[error("{}: built against plugin-api {plugin_version}, this host has plugin-api {host_version} (needs the same major.minor); rebuild the plugin", path.display())]
    Incompatible {
        /// File.
        path: PathBuf,
        /// Plugin's plugin-api version.
        plugin_version: String,
        /// Host's plugin-api version.
        host_version: String,
    },
    /// abi_stable's layout check failed (the full report is logged at debug level).
    #[error("{}: ABI layout check failed: {summary}", path.display())]
    Layout {
        /// File.
        path: PathBuf,
        /// The final `Error:` block of abi_stable's report.
        summary: String,
    },
}

/// A loaded root module of one of the three kinds.
#[derive(Clone, Copy)]
pub enum ModuleRef {
    /// Venue adapter.
    Venue(VenueModuleRef),
    /// Risk policy.
    Risk(RiskModuleRef),
    /// Strategy.
    Strategy(StrategyModuleRef),
}

/// A plugin file that passed every check.
#[derive(Clone)]
pub struct LoadedModule {
    /// Kind.
    pub kind: PluginKind,
    /// File.
    pub path: PathBuf,
    /// plugin-api version it was built against.
    pub api_version: String,
    /// Root module.
    pub module: ModuleRef,
}

fn expected_name(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Venue => VenueModuleRef::NAME,
        PluginKind::Risk => RiskModuleRef::NAME,
        PluginKind::Strategy => StrategyModuleRef::NAME,
    }
}

/// Probes with libloading first so a non-plugin gives a short, exact message.
fn probe_symbol(path: &Path) -> Result<(), LoadError> {
    // SAFETY: loading runs the library's initialisers. Only files that config names are
    // loaded (never a directory scan), as abi_stable's own loader assumes.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| LoadError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let sym = abi_stable::library::ROOT_MODULE_LOADER_NAME_WITH_NUL;
    // SAFETY: only the symbol's presence is checked; it is never called through this handle.
    let found = unsafe { lib.get::<*const ()>(sym.as_bytes()) }.is_ok();
    if found {
        Ok(())
    } else {
        Err(LoadError::NoRootModule {
            path: path.to_path_buf(),
            symbol: abi_stable::library::ROOT_MODULE_LOADER_NAME.to_string(),
        })
    }
}

fn layout_summary(report: &str) -> String {
    // abi_stable reports run to hundreds of lines; the last `Error:` block says what differs.
    let tail = report
        .rfind("Error:")
        .map(|i| &report[i..])
        .unwrap_or(report);
    tail.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(4)
        .collect::<Vec<_>>()
        .join(" ")
}

fn check_header(path: &Path, kind: PluginKind, header: &LibHeader) -> Result<String, LoadError> {
    let found = header.root_mod_consts().name().as_str();
    let expected = expected_name(kind);
    if found != expected {
        return Err(LoadError::WrongKind {
            path: path.to_path_buf(),
            found: found.to_string(),
            expected,
        });
    }
    let plugin_v = header.version_strings().version.as_str().to_string();
    let host_v = plugin_api::API_VERSION.to_string();
    let compatible = match (Version::parse(&host_v), Version::parse(&plugin_v)) {
        (Ok(h), Ok(p)) => is_compatible(&h, &p),
        _ => false,
    };
    if !compatible {
        return Err(LoadError::Incompatible {
            path: path.to_path_buf(),
            plugin_version: plugin_v,
            host_version: host_v,
        });
    }
    Ok(plugin_v)
}

/// Loads and checks a plugin file of the expected kind: the static structure check, then (when
/// running as `polymix`) a probe load in a child process ([`super::probe`]), then the load.
pub fn load(path: &Path, kind: PluginKind) -> Result<LoadedModule, LoadError> {
    check_structure(path)?;
    if let Some(exe) = super::probe::probe_exe() {
        use super::probe::Verdict;
        match super::probe::probe(&exe, path, kind, super::probe::TIMEOUT) {
            // A clean refusal: loading here reports it as the typed error (the same checks
            // ran in the child without crashing).
            Verdict::Loads | Verdict::Refused(_) => {}
            Verdict::Died(how) => {
                return Err(LoadError::ProbeDied {
                    path: path.to_path_buf(),
                    how,
                })
            }
        }
    }
    load_checked(path, kind)
}

/// [`load`] without the child-process probe: what the probe child itself runs.
pub fn load_unprobed(path: &Path, kind: PluginKind) -> Result<LoadedModule, LoadError> {
    check_structure(path)?;
    load_checked(path, kind)
}

fn check_structure(path: &Path) -> Result<(), LoadError> {
    // The loader trusts the file: a truncated one raises SIGBUS inside dlopen and kills the
    // host. Check what it will read first. (A file replaced between this check and dlopen is
    // not covered; plugin directories are the operator's.)
    super::elf_check::check_file(path).map_err(|e| LoadError::Malformed {
        path: path.to_path_buf(),
        reason: e.0,
    })
}

fn load_checked(path: &Path, kind: PluginKind) -> Result<LoadedModule, LoadError> {
    probe_symbol(path)?;
    let header = lib_header_from_path(path).map_err(|e| LoadError::Open {
        path: path.to_path_buf(),
        message: e.to_string().lines().next().unwrap_or_default().to_string(),
    })?;
    let api_version = check_header(path, kind, header)?;
    let layout_err = |e: abi_stable::library::LibraryError| {
        let report = e.to_string();
        tracing::debug!(path = %path.display(), %report, "full abi_stable report");
        LoadError::Layout {
            path: path.to_path_buf(),
            summary: layout_summary(&report),
        }
    };
    let module = match kind {
        PluginKind::Venue => ModuleRef::Venue(
            header
                .init_root_module::<VenueModuleRef>()
                .map_err(layout_err)?,
        ),
        PluginKind::Risk => ModuleRef::Risk(
            header
                .init_root_module::<RiskModuleRef>()
                .map_err(layout_err)?,
        ),
        PluginKind::Strategy => ModuleRef::Strategy(
            header
                .init_root_module::<StrategyModuleRef>()
                .map_err(layout_err)?,
        ),
    };
    let sink = super::log_sink::sink();
    match module {
        ModuleRef::Venue(m) => (m.set_log_sink())(sink),
        ModuleRef::Risk(m) => (m.set_log_sink())(sink),
        ModuleRef::Strategy(m) => (m.set_log_sink())(sink),
    }
    tracing::info!(path = %path.display(), kind = kind.as_str(), api_version, "plugin loaded");
    Ok(LoadedModule {
        kind,
        path: path.to_path_buf(),
        api_version,
        module,
    })
}

#[cfg(test)]
mod tests {
    use super::layout_summary;

    #[test]
    fn layout_summary_keeps_the_last_error_block() {
        let report = "lots\nof\nlines\nError:mismatched type\n Expected: u64\n Found: u32\n";
        assert_eq!(
            layout_summary(report),
            "Error:mismatched type Expected: u64 Found: u32"
        );
    }
}
