"""whisper.cpp natively (the reference) and for wasm32-wasi (zig), plus its model and audio.

- ``source``: the locked sdist's whisper.cpp with ``whisper/patches`` applied, and the
  persistent work tree that makes both builds incremental;
- ``builds``: ``native_build()`` (cmake) and ``wasm_build()`` (zig: ``libggml.a``,
  ``libwhisper.a``, ``whisper-cli.wasm``, and the relaxed-SIMD ``libggml.a`` and
  ``whisper-cli-relaxed.wasm``, which compute the same bits);
- ``model``: tiny.en converted from CTranslate2 to ggml f16, quantized to q8_0, q5_1;
- ``audio``: jfk.wav, an espeak-ng utterance, WAV helpers;
- ``transcribe``: the bare whisper-cli on either target.

Every product is a content-hash keyed step (see ``core.steps``).
"""

from __future__ import annotations

import argparse

from ...core import toolchains, ui
from ...core.ui import BuildError
from .audio import (
    JFK_TEXT,
    LONG_TEXT,
    THIRD_TEXT,
    WhisperError,
    jfk_wav,
    long_wav,
    read_wav,
    resample,
    third_wav,
    wav_seconds,
    write_wav,
)
from .builds import native_build, native_cli, wasm_build, wasm_cli, wasm_compile_flags
from .model import models
from .source import GGML_VERSION, WHISPER_VERSION
from .transcribe import Transcript, normalise, transcribe

__all__ = [
    "GGML_VERSION",
    "JFK_TEXT",
    "LONG_TEXT",
    "THIRD_TEXT",
    "WHISPER_VERSION",
    "Transcript",
    "WhisperError",
    "jfk_wav",
    "long_wav",
    "models",
    "native_build",
    "native_cli",
    "normalise",
    "read_wav",
    "resample",
    "third_wav",
    "transcribe",
    "wasm_build",
    "wasm_cli",
    "wasm_compile_flags",
    "wav_seconds",
    "write_wav",
]


def build(args: argparse.Namespace) -> int:
    """The whisper-build phase: both builds, the models, the benchmark audio, a smoke test."""
    toolchains.ensure("whisper")
    native = native_build()
    wasm = wasm_build()
    built = models()
    long = long_wav()
    ui.step("whisper: smoke test (q8_0, jfk.wav, native and wasm)")
    for target in ("native", "wasm"):
        result = transcribe(target, built["q8_0"], jfk_wav(), beam=1)
        if normalise(result.text) != normalise(JFK_TEXT):
            raise BuildError(f"whisper {target} smoke test: unexpected transcript {result.text!r}")
        ui.ok(f"{target}: {result.text}")
    ui.ok(f"native build: {native}")
    ui.ok(f"wasm build:   {wasm} (whisper-cli.wasm {ui.human_bytes(wasm_cli().stat().st_size)})")
    for kind, path in built.items():
        ui.ok(f"model {kind:<5} {path} ({ui.human_bytes(path.stat().st_size)})")
    ui.ok(f"long audio:   {long} ({wav_seconds(long):.1f} s)")
    return 0
