//! Media pipeline runtime: JSON manifests describing a DAG of nodes, run by a
//! synchronous executor that works the same natively and on wasm32-wasip1.
//!
//! Entry points:
//! * [`cli::main_with_args`] — the whole `pipeline_executor` command line
//!   (used by the native binary and by the wasm binary);
//! * [`run_manifest_str`] — run manifest text, get result JSON text;
//! * [`Session`] — open a manifest once, push items one at a time, close
//!   (the core of `pipeline_executor stream`, the reactor module and the
//!   wheel's `Session`);
//! * [`Manifest::parse`] + [`Pipeline::new`] + [`Pipeline::process_item`] +
//!   [`Pipeline::finish`] — streaming use from Rust;
//! * `python::init_interpreter` (feature `python`) — start the embedded
//!   interpreter (idempotent).
//!
//! See README.md for the manifest format, value encoding and exit codes.

pub mod audio;
pub mod cli;
pub mod error;
pub mod executor;
pub mod libm_exports;
pub mod manifest;
pub mod nodes;
pub mod registry;
pub mod schema;
pub mod session;
pub mod stdio;
pub mod value;
pub mod wasi_host;

#[cfg(feature = "python")]
pub mod python;

#[cfg(all(feature = "async", not(target_os = "wasi")))]
pub mod async_exec;

pub use error::{Error, ErrorKind, Result};
pub use executor::{Pipeline, RunOutput};
pub use manifest::Manifest;
pub use registry::{FileParam, Node, NodeContext, NodeKind, Registry};
pub use session::{Session, SessionOptions};
pub use value::{AudioBuffer, Value};

use std::path::PathBuf;

/// Run manifest text with the built-in node types and return the result
/// document (`{"outputs": ...}`) as pretty JSON text.
///
/// `inputs_json`, if given, is a JSON array of items and replaces the
/// manifest's own `inputs`. `base_dir` resolves relative paths in params.
/// The error's `exit_code()` follows the CLI contract.
pub fn run_manifest_str(
    manifest_json: &str,
    inputs_json: Option<&str>,
    base_dir: Option<PathBuf>,
) -> Result<String> {
    let registry = Registry::with_builtins();
    let manifest = Manifest::parse(manifest_json, &registry)?;
    let items = match inputs_json {
        Some(text) => manifest::parse_inputs(text)?,
        None => manifest.input_values()?.ok_or_else(no_inputs_error)?,
    };
    let mut pipeline = Pipeline::new(&manifest, &registry, base_dir)?;
    Ok(pipeline.run(items)?.to_json_pretty())
}

/// For hosts whose stdout carries the results (the CLI, the reactor): if
/// the manifest has Python nodes, make Python's `print` go to stderr. Only
/// recorded here, applied when a Python node starts the interpreter (so an
/// embedding can still refuse Python nodes before anything initialises
/// CPython). Call before building the pipeline. Without the `python`
/// feature: nothing to do.
pub fn python_print_to_stderr(manifest: &Manifest) -> Result<()> {
    #[cfg(feature = "python")]
    if manifest.nodes.iter().any(|n| n.node_type == "Python") {
        python::redirect_stdout_to_stderr()?;
    }
    #[cfg(not(feature = "python"))]
    let _ = manifest;
    Ok(())
}

pub(crate) fn no_inputs_error() -> Error {
    Error::inputs("no inputs: pass --input FILE or give the manifest an \"inputs\" array")
}
