"""Audio for tests and benchmarks: whisper.cpp's jfk.wav, an espeak-ng utterance made
at build time, and small WAV/resampling helpers (numpy)."""

from __future__ import annotations

import wave
from pathlib import Path

from ...core import steps, toolchains, ui
from ...core.ui import BuildError
from . import source


class WhisperError(BuildError):
    """A transcription or input problem, reported as one clear line."""


JFK_TEXT = "And so my fellow Americans ask not what your country can do for you, ask what you can do for your country."
# What the long benchmark utterance says (espeak-ng, en-us).
LONG_TEXT = (
    "Computing has a long history, and it is a story of layers. Each generation of engineers builds on the "
    "tools of the last one, and hides their details behind a simpler surface. Machine code gave way to assembly "
    "language, assembly gave way to compiled languages, and those languages gave way to virtual machines that "
    "run one program on many kinds of hardware. WebAssembly is one more layer of this kind. It is small, fast "
    "and safe, and it runs in a web browser as well as on a server. Speech recognition is a demanding test for "
    "it, because a model must multiply large matrices many times for every second of audio."
)
# espeak-ng voice, words per minute and gap between words (10 ms units): clear enough
# that no word is a coin toss (which a tiny numeric difference could flip)
ESPEAK_VOICE = ("-v", "en-us", "-s", "150", "-g", "2")
# A third utterance, for word error rates (the peers benchmark): a British voice with a
# female variant, faster.
THIRD_TEXT = (
    "The weather station on the hill records the wind, the rain and the temperature every few minutes. At night "
    "it sends the numbers to a small computer in the village, which draws a chart for the morning news. Last "
    "winter the station measured the coldest night in living memory, and the chart was shown on every screen in "
    "the valley."
)
THIRD_VOICE = ("-v", "en-gb+f3", "-s", "175", "-g", "2")


def jfk_wav() -> Path:
    """whisper.cpp's sample: 11 s of JFK, 16 kHz mono 16-bit."""
    return source.upstream() / "samples" / "jfk.wav"


def _espeak_wav(step: str, name: str, text: str, voice: tuple[str, ...]) -> Path:
    """``text`` spoken by espeak-ng with ``voice``, resampled to 16 kHz mono 16-bit (a cached step)."""
    toolchains.ensure("whisper")

    def build(out: Path) -> None:
        import numpy as np

        raw = out / "espeak.wav"
        ui.run(["espeak-ng", *voice, "-w", raw, text], what="espeak-ng")
        rate, samples = read_wav(raw)
        samples = resample(samples, rate, 16000)
        write_wav(out / f"{name}.wav", 16000, np.clip(samples, -1.0, 1.0))
        raw.unlink()
        (out / f"{name}.txt").write_text(text + "\n")

    out = steps.cached(
        step,
        inputs=[],
        facts={"text": text, "espeak-ng": toolchains.tool_version("espeak-ng", "--version"), "voice": voice},
        build=build,
    )
    return out / f"{name}.wav"


def long_wav() -> Path:
    """A longer utterance (~47 s, two 30 s windows) made with espeak-ng at build time, 16 kHz mono 16-bit."""
    return _espeak_wav("whisper-audio-long", "long", LONG_TEXT, ESPEAK_VOICE)


def third_wav() -> Path:
    """A third utterance (~19 s) in another voice and at another rate (``THIRD_VOICE``), 16 kHz mono 16-bit."""
    return _espeak_wav("whisper-audio-third", "third", THIRD_TEXT, THIRD_VOICE)


def read_wav(path: Path):
    """(sample rate, mono float32 samples) of a 16-bit PCM WAV; WhisperError if it is not one."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise WhisperError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise WhisperError(f"{path}: empty file, not a WAV")
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate, frames = wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()
            data = wav.readframes(frames)
    except (wave.Error, EOFError) as exc:
        raise WhisperError(f"{path}: not a PCM WAV file ({exc})") from exc
    if width != 2:
        raise WhisperError(f"{path}: {8 * width}-bit samples; 16-bit PCM expected")
    if len(data) < frames * channels * width:
        raise WhisperError(f"{path}: truncated WAV ({len(data)} of {frames * channels * width} data bytes)")
    if frames == 0:
        raise WhisperError(f"{path}: the WAV holds no samples")
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return rate, samples.reshape(-1, channels).mean(axis=1)


def write_wav(path: Path, rate: int, samples) -> None:
    import numpy as np

    pcm = (np.asarray(samples) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())


def resample(samples, rate: int, target: int):
    """Band-limited resampling by FFT (exact for the whole signal; fine for a few minutes)."""
    import numpy as np

    if rate == target:
        return samples
    n_out = round(len(samples) * target / rate)
    spectrum = np.fft.rfft(samples)
    keep = n_out // 2 + 1
    resized = np.zeros(keep, dtype=spectrum.dtype)
    resized[: min(keep, len(spectrum))] = spectrum[: min(keep, len(spectrum))]
    return (np.fft.irfft(resized, n_out) * (n_out / len(samples))).astype(np.float32)


def wav_seconds(path: Path) -> float:
    rate, samples = read_wav(path)
    return len(samples) / rate
