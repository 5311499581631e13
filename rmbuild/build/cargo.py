"""The cargo target folders, shared by every checkout on the machine (they live in the
cache, so compiled dependencies survive a fresh clone), used safely.

Two hazards come with sharing: two builds writing the same folder at once, and cargo
judging a checkout's crates fresh because another checkout built them last (it compares
file mtimes with its record of the last build, whichever checkout made it, and then does
not copy the binary out again). ``target(flavour)`` holds the folder from the first
cargo call to the last copy of its products, and gives the runtime's sources the current
time first, so cargo rebuilds what this checkout has. Build steps call it only when
their content-keyed output is missing, so nothing is rebuilt needlessly.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ..core import fsutil, paths

# What cargo builds the runtime's modules from (the wasm module step's inputs too); the
# wheel's crate (bindings/) is the workspace's third member.
RUNTIME_INPUTS = ("src", "Cargo.toml", "Cargo.lock", "build.rs", "reactor")
WORKSPACE_INPUTS = (*RUNTIME_INPUTS, "bindings")


def touch_runtime_sources() -> None:
    """Give the runtime's sources the current time as mtime (cargo then rebuilds them)."""
    for name in WORKSPACE_INPUTS:
        root = paths.RUNTIME_DIR / name
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file() and "target" not in p.parts]
        for path in files:
            os.utime(path, None)


@contextlib.contextmanager
def target(flavour: str) -> Iterator[Path]:
    """The cargo target folder of ``flavour`` (native, wasm, wheel, ...), held for this build."""
    with fsutil.file_lock(paths.locks_dir() / f"cargo-target-{flavour}.lock"):
        touch_runtime_sources()
        yield paths.cargo_target_dir(flavour)
