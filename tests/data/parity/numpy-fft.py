import numpy as np
class Node:
    def process(self, n):
        t = np.arange(n) / n
        x = np.sin(2 * np.pi * 5 * t) + 0.5 * np.cos(2 * np.pi * 17 * t) + 0.01 * t
        spec = np.fft.rfft(x)
        full = np.fft.fft(x[: n // 2 * 2].astype(np.complex128))
        back = np.fft.irfft(spec, n)
        f32 = np.fft.rfft(x.astype(np.float32))
        return {
            "re": spec.real[:8].tolist(), "im": spec.imag[:8].tolist(),
            "mag": np.hypot(spec.real, spec.imag)[:8].tolist(), "fft_re": full.real[-4:].tolist(),
            "roundtrip_err": float(np.max(np.abs(back - x))), "f32_mag": np.hypot(f32.real, f32.imag)[:4].tolist(),
            "freqs": np.fft.rfftfreq(n, 1 / 16000)[:4].tolist(), "dtype32": str(f32.dtype),
        }
