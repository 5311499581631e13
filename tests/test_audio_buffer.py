"""Audio as a buffer: a gain node over 60 s of 16 kHz audio written against
``Audio.samples`` (a list) and against ``Audio.buffer`` (a float32 memoryview) gives the
same bytes natively and in wasmtime; the cost of each is measured in the same run and
written to ``reports/audio_buffer.json`` (runtime/README.md, "Audio buffer cost")."""

from __future__ import annotations

import base64
import json
import math
import struct
import time

import pytest

from rmbuild.build import native as native_build
from rmbuild.build.wasm import module as wasm_module
from rmbuild.core import fsutil, machine, paths
from rmbuild.run import executor

RATE = 16000
SECONDS = 60
GAIN = 0.5
REPEATS = 3
# The same gain written four ways: the list, the buffer, and each doing nothing but
# passing the audio on (what the conversion alone costs).
NODES = {
    "list": "        out = Audio([s * 0.5 for s in a.samples], a.sample_rate, a.channels)\n",
    "buffer": "        out = Audio(array.array('f', map((0.5).__mul__, a.buffer)), a.sample_rate, a.channels)\n",
    "list-passthrough": "        out = Audio(list(a.samples), a.sample_rate, a.channels)\n",
    "buffer-passthrough": "        out = a\n",
}


def node_source(body: str) -> str:
    return (
        "import array, time\nfrom pipeline_values import Audio\n"
        "class Node:\n    def __init__(self):\n        self.seconds = []\n"
        "    def process(self, a):\n"
        "        if a is None:\n            return self.seconds\n"
        "        started = time.perf_counter()\n"
        + body
        + "        self.seconds.append(time.perf_counter() - started)\n"
        "        return out\n"
    )


def audio_item() -> dict:
    samples = [0.8 * math.sin(2 * math.pi * 440 * i / RATE) for i in range(RATE * SECONDS)]
    data = base64.b64encode(struct.pack(f"<{len(samples)}f", *samples)).decode()
    return {"$audio": {"sample_rate": RATE, "channels": 1, "data_b64": data}}


@pytest.fixture(scope="module")
def inputs_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("audio-bench") / "inputs.json"
    path.write_text(json.dumps([audio_item(), None]))  # the audio, then "report your timing"
    return path


def test_list_and_buffer_gain_agree_everywhere_and_their_cost_is_recorded(inputs_file):
    layout = wasm_module.layout()
    hosts = {"native": native_build.host(), "wasmtime": executor.Wasmtime(layout, plain=True)}
    report: dict[str, dict] = {}
    results: dict[str, bytes] = {}
    for variant, body in NODES.items():
        manifest = inputs_file.with_name(f"{variant}.json")
        manifest.write_text(
            json.dumps(
                {
                    "version": 1,
                    "nodes": [
                        {"id": "gain", "type": "Python", "params": {"class": "Node", "source": node_source(body)}}
                    ],
                }
            )
        )
        for name, host in hosts.items():
            best: dict[str, float] = {}
            for _ in range(REPEATS):  # the fastest of REPEATS runs
                started = time.perf_counter()
                outcome = host.run(executor.run_args(manifest, inputs_file), dirs=[inputs_file.parent], timeout=900)
                elapsed = time.perf_counter() - started
                assert outcome.exit_code == 0, outcome.error_text
                audio, node_seconds = json.loads(outcome.stdout)["outputs"]["gain"]
                results[f"{variant}/{name}"] = base64.b64decode(audio["$audio"]["data_b64"])
                best = {
                    # inside process(): the gain itself
                    "node_seconds": round(min(best.get("node_seconds", 1e9), node_seconds[0]), 4),
                    # the whole run: start-up, JSON in and out, the conversions
                    "run_seconds": round(min(best.get("run_seconds", 1e9), elapsed), 3),
                }
            report.setdefault(variant, {})[name] = best
    # the same float32 bytes for list and buffer, native and wasm
    gained = {k: v for k, v in results.items() if "passthrough" not in k}
    assert len(set(gained.values())) == 1, list(gained)
    passed = {k: v for k, v in results.items() if "passthrough" in k}
    assert len(set(passed.values())) == 1, list(passed)
    for variant in report:
        report[variant]["wasm_over_native"] = round(
            report[variant]["wasmtime"]["node_seconds"] / max(report[variant]["native"]["node_seconds"], 1e-6), 2
        )
    body = {
        "what": f"a Python gain node over {SECONDS} s of {RATE} Hz mono float32 audio ({RATE * SECONDS} samples)",
        "machine": machine.summary(),
        "wasm": "pipeline_executor_wasm in wasmtime, plain engine",
        "variants": report,
    }
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    fsutil.write_atomic(paths.REPORTS_DIR / "audio_buffer.json", json.dumps(body, indent=1) + "\n")
