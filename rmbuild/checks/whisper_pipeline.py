"""The full audio pipeline ``MediaReader -> Resample -> Whisper -> Output``, run by the
native ``pipeline_executor`` and by ``pipeline_executor_wasm`` (any ``run.executor`` host).

Used by ``tests/test_whisper_node.py`` and ``whisper_bench`` (the pipeline RTF).
The manifest is ``runtime/examples/whisper/transcribe.json`` with its model path
replaced by an absolute one; the audio files are input items.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..build.whisper import WhisperError
from ..core import paths
from ..run import executor
from ..run.outcome import Outcome

EXAMPLE = paths.EXAMPLES_DIR / "whisper" / "transcribe.json"
WHISPER_NODE = "asr"


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


def _folders(manifest_path: Path, audio: Sequence[Path], extra: Sequence[Path]) -> list[Path]:
    """What the run must see: the manifest's folder, the audio's, the model's, ``extra``."""
    model_dirs = []
    for node in json.loads(Path(manifest_path).read_text())["nodes"]:
        model = node.get("params", {}).get("model")
        if node.get("type") == "Whisper" and isinstance(model, str) and Path(model).is_absolute():
            model_dirs.append(Path(model).parent)
    found = [Path(manifest_path).parent, *(Path(a).absolute().parent for a in audio), *model_dirs, *extra]
    return [d for d in dict.fromkeys(d.resolve() for d in found) if d.is_dir()]


def run(
    host: executor.Host,
    manifest_path: Path,
    audio: Sequence[Path],
    *,
    extra_dirs: Sequence[Path] = (),
    timeout: float = 600,
) -> Outcome:
    """The pipeline over ``audio`` (one item per file) on ``host``."""
    manifest_path = Path(manifest_path).absolute()
    items = manifest_path.parent / "items.json"
    items.write_text(json.dumps([str(Path(a).absolute()) for a in audio]))
    return host.run(
        executor.run_args(manifest_path, items),
        dirs=_folders(manifest_path, audio, extra_dirs),
        timeout=timeout,
    )


def result(outcome: Outcome) -> dict:
    """The Whisper node's output for the first item (``text``, ``segments``, ``language``)."""
    if outcome.exit_code != 0:
        raise WhisperError(f"pipeline ({outcome.host}) failed with exit {outcome.exit_code}: {outcome.error_text}")
    return outcome.json()["outputs"]["out"][0]
