"""The Whisper node: ``MediaReader -> Resample -> Whisper -> Output``
natively (pipeline_executor) and in wasmtime (pipeline_executor_wasm), both linked
with whisper.cpp built from the same source.

Real builds, the real converted tiny.en model and whisper.cpp's jfk.wav; inputs in
other formats are made from jfk.wav with numpy. Host folders are preopened in wasm
at their own path, so outputs and error messages must be byte-identical.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rmbuild.build import native, whisper
from rmbuild.build.wasm import module as wasm_module
from rmbuild.checks import whisper_pipeline as wp
from rmbuild.run import executor as hosts
from rmbuild.run import wasi
from rmbuild.run.outcome import Outcome


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("whisper-node")


@pytest.fixture(scope="module")
def executor(work) -> Path:
    """A private copy: a concurrent rebuild may prune the cached step output."""
    copy = work / "bin" / "pipeline_executor"
    copy.parent.mkdir()
    shutil.copy2(native.executor_path(), copy)
    return copy


@pytest.fixture(scope="module")
def layout(work) -> wasi.Layout:
    layout = wasm_module.layout()
    copy = work / "wasm" / layout.module.name
    copy.parent.mkdir()
    shutil.copy2(layout.module, copy)
    return layout._replace(module=copy)


@pytest.fixture(scope="module")
def f16(work) -> Path:
    models = work / "models"
    models.mkdir()
    return Path(shutil.copy2(whisper.models()["f16"], models / "ggml-tiny.en-f16.bin"))


@pytest.fixture(scope="module")
def audio(work) -> Path:
    folder = work / "audio"
    folder.mkdir()
    shutil.copy2(whisper.jfk_wav(), folder / "jfk.wav")
    return folder


def _native(manifest: Path, audio: list[Path], executor: Path) -> Outcome:
    return wp.run(hosts.Native(executor), manifest, audio)


def _wasm(manifest: Path, audio: list[Path], layout: wasi.Layout, *extra: Path) -> Outcome:
    return wp.run(hosts.Wasmtime(layout), manifest, audio, extra_dirs=extra)


def _case_dir(work: Path, name: str) -> Path:
    d = work / "cases" / name
    d.mkdir(parents=True)
    return d


@pytest.fixture(scope="module")
def jfk_runs(work, f16, audio, executor, layout) -> tuple[Outcome, Outcome]:
    manifest = wp.write_manifest(_case_dir(work, "jfk"), f16)
    jfk = audio / "jfk.wav"
    return _native(manifest, [jfk], executor), _wasm(manifest, [jfk], layout)


# ---------------------------------------------------------------------------
# jfk.wav through the whole pipeline


def test_example_manifest_validates(executor):
    proc = subprocess.run([str(executor), "validate", str(wp.EXAMPLE)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok: valid manifest (4 nodes, 3 connections)"


def test_jfk_native_transcript_with_segments(jfk_runs):
    native_run, _ = jfk_runs
    out = wp.result(native_run)
    assert whisper.normalise(out["text"]) == whisper.normalise(whisper.JFK_TEXT)
    assert out["language"] == "en"
    segments = out["segments"]
    assert len(segments) >= 1
    assert " ".join(s["text"] for s in segments) == out["text"]
    starts = [s["start"] for s in segments]
    assert starts[0] == 0.0 and starts == sorted(starts)
    assert all(s["start"] < s["end"] for s in segments)
    assert 10.0 <= segments[-1]["end"] <= 11.5  # jfk.wav is 11.0 s long


def test_jfk_wasm_output_is_identical_to_native(jfk_runs):
    native_run, wasm_run = jfk_runs
    assert wasm_run.exit_code == 0, wasm_run.error_text
    assert wasm_run.stdout == native_run.stdout  # text, segments and timestamps, byte for byte
    assert wasm_run.stderr == native_run.stderr == b""  # whisper.cpp's log stays off stderr


def _jfk_samples() -> tuple[int, np.ndarray]:
    rate, samples = whisper.read_wav(whisper.jfk_wav())
    return rate, samples.astype(np.float64)


def _wav(path: Path, rate: int, frames: np.ndarray, *, fmt: str) -> Path:
    """Write a WAV by hand: ``pcm16``, ``pcm24``, or ``float`` (WAVE_FORMAT_EXTENSIBLE)."""
    frames = np.atleast_2d(frames.T).T  # (n, channels)
    channels = frames.shape[1]
    if fmt == "pcm16":
        data = np.clip(np.round(frames * 32767), -32768, 32767).astype("<i2").tobytes()
        bits, tag, ext = 16, 1, b""
    elif fmt == "pcm24":
        ints = np.clip(np.round(frames * 8388607), -8388608, 8388607).astype("<i4").reshape(-1)
        data = b"".join(int(v).to_bytes(4, "little", signed=True)[:3] for v in ints)
        bits, tag, ext = 24, 1, b""
    elif fmt == "float":
        data = frames.astype("<f4").tobytes()
        bits, tag = 32, 0xFFFE
        guid_float = struct.pack("<H", 3) + bytes.fromhex("000000001000800000aa00389b71")
        ext = struct.pack("<HHI", 22, 32, 3 if channels == 2 else 4) + guid_float
    else:
        raise AssertionError(fmt)
    block = channels * bits // 8
    fmt_body = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits) + ext
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body + b"data" + struct.pack("<I", len(data))
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + len(data)) + body + data)
    return path


def test_stereo_float_44k_wav_gives_the_same_transcript_on_both_targets(work, f16, executor, layout):
    case = _case_dir(work, "stereo-float")
    rate, mono = _jfk_samples()
    up = whisper.resample(mono, rate, 44100).astype(np.float64)
    stereo = np.stack([up, 0.5 * up], axis=1)  # different channels: the node averages them
    wav = _wav(case / "jfk-44k-stereo-float.wav", 44100, stereo, fmt="float")
    manifest = wp.write_manifest(case, f16)
    native_run = _native(manifest, [wav], executor)
    assert whisper.normalise(wp.result(native_run)["text"]) == whisper.normalise(whisper.JFK_TEXT)
    wasm_run = _wasm(manifest, [wav], layout)
    assert wasm_run.stdout == native_run.stdout


def test_24bit_48k_and_16bit_22k_wavs_transcribe_natively(work, f16, executor):
    case = _case_dir(work, "formats")
    rate, mono = _jfk_samples()
    wav24 = _wav(case / "jfk-48k-24bit.wav", 48000, whisper.resample(mono, rate, 48000), fmt="pcm24")
    wav16 = _wav(
        case / "jfk-22k-16bit-stereo.wav",
        22050,
        np.repeat(whisper.resample(mono, rate, 22050)[:, None], 2, 1),
        fmt="pcm16",
    )
    run = _native(wp.write_manifest(case, f16), [wav24, wav16], executor)
    assert run.exit_code == 0, run.error_text
    outs = json.loads(run.stdout)["outputs"]["out"]
    assert [whisper.normalise(o["text"]) for o in outs] == [whisper.normalise(whisper.JFK_TEXT)] * 2


def test_beam_search_transcribes_jfk_on_both_targets(work, f16, audio, executor, layout):
    # With flash attention, beam search's timestamps differ between native and wasm
    # (whisper.cpp's f16 attention rounds differently; see the README): only the words
    # are compared here.
    manifest = wp.write_manifest(_case_dir(work, "beam"), f16, strategy="beam", beam_size=5)
    for run in (_native(manifest, [audio / "jfk.wav"], executor), _wasm(manifest, [audio / "jfk.wav"], layout)):
        assert whisper.normalise(wp.result(run)["text"]) == whisper.normalise(whisper.JFK_TEXT), run.host


# ---------------------------------------------------------------------------
# bad audio, bad models, bad params: exit 3 (2 for params) with a clear message, same on both targets


def _pcm16_wav(frames: int, rate: int = 16000) -> bytes:
    data = b"\x00\x01" * frames
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


BAD_AUDIO = {
    "not-a-wav": (b"this is not a wav file at all\n" * 10, "not a WAV file (no RIFF/WAVE header)"),
    "empty-file": (b"", "not a WAV file (the file is empty)"),
    "truncated": (
        _pcm16_wav(1000)[:1000],
        "truncated WAV file (data chunk declares 2000 bytes but only 956 are present)",
    ),
    "no-samples": (_pcm16_wav(0), "WAV file has no audio data (empty data chunk)"),
    "wrong-format": (
        _pcm16_wav(8).replace(
            struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16), struct.pack("<HHIIHH", 2, 1, 16000, 32000, 2, 4)
        ),
        "unsupported WAV encoding: format tag 2 (supported: 8/16/24/32-bit PCM, 32-bit float)",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_AUDIO))
def test_bad_audio_is_a_clear_node_error_on_both_targets(work, f16, executor, layout, name):
    content, reason = BAD_AUDIO[name]
    case = _case_dir(work, f"bad-audio-{name}")
    bad = case / f"{name}.wav"
    bad.write_bytes(content)
    manifest = wp.write_manifest(case, f16)
    expected = f"error: node 'read' (MediaReader) failed on item 0: '{bad}': {reason}"
    for run in (_native(manifest, [bad], executor), _wasm(manifest, [bad], layout)):
        assert run.exit_code == 3, (run.host, run.error_text)
        assert run.stdout == b""
        assert run.error == expected, run.host


def test_whisper_without_resample_says_what_to_add(work, f16, executor, layout):
    case = _case_dir(work, "no-resample")
    rate, mono = _jfk_samples()
    wav = _wav(case / "jfk-8k.wav", 8000, whisper.resample(mono, rate, 8000)[:8000], fmt="pcm16")
    data = wp.manifest(f16)
    data["nodes"] = [n for n in data["nodes"] if n["id"] != "resample"]
    data["connections"] = [{"from": "read", "to": "asr"}, {"from": "asr", "to": "out"}]
    manifest = case / "no-resample.json"
    manifest.write_text(json.dumps(data))
    expected = (
        "error: node 'asr' (Whisper) failed on item 0: Whisper needs 16000 Hz audio, got 8000 Hz: "
        'put a Resample node with "target_rate": 16000 before it'
    )
    for run in (_native(manifest, [wav], executor), _wasm(manifest, [wav], layout)):
        assert (run.exit_code, run.error) == (3, expected), run.host


BAD_MODELS = {
    "garbage": "not a whisper ggml model (bad magic)",
    "empty": "the model file is empty",
    "truncated-header": "truncated model file (mel filters: needs 64320 bytes, 944 left)",
    "truncated-tensors": (
        "truncated model file (tensor 'decoder.token_embedding.weight': needs 39831552 bytes, 26421508 left)"
    ),
    # header fields whisper.cpp does not check (ggml asserts, or a C++ exception, without the runtime's check)
    "bad-ftype": "unsupported model file (ftype 4)",
    "bad-heads": "not a valid whisper model (state size not a multiple of the head count)",
    "bad-vocab": "not a valid whisper model (n_vocab is 51863, expected one of [51864, 51865, 51866])",
}


@pytest.fixture(scope="module")
def bad_models(work, f16) -> dict[str, Path]:
    folder = work / "bad-models"
    folder.mkdir()
    model = f16.read_bytes()

    def header(index: int, value: int) -> bytes:  # the 11 int32 after the magic
        at = 4 + 4 * index
        return model[:at] + struct.pack("<i", value) + model[at + 4 :]

    contents = {
        "garbage": b"this is not a ggml model" * 100,
        "empty": b"",
        "truncated-header": model[:1000],
        "truncated-tensors": model[:30_000_000],
        "bad-ftype": header(10, 4),
        "bad-heads": header(3, 7),  # n_audio_head: 384 is not a multiple of 7
        "bad-vocab": header(0, 51863),
    }
    out = {}
    for name, content in contents.items():
        out[name] = folder / f"{name}.bin"
        out[name].write_bytes(content)
    return out


@pytest.mark.parametrize("name", sorted(BAD_MODELS))
def test_bad_model_file_is_a_clear_node_error_on_both_targets(work, bad_models, audio, executor, layout, name):
    model = bad_models[name]
    manifest = wp.write_manifest(_case_dir(work, f"bad-model-{name}"), model)
    expected = (
        f"error: node 'asr' (Whisper) failed to initialise: cannot load whisper model '{model}': {BAD_MODELS[name]}"
    )
    for run in (_native(manifest, [audio / "jfk.wav"], executor), _wasm(manifest, [audio / "jfk.wav"], layout)):
        assert (run.exit_code, run.error, run.stdout) == (3, expected, b""), run.host


def test_missing_model_is_a_clear_start_up_error_on_both_targets(work, audio, executor, layout):
    case = _case_dir(work, "missing-model")
    model = case / "no-such-model.bin"
    manifest = wp.write_manifest(case, model)
    expected = f"cannot read model '{model}': file not found"
    for run in (_native(manifest, [audio / "jfk.wav"], executor), _wasm(manifest, [audio / "jfk.wav"], layout)):
        assert run.exit_code == 3, (run.host, run.error_text)
        assert run.error.startswith("error: ") and run.error.endswith(expected), (run.host, run.error)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"language": "xx"}, "params.language: unknown language 'xx'"),
        ({"strategy": "sampling"}, "params.strategy: unknown variant `sampling`"),
        ({"beam_size": 0}, "params.beam_size: must be from 1 to 16, got 0"),
        ({"threads": 0}, "params.threads: must be from 1 to 64, got 0"),
        ({"model": ""}, "params.model: must not be empty"),
    ],
)
def test_bad_whisper_params_are_manifest_errors(work, executor, params, message):
    case = _case_dir(work, "params-" + "-".join(params))
    data = wp.manifest(case / "m.bin")
    data["nodes"][2]["params"].update(params)
    manifest = case / "m.json"
    manifest.write_text(json.dumps(data))
    proc = subprocess.run([str(executor), "validate", str(manifest)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: invalid manifest: nodes[2].{message}"), proc.stderr
