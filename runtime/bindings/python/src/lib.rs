//! `remotemedia_runtime._native`: the pipeline runtime as a CPython extension
//! module (PyO3, abi3). The public API is the Python package around it
//! (`python/remotemedia_runtime/__init__.py`); this module does the work:
//!
//! * [`execute_json`] — manifest text (+ inputs JSON text) to the exact text
//!   `pipeline_executor run` prints on stdout;
//! * [`execute`] — manifest text + Python values to Python values;
//! * [`Session`] — the runtime's session core (`pipeline_runtime::Session`):
//!   open once, push items one at a time, close (flushes);
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
use std::sync::{Mutex, MutexGuard};

use pipeline_runtime::python::{
    type_name, AudioSamples, FromPyOptions, FromPython, ToPyOptions, ToPython,
};
use pipeline_runtime::{
    Error, ErrorKind, Manifest, Pipeline, Registry, RunOutput, SessionOptions, Value,
};
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
    output_to_py(py, &output)
}

/// `{"outputs": {node_id: [values]}}` as Python objects.
fn output_to_py<'py>(py: Python<'py>, output: &RunOutput) -> PyResult<Bound<'py, PyAny>> {
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

/// The runtime's session core: the manifest is opened (validated, every
/// node built) once; `push` runs one item and returns its result, `close`
/// flushes the nodes and returns what that produced. Merging every push's
/// lists and the close's gives `execute`'s result for the same items.
/// Pipelines run with the GIL released, one call at a time per session.
#[pyclass(module = "remotemedia_runtime._native", name = "Session")]
struct Session {
    inner: Mutex<pipeline_runtime::Session>,
}

impl Session {
    fn lock(&self) -> MutexGuard<'_, pipeline_runtime::Session> {
        // A panic cannot leave the session half-updated in a way that
        // matters more than the panic itself; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl Session {
    #[new]
    #[pyo3(signature = (manifest_json, base_dir=None))]
    fn new(py: Python<'_>, manifest_json: &str, base_dir: Option<PathBuf>) -> PyResult<Self> {
        let options = SessionOptions {
            base_dir: base_dir_arg(base_dir),
            // Python nodes print to this process's stdout, as with execute.
            python_print_to_stderr: false,
        };
        let session = py
            .detach(|| {
                pipeline_runtime::Session::open(manifest_json, &Registry::with_builtins(), &options)
            })
            .map_err(|e| to_py_err(py, &e))?;
        Ok(Session {
            inner: Mutex::new(session),
        })
    }

    /// Run one item (a Python value, as in `execute`'s inputs); its result.
    fn push<'py>(&self, py: Python<'py>, item: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        if self.lock().is_closed() {
            return Err(to_py_err(py, &Error::usage("the session is closed")));
        }
        let value = item_from_py(item).map_err(|e| to_py_err(py, &e))?;
        let output = py
            .detach(|| self.lock().push(value))
            .map_err(|e| to_py_err(py, &e))?;
        output_to_py(py, &output)
    }

    /// Run one item given as JSON text (the encoding of `--input` items);
    /// the result line `pipeline_executor stream` writes (without newline).
    fn push_json(&self, py: Python<'_>, item_json: &str) -> PyResult<String> {
        py.detach(|| self.lock().push_json(item_json))
            .map_err(|e| to_py_err(py, &e))
    }

    /// Flush the nodes and close; what the flush produced.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let output = py
            .detach(|| self.lock().close())
            .map_err(|e| to_py_err(py, &e))?;
        output_to_py(py, &output)
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.lock().is_closed()
    }
}

// ---------------------------------------------------------------------------
// Python -> runtime values (input items): the runtime's conversion, which
// also accepts this package's `Audio`.

/// The converter for input values: the runtime's, also accepting this
/// package's `Audio`.
fn from_python<'py>(py: Python<'py>) -> PyResult<FromPython<'py>> {
    let audio = types(py)?.getattr("Audio")?;
    FromPython::new(
        py,
        FromPyOptions {
            audio_classes: vec![audio],
        },
    )
}

/// One session item (errors name it `item`).
fn item_from_py(obj: &Bound<'_, PyAny>) -> Result<Value, Error> {
    let invalid = |m: String| Error::inputs(format!("invalid inputs: {m}"));
    let conv = from_python(obj.py()).map_err(|e| invalid(e.to_string()))?;
    conv.convert(obj, "item").map_err(invalid)
}

fn items_from_py(obj: &Bound<'_, PyAny>) -> Result<Vec<Value>, Error> {
    let invalid = |m: String| Error::inputs(format!("invalid inputs: {m}"));
    if !(obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>()) {
        return Err(invalid(format!(
            "expected a list of items, got {}",
            type_name(obj)
        )));
    }
    let conv = from_python(obj.py()).map_err(|e| invalid(e.to_string()))?;
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
    m.add_class::<Session>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Node types known to this build (for error messages and docs).
    let names: Vec<&str> = Registry::with_builtins().names().collect();
    m.add("NODE_TYPES", PyTuple::new(m.py(), names)?)?;
    Ok(())
}
