"""The native runtime: ``pipeline_executor`` built with the rustup toolchain.

The build is a content-hash keyed step over ``runtime/``: with no source change
it does no work, even in a fresh clone (the output lives in the cache).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ..core import paths, steps, toolchains, ui
from ..run import executor
from . import cargo, whisper

BINARY = "pipeline_executor"
# python: the default feature, named so the cache key shows it; whisper: the
# Whisper node, linking whisper.cpp's native static build (rmbuild.whisper).
FEATURES = ("python", "whisper")


def whisper_lib_dir() -> Path:
    """``lib/`` of the native whisper.cpp build (built if needed): the archives the
    ``whisper`` feature links. Its folder name is the build's content hash."""
    return whisper.native_build() / "lib"


def python_for_pyo3() -> str:
    """The interpreter PyO3 links against: the base one, not a nox venv's copy, so
    the build (and its cache key) is the same from every session."""
    return getattr(sys, "_base_executable", None) or sys.executable


def python_version() -> str:
    """The version of the interpreter PyO3 links (a build fact of everything linking it)."""
    return toolchains.tool_version(python_for_pyo3(), "-c", "import sys; print(sys.version)")


def cargo_env(whisper_lib: Path | None = None) -> dict[str, str]:
    """Environment of every native cargo command on the runtime (build, test, clippy):
    its own target dir, the interpreter PyO3 links, whisper.cpp's archives."""
    return {
        "CARGO_TARGET_DIR": str(paths.cargo_target_dir("native")),
        "PYO3_PYTHON": python_for_pyo3(),
        paths.WHISPER_LIB_ENV: str(whisper_lib or whisper_lib_dir()),
    }


def build_runtime() -> Path:
    """Folder holding ``bin/pipeline_executor``; builds it if the sources changed."""
    toolchains.ensure("native")
    whisper_lib = whisper_lib_dir()
    facts = {
        "cargo": toolchains.tool_version("cargo", "--version"),
        "rustc": toolchains.tool_version("rustc", "--version"),
        "python": python_version(),
        "features": FEATURES,
        # a content-hash keyed folder: a new whisper build is a new path
        "whisper_lib": str(whisper_lib),
    }

    def build(out: Path) -> None:
        with cargo.target("native") as target:  # shared with other checkouts: see build/cargo.py
            ui.run(
                ["cargo", "build", "--release", "--locked", "--bin", BINARY, "--features", ",".join(FEATURES)],
                cwd=paths.RUNTIME_DIR,
                env=cargo_env(whisper_lib),
            )
            (out / "bin").mkdir()
            shutil.copy2(target / "release" / BINARY, out / "bin" / BINARY)

    return steps.cached("native-runtime", [paths.RUNTIME_DIR], facts, build)


def executor_path() -> Path:
    return build_runtime() / "bin" / BINARY


def host() -> executor.Native:
    """The native executor as a host of ``run.executor`` (the reference of every comparison)."""
    return executor.Native(executor_path())


def build(args: argparse.Namespace) -> None:
    """The native-build phase."""
    binary = executor_path()
    ui.ok(f"{BINARY}: {binary} ({ui.human_bytes(binary.stat().st_size)})")
