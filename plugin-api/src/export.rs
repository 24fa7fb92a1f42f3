//! Export macros: one line in a plugin crate builds its root module.
//!
//! The plugin crate needs a direct `abi_stable = "=0.11.3"` dependency, because
//! `#[export_root_module]` expands to paths starting with `::abi_stable`.

/// Exports a [`crate::Venue`] implementation as this cdylib's root module.
///
/// ```ignore
/// plugin_api::export_venue!(MyVenue);
/// // or, declaring settings and secrets the host fills from the environment:
/// plugin_api::export_venue!(MyVenue, declaration = MY_DECLARATION);
/// ```
///
/// The optional `declaration` is a `const` [`crate::declare::Declaration`]; see
/// [`crate::declare`].
#[macro_export]
macro_rules! export_venue {
    ($ty:ty) => {
        $crate::export_venue!($ty, declaration = $crate::declare::Declaration::NONE);
    };
    ($ty:ty, declaration = $decl:expr) => {
        #[::abi_stable::export_root_module]
        pub fn polymix_root_module() -> $crate::ffi::VenueModuleRef {
            use ::abi_stable::prefix_type::PrefixTypeTrait;
            extern "C" fn set_log_sink(sink: $crate::log::LogSink) {
                $crate::log::install_sink(sink)
            }
            extern "C" fn declaration() -> ::abi_stable::std_types::RString {
                const DECLARATION: $crate::declare::Declaration = $decl;
                $crate::ffi::declaration_json(&DECLARATION)
            }
            extern "C" fn create(
                instance: ::abi_stable::std_types::RStr<'_>,
                settings: ::abi_stable::std_types::RStr<'_>,
                secrets: ::abi_stable::std_types::RVec<
                    ::abi_stable::std_types::Tuple2<
                        ::abi_stable::std_types::RString,
                        ::abi_stable::std_types::RString,
                    >,
                >,
            ) -> ::abi_stable::std_types::RResult<$crate::ffi::FfiVenueBox, $crate::ffi::FfiError>
            {
                $crate::ffi::create_venue::<$ty>(instance, settings, secrets)
            }
            $crate::ffi::VenueModule {
                set_log_sink,
                create,
                declaration,
            }
            .leak_into_prefix()
        }
    };
}

/// Exports a [`crate::Strategy`] implementation as this cdylib's root module, optionally with
/// a `declaration = CONST` ([`crate::declare`]), as [`export_venue!`].
#[macro_export]
macro_rules! export_strategy {
    ($ty:ty) => {
        $crate::export_strategy!($ty, declaration = $crate::declare::Declaration::NONE);
    };
    ($ty:ty, declaration = $decl:expr) => {
        #[::abi_stable::export_root_module]
        pub fn polymix_root_module() -> $crate::ffi::StrategyModuleRef {
            use ::abi_stable::prefix_type::PrefixTypeTrait;
            extern "C" fn set_log_sink(sink: $crate::log::LogSink) {
                $crate::log::install_sink(sink)
            }
            extern "C" fn declaration() -> ::abi_stable::std_types::RString {
                const DECLARATION: $crate::declare::Declaration = $decl;
                $crate::ffi::declaration_json(&DECLARATION)
            }
            extern "C" fn create(
                instance: ::abi_stable::std_types::RStr<'_>,
                settings: ::abi_stable::std_types::RStr<'_>,
                pairs: ::abi_stable::std_types::RStr<'_>,
            ) -> ::abi_stable::std_types::RResult<
                $crate::ffi::FfiStrategyBox,
                $crate::ffi::FfiError,
            > {
                $crate::ffi::create_strategy::<$ty>(instance, settings, pairs)
            }
            $crate::ffi::StrategyModule {
                set_log_sink,
                create,
                declaration,
            }
            .leak_into_prefix()
        }
    };
}

/// Exports a [`crate::RiskPolicy`] implementation as this cdylib's root module, optionally with
/// a `declaration = CONST` ([`crate::declare`]), as [`export_venue!`].
#[macro_export]
macro_rules! export_risk {
    ($ty:ty) => {
        $crate::export_risk!($ty, declaration = $crate::declare::Declaration::NONE);
    };
    ($ty:ty, declaration = $decl:expr) => {
        #[::abi_stable::export_root_module]
        pub fn polymix_root_module() -> $crate::ffi::RiskModuleRef {
            use ::abi_stable::prefix_type::PrefixTypeTrait;
            extern "C" fn set_log_sink(sink: $crate::log::LogSink) {
                $crate::log::install_sink(sink)
            }
            extern "C" fn declaration() -> ::abi_stable::std_types::RString {
                const DECLARATION: $crate::declare::Declaration = $decl;
                $crate::ffi::declaration_json(&DECLARATION)
            }
            extern "C" fn create(
                instance: ::abi_stable::std_types::RStr<'_>,
                settings: ::abi_stable::std_types::RStr<'_>,
            ) -> ::abi_stable::std_types::RResult<$crate::ffi::FfiRiskBox, $crate::ffi::FfiError>
            {
                $crate::ffi::create_risk::<$ty>(instance, settings)
            }
            $crate::ffi::RiskModule {
                set_log_sink,
                create,
                declaration,
            }
            .leak_into_prefix()
        }
    };
}
