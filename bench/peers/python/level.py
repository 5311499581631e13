"""The Python class both Python peers run (the peers benchmark): our Python node in the
wasm runtime, and Pyodide. Lists only (Pyodide's numpy is not in its npm package).

math.fsum, not sum: CPython 3.12 made sum() of floats compensated, so our 3.11 and
Pyodide's 3.14 would differ in the last digits; fsum is correctly rounded on both."""

import math


class Level:
    """Numbers: 3x + 1. Audio: the RMS of its samples (a list of floats)."""

    def process(self, x):
        if isinstance(x, (int, float)):
            return 3 * x + 1
        samples = x.samples
        return math.sqrt(math.fsum(v * v for v in samples) / len(samples))
