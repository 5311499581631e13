import warnings
import numpy as np
class Node:
    def process(self, x):
        a = np.array([x, 0.0, -x])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            q = a / 0.0
            big = np.float64(1e300) * np.float64(x * 1e10)
        try:
            with np.errstate(all="raise"):
                np.array([x]) / 0.0
            raised = None
        except FloatingPointError as exc:
            raised = str(exc)
        return {"quotients": q.tolist(), "big": float(big), "warnings": [str(w.message) for w in caught],
                "raised": raised}
