"""The reactor pre-initialised at build time by Wizer (``build/wasm/preinit.py``,
``runtime/reactor/src/preinit.rs``) against the plain reactor, both in wasmtime: the
same bytes for the Python examples and for what a node can see of its interpreter
(modules, paths, environment, seed, stdio, scratch folder, process clock); another hash
seed and another stdlib zip refused exactly; ``PYTHONPATH`` applied as CPython applies it;
a changed input builds a new snapshot, the same bytes from the same code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmbuild.build.wasm import module as wasm_module
from rmbuild.build.wasm import preinit, stdlib, wasmbin
from rmbuild.core import paths, steps
from rmbuild.run import executor, reactor, wasi

MANIFESTS = paths.EXAMPLE_MANIFESTS

# Everything of its interpreter a node can see that start-up could have fixed.
PROBE = (
    "import os, sys, tempfile, time\n"
    "class Node:\n"
    "    def process(self, x):\n"
    "        return {\n"
    "            'modules': sorted(sys.modules), 'path': sys.path, 'environ': dict(os.environ),\n"
    "            'environb': len(os.environb), 'argv': sys.argv, 'executable': sys.executable,\n"
    "            'prefix': [sys.prefix, sys.exec_prefix, sys.base_prefix], 'flags': list(sys.flags),\n"
    "            'set': list({'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'}),\n"
    "            'hash': hash('pipeline'), 'cwd': os.getcwd(), 'tmp': tempfile.gettempdir(),\n"
    "            'stdio': [sys.stdin is not None, sys.stdout is sys.stderr, sys.stderr.line_buffering,\n"
    "                      sys.stdin.encoding if sys.stdin else None],\n"
    "            'tz': time.tzname, 'listdir': sorted(os.listdir('/usr/local/lib')),\n"
    "            'urandom_len': len(os.urandom(8)), 'random': __import__('random').random() != 0.5,\n"
    "            'clocks_from_start': [time.process_time() >= 0, os.times()[0] >= 0],\n"
    "        }\n"
)

DATA_SECTION = 11  # the wasm data section: the snapshot's memory


def _custom_section(name: str, payload: bytes) -> bytes:
    """A wasm custom section (id 0): LEB128 size, LEB128 name length, name, payload."""

    def leb(n: int) -> bytes:
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    body = leb(len(name)) + name.encode() + payload
    return b"\x00" + leb(len(body)) + body


def _manifest(source: str) -> str:
    node = {"id": "py", "type": "Python", "params": {"class": "Node", "source": source}}
    return json.dumps({"version": 1, "nodes": [node]})


def _node(body: str, imports: str = "") -> str:
    """A node class whose ``process(self, x)`` returns ``body``."""
    return f"{imports}class Node:\n    def process(self, x):\n        return {body}\n"


@pytest.fixture(scope="module")
def layout() -> wasi.Layout:
    return wasm_module.layout()


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    return {"plain": wasm_module.reactor_path(preinit=False), "preinit": wasm_module.reactor_path()}


def _session(layout: wasi.Layout, module: Path, manifest: str, items: list, base_dir: str = "", **env) -> dict:
    """Open, push each item, close in a fresh instance: every reply, and stderr."""
    r = reactor.Reactor(layout._replace(module=module, env={**layout.env, **env}))
    try:
        session = r.open(manifest, base_dir)
        replies = [session.push(json.dumps(item)) for item in items]
        replies.append(session.close())
        return {"replies": replies, "stderr": r.stderr_path.read_bytes(), "preinitialised": r.preinitialised}
    finally:
        r.close()


def test_the_snapshot_is_a_pre_initialised_reactor(layout, modules) -> None:
    assert modules["preinit"] != modules["plain"]
    plain = _session(layout, modules["plain"], _manifest(_node("x")), [1])
    pre = _session(layout, modules["preinit"], _manifest(_node("x")), [1])
    # Wizer ran _initialize at build time and removed it; the plain module's host calls it
    assert pre["preinitialised"] and not plain["preinitialised"]
    assert pre["replies"] == plain["replies"] == ['{"outputs":{"py":[1]}}', '{"outputs":{"py":[]}}']
    # the snapshot holds CPython's heap: a data segment the plain module does not have
    assert modules["preinit"].stat().st_size > modules["plain"].stat().st_size + 1_000_000


@pytest.mark.parametrize("name", ["python_inline", "python_node"])
def test_the_python_examples_give_the_same_bytes(layout, modules, name) -> None:
    manifest = MANIFESTS / f"{name}.json"
    items = json.loads(manifest.read_text())["inputs"]
    lay = layout._replace(preopens={**layout.preopens, **executor.same_path_preopens(paths.EXAMPLES_DIR)})
    got = {k: _session(lay, m, manifest.read_text(), items, str(manifest.parent)) for k, m in modules.items()}
    assert got["preinit"]["replies"] == got["plain"]["replies"]
    assert got["preinit"]["stderr"] == got["plain"]["stderr"]
    assert len(got["plain"]["replies"]) == len(items) + 1 and all(json.loads(r) for r in got["plain"]["replies"])


def test_what_a_node_sees_of_its_interpreter_is_the_same(layout, modules, tmp_path) -> None:
    # a folder preopened at run time only (wasi-libc finds the preopens again), the host's PWD
    lay = layout._replace(preopens={**layout.preopens, str(tmp_path): tmp_path})
    got = {k: _session(lay, m, _manifest(PROBE), [None], PWD=str(tmp_path)) for k, m in modules.items()}
    assert got["preinit"]["replies"] == got["plain"]["replies"]
    seen = json.loads(got["plain"]["replies"][0])["outputs"]["py"][0]
    # the host's environment and the runtime's defaults, not the build's
    assert seen["environ"] == {**layout.env, "PWD": str(tmp_path), "TMPDIR": "/tmp", "PYTHONHASHSEED": "0"}
    assert seen["cwd"] == str(tmp_path) and seen["tmp"] == "/tmp"
    assert seen["stdio"][:3] == [True, True, True]
    # the process clock runs from this instance's start, not from the build's
    assert seen["clocks_from_start"] == [True, True]
    # random is imported by the node, so seeded in this instance: not part of the snapshot
    assert "random" in seen["modules"]
    # each instance draws its own random numbers
    draw = _manifest(_node("random.getrandbits(62)", "import random\n"))
    again = _session(lay, modules["preinit"], draw, [None, None])
    other = _session(lay, modules["preinit"], draw, [None, None])
    assert again["replies"][:2] != other["replies"][:2]


def test_python_environment_the_snapshot_cannot_honour_is_refused_exactly(layout, modules) -> None:
    source = _node("[os.environ['PYTHONHASHSEED'], sys.flags.hash_randomization]", "import os, sys\n")
    plain = _session(layout, modules["plain"], _manifest(source), [None], PYTHONHASHSEED="5")
    assert json.loads(plain["replies"][0])["outputs"]["py"] == [["5", 1]]
    r = reactor.Reactor(layout._replace(module=modules["preinit"], env={**layout.env, "PYTHONHASHSEED": "5"}))
    try:
        with pytest.raises(reactor.SessionError) as info:
            r.open(_manifest(source))
        # a Rust-only pipeline still runs in that instance
        rust = r.open(json.dumps({"version": 1, "nodes": [{"id": "m", "type": "Multiply", "params": {"factor": 2}}]}))
        assert rust.push("3") == '{"outputs":{"m":[6]}}'
    finally:
        r.close()
    assert info.value.exit_code == 3
    assert info.value.message == (
        "node 'py' (Python) failed to initialise: this reactor module was pre-initialised (CPython started at "
        "build time) and its interpreter started with PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0 "
        "PYTHONHOME=/usr/local, this host gives PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=5 PYTHONHOME=/usr/local: "
        "use the plain reactor module (pipeline_reactor.wasm) for this environment"
    )
    # an empty value counts as unset (the runtime's 0), as in the plain module
    empty = _session(layout, modules["preinit"], _manifest(source), [None], PYTHONHASHSEED="")
    assert json.loads(empty["replies"][0])["outputs"]["py"] == [["0", 0]]
    same = _session(layout, modules["preinit"], _manifest(source), [None], PYTHONHASHSEED="0")
    assert json.loads(same["replies"][0])["outputs"]["py"] == [["0", 0]]


def test_pythonpath_goes_first_on_sys_path_as_cpython_puts_it(layout, modules, tmp_path) -> None:
    site = tmp_path / "site"
    (site / "extra_mod").mkdir(parents=True)
    (site / "extra_mod" / "__init__.py").write_text("VALUE = 'from PYTHONPATH'\n")
    source = _node("[extra_mod.VALUE, sys.path]", "import sys, extra_mod\n")
    lay = layout._replace(preopens={**layout.preopens, str(tmp_path): tmp_path})
    got = {
        k: _session(lay, m, _manifest(source), [None], PYTHONPATH=f"{site}:{tmp_path}/nothing")
        for k, m in modules.items()
    }
    assert got["preinit"]["replies"] == got["plain"]["replies"]
    value, sys_path = json.loads(got["plain"]["replies"][0])["outputs"]["py"][0]
    assert value == "from PYTHONPATH" and sys_path[:2] == [str(site), f"{tmp_path}/nothing"]


def test_a_changed_input_builds_a_new_snapshot(modules, tmp_path) -> None:
    plain = modules["plain"]
    # the same code with one more custom section: other bytes, so another key and a new Wizer run
    changed = tmp_path / "pipeline_reactor.wasm"
    changed.write_bytes(plain.read_bytes() + _custom_section("rmbuild-test", b"changed"))
    rebuilt = preinit.build(changed)
    assert rebuilt != preinit.build(plain) and rebuilt.parent == preinit.build(plain).parent
    assert (
        json.loads((rebuilt / steps.COMPLETE).read_text())["key"]
        != json.loads((preinit.build(plain) / steps.COMPLETE).read_text())["key"]
    )
    # The same code snapshots the same heap, except padding bytes CPython never writes (the
    # 3 bytes after a str's state bits, ...): they keep leftovers of start-up's clock and stat
    # readings, so two Wizer runs minutes apart differ there (README "Start-up by
    # pre-initialisation"). Every other section, and the length, are equal.
    a, b = (rebuilt / preinit.NAME).read_bytes(), (preinit.build(plain) / preinit.NAME).read_bytes()
    assert len(a) == len(b)
    data = [(start, end) for sid, start, _body, end in wasmbin.sections(a) if sid == DATA_SECTION]
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    assert all(any(start <= i < end for start, end in data) for i in differ), differ[:10]


def test_another_stdlib_zip_is_refused(layout, modules, tmp_path) -> None:
    # the build's zip with 16 bytes more: a zip CPython still reads, not the snapshot's file
    (tmp_path / stdlib.ZIP_NAME).write_bytes(stdlib.zip_path().read_bytes() + b"\0" * 16)
    lay = layout._replace(preopens={**layout.preopens, stdlib.MOUNT: tmp_path})
    source = _manifest(_node("x"))
    assert _session(lay, modules["plain"], source, [1])["replies"][0] == '{"outputs":{"py":[1]}}'
    r = reactor.Reactor(lay._replace(module=modules["preinit"]))
    try:
        with pytest.raises(reactor.SessionError) as info:
            r.open(source)
    finally:
        r.close()
    assert info.value.exit_code == 3
    assert info.value.message == (
        "node 'py' (Python) failed to initialise: this reactor module was pre-initialised (CPython started at "
        f"build time) and {stdlib.MOUNT}/{stdlib.ZIP_NAME} is not the file it was started with: "
        "use the plain reactor module (pipeline_reactor.wasm) for this environment"
    )
