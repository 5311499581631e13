"""Where things live. One place for every path the build uses."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCK_FILE = REPO / "artifacts.lock.toml"
PYPROJECT = REPO / "pyproject.toml"
RUNTIME_DIR = REPO / "runtime"
WHISPER_DIR = REPO / "whisper"
PACKAGING_DIR = REPO / "packaging"
BROWSER_DEMO_DIR = REPO / "browser-demo"
EXAMPLES_DIR = RUNTIME_DIR / "examples"
EXAMPLE_MANIFESTS = EXAMPLES_DIR / "manifests"
BAD_MANIFESTS = RUNTIME_DIR / "tests" / "bad_manifests"
TEST_DATA = REPO / "tests" / "data"
# Products a person looks at (bundles, the site) and reports (git-ignored).
BUILD_DIR = REPO / "build"
REPORTS_DIR = REPO / "reports"

CACHE_ENV = "RMBUILD_CACHE"
# runtime/build.rs links whisper.cpp's static archives from this folder (feature `whisper`)
WHISPER_LIB_ENV = "PIPELINE_WHISPER_LIB_DIR"
# ./nox and ./inv run from the repo; they pass the folder they were called from here,
# so paths a user types (a pack spec, a bundle) resolve where the user is.
INVOKED_FROM_ENV = "RMBUILD_INVOKED_FROM"


def cache_root() -> Path:
    """The artifact and build cache: outside the repo so fresh clones reuse it.

    ``$RMBUILD_CACHE`` overrides it; otherwise ``$XDG_CACHE_HOME/remotemedia-wasm``
    (``~/.cache/remotemedia-wasm``).
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "remotemedia-wasm"


def downloads_dir() -> Path:
    return cache_root() / "downloads"


def extracted_dir() -> Path:
    return cache_root() / "extracted"


def build_cache_dir() -> Path:
    """Outputs of content-hash keyed build steps (see ``steps``)."""
    return cache_root() / "build"


def locks_dir() -> Path:
    return cache_root() / "locks"


def cargo_target_dir(flavour: str) -> Path:
    """A cargo target dir per flavour (native, wasm, ...), kept in the cache so that
    compiled dependencies survive a fresh clone."""
    return cache_root() / "cargo-target" / flavour


def user_path(text: str | os.PathLike[str]) -> Path:
    """A path the user typed, resolved against the folder they ran the command in."""
    path = Path(text).expanduser()
    if path.is_absolute():
        return path
    return Path(os.environ.get(INVOKED_FROM_ENV) or os.getcwd()) / path
