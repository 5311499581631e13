"""``python -m rmbuild new DIR``: a new pipeline project from ``examples/starter`` (a
manifest, a Python node with a pure-Python requirement, ``rmpkg.toml``, a web page),
named after its folder."""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

from ...core import paths, ui
from ...core.ui import BuildError
from . import spec

STARTER = paths.REPO / "examples" / "starter"
STARTER_NAME = "starter"
# Files that carry the bundle's name (the spec, the page that loads the bundle).
NAMED_FILES = ("rmpkg.toml", "web/index.html", "README.md")


def bundle_name(folder: Path) -> str:
    """A bundle name from a folder name: lower case, [a-z0-9._-], at most 64 characters."""
    name = re.sub(r"[^a-z0-9._-]+", "-", folder.name.lower()).strip("-._")[:64]
    if not name or not spec.NAME.match(name):
        raise BuildError(f"cannot make a bundle name from the folder name {folder.name!r}: pick another folder name")
    return name


def new(args: argparse.Namespace) -> int:
    if len(args.extra) != 1:
        raise BuildError("new takes one folder: python -m rmbuild new my-pipeline")
    dest = paths.user_path(args.extra[0]).resolve()
    if dest.exists() and any(dest.iterdir()):
        raise BuildError(f"{dest} exists and is not empty: give a new folder")
    name = bundle_name(dest)
    shutil.copytree(STARTER, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel in NAMED_FILES:
        path = dest / rel
        path.write_text(
            path.read_text()
            .replace(f'name = "{STARTER_NAME}"', f'name = "{name}"')
            .replace(f"{STARTER_NAME}.rmpkg", f"{name}.rmpkg")
        )
    ui.ok(f"new pipeline project {name!r} in {dest}")
    print(
        f"next:\n  cd {dest}\n  {paths.REPO}/nox -s pack -- rmpkg.toml -o {name}.rmpkg\n"
        f"  {paths.REPO}/nox -s run -- {name}.rmpkg"
    )
    return 0
