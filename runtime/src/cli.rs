//! The `pipeline_executor` command line, as a library function so that the
//! native binary and the wasm binary share one implementation, one set of
//! messages and one exit-code contract.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{describe_io_error, Error, Result, EXIT_CODES};
use crate::manifest::{parse_inputs, Manifest};
use crate::registry::Registry;
use crate::Pipeline;

/// Program name used in messages (fixed, so messages do not depend on how
/// the binary was invoked or on the target).
pub const PROGRAM: &str = "pipeline_executor";

fn help_text(registry: &Registry) -> String {
    let mut s = format!(
        "{PROGRAM} {version} - run media pipelines described by a JSON manifest

USAGE:
    {PROGRAM} run <MANIFEST> [--input <INPUTS>] [--compact]
    {PROGRAM} validate <MANIFEST>
    {PROGRAM} schema
    {PROGRAM} exit-codes [--json]
    {PROGRAM} --help | --version

COMMANDS:
    run        Validate the manifest, stream every input item through the graph
               and print the results as JSON on stdout:
               {{\"outputs\": {{\"<output node id>\": [value per item, ...]}}}}
    validate   Check the manifest (structure, node types, params, graph, inputs)
               without running anything.
    schema     Print the manifest JSON Schema.
    exit-codes Print the exit-code table (--json: as a JSON array of
               {{\"code\", \"kind\", \"meaning\"}} sorted by code).

ARGUMENTS:
    <MANIFEST>          Manifest file, or '-' to read it from stdin. Relative paths
                        inside it (module_path, MediaReader path) are resolved
                        against the manifest's directory.
    --input <INPUTS>    JSON array of input items (file, or '-' for stdin). Replaces
                        the manifest's own \"inputs\".
    --compact           Print results on one line instead of indented.

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
    /// `--json` (accepted by `exit-codes` only).
    json: bool,
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
            "--json" if opts.command == "exit-codes" => opts.json = true,
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
        stdin.read_to_string(&mut s).map_err(|e| {
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

fn execute(
    opts: &Options,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    registry: &Registry,
) -> Result<()> {
    let write = |out: &mut dyn Write, text: &str| -> Result<()> {
        out.write_all(text.as_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| Error::io(format!("cannot write to stdout: {}", describe_io_error(&e))))
    };
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
            #[cfg(feature = "python")]
            if manifest.nodes.iter().any(|n| n.node_type == "Python") {
                // Keep stdout for the JSON results: print() goes to stderr.
                // (Only recorded here; applied when a Python node starts the
                // interpreter, so an embedding can still refuse Python nodes
                // before anything initialises CPython.)
                crate::python::redirect_stdout_to_stderr()?;
            }
            let mut pipeline = Pipeline::new(&manifest, registry, base_dir)?;
            let output = pipeline.run(items)?;
            let text = if opts.compact {
                let mut s = serde_json::to_string(&output.to_json()).unwrap_or_default();
                s.push('\n');
                s
            } else {
                output.to_json_pretty()
            };
            write(stdout, &text)
        }
        "validate" => {
            if opts.input.is_some() || opts.compact {
                return Err(usage_err("'validate' takes only a manifest"));
            }
            let (manifest, _) = load_manifest(&need_manifest()?, stdin, registry)?;
            manifest.input_values()?;
            write(
                stdout,
                &format!(
                    "ok: valid manifest ({} nodes, {} connections)\n",
                    manifest.nodes.len(),
                    manifest.connections.len()
                ),
            )
        }
        "schema" => {
            if opts.manifest.is_some() || opts.input.is_some() || opts.compact {
                return Err(usage_err("'schema' takes no arguments"));
            }
            write(stdout, &crate::schema::manifest_schema_pretty(registry))
        }
        "exit-codes" => {
            if opts.manifest.is_some() || opts.input.is_some() || opts.compact {
                return Err(usage_err(
                    "'exit-codes' takes no arguments other than --json",
                ));
            }
            write(stdout, &exit_codes_text(opts.json))
        }
        other => Err(usage_err(format!("unknown command '{other}'"))),
    }
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
