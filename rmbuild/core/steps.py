"""Content-hash keyed build steps.

A step's output folder is named after a hash of everything that can change it:
its input files (by content, not mtime) and its "facts" (tool versions, flags,
artifact hashes). If that folder is complete, the step is up to date and does no
work. Outputs live in the cache, so a fresh clone of the same sources reuses them.
An interrupted step leaves only a temporary folder, never a complete-looking one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from . import fsutil, paths, ui

COMPLETE = ".rmbuild-step.json"
# Folders never part of a step's inputs: build products, caches, VCS data.
IGNORED_DIRS = {"target", "__pycache__", ".git", "node_modules", ".nox", ".pytest_cache", ".hypothesis", "dist"}
KEEP_OUTPUTS = 3  # per step: older outputs are pruned


def _input_files(inputs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            for dirpath, dirnames, filenames in os.walk(item):
                dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
                files.extend(Path(dirpath, f) for f in sorted(filenames) if not f.endswith(".pyc"))
        elif item.is_file():
            files.append(item)
        else:
            raise ui.BuildError(f"build input {item} does not exist")
    return files


def fingerprint(inputs: Iterable[Path], facts: Mapping[str, object]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(facts, sort_keys=True, default=str).encode())
    for path in _input_files(inputs):
        try:
            rel = path.resolve().relative_to(paths.REPO)
        except ValueError:
            rel = path.resolve()
        digest.update(f"\0{rel}\0".encode())
        digest.update(bytes.fromhex(fsutil.sha256_file(path)))
    return digest.hexdigest()


def _prune(step_dir: Path, keep: Path) -> None:
    outputs = sorted(
        (p for p in step_dir.iterdir() if p.is_dir() and (p / COMPLETE).exists() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in outputs[KEEP_OUTPUTS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def cached(
    name: str,
    inputs: Iterable[Path],
    facts: Mapping[str, object],
    build: Callable[[Path], None],
) -> Path:
    """Run ``build(out_dir)`` unless an output for these inputs and facts exists.

    Returns the completed output folder. ``build`` writes into the folder it is
    given, which becomes the output only after it returns without error. Two
    processes building the same output take turns: the second finds it done.
    """
    inputs = list(inputs)
    key = fingerprint(inputs, facts)
    step_dir = paths.build_cache_dir() / name
    out = step_dir / key[:20]
    if (out / COMPLETE).exists():
        os.utime(out)  # most recently used: kept by pruning
        ui.ok(f"{name}: up to date, nothing to do ({out})")
        return out
    with fsutil.file_lock(paths.locks_dir() / f"step-{name}-{key[:20]}.lock"):
        if (out / COMPLETE).exists():  # built by another process while we waited
            return out
        started = time.monotonic()
        ui.step(f"{name}: building")
        with fsutil.atomic_dir(out) as tmp:
            build(tmp)
            (tmp / COMPLETE).write_text(json.dumps({"key": key, "facts": facts}, indent=1, default=str))
    _prune(step_dir, keep=out)
    ui.ok(f"{name}: built in {time.monotonic() - started:.1f} s ({out})")
    return out
