//! Link setting for the integration tests and benches.
//!
//! Each bundled plugin crate is a `cdylib` (what the host loads) and an `rlib` (so tests can
//! call its parts directly). Every plugin's rlib carries abi_stable's root-module header, one
//! `#[no_mangle]` static with the same name in each (`export_root_module`). A test binary that
//! links two plugin rlibs may pull both objects in, depending on how code is split into codegen
//! units, and the link fails on the duplicate. The test binary never uses those headers (it
//! loads the plugins' cdylibs, which each have their own), so the linker may keep either copy.
//! The lasting fix is a separate thin cdylib crate per plugin.
fn main() {
    println!("cargo:rustc-link-arg-tests=-Wl,--allow-multiple-definition");
    println!("cargo:rustc-link-arg-benches=-Wl,--allow-multiple-definition");
}
