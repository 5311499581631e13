//! Embedded CPython: interpreter start-up, the `pipeline_values` helper
//! module and traceback formatting; [`convert`] holds the value conversion
//! (shared with the wheel, `remotemedia_runtime._native`).
//!
//! The interpreter is started by [`init_interpreter`] (never by pyo3's
//! `auto-initialize`), so the same code works with the shared libpython of a
//! native build and with a statically linked libpython on wasm32-wasip1.
//! `PYTHONHOME` / `PYTHONPATH` are read from the environment by CPython
//! itself. The interpreter it starts has a fixed hash seed
//! ([`DEFAULT_HASH_SEED`], unless `PYTHONHASHSEED` is set), and in the wasm
//! build the extra built-in modules ([`builtin_module_names`]: zlib). A host that initialises CPython on its own first (e.g. with a
//! custom `PyConfig`) can still call `init_interpreter`: it then only
//! installs the helper module.
//!
//! Conversions (runtime value <-> Python, see [`convert`]):
//! null <-> None, bool <-> bool, int <-> int (i64 range), float <-> float,
//! string <-> str, list <-> list (tuples are accepted back as lists),
//! map <-> dict with str keys (insertion order kept), audio <->
//! `pipeline_values.Audio(samples: list[float], sample_rate: int, channels: int)`;
//! numpy scalars and arrays are accepted as their `tolist()`.

pub mod convert;

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::error::{Error, Result};

pub use convert::{
    py_to_value, type_name, value_to_py, AudioSamples, FromPyOptions, FromPython, ToPyOptions,
    ToPython, SUPPORTED_TYPES,
};

/// Name of the helper module that Python node code can import
/// (`from pipeline_values import Audio`).
pub const HELPER_MODULE: &str = "pipeline_values";

const HELPER_SOURCE: &str = r#"
"""Types shared between the pipeline runtime and Python nodes."""
import array as _array
import os as _os
import sys as _sys


def _f32_view(data):
    """A 1-D float32 memoryview of ``data`` without a copy, or None (not float32, not
    contiguous, no buffer)."""
    try:
        view = memoryview(data)
    except TypeError:
        return None
    if view.format not in _F32_FORMATS or not view.c_contiguous:
        return None
    return view if view.ndim == 1 else view.cast("B").cast("f")


_F32_FORMATS = ("f", "@f", "=f", "<f" if _sys.byteorder == "little" else ">f")


def _flat_values(data):
    """Any samples object as a flat sequence of numbers (interleaved); a list where the
    object has a C ``tolist()`` (faster than iterating it: one float per sample either way)."""
    if hasattr(data, "ravel"):  # numpy
        return data.ravel().tolist()
    if isinstance(data, memoryview):
        return data.cast("B").cast(data.format.lstrip("@=<>!")).tolist() if data.ndim != 1 else data.tolist()
    if isinstance(data, _array.array):
        return data.tolist()
    return data


class Audio:
    """Audio passed to and from Python nodes: interleaved samples (frame 0 ch 0,
    frame 0 ch 1, ...), ``sample_rate`` (Hz) and ``channels`` (ints).

    The samples are float32. Read them as:

    - ``buffer``: a 1-D float32 ``memoryview`` (format 'f'), zero-copy. What the
      runtime passes in is an ``array.array('f')``, so this is a view of it
      (writable: changes are the audio's);
    - ``array``: a 1-D ``numpy.ndarray`` of float32 sharing that memory (where
      numpy imports; ``.reshape(-1, channels)`` for frames x channels);
    - ``samples``: a ``list`` of floats, for compatibility. Built on first use (so it
      costs nothing when unused); from then on the list is the audio's data, so
      editing it in place changes the audio, as before.

    ``Audio(samples, sample_rate, channels=1)`` takes a list, an ``array.array('f')``,
    a float32 ``memoryview`` or a numpy array (1-D interleaved or 2-D (frames,
    channels); float32, or other float dtypes, converted when read) and keeps it as it
    is (no copy); any other iterable becomes a list. Setting ``samples`` stores the
    object as it is. The runtime reads the data when the audio is returned; a wrong
    dtype or shape is a node error naming its path.
    """

    __slots__ = ("_data", "sample_rate", "channels")

    def __init__(self, samples, sample_rate, channels=1):
        if not isinstance(samples, (list, _array.array, memoryview)) and not hasattr(samples, "__array_interface__"):
            samples = list(samples)
        self._data = samples
        self.sample_rate = sample_rate
        self.channels = channels

    @property
    def samples(self):
        data = self._data
        if type(data) is not list:
            values = _flat_values(data)
            data = self._data = values if type(values) is list else list(values)
        return data

    @samples.setter
    def samples(self, samples):
        self._data = samples  # as it is: the runtime checks it when the audio is returned

    @property
    def buffer(self):
        view = _f32_view(self._data)
        if view is None:
            # a list (or float64 data): converted once to array('f'), which then holds the data
            self._data = _array.array("f", _flat_values(self._data))
            view = memoryview(self._data)
        return view

    @property
    def array(self):
        try:
            import numpy
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                "Audio.array needs numpy, which this Python cannot import (a wasm bundle has numpy "
                "when it is packed with it: [python] numpy): use Audio.buffer, a float32 memoryview, or Audio.samples",
                name="numpy",
            ) from exc
        return numpy.frombuffer(self.buffer, dtype=numpy.float32)

    @property
    def _audio_data(self):
        # What the runtime reads from a returned audio: the data as it is (no list is
        # built); a subclass that redefines `samples` gets its `samples`.
        if type(self).samples is not Audio.samples:
            return self.samples
        return self._data

    @property
    def frames(self):
        data = self._data
        if hasattr(data, "size") and hasattr(data, "ravel"):
            count = data.size
        elif isinstance(data, memoryview):
            count = data.nbytes // data.itemsize if data.itemsize else 0
        else:
            count = len(data)
        return count // self.channels if self.channels else 0

    def __eq__(self, other):
        if not isinstance(other, Audio):
            return NotImplemented
        return (self.sample_rate, self.channels) == (other.sample_rate, other.channels) and list(
            _flat_values(self._data)) == list(_flat_values(other._data))

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
    import traceback as _traceback  # only when there is an error to show: start-up stays short

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
    start_interpreter()?;
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

/// The environment variable that fixes CPython's hash seed.
pub const HASH_SEED_ENV: &str = "PYTHONHASHSEED";

/// The hash seed the runtime starts CPython with when the environment names
/// none: `0`, CPython's "hash randomization disabled" (`sys.flags.hash_randomization`
/// is 0). `str`, `bytes` and `datetime` hashes, and so the iteration order of
/// sets and of dicts built from sets, are then the same on every run.
pub const DEFAULT_HASH_SEED: &str = "0";

/// Start CPython unless it is running already (a host interpreter, as in the
/// wheel: its hash seed was fixed when it started and is left alone). Before
/// the start, and only then: `PYTHONHASHSEED` is set to [`DEFAULT_HASH_SEED`]
/// if the environment has no (non-empty) value, and in the wasm build the
/// extra built-in modules (zlib, ...) are registered.
fn start_interpreter() -> Result<()> {
    // SAFETY: Py_IsInitialized may be called at any time, even before init.
    if unsafe { pyo3::ffi::Py_IsInitialized() } != 0 {
        return Ok(());
    }
    static START: std::sync::Once = std::sync::Once::new();
    let mut registered: Result<()> = Ok(());
    START.call_once(|| {
        default_hash_seed();
        registered = register_builtin_modules();
    });
    registered?;
    Python::initialize();
    Ok(())
}

/// Set `PYTHONHASHSEED` to [`DEFAULT_HASH_SEED`] in the process environment
/// if it has no (non-empty) value. CPython reads it while it initialises (a
/// value the environment already has stays: it wins); set in the process
/// environment, so `os.environ` shows it and child processes inherit it.
/// Call before anything reads the environment from another thread.
pub fn default_hash_seed() {
    if std::env::var_os(HASH_SEED_ENV).is_none_or(|v| v.is_empty()) {
        std::env::set_var(HASH_SEED_ENV, DEFAULT_HASH_SEED);
    }
}

/// Make the running interpreter's `os.environ` (the `posix.environ` dict it
/// wraps) hold the process environment as it is now, in the same order, as
/// if CPython had started now: for an interpreter started earlier under
/// another environment (the reactor pre-initialised at build time). Nothing
/// to do when CPython is not running.
pub fn sync_environ() -> Result<()> {
    // SAFETY: Py_IsInitialized may be called at any time, even before init.
    if unsafe { pyo3::ffi::Py_IsInitialized() } == 0 {
        return Ok(());
    }
    Python::attach(|py| -> PyResult<()> {
        let environ = py.import("posix")?.getattr("environ")?;
        let fresh = pyo3::types::PyDict::new(py);
        for (key, value) in std::env::vars_os() {
            fresh.set_item(
                pyo3::types::PyBytes::new(py, key.as_encoded_bytes()),
                pyo3::types::PyBytes::new(py, value.as_encoded_bytes()),
            )?;
        }
        environ.call_method0("clear")?;
        environ.call_method1("update", (fresh,))?;
        Ok(())
    })
    .map_err(|e| Error::node(format!("cannot update the Python environment: {e}")))
}

/// The extra built-in modules linked into this build (wasm: zlib, see
/// `rmbuild/build/wasm/builtins.py`), registered with `PyImport_AppendInittab`.
/// Empty natively, where the host Python's own modules are used.
pub fn builtin_module_names() -> Vec<String> {
    #[cfg(python_builtins)]
    {
        extern "C" {
            fn rm_python_builtins_names() -> *const std::ffi::c_char;
        }
        // SAFETY: returns a pointer to a static NUL-terminated string,
        // "rm-python-builtins:" followed by the names.
        let names = unsafe { std::ffi::CStr::from_ptr(rm_python_builtins_names()) };
        let names = names.to_string_lossy();
        names
            .trim_start_matches("rm-python-builtins:")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
    #[cfg(not(python_builtins))]
    Vec::new()
}

#[cfg(python_builtins)]
fn register_builtin_modules() -> Result<()> {
    extern "C" {
        fn rm_python_builtins_register() -> std::ffi::c_int;
    }
    // SAFETY: called once, before Py_Initialize (PyImport_AppendInittab's contract).
    if unsafe { rm_python_builtins_register() } != 0 {
        return Err(Error::node(
            "cannot initialise the Python interpreter: cannot register the built-in modules",
        ));
    }
    Ok(())
}

#[cfg(not(python_builtins))]
fn register_builtin_modules() -> Result<()> {
    Ok(())
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

/// The helper module if it was created already (by a Python node or
/// [`init_interpreter`]); `None` otherwise. Never creates it: without it no
/// `pipeline_values.Audio` object can exist.
pub(crate) fn helper_if_created(py: Python<'_>) -> Option<Bound<'_, PyModule>> {
    HELPER.get(py).map(|m| m.bind(py).clone())
}

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

#[cfg(test)]
mod tests;
