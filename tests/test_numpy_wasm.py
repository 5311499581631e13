"""numpy in Python nodes: built into both wasm modules (numpy's meson build with zig), its
Python package beside the stdlib; natively the host's numpy 2.4.6. Real builds, real
hosts (native, wasmtime, node:wasi, the reactor)."""

from __future__ import annotations

import base64
import dataclasses
import json
import struct
from pathlib import Path

import pytest

from rmbuild.build import native as native_build
from rmbuild.build.pack import bundle, spec
from rmbuild.build.wasm import builtins, stdlib
from rmbuild.build.wasm import module as wasm_module
from rmbuild.build.wasm import numpy as numpy_build
from rmbuild.checks import numpy_tests, parity
from rmbuild.core import lock, paths
from rmbuild.core.ui import BuildError
from rmbuild.run import executor, reactor


def manifest(source: str, inputs: list) -> bytes:
    return json.dumps(
        {
            "version": 1,
            "nodes": [{"id": "py", "type": "Python", "params": {"class": "Node", "source": source}}],
            "inputs": inputs,
        }
    ).encode()


@pytest.fixture(scope="module")
def layout():
    return wasm_module.layout(numpy=True)


@pytest.fixture(scope="module")
def hosts(layout):
    return {
        "native": (native_build.host(), numpy_build.native_env()),
        "wasmtime": (executor.Wasmtime(layout), None),
        "node": (executor.Node(layout), None),
    }


def run(hosts, name: str, source: str, inputs: list, **kw):
    host, env = hosts[name]
    result = host.run(["run", "-", "--compact"], stdin=manifest(source, inputs), env=env, timeout=300, **kw)
    assert result.trap is None, result.error_text
    return result


STEREO = parity._audio([0.5, -0.25, 0.125, 1.0, -1.0, 0.0], 16000, channels=2)
INFO = (
    "import sys, numpy as np\n"
    "class Node:\n"
    "    def process(self, a):\n"
    "        x = a.array\n"
    "        m = sys.modules['numpy._core._multiarray_umath']\n"
    "        return [np.__version__, str(x.dtype), x.shape[0], bool(np.shares_memory(x, np.frombuffer(a.buffer,\n"
    "                np.float32))), float(x.reshape(-1, a.channels).sum(axis=0)[1]),\n"
    "                m.__spec__.origin,\n"
    "                sorted(k for k in sys.modules if k.startswith('numpy.random._'))[:2]]\n"
)


@pytest.mark.parametrize("host", ["native", "wasmtime", "node"])
def test_numpy_imports_and_audio_array_is_a_view(hosts, host):
    result = run(hosts, host, INFO, [STEREO])
    assert result.exit_code == 0, result.error_text
    (out,) = json.loads(result.stdout)["outputs"]["py"]
    assert out[:5] == [numpy_build.version(), "float32", 6, True, -0.25 + 1.0 + 0.0]
    # in wasm numpy's C modules are built-in modules (natively the wheel's extension modules)
    if host == "native":
        assert out[5].endswith(".so")
    else:
        assert out[5] == "built-in"


RETURN = (
    "import array\nimport numpy as np\nfrom pipeline_values import Audio\n"
    "class Node:\n"
    "    def process(self, kind):\n"
    "        x = np.linspace(-1, 1, 6, dtype=np.float32)\n"
    "        return {'f32': Audio(x, 8000), 'f64_2d': Audio(x.astype(np.float64).reshape(3, 2), 8000, 2),\n"
    "                'f16': Audio(x.astype(np.float16), 8000), 'strided': Audio(np.arange(12.0)[::2], 8000),\n"
    "                'fortran_2d': Audio(np.asfortranarray(x.reshape(3, 2)), 8000, 2),\n"
    "                'array_f': Audio(array.array('f', x.tolist()), 8000),\n"
    "                'memoryview_2d': Audio(memoryview(x.reshape(3, 2)), 8000, 2),\n"
    "                'int16': Audio((x * 100).astype(np.int16), 8000),\n"
    "                'complex': Audio(x.astype(np.complex64), 8000),\n"
    "                'shape': Audio(x.reshape(2, 3), 8000, 2),\n"
    "                'shape_3d': Audio(x.reshape(1, 3, 2), 8000, 2),\n"
    "                'nested': {'ok': [Audio(x, 8000)], 'bad': [1, Audio(x.astype(np.int32), 8000)]},\n"
    "                'array_d': Audio(array.array('d', x.tolist()), 8000),\n"
    "                'memoryview_h': Audio(memoryview(np.arange(6, dtype=np.int16)), 8000)}[kind]\n"
)
GOOD = ["f32", "f64_2d", "f16", "strided", "fortran_2d", "array_f", "memoryview_2d"]
# What each wrong value must say: the path in the returned value, the dtype/format/shape
# it has, and what was expected.
WRONG = {
    "int16": "process() result.samples: expected a float numpy array (float32; float64 and float16 are converted), "
    "got dtype int16 (integer PCM must be scaled to floats first, e.g. x / 32768 for int16)",
    "complex": "process() result.samples: expected a float numpy array (float32; float64 and float16 are "
    "converted), got dtype complex64",
    "shape": "process() result.samples: expected a 1-D array (interleaved) or a 2-D array of shape (frames, 2), "
    "got shape (2, 3)",
    "shape_3d": "process() result.samples: expected a 1-D array (interleaved) or a 2-D array of shape "
    "(frames, 2), got shape (1, 3, 2)",
    "nested": 'process() result["bad"][1].samples: expected a float numpy array (float32; float64 and float16 '
    "are converted), got dtype int32 (integer PCM must be scaled to floats first, e.g. x / 32768 for int16)",
    "array_d": "process() result.samples: expected a float32 buffer (format 'f'), got array.array with format 'd'",
    # (int16: format 'h' on both; numpy's int32 buffers are format 'l' in wasm32, where a C long is 32-bit)
    "memoryview_h": "process() result.samples: expected a float32 buffer (format 'f'), got memoryview with format 'h'",
}


@pytest.mark.parametrize("host", ["native", "wasmtime", "node"])
def test_numpy_arrays_as_audio_and_wrong_ones_name_the_path(hosts, host):
    ok = run(hosts, host, RETURN, GOOD)
    assert ok.exit_code == 0, ok.error_text
    outs = [o["$audio"] for o in json.loads(ok.stdout)["outputs"]["py"]]
    samples = [list(struct.unpack(f"<{len(d) // 4}f", d)) for d in (base64.b64decode(o["data_b64"]) for o in outs)]
    x = [float(v) for v in struct.unpack("<6f", struct.pack("<6f", *(-1 + 0.4 * i for i in range(6))))]
    assert samples[0] == samples[1] == x
    # float16 rounds (-0.6 -> -0.60009765625): converted to float32 from the float16 values
    assert samples[2] == [float(v) for v in struct.unpack("<6e", struct.pack("<6e", *x))]
    assert samples[3] == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]  # a strided view: its elements in order
    assert samples[4:] == [x, x, x]  # C order (frames interleaved) for a Fortran-ordered array too
    assert [o["channels"] for o in outs] == [1, 2, 1, 1, 2, 1, 2]
    native_ok = run(hosts, "native", RETURN, GOOD)
    assert ok.stdout == native_ok.stdout
    for kind, message in WRONG.items():
        bad = run(hosts, host, RETURN, [kind])
        assert bad.exit_code == 3, bad.error_text
        assert bad.stderr.decode().splitlines()[0] == (
            f"error: node 'py' (Python) failed on item 0: cannot use the value returned by process(): {message}"
        )


def test_memory_error_inside_numpy_is_a_node_error(layout):
    source = "import numpy as np\nclass Node:\n    def process(self, n):\n        return float(np.ones(n).sum())\n"
    result = executor.Wasmtime(layout, memory_limit=256 << 20).run(
        ["run", "-", "--compact"], stdin=manifest(source, [1000, 100_000_000]), timeout=300
    )
    text = result.stderr.decode()
    assert result.trap is None, text
    assert result.exit_code == 3, text
    # numpy's MemoryError subclass, as natively
    assert text.splitlines()[0] == (
        "error: node 'py' (Python) failed on item 1: numpy._core._exceptions._ArrayMemoryError: "
        "Unable to allocate 763. MiB for an array with shape (100000000,) and data type float64"
    ), text


@pytest.mark.parametrize("numpy_built_in", [True, False], ids=["numpy module", "module of bundles without numpy"])
def test_without_numpy_zip_import_is_a_clear_module_not_found_error(numpy_built_in):
    """Without numpy's Python package: the module with numpy's C modules, and the one
    bundles without numpy ship (``build_module(numpy=False)``): no trap, the usual error."""
    layout = wasm_module.layout()._replace(module=wasm_module.module_path(numpy=numpy_built_in))
    result = executor.Wasmtime(layout).run(
        ["run", "-", "--compact"],
        stdin=manifest("import numpy\nclass Node:\n    def process(self, x):\n        return x\n", [1]),
        timeout=300,
    )
    assert result.trap is None and result.exit_code == 3, result.stderr.decode()
    assert result.stderr.decode().splitlines()[0] == (
        "error: node 'py' (Python) failed to initialise: cannot load <inline:py>: "
        "ModuleNotFoundError: No module named 'numpy'"
    )


def test_the_reactor_has_numpy_too(layout):
    m = json.dumps(
        {
            "version": 1,
            "nodes": [
                {
                    "id": "py",
                    "type": "Python",
                    "params": {
                        "class": "Node",
                        "source": "import numpy as np\nclass Node:\n    def process(self, x):\n"
                        "        return float(np.fft.rfft(np.arange(8.0) * x)[0].real)\n",
                    },
                }
            ],
        }
    )
    r = reactor.Reactor(layout._replace(module=wasm_module.reactor_path()))
    try:
        session = r.open(m)
        got = [json.loads(session.push(json.dumps(x)))["outputs"]["py"] for x in (1.0, 2.0)]
        session.close()
    finally:
        r.close()
    assert got == [[28.0], [56.0]]


def test_builtin_table_and_the_linked_modules_name_numpy():
    names = builtins.names()
    assert names[0] == "zlib" and set(numpy_build.EXTENSION_MODULES) <= set(names)
    assert all(m.startswith("numpy.") for m in builtins.names(numpy=True)[1:])
    assert builtins.names(numpy=False) == ["zlib"]
    marker = builtins.marker().encode() + b"\0"
    for module in (wasm_module.module_path(), wasm_module.reactor_path()):
        assert marker in module.read_bytes()


def test_numpy_lock_and_zip_layout():
    entry = lock.get(numpy_build.ARTIFACT)
    assert (entry.registry, entry.package, entry.version) == ("pypi", "numpy", "2.4.6")
    import zipfile

    with zipfile.ZipFile(numpy_build.python_zip()) as z:
        names = set(z.namelist())
    assert "numpy/__init__.pyc" in names and "numpy/_core/_methods.pyc" in names
    assert not any("/tests/" in n or n.endswith((".py", ".pyi", ".so")) for n in names)
    # beside the stdlib zip, on PYTHONPATH
    assert set(numpy_build.preopens()) == {stdlib.MOUNT}
    assert numpy_build.ENV["PYTHONPATH"] == f"{stdlib.MOUNT}/{numpy_build.ZIP_NAME}"


def test_numpy_parity_cases(tmp_path):
    cases = [c for c in parity.corpus(quick=True, generated=1) if c.numpy]
    assert {"example/numpy_gain", "example/numpy_biquad", "example/numpy_spectrum"} <= {c.name for c in cases}
    verdicts = parity.run_corpus(cases)
    bad = [(v.case, v.difference) for v in verdicts if not v.identical and not v.documented]
    assert not bad, bad
    documented = {v.case for v in verdicts if v.documented}
    assert documented == {"python/numpy-complex-abs", "python/numpy-fp-errors", "python/numpy-blas"}


# test_records' file test fails in wasm (WASI: [Errno 58] Not supported), not natively:
# the report must count it and list it with its cause, not drop it.
WASM_ONLY_FAILURE = "numpy/_core/tests/test_records.py::TestPathUsage::test_tofile_fromfile"


def test_numpy_test_suite_subset_runs_in_wasm_and_the_report_counts_every_failure(tmp_path, monkeypatch):
    modules = [*numpy_tests.QUICK, "numpy._core.tests.test_records"]
    rows = numpy_tests.run_modules(modules)
    assert [r["module"] for r in rows] == modules
    for row in rows:
        for host in ("native", "wasm"):
            r = row[host]
            assert "run_error" not in r, r
            assert r["numpy"] == numpy_build.version() and r["passed"] > 0, (host, r)
            assert r["errors"] == 0, (host, r)
            # every failure counted is listed by name
            assert len(r["failed_tests"]) == r["failed"] + r["errors"], (host, r)
        if row["module"] in numpy_tests.QUICK:
            assert row["native"]["failed"] == row["wasm"]["failed"] == 0, row
            assert row["wasm"]["passed"] == row["native"]["passed"], row
    records = rows[-1]
    assert records["native"]["failed"] == 0, records["native"]
    wasm_failed = {f[1]: f for f in records["wasm"]["failed_tests"]}
    assert WASM_ONLY_FAILURE in wasm_failed, records["wasm"]
    assert records["wasm"]["passed"] + records["wasm"]["failed"] == records["native"]["passed"], records

    monkeypatch.setattr(paths, "REPORTS_DIR", tmp_path)
    numpy_tests.write_report(rows, 1.0)
    report = json.loads((tmp_path / numpy_tests.REPORT_JSON).read_text())
    assert [r["module"] for r in report["modules"]] == modules
    for host in ("native", "wasm"):
        totals = report["totals"][host]
        assert totals["modules"] == 3 and totals["run_errors"] == 0
        for key in numpy_tests.KEYS:
            assert totals[key] == sum(r[host][key] for r in rows), (host, key)
    listed = [t for entry in report["wasm_causes"].values() for t in entry["tests"]]
    assert len(listed) == records["wasm"]["failed"] + records["wasm"]["errors"]
    (line,) = [t for t in listed if t.startswith(WASM_ONLY_FAILURE + " (failure): ")]
    assert "Errno 58" in line, line
    text = (tmp_path / numpy_tests.REPORT_TEXT).read_text()
    assert f"- wasm: 3 modules, {report['totals']['wasm']['passed']} passed, {records['wasm']['failed']} failed" in text
    assert f"  - {line}" in text


def test_pack_includes_numpy_when_a_node_imports_it(tmp_path):
    s = bundle.demo_spec("python-node")
    assert bundle.uses_numpy(s)
    plain = dataclasses.replace(s, pipelines=s.pipelines[:2], sources=s.sources[:1])
    assert not bundle.uses_numpy(plain)
    assert bundle.uses_numpy(dataclasses.replace(plain, numpy=True))
    a = bundle.assemble(s)
    assert a.numpy and f"{bundle.STDLIB_SOURCE}/{numpy_build.ZIP_NAME}" in a.members
    assert a.env["PYTHONPATH"] == numpy_build.GUEST_ZIP
    assert f"{bundle.STDLIB_SOURCE}/{numpy_build.ZIP_NAME}" not in bundle.assemble(plain).members
    # numpy = false while a node imports numpy: the pack's load check names the failure
    forced = dataclasses.replace(s, numpy=False)
    with pytest.raises(BuildError, match="No module named 'numpy'"):
        bundle.build(forced)


def test_spec_numpy_option(tmp_path):
    (tmp_path / "p.json").write_text('{"version": 1, "nodes": []}')
    for value, expected in (('"auto"', "auto"), ("true", True), ("false", False)):
        (tmp_path / "rmpkg.toml").write_text(
            f'[bundle]\nname = "t"\nversion = "1"\n[[pipeline]]\nname = "p"\nmanifest = "p.json"\n'
            f"[python]\nnumpy = {value}\n"
        )
        assert spec.load(tmp_path / "rmpkg.toml").numpy == expected
    (tmp_path / "rmpkg.toml").write_text(
        '[bundle]\nname = "t"\nversion = "1"\n[[pipeline]]\nname = "p"\nmanifest = "p.json"\n[python]\nnumpy = "yes"\n'
    )
    with pytest.raises(BuildError, match=r"\[python\]\.numpy: must be true, false or \"auto\""):
        spec.load(tmp_path / "rmpkg.toml")


def test_example_bundle_pipelines_equal_native():
    path = bundle.build(bundle.demo_spec("python-node"))
    for name in ("numpy_biquad", "numpy_spectrum"):
        wasm = bundle.run_in_wasmtime(path, name)
        ref = bundle.native_run(bundle.demo_spec("python-node"), name)
        assert wasm.exit_code == ref.exit_code == 0, wasm.error_text
        assert wasm.stdout == ref.stdout, name


def test_example_manifests_are_in_the_examples_folder():
    names = sorted(p.name for p in (paths.EXAMPLES_DIR / "numpy").glob("*.json"))
    assert names == ["numpy_biquad.json", "numpy_gain.json", "numpy_spectrum.json"]
    assert Path(paths.EXAMPLES_DIR / "python" / "numpy_audio.py").is_file()
