//! `pipeline_executor_wasm`: the same command line as `pipeline_executor`,
//! built for wasm32-wasip1 as a WASI command with CPython linked in
//! statically (see `rmbuild/wasm.py` for the build).
//!
//! Same arguments, same JSON on stdout, same messages and exit codes as the
//! native binary: both call `pipeline_runtime::cli::main_with_args`.
//!
//! The host must preopen Python's standard library. The layout the build
//! produces (`rmbuild.wasm.runtime_layout()`) preopens a folder at
//! `/usr/local/lib` holding `python311.zip` (or `python3.11/`) and sets
//! `PYTHONHOME=/usr/local`; if `PYTHONHOME` is not set and that folder is
//! there, it is used. The module sees nothing but its preopens. A host may
//! set `PWD` to a preopened folder: relative paths then resolve from there,
//! as they do natively.
//!
//! On a native target this binary is an alias of `pipeline_executor`.

fn main() {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    #[cfg(target_os = "wasi")]
    {
        enter_working_dir();
        default_python_home();
    }
    let code = pipeline_runtime::cli::main_with_args(
        &args,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}

/// WASI has no inherited working directory: a host may pass its own as
/// `PWD` (a preopened folder) so relative paths resolve as they do natively.
#[cfg(target_os = "wasi")]
fn enter_working_dir() {
    if let Some(dir) = std::env::var_os("PWD") {
        // A PWD that is not reachable is ignored: paths then resolve from `/`.
        let _ = std::env::set_current_dir(dir);
    }
}

/// Where the build's layout puts the standard library inside the guest.
#[cfg(target_os = "wasi")]
const DEFAULT_PYTHON_HOME: &str = "/usr/local";

/// CPython's compiled-in prefix is the path of the machine that built
/// libpython; point it at the preopened standard library instead, unless
/// the host chose a home itself.
#[cfg(target_os = "wasi")]
fn default_python_home() {
    if std::env::var_os("PYTHONHOME").is_some() {
        return;
    }
    let lib = std::path::Path::new(DEFAULT_PYTHON_HOME).join("lib");
    if lib.join("python311.zip").is_file() || lib.join("python3.11").is_dir() {
        // Single-threaded program, before anything reads the environment.
        std::env::set_var("PYTHONHOME", DEFAULT_PYTHON_HOME);
    }
}
