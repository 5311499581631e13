//! Python <-> runtime value conversion: one implementation and one set of
//! messages for the embedded interpreter (Python nodes) and the wheel
//! (`remotemedia_runtime._native`), which differ only in [`FromPyOptions`]
//! and [`ToPyOptions`].
//!
//! Python -> value ([`FromPython`], [`py_to_value`]): None, bool, int (i64
//! range), float, str, list and tuple (as lists), dict with str keys (order
//! kept), audio objects (`pipeline_values.Audio` and the classes in
//! [`FromPyOptions::audio_classes`]), numpy scalars and arrays (as their
//! `tolist()`; recognised by their type's module, so numpy is never imported
//! for other objects). An audio object has `sample_rate` and `channels`
//! (ints) and `samples` (for `pipeline_values.Audio`: its data as stored, see
//! `Audio._audio_data`, so no list is built): a list/tuple of numbers (not
//! bools), a float numpy array (1-D interleaved or 2-D `(frames, channels)`;
//! float32, or float64/float16 converted; integer dtypes are refused), or any
//! buffer of float32 (format `'f'`, e.g. `array.array('f')` or a `memoryview`
//! of one), read as bytes without a Python object per sample.
//!
//! Value -> Python ([`ToPython`], [`value_to_py`]): the reverse; audio
//! becomes `cls(samples, sample_rate, channels)` with `samples` an
//! `array.array('f')` ([`AudioSamples::Buffer`], the default: one copy of the
//! bytes, no object per sample), a list of floats ([`AudioSamples::List`]) or,
//! with [`AudioSamples::NumpyOrList`], a writable float32 numpy array when
//! numpy can be imported.
//!
//! Errors are messages starting with the path of the bad object (e.g.
//! `process() result[1]`, `inputs[0].samples`).

use std::cell::OnceCell;

use pyo3::buffer::PyUntypedBuffer;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple,
};

use super::{helper, helper_if_created};
use crate::value::{check_channels, check_sample_rate, AudioBuffer, Value, MAX_DEPTH};

/// What Python -> value accepts, as named in the message for anything else.
pub const SUPPORTED_TYPES: &str = "None, bool, int, float, str, list, tuple, dict with str keys, \
                                   pipeline_values.Audio, numpy scalars and arrays";

type Msg<T> = std::result::Result<T, String>;

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

/// Whether an object's type comes from numpy (`numpy`, `numpy.*`).
fn is_numpy(obj: &Bound<'_, PyAny>) -> bool {
    obj.get_type()
        .getattr("__module__")
        .and_then(|m| m.extract::<String>())
        .is_ok_and(|m| m == "numpy" || m.starts_with("numpy."))
}

/// `dtype.kind` of a numpy object (`"f"`, `"i"`, `"u"`, `"b"`, ...).
fn numpy_kind(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    obj.getattr("dtype")?.getattr("kind")?.extract()
}

// ---------------------------------------------------------------------------
// Python -> value

/// Options of [`FromPython`].
#[derive(Default)]
pub struct FromPyOptions<'py> {
    /// Classes whose instances are audio, besides `pipeline_values.Audio`
    /// (which is always accepted once the helper module exists); the wheel
    /// passes `remotemedia_runtime.Audio`.
    pub audio_classes: Vec<Bound<'py, PyAny>>,
}

/// Converts Python objects to runtime values.
pub struct FromPython<'py> {
    py: Python<'py>,
    given_audio_classes: Vec<Bound<'py, PyAny>>,
    /// The given classes and the helper's `Audio`, looked up at the first
    /// object that is none of the plain types (most results are plain).
    audio_classes: OnceCell<Vec<Bound<'py, PyAny>>>,
}

impl<'py> FromPython<'py> {
    pub fn new(py: Python<'py>, options: FromPyOptions<'py>) -> PyResult<Self> {
        Ok(FromPython {
            py,
            given_audio_classes: options.audio_classes,
            audio_classes: OnceCell::new(),
        })
    }

    fn audio_classes(&self) -> PyResult<&[Bound<'py, PyAny>]> {
        if let Some(c) = self.audio_classes.get() {
            return Ok(c);
        }
        let mut classes = self.given_audio_classes.clone();
        if let Some(h) = helper_if_created(self.py) {
            classes.push(h.getattr("Audio")?);
        }
        Ok(self.audio_classes.get_or_init(|| classes))
    }

    /// Convert `obj`; `path` names it in error messages (e.g. `result[2]`).
    pub fn convert(&self, obj: &Bound<'py, PyAny>, path: &str) -> Msg<Value> {
        self.value(obj, path, 0)
    }

    fn value(&self, obj: &Bound<'py, PyAny>, path: &str, depth: usize) -> Msg<Value> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "{path}: value nested deeper than {MAX_DEPTH} levels"
            ));
        }
        let err = |e: PyErr| format!("{path}: {e}");
        if obj.is_none() {
            return Ok(Value::Null);
        }
        if obj.is_instance_of::<PyBool>() {
            return Ok(Value::Bool(obj.is_truthy().unwrap_or(false)));
        }
        if obj.is_instance_of::<PyInt>() {
            return obj
                .extract::<i64>()
                .map(Value::Int)
                .map_err(|_| format!("{path}: int {obj} does not fit in a signed 64-bit integer"));
        }
        if obj.is_instance_of::<PyFloat>() {
            return obj.extract::<f64>().map(Value::Float).map_err(err);
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return s
                .to_str()
                .map(|s| Value::Str(s.to_string()))
                .map_err(|_| format!("{path}: str is not valid Unicode (lone surrogate)"));
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
            // A snapshot of the items: iterating the dict itself would panic
            // if converting a value changed it.
            let mut out = indexmap::IndexMap::new();
            for pair in d.items().iter() {
                let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair.extract().map_err(err)?;
                let key = k
                    .cast::<PyString>()
                    .ok()
                    .and_then(|s| s.to_str().ok().map(str::to_string))
                    .ok_or_else(|| {
                        format!("{path}: dict keys must be str, got {}", type_name(&k))
                    })?;
                let item_path = format!("{path}[{}]", serde_json::Value::String(key.clone()));
                let value = self.value(&v, &item_path, depth + 1)?;
                out.insert(key, value);
            }
            return Ok(Value::Map(out));
        }
        if self
            .audio_classes()
            .map_err(err)?
            .iter()
            .any(|cls| obj.is_instance(cls).unwrap_or(false))
        {
            return audio(obj, path);
        }
        if is_numpy(obj) {
            // numpy scalars and arrays: their Python equivalent.
            let plain = obj.call_method0("tolist").map_err(err)?;
            if !is_numpy(&plain) {
                return self.value(&plain, path, depth);
            }
        }
        Err(format!(
            "{path}: cannot convert Python {} to a pipeline value (supported: {SUPPORTED_TYPES})",
            type_name(obj)
        ))
    }
}

/// Convert a Python object to a runtime value with the default options (as
/// Python nodes' results are). `path` names the object in error messages.
pub fn py_to_value(obj: &Bound<'_, PyAny>, path: &str) -> Msg<Value> {
    FromPython::new(obj.py(), FromPyOptions::default())
        .map_err(|e| format!("{path}: {e}"))?
        .convert(obj, path)
}

fn int_attr(obj: &Bound<'_, PyAny>, path: &str, name: &str) -> Msg<i64> {
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
}

/// An audio object (`samples`, `sample_rate`, `channels`) -> runtime audio.
fn audio(obj: &Bound<'_, PyAny>, path: &str) -> Msg<Value> {
    let rate = check_sample_rate(int_attr(obj, path, "sample_rate")?)
        .map_err(|e| format!("{path}.sample_rate: {e}"))?;
    let channels = check_channels(int_attr(obj, path, "channels")?)
        .map_err(|e| format!("{path}.channels: {e}"))?;
    // `pipeline_values.Audio` hands over its data as it is (`_audio_data`: no list
    // is built for a buffer); other audio classes are read through `samples`.
    let samples_obj = obj
        .getattr("_audio_data")
        .or_else(|_| obj.getattr("samples"))
        .map_err(|_| format!("{path}.samples: missing"))?;
    let samples = samples(&samples_obj, channels, &format!("{path}.samples"))?;
    AudioBuffer::new(samples, rate, channels)
        .map(Value::Audio)
        .map_err(|e| format!("{path}: {e}"))
}

/// `samples` of an audio object; `path` is that of `samples`.
fn samples(obj: &Bound<'_, PyAny>, channels: u16, path: &str) -> Msg<Vec<f32>> {
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let err = |e: PyErr| format!("{path}: {e}");
        let mut out = sample_vec(obj.len().map_err(err)?, path)?;
        for (i, item) in obj.try_iter().map_err(err)?.enumerate() {
            let item = item.map_err(err)?;
            let number = !item.is_instance_of::<PyBool>()
                && (item.is_instance_of::<PyFloat>()
                    || item.is_instance_of::<PyInt>()
                    || (is_numpy(&item)
                        && numpy_kind(&item).is_ok_and(|k| matches!(k.as_str(), "f" | "i" | "u"))));
            let x = if number {
                item.extract::<f64>().ok()
            } else {
                None
            };
            let x = x.ok_or_else(|| {
                format!("{path}[{i}]: expected a number, got {}", type_name(&item))
            })?;
            out.push(x as f32);
        }
        return Ok(out);
    }
    if is_numpy(obj) {
        return numpy_samples(obj, channels, path);
    }
    if let Ok(view) = PyMemoryView::from(obj) {
        let result = buffer_samples(&view, obj, channels, path);
        // Release the export now (an array.array cannot grow while exported).
        let _ = view.call_method0("release");
        return result;
    }
    Err(format!(
        "{path}: expected a list of numbers, a numpy array or a float32 buffer, got {}",
        type_name(obj)
    ))
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

/// 1-D (interleaved) or 2-D `(frames, channels)`.
fn check_shape(shape: &[usize], channels: u16, path: &str) -> Msg<()> {
    match shape {
        [_] => Ok(()),
        [_, c] if *c == channels as usize => Ok(()),
        _ => Err(format!(
            "{path}: expected a 1-D array (interleaved) or a 2-D array of shape (frames, {channels}), got shape {}",
            py_tuple(shape)
        )),
    }
}

/// A vector for `n` samples, or a node error instead of an abort (a trap in
/// wasm) when the memory is not there.
fn sample_vec(n: usize, path: &str) -> Msg<Vec<f32>> {
    let mut out = Vec::new();
    out.try_reserve_exact(n)
        .map_err(|_| format!("{path}: out of memory: cannot hold {n} samples"))?;
    Ok(out)
}

fn f32_from_bytes(bytes: &[u8], path: &str) -> Msg<Vec<f32>> {
    let mut out = sample_vec(bytes.len() / 4, path)?;
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]])),
    );
    Ok(out)
}

/// The samples of a C-contiguous buffer of 4-byte items (its format checked
/// by the caller), copied once straight from its memory; `None` for other
/// layouts.
fn contiguous_f32(obj: &Bound<'_, PyAny>, path: &str) -> Msg<Option<Vec<f32>>> {
    let buf = PyUntypedBuffer::get(obj).map_err(|e| format!("{path}: {e}"))?;
    if !buf.is_c_contiguous() || buf.item_size() != 4 {
        return Ok(None);
    }
    let n = buf.item_count();
    let mut out = sample_vec(n, path)?;
    // SAFETY: the buffer is C-contiguous with n items of 4 bytes at buf_ptr()
    // (held by `buf` until it is dropped); `out` has room for n f32s, all of
    // which are written before the length is set.
    unsafe {
        std::ptr::copy_nonoverlapping(
            buf.buf_ptr().cast::<u8>(),
            out.as_mut_ptr().cast::<u8>(),
            n * 4,
        );
        out.set_len(n);
    }
    Ok(Some(out))
}

/// Buffer-protocol formats of a native-endian float32.
fn is_f32_format(format: &str) -> bool {
    match format {
        "f" | "@f" | "=f" => true,
        "<f" => cfg!(target_endian = "little"),
        ">f" | "!f" => cfg!(target_endian = "big"),
        _ => false,
    }
}

fn buffer_samples(
    view: &Bound<'_, PyMemoryView>,
    obj: &Bound<'_, PyAny>,
    channels: u16,
    path: &str,
) -> Msg<Vec<f32>> {
    let err = |e: PyErr| format!("{path}: {e}");
    let format: String = view
        .getattr("format")
        .and_then(|f| f.extract())
        .map_err(err)?;
    if !is_f32_format(&format) {
        return Err(format!(
            "{path}: expected a float32 buffer (format 'f'), got {} with format '{format}'",
            type_name(obj)
        ));
    }
    let shape: Vec<usize> = view
        .getattr("shape")
        .and_then(|s| s.extract())
        .map_err(err)?;
    check_shape(&shape, channels, path)?;
    // Contiguous (array('f'), Audio.buffer): one copy from its memory.
    if let Some(samples) = contiguous_f32(obj, path)? {
        return Ok(samples);
    }
    // Other strides: the bytes in C order, no object per sample.
    let bytes = view.call_method0("tobytes").map_err(err)?;
    let bytes = bytes
        .cast::<PyBytes>()
        .map_err(|e| format!("{path}: {e}"))?;
    f32_from_bytes(bytes.as_bytes(), path)
}

fn numpy_samples(arr: &Bound<'_, PyAny>, channels: u16, path: &str) -> Msg<Vec<f32>> {
    let err = |e: PyErr| format!("{path}: {e}");
    let kind = numpy_kind(arr).map_err(err)?;
    if kind != "f" {
        let dtype = arr
            .getattr("dtype")
            .map(|d| d.to_string())
            .unwrap_or_default();
        let hint = if matches!(kind.as_str(), "i" | "u") {
            " (integer PCM must be scaled to floats first, e.g. x / 32768 for int16)"
        } else {
            ""
        };
        return Err(format!(
            "{path}: expected a float numpy array (float32; float64 and float16 are converted), got dtype {dtype}{hint}"
        ));
    }
    let shape: Vec<usize> = arr
        .getattr("shape")
        .and_then(|s| s.extract())
        .map_err(err)?;
    check_shape(&shape, channels, path)?;
    // The object comes from numpy, so numpy is imported already.
    let np = arr.py().import("numpy").map_err(err)?;
    let kwargs = PyDict::new(arr.py());
    kwargs
        .set_item("dtype", np.getattr("float32").map_err(err)?)
        .map_err(err)?;
    let contiguous = np
        .getattr("ascontiguousarray")
        .and_then(|f| f.call((arr,), Some(&kwargs)))
        .map_err(err)?;
    // float32 and C-contiguous now (no copy if it was already): one copy from its memory.
    if let Some(samples) = contiguous_f32(&contiguous, path)? {
        return Ok(samples);
    }
    let bytes = contiguous.call_method0("tobytes").map_err(err)?;
    let bytes = bytes
        .cast::<PyBytes>()
        .map_err(|e| format!("{path}: {e}"))?;
    f32_from_bytes(bytes.as_bytes(), path)
}

// ---------------------------------------------------------------------------
// value -> Python

/// What audio `samples` become in Python.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AudioSamples {
    /// An `array.array('f')` (what Python nodes receive: `Audio.buffer` is a
    /// zero-copy view of it, `Audio.samples` a list built on first use).
    #[default]
    Buffer,
    /// A list of floats.
    List,
    /// A writable 1-D float32 numpy array if numpy can be imported (tried
    /// once per [`ToPython`], at the first audio value), else a list.
    NumpyOrList,
}

/// Options of [`ToPython`].
#[derive(Default)]
pub struct ToPyOptions<'py> {
    /// Called as `cls(samples, sample_rate, channels)` for audio; `None`:
    /// `pipeline_values.Audio`.
    pub audio_class: Option<Bound<'py, PyAny>>,
    pub samples: AudioSamples,
}

type Numpy<'py> = Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>;

/// Converts runtime values to Python objects.
pub struct ToPython<'py> {
    py: Python<'py>,
    audio_class: Option<Bound<'py, PyAny>>,
    samples: AudioSamples,
    /// `numpy.frombuffer` and `numpy.float32`, or None without numpy.
    numpy: OnceCell<Numpy<'py>>,
    /// `array.array`, imported at the first audio value.
    array: OnceCell<Bound<'py, PyAny>>,
}

impl<'py> ToPython<'py> {
    pub fn new(py: Python<'py>, options: ToPyOptions<'py>) -> Self {
        ToPython {
            py,
            audio_class: options.audio_class,
            samples: options.samples,
            numpy: OnceCell::new(),
            array: OnceCell::new(),
        }
    }

    fn array_type(&self) -> PyResult<&Bound<'py, PyAny>> {
        if let Some(a) = self.array.get() {
            return Ok(a);
        }
        let a = self.py.import("array")?.getattr("array")?;
        Ok(self.array.get_or_init(|| a))
    }

    fn numpy(&self) -> PyResult<&Numpy<'py>> {
        if let Some(np) = self.numpy.get() {
            return Ok(np);
        }
        let np = match self.py.import("numpy") {
            Ok(np) => Some((np.getattr("frombuffer")?, np.getattr("float32")?)),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyImportError>(self.py) => None,
            Err(e) => return Err(e),
        };
        Ok(self.numpy.get_or_init(|| np))
    }

    pub fn convert(&self, v: &Value) -> PyResult<Bound<'py, PyAny>> {
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
                    list.append(self.convert(item)?)?;
                }
                list.into_any()
            }
            Value::Map(map) => {
                let dict = PyDict::new(py);
                for (k, item) in map {
                    dict.set_item(k, self.convert(item)?)?;
                }
                dict.into_any()
            }
            Value::Audio(a) => {
                let numpy = match self.samples {
                    AudioSamples::List | AudioSamples::Buffer => &None,
                    AudioSamples::NumpyOrList => self.numpy()?,
                };
                let samples = match numpy {
                    Some((frombuffer, float32)) => {
                        let bytes: Vec<u8> =
                            a.samples.iter().flat_map(|s| s.to_ne_bytes()).collect();
                        // A bytearray, so the array is writable.
                        frombuffer.call1((PyByteArray::new(py, &bytes), float32))?
                    }
                    None if self.samples == AudioSamples::Buffer => {
                        // array('f', bytes): the samples' bytes, native order, copied once
                        // into a bytes object and once into the array.
                        let bytes = PyBytes::new_with(py, a.samples.len() * 4, |buf| {
                            for (chunk, s) in buf.chunks_exact_mut(4).zip(&a.samples) {
                                chunk.copy_from_slice(&s.to_ne_bytes());
                            }
                            Ok(())
                        })?;
                        self.array_type()?.call1(("f", bytes))?
                    }
                    // One allocation of the list's length, filled in place.
                    None => PyList::new(py, a.samples.iter().map(|&s| f64::from(s)))?.into_any(),
                };
                let cls = match &self.audio_class {
                    Some(cls) => cls.clone(),
                    None => helper(py)?.getattr("Audio")?,
                };
                cls.call1((samples, a.sample_rate, a.channels))?
            }
        })
    }
}

/// Convert a runtime value to a Python object with the default options (as
/// Python nodes receive it).
pub fn value_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    ToPython::new(py, ToPyOptions::default()).convert(v)
}
