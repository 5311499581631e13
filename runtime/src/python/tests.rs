//! The interpreter the runtime starts (hash seed, built-in modules) and
//! `pipeline_values.Audio` as a buffer, through real Python nodes.

use serde_json::json;

use crate::{AudioBuffer, Manifest, Pipeline, Registry, Value};

fn run_one(source: &str, item: Value) -> Result<Option<Value>, crate::Error> {
    let m = json!({"version": 1, "nodes": [{"id": "py", "type": "Python",
        "params": {"class": "Node", "source": source}}]});
    let reg = Registry::with_builtins();
    let m = Manifest::from_json(&m, &reg)?;
    let mut p = Pipeline::new(&m, &reg, None)?;
    Ok(p.process_item(0, item)?
        .pop()
        .and_then(|v| v.into_iter().next()))
}

fn audio(samples: Vec<f32>, rate: u32, channels: u16) -> Value {
    Value::Audio(AudioBuffer::new(samples, rate, channels).unwrap())
}

#[test]
fn the_interpreter_starts_with_the_environment_seed_or_the_default() {
    let src = "import os, sys\nclass Node:\n    def process(self, x):\n        return [os.environ.get('PYTHONHASHSEED'), sys.flags.hash_randomization]\n";
    let out = run_one(src, Value::Null).unwrap().unwrap();
    // This process's PYTHONHASHSEED (cargo passes the caller's) or the runtime's "0".
    let seed = std::env::var(super::HASH_SEED_ENV).unwrap();
    let randomized = !seed.chars().all(|c| c.is_ascii_digit()) || seed.parse::<u64>() != Ok(0);
    assert_eq!(
        out,
        Value::List(vec![
            Value::Str(seed.clone()),
            Value::Int(randomized as i64)
        ]),
        "{seed}"
    );
    assert!(
        super::builtin_module_names().is_empty(),
        "natively: the host Python's modules"
    );
}

#[test]
fn nodes_receive_a_float32_buffer_and_a_list_only_when_asked() {
    let src = "import array\nfrom pipeline_values import Audio\n\
class Node:\n    def process(self, a):\n        data = a._data\n        kinds = [type(data).__name__, data.typecode]\n        \
b = a.buffer\n        kinds += [b.format, b.itemsize, len(b), b.readonly, b.obj is data, a.frames]\n        \
b[0] = 0.75\n        kinds.append(a.samples[:2])\n        kinds.append(type(a._data).__name__)\n        \
a.samples[1] = -1.0\n        return [kinds, a]\n";
    let out = run_one(src, audio(vec![0.5, -0.25, 1e-8, 3.0], 22050, 2))
        .unwrap()
        .unwrap();
    let Value::List(items) = out else {
        panic!("{out:?}")
    };
    assert_eq!(
        items[0],
        Value::List(vec![
            Value::Str("array".into()),
            Value::Str("f".into()),
            Value::Str("f".into()),
            Value::Int(4),
            Value::Int(4),
            Value::Bool(false),
            Value::Bool(true),
            Value::Int(2),
            Value::List(vec![Value::Float(0.75), Value::Float(-0.25)]),
            Value::Str("list".into()),
        ])
    );
    // edits through the buffer, then through the list, are the audio's
    assert_eq!(items[1], audio(vec![0.75, -1.0, 1e-8, 3.0], 22050, 2));
}

#[test]
fn buffers_and_arrays_come_back_without_a_list() {
    // A returned audio's data is read as it is: never turned into a list.
    let src = "import array\nfrom pipeline_values import Audio\n\
class Node:\n    def process(self, a):\n        out = []\n        \
out.append(Audio(array.array('f', [1.0, 2.0]), 8000))\n        \
out.append(Audio(memoryview(array.array('f', [3.0, 4.0, 5.0, 6.0])).cast('B').cast('f', (2, 2)), 8000, 2))\n        \
g = Audio(a.buffer, a.sample_rate, a.channels)\n        out.append(g)\n        \
out.append(type(g._data).__name__)\n        return out\n";
    let out = run_one(src, audio(vec![0.5, -0.25], 16000, 1))
        .unwrap()
        .unwrap();
    assert_eq!(
        out,
        Value::List(vec![
            audio(vec![1.0, 2.0], 8000, 1),
            audio(vec![3.0, 4.0, 5.0, 6.0], 8000, 2),
            audio(vec![0.5, -0.25], 16000, 1),
            Value::Str("memoryview".into()),
        ])
    );
}

#[test]
fn audio_array_without_numpy_is_a_clear_module_not_found_error() {
    let probe = "import importlib.util\nclass Node:\n    def process(self, x):\n        return importlib.util.find_spec('numpy') is not None\n";
    if run_one(probe, Value::Null).unwrap() == Some(Value::Bool(true)) {
        eprintln!("numpy is installed: the message for its absence is not checked here");
        return;
    }
    let src = "class Node:\n    def process(self, a):\n        return a.array\n";
    let e = run_one(src, audio(vec![0.5], 16000, 1)).unwrap_err();
    assert_eq!(e.exit_code(), 3);
    let first = e.message().lines().next().unwrap().to_string();
    assert!(
        first.ends_with(
            "ModuleNotFoundError: Audio.array needs numpy, which this Python cannot import \
             (the wasm runtime has no numpy yet): use Audio.buffer, a float32 memoryview, or Audio.samples"
        ),
        "{first}"
    );
}

#[test]
fn wrong_buffers_name_the_path() {
    for (samples, expected) in [
        (
            "array.array('h', [1, 2])",
            "process() result.samples: expected a float32 buffer (format 'f'), got array.array with format 'h'",
        ),
        (
            "memoryview(array.array('f', [0.0] * 6)).cast('B').cast('f', (2, 3))",
            "process() result.samples: expected a 1-D array (interleaved) or a 2-D array of shape (frames, 2), got shape (2, 3)",
        ),
    ] {
        let src = format!(
            "import array\nfrom pipeline_values import Audio\nclass Node:\n    def process(self, x):\n        return Audio({samples}, 8000, 2)\n"
        );
        let e = run_one(&src, Value::Null).unwrap_err();
        assert!(e.message().ends_with(expected), "{samples}: {}", e.message());
    }
}
