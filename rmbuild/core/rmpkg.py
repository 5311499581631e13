"""The ``.rmpkg`` format module, ``packaging/rmpkg.py``: standalone (standard library
only, usable without this package), so it is loaded by path (``packaging`` is also
the name of a PyPI package)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from .paths import PACKAGING_DIR


def _load() -> ModuleType:
    if "rmpkg" in sys.modules:
        return sys.modules["rmpkg"]
    spec = importlib.util.spec_from_file_location("rmpkg", PACKAGING_DIR / "rmpkg.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["rmpkg"] = module
    spec.loader.exec_module(module)
    return module


rmpkg = _load()
