"""The same pipeline_executor_wasm module under Node's node:wasi (rmbuild/run/node_wasi_runner.mjs).

Node is a tool of the wasm phase (``nox -s doctor``): a missing node fails these
tests rather than skipping them.
"""

from __future__ import annotations

import subprocess

import pytest

from rmbuild.build import native as native_build
from rmbuild.build.wasm import module as wasm_module
from rmbuild.core import paths
from rmbuild.run import executor, wasi

EXAMPLES = paths.EXAMPLES_DIR
MANIFESTS = paths.EXAMPLE_MANIFESTS


@pytest.fixture(scope="session")
def node() -> executor.Node:
    return executor.Node(wasm_module.layout())


@pytest.fixture(scope="session")
def native() -> executor.Native:
    return native_build.host()


def test_node_is_new_enough():
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    major = int(out.strip().lstrip("v").split(".")[0])
    assert major >= 20, f"node:wasi preview1 with getImportObject needs Node 20+, found {out.strip()}"


@pytest.mark.parametrize("name", ["multiply_add", "python_node", "python_inline"])
def test_node_output_matches_native(node, native, name):
    args = executor.run_args(MANIFESTS / f"{name}.json", compact=False)
    expected = native.run(args, timeout=120)
    assert expected.exit_code == 0, expected.error_text
    result = node.run(args, dirs=(EXAMPLES,), timeout=120)
    assert result.trap is None, result.error_text
    assert result.streams == (0, expected.stdout, expected.stderr)


def test_node_bad_manifest_exit_code_and_message(node, native):
    text = b'{"version": 1, "nodes": [{"id": "a", "type": "Nope"}], "connections": []}'
    expected = native.run(["run", "-"], stdin=text, timeout=60)
    result = node.run(["run", "-"], stdin=text, timeout=120)
    assert expected.exit_code == 2
    assert result.streams == (2, expected.stdout, expected.stderr)


def test_node_python_node_error_is_exit_3(node):
    manifest = (
        b'{"version": 1, "nodes": [{"id": "p", "type": "Python", "params": {"class": "P", "source": '
        b"\"class P:\\n    def process(self, x):\\n        return open('/etc/passwd').read()\\n\"}},"
        b'{"id": "o", "type": "Output"}], "connections": [{"from": "p", "to": "o"}], "inputs": [1]}'
    )
    result = node.run(["run", "-"], stdin=manifest, timeout=120)
    text = result.error_text
    assert result.exit_code == 3, text
    assert text.startswith("error: ") and ("FileNotFoundError" in text or "PermissionError" in text), text


def test_node_runner_reports_a_missing_module(tmp_path):
    result = wasi.run_node(tmp_path / "missing.wasm", [])
    assert result.exit_code == 1
    assert b"cannot read" in result.stderr


def test_whisper_under_node_wasi_like_wasmtime(tmp_path):
    """whisper.cpp grows the module's memory many times: under node:wasi that crashed V8
    while it marked the heap incrementally (SIGSEGV nearly every run) until the runner
    turned incremental marking off. Two runs, both equal to wasmtime's."""
    from rmbuild.build import whisper
    from rmbuild.checks import whisper_pipeline as wp

    manifest = wp.write_manifest(tmp_path, whisper.models()["q5_1"])
    layout = wasm_module.layout()
    want = wp.run(executor.Wasmtime(layout), manifest, [whisper.jfk_wav()])
    assert want.exit_code == 0, want.error_text
    for _ in range(2):
        got = wp.run(executor.Node(layout), manifest, [whisper.jfk_wav()])
        assert got.streams == want.streams
