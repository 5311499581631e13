"""Tests of the installed wheel. ``nox -s wheels`` (rmbuild/checks/wheels.py) runs them in a
fresh venv twice (without and with numpy) and sets:

* REMOTEMEDIA_EXPECT_NUMPY=0|1 — which audio representation the run must see;
* REMOTEMEDIA_EXECUTOR — the native ``pipeline_executor`` (parity reference);
* REMOTEMEDIA_PARITY_CASES — the parity corpus as a JSON file.

Without the last two (e.g. under cibuildwheel) the parity tests are skipped.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNTIME_DIR = HERE.parent.parent.parent
EXAMPLES = RUNTIME_DIR / "examples" / "manifests"
BAD_MANIFESTS = RUNTIME_DIR / "tests" / "bad_manifests"

sys.path.insert(0, str(HERE))  # reference.py
