"""The full audio pipeline ``MediaReader -> Resample -> Whisper -> Output`` (issue 8),
run by the native ``pipeline_executor`` and by ``pipeline_executor_wasm``.

Used by ``tests/test_whisper_node.py`` and ``whisper_bench`` (the pipeline RTF).
The manifest is ``runtime/examples/whisper/transcribe.json`` with its model path
replaced by an absolute one. In wasm, host folders are preopened at their own
absolute path (``wasm.same_path_preopens``), so paths and messages match native.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import native, paths, wasm, whisper

EXAMPLE = paths.RUNTIME_DIR / "examples" / "whisper" / "transcribe.json"
WHISPER_NODE = "asr"


@dataclass
class PipelineRun:
    target: str  # native | wasm
    exit_code: int
    stdout: str
    stderr: str
    seconds: float  # the run, without wasm compilation
    compile_seconds: float = 0.0  # wasm: compile or load of the compiled module

    @property
    def error(self) -> str:
        """First stderr line (the runtime's ``error: ...``)."""
        lines = self.stderr.strip().splitlines()
        return lines[0] if lines else ""

    def result(self) -> dict:
        """The Whisper node's output for the first item (``text``, ``segments``, ``language``)."""
        if self.exit_code != 0:
            raise whisper.WhisperError(f"pipeline ({self.target}) failed with exit {self.exit_code}: {self.stderr}")
        return json.loads(self.stdout)["outputs"]["out"][0]


def manifest(model: Path | str, **params: object) -> dict:
    """The example manifest with ``model`` (made absolute) and other Whisper params."""
    data = json.loads(EXAMPLE.read_text())
    for node in data["nodes"]:
        if node["id"] == WHISPER_NODE:
            node["params"].update({"model": str(Path(model).absolute()), **params})
    return data


def write_manifest(folder: Path, model: Path | str, **params: object) -> Path:
    path = Path(folder) / "transcribe.json"
    path.write_text(json.dumps(manifest(model, **params), indent=1))
    return path


def _items_file(folder: Path, audio: Sequence[Path]) -> Path:
    items = Path(folder) / "items.json"
    items.write_text(json.dumps([str(Path(a).absolute()) for a in audio]))
    return items


def run_native(
    manifest_path: Path, audio: Sequence[Path], *, executor: Path | None = None, timeout: float = 600
) -> PipelineRun:
    manifest_path = Path(manifest_path).absolute()
    items = _items_file(manifest_path.parent, audio)
    cmd = [str(executor or native.executor_path()), "run", str(manifest_path), "--input", str(items), "--compact"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    return PipelineRun("native", proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


def _folders(manifest_path: Path, audio: Sequence[Path], extra: Sequence[Path]) -> list[Path]:
    model_dirs = []
    for node in json.loads(Path(manifest_path).read_text())["nodes"]:
        model = node.get("params", {}).get("model")
        if node.get("type") == "Whisper" and isinstance(model, str) and Path(model).is_absolute():
            model_dirs.append(Path(model).parent)
    found = [Path(manifest_path).parent, *(Path(a).absolute().parent for a in audio), *model_dirs, *extra]
    return [d for d in dict.fromkeys(d.resolve() for d in found) if d.is_dir()]


def run_wasm(
    manifest_path: Path,
    audio: Sequence[Path],
    *,
    layout: wasm.Layout | None = None,
    extra_dirs: Sequence[Path] = (),
    timeout: float = 600,
    plain: bool = False,
) -> PipelineRun:
    """In wasmtime through ``wasi_runner.run``: epoch-interruption time limit, or with
    ``plain`` none (a child process killed on timeout, as whisper-cli's headline numbers)."""
    manifest_path = Path(manifest_path).absolute()
    items = _items_file(manifest_path.parent, audio)
    result = wasm.run(
        ["run", str(manifest_path), "--input", str(items), "--compact"],
        preopens=wasm.same_path_preopens(*_folders(manifest_path, audio, extra_dirs)),
        layout=layout,
        timeout=timeout,
        plain=plain,
    )
    return PipelineRun(
        "wasm",
        result.exit_code,
        result.stdout.decode(errors="replace"),
        result.stderr.decode(errors="replace"),
        result.run_seconds,
        result.compile_seconds,
    )
