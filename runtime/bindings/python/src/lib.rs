//! `remotemedia_runtime._native`: the pipeline runtime as a CPython extension
//! module (PyO3, abi3). The public API is the Python package around it
//! (`python/remotemedia_runtime/__init__.py`); this module does the work:
//!
//! * [`execute_json`] — manifest text (+ inputs JSON text) to the exact text
//!   `pipeline_executor run` prints on stdout;
//! * [`execute`] — manifest text + Python values to Python values;
//! * runtime errors become `remotemedia_runtime.PipelineError` subclasses
//!   (`ManifestError`, `NodeError`, `InputError`) carrying the runtime's
//!   message and exit code.
//!
//! Values cross with the runtime's own conversion
//! (`pipeline_runtime::python::convert`), with two options: this package's
//! `Audio` is accepted as audio, and audio results are `Audio` objects whose
//! samples are a float32 numpy array when numpy can be imported.
//!
//! The pipeline runs with the GIL released; `Python` nodes take it back for
//! each call (the runtime's `init_interpreter` sees the interpreter already
//! running and only installs its `pipeline_values` helper module).

use std::path::PathBuf;

use pipeline_runtime::python::{
    type_name, AudioSamples, FromPyOptions, FromPython, ToPyOptions, ToPython,
};
use pipeline_runtime::{Error, ErrorKind, Manifest, Pipeline, Registry, Value};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple};

/// The pure-Python half of the package: exception classes and `Audio`.
static TYPES: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn types(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    TYPES
        .get_or_try_init(py, || Ok(py.import("remotemedia_runtime._types")?.unbind()))
        .map(|m| m.bind(py).clone())
}

/// A runtime error as the matching Python exception (message unchanged).
fn to_py_err(py: Python<'_>, err: &Error) -> PyErr {
    let class = match err.kind() {
        ErrorKind::Manifest => "ManifestError",
        ErrorKind::Node => "NodeError",
        ErrorKind::Inputs => "InputError",
        ErrorKind::Usage | ErrorKind::Io => "PipelineError",
    };
    let made = types(py)
        .and_then(|t| t.getattr(class))
        .and_then(|cls| cls.call1((err.message(), err.exit_code())));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

fn base_dir_arg(base_dir: Option<PathBuf>) -> Option<PathBuf> {
    base_dir.filter(|p| !p.as_os_str().is_empty())
}

/// Run manifest text; return exactly what `pipeline_executor run` prints on
/// stdout (pretty JSON with a trailing newline).
#[pyfunction]
#[pyo3(signature = (manifest_json, inputs_json=None, base_dir=None))]
fn execute_json(
    py: Python<'_>,
    manifest_json: &str,
    inputs_json: Option<&str>,
    base_dir: Option<PathBuf>,
) -> PyResult<String> {
    let base_dir = base_dir_arg(base_dir);
    py.detach(|| pipeline_runtime::run_manifest_str(manifest_json, inputs_json, base_dir))
        .map_err(|e| to_py_err(py, &e))
}

/// Run manifest text with Python input items (or the manifest's own inputs
/// when `inputs` is None); return `{"outputs": {node_id: [values]}}` as
/// Python objects.
#[pyfunction]
#[pyo3(signature = (manifest_json, inputs=None, base_dir=None))]
fn execute<'py>(
    py: Python<'py>,
    manifest_json: &str,
    inputs: Option<&Bound<'py, PyAny>>,
    base_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let base_dir = base_dir_arg(base_dir);
    // Same order of checks as the CLI: manifest (exit 2), inputs (exit 4),
    // node start-up and run (exit 3).
    let manifest = py
        .detach(|| Manifest::parse(manifest_json, &Registry::with_builtins()))
        .map_err(|e| to_py_err(py, &e))?;
    let items = match inputs {
        Some(obj) => items_from_py(obj).map_err(|e| to_py_err(py, &e))?,
        None => manifest
            .input_values()
            .and_then(|v| {
                v.ok_or_else(|| {
                    Error::inputs(
                        "no inputs: pass inputs=[...] or give the manifest an \"inputs\" array",
                    )
                })
            })
            .map_err(|e| to_py_err(py, &e))?,
    };
    let output = py
        .detach(move || {
            let registry = Registry::with_builtins();
            let mut pipeline = Pipeline::new(&manifest, &registry, base_dir)?;
            pipeline.run(items)
        })
        .map_err(|e| to_py_err(py, &e))?;
    let conv = to_python(py)?;
    let outputs = PyDict::new(py);
    for (id, values) in &output.outputs {
        let list = PyList::empty(py);
        for v in values {
            list.append(conv.convert(v)?)?;
        }
        outputs.set_item(id, list)?;
    }
    let doc = PyDict::new(py);
    doc.set_item("outputs", outputs)?;
    Ok(doc.into_any())
}

// ---------------------------------------------------------------------------
// Python -> runtime values (input items): the runtime's conversion, which
// also accepts this package's `Audio`.

fn items_from_py(obj: &Bound<'_, PyAny>) -> Result<Vec<Value>, Error> {
    let invalid = |m: String| Error::inputs(format!("invalid inputs: {m}"));
    if !(obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>()) {
        return Err(invalid(format!(
            "expected a list of items, got {}",
            type_name(obj)
        )));
    }
    let py = obj.py();
    let conv = types(py)
        .and_then(|t| t.getattr("Audio"))
        .and_then(|audio| {
            FromPython::new(
                py,
                FromPyOptions {
                    audio_classes: vec![audio],
                },
            )
        })
        .map_err(|e| invalid(e.to_string()))?;
    let iter = obj.try_iter().map_err(|e| invalid(e.to_string()))?;
    let mut items = Vec::new();
    for (i, item) in iter.enumerate() {
        let item = item.map_err(|e| invalid(e.to_string()))?;
        items.push(
            conv.convert(&item, &format!("inputs[{i}]"))
                .map_err(invalid)?,
        );
    }
    Ok(items)
}

/// Runtime values -> Python (results): this package's `Audio`, samples as a
/// float32 numpy array when numpy can be imported, else a list.
fn to_python(py: Python<'_>) -> PyResult<ToPython<'_>> {
    Ok(ToPython::new(
        py,
        ToPyOptions {
            audio_class: Some(types(py)?.getattr("Audio")?),
            samples: AudioSamples::NumpyOrList,
        },
    ))
}

// ---------------------------------------------------------------------------

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(execute_json, m)?)?;
    m.add_function(wrap_pyfunction!(execute, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Node types known to this build (for error messages and docs).
    let names: Vec<&str> = Registry::with_builtins().names().collect();
    m.add("NODE_TYPES", PyTuple::new(m.py(), names)?)?;
    Ok(())
}
