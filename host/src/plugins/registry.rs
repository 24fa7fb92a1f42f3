//! Plugin instances per config entry. One plugin file may serve several entries (two paper-sim
//! venues with different settings share one loaded module).

use plugin_api::ffi::{read_declaration, RiskHandle, StrategyModuleRef, VenueHandle};
use plugin_api::Declared;
use plugin_api::{PluginError, PluginInfo, PluginKind, Secret, Secrets, VenueInfo};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::discover::{locate, search_dirs};
use super::guard::Guarded;
use super::load::{load, LoadError, LoadedModule, ModuleRef};
use super::watchdog::HangAlarm;
use crate::config::{fill_declared_secrets, resolve_secret, Config, SecretRef};

/// Why the registry could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A plugin file was refused.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// An instance refused its settings or secrets.
    #[error("{section} `{instance}` (plugin {plugin}): {error}")]
    Create {
        /// Config section, e.g. `venue`.
        section: &'static str,
        /// Instance name.
        instance: String,
        /// Plugin name.
        plugin: String,
        /// The plugin's error.
        error: String,
    },
}

/// One venue instance.
pub struct VenueInstance {
    /// Instance name from config.
    pub name: String,
    /// Plugin name.
    pub plugin: String,
    /// What the plugin says about itself.
    pub info: VenueInfo,
    /// The guarded handle.
    pub handle: Arc<Guarded<VenueHandle>>,
}

/// One risk instance.
pub struct RiskInstance {
    /// Instance name.
    pub name: String,
    /// Plugin info.
    pub info: PluginInfo,
    /// The guarded handle.
    pub handle: Arc<Guarded<RiskHandle>>,
}

/// A row of `polymix plugins`.
#[derive(Clone, Debug, Serialize)]
pub struct PluginRow {
    /// venue, risk or strategy.
    pub kind: &'static str,
    /// Config instance name.
    pub instance: String,
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// plugin-api version it was built against.
    pub api_version: String,
    /// File.
    pub path: PathBuf,
}

/// An instance's settings and secret sources as it was created with them: its config table plus
/// what the environment gave it by its plugin's declaration (without the host's `HOST_*` context).
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    /// Settings table.
    pub settings: toml::Table,
    /// Where each secret comes from.
    pub secrets: BTreeMap<String, SecretRef>,
}

/// Every loaded module and instance.
pub struct Registry {
    /// Venue instances in config order.
    pub venues: Vec<VenueInstance>,
    /// Risk instances in config order.
    pub risks: Vec<RiskInstance>,
    /// The strategy's module and entry (instances are made once pair rules are known).
    pub strategy: Option<(StrategyModuleRef, String)>,
    /// The strategy's settings table: config plus the environment's well-known settings it
    /// declares (what its instances are created with).
    pub strategy_settings: toml::Table,
    /// Each instance's settings and secret sources as created, by section (`venue`, `risk`,
    /// `strategy`) and instance name, for `polymix check`.
    pub resolved: BTreeMap<(&'static str, String), Resolved>,
    /// Rows for listing.
    pub rows: Vec<PluginRow>,
    timeout: Duration,
    /// Raised when a call of any of these instances on a caller's thread outlives the timeout.
    alarm: HangAlarm,
}

/// Runs a plugin constructor on its own thread, so a hang in `create` is cut off too.
fn create_with_timeout<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> Result<T, PluginError> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "create did not return within {} ms",
            timeout.as_millis()
        )),
    }
}

/// TOML settings as the JSON a plugin receives.
pub fn settings_json(t: &toml::Table) -> serde_json::Value {
    serde_json::to_value(t).unwrap_or(serde_json::Value::Null)
}

/// What a loaded plugin declares; a declaration the host cannot read refuses the instance.
fn declared(
    m: &LoadedModule,
    instance: &str,
    plugin: &str,
    section: &'static str,
) -> Result<Declared, RegistryError> {
    let f = match m.module {
        ModuleRef::Venue(x) => x.declaration(),
        ModuleRef::Risk(x) => x.declaration(),
        ModuleRef::Strategy(x) => x.declaration(),
    };
    read_declaration(f).map_err(|error| RegistryError::Create {
        section,
        instance: instance.to_string(),
        plugin: plugin.to_string(),
        error,
    })
}

/// The settings an instance is created with: its table (config plus the well-known settings
/// from the environment its plugin declares, [`crate::config::HostEnv`]) and the host's context
/// (`plugin_api::settings::HOST_*`), the same for every plugin; the host names none.
fn instance_settings(
    cfg: &Config,
    t: &toml::Table,
    name: &str,
    feed: Option<&str>,
) -> serde_json::Value {
    use plugin_api::settings::{HOST_CONFIG_DIR, HOST_DATA_DIR, HOST_FEED, HOST_INSTANCE};
    let mut v = settings_json(t);
    if v.is_null() {
        v = serde_json::Value::Object(Default::default());
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            HOST_CONFIG_DIR.into(),
            serde_json::Value::String(cfg.config_dir.display().to_string()),
        );
        obj.insert(
            HOST_DATA_DIR.into(),
            serde_json::Value::String(cfg.resolve_path(&cfg.data_dir).display().to_string()),
        );
        obj.insert(HOST_INSTANCE.into(), serde_json::Value::String(name.into()));
        if let Some(feed) = feed {
            obj.insert(HOST_FEED.into(), serde_json::Value::String(feed.into()));
        }
    }
    v
}

impl Registry {
    /// Loads every plugin the config names and creates every venue and risk instance.
    pub fn build(cfg: &Config) -> Result<Registry, RegistryError> {
        let timeout = Duration::from_millis(cfg.plugins.call_timeout_ms);
        let dirs: Vec<PathBuf> = cfg
            .plugins
            .dirs
            .iter()
            .map(|d| cfg.resolve_path(d))
            .collect();
        let dirs = search_dirs(&dirs);
        let mut cache: HashMap<PathBuf, LoadedModule> = HashMap::new();
        let mut open = |kind: PluginKind,
                        name: &str,
                        explicit: Option<&std::path::Path>|
         -> Result<LoadedModule, RegistryError> {
            let explicit = explicit.map(|p| cfg.resolve_path(p));
            let path = locate(kind, name, explicit.as_deref(), &dirs).map_err(|searched| {
                LoadError::NotFound {
                    kind: kind.as_str(),
                    name: name.to_string(),
                    searched,
                }
            })?;
            if let Some(m) = cache.get(&path) {
                return Ok(m.clone());
            }
            let m = load(&path, kind)?;
            cache.insert(path, m.clone());
            Ok(m)
        };

        let mut reg = Registry {
            venues: Vec::new(),
            risks: Vec::new(),
            strategy: None,
            strategy_settings: toml::Table::new(),
            resolved: BTreeMap::new(),
            rows: Vec::new(),
            timeout,
            alarm: HangAlarm::default(),
        };
        for v in &cfg.venues {
            let m = open(PluginKind::Venue, &v.plugin, v.path.as_deref())?;
            let ModuleRef::Venue(module) = m.module else {
                unreachable!("load() checked the kind")
            };
            let declared = declared(&m, &v.name, &v.plugin, "venue")?;
            let mut table = v.settings.clone();
            cfg.host_env.apply(&declared, &mut table);
            let settings = instance_settings(cfg, &table, &v.name, v.feed.as_deref());
            let mut refs = v.secrets.clone();
            fill_declared_secrets(&declared, v.role, &mut refs, |var| {
                std::env::var_os(var).is_some()
            });
            reg.resolved.insert(
                ("venue", v.name.clone()),
                Resolved {
                    settings: table,
                    secrets: refs.clone(),
                },
            );
            let mut secrets = Secrets::new();
            for (k, r) in &refs {
                let value =
                    resolve_secret(r, &cfg.config_dir).map_err(|error| RegistryError::Create {
                        section: "venue",
                        instance: v.name.clone(),
                        plugin: v.plugin.clone(),
                        error: format!("secret `{k}`: {error}"),
                    })?;
                secrets.insert(k.clone(), Secret::new(value));
            }
            let name = v.name.clone();
            let create_err = |error: String| RegistryError::Create {
                section: "venue",
                instance: v.name.clone(),
                plugin: v.plugin.clone(),
                error,
            };
            let handle = create_with_timeout(timeout, move || {
                VenueHandle::create(module, &name, &settings, &secrets)
            })
            .map_err(create_err)?;
            let guarded =
                Arc::new(Guarded::new(&v.name, handle, timeout).with_alarm(reg.alarm.clone()));
            let info = guarded
                .call("info", |h| h.info())
                .map_err(|e| create_err(e.to_string()))?;
            reg.rows.push(PluginRow {
                kind: "venue",
                instance: v.name.clone(),
                name: info.name.clone(),
                version: info.version.clone(),
                api_version: m.api_version.clone(),
                path: m.path.clone(),
            });
            reg.venues.push(VenueInstance {
                name: v.name.clone(),
                plugin: v.plugin.clone(),
                info,
                handle: guarded,
            });
        }
        for r in &cfg.risks {
            let m = open(PluginKind::Risk, &r.plugin, r.path.as_deref())?;
            let ModuleRef::Risk(module) = m.module else {
                unreachable!("load() checked the kind")
            };
            let declared = declared(&m, &r.name, &r.plugin, "risk")?;
            let mut table = r.settings.clone();
            cfg.host_env.apply(&declared, &mut table);
            let settings = instance_settings(cfg, &table, &r.name, None);
            reg.resolved.insert(
                ("risk", r.name.clone()),
                Resolved {
                    settings: table,
                    secrets: BTreeMap::new(),
                },
            );
            let name = r.name.clone();
            let create_err = |error: String| RegistryError::Create {
                section: "risk",
                instance: r.name.clone(),
                plugin: r.plugin.clone(),
                error,
            };
            let handle = create_with_timeout(timeout, move || {
                RiskHandle::create(module, &name, &settings)
            })
            .map_err(create_err)?;
            let guarded =
                Arc::new(Guarded::new(&r.name, handle, timeout).with_alarm(reg.alarm.clone()));
            let info = guarded
                .call("info", |h| h.info())
                .map_err(|e| create_err(e.to_string()))?;
            reg.rows.push(PluginRow {
                kind: "risk",
                instance: r.name.clone(),
                name: info.name.clone(),
                version: info.version.clone(),
                api_version: m.api_version.clone(),
                path: m.path.clone(),
            });
            reg.risks.push(RiskInstance {
                name: r.name.clone(),
                info,
                handle: guarded,
            });
        }
        if let Some(s) = &cfg.strategy {
            let m = open(PluginKind::Strategy, &s.plugin, s.path.as_deref())?;
            let ModuleRef::Strategy(module) = m.module else {
                unreachable!("load() checked the kind")
            };
            let declared = declared(&m, &s.name, &s.plugin, "strategy")?;
            reg.strategy_settings = s.settings.clone();
            cfg.host_env.apply(&declared, &mut reg.strategy_settings);
            reg.resolved.insert(
                ("strategy", s.name.clone()),
                Resolved {
                    settings: reg.strategy_settings.clone(),
                    secrets: BTreeMap::new(),
                },
            );
            // Instantiate once with no pairs to learn name and version (and validate settings).
            let settings = instance_settings(cfg, &reg.strategy_settings, &s.name, None);
            let name = s.name.clone();
            let probe = create_with_timeout(timeout, move || {
                let h = plugin_api::ffi::StrategyHandle::create(module, &name, &settings, &[])?;
                h.info()
            })
            .map_err(|error| RegistryError::Create {
                section: "strategy",
                instance: s.name.clone(),
                plugin: s.plugin.clone(),
                error,
            })?;
            reg.rows.push(PluginRow {
                kind: "strategy",
                instance: s.name.clone(),
                name: probe.name,
                version: probe.version,
                api_version: m.api_version.clone(),
                path: m.path.clone(),
            });
            reg.strategy = Some((module, s.name.clone()));
        }
        Ok(reg)
    }

    /// Host-side timeout applied to plugin calls.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Raised when a call of one of these instances (or of a strategy made with it) holds
    /// its caller past the timeout; a live run stops on it.
    pub fn hang_alarm(&self) -> &HangAlarm {
        &self.alarm
    }

    /// An instance's settings and secret sources as created (`section`: `venue`, `risk` or
    /// `strategy`).
    pub fn resolved(&self, section: &str, name: &str) -> Option<&Resolved> {
        self.resolved
            .iter()
            .find(|((s, n), _)| *s == section && n == name)
            .map(|(_, r)| r)
    }

    /// A venue instance by name.
    pub fn venue(&self, name: &str) -> Option<&VenueInstance> {
        self.venues.iter().find(|v| v.name == name)
    }
}
