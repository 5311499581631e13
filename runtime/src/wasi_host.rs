//! What a wasm32-wasip1 entry point does before running anything. The
//! `pipeline_executor_wasm` command and the `pipeline_reactor` module both
//! call [`prepare`], so they find files and Python's standard library the
//! same way. Compiled on every target (type-checked and tested natively);
//! [`prepare`] changes nothing on other targets.
//!
//! * WASI has no inherited working directory: a host may pass its own as
//!   `PWD` (a preopened folder) so relative paths resolve as they do
//!   natively ([`enter_working_dir`]).
//! * CPython's compiled-in prefix is the path of the machine that built
//!   libpython: unless the host set `PYTHONHOME`, it is pointed at the
//!   layout's preopen `/usr/local` when that holds the standard library
//!   ([`default_python_home`]).
//! * Hosts preopen a writable, empty scratch folder at `/tmp` (wasmtime and
//!   node:wasi through rmbuild, the browser runner in memory); unless the host
//!   set `TMPDIR`, it is set to `/tmp` when that folder is reachable, so
//!   Python's `tempfile` (and anything that asks for a temporary folder) uses
//!   it ([`default_tmpdir`]).
//! * Without a reachable standard library, starting CPython ends the
//!   process with a fatal error, so Python nodes are refused instead: the
//!   same params checks, and a node error (exit 3) naming what is missing
//!   when one is built ([`refuse_python_nodes`]). Rust-only pipelines are
//!   unaffected.

use crate::registry::Registry;

/// Where the build's layout puts the standard library inside the guest.
pub const DEFAULT_PYTHON_HOME: &str = "/usr/local";

/// Enter the folder named by `PWD`, if there is one and it is reachable
/// (otherwise paths keep resolving from `/`).
pub fn enter_working_dir() {
    if let Some(dir) = std::env::var_os("PWD") {
        let _ = std::env::set_current_dir(dir);
    }
}

/// Set `PYTHONHOME` to [`DEFAULT_PYTHON_HOME`] if the host did not set it
/// and the standard library is there. Call before anything reads the
/// environment from another thread (there are none on wasm32-wasip1).
pub fn default_python_home() {
    if std::env::var_os("PYTHONHOME").is_some() {
        return;
    }
    let lib = std::path::Path::new(DEFAULT_PYTHON_HOME).join("lib");
    if lib.join("python311.zip").is_file() || lib.join("python3.11").is_dir() {
        std::env::set_var("PYTHONHOME", DEFAULT_PYTHON_HOME);
    }
}

/// Where hosts preopen the writable scratch folder.
pub const SCRATCH_DIR: &str = "/tmp";

/// Set `TMPDIR` to [`SCRATCH_DIR`] if the host did not set it and that folder
/// is reachable (preopened). Same caveat as [`default_python_home`].
pub fn default_tmpdir() {
    if std::env::var_os("TMPDIR").is_some() {
        return;
    }
    if std::path::Path::new(SCRATCH_DIR).is_dir() {
        std::env::set_var("TMPDIR", SCRATCH_DIR);
    }
}

/// Whether CPython will find its standard library: `PYTHONPATH` is set (the
/// host arranged the import path itself), or `PYTHONHOME`'s prefix holds
/// `lib/python311.zip` or `lib/python3.11/encodings`.
#[cfg(feature = "python")]
pub fn python_stdlib_reachable() -> bool {
    if std::env::var_os("PYTHONPATH").is_some() {
        return true;
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

/// The start-up error of a refused Python node.
#[cfg(feature = "python")]
pub const NO_STDLIB: &str = "the Python standard library is not reachable: preopen a folder \
holding python311.zip (or python3.11/) at /usr/local/lib, or set PYTHONHOME to the prefix \
of a preopened one";

/// Replace the `Python` node type by one that checks params exactly the
/// same way (same validation messages and exit codes, same
/// [`files`](crate::NodeKind::files)) but fails to start with
/// [`NO_STDLIB`] instead of starting CPython.
#[cfg(feature = "python")]
pub fn refuse_python_nodes(registry: &mut Registry) {
    use std::sync::OnceLock;

    use serde_json::Value as Json;

    use crate::registry::{FileParam, Node, NodeContext, NodeKind, ParamError};

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
        fn files(&self, params: &Json) -> Vec<FileParam> {
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

    // The original kind must outlive the registry: one builtin registry per
    // process, kept for good.
    static BUILTINS: OnceLock<Registry> = OnceLock::new();
    if let Some(python) = BUILTINS.get_or_init(Registry::with_builtins).get("Python") {
        registry.register(Box::new(NoStdlib(python)));
    }
}

/// Prepare the process and return the node registry to use. On
/// wasm32-wasip1: [`enter_working_dir`], [`default_python_home`],
/// [`default_tmpdir`], then the
/// built-in registry with Python nodes refused if the standard library is
/// not reachable. Elsewhere: just the built-in registry.
pub fn prepare() -> Registry {
    #[cfg(target_os = "wasi")]
    {
        enter_working_dir();
        default_python_home();
        default_tmpdir();
    }
    #[allow(unused_mut)]
    let mut registry = Registry::with_builtins();
    #[cfg(all(target_os = "wasi", feature = "python"))]
    if !python_stdlib_reachable() {
        refuse_python_nodes(&mut registry);
    }
    registry
}

#[cfg(all(test, feature = "python"))]
mod tests {
    use super::*;
    use crate::manifest::Manifest;
    use crate::Pipeline;

    #[test]
    fn refused_python_nodes_validate_alike_and_fail_to_start() {
        let mut reg = Registry::with_builtins();
        refuse_python_nodes(&mut reg);
        let kind = reg.get("Python").unwrap();
        let params = serde_json::json!({"module_path": "m.py", "class": "C"});
        assert_eq!(
            kind.files(&params),
            Registry::with_builtins()
                .get("Python")
                .unwrap()
                .files(&params)
        );
        let bad = r#"{"version":1,"nodes":[{"id":"p","type":"Python","params":{"class":"C"}}]}"#;
        assert_eq!(
            Manifest::parse(bad, &reg).unwrap_err(),
            Manifest::parse(bad, &Registry::with_builtins()).unwrap_err()
        );
        let ok = r#"{"version":1,"nodes":[{"id":"p","type":"Python","params":{"class":"C","source":"class C: pass"}}]}"#;
        let m = Manifest::parse(ok, &reg).unwrap();
        let e = Pipeline::new(&m, &reg, None).err().unwrap();
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.message(),
            format!("node 'p' (Python) failed to initialise: {NO_STDLIB}")
        );
    }
}
