"""The gain and biquad of ``numpy_audio.py`` on Python lists (no numpy): the same float64
operations in the same order, so the same samples (``./nox -s numpy_bench`` compares the
two: list samples vs numpy)."""

import math

from pipeline_values import Audio


def lowpass(cutoff, q, sample_rate):
    """RBJ cookbook low-pass coefficients, normalised: (b0, b1, b2, a1, a2)."""
    w0 = 2.0 * math.pi * cutoff / sample_rate
    alpha = math.sin(w0) / (2.0 * q)
    c = math.cos(w0)
    a0 = 1.0 + alpha
    return ((1.0 - c) / 2.0 / a0, (1.0 - c) / a0, (1.0 - c) / 2.0 / a0, -2.0 * c / a0, (1.0 - alpha) / a0)


class GainList:
    """numpy_audio.Gain on Python lists."""

    def __init__(self, gain_db=-6.0):
        self.gain = 10.0 ** (gain_db / 20.0)

    def process(self, audio):
        g = self.gain
        return Audio([s * g for s in audio.samples], audio.sample_rate, audio.channels)


class BiquadList:
    """numpy_audio.Biquad on Python lists (Direct Form I, float64, state across items)."""

    def __init__(self, cutoff=1000.0, q=0.7071067811865476, sample_rate=16000):
        self.b0, self.b1, self.b2, self.a1, self.a2 = lowpass(cutoff, q, sample_rate)
        self.x1 = self.x2 = self.y1 = self.y2 = 0.0

    def process(self, audio):
        b0, b1, b2, a1, a2 = self.b0, self.b1, self.b2, self.a1, self.a2
        x1, x2, y1, y2 = self.x1, self.x2, self.y1, self.y2
        y = []
        for xn in audio.samples:
            yn = b0 * xn + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            y.append(yn)
            x2, x1, y2, y1 = x1, xn, y1, yn
        self.x1, self.x2, self.y1, self.y2 = x1, x2, y1, y2
        return Audio(y, audio.sample_rate, 1)
