//! Embedded CPython: interpreter start-up and value conversion.
//!
//! The interpreter is started by [`init_interpreter`] (never by pyo3's
//! `auto-initialize`), so the same code works with the shared libpython of a
//! native build and with a statically linked libpython on wasm32-wasip1.
//! `PYTHONHOME` / `PYTHONPATH` are read from the environment by CPython
//! itself. A host that initialises CPython on its own first (e.g. with a
//! custom `PyConfig`) can still call `init_interpreter`: it then only
//! installs the helper module.
//!
//! Conversions (runtime value <-> Python):
//! null <-> None, bool <-> bool, int <-> int (i64 range), float <-> float,
//! string <-> str, list <-> list (tuples are accepted back as lists),
//! map <-> dict with str keys (insertion order kept), audio <->
//! `pipeline_values.Audio(samples: list[float], sample_rate: int, channels: int)`.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::error::{Error, Result};
use crate::value::{check_channels, check_sample_rate, AudioBuffer, Value, MAX_DEPTH};

/// Name of the helper module that Python node code can import
/// (`from pipeline_values import Audio`).
pub const HELPER_MODULE: &str = "pipeline_values";

const HELPER_SOURCE: &str = r#"
"""Types shared between the pipeline runtime and Python nodes."""
import os as _os
import traceback as _traceback


class Audio:
    """Audio passed to and from Python nodes.

    samples: list of floats, interleaved by channel (frame 0 ch 0, frame 0 ch 1, ...)
    sample_rate: int (Hz), channels: int
    """

    __slots__ = ("samples", "sample_rate", "channels")

    def __init__(self, samples, sample_rate, channels=1):
        self.samples = samples if isinstance(samples, list) else list(samples)
        self.sample_rate = sample_rate
        self.channels = channels

    @property
    def frames(self):
        return len(self.samples) // self.channels if self.channels else 0

    def __eq__(self, other):
        if not isinstance(other, Audio):
            return NotImplemented
        return (self.samples, self.sample_rate, self.channels) == (
            other.samples, other.sample_rate, other.channels)

    __hash__ = None

    def __repr__(self):
        return "Audio(sample_rate=%r, channels=%r, frames=%r)" % (
            self.sample_rate, self.channels, self.frames)


# Standard-library paths differ between hosts (native prefix vs the WASI
# preopen) and so may its line numbers between CPython patch releases: show
# standard-library frames as `File "<stdlib>/json/decoder.py", in decode`
# (no line number or source line) so messages are identical everywhere.
_STDLIB = _os.path.dirname(_os.__file__)


def _format_exception(exc, tb):
    if tb is not None:
        exc.__traceback__ = tb
    summary = "".join(_traceback.format_exception_only(type(exc), exc)).strip()
    summary = summary.splitlines()[-1] if summary else type(exc).__name__
    if exc.__traceback__ is None and not isinstance(exc, SyntaxError):
        return summary
    full = "".join(_traceback.format_exception(type(exc), exc, exc.__traceback__))
    full = full.replace(_STDLIB, "<stdlib>")
    out = []
    skipping = False
    for line in full.rstrip("\n").splitlines():
        if line.startswith('  File "<stdlib>/'):
            head, sep, func = line.partition(", in ")
            out.append(head.rsplit(", line ", 1)[0] + sep + func)
            skipping = True
            continue
        if skipping and line.startswith("    "):
            continue
        skipping = False
        out.append(line)
    return summary + "\n" + "\n".join(out)
"#;

/// Set by [`redirect_stdout_to_stderr`]; applied whenever the interpreter
/// is (or already was) initialised.
static STDOUT_TO_STDERR: AtomicBool = AtomicBool::new(false);

/// Start the embedded interpreter (if not yet running) and install the
/// helper module. Idempotent and cheap after the first call. Does not touch
/// signal handlers.
pub fn init_interpreter() -> Result<()> {
    Python::initialize();
    Python::attach(|py| -> PyResult<()> {
        helper(py)?;
        if STDOUT_TO_STDERR.load(Ordering::SeqCst) {
            let sys = py.import("sys")?;
            sys.setattr("stdout", sys.getattr("stderr")?)?;
        }
        Ok(())
    })
    .map_err(|e| Error::node(format!("cannot initialise the Python interpreter: {e}")))
}

/// Make Python's `print` go to stderr from now on (the CLI does this so that
/// stdout carries only the JSON results). Does not start the interpreter:
/// the redirect is applied when [`init_interpreter`] runs (which building a
/// Python node does), or immediately if Python is already running.
pub fn redirect_stdout_to_stderr() -> Result<()> {
    STDOUT_TO_STDERR.store(true, Ordering::SeqCst);
    // SAFETY: Py_IsInitialized may be called at any time, even before init.
    if unsafe { pyo3::ffi::Py_IsInitialized() } != 0 {
        init_interpreter()?;
    }
    Ok(())
}

static HELPER: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The helper module, created once. It is executed in a fresh module object
/// and only then published in `sys.modules`, so no thread (Python imports
/// may release the GIL) ever sees it half-initialised.
pub(crate) fn helper(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = HELPER.get_or_try_init(py, || -> PyResult<Py<PyModule>> {
        let m = PyModule::new(py, HELPER_MODULE)?;
        let builtins = py.import("builtins")?;
        let file = format!("<{HELPER_MODULE}>");
        let code = builtins
            .getattr("compile")?
            .call1((HELPER_SOURCE, file.as_str(), "exec"))?;
        builtins.getattr("exec")?.call1((code, m.dict()))?;
        Ok(m.unbind())
    })?;
    let m = m.bind(py).clone();
    let modules = py.import("sys")?.getattr("modules")?;
    if !modules.contains(HELPER_MODULE)? {
        modules.set_item(HELPER_MODULE, &m)?;
    }
    Ok(m)
}

/// A Python exception as text: the `Type: message` line, then the traceback
/// (standard-library paths shown as `<stdlib>`).
pub fn format_py_err(py: Python<'_>, err: &PyErr) -> String {
    let formatted = helper(py)
        .and_then(|h| h.getattr("_format_exception"))
        .and_then(|f| f.call1((err.value(py), err.traceback(py))))
        .and_then(|s| s.extract::<String>());
    match formatted {
        Ok(s) => s,
        Err(_) => err.to_string(),
    }
}

/// Convert a runtime value to a Python object.
pub fn value_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => PyFloat::new(py, *f).into_any(),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(value_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Map(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, value_to_py(py, item)?)?;
            }
            dict.into_any()
        }
        Value::Audio(a) => {
            let samples = PyList::empty(py);
            for &s in &a.samples {
                samples.append(PyFloat::new(py, s as f64))?;
            }
            helper(py)?
                .getattr("Audio")?
                .call1((samples, a.sample_rate, a.channels))?
        }
    })
}

/// `module.QualName` of an object's type (`int`, `numpy.ndarray`, ...), for
/// error messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    let t = obj.get_type();
    let module = t
        .getattr("__module__")
        .and_then(|m| m.extract::<String>())
        .unwrap_or_default();
    let name = t
        .getattr("__qualname__")
        .and_then(|m| m.extract::<String>())
        .unwrap_or_else(|_| "?".into());
    if module.is_empty() || module == "builtins" {
        name
    } else {
        format!("{module}.{name}")
    }
}

/// Convert a Python object back to a runtime value. `path` names the
/// object in error messages (e.g. `result[2]`).
pub fn py_to_value(obj: &Bound<'_, PyAny>, path: &str) -> std::result::Result<Value, String> {
    let audio_cls = helper(obj.py())
        .and_then(|h| h.getattr("Audio"))
        .map_err(|e| format!("{path}: {e}"))?;
    convert(obj, &audio_cls, path, 0)
}

fn convert(
    obj: &Bound<'_, PyAny>,
    audio_cls: &Bound<'_, PyAny>,
    path: &str,
    depth: usize,
) -> std::result::Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{path}: value nested deeper than {MAX_DEPTH} levels"
        ));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.is_truthy().unwrap_or(false)));
    }
    if obj.is_instance_of::<PyInt>() {
        return obj.extract::<i64>().map(Value::Int).map_err(|_| {
            format!(
                "{path}: int {} does not fit in a signed 64-bit integer",
                obj
            )
        });
    }
    if obj.is_instance_of::<PyFloat>() {
        return obj
            .extract::<f64>()
            .map(Value::Float)
            .map_err(|e| format!("{path}: {e}"));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_str()
            .map(|s| Value::Str(s.to_string()))
            .map_err(|_| format!("{path}: str is not valid Unicode (lone surrogate)"));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        let iter = obj.try_iter().map_err(|e| format!("{path}: {e}"))?;
        for (i, item) in iter.enumerate() {
            let item = item.map_err(|e| format!("{path}: {e}"))?;
            out.push(convert(
                &item,
                audio_cls,
                &format!("{path}[{i}]"),
                depth + 1,
            )?);
        }
        return Ok(Value::List(out));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut out = indexmap::IndexMap::new();
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .ok()
                .and_then(|s| s.to_str().ok().map(str::to_string))
                .ok_or_else(|| format!("{path}: dict keys must be str, got {}", type_name(&k)))?;
            let item_path = format!("{path}[{}]", serde_json::Value::String(key.clone()));
            let value = convert(&v, audio_cls, &item_path, depth + 1)?;
            out.insert(key, value);
        }
        return Ok(Value::Map(out));
    }
    if obj.is_instance(audio_cls).unwrap_or(false) {
        return convert_audio(obj, path);
    }
    Err(format!(
        "{path}: cannot convert Python {} to a pipeline value (supported: None, bool, int, float, str, list, tuple, dict with str keys, {HELPER_MODULE}.Audio)",
        type_name(obj)
    ))
}

fn convert_audio(obj: &Bound<'_, PyAny>, path: &str) -> std::result::Result<Value, String> {
    let int_attr = |name: &str| -> std::result::Result<i64, String> {
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
            .map_err(|_| format!("{path}.{name}: int out of range"))
    };
    let rate = check_sample_rate(int_attr("sample_rate")?)
        .map_err(|e| format!("{path}.sample_rate: {e}"))?;
    let channels =
        check_channels(int_attr("channels")?).map_err(|e| format!("{path}.channels: {e}"))?;
    let samples_obj = obj
        .getattr("samples")
        .map_err(|_| format!("{path}.samples: missing"))?;
    if !(samples_obj.is_instance_of::<PyList>() || samples_obj.is_instance_of::<PyTuple>()) {
        return Err(format!(
            "{path}.samples: expected a list of floats, got {}",
            type_name(&samples_obj)
        ));
    }
    let mut samples = Vec::new();
    let iter = samples_obj
        .try_iter()
        .map_err(|e| format!("{path}.samples: {e}"))?;
    for (i, item) in iter.enumerate() {
        let item = item.map_err(|e| format!("{path}.samples: {e}"))?;
        let ok_type = !item.is_instance_of::<PyBool>()
            && (item.is_instance_of::<PyFloat>() || item.is_instance_of::<PyInt>());
        let x = if ok_type {
            item.extract::<f64>().ok()
        } else {
            None
        };
        let x = x.ok_or_else(|| {
            format!(
                "{path}.samples[{i}]: expected a float, got {}",
                type_name(&item)
            )
        })?;
        samples.push(x as f32);
    }
    AudioBuffer::new(samples, rate, channels)
        .map(Value::Audio)
        .map_err(|e| format!("{path}: {e}"))
}
