//! `pipeline_executor_wasm`: the same command line as `pipeline_executor`,
//! built for wasm32-wasip1 as a WASI command with CPython linked in
//! statically (see `rmbuild/build/wasm/module.py` for the build).
//!
//! Same arguments, same JSON on stdout, same messages and exit codes as the
//! native binary: both call `pipeline_runtime::cli::main_with_args`.
//!
//! The host must preopen Python's standard library. The layout the build
//! produces (`rmbuild.build.wasm.module.layout()`) preopens a folder at
//! `/usr/local/lib` holding `python311.zip` (or `python3.11/`) and sets
//! `PYTHONHOME=/usr/local`; if `PYTHONHOME` is not set and that folder is
//! there, it is used. The module sees nothing but its preopens. A host may
//! set `PWD` to a preopened folder: relative paths then resolve from there,
//! as they do natively. (`pipeline_runtime::wasi_host::prepare`, shared with
//! the `pipeline_reactor` module.)
//!
//! On a native target this binary is an alias of `pipeline_executor`.

// CPython's math module uses the same libm code as the wasm build.
pipeline_runtime::export_libm!();

fn main() {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // On wasi: PWD, PYTHONHOME, Python nodes refused without a reachable
    // standard library (shared with the pipeline_reactor module).
    let registry = pipeline_runtime::wasi_host::prepare();
    let code = pipeline_runtime::cli::main_with_registry(
        &args,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
        &registry,
    );
    std::process::exit(code);
}
