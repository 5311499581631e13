"""pipeline_executor_wasm in wasmtime against the native pipeline_executor.

Real builds (cached steps: nothing is rebuilt when nothing changed), real
wasmtime, real native binary. Host folders are preopened at their own absolute
path so that every path, and so every message, is the same on both sides.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmbuild.build import native as native_build
from rmbuild.build.wasm import flags as wasi_flags
from rmbuild.build.wasm import module as wasm_module
from rmbuild.build.wasm import stdlib, wasmbin
from rmbuild.core import paths, steps
from rmbuild.run import executor, wasi

EXAMPLES = paths.EXAMPLES_DIR
MANIFESTS = paths.EXAMPLE_MANIFESTS
BAD_MANIFESTS = paths.BAD_MANIFESTS
# Examples that need no extra input (wav_resample needs --input with a WAV file).
PARITY_EXAMPLES = ["multiply_add", "python_node", "python_inline", "fan_out_fan_in", "resample"]


_SESSION_DIR = Path(tempfile.mkdtemp(prefix="rmbuild-wasm-tests-"))
atexit.register(shutil.rmtree, _SESSION_DIR, True)


def _private_copy(path: Path, name: str) -> Path:
    """Step outputs can be pruned by a concurrent rebuild: tests run their own copy."""
    copy = _SESSION_DIR / name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, copy)
    return copy


@functools.cache
def layout_for(stdlib_form: str = "zip") -> wasi.Layout:
    """Built once per test session: sources edited mid-run do not trigger rebuilds between tests.
    ``stdlib_form`` "dir": the same stdlib zip, unpacked into ``python3.11/`` (the runtime
    finds either)."""
    layout = wasm_module.layout()
    layout = layout._replace(module=_private_copy(layout.module, f"{stdlib_form}/{layout.module.name}"))
    if stdlib_form == "dir":
        lib = _SESSION_DIR / "dir-stdlib"
        with zipfile.ZipFile(stdlib.zip_path()) as zf:
            zf.extractall(lib / f"python{wasi_flags.PYTHON_VERSION}")
        layout = layout._replace(preopens={stdlib.MOUNT: lib})
    return layout


@pytest.fixture(scope="session")
def layout() -> wasi.Layout:
    return layout_for("zip")


@pytest.fixture(scope="session")
def native() -> executor.Native:
    return executor.Native(_private_copy(native_build.executor_path(), "native/pipeline_executor"))


def run_native(native: executor.Native, args: list[str], *, stdin: bytes = b"", cwd: Path | None = None):
    return native.run(args, stdin=stdin, cwd=cwd, timeout=120).streams


def run_wasm(
    args: list[str],
    *,
    stdin: bytes = b"",
    dirs: tuple[Path, ...] = (),
    cwd: Path | None = None,
    stdlib_form: str = "zip",
    timeout: float = 120,
    **host_options,
):
    result = executor.Wasmtime(layout_for(stdlib_form), **host_options).run(
        args, stdin=stdin, dirs=dirs, cwd=cwd, timeout=timeout
    )
    assert result.trap is None, f"the module trapped: {result.trap}\n{result.error_text}"
    return result.streams


def assert_same(native_result, wasm_result, what: str) -> None:
    n_code, n_out, n_err = native_result
    w_code, w_out, w_err = wasm_result
    assert (w_code, w_out.decode(), w_err.decode()) == (n_code, n_out.decode(), n_err.decode()), what


# ---------------------------------------------------------------------------
# build


def test_build_step_is_cached(layout):
    """A second build with nothing changed does no work and returns the same module."""
    first = wasm_module.module_path()
    started = time.monotonic()
    again = wasm_module.module_path()
    assert again == first
    assert time.monotonic() - started < 30, "a no-change build should only hash the sources"
    record = json.loads((again.parent / steps.COMPLETE).read_text())
    assert record["key"].startswith(again.parent.name)
    sizes = json.loads((again.parent / "sizes.json").read_text())
    assert sizes["stripped_bytes"] == again.stat().st_size
    assert 0 < sizes["gzip_bytes"] < sizes["stripped_bytes"] <= sizes["raw_bytes"]


def test_wasm_build_command_smoke_tests_the_module(layout):
    """`python -m rmbuild wasm-build` (what `nox -s wasm_build` runs): cached build, size, two smoke runs."""
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "rmbuild", "wasm-build"],
        cwd=paths.REPO,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "stripped" in proc.stderr and "gzip" in proc.stderr
    assert proc.stderr.count("smoke test") == len(wasm_module.SMOKE_MANIFESTS)


def test_module_imports_only_wasi_preview1(layout):
    import wasmtime

    module = wasmtime.Module.from_file(wasmtime.Engine(), str(layout.module))
    assert {imp.module for imp in module.imports} == {"wasi_snapshot_preview1"}
    assert {exp.name for exp in module.exports} >= {"_start", "memory"}


def test_stack_is_first_and_large_enough(layout):
    """zig places the shadow stack below the data: an overflow traps rather than corrupting memory."""
    stack = wasmbin.stack_layout(layout.module)
    assert stack["stack_pointer"] == wasi_flags.STACK_SIZE
    assert stack["stack_pointer"] <= stack["lowest_data"]


def test_strip_custom_sections_drops_only_custom_sections():
    module = bytes.fromhex("0061736d01000000") + bytes([0, 5, 4]) + b"name" + bytes([1, 1, 0])
    assert wasmbin.strip_custom_sections(module) == bytes.fromhex("0061736d01000000") + bytes([1, 1, 0])


def test_stdlib_zip_is_stored_sourceless_bytecode():
    with zipfile.ZipFile(stdlib.zip_path()) as zf:
        infos = zf.infolist()
    assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}, "no zlib in the module: entries must be stored"
    names = {i.filename for i in infos}
    assert {"encodings/__init__.pyc", "json/__init__.pyc", "traceback.pyc"} <= names
    assert not any(n.endswith(".py") for n in names), "sourceless: only .pyc"
    assert not any(n.startswith(("test/", "idlelib/", "tkinter/")) for n in names)


# ---------------------------------------------------------------------------
# parity with native


@pytest.mark.parametrize("name", PARITY_EXAMPLES)
@pytest.mark.parametrize("compact", [False, True], ids=["pretty", "compact"])
def test_example_matches_native_byte_for_byte(layout, native, name, compact):
    args = ["run", str(MANIFESTS / f"{name}.json")] + (["--compact"] if compact else [])
    native_result = run_native(native, args)
    assert native_result[0] == 0, native_result[2].decode()
    assert_same(native_result, run_wasm(args, dirs=(EXAMPLES,)), name)


@pytest.mark.parametrize("form", ["zip", "dir"])
def test_python_node_with_either_stdlib_layout(native, form):
    args = ["run", str(MANIFESTS / "python_node.json")]
    assert_same(run_native(native, args), run_wasm(args, dirs=(EXAMPLES,), stdlib_form=form), form)


@pytest.mark.parametrize("plain", [False, True], ids=["epoch-interruption", "plain-child-process"])
def test_manifest_on_stdin(native, plain):
    text = (MANIFESTS / "python_inline.json").read_bytes()
    args = ["run", "-", "--compact"]
    assert_same(run_native(native, args, stdin=text), run_wasm(args, stdin=text, plain=plain), "stdin")


def test_inputs_file_replaces_manifest_inputs(native, tmp_path):
    inputs = tmp_path / "inputs.json"
    inputs.write_text("[1, 2.5, -3, 1000000]")
    args = ["run", str(MANIFESTS / "multiply_add.json"), "--input", str(inputs)]
    assert_same(run_native(native, args), run_wasm(args, dirs=(EXAMPLES, tmp_path)), "inputs")


def test_relative_paths_resolve_from_pwd(native):
    args = ["run", "python_node.json", "--compact"]
    native_result = run_native(native, args, cwd=MANIFESTS)
    assert native_result[0] == 0
    assert_same(native_result, run_wasm(args, dirs=(EXAMPLES,), cwd=MANIFESTS), "relative")


@pytest.mark.parametrize("args", [[], ["--help"], ["--version"], ["frobnicate"], ["run"], ["schema"], ["run", "-x"]])
def test_cli_contract_matches_native(native, args):
    assert_same(run_native(native, args), run_wasm(args), " ".join(args))


def test_missing_manifest_file(native, tmp_path):
    args = ["run", str(tmp_path / "nope.json")]
    native_result = run_native(native, args)
    assert native_result[0] == 1
    assert_same(native_result, run_wasm(args, dirs=(tmp_path,)), "missing file")


def test_bad_manifest_corpus_matches_native(native):
    """Every manifest of the runtime's bad-manifest corpus: same exit code, stdout and stderr."""
    names = sorted(p.name for p in BAD_MANIFESTS.glob("*.json"))
    assert len(names) >= 20
    mismatches = []
    for name in names:
        args = ["run", name]
        native_result = run_native(native, args, cwd=BAD_MANIFESTS)
        wasm_result = run_wasm(args, dirs=(BAD_MANIFESTS, EXAMPLES), cwd=BAD_MANIFESTS)
        if native_result != wasm_result:
            mismatches.append(f"{name}: native {native_result!r}\n{'':>{len(name) + 2}}wasm   {wasm_result!r}")
    assert not mismatches, "\n".join(mismatches)


def test_invalid_json_on_stdin_is_exit_2(native):
    for text in [b"{", b"", b"\xff\xfe", b"[1, 2]", b'{"version": 1}']:
        native_result = run_native(native, ["run", "-"], stdin=text)
        assert native_result[0] in (1, 2)
        assert_same(native_result, run_wasm(["run", "-"], stdin=text), repr(text))


# ---------------------------------------------------------------------------
# the sandbox: only the preopens are visible


def python_manifest(source: str) -> bytes:
    return json.dumps(
        {
            "version": 1,
            "nodes": [
                {"id": "p", "type": "Python", "params": {"class": "P", "source": source}},
                {"id": "out", "type": "Output"},
            ],
            "connections": [{"from": "p", "to": "out"}],
            "inputs": [0],
        }
    ).encode()


OPEN_SOURCE = (
    "class P:\n    def process(self, x):\n        with open({path!r}, 'rb') as f:\n            return len(f.read())\n"
)


@pytest.mark.parametrize(
    "target",
    [
        paths.REPO / "pyproject.toml",  # a host file, in no preopen
        EXAMPLES / ".." / ".." / "pyproject.toml",  # '..' out of a preopen
        Path("/etc/passwd"),
    ],
    ids=["host-path", "dotdot-escape", "etc-passwd"],
)
def test_python_node_cannot_open_host_path_outside_preopens(native, target):
    manifest = python_manifest(OPEN_SOURCE.format(path=str(target)))
    # Natively the file is there and readable: the wasm failure is the sandbox.
    native_code, native_out, _ = run_native(native, ["run", "-"], stdin=manifest)
    assert native_code == 0 and json.loads(native_out)["outputs"]["out"][0] > 0
    code, out, err = run_wasm(["run", "-"], stdin=manifest, dirs=(EXAMPLES,))
    text = err.decode()
    assert code == 3, text
    assert out == b""
    assert text.startswith("error: "), text
    assert "FileNotFoundError" in text or "PermissionError" in text, text


def test_python_node_reads_a_preopened_file_like_native(native):
    """The positive control of the sandbox tests: inside a preopen, reading works and matches native."""
    manifest = python_manifest(OPEN_SOURCE.format(path=str(EXAMPLES / "python" / "scale.py")))
    native_result = run_native(native, ["run", "-"], stdin=manifest)
    assert native_result[0] == 0
    assert_same(native_result, run_wasm(["run", "-"], stdin=manifest, dirs=(EXAMPLES,)), "read inside preopen")


def test_python_home_defaults_to_the_layout(layout, native):
    """Without PYTHONHOME the module finds the stdlib at its default guest path."""
    args = ["run", str(MANIFESTS / "python_inline.json")]
    preopens = {**layout.preopens, **executor.same_path_preopens(EXAMPLES)}
    result = wasi.run(layout.module, args, preopens=preopens)
    assert result.streams == run_native(native, args)


def test_python_node_cannot_write_into_a_read_only_preopen(tmp_path):
    target = tmp_path / "written.txt"
    source = f"class P:\n    def process(self, x):\n        open({str(target)!r}, 'w').write('x')\n        return x\n"
    code, _, err = run_wasm(["run", "-"], stdin=python_manifest(source), dirs=(tmp_path,))
    assert code == 3, err.decode()
    assert not target.exists()


def test_rust_only_manifest_needs_no_stdlib(layout, native):
    """Without the stdlib preopen a Rust-only pipeline still runs (CPython starts lazily)."""
    args = ["run", str(MANIFESTS / "multiply_add.json")]
    result = wasi.run(layout.module, args, preopens=executor.same_path_preopens(EXAMPLES))
    assert (result.exit_code, result.stdout) == run_native(native, args)[:2]


def test_python_without_stdlib_fails_cleanly(layout):
    """No stdlib preopen: a clean node error (exit 3), not a trap or a fatal CPython dump."""
    manifest = python_manifest("class P:\n    def process(self, x):\n        return x\n")
    result = wasi.run(layout.module, ["run", "-"], stdin=manifest)
    text = result.stderr.decode(errors="replace")
    assert result.trap is None, text
    assert result.exit_code == 3, text
    assert text.startswith("error: "), text
    assert "Fatal Python error" not in text, text
    assert "standard library is not reachable" in text, text
    # The params are still checked first: a bad manifest stays exit 2.
    bad = json.loads(manifest)
    bad["nodes"][0]["params"]["class"] = "not a name"
    result = wasi.run(layout.module, ["run", "-"], stdin=json.dumps(bad).encode())
    assert result.exit_code == 2, result.stderr.decode()


@pytest.mark.parametrize(
    "body",
    [
        "def f(n):\n    return f(n + 1)\nclass P:\n    def process(self, x):\n        return f(0)\n",
        "import json\nclass P:\n    def process(self, x):\n        v = []\n        for _ in range(100000):\n"
        "            v = [v]\n        return len(json.dumps(v))\n",
        "class P:\n    def process(self, x):\n        b = bytearray(1 << 30)\n        return len(b)\n",
    ],
    ids=["python-recursion", "c-recursion", "memory"],
)
def test_python_resource_errors_do_not_trap(body):
    """Recursion and memory exhaustion are Python exceptions (node errors), never traps."""
    code, out, err = run_wasm(["run", "-"], stdin=python_manifest(body), memory_limit=256 << 20)
    text = err.decode()
    assert out == b""
    assert code == 3, text
    assert text.startswith("error: "), text
    assert "RecursionError" in text or "MemoryError" in text, text


@pytest.mark.parametrize("plain", [False, True], ids=["epoch-interruption", "plain-child-process"])
def test_runaway_python_node_is_stopped_by_the_time_limit(plain):
    """The host's wall-clock limit ends an endless node (a trap by design, reported as such),
    by epoch interruption or, on the plain engine, by killing the child process."""
    body = "class P:\n    def process(self, x):\n        while True:\n            pass\n"
    result = executor.Wasmtime(layout_for("zip"), plain=plain).run(["run", "-"], stdin=python_manifest(body), timeout=2)
    assert result.exit_code == wasi.TRAP_EXIT_CODE
    assert result.trap and "time limit" in result.trap
    assert result.run_seconds < 30


# ---------------------------------------------------------------------------
# random manifests: never a trap, always the native answer

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_BASES = [json.loads((MANIFESTS / f"{name}.json").read_text()) for name in ("multiply_add", "fan_out_fan_in")]


@st.composite
def _mutated_manifest(draw) -> bytes:
    doc = json.loads(json.dumps(draw(st.sampled_from(_BASES))))
    for _ in range(draw(st.integers(1, 3))):
        target = doc
        # walk down to a random container
        while isinstance(target, (dict, list)) and target and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(target) if isinstance(target, dict) else range(len(target))))
            if not isinstance(target[key], (dict, list)):
                break
            target = target[key]
        if isinstance(target, dict) and target:
            key = draw(st.sampled_from(sorted(target)))
            if draw(st.booleans()):
                del target[key]
            else:
                target[key] = draw(_JSON)
        elif isinstance(target, list) and target:
            target[draw(st.integers(0, len(target) - 1))] = draw(_JSON)
    return json.dumps(doc).encode()


@settings(max_examples=60, deadline=None)
@given(manifest=st.one_of(_mutated_manifest(), _JSON.map(lambda v: json.dumps(v).encode())))
def test_random_manifests_match_native_and_never_trap(native, manifest):
    # run_wasm asserts that the module did not trap
    assert_same(
        run_native(native, ["run", "-", "--compact"], stdin=manifest),
        run_wasm(["run", "-", "--compact"], stdin=manifest),
        manifest.decode(),
    )


IDENTITY = "class P:\n    def process(self, x):\n        return x\n"


@settings(max_examples=40, deadline=None)
@given(items=st.lists(_JSON, min_size=1, max_size=5))
def test_random_items_through_a_python_node_match_native(native, items):
    """Value conversion Rust -> Python -> Rust gives the same result (or the same error) in wasm."""
    doc = json.loads(python_manifest(IDENTITY))
    doc["inputs"] = items
    manifest = json.dumps(doc).encode()
    args = ["run", "-", "--compact"]
    assert_same(run_native(native, args, stdin=manifest), run_wasm(args, stdin=manifest), manifest.decode())
