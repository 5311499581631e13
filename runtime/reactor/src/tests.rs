//! The ABI called directly (natively the pointers are real pointers):
//! results equal `run`'s.

use std::path::PathBuf;

use pipeline_runtime::{Manifest, Pipeline, Registry};
use serde_json::{json, Value as Json};

use super::*;

fn runtime_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn examples() -> PathBuf {
    runtime_dir().join("examples/manifests")
}

fn output() -> String {
    let (ptr, len) = (rm_output_ptr(), rm_output_len());
    // SAFETY: the buffer is valid until the next rm_session_* call.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len as usize) };
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Copy `text` into memory from rm_alloc, as a host does, and call `f`.
fn with_guest_copy<T>(text: &str, f: impl FnOnce(*const u8, u32) -> T) -> T {
    let len = text.len() as u32;
    let ptr = rm_alloc(len);
    assert!(!ptr.is_null());
    // SAFETY: rm_alloc gave `len` writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), ptr, text.len()) };
    let out = f(ptr, len);
    // SAFETY: from rm_alloc(len), freed once.
    unsafe { rm_free(ptr, len) };
    out
}

fn open(manifest: &str, base_dir: &str) -> (i32, String) {
    let code = with_guest_copy(manifest, |mp, ml| {
        with_guest_copy(base_dir, |bp, bl| unsafe {
            rm_session_open(mp, ml, bp, bl)
        })
    });
    (code, output())
}

fn push(handle: i32, item: &str) -> (i32, String) {
    let code = with_guest_copy(item, |p, l| unsafe { rm_session_push(handle, p, l) });
    (code, output())
}

fn push_many(handle: i32, items: &str) -> (i32, String) {
    let code = with_guest_copy(items, |p, l| unsafe { rm_session_push_many(handle, p, l) });
    (code, output())
}

/// Push `samples` as a host does: their little-endian bytes copied into
/// memory from rm_alloc, one byte in (so not 4-aligned).
fn push_audio(handle: i32, samples: &[f32], sample_rate: u32, channels: u32) -> (i32, String) {
    let bytes: Vec<u8> = samples.iter().flat_map(|x| x.to_le_bytes()).collect();
    push_audio_bytes(handle, &bytes, sample_rate, channels)
}

fn push_audio_bytes(handle: i32, bytes: &[u8], sample_rate: u32, channels: u32) -> (i32, String) {
    let len = bytes.len() as u32 + 1;
    let ptr = rm_alloc(len);
    assert!(!ptr.is_null());
    // SAFETY: rm_alloc gave `len` writable bytes; the samples start at ptr + 1.
    let code = unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.add(1), bytes.len());
        rm_session_push_audio(handle, ptr.add(1), len - 1, sample_rate, channels)
    };
    // SAFETY: from rm_alloc(len), freed once.
    unsafe { rm_free(ptr, len) };
    (code, output())
}

fn close(handle: i32) -> (i32, String) {
    let code = rm_session_close(handle);
    (code, output())
}

/// Append every document's lists, in order (compact text).
fn merge(docs: &[String]) -> String {
    let mut merged = serde_json::Map::new();
    for doc in docs {
        let doc: Json = serde_json::from_str(doc).unwrap();
        for (id, values) in doc["outputs"].as_object().unwrap() {
            let list = merged.entry(id.clone()).or_insert(json!([]));
            list.as_array_mut()
                .unwrap()
                .extend(values.as_array().unwrap().iter().cloned());
        }
    }
    serde_json::to_string(&json!({ "outputs": merged })).unwrap()
}

/// `run`'s compact document for the manifest's own inputs.
fn run_doc(manifest: &str, base_dir: Option<PathBuf>) -> String {
    let reg = Registry::with_builtins();
    let m = Manifest::parse(manifest, &reg).unwrap();
    let items = m.input_values().unwrap().unwrap();
    Pipeline::new(&m, &reg, base_dir)
        .unwrap()
        .run(items)
        .unwrap()
        .to_json_compact()
}

#[test]
fn sessions_give_runs_results() {
    let mut names = vec![
        "multiply_add.json",
        "fan_out_fan_in.json",
        "resample.json",
        "audio_window.json",
    ];
    if cfg!(feature = "python") {
        names.extend(["python_node.json", "python_inline.json"]);
    }
    let base = examples();
    for name in names {
        let manifest = std::fs::read_to_string(base.join(name)).unwrap();
        let (handle, text) = open(&manifest, base.to_str().unwrap());
        assert!(handle > 0, "{name}: {handle} {text}");
        assert_eq!(text, "");
        let items: Json = serde_json::from_str(&manifest).unwrap();
        let mut docs = Vec::new();
        for item in items["inputs"].as_array().unwrap() {
            let (code, doc) = push(handle, &item.to_string());
            assert_eq!(code, 0, "{name}: {doc}");
            docs.push(doc);
        }
        let (code, doc) = close(handle);
        assert_eq!(code, 0, "{name}: {doc}");
        docs.push(doc);
        assert_eq!(
            merge(&docs),
            run_doc(&manifest, Some(base.clone())),
            "{name}"
        );
    }
}

#[test]
fn one_push_of_many_gives_runs_results() {
    let mut names = vec!["multiply_add.json", "audio_window.json"];
    if cfg!(feature = "python") {
        names.push("python_inline.json");
    }
    let base = examples();
    for name in names {
        let manifest = std::fs::read_to_string(base.join(name)).unwrap();
        let (handle, text) = open(&manifest, base.to_str().unwrap());
        assert!(handle > 0, "{name}: {handle} {text}");
        let items: Json = serde_json::from_str(&manifest).unwrap();
        let (code, pushed) = push_many(handle, &items["inputs"].to_string());
        assert_eq!(code, 0, "{name}: {pushed}");
        let (code, closed) = close(handle);
        assert_eq!(code, 0, "{name}: {closed}");
        assert_eq!(
            merge(&[pushed, closed]),
            run_doc(&manifest, Some(base.clone())),
            "{name}"
        );
    }
    let manifest = std::fs::read_to_string(base.join("multiply_add.json")).unwrap();
    let (h, _) = open(&manifest, "");
    assert_eq!(
        push_many(h, "[1, [2,"),
        (
            -4,
            "invalid inputs: not valid JSON: EOF while parsing a value at line 1 column 7"
                .to_string()
        )
    );
    assert_eq!(close(h), (0, r#"{"outputs":{"out":[]}}"#.to_string()));
    assert_eq!(
        push_many(h, "[1]"),
        (-1, "the session is closed".to_string())
    );
}

#[test]
fn each_push_gives_that_items_result() {
    let manifest = std::fs::read_to_string(examples().join("multiply_add.json")).unwrap();
    let (h, _) = open(&manifest, "");
    assert_eq!(push(h, "3"), (0, r#"{"outputs":{"out":[7]}}"#.to_string()));
    assert_eq!(
        push(h, r#"{"$f64": "-inf"}"#),
        (0, r#"{"outputs":{"out":[{"$f64":"-inf"}]}}"#.to_string())
    );
    // A bad item: exit 4, the session goes on.
    assert_eq!(
        push(h, "[1,"),
        (
            -4,
            "invalid inputs: not valid JSON: EOF while parsing a value at line 1 column 3"
                .to_string()
        )
    );
    assert_eq!(
        push(h, "0.5"),
        (0, r#"{"outputs":{"out":[2.0]}}"#.to_string())
    );
    assert_eq!(close(h), (0, r#"{"outputs":{"out":[]}}"#.to_string()));
    assert_eq!(push(h, "1"), (-1, "the session is closed".to_string()));
    assert_eq!(close(h), (-1, "the session is closed".to_string()));
    assert_eq!(
        push(h + 1000, "1"),
        (-1, format!("unknown session handle {}", h + 1000))
    );
    assert_eq!(push(0, "1"), (-1, "unknown session handle 0".to_string()));
    // Bytes that are not UTF-8.
    let (h, _) = open(&manifest, "");
    let bad = [0xffu8, b'\n'];
    let code = unsafe { rm_session_push(h, bad.as_ptr(), 2) };
    assert_eq!(
        (code, output()),
        (-4, "invalid inputs: not valid UTF-8".to_string())
    );
    assert_eq!(close(h).0, 0);
}

#[test]
fn open_fails_with_runs_errors() {
    let (code, text) = open("{", "");
    assert_eq!(code, -2);
    assert_eq!(
        text,
        "invalid manifest: not valid JSON: EOF while parsing an object at line 1 column 1"
    );
    let manifest =
        r#"{"version":1,"nodes":[{"id":"r","type":"MediaReader","params":{"path":"nope.wav"}}]}"#;
    let (code, text) = open(manifest, "/no/such/dir");
    assert_eq!(code, -3);
    assert_eq!(
        text,
        "node 'r' (MediaReader) failed to initialise: cannot read 'nope.wav': file not found"
    );
    let not_utf8 = [b'{', 0xfe];
    let code = unsafe { rm_session_open(not_utf8.as_ptr(), 2, std::ptr::null(), 0) };
    assert_eq!(
        (code, output()),
        (-2, "invalid manifest: not valid UTF-8".to_string())
    );
    let code = unsafe { rm_session_open(std::ptr::null(), 5, std::ptr::null(), 0) };
    assert_eq!(
        (code, output()),
        (-1, "manifest: null pointer with length 5".to_string())
    );
}

#[test]
fn a_node_error_fails_the_session_and_close_still_works() {
    let manifest = r#"{"version":1,"nodes":[{"id":"m","type":"Multiply","params":{"factor":2}}]}"#;
    let (h, _) = open(manifest, "");
    assert_eq!(push(h, "1").0, 0);
    let first =
        "node 'm' (Multiply) failed on item 1: Multiply expects numbers or audio, got string";
    assert_eq!(push(h, "\"x\""), (-3, first.to_string()));
    assert_eq!(
        push(h, "2"),
        (-3, format!("session failed earlier: {first}"))
    );
    assert_eq!(close(h), (0, r#"{"outputs":{"m":[]}}"#.to_string()));
}

#[test]
fn handles_are_independent() {
    let manifest = std::fs::read_to_string(examples().join("audio_window.json")).unwrap();
    let (a, _) = open(&manifest, "");
    let (b, _) = open(&manifest, "");
    assert!(b > a);
    assert_eq!(push(a, "null").0, 0);
    let (_, one) = push(a, "null");
    assert_eq!(push(b, "null").1, r#"{"outputs":{"out":[]}}"#);
    let (_, rest_a) = close(a);
    let (_, rest_b) = close(b);
    assert!(one.contains("$audio"));
    // a saw 2 items (0.6 s): one window, and 0.35 s left at the end; b saw
    // one item: 0.3 s at the end.
    assert_ne!(rest_a, rest_b);
    assert!(rest_b.contains("$audio"));
}

#[test]
fn alloc_and_free() {
    let p = rm_alloc(0);
    assert!(!p.is_null());
    unsafe { rm_free(p, 0) };
    unsafe { rm_free(std::ptr::null_mut(), 10) };
    let p = rm_alloc(1 << 20);
    assert!(!p.is_null());
    unsafe {
        p.write_bytes(7, 1 << 20);
        rm_free(p, 1 << 20);
    }
}

#[cfg(feature = "python")]
#[test]
fn python_print_goes_to_stderr_and_math_is_the_binaries() {
    // print() must not reach stdout (the host's): sys.stdout is sys.stderr.
    let manifest = json!({"version": 1, "nodes": [{"id": "p", "type": "Python", "params": {"class": "P",
        "source": "import math, sys\nclass P:\n    def process(self, x):\n        return [sys.stdout is sys.stderr, math.exp(x), math.sin(x), x ** 0.5]\n"}}]})
    .to_string();
    let (h, text) = open(&manifest, "");
    assert!(h > 0, "{text}");
    let (code, doc) = push(h, "0.7");
    assert_eq!(code, 0, "{doc}");
    let doc: Json = serde_json::from_str(&doc).unwrap();
    let got = &doc["outputs"]["p"][0];
    assert_eq!(got[0], json!(true));
    use pipeline_runtime::libm_exports::__libm;
    assert_eq!(
        got[1].as_f64().unwrap().to_bits(),
        __libm::exp(0.7).to_bits()
    );
    assert_eq!(
        got[2].as_f64().unwrap().to_bits(),
        __libm::sin(0.7).to_bits()
    );
    assert_eq!(
        got[3].as_f64().unwrap().to_bits(),
        __libm::pow(0.7, 0.5).to_bits()
    );
    assert_eq!(close(h).0, 0);
}

#[test]
fn an_audio_push_of_samples_gives_what_its_json_gives() {
    // stereo chunks at 48 kHz, resampled to 16 kHz (the Resample node keeps state across items)
    let chunks: Vec<Vec<f32>> = (0..3)
        .map(|c| {
            (0..960)
                .map(|i| ((i + 960 * c) as f32 / 7.0).sin() * 0.5)
                .collect()
        })
        .collect();
    let items: Vec<Json> = chunks
        .iter()
        .map(|s| json!({"$audio": {"sample_rate": 48000, "channels": 2, "samples": s}}))
        .collect();
    let manifest = json!({
        "version": 1,
        "nodes": [{"id": "r", "type": "Resample", "params": {"target_rate": 16000}},
                  {"id": "out", "type": "Output"}],
        "connections": [{"from": "r", "to": "out"}],
        "inputs": items,
    })
    .to_string();
    let (h, _) = open(&manifest, "");
    let mut docs: Vec<String> = Vec::new();
    for chunk in &chunks {
        let (code, doc) = push_audio(h, chunk, 48000, 2);
        assert_eq!(code, 0, "{doc}");
        docs.push(doc);
    }
    // refused before it runs: the session goes on, the item is not counted
    for (bytes, rate, channels, why) in [
        (
            vec![0u8; 6],
            48000,
            1,
            "6 bytes is not a whole number of f32 samples",
        ),
        (
            vec![0u8; 12],
            48000,
            2,
            "3 samples is not a whole number of frames for 2 channels",
        ),
        (
            vec![0u8; 8],
            0,
            2,
            "sample rate must be an integer from 1 to 768000, got 0",
        ),
    ] {
        let (code, message) = push_audio_bytes(h, &bytes, rate, channels);
        assert_eq!(
            (code, message),
            (-4, format!("invalid inputs: audio: {why}"))
        );
    }
    let (code, closed) = close(h);
    assert_eq!(code, 0, "{closed}");
    docs.push(closed);
    assert_eq!(merge(&docs), run_doc(&manifest, None));
    assert_eq!(
        push_audio(h, &[0.0], 16000, 1),
        (-1, "the session is closed".to_string())
    );
    let null = unsafe { rm_session_push_audio(h + 100, std::ptr::null(), 4, 16000, 1) };
    assert_eq!(
        (null, output()),
        (-1, format!("unknown session handle {}", h + 100))
    );
}
