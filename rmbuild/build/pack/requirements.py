"""A pack spec's Python requirements (the proposal's wasi-deps): pure-Python wheels
from PyPI only.

- **resolved once** with pip (``--only-binary=:all:`` for a platform nothing is built
  for, so only ``*-none-any`` wheels can match) into ``rmpkg.lock`` beside the spec:
  every wheel with its name, version, file, URL and sha256;
- **verified on every pack**: each wheel is fetched into the cache (or taken from it),
  its size and sha256 checked against the lock, and refused if it holds compiled code;
- **unpacked** into a ``site-packages`` tree (a cached step), mounted at
  ``/site-packages`` in the bundle and put on ``PYTHONPATH``; natively the same tree
  is the reference's ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ...core import artifacts, fsutil, steps, ui
from ...core.lock import Artifact
from ...core.ui import BuildError
from ..wasm import flags

LOCK_FORMAT = 1
GUEST_SITE_PACKAGES = "/site-packages"
# Files that are compiled code: a wheel holding one cannot run in the wasm CPython.
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll", ".a", ".wasm")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    file: str
    url: str
    sha256: str

    def artifact(self) -> Artifact:
        return Artifact(
            name=f"wheel-{self.name}",
            registry="pypi",
            package=self.name,
            version=self.version,
            filename=self.file,
            sha256=self.sha256,
            purpose="a pure-Python requirement of a pack spec",
        )


# ---------------------------------------------------------------------------
# the lock


def read_lock(path: Path) -> tuple[list[str], list[Wheel]] | None:
    """(requirements it was resolved from, wheels), or None if there is no lock."""
    if not path.exists():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != LOCK_FORMAT:
            raise BuildError(f"{path}: format {data.get('format')!r}, expected {LOCK_FORMAT}")
        wheels = [
            Wheel(**{k: w[k] for k in ("name", "version", "file", "url", "sha256")}) for w in data.get("wheel", [])
        ]
        return list(data["requirements"]), wheels
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise BuildError(f"{path}: not a valid lock ({exc}); delete it to resolve again") from exc


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def write_lock(path: Path, requirements: list[str], wheels: list[Wheel]) -> None:
    lines = [
        f"# {path.name}: the pure-Python wheels of [python] requirements in rmpkg.toml, resolved by",
        "# `python -m rmbuild pack`. Commit it: every pack fetches exactly these files and checks their sha256.",
        f"format = {LOCK_FORMAT}",
        "requirements = [" + ", ".join(_toml_string(r) for r in requirements) + "]",
    ]
    for w in sorted(wheels, key=lambda w: w.name.lower()):
        lines += ["", "[[wheel]]"]
        lines += [f"{key} = {_toml_string(getattr(w, key))}" for key in ("name", "version", "file", "url", "sha256")]
    fsutil.write_atomic(path, "\n".join(lines) + "\n")


# ---------------------------------------------------------------------------
# resolving


def _simple_url() -> str:
    return os.environ.get(artifacts.PYPI_SIMPLE_ENV, artifacts.DEFAULT_PYPI_SIMPLE).rstrip("/")


def _why_unresolvable(requirement: str) -> str | None:
    """What is wrong with one requirement, from the PyPI index, or None if it looks fine."""
    match = _NAME.match(requirement)
    if not match:
        return f"{requirement!r} is not a requirement (e.g. humanize==4.9.0)"
    name = match.group(1)
    request = urllib.request.Request(
        f"{_simple_url()}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            files = [f["filename"] for f in json.load(response).get("files", [])]
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return f"{requirement!r}: there is no package {name!r} on PyPI"
        return None
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError):
        return None
    wheels = [f for f in files if f.endswith(".whl")]
    pure = [f for f in wheels if f.endswith("-none-any.whl")]
    if wheels and not pure:
        return (
            f"{requirement!r}: {name} has compiled code (PyPI has only platform wheels, e.g. {sorted(wheels)[-1]}); "
            "the wasm runtime can only load pure-Python wheels (py3-none-any)"
        )
    if not wheels:
        return f"{requirement!r}: {name} has no wheel on PyPI (sdists only); the packer takes only pure-Python wheels"
    versions = sorted(
        {f.split("-")[1] for f in pure}, key=lambda v: [int(p) if p.isdigit() else p for p in v.split(".")]
    )
    return (
        f"{requirement!r}: no pure-Python wheel of {name} matches it (pure wheels exist for {', '.join(versions[-8:])})"
    )


def resolve(requirements: list[str]) -> list[Wheel]:
    """The requirements and their dependencies as pure-Python wheels (pip, no install)."""
    ui.step(f"resolving {len(requirements)} requirement(s) with pip: pure-Python wheels only")
    with tempfile.TemporaryDirectory(prefix="rmbuild-resolve-") as tmp:
        report = Path(tmp, "report.json")
        version = flags.PYTHON_VERSION
        cmd = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
            "--disable-pip-version-check", "--target", str(Path(tmp, "target")), "--report", str(report),
            "--only-binary=:all:", "--platform", "any", "--implementation", "py", "--abi", "none",
            "--python-version", version, "--index-url", _simple_url(), *requirements,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            reasons = [r for r in map(_why_unresolvable, requirements) if r]
            pip_says = "\n".join(proc.stderr.strip().splitlines()[-3:])
            raise BuildError(
                "the Python requirements do not resolve to pure-Python wheels:\n  "
                + ("\n  ".join(reasons) if reasons else "(see pip's message)")
                + f"\npip says:\n{pip_says}"
            )
        installs = json.loads(report.read_text())["install"]
    wheels = []
    for item in installs:
        info = item["download_info"]
        file = info["url"].rsplit("/", 1)[-1]
        sha = info.get("archive_info", {}).get("hashes", {}).get("sha256")
        if not sha:
            raise BuildError(f"pip gave no sha256 for {file}: refusing to lock it")
        wheels.append(Wheel(item["metadata"]["name"], item["metadata"]["version"], file, info["url"], sha))
    for w in wheels:
        ui.info(f"{w.name} {w.version}: {w.file}")
    return wheels


def locked(requirements: list[str], lock_path: Path, *, frozen: bool = False) -> list[Wheel]:
    """The locked wheels of ``requirements``: the lock's, or resolved and written to it
    when it is missing or was made for other requirements (``frozen``: refuse instead)."""
    current = read_lock(lock_path)
    if current is not None and current[0] == list(requirements):
        return current[1]
    if frozen:
        what = "missing" if current is None else "made for other requirements"
        raise BuildError(f"{lock_path} is {what}: pack without --locked to resolve {list(requirements)}")
    wheels = resolve(list(requirements)) if requirements else []
    write_lock(lock_path, list(requirements), wheels)
    ui.ok(f"wrote {lock_path} ({len(wheels)} wheel(s))")
    return wheels


# ---------------------------------------------------------------------------
# fetching, checking, unpacking


def check_pure(wheel: Wheel, path: Path) -> None:
    """Refuse a wheel that is not pure Python: by its tag, its WHEEL file and its files."""
    if not wheel.file.endswith("-none-any.whl"):
        raise BuildError(f"{wheel.file}: not a pure-Python wheel (tag is not none-any): {wheel.name} has compiled code")
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            meta = next((n for n in names if n.endswith(".dist-info/WHEEL") and n.count("/") == 1), None)
            purelib = meta is not None and "Root-Is-Purelib: true" in zf.read(meta).decode(errors="replace")
    except zipfile.BadZipFile as exc:
        raise BuildError(f"{wheel.file}: not a readable wheel ({exc})") from exc
    compiled = [n for n in names if n.lower().endswith(COMPILED_SUFFIXES)]
    if compiled or not purelib:
        why = f"it holds {compiled[0]}" if compiled else "its WHEEL file does not say Root-Is-Purelib: true"
        raise BuildError(
            f"{wheel.file}: {wheel.name} has compiled code ({why}): only pure-Python wheels can run in wasm"
        )


def _members(path: Path) -> list[tuple[str, bytes]]:
    """The files a wheel installs into site-packages (``NAME.data/purelib`` at the root;
    scripts, headers and other data are left out)."""
    out = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir():
                continue
            top, _, rest = name.partition("/")
            if top.endswith(".data"):
                kind, _, rest = rest.partition("/")
                if kind not in ("purelib", "platlib") or not rest:
                    continue
                name = rest
            if name.startswith("/") or ".." in name.split("/"):
                raise BuildError(f"{path.name}: unsafe path {info.filename!r} in the wheel")
            out.append((name, zf.read(info)))
    return out


def site_packages(wheels: list[Wheel]) -> Path:
    """A folder with every wheel unpacked (a cached step keyed by the wheels' sha256)."""
    paths = []
    for w in wheels:
        path = artifacts.download(w.artifact())
        check_pure(w, path)
        paths.append((w, path))

    def build(out: Path) -> None:
        for w, path in paths:
            for name, data in _members(path):
                target = out / "site-packages" / name
                if target.exists():
                    raise BuildError(f"{w.file}: {name} is also in another requirement")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        (out / "site-packages").mkdir(exist_ok=True)

    facts = {"wheels": sorted((w.file, w.sha256) for w in wheels), "layout": 1}
    return steps.cached("pack-site-packages", [], facts, build) / "site-packages"
