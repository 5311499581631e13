//! The `pipeline_executor` command line, as a library function so that the
//! native binary and the wasm binary share one implementation, one set of
//! messages and one exit-code contract.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{describe_io_error, Error, Result, EXIT_CODES};
use crate::manifest::{parse_inputs, Manifest};
use crate::registry::Registry;
use crate::session::{parse_item, Session, SessionOptions};
use crate::stdio::{RetryReader, RetryWriter};
use crate::Pipeline;

/// Program name used in messages (fixed, so messages do not depend on how
/// the binary was invoked or on the target).
pub const PROGRAM: &str = "pipeline_executor";

fn help_text(registry: &Registry) -> String {
    let mut s = format!(
        "{PROGRAM} {version} - run media pipelines described by a JSON manifest

USAGE:
    {PROGRAM} run <MANIFEST> [--input <INPUTS>] [--compact]
    {PROGRAM} stream <MANIFEST>
    {PROGRAM} validate <MANIFEST> [--json] [--load]
    {PROGRAM} schema
    {PROGRAM} exit-codes [--json]
    {PROGRAM} --help | --version

COMMANDS:
    run        Validate the manifest, stream every input item through the graph
               and print the results as JSON on stdout:
               {{\"outputs\": {{\"<output node id>\": [values, ...]}}}}
    stream     Open the pipeline once, then read one JSON item per line from
               stdin and write one compact result line per item as soon as it is
               done: {{\"outputs\": {{\"<output node id>\": [values of this item]}}}}.
               Blank lines are skipped. At the end of stdin the nodes are flushed;
               if that produces values, one more line carries them. A last line
               without a newline is an error (exit 4), as is a malformed line
               (the lines before it have been written).
    validate   Check the manifest (structure, node types, params, graph, inputs)
               without running anything.
               --json  print one JSON line: {{\"ok\", \"nodes\", \"connections\",
                       \"files\": [{{\"node\", \"type\", \"param\", \"path\"}}]}}
               --load  also start every node (import Python modules, load models,
                       open files) as 'run' does, then stop: start-up failures
                       exit 3 with run's message.
    schema     Print the manifest JSON Schema.
    exit-codes Print the exit-code table (--json: as a JSON array of
               {{\"code\", \"kind\", \"meaning\"}} sorted by code).

ARGUMENTS:
    <MANIFEST>          Manifest file, or '-' to read it from stdin (not for
                        'stream', whose stdin carries the items). Relative paths
                        inside it (module_path, MediaReader path, Whisper model)
                        are resolved against the manifest's directory.
    --input <INPUTS>    JSON array of input items (file, or '-' for stdin). Replaces
                        the manifest's own \"inputs\". 'run' only.
    --compact           Print results on one line instead of indented ('stream'
                        accepts it; its lines are always compact).

EXIT CODES:
",
        version = env!("CARGO_PKG_VERSION")
    );
    for e in &EXIT_CODES {
        s.push_str(&format!("    {}  {}\n", e.code, e.meaning));
    }
    s.push_str("\nNODE TYPES:\n");
    for kind in registry.kinds() {
        s.push_str(&format!("    {:<12} {}\n", kind.name(), kind.description()));
    }
    s.push_str("\nErrors go to stderr; the first line is always 'error: <message>'.\n");
    s
}

struct Options {
    command: String,
    manifest: Option<String>,
    input: Option<String>,
    compact: bool,
    /// `--json` (accepted by `exit-codes` and `validate`).
    json: bool,
    /// `--load` (accepted by `validate`).
    load: bool,
}

/// `exit-codes`: the table as text (aligned columns) or as JSON.
fn exit_codes_text(json: bool) -> String {
    if json {
        // One row per line: `{"code": N, "kind": "...", "meaning": "..."}`.
        let text = |t: &str| serde_json::Value::from(t).to_string();
        let rows: Vec<String> = EXIT_CODES
            .iter()
            .map(|e| {
                format!(
                    "  {{\"code\": {}, \"kind\": {}, \"meaning\": {}}}",
                    e.code,
                    text(e.kind),
                    text(e.meaning)
                )
            })
            .collect();
        return format!("[\n{}\n]\n", rows.join(",\n"));
    }
    let width = EXIT_CODES
        .iter()
        .map(|e| e.kind.len())
        .max()
        .unwrap_or(0)
        .max("kind".len());
    let mut s = format!("code  {:<width$}  meaning\n", "kind");
    for e in &EXIT_CODES {
        s.push_str(&format!(
            "{:<4}  {:<width$}  {}\n",
            e.code, e.kind, e.meaning
        ));
    }
    s
}

fn usage_err(msg: impl std::fmt::Display) -> Error {
    Error::usage(format!("{msg} (try '{PROGRAM} --help')"))
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut it = args.iter().skip(1);
    let command = it
        .next()
        .ok_or_else(|| usage_err("missing command"))?
        .clone();
    let mut opts = Options {
        command,
        manifest: None,
        input: None,
        compact: false,
        json: false,
        load: false,
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--input" | "-i" => {
                let v = it
                    .next()
                    .ok_or_else(|| usage_err("--input needs a file name (or '-')"))?;
                if opts.input.replace(v.clone()).is_some() {
                    return Err(usage_err("--input given twice"));
                }
            }
            "--compact" => opts.compact = true,
            "--json" if matches!(opts.command.as_str(), "exit-codes" | "validate") => {
                opts.json = true
            }
            "--load" if opts.command == "validate" => opts.load = true,
            s if s.starts_with("--input=") => {
                if opts
                    .input
                    .replace(s["--input=".len()..].to_string())
                    .is_some()
                {
                    return Err(usage_err("--input given twice"));
                }
            }
            s if s.starts_with('-') && s != "-" => {
                return Err(usage_err(format!("unknown option '{s}'")))
            }
            s => {
                if opts.manifest.is_some() {
                    return Err(usage_err(format!("unexpected argument '{s}'")));
                }
                opts.manifest = Some(s.to_string());
            }
        }
    }
    Ok(opts)
}

fn read_source(name: &str, what: &str, stdin: &mut dyn Read) -> Result<String> {
    if name == "-" {
        let mut s = String::new();
        RetryReader::new(stdin)
            .read_to_string(&mut s)
            .map_err(|e| {
                Error::io(format!(
                    "cannot read {what} from stdin: {}",
                    describe_io_error(&e)
                ))
            })?;
        Ok(s)
    } else {
        std::fs::read_to_string(name).map_err(|e| {
            Error::io(format!(
                "cannot read {what} '{name}': {}",
                describe_io_error(&e)
            ))
        })
    }
}

/// Load and validate the manifest named on the command line.
fn load_manifest(
    name: &str,
    stdin: &mut dyn Read,
    registry: &Registry,
) -> Result<(Manifest, Option<PathBuf>)> {
    let text = read_source(name, "manifest", stdin)?;
    let manifest = Manifest::parse(&text, registry)?;
    let base_dir = if name == "-" {
        None
    } else {
        Path::new(name).parent().map(Path::to_path_buf)
    };
    Ok((manifest, base_dir))
}

fn write_out(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::io(format!("cannot write to stdout: {}", describe_io_error(&e))))
}

fn execute(
    opts: &Options,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    registry: &Registry,
) -> Result<()> {
    let need_manifest = || {
        opts.manifest.clone().ok_or_else(|| {
            usage_err(format!(
                "'{}' needs a manifest file (or '-' for stdin)",
                opts.command
            ))
        })
    };
    match opts.command.as_str() {
        "run" => {
            let name = need_manifest()?;
            if name == "-" && opts.input.as_deref() == Some("-") {
                return Err(usage_err(
                    "the manifest and --input cannot both be read from stdin",
                ));
            }
            let (manifest, base_dir) = load_manifest(&name, stdin, registry)?;
            let items = match &opts.input {
                Some(input) => parse_inputs(&read_source(input, "inputs", stdin)?)?,
                None => manifest
                    .input_values()?
                    .ok_or_else(crate::no_inputs_error)?,
            };
            // Keep stdout for the JSON results: print() goes to stderr.
            crate::python_print_to_stderr(&manifest)?;
            let mut pipeline = Pipeline::new(&manifest, registry, base_dir)?;
            let output = pipeline.run(items)?;
            let text = if opts.compact {
                let mut s = output.to_json_compact();
                s.push('\n');
                s
            } else {
                output.to_json_pretty()
            };
            write_out(stdout, &text)
        }
        "stream" => {
            if opts.input.is_some() {
                return Err(usage_err(
                    "'stream' reads its items from stdin, one per line: --input is not accepted",
                ));
            }
            let name = need_manifest()?;
            if name == "-" {
                return Err(usage_err(
                    "'stream' reads its items from stdin: give the manifest as a file, not '-'",
                ));
            }
            let (manifest, base_dir) = load_manifest(&name, stdin, registry)?;
            let options = SessionOptions {
                base_dir,
                python_print_to_stderr: true,
            };
            let mut session = Session::new(&manifest, registry, &options)?;
            stream_lines(&mut session, stdin, stdout)
        }
        "validate" => {
            if opts.input.is_some() || opts.compact {
                return Err(usage_err(
                    "'validate' takes only a manifest (and --json, --load)",
                ));
            }
            let (manifest, base_dir) = load_manifest(&need_manifest()?, stdin, registry)?;
            manifest.input_values()?;
            if opts.load {
                // What `run` does before the first item; nothing runs.
                crate::python_print_to_stderr(&manifest)?;
                drop(Pipeline::new(&manifest, registry, base_dir)?);
            }
            let text = if opts.json {
                validate_json(&manifest, registry, opts.load)
            } else {
                format!(
                    "ok: valid manifest ({} nodes, {} connections){}\n",
                    manifest.nodes.len(),
                    manifest.connections.len(),
                    if opts.load {
                        "; every node started"
                    } else {
                        ""
                    }
                )
            };
            write_out(stdout, &text)
        }
        "schema" => {
            if opts.manifest.is_some() || opts.input.is_some() || opts.compact {
                return Err(usage_err("'schema' takes no arguments"));
            }
            write_out(stdout, &crate::schema::manifest_schema_pretty(registry))
        }
        "exit-codes" => {
            if opts.manifest.is_some() || opts.input.is_some() || opts.compact {
                return Err(usage_err(
                    "'exit-codes' takes no arguments other than --json",
                ));
            }
            write_out(stdout, &exit_codes_text(opts.json))
        }
        other => Err(usage_err(format!("unknown command '{other}'"))),
    }
}

/// `validate --json`: `{"ok":true,"nodes":N,"connections":M,"files":[...]}`
/// (plus `"loaded":true` with `--load`), one line.
fn validate_json(manifest: &Manifest, registry: &Registry, loaded: bool) -> String {
    let mut files = Vec::new();
    for node in &manifest.nodes {
        // Types and params were validated: the kind exists.
        let Some(kind) = registry.get(&node.node_type) else {
            continue;
        };
        for f in kind.files(&serde_json::Value::Object(node.params.clone())) {
            files.push(serde_json::json!({
                "node": node.id,
                "type": node.node_type,
                "param": f.param,
                "path": f.path,
            }));
        }
    }
    let mut doc = serde_json::json!({
        "ok": true,
        "nodes": manifest.nodes.len(),
        "connections": manifest.connections.len(),
        "files": files,
    });
    if loaded {
        doc["loaded"] = serde_json::Value::Bool(true);
    }
    let mut s = doc.to_string();
    s.push('\n');
    s
}

fn line_error(line: usize, why: impl std::fmt::Display) -> Error {
    Error::inputs(format!("invalid inputs: line {line}: {why}"))
}

/// JSON's whitespace (a line of only this is blank).
fn is_blank(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// `stream`: one item per line from stdin, one result line per item on
/// stdout (written and flushed at once), then the flush line if it has
/// values.
fn stream_lines(session: &mut Session, stdin: &mut dyn Read, stdout: &mut dyn Write) -> Result<()> {
    let mut reader = BufReader::new(RetryReader::new(stdin));
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let got = reader.read_until(b'\n', &mut line).map_err(|e| {
            Error::io(format!(
                "cannot read inputs from stdin: {}",
                describe_io_error(&e)
            ))
        })?;
        if got == 0 {
            break;
        }
        number += 1;
        let complete = line.last() == Some(&b'\n');
        if is_blank(&line) {
            if complete {
                continue;
            }
            break; // trailing spaces without a newline: no item lost
        }
        if !complete {
            return Err(line_error(
                number,
                "the input ended in the middle of a line",
            ));
        }
        // Without its line end, so positions in JSON errors are within the line.
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let text = std::str::from_utf8(body).map_err(|_| line_error(number, "not valid UTF-8"))?;
        let item = parse_item(text).map_err(|why| line_error(number, why))?;
        let mut text = session.push(item)?.to_json_compact();
        text.push('\n');
        write_out(stdout, &text)?;
    }
    let rest = session.close()?;
    if !rest.is_empty() {
        let mut text = rest.to_json_compact();
        text.push('\n');
        write_out(stdout, &text)?;
    }
    Ok(())
}

/// Run the CLI. `args` is the full argv (`args[0]`, the program name, is
/// ignored). Returns the process exit code; the caller exits with it.
/// Nothing here calls `std::process::exit` or panics on bad input.
pub fn main_with_args(
    args: &[String],
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    main_with_registry(args, stdin, stdout, stderr, &Registry::with_builtins())
}

/// [`main_with_args`] with a custom node registry (e.g. with extra node
/// types registered by the embedding binary).
pub fn main_with_registry(
    args: &[String],
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    registry: &Registry,
) -> i32 {
    // Output is never lost to a slow reader (a non-blocking pipe under
    // node:wasi): writes that would block are retried.
    let stdout = &mut RetryWriter::new(stdout);
    let stderr = &mut RetryWriter::new(stderr);
    if let Some(first) = args.get(1) {
        match first.as_str() {
            "-h" | "--help" | "help" => {
                let _ = stdout.write_all(help_text(registry).as_bytes());
                let _ = stdout.flush();
                return 0;
            }
            "-V" | "--version" => {
                let _ = writeln!(stdout, "{PROGRAM} {}", env!("CARGO_PKG_VERSION"));
                let _ = stdout.flush();
                return 0;
            }
            _ => {}
        }
    }
    let result = parse_args(args).and_then(|opts| execute(&opts, stdin, stdout, registry));
    match result {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(stderr, "error: {}", e.message());
            let _ = stderr.flush();
            e.exit_code()
        }
    }
}
