"""numpy audio nodes for the pipeline runtime (natively: the host's numpy 2.4.6; in
wasm: numpy built into the module, its Python package beside the stdlib).

- ``Gain``: multiplies float32 audio by a gain given in dB (vectorised, in float64);
- ``Biquad``: an RBJ low-pass biquad, Direct Form I, state kept across items: the
  feed-forward part vectorised, the recursion per sample (float64, rounded to float32);
- ``Spectrum``: the magnitude spectrum (dB) of Hann-windowed frames, ``numpy.fft.rfft``.

Each takes and returns ``pipeline_values.Audio`` (``Spectrum`` returns a list of frames,
each a list of floats). ``audio_lists.py`` has the same gain and biquad on Python lists
(no numpy), for the benchmark (``./nox -s numpy_bench``: list samples vs numpy); both
compute the same float64 operations in the same order, so their outputs are identical.
"""

import math

import numpy as np
from pipeline_values import Audio


class Gain:
    def __init__(self, gain_db=-6.0):
        # float64 (a numpy scalar, so float32 samples are promoted): each product is
        # rounded once, to float32 by the runtime, as audio_lists.GainList's are
        self.gain = np.float64(10.0 ** (gain_db / 20.0))

    def process(self, audio):
        return Audio(audio.array * self.gain, audio.sample_rate, audio.channels)


def lowpass(cutoff, q, sample_rate):
    """RBJ cookbook low-pass coefficients, normalised: (b0, b1, b2, a1, a2)."""
    w0 = 2.0 * math.pi * cutoff / sample_rate
    alpha = math.sin(w0) / (2.0 * q)
    c = math.cos(w0)
    a0 = 1.0 + alpha
    return ((1.0 - c) / 2.0 / a0, (1.0 - c) / a0, (1.0 - c) / 2.0 / a0, -2.0 * c / a0, (1.0 - alpha) / a0)


class Biquad:
    def __init__(self, cutoff=1000.0, q=0.7071067811865476, sample_rate=16000):
        self.b0, self.b1, self.b2, self.a1, self.a2 = lowpass(cutoff, q, sample_rate)
        self.x1 = self.x2 = self.y1 = self.y2 = 0.0

    def process(self, audio):
        if audio.channels != 1:
            raise ValueError("Biquad takes mono audio")
        x = audio.array.astype(np.float64)
        xp = np.concatenate(([self.x2, self.x1], x))
        v = self.b0 * xp[2:] + self.b1 * xp[1:-1] + self.b2 * xp[:-2]
        a1, a2, y1, y2 = self.a1, self.a2, self.y1, self.y2
        y = []
        for vn in v.tolist():
            yn = vn - a1 * y1 - a2 * y2
            y.append(yn)
            y2, y1 = y1, yn
        if len(x):
            self.x2, self.x1 = float(xp[-2]), float(xp[-1])
        self.y1, self.y2 = y1, y2
        return Audio(np.array(y, dtype=np.float32), audio.sample_rate, 1)


class Spectrum:
    def __init__(self, size=256, hop=128):
        self.size, self.hop = size, hop
        n = np.arange(size)
        self.window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / size)
        # numpy.fft is imported on first use: bound here, its modules are read from
        # numpy.zip when the session opens, not during the first push
        self.rfft = np.fft.rfft

    def process(self, audio):
        x = audio.array.astype(np.float64)
        frames = []
        for start in range(0, len(x) - self.size + 1, self.hop):
            spec = self.rfft(x[start : start + self.size] * self.window)
            # |X| as the C hypot (np.abs of a complex array takes numpy's SIMD kernel
            # natively: README "numpy in the wasm runtime", parity's documented differences)
            mag = np.hypot(spec.real, spec.imag)
            frames.append((20.0 * np.log10(mag + 1e-12)).tolist())
        return frames
