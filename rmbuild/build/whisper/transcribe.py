"""Transcription with the bare ``whisper-cli`` (native or wasm): tests and the benchmark."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ...run import wasi
from ...run.outcome import Outcome
from . import builds
from .audio import WhisperError, read_wav

_TIMING = re.compile(r"whisper_print_timings:\s+(\w+) time =\s+([\d.]+) ms")


@dataclass
class Transcript:
    """What whisper-cli printed, parsed, with the run it came from."""

    target: str  # native | wasm
    model: str
    audio: str
    text: str
    run: Outcome
    timings_ms: dict[str, float] = field(default_factory=dict)  # whisper's own: load, mel, encode, ...
    engine: str = ""  # wasm: runner (epoch interruption) | plain
    relaxed_simd: bool = False  # wasm: the relaxed-SIMD variant of whisper-cli

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, single spaces: for comparing transcripts."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def _cli_args(model: str, audio: str, threads: int, beam: int) -> list[str]:
    return ["-m", model, "-f", audio, "-t", str(threads), "-bs", str(beam), "-bo", str(beam), "-nt", "-l", "en"]


def _parse(target: str, model: Path, audio: Path, run: Outcome, engine: str, relaxed_simd: bool = False) -> Transcript:
    stderr = run.error_text
    if run.exit_code != 0:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        raise WhisperError(f"whisper-cli ({target}) failed on {audio.name} with exit code {run.exit_code}:\n{tail}")
    if "error: failed to read audio" in stderr:  # whisper-cli reports it but exits with 0
        raise WhisperError(f"whisper-cli ({target}) could not read {audio}")
    text = " ".join(line.strip() for line in run.text.splitlines() if line.strip())
    timings = {name: float(ms) for name, ms in _TIMING.findall(stderr)}
    return Transcript(target, model.name, audio.name, text, run, timings, engine, relaxed_simd)


def transcribe(
    target: str,
    model: Path,
    audio: Path,
    *,
    threads: int = 1,
    beam: int = 5,
    use_cache: bool = True,
    timeout: float = 900.0,
    engine: str = "runner",
    relaxed_simd: bool = False,
) -> Transcript:
    """Transcribe ``audio`` (16 kHz WAV) with ``model`` on ``target`` ("native" or "wasm").

    For wasm, ``engine`` is "runner" (``wasi.run``: epoch-interruption time limit) or
    "plain" (``wasi.run(plain=True)``: no epoch interruption, a child process killed on
    timeout); both use the compiled-module cache. ``relaxed_simd``: run ``whisper-cli-relaxed.wasm``."""
    if relaxed_simd and target != "wasm":
        raise WhisperError(f"relaxed_simd is a variant of the wasm build; target {target!r} has none")
    model, audio = Path(model).resolve(), Path(audio).resolve()
    rate, _ = read_wav(audio)  # a clear error for anything that is not a usable WAV
    if rate != 16000:
        raise WhisperError(f"{audio}: sample rate {rate} Hz; whisper needs 16 kHz")
    if not model.is_file():
        raise WhisperError(f"{model}: no such model file")
    if target == "native":
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                [str(builds.native_cli()), *_cli_args(str(model), str(audio), threads, beam)],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise WhisperError(f"native whisper-cli timed out after {timeout:g} s on {audio.name}") from exc
        run = Outcome(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started, host="native")
        return _parse(target, model, audio, run, "")
    if target == "wasm" and engine in ("plain", "runner"):
        run = wasi.run(
            builds.wasm_cli(relaxed=relaxed_simd),
            _cli_args(f"/model/{model.name}", f"/audio/{audio.name}", threads, beam),
            preopens={"/model": model.parent, "/audio": audio.parent},
            timeout=timeout,
            use_cache=use_cache,
            program_name="whisper-cli",
            plain=engine == "plain",
        )
        return _parse(target, model, audio, run, engine, relaxed_simd)
    raise WhisperError(f"unknown target {target!r} / engine {engine!r} (native, or wasm with runner or plain)")
