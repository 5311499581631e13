"""The artifact lock file: parsed and checked, so a typo fails early and clearly."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .ui import BuildError

REGISTRIES = ("pypi", "npm", "debian", "debian-source", "crate")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REQUIRED = ("registry", "package", "version", "filename", "sha256", "purpose")
_OPTIONAL = ("size", "subdir")


@dataclass(frozen=True)
class Artifact:
    name: str
    registry: str
    package: str
    version: str
    filename: str
    sha256: str
    purpose: str
    size: int | None = None
    subdir: str | None = None

    @property
    def pool_path(self) -> str:
        """``debian-source``: the file's path below a Debian mirror's root
        (``pool/main/<p or libp>/<source package>/<filename>``)."""
        prefix = self.package[:4] if self.package.startswith("lib") else self.package[:1]
        return f"pool/main/{prefix}/{self.package}/{self.filename}"

    @property
    def spec(self) -> str:
        return f"{self.registry}:{self.package}=={self.version} ({self.filename})"


def _parse_entry(name: str, table: object, where: Path) -> Artifact:
    ctx = f"{where}: [artifacts.{name}]"
    if not isinstance(table, dict):
        raise BuildError(f"{ctx} must be a table")
    missing = [k for k in _REQUIRED if k not in table]
    if missing:
        raise BuildError(f"{ctx} is missing {', '.join(missing)}")
    unknown = sorted(set(table) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise BuildError(f"{ctx} has unknown field(s) {', '.join(unknown)}")
    for key in (*_REQUIRED, "subdir"):
        if key in table and not isinstance(table[key], str):
            raise BuildError(f"{ctx}.{key} must be a string")
    if table["registry"] not in REGISTRIES:
        raise BuildError(f"{ctx}.registry must be one of {', '.join(REGISTRIES)}, not {table['registry']!r}")
    if not _SHA256.match(table["sha256"]):
        raise BuildError(f"{ctx}.sha256 must be 64 lowercase hex digits")
    size = table.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
        raise BuildError(f"{ctx}.size must be a positive integer")
    if "/" in table["filename"] or table["filename"] in ("", ".", ".."):
        raise BuildError(f"{ctx}.filename must be a plain file name")
    subdir = table.get("subdir")
    if subdir is not None:
        subdir = subdir.strip("/")
        if not subdir or ".." in subdir.split("/"):
            raise BuildError(f"{ctx}.subdir must be a relative folder inside the archive")
    return Artifact(
        name=name,
        registry=table["registry"],
        package=table["package"],
        version=table["version"],
        filename=table["filename"],
        sha256=table["sha256"],
        purpose=table["purpose"],
        size=size,
        subdir=subdir,
    )


def load(lock_file: Path | None = None) -> dict[str, Artifact]:
    where = lock_file or paths.LOCK_FILE
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BuildError(f"lock file not found: {where}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"{where} is not valid TOML: {exc}") from exc
    table = data.get("artifacts")
    if not isinstance(table, dict) or not table:
        raise BuildError(f"{where} has no [artifacts.*] entries")
    return {name: _parse_entry(name, entry, where) for name, entry in table.items()}


def get(name: str, lock_file: Path | None = None) -> Artifact:
    entries = load(lock_file)
    if name not in entries:
        raise BuildError(f"no artifact named {name!r} in the lock file (known: {', '.join(sorted(entries))})")
    return entries[name]
