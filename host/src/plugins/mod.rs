//! Plugin discovery, loading, version checks, call guarding and the instance registry.

pub mod compat;
pub mod discover;
pub mod elf_check;
pub mod guard;
pub mod load;
pub mod log_sink;
pub mod probe;
pub mod registry;
mod watchdog;

pub use guard::{CallError, Guarded};
pub use load::{LoadError, LoadedModule, ModuleRef};
pub use registry::{Registry, RegistryError};
pub use watchdog::HangAlarm;
