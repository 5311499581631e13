import numpy as np
class Node:
    def process(self, xs):
        x = np.array(xs, dtype=np.float64)
        f = x.astype(np.float32)
        out = {}
        for name in ("exp", "log", "log10", "log1p", "expm1", "sin", "cos", "tan", "arctan", "sinh", "tanh",
                     "arcsinh", "sqrt", "cbrt"):
            fn = getattr(np, name)
            with np.errstate(all="ignore"):
                out[name] = fn(np.abs(x) if name in ("log", "log10", "sqrt") else x).tolist()
                out[name + "_f32"] = fn(np.abs(f) if name in ("log", "log10", "sqrt") else f).astype(np.float64).tolist()
        out["power"] = np.power(np.abs(x), 0.37).tolist()
        out["arctan2"] = np.arctan2(x, 3.0).tolist()
        out["hypot"] = np.hypot(x, 4.0).tolist()
        return out
