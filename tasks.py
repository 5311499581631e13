"""invoke tasks: the same steps as the nox sessions, at finer grain, run in the
current environment (``./inv --list``). Each task is one call into ``rmbuild``.
Tasks that need PyPI tools (zig, wasmtime) expect them installed, as nox does."""

from __future__ import annotations

from invoke import Collection, task

from rmbuild import artifacts, cli, lint, native, testing, toolchains


def _cli(*argv: str) -> None:
    """Run a ``python -m rmbuild`` subcommand in-process; fail like the CLI does."""
    code = cli.main(list(argv))
    if code:
        raise SystemExit(code)


@task
def doctor(c, install=True):
    """Report every tool with its version and origin (--no-install: report only)."""
    toolchains.doctor(install=install)


@task(iterable=["name"])
def fetch(c, name=None):
    """Fetch and verify locked artifacts (-n NAME, repeatable; default all)."""
    _cli("fetch", *(name or []))


@task(name="list")
def artifacts_list(c):
    """List locked artifacts and their cache state."""
    for artifact, state in artifacts.status():
        print(f"{artifact.name:<24} {state}")


@task(name="build")
def native_build(c):
    """Build the native pipeline_executor."""
    print(native.executor_path())


def _phase(command: str, doc: str, name: str, full_help: str | None = None):
    """A task running one phase; with ``full_help``, it has ``--full`` too."""
    if full_help:

        @task(name=name, help={"full": full_help})
        def run_phase(c, full=False):
            _cli(command, *(["--full"] if full else []))

    else:

        @task(name=name)
        def run_phase(c):
            _cli(command)

    run_phase.__doc__ = doc
    return run_phase


@task(name="ruff")
def lint_ruff(c):
    """ruff check and ruff format --check."""
    lint.ruff()


@task(name="rust")
def lint_rust(c):
    """cargo fmt --check and cargo clippy -D warnings."""
    lint.rust()


@task(name="typescript")
def lint_typescript(c):
    """TypeScript type check of browser-demo/."""
    lint.typescript()


@task(name="workflows")
def lint_workflows(c):
    """actionlint on .github/workflows."""
    lint.workflows()


@task(name="rust")
def test_rust(c):
    """cargo test in runtime/."""
    testing.rust_tests()


@task(name="python")
def test_python(c, k=""):
    """pytest (-k EXPRESSION to select)."""
    testing.python_tests(["-k", k] if k else [])


ns = Collection(doctor, fetch)
ns.add_collection(Collection("artifacts", artifacts_list))
ns.add_collection(Collection("native", native_build))
ns.add_collection(
    Collection(
        "wasm",
        _phase("wasm-build", "Build pipeline_executor_wasm and smoke-test it.", "build"),
        _phase("wasm-bench", "Benchmark wasm against native.", "bench", "more repetitions and items"),
        _phase("parity", "Native vs wasm parity over the manifest corpus.", "parity", "the full corpus"),
    )
)
ns.add_collection(
    Collection(
        "whisper",
        _phase("whisper-build", "Build whisper.cpp (native + wasm) and the models.", "build"),
        _phase("whisper-bench", "Benchmark native vs wasm whisper.", "bench", "3 runs each, fastest kept"),
    )
)
ns.add_collection(
    Collection(
        "package",
        _phase("bundle", "Assemble .rmpkg bundles.", "bundle"),
        _phase("wheels", "Build and test the Python wheel.", "wheels", "the full parity corpus"),
    )
)
ns.add_collection(
    Collection(
        "browser",
        _phase("browser", "Test the demo in Chromium.", "test"),
        _phase("demo", "Serve the demo on 127.0.0.1.", "serve"),
    )
)
ns.add_collection(Collection("lint", lint_ruff, lint_rust, lint_typescript, lint_workflows))
ns.add_collection(Collection("test", test_rust, test_python))
