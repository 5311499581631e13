//! Integration tests that run the real `pipeline_executor` binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use serde_json::{json, Value as Json};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pipeline_executor"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = bin()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pipeline_executor");
    {
        let mut sin = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            // A command that refuses its arguments exits without reading stdin.
            if let Err(e) = sin.write_all(s.as_bytes()) {
                assert_eq!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe,
                    "writing stdin: {e}"
                );
            }
        }
    }
    child.wait_with_output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_in(&root(), args, None)
}

fn stdout_json(out: &Output) -> Json {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn stderr_first_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Decode `{"$audio": ...}` independently of the library.
fn decode_audio(v: &Json) -> (u64, u64, Vec<f32>) {
    let a = &v["$audio"];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(a["data_b64"].as_str().unwrap())
        .unwrap();
    let samples = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (
        a["sample_rate"].as_u64().unwrap(),
        a["channels"].as_u64().unwrap(),
        samples,
    )
}

#[test]
fn example_multiply_add() {
    let out = stdout_json(&run(&["run", "examples/manifests/multiply_add.json"]));
    // inputs [3, 10, -4, 0.5] -> 2x + 1
    assert_eq!(out, json!({"outputs": {"out": [7, 21, -7, 2.0]}}));
    // ints stay ints, the float stays a float in the text too
    let text = String::from_utf8(
        run(&["run", "examples/manifests/multiply_add.json", "--compact"]).stdout,
    )
    .unwrap();
    assert_eq!(text, "{\"outputs\":{\"out\":[7,21,-7,2.0]}}\n");
}

#[test]
fn example_fan_out_fan_in() {
    let out = stdout_json(&run(&["run", "examples/manifests/fan_out_fan_in.json"]));
    // 3x + 10 for x in [1, 5, 2.5]; pair = [2x, x + 10]
    assert_eq!(
        out,
        json!({"outputs": {
            "total": [13, 25, 17.5],
            "pair": [[2, 11], [10, 15], [5.0, 12.5]]
        }})
    );
}

#[cfg(feature = "python")]
#[test]
fn example_python_module() {
    let out = stdout_json(&run(&["run", "examples/manifests/python_node.json"]));
    // 3x + 1 with negative items dropped: [1, -5, 2.5] -> [4, 8.5]
    assert_eq!(out, json!({"outputs": {"out": [4, 8.5]}}));
}

#[cfg(feature = "python")]
#[test]
fn example_python_module_from_another_directory() {
    // module_path is relative to the manifest, not to the working directory.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let manifest = root().join("examples/manifests/python_node.json");
    let out = run_in(
        &dir,
        &["run", manifest.to_str().unwrap(), "--input", "-"],
        Some("[10, -1, 0]"),
    );
    assert_eq!(stdout_json(&out), json!({"outputs": {"out": [31, 1]}}));
}

#[cfg(feature = "python")]
#[test]
fn example_python_inline() {
    let out = stdout_json(&run(&["run", "examples/manifests/python_inline.json"]));
    assert_eq!(
        out,
        json!({"outputs": {"out": [
            {"item": 1, "total": 101},
            {"item": 2, "total": 103},
            {"item": 3, "total": 106}
        ]}})
    );
}

#[test]
fn example_resample() {
    let out = stdout_json(&run(&["run", "examples/manifests/resample.json"]));
    let items = out["outputs"]["out"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let (rate, channels, samples) = decode_audio(&items[0]);
    assert_eq!((rate, channels), (16000, 1));
    // 10 ms at 16 kHz
    assert_eq!(samples.len(), 160);
    // A 1 kHz sine of amplitude 0.5 sampled at 16 kHz, away from the edges
    // (where the zero padding outside the signal shows).
    for (n, s) in samples.iter().enumerate().take(130).skip(30) {
        let ideal = 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / 16000.0).sin();
        assert!((*s as f64 - ideal).abs() < 2e-3, "n={n}: {s} vs {ideal}");
    }
}

/// Write a 16-bit PCM stereo WAV by hand.
fn write_wav_pcm16(path: &Path, rate: u32, frames: &[(i16, i16)]) {
    let data: Vec<u8> = frames
        .iter()
        .flat_map(|(l, r)| [l.to_le_bytes(), r.to_le_bytes()].concat())
        .collect();
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * 4).to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&data);
    std::fs::write(path, v).unwrap();
}

#[test]
fn example_wav_resample_with_generated_wav() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wav_resample");
    std::fs::create_dir_all(&dir).unwrap();
    let wav = dir.join("stereo_32k.wav");
    // 0.25 s at 32 kHz: left = constant 0.5 (16384), right = 300 Hz sine.
    let frames: Vec<(i16, i16)> = (0..8000)
        .map(|n| {
            let r =
                (0.5 * (2.0 * std::f64::consts::PI * 300.0 * n as f64 / 32000.0).sin() * 32768.0)
                    .round();
            (16384, r as i16)
        })
        .collect();
    write_wav_pcm16(&wav, 32000, &frames);
    let inputs = json!([wav.to_str().unwrap()]).to_string();
    let out = run_in(
        &root(),
        &[
            "run",
            "examples/manifests/wav_resample.json",
            "--input",
            "-",
        ],
        Some(&inputs),
    );
    let out = stdout_json(&out);
    let (rate, channels, samples) = decode_audio(&out["outputs"]["out"][0]);
    assert_eq!((rate, channels), (16000, 2));
    assert_eq!(samples.len(), 4000 * 2);
    // After x0.5 gain: left ~0.25, right ~0.25*sin(...) at 16 kHz.
    for n in 100..3900 {
        let l = samples[2 * n] as f64;
        let r = samples[2 * n + 1] as f64;
        let ideal_r = 0.25 * (2.0 * std::f64::consts::PI * 300.0 * n as f64 / 16000.0).sin();
        assert!((l - 0.25).abs() < 1e-3, "left n={n}: {l}");
        assert!((r - ideal_r).abs() < 2e-3, "right n={n}: {r} vs {ideal_r}");
    }
}

#[test]
fn bad_manifest_corpus() {
    // tests/bad_manifests/NAME.json + NAME.expected: first line "exit: N",
    // second line the exact first line of stderr. Each is run with
    // `run NAME.json` from that directory (so relative paths resolve there).
    let dir = root().join("tests/bad_manifests");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "corpus too small: {}", names.len());
    let mut failures = Vec::new();
    for path in &names {
        let expected = std::fs::read_to_string(path.with_extension("expected"))
            .unwrap_or_else(|_| panic!("missing .expected for {}", path.display()));
        let mut lines = expected.lines();
        let code: i32 = lines
            .next()
            .unwrap()
            .strip_prefix("exit: ")
            .unwrap()
            .parse()
            .unwrap();
        let message = lines.next().unwrap();
        let file = path.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        if cfg!(not(feature = "python")) && text.contains("\"Python\"") {
            continue; // needs the python feature
        }
        if cfg!(not(feature = "whisper")) && text.contains("\"Whisper\"") {
            continue; // needs the whisper feature
        }
        let out = run_in(&dir, &["run", file], None);
        let got_code = out.status.code();
        let got = stderr_first_line(&out);
        if got_code != Some(code) || got != message {
            failures.push(format!(
                "{file}:\n  expected [{code}] {message}\n  got      [{got_code:?}] {got}"
            ));
        }
        assert!(
            out.stdout.is_empty(),
            "{file}: nothing on stdout on failure"
        );
        // `validate` agrees for manifest and inputs errors (it runs nothing).
        if code == 2 || code == 4 {
            let v = run_in(&dir, &["validate", file], None);
            let vgot = stderr_first_line(&v);
            if (code == 2 || !message.contains("no inputs"))
                && (v.status.code() != Some(code) || vgot != message)
            {
                failures.push(format!(
                    "validate {file}:\n  expected [{code}] {message}\n  got      [{:?}] {vgot}",
                    v.status.code()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[cfg(feature = "python")]
#[test]
fn python_traceback_is_in_the_message() {
    let dir = root().join("tests/bad_manifests");
    let out = run_in(&dir, &["run", "python_exception.json"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(err.contains("Traceback (most recent call last):"), "{err}");
    assert!(
        err.contains("File \"<inline:p>\", line 3, in process"),
        "{err}"
    );
    assert!(err.contains("return 10 // x"), "{err}");
}

#[cfg(feature = "python")]
#[test]
fn python_print_goes_to_stderr_not_stdout() {
    let manifest = json!({
        "version": 1,
        "nodes": [{"id": "p", "type": "Python", "params": {"class": "P",
            "source": "print('at import')\nclass P:\n    def __init__(self):\n        print('in init')\n    def process(self, x):\n        print('debug', x)\n        return x\n"}}],
        "inputs": [1]
    });
    let out = run_in(&root(), &["run", "-"], Some(&manifest.to_string()));
    assert_eq!(stdout_json(&out), json!({"outputs": {"p": [1]}}));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err, "at import\nin init\ndebug 1\n");
}

#[test]
fn manifest_from_stdin_and_inputs_from_file() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let inputs = dir.join("cli_inputs.json");
    std::fs::write(&inputs, "[1, 2.5, {\"$f64\": \"inf\"}, -0.0]").unwrap();
    let manifest = r#"{"version":1,"nodes":[{"id":"m","type":"Multiply","params":{"factor":-1}}]}"#;
    let out = run_in(
        &root(),
        &["run", "-", "--input", inputs.to_str().unwrap(), "--compact"],
        Some(manifest),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // -1*1 = -1 (int), -2.5, -inf, -1 * -0.0 = 0.0
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"outputs\":{\"m\":[-1,-2.5,{\"$f64\":\"-inf\"},0.0]}}\n"
    );
}

#[test]
fn usage_errors_exit_1() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "error: missing command (try 'pipeline_executor --help')"),
        (&["frobnicate"], "error: unknown command 'frobnicate' (try 'pipeline_executor --help')"),
        (&["run"], "error: 'run' needs a manifest file (or '-' for stdin) (try 'pipeline_executor --help')"),
        (&["run", "a.json", "--bogus"], "error: unknown option '--bogus' (try 'pipeline_executor --help')"),
        (&["run", "a.json", "b.json"], "error: unexpected argument 'b.json' (try 'pipeline_executor --help')"),
        (&["run", "a.json", "--input"], "error: --input needs a file name (or '-') (try 'pipeline_executor --help')"),
        (&["run", "-", "--input", "-"], "error: the manifest and --input cannot both be read from stdin (try 'pipeline_executor --help')"),
        (&["run", "missing/manifest.json"], "error: cannot read manifest 'missing/manifest.json': file not found"),
        (&["run", "examples/manifests/multiply_add.json", "--input", "nope.json"], "error: cannot read inputs 'nope.json': file not found"),
        (&["schema", "x"], "error: 'schema' takes no arguments (try 'pipeline_executor --help')"),
        (&["exit-codes", "x"], "error: 'exit-codes' takes no arguments other than --json (try 'pipeline_executor --help')"),
        (&["exit-codes", "--json", "--compact"], "error: 'exit-codes' takes no arguments other than --json (try 'pipeline_executor --help')"),
        (&["exit-codes", "--input", "x.json"], "error: 'exit-codes' takes no arguments other than --json (try 'pipeline_executor --help')"),
        (&["exit-codes", "--yaml"], "error: unknown option '--yaml' (try 'pipeline_executor --help')"),
        (&["run", "a.json", "--json"], "error: unknown option '--json' (try 'pipeline_executor --help')"),
    ];
    for (args, msg) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr_first_line(&out), *msg, "{args:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn invalid_inputs_file_exits_4() {
    let out = run_in(
        &root(),
        &[
            "run",
            "examples/manifests/multiply_add.json",
            "--input",
            "-",
        ],
        Some("{\"not\": \"an array\"}"),
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(
        stderr_first_line(&out),
        "error: invalid inputs: expected a JSON array of items, got object"
    );
    let out = run_in(
        &root(),
        &[
            "run",
            "examples/manifests/multiply_add.json",
            "--input",
            "-",
        ],
        Some("[1,"),
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(
        stderr_first_line(&out),
        "error: invalid inputs: not valid JSON: EOF while parsing a value at line 1 column 3"
    );
}

#[test]
fn help_version_validate_schema() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "USAGE:",
        "run <MANIFEST>",
        "stream <MANIFEST>",
        "validate <MANIFEST> [--json] [--load]",
        "AudioWindow",
        "EXIT CODES:",
        "Multiply",
        "Resample",
        "Python",
    ] {
        assert!(text.contains(needle), "help lacks {needle}");
    }
    assert_eq!(text.contains("\n    Python "), cfg!(feature = "python"));
    let out = run(&["--version"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("pipeline_executor "));
    let out = run(&["validate", "examples/manifests/fan_out_fan_in.json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok: valid manifest (6 nodes, 7 connections)\n"
    );
    let out = run(&["schema"]);
    let schema: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["title"], "Pipeline manifest");
}

/// `exit-codes --json`: (code, kind, meaning) rows.
fn exit_code_table() -> Vec<(i64, String, String)> {
    let out = run(&["exit-codes", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.ends_with("]\n"), "{text:?}");
    let rows: Json = serde_json::from_str(&text).unwrap();
    // One row per line between "[" and "]".
    assert_eq!(text.lines().count(), rows.as_array().unwrap().len() + 2);
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let keys: Vec<&str> = row
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            assert_eq!(keys, ["code", "kind", "meaning"]);
            (
                row["code"].as_i64().unwrap(),
                row["kind"].as_str().unwrap().to_string(),
                row["meaning"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn exit_codes_json_matches_what_the_cli_returns() {
    let table = exit_code_table();
    let codes: Vec<i64> = table.iter().map(|r| r.0).collect();
    let kinds: Vec<&str> = table.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(kinds, ["success", "usage", "manifest", "node", "inputs"]);
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, codes, "sorted by code, each once");
    let code_of = |kind: &str| {
        let row = table.iter().find(|r| r.1 == kind).unwrap();
        Some(row.0 as i32)
    };
    // What the CLI actually does, one case per kind.
    let ok = run(&["run", "examples/manifests/multiply_add.json"]);
    assert_eq!(ok.status.code(), code_of("success"));
    let usage = run(&["frobnicate"]);
    assert_eq!(usage.status.code(), code_of("usage"));
    let missing = run(&["run", "missing/manifest.json"]);
    assert_eq!(missing.status.code(), code_of("usage"));
    let manifest = run_in(
        &root(),
        &["run", "-"],
        Some(r#"{"version": 2, "nodes": []}"#),
    );
    assert_eq!(manifest.status.code(), code_of("manifest"));
    let node = run_in(
        &root(),
        &["run", "-"],
        Some(r#"{"version": 1, "nodes": [{"id": "m", "type": "Multiply"}], "inputs": ["two"]}"#),
    );
    assert_eq!(node.status.code(), code_of("node"));
    assert!(stderr_first_line(&node).starts_with("error: node 'm' (Multiply) failed on item 0"));
    let inputs = run_in(
        &root(),
        &[
            "run",
            "examples/manifests/multiply_add.json",
            "--input",
            "-",
        ],
        Some("[1,"),
    );
    assert_eq!(inputs.status.code(), code_of("inputs"));
    // Every exit code of the bad-manifest corpus is in the table.
    for entry in std::fs::read_dir(root().join("tests/bad_manifests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "expected") {
            let text = std::fs::read_to_string(&path).unwrap();
            let code: i64 = text.lines().next().unwrap()["exit: ".len()..]
                .parse()
                .unwrap();
            assert!(codes.contains(&code), "{}: exit {code}", path.display());
        }
    }
}

#[test]
fn exit_codes_table_and_help_come_from_the_same_rows() {
    let table = exit_code_table();
    let out = run(&["exit-codes"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("code  kind      meaning"));
    for (code, kind, meaning) in &table {
        assert_eq!(
            lines.next(),
            Some(format!("{code:<4}  {kind:<8}  {meaning}").as_str())
        );
    }
    assert_eq!(lines.next(), None);
    // --help's EXIT CODES section: the same rows.
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    let section: Vec<&str> = help
        .lines()
        .skip_while(|l| *l != "EXIT CODES:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    let expected: Vec<String> = table
        .iter()
        .map(|(code, _, meaning)| format!("    {code}  {meaning}"))
        .collect();
    assert_eq!(section, expected);
    assert!(help.contains("pipeline_executor exit-codes [--json]"));
}

#[test]
fn output_is_deterministic() {
    let a = run(&["run", "examples/manifests/resample.json"]).stdout;
    let b = run(&["run", "examples/manifests/resample.json"]).stdout;
    assert_eq!(a, b);
}

#[cfg(not(feature = "python"))]
#[test]
fn python_node_without_the_feature_is_a_clear_manifest_error() {
    let out = run(&["run", "examples/manifests/python_inline.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_first_line(&out),
        "error: invalid manifest: nodes[0].type: node type 'Python' is not available in this build (cargo feature 'python' is off)"
    );
}

#[test]
fn example_audio_window() {
    let out = stdout_json(&run(&["run", "examples/manifests/audio_window.json"]));
    let windows: Vec<Vec<f32>> = out["outputs"]["out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let (rate, channels, samples) = decode_audio(w);
            assert_eq!((rate, channels), (8000, 1));
            samples
        })
        .collect();
    // 3 items of 0.3 s (2400 frames): 0.5 s windows (4000) every 0.25 s
    // (2000): [0, 4000) and [2000, 6000) while the items come, [4000, 7200)
    // at the end.
    let lengths: Vec<usize> = windows.iter().map(Vec::len).collect();
    assert_eq!(lengths, [4000, 4000, 3200]);
    assert_eq!(windows[0][2000..], windows[1][..2000]);
    assert_eq!(windows[1][2000..], windows[2][..2000]);
    // 1 kHz at 8 kHz: period 8 frames, 2400 frames per item = 300 periods,
    // so the stream is one continuous sine.
    for (n, s) in windows[0].iter().enumerate() {
        let ideal = 0.5 * (2.0 * std::f64::consts::PI * n as f64 / 8.0).sin();
        assert!((*s as f64 - ideal).abs() < 1e-6, "n={n}: {s}");
    }
}

/// `stream MANIFEST` with `stdin` (run from the runtime folder).
fn stream(manifest: &str, stdin: &str) -> Output {
    run_in(&root(), &["stream", manifest], Some(stdin))
}

fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn stream_writes_one_line_per_item_and_skips_blank_lines() {
    let out = stream(
        "examples/manifests/multiply_add.json",
        "3\n\n10\n  \t\r\n-4\n{\"$f64\": \"inf\"}\r\n0.5\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"outputs\":{\"out\":[7]}}\n{\"outputs\":{\"out\":[21]}}\n{\"outputs\":{\"out\":[-7]}}\n\
         {\"outputs\":{\"out\":[{\"$f64\":\"inf\"}]}}\n{\"outputs\":{\"out\":[2.0]}}\n"
    );
    // No items at all: nothing written, exit 0. --compact is accepted.
    let out = run_in(
        &root(),
        &[
            "stream",
            "examples/manifests/multiply_add.json",
            "--compact",
        ],
        Some(""),
    );
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    // Trailing blanks without a newline lose nothing: fine.
    let out = stream("examples/manifests/multiply_add.json", "1\n  ");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_lines(&out), ["{\"outputs\":{\"out\":[3]}}"]);
}

#[test]
fn stream_results_merge_into_runs_document() {
    // Every result line, then the flush line: together exactly `run`'s lists.
    for (manifest, items) in [
        ("examples/manifests/audio_window.json", "null\nnull\nnull\n"),
        ("examples/manifests/fan_out_fan_in.json", "1\n5\n2.5\n"),
    ] {
        let out = stream(manifest, items);
        assert_eq!(out.status.code(), Some(0), "{manifest}");
        let lines = stdout_lines(&out);
        let mut merged = serde_json::Map::new();
        for line in &lines {
            let doc: Json = serde_json::from_str(line).unwrap();
            for (id, values) in doc["outputs"].as_object().unwrap() {
                let list = merged.entry(id.clone()).or_insert(json!([]));
                list.as_array_mut()
                    .unwrap()
                    .extend(values.as_array().unwrap().iter().cloned());
            }
        }
        let merged = serde_json::to_string(&json!({ "outputs": merged })).unwrap() + "\n";
        let ran = run(&["run", manifest, "--compact"]);
        assert_eq!(merged, String::from_utf8(ran.stdout).unwrap(), "{manifest}");
        if manifest.contains("audio_window") {
            // Item 0: no window yet; items 1 and 2: one each; the flush line.
            assert_eq!(lines.len(), 4);
            assert_eq!(lines[0], "{\"outputs\":{\"out\":[]}}");
        } else {
            assert_eq!(lines.len(), 3, "no flush line without flushed values");
        }
    }
}

#[test]
fn stream_bad_lines_end_the_session_after_the_earlier_results() {
    let out = stream("examples/manifests/multiply_add.json", "3\n\n[1,\n4\n");
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stdout_lines(&out), ["{\"outputs\":{\"out\":[7]}}"]);
    assert_eq!(
        stderr_first_line(&out),
        "error: invalid inputs: line 3: not valid JSON: EOF while parsing a value at line 1 column 3"
    );
    let out = stream(
        "examples/manifests/multiply_add.json",
        "{\"$f64\": \"nan\"}\n",
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(
        stderr_first_line(&out),
        "error: invalid inputs: line 1: item.$f64: expected \"NaN\", \"inf\" or \"-inf\", got string \"nan\""
    );
    // A last line without its newline is not run.
    let out = stream("examples/manifests/multiply_add.json", "3\n4");
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stdout_lines(&out), ["{\"outputs\":{\"out\":[7]}}"]);
    assert_eq!(
        stderr_first_line(&out),
        "error: invalid inputs: line 2: the input ended in the middle of a line"
    );
    let out = run_in(
        &root(),
        &["stream", "examples/manifests/multiply_add.json"],
        Some("1\n\u{fffd}\n"),
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr_first_line(&out).starts_with("error: invalid inputs: line 2: not valid JSON: "));
}

#[test]
fn stream_node_error_keeps_the_earlier_lines() {
    let out = stream("examples/manifests/multiply_add.json", "1\n2\n\"x\"\n3\n");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        stdout_lines(&out),
        ["{\"outputs\":{\"out\":[3]}}", "{\"outputs\":{\"out\":[5]}}"]
    );
    assert_eq!(
        stderr_first_line(&out),
        "error: node 'double' (Multiply) failed on item 2: Multiply expects numbers or audio, got string"
    );
    // An error during the flush at the end.
    let dir = root().join("tests/bad_manifests");
    let out = run_in(
        &dir,
        &["stream", "python_fails_at_the_end.json"],
        Some("null\nnull\nnull\n"),
    );
    if cfg!(feature = "python") {
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(stdout_lines(&out).len(), 3);
        assert_eq!(
            stderr_first_line(&out),
            "error: node 'p' (Python) failed at the end of the input: ValueError: short window: 80 frames"
        );
    }
}

#[test]
fn stream_answers_each_line_before_the_next_arrives() {
    use std::io::{BufRead, BufReader};
    let mut child = bin()
        .args(["stream", "examples/manifests/multiply_add.json"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for (item, want) in [("3", "[7]"), ("0.5", "[2.0]"), ("-1", "[-1]")] {
        writeln!(stdin, "{item}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line, format!("{{\"outputs\":{{\"out\":{want}}}}}\n"));
    }
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[cfg(feature = "python")]
#[test]
fn stream_python_print_goes_to_stderr() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stream_print");
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("m.json");
    std::fs::write(
        &manifest,
        json!({"version": 1, "nodes": [{"id": "p", "type": "Python", "params": {"class": "P",
            "source": "class P:\n    def process(self, x):\n        print('saw', x)\n        return x * 2\n"}}]})
        .to_string(),
    )
    .unwrap();
    let out = run_in(&dir, &["stream", "m.json"], Some("1\n2\n"));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout_lines(&out),
        ["{\"outputs\":{\"p\":[2]}}", "{\"outputs\":{\"p\":[4]}}"]
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "saw 1\nsaw 2\n");
}

#[test]
fn stream_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["stream"], "error: 'stream' needs a manifest file (or '-' for stdin) (try 'pipeline_executor --help')"),
        (&["stream", "-"], "error: 'stream' reads its items from stdin: give the manifest as a file, not '-' (try 'pipeline_executor --help')"),
        (&["stream", "examples/manifests/multiply_add.json", "--input", "x.json"], "error: 'stream' reads its items from stdin, one per line: --input is not accepted (try 'pipeline_executor --help')"),
        (&["stream", "examples/manifests/multiply_add.json", "--json"], "error: unknown option '--json' (try 'pipeline_executor --help')"),
        (&["stream", "missing.json"], "error: cannot read manifest 'missing.json': file not found"),
        (&["validate", "examples/manifests/multiply_add.json", "--input", "x.json"], "error: 'validate' takes only a manifest (and --json, --load) (try 'pipeline_executor --help')"),
        (&["run", "examples/manifests/multiply_add.json", "--load"], "error: unknown option '--load' (try 'pipeline_executor --help')"),
    ];
    for (args, msg) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr_first_line(&out), *msg, "{args:?}");
        assert!(out.stdout.is_empty());
    }
    // A bad manifest or a node that cannot start: as `run` says it.
    let out = run_in(
        &root(),
        &["stream", "tests/bad_manifests/cycle.json"],
        Some("1\n"),
    );
    let ran = run(&["run", "tests/bad_manifests/cycle.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr_first_line(&out), stderr_first_line(&ran));
}

#[test]
fn validate_json_lists_the_files_params_name() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("validate_json");
    std::fs::create_dir_all(&dir).unwrap();
    let mut nodes = vec![
        json!({"id": "read", "type": "MediaReader", "params": {"path": "audio/in.wav"}}),
        json!({"id": "any", "type": "MediaReader"}),
        json!({"id": "out", "type": "Output"}),
    ];
    if cfg!(feature = "python") {
        nodes.insert(1, json!({"id": "py", "type": "Python", "params": {"module_path": "../py/node.py", "class": "N"}}));
        nodes.insert(2, json!({"id": "inline", "type": "Python", "params": {"source": "class N: pass", "class": "N"}}));
    }
    let manifest =
        json!({"version": 1, "nodes": nodes, "connections": [{"from": "read", "to": "out"}]});
    std::fs::write(dir.join("m.json"), manifest.to_string()).unwrap();
    let out = run_in(&dir, &["validate", "m.json", "--json"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let n = if cfg!(feature = "python") { 5 } else { 3 };
    let mut files =
        vec![r#"{"node":"read","type":"MediaReader","param":"path","path":"audio/in.wav"}"#];
    if cfg!(feature = "python") {
        files.push(r#"{"node":"py","type":"Python","param":"module_path","path":"../py/node.py"}"#);
    }
    assert_eq!(
        text,
        format!(
            "{{\"ok\":true,\"nodes\":{n},\"connections\":1,\"files\":[{}]}}\n",
            files.join(",")
        )
    );
    // Without --json: the text stays as it was.
    let out = run(&["validate", "examples/manifests/multiply_add.json"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok: valid manifest (3 nodes, 2 connections)\n"
    );
    let out = run(&["validate", "--json", "examples/manifests/multiply_add.json"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"ok\":true,\"nodes\":3,\"connections\":2,\"files\":[]}\n"
    );
    // Errors are as without --json: nothing on stdout.
    let out = run(&["validate", "tests/bad_manifests/cycle.json", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn validate_load_starts_every_node_like_run() {
    let out = run(&[
        "validate",
        "examples/manifests/fan_out_fan_in.json",
        "--load",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok: valid manifest (6 nodes, 7 connections); every node started\n"
    );
    let out = run(&[
        "validate",
        "examples/manifests/fan_out_fan_in.json",
        "--load",
        "--json",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"ok\":true,\"nodes\":6,\"connections\":7,\"files\":[],\"loaded\":true}\n"
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("validate_load");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cases = vec![json!({"version": 1, "nodes": [
        {"id": "read", "type": "MediaReader", "params": {"path": "missing.wav"}}], "inputs": [null]})];
    if cfg!(feature = "python") {
        cases.push(json!({"version": 1, "nodes": [
            {"id": "p", "type": "Python", "params": {"module_path": "missing.py", "class": "C"}}], "inputs": [1]}));
        cases.push(json!({"version": 1, "nodes": [
            {"id": "p", "type": "Python", "params": {"source": "class C:\n    def __init__(self):\n        raise ValueError('no')\n    def process(self, x):\n        return x\n", "class": "C"}}], "inputs": [1]}));
    }
    for (i, manifest) in cases.iter().enumerate() {
        let name = format!("m{i}.json");
        std::fs::write(dir.join(&name), manifest.to_string()).unwrap();
        // Plain validate runs nothing: fine.
        let plain = run_in(&dir, &["validate", &name], None);
        assert_eq!(plain.status.code(), Some(0), "{manifest}");
        let ran = run_in(&dir, &["run", &name], None);
        let loaded = run_in(&dir, &["validate", &name, "--load"], None);
        assert_eq!(ran.status.code(), Some(3), "{manifest}");
        assert_eq!(loaded.status.code(), Some(3), "{manifest}");
        assert_eq!(loaded.stderr, ran.stderr, "{manifest}");
        assert!(loaded.stdout.is_empty());
        assert!(
            stderr_first_line(&loaded).contains("failed to initialise"),
            "{manifest}"
        );
    }
}
