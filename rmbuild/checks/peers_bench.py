"""``nox -s peers_bench``: our nodes against what users would pick instead, in one run on
one machine. Writes ``reports/peers_bench.json`` and ``reports/peers_bench.png``.

**Speech.** Our Whisper node, the pipeline ``MediaReader -> Resample -> Whisper`` of
``whisper_pipeline`` (tiny.en f16 and q8_0, greedy and beam 5, 1 thread), natively,
in wasmtime (plain engine, precompiled module), in Node (``node:wasi``, a process per
run) and in Chromium (the ``PipelineRunner`` on a bundle like the demo's whisper bundle,
shim backend, in its Web Worker: ``whisper_bench.chromium_pipeline_runs``), against:

- **faster-whisper** (pinned in pyproject.toml's group ``peers``) on the same
  CTranslate2 tiny.en weights our ggml models are converted from (lock entry
  ``whisper-tiny-en-ct2``), int8 and float32, ``cpu_threads=1``, beam 5 and greedy, no
  VAD, ``HF_HUB_OFFLINE=1``; a fresh process per run;
- **whisper.cpp's own emscripten build** (``examples/whisper.wasm``, the ``libmain``
  target, of the same whisper.cpp source, unpatched), built with Debian's ``emscripten``
  and run in Node with the same ggml models. Its JavaScript API decodes greedily only;
  its threads are pthreads (we ask for 1). If it does not build, the report says so
  with the build's own error, and the bench goes on.

Every row has its RTF (processing seconds / audio seconds; what is inside is in the
report's ``rtf_definitions``) and its word error rate against the known texts of
jfk.wav, long.wav and ``third.wav`` (espeak-ng, another voice and rate), by ``wer``:
word-level Levenshtein on ``rmbuild.build.whisper.normalise``d text.

**Python.** Our Python node (CPython 3.11 in the wasm runtime, through the
``PipelineRunner`` with the shim backend) against Pyodide (npm ``pyodide``, pinned in
``bench/peers/package-lock.json``, loaded offline from node_modules), in Node and in
Chromium (each in a Web Worker there), running the same class
(``bench/peers/python/level.py``, list-based: Pyodide's numpy is not in its npm
package): cold start to the first result, warm start (a second run in the loaded
runner / interpreter), time per item for numbers and for 1 s of 16 kHz float32 audio
(the slope over two item counts), and the download (gzip) for that class.

Every peer is pinned (artifacts.lock.toml, bench/peers/package-lock.json,
pyproject.toml) and checked: a missing or different peer fails the bench. ``--full``
repeats every measurement 3 times and keeps the fastest (cold starts: the median of 5).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from ..build import native, whisper
from ..build.wasm import module as wasm_module
from ..build.wasm import wasmbin
from ..build.whisper import source as whisper_source
from ..core import artifacts, fsutil, lock, machine, paths, steps, toolchains, ui
from ..core.rmpkg import rmpkg
from ..core.ui import BuildError
from ..run import executor
from . import whisper_bench as wb
from . import whisper_pipeline as wp

REPORT_JSON = "peers_bench.json"
REPORT_PNG = "peers_bench.png"
PEERS_JS = wb.PEERS_JS
MODELS = ("f16", "q8_0")  # our side of faster-whisper's float32 and int8
SETTINGS = {"greedy": wb.PIPELINE_SETTINGS["greedy"], "beam5": wb.PIPELINE_SETTINGS["beam5"]}
BEAMS = {"greedy": 1, "beam5": 5}
FW_COMPUTE_TYPES = ("int8", "float32")
CT2_MODEL = "whisper-tiny-en-ct2"
TEXTS = {"jfk.wav": whisper.JFK_TEXT, "long.wav": whisper.LONG_TEXT, "third.wav": whisper.THIRD_TEXT}
# Node's fast API calls from optimised code into node:wasi let a GC run inside a WASI call;
# with the Whisper node's memory growth Node 20 and 22 then crash (SIGSEGV in the GC's stack
# walk during memory.grow, or heap corruption): nodejs/node#46777. The flag avoids it.
NODE_WASI_FLAGS = ("--no-turbo-fast-api-calls",)
# Debian's emcc runs its JavaScript passes with /usr/bin/node and Debian's node-acorn, which
# lives in /usr/share/nodejs; a Node from elsewhere (NodeSource here) does not look there.
EMCC_ENV = {"NODE_PATH": "/usr/share/nodejs"}
EMSCRIPTEN_TARGET = "libmain"  # examples/whisper.wasm: whisper.cpp's own JS API (init, full_default)
# what whisper.cpp's configure says about the CPU it builds ggml for (kept in build.json)
CONFIGURE_NOTES = re.compile(
    r"GGML_SYSTEM_ARCH|CPU architecture|Wasm detected|Adding CPU backend|CMAKE_SYSTEM_PROCESSOR"
)
PYTHON_CLASS = "Level"
PYTHON_SOURCE = PEERS_JS / "python" / "level.py"
# Item counts of the per-item slopes. "sessions": ours pushed one by one into a session, where each
# push is a call into the reactor (in Chromium, a message to the runner's Worker and back: about
# 0.2 ms here), so fewer numbers keep the bench short. Ours pushed in batches (pushMany) uses the
# runs' counts.
PYTHON_COUNTS = {"numbers": [1000, 201000], "audio": [5, 45], "sessions": {"numbers": [100, 2100], "audio": [5, 45]}}
PYTHON_COUNTS_FULL = {
    "numbers": [1000, 401000],
    "audio": [5, 85],
    "sessions": {"numbers": [100, 4100], "audio": [5, 85]},
}


# ---------------------------------------------------------------------------
# word error rate


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference words): the word-level Levenshtein distance between the normalised
    texts (substitutions, insertions and deletions count 1 each)."""
    ref = whisper.normalise(reference).split()
    hyp = whisper.normalise(hypothesis).split()
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1], len(ref)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` (0.0 = every word right)."""
    errors, words = word_errors(reference, hypothesis)
    if words == 0:
        raise ValueError("the reference has no words")
    return errors / words


def pooled_wer(rows: list[dict]) -> float:
    """All errors over all reference words of ``rows`` (each with ``audio`` and ``text``)."""
    errors = words = 0
    for row in rows:
        e, w = word_errors(TEXTS[row["audio"]], row["text"])
        errors, words = errors + e, words + w
    return round(errors / max(words, 1), 4)


def audios() -> dict[str, Path]:
    return {"jfk.wav": whisper.jfk_wav(), "long.wav": whisper.long_wav(), "third.wav": whisper.third_wav()}


# ---------------------------------------------------------------------------
# the pinned peers


def pinned(group: str = "peers") -> dict[str, str]:
    """The packages pinned directly in pyproject.toml's dependency group ``group``."""
    data = tomllib.loads(paths.PYPROJECT.read_text())
    out = {}
    for item in data["dependency-groups"][group]:
        if isinstance(item, str):
            name, sep, version = item.partition("==")
            if not sep:
                raise BuildError(f"pyproject.toml group {group!r}: {item!r} is not pinned with ==")
            out[name] = version
    return out


def check_versions(what: str, found: dict[str, str], pins: dict[str, str]) -> None:
    """Fails unless every pinned package is in ``found`` at exactly its pinned version."""
    wrong = {name: found.get(name, "missing") for name, version in pins.items() if found.get(name) != version}
    if wrong:
        have = ", ".join(f"{name} {version}" for name, version in wrong.items())
        want = ", ".join(f"{name} {pins[name]}" for name in wrong)
        raise BuildError(f"{what}: found {have}; the pins say {want}")


def locked_pyodide() -> str:
    """The Pyodide version of bench/peers/package-lock.json (package.json must pin the same)."""
    lock_file = PEERS_JS / "package-lock.json"
    try:
        locked = json.loads(lock_file.read_text())["packages"]["node_modules/pyodide"]["version"]
    except (OSError, KeyError, ValueError) as exc:
        raise BuildError(f"{lock_file}: no locked pyodide ({exc})") from exc
    wanted = json.loads((PEERS_JS / "package.json").read_text()).get("dependencies", {}).get("pyodide")
    if wanted != locked:
        raise BuildError(f"bench/peers: package.json pins pyodide {wanted}, package-lock.json has {locked}")
    return locked


def _installed(pins: dict[str, str]) -> bool:
    try:
        return all(importlib.metadata.version(name) == version for name, version in pins.items())
    except importlib.metadata.PackageNotFoundError:
        return False


def peer_python() -> str:
    """A Python with the pinned peers: this one (the peers_bench session's venv has them),
    else a venv in the cache that pip fills with exactly those versions (for the tests)."""
    pins = pinned()
    if _installed(pins):
        return sys.executable

    def build(out: Path) -> None:
        ui.run([sys.executable, "-m", "venv", out / "venv"], what="python -m venv (peers)")
        pip = [out / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        ui.run([*pip, *(f"{n}=={v}" for n, v in pins.items())], what="pip install (the pinned peers)")

    facts = {"pins": pins, "python": sys.version, "base": sys.base_prefix}
    return str(steps.cached("peers-venv", [], facts, build) / "venv" / "bin" / "python")


def npm_ci() -> Path:
    """``npm ci`` in bench/peers unless node_modules matches its package-lock.json; checks
    that the installed Pyodide is the locked one. Returns node_modules/pyodide."""
    from . import browser

    lock = PEERS_JS / "package-lock.json"
    locked = locked_pyodide()
    marker = PEERS_JS / "node_modules" / ".rmbuild-lock-sha256"
    digest = fsutil.sha256_file(lock)
    if not (marker.exists() and marker.read_text().strip() == digest):
        ui.step("bench/peers: npm ci (Pyodide, exact versions from package-lock.json)")
        ui.run([browser.npm(), "ci", "--no-audit", "--no-fund"], cwd=PEERS_JS, what="npm ci (bench/peers)")
        marker.write_text(digest + "\n")
    folder = PEERS_JS / "node_modules" / "pyodide"
    try:
        installed = json.loads((folder / "package.json").read_text())["version"]
    except (OSError, KeyError, ValueError):
        installed = "missing"
    check_versions("bench/peers/node_modules", {"pyodide": installed}, {"pyodide": locked})
    return folder


# ---------------------------------------------------------------------------
# faster-whisper (a fresh process per run)


def faster_whisper_run(python: str, model_dir: Path, audio: Path, compute_type: str, beam: int) -> dict:
    """faster-whisper in a fresh process of ``python``; checks the pinned versions."""
    pins = pinned()
    config = {
        "model": str(model_dir),
        "audio": str(audio),
        "compute_type": compute_type,
        "beam": beam,
        "packages": sorted(pins),
    }
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    started = time.perf_counter()
    proc = subprocess.run(
        [python, str(PEERS_JS / "faster_whisper_run.py"), json.dumps(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise BuildError(f"faster-whisper ({compute_type}, beam {beam}) failed on {audio.name}:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    check_versions(f"the faster-whisper peer ({python})", out["versions"], pins)
    return {**out, "process_seconds": wall}


def faster_whisper_rows(audio_files: dict[str, Path], repeats: int) -> list[dict]:
    python = peer_python()
    model_dir = artifacts.fetch(CT2_MODEL)
    rows = []
    for setting, beam in BEAMS.items():
        for compute in FW_COMPUTE_TYPES:
            for audio_name, audio in audio_files.items():
                ui.step(f"peers bench: faster-whisper {compute} {setting} {audio_name}")
                runs = [faster_whisper_run(python, model_dir, audio, compute, beam) for _ in range(repeats)]
                best = min(runs, key=lambda r: r["load_seconds"] + r["transcribe_seconds"])
                seconds = whisper.wav_seconds(audio)
                total = best["load_seconds"] + best["transcribe_seconds"]
                row = {
                    "system": f"faster-whisper {compute}",
                    "peer": "faster-whisper",
                    "host": "native (CTranslate2)",
                    "model": f"tiny.en ct2 {compute}",
                    "setting": setting,
                    "audio": audio_name,
                    "audio_seconds": round(seconds, 3),
                    "rtf": round(total / seconds, 4),
                    "rtf_without_load": round(best["transcribe_seconds"] / seconds, 4),
                    "load_seconds": round(best["load_seconds"], 3),
                    "import_seconds": round(best["import_seconds"], 3),
                    "process_seconds": round(best["process_seconds"], 3),
                    "text": best["text"],
                    "wer": round(wer(TEXTS[audio_name], best["text"]), 4),
                    "versions": best["versions"],
                    "cpu_compute_types": best["cpu_compute_types"],
                }
                rows.append(row)
                ui.info(f"RTF {row['rtf']:.3f}, WER {row['wer']:.3f}: {row['text'][:70]}")
    return rows


# ---------------------------------------------------------------------------
# our Whisper node on every host


def _node_wasi(workdir: Path) -> str:
    """A ``node`` command with NODE_WASI_FLAGS (executor.Node takes the command to run)."""
    wrapper = workdir / "node-wasi"
    wrapper.write_text(f'#!/bin/sh\nexec node {" ".join(NODE_WASI_FLAGS)} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def node_wasi_without_flags(model: Path, audio: Path, workdir: Path) -> dict:
    """One run of the f16 pipeline on Node's node:wasi with its default flags: what it does."""
    (workdir / "default-node").mkdir(parents=True, exist_ok=True)
    manifest = wp.write_manifest(workdir / "default-node", model, **SETTINGS["greedy"])
    out = wp.run(executor.Node(wasm_module.layout()), manifest, [audio], timeout=900)
    return {
        "exit_code": out.exit_code,
        "stderr_tail": out.error_text.strip()[-300:],
        "ok": out.exit_code == 0,
        "why": "nodejs/node#46777: a GC during a fast API call into node:wasi (here: memory.grow) crashes; "
        f"the Node rows run with {' '.join(NODE_WASI_FLAGS)}",
    }


def our_rows(built: dict[str, Path], audio_files: dict[str, Path], repeats: int, workdir: Path) -> list[dict]:
    layout = wasm_module.layout()
    hosts = {
        "native": native.host(),
        "wasmtime": executor.Wasmtime(layout, plain=True),
        "node": executor.Node(layout, node=_node_wasi(workdir)),
    }
    rows = []
    for setting, params in SETTINGS.items():
        for kind, model in built.items():
            folder = workdir / f"{setting}-{kind}"
            folder.mkdir(parents=True, exist_ok=True)
            manifest = wp.write_manifest(folder, model, **params)
            for audio_name, audio in audio_files.items():
                seconds = whisper.wav_seconds(audio)
                for host_name, host in hosts.items():
                    ui.step(f"peers bench: our Whisper node, {host_name} {kind} {setting} {audio_name}")
                    runs = [wp.run(host, manifest, [audio], timeout=900) for _ in range(repeats)]
                    best = min(runs, key=lambda r: r.run_seconds)
                    out = wp.result(best)
                    rows.append(_our_row(host_name, kind, setting, audio_name, seconds, best.run_seconds, out["text"]))
    for row in wb.chromium_pipeline_runs(built, audio_files, SETTINGS, repeats):
        extra = {"first_run_rtf": round(row["first_run_seconds"] / row["audio_seconds"], 4)}
        rows.append(
            _our_row(
                "chromium",
                row["model"],
                row["setting"],
                row["audio"],
                row["audio_seconds"],
                row["run_seconds"],
                row["text"],
                extra,
            )
        )
    return rows


def _our_row(
    host: str, kind: str, setting: str, audio: str, seconds: float, run_s: float, text: str, extra=None
) -> dict:
    row = {
        "system": f"ours {host} {kind}",
        "peer": "ours",
        "host": host,
        "model": f"tiny.en ggml {kind}",
        "setting": setting,
        "audio": audio,
        "audio_seconds": round(seconds, 3),
        "rtf": round(run_s / seconds, 4),
        "run_seconds": round(run_s, 3),
        "text": text,
        "wer": round(wer(TEXTS[audio], text), 4),
        **(extra or {}),
    }
    ui.info(f"{row['system']} {setting} {audio}: RTF {row['rtf']:.3f}, WER {row['wer']:.3f}")
    return row


# ---------------------------------------------------------------------------
# whisper.cpp's own emscripten build, in Node


def emscripten_build() -> Path:
    """whisper.cpp's ``examples/whisper.wasm`` (target ``libmain``: libmain.js with the wasm
    inside, and its pthread worker) built from the locked whisper.cpp source, unpatched,
    with Debian's emscripten and whisper.cpp's own CMake flags. A cached step; its
    ``build.json`` keeps what ggml's configure said about the CPU (``configure_notes``):
    Debian's Emscripten.cmake says ``CMAKE_SYSTEM_PROCESSOR`` x86, which ggml-cpu takes for
    an unknown CPU and builds its generic (scalar) quantized kernels."""
    toolchains.apt_install(["emscripten", "cmake"])
    facts = {
        "whisper.cpp": whisper_source.artifact_sha256(),
        "emscripten": toolchains.debian_version("emscripten"),
        "emcc": toolchains.tool_version("emcc", "--version"),
        "cmake": toolchains.tool_version("cmake", "--version"),
        "node": toolchains.tool_version("node", "--version"),
        "target": EMSCRIPTEN_TARGET,
        "env": EMCC_ENV,
        "configure_notes": CONFIGURE_NOTES.pattern,
    }
    notes: list[str] = []

    def build(out: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="whisper-emscripten-") as tmp:
            src = Path(tmp) / "whisper.cpp"  # cmake writes into the source tree: a copy
            shutil.copytree(whisper_source.upstream(), src, symlinks=True)
            build_dir = Path(tmp) / "build"
            configure = ["emcmake", "cmake", "-S", src, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"]
            said = ui.run(configure, env=EMCC_ENV, quiet=True, what="emcmake cmake (whisper.cpp, emscripten)")
            notes.extend(line.strip() for line in said.stdout.splitlines() if CONFIGURE_NOTES.search(line))
            make = ["cmake", "--build", build_dir, "--target", EMSCRIPTEN_TARGET, "-j", str(os.cpu_count() or 2)]
            ui.run(make, env=EMCC_ENV, quiet=True, what=f"emscripten build of whisper.cpp's {EMSCRIPTEN_TARGET}")
            for name in (f"{EMSCRIPTEN_TARGET}.js", f"{EMSCRIPTEN_TARGET}.worker.js"):
                shutil.copy2(build_dir / "bin" / name, out / name)
        (out / "build.json").write_text(json.dumps({**facts, "configure_notes": notes}, indent=1) + "\n")

    return steps.cached("peers-whisper-emscripten", [], facts, build)


def emscripten_build_command(args: argparse.Namespace) -> int:
    ui.ok(f"whisper.cpp emscripten build: {emscripten_build()}")
    return 0


def emscripten_run(build_dir: Path, model: Path, audio: Path) -> dict:
    script = PEERS_JS / "whisper-emscripten.cjs"
    cmd = ["node", script, build_dir / f"{EMSCRIPTEN_TARGET}.js", model, audio, "1"]
    try:
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=1800, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"whisper.cpp's emscripten build timed out on {audio.name}") from exc
    if proc.returncode != 0:
        raise BuildError(f"whisper.cpp's emscripten build failed on {audio.name}:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["rc"] != 0:
        raise BuildError(f"whisper.cpp's emscripten full_default returned {out['rc']} on {audio.name}")
    lines = [re.sub(r"^\[[^\]]*-->[^\]]*\]\s*", "", line) for line in out["out"] if "-->" in line]
    timings = {
        name: float(ms)
        for name, ms in re.findall(r"whisper_print_timings:\s+(\w+) time =\s+([\d.]+) ms", "\n".join(out["err"]))
    }
    system_info = next((line.strip() for line in out["out"] if line.startswith("system_info:")), "")
    return {**out, "text": " ".join(line.strip() for line in lines), "timings_ms": timings, "system_info": system_info}


def emscripten_rows(built: dict[str, Path], audio_files: dict[str, Path], repeats: int) -> tuple[dict, list[dict]]:
    """(what the build gave, the rows). A build that fails is reported with its error; a
    missing emscripten fails the bench (``toolchains.apt_install`` names the command)."""
    toolchains.apt_install(["emscripten", "cmake"])
    try:
        build_dir = emscripten_build()
    except BuildError as exc:
        ui.warn(f"whisper.cpp's emscripten build FAILED (in the report): {exc}")
        return {"built": False, "error": str(exc)}, []
    info = {"built": True, "build": str(build_dir), **json.loads((build_dir / "build.json").read_text())}
    info["module_js_bytes"] = (build_dir / f"{EMSCRIPTEN_TARGET}.js").stat().st_size
    info["patches"] = (
        f"none: upstream whisper.cpp, without the {len(whisper_source.patches())} patches of whisper/patches/ "
        "our module is built with (ggml's wasm SIMD paths for f16 conversion, mul_mat tiles, softmax, flash "
        "attention, quantized mul_mat)"
    )
    rows = []
    for kind, model in built.items():
        for audio_name, audio in audio_files.items():
            ui.step(f"peers bench: whisper.cpp emscripten (Node) {kind} greedy {audio_name}")
            runs = [emscripten_run(build_dir, model, audio) for _ in range(repeats)]
            best = min(runs, key=lambda r: r["init_ms"] + r["run_ms"])
            seconds = whisper.wav_seconds(audio)
            row = {
                "system": f"whisper.cpp emscripten {kind}",
                "peer": "whisper.cpp-emscripten",
                "host": "node",
                "model": f"tiny.en ggml {kind}",
                "setting": "greedy",
                "audio": audio_name,
                "audio_seconds": round(seconds, 3),
                "rtf": round((best["init_ms"] + best["run_ms"]) / 1000 / seconds, 4),
                "startup_seconds": round(best["startup_ms"] / 1000, 3),
                "whisper_timings_ms": best["timings_ms"],
                "system_info": best["system_info"],
                "text": best["text"],
                "wer": round(wer(TEXTS[audio_name], best["text"]), 4),
            }
            rows.append(row)
            ui.info(f"RTF {row['rtf']:.3f}, WER {row['wer']:.3f}: {row['text'][:70]}")
    return info, rows


# ---------------------------------------------------------------------------
# speech: all of it


RTF_DEFINITIONS = {
    "ours native / wasmtime / node": "the executor's whole run (start-up, WAV read, resample, model load, "
    "transcription, JSON output) / audio seconds; wasmtime: plain engine, precompiled module (compilation "
    "excluded); node: the whole node:wasi process, compiling the module included",
    "ours chromium": "the PipelineRunner's run (instantiate the compiled module, mount the bundle, the same "
    "executor run) / audio seconds, fastest of >= 2 runs; first_run_rtf: the first run (lazy compilation, tier-up)",
    "faster-whisper": "WhisperModel(...) load + transcribe (PyAV decoding and resampling included; interpreter "
    "start and imports excluded, in import_seconds) / audio seconds; a fresh process per run",
    "whisper.cpp emscripten": "writing the model into its MEMFS + init + full_default until its timings are "
    "printed / audio seconds (the runtime start, which compiles the module, apart: startup_seconds)",
}


def speech_report(repeats: int) -> dict:
    files = audios()
    built = {k: v for k, v in whisper.models().items() if k in MODELS}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="peers-bench-") as tmp:
        workdir = Path(tmp)
        default_node = node_wasi_without_flags(whisper.models()["f16"], files["jfk.wav"], workdir)
        ours = our_rows(built, files, repeats, workdir)
    fw = faster_whisper_rows(files, repeats)
    em_info, em = emscripten_rows(built, files, repeats)
    rows = ours + fw + em
    return {
        "audio": {
            name: {"seconds": round(whisper.wav_seconds(p), 3), "text": TEXTS[name]} for name, p in files.items()
        },
        "rtf_definitions": RTF_DEFINITIONS,
        "wer_definition": "word-level Levenshtein distance / reference words, on rmbuild.build.whisper.normalise'd "
        "text (lower case, punctuation dropped); pooled: all errors / all words of the three audios",
        "settings": {"threads": 1, "greedy": "beam_size 1 / strategy greedy", "beam5": "beam 5", "language": "en"},
        "peers": {
            "faster-whisper": pinned(),
            "ct2-model": {"artifact": CT2_MODEL, "sha256": lock.get(CT2_MODEL).sha256},
            "whisper.cpp-emscripten": em_info,
        },
        "node_wasi_default_flags": default_node,
        "summary": speech_summary(rows),
        "rows": rows,
        "seconds": round(time.monotonic() - started, 1),
    }


def speech_summary(rows: list[dict]) -> list[dict]:
    """One line per system and setting: RTF per audio, pooled WER."""
    out = []
    keys = list(dict.fromkeys((r["system"], r["setting"]) for r in rows))
    for system, setting in keys:
        mine = [r for r in rows if r["system"] == system and r["setting"] == setting]
        out.append(
            {
                "system": system,
                "setting": setting,
                "rtf": {r["audio"]: r["rtf"] for r in mine},
                "wer": pooled_wer(mine),
            }
        )
    return out


# ---------------------------------------------------------------------------
# Python: our Python node against Pyodide


def python_bundle() -> Path:
    """A bundle with one Python node (``bench/peers/python/level.py``), packed by the same code
    as the demo bundles."""
    from ..build.pack import bundle as pack
    from ..build.pack import spec as pack_spec

    project = wb.BENCH_BUNDLES_DIR / "python-level"
    wb._write_if_changed(project / "level.py", PYTHON_SOURCE.read_bytes())
    manifest = {
        "version": 1,
        "name": "level",
        "nodes": [
            {"id": "level", "type": "Python", "params": {"module_path": "level.py", "class": PYTHON_CLASS}},
            {"id": "out", "type": "Output"},
        ],
        "connections": [{"from": "level", "to": "out"}],
        "inputs": [1],
    }
    wb._write_if_changed(project / "level.json", (json.dumps(manifest, indent=1) + "\n").encode())
    toml = """[bundle]
name = "python-level"
version = "0.1.0"
title = "Python node (benchmark)"

[[pipeline]]
name = "level"
manifest = "level.json"

[python]
sources = ["level.py"]
"""
    wb._write_if_changed(project / "rmpkg.toml", toml.encode())
    return pack.build(pack_spec.load(project / "rmpkg.toml"))


def _python_config(peer: str, bundle: Path, counts: dict) -> dict:
    return {
        "peer": peer,
        "counts": counts,
        "source": PYTHON_SOURCE.read_text(),
        "klass": PYTHON_CLASS,
        "pipeline": "level",
        "sha256": fsutil.sha256_file(bundle),
    }


def check_pyodide_ran(info: dict) -> None:
    """Fails unless the Pyodide that ran (``info``: what node-python.mjs / the page's load() said)
    is the locked one."""
    check_versions("the Pyodide that ran", {"pyodide": info.get("version", "missing")}, {"pyodide": locked_pyodide()})


def _python_summary(peer: str, samples: list[dict]) -> dict:
    """The median start times over the samples (fresh processes / browsers), per-item times of
    the fastest sample. Pyodide's samples must have run the locked version."""
    if not samples:
        raise BuildError(f"the Python bench of {peer} gave no samples")
    if peer == "pyodide":
        for s in samples:
            check_pyodide_ran(s["info"])
    best = {kind: min(s["perItem"][kind]["us_per_item"] for s in samples) for kind in samples[0]["perItem"]}
    out = {
        "cold_start_s": round(statistics.median(s["coldMs"] for s in samples) / 1000, 3),
        "warm_start_ms": round(statistics.median(s["warmMs"] for s in samples), 1),
        "us_per_number": round(best["numbers"], 2),
        "ms_per_audio_second": round(best["audio"] / 1000, 3),
        "samples": len(samples),
        "first_outputs": samples[0]["first"],
        "raw": samples,
    }
    if "reload" in samples[0]:
        out["second_load_s"] = round(statistics.median(s["reload"]["ms"] for s in samples) / 1000, 3)
    # ours' session slopes: "session" (push by push) and "sessionMany" (pushMany in batches)
    for key, prefix in SESSION_SLOPES.items():
        kinds = [k for k in samples[0]["perItem"] if key in samples[0]["perItem"][k]]
        if not kinds:
            continue
        best_session = {k: min(s["perItem"][k][key]["us_per_item"] for s in samples) for k in kinds}
        out[f"{prefix}_us_per_number"] = round(best_session["numbers"], 2)
        out[f"{prefix}_ms_per_audio_second"] = round(best_session["audio"] / 1000, 3)
        for s in samples:
            for k in kinds:
                if s["perItem"][k][key].get("same_as_run") is not True:
                    raise BuildError(f"{peer}: the outputs of a {key} of {k} differ from a run's of the same items")
    if "session" in samples[0]:
        out["session_first_ms"] = round(statistics.median(s["session"]["firstMs"] for s in samples), 1)
        out["session_warm_ms"] = round(statistics.median(s["session"]["warmMs"] for s in samples), 1)
        if any(s["session"]["outputs"] != s["first"] for s in samples):
            raise BuildError(f"a session's outputs differ from run's: {samples[0]['session']['outputs']}")
    return out


NODE_EXIT_GRACE_S = 20.0
NODE_RUN_TIMEOUT_S = 300.0  # a Python sample takes about 5 s on this machine (quick), 10 s (--full)
NODE_POLL_S = 0.1


def node_result(
    cmd: list, result: Path, *, cwd: Path, what: str, timeout: float = NODE_RUN_TIMEOUT_S
) -> tuple[dict, bool]:
    """Run a Node script that writes its result as JSON to ``result`` (atomically: a temporary
    file renamed, as bench/peers/node-result.mjs does); (the result, whether Node hung at exit).
    Its stdout and stderr are this process's: the result does not depend on what they are.

    Node 20 can deadlock in NodePlatform::DrainTasks (nodejs/node#54918: the main thread waits
    for the platform's worker tasks while a concurrent compile job waits for it to collect
    garbage). Once the result is there, a process still running after NODE_EXIT_GRACE_S is
    killed and that is returned. No result within ``timeout`` (the process is killed), no
    result at its exit, an unreadable result or a failing exit fail, naming the command."""
    argv = [str(c) for c in cmd]
    command = " ".join(argv)
    result.unlink(missing_ok=True)
    ui.info(f"$ {command}   (in {cwd})")
    proc = subprocess.Popen(argv, cwd=cwd)
    try:
        deadline = time.monotonic() + timeout
        while not result.exists():
            if proc.poll() is not None:
                if result.exists():  # written just before the exit
                    break
                raise BuildError(f"{what}: no result in {result} (exit code {proc.returncode}): {command}")
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise BuildError(
                    f"{what}: no result in {result} after {timeout:g} s: killed (a Node stuck in "
                    f"NodePlatform::DrainTasks, nodejs/node#54918, looks like this): {command}"
                )
            time.sleep(NODE_POLL_S)
        try:
            value = json.loads(result.read_text())
        except ValueError as exc:
            raise BuildError(f"{what}: the result in {result} is not JSON ({exc}): {command}") from exc
        try:
            code = proc.wait(timeout=NODE_EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            ui.warn(f"{what}: Node hung at exit after writing its result (nodejs/node#54918): killed")
            return value, True
        if code != 0:
            raise BuildError(f"{what} failed with exit code {code} after its result: {command}")
        return value, False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def node_python(config: dict, what: str) -> tuple[dict, bool]:
    """``node node-python.mjs`` on ``config`` in a fresh process (``node_result``): (its result,
    whether Node hung at exit). ``config`` is node-python.mjs's CONFIG: a peer with counts (this
    bench), or Pyodide with cases (``numpy_bench``)."""
    with tempfile.TemporaryDirectory(prefix="peers-python-") as tmp:
        path = Path(tmp) / f"{config['peer']}.json"
        result = Path(tmp) / f"{config['peer']}-result.json"
        path.write_text(json.dumps({**config, "result": str(result)}))
        return node_result(["node", PEERS_JS / "node-python.mjs", path], result, cwd=PEERS_JS, what=what)


def python_node(bundle: Path, counts: dict, samples: int) -> dict:
    """Both peers in Node (fresh processes): ours through the runner in this thread. Every
    sample is a process; one killed after its result is counted (``node_hung_at_exit``), one
    without a result fails the bench."""
    from . import browser

    dist = browser.build_runner()
    out = {}
    for peer in ("ours", "pyodide"):
        config = {**_python_config(peer, bundle, counts), "bundle": str(bundle), "runner": str(dist / "index.js")}
        results, hung = [], 0
        for i in range(samples):
            ui.step(f"peers bench: Python, {peer} in Node ({i + 1}/{samples})")
            result, hung_at_exit = node_python(config, f"node ({peer})")
            results.append(result)
            hung += hung_at_exit
        out[peer] = {**_python_summary(peer, results), "node_runs": samples, "node_hung_at_exit": hung}
    return out


def python_chromium(bundle: Path, counts: dict, samples: int) -> dict:
    """Both peers in Chromium, each in a Web Worker, a freshly launched browser per sample."""
    name = bundle.name
    jobs = []
    for peer in ("ours", "pyodide"):
        args = {**_python_config(peer, bundle, counts), "bundle": f"/bundles/{name}"}
        jobs += [{"name": f"{peer}#{i}", "fn": "python", "args": args} for i in range(samples)]
    ui.step(f"peers bench: Python in Chromium ({len(jobs)} browsers)")
    with wb.bench_site({name: bundle}) as (base, _):
        done = wb.chromium_jobs(base, jobs)
    return {
        peer: _python_summary(peer, [j["value"] for j in done if j["name"].startswith(f"{peer}#")])
        for peer in ("ours", "pyodide")
    }


def download_sizes(bundle: Path, pyodide: Path) -> dict:
    """What a page downloads for the class, gzip -9 where the server would compress."""
    from . import browser

    opened = rmpkg.read(bundle)
    members = {m["path"]: m for m in opened.metadata["members"]}
    parts: dict[str, dict] = {}
    for path, data in opened.files.items():
        top = path.split("/")[0] if not path.startswith("runtime/") else path
        entry = parts.setdefault(top, {"raw_bytes": 0, "gzip_bytes": 0})
        entry["raw_bytes"] += len(data)
        entry["gzip_bytes"] += wasmbin.gzip_size(data)
    runner_js = (browser.RUNNER_DIR / "dist" / "index.js").read_bytes()
    ours_total = bundle.stat().st_size + wasmbin.gzip_size(runner_js)
    return {
        "ours": {
            "total_bytes": ours_total,
            "bundle_bytes": bundle.stat().st_size,
            "runner_js_gzip_bytes": wasmbin.gzip_size(runner_js),
            "bundle_members_by_part": parts,
            "members": len(members),
            "note": "the .rmpkg is gzip-compressed already (the module, its reactor twin, the stdlib zip, the "
            "class); plus the runner's JavaScript (dist/index.js, its worker inline), gzip -9",
        },
        "pyodide": pyodide_download(pyodide),
    }


PYODIDE_FILES = ("pyodide.asm.wasm", "python_stdlib.zip", "pyodide.asm.mjs", "pyodide.mjs", "pyodide-lock.json")


def pyodide_download(pyodide: Path) -> dict:
    """What loadPyodide() fetches for Python code without packages (``pyodide``: node_modules/pyodide),
    each file gzip -9, and their total."""
    py = {}
    for name in PYODIDE_FILES:
        data = (pyodide / name).read_bytes()
        py[name] = {"raw_bytes": len(data), "gzip_bytes": wasmbin.gzip_size(data)}
    return {
        "total_bytes": sum(v["gzip_bytes"] for v in py.values()),
        "files": py,
        "note": "what loadPyodide() fetches for a class without packages, each file gzip -9",
    }


def python_report(full: bool) -> dict:
    pyodide = npm_ci()
    bundle = python_bundle()
    counts = PYTHON_COUNTS_FULL if full else PYTHON_COUNTS
    samples = 5 if full else 3
    started = time.monotonic()
    node = python_node(bundle, counts, samples)
    chromium = python_chromium(bundle, counts, samples)
    for host, peers in (("node", node), ("chromium", chromium)):
        if peers["ours"]["first_outputs"] != peers["pyodide"]["first_outputs"]:
            raise BuildError(
                f"Python peers disagree in {host}: ours {peers['ours']['first_outputs']}, "
                f"Pyodide {peers['pyodide']['first_outputs']}"
            )
    return {
        "class": str(PYTHON_SOURCE.relative_to(paths.REPO)),
        "counts": counts,
        "definitions": {
            "cold_start_s": "from the process start (Node) / from starting the load in a fresh browser's page "
            "(Chromium) to the first result (one number and 1 s of audio); median of the samples",
            "warm_start_ms": "a second run of the same inputs on the loaded peer: ours instantiates the compiled "
            "module and starts CPython again (every run does), Pyodide builds the node in its running interpreter",
            "second_load_s": "Pyodide: a second loadPyodide() in the same process / page",
            "session_first_ms, session_warm_ms": "ours: runner.open() on the loaded runner (the bundle's reactor "
            "module: CPython stays up between items), the first items pushed, close(); the first session also "
            "compiles the reactor module, the second does not",
            "us_per_number, ms_per_audio_second": "the slope of the run time over two item counts (start-up "
            "cancels out); audio: ours takes {'$audio': base64 float32} JSON items, Pyodide a Float32Array",
            "session_us_per_number, session_ms_per_audio_second": "ours: the same slope with the items pushed one "
            "by one into a session (runner.open() on the loaded runner; open and close cancel out): numbers with "
            "push, audio with pushAudio (its samples as a Float32Array, as Pyodide gets them). Pyodide's run "
            "already calls the node in its running interpreter, so its us_per_number compares with these",
            "session_many_us_per_number, session_many_ms_per_audio_second": "ours: the same with the items "
            "pushed in batches (session.pushMany; the size is each slope's `batch` in raw): one call into the "
            "reactor, and in Chromium one message to the runner's Worker and back, per batch",
        },
        "versions": {"pyodide": json.loads((pyodide / "package.json").read_text())["version"], "ours": "CPython 3.11"},
        "node": node,
        "chromium": chromium,
        "download": download_sizes(bundle, pyodide),
        "seconds": round(time.monotonic() - started, 1),
    }


# ---------------------------------------------------------------------------
# the report


def _context() -> dict:
    try:
        wasmtime_py = importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError as exc:
        raise BuildError("wasmtime (PyPI) is not installed here: run the bench as `./nox -s peers_bench`") from exc
    return {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine.describe(),
        "machine_summary": machine.summary(),
        "tools": {
            "node": toolchains.tool_version("node", "--version"),
            "chromium": toolchains.tool_version("/usr/bin/chromium", "--version"),
            "wasmtime-py": wasmtime_py,
            "whisper.cpp": whisper.WHISPER_VERSION,
        },
    }


def markdown(report: dict) -> str:
    """The README's tables."""
    lines = []
    speech = report.get("speech")
    if speech:
        audio_names = list(speech["audio"])
        by = {(s["system"], s["setting"]): s for s in speech["summary"]}
        systems = list(dict.fromkeys(s["system"] for s in speech["summary"]))
        head = " | ".join(f"RTF {a.removesuffix('.wav')}" for a in audio_names)
        lines += [
            f"| system | greedy: {head} | WER | beam 5: {head} | WER |",
            "| --- |" + " --- |" * (2 * len(audio_names) + 2),
        ]
        for system in systems:
            cells = []
            for setting in ("greedy", "beam5"):
                s = by.get((system, setting))
                if s is None:
                    cells += ["–"] * (len(audio_names) + 1)
                else:
                    cells += [f"{s['rtf'][a]:.3f}" for a in audio_names] + [f"{100 * s['wer']:.1f} %"]
            lines.append(f"| {system} | " + " | ".join(cells) + " |")
    py = report.get("python")
    if py:
        lines += [
            "",
            "| Python class | cold start | warm start | warm session | per number: run, push, pushMany "
            "| per 1 s of audio: run, push, pushMany | download (gzip) |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for host in ("node", "chromium"):
            for peer, label in (("ours", "ours"), ("pyodide", "Pyodide")):
                p = py[host][peer]
                size = py["download"][peer]["total_bytes"] / 2**20
                session = f"{p['session_warm_ms']:.0f} ms" if "session_warm_ms" in p else "–"
                number = f"{p['us_per_number']:.1f} µs"
                audio = f"{p['ms_per_audio_second']:.2f} ms"
                for prefix in SESSION_SLOPES.values():
                    if f"{prefix}_us_per_number" in p:
                        number += f", {p[f'{prefix}_us_per_number']:.1f} µs"
                        audio += f", {p[f'{prefix}_ms_per_audio_second']:.2f} ms"
                lines.append(
                    f"| {label}, {host.capitalize()} | {p['cold_start_s']:.2f} s | {p['warm_start_ms']:.0f} ms | "
                    f"{session} | {number} | {audio} | {size:.1f} MiB |"
                )
    return "\n".join(lines)


def _chart(report: dict, out: Path) -> None:
    try:
        import matplotlib
    except ImportError as exc:
        raise BuildError("matplotlib is missing: run through nox (group 'peers')") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    speech, py = report.get("speech"), report.get("python")
    fig, axes = plt.subplots(1, 3, figsize=(20, 6))
    if speech:
        summary = speech["summary"]
        for ax, setting in zip(axes[:2], ("beam5", "greedy"), strict=True):
            rows = [s for s in summary if s["setting"] == setting]
            names = [s["system"] for s in rows]
            audio_names = list(speech["audio"])
            width = 0.8 / len(audio_names)
            for i, a in enumerate(audio_names):
                ax.barh([y + i * width for y in range(len(rows))], [s["rtf"].get(a, 0) for s in rows], width, label=a)
            for y, s in enumerate(rows):
                ax.annotate(f"WER {100 * s['wer']:.1f} %", (max(s["rtf"].values()), y), fontsize=7, va="center")
            ax.set_yticks([y + 0.4 - width / 2 for y in range(len(rows))], names, fontsize=8)
            ax.invert_yaxis()
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel("RTF (processing s / audio s, log), lower is better")
            ax.set_title(f"Speech to text, tiny.en, 1 thread, {'beam 5' if setting == 'beam5' else 'greedy'}")
            ax.legend(fontsize=8)
    if py:
        ax = axes[2]
        labels, cold, warm = [], [], []
        for host in ("node", "chromium"):
            for peer in ("ours", "pyodide"):
                p = py[host][peer]
                labels.append(f"{'ours' if peer == 'ours' else 'Pyodide'}\n{host}")
                cold.append(p["cold_start_s"])
                warm.append(p["warm_start_ms"] / 1000)
        x = range(len(labels))
        ax.bar([i - 0.2 for i in x], cold, 0.4, label="cold start (s)")
        ax.bar([i + 0.2 for i in x], warm, 0.4, label="warm start (s)")
        ax.set_yscale("log")
        ax.set_xticks(list(x), labels)
        ax.set_title("Python class: start-up (per-item and download in the report)")
        ax.legend(fontsize=8)
    fig.suptitle(f"Peers, one run on {report['context']['machine_summary']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


OUR_HOSTS = ("native", "wasmtime", "node", "chromium")
PYTHON_FIELDS = ("cold_start_s", "warm_start_ms", "us_per_number", "ms_per_audio_second")
# the per-item slopes of ours' sessions: the key in a sample's perItem -> the report's field prefix
SESSION_SLOPES = {"session": "session", "sessionMany": "session_many"}
OUR_SESSION_FIELDS = tuple(
    f"{prefix}_{unit}" for prefix in SESSION_SLOPES.values() for unit in ("us_per_number", "ms_per_audio_second")
)


def expected_speech_rows(emscripten_built: bool) -> set[tuple[str, str, str]]:
    """The (system, setting, audio) of every row a speech report must have."""
    rows = set()
    for audio in TEXTS:
        for setting in SETTINGS:
            rows |= {(f"ours {host} {kind}", setting, audio) for host in OUR_HOSTS for kind in MODELS}
            rows |= {(f"faster-whisper {compute}", setting, audio) for compute in FW_COMPUTE_TYPES}
        if emscripten_built:  # its JavaScript API decodes greedily only
            rows |= {(f"whisper.cpp emscripten {kind}", "greedy", audio) for kind in MODELS}
    return rows


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def report_problems(report: dict) -> list[str]:
    """What is wrong with a (whole or partial) peers report: missing or extra rows, numbers that
    are not finite and positive, a WER that is not the one of the row's text, peers that
    disagree. Empty when it is valid."""
    problems = []
    if "context" not in report:
        problems.append("no context (machine, tools)")
    if not any(part in report for part in ("speech", "python")):
        problems.append("neither a speech nor a python part")
    speech = report.get("speech")
    if speech is not None:
        if set(speech.get("audio", {})) != set(TEXTS):
            problems.append(f"speech audio {sorted(speech.get('audio', {}))}, expected {sorted(TEXTS)}")
        em = speech.get("peers", {}).get("whisper.cpp-emscripten", {})
        if "built" not in em:
            problems.append("whisper.cpp-emscripten: neither built nor a build error")
        elif not em["built"] and not (isinstance(em.get("error"), str) and em["error"].strip()):
            problems.append("whisper.cpp-emscripten: not built, and no build error to say why")
        rows = speech.get("rows", [])
        keys = [(r.get("system"), r.get("setting"), r.get("audio")) for r in rows]
        duplicates = sorted({k for k in keys if keys.count(k) > 1}, key=str)
        if duplicates:
            problems.append(f"speech rows twice: {duplicates}")
        expected = expected_speech_rows(bool(em.get("built")))
        missing, extra = expected - set(keys), set(keys) - expected
        if missing:
            problems.append(f"speech rows missing: {sorted(missing)}")
        if extra:
            problems.append(f"speech rows not expected: {sorted(extra, key=str)}")
        for row in rows:
            name = f"{row.get('system')} {row.get('setting')} {row.get('audio')}"
            if not _positive(row.get("rtf")) or not _positive(row.get("audio_seconds")):
                problems.append(f"{name}: rtf {row.get('rtf')!r}, audio_seconds {row.get('audio_seconds')!r}")
            text = row.get("text")
            if not isinstance(text, str) or row.get("audio") not in TEXTS:
                problems.append(f"{name}: no text")
            elif row.get("wer") != round(wer(TEXTS[row["audio"]], text), 4):
                problems.append(f"{name}: wer {row.get('wer')!r} is not the WER of its text")
        summarised = {(s.get("system"), s.get("setting")) for s in speech.get("summary", [])}
        if summarised != {(k[0], k[1]) for k in keys}:
            problems.append("the speech summary does not cover exactly the rows' systems and settings")
    py = report.get("python")
    if py is not None:
        for host in ("node", "chromium"):
            for peer in ("ours", "pyodide"):
                got = py.get(host, {}).get(peer)
                if got is None:
                    problems.append(f"python: no {peer} in {host}")
                    continue
                fields = PYTHON_FIELDS + (OUR_SESSION_FIELDS if peer == "ours" else ())
                bad = {f: got.get(f) for f in fields if not _positive(got.get(f))}
                if bad:
                    problems.append(f"python {peer} in {host}: not finite and positive: {bad}")
            peers = py.get(host, {})
            both = "ours" in peers and "pyodide" in peers
            if both and peers["ours"].get("first_outputs") != peers["pyodide"].get("first_outputs"):
                problems.append(f"python: the peers' first outputs differ in {host}")
        for peer in ("ours", "pyodide"):
            if not _positive(py.get("download", {}).get(peer, {}).get("total_bytes")):
                problems.append(f"python: no download size for {peer}")
    return problems


def refuse_problems(problems: list[str], report: str) -> None:
    """Fails with every problem of a report's check (before anything is written), if any."""
    if problems:
        raise BuildError(f"the {report} report is not valid:\n  " + "\n  ".join(problems))


def validate(report: dict) -> None:
    """Fails with every problem of ``report_problems`` (before anything is written)."""
    refuse_problems(report_problems(report), "peers")


def _write(name: str, report: dict) -> Path:
    paths.REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    return fsutil.write_atomic(paths.REPORTS_DIR / name, json.dumps(report, indent=1) + "\n")


def _print_summary(report: dict) -> None:
    ui.step(f"peers bench: summary ({report['context']['machine_summary']})")
    print(markdown(report))
    speech = report.get("speech")
    if speech:
        em = speech["peers"]["whisper.cpp-emscripten"]
        if not em["built"]:
            ui.warn(f"whisper.cpp's emscripten build did not build: {em['error']}")
        node = speech["node_wasi_default_flags"]
        if not node["ok"]:
            ui.warn(f"node:wasi with default flags: exit {node['exit_code']} on the f16 pipeline ({node['why']})")


def speech(args: argparse.Namespace) -> int:
    """Only the speech part (reports/peers_speech.json)."""
    repeats = 3 if getattr(args, "full", False) else 1
    report = {"context": _context(), "speech": speech_report(repeats)}
    validate(report)
    path = _write("peers_speech.json", report)
    _print_summary(report)
    ui.ok(f"report: {path}")
    return 0


def python(args: argparse.Namespace) -> int:
    """Only the Python part (reports/peers_python.json)."""
    report = {"context": _context(), "python": python_report(bool(getattr(args, "full", False)))}
    validate(report)
    path = _write("peers_python.json", report)
    _print_summary(report)
    ui.ok(f"report: {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    full = bool(getattr(args, "full", False))
    repeats = 3 if full else 1
    ui.step(f"peers bench ({'full' if full else 'quick'}) on {machine.summary()}")
    report = {
        "context": _context(),
        "mode": "full" if full else "quick",
        "python": python_report(full),
        "speech": speech_report(repeats),
    }
    report["markdown"] = markdown(report)
    validate(report)
    json_path = _write(REPORT_JSON, report)
    png_path = paths.REPORTS_DIR / REPORT_PNG
    _chart(report, png_path)
    _print_summary(report)
    ui.ok(f"report: {json_path}")
    ui.ok(f"chart:  {png_path}")
    return 0
