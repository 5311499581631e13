// With the `python` feature on a native target, add an rpath to the folder
// of the shared libpython pyo3 links against (as runtime/build.rs does for
// pipeline_runtime), so the crate's tests run without LD_LIBRARY_PATH.
// Nothing for wasm targets (static libpython).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "python")]
    {
        let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
        let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
        if os != "wasi" && !arch.starts_with("wasm") {
            pyo3_build_config::add_libpython_rpath_link_args();
        }
    }
}
