"""The RemoteMedia pipeline runtime as a Python extension module.

Runs the same JSON manifests as the ``pipeline_executor`` CLI, natively, in this
process::

    import remotemedia_runtime as rm
    rm.execute({"version": 1, "nodes": [...], "connections": [...]}, inputs=[1, 2.5])
    # {"outputs": {"out": [...]}}

``execute`` returns Python objects: null/bool/int/float/str/list/map become
None/bool/int/float/str/list/dict (NaN and infinities are plain floats), audio becomes
:class:`Audio` (``samples`` a float32 ``numpy.ndarray`` when numpy is installed, a
list of floats otherwise). ``execute_json`` returns exactly the text the CLI prints.

Errors raise :class:`ManifestError` (CLI exit code 2), :class:`NodeError` (3) or
:class:`InputError` (4), all subclasses of :class:`PipelineError` (itself a
``RuntimeError``) with the runtime's exact message and ``exit_code``. Arguments of the
wrong Python type raise ``TypeError``.

``Python`` nodes run in this interpreter (with the GIL; the rest of the pipeline runs
without it). Unlike the CLI, their ``print`` output goes to this process's stdout, and
modules they import stay cached in ``sys.modules`` between runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import _native
from ._types import Audio, InputError, ManifestError, NodeError, PipelineError

__all__ = [
    "NODE_TYPES",
    "Audio",
    "InputError",
    "ManifestError",
    "NodeError",
    "PipelineError",
    "__version__",
    "execute",
    "execute_json",
]

__version__: str = _native.__version__
NODE_TYPES: tuple[str, ...] = _native.NODE_TYPES

ManifestLike = str | bytes | bytearray | Mapping[str, Any] | os.PathLike[str]
PathLike = str | os.PathLike[str]


def _manifest_text(manifest: ManifestLike, base_dir: PathLike | None) -> tuple[str, str | None]:
    """Manifest argument -> (JSON text, base directory or None)."""
    if isinstance(manifest, os.PathLike):
        path = Path(manifest)
        text = path.read_text(encoding="utf-8")  # OSError (e.g. FileNotFoundError) as usual
        if base_dir is None:
            base_dir = path.parent
    elif isinstance(manifest, str):
        text = manifest
    elif isinstance(manifest, bytes | bytearray):
        try:
            text = bytes(manifest).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ManifestError(f"invalid manifest: not valid UTF-8: {exc}") from None
    elif isinstance(manifest, Mapping):
        try:
            text = json.dumps(manifest, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ManifestError(f"invalid manifest: cannot be written as JSON: {exc}") from None
    else:
        raise TypeError(
            f"manifest must be JSON text (str/bytes), a dict or a path (pathlib.Path), not {type(manifest).__name__}"
        )
    if base_dir is not None and not isinstance(base_dir, str | os.PathLike):
        raise TypeError(f"base_dir must be a str or os.PathLike, not {type(base_dir).__name__}")
    return text, (os.fspath(base_dir) if base_dir is not None else None)


def execute(
    manifest: ManifestLike,
    inputs: Sequence[Any] | None = None,
    base_dir: PathLike | None = None,
) -> dict[str, dict[str, list[Any]]]:
    """Run a pipeline; return ``{"outputs": {node_id: [one value per item]}}``.

    ``manifest``: JSON text (``str``/``bytes``), a ``dict``, or a ``pathlib.Path`` to a
    manifest file (a plain ``str`` is always JSON text, never a file name).
    ``inputs``: a list (or tuple) of input items as Python values — None, bool, int
    (64-bit range), float, str, list/tuple, dict with str keys, :class:`Audio`, numpy
    scalars/arrays — replacing the manifest's own ``"inputs"`` (which, inside the
    manifest, use the JSON value encoding, e.g. ``{"$f64": "NaN"}``).
    ``base_dir``: where relative paths in params (``module_path``, MediaReader ``path``)
    are resolved; default: the manifest file's directory for a path, else the current
    working directory.
    """
    text, base = _manifest_text(manifest, base_dir)
    return _native.execute(text, inputs, base)


def execute_json(
    manifest_json: ManifestLike,
    inputs_json: str | None = None,
    base_dir: PathLike | None = None,
) -> str:
    """Like ``pipeline_executor run MANIFEST [--input FILE]``: returns exactly the text it
    prints on stdout (pretty JSON, trailing newline). ``inputs_json`` is a JSON array of
    items in the runtime's value encoding; it replaces the manifest's ``"inputs"``."""
    text, base = _manifest_text(manifest_json, base_dir)
    if inputs_json is not None and not isinstance(inputs_json, str):
        raise TypeError(f"inputs_json must be JSON text (str), not {type(inputs_json).__name__}")
    return _native.execute_json(text, inputs_json, base)
