import numpy as np
class Node:
    def process(self, n):
        t = np.arange(n) / n
        spec = np.fft.rfft(np.sin(2 * np.pi * 5 * t) + 0.5 * np.cos(2 * np.pi * 17 * t) + 0.01 * t)
        return {"abs": np.abs(spec)[:8].tolist(), "hypot": np.hypot(spec.real, spec.imag)[:8].tolist()}
