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
- **reactor start**: from a fresh instance of the cached compiled reactor to the
  first result of ``python_inline`` (instantiate, open, first push), the plain module
  against the one pre-initialised at build time (CPython already started), in wasmtime in
  this process and in Debian Chromium (the runner's session open and first push in its
  Worker, the module compiled by an earlier open of the same loaded runner; the plain
  reactor from a bench-only copy of the python-node bundle, ``plain_reactor_bundle``);
  every result must be equal (``--start-only``: just this, ``reports/sessions_bench_start.json``);
- **memory**: the reactor's linear memory after 10 and after 1,000 Python items
  (wasmtime and Chromium), and on the 60 s live stream after 1 s (the model loaded, no
  window decoded yet), after 10 s (whisper.cpp's decode buffers allocated by the first
  windows) and at the end: flat means the last two are equal.

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
from ..core import fsutil, machine, paths, steps, toolchains, ui
from ..core.rmpkg import rmpkg
from ..core.ui import BuildError
from ..run import executor, reactor, wasi
from . import browser
from . import numpy_bench as nb
from . import peers_bench as pb

REPORT_JSON = "sessions_bench.json"
REPORT_PNG = "sessions_bench.png"
# --start-only: just the reactor start (plain vs pre-initialised, wasmtime and Chromium)
START_ONLY_JSON = "sessions_bench_start.json"
START_ONLY_CHROMIUM_JSON = "sessions_bench_start_chromium.json"  # what sessions-bench.mjs wrote
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
                memory[str(n)] = r.memory_bytes()
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


START_MANIFEST = "python_inline"
START_PIPELINE = START_MANIFEST  # the same manifest, a pipeline of the python-node bundle
START_BUNDLE = "python-node"
START_HOSTS = ("wasmtime", "chromium")
START_VARIANTS = ("plain", "preinit")
START_PHASES = ("instantiate", "open", "first_push")
# issue 19: from a cached compiled module to the first result (reported, not asserted)
START_TARGETS_MS = {"wasmtime": 20.0, "chromium": 100.0}


def start_item() -> str:
    """The first input item of ``START_MANIFEST``, as JSON text (what both hosts push)."""
    manifest = paths.EXAMPLE_MANIFESTS / f"{START_MANIFEST}.json"
    return json.dumps(json.loads(manifest.read_text())["inputs"][0])


def _start_row(samples: list[tuple[float, ...]]) -> dict[str, object]:
    """Milliseconds per phase (``START_PHASES``, then their total) of start samples in
    seconds: the median (``<phase>_ms``) and the best (``<phase>_best_ms``); and every
    sample's total in order (``totals_ms``: in Chromium later ones can be faster, V8 tiering up)."""
    columns = {key: [1000 * sample[i] for sample in samples] for i, key in enumerate(START_PHASES)}
    columns["total"] = [1000 * sum(sample) for sample in samples]
    row: dict[str, object] = {}
    for key, values in columns.items():
        row[f"{key}_ms"] = statistics.median(values)
        row[f"{key}_best_ms"] = min(values)
    row["totals_ms"] = columns["total"]
    return row


def _one_result(results: dict[str, set[str]]) -> str:
    """The one result every host and module gave; BuildError naming who gave what otherwise."""
    every = set().union(*results.values())
    if len(every) != 1:
        given = "; ".join(f"{who}: {sorted(texts)}" for who, texts in results.items())
        raise BuildError(
            f"the plain and the pre-initialised reactor gave different first results of {START_MANIFEST}: {given}"
        )
    return every.pop()


def reactor_start(layout: wasi.Layout, reps: int) -> dict:
    """Start of the reactor in wasmtime, in this process, from the cached compiled
    module: instantiate (and ``_initialize``), open ``START_MANIFEST``, push its first
    item; per phase the median and best ms of ``reps`` fresh instances, the plain module
    and the one pre-initialised at build time (``build/wasm/preinit.py``), and the results
    (``"first_result"`` when all are equal: else BuildError)."""
    text = (paths.EXAMPLE_MANIFESTS / f"{START_MANIFEST}.json").read_text()
    first = start_item()
    out: dict[str, object] = {}
    results: dict[str, set[str]] = {}
    for name in START_VARIANTS:
        module = wasm_module.reactor_path(preinit=name == "preinit")
        samples = []
        results[f"wasmtime {name}"] = set()
        for rep in range(reps + 1):  # the first one makes sure the compiled module is cached
            t0 = time.perf_counter()
            r = reactor.Reactor(layout._replace(module=module))
            try:
                t1 = time.perf_counter()
                session = r.open(text)
                t2 = time.perf_counter()
                results[f"wasmtime {name}"].add(session.push(first))
                t3 = time.perf_counter()
                session.close()
            finally:
                r.close()
            if rep:
                samples.append((t1 - t0, t2 - t1, t3 - t2))
        out[name] = {**_start_row(samples), "module_bytes": module.stat().st_size}
    out["first_result"] = _one_result(results)
    return out


def plain_reactor_bundle(shipped: Path) -> Path:
    """A bench-only copy of the bundle ``shipped`` with its reactor member replaced by the
    plain reactor of the same build (``reactor_path(preinit=False)``, numpy or not as the
    bundle): what the runner opens to time the plain module; nothing ships it. A cached step."""
    bundle_ = rmpkg.read(shipped)
    meta = bundle_.metadata
    member = meta["runtime"]["reactor"]
    numpy = "numpy" in meta["provenance"]
    preinit = wasm_module.reactor_path(numpy=numpy)
    plain = wasm_module.reactor_path(preinit=False, numpy=numpy)
    if fsutil.sha256_file(preinit) != meta["provenance"]["runtime_reactor_sha256"]:
        raise BuildError(f"{shipped}: its reactor is not this build's pre-initialised one ({preinit}): pack it again")
    name = f"{meta['name']}-plain"

    def make(out: Path) -> None:
        files = dict(bundle_.files)
        files[member] = plain.read_bytes()
        copy = {k: v for k, v in meta.items() if k not in ("format", "format_version", "members")}
        copy["name"] = name
        copy["title"] = f"{meta.get('title', meta['name'])} (benchmark: the plain reactor, not pre-initialised)"
        copy["provenance"] = {**meta["provenance"], "runtime_reactor_sha256": fsutil.sha256_file(plain)}
        rmpkg.write(out / f"{name}.rmpkg", copy, files)

    return steps.cached(f"bench-rmpkg-{name}", [shipped, plain, Path(__file__)], {}, make) / f"{name}.rmpkg"


def chromium_start_case(site_root: Path, reps: int) -> tuple[dict, dict[str, Path]]:
    """The ``start`` case of ``e2e/sessions-bench.mjs`` on a site built by ``browser.site``
    (with ``START_BUNDLE``), and the files the server adds for it (the plain bundle)."""
    shipped = site_root / "bundles" / f"{START_BUNDLE}.rmpkg"
    plain = plain_reactor_bundle(shipped)
    case = {
        "bundles": {"plain": f"{browser.TEST_PREFIX}files/{plain.name}", "preinit": f"bundles/{shipped.name}"},
        "pipeline": START_PIPELINE,
        "item": start_item(),
        "reps": reps,
    }
    return case, {plain.name: plain}


def chromium_start(raw: dict, reps: int) -> dict:
    """The Chromium rows of the start, from what ``e2e/sessions-bench.mjs`` measured (``start``):
    per phase ms like ``reactor_start``'s, the round trips the page saw, the first open's
    compile time and its whole start (not counted in the rest), and the results. BuildError
    if a measured open compiled again (its ``compileMs`` not 0), or the bundles' reactors are
    not the modules named."""
    out: dict[str, object] = {}
    results: dict[str, set[str]] = {}
    for name in START_VARIANTS:
        got = raw[name]
        module = wasm_module.reactor_path(preinit=name == "preinit")
        if got["reactorSha256"] != fsutil.sha256_file(module):
            raise BuildError(f"Chromium {name}: the bundle's reactor ({got['reactorSha256']}) is not {module}")
        runs = got["reps"]
        if len(runs) != reps:
            raise BuildError(f"Chromium {name}: {len(runs)} measured opens, expected {reps}")
        recompiled = [r["compileMs"] for r in runs if r["compileMs"] != 0]
        if recompiled:
            raise BuildError(f"Chromium {name}: a measured open compiled the module again ({recompiled} ms)")
        first = got["first"]
        results[f"chromium {name}"] = {first["text"], *(r["text"] for r in runs)}
        samples = [(r["instantiateMs"] / 1000, r["openMs"] / 1000, r["firstPushMs"] / 1000) for r in runs]
        out[name] = {
            **_start_row(samples),
            "caller_ms": statistics.median(r["openCallMs"] + r["pushCallMs"] for r in runs),
            "compile_ms": first["compileMs"],
            # the open before them, which compiled: what the first session of a loaded runner costs
            "uncached_total_ms": sum(first[k] for k in ("compileMs", "instantiateMs", "openMs", "firstPushMs")),
            "module_bytes": got["reactorBytes"],
        }
    out["first_result"] = _one_result(results)
    return out


def start_report(wasmtime: dict, chromium: dict, reps: int) -> dict:
    """The ``reactor_start`` part of the reports: both hosts, their results equal (else BuildError)."""
    parts = {"wasmtime": wasmtime, "chromium": chromium}
    first = _one_result({host: {part["first_result"]} for host, part in parts.items()})
    hosts = {host: {name: part[name] for name in START_VARIANTS} for host, part in parts.items()}
    return {
        "manifest": START_MANIFEST,
        "item": start_item(),
        "reps": reps,
        **hosts,
        "first_result": first,
        "targets_ms": START_TARGETS_MS,
        "notes": {
            "wasmtime": "in this process (rmbuild.run.reactor): a new instance of the compiled module, "
            "its open, the first push",
            "chromium": "the runner's session in its Worker: open (compileMs 0, compiled by an earlier open of the "
            "same loaded runner) split at rm_session_open into instantiate and open, then the first push's callMs; "
            "caller_ms: the page's round trips of both; compile_ms and uncached_total_ms: the open before the "
            "measured ones, which compiled the module (V8 compiles functions lazily, on their first call),",
            "ms": "<phase>_ms the median, <phase>_best_ms the best of reps; total = the three phases; "
            "totals_ms: every rep's, in order",
        },
    }


def _ms(value: object) -> bool:
    """A finite time, 0 or more (a phase shorter than the clock's step reads 0)."""
    return nb._finite(value) and value >= 0


def report_problems(report: dict) -> list[str]:
    """What is wrong with the start part (``reactor_start``) of a sessions bench report: a host
    or module missing, phase times that are not finite (totals: not positive), a total that is
    not its phases', a Chromium open that compiled, no module size, no common first result.
    Empty when it is valid."""
    problems = []
    if "machine" not in report:
        problems.append("no machine")
    start = report.get("reactor_start")
    if not isinstance(start, dict):
        return [*problems, "no reactor_start"]
    if not (isinstance(start.get("reps"), int) and start["reps"] > 0):
        problems.append(f"reactor_start reps {start.get('reps')!r}")
    if not (isinstance(start.get("first_result"), str) and start["first_result"]):
        problems.append("reactor_start: no first result")
    for host in START_HOSTS:
        for name in START_VARIANTS:
            row = start.get(host, {}).get(name)
            if not isinstance(row, dict):
                problems.append(f"reactor_start: no {host} {name}")
                continue
            where = f"reactor_start {host} {name}"
            for suffix in ("_ms", "_best_ms"):
                keys = [f"{k}{suffix}" for k in START_PHASES]
                bad = {k: row.get(k) for k in keys if not _ms(row.get(k))}
                if bad:
                    problems.append(f"{where}: not finite: {bad}")
                total = row.get(f"total{suffix}")
                if not pb._positive(total):
                    problems.append(f"{where}: total{suffix} {total!r}")
            totals = row.get("totals_ms")
            if not (isinstance(totals, list) and len(totals) == start.get("reps") and all(map(pb._positive, totals))):
                problems.append(f"{where}: totals_ms is not reps positive times: {totals!r}")
            elif row.get("total_best_ms") != min(totals):
                problems.append(f"{where}: total_best_ms is not the best of totals_ms")
            best = [row.get(f"{k}_best_ms") for k in START_PHASES]
            # the best total is one sample's sum: at least the sum of the best phases
            if all(_ms(v) for v in best) and _ms(row.get("total_best_ms")) and row["total_best_ms"] < sum(best) - 1e-6:
                problems.append(f"{where}: total_best_ms is less than its best phases")
            wanted = ["module_bytes", *(["compile_ms", "uncached_total_ms", "caller_ms"] if host == "chromium" else [])]
            bad = {k: row.get(k) for k in wanted if not pb._positive(row.get(k))}
            if bad:
                problems.append(f"{where}: not finite and positive: {bad}")
    return problems


def validate(report: dict) -> None:
    """Fails with every problem of ``report_problems`` (before anything is written)."""
    pb.refuse_problems(report_problems(report), "sessions bench")


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


def _chromium(root: Path, cases: dict, report: Path, files: dict[str, Path] | None = None) -> dict:
    """Run ``e2e/sessions-bench.mjs`` on ``cases`` (``python``, ``whisper``, ``start``: any of
    them) with ``root`` served (and ``files`` under the server's files route); its report."""
    toolchains.ensure("browser")
    with browser.serving(root, isolated=False, extra_files=files) as url:
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


def chromium_start_raw(reps: int) -> dict:
    """The start case alone in Chromium (the site with ``START_BUNDLE``): what
    ``e2e/sessions-bench.mjs`` measured, for ``chromium_start``."""
    root = browser.site([START_BUNDLE])
    case, files = chromium_start_case(root, reps)
    return _chromium(root, {"start": case}, paths.REPORTS_DIR / START_ONLY_CHROMIUM_JSON, files)["start"]


def _print_start(start: dict) -> None:
    for host in START_HOSTS:
        for name in START_VARIANTS:
            row = start[host][name]
            ui.ok(
                f"reactor start, {host} ({name}): {row['total_ms']:.1f} ms, best {row['total_best_ms']:.1f} "
                f"(instantiate {row['instantiate_ms']:.1f}, open {row['open_ms']:.1f}, "
                f"first push {row['first_push_ms']:.1f}; target {START_TARGETS_MS[host]:.0f} ms)"
            )


def run(args: argparse.Namespace) -> int:
    n_py = 1000 if args.full else 300
    reps = 5 if args.full else 3
    start_reps = 5 * reps
    layout = wasm_module.layout()
    ui.step(f"wasmtime reactor (in process): start to the first result of {START_MANIFEST}, plain vs pre-initialised")
    wasmtime_start = reactor_start(layout, start_reps)
    if args.start_only:
        ui.step(f"Chromium: the runner's open of {START_PIPELINE} and first push, plain vs pre-initialised")
        start = start_report(wasmtime_start, chromium_start(chromium_start_raw(start_reps), start_reps), start_reps)
        report = {"machine": machine.describe(), "reactor_start": start}
        validate(report)
        _print_start(start)
        paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
        json_path = fsutil.write_atomic(paths.REPORTS_DIR / START_ONLY_JSON, json.dumps(report, indent=1) + "\n")
        ui.ok(f"report: {json_path}")
        return 0
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
    live_memory_at = (10, 100, len(stream_01))  # pushes of 0.1 s: 1 s, 10 s, the end
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
        rl = _reactor_session(reactor_layout, live, stream_01, live_memory_at)
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
                "memoryAt": live_memory_at,
            },
        }
        cases["start"], start_files = chromium_start_case(root, start_reps)
        chrome = _chromium(root, cases, paths.REPORTS_DIR / "sessions_bench_chromium.json", start_files)
    start = start_report(wasmtime_start, chromium_start(chrome["start"], start_reps), start_reps)
    per_item["python"]["chromium session"] = {
        "one_shot_ms": chrome["python"]["oneShotMs"],
        "session_ms": chrome["python"]["pushMs"],
        "call_ms": chrome["python"]["callMs"],
        # the session's open on the (pre-initialised) reactor, compiled module cached
        "open_ms": chrome["python"].get("openMs"),
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
        "reactor_start": start,
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
    validate(report)
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    json_path = fsutil.write_atomic(paths.REPORTS_DIR / REPORT_JSON, json.dumps(report, indent=1) + "\n")
    _plot(report, paths.REPORTS_DIR / REPORT_PNG)
    _print_start(start)
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
