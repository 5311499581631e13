"""nox sessions: one per phase. Each is a thin call into ``python -m rmbuild``;
the logic lives in the ``rmbuild`` package. Python tools come from the
dependency groups in pyproject.toml (the one place their versions are pinned).

    nox -l                 list the sessions
    nox -s main            build everything (the main job)
    nox -s tests           build what the tests need, run them
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["main"]
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _rmbuild(session: nox.Session, command: str, *groups: str) -> None:
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))
    session.run("python", "-m", "rmbuild", command, *session.posargs)


@nox.session
def doctor(session: nox.Session) -> None:
    """Report every tool (version, origin); install the missing ones."""
    _rmbuild(session, "doctor", "build", "lint")


@nox.session(venv_backend="none")
def fetch(session: nox.Session) -> None:
    """Download, verify and extract every locked artifact into the cache."""
    _rmbuild(session, "fetch")


@nox.session(venv_backend="none")
def native_build(session: nox.Session) -> None:
    """Build the native runtime (pipeline_executor)."""
    _rmbuild(session, "native-build")


@nox.session
def wasm_build(session: nox.Session) -> None:
    """Build pipeline_executor_wasm (CPython inside) and smoke-test it in wasmtime."""
    _rmbuild(session, "wasm-build", "build")


@nox.session
def wasm_bench(session: nox.Session) -> None:
    """Benchmark the wasm runtime against native: reports/wasm_bench.json."""
    _rmbuild(session, "wasm-bench", "bench")


@nox.session
def whisper_build(session: nox.Session) -> None:
    """Build whisper.cpp natively and for wasm32-wasi; convert and quantize the model."""
    _rmbuild(session, "whisper-build", "bench")


@nox.session
def whisper_bench(session: nox.Session) -> None:
    """Transcribe with native and wasm whisper: reports/whisper_bench.{json,png}."""
    _rmbuild(session, "whisper-bench", "bench")


@nox.session
def parity(session: nox.Session) -> None:
    """Run the manifest corpus natively and in wasm, byte for byte (`-- --full`: 1,200 generated)."""
    _rmbuild(session, "parity", "test")


@nox.session
def bundle(session: nox.Session) -> None:
    """Assemble the .rmpkg bundles of the demo pipelines."""
    _rmbuild(session, "bundle", "build")


@nox.session
def browser(session: nox.Session) -> None:
    """Test the browser demo in Debian Chromium, both WASI backends."""
    _rmbuild(session, "browser", "test")


@nox.session
def demo(session: nox.Session) -> None:
    """Serve the browser demo on 127.0.0.1."""
    _rmbuild(session, "demo", "build")


@nox.session
def wheels(session: nox.Session) -> None:
    """Build the Python wheel with maturin and test it in a fresh venv."""
    _rmbuild(session, "wheels", "wheels")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, cargo fmt and clippy, the TypeScript type check, actionlint."""
    _rmbuild(session, "lint", "lint")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite: cargo test and pytest (including a seeded parity subset)."""
    _rmbuild(session, "test", "test")


@nox.session
def main(session: nox.Session) -> None:
    """The main job: every build phase, then the bundles."""
    _rmbuild(session, "main", "bench")
