//! Embedded CPython: interpreter start-up, the `pipeline_values` helper
//! module and traceback formatting; [`convert`] holds the value conversion
//! (shared with the wheel, `remotemedia_runtime._native`).
//!
//! The interpreter is started by [`init_interpreter`] (never by pyo3's
//! `auto-initialize`), so the same code works with the shared libpython of a
//! native build and with a statically linked libpython on wasm32-wasip1.
//! `PYTHONHOME` / `PYTHONPATH` are read from the environment by CPython
//! itself. A host that initialises CPython on its own first (e.g. with a
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
import os as _os
import traceback as _traceback


class Audio:
    """Audio passed to and from Python nodes.

    samples: list of floats, interleaved by channel (frame 0 ch 0, frame 0 ch 1, ...)
    sample_rate: int (Hz), channels: int
    A returned Audio's samples may also be set to a numeric numpy array (1-D, or
    2-D (frames, channels)) or a float32 buffer such as array.array('f').
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
