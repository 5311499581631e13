"""The same pipeline_executor_wasm module under Node's node:wasi (rmbuild/node_wasi_runner.mjs).

Node is a tool of the wasm phase (``nox -s doctor``): a missing node fails these
tests rather than skipping them.
"""

from __future__ import annotations

import subprocess

import pytest

from rmbuild import paths, wasi_runner, wasm

EXAMPLES = paths.RUNTIME_DIR / "examples"
MANIFESTS = EXAMPLES / "manifests"


@pytest.fixture(scope="session")
def layout() -> wasm.Layout:
    return wasm.runtime_layout()


@pytest.fixture(scope="session")
def native():
    return wasm.native_executor()


def run_node(layout: wasm.Layout, args: list[str], *, stdin: bytes = b"", dirs=()):
    return wasi_runner.run_node(
        layout.module,
        args,
        preopens={**layout.preopens, **wasm.same_path_preopens(*dirs)},
        env=layout.env,
        stdin=stdin,
        program_name="pipeline_executor_wasm",
        timeout=120,
    )


def test_node_is_new_enough():
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    major = int(out.strip().lstrip("v").split(".")[0])
    assert major >= 20, f"node:wasi preview1 with getImportObject needs Node 20+, found {out.strip()}"


@pytest.mark.parametrize("name", ["multiply_add", "python_node", "python_inline"])
def test_node_output_matches_native(layout, native, name):
    args = ["run", str(MANIFESTS / f"{name}.json")]
    expected = subprocess.run([str(native), *args], capture_output=True, check=False, timeout=120)
    assert expected.returncode == 0, expected.stderr.decode()
    result = run_node(layout, args, dirs=(EXAMPLES,))
    assert result.trap is None, result.stderr.decode()
    assert (result.exit_code, result.stdout, result.stderr) == (0, expected.stdout, expected.stderr)


def test_node_bad_manifest_exit_code_and_message(layout, native):
    text = b'{"version": 1, "nodes": [{"id": "a", "type": "Nope"}], "connections": []}'
    expected = subprocess.run([str(native), "run", "-"], input=text, capture_output=True, check=False, timeout=60)
    result = run_node(layout, ["run", "-"], stdin=text)
    assert expected.returncode == 2
    assert (result.exit_code, result.stdout, result.stderr) == (2, expected.stdout, expected.stderr)


def test_node_python_node_error_is_exit_3(layout):
    manifest = (
        b'{"version": 1, "nodes": [{"id": "p", "type": "Python", "params": {"class": "P", "source": '
        b"\"class P:\\n    def process(self, x):\\n        return open('/etc/passwd').read()\\n\"}},"
        b'{"id": "o", "type": "Output"}], "connections": [{"from": "p", "to": "o"}], "inputs": [1]}'
    )
    result = run_node(layout, ["run", "-"], stdin=manifest)
    text = result.stderr.decode()
    assert result.exit_code == 3, text
    assert text.startswith("error: ") and ("FileNotFoundError" in text or "PermissionError" in text), text


def test_node_runner_reports_a_missing_module(tmp_path):
    result = wasi_runner.run_node(tmp_path / "missing.wasm", [])
    assert result.exit_code == 1
    assert b"cannot read" in result.stderr
