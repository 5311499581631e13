"""The browser runner's in-memory scratch /tmp: the runtime's tempfile round trip through
PipelineRunner under Node, the same package the page uses. The shim backend preopens
an empty in-memory /tmp per run (browser-demo/runner/src/backends/shim.ts); @wasmer/sdk
has a writable /tmp of its own, fresh per run as well. A second run starts empty again."""

from __future__ import annotations

import json
import subprocess

import pytest

from rmbuild.build.pack import bundle
from rmbuild.checks import browser
from rmbuild.core import toolchains

SOURCE = (
    "import os, tempfile\n"
    "class Node:\n"
    "    def process(self, x):\n"
    "        before = sorted(os.listdir(tempfile.gettempdir()))\n"
    "        with tempfile.NamedTemporaryFile('w+', delete=False) as f:\n"
    "            f.write('payload %s' % x)\n"
    "        return [tempfile.gettempdir(), os.environ.get('TMPDIR'), open(f.name).read(), before]\n"
)
SCRIPT = """
import { readFileSync } from "node:fs";
import { PipelineRunner } from "%(runner)s";
const [bundlePath, backend, manifest] = process.argv.slice(2);
const runner = await PipelineRunner.load(new Uint8Array(readFileSync(bundlePath)), { backend, worker: false });
const out = [];
for (let i = 0; i < 2; i++) {
  const result = await runner.run({ pipeline: "python_node", manifest: JSON.parse(manifest) });
  out.push(result.result.outputs.py);
}
await runner.close();
process.stdout.write(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def runner_and_bundle():
    toolchains.ensure("browser")
    dist = browser.build_runner()
    index = bundle.build_selected(["python-node"])
    return dist, index.parent / "python-node.rmpkg"


@pytest.mark.parametrize("backend", ["shim", "wasmer"])
def test_tempfile_in_the_browser_backends_memory_tmp(runner_and_bundle, tmp_path, backend):
    dist, rmpkg = runner_and_bundle
    script = tmp_path / "scratch.mjs"
    script.write_text(SCRIPT % {"runner": (dist / "index.js").as_uri()})
    manifest = {
        "version": 1,
        "nodes": [{"id": "py", "type": "Python", "params": {"class": "Node", "source": SOURCE}}],
        "inputs": [1, 2],
    }
    proc = subprocess.run(
        ["node", str(script), str(rmpkg), backend, json.dumps(manifest)], capture_output=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()
    first, second = json.loads(proc.stdout)
    assert first[0] == ["/tmp", "/tmp", "payload 1", []]
    assert first[1][:3] == ["/tmp", "/tmp", "payload 2"] and len(first[1][3]) == 1
    assert second[0][3] == []  # a new run: an empty /tmp again


SET_ORDER = (
    "import os, sys\n"
    "class Node:\n"
    "    def process(self, x):\n"
    "        return [list({'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'}), os.environ.get('PYTHONHASHSEED')]\n"
)


@pytest.mark.parametrize("backend", ["shim", "wasmer"])
def test_the_browser_runner_starts_python_with_the_fixed_seed(runner_and_bundle, tmp_path, backend):
    from rmbuild.build.wasm import module as wasm_module
    from rmbuild.run import executor

    dist, rmpkg = runner_and_bundle
    script = tmp_path / "seed.mjs"
    script.write_text(SCRIPT % {"runner": (dist / "index.js").as_uri()})
    manifest = {
        "version": 1,
        "nodes": [{"id": "py", "type": "Python", "params": {"class": "Node", "source": SET_ORDER}}],
        "inputs": [None],
    }
    proc = subprocess.run(
        ["node", str(script), str(rmpkg), backend, json.dumps(manifest)], capture_output=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()
    first, second = json.loads(proc.stdout)
    wasmtime = executor.Wasmtime(wasm_module.layout()).run(
        ["run", "-", "--compact"], stdin=json.dumps(manifest).encode()
    )
    expected = json.loads(wasmtime.stdout)["outputs"]["py"]
    assert first == second == expected
    assert expected[0][1] == "0"
