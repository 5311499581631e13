"""whisper.cpp: the converted model transcribes jfk.wav natively and in wasm, the same way.

Real builds, a real model and real audio; the first run builds everything (a few
minutes), later runs reuse the cached build steps.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from rmbuild.build import whisper
from rmbuild.build.whisper import model as whisper_model
from rmbuild.run import wasi

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "whisper"))

import convert_ct2_to_ggml as converter  # noqa: E402


@pytest.fixture(scope="module")
def models() -> dict[str, Path]:
    return whisper.models()


@pytest.fixture(scope="module")
def native_f16(models) -> whisper.Transcript:
    return whisper.transcribe("native", models["f16"], whisper.jfk_wav())


@pytest.fixture(scope="module")
def wasm_f16(models) -> whisper.Transcript:
    return whisper.transcribe("wasm", models["f16"], whisper.jfk_wav())


def test_converted_f16_model_transcribes_jfk_natively(native_f16):
    assert whisper.normalise(native_f16.text) == whisper.normalise(whisper.JFK_TEXT)


def test_wasm_cli_transcribes_jfk_like_native_with_f16(native_f16, wasm_f16):
    assert whisper.normalise(wasm_f16.text) == whisper.normalise(whisper.JFK_TEXT)
    assert wasm_f16.text == native_f16.text
    assert wasm_f16.timings_ms["encode"] > 0  # whisper's own timings were parsed


def test_quantized_q8_0_model_transcribes_jfk_in_wasm(models):
    result = whisper.transcribe("wasm", models["q8_0"], whisper.jfk_wav(), beam=1)
    assert whisper.normalise(result.text) == whisper.normalise(whisper.JFK_TEXT)


def test_relaxed_simd_cli_prints_the_same_bytes_as_the_simd128_cli(models):
    """q5_1, the model whose products patch 0013 changes: the same stdout, byte for byte."""
    simd128 = whisper.transcribe("wasm", models["q5_1"], whisper.jfk_wav(), beam=1)
    relaxed = whisper.transcribe("wasm", models["q5_1"], whisper.jfk_wav(), beam=1, relaxed_simd=True)
    assert whisper.normalise(relaxed.text) == whisper.normalise(whisper.JFK_TEXT)
    assert relaxed.run.stdout == simd128.run.stdout
    assert whisper.wasm_cli(relaxed=True).read_bytes() != whisper.wasm_cli().read_bytes()


def test_relaxed_simd_is_refused_for_the_native_target(models):
    with pytest.raises(whisper.WhisperError, match="relaxed_simd is a variant of the wasm build"):
        whisper.transcribe("native", models["q5_1"], whisper.jfk_wav(), relaxed_simd=True)


def test_wasm_build_exports_libraries_and_header():
    out = whisper.wasm_build()
    for name in (
        "lib/libwhisper.a",
        "lib/libggml.a",
        "lib-relaxed/libggml.a",
        "include/whisper.h",
        "include/ggml.h",
        "flags.json",
        "bin/whisper-cli-relaxed.wasm",
    ):
        assert (out / name).is_file(), name
    module = (out / "bin" / "whisper-cli.wasm").read_bytes()
    assert module[:4] == b"\0asm"


# ---------------------------------------------------------------------------
# bad audio: a clear error, never a crash


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"this is not a wav file at all" * 10, "not a PCM WAV"),
    ],
)
def test_bad_audio_is_refused_clearly(tmp_path, models, content, message):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    with pytest.raises(whisper.WhisperError, match=message):
        whisper.transcribe("wasm", models["q8_0"], bad)


def test_truncated_wav_is_refused_clearly(tmp_path, models):
    data = whisper.jfk_wav().read_bytes()
    bad = tmp_path / "truncated.wav"
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(whisper.WhisperError, match="truncated"):
        whisper.transcribe("native", models["q8_0"], bad)


def test_wasm_cli_itself_rejects_a_non_wav_without_trapping(tmp_path, models):
    """Bypass the Python check: the module must fail with a message, not a wasm trap."""
    (tmp_path / "noise.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    model = models["q8_0"]
    run = wasi.run(
        whisper.wasm_cli(),
        ["-m", f"/model/{model.name}", "-f", "/audio/noise.wav", "-t", "1"],
        preopens={"/model": model.parent, "/audio": tmp_path},
        timeout=300,
    )
    assert run.trap is None, run.stderr.decode(errors="replace")
    # upstream whisper-cli reports the file and goes on to the next one (exit status 0)
    assert b"error: failed to read audio file" in run.stderr
    assert run.stdout.strip() == b""


# ---------------------------------------------------------------------------
# the converter refuses damaged or unknown inputs


@pytest.fixture(scope="module")
def ct2_model() -> Path:
    return whisper_model.ct2_model()


@pytest.fixture(scope="module")
def assets() -> Path:
    return whisper_model.assets()


def test_converter_refuses_a_truncated_model(tmp_path, ct2_model, assets):
    bad = tmp_path / "model.bin"
    with (ct2_model / "model.bin").open("rb") as fh:
        bad.write_bytes(fh.read(5_000_000))
    with pytest.raises(converter.ConversionError, match="truncated"):
        converter.convert(tmp_path, assets, tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()


def test_converter_refuses_an_unknown_format(tmp_path, assets):
    (tmp_path / "model.bin").write_bytes(struct.pack("<I", 99) + b"\0" * 64)
    with pytest.raises(converter.ConversionError, match="binary version 99"):
        converter.convert(tmp_path, assets, tmp_path / "out.bin")


def test_converter_refuses_a_non_whisper_model(tmp_path, assets):
    spec = b"TransformerSpec\0"
    (tmp_path / "model.bin").write_bytes(struct.pack("<IH", 6, len(spec)) + spec + struct.pack("<II", 1, 0))
    with pytest.raises(converter.ConversionError, match="not a Whisper model"):
        converter.convert(tmp_path, assets, tmp_path / "out.bin")


def test_converter_refuses_an_empty_or_missing_model(tmp_path, assets):
    (tmp_path / "model.bin").write_bytes(b"")
    with pytest.raises(converter.ConversionError, match="empty"):
        converter.convert(tmp_path, assets, tmp_path / "out.bin")
    with pytest.raises(converter.ConversionError, match="no such file"):
        converter.convert(tmp_path / "missing", assets, tmp_path / "out.bin")


def test_converter_cli_reports_errors_with_status_2(tmp_path, assets, capsys):
    (tmp_path / "model.bin").write_bytes(b"garbage!" * 4)
    assert converter.main([str(tmp_path), str(assets), str(tmp_path / "out.bin")]) == 2
    assert "error:" in capsys.readouterr().err


def test_converter_refuses_damaged_assets(tmp_path, ct2_model):
    (tmp_path / "mel_filters.npz").write_bytes(b"not a zip")
    with pytest.raises(converter.ConversionError, match="mel filter"):
        converter.convert(ct2_model, tmp_path, tmp_path / "out.bin")


@pytest.mark.parametrize("target", ["native", "wasm"])
def test_damaged_model_fails_with_a_message_not_a_crash(tmp_path, models, target):
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(models["q8_0"].read_bytes()[:10_000_000])
    with pytest.raises(whisper.WhisperError, match="not all tensors loaded"):
        whisper.transcribe(target, truncated, whisper.jfk_wav(), beam=1)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model" * 100)
    with pytest.raises(whisper.WhisperError, match="bad magic"):
        whisper.transcribe(target, junk, whisper.jfk_wav(), beam=1)
