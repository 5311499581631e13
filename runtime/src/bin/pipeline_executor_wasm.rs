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
//! as they do natively.
//!
//! On a native target this binary is an alias of `pipeline_executor`.

// CPython's math module uses the same libm code as the wasm build.
pipeline_runtime::export_libm!();

fn main() {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    #[cfg(target_os = "wasi")]
    {
        enter_working_dir();
        default_python_home();
    }
    #[allow(unused_mut)]
    let mut registry = pipeline_runtime::Registry::with_builtins();
    #[cfg(all(target_os = "wasi", feature = "python"))]
    if !python_stdlib_reachable() {
        refuse_python_nodes(&mut registry);
    }
    let code = pipeline_runtime::cli::main_with_registry(
        &args,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
        &registry,
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

/// Whether CPython will find its standard library. Without it, starting the
/// interpreter ends the process with a fatal error (after dumping its path
/// configuration), so Python nodes are refused before that: a node error
/// (exit 3) naming what is missing. Rust-only pipelines are unaffected.
#[cfg(all(target_os = "wasi", feature = "python"))]
fn python_stdlib_reachable() -> bool {
    if std::env::var_os("PYTHONPATH").is_some() {
        return true; // the host arranged the import path itself
    }
    let Some(home) = std::env::var_os("PYTHONHOME") else {
        return false;
    };
    // PYTHONHOME may be "prefix:exec_prefix"; the stdlib is under prefix.
    let home = home.to_string_lossy().into_owned();
    let prefix = home.split(':').next().unwrap_or_default();
    let lib = std::path::Path::new(prefix).join("lib");
    lib.join("python311.zip").is_file() || lib.join("python3.11").join("encodings").is_dir()
}

#[cfg(all(target_os = "wasi", feature = "python"))]
const NO_STDLIB: &str = "the Python standard library is not reachable: preopen a folder \
holding python311.zip (or python3.11/) at /usr/local/lib, or set PYTHONHOME to the prefix \
of a preopened one";

/// Replace the `Python` node type by one that checks params exactly the
/// same way (same validation messages and exit codes) but fails to start
/// with [`NO_STDLIB`] instead of starting CPython.
#[cfg(all(target_os = "wasi", feature = "python"))]
fn refuse_python_nodes(registry: &mut pipeline_runtime::Registry) {
    use pipeline_runtime::registry::{Node, NodeContext, NodeKind, ParamError};
    use serde_json::Value as Json;

    struct NoStdlib(&'static dyn NodeKind);

    impl NodeKind for NoStdlib {
        fn name(&self) -> &'static str {
            self.0.name()
        }
        fn description(&self) -> &'static str {
            self.0.description()
        }
        fn max_inputs(&self) -> Option<usize> {
            self.0.max_inputs()
        }
        fn is_result(&self) -> bool {
            self.0.is_result()
        }
        fn emits_many(&self) -> bool {
            self.0.emits_many()
        }
        fn files(&self, params: &Json) -> Vec<pipeline_runtime::registry::FileParam> {
            self.0.files(params)
        }
        fn params_schema(&self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
            self.0.params_schema(generator)
        }
        fn check_params(&self, params: &Json) -> Result<(), ParamError> {
            self.0.check_params(params)
        }
        fn build(&self, _ctx: &NodeContext, _params: &Json) -> Result<Box<dyn Node>, String> {
            Err(NO_STDLIB.to_string())
        }
    }

    // The original kind must outlive the registry: leak one builtin registry
    // (a few small boxes, once per process).
    let builtins: &'static pipeline_runtime::Registry =
        Box::leak(Box::new(pipeline_runtime::Registry::with_builtins()));
    if let Some(python) = builtins.get("Python") {
        registry.register(Box::new(NoStdlib(python)));
    }
}
