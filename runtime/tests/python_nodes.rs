//! Python node tests (feature `python`), in-process through the library.
#![cfg(feature = "python")]

use indexmap::IndexMap;
use pipeline_runtime::{AudioBuffer, ErrorKind, Manifest, Pipeline, Registry, Value};
use serde_json::json;

fn python_pipeline(
    source: &str,
    init: serde_json::Value,
) -> Result<Pipeline, pipeline_runtime::Error> {
    let m = json!({"version": 1, "nodes": [{"id": "py", "type": "Python",
        "params": {"class": "Node", "source": source, "init": init}}]});
    let reg = Registry::with_builtins();
    let m = Manifest::from_json(&m, &reg)?;
    Pipeline::new(&m, &reg, None)
}

fn run_one(source: &str, item: Value) -> Result<Option<Value>, pipeline_runtime::Error> {
    let mut p = python_pipeline(source, json!({}))?;
    Ok(p.process_item(0, item)?
        .pop()
        .and_then(|v| v.into_iter().next()))
}

const IDENTITY: &str = "class Node:\n    def process(self, x):\n        return x\n";

#[test]
fn values_round_trip_through_python() {
    let mut map = IndexMap::new();
    map.insert("z".to_string(), Value::Int(1));
    map.insert(
        "a".to_string(),
        Value::List(vec![Value::Bool(true), Value::Null]),
    );
    map.insert("$f64".to_string(), Value::Str("not special".into()));
    // (A bare null cannot come back: `process` returning None drops the item.)
    let values = vec![
        Value::List(vec![Value::Null]),
        Value::Bool(false),
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
        Value::Float(-0.0),
        Value::Float(f64::NAN),
        Value::Float(f64::NEG_INFINITY),
        Value::Float(0.1),
        Value::Str("héllo \u{1F600}".into()),
        Value::List(vec![]),
        Value::Map(map),
        Value::Audio(AudioBuffer::new(vec![0.5, -0.25, 1e-8, 3.0], 22050, 2).unwrap()),
    ];
    let mut p = python_pipeline(IDENTITY, json!({})).unwrap();
    for (i, v) in values.into_iter().enumerate() {
        let out = p
            .process_item(i, v.clone())
            .unwrap()
            .pop()
            .and_then(|v| v.into_iter().next())
            .unwrap();
        assert!(out.same_as(&v), "{v:?} came back as {out:?}");
    }
}

#[test]
fn python_sees_native_types() {
    let src = "from pipeline_values import Audio\n\
class Node:\n    def process(self, x):\n        a, b, c, d, e = x\n        \
return [type(a).__name__, type(b).__name__, type(c).__name__, isinstance(d, Audio), d.sample_rate, d.channels, d.frames, d.samples[:2], type(e).__name__]\n";
    let audio = Value::Audio(AudioBuffer::new(vec![0.5, 0.25, 0.0, 0.0], 8000, 2).unwrap());
    let item = Value::List(vec![
        Value::Bool(true),
        Value::Int(3),
        Value::Float(3.0),
        audio,
        Value::Map(IndexMap::new()),
    ]);
    let out = run_one(src, item).unwrap().unwrap();
    assert_eq!(
        out.to_json_string(),
        r#"["bool","int","float",true,8000,2,2,[0.5,0.25],"dict"]"#
    );
}

#[test]
fn python_can_build_audio_and_tuples_become_lists() {
    let src = "from pipeline_values import Audio\n\
class Node:\n    def process(self, x):\n        return (Audio([s * 2 for s in x.samples], x.sample_rate, x.channels), (1, 2))\n";
    let audio = Value::Audio(AudioBuffer::new(vec![0.25, -0.5], 16000, 1).unwrap());
    let out = run_one(src, audio).unwrap().unwrap();
    assert_eq!(
        out,
        Value::List(vec![
            Value::Audio(AudioBuffer::new(vec![0.5, -1.0], 16000, 1).unwrap()),
            Value::List(vec![Value::Int(1), Value::Int(2)])
        ])
    );
}

#[test]
fn none_drops_the_item_and_state_persists() {
    let src = "class Node:\n    def __init__(self, every):\n        self.n = 0\n        self.every = every\n    \
def process(self, x):\n        self.n += 1\n        return None if self.n % self.every == 0 else [self.n, x]\n";
    let mut p = python_pipeline(src, json!({"every": 2})).unwrap();
    let out = p.run((0..5).map(Value::Int).collect()).unwrap();
    // items 1,3,5 (counts) kept; 2,4 dropped
    assert_eq!(
        Value::List(out.outputs["py"].clone()).to_json_string(),
        "[[1,0],[3,2],[5,4]]"
    );
}

#[test]
fn fan_in_gives_python_a_list_in_connection_order() {
    let m = json!({"version": 1, "nodes": [
        {"id": "a", "type": "Multiply", "params": {"factor": 2}},
        {"id": "b", "type": "Add", "params": {"value": 100}},
        {"id": "py", "type": "Python", "params": {"class": "Node", "source": "class Node:\n    def process(self, x):\n        return {'got': x}\n"}}
    ], "connections": [{"from": "b", "to": "py"}, {"from": "a", "to": "py"}]});
    let reg = Registry::with_builtins();
    let m = Manifest::from_json(&m, &reg).unwrap();
    let mut p = Pipeline::new(&m, &reg, None).unwrap();
    let out = p.run(vec![Value::Int(5)]).unwrap();
    assert_eq!(
        Value::List(out.outputs["py"].clone()).to_json_string(),
        r#"[{"got":[105,10]}]"#
    );
}

#[test]
fn bad_return_values_are_node_errors() {
    let cases = [
        (
            "return {1: 'a'}",
            "process() result: dict keys must be str, got int",
        ),
        (
            "return [1, object()]",
            "process() result[1]: cannot convert Python object to a pipeline value",
        ),
        (
            "a = []\n        a.append(a)\n        return a",
            "nested deeper than 100 levels",
        ),
        (
            "return 2 ** 63",
            "process() result: int 9223372036854775808 does not fit in a signed 64-bit integer",
        ),
        (
            "from pipeline_values import Audio\n        return Audio([0.5, 'x'], 8000)",
            "process() result.samples[1]: expected a number, got str",
        ),
        (
            "from pipeline_values import Audio\n        return Audio([0.5], 8000, 2)",
            "process() result: 1 samples is not a whole number of frames for 2 channels",
        ),
        (
            "from pipeline_values import Audio\n        return Audio([0.5], 0)",
            "process() result.sample_rate: sample rate must be an integer from 1 to 768000, got 0",
        ),
    ];
    for (body, expected) in cases {
        let src = format!("class Node:\n    def process(self, x):\n        {body}\n");
        let e = run_one(&src, Value::Null).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Node);
        assert!(e.message().contains(expected), "{body}: {}", e.message());
    }
}

#[test]
fn audio_samples_from_float32_buffers() {
    // Read as bytes (no Python float per sample): array('f'), a memoryview
    // of one, a 2-D (frames, channels) view.
    let cases = [
        "array.array('f', [0.5, -0.25, 1.0, 2.0])",
        "memoryview(array.array('f', [0.5, -0.25, 1.0, 2.0]))",
        "memoryview(array.array('f', [0.5, -0.25, 1.0, 2.0])).cast('B').cast('f', (2, 2))",
        "memoryview(array.array('f', [9.0, 0.5, -0.25, 1.0, 2.0]))[1:]",
    ];
    for samples in cases {
        let src = format!(
            "import array\nfrom pipeline_values import Audio\n\
class Node:\n    def process(self, x):\n        a = Audio([], 8000, 2)\n        a.samples = {samples}\n        return a\n"
        );
        let out = run_one(&src, Value::Null).unwrap().unwrap();
        assert_eq!(
            out,
            Value::Audio(AudioBuffer::new(vec![0.5, -0.25, 1.0, 2.0], 8000, 2).unwrap()),
            "{samples}"
        );
    }
}

#[test]
fn bad_audio_samples_name_the_path() {
    let cases = [
        (
            "array.array('d', [0.5])",
            "process() result.samples: expected a float32 buffer (format 'f'), got array.array with format 'd'",
        ),
        (
            "b'abcd'",
            "process() result.samples: expected a float32 buffer (format 'f'), got bytes with format 'B'",
        ),
        (
            "'abc'",
            "process() result.samples: expected a list of numbers, a numpy array or a float32 buffer, got str",
        ),
        (
            "[0.5, True]",
            "process() result.samples[1]: expected a number, got bool",
        ),
        (
            "memoryview(array.array('f', [0.0] * 6)).cast('B').cast('f', (2, 3))",
            "process() result.samples: expected a 1-D array (interleaved) or a 2-D array of shape (frames, 2), got shape (2, 3)",
        ),
        (
            "memoryview(array.array('f', [0.0] * 8)).cast('B').cast('f', (2, 2, 2))",
            "process() result.samples: expected a 1-D array (interleaved) or a 2-D array of shape (frames, 2), got shape (2, 2, 2)",
        ),
        (
            "array.array('f', [0.5])",
            "process() result: 1 samples is not a whole number of frames for 2 channels",
        ),
    ];
    for (samples, expected) in cases {
        let src = format!(
            "import array\nfrom pipeline_values import Audio\n\
class Node:\n    def process(self, x):\n        a = Audio([], 8000, 2)\n        a.samples = {samples}\n        return a\n"
        );
        let e = run_one(&src, Value::Null).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Node);
        assert!(
            e.message().ends_with(expected),
            "{samples}: {}",
            e.message()
        );
    }
    let src = "from pipeline_values import Audio\nclass Node:\n    def process(self, x):\n        return Audio([0.5], 2 ** 70)\n";
    let e = run_one(src, Value::Null).unwrap_err();
    assert!(
        e.message()
            .ends_with("process() result.sample_rate: int 1180591620717411303424 out of range"),
        "{}",
        e.message()
    );
}

#[test]
fn a_dict_changed_during_conversion_does_not_panic() {
    // Reading `samples` changes the dict being converted: the conversion
    // works on a snapshot of its items.
    let src = "from pipeline_values import Audio\n\
class Sneaky(Audio):\n    __slots__ = ('d',)\n    @property\n    def samples(self):\n        self.d.clear()\n        self.d['new'] = 1\n        return [0.25]\n\
class Node:\n    def process(self, x):\n        d = {}\n        a = Sneaky.__new__(Sneaky)\n        a.sample_rate, a.channels, a.d = 8000, 1, d\n        d['a'] = a\n        d['b'] = 2\n        return d\n";
    let out = run_one(src, Value::Null).unwrap().unwrap();
    let mut map = IndexMap::new();
    map.insert(
        "a".to_string(),
        Value::Audio(AudioBuffer::new(vec![0.25], 8000, 1).unwrap()),
    );
    map.insert("b".to_string(), Value::Int(2));
    assert_eq!(out, Value::Map(map));
}

#[test]
fn numpy_results_when_numpy_is_installed() {
    // numpy is optional: only checked where the interpreter has it.
    let probe = "import importlib.util\nclass Node:\n    def process(self, x):\n        return importlib.util.find_spec('numpy') is not None\n";
    if run_one(probe, Value::Null).unwrap() != Some(Value::Bool(true)) {
        eprintln!("numpy not installed: skipped");
        return;
    }
    let src = "import numpy as np\nfrom pipeline_values import Audio\n\
class Node:\n    def process(self, x):\n        a = Audio([], 8000, 2)\n        a.samples = np.array([[0.5, -0.25], [1.0, 2.0]])\n        \
return [np.float32(0.5), np.int64(7), np.bool_(True), np.array([[1, 2], [3, 4]]), a, Audio(np.arange(2, dtype=np.float32), 100)]\n";
    let out = run_one(src, Value::Null).unwrap().unwrap();
    assert_eq!(
        out,
        Value::List(vec![
            Value::Float(0.5),
            Value::Int(7),
            Value::Bool(true),
            Value::List(vec![
                Value::List(vec![Value::Int(1), Value::Int(2)]),
                Value::List(vec![Value::Int(3), Value::Int(4)])
            ]),
            Value::Audio(AudioBuffer::new(vec![0.5, -0.25, 1.0, 2.0], 8000, 2).unwrap()),
            Value::Audio(AudioBuffer::new(vec![0.0, 1.0], 100, 1).unwrap()),
        ])
    );
    for (samples, expected) in [
        (
            "np.array(['a'])",
            "process() result.samples: expected a float numpy array (float32; float64 and float16 are converted), got dtype <U1",
        ),
        (
            "np.arange(2, dtype=np.int16)",
            "process() result.samples: expected a float numpy array (float32; float64 and float16 are converted), got dtype int16 (integer PCM must be scaled to floats first, e.g. x / 32768 for int16)",
        ),
        (
            "np.zeros((3, 2))",
            "process() result.samples: expected a 1-D array (interleaved) or a 2-D array of shape (frames, 1), got shape (3, 2)",
        ),
        (
            "[np.float32(0.5), np.bool_(True)]",
            "process() result.samples[1]: expected a number, got numpy.bool",
        ),
    ] {
        let src = format!(
            "import numpy as np\nfrom pipeline_values import Audio\n\
class Node:\n    def process(self, x):\n        a = Audio([], 8000)\n        a.samples = {samples}\n        return a\n"
        );
        let e = run_one(&src, Value::Null).unwrap_err();
        assert!(e.message().ends_with(expected), "{samples}: {}", e.message());
    }
}

#[test]
fn exceptions_carry_the_traceback_with_source_lines() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("py_tb");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("helper_mod.py"),
        "def check(x):\n    if x > 1:\n        raise ValueError(f'too big: {x}')\n    return x\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("node.py"),
        "import helper_mod\n\nclass Checker:\n    def process(self, x):\n        return helper_mod.check(x)\n",
    )
    .unwrap();
    let m = json!({"version": 1, "nodes": [{"id": "chk", "type": "Python", "params": {"module_path": "node.py", "class": "Checker"}}]});
    let reg = Registry::with_builtins();
    let m = Manifest::from_json(&m, &reg).unwrap();
    let mut p = Pipeline::new(&m, &reg, Some(dir.clone())).unwrap();
    let e = p.run(vec![Value::Int(1), Value::Int(7)]).unwrap_err();
    let msg = e.message();
    let mut lines = msg.lines();
    assert_eq!(
        lines.next().unwrap(),
        "node 'chk' (Python) failed on item 1: ValueError: too big: 7"
    );
    assert!(
        msg.contains("File \"node.py\", line 5, in process\n    return helper_mod.check(x)"),
        "{msg}"
    );
    // The sibling module is imported through sys.path; its own file path is a
    // host path (it is not named in the manifest) but its line is shown.
    assert!(msg.contains("raise ValueError(f'too big: {x}')"), "{msg}");
    assert!(msg.ends_with("ValueError: too big: 7"), "{msg}");
}

#[test]
fn init_kwargs_are_converted() {
    let src = "class Node:\n    def __init__(self, **kw):\n        self.kw = kw\n    def process(self, x):\n        return self.kw\n";
    let mut p = python_pipeline(
        src,
        json!({"n": 3, "f": {"$f64": "inf"}, "s": "x", "l": [1, 2.5]}),
    )
    .unwrap();
    let out = p
        .process_item(0, Value::Null)
        .unwrap()
        .pop()
        .and_then(|v| v.into_iter().next())
        .unwrap();
    assert_eq!(
        out.to_json_string(),
        r#"{"n":3,"f":{"$f64":"inf"},"s":"x","l":[1,2.5]}"#
    );
}

#[test]
fn init_interpreter_is_idempotent() {
    pipeline_runtime::python::init_interpreter().unwrap();
    pipeline_runtime::python::init_interpreter().unwrap();
    assert_eq!(
        run_one(IDENTITY, Value::Int(4)).unwrap(),
        Some(Value::Int(4))
    );
}
