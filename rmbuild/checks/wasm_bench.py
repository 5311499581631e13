"""``nox -s wasm_bench``: pipeline_executor_wasm against the native pipeline_executor.

Everything is measured in the same run, on the same machine, with the same
manifests; ratios are wasm / native. Writes ``reports/wasm_bench.json``.

- module size: as linked, stripped of custom sections, gzip -9 of the stripped
  module; and the standard-library zip the module needs;
- cold start to first output (the CLI prints its results when done, so first
  output = end of run): wasmtime in-process with and without the compiled-module
  cache, and whole processes (``python -m rmbuild.run.wasi`` vs the native
  binary), for a Rust-only and a Python manifest;
- per-item overhead of a node: the slope of run time over the item count
  (two item counts, so start-up cancels out) of a chain of K nodes, minus the
  slope of the same pipeline without them, divided by K; for ``Multiply`` (Rust)
  and for an identity ``Python`` node;
- native vs wasm on the example manifests and on the per-item pipelines.

Each timing is the median of several repetitions (``--full``: more, more items).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..build import native
from ..build.wasm import module as wasm_module
from ..build.wasm import stdlib, wasmbin
from ..core import fsutil, machine, paths, toolchains, ui
from ..run import executor

EXAMPLES = ("multiply_add", "python_node", "python_inline", "fan_out_fan_in", "resample")
CHAIN = 10  # nodes in the per-item chain


def _median(fn: Callable[[], float], repeats: int) -> float:
    return statistics.median(fn() for _ in range(repeats))


def _chain_manifest(kind: str, length: int) -> dict:
    nodes = [{"id": "in", "type": "PassThrough"}]
    for i in range(length):
        if kind == "rust":
            nodes.append({"id": f"n{i}", "type": "Multiply", "params": {"factor": 1}})
        else:
            source = "class Identity:\n    def process(self, x):\n        return x\n"
            nodes.append({"id": f"n{i}", "type": "Python", "params": {"class": "Identity", "source": source}})
    nodes.append({"id": "out", "type": "Output"})
    ids = [n["id"] for n in nodes]
    return {
        "version": 1,
        "name": f"{kind}_chain_{length}",
        "nodes": nodes,
        "connections": [{"from": a, "to": b} for a, b in itertools.pairwise(ids)],
    }


class Bench:
    def __init__(self, repeats: int, workdir: Path) -> None:
        self.repeats = repeats
        self.workdir = workdir
        # Private copies: a concurrent rebuild may prune the step outputs during the run.
        layout = wasm_module.layout()
        self.module_in_cache = layout.module
        self.module_sizes = wasmbin.sizes(layout.module.parent / wasm_module.MODULE_NAME)
        module = workdir / "bin" / layout.module.name
        module.parent.mkdir()
        shutil.copy2(layout.module, module)
        self.layout = layout._replace(module=module)
        self.native = executor.Native(workdir / "bin" / native.BINARY)
        shutil.copy2(native.executor_path(), self.native.binary)
        self.dirs = [paths.EXAMPLES_DIR, workdir]

    # -- one run each ---------------------------------------------------------

    def native_once(self, args: list[str]) -> float:
        return self.native.run(args).check("native run").run_seconds

    def wasm_result(self, args: list[str], use_cache: bool = True):
        return executor.Wasmtime(self.layout, use_cache=use_cache).run(args, dirs=self.dirs).check("wasm run")

    def wasm_process_once(self, args: list[str], use_cache: bool = True) -> float:
        """The whole ``python -m rmbuild.run.wasi`` process: what a command-line user waits for."""
        cmd = [sys.executable, "-m", "rmbuild.run.wasi"]
        for guest, host in {**self.layout.preopens, **executor.same_path_preopens(*self.dirs)}.items():
            cmd += ["--dir", f"{host}::{guest}"]
        cmd += [f"--env={k}={v}" for k, v in self.layout.env.items()]
        if not use_cache:
            cmd.append("--no-cache")
        cmd += [str(self.layout.module), *args]
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, check=False, timeout=600, cwd=paths.REPO)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise ui.BuildError(f"wasm process failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
        return elapsed

    def node_process_once(self, args: list[str]) -> float:
        started = time.perf_counter()
        executor.Node(self.layout).run(args, dirs=self.dirs).check("node:wasi run")
        return time.perf_counter() - started

    # -- measurements ---------------------------------------------------------

    def cold_start(self, manifest: str) -> dict:
        args = executor.run_args(paths.EXAMPLE_MANIFESTS / f"{manifest}.json", compact=False)
        r = self.repeats
        uncached = [self.wasm_result(args, use_cache=False) for _ in range(r)]
        self.wasm_result(args)  # make sure the compiled module is in the cache
        cached = [self.wasm_result(args) for _ in range(r)]
        native = _median(lambda: self.native_once(args), r)
        in_process_uncached = statistics.median(x.compile_seconds + x.run_seconds for x in uncached)
        in_process_cached = statistics.median(x.compile_seconds + x.run_seconds for x in cached)
        process_cached = _median(lambda: self.wasm_process_once(args), r)
        process_uncached = _median(lambda: self.wasm_process_once(args, use_cache=False), max(1, r // 2))
        node = _median(lambda: self.node_process_once(args), max(1, r // 2))
        return {
            "manifest": manifest,
            "native_process_s": native,
            "wasmtime_in_process": {
                "without_cache_s": in_process_uncached,
                "compile_s": statistics.median(x.compile_seconds for x in uncached),
                "with_cache_s": in_process_cached,
                "load_cached_s": statistics.median(x.compile_seconds for x in cached),
                "run_s": statistics.median(x.run_seconds for x in cached),
            },
            "wasmtime_process": {"without_cache_s": process_uncached, "with_cache_s": process_cached},
            "node_wasi_process_s": node,
            "ratio_vs_native": {
                "in_process_with_cache": in_process_cached / native,
                "in_process_without_cache": in_process_uncached / native,
                "process_with_cache": process_cached / native,
                "process_without_cache": process_uncached / native,
                "node_wasi_process": node / native,
            },
        }

    def _chain_times(self, kind: str, length: int, items: int) -> dict:
        manifest = self.workdir / f"{kind}_{length}.json"
        manifest.write_text(json.dumps(_chain_manifest(kind, length)))
        inputs = self.workdir / f"items_{items}.json"
        inputs.write_text(json.dumps([float(i % 1000) / 8 for i in range(items)]))
        args = executor.run_args(manifest, inputs)
        return {
            "native_s": _median(lambda: self.native_once(args), self.repeats),
            "wasm_s": _median(lambda: self.wasm_result(args).run_seconds, self.repeats),
        }

    def per_item(self, kind: str, small: int, large: int) -> dict:
        ui.info(f"per-item overhead of a {kind} node ({small} and {large} items, chains of 0 and {CHAIN})")
        base = {n: self._chain_times(kind, 0, n) for n in (small, large)}
        chain = {n: self._chain_times(kind, CHAIN, n) for n in (small, large)}
        out: dict[str, object] = {"chain_length": CHAIN, "items": [small, large]}
        for side in ("native", "wasm"):
            slope_base = (base[large][f"{side}_s"] - base[small][f"{side}_s"]) / (large - small)
            slope_chain = (chain[large][f"{side}_s"] - chain[small][f"{side}_s"]) / (large - small)
            out[f"{side}_us_per_node_item"] = max(slope_chain - slope_base, 0.0) / CHAIN * 1e6
            out[f"{side}_us_per_item_without_nodes"] = slope_base * 1e6
            out[f"{side}_chain_run_s_{large}_items"] = chain[large][f"{side}_s"]
        out["ratio_vs_native"] = out["wasm_us_per_node_item"] / max(out["native_us_per_node_item"], 1e-9)
        out["note"] = (
            "wasm_s is the wasmtime run time with the compiled module cached (no compile); native_s is a whole "
            "process. Start-up cancels out in the slopes."
        )
        return out

    def examples(self) -> list[dict]:
        rows = []
        for name in EXAMPLES:
            args = executor.run_args(paths.EXAMPLE_MANIFESTS / f"{name}.json", compact=False)
            native = _median(lambda a=args: self.native_once(a), self.repeats)
            runs = [self.wasm_result(args) for _ in range(self.repeats)]
            total = statistics.median(x.compile_seconds + x.run_seconds for x in runs)
            rows.append(
                {
                    "manifest": name,
                    "native_process_s": native,
                    "wasm_in_process_cached_s": total,
                    "wasm_run_s": statistics.median(x.run_seconds for x in runs),
                    "ratio_vs_native": total / native,
                }
            )
        return rows


def sizes(bench: Bench) -> dict:
    out = dict(bench.module_sizes)
    data = stdlib.zip_path().read_bytes()
    out["stdlib_zip_bytes"] = len(data)
    out["stdlib_zip_gzip_bytes"] = wasmbin.gzip_size(data)
    out["note"] = "zig links with --strip-debug and writes no name section, so stripping removes little"
    return out


def run(args: argparse.Namespace) -> int:
    import importlib.metadata

    full = bool(getattr(args, "full", False))
    repeats = 11 if full else 5
    small, large = (2000, 20000) if full else (500, 5000)
    ui.step(f"wasm benchmark ({'full' if full else 'quick'}: median of {repeats})")
    with tempfile.TemporaryDirectory(prefix="wasm-bench-") as tmp:
        bench = Bench(repeats, Path(tmp).resolve())
        report = {
            "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "mode": "full" if full else "quick",
            "repeats": repeats,
            "machine": machine.describe(),
            "tools": {
                "wasmtime_py": importlib.metadata.version("wasmtime"),
                "node": toolchains.tool_version("node", "--version", required=False),
                "rustc_wasm": toolchains.tool_version(toolchains.WASM_RUSTC, "--version"),
            },
            "module": str(bench.module_in_cache),
            "native": str(native.executor_path()),
            "size": sizes(bench),
        }
        ui.info("cold start")
        report["cold_start"] = [bench.cold_start("multiply_add"), bench.cold_start("python_inline")]
        report["per_item"] = {
            "rust_node": bench.per_item("rust", small, large),
            "python_node": bench.per_item("python", small, large),
        }
        ui.info("example manifests")
        report["examples"] = bench.examples()
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    out = fsutil.write_atomic(paths.REPORTS_DIR / "wasm_bench.json", json.dumps(report, indent=2) + "\n")
    _summary(report)
    ui.ok(f"report: {out}")
    return 0


def _summary(r: dict) -> None:
    s = r["size"]
    ui.info(
        f"module {ui.human_bytes(s['raw_bytes'])} raw, {ui.human_bytes(s['stripped_bytes'])} stripped, "
        f"{ui.human_bytes(s['gzip_bytes'])} gzip; stdlib zip {ui.human_bytes(s['stdlib_zip_bytes'])} "
        f"({ui.human_bytes(s['stdlib_zip_gzip_bytes'])} gzip)"
    )
    for c in r["cold_start"]:
        w = c["wasmtime_in_process"]
        ui.info(
            f"cold start {c['manifest']}: native {c['native_process_s'] * 1e3:.1f} ms; wasmtime "
            f"{w['without_cache_s'] * 1e3:.0f} ms uncached / {w['with_cache_s'] * 1e3:.1f} ms cached in-process, "
            f"{c['wasmtime_process']['with_cache_s'] * 1e3:.0f} ms as a process; "
            f"node:wasi {c['node_wasi_process_s'] * 1e3:.0f} ms"
        )
    for kind, p in r["per_item"].items():
        ui.info(
            f"per item, {kind}: native {p['native_us_per_node_item']:.2f} µs, wasm {p['wasm_us_per_node_item']:.2f} µs "
            f"(x{p['ratio_vs_native']:.1f})"
        )
    for e in r["examples"]:
        ui.info(
            f"{e['manifest']}: native {e['native_process_s'] * 1e3:.1f} ms, "
            f"wasm {e['wasm_in_process_cached_s'] * 1e3:.1f} ms (x{e['ratio_vs_native']:.1f})"
        )
