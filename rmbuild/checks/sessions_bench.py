"""``nox -s sessions_bench``: sessions against one-shot runs, on every host, in one run.

For a Python node (``x + 1``) and for the Whisper live pipeline
(``runtime/examples/whisper/live.json``, tiny.en q5_1, audio_ctx 512) it measures:

- **per-item latency**, one-shot vs session. One-shot: one ``run`` of one item
  (start-up, CPython, the model: everything, each time). Session: the time of one
  push once open. Hosts: native ``stream``, wasmtime ``stream`` and the reactor in
  wasmtime in this process (``rmbuild.run.reactor``), node:wasi ``stream``, and the
  package's session (``runner.open``) in Debian Chromium (``e2e/sessions-bench.mjs``).
  For ``stream`` hosts the per-item time is ``(T(n items) - T(1 item)) / (n - 1)``;
  the reactor and Chromium time each push. Whisper items are 2 s chunks of jfk.wav;
- **live captions**: 0.1 s chunks (the demo's) of a 60 s stream (jfk.wav looped), pushed as
  they would be captured (Chromium: in real time; the reactor: as fast as it goes, each
  window's latency = the compute time of the push that completes it, valid while the
  real-time factor is below 1): time from the first audio to the first caption, latency
  from the end of a window's chunk to its caption, sustained real-time factor (compute
  time / audio time), and the model files opened per session (once: at open);
- **memory**: the reactor's linear memory after 10 and after 1,000 Python items
  (wasmtime and Chromium), and after the 60 s live stream.

Ratios are from this run only; targets are reported, never asserted. Writes
``reports/sessions_bench.json`` and ``reports/sessions_bench.png``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from ..build import native, whisper
from ..build.pack import bundle
from ..build.wasm import module as wasm_module
from ..core import fsutil, machine, paths, toolchains, ui
from ..core.ui import BuildError
from ..run import executor, reactor, wasi
from . import browser

REPORT_JSON = "sessions_bench.json"
REPORT_PNG = "sessions_bench.png"
LIVE_MANIFEST = paths.EXAMPLES_DIR / "whisper" / "live.json"
PY_SOURCE = "class P:\n    def process(self, x):\n        return x + 1\n"
TARGETS = {
    "python_item_overhead_ms": 1.0,  # a Python node's per-item cost in a session, wasmtime and Chromium
    "model_loads_per_session": 1,
    "first_caption_after_window_s": 1.5,  # Chromium, from the end of the first window
}
STREAM_SECONDS = 60.0
BENCH_SCRIPT = paths.BROWSER_DEMO_DIR / "e2e" / "sessions-bench.mjs"


def _python_manifest(folder: Path) -> Path:
    m = {
        "version": 1,
        "nodes": [
            {"id": "p", "type": "Python", "params": {"class": "P", "source": PY_SOURCE}},
            {"id": "out", "type": "Output"},
        ],
        "connections": [{"from": "p", "to": "out"}],
    }
    path = folder / "python_plus_one.json"
    path.write_text(json.dumps(m))
    return path


def _live_manifest(folder: Path) -> Path:
    """live.json with its model at the host path (the bundle mounts it at /models/whisper)."""
    model = whisper.models()["q5_1"]
    text = LIVE_MANIFEST.read_text().replace("/models/whisper/ggml-tiny.en-q5_1.bin", str(model))
    m = json.loads(text)
    m.pop("inputs", None)
    path = folder / "live.json"
    path.write_text(json.dumps(m))
    return path


def _ndjson(items: list) -> bytes:
    return b"".join(json.dumps(i).encode() + b"\n" for i in items)


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _stream_per_item(host: executor.Host, manifest: Path, items: list, dirs: list[Path]) -> dict:
    """Per-item seconds of ``stream`` on ``host``: (T(n) - T(1)) / (n - 1); T(1) is start-up + one item."""
    args = ["stream", str(manifest)]
    t1 = _timed(lambda: host.run(args, stdin=_ndjson(items[:1]), dirs=dirs).check("stream 1"))
    tn = _timed(lambda: host.run(args, stdin=_ndjson(items), dirs=dirs).check(f"stream {len(items)}"))
    return {"items": len(items), "t1_s": t1, "tn_s": tn, "per_item_ms": 1000 * (tn - t1) / (len(items) - 1)}


def _one_shot(host: executor.Host, manifest: Path, item, dirs: list[Path], reps: int) -> float:
    """Median seconds of one ``run`` of one item."""
    stdin = json.dumps([item]).encode()
    args = executor.run_args(manifest, "-")
    return statistics.median(_timed(lambda: host.run(args, stdin=stdin, dirs=dirs).check("run")) for _ in range(reps))


def _reactor_session(layout: wasi.Layout, manifest: Path, items: list, memory_at: tuple[int, ...] = ()) -> dict:
    """Open once in wasmtime, push every item, timing each; memory (bytes) after the pushes named."""
    dirs = [manifest.parent, whisper.models()["q5_1"].parent]
    r = reactor.Reactor(layout._replace(preopens={**layout.preopens, **executor.same_path_preopens(*dirs)}))
    try:
        t = time.perf_counter()
        session = r.open(manifest.read_text(), str(manifest.parent))
        open_s = time.perf_counter() - t
        times, outputs, memory = [], [], {}
        for n, item in enumerate(items, 1):
            text = json.dumps(item)
            t = time.perf_counter()
            line = session.push(text)
            times.append(time.perf_counter() - t)
            outputs.append(json.loads(line)["outputs"])
            if n in memory_at:
                memory[str(n)] = r._memory.data_len(r._store)
        t = time.perf_counter()
        flushed = json.loads(session.close())["outputs"]
        close_s = time.perf_counter() - t
    finally:
        r.close()
    return {
        "open_s": open_s,
        "push_s": times,
        "outputs": outputs,
        "flush": flushed,
        "close_s": close_s,
        "memory": memory,
    }


def _live_from_pushes(push_s: list[float], outputs: list[dict], chunk_s: float) -> dict:
    """First caption and window latencies of a session fed in real time, from the compute time of
    each push (no backlog while each chunk is done before the next arrives)."""
    windows = [(i, p) for i, (p, o) in enumerate(zip(push_s, outputs, strict=True)) if o.get("out")]
    if not windows:
        return {}
    first_i, first_p = windows[0]
    backlog = sum(1 for p in push_s if p > chunk_s)
    return {
        "first_caption_s": (first_i + 1) * chunk_s + first_p,
        "first_window_end_s": (first_i + 1) * chunk_s,
        "window_latency_ms": [1000 * p for _, p in windows],
        "pushes_slower_than_real_time": backlog,
    }


def _chromium(root: Path, cases: dict, report: Path) -> dict:
    toolchains.ensure("browser")
    with browser.serving(root, isolated=False) as url:
        config = {"url": url, "chromium": str(browser.CHROMIUM), "report": str(report), **cases}
        config_path = report.with_suffix(".config.json")
        config_path.write_text(json.dumps(config))
        ui.step("Chromium: one-shot runs and sessions in the runner's worker")
        ui.run(["node", BENCH_SCRIPT, config_path], cwd=paths.BROWSER_DEMO_DIR, what="sessions bench (Chromium)")
        config_path.unlink()
    return json.loads(report.read_text())


def _plot(report: dict, out: Path) -> None:
    try:
        import matplotlib
    except ImportError as exc:
        raise BuildError("matplotlib is missing: run through nox (group 'bench')") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, kind, title in (
        (axes[0], "python", "Python node (x + 1)"),
        (axes[1], "whisper", "Whisper live, 2 s chunks"),
    ):
        rows = report["per_item"][kind]
        hosts = list(rows)
        one = [rows[h].get("one_shot_ms") or 0 for h in hosts]
        ses = [rows[h].get("session_ms") or 0 for h in hosts]
        xs = range(len(hosts))
        ax.bar([x - 0.2 for x in xs], one, 0.4, label="one-shot run (1 item)")
        ax.bar([x + 0.2 for x in xs], ses, 0.4, label="session push")
        ax.set_xticks(list(xs), hosts, rotation=20, fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("ms per item")
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.suptitle(f"sessions vs one-shot ({report['machine']['cpu']}, {report['machine']['cores']} cores)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    n_py = 1000 if args.full else 300
    reps = 5 if args.full else 3
    layout = wasm_module.layout()
    reactor_layout = layout._replace(module=wasm_module.reactor_path())
    hosts: dict[str, executor.Host] = {
        "native": native.host(),
        "wasmtime": executor.Wasmtime(layout),
        "node": executor.Node(layout),
    }
    index = bundle.build_selected(["python-node", "whisper"])
    root = browser.site(["python-node", "whisper"])
    jfk = whisper.jfk_wav()
    loops = int(STREAM_SECONDS // browser._seconds(jfk)) + 1
    chunks_2s = browser.stream_chunks(jfk, 2.0)
    stream_01 = browser.stream_chunks(jfk, 0.1, loops)[: int(STREAM_SECONDS / 0.1)]
    per_item: dict[str, dict[str, dict]] = {"python": {}, "whisper": {}}
    with tempfile.TemporaryDirectory(prefix="sessions-bench-") as tmp:
        folder = Path(tmp)
        py = _python_manifest(folder)
        live = _live_manifest(folder)
        model_dir = whisper.models()["q5_1"].parent
        py_items = list(range(n_py))
        for name, host in hosts.items():
            ui.step(f"{name}: one-shot vs stream, Python node")
            s = _stream_per_item(host, py, py_items, [folder])
            per_item["python"][f"{name} stream"] = {
                "one_shot_ms": 1000 * _one_shot(host, py, 1, [folder], reps),
                "session_ms": s["per_item_ms"],
                **s,
            }
            ui.step(f"{name}: one-shot vs stream, Whisper live on 2 s chunks")
            try:
                s = _stream_per_item(host, live, chunks_2s, [folder, model_dir])
                one = _one_shot(host, live, chunks_2s[1], [folder, model_dir], 1)
            except BuildError as exc:  # reported, not fatal: the other hosts still measure
                ui.warn(f"{name}: Whisper live failed: {exc}")
                per_item["whisper"][f"{name} stream"] = {
                    "one_shot_ms": None,
                    "session_ms": None,
                    "error": str(exc)[:300],
                }
                continue
            per_item["whisper"][f"{name} stream"] = {"one_shot_ms": 1000 * one, "session_ms": s["per_item_ms"], **s}
        ui.step("wasmtime reactor (in process): Python node, memory after 10 and 1,000 items")
        rp = _reactor_session(reactor_layout, py, list(range(1000)), (10, 1000))
        per_item["python"]["wasmtime reactor"] = {
            "one_shot_ms": per_item["python"]["wasmtime stream"]["one_shot_ms"],
            "session_ms": 1000 * statistics.median(rp["push_s"][10:]),
            "open_ms": 1000 * rp["open_s"],
        }
        ui.step("wasmtime reactor: Whisper live, 2 s chunks, then a 60 s stream in 0.1 s chunks")
        rw = _reactor_session(reactor_layout, live, chunks_2s)
        per_item["whisper"]["wasmtime reactor"] = {
            "one_shot_ms": per_item["whisper"]["wasmtime stream"]["one_shot_ms"],
            "session_ms": 1000 * statistics.mean(rw["push_s"]),
            "open_ms": 1000 * rw["open_s"],
        }
        rl = _reactor_session(reactor_layout, live, stream_01, (10, len(stream_01)))
        live_reactor = {
            **_live_from_pushes(rl["push_s"], rl["outputs"], 0.1),
            "rtf": sum(rl["push_s"]) / STREAM_SECONDS,
            "memory": rl["memory"],
            "captions": [o["out"][0]["text"] for o in rl["outputs"] if o.get("out")],
        }
        # Native and node:wasi on the 60 s stream: sustained real-time factor of `stream`.
        rtf_stream = {}
        for name, host in hosts.items():
            if per_item["whisper"][f"{name} stream"].get("error"):
                rtf_stream[f"{name} stream"] = None
                continue
            t = _timed(
                lambda host=host: host.run(
                    ["stream", str(live)], stdin=_ndjson(stream_01), dirs=[folder, model_dir]
                ).check("stream 60 s")
            )
            rtf_stream[f"{name} stream"] = t / STREAM_SECONDS
        rtf_stream["wasmtime reactor"] = live_reactor["rtf"]

        cases = {
            "python": {
                "bundle": "bundles/python-node.rmpkg",
                "manifest": json.loads(py.read_text()),
                "items": n_py,
                "reps": reps,
            },
            "whisper": {
                "bundle": "bundles/whisper.rmpkg",
                "pipeline": "live",
                "chunks2s": chunks_2s,
                "stream": stream_01,
                "chunkSeconds": 0.1,
            },
        }
        chrome = _chromium(root, cases, paths.REPORTS_DIR / "sessions_bench_chromium.json")
    per_item["python"]["chromium session"] = {
        "one_shot_ms": chrome["python"]["oneShotMs"],
        "session_ms": chrome["python"]["pushMs"],
        "call_ms": chrome["python"]["callMs"],
    }
    per_item["whisper"]["chromium session"] = {
        "one_shot_ms": chrome["whisper"]["oneShotMs"],
        "session_ms": chrome["whisper"]["pushMs"],
    }
    rtf_stream["chromium session"] = chrome["whisper"]["rtf"]
    live_chromium = chrome["whisper"]["live"]
    memory = {
        "wasmtime reactor, Python": rp["memory"],
        "chromium session, Python": chrome["python"]["memory"],
        "wasmtime reactor, live 60 s": live_reactor["memory"],
        "chromium session, live 60 s": chrome["whisper"]["memory"],
    }
    first_after_window = live_chromium["firstCaptionS"] - live_chromium["firstWindowEndS"]
    verdicts = {
        "python_item_overhead_ms": {
            "wasmtime reactor": per_item["python"]["wasmtime reactor"]["session_ms"],
            "chromium session": per_item["python"]["chromium session"]["session_ms"],
            "target": TARGETS["python_item_overhead_ms"],
        },
        "model_loads_per_session": {
            # at open the model file is opened twice (the node checks its layout, then whisper.cpp loads
            # it); a load during a push would open it again
            "chromium": 1 if live_chromium["modelOpens"] and not live_chromium["opensAfterOpen"] else None,
            "model_file_opens_at_open": live_chromium["modelOpens"],
            "file_opens_during_pushes": live_chromium["opensAfterOpen"],
            "target": TARGETS["model_loads_per_session"],
        },
        "first_caption_after_window_s": {
            "chromium": first_after_window,
            "target": TARGETS["first_caption_after_window_s"],
        },
    }
    report = {
        "machine": machine.describe(),
        "index": str(index),
        "per_item": per_item,
        "live": {"wasmtime reactor": live_reactor, "chromium session": live_chromium},
        "rtf_60s": rtf_stream,
        "memory_bytes": memory,
        "targets": verdicts,
        "notes": {
            "one_shot": "one `run` of one item: module start-up, CPython, the model, every time",
            "stream": "(T(n) - T(1)) / (n - 1) for `stream`; reactor and Chromium: each push timed",
            "live": "0.1 s chunks; Chromium pushes them in real time, the reactor as fast as it can",
        },
    }
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    json_path = fsutil.write_atomic(paths.REPORTS_DIR / REPORT_JSON, json.dumps(report, indent=1) + "\n")
    _plot(report, paths.REPORTS_DIR / REPORT_PNG)
    for kind, rows in per_item.items():
        for host, row in rows.items():
            if row.get("error"):
                ui.warn(f"{kind:8} {host:18} failed: {row['error'][:120]}")
                continue
            ui.ok(f"{kind:8} {host:18} one-shot {row['one_shot_ms']:9.1f} ms  session {row['session_ms']:8.2f} ms/item")
    ui.ok(
        f"live (Chromium): first caption {live_chromium['firstCaptionS']:.2f} s, "
        f"{first_after_window:.2f} s after the end of the first window"
    )
    ui.ok(f"RTF over 60 s: {', '.join(f'{k} {v:.2f}' for k, v in rtf_stream.items() if v is not None)}")
    ui.ok(f"report: {json_path}")
    return 0
