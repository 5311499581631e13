"""The Python wheel ``remotemedia-runtime`` (``runtime/bindings/python``): build it with
maturin, install it in a fresh venv and run its test suite there.

* The wheel is a content-hash keyed step (``steps.cached``): with no source change a
  re-run does no build work. Its cargo target dir is its own (``cargo_target_dir("wheel")``):
  maturin builds pyo3 with other settings (abi3, ``PYO3_BUILD_EXTENSION_MODULE``) than the
  native build, and sharing a target dir would make the two rebuild each other's pyo3.
* The venv is new every time (a temp dir), made from the base interpreter, so only the
  wheel and what we install next to it are importable. The suite runs twice: without
  numpy (audio samples as lists), then with numpy (float32 arrays).
* Parity: the wheel's ``execute_json`` must print what ``pipeline_executor run`` prints,
  byte for byte, and raise the exception matching its exit code with the same message,
  on the parity corpus (``rmbuild.parity.corpus``; ``--full`` for the full one). The cases
  are written to a JSON file the tests read (the venv has no ``rmbuild``). Cases whose
  Python nodes call the C libm are left out: the executables bring their own libm
  (``runtime/src/libm_exports.rs``), the wheel's nodes use the host interpreter's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from ..build import cargo, native
from ..core import paths, steps, toolchains, ui
from ..core.ui import BuildError
from . import parity

BINDINGS_DIR = paths.RUNTIME_DIR / "bindings" / "python"
TESTS_DIR = BINDINGS_DIR / "tests"
DIST_NAME = "remotemedia-runtime"
# What the wheel is built from (its tests are not: changing a test rebuilds nothing).
WHEEL_INPUTS = (
    paths.RUNTIME_DIR / "Cargo.toml",
    paths.RUNTIME_DIR / "Cargo.lock",
    paths.RUNTIME_DIR / "build.rs",
    paths.RUNTIME_DIR / "src",
    BINDINGS_DIR / "Cargo.toml",
    BINDINGS_DIR / "pyproject.toml",
    BINDINGS_DIR / "README.md",
    BINDINGS_DIR / "src",
    BINDINGS_DIR / "python",
)
# Environment variables the wheel's tests read (see tests/conftest.py there).
ENV_EXECUTOR = "REMOTEMEDIA_EXECUTOR"
ENV_CASES = "REMOTEMEDIA_PARITY_CASES"
ENV_EXPECT_NUMPY = "REMOTEMEDIA_EXPECT_NUMPY"


def _maturin() -> list[str]:
    return [sys.executable, "-m", "maturin"]


def pinned(dist: str) -> str:
    """``dist==version`` as pinned in the root pyproject.toml group ``wheels`` (one place)."""
    data = tomllib.loads(paths.PYPROJECT.read_text())
    for req in data["dependency-groups"]["wheels"]:
        if isinstance(req, str) and req.split("==")[0].strip().lower() == dist:
            return req
    raise BuildError(f"pyproject.toml: dependency group 'wheels' pins no {dist}")


def build_wheel() -> Path:
    """The wheel file (cp311-abi3); built only if its sources changed."""
    toolchains.ensure("native")
    python = native.python_for_pyo3()
    maturin_version = toolchains.tool_version(*_maturin(), "--version", required=False)
    if maturin_version is None:
        raise BuildError("maturin is not installed (run this through `./nox -s wheels`)")
    facts = {
        "cargo": toolchains.tool_version("cargo", "--version"),
        "rustc": toolchains.tool_version("rustc", "--version"),
        "maturin": maturin_version,
        "python": native.python_version(),
        "profile": "release",
    }

    def build(out: Path) -> None:
        with cargo.target("wheel") as target:  # shared with other checkouts: see build/cargo.py
            ui.run(
                [*_maturin(), "build", "--release", "--locked", "--interpreter", python, "--out", out],
                cwd=BINDINGS_DIR,
                env={"CARGO_TARGET_DIR": str(target)},
                what="maturin build",
            )

    out = steps.cached("python-wheel", WHEEL_INPUTS, facts, build)
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected one wheel in {out}, found {[w.name for w in wheels]}")
    return wheels[0]


def build_sdist() -> Path:
    """The sdist (``maturin sdist``: the crate, its path dependency ``pipeline_runtime``
    and the Python package), and a wheel built from it alone (``pip wheel`` with the
    pinned maturin, no network): the sdist must build. A cached step."""
    python = native.python_for_pyo3()
    facts = {
        "maturin": toolchains.tool_version(*_maturin(), "--version"),
        "cargo": toolchains.tool_version("cargo", "--version"),
        "python": native.python_version(),
    }

    def build(out: Path) -> None:
        ui.run([*_maturin(), "sdist", "--out", out / "sdist"], cwd=BINDINGS_DIR, what="maturin sdist")
        (sdist,) = (out / "sdist").glob("*.tar.gz")
        ui.step(f"building a wheel from {sdist.name} alone")
        with cargo.target("sdist") as target:
            ui.run(
                [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "--wheel-dir",
                 out / "wheel", sdist],
                env={"CARGO_TARGET_DIR": str(target), "PYO3_PYTHON": python},
                what="pip wheel (from the sdist)",
            )  # fmt: skip

    return steps.cached("python-sdist", WHEEL_INPUTS, facts, build)


def _check_sdist_wheel(sdist_out: Path, tmpdir: Path, executor: Path) -> None:
    """The wheel built from the sdist, in a fresh venv: it runs a manifest like the CLI."""
    (wheel,) = (sdist_out / "wheel").glob("*.whl")
    venv = tmpdir / "sdist-venv"
    ui.run([native.python_for_pyo3(), "-m", "venv", venv], what="python -m venv")
    python = _venv_python(venv)
    ui.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel], what="pip install")
    manifest = paths.EXAMPLE_MANIFESTS / "multiply_add.json"
    script = f"import remotemedia_runtime as rm, sys; sys.stdout.write(rm.execute_json(open({str(manifest)!r}).read()))"
    got = ui.run([python, "-c", script], cwd=tmpdir, capture=True, what="the sdist's wheel").stdout
    want = ui.run([executor, "run", manifest], capture=True, what="pipeline_executor").stdout
    if got != want:
        raise BuildError(f"the wheel built from the sdist prints {got!r}, pipeline_executor {want!r}")
    ui.ok(f"sdist: {next((sdist_out / 'sdist').glob('*.tar.gz')).name} builds; its wheel runs like the CLI")


def _cases(full: bool) -> list[dict[str, object]]:
    """The parity corpus as plain JSON: name, manifest text, its file (relative paths
    inside resolve against its folder), inputs JSON text."""
    return [
        {
            "name": c.name,
            "manifest": c.manifest,
            "source": str(c.source.resolve()) if c.source else None,
            "inputs": c.inputs,
        }
        for c in parity.corpus(quick=not full)
        if not c.uses_libm
    ]


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def build_and_test(args: argparse.Namespace) -> None:
    wheel = build_wheel()
    ui.ok(f"wheel: {wheel.name} ({ui.human_bytes(wheel.stat().st_size)})")
    executor = native.executor_path()
    with tempfile.TemporaryDirectory(prefix="rmbuild-wheels-") as tmp:
        tmpdir = Path(tmp)
        cases = _cases(args.full)
        cases_file = tmpdir / "parity_cases.json"
        cases_file.write_text(json.dumps(cases))
        ui.info(f"parity corpus: {len(cases)} cases ({'full' if args.full else 'quick'})")

        venv = tmpdir / "venv"
        ui.step("fresh venv with the wheel")
        ui.run([native.python_for_pyo3(), "-m", "venv", venv], what="python -m venv")
        python = _venv_python(venv)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"]
        ui.run([*pip, "install", wheel, pinned("pytest")], what="pip install")

        env = {ENV_EXECUTOR: str(executor), ENV_CASES: str(cases_file), "PYTHONDONTWRITEBYTECODE": "1"}
        pytest = [str(python), "-m", "pytest", str(TESTS_DIR), *args.extra]
        timings = {}
        for label, expect_numpy in (("without numpy", "0"), ("with numpy", "1")):
            if expect_numpy == "1":
                ui.run([*pip, "install", pinned("numpy")], what="pip install numpy")
            ui.step(f"wheel tests {label}")
            started = time.monotonic()
            # From the temp dir, so nothing in the source tree shadows the installed package.
            ui.run(pytest, cwd=tmpdir, env={**env, ENV_EXPECT_NUMPY: expect_numpy}, what=f"pytest ({label})")
            timings[label] = time.monotonic() - started
        _check_sdist_wheel(build_sdist(), tmpdir, executor)
    ui.ok(
        f"wheels: {wheel.name} passes its tests in a fresh venv ("
        + ", ".join(f"{k}: {v:.1f} s" for k, v in timings.items())
        + ")"
    )
