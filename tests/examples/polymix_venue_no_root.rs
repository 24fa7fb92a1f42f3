//! Test-only shared library with no PolyMix root module.

/// An unrelated exported function.
#[no_mangle]
pub extern "C" fn polymix_something_else() -> u32 {
    7
}
