"""whisper.cpp built twice from the same patched source:

- ``native_build()``: cmake + the system compiler (the reference): ``whisper-cli``,
  ``whisper-quantize``, static libraries, headers;
- ``wasm_build()``: ``zig cc/c++ -target wasm32-wasi -msimd128``, a small build of its
  own (depfiles, a flags stamp per object, 2 jobs): ``libggml.a``, ``libwhisper.a``,
  headers and the ``whisper-cli.wasm`` command module; and their relaxed-SIMD variant
  (``RELAXED_SOURCES`` compiled again with ``-mrelaxed-simd``: ``lib-relaxed/libggml.a``,
  ``whisper-cli-relaxed.wasm``), which computes the same bits. ``whisper/shims`` come
  first on the include path.

Both are content-hash keyed steps and compile incrementally in the work tree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ...core import machine, steps, toolchains, ui
from ...core.ui import BuildError
from ..wasm import flags as wasm_flags
from . import source

JOBS = 2  # the machines have 2 shared cores

GGML_SOURCES = (
    "ggml/src/ggml.c",
    "ggml/src/ggml.cpp",
    "ggml/src/ggml-alloc.c",
    "ggml/src/ggml-backend.cpp",
    "ggml/src/ggml-backend-meta.cpp",
    "ggml/src/ggml-opt.cpp",
    "ggml/src/ggml-threading.cpp",
    "ggml/src/ggml-quants.c",
    "ggml/src/gguf.cpp",
    "ggml/src/ggml-cpu/ggml-cpu.c",
    "ggml/src/ggml-cpu/ggml-cpu.cpp",
    "ggml/src/ggml-cpu/repack.cpp",
    "ggml/src/ggml-cpu/hbm.cpp",
    "ggml/src/ggml-cpu/quants.c",
    "ggml/src/ggml-cpu/traits.cpp",
    "ggml/src/ggml-cpu/binary-ops.cpp",
    "ggml/src/ggml-cpu/unary-ops.cpp",
    "ggml/src/ggml-cpu/vec.cpp",
    "ggml/src/ggml-cpu/ops.cpp",
    "ggml/src/ggml-cpu/arch/wasm/quants.c",
)
# The sources with __wasm_relaxed_simd__ paths (whisper/patches/0013): compiled once more
# with RELAXED_SIMD_FLAGS for the relaxed-SIMD variant; it shares every other object.
RELAXED_SOURCES = ("ggml/src/ggml-cpu/ggml-cpu.c",)
# Replace ggml-backend-reg.cpp / ggml-backend-dl.cpp, and what zig's WASI libc++ lacks.
SHIM_SOURCES = ("ggml-backend-reg-wasi.cpp", "wasi_fstream.cpp", "wasi_exceptions.cpp")
WHISPER_SOURCES = ("src/whisper.cpp",)
CLI_SOURCES = (
    "examples/cli/cli.cpp",
    "examples/common.cpp",
    "examples/common-whisper.cpp",
    "examples/grammar-parser.cpp",
)
PUBLIC_HEADERS = (
    "include/whisper.h",
    "ggml/include/ggml.h",
    "ggml/include/ggml-alloc.h",
    "ggml/include/ggml-backend.h",
    "ggml/include/ggml-cpu.h",
    "ggml/include/gguf.h",
)

NATIVE_CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DWHISPER_BUILD_TESTS=OFF",
    "-DWHISPER_BUILD_SERVER=OFF",
    "-DWHISPER_SDL2=OFF",
    "-DWHISPER_CURL=OFF",
    # OpenMP busy-waits; the wasm build uses ggml's own thread pool (with one thread)
    "-DGGML_OPENMP=OFF",
    # CPU only, also on macOS (where Metal and Accelerate are on by default): the
    # runtime links exactly libwhisper, libggml, libggml-cpu and libggml-base
    "-DGGML_METAL=OFF",
    "-DGGML_BLAS=OFF",
)
NATIVE_TARGETS = ("whisper-cli", "whisper-quantize")


def _copy_headers(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for header in PUBLIC_HEADERS:
        shutil.copy2(src / header, dest / Path(header).name)


# ---------------------------------------------------------------------------
# native


def _native_facts() -> dict[str, object]:
    return {
        "source_sha256": source.artifact_sha256(),
        "cmake": toolchains.tool_version("cmake", "--version"),
        "cc": toolchains.tool_version("cc", "--version"),
        "c++": toolchains.tool_version("c++", "--version"),
        "options": NATIVE_CMAKE_OPTIONS,
        "targets": NATIVE_TARGETS,
        "machine": os.uname().machine,
        # ggml builds natively with -march=native: another CPU is another build
        "cpu": f"{machine.cpu_model()} {' '.join(machine.simd_flags())}",
    }


def native_build() -> Path:
    """Native whisper.cpp (the reference): ``bin/whisper-cli``, ``bin/whisper-quantize``,
    ``lib/*.a``, ``include/``. Built with cmake in the work tree, incrementally.
    Needs only the native tools (cc, cmake): the native runtime links its archives."""
    toolchains.ensure("native")

    def build(out: Path) -> None:
        with source.work_lock():
            src = source.work_source()
            tree = source.work_dir() / "native"
            # configured every time (a few seconds, no rebuild if nothing changed): a
            # changed option must reach the existing cache
            ui.run(["cmake", "-S", src, "-B", tree, *NATIVE_CMAKE_OPTIONS], quiet=True, what="cmake configure")
            ui.run(
                ["cmake", "--build", tree, "-j", str(JOBS), "--target", *NATIVE_TARGETS],
                quiet=True,
                what="cmake build",
            )
            (out / "bin").mkdir()
            for target in NATIVE_TARGETS:
                shutil.copy2(tree / "bin" / target, out / "bin" / target)
            (out / "lib").mkdir()
            for archive in tree.rglob("*.a"):
                shutil.copy2(archive, out / "lib" / archive.name)
            _copy_headers(src, out / "include")

    # this module is an input too: it holds the build commands
    return steps.cached(
        "whisper-native", inputs=[source.PATCHES_DIR, Path(__file__)], facts=_native_facts(), build=build
    )


def native_cli() -> Path:
    return native_build() / "bin" / "whisper-cli"


# ---------------------------------------------------------------------------
# wasm


def wasm_compile_flags(src: Path, shims: Path | None = None, relaxed: bool = False) -> list[str]:
    """Every flag of the wasm32-wasi objects (include paths for the tree ``src`` and the
    shims ``shims``, by default the work tree's); ``relaxed``: of the relaxed-SIMD variant."""
    shims = shims or source.work_dir() / "shims"
    return [
        "-target",
        wasm_flags.ZIG_TARGET,
        *wasm_flags.WHISPER_OPT_FLAGS,
        *wasm_flags.SIMD_FLAGS,
        *(wasm_flags.RELAXED_SIMD_FLAGS if relaxed else ()),
        *wasm_flags.EMULATION_DEFINES,
        *wasm_flags.WHISPER_DEFINES,
        f'-DGGML_VERSION="{source.GGML_VERSION}"',
        '-DGGML_COMMIT="unknown"',
        f'-DWHISPER_VERSION="{source.WHISPER_VERSION}"',
        # the shims (<thread>, <mutex>, <fstream>) first; examples/ before ggml-cpu
        # (both have a common.h)
        f"-I{shims / 'include'}",
        f"-I{src / 'examples'}",
        f"-I{src / 'include'}",
        f"-I{src / 'ggml' / 'include'}",
        f"-I{src / 'ggml' / 'src'}",
        f"-I{src / 'ggml' / 'src' / 'ggml-cpu'}",
    ]


def _wasm_facts() -> dict[str, object]:
    return {
        "source_sha256": source.artifact_sha256(),
        "zig": toolchains.zig_version(),
        "flags": wasm_compile_flags(Path("/src")),
        "relaxed_flags": wasm_compile_flags(Path("/src"), relaxed=True),
        "relaxed_sources": RELAXED_SOURCES,
        "link": wasm_flags.EMULATION_LIBS,
        "ggml": GGML_SOURCES,
        "whisper": WHISPER_SOURCES,
        "cli": CLI_SOURCES,
    }


def _depfile_inputs(depfile: Path) -> list[Path]:
    text = depfile.read_text().replace("\\\n", " ")
    _, _, deps = text.partition(":")
    return [Path(d.replace("\\ ", " ")) for d in re.split(r"(?<!\\)\s+", deps.strip()) if d]


def _up_to_date(obj: Path, stamp: str) -> bool:
    depfile, stampfile = obj.with_suffix(".d"), obj.with_suffix(".flags")
    if not (obj.exists() and depfile.exists() and stampfile.exists()) or stampfile.read_text() != stamp:
        return False
    built = obj.stat().st_mtime
    try:
        return all(dep.stat().st_mtime <= built for dep in _depfile_inputs(depfile))
    except FileNotFoundError:
        return False


def _compile_command(source_file: Path, obj: Path, cflags: list[str]) -> list[str]:
    is_c = source_file.suffix == ".c"
    return [
        *toolchains.zig(),
        "cc" if is_c else "c++",
        *cflags,
        wasm_flags.WHISPER_C_STD if is_c else wasm_flags.WHISPER_CXX_STD,
        "-MD",
        "-MF",
        str(obj.with_suffix(".d")),
        "-c",
        str(source_file),
        "-o",
        str(obj),
    ]


def _stamp(cmd: list[str]) -> str:
    """What an object depends on besides its sources: the zig version and the flags
    (not the path of the Python that runs zig: nox venvs and the system Python share objects)."""
    return toolchains.zig_version() + "\n" + " ".join(cmd[len(toolchains.zig()) :])


def _compile(source_file: Path, obj: Path, cflags: list[str]) -> str | None:
    """Compile one file; return an error text or None."""
    cmd = _compile_command(source_file, obj, cflags)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return f"{source_file}:\n{result.stderr.strip()[-4000:]}"
    obj.with_suffix(".flags").write_text(_stamp(cmd))
    return None


def _compile_all(sources: dict[str, Path], obj_dir: Path, cflags: list[str]) -> dict[str, Path]:
    """Compile what is out of date (``JOBS`` jobs); return name -> object."""
    obj_dir.mkdir(parents=True, exist_ok=True)
    objects = {name: obj_dir / (name.replace("/", "__") + ".o") for name in sources}
    todo = [
        name
        for name, src in sources.items()
        if not _up_to_date(objects[name], _stamp(_compile_command(src, objects[name], cflags)))
    ]
    if not todo:
        ui.info(f"wasm objects: all {len(sources)} up to date")
        return objects
    ui.info(f"wasm objects: compiling {len(todo)} of {len(sources)} with zig ({JOBS} jobs)")
    progress = ui.Progress("compiled", len(todo), unit="files")
    errors = []
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        for error in pool.map(lambda n: _compile(sources[n], objects[n], cflags), todo):
            progress.advance(1)
            if error:
                errors.append(error)
    progress.finish()
    if errors:
        raise BuildError("zig failed to compile for wasm32-wasi:\n" + "\n\n".join(errors))
    return objects


def _archive(out: Path, objects: Sequence[Path]) -> None:
    out.unlink(missing_ok=True)
    ui.run([*toolchains.zig(), "ar", "rcs", out, *objects], what="zig ar")


def _link_cli(objects: Sequence[Path], lib: Path, ggml_lib: Path, out: Path) -> None:
    ui.run(
        [
            *toolchains.zig(),
            "c++",
            "-target",
            wasm_flags.ZIG_TARGET,
            *wasm_flags.WHISPER_OPT_FLAGS,
            "-s",
            *objects,
            lib / "libwhisper.a",
            ggml_lib / "libggml.a",
            *wasm_flags.EMULATION_LIBS,
            "-o",
            out,
        ],
        what=f"zig link {out.name}",
    )


def wasm_build() -> Path:
    """whisper.cpp for wasm32-wasi: ``lib/libggml.a`` (ggml + CPU backend + WASI shims),
    ``lib/libwhisper.a``, ``include/`` (whisper.h, ggml headers) and
    ``bin/whisper-cli.wasm`` (stripped WASI command module); the relaxed-SIMD variant
    ``lib-relaxed/libggml.a`` (with the same ``lib/libwhisper.a``) and
    ``bin/whisper-cli-relaxed.wasm``."""

    def build(out: Path) -> None:
        with source.work_lock():
            src = source.work_source()
            cflags = wasm_compile_flags(src)
            sources = {name: src / name for name in (*GGML_SOURCES, *WHISPER_SOURCES, *CLI_SOURCES)}
            shims = source.work_shims()
            sources.update({f"shims/{name}": shims / name for name in SHIM_SOURCES})
            objects = _compile_all(sources, source.work_dir() / "wasm-obj", cflags)
            relaxed = _compile_all(
                {name: src / name for name in RELAXED_SOURCES},
                source.work_dir() / "wasm-obj-relaxed",
                wasm_compile_flags(src, relaxed=True),
            )
            lib, lib_relaxed = out / "lib", out / "lib-relaxed"
            lib.mkdir()
            lib_relaxed.mkdir()
            ggml = [*GGML_SOURCES, *(f"shims/{s}" for s in SHIM_SOURCES)]
            _archive(lib / "libggml.a", [objects[n] for n in ggml])
            _archive(lib_relaxed / "libggml.a", [relaxed.get(n, objects[n]) for n in ggml])
            _archive(lib / "libwhisper.a", [objects[n] for n in WHISPER_SOURCES])
            _copy_headers(src, out / "include")
            (out / "bin").mkdir()
            cli = [objects[n] for n in CLI_SOURCES]
            _link_cli(cli, lib, lib, out / "bin" / "whisper-cli.wasm")
            _link_cli(cli, lib, lib_relaxed, out / "bin" / "whisper-cli-relaxed.wasm")
            (out / "flags.json").write_text(
                json.dumps(
                    {
                        "compile": wasm_compile_flags(Path("<whisper.cpp>")),
                        "compile_relaxed": wasm_compile_flags(Path("<whisper.cpp>"), relaxed=True),
                        "link": [*wasm_flags.EMULATION_LIBS],
                        "zig": toolchains.zig_version(),
                        "note": "link libwhisper.a, then libggml.a (lib/, or lib-relaxed/ for relaxed SIMD), "
                        "with zig c++ (one libc/libc++ per module)",
                    },
                    indent=1,
                )
            )

    return steps.cached(
        "whisper-wasm",
        inputs=[source.PATCHES_DIR, source.SHIMS_DIR, Path(wasm_flags.__file__), Path(__file__)],
        facts=_wasm_facts(),
        build=build,
    )


def wasm_cli(relaxed: bool = False) -> Path:
    """The whisper-cli command module; ``relaxed``: its relaxed-SIMD variant (the same bits,
    faster q5_1 products; for hosts with relaxed SIMD: wasmtime, Node 22, Chromium)."""
    return wasm_build() / "bin" / ("whisper-cli-relaxed.wasm" if relaxed else "whisper-cli.wasm")
