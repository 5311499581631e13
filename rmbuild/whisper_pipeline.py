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
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import native, paths, steps, wasm, whisper

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
) -> PipelineRun:
    """In the project's wasmtime runner (``wasi_runner``: epoch-interruption time limit)."""
    manifest_path = Path(manifest_path).absolute()
    items = _items_file(manifest_path.parent, audio)
    result = wasm.run(
        ["run", str(manifest_path), "--input", str(items), "--compact"],
        preopens=wasm.same_path_preopens(*_folders(manifest_path, audio, extra_dirs)),
        layout=layout,
        timeout=timeout,
    )
    return PipelineRun(
        "wasm",
        result.exit_code,
        result.stdout.decode(errors="replace"),
        result.stderr.decode(errors="replace"),
        result.run_seconds,
        result.compile_seconds,
    )


# ---------------------------------------------------------------------------
# the plain engine (benchmark): no epoch interruption, precompiled module, child process


def precompiled_executor(module: Path | None = None) -> Path:
    """``pipeline_executor_wasm`` compiled ahead of time for whisper's plain engine."""
    import importlib.metadata

    module = Path(module or wasm.module_path())

    def build(out: Path) -> None:
        import wasmtime

        compiled = wasmtime.Module(whisper._plain_engine(), module.read_bytes())
        (out / "pipeline_executor_wasm.cwasm").write_bytes(compiled.serialize())

    out = steps.cached(
        "whisper-pipeline-cwasm",
        inputs=[module],
        facts={
            "wasmtime": importlib.metadata.version("wasmtime"),
            "settings": whisper.PLAIN_ENGINE_SETTINGS,
            "cpu": whisper._cpu_model(),
        },
        build=build,
    )
    return out / "pipeline_executor_wasm.cwasm"


def _run_plain_child(request: dict) -> dict:
    import wasmtime

    engine = whisper._plain_engine()
    module = wasmtime.Module.deserialize_file(engine, request["cwasm"])
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["pipeline_executor_wasm", *request["args"]]
    wasi.env = list(request["env"].items())
    wasi.stdout_file, wasi.stderr_file = request["stdout"], request["stderr"]
    for guest, host in request["preopens"].items():
        wasi.preopen_dir(host, guest)
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    exit_code, trap = 0, None
    started = time.perf_counter()
    try:
        linker.instantiate(store, module).exports(store)["_start"](store)
    except wasmtime.ExitTrap as exc:
        exit_code = exc.code
    except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
        exit_code, trap = 134, str(exc).strip().splitlines()[-1]
    return {"exit_code": exit_code, "trap": trap, "run_seconds": time.perf_counter() - started}


def run_wasm_plain(manifest_path: Path, audio: Sequence[Path], *, timeout: float = 900) -> PipelineRun:
    """In a plain wasmtime engine (like whisper-cli's headline numbers), in a child process."""
    manifest_path = Path(manifest_path).absolute()
    items = _items_file(manifest_path.parent, audio)
    layout = wasm.runtime_layout()
    cwasm = precompiled_executor(layout.module)
    preopens: Mapping[str, Path] = {
        **layout.preopens,
        **wasm.same_path_preopens(*_folders(manifest_path, audio, ())),
    }
    with tempfile.TemporaryDirectory(prefix="whisper-pipeline-") as tmp:
        request = {
            "cwasm": str(cwasm),
            "args": ["run", str(manifest_path), "--input", str(items), "--compact"],
            "env": dict(layout.env),
            "preopens": {guest: str(host) for guest, host in preopens.items()},
            "stdout": str(Path(tmp, "stdout")),
            "stderr": str(Path(tmp, "stderr")),
        }
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "rmbuild.whisper_pipeline", "--run-plain", json.dumps(request)],
                cwd=paths.REPO,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise whisper.WhisperError(f"pipeline_executor_wasm exceeded its time limit of {timeout:g} s") from exc
        if proc.returncode != 0:
            raise whisper.WhisperError(f"the wasm runner process failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        out = Path(tmp, "stdout").read_text(errors="replace")
        err = Path(tmp, "stderr").read_text(errors="replace")
        if result["trap"]:
            err += f"\nerror: the wasm module trapped: {result['trap']}\n"
        return PipelineRun("wasm", result["exit_code"], out, err, result["run_seconds"])


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--run-plain":
        print(json.dumps(_run_plain_child(json.loads(argv[1]))))
        return 0
    print("usage: python -m rmbuild.whisper_pipeline --run-plain REQUEST_JSON (internal)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
