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

**Pyodide** (npm ``pyodide``, pinned in ``bench/peers/package-lock.json``, offline from its
node_modules) runs the list-based node in Node and in Chromium (a module Worker), through the
peers bench's machinery (``peers_bench.node_python``, ``bench/peers/pages``: ``measureCases``):
its start-up (``loadPyodide()`` done), and the list and pass-through cases on the loaded
interpreter, whose difference is the nodes' own work as above; its outputs must be the bytes of
ours natively. Pyodide's numpy is a wheel that is not in the npm package (and no registry here
has it), so there is no Pyodide numpy row: its download size is the published figure of
``PYODIDE_NUMPY_PUBLISHED``, beside Pyodide's own download measured from node_modules.

``reports/numpy_bench.json`` and ``.png``; one run, fastest of ``REPS``. ``report_problems``
says what is wrong with a report (missing rows, numbers that are not finite, outputs that
differ), and nothing is written unless it is empty.
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
from . import peers_bench as pb
from . import whisper_bench as wb

REPORT_JSON = "numpy_bench.json"
REPORT_PNG = "numpy_bench.png"
BENCH_SCRIPT = paths.BROWSER_DEMO_DIR / "e2e" / "numpy-bench.mjs"
SECONDS = 60
RATE = 16000
REPS = 3
PY = paths.EXAMPLES_DIR / "python"
PASS = "class Pass:\n    def process(self, a):\n        return a\n"
NUMPY_PASS = "import numpy\n" + PASS
OUR_HOSTS = ("native", "wasmtime", "chromium")
CASES = ("list", "numpy", "pass-list", "pass-numpy")
PYODIDE_HOSTS = ("node", "chromium")
PYODIDE_CASES = ("list", "pass-list")  # Pyodide's numpy wheel is not in its npm package
# A figure from outside: no size for the wheel Pyodide 314.0.8's lock names was found published
# (its pyodide-lock.json has no size field; PyPI has no wasm32 numpy wheel); the nearest is this.
PYODIDE_NUMPY_PUBLISHED = {
    "url": "https://anaconda.org/channels/pyodide/packages/numpy/files",
    "says": "numpy-2.2.5-cp313-cp313-pyodide_2025_0_wasm32.whl | Standard Python | 2.2.5 | noarch | main | "
    "2.96 MB (also numpy-2.0.2-cp313 2.95 MB, numpy-2.0.2-cp312 2.96 MB, numpy-1.26.4-cp312 2.82 MB)",
    "wheel": "numpy-2.2.5-cp313-cp313-pyodide_2025_0_wasm32.whl",
    "bytes": 2_960_000,
    "note": "the file list of the 'pyodide' channel on anaconda.org, as that page rounds it (2.96 MB); a "
    "wheel is a zip, so about what a page downloads for it. It is numpy 2.2.5 for CPython 3.13, not the "
    "numpy 2.4.6 wheel for CPython 3.14 that the pinned Pyodide's lock names (numpy_wheel_in_lock): no "
    "published size of that wheel was found",
}


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


def pyodide_cases(cases: dict[str, dict], item: dict) -> dict[str, dict]:
    """The Pyodide cases (``measureCases``) of our list and pass-through manifests: the same
    source, classes and init, ``item`` as the one input."""
    out = {}
    for name in PYODIDE_CASES:
        nodes = [n for n in cases[name]["nodes"] if n["type"] == "Python"]
        out[name] = {
            "source": nodes[0]["params"]["source"],
            "klass": [n["params"]["class"] for n in nodes],
            "init": [n["params"].get("init", {}) for n in nodes],
            "inputs": [item],
        }
    return out


def audio_sha256(stdout: bytes) -> list[str]:
    """The SHA-256 of each output audio's float32 data in a run's stdout (what Pyodide's digests are of)."""
    try:
        outputs = json.loads(stdout)["outputs"]["out"]
        return [hashlib.sha256(base64.b64decode(a["$audio"]["data_b64"])).hexdigest() for a in outputs]
    except (ValueError, KeyError, TypeError) as exc:
        raise BuildError(f"numpy bench: no output audio in the run's stdout ({exc}): {stdout[:200]!r}") from exc


def pyodide_node(cases: dict[str, dict], reps: int) -> dict:
    """Pyodide in Node, one fresh process (node-python.mjs): its result and whether Node hung at exit."""
    ui.step("Pyodide in Node: the list node and its pass-through")
    result, hung = pb.node_python({"peer": "pyodide", "cases": cases, "reps": reps}, "node (Pyodide, numpy bench)")
    return {**result, "node_hung_at_exit": hung}


def pyodide_chromium(cases: dict[str, dict], reps: int) -> dict:
    """Pyodide in Chromium, in a module Worker of a freshly launched browser (bench/peers/pages)."""
    ui.step("Pyodide in Chromium: the list node and its pass-through (a module Worker)")
    job = {"name": "pyodide", "fn": "python", "args": {"peer": "pyodide", "cases": cases, "reps": reps}}
    with wb.bench_site({}) as (base, _):
        return wb.chromium_jobs(base, [job])[0]["value"]


def _pyodide_summary(raw: dict) -> dict:
    pb.check_pyodide_ran(raw["info"])
    runs = {case: {"run_seconds": round(raw["runs"][case]["bestMs"] / 1000, 3)} for case in PYODIDE_CASES}
    runs["list"]["node_seconds"] = round(runs["list"]["run_seconds"] - runs["pass-list"]["run_seconds"], 3)
    out = {
        "startup_s": round(raw["loadedMs"] / 1000, 3),
        "load_pyodide_s": round(raw["info"]["loadMs"] / 1000, 3),
        "runs": runs,
        "sha256": {case: raw["runs"][case]["sha256"] for case in PYODIDE_CASES},
        "raw": raw,
    }
    if "node_hung_at_exit" in raw:
        out["node_hung_at_exit"] = raw["node_hung_at_exit"]
    return out


def numpy_wheel_in_lock(pyodide: Path) -> dict:
    """The numpy entry of the pinned Pyodide's pyodide-lock.json: the wheel it would fetch (not in
    the npm package), and whether the lock says its size."""
    lock_file = pyodide / "pyodide-lock.json"
    try:
        entry = json.loads(lock_file.read_text())["packages"]["numpy"]
    except (OSError, ValueError, KeyError) as exc:
        raise BuildError(f"{lock_file}: no numpy entry ({exc})") from exc
    return {
        "file_name": entry["file_name"],
        "version": entry["version"],
        "sha256": entry["sha256"],
        "in_npm_package": (pyodide / entry["file_name"]).exists(),
        "size_in_lock": entry.get("size"),
    }


def pyodide_report(cases: dict[str, dict], item: dict, reps: int) -> dict:
    folder = pb.npm_ci()
    py_cases = pyodide_cases(cases, item)
    return {
        "version": pb.locked_pyodide(),
        "node": _pyodide_summary(pyodide_node(py_cases, reps)),
        "chromium": _pyodide_summary(pyodide_chromium(py_cases, reps)),
        "download": pb.pyodide_download(folder),
        "numpy_wheel_in_lock": numpy_wheel_in_lock(folder),
        "numpy_published": PYODIDE_NUMPY_PUBLISHED,
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


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def report_problems(report: dict) -> list[str]:
    """What is wrong with a numpy bench report: a missing host or case, run times that are not
    finite and positive, node times that are not finite, outputs that are not identical, a
    Pyodide part without its start-up, rows, digests or download sizes. Empty when it is valid."""
    problems = []
    runs = report.get("runs", {})
    for host in OUR_HOSTS:
        for case in CASES:
            got = runs.get(host, {}).get(case)
            if got is None:
                problems.append(f"runs: no {case} in {host}")
                continue
            if not pb._positive(got.get("run_seconds")):
                problems.append(f"{host} {case}: run_seconds {got.get('run_seconds')!r}")
            if case in ("list", "numpy") and not _finite(got.get("node_seconds")):
                problems.append(f"{host} {case}: node_seconds {got.get('node_seconds')!r}")
    py = report.get("pyodide")
    if py is None:
        problems.append("no pyodide part")
    else:
        problems += _pyodide_problems(py)
    same = report.get("identical_outputs", {})
    expected = {*OUR_HOSTS, "native == wasmtime (numpy)", "native == chromium (numpy)"}
    expected |= {f"native == Pyodide {host} (list)" for host in PYODIDE_HOSTS}
    if set(same) != expected:
        problems.append(f"identical_outputs has {sorted(same)}, expected {sorted(expected)}")
    differ = sorted(k for k, v in same.items() if v is not True)
    if differ:
        problems.append(f"outputs differ: {differ}")
    return problems


def _pyodide_problems(py: dict) -> list[str]:
    problems = []
    for host in PYODIDE_HOSTS:
        got = py.get(host)
        if got is None:
            problems.append(f"pyodide: no {host}")
            continue
        if not pb._positive(got.get("startup_s")):
            problems.append(f"pyodide {host}: startup_s {got.get('startup_s')!r}")
        for case in PYODIDE_CASES:
            row = got.get("runs", {}).get(case, {})
            if not pb._positive(row.get("run_seconds")):
                problems.append(f"pyodide {host} {case}: run_seconds {row.get('run_seconds')!r}")
            digests = got.get("sha256", {}).get(case)
            if not (isinstance(digests, list) and len(digests) == 1):
                problems.append(f"pyodide {host} {case}: not one output digest: {digests!r}")
        if not _finite(got.get("runs", {}).get("list", {}).get("node_seconds")):
            problems.append(f"pyodide {host} list: node_seconds not finite")
    if not pb._positive(py.get("download", {}).get("total_bytes")):
        problems.append("pyodide: no download size")
    published = py.get("numpy_published", {})
    if not (pb._positive(published.get("bytes")) and str(published.get("url", "")).startswith("https://")):
        problems.append("pyodide: no published numpy size with its URL")
    return problems


def validate(report: dict) -> None:
    """Fails with every problem of ``report_problems`` (before anything is written)."""
    pb.refuse_problems(report_problems(report), "numpy bench")


def _plot(report: dict, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise BuildError("matplotlib is missing: run through nox (group 'bench')") from exc
    runs, py = report["runs"], report["pyodide"]
    # ours on every host, then Pyodide (the list node only: its numpy is not in the npm package)
    node_times = {h: {c: runs[h][c]["node_seconds"] for c in ("list", "numpy")} for h in OUR_HOSTS}
    node_times |= {f"Pyodide\n{h}": {"list": py[h]["runs"]["list"]["node_seconds"]} for h in PYODIDE_HOSTS}
    hosts = list(node_times)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(14, 4.8))
    width = 0.38
    for i, case in enumerate(("list", "numpy")):
        have = [j for j, h in enumerate(hosts) if case in node_times[h]]
        xs = [j + (i - 0.5) * width if len(node_times[hosts[j]]) > 1 else j for j in have]  # one bar: centred
        bars = ax.bar(xs, [node_times[hosts[j]][case] for j in have], width, label=f"{case} samples", color=f"C{i}")
        ax.bar_label(bars, fmt="%.2f s", fontsize=8)
    ax.set_xticks(range(len(hosts)), hosts)
    ax.set_ylabel("seconds (gain + biquad, 60 s of 16 kHz audio)")
    ax.set_title("node time: run minus a pass-through run")
    ax.legend()
    s = report["sizes"]
    labels = ["module", "module (gzip)", "bundle (python-node)", f"Pyodide {py['version']}\n(gzip)"]
    without = [
        s["module_without_numpy"]["bytes"],
        s["module_without_numpy"]["gzip_bytes"],
        s["bundle_python_node_without_numpy"]["bytes"],
        py["download"]["total_bytes"],
    ]
    withn = [
        s["module_with_numpy"]["bytes"],
        s["module_with_numpy"]["gzip_bytes"],
        s["bundle_python_node_with_numpy"]["bytes"],
    ]
    xs = range(len(labels))
    b1 = bx.bar([x - width / 2 for x in xs], [v / 1e6 for v in without], width, label="without numpy", color="C0")
    b2 = bx.bar([x + width / 2 for x in xs[:-1]], [v / 1e6 for v in withn], width, label="with numpy", color="C1")
    published = py["numpy_published"]
    b3 = bx.bar(
        [xs[-1] + width / 2],
        [(without[-1] + published["bytes"]) / 1e6],
        width,
        color="C1",
        hatch="//",
        label=f"with numpy: + the published size of {published['wheel'].split('-cp')[0]}'s wheel (see report)",
    )
    for bars in (b1, b2, b3):
        bx.bar_label(bars, fmt="%.1f", fontsize=8)
    bx.set_xticks(list(xs), labels)
    bx.set_ylabel("MB")
    bx.set_title("size (Pyodide: what loadPyodide() fetches)")
    bx.set_ylim(0, 1.3 * max(withn) / 1e6)  # room for the legend above the bars
    bx.legend(fontsize=7, loc="upper right")
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
    pyodide = pyodide_report(cases, item, REPS)
    native_list = audio_sha256(outputs["native"]["list"])
    for host in PYODIDE_HOSTS:
        same[f"native == Pyodide {host} (list)"] = pyodide[host]["sha256"]["list"] == native_list
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
            "pyodide": f"Pyodide {pyodide['version']} (npm, offline), the list node only: startup_s from the "
            "process start (Node) / from starting the load in the page's Worker (Chromium) until loadPyodide() "
            "is done; run_seconds: one call of the harness's feed() on the loaded interpreter (the nodes built "
            "from the source, the Float32Array item made a list, the output's float32 bytes back), fastest of "
            f"{REPS}; node_seconds: minus the pass-through's; download: gzip -9 of what loadPyodide() fetches; "
            "numpy_published: a figure from outside (Pyodide's numpy wheel is not in the npm package)",
        },
        "runs": runs,
        "pyodide": pyodide,
        "identical_outputs": same,
        "sizes": sizes(),
    }
    validate(report)
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    out = paths.REPORTS_DIR / REPORT_JSON
    fsutil.write_atomic(out, json.dumps(report, indent=1))
    _plot(report, paths.REPORTS_DIR / REPORT_PNG)
    pyodide_rows = {host: {k: pyodide[host][k] for k in ("startup_s", "runs")} for host in PYODIDE_HOSTS}
    summary = {"runs": runs, "pyodide": pyodide_rows, "identical_outputs": same, "sizes": report["sizes"]}
    print(json.dumps(summary, indent=1))
    ui.ok(f"report: {out}")
    return 0
