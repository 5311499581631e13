"""The one phase table. The nox sessions (noxfile.py), the ``python -m rmbuild``
subcommands (cli.py) and the invoke tasks (tasks.py) are all made from it, and a test
checks that the README's session table and the CI matrix name every phase.

Standard library only: noxfile.py imports it before any venv exists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Arg:
    """An argument of a phase, for argparse and invoke alike.

    ``kind``: ``flag`` (``--name``, on/off), ``value`` (``--name VALUE``), ``choice``
    (``--name`` one of ``choices``) or ``rest`` (positional arguments, any number)."""

    name: str
    help: str
    kind: str = "flag"
    choices: tuple[str, ...] = ()
    metavar: str = "ARG"
    short: str = ""  # e.g. "-o"
    default: str = ""  # of a value or choice


@dataclass(frozen=True)
class Step:
    """A finer piece of a phase, run on its own as an invoke task (``./inv lint.ruff``)."""

    name: str
    help: str
    target: str


@dataclass(frozen=True)
class Phase:
    name: str  # the subcommand; the nox session is the same with _ for -
    help: str
    target: str  # "module:function" inside rmbuild, called with the parsed arguments
    groups: tuple[str, ...] = ()  # pyproject.toml dependency groups of its venv; none: no venv
    args: tuple[Arg, ...] = ()
    task: str = ""  # invoke task "collection.name" (default: the phase name)
    in_main: bool = False  # part of the main job, in table order
    ci: str | None = "phase"  # the CI job that runs it (.github/workflows/ci.yml), or None ...
    not_in_ci: str = ""  # ... and why
    steps: tuple[Step, ...] = ()

    @property
    def session(self) -> str:
        return self.name.replace("-", "_")


FULL = "full"
EXTRA = "extra"


def full(meaning: str) -> Arg:
    return Arg(FULL, meaning)


def extra(meaning: str, metavar: str = "ARG") -> Arg:
    return Arg(EXTRA, meaning, kind="rest", metavar=metavar)


PHASES: tuple[Phase, ...] = (
    Phase(
        "doctor",
        "report every tool with its version and origin; install what is missing",
        "core.toolchains:doctor_command",
        groups=("build", "lint"),
        args=(
            Arg("no-install", "only report, install nothing"),
            Arg("group", "only the tools of one part", "choice", ("native", "wasm", "whisper", "browser", "lint")),
            Arg("strict", "exit 1 if anything is missing"),
        ),
        ci=None,
        not_in_ci="every CI job installs what its phase needs itself",
    ),
    Phase(
        "fetch",
        "download, verify and extract every locked artifact into the cache",
        "core.artifacts:fetch_command",
        args=(extra("artifact names from artifacts.lock.toml (default: all)", "NAME"),),
        ci=None,
        not_in_ci="every phase fetches the artifacts it needs",
    ),
    Phase(
        "native-build",
        "build the native runtime (pipeline_executor; the Whisper node builds whisper.cpp natively first)",
        "build.native:build",
        task="native.build",
        in_main=True,
    ),
    Phase(
        "wasm-build",
        "build pipeline_executor_wasm with CPython inside; smoke-test it in wasmtime",
        "build.wasm.module:build",
        groups=("build",),
        task="wasm.build",
        in_main=True,
    ),
    Phase(
        "whisper-build",
        "build whisper.cpp natively and for wasm32-wasi; convert and quantize the model",
        "build.whisper:build",
        groups=("bench",),
        task="whisper.build",
        in_main=True,
    ),
    Phase(
        "bundle",
        "assemble the .rmpkg bundles of the demo pipelines (multiply-add, python-node, whisper)",
        "build.pack.bundle:build_all",
        groups=("build",),
        args=(extra("bundle names (default: all)", "NAME"),),
        task="package.bundle",
        in_main=True,
    ),
    Phase(
        "pack",
        "pack a pipeline project (its rmpkg.toml) into a checked, reproducible .rmpkg",
        "build.pack.bundle:pack",
        groups=("build",),
        args=(
            extra("the project's pack spec (rmpkg.toml), relative to where you are", "SPEC"),
            Arg(
                "output", "where to write the bundle (default: ./NAME.rmpkg)", "value", metavar="OUT.rmpkg", short="-o"
            ),
            Arg(
                "max-size",
                "refuse a bundle larger than this (e.g. 20MiB; default: the spec's max_size)",
                "value",
                metavar="SIZE",
            ),
            Arg("locked", "fail if rmpkg.lock is missing or stale instead of resolving the requirements again"),
        ),
        ci=None,
        not_in_ci="it needs a project: the tests pack the starter project and the demo specs",
    ),
    Phase(
        "run",
        "run a pipeline of a .rmpkg in wasmtime or node:wasi: the stdout, stderr and exit code of native `run`",
        "run.bundles:run_command",
        groups=("build",),
        args=(
            extra("the bundle", "BUNDLE"),
            Arg("pipeline", "which pipeline (default: the bundle's default)", "value", metavar="NAME"),
            Arg("input", "input items: a JSON file (relative to where you are) or - for stdin", "value", metavar="F"),
            Arg("host", "the WASI host", "choice", ("wasmtime", "node"), default="wasmtime"),
            Arg("compact", "print the results on one line (as the browser runner asks)"),
            Arg("stream", "a session: one JSON item per stdin line, one result line per item as it is done"),
            Arg(
                "timeout", "seconds before the run is stopped (default 600; with --stream a day)", "value", metavar="S"
            ),
        ),
        ci=None,
        not_in_ci="it needs a bundle: the tests run the starter's and the demo bundles with it",
    ),
    Phase(
        "new",
        "start a pipeline project: a manifest, a Python node with a requirement, rmpkg.toml, a web page",
        "build.pack.starter:new",
        args=(extra("the folder to create", "DIR"),),
        ci=None,
        not_in_ci="the tests create a project with it and pack, run and browse it",
    ),
    Phase(
        "parity",
        "run the manifest corpus natively and in wasm; compare outputs byte for byte",
        "checks.parity:run",
        groups=("test",),
        args=(full("1,200 generated manifests instead of 150"), extra("seed=N: another seed for the generated ones")),
        task="wasm.parity",
    ),
    Phase(
        "hosts",
        "the packed runner on Node 20 and 22, Deno, Bun and workerd: every example and demo pipeline like native",
        "checks.hosts:run",
        groups=("build",),
        args=(extra("host names (default: all): node20 node22 deno bun workerd", "HOST"),),
    ),
    Phase(
        "stdlib-tests",
        "CPython's own test suite (~60 modules) in the wasm runtime and natively: reports/stdlib_tests.{json,md}",
        "checks.stdlib_tests:run",
        groups=("test",),
        args=(extra("test module names (default: all of stdlib_tests.MODULES)", "MODULE"),),
        task="wasm.stdlib_tests",
    ),
    Phase(
        "numpy-tests",
        "numpy's own test suite (core, fft, linalg, random, lib) in the wasm runtime and natively: "
        "reports/numpy_tests.{json,md}",
        "checks.numpy_tests:run",
        groups=("test",),
        args=(extra("test modules (default: numpy_tests.MODULES), e.g. numpy.fft.tests.test_helper", "MODULE"),),
        task="wasm.numpy_tests",
    ),
    Phase(
        "wasm-bench",
        "size, start-up and per-item cost of wasm vs native: reports/wasm_bench.json",
        "checks.wasm_bench:run",
        groups=("bench",),
        args=(full("more repetitions and items"),),
        task="wasm.bench",
        ci="benchmarks",
    ),
    Phase(
        "whisper-bench",
        "native vs wasm transcription, bare CLI and the full pipeline: reports/whisper_bench.{json,png}",
        "checks.whisper_bench:run",
        groups=("bench",),
        args=(full("3 runs per measurement, fastest kept"),),
        task="whisper.bench",
        ci="benchmarks",
    ),
    Phase(
        "sessions-bench",
        "per-item latency one-shot vs session on every host, live captions, memory: reports/sessions_bench.{json,png}",
        "checks.sessions_bench:run",
        groups=("bench",),
        args=(
            full("more items and repetitions"),
            Arg(
                "start-only",
                "only the reactor's start, plain vs pre-initialised, wasmtime and Chromium: "
                "reports/sessions_bench_start.json",
            ),
        ),
        task="sessions.bench",
        ci="benchmarks",
    ),
    Phase(
        "numpy-bench",
        "a Python gain + biquad over 60 s of 16 kHz audio, list samples vs numpy, native vs wasmtime vs Chromium, "
        "the list node in Pyodide (Node, Chromium); module and bundle size with and without numpy, Pyodide's "
        "download: reports/numpy_bench.{json,png}",
        "checks.numpy_bench:run",
        groups=("bench",),
        task="numpy.bench",
        ci="benchmarks",
    ),
    Phase(
        "peers-bench",
        "our Whisper and Python nodes against faster-whisper, whisper.cpp's emscripten build and Pyodide: "
        "reports/peers_bench.{json,png}",
        "checks.peers_bench:run",
        groups=("peers",),
        args=(full("3 runs per measurement, fastest kept"),),
        ci="benchmarks",
        steps=(
            Step("speech", "only the speech part: reports/peers_speech.json", "checks.peers_bench:speech"),
            Step("python", "only the Python part: reports/peers_python.json", "checks.peers_bench:python"),
            Step(
                "emscripten",
                "only build whisper.cpp's emscripten example (Debian emscripten)",
                "checks.peers_bench:emscripten_build_command",
            ),
        ),
    ),
    Phase(
        "browser",
        "run every demo pipeline in Chromium, Firefox ESR and WebKitGTK with each WASI backend the engine can run",
        "checks.browser:test",
        groups=("test",),
        task="browser.test",
    ),
    Phase(
        "demo",
        "serve the browser demo on 127.0.0.1",
        "checks.browser:serve",
        groups=("build",),
        args=(extra("plain: without COOP/COEP headers (like GitHub Pages); build: only build the site"),),
        task="browser.serve",
        ci=None,
        not_in_ci="it serves until stopped; the pages workflow builds the site with `demo -- build`",
    ),
    Phase(
        "wheels",
        "build the Python wheel with maturin and test it in a fresh venv",
        "checks.wheels:build_and_test",
        groups=("wheels",),
        args=(full("the full parity corpus"), extra("pytest arguments")),
        task="package.wheels",
        ci=None,
        not_in_ci="the wheels workflow builds and tests it (.github/workflows/wheels.yml)",
    ),
    Phase(
        "lint",
        "ruff, cargo fmt and clippy, the TypeScript check, actionlint",
        "checks.lint:run",
        groups=("lint",),
        ci="lint",
        steps=(
            Step("ruff", "ruff check and ruff format --check", "checks.lint:ruff"),
            Step("rust", "cargo fmt --check and cargo clippy -D warnings", "checks.lint:rust"),
            Step("typescript", "the TypeScript type check of browser-demo/", "checks.lint:typescript"),
            Step("workflows", "actionlint on .github/workflows", "checks.lint:workflows"),
        ),
    ),
    Phase(
        "tests",
        "the test suite: cargo test for the runtime, then pytest (builds what it needs)",
        "checks.testing:run",
        groups=("test",),
        args=(extra("pytest arguments"),),
        steps=(
            Step("rust", "cargo test in runtime/", "checks.testing:rust_tests"),
            Step("python", "pytest (pass arguments with --extra)", "checks.testing:python_tests"),
        ),
    ),
    Phase(
        "main",
        "the main job: every build phase in order, then the bundles",
        "cli:main_job",
        groups=("bench",),
        ci=None,
        not_in_ci="CI runs its phases as jobs of their own",
    ),
)

MAIN = tuple(p for p in PHASES if p.in_main)


def by_name(name: str) -> Phase:
    for phase in PHASES:
        if name in (phase.name, phase.session):
            return phase
    raise KeyError(name)
