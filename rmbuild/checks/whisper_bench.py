"""``nox -s whisper_bench``: the same whisper.cpp source and models, native and wasm.

For every model (f16, q8_0, q5_1) and fixed audio (jfk.wav, 11 s; an espeak-ng
utterance, ~47 s) it transcribes once natively (the reference) and once in wasmtime,
one thread each, beam search 5 (whisper-cli's default), and records:

- RTF = whisper's total processing time (model load included, module compilation
  not) / audio duration; also without the model load;
- whisper's own encoder, decoder (batched + single), sampling, mel and load times;
- the wasm/native ratio; wasm runs twice: on a plain engine with a precompiled
  module (the headline) and through the project's ``wasi_runner`` (epoch
  interruption on for its time limit: ~2x slower on whisper); and the relaxed-SIMD
  variant ``whisper-cli-relaxed.wasm`` on the plain engine (``wasm-relaxed``: the same
  bits, checked; only q5_1's products differ in code);
- the module's compile time (cold, and loading the cached compiled module), apart;
- the transcripts, and whether native and wasm agree (they must for f16).

It also runs the full pipeline (``MediaReader -> Resample -> Whisper ->
Output``, ``runtime/examples/whisper/transcribe.json``, same models and audio, 1
thread) with the native ``pipeline_executor`` and ``pipeline_executor_wasm`` (plain
engine, precompiled module), greedy (the node's default; with f16 both targets must
print the same bytes) and beam 5 (like for like with the CLI rows), and records its
RTF = the executor's whole run (start-up, WAV read, resampling, model load,
transcription, JSON output; module compilation not included) / audio seconds.

Both parts have Chromium rows, measured in the same run: Debian Chromium (headless,
127.0.0.1 only) runs the same wasm modules on the runner's shim backend
(``browser-demo/runner/src/backends/shim.ts``) in a Web Worker: whisper-cli.wasm with
its whisper timings (so encoder/decoder/load compare with wasmtime's), and the
``PipelineRunner`` on a bundle packed like the demo's whisper bundle with the row's
model and audio (``bench_bundle``). A compiled module is reused between runs, as in the
runner; each case runs at least twice and the fastest counts (the first run, which
also pays V8's lazy compilation and tier-up, is recorded as ``first_run_*``). The page
side is ``bench/peers/pages/`` (``bench.js``, ``cli-worker.js``), driven by
``bench/peers/chromium.mjs``.

And ggml's mul_mat alone (``bench/whisper/mul_mat_bench.c``: f16, q8_0, q5_1 in tiny.en's
encoder and decoder shapes, the fastest of many calls in one process): natively against
the native archives, and in wasmtime against both wasm archives (SIMD128, relaxed SIMD),
section ``kernels``; the two wasm archives must give the same checksums.

Writes ``reports/whisper_bench.json`` and ``reports/whisper_bench.png``.
``--full`` repeats every run 3 times and keeps the fastest.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import itertools
import json
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..build import native, whisper
from ..build.wasm import flags as wasm_flags
from ..build.wasm import module as wasm_module
from ..core import fsutil, machine, paths, toolchains, ui
from ..core.ui import BuildError
from ..run import executor, wasi
from ..run.outcome import Outcome
from . import whisper_pipeline as wp

TARGET_RTF_WASM = 2.0  # the proposal: RTF < 2.0 in wasm ...
TARGET_RATIO = 2.0  # ... and wasm less than 2x native
REPORT_JSON = "whisper_bench.json"
REPORT_PNG = "whisper_bench.png"
KERNEL_BENCH = paths.REPO / "bench" / "whisper" / "mul_mat_bench.c"


def _module_compile(module: Path) -> dict[str, object]:
    """Compile time of the module, cold and from wasi_runner's cache, for the engine with
    epoch interruption and for the plain one (which the RTF rows use)."""
    cold = wasi.run(module, ["-h"], use_cache=False, program_name="whisper-cli")
    wasi.run(module, ["-h"], program_name="whisper-cli")  # stores the compiled module
    cached = wasi.run(module, ["-h"], program_name="whisper-cli")
    plain_cold = wasi.run(module, ["-h"], use_cache=False, program_name="whisper-cli", plain=True)
    wasi.run(module, ["-h"], program_name="whisper-cli", plain=True)
    return {
        "module_bytes": module.stat().st_size,
        "compile_cold_seconds": round(cold.compile_seconds, 3),
        "load_cached_seconds": round(cached.compile_seconds, 3),
        "cached": bool(cached.compiled_from_cache),
        "precompiled_bytes": wasi.compiled_path(module, epoch=False).stat().st_size,
        "precompile_seconds": round(plain_cold.compile_seconds, 3),
        "note": "module compilation is never part of the RTF: wasm rows load a precompiled module",
    }


# (row label, transcribe target, wasm engine, relaxed-SIMD variant)
TARGETS = (
    ("native", "native", "runner", False),
    ("wasm", "wasm", "plain", False),  # the headline: precompiled module, no epoch interruption
    ("wasm-relaxed", "wasm", "plain", True),  # whisper-cli-relaxed.wasm: the same bits, faster q5_1
    ("wasm-epoch", "wasm", "runner", False),  # the project's wasi_runner (epoch-interruption time limit)
)


def _best_of(target: str, engine: str, relaxed: bool, model: Path, audio: Path, repeats: int) -> whisper.Transcript:
    best = None
    for _ in range(repeats):
        result = whisper.transcribe(target, model, audio, engine=engine, relaxed_simd=relaxed)
        if best is None or result.timings_ms.get("total", 1e12) < best.timings_ms.get("total", 1e12):
            best = result
    assert best is not None
    return best


def _row(result: whisper.Transcript, label: str, model: str, audio_name: str, seconds: float) -> dict[str, object]:
    t = result.timings_ms
    total = t.get("total", result.run.run_seconds * 1000)
    load = t.get("load", 0.0)
    return {
        "model": model,
        "audio": audio_name,
        "audio_seconds": round(seconds, 3),
        "target": label,
        "engine": result.engine or None,
        "rtf": round(total / 1000 / seconds, 4),
        "rtf_without_load": round((total - load) / 1000 / seconds, 4),
        "total_ms": round(total, 1),
        "load_ms": round(load, 1),
        "mel_ms": round(t.get("mel", 0.0), 1),
        "encode_ms": round(t.get("encode", 0.0), 1),
        "decode_ms": round(t.get("decode", 0.0) + t.get("batchd", 0.0) + t.get("prompt", 0.0), 1),
        "sample_ms": round(t.get("sample", 0.0), 1),
        "wall_seconds": round(result.run.run_seconds, 3),
        "module_load_seconds": round(result.run.compile_seconds, 3) if result.target != "native" else None,
        **({"first_run_total_ms": round(t["first_total"], 1)} if "first_total" in t else {}),
        "text": result.text,
    }


# Whisper params of the pipeline runs: the node's defaults (greedy; native and wasm
# must print the same bytes with f16), and beam 5 like the CLI rows (like for like
# with whisper-cli; with timestamps on, beam search may differ between targets).
PIPELINE_SETTINGS = {
    "greedy": {"strategy": "greedy", "threads": 1},
    "beam5": {"strategy": "beam", "beam_size": 5, "threads": 1},
}


def _pipeline_row(run, target: str, setting: str, model: str, audio_name: str, seconds: float) -> dict[str, object]:
    out = wp.result(run)
    return {
        "setting": setting,
        "model": model,
        "audio": audio_name,
        "audio_seconds": round(seconds, 3),
        "target": target,
        "rtf": round(run.run_seconds / seconds, 4),
        "run_seconds": round(run.run_seconds, 3),
        "text": out["text"],
        "segments": len(out["segments"]),
        "output": run.text,
    }


def _pipeline_runs(built: dict[str, Path], audios: dict[str, Path], repeats: int, workdir: Path) -> list[dict]:
    """The pipeline natively and in wasm for every model and audio (fastest of ``repeats``)."""
    # wasm: the plain engine (no epoch interruption) with the precompiled module, like whisper-cli's rows
    hosts = {"native": native.host(), "wasm": executor.Wasmtime(wasm_module.layout(), plain=True)}
    rows = []
    for (setting, params), (kind, model) in itertools.product(PIPELINE_SETTINGS.items(), built.items()):
        manifest = wp.write_manifest(workdir, model, **params)
        for audio_name, audio in audios.items():
            seconds = whisper.wav_seconds(audio)
            for target, host in hosts.items():
                ui.step(f"whisper bench: pipeline {setting} {kind} {audio_name} {target}")
                runs = [wp.run(host, manifest, [audio], timeout=900) for _ in range(repeats)]
                best = min(runs, key=lambda r: r.run_seconds)
                row = _pipeline_row(best, target, setting, kind, audio_name, seconds)
                rows.append(row)
                ui.info(f"pipeline RTF {row['rtf']:.3f} ({row['run_seconds']:.2f} s)")
    rows += chromium_pipeline_runs(built, audios, PIPELINE_SETTINGS, repeats)
    return rows


# ---------------------------------------------------------------------------
# Chromium: the same pipeline through the PipelineRunner (shim backend, in its Web Worker)

PEERS_JS = paths.REPO / "bench" / "peers"  # pages/, chromium.mjs (and Pyodide's package-lock.json)
BENCH_BUNDLES_DIR = paths.BUILD_DIR / "bench-bundles"
AUDIO_MOUNT = "/audio"
MODEL_MOUNT = "/models/whisper"
BUNDLE_PIPELINE = "transcribe"


def _write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        fsutil.write_atomic(path, data)


def guest_manifest(model: Path, **params: object) -> str:
    """The pipeline's manifest as the bench bundles run it: the model at its mount."""
    data = wp.manifest(model, **params)
    for node in data["nodes"]:
        if node["id"] == wp.WHISPER_NODE:
            node["params"]["model"] = f"{MODEL_MOUNT}/{model.name}"
    return json.dumps(data, indent=1) + "\n"


def bench_bundle(kind: str, model: Path, audios: dict[str, Path]) -> Path:
    """A bundle like the demo's whisper bundle, packed by the same code, with model ``kind``
    and the benchmark's audio as data (``/audio/NAME``): the pipeline ``MediaReader ->
    Resample -> Whisper`` (greedy; other settings go in as the run's manifest)."""
    from ..build.pack import bundle as pack
    from ..build.pack import spec as pack_spec

    project = BENCH_BUNDLES_DIR / f"whisper-{kind}"
    for name, wav in audios.items():
        _write_if_changed(project / "audio" / name, wav.read_bytes())
    for stale in (project / "audio").iterdir():
        if stale.name not in audios:
            stale.unlink()
    _write_if_changed(project / "transcribe.json", guest_manifest(model, **PIPELINE_SETTINGS["greedy"]).encode())
    toml = f"""[bundle]
name = "whisper-{kind.replace("_", "-")}"
version = "0.1.0"
title = "Whisper {kind} (benchmark)"

[[pipeline]]
name = "{BUNDLE_PIPELINE}"
manifest = "transcribe.json"
input_kind = "json"

[[data]]
path = "audio"
mount = "{AUDIO_MOUNT}"

[[model]]
name = "whisper"
mount = "{MODEL_MOUNT}"
product = "whisper-tiny.en-{kind}"
"""
    _write_if_changed(project / "rmpkg.toml", toml.encode())
    return pack.build(pack_spec.load(project / "rmpkg.toml"))


@contextlib.contextmanager
def bench_site(bundles: dict[str, Path], files: dict[str, Path] | None = None) -> Iterator[tuple[str, Path]]:
    """Serve on 127.0.0.1 (links in a temporary folder): the runner's dist/ (``/runner/``), its
    shim backend alone (``/shim/shim.js``, for WASI commands), bench/peers/pages, Pyodide,
    ``bundles`` (``/bundles/NAME``) and ``files`` (``/files/NAME``); yields (base URL, folder)."""
    from . import browser

    browser.npm_ci()
    dist = browser.build_runner()
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        root = Path(tmp)
        (root / "runner").symlink_to(dist)
        esbuild = paths.BROWSER_DEMO_DIR / "node_modules" / "esbuild" / "bin" / "esbuild"
        shim_ts = browser.RUNNER_DIR / "src" / "backends" / "shim.ts"
        argv = [
            esbuild,
            shim_ts,
            "--bundle",
            "--format=esm",
            "--target=es2022",
            f"--outfile={root / 'shim' / 'shim.js'}",
        ]
        ui.run(argv, cwd=paths.BROWSER_DEMO_DIR, quiet=True, what="esbuild (the runner's shim backend)")
        (root / "files").mkdir()
        for name, path in (files or {}).items():
            (root / "files" / name).symlink_to(path.resolve())
        (root / "pages").symlink_to(PEERS_JS / "pages")
        pyodide = PEERS_JS / "node_modules" / "pyodide"
        if pyodide.is_dir():
            (root / "pyodide").symlink_to(pyodide)
        (root / "bundles").mkdir()
        for name, path in bundles.items():
            (root / "bundles" / name).symlink_to(path.resolve())
        with browser.serving(root, isolated=False) as url:
            yield url, root


def chromium_jobs(base: str, jobs: list[dict]) -> list[dict]:
    """Run ``jobs`` ({name, fn, args}: ``fn(args)`` of pages/bench.js) in Debian Chromium, one
    freshly launched browser each; fails if a job failed or a request left 127.0.0.1."""
    from . import browser

    toolchains.ensure("browser")
    if not browser.CHROMIUM.exists():
        raise BuildError(f"{browser.CHROMIUM} is missing: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="bench-chromium-") as tmp:
        config = Path(tmp) / "config.json"
        report = Path(tmp) / "report.json"
        config.write_text(
            json.dumps({"chromium": str(browser.CHROMIUM), "base": base, "report": str(report), "jobs": jobs})
        )
        ui.run(["node", PEERS_JS / "chromium.mjs", config], cwd=PEERS_JS, what="chromium (bench)")
        out = json.loads(report.read_text())
    if out["outside"]:
        raise BuildError(f"Chromium bench: requests left 127.0.0.1: {out['outside']}")
    failed = [f"{j['name']}: {j['error']}" for j in out["jobs"] if "error" in j]
    if failed:
        raise BuildError("Chromium bench failed:\n  " + "\n  ".join(failed))
    return out["jobs"]


def chromium_pipeline_runs(
    built: dict[str, Path], audios: dict[str, Path], settings: dict[str, dict], repeats: int
) -> list[dict]:
    """The pipeline in Chromium for every model, setting and audio: one browser per model,
    each case run ``repeats`` (>= 2) times in the same runner. Rows as ``_pipeline_row``'s,
    ``rtf`` from the fastest run (instantiate + run, as ``runMs`` + ``mountMs``; the module's
    compilation is apart, as wasmtime's), ``first_run_seconds`` the first run of each case."""
    repeats = max(2, repeats)
    bundles = {kind: bench_bundle(kind, model, audios) for kind, model in built.items()}
    names = {kind: f"whisper-{kind}.rmpkg" for kind in built}
    jobs = []
    for kind, model in built.items():
        cases = [
            {
                "key": f"{setting}/{audio_name}",
                "manifest": guest_manifest(model, **params),
                "inputs": [f"{AUDIO_MOUNT}/{audio_name}"],
            }
            for setting, params in settings.items()
            for audio_name in audios
        ]
        args = {
            "bundle": f"/bundles/{names[kind]}",
            "sha256": fsutil.sha256_file(bundles[kind]),
            "pipeline": BUNDLE_PIPELINE,
            "cases": cases,
            "repeats": repeats,
        }
        jobs.append({"name": kind, "fn": "whisper", "args": args})
    ui.step(f"whisper bench: Chromium, {len(jobs)} bundle(s) x {len(jobs[0]['args']['cases'])} cases x {repeats}")
    with bench_site({names[k]: p for k, p in bundles.items()}) as (base, _):
        done = chromium_jobs(base, jobs)
    rows = []
    for job in done:
        kind = job["name"]
        value = job["value"]
        for case in value["rows"]:
            setting, audio_name = case["key"].split("/", 1)
            seconds = whisper.wav_seconds(audios[audio_name])
            runs = case["runs"]
            run_s = [(r["timings"]["runMs"] + r["timings"]["mountMs"]) / 1000 for r in runs]
            best = min(range(len(runs)), key=lambda i: run_s[i])
            stdout = runs[best]["stdout"]
            out = json.loads(stdout)["outputs"]["out"][0]
            rows.append(
                {
                    "setting": setting,
                    "model": kind,
                    "audio": audio_name,
                    "audio_seconds": round(seconds, 3),
                    "target": "chromium",
                    "rtf": round(run_s[best] / seconds, 4),
                    "run_seconds": round(run_s[best], 3),
                    "first_run_seconds": round(run_s[0], 3),
                    "compile_seconds": round(max(r["timings"]["compileMs"] for r in runs) / 1000, 3),
                    "mount_seconds": round(runs[best]["timings"]["mountMs"] / 1000, 3),
                    "bundle_load_seconds": round(value["loadMs"] / 1000, 3),
                    "text": out["text"],
                    "segments": len(out["segments"]),
                    "output": stdout,
                    "outputs_all_runs_identical": len({r["stdout"] for r in runs}) == 1,
                }
            )
            ui.info(f"chromium {setting} {kind} {audio_name}: RTF {rows[-1]['rtf']:.3f} (first run {run_s[0]:.2f} s)")
    return rows


def chromium_cli_runs(built: dict[str, Path], audios: dict[str, Path], repeats: int) -> list[whisper.Transcript]:
    """whisper-cli.wasm (the module of the "wasm" rows) on the runner's shim backend in a Web
    Worker of Chromium, every model and audio, fastest of ``repeats`` (>= 2: the first run of
    the module also pays its lazy compilation and tier-up, ``first_total_ms``)."""
    from ..build.whisper.transcribe import _cli_args, _parse

    repeats = max(2, repeats)
    cli = whisper.wasm_cli()
    files = {"whisper-cli.wasm": cli, **{m.name: m for m in built.values()}, **{a.name: a for a in audios.values()}}
    runs = []
    for kind, model in built.items():
        for audio_name, audio in audios.items():
            argv = ["whisper-cli", *_cli_args(f"/model/{model.name}", f"/audio/{audio.name}", 1, 5)]
            mounts = [
                {"guest": "/model", "files": {model.name: f"/files/{model.name}"}},
                {"guest": "/audio", "files": {audio.name: f"/files/{audio.name}"}},
            ]
            runs.append({"key": f"{kind}/{audio_name}", "argv": argv, "mounts": mounts})
    ui.step(f"whisper bench: whisper-cli in Chromium (shim backend, Worker), {len(runs)} cases x {repeats}")
    with bench_site({}, files) as (base, _):
        (job,) = chromium_jobs(
            base,
            [
                {
                    "name": "cli",
                    "fn": "cli",
                    "args": {"module": "/files/whisper-cli.wasm", "runs": runs, "repeats": repeats},
                }
            ],
        )
    out = []
    for row in job["value"]["rows"]:
        kind, audio_name = row["key"].split("/", 1)
        parsed = []
        for r in row["runs"]:
            outcome = Outcome(
                r["exitCode"], r["stdout"].encode(), r["stderr"].encode(), r["runMs"] / 1000, host="chromium"
            )
            outcome.compile_seconds = r["compileMs"] / 1000
            parsed.append(_parse("chromium", built[kind], audios[audio_name], outcome, "shim"))
        best = min(parsed, key=lambda t: t.timings_ms.get("total", 1e12))
        best.timings_ms["first_total"] = parsed[0].timings_ms.get("total", 0.0)
        out.append(best)
    return out


def _pipeline_comparisons(rows: list[dict], cli_by: dict) -> list[dict]:
    by = {(r["setting"], r["model"], r["audio"], r["target"]): r for r in rows}
    out = []
    for (setting, model, audio, target), n in by.items():
        if target != "native":
            continue
        w = by[(setting, model, audio, "wasm")]
        c = by[(setting, model, audio, "chromium")]
        out.append(
            {
                "setting": setting,
                "model": model,
                "audio": audio,
                "native_rtf": n["rtf"],
                "wasm_rtf": w["rtf"],
                "wasm_over_native": round(w["rtf"] / max(n["rtf"], 1e-9), 2),
                "chromium_rtf": c["rtf"],
                "chromium_first_run_rtf": round(c["first_run_seconds"] / c["audio_seconds"], 4),
                "chromium_over_wasm": round(c["rtf"] / max(w["rtf"], 1e-9), 2),
                "chromium_over_native": round(c["rtf"] / max(n["rtf"], 1e-9), 2),
                "native_over_cli": round(n["rtf"] / max(cli_by[(model, audio, "native")]["rtf"], 1e-9), 2),
                "wasm_over_cli": round(w["rtf"] / max(cli_by[(model, audio, "wasm")]["rtf"], 1e-9), 2),
                "outputs_identical": n["output"] == w["output"],
                "chromium_output_equals_wasm": c["output"] == w["output"],
                "texts_match": whisper.normalise(n["text"]) == whisper.normalise(w["text"]),
            }
        )
    return out


KERNEL_ROUNDS = 4  # the three builds run in turn this many times; the fastest call of all counts


def _kernel_programs(workdir: Path) -> dict[str, Callable[[], list[dict]]]:
    """KERNEL_BENCH built three ways, each a callable that runs it once and returns its rows:
    "native" (the native archives, cc), "wasm" and "wasm-relaxed" (zig, linked with lib/ or
    lib-relaxed/ libggml.a; wasmtime, plain engine)."""
    native_build, wasm_build = whisper.native_build(), whisper.wasm_build()
    exe = workdir / "mul_mat_bench"
    ui.run(
        [
            "cc",
            "-O2",
            "-std=gnu11",
            f"-I{native_build / 'include'}",
            KERNEL_BENCH,
            *(native_build / "lib" / name for name in ("libggml.a", "libggml-cpu.a", "libggml-base.a")),
            "-lstdc++",
            "-lm",
            "-lpthread",
            "-o",
            exe,
        ],
        what="cc (mul_mat bench)",
    )
    obj = workdir / "mul_mat_bench.o"
    src = whisper.source.patched()
    flags = whisper.wasm_compile_flags(src, whisper.source.SHIMS_DIR)
    ui.run(
        [*toolchains.zig(), "cc", *flags, "-std=gnu11", "-c", KERNEL_BENCH, "-o", obj], what="zig cc (mul_mat bench)"
    )

    def native_rows() -> list[dict]:
        proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=900, check=False)
        if proc.returncode != 0:
            raise BuildError(f"mul_mat bench (native) failed with exit code {proc.returncode}: {proc.stderr[-500:]}")
        return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]

    def wasm_rows(label: str, module: Path) -> Callable[[], list[dict]]:
        def rows() -> list[dict]:
            run = wasi.run(module, [], timeout=900, plain=True)
            if run.exit_code != 0:
                raise BuildError(
                    f"mul_mat bench ({label}) failed with exit code {run.exit_code}: {run.error_text[-500:]}"
                )
            return [json.loads(line) for line in run.text.splitlines() if line.strip()]

        return rows

    programs: dict[str, Callable[[], list[dict]]] = {"native": native_rows}
    for label, lib in (("wasm", "lib"), ("wasm-relaxed", "lib-relaxed")):
        module = workdir / f"mul_mat_bench-{lib}.wasm"
        ui.run(
            [
                *toolchains.zig(),
                "c++",
                "-target",
                wasm_flags.ZIG_TARGET,
                obj,
                wasm_build / lib / "libggml.a",
                *wasm_flags.EMULATION_LIBS,
                "-o",
                module,
            ],
            what=f"zig c++ (mul_mat bench, {lib})",
        )
        programs[label] = wasm_rows(label, module)
    return programs


def _kernel_outputs(workdir: Path) -> dict[str, list[dict]]:
    """Each build's rows, ``best_ms`` the fastest of KERNEL_ROUNDS runs taken in turn (on a
    shared VM the machine's speed drifts over seconds: turns spread it over all three)."""
    programs = _kernel_programs(workdir)
    best: dict[str, list[dict]] = {}
    for round_no in range(1, KERNEL_ROUNDS + 1):
        ui.info(f"round {round_no} of {KERNEL_ROUNDS}: native, wasm, wasm-relaxed")
        for label, program in programs.items():
            rows = program()
            if label not in best:
                best[label] = rows
                continue
            for kept, row in zip(best[label], rows, strict=True):
                if row["checksum"] != kept["checksum"]:
                    raise BuildError(f"mul_mat bench ({label}): another checksum on another run ({kept}, {row})")
                kept["best_ms"] = min(kept["best_ms"], row["best_ms"])
    return best


def kernel_rows(workdir: Path) -> list[dict]:
    """Per type and shape: the fastest call natively, in wasm and in the relaxed-SIMD wasm."""
    ui.step("whisper bench: mul_mat alone (native; wasmtime with the SIMD128 and relaxed-SIMD archives)")
    outputs = _kernel_outputs(workdir)
    rows = []
    for n, w, r in zip(outputs["native"], outputs["wasm"], outputs["wasm-relaxed"], strict=True):
        shape = {key: n[key] for key in ("type", "k", "rows", "cols")}
        if any({key: x[key] for key in shape} != shape for x in (w, r)):
            raise BuildError(f"mul_mat bench: the builds printed different cases ({n}, {w}, {r})")
        rows.append(
            {
                **shape,
                "native_ms": n["best_ms"],
                "wasm_ms": w["best_ms"],
                "wasm_relaxed_ms": r["best_ms"],
                "wasm_over_native": round(w["best_ms"] / max(n["best_ms"], 1e-9), 2),
                "wasm_relaxed_over_native": round(r["best_ms"] / max(n["best_ms"], 1e-9), 2),
                "wasm_relaxed_over_wasm": round(r["best_ms"] / max(w["best_ms"], 1e-9), 2),
                # the relaxed variant computes the same bits (patch 0013)
                "relaxed_checksum_equals_wasm": r["checksum"] == w["checksum"],
            }
        )
        ui.info(
            f"{shape['type']:<5} {shape['k']:>4}x{shape['rows']:<5} x {shape['cols']:>4} cols: native "
            f"{n['best_ms']:.2f} ms, wasm {w['best_ms']:.2f} (x{rows[-1]['wasm_over_native']:.2f}), relaxed "
            f"{r['best_ms']:.2f} (x{rows[-1]['wasm_relaxed_over_wasm']:.2f} wasm)"
        )
    return rows


def _chart(report: dict[str, object], out: Path) -> None:
    try:
        import matplotlib
    except ImportError as exc:
        raise BuildError("matplotlib is missing: run through nox (group 'bench')") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["runs"]
    cases = [(r["model"], r["audio"]) for r in rows if r["target"] == "native"]
    by = {(r["model"], r["audio"], r["target"]): r for r in rows}
    labels = [f"{m}\n{a.removesuffix('.wav')}" for m, a in cases]
    fig, axes = plt.subplots(2, 2, figsize=(19, 10))
    (ax1, ax3), (ax2, ax4) = axes
    x = range(len(cases))
    width = 0.17
    native = [by[(m, a, "native")]["rtf"] for m, a in cases]
    wasm = [by[(m, a, "wasm")]["rtf"] for m, a in cases]
    relaxed = [by[(m, a, "wasm-relaxed")]["rtf"] for m, a in cases]
    epoch = [by[(m, a, "wasm-epoch")]["rtf"] for m, a in cases]
    chromium = [by[(m, a, "chromium")]["rtf"] for m, a in cases]
    ax1.bar([i - 2 * width for i in x], native, width, label="native", color="#4c72b0")
    bars = ax1.bar([i - width for i in x], wasm, width, label="wasm (wasmtime, precompiled)", color="#dd8452")
    ax1.bar(list(x), relaxed, width, label="wasm, relaxed-SIMD variant", color="#e8b04a")
    ax1.bar([i + width for i in x], epoch, width, label="wasm, epoch interruption on", color="#c9a27e")
    ax1.bar([i + 2 * width for i in x], chromium, width, label="Chromium (shim, Worker)", color="#55a868")
    for bar, (m, a) in zip(bars, cases, strict=True):
        ratio = by[(m, a, "wasm")]["rtf"] / max(by[(m, a, "native")]["rtf"], 1e-9)
        ax1.annotate(f"{ratio:.1f}x", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
    ax1.axhline(TARGET_RTF_WASM, color="red", linestyle="--", linewidth=1, label=f"target RTF {TARGET_RTF_WASM:g}")
    ax1.set_xticks(list(x), labels)
    ax1.set_ylabel("RTF (processing s / audio s), lower is better")
    ax1.set_title("whisper-cli RTF, 1 thread, beam 5 (label: wasm / native)")
    ax1.legend()

    parts = [("load_ms", "model load"), ("mel_ms", "mel"), ("encode_ms", "encoder"), ("decode_ms", "decoder")]
    parts.append(("sample_ms", "sampling"))
    stack_labels, stacks = [], {key: [] for key, _ in parts}
    for m, a in cases:
        for target in ("native", "wasm"):
            stack_labels.append(f"{m} {a.removesuffix('.wav')}\n{target}")
            for key, _ in parts:
                stacks[key].append(by[(m, a, target)][key] / 1000)
    bottom = [0.0] * len(stack_labels)
    for key, name in parts:
        ax2.barh(range(len(stack_labels)), stacks[key], left=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, stacks[key], strict=True)]
    ax2.set_yticks(range(len(stack_labels)), stack_labels, fontsize=7)
    ax2.invert_yaxis()
    ax2.set_xlabel("seconds")
    compile_info = report["wasm_module"]
    ax2.set_title(
        f"Where the time goes (module compile, apart: {compile_info['compile_cold_seconds']:.2f} s cold, "
        f"{compile_info['load_cached_seconds']:.2f} s cached)",
        fontsize=9,
    )
    ax2.legend(fontsize=8)

    pipeline = {(c["setting"], c["model"], c["audio"]): c for c in report["pipeline"]["comparisons"]}
    cases3 = [(m, a) for s, m, a in pipeline if s == "beam5"]
    labels3 = [f"{m}\n{a.removesuffix('.wav')}" for m, a in cases3]
    x3 = range(len(cases3))
    w3 = 0.12
    series = [
        ([by[(m, a, "native")]["rtf"] for m, a in cases3], -3.5, "whisper-cli native (beam 5)", "#4c72b0"),
        ([pipeline[("beam5", m, a)]["native_rtf"] for m, a in cases3], -2.5, "pipeline native, beam 5", "#7f9bd0"),
        ([pipeline[("greedy", m, a)]["native_rtf"] for m, a in cases3], -1.5, "pipeline native, greedy", "#b7c7e8"),
        ([by[(m, a, "wasm")]["rtf"] for m, a in cases3], -0.5, "whisper-cli wasm (beam 5)", "#dd8452"),
        ([pipeline[("beam5", m, a)]["wasm_rtf"] for m, a in cases3], 0.5, "pipeline wasm, beam 5", "#eaa575"),
        ([pipeline[("greedy", m, a)]["wasm_rtf"] for m, a in cases3], 1.5, "pipeline wasm, greedy", "#f5cfae"),
        ([pipeline[("beam5", m, a)]["chromium_rtf"] for m, a in cases3], 2.5, "pipeline Chromium, beam 5", "#55a868"),
        ([pipeline[("greedy", m, a)]["chromium_rtf"] for m, a in cases3], 3.5, "pipeline Chromium, greedy", "#a6d9b0"),
    ]
    for values, offset, name, color in series:
        ax3.bar([i + offset * w3 for i in x3], values, w3, label=name, color=color)
    ax3.set_xticks(list(x3), labels3)
    ax3.set_ylabel("RTF, lower is better")
    ax3.set_title(
        "Pipeline MediaReader -> Resample -> Whisper vs bare CLI (1 thread; Chromium: runner, shim)", fontsize=9
    )
    ax3.legend(fontsize=8)

    kernels = report["kernels"]["rows"]
    labels4 = [f"{k['type']}\n{k['k']}x{k['rows']}\nx{k['cols']}" for k in kernels]
    x4 = range(len(kernels))
    ax4.bar([i - 0.2 for i in x4], [k["wasm_over_native"] for k in kernels], 0.4, label="wasm", color="#dd8452")
    ax4.bar(
        [i + 0.2 for i in x4],
        [k["wasm_relaxed_over_native"] for k in kernels],
        0.4,
        label="wasm, relaxed-SIMD variant",
        color="#e8b04a",
    )
    ax4.axhline(1.3, color="red", linestyle="--", linewidth=1, label="1.3x")
    ax4.set_xticks(list(x4), labels4, fontsize=7)
    ax4.set_ylabel("time / native time, lower is better")
    ax4.set_title("mul_mat alone (type, k x rows, x cols), fastest call, 1 thread: wasm / native", fontsize=9)
    ax4.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    repeats = 3 if getattr(args, "full", False) else 1
    ui.step("whisper bench: builds and models")
    native = whisper.native_build()
    wasm = whisper.wasm_build()
    built = whisper.models()
    audios = {"jfk.wav": whisper.jfk_wav(), "long.wav": whisper.long_wav()}
    module = wasm / "bin" / "whisper-cli.wasm"

    ui.step("whisper bench: wasm module compile time")
    compile_info = _module_compile(module)
    ui.info(f"compile {compile_info['compile_cold_seconds']} s cold, {compile_info['load_cached_seconds']} s cached")

    runs: list[dict[str, object]] = []
    started = time.monotonic()
    for kind, model in built.items():
        for audio_name, audio in audios.items():
            seconds = whisper.wav_seconds(audio)
            for label, target, engine, relaxed in TARGETS:
                ui.step(f"whisper bench: {kind} {audio_name} {label}")
                result = _best_of(target, engine, relaxed, model, audio, repeats)
                row = _row(result, label, kind, audio_name, seconds)
                runs.append(row)
                ui.info(f"RTF {row['rtf']:.3f} (encode {row['encode_ms']:.0f} ms, decode {row['decode_ms']:.0f} ms)")
    for result in chromium_cli_runs(built, audios, repeats):
        audio_name = next(name for name, a in audios.items() if a.name == result.audio)
        kind = next(k for k, m in built.items() if m.name == result.model)
        row = _row(result, "chromium", kind, audio_name, whisper.wav_seconds(audios[audio_name]))
        runs.append(row)
        ui.info(f"chromium {kind} {audio_name}: RTF {row['rtf']:.3f} (encode {row['encode_ms']:.0f} ms)")

    with tempfile.TemporaryDirectory(prefix="whisper-bench-pipeline-") as tmp:
        pipeline_rows = _pipeline_runs(built, audios, repeats, Path(tmp))
    with tempfile.TemporaryDirectory(prefix="whisper-bench-kernels-") as tmp:
        kernels = kernel_rows(Path(tmp))

    by = {(r["model"], r["audio"], r["target"]): r for r in runs}
    pipeline_comparisons = _pipeline_comparisons(pipeline_rows, by)
    comparisons = []
    for kind in built:
        for audio_name in audios:
            n, w = by[(kind, audio_name, "native")], by[(kind, audio_name, "wasm")]
            e = by[(kind, audio_name, "wasm-epoch")]
            r = by[(kind, audio_name, "wasm-relaxed")]
            c = by[(kind, audio_name, "chromium")]
            ratio = w["rtf"] / max(n["rtf"], 1e-9)
            comparisons.append(
                {
                    "model": kind,
                    "audio": audio_name,
                    "native_rtf": n["rtf"],
                    "wasm_rtf": w["rtf"],
                    "wasm_over_native": round(ratio, 2),
                    "wasm_relaxed_rtf": r["rtf"],
                    "wasm_relaxed_over_native": round(r["rtf"] / max(n["rtf"], 1e-9), 2),
                    "wasm_relaxed_over_wasm": round(r["rtf"] / max(w["rtf"], 1e-9), 2),
                    "wasm_relaxed_encode_over_wasm": round(r["encode_ms"] / max(w["encode_ms"], 1e-9), 2),
                    # the variant computes the same bits: any difference is a bug
                    "relaxed_transcript_equals_wasm": r["text"] == w["text"],
                    "wasm_epoch_rtf": e["rtf"],
                    "wasm_epoch_over_native": round(e["rtf"] / max(n["rtf"], 1e-9), 2),
                    "chromium_rtf": c["rtf"],
                    "chromium_over_wasm": round(c["rtf"] / max(w["rtf"], 1e-9), 2),
                    "chromium_over_native": round(c["rtf"] / max(n["rtf"], 1e-9), 2),
                    "encode_ratio": round(w["encode_ms"] / max(n["encode_ms"], 1e-9), 2),
                    "decode_ratio": round(w["decode_ms"] / max(n["decode_ms"], 1e-9), 2),
                    "chromium_encode_over_wasm": round(c["encode_ms"] / max(w["encode_ms"], 1e-9), 2),
                    "chromium_decode_over_wasm": round(c["decode_ms"] / max(w["decode_ms"], 1e-9), 2),
                    "chromium_load_over_wasm": round(c["load_ms"] / max(w["load_ms"], 1e-9), 2),
                    "transcripts_match": n["text"] == w["text"] == e["text"] == c["text"],
                    "meets_rtf_target": w["rtf"] < TARGET_RTF_WASM,
                    "meets_ratio_target": ratio < TARGET_RATIO,
                }
            )
    f16_mismatch = [c for c in comparisons if c["model"] == "f16" and not c["transcripts_match"]]
    relaxed_mismatch = [f"{c['model']} {c['audio']}" for c in comparisons if not c["relaxed_transcript_equals_wasm"]]
    relaxed_mismatch += [
        f"mul_mat {k['type']} {k['k']}x{k['rows']}x{k['cols']}"
        for k in kernels
        if not k["relaxed_checksum_equals_wasm"]
    ]
    report = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": {"threads": 1, "beam": 5, "best_of": 5, "repeats": repeats, "language": "en"},
        "rtf_definition": "whisper's total time (model load included, wasm module compile excluded) / audio seconds",
        "targets": {"wasm_rtf_below": TARGET_RTF_WASM, "wasm_over_native_below": TARGET_RATIO},
        "machine": machine.describe(),
        "tools": {
            "wasmtime-py": importlib.metadata.version("wasmtime"),
            "zig": toolchains.zig_version(),
            "whisper.cpp": whisper.WHISPER_VERSION,
            "ggml": whisper.GGML_VERSION,
            "chromium": toolchains.tool_version("/usr/bin/chromium", "--version"),
        },
        "chromium": "Debian Chromium (headless), the module on the runner's shim backend (browser_wasi_shim, "
        "bundle members read without copies) in a Web Worker; CLI rows: whisper-cli.wasm, pipeline rows: the "
        "PipelineRunner on a bundle like the demo's whisper bundle with the row's model and audio; fastest of "
        "at least 2 runs on one compiled module (first_run_*: the first run, with lazy compilation and tier-up)",
        "builds": {"native": str(native), "wasm": str(wasm)},
        "models": {kind: {"file": path.name, "bytes": path.stat().st_size} for kind, path in built.items()},
        "wasm_module": compile_info,
        "comparisons": comparisons,
        "runs": runs,
        "pipeline": {
            "manifest": str(wp.EXAMPLE.relative_to(paths.REPO)),
            "settings": PIPELINE_SETTINGS,
            "cli_comparison": "native_over_cli / wasm_over_cli compare with the whisper-cli rows (beam 5, no "
            "timestamps): like for like for the beam5 setting",
            "rtf_definition": "the executor's whole run (start-up, WAV read, resample, model load, transcription, "
            "JSON output; wasm: plain engine, precompiled module, compilation excluded) / audio seconds",
            "comparisons": pipeline_comparisons,
            "runs": [{k: v for k, v in r.items() if k != "output"} for r in pipeline_rows],
        },
        "kernels": {
            "source": str(KERNEL_BENCH.relative_to(paths.REPO)),
            "definition": "ggml_mul_mat of a (rows x k) weight of the type by a (cols x k) f32 input, 1 thread: "
            f"the fastest of many calls in one process, over {KERNEL_ROUNDS} runs of each build in turn "
            "(wasm: wasmtime, plain engine)",
            "rows": kernels,
        },
        "f16_transcripts_match": not f16_mismatch,
        "bench_seconds": round(time.monotonic() - started, 1),
    }
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    json_path = fsutil.write_atomic(paths.REPORTS_DIR / REPORT_JSON, json.dumps(report, indent=1) + "\n")
    png_path = paths.REPORTS_DIR / REPORT_PNG
    _chart(report, png_path)

    ui.step("whisper bench: summary (RTF native -> wasm, ratio)")
    for c in comparisons:
        flag = "ok" if c["meets_rtf_target"] and c["meets_ratio_target"] else "  "
        print(
            f"  {flag} {c['model']:<5} {c['audio']:<9} native {c['native_rtf']:.3f}  wasm {c['wasm_rtf']:.3f}  "
            f"x{c['wasm_over_native']:.1f}  (epoch on: {c['wasm_epoch_rtf']:.3f}, x{c['wasm_epoch_over_native']:.1f})  "
            f"relaxed SIMD {c['wasm_relaxed_rtf']:.3f} (x{c['wasm_relaxed_over_wasm']:.2f} wasm)  "
            f"chromium {c['chromium_rtf']:.3f} (x{c['chromium_over_wasm']:.2f} wasm)  "
            f"transcripts {'match' if c['transcripts_match'] else 'DIFFER'}"
        )
    ui.step("whisper bench: pipeline MediaReader -> Resample -> Whisper (RTF native -> wasm)")
    for c in pipeline_comparisons:
        print(
            f"     {c['setting']:<6} {c['model']:<5} {c['audio']:<9} "
            f"native {c['native_rtf']:.3f}  wasm {c['wasm_rtf']:.3f}  "
            f"x{c['wasm_over_native']:.1f}  chromium {c['chromium_rtf']:.3f} (x{c['chromium_over_wasm']:.2f} wasm)  "
            f"(vs bare CLI: native x{c['native_over_cli']:.2f}, "
            f"wasm x{c['wasm_over_cli']:.2f})  outputs {'identical' if c['outputs_identical'] else 'differ'}"
        )
    ui.ok(f"report: {json_path}")
    ui.ok(f"chart:  {png_path}")
    pipeline_f16 = [
        c
        for c in pipeline_comparisons
        if c["model"] == "f16"
        and c["setting"] == "greedy"
        and not (c["outputs_identical"] and c["chromium_output_equals_wasm"])
    ]
    if pipeline_f16:
        raise BuildError(
            "f16 pipeline outputs (greedy, the node's default) differ between native, wasm and Chromium: "
            + "; ".join(c["audio"] for c in pipeline_f16)
            + f" (see {json_path})"
        )
    if relaxed_mismatch:
        raise BuildError(
            "the relaxed-SIMD whisper build computed differently from the SIMD128 one (they must compute the "
            "same bits): " + "; ".join(relaxed_mismatch) + f" (see {json_path})"
        )
    if f16_mismatch:
        raise BuildError(
            "f16 transcripts differ between native, wasm and Chromium: "
            + "; ".join(f"{c['audio']}" for c in f16_mismatch)
            + f" (see {json_path})"
        )
    return 0
