"""whisper.cpp's sources: the locked PyPI sdist ``pywhispercpp`` (whisper.cpp 1.8.5,
ggml 0.13.1) with ``whisper/patches/*.patch`` applied (a cached step), and the
persistent work tree that makes both builds incremental."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from ...core import artifacts, fsutil, lock, paths, steps, ui
from ...core.ui import BuildError

ARTIFACT = "whisper-cpp"
WHISPER_VERSION = "1.8.5"
GGML_VERSION = "0.13.1"
PATCHES_DIR = paths.WHISPER_DIR / "patches"
SHIMS_DIR = paths.WHISPER_DIR / "shims"
# Not needed by any product: left out of the patched copy.
SKIP = {"media", ".github"}


def upstream() -> Path:
    """The unpatched tree (also holds ``samples/jfk.wav``)."""
    return artifacts.fetch(ARTIFACT)


def artifact_sha256() -> str:
    return lock.get(ARTIFACT).sha256


def patches() -> list[Path]:
    return sorted(PATCHES_DIR.glob("*.patch"))


def patched() -> Path:
    """The whisper.cpp source tree with our patches applied (a cached step)."""
    tree_src = upstream()

    def build(out: Path) -> None:
        tree = out / "whisper.cpp"
        shutil.copytree(tree_src, tree, ignore=lambda d, names: SKIP & set(names) if d == str(tree_src) else ())
        (tree / artifacts.MARKER).unlink(missing_ok=True)
        for patch in patches():
            ui.info(f"applying {patch.name}")
            ui.run(["patch", "-p1", "--forward", "--batch", "-i", patch], cwd=tree, what=f"patch {patch.name}")
            for reject in tree.rglob("*.rej"):
                raise BuildError(f"{patch.name} did not apply cleanly ({reject})")
        for leftover in tree.rglob("*.orig"):
            leftover.unlink()

    out = steps.cached(
        "whisper-source",
        inputs=[PATCHES_DIR],
        facts={"source_sha256": artifact_sha256(), "version": WHISPER_VERSION, "skip": sorted(SKIP)},
        build=build,
    )
    return out / "whisper.cpp"


def work_dir() -> Path:
    """The persistent, machine-local tree that makes both builds incremental."""
    return paths.cache_root() / "whisper-work"


@contextlib.contextmanager
def work_lock() -> Iterator[None]:
    """One whisper build at a time per machine (parallel nox sessions share the work tree)."""
    with fsutil.file_lock(paths.locks_dir() / "whisper-work.lock"):
        yield


def _sync_tree(src: Path, dst: Path) -> int:
    """Make ``dst`` a copy of ``src``, rewriting only files whose content differs
    (their mtime changes, so make/ninja and the wasm driver rebuild only those)."""
    changed = 0
    wanted: set[Path] = set()
    for dirpath, _dirnames, filenames in os.walk(src):
        rel_dir = Path(dirpath).relative_to(src)
        (dst / rel_dir).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            rel = rel_dir / name
            wanted.add(rel)
            if not fsutil.same_file(src / rel, dst / rel):
                shutil.copyfile(src / rel, dst / rel)
                changed += 1
    for dirpath, _dirnames, filenames in os.walk(dst):
        for name in filenames:
            rel = Path(dirpath).relative_to(dst) / name
            if rel not in wanted:
                (dst / rel).unlink()
                changed += 1
    return changed


def work_source() -> Path:
    """The patched source, synced into the work tree (call with the work lock held)."""
    tree = work_dir() / "src"
    changed = _sync_tree(patched(), tree)
    if changed:
        ui.info(f"work tree: {changed} source files updated")
    return tree


def work_shims() -> Path:
    """``whisper/shims``, synced into the work tree: compiled from a path that is the same
    for every checkout, so objects and cache keys do not depend on where the repo is."""
    tree = work_dir() / "shims"
    _sync_tree(SHIMS_DIR, tree)
    return tree
