"""The RemoteMedia pipeline runtime as a Python extension module.

Runs the same JSON manifests as the ``pipeline_executor`` CLI, natively, in this
process::

    import remotemedia_runtime as rm
    rm.execute({"version": 1, "nodes": [...], "connections": [...]}, inputs=[1, 2.5])
    # {"outputs": {"out": [...]}}

For streams, :class:`Session` opens a manifest once and takes items one at a time::

    with rm.Session({"version": 1, "nodes": [...]}) as session:
        session.push(item)   # {"outputs": {"out": [values produced for this item]}}
    # closing flushes the nodes (e.g. AudioWindow's last window): session.close()

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

import contextlib
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
    "Session",
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


class Session:
    """A pipeline opened once and fed one item at a time (the runtime's session core,
    as ``pipeline_executor stream`` and the reactor module use it).

    ``Session(manifest, base_dir=None)`` validates the manifest and starts every node
    (Python modules imported, models loaded): the errors ``execute`` would raise before
    its first item. ``manifest`` and ``base_dir`` are as for :func:`execute`.

    * ``push(item)`` runs one item (a Python value, as in ``execute``'s ``inputs``) and
      returns its result, ``{"outputs": {node_id: [values produced for this item]}}``:
      usually one value or none per result node, several when a node such as
      ``AudioWindow`` emits several;
    * ``push_json(text)`` takes the item as JSON text (the runtime's value encoding) and
      returns the exact result line of ``pipeline_executor stream`` (no newline);
    * ``close()`` flushes the nodes and returns what that produced, in the same shape.

    Appending every push's lists, then the close's, gives ``execute``'s result for the
    same items. After a :class:`NodeError` the session is failed: later pushes raise
    ``NodeError("session failed earlier: <first message>")``; ``close()`` still works
    (and returns no values). A push or close after close raises :class:`PipelineError`
    (``the session is closed``, exit code 1). As a context manager it closes on exit
    (if the block raised, an error from closing does not replace that exception).
    """

    __slots__ = ("_native",)

    def __init__(self, manifest: ManifestLike, base_dir: PathLike | None = None) -> None:
        text, base = _manifest_text(manifest, base_dir)
        self._native = _native.Session(text, base)

    def push(self, item: Any) -> dict[str, dict[str, list[Any]]]:
        """Run one item; ``{"outputs": {node_id: [values for this item]}}``."""
        return self._native.push(item)

    def push_json(self, item_json: str) -> str:
        """Run one item given as JSON text; the compact result line (no newline)."""
        if not isinstance(item_json, str):
            raise TypeError(f"item_json must be JSON text (str), not {type(item_json).__name__}")
        return self._native.push_json(item_json)

    def close(self) -> dict[str, dict[str, list[Any]]]:
        """Flush the nodes and close; ``{"outputs": {node_id: [values the flush produced]}}``."""
        return self._native.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._native.closed

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.closed:
            return
        if exc_type is None:
            self.close()
            return
        with contextlib.suppress(PipelineError):  # the block's own exception is the one to see
            self.close()
