"""numpy in Python nodes, measured: a gain + biquad over 60 s of 16 kHz mono audio
(960,000 samples, one item), on Python lists (``runtime/examples/python/audio_lists.py``)
vs numpy (``numpy_audio.py``: the gain vectorised, the biquad's feed-forward part
vectorised and its recursion per sample), natively (the host's numpy 2.4.6 as it is),
in wasmtime (plain engine) and in Debian Chromium (the python-node bundle through the
runner's ``PipelineRunner.run``). Each pipeline also runs as a pass-through (the same
item in and out, with numpy imported or not): the difference is the nodes' own work.
The list and numpy pipelines print the same bytes (checked).

Sizes: the wasm module with and without numpy's built-in modules (the latter a build of
its own: ``module.build_module(numpy=False)``), numpy's Python zip, and the python-node
bundle packed with its numpy pipelines and without them (``[python] numpy = false``,
its module without numpy).

``reports/numpy_bench.json`` and ``.png``; one run, fastest of ``REPS``.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import gzip
import hashlib
import json
import math
import struct
import tempfile
from pathlib import Path

from ..build import native
from ..build.pack import bundle
from ..build.wasm import module as wasm_module
from ..build.wasm import numpy as numpy_build
from ..core import fsutil, machine, paths, toolchains, ui
from ..core.ui import BuildError
from ..run import executor
from . import browser

REPORT_JSON = "numpy_bench.json"
REPORT_PNG = "numpy_bench.png"
BENCH_SCRIPT = paths.BROWSER_DEMO_DIR / "e2e" / "numpy-bench.mjs"
SECONDS = 60
RATE = 16000
REPS = 3
PY = paths.EXAMPLES_DIR / "python"
PASS = "class Pass:\n    def process(self, a):\n        return a\n"
NUMPY_PASS = "import numpy\n" + PASS


def signal() -> list[float]:
    """60 s at 16 kHz: a 200 Hz -> 4 kHz sweep plus a 5 kHz tone (computed with Python's math)."""
    n = SECONDS * RATE
    return [
        0.5 * math.sin(2 * math.pi * (200 + 3800 * i / n / 2) * i / RATE)
        + 0.2 * math.sin(2 * math.pi * 5000 * i / RATE)
        for i in range(n)
    ]


def audio_item(samples: list[float]) -> dict:
    data = struct.pack(f"<{len(samples)}f", *samples)
    return {"$audio": {"sample_rate": RATE, "channels": 1, "data_b64": base64.b64encode(data).decode()}}


def manifests() -> dict[str, dict]:
    """The pipelines, their node code inline (every host runs the same manifest)."""
    lists = (PY / "audio_lists.py").read_text()
    numpy_src = (PY / "numpy_audio.py").read_text()

    def chain(source: str, gain: str, biquad: str) -> dict:
        return {
            "version": 1,
            "nodes": [
                {
                    "id": "gain",
                    "type": "Python",
                    "params": {"class": gain, "source": source, "init": {"gain_db": -3.0}},
                },
                {"id": "lowpass", "type": "Python", "params": {"class": biquad, "source": source, "init": {}}},
                {"id": "out", "type": "Output"},
            ],
            "connections": [{"from": "gain", "to": "lowpass"}, {"from": "lowpass", "to": "out"}],
        }

    def passthrough(source: str) -> dict:
        return {
            "version": 1,
            "nodes": [
                {"id": "p", "type": "Python", "params": {"class": "Pass", "source": source}},
                {"id": "out", "type": "Output"},
            ],
            "connections": [{"from": "p", "to": "out"}],
        }

    return {
        "list": chain(lists, "GainList", "BiquadList"),
        "numpy": chain(numpy_src, "Gain", "Biquad"),
        "pass-list": passthrough(PASS),
        "pass-numpy": passthrough(NUMPY_PASS),
    }


def _best(host, args: list[str], reps: int, **kw) -> tuple[float, bytes]:
    times, out = [], b""
    for _ in range(reps):
        outcome = host.run(args, **kw).check("numpy bench")
        times.append(outcome.run_seconds)
        out = outcome.stdout
    return min(times), out


def _gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 9, mtime=0))


def sizes() -> dict[str, object]:
    with_np = wasm_module.build_module()
    ui.step("the module without numpy's built-in modules (to measure what numpy adds)")
    spec = bundle.demo_spec("python-node")
    with_bundle = bundle.build(spec)
    plain_spec = dataclasses.replace(
        spec,
        name="python-node-without-numpy",
        numpy=False,
        pipelines=tuple(p for p in spec.pipelines if not p.name.startswith("numpy")),
        sources=tuple(s for s in spec.sources if s.name != "numpy_audio.py"),
    )
    plain_bundle = bundle.build(plain_spec)  # takes the module without numpy (no numpy import)
    without_np = wasm_module.build_module(numpy=False)
    zip_path = numpy_build.python_zip()

    def module(folder: Path) -> dict[str, int]:
        m = folder / wasm_module.STRIPPED_NAME
        return {
            "bytes": m.stat().st_size,
            "gzip_bytes": _gz(m),
            "reactor_bytes": (folder / wasm_module.REACTOR_NAME).stat().st_size,
        }

    return {
        "module_with_numpy": module(with_np),
        "module_without_numpy": module(without_np),
        "numpy_zip": {"bytes": zip_path.stat().st_size, "gzip_bytes": _gz(zip_path)},
        "bundle_python_node_with_numpy": {
            "bytes": with_bundle.stat().st_size,
            "pipelines": [p.name for p in spec.pipelines],
        },
        "bundle_python_node_without_numpy": {
            "bytes": plain_bundle.stat().st_size,
            "pipelines": [p.name for p in plain_spec.pipelines],
        },
    }


def _chromium(manifests_: dict[str, dict], item: dict, reps: int, report: Path) -> dict:
    toolchains.ensure("browser")
    root = browser.site(["python-node"])
    with browser.serving(root, isolated=False) as url:
        config = {
            "url": url,
            "chromium": str(browser.CHROMIUM),
            "report": str(report),
            "bundle": "bundles/python-node.rmpkg",
            "manifests": manifests_,
            "item": item,
            "reps": reps,
        }
        config_path = report.with_suffix(".config.json")
        config_path.write_text(json.dumps(config))
        ui.step("Chromium: the same pipelines in the runner's worker (python-node bundle)")
        ui.run(["node", BENCH_SCRIPT, config_path], cwd=paths.BROWSER_DEMO_DIR, what="numpy bench (Chromium)")
        config_path.unlink()
    return json.loads(report.read_text())


def _plot(report: dict, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise BuildError("matplotlib is missing: run through nox (group 'bench')") from exc
    runs = report["runs"]
    hosts = list(runs)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.38
    for i, case in enumerate(("list", "numpy")):
        node = [runs[h][case]["node_seconds"] for h in hosts]
        xs = [j + (i - 0.5) * width for j in range(len(hosts))]
        bars = ax.bar(xs, node, width, label=f"{case} samples")
        ax.bar_label(bars, fmt="%.2f s", fontsize=8)
    ax.set_xticks(range(len(hosts)), hosts)
    ax.set_ylabel("seconds (gain + biquad, 60 s of 16 kHz audio)")
    ax.set_title("node time: run minus a pass-through run")
    ax.legend()
    s = report["sizes"]
    labels = ["module", "module (gzip)", "bundle (python-node)"]
    without = [
        s["module_without_numpy"]["bytes"],
        s["module_without_numpy"]["gzip_bytes"],
        s["bundle_python_node_without_numpy"]["bytes"],
    ]
    withn = [
        s["module_with_numpy"]["bytes"],
        s["module_with_numpy"]["gzip_bytes"],
        s["bundle_python_node_with_numpy"]["bytes"],
    ]
    xs = range(len(labels))
    b1 = bx.bar([x - width / 2 for x in xs], [v / 1e6 for v in without], width, label="without numpy")
    b2 = bx.bar([x + width / 2 for x in xs], [v / 1e6 for v in withn], width, label="with numpy")
    bx.bar_label(b1, fmt="%.1f", fontsize=8)
    bx.bar_label(b2, fmt="%.1f", fontsize=8)
    bx.set_xticks(list(xs), labels)
    bx.set_ylabel("MB")
    bx.set_title("size")
    bx.legend()
    fig.suptitle(f"numpy {report['numpy']} in Python nodes ({report['machine']['cpu']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def run(args: argparse.Namespace) -> int:
    ui.step(f"numpy bench: gain + biquad over {SECONDS} s of {RATE} Hz audio, lists vs numpy")
    item = audio_item(signal())
    cases = manifests()
    layout = wasm_module.layout(numpy=True)
    env = {"PYTHONPATH": numpy_build.native_env()["PYTHONPATH"]}  # the host numpy as it is (its SIMD on)
    hosts = {"native": (native.host(), {"env": env}), "wasmtime": (executor.Wasmtime(layout, plain=True), {})}
    runs: dict[str, dict[str, dict]] = {}
    outputs: dict[str, dict[str, bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="numpy-bench-") as tmp:
        folder = Path(tmp)
        inputs = folder / "item.json"
        inputs.write_text(json.dumps([item]))
        for host_name, (host, kw) in hosts.items():
            runs[host_name], outputs[host_name] = {}, {}
            for case, m in cases.items():
                ui.info(f"{host_name}: {case}")
                mf = folder / f"{case}.json"
                mf.write_text(json.dumps(m))
                seconds, out = _best(host, executor.run_args(mf, inputs), REPS, dirs=[folder], timeout=900, **kw)
                runs[host_name][case] = {"run_seconds": round(seconds, 3)}
                outputs[host_name][case] = out
        chrome = _chromium(cases, item, REPS, paths.REPORTS_DIR / "numpy_bench_chromium.json")
    # runMs: the module's run (start-up, the item in and out), as run_seconds is for the CLI
    runs["chromium"] = {case: {"run_seconds": round(ms / 1000, 3)} for case, ms in chrome["runMs"].items()}
    same = {h: outputs[h]["list"] == outputs[h]["numpy"] for h in outputs}
    same["chromium"] = chrome["digests"]["list"] == chrome["digests"]["numpy"]
    same["native == wasmtime (numpy)"] = outputs["native"]["numpy"] == outputs["wasmtime"]["numpy"]
    same["native == chromium (numpy)"] = (
        hashlib.sha256(outputs["native"]["numpy"]).hexdigest() == chrome["digests"]["numpy"]
    )
    for host_runs in runs.values():
        for case, base in (("list", "pass-list"), ("numpy", "pass-numpy")):
            host_runs[case]["node_seconds"] = round(host_runs[case]["run_seconds"] - host_runs[base]["run_seconds"], 3)
    report = {
        "machine": machine.describe(),
        "numpy": numpy_build.version(),
        "audio": {"seconds": SECONDS, "sample_rate": RATE, "samples": SECONDS * RATE, "items": 1},
        "method": {
            "runs": f"fastest of {REPS}; run_seconds: the whole run (start-up, the 3.8 MB audio item in and out); "
            "node_seconds: minus the pass-through pipeline's run (same item, numpy imported or not)",
            "native": "pipeline_executor with the host numpy 2.4.6 wheel (PYTHONPATH; its SIMD kernels on)",
            "wasmtime": "pipeline_executor_wasm, wasmtime plain engine, numpy built in, numpy.zip beside the stdlib",
            "chromium": "the python-node bundle in Debian Chromium, PipelineRunner.run (shim backend, worker)",
        },
        "runs": runs,
        "identical_outputs": same,
        "sizes": sizes(),
    }
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    out = paths.REPORTS_DIR / REPORT_JSON
    fsutil.write_atomic(out, json.dumps(report, indent=1))
    _plot(report, paths.REPORTS_DIR / REPORT_PNG)
    print(json.dumps({"runs": runs, "identical_outputs": same, "sizes": report["sizes"]}, indent=1))
    ui.ok(f"report: {out}")
    return 0
