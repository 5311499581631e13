"""The Python the runtime starts, on every host: a fixed hash seed (PYTHONHASHSEED wins),
zlib built into the wasm CPython, a writable scratch /tmp that is empty at the start and
gone afterwards, and audio as a float32 buffer. Real builds, real hosts."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from rmbuild.build import native as native_build
from rmbuild.build.wasm import builtins
from rmbuild.build.wasm import module as wasm_module
from rmbuild.core import lock
from rmbuild.run import executor, reactor, wasi

SET_ORDER = (
    "import os, sys\n"
    "class Node:\n"
    "    def process(self, x):\n"
    "        return [list({'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'}),\n"
    "                os.environ.get('PYTHONHASHSEED'), sys.flags.hash_randomization]\n"
)


def manifest(source: str, inputs: list | None = None) -> bytes:
    return json.dumps(
        {
            "version": 1,
            "nodes": [{"id": "py", "type": "Python", "params": {"class": "Node", "source": source}}],
            "inputs": [None] if inputs is None else inputs,
        }
    ).encode()


@pytest.fixture(scope="module")
def layout() -> wasi.Layout:
    return wasm_module.layout()


@pytest.fixture(scope="module")
def hosts(layout) -> dict[str, executor.Host]:
    return {"native": native_build.host(), "wasmtime": executor.Wasmtime(layout), "node": executor.Node(layout)}


def run(host: executor.Host, source: str, inputs: list | None = None, env: dict | None = None, **kw):
    result = host.run(["run", "-", "--compact"], stdin=manifest(source, inputs), env=env, timeout=300, **kw)
    assert result.trap is None, result.error_text
    return result


def outputs(result) -> list:
    assert result.exit_code == 0, result.error_text
    return json.loads(result.stdout)["outputs"]["py"]


# ---------------------------------------------------------------------------
# the hash seed


@pytest.mark.parametrize("host", ["native", "wasmtime", "node"])
def test_default_seed_is_fixed_and_the_environment_wins(hosts, host, monkeypatch):
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)  # the native host inherits this process's
    h = hosts[host]
    first, second = (outputs(run(h, SET_ORDER))[0] for _ in range(2))
    assert first == second  # run to run: the same order
    assert first[1:] == ["0", 0]  # set by the runtime: randomisation off
    # PYTHONHASHSEED in the environment wins: another fixed seed, another (fixed) order
    one = [outputs(run(h, SET_ORDER, env={"PYTHONHASHSEED": "1"}))[0] for _ in range(2)]
    assert one[0] == one[1] and one[0][1:] == ["1", 1]
    assert one[0][0] != first[0]
    # ... also "random": a different order on (nearly) every run
    orders = {json.dumps(outputs(run(h, SET_ORDER, env={"PYTHONHASHSEED": "random"}))[0][0]) for _ in range(4)}
    assert len(orders) > 1
    # an empty value counts as unset, as CPython reads it
    assert outputs(run(h, SET_ORDER, env={"PYTHONHASHSEED": ""}))[0][1:] == ["0", 0]


def test_the_reactor_starts_python_with_the_same_seed(layout, hosts):
    expected = outputs(run(hosts["wasmtime"], SET_ORDER))[0]
    r = reactor.Reactor(layout._replace(module=wasm_module.reactor_path()))
    try:
        session = r.open(manifest(SET_ORDER).decode())
        line = session.push("null")
        session.close()
    finally:
        r.close()
    assert json.loads(line)["outputs"]["py"] == [expected]


# ---------------------------------------------------------------------------
# zlib, built in


ZLIB = (
    "import gzip, io, sys, zlib, zipfile\n"
    "class Node:\n"
    "    def process(self, x):\n"
    "        data = ('pipeline ' * 500).encode()\n"
    "        z = zlib.compress(data, 9)\n"
    "        buf = io.BytesIO()\n"
    "        with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zf:\n"
    "            zf.writestr('a.txt', data)\n"
    "        with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:\n"
    "            back = zf.read('a.txt')\n"
    "        return [zlib.decompress(z) == data, len(z), zlib.crc32(data), zlib.adler32(data),\n"
    "                gzip.decompress(gzip.compress(data, mtime=0)) == data, back == data,\n"
    "                'zlib' in sys.builtin_module_names]\n"
)


def test_zlib_is_a_built_in_module_of_the_wasm_cpython(hosts):
    native = outputs(run(hosts["native"], ZLIB))[0]
    for host in ("wasmtime", "node"):
        got = outputs(run(hosts[host], ZLIB))[0]
        # same compressed size and checksums as the host Python's zlib; built in, not a file
        assert got[:6] == native[:6] and got[6] is True, (host, got, native)
        assert got[0] and got[4] and got[5]
    version = outputs(run(hosts["wasmtime"], "import zlib\nclass Node:\n    def process(self, x):\n"
                          "        return [zlib.ZLIB_VERSION, zlib.ZLIB_RUNTIME_VERSION]\n"))[0]  # fmt: skip
    assert version == ["1.3.2", "1.3.2"]  # libz-sys 1.1.31's zlib


def test_zlib_in_the_reactor(layout):
    r = reactor.Reactor(layout._replace(module=wasm_module.reactor_path()))
    try:
        session = r.open(manifest(ZLIB).decode())
        got = json.loads(session.push("null"))["outputs"]["py"][0]
        session.close()
    finally:
        r.close()
    assert got[0] and got[4] and got[5] and got[6]


def test_the_built_in_module_table_and_its_sources():
    assert builtins.names() == ["zlib"]
    assert builtins.marker() == "rm-python-builtins:zlib"
    source = builtins.register_source()
    assert 'PyImport_AppendInittab("zlib", PyInit_zlib)' in source
    for module in builtins.MODULES:
        assert module.init == "PyInit_" + module.name.rsplit(".", 1)[-1]
    zlib_src, cpython = lock.get("zlib-source"), lock.get("cpython-modules")
    assert (zlib_src.registry, zlib_src.package) == ("crate", "libz-sys")
    assert (cpython.registry, cpython.package, cpython.version) == ("debian-source", "python3.11", "3.11.2")
    assert cpython.pool_path == "pool/main/p/python3.11/python3.11_3.11.2.orig.tar.gz"
    # the archive step is cached: a second call builds nothing and names the same folder
    assert builtins.build() == builtins.build()
    assert (builtins.build() / builtins.ARCHIVE).stat().st_size > 50_000


# ---------------------------------------------------------------------------
# the scratch /tmp

TEMPFILE = (
    "import os, tempfile\n"
    "class Node:\n"
    "    def process(self, x):\n"
    "        before = sorted(os.listdir(tempfile.gettempdir()))\n"
    "        with tempfile.NamedTemporaryFile('w+', suffix='.txt', delete=False) as f:\n"
    "            f.write('payload %s' % x)\n"
    "        with open(f.name) as g:\n"
    "            back = g.read()\n"
    "        with tempfile.TemporaryDirectory() as d:\n"
    "            open(os.path.join(d, 'inner.bin'), 'wb').write(b'x' * 1000)\n"
    "            inner = os.listdir(d)\n"
    "        return [tempfile.gettempdir(), os.environ.get('TMPDIR'), back, before, inner]\n"
)


@pytest.fixture
def host_tmp(monkeypatch):
    """A fresh host TMPDIR for this test: every scratch folder of the run goes below it."""
    with tempfile.TemporaryDirectory(prefix="rmbuild-test-hosttmp-") as d:
        monkeypatch.setattr(tempfile, "tempdir", d)
        monkeypatch.setenv("TMPDIR", d)  # node's os.tmpdir() and the native run
        yield Path(d)


@pytest.mark.parametrize("host", ["wasmtime", "wasmtime-plain", "node"])
def test_tempfile_round_trip_in_an_empty_scratch_folder_that_is_gone_afterwards(layout, host, host_tmp):
    h = {
        "wasmtime": executor.Wasmtime(layout),
        "wasmtime-plain": executor.Wasmtime(layout, plain=True),
        "node": executor.Node(layout),
    }[host]
    got = outputs(run(h, TEMPFILE, inputs=[1, 2]))
    assert got[0][:3] == ["/tmp", "/tmp", "payload 1"]
    assert got[0][3] == []  # empty at the start
    assert got[0][4] == ["inner.bin"]
    assert got[1][2] == "payload 2" and len(got[1][3]) == 1  # the first item's file is still there
    assert list(host_tmp.iterdir()) == []  # and gone afterwards
    # a new run starts empty again
    assert outputs(run(h, TEMPFILE, inputs=[3]))[0][3] == []


def test_natively_python_uses_the_real_tmpdir(hosts, host_tmp):
    got = outputs(run(hosts["native"], TEMPFILE))
    assert got[0][:2] == [str(host_tmp), str(host_tmp)]


def test_everything_but_the_scratch_folder_stays_read_only(layout, tmp_path):
    source = (
        "class Node:\n    def process(self, x):\n"
        f"        open({str(tmp_path / 'w.txt')!r}, 'w').write('x')\n        return x\n"
    )
    result = run(executor.Wasmtime(layout), source, dirs=[tmp_path])
    assert result.exit_code == 3 and not (tmp_path / "w.txt").exists(), result.error_text
    # the reactor: its preopens are read-only, its /tmp writable
    r = reactor.Reactor(
        layout._replace(module=wasm_module.reactor_path(), preopens={**layout.preopens, str(tmp_path): tmp_path})
    )
    try:
        with pytest.raises(reactor.SessionError) as info:
            r.open(manifest(source).decode()).push("null")
        assert info.value.exit_code == 3
        assert r.scratch_path is not None and r.scratch_path.is_dir()
        scratch = r.scratch_path
        session = r.open(manifest(TEMPFILE).decode())
        first = json.loads(session.push("1"))["outputs"]["py"][0]
        assert first[:4] == ["/tmp", "/tmp", "payload 1", []]
        assert len(list(scratch.iterdir())) == 1
    finally:
        r.close()
    assert not scratch.exists() and not (tmp_path / "w.txt").exists()


# ---------------------------------------------------------------------------
# audio as a buffer

AUDIO = (
    "import array\n"
    "from pipeline_values import Audio\n"
    "class Node:\n"
    "    def process(self, a):\n"
    "        b = a.buffer\n"
    "        facts = [type(a._data).__name__, b.format, len(b), a.frames, b.obj is a._data]\n"
    "        gain = array.array('f', (s * 0.5 for s in b))\n"
    "        mv = memoryview(array.array('f', [0.25] * len(b)))\n"
    "        listed = Audio([s * 2 for s in a.samples], a.sample_rate, a.channels)\n"
    "        return [facts, Audio(gain, a.sample_rate, a.channels), Audio(mv, a.sample_rate, a.channels), listed]\n"
)
STEREO = {"$audio": {"sample_rate": 8000, "channels": 2, "samples": [0.5, -0.25, 1.0, 0.125, -1.0, 0.75]}}


def test_audio_buffers_in_and_out_are_the_same_on_every_host(hosts):
    native = run(hosts["native"], AUDIO, inputs=[STEREO])
    facts = json.loads(native.stdout)["outputs"]["py"][0][0]
    assert facts == ["array", "f", 6, 3, True]
    for host in ("wasmtime", "node"):
        assert run(hosts[host], AUDIO, inputs=[STEREO]).streams == native.streams, host


NUMPY_IMPORT = "import numpy\nclass Node:\n    def process(self, x):\n        return x\n"
AUDIO_ARRAY = "class Node:\n    def process(self, a):\n        return a.array.sum()\n"


def test_numpy_in_wasm_is_a_clear_module_not_found_error(hosts):
    for host in ("wasmtime", "node"):
        result = run(hosts[host], NUMPY_IMPORT)
        assert result.exit_code == 3, result.error_text
        lines = result.stderr.decode().splitlines()
        assert lines[0] == (
            "error: node 'py' (Python) failed to initialise: cannot load <inline:py>: "
            "ModuleNotFoundError: No module named 'numpy'"
        )
        result = run(hosts[host], AUDIO_ARRAY, inputs=[STEREO])
        assert result.exit_code == 3
        assert result.stderr.decode().splitlines()[0] == (
            "error: node 'py' (Python) failed on item 0: ModuleNotFoundError: Audio.array needs numpy, which this "
            "Python cannot import (the wasm runtime has no numpy yet): use Audio.buffer, a float32 memoryview, "
            "or Audio.samples"
        )


@pytest.mark.parametrize(
    "body",
    [
        # too big for the memory limit: Python's MemoryError
        "        return Audio(array.array('f', bytes(1 << 30)), 16000)\n",
        # fits, but its copy for the runtime (and the runtime's own) do not
        "        a = Audio(array.array('f', bytes(96 << 20)), 16000)\n        return [a, a, a]\n",
    ],
    ids=["python-allocation", "conversion"],
)
def test_audio_memory_errors_under_the_limit_are_node_errors(layout, body):
    source = "import array\nfrom pipeline_values import Audio\nclass Node:\n    def process(self, x):\n" + body
    result = executor.Wasmtime(layout, memory_limit=256 << 20).run(
        ["run", "-", "--compact"], stdin=manifest(source), timeout=300
    )
    text = result.stderr.decode()
    assert result.trap is None, text
    assert result.exit_code == 3, text
    assert text.startswith("error: node 'py' (Python) failed on item 0: "), text
    assert "MemoryError" in text or "out of memory" in text, text
