// With the `python` feature on a native target, add an rpath to the
// directory of the shared libpython pyo3 links against, so binaries and
// tests run without LD_LIBRARY_PATH. Nothing is done for wasm targets (the
// wasm build links a static libpython).
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
