import numpy as np
class Node:
    def process(self, spec):
        x = np.linspace(-spec["scale"], spec["scale"], spec["n"]) ** 3 + np.arange(spec["n"]) * 1e-3
        f = x.astype(np.float32)
        return {
            "sum": float(x.sum()), "mean": float(x.mean()), "std": float(x.std()), "var": float(x.var()),
            "prod": float((1.0 + x[:50] * 1e-3).prod()), "cumsum_last": float(np.cumsum(x)[-1]),
            "min": float(x.min()), "max": float(x.max()), "argmax": int(x.argmax()),
            "median": float(np.median(x)), "percentile": float(np.percentile(x, 37.5)),
            "f32_sum": float(f.sum()), "f32_mean": float(f.mean()), "f32_std": float(f.std()),
            "sorted_head": np.sort(x[::-1])[:5].tolist(),
            "rms": float(np.sqrt(np.mean(x * x))), "abs_diff": float(np.abs(np.diff(x)).sum()),
            "round": np.round(x[:6], 3).tolist(), "clip": np.clip(x[:6], -1, 1).tolist(),
            "hex": float(x.sum()).hex(),
        }
