"""Files done safely: hashing, cross-process locks, folders and files that appear
complete or not at all, and reproducible zip archives."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

_CHUNK = 1 << 20
# Reproducible archives: fixed dates and attributes (the zip format has no "no date").
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks (models and archives are large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def same_file(a: Path, b: Path) -> bool:
    """Whether ``b`` exists with exactly ``a``'s bytes."""
    if not b.is_file() or a.stat().st_size != b.stat().st_size:
        return False
    return sha256_file(a) == sha256_file(b)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock across processes (parallel nox sessions share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Build a folder in a temporary sibling, then rename it to ``final``.

    Hold the lock that guards ``final`` around this: temporary folders of ``final``
    left by an interrupted run are removed first (nobody else can be writing them).
    On an exception nothing is left behind and an existing ``final`` is untouched.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".tmp-{final.name}-"
    for stale in final.parent.glob(prefix + "*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=final.parent))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_atomic(path: Path, data: bytes | str, mode: int | None = None) -> Path:
    """Write a file through a temporary sibling and a rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, str):
            tmp.write_text(data)
        else:
            tmp.write_bytes(data)
        if mode is not None:
            tmp.chmod(mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_if_changed(path: Path, text: str, mode: int | None = None) -> Path:
    """Rewrite only on change (tools that watch mtimes, e.g. cargo, then rebuild nothing)."""
    if not path.exists() or path.read_text() != text:
        write_atomic(path, text, mode)
    return path


def write_stored_zip(out: Path, members: Iterable[tuple[str, bytes]]) -> int:
    """A reproducible ZIP_STORED archive (the wasm CPython has no zlib) of
    ``(name, bytes)`` pairs, sorted by name; written atomically. Returns the count."""
    items = sorted(members)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, data in items:
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_STORED
                info.create_system = 3
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return len(items)
