//! Sessions ([`pipeline_runtime::Session`]): pushing items one at a time and
//! closing gives exactly what `run` gives for the same items.

use std::io::{self, Write};
use std::path::PathBuf;

use pipeline_runtime::{Manifest, Pipeline, Registry, Session, SessionOptions};
use serde_json::{json, Value as Json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Append every document's lists, in order (compact text out).
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

/// `run`'s compact document and the session's per-item + close documents.
fn run_and_session(manifest: &str, base_dir: Option<PathBuf>) -> (String, Vec<String>) {
    let reg = Registry::with_builtins();
    let m = Manifest::parse(manifest, &reg).unwrap();
    let items = m.input_values().unwrap().unwrap();
    let ran = Pipeline::new(&m, &reg, base_dir.clone())
        .unwrap()
        .run(items)
        .unwrap()
        .to_json_compact();
    let options = SessionOptions {
        base_dir,
        python_print_to_stderr: false,
    };
    let mut session = Session::open(manifest, &reg, &options).unwrap();
    let json: Json = serde_json::from_str(manifest).unwrap();
    let mut docs: Vec<String> = json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| session.push_json(&item.to_string()).unwrap())
        .collect();
    docs.push(session.close_json().unwrap());
    (ran, docs)
}

fn example(name: &str) -> String {
    std::fs::read_to_string(root().join("examples/manifests").join(name)).unwrap()
}

#[test]
fn merged_session_results_are_runs_document_byte_for_byte() {
    let mut cases = vec![
        example("multiply_add.json"),
        example("fan_out_fan_in.json"),
        example("resample.json"),
        example("audio_window.json"),
        // AudioWindow with a silence cut, overlap and a gain after it.
        json!({"version": 1, "nodes": [
            {"id": "src", "type": "PassThrough"},
            {"id": "win", "type": "AudioWindow", "params": {"window": 0.05, "hop": 0.03, "silence_threshold": -30, "min_silence": 0.02, "min_window": 0.01}},
            {"id": "gain", "type": "Multiply", "params": {"factor": 0.5}},
            {"id": "tap", "type": "Output"},
            {"id": "out", "type": "Output"}],
          "connections": [{"from": "src", "to": "win"}, {"from": "win", "to": "gain"}, {"from": "gain", "to": "out"}, {"from": "win", "to": "tap"}],
          "inputs": [
            {"$audio": {"sample_rate": 1000, "samples": [0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5]}},
            {"$audio": {"sample_rate": 1000, "samples": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]}},
            {"$audio": {"sample_rate": 1000, "samples": [0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25]}},
            {"$audio": {"sample_rate": 1000, "samples": [0.1, 0.1, 0.1]}}
          ]})
        .to_string(),
    ];
    if cfg!(feature = "python") {
        cases.push(example("python_node.json"));
        cases.push(example("python_inline.json"));
        // A stateful Python node after AudioWindow: frames per window plus a
        // running count, items dropped on even windows.
        cases.push(
            json!({"version": 1, "nodes": [
                {"id": "tone", "type": "Tone", "params": {"frequency": 300, "sample_rate": 8000, "duration": 0.013}},
                {"id": "win", "type": "AudioWindow", "params": {"window": 0.02, "hop": 0.015}},
                {"id": "py", "type": "Python", "params": {"class": "Count",
                    "source": "class Count:\n    def __init__(self):\n        self.n = 0\n    def process(self, a):\n        self.n += 1\n        if self.n % 2 == 0:\n            return None\n        return [self.n, a.frames, a.samples[0]]\n"}},
                {"id": "out", "type": "Output"}],
              "connections": [{"from": "tone", "to": "win"}, {"from": "win", "to": "py"}, {"from": "py", "to": "out"}],
              "inputs": [null, null, null, null, null, null, null]})
            .to_string(),
        );
    }
    for manifest in &cases {
        let (ran, docs) = run_and_session(manifest, Some(root().join("examples/manifests")));
        assert_eq!(merge(&docs), ran, "{manifest}");
        // Every document names every result node.
        let keys = |doc: &str| -> Vec<String> {
            let doc: Json = serde_json::from_str(doc).unwrap();
            doc["outputs"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        for doc in &docs {
            assert_eq!(keys(doc), keys(&ran), "{doc}");
        }
    }
}

#[test]
fn audio_window_values_arrive_with_the_item_that_completes_them() {
    let (_, docs) = run_and_session(&example("audio_window.json"), None);
    let counts: Vec<usize> = docs
        .iter()
        .map(|d| {
            let d: Json = serde_json::from_str(d).unwrap();
            d["outputs"]["out"].as_array().unwrap().len()
        })
        .collect();
    // items 0, 1, 2, then the close (flush)
    assert_eq!(counts, [0, 1, 1, 1]);
}

#[cfg(feature = "python")]
#[test]
fn a_failed_session_keeps_its_first_error() {
    let reg = Registry::with_builtins();
    let manifest =
        json!({"version": 1, "nodes": [{"id": "p", "type": "Python", "params": {"class": "P",
        "source": "class P:\n    def process(self, x):\n        return 10 // x\n"}}]})
        .to_string();
    let mut s = Session::open(&manifest, &reg, &SessionOptions::default()).unwrap();
    assert_eq!(s.push_json("5").unwrap(), r#"{"outputs":{"p":[2]}}"#);
    let first = s.push_json("0").unwrap_err();
    assert_eq!(first.exit_code(), 3);
    assert!(first
        .message()
        .starts_with("node 'p' (Python) failed on item 1: ZeroDivisionError"));
    let later = s.push_json("1").unwrap_err();
    assert_eq!(later.exit_code(), 3);
    assert_eq!(
        later.message(),
        format!("session failed earlier: {}", first.message())
    );
    assert_eq!(s.close_json().unwrap(), r#"{"outputs":{"p":[]}}"#);
    let closed = s.push_json("1").unwrap_err();
    assert_eq!(
        (closed.exit_code(), closed.message()),
        (1, "the session is closed")
    );
}

/// A stdout that fails with WouldBlock on every other call and takes at most
/// 5 bytes at a time (a slow non-blocking pipe).
struct SlowPipe {
    out: Vec<u8>,
    calls: usize,
}

impl Write for SlowPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 2 == 1 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(5);
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_cli_loses_no_output_to_a_stdout_that_would_block() {
    let manifest = root().join("examples/manifests/resample.json");
    let args: Vec<String> = ["pipeline_executor", "run", manifest.to_str().unwrap()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut stdout = SlowPipe {
        out: Vec::new(),
        calls: 0,
    };
    let mut stderr = SlowPipe {
        out: Vec::new(),
        calls: 0,
    };
    let code =
        pipeline_runtime::cli::main_with_args(&args, &mut io::empty(), &mut stdout, &mut stderr);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stderr.out));
    let expected = pipeline_runtime::run_manifest_str(
        &std::fs::read_to_string(&manifest).unwrap(),
        None,
        None,
    )
    .unwrap();
    assert!(expected.len() > 1000);
    assert_eq!(String::from_utf8(stdout.out).unwrap(), expected);
    // Errors too: the whole message reaches stderr.
    let args: Vec<String> = ["pipeline_executor", "run", "no/such/manifest.json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut stdout = SlowPipe {
        out: Vec::new(),
        calls: 0,
    };
    let mut stderr = SlowPipe {
        out: Vec::new(),
        calls: 0,
    };
    let code =
        pipeline_runtime::cli::main_with_args(&args, &mut io::empty(), &mut stdout, &mut stderr);
    assert_eq!(code, 1);
    assert_eq!(
        String::from_utf8(stderr.out).unwrap(),
        "error: cannot read manifest 'no/such/manifest.json': file not found\n"
    );
}

/// A stdout whose reader went away.
struct Closed;

impl Write for Closed {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_broken_stdout_is_a_clear_error() {
    let manifest = root().join("examples/manifests/multiply_add.json");
    let args: Vec<String> = ["pipeline_executor", "run", manifest.to_str().unwrap()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut stderr = Vec::new();
    let code =
        pipeline_runtime::cli::main_with_args(&args, &mut io::empty(), &mut Closed, &mut stderr);
    assert_eq!(code, 1);
    assert_eq!(
        String::from_utf8(stderr).unwrap(),
        "error: cannot write to stdout: broken pipe\n"
    );
}
