//! Test-only plugin that looks like one built against the previous plugin-api (0.1.0, before
//! fee schedules became data and proposals carried per-leg fees): same root module name, older
//! interface version. The host must refuse it with one line.
#![allow(non_local_definitions)]

use abi_stable::library::RootModule;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::{declare_root_module_statics, export_root_module, StableAbi};

/// The old root module.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = OldVenueRef)))]
pub struct OldVenue {
    /// Some function of the old interface.
    #[sabi(last_prefix_field)]
    pub hello: extern "C" fn() -> u32,
}

impl RootModule for OldVenueRef {
    declare_root_module_statics! {OldVenueRef}
    const BASE_NAME: &'static str = "polymix_venue";
    const NAME: &'static str = "polymix-venue";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("0.1.0");
}

extern "C" fn hello() -> u32 {
    1
}

/// Root module.
#[export_root_module]
pub fn root() -> OldVenueRef {
    OldVenue { hello }.leak_into_prefix()
}
