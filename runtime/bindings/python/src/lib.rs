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
//! The pipeline runs with the GIL released; `Python` nodes take it back for
//! each call (the runtime's `init_interpreter` sees the interpreter already
//! running and only installs its `pipeline_values` helper module).

use std::path::PathBuf;

use pipeline_runtime::python::type_name;
use pipeline_runtime::{AudioBuffer, Error, ErrorKind, Manifest, Pipeline, Registry, Value};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};

/// Same limit as the runtime's JSON decoding (`value::MAX_DEPTH`).
const MAX_DEPTH: usize = 100;

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
    let conv = ToPy::new(py)?;
    let outputs = PyDict::new(py);
    for (id, values) in &output.outputs {
        let list = PyList::empty(py);
        for v in values {
            list.append(conv.value(v)?)?;
        }
        outputs.set_item(id, list)?;
    }
    let doc = PyDict::new(py);
    doc.set_item("outputs", outputs)?;
    Ok(doc.into_any())
}

// ---------------------------------------------------------------------------
// Python -> runtime values (input items)

fn items_from_py(obj: &Bound<'_, PyAny>) -> Result<Vec<Value>, Error> {
    let invalid = |m: String| Error::inputs(format!("invalid inputs: {m}"));
    if !(obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>()) {
        return Err(invalid(format!(
            "expected a list of items, got {}",
            type_name(obj)
        )));
    }
    let conv = FromPy {
        audio: types(obj.py())
            .and_then(|t| t.getattr("Audio"))
            .map_err(|e| invalid(e.to_string()))?,
    };
    let iter = obj.try_iter().map_err(|e| invalid(e.to_string()))?;
    let mut items = Vec::new();
    for (i, item) in iter.enumerate() {
        let item = item.map_err(|e| invalid(e.to_string()))?;
        items.push(
            conv.value(&item, &format!("inputs[{i}]"), 0)
                .map_err(invalid)?,
        );
    }
    Ok(items)
}

struct FromPy<'py> {
    audio: Bound<'py, PyAny>,
}

impl<'py> FromPy<'py> {
    fn value(&self, obj: &Bound<'py, PyAny>, path: &str, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "{path}: value nested deeper than {MAX_DEPTH} levels"
            ));
        }
        let err = |e: PyErr| format!("{path}: {e}");
        if obj.is_none()
            || obj.is_instance_of::<PyBool>()
            || obj.is_instance_of::<PyInt>()
            || obj.is_instance_of::<PyFloat>()
            || obj.is_instance_of::<PyString>()
        {
            // Scalars: the runtime's own conversion (i64 range, surrogates).
            return pipeline_runtime::python::py_to_value(obj, path);
        }
        if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
            let mut out = Vec::new();
            for (i, item) in obj.try_iter().map_err(err)?.enumerate() {
                let item = item.map_err(err)?;
                out.push(self.value(&item, &format!("{path}[{i}]"), depth + 1)?);
            }
            return Ok(Value::List(out));
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            let mut out = Vec::with_capacity(d.len());
            for (k, v) in d.iter() {
                let key = k
                    .cast::<PyString>()
                    .ok()
                    .and_then(|s| s.to_str().ok().map(str::to_string))
                    .ok_or_else(|| {
                        format!("{path}: dict keys must be str, got {}", type_name(&k))
                    })?;
                let item_path = format!("{path}[{}]", serde_json::Value::String(key.clone()));
                out.push((key, self.value(&v, &item_path, depth + 1)?));
            }
            return Ok(Value::Map(out.into_iter().collect()));
        }
        if obj.is_instance(&self.audio).unwrap_or(false) {
            return audio_from_py(obj, path);
        }
        if type_name(obj) == "pipeline_values.Audio" {
            // What Python nodes use: the runtime's own conversion.
            return pipeline_runtime::python::py_to_value(obj, path);
        }
        if is_numpy(obj) {
            // numpy scalars and arrays: their Python equivalent.
            let plain = obj.call_method0("tolist").map_err(err)?;
            if !is_numpy(&plain) {
                return self.value(&plain, path, depth);
            }
        }
        Err(format!(
            "{path}: cannot convert Python {} to a pipeline value (supported: None, bool, int, float, str, \
             list, tuple, dict with str keys, remotemedia_runtime.Audio, numpy scalars and arrays)",
            type_name(obj)
        ))
    }
}

fn is_numpy(obj: &Bound<'_, PyAny>) -> bool {
    obj.get_type()
        .getattr("__module__")
        .and_then(|m| m.extract::<String>())
        .is_ok_and(|m| m == "numpy" || m.starts_with("numpy."))
}

/// `remotemedia_runtime.Audio` -> runtime audio. `samples`: a list/tuple of
/// numbers, or anything numpy turns into a float32 array (1-D interleaved,
/// or 2-D `(frames, channels)`).
fn audio_from_py(obj: &Bound<'_, PyAny>, path: &str) -> Result<Value, String> {
    let int_attr = |name: &str| -> Result<i64, String> {
        let v = obj
            .getattr(name)
            .map_err(|_| format!("{path}.{name}: missing"))?;
        if v.is_instance_of::<PyBool>() || !v.is_instance_of::<PyInt>() {
            return Err(format!(
                "{path}.{name}: expected an int, got {}",
                type_name(&v)
            ));
        }
        v.extract::<i64>()
            .map_err(|_| format!("{path}.{name}: int {v} out of range"))
    };
    let rate = int_attr("sample_rate")?;
    let channels = int_attr("channels")?;
    // Range checks with the runtime's own rules and messages.
    let probe =
        serde_json::json!({"$audio": {"sample_rate": rate, "channels": channels, "samples": []}});
    Value::from_json(&probe, path).map_err(|e| e.replacen(&format!("{path}.$audio"), path, 1))?;
    let samples_obj = obj
        .getattr("samples")
        .map_err(|_| format!("{path}.samples: missing"))?;
    let samples =
        if samples_obj.is_instance_of::<PyList>() || samples_obj.is_instance_of::<PyTuple>() {
            let mut out = Vec::new();
            let iter = samples_obj
                .try_iter()
                .map_err(|e| format!("{path}.samples: {e}"))?;
            for (i, item) in iter.enumerate() {
                let item = item.map_err(|e| format!("{path}.samples: {e}"))?;
                let number = !item.is_instance_of::<PyBool>()
                    && (item.is_instance_of::<PyFloat>()
                        || item.is_instance_of::<PyInt>()
                        || is_numpy(&item));
                let x = if number {
                    item.extract::<f64>().ok()
                } else {
                    None
                };
                let x = x.ok_or_else(|| {
                    format!(
                        "{path}.samples[{i}]: expected a number, got {}",
                        type_name(&item)
                    )
                })?;
                out.push(x as f32);
            }
            out
        } else if is_numpy(&samples_obj) {
            numpy_samples(&samples_obj, channels, path)?
        } else {
            return Err(format!(
                "{path}.samples: expected a list of floats or a numpy array, got {}",
                type_name(&samples_obj)
            ));
        };
    // Rate and channels were range-checked above.
    AudioBuffer::new(samples, rate as u32, channels as u16)
        .map(Value::Audio)
        .map_err(|e| format!("{path}: {e}"))
}

/// `(3, 2)`, `(5,)`: a shape as Python prints it.
fn py_tuple(items: &[usize]) -> String {
    match items {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            items
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn numpy_samples(arr: &Bound<'_, PyAny>, channels: i64, path: &str) -> Result<Vec<f32>, String> {
    let err = |e: PyErr| format!("{path}.samples: {e}");
    let np = arr.py().import("numpy").map_err(err)?;
    let kind: String = arr
        .getattr("dtype")
        .and_then(|d| d.getattr("kind"))
        .and_then(|k| k.extract())
        .map_err(err)?;
    if !matches!(kind.as_str(), "f" | "i" | "u") {
        return Err(format!(
            "{path}.samples: expected a numeric numpy array, got dtype {}",
            arr.getattr("dtype")
                .map(|d| d.to_string())
                .unwrap_or_default()
        ));
    }
    let ndim: usize = arr.getattr("ndim").and_then(|n| n.extract()).map_err(err)?;
    let shape: Vec<usize> = arr
        .getattr("shape")
        .and_then(|s| s.extract())
        .map_err(err)?;
    match ndim {
        1 => {}
        2 if shape[1] as i64 == channels => {}
        _ => {
            return Err(format!(
                "{path}.samples: expected a 1-D array (interleaved) or a 2-D array of shape (frames, {channels}), got shape {}",
                py_tuple(&shape)
            ))
        }
    }
    let kwargs = PyDict::new(arr.py());
    kwargs
        .set_item("dtype", np.getattr("float32").map_err(err)?)
        .map_err(err)?;
    let contiguous = np
        .getattr("ascontiguousarray")
        .and_then(|f| f.call((arr,), Some(&kwargs)))
        .map_err(err)?;
    let bytes = contiguous.call_method0("tobytes").map_err(err)?;
    let bytes = bytes
        .cast::<PyBytes>()
        .map_err(|e| format!("{path}.samples: {e}"))?;
    Ok(bytes
        .as_bytes()
        .chunks_exact(4)
        .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

// ---------------------------------------------------------------------------
// Runtime values -> Python (results)

struct ToPy<'py> {
    py: Python<'py>,
    audio: Bound<'py, PyAny>,
    /// `numpy.frombuffer` if numpy can be imported; else audio samples are lists.
    frombuffer: Option<Bound<'py, PyAny>>,
    float32: Option<Bound<'py, PyAny>>,
}

impl<'py> ToPy<'py> {
    fn new(py: Python<'py>) -> PyResult<Self> {
        let (frombuffer, float32) = match py.import("numpy") {
            Ok(np) => (
                Some(np.getattr("frombuffer")?),
                Some(np.getattr("float32")?),
            ),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyImportError>(py) => (None, None),
            Err(e) => return Err(e),
        };
        Ok(ToPy {
            py,
            audio: types(py)?.getattr("Audio")?,
            frombuffer,
            float32,
        })
    }

    fn value(&self, v: &Value) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        Ok(match v {
            Value::Null => py.None().into_bound(py),
            Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
            Value::Int(i) => i.into_pyobject(py)?.into_any(),
            Value::Float(f) => PyFloat::new(py, *f).into_any(),
            Value::Str(s) => PyString::new(py, s).into_any(),
            Value::List(items) => {
                let list = PyList::empty(py);
                for item in items {
                    list.append(self.value(item)?)?;
                }
                list.into_any()
            }
            Value::Map(map) => {
                let dict = PyDict::new(py);
                for (k, item) in map {
                    dict.set_item(k, self.value(item)?)?;
                }
                dict.into_any()
            }
            Value::Audio(a) => {
                let samples = match (&self.frombuffer, &self.float32) {
                    (Some(frombuffer), Some(float32)) => {
                        let bytes: Vec<u8> =
                            a.samples.iter().flat_map(|s| s.to_ne_bytes()).collect();
                        // A bytearray, so the array is writable.
                        frombuffer.call1((PyByteArray::new(py, &bytes), float32))?
                    }
                    _ => {
                        let list = PyList::empty(py);
                        for &s in &a.samples {
                            list.append(PyFloat::new(py, s as f64))?;
                        }
                        list.into_any()
                    }
                };
                self.audio.call1((samples, a.sample_rate, a.channels))?
            }
        })
    }
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
